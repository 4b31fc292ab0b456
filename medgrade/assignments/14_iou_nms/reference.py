"""The references of 14_iou_nms's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import math

import torch
import torchvision.ops as tvops


def nms(boxes, scores, iou_threshold):
    return tvops.nms(boxes.double(), scores.double(), iou_threshold)


def batched_nms(boxes, scores, idxs, iou_threshold):
    return tvops.batched_nms(boxes.double(), scores.double(), idxs, iou_threshold)


def _iou_of_two(a, b) -> float:
    """IoU of two boxes given as lists of Python floats; 0 when the union is empty."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def greedy_nms(boxes, scores, iou_threshold):
    """Greedy NMS one pair at a time in float64; equal scores: the lower index goes first."""
    b, s = boxes.double().tolist(), scores.double().tolist()
    keep: list[int] = []
    for i in sorted(range(len(s)), key=lambda i: (-s[i], i)):
        if all(_iou_of_two(b[i], b[k]) <= iou_threshold for k in keep):
            keep.append(i)
    return torch.tensor(keep, dtype=torch.int64)


def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001, *, with_margin=False):
    """Gaussian soft-NMS (Bodla et al. 2017), one box at a time in float64.

    Repeatedly select the live box with the highest current score (the lower
    index on ties), then multiply every other live score by
    exp(-IoU(selected, box)^2 / sigma) and drop those below ``score_threshold``.
    Returns (keep, kept_scores), plus with ``with_margin`` the smallest gap
    between a decision's two sides (best vs runner-up, score vs threshold):
    below about 1e-6 rounding, not the algorithm, decides.
    """
    b, s = boxes.double().tolist(), scores.double().tolist()
    margin = math.inf
    for v in s:
        margin = min(margin, abs(v - score_threshold))
    live = [i for i in range(len(s)) if s[i] >= score_threshold]
    keep, kept = [], []
    while live:
        live.sort(key=lambda i: (-s[i], i))
        best = live.pop(0)
        if live:
            margin = min(margin, s[best] - s[live[0]])
        keep.append(best)
        kept.append(s[best])
        for j in live:
            s[j] *= math.exp(-_iou_of_two(b[best], b[j]) ** 2 / sigma)
            margin = min(margin, abs(s[j] - score_threshold))
        live = [j for j in live if s[j] >= score_threshold]
    out = (torch.tensor(keep, dtype=torch.int64), torch.tensor(kept, dtype=torch.float64).to(scores.dtype))
    return (*out, margin) if with_margin else out
