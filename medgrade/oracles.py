"""The references graded answers are compared with, computed in float64.

Each oracle is the library's own implementation (torch, torchvision), called
on float64 copies so that the tolerance of a check is about the student's
answer and not the oracle's rounding.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
import torchvision.ops as tvops


def conv_output_size(n: int, k: int, s: int, p: int, d: int) -> int:
    """Output length of a 1-D convolution, read off torch itself."""
    conv = torch.nn.Conv1d(1, 1, k, stride=s, padding=p, dilation=d, bias=False)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, n)).shape[-1])


def conv_transpose_output_size(n: int, k: int, s: int, p: int, output_padding: int, d: int) -> int:
    conv = torch.nn.ConvTranspose1d(1, 1, k, stride=s, padding=p, output_padding=output_padding,
                                    dilation=d, bias=False)
    with torch.no_grad():
        return int(conv(torch.zeros(1, 1, n)).shape[-1])


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    out = F.conv2d(x.double(), w.double(), None if b is None else b.double(),
                   stride=stride, padding=padding, dilation=dilation)
    return out.to(x.dtype)


def batch_norm(x, gamma, beta, running_mean, running_var, momentum, eps, training):
    """Returns (out, new_running_mean, new_running_var); the inputs are not modified."""
    rm = running_mean.double().clone()
    rv = running_var.double().clone()
    out = F.batch_norm(x.double(), rm, rv, gamma.double(), beta.double(),
                       training=training, momentum=momentum, eps=eps)
    return out.to(x.dtype), rm.to(running_mean.dtype), rv.to(running_var.dtype)


def layer_norm(x, normalized_shape, gamma, beta, eps):
    return F.layer_norm(x.double(), normalized_shape, gamma.double(), beta.double(), eps).to(x.dtype)


def box_area(boxes):
    return tvops.box_area(boxes.double()).to(boxes.dtype)


def box_iou(a, b):
    return tvops.box_iou(a.double(), b.double()).to(a.dtype)


def generalized_box_iou(a, b):
    return tvops.generalized_box_iou(a.double(), b.double()).to(a.dtype)


def nms(boxes, scores, iou_threshold):
    return tvops.nms(boxes.double(), scores.double(), iou_threshold)


def batched_nms(boxes, scores, idxs, iou_threshold):
    return tvops.batched_nms(boxes.double(), scores.double(), idxs, iou_threshold)


# ---------------------------------------------------------------- 05_batchnorm

def batch_norm_backward(dout, x, gamma, eps):
    """(dx, dgamma, dbeta) of training-mode batch norm, by autograd through F.batch_norm in float64."""
    x64 = x.detach().double().requires_grad_(True)
    g64 = gamma.detach().double().requires_grad_(True)
    b64 = torch.zeros_like(g64, requires_grad=True)
    with torch.enable_grad():
        out = F.batch_norm(x64, None, None, g64, b64, training=True, eps=eps)
        dx, dgamma, dbeta = torch.autograd.grad(out, (x64, g64, b64), dout.detach().double())
    return dx.to(x.dtype), dgamma.to(gamma.dtype), dbeta.to(gamma.dtype)


# ---------------------------------------------------------------- 14_iou_nms: slow, obvious references


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
