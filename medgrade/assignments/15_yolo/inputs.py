"""Input generators of 15_yolo: strategies draw small descriptions (grid sizes, an image size, a
dtype, a seed); tensors are made from the seed, so a counterexample is short to print and exact to
replay. Generated inputs keep away from the decisions the contract pins with explicit examples
instead: a centre on a cell border, a score at the threshold, an IoU at the threshold, two slots or
two ground truths at the same IoU."""
from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, norm_dtype, seeds

from . import reference as R

# a centre at least this far (in cells) from a cell border, a score or an IoU at least this far from
# its threshold: float32 rounding (about 1e-6 here) cannot move them across
MARGIN = 1e-3


def _gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(int(seed))


def _u(g, *shape) -> torch.Tensor:
    return torch.rand(shape, generator=g, dtype=torch.float64)


# ---------------------------------------------------------------- boxes on a grid

def grid_boxes(n: int, S: int, H: float, W: float, seed: int, shared: bool = False) -> torch.Tensor:
    """``n`` boxes inside an H x W image (float64), each centre at least MARGIN cells from a cell
    border; ``shared``: the centres fall in at most two cells (several boxes per cell)."""
    g = _gen(seed)
    cells = torch.randint(0, S, (2 if shared else max(n, 1), 2), generator=g)
    out = []
    for k in range(n):
        i, j = cells[k % len(cells)].tolist()
        ox, oy = (MARGIN + (1 - 2 * MARGIN) * _u(g, 2)).tolist()
        cx, cy = (j + ox) * W / S, (i + oy) * H / S
        half_w = min(cx, W - cx) * (0.05 + 0.95 * float(_u(g, 1)))
        half_h = min(cy, H - cy) * (0.05 + 0.95 * float(_u(g, 1)))
        out.append([cx - half_w, cy - half_h, cx + half_w, cy + half_h])
    return torch.tensor(out, dtype=torch.float64).reshape(-1, 4)


@st.composite
def encode_cases(draw, shared: bool | None = False, max_n: int = 8):
    S = draw(st.integers(1, 8))
    return {"n": draw(st.integers(0, max_n)), "S": S, "B": draw(st.integers(1, 3)), "C": draw(st.integers(1, 5)),
            "image_size": (draw(st.integers(16, 600)), draw(st.integers(16, 600))),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds),
            "shared": draw(st.booleans()) if shared is None else shared}


def encode_inputs(case) -> tuple[torch.Tensor, torch.Tensor]:
    """(boxes, labels) of an encode case; exact boxes (integer corners) when the case gives them."""
    if "boxes" in case:
        return (torch.tensor(case["boxes"], dtype=norm_dtype(case["dtype"])).reshape(-1, 4),
                torch.tensor(case["labels"], dtype=torch.int64))
    H, W = case["image_size"]
    boxes = grid_boxes(case["n"], case["S"], H, W, case["seed"], case["shared"])
    labels = torch.randint(0, case["C"], (case["n"],), generator=_gen(case["seed"] + 1))
    return boxes.to(norm_dtype(case["dtype"])), labels


# ---------------------------------------------------------------- prediction grids

def prediction_grid(S: int, B: int, C: int, seed: int, dtype, ties: bool = False) -> torch.Tensor:
    """A network's output for one image: offsets in [0, 1], square roots of sizes in [-1, 1]
    (negative ones included: the size is the square), confidences and class probabilities in [0, 1].
    ``ties``: probabilities on a coarse grid, so that two classes often share the maximum."""
    g = _gen(seed)
    slots = _u(g, S, S, B, 5)
    slots[..., 2:4] = slots[..., 2:4] * 2 - 1
    probs = _u(g, S, S, C)
    if ties:
        probs = torch.floor(probs * 3) / 3
    probs = probs / probs.sum(-1, keepdim=True).clamp(min=1e-9)
    return torch.cat([slots.reshape(S, S, 5 * B), probs], -1).to(dtype)


@st.composite
def decode_cases(draw):
    return {"S": draw(st.integers(1, 7)), "B": draw(st.integers(1, 3)), "C": draw(st.integers(1, 5)),
            "image_size": (draw(st.integers(16, 600)), draw(st.integers(16, 600))),
            "conf_threshold": draw(st.sampled_from([0.0, 0.05, 0.1, 0.25, 0.5, 0.8])),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds), "ties": draw(st.booleans())}


