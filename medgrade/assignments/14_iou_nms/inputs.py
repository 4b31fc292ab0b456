"""Input generators of 14_iou_nms: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

import torch
from hypothesis import strategies as st

from medgrade.common.boxes import boxes_from_seed, distinct_scores
from medgrade.common.tensors import seeds, tensor_from_seed


def threshold_away_from(ious: torch.Tensor, threshold: float, gap: float = 1e-4) -> float:
    """``threshold``, moved if needed so that no finite IoU in ``ious`` lies within ``gap`` of it.

    An IoU that close to the threshold is decided by rounding, not by the
    algorithm: float32 and float64 can disagree. 0 and 1 stay put (an IoU is
    0 exactly when boxes do not overlap and never exceeds 1, in any precision).
    """
    threshold = float(threshold)
    values = ious.double().flatten()
    values = values[torch.isfinite(values)]
    if threshold in (0.0, 1.0) or not bool(((values - threshold).abs() < gap).any()):
        return threshold
    edges = torch.cat([torch.tensor([0.0, 1.0], dtype=torch.float64), values]).unique()  # sorted
    lo, hi = edges[:-1], edges[1:]
    wide = (hi - lo) > 4 * gap
    mids = ((lo + hi) / 2)[wide]
    return float(mids[(mids - threshold).abs().argmin()])


def _box_iou64(boxes: torch.Tensor) -> torch.Tensor:
    import torchvision.ops as tvops
    return tvops.box_iou(boxes.double(), boxes.double())


def _nms_scores(n: int, seed: int, tied: bool, dtype) -> torch.Tensor:
    if not tied:
        return distinct_scores(n, seed, dtype)
    g = torch.Generator().manual_seed(int(seed) + 2)
    return (torch.randint(1, 4, (n,), generator=g).double() / 4).to(dtype)


def _with_zero_area_boxes(boxes: torch.Tensor, seed: int) -> torch.Tensor:
    """Give about half the boxes zero width or zero height, and repeat one of them."""
    g = torch.Generator().manual_seed(int(seed) + 3)
    boxes = boxes.clone()
    n = boxes.shape[0]
    pick = torch.rand(n, generator=g) < 0.5
    axis = torch.randint(0, 2, (n,), generator=g)
    for i in torch.nonzero(pick).flatten().tolist():
        a = int(axis[i])
        boxes[i, 2 + a] = boxes[i, a]
    if n >= 2 and bool(pick.any()):
        first = int(torch.nonzero(pick)[0])
        boxes[(first + 1) % n] = boxes[first]
    return boxes


iou_thresholds = st.one_of(st.sampled_from([0.0, 0.3, 0.5, 0.7, 1.0]), st.floats(0.02, 0.98))


@st.composite
def nms_inputs(draw, min_n: int = 0, max_n: int = 16, tied=False, degenerate: bool = False,
               threshold=None):
    """{"boxes", "scores", "iou_threshold"} for NMS, with no IoU within 1e-4 of the threshold.

    ``tied``: True for scores drawn from three levels, False for all-distinct
    scores, None to draw either. ``degenerate``: some boxes have zero area.
    ``threshold``: a strategy for the threshold before it is moved away from
    the IoUs (default ``iou_thresholds``: 0, 1 and values in between).
    """
    n = draw(st.integers(min_n, max_n))
    seed = draw(seeds)
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    boxes = boxes_from_seed(n, seed, grid=draw(st.booleans()), dtype=dtype)
    if degenerate:
        boxes = _with_zero_area_boxes(boxes, seed)
    tied = draw(st.booleans()) if tied is None else tied
    t = draw(iou_thresholds) if threshold is None else draw(threshold)
    return {"boxes": boxes, "scores": _nms_scores(n, seed, tied, dtype),
            "iou_threshold": threshold_away_from(_box_iou64(boxes), t)}


@st.composite
def batched_nms_inputs(draw, min_n: int = 0, max_n: int = 16):
    """{"boxes", "scores", "idxs", "iou_threshold"}: distinct scores, a few class labels."""
    case = draw(nms_inputs(min_n=min_n, max_n=max_n, tied=False))
    n = case["boxes"].shape[0]
    labels = draw(st.sampled_from([(0,), (0, 1), (0, 1, 2, 3), (2, 5)]))
    g = torch.Generator().manual_seed(draw(seeds))
    pick = torch.randint(0, len(labels), (n,), generator=g)
    case["idxs"] = torch.tensor(labels, dtype=torch.int64)[pick]
    ious = _box_iou64(case["boxes"])
    case["iou_threshold"] = threshold_away_from(ious, case["iou_threshold"], gap=1e-3)
    return {"boxes": case["boxes"], "scores": case["scores"], "idxs": case["idxs"],
            "iou_threshold": case["iou_threshold"]}


@st.composite
def soft_nms_inputs(draw, min_n: int = 0, max_n: int = 12):
    """{"boxes", "scores", "sigma", "score_threshold"} for Gaussian soft-NMS (boxes of positive area)."""
    n = draw(st.integers(min_n, max_n))
    seed = draw(seeds)
    dtype = draw(st.sampled_from([torch.float32, torch.float64]))
    boxes = boxes_from_seed(n, seed, grid=draw(st.booleans()), dtype=dtype)
    if draw(st.booleans()):
        scores = distinct_scores(n, seed, dtype)
    else:
        scores = tensor_from_seed((n,), seed + 4, low=0.0, high=1.0, dtype=dtype)
    return {"boxes": boxes, "scores": scores,
            "sigma": draw(st.one_of(st.just(0.5), st.floats(0.05, 2.0))),
            "score_threshold": draw(st.sampled_from([0.0, 0.001, 0.02, 0.15, 0.4]))}


def pair_at_iou(iou: float, seed: int, dtype=torch.float32) -> torch.Tensor:
    """Two boxes with IoU ``iou`` (0 < iou <= 1): the second is the first, stretched to the right.

    For b0 = (x1, y1, x2, y2) and b1 = (x1, y1, x2 + d, y1), IoU = w / (w + d),
    so d = w (1 - iou) / iou: the construction of torchvision's own NMS tests.
    The first box has whole-pixel corners and is at least 4 wide, so storing
    x2 + d in float32 moves the IoU by less than 1e-6.
    """
    b0 = boxes_from_seed(1, seed, grid=True, dtype=torch.float64)[0] * 4   # whole pixels, 4 to 16 wide
    b1 = b0.clone()
    b1[2] += (b0[2] - b0[0]) * (1 - iou) / iou
    return torch.stack([b0, b1]).to(dtype)


def detections_from_seed(n_objects: int, per_object: int, seed: int, *, canvas: float = 512.0,
                         dtype=torch.float32) -> torch.Tensor:
    """A detector's raw boxes: ``per_object`` jittered copies of each of ``n_objects`` boxes.

    Corners are whole pixels, so every IoU is a ratio of small integers that
    float32 computes exactly up to the final division: results cannot depend
    on rounding.
    """
    g = torch.Generator().manual_seed(int(seed))
    centre = torch.rand(n_objects, 2, generator=g, dtype=torch.float64) * canvas
    size = 16 + torch.rand(n_objects, 2, generator=g, dtype=torch.float64) * 64
    half = (size / 2).repeat(1, 2) * torch.tensor([-1.0, -1.0, 1.0, 1.0], dtype=torch.float64)
    jitter = (torch.rand(n_objects, per_object, 4, generator=g, dtype=torch.float64) - 0.5) * 0.3
    boxes = centre.repeat(1, 2)[:, None, :] + half[:, None, :] + jitter * size.repeat(1, 2)[:, None, :]
    boxes = boxes.reshape(-1, 4).round()
    boxes[:, 2:] = torch.maximum(boxes[:, 2:], boxes[:, :2] + 1)
    return boxes.to(dtype)
