"""The references of 16_rcnn's checks: torchvision's own detection helpers and RoI operators
(the library each task re-implements), run in the grading process, in float64 where the task
is about values."""
from __future__ import annotations

import torch
import torchvision.ops
from torchvision.models.detection._utils import BalancedPositiveNegativeSampler, BoxCoder, Matcher
from torchvision.models.detection.anchor_utils import AnchorGenerator


def cell_anchors(sizes, aspect_ratios, dtype=torch.float32) -> torch.Tensor:
    """AnchorGenerator's anchors of one position (it makes them in float32, then casts)."""
    return AnchorGenerator((tuple(sizes),), (tuple(aspect_ratios),)).cell_anchors[0].to(dtype)


def cell_anchors64(sizes, aspect_ratios) -> torch.Tensor:
    """The same half-widths in float64, before rounding: where float32 and float64 round a value
    near a half integer differently, the case is decided by rounding, not by the method."""
    s = torch.tensor(sizes, dtype=torch.float64)
    r = torch.tensor(aspect_ratios, dtype=torch.float64)
    ws = (s[None, :] / r.sqrt()[:, None]).reshape(-1)
    hs = (s[None, :] * r.sqrt()[:, None]).reshape(-1)
    return torch.stack([-ws, -hs, ws, hs], dim=1) / 2


def grid_anchors(cell: torch.Tensor, feature_size, stride) -> torch.Tensor:
    """AnchorGenerator.grid_anchors with the given anchors of one position."""
    sh, sw = (stride, stride) if isinstance(stride, int) else stride
    gen = AnchorGenerator(((1,),), ((1.0,),))
    gen.cell_anchors = [cell]
    return gen.grid_anchors([list(feature_size)], [[torch.tensor(sh), torch.tensor(sw)]])[0]


def encode_deltas(gt_boxes, anchors, weights) -> torch.Tensor:
    """BoxCoder(weights).encode_single(gt_boxes, anchors) in float64."""
    return BoxCoder(tuple(float(w) for w in weights)).encode_single(gt_boxes.double(), anchors.double())


def decode_deltas(deltas, anchors, weights, clip) -> torch.Tensor:
    """BoxCoder(weights, clip).decode_single(deltas, anchors) in float64."""
    coder = BoxCoder(tuple(float(w) for w in weights), bbox_xform_clip=clip)
    return coder.decode_single(deltas.double(), anchors.double())


def match_anchors(quality, high, low, allow_low_quality_matches) -> torch.Tensor:
    """Matcher(high, low, allow_low_quality_matches) on a (M, N) matrix; no ground truth (M = 0):
    every anchor is background (-1), as torchvision's RPN decides before it calls the Matcher."""
    m, n = quality.shape
    if m == 0:
        return torch.full((n,), -1, dtype=torch.int64)
    if n == 0:
        return torch.zeros(0, dtype=torch.int64)
    return Matcher(high, low, allow_low_quality_matches)(quality.clone())


def sample_balanced(labels, batch_size, positive_fraction, seed) -> tuple[torch.Tensor, torch.Tensor]:
    """BalancedPositiveNegativeSampler with torch's global generator seeded ``seed`` (its two
    randperm calls then draw what two calls with a generator seeded ``seed`` draw); the masks it
    returns, turned back into indices in the order drawn."""
    state = torch.get_rng_state()
    try:
        torch.manual_seed(seed)
        positive = torch.where(labels >= 1)[0]
        negative = torch.where(labels == 0)[0]
        num_pos = min(positive.numel(), int(batch_size * positive_fraction))
        num_neg = min(negative.numel(), batch_size - num_pos)
        perm1 = torch.randperm(positive.numel())[:num_pos]
        perm2 = torch.randperm(negative.numel())[:num_neg]
        torch.manual_seed(seed)
        pos_mask, neg_mask = BalancedPositiveNegativeSampler(batch_size, positive_fraction)([labels])
    finally:
        torch.set_rng_state(state)
    pos, neg = positive[perm1], negative[perm2]
    # the library's masks hold the same sets: the order drawn is the one thing added here
    assert set(pos.tolist()) == set(torch.nonzero(pos_mask[0]).flatten().tolist())
    assert set(neg.tolist()) == set(torch.nonzero(neg_mask[0]).flatten().tolist())
    return pos, neg


def roi_pool(features, rois, output_size, spatial_scale) -> torch.Tensor:
    return torchvision.ops.roi_pool(features, rois, output_size, spatial_scale)


def roi_align(features, rois, output_size, spatial_scale, sampling_ratio, aligned) -> torch.Tensor:
    return torchvision.ops.roi_align(features, rois, output_size, spatial_scale, sampling_ratio, aligned)


def roi_gradient(op: str, features, rois, upstream, **kwargs) -> torch.Tensor:
    """The gradient of sum(upstream * op(features, rois, ...)) with respect to features."""
    leaf = features.clone().requires_grad_(True)
    with torch.enable_grad():
        out = (roi_pool if op == "roi_pool" else roi_align)(leaf, rois, **kwargs)
        (grad,) = torch.autograd.grad(out, leaf, upstream, allow_unused=True)
    return torch.zeros_like(features) if grad is None else grad