def decode_input(case) -> torch.Tensor:
    if "pred" in case:
        return torch.tensor(case["pred"], dtype=norm_dtype(case["dtype"]))
    return prediction_grid(case["S"], case["B"], case["C"], case["seed"], norm_dtype(case["dtype"]), case["ties"])


def scores_clear_of(all_scores: torch.Tensor, threshold: float) -> bool:
    """No candidate's score within MARGIN * 1e-2 of the threshold (or exactly on it)."""
    return bool(((all_scores - threshold).abs() > 1e-5).all()) if all_scores.numel() else True


# ---------------------------------------------------------------- the loss

@st.composite
def loss_cases(draw, batch: tuple[int, int] = (1, 1)):
    return {"N": draw(st.integers(*batch)), "S": draw(st.integers(1, 5)), "B": draw(st.integers(1, 3)),
            "C": draw(st.integers(1, 4)), "objects": draw(st.integers(0, 6)),
            "lambdas": draw(st.sampled_from([None, (5.0, 0.5), (1.0, 1.0), (2.5, 0.1), (10.0, 0.0)])),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}


def loss_inputs(case) -> tuple[torch.Tensor, torch.Tensor]:
    """(pred, target): N random predictions (sizes' square roots in [0.05, 1]) and N targets
    encoded (by the course's reference) from random boxes in a 448 x 448 image."""
    if "pred" in case:
        dtype = norm_dtype(case["dtype"])
        return torch.tensor(case["pred"], dtype=dtype), torch.tensor(case["target"], dtype=dtype)
    N, S, B, C = case["N"], case["S"], case["B"], case["C"]
    g = _gen(case["seed"])
    slots = _u(g, N, S, S, B, 5)
    slots[..., 2:4] = 0.05 + 0.95 * slots[..., 2:4]
    # most slots near their cell's object, so that IoUs are not all 0
    probs = _u(g, N, S, S, C)
    pred = torch.cat([slots.reshape(N, S, S, 5 * B), probs], -1)
    targets = []
    for n in range(N):
        boxes = grid_boxes(case["objects"], S, 448, 448, case["seed"] + 7 * n + 1)
        labels = torch.randint(0, C, (case["objects"],), generator=g)
        targets.append(R.encode_targets(boxes, labels, S, B, C, (448, 448)))
    dtype = norm_dtype(case["dtype"])
    return pred.to(dtype), torch.stack(targets).to(dtype)


def slots_clear(pred: torch.Tensor, target: torch.Tensor, B: int) -> bool:
    """In every object cell the best slot's IoU beats the second best by a margin (or B == 1)."""
    for _, ious in R.responsible_slots(pred, target, B).values():
        top = sorted(ious, reverse=True)
        if len(top) > 1 and top[0] - top[1] < MARGIN * 1e-1:
            return False
    return True


# ---------------------------------------------------------------- detections and ground truths

def _scene(g, dtype, n_gt_max=5, classes: int = 1, ties: bool = False, copies_max: int = 3,
           crowd: bool = False):
    """One image: ground truths (boxes, labels) and detections (boxes, scores, labels) made of
    jittered copies of them (duplicates included) and false alarms. ``crowd``: about half of the
    ground truths are the previous one shifted by a few pixels, so that a detection often overlaps
    two of them (the second detection of a pair then takes the other one, if free and close enough)."""
    m = int(torch.randint(0, n_gt_max + 1, (1,), generator=g))
    xy = _u(g, m, 2) * 80
    gt = torch.cat([xy, xy + 4 + _u(g, m, 2) * 30], 1)
    if crowd:
        for k in range(1, m):
            if float(_u(g, 1)) < 0.5:
                shift = (1 + 3 * _u(g, 2)) * torch.where(_u(g, 2) < 0.5, -1.0, 1.0).double()
                gt[k] = gt[k - 1] + torch.cat([shift, shift])
    gl = torch.randint(0, classes, (m,), generator=g)
    boxes, labels = [], []
    for k in range(m):
        for _ in range(int(torch.randint(0, copies_max + 1, (1,), generator=g))):
            boxes.append(gt[k] + torch.randn(4, generator=g, dtype=torch.float64) * float(_u(g, 1)) * 6)
            labels.append(int(gl[k]) if float(_u(g, 1)) < 0.85 else int(torch.randint(0, classes, (1,), generator=g)))
    for _ in range(int(torch.randint(0, 4, (1,), generator=g))):
        corner = _u(g, 2) * 90
        boxes.append(torch.cat([corner, corner + 3 + _u(g, 2) * 20]))
        labels.append(int(torch.randint(0, classes, (1,), generator=g)))
    det = torch.stack(boxes) if boxes else torch.zeros(0, 4, dtype=torch.float64)
    if len(det):
        det = torch.stack([torch.minimum(det[:, 0], det[:, 2] - 0.5), torch.minimum(det[:, 1], det[:, 3] - 0.5),
                           det[:, 2], det[:, 3]], 1)
    scores = (torch.randint(1, 5, (len(det),), generator=g).double() / 5 if ties
              else _u(g, len(det)))
    return (gt.to(dtype), gl, det.to(dtype), scores.to(dtype), torch.tensor(labels, dtype=torch.int64))


