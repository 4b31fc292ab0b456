"""The references of 06_losses's checks, computed in float64 with the libraries' own implementations
(or, where the library is what the task replaces, a slow and obvious loop)."""
from __future__ import annotations

import torch
import torch.nn.functional as F
import torchvision.ops as tvops


def cross_entropy(logits, target, weight=None, ignore_index=-100, label_smoothing=0.0,
                  reduction="mean"):
    """F.cross_entropy on float64 copies, returned in the logits' dtype."""
    out = F.cross_entropy(logits.double(), target, None if weight is None else weight.double(),
                          ignore_index=ignore_index, label_smoothing=label_smoothing, reduction=reduction)
    return out.to(logits.dtype)


def overlap_terms(probs, target):
    """(probs, target) as float64 (N, C, H, W) pairs: a binary (N, H, W) gets a channel axis,
    int64 class indices (N, H, W) become a one-hot map."""
    p = probs.double()
    if p.dim() == 3:
        return p.unsqueeze(1), target.double().unsqueeze(1)
    if target.shape != probs.shape:
        onehot = torch.zeros(p.shape, dtype=torch.float64)
        onehot.scatter_(1, target.long().unsqueeze(1), 1.0)
        return p, onehot
    return p, target.double()


def soft_overlap(probs, target, smooth, kind):
    """Soft Dice or Jaccard coefficient of every (sample, class), in float64, one pair at a time.

    Dice = (2 sum(p t) + smooth) / (sum(p) + sum(t) + smooth),
    Jaccard = (sum(p t) + smooth) / (sum(p) + sum(t) - sum(p t) + smooth),
    sums over the pixels of one sample and one class. Differentiable in ``probs``.
    """
    p, t = overlap_terms(probs, target)
    rows = []
    for i in range(p.shape[0]):
        row = []
        for c in range(p.shape[1]):
            inter = (p[i, c] * t[i, c]).sum()
            total = p[i, c].sum() + t[i, c].sum()
            if kind == "dice":
                row.append((2 * inter + smooth) / (total + smooth))
            else:
                row.append((inter + smooth) / (total - inter + smooth))
        rows.append(torch.stack(row))
    return torch.stack(rows)


def sigmoid_focal_loss(logits, targets, alpha, gamma, reduction):
    return tvops.sigmoid_focal_loss(logits.double(), targets.double(), alpha=alpha, gamma=gamma,
                                    reduction=reduction).to(logits.dtype)


def smooth_l1_loss(input, target, beta, reduction):
    return F.smooth_l1_loss(input.double(), target.double(), beta=beta, reduction=reduction).to(input.dtype)