@st.composite
def ap_cases(draw):
    return {"images": draw(st.integers(1, 4)), "iou_threshold": draw(st.sampled_from([0.5, 0.5, 0.75, 0.3, 0.9])),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds), "ties": draw(st.booleans()),
            "crowd": draw(st.booleans())}


def ap_inputs(case):
    """(detections, ground_truths) of one class: a list of (boxes, scores) and a list of boxes."""
    if "detections" in case:
        dtype = norm_dtype(case["dtype"])
        dets = [(torch.tensor(b, dtype=dtype).reshape(-1, 4), torch.tensor(s, dtype=dtype))
                for b, s in case["detections"]]
        return dets, [torch.tensor(b, dtype=dtype).reshape(-1, 4) for b in case["ground_truths"]]
    g = _gen(case["seed"])
    dets, gts = [], []
    for _ in range(case["images"]):
        gt, _, det, scores, _ = _scene(g, norm_dtype(case["dtype"]), ties=case["ties"], crowd=case.get("crowd", False))
        dets.append((det, scores))
        gts.append(gt)
    return dets, gts


def ious_clear(dets, gts, thresholds) -> bool:
    """Every detection-truth IoU away from every threshold, and no detection with two ground
    truths of its image at nearly the same IoU (unless exactly the same)."""
    for (boxes, _), gt in zip(dets, gts):
        for d in boxes.double().tolist():
            ious = [R._iou(d, t) for t in gt.double().tolist()]
            if any(abs(v - th) < 1e-4 for v in ious for th in thresholds):
                return False
            top = sorted(ious, reverse=True)
            if len(top) > 1 and 0 < top[0] - top[1] < 1e-5:
                return False
    return True


@st.composite
def map_cases(draw):
    return {"images": draw(st.integers(0, 4)), "classes": draw(st.integers(1, 4)),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds), "ties": draw(st.booleans())}


def map_inputs(case):
    """(predictions, targets) in torchmetrics' format (a dict per image)."""
    if "predictions" in case:
        dtype = norm_dtype(case["dtype"])
        return ([{"boxes": torch.tensor(p["boxes"], dtype=dtype).reshape(-1, 4),
                  "scores": torch.tensor(p["scores"], dtype=dtype),
                  "labels": torch.tensor(p["labels"], dtype=torch.int64)} for p in case["predictions"]],
                [{"boxes": torch.tensor(t["boxes"], dtype=dtype).reshape(-1, 4),
                  "labels": torch.tensor(t["labels"], dtype=torch.int64)} for t in case["targets"]])
    g = _gen(case["seed"])
    preds, targets = [], []
    for _ in range(case["images"]):
        gt, gl, det, scores, labels = _scene(g, norm_dtype(case["dtype"]), classes=case["classes"],
                                             ties=case["ties"])
        preds.append({"boxes": det, "scores": scores, "labels": labels})
        targets.append({"boxes": gt, "labels": gl})
    return preds, targets


def increasing_maps():
    """Strictly increasing maps of scores in (0, 1], each named for the report."""
    return st.sampled_from(["s ** 3", "0.2 + 0.5 * s", "exp(4 s) / 100", "log(s) + 10"])


def apply_map(name: str, s: torch.Tensor) -> torch.Tensor:
    d = s.double()
    out = {"s ** 3": d ** 3, "0.2 + 0.5 * s": 0.2 + 0.5 * d, "exp(4 s) / 100": torch.exp(4 * d) / 100,
           "log(s) + 10": torch.log(d) + 10}[name]
    return out.to(s.dtype)


def math_isnan(x) -> bool:
    return isinstance(x, float) and math.isnan(x)
