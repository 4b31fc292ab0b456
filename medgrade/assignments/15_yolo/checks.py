"""Checks of 15_yolo: the YOLOv1 target grid, decoding, the loss term by term, post-processing, and
the average precision (one class, COCO's 101-point interpolation) and COCO-style mAP.

References are slow float64 loops (``reference.py``): one box, one cell, one slot, one detection at
a time. The average precision's is a brute force over every recall level and every point of the
precision-recall curve; ``reference.compare_with_torchmetrics`` shows it equal to torchmetrics'
MeanAveragePrecision (pycocotools' COCOeval) on random cases. The student's AP and mAP run with
torchmetrics and pycocotools refused (``medgrade.worker.probes.without_map_libraries``).

Tolerances. Offsets, square roots and pixel coordinates are one or two roundings of the inputs'
dtype away from the float64 values: 1e-5 (cells) and 1e-3 px with 1e-5 relative for float32, 1e-9
for float64; a real mistake (a cell off by one, a size not squared, an offset relative to the image)
moves them by a tenth or more. Loss terms are sums of at most a few hundred squares: relative 1e-4
(float32) and 1e-9 (float64). An AP is a mean of 101 precisions, ratios of small integers, that the
contract computes in float64: 1e-9 (a different recall level or one more false positive changes it by
1e-4 or more). Generated inputs keep centres, scores and IoUs away from the decisions the contract
fixes (cell borders, thresholds, ties); explicit examples put them exactly there.
"""
from __future__ import annotations

import math
import numbers

import torch
import torchvision
from hypothesis import assume
from hypothesis import strategies as st

from medgrade.failures import CheckFailed, assert_close, describe, expect_tensor, modified_in_place
from medgrade.properties import around, call, check_property, showing
from medgrade.registry import aspect
from medgrade.timing import SpeedCase, measure_ratio
from medgrade.worker import probes

from . import inputs as S
from . import reference as R

A = "15_yolo"
_DRIVER = "medgrade.worker.probes:without_map_libraries"
_KEYS = ("coord_xy", "coord_wh", "obj", "noobj", "class", "total")


def _tol(dtype, scale: float = 1.0) -> dict:
    return ({"rtol": 1e-5, "atol": 1e-5 * scale} if dtype == torch.float32
            else {"rtol": 1e-9, "atol": 1e-9 * scale})


def _unchanged(pairs) -> None:
    for before, passed, name in pairs:
        if passed.shape != before.shape or passed.dtype != before.dtype or not torch.equal(passed, before):
            raise CheckFailed(modified_in_place(name))


def _number(got, what: str) -> float:
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise CheckFailed(f"{what} should be a Python float, got {type(got).__name__}: {describe(got)}")
    return float(got)


def _same_float(got: float, expected: float, what: str, atol: float = 1e-9) -> None:
    if math.isnan(expected) or math.isnan(got):
        if not (math.isnan(expected) and math.isnan(got)):
            raise CheckFailed(f"{what}: expected {expected!r}, got {got!r}")
        return
    if abs(got - expected) > atol:
        raise CheckFailed(f"{what}: expected {expected:.10g}, got {got:.10g} "
                          f"(difference {abs(got - expected):.3g}, allowed {atol:g})")


def _triple(got, what: str, n_dtype, device=None):
    """(boxes, scores, labels) as the contract of decode_predictions / postprocess says."""
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise CheckFailed(f"{what} should return a tuple (boxes, scores, labels), got {describe(got)}")
    boxes, scores, labels = got
    expect_tensor(boxes, what="boxes", dtype=n_dtype)
    if boxes.dim() != 2 or boxes.shape[1] != 4:
        raise CheckFailed(f"boxes should have shape (N, 4), got {tuple(boxes.shape)}")
    expect_tensor(scores, what="scores", shape=(len(boxes),), dtype=n_dtype)
    expect_tensor(labels, what="labels", shape=(len(boxes),), dtype=torch.int64)
    return boxes, scores, labels


def _compare_triple(got, expected, dtype, what: str, scale: float) -> None:
    boxes, scores, labels = got
    e_boxes, e_scores, e_labels = expected
    if len(boxes) != len(e_boxes):
        raise CheckFailed(f"{what}: expected {len(e_boxes)} detections, got {len(boxes)}\n"
                          f"expected scores: {describe(e_scores.to(dtype))}\ngot scores:      {describe(scores)}")
    if not torch.equal(labels.cpu(), e_labels):
        raise CheckFailed(f"{what}: the labels differ\nexpected: {describe(e_labels)}\ngot:      {describe(labels)}")
    assert_close(scores, e_scores.to(dtype), what=f"{what}: the scores", **_tol(dtype))
    tol = {"rtol": 1e-5, "atol": 1e-3} if dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-9 * scale}
    assert_close(boxes, e_boxes.to(dtype), what=f"{what}: the boxes (x1, y1, x2, y2) in pixels", **tol)


# ---------------------------------------------------------------- encode_targets

def _run_encode(encode_targets, case):
    boxes, labels = S.encode_inputs(case)
    pb, pl = boxes.clone(), labels.clone()
    got = call(encode_targets, pb, pl, case["S"], case["B"], case["C"], tuple(case["image_size"]))
    _unchanged([(boxes, pb, "boxes"), (labels, pl, "labels")])
    depth = 5 * case["B"] + case["C"]
    expect_tensor(got, what="the target", shape=(case["S"], case["S"], depth), dtype=boxes.dtype)
    expected = R.encode_targets(boxes, labels, case["S"], case["B"], case["C"], case["image_size"])
    assert_close(got, expected.to(boxes.dtype), what="the target grid", **_tol(boxes.dtype))


_show_encode = showing(lambda case: dict(zip(("boxes", "labels"), S.encode_inputs(case)),
                                         S=case["S"], B=case["B"], C=case["C"], image_size=case["image_size"]))


def _exact(boxes, labels, S_, B, C, image_size, dtype="float64"):
    return {"boxes": boxes, "labels": labels, "S": S_, "B": B, "C": C, "image_size": image_size, "dtype": dtype}


_BORDER_EXAMPLES = [
    # 448 x 448, 7 cells of 64 px: centres exactly on borders belong to the right / lower cell
    _exact([[32, 96, 96, 160]], [2], 7, 2, 3, (448, 448)),                 # centre (64, 128): row 2, col 1, x = 0
    _exact([[0, 0, 448, 448]], [0], 7, 2, 3, (448, 448), "float32"),        # centre (224, 224): row 3, col 3, x = 0.5
    _exact([[380, 300, 448, 448]], [1], 7, 1, 2, (448, 448)),              # near the corner: row 5, col 6
    _exact([[10, 20, 50, 60], [200, 10, 300, 90]], [1, 0], 4, 2, 2, (100, 400)),   # not square: 25 x 100 cells
    _exact([[0, 0, 64, 64]], [0], 7, 1, 1, (448, 448), "float32"),          # centre (32, 32): x = y = 0.5
    _exact([[0, 0, 1, 1]], [0], 1, 1, 1, (1, 1)),                          # one cell, the whole image
]


@aspect(A, task="encode_targets", points=3)
def encode_targets_correct(encode_targets):
    """encode_targets builds the S x S x (B*5 + C) grid: owner cell, offsets, sqrt of relative sizes, one-hot class."""
    yield check_property(
        "equals the float64 grid built box by box (float32 and float64, square and non-square images, "
        "S, B and C varied, no boxes included); boxes and labels unchanged",
        S.encode_cases(shared=None), _show_encode(lambda case: _run_encode(encode_targets, case)),
        max_examples=50,
        examples=[_exact([], [], 7, 2, 20, (448, 448)), _exact([], [], 3, 1, 1, (90, 60), "float32")]
        + _BORDER_EXAMPLES)


@aspect(A, task="encode_targets", points=1)
def encode_targets_one_per_cell(encode_targets):
    """encode_targets keeps the first box of a cell that holds several centres, and only its class."""
    yield check_property(
        "several centres in one cell: the first box in the input is kept with its class, the others leave "
        "no trace", S.encode_cases(shared=True).map(lambda c: dict(c, n=max(c["n"], 2))),
        _show_encode(lambda case: _run_encode(encode_targets, case)), max_examples=30,
        examples=[_exact([[10, 10, 30, 30], [5, 5, 40, 40]], [0, 1], 7, 2, 2, (448, 448)),
                  _exact([[5, 5, 40, 40], [10, 10, 30, 30], [0, 0, 60, 60]], [2, 1, 0], 7, 2, 3, (448, 448), "float32"),
                  _exact([[100, 100, 120, 120], [10, 10, 30, 30], [12, 12, 20, 20]], [1, 0, 1], 7, 1, 2, (448, 448))])


# ---------------------------------------------------------------- decode_predictions

def _decode_args(case):
    pred = S.decode_input(case)
    return pred, case["S"], case["B"], case["C"], tuple(case["image_size"]), case["conf_threshold"]


def _run_decode(decode_predictions, case):
    pred, S_, B, C, size, threshold = _decode_args(case)
    boxes, scores, labels, everything = R.decode_predictions(pred, S_, B, C, size, threshold)
    if "pred" not in case:                 # generated: no score at the threshold (the examples pin it)
        assume(S.scores_clear_of(everything, threshold))
    passed = pred.clone()
    got = _triple(call(decode_predictions, passed, S_, B, C, size, threshold), "decode_predictions", pred.dtype)
    _unchanged([(pred, passed, "pred")])
    _compare_triple(got, (boxes, scores, labels), pred.dtype, "decode_predictions", max(size))


_show_decode = showing(lambda case: dict(zip(("pred", "S", "B", "C", "image_size", "conf_threshold"),
                                             _decode_args(case))))


def _grid(S_, B, C, cells: dict, dtype="float64"):
    """A prediction grid with zeros everywhere but the given cells: {(i, j): [values]}."""
    pred = torch.zeros(S_, S_, 5 * B + C, dtype=torch.float64)
    for (i, j), values in cells.items():
        pred[i, j, :len(values)] = torch.tensor(values, dtype=torch.float64)
    return pred.tolist()


def _decode_example(S_, B, C, size, threshold, cells, dtype="float64"):
    return {"pred": _grid(S_, B, C, cells), "S": S_, "B": B, "C": C, "image_size": size,
            "conf_threshold": threshold, "dtype": dtype}


_DECODE_EXAMPLES = [
    # score = 0.5 * 1.0 exactly at the threshold: dropped; 0.75 kept
    _decode_example(2, 2, 2, (100, 200), 0.5, {(0, 1): [0.5, 0.5, 0.5, 0.5, 0.5, 0.2, 0.6, 0.5, 1.0, 0.0, 1.0],
                                               (1, 0): [0.25, 0.75, -0.5, 0.5, 0.75, 0, 0, 0, 0, 0, 0.0, 1.0]}),
    # two classes at the same probability: the lower index
    _decode_example(1, 1, 3, (64, 64), 0.0, {(0, 0): [0.5, 0.5, 0.5, 0.5, 0.9, 0.4, 0.4, 0.2]}, "float32"),
    # every score 0 at threshold 0: nothing kept
    _decode_example(3, 2, 2, (90, 90), 0.0, {}),
    # the last cell of a non-square image, centre on its far corner
    _decode_example(3, 1, 1, (30, 60), 0.1, {(2, 2): [1.0, 1.0, 0.5, 0.5, 1.0, 1.0]}),
]


@aspect(A, task="decode_predictions", points=3)
def decode_predictions_correct(decode_predictions):
    """decode_predictions: every slot's box in pixels, score conf * max class prob, argmax class, row-major."""
    yield check_property(
        "equals the float64 decode of every cell and slot: boxes in pixels, class-specific scores, labels "
        "(the first maximum), the candidates above conf_threshold in row-major order; pred unchanged",
        S.decode_cases(), _show_decode(lambda case: _run_decode(decode_predictions, case)), max_examples=50,
        examples=_DECODE_EXAMPLES)


def _round_trip(decode_predictions, case):
    boxes, labels = S.encode_inputs(case)
    size = tuple(case["image_size"])
    target = R.encode_targets(boxes, labels, case["S"], case["B"], case["C"], size).to(boxes.dtype)
    got = _triple(call(decode_predictions, target, case["S"], case["B"], case["C"], size, 0.5),
                  "decode_predictions", boxes.dtype)
    cells = {}
    for k, box in enumerate(boxes.double().tolist()):
        i, j, _, _ = R.owner_cell(box, case["S"], size)
        cells.setdefault((i, j), k)
    order = [cells[key] for key in sorted(cells)]
    expected = (boxes.double()[order], torch.ones(len(order), dtype=torch.float64), labels[order])
    _compare_triple(got, expected, boxes.dtype, "decode_predictions(encode_targets(boxes))", max(size))


@aspect(A, task="decode_predictions", points=1)
def decode_predictions_round_trip(decode_predictions):
    """decode_predictions(encode_targets(boxes)) gives the boxes back, one per cell, score 1, with their labels."""
    yield check_property(
        "decoding the course's target of a set of boxes (conf_threshold 0.5) gives back the first box of each "
        "cell, in row-major order of the cells, with score 1 and its label",
        S.encode_cases(shared=None), showing(lambda case: dict(zip(("boxes", "labels"), S.encode_inputs(case)),
                                                             S=case["S"], B=case["B"], C=case["C"],
                                                             image_size=case["image_size"]))(
            lambda case: _round_trip(decode_predictions, case)),
        max_examples=30, examples=_BORDER_EXAMPLES[:4])


def _speed_inputs(seed, device):
    pred = S.prediction_grid(13, 5, 20, seed, torch.float32).to(device)
    return pred, 13, 5, 20, (416, 416), 0.3


def _speed_check(args, got, expected):
    got = _triple(got, "decode_predictions (timed call)", torch.float32)
    e = tuple(t.cpu() for t in expected)
    _compare_triple(tuple(t.cpu() for t in got), (e[0].double(), e[1].double(), e[2]), torch.float32,
                    "decode_predictions (timed call)", 416)


@aspect(A, task="decode_predictions", points=1, kind="speed", requires=("decode_predictions_correct",))
def decode_predictions_speed(decode_predictions):
    """decode_predictions (13 x 13 grid, B = 5, C = 20) runs within a small factor of the course's vectorized decode."""
    yield measure_ratio(SpeedCase(
        "decoding a 13 x 13 x (5 * 5 + 20) grid, vs the course's vectorized decode",
        student=decode_predictions, reference=probes.yolo_decode, make_inputs=_speed_inputs,
        check=_speed_check, thresholds={"cpu": 6.0, "cuda": 6.0},
        advice="compute every cell's and slot's box at once with broadcasting (torch.arange for the cell "
               "indices), and select with a boolean mask, not in a loop over the cells"))


# ---------------------------------------------------------------- yolo_loss

def _loss_call(yolo_loss, case, keys=None):
    """The student's terms (and, with ``keys``, the gradient of their sum with respect to pred)."""
    pred, target = S.loss_inputs(case)
    B = case["B"]
    pp, pt = pred.clone(), target.clone()
    lambdas = (5.0, 0.5) if case.get("lambdas") is None else tuple(case["lambdas"])
    weights = {} if case.get("lambdas") is None else {"lambda_coord": lambdas[0], "lambda_noobj": lambdas[1]}
    grad = None
    if keys is None:
        got = call(yolo_loss, pp, pt, B, **weights)
    else:
        got, (grad,) = call(around(yolo_loss, _GRADIENTS), pp, pt, B, [list(keys)], **weights)
    _unchanged([(pred, pp, "pred"), (target, pt, "target")])
    if not isinstance(got, dict):
        raise CheckFailed(f"yolo_loss should return a dict of the terms, got {type(got).__name__}")
    missing = [k for k in _KEYS if k not in got]
    if missing:
        raise CheckFailed(f"the dict yolo_loss returns has no {', '.join(repr(k) for k in missing)}; "
                          f"its keys are {sorted(map(str, got))}")
    for k in _KEYS:
        expect_tensor(got[k], what=f"the term {k!r}", shape=(), dtype=pred.dtype)
    return (pred, target, lambdas, got) if keys is None else (pred, target, lambdas, got, grad)


_GRADIENTS = "medgrade.worker.probes:yolo_loss_gradients"


def _term_property(yolo_loss, keys):
    """The terms ``keys`` against the float64 reference, then the gradient of their sum with respect
    to pred against the reference's (the IoU a constant): a term right in value but cut off from
    autograd, or with a gradient through the IoU target, fails here."""
    def same_as_reference(case):
        if "pred" not in case:             # generated: no near-tie between slots (the examples pin ties)
            pred, target = S.loss_inputs(case)
            assume(S.slots_clear(pred, target, case["B"]))
        pred, target, lambdas, got, grad = _loss_call(yolo_loss, case, keys)
        expected = R.yolo_loss(pred, target, case["B"], *lambdas)
        tol = {"rtol": 1e-4, "atol": 1e-6} if pred.dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-12}
        for k in keys:
            e = torch.tensor(expected[k], dtype=torch.float64)
            assert_close(got[k].double(), e, what=f"the term {k!r}", **tol)
        want = sum(R.yolo_loss_gradient(pred, target, case["B"], *lambdas)[k] for k in keys)
        if grad is None:
            if bool((want != 0).any()):
                raise CheckFailed(f"{' and '.join(repr(k) for k in keys)} do not depend on pred through autograd "
                                  "(detached, or computed with .item(), floats or NumPy): the loss must be "
                                  "differentiable with respect to pred")
            return
        expect_tensor(grad, what="the gradient with respect to pred", shape=tuple(pred.shape))
        # entries 2 * weight * error / N, of order 1; an IoU computed with a small epsilon, or in another
        # order, moves the obj entries by up to 1e-10: 1e-8 (float64); a gradient through the IoU, a
        # detached term or a wrong weight moves them by 1e-3 or more
        gtol = {"rtol": 1e-4, "atol": 1e-5} if pred.dtype == torch.float32 else {"rtol": 1e-8, "atol": 1e-8}
        assert_close(grad.double().cpu(), want, what=f"the gradient of {' + '.join(repr(k) for k in keys)} with "
                     "respect to pred (the IoU target a constant: no gradient flows through it)", **gtol)
    return showing(lambda case: dict(zip(("pred", "target"), S.loss_inputs(case)), B=case["B"],
                                     lambdas=case.get("lambdas") or "defaults (5.0, 0.5)"))(same_as_reference)


def _loss_example(pred_cells, target_cells, S_, B, C, lambdas=None, dtype="float64"):
    return {"pred": [_grid(S_, B, C, pred_cells)], "target": [_grid(S_, B, C, target_cells)], "S": S_, "B": B,
            "C": C, "N": 1, "lambdas": lambdas, "dtype": dtype}


# one object in cell (0, 0) of a 2 x 2 grid; slot 1 overlaps it better than slot 0
_TWO_SLOTS = _loss_example({(0, 0): [0.1, 0.1, 0.2, 0.2, 0.7, 0.5, 0.5, 0.6, 0.6, 0.9, 0.8, 0.3],
                            (1, 1): [0.5, 0.5, 0.5, 0.5, 0.4, 0.2, 0.2, 0.3, 0.3, 0.6, 0.1, 0.2]},
                           {(0, 0): [0.5, 0.5, 0.6, 0.6, 1, 0, 0, 0, 0, 0, 1, 0]}, 2, 2, 2)
# both slots identical: the lower one is responsible; and no slot overlapping: slot 0
_TIED_SLOTS = _loss_example({(0, 0): [0.3, 0.3, 0.4, 0.4, 0.2, 0.3, 0.3, 0.4, 0.4, 0.9, 0.5],
                             (0, 1): [0.0, 0.0, 0.1, 0.1, 0.6, 0.9, 0.8, 0.2, 0.3, 0.3, 0.2]},
                            {(0, 0): [0.5, 0.5, 0.5, 0.5, 1, 0, 0, 0, 0, 0, 1],
                             (0, 1): [0.5, 0.5, 0.3, 0.3, 1, 0, 0, 0, 0, 0, 1]},
                            2, 2, 1, (2.0, 0.25))


@aspect(A, task="yolo_loss", points=2)
def yolo_loss_coord(yolo_loss):
    """yolo_loss's coord_xy and coord_wh: lambda_coord x the responsible slot's squared errors, and their gradient."""
    yield check_property(
        "'coord_xy' and 'coord_wh' equal the float64 reference on one image: the responsible slot (highest "
        "IoU, ties to the lower slot), lambda_coord (the default 5 and others), the square roots' errors; and "
        "the gradient of their sum with respect to pred",
        S.loss_cases(), _term_property(yolo_loss, ("coord_xy", "coord_wh")), max_examples=40,
        examples=[_TWO_SLOTS, _TIED_SLOTS, dict(_TWO_SLOTS, lambdas=(1.0, 1.0), dtype="float32")])


@aspect(A, task="yolo_loss", points=2)
def yolo_loss_confidence(yolo_loss):
    """yolo_loss's obj term (confidence vs the IoU, a constant) and noobj term (other slots), and their gradient."""
    yield check_property(
        "'obj' and 'noobj' equal the float64 reference on one image: the responsible slot's confidence "
        "against its IoU with the truth, lambda_noobj times every other slot's squared confidence (empty "
        "cells and the other slots of object cells); and the gradient of their sum with respect to pred, with "
        "no gradient through the IoU",
        S.loss_cases(), _term_property(yolo_loss, ("obj", "noobj")), max_examples=40,
        examples=[_TWO_SLOTS, _TIED_SLOTS, dict(_TIED_SLOTS, lambdas=None, dtype="float32")])


@aspect(A, task="yolo_loss", points=1)
def yolo_loss_class(yolo_loss):
    """yolo_loss's class term: squared errors of the class probabilities, once per object cell, and its gradient."""
    yield check_property(
        "'class' equals the float64 reference on one image: the squared error of every class probability, "
        "once per object cell (not per slot), nothing for empty cells; and its gradient with respect to pred",
        S.loss_cases(), _term_property(yolo_loss, ("class",)), max_examples=30, examples=[_TWO_SLOTS, _TIED_SLOTS])


def _batch_case(case):
    """At least one object, and weights that are not 0 (so that the total is positive)."""
    return dict(case, objects=max(case["objects"], 1),
                lambdas=None if case["lambdas"] is not None and 0.0 in case["lambdas"] else case["lambdas"])


@aspect(A, task="yolo_loss", points=1)
def yolo_loss_batch(yolo_loss):
    """yolo_loss on a batch: every term is the mean over the images of that term; total is the sum of the five terms."""

    def consistent(case):
        pred, target = S.loss_inputs(case)
        assume(S.slots_clear(pred, target, case["B"]))
        _, _, lambdas, got = _loss_call(yolo_loss, case)
        singles = []
        for n in range(case["N"]):
            one = dict(case, pred=pred[n:n + 1].tolist(), target=target[n:n + 1].tolist())
            singles.append(_loss_call(yolo_loss, one)[3])
        tol = {"rtol": 1e-4, "atol": 1e-6} if pred.dtype == torch.float32 else {"rtol": 1e-9, "atol": 1e-12}
        for k in _KEYS:
            mean = sum(float(s[k]) for s in singles) / len(singles)
            assert_close(got[k].double(), torch.tensor(mean, dtype=torch.float64),
                         what=f"the term {k!r} of the batch, against the mean of your values image by image", **tol)
        if not float(got["total"]) > 0:
            raise CheckFailed(f"'total' is {float(got['total']):.6g}; for this batch it is positive")
        total = sum(float(got[k]) for k in _KEYS[:-1])
        assert_close(got["total"].double(), torch.tensor(total, dtype=torch.float64),
                     what="'total', against the sum of your five terms", **tol)

    yield check_property(
        "on a batch of 2 to 4 images each term is the mean of that term over the images (computed by your "
        "function one image at a time), 'total' is the sum of the five terms, and it is positive",
        S.loss_cases(batch=(2, 4)).map(_batch_case),
        showing(lambda case: dict(zip(("pred", "target"), S.loss_inputs(case)), B=case["B"]))(consistent),
        max_examples=15)


# ---------------------------------------------------------------- postprocess

def _postprocess_case(case):
    return dict(case, iou_threshold=case.get("iou_threshold", 0.5))


@aspect(A, task="postprocess", points=2)
def postprocess_correct(postprocess):
    """postprocess = decode, score > conf_threshold, class-aware NMS at iou_threshold, in decreasing score order."""

    def same_as_reference(case):
        pred, S_, B, C, size, threshold = _decode_args(case)
        boxes, scores, labels, everything = R.decode_predictions(pred, S_, B, C, size, threshold)
        if "pred" not in case:
            assume(S.scores_clear_of(everything, threshold))
            iou = torchvision.ops.box_iou(boxes, boxes)
            assume(bool(((iou - case["iou_threshold"]).abs() > 1e-4).all()))
        keep = torchvision.ops.batched_nms(boxes, scores, labels, case["iou_threshold"])
        passed = pred.clone()
        got = _triple(call(postprocess, passed, S_, B, C, size, threshold, case["iou_threshold"]),
                      "postprocess", pred.dtype)
        _unchanged([(pred, passed, "pred")])
        _compare_triple(got, (boxes[keep], scores[keep], labels[keep]), pred.dtype, "postprocess", max(size))

    cases = st.builds(lambda c, t: dict(c, iou_threshold=t), S.decode_cases(), st.sampled_from([0.3, 0.5, 0.7]))
    yield check_property(
        "equals the course's decode followed by torchvision.ops.batched_nms (boxes of different classes never "
        "suppress each other), in decreasing score order; pred unchanged", cases,
        showing(lambda case: dict(zip(("pred", "S", "B", "C", "image_size", "conf_threshold"), _decode_args(case)),
                                  iou_threshold=case["iou_threshold"]))(same_as_reference), max_examples=40,
        examples=[dict(_DECODE_EXAMPLES[0], iou_threshold=0.5),
                  # two overlapping boxes of different classes in neighbouring cells: both kept
                  dict(_decode_example(2, 1, 2, (100, 100), 0.1,
                                       {(0, 0): [0.9, 0.9, 0.6, 0.6, 0.9, 1.0, 0.0],
                                        (0, 1): [0.1, 0.9, 0.6, 0.6, 0.8, 0.0, 1.0],
                                        (1, 0): [0.9, 0.2, 0.6, 0.6, 0.7, 1.0, 0.0]}), iou_threshold=0.5),
                  # two 25 x 25 boxes 6.25 px apart: IoU exactly 0.6, not above iou_threshold 0.6: both kept
                  dict(_decode_example(1, 2, 1, (100, 100), 0.1,
                                       {(0, 0): [0.5, 0.5, 0.5, 0.5, 0.9, 0.5625, 0.5, 0.5, 0.5, 0.8, 1.0]}),
                       iou_threshold=0.6),
                  # equal scores: the earlier candidate (row-major, then slot) is kept and comes first
                  dict(_decode_example(2, 2, 2, (100, 100), 0.1,
                                       {(0, 1): [0.5, 0.5, 0.5, 0.5, 0.8, 0.9, 0.9, 0.5, 0.5, 0.5, 0.0, 1.0],
                                        (1, 0): [0.5, 0.5, 0.6, 0.6, 0.4, 0.55, 0.5, 0.6, 0.6, 0.4, 1.0, 0.0],
                                        (1, 1): [0.5, 0.5, 0.5, 0.5, 0.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0]}),
                       iou_threshold=0.5)])


# ---------------------------------------------------------------- average_precision

def _ap(fn, dets, gts, threshold) -> float:
    passed_d = [(b.clone(), s.clone()) for b, s in dets]
    passed_g = [g.clone() for g in gts]
    got = call(around(fn, _DRIVER), passed_d, passed_g, threshold)
    for (b, s), (pb, ps) in zip(dets, passed_d):
        _unchanged([(b, pb, "a detection's boxes"), (s, ps, "a detection's scores")])
    _unchanged([(g, pg, "ground truth boxes") for g, pg in zip(gts, passed_g)])
    return _number(got, "average_precision's result")


def _ap_example(detections, ground_truths, threshold=0.5, dtype="float64"):
    return {"detections": detections, "ground_truths": ground_truths, "iou_threshold": threshold, "dtype": dtype}


_SQ = [[0, 0, 10, 10], [20, 0, 30, 10], [40, 0, 50, 10], [60, 0, 70, 10], [80, 0, 90, 10],
       [0, 20, 10, 30], [20, 20, 30, 30], [40, 20, 50, 30], [60, 20, 70, 30], [80, 20, 90, 30]]
_AP_EXAMPLES = [
    # IoU exactly 0.5 (half of the box): a match at threshold 0.5
    _ap_example([([[0, 0, 10, 5]], [0.9])], [[[0, 0, 10, 10]]], 0.5),
    # ten ground truths, seven found first, then three false positives: recall exactly 0.7 at precision 1
    _ap_example([(_SQ[:7] + [[200, 200, 210, 210]] * 3, [0.9 - 0.05 * k for k in range(10)])], [_SQ], 0.5),
    # five ground truths, three found: recall 3 / 5 = 0.6 reaches the level 0.6
    _ap_example([(_SQ[:3] + [[300, 0, 310, 10]], [0.9, 0.8, 0.7, 0.95])], [_SQ[:5]], 0.5, "float32"),
    # a duplicate of a found object is a false positive; one truth, two identical detections
    _ap_example([([[0, 0, 10, 10], [0, 0, 10, 10], [20, 0, 30, 10]], [0.9, 0.8, 0.7])], [[_SQ[0], _SQ[1]]], 0.5),
    # a detection between two truths at the same IoU takes the lower index; the next one the other
    _ap_example([([[5, 0, 25, 10], [20, 0, 30, 10]], [0.9, 0.8])], [[[0, 0, 20, 10], [10, 0, 30, 10]]], 0.3),
    # the best ground truth of the second detection is taken: it takes the next best free one (IoU 0.74),
    # a true positive (not a false positive, as in PASCAL VOC's devkit)
    _ap_example([([[0, 0, 10, 10], [0.5, 0, 10.5, 10]], [0.9, 0.8])], [[[0, 0, 10, 10], [2, 0, 12, 10]]], 0.5),
    _ap_example([([[2, 0, 12, 10], [1.5, 0, 11.5, 10], [1, 0, 11, 10]], [0.9, 0.8, 0.7])],
                [[[0, 0, 10, 10], [2, 0, 12, 10], [40, 0, 50, 10]]], 0.6, "float32"),
    # equal scores in two images: the earlier image first
    _ap_example([([[0, 0, 10, 10]], [0.5]), ([[100, 0, 110, 10]], [0.5])], [[[0, 0, 10, 10]], []], 0.5),
    _ap_example([([[100, 0, 110, 10]], [0.5]), ([[0, 0, 10, 10]], [0.5])], [[], [[0, 0, 10, 10]]], 0.5),
    # equal scores in one image: the lower index first
    _ap_example([([[100, 0, 110, 10], [0, 0, 10, 10]], [0.5, 0.5])], [[[0, 0, 10, 10]]], 0.5),
    # a detection on a truth of another image is a false positive
    _ap_example([([], []), ([[0, 0, 10, 10]], [0.9])], [[[0, 0, 10, 10]], []], 0.5),
    # no detections: 0; no ground truths: nan
    _ap_example([([], [])], [[_SQ[0]]], 0.5),
    _ap_example([([[0, 0, 10, 10]], [0.9])], [[]], 0.5, "float32"),
]


def _ap_inputs_shown(case):
    dets, gts = S.ap_inputs(case)
    return {"detections": dets, "ground_truths": gts, "iou_threshold": case["iou_threshold"]}


def _ap_property(average_precision):
    def same_as_brute_force(case):
        dets, gts = S.ap_inputs(case)
        if "detections" not in case:
            assume(S.ious_clear(dets, gts, [case["iou_threshold"]]))
        got = _ap(average_precision, dets, gts, case["iou_threshold"])
        _same_float(got, R.average_precision(dets, gts, case["iou_threshold"]), "the average precision")
    return showing(_ap_inputs_shown)(same_as_brute_force)


@aspect(A, task="average_precision", points=3)
def average_precision_correct(average_precision):
    """average_precision equals a brute-force AP: greedy matching image by image, 101-point interpolation, float64."""
    yield check_property(
        "equals the brute-force average precision (every recall level r = k / 100 against every point of the "
        "precision-recall curve) on several images, duplicates and false alarms included, IoU thresholds 0.3 "
        "to 0.9, tied scores included; inputs unchanged",
        S.ap_cases(), _ap_property(average_precision), max_examples=60, examples=_AP_EXAMPLES)


@aspect(A, task="average_precision", points=2)
def average_precision_properties(average_precision):
    """average_precision: 1 for perfect detections, unchanged by monotone score maps, lowered by duplicates."""

    def perfect(case):
        dets, gts = S.ap_inputs(case)
        exact = [(g.clone(), torch.rand(len(g), generator=torch.Generator().manual_seed(case["seed"] + k),
                                        dtype=torch.float64).to(g.dtype) + 0.01) for k, g in enumerate(gts)]
        assume(sum(len(g) for g in gts) > 0)
        _same_float(_ap(average_precision, exact, gts, case["iou_threshold"]), 1.0,
                    "the average precision of detections equal to the ground truth (any scores)")

    yield check_property("detections equal to the ground truth boxes score AP = 1, whatever their scores and "
                         "the IoU threshold", S.ap_cases(), showing(_ap_inputs_shown)(perfect), max_examples=20)

    def monotone(case):
        dets, gts = S.ap_inputs(case)
        assume(S.ious_clear(dets, gts, [case["iou_threshold"]]))
        mapped = [(b, S.apply_map(case["map"], s)) for b, s in dets]
        for (_, s), (_, m) in zip(dets, mapped):
            same_order = torch.equal(torch.sign(s[:, None] - s[None, :]), torch.sign(m[:, None] - m[None, :]))
            assume(same_order)
        a = _ap(average_precision, dets, gts, case["iou_threshold"])
        b = _ap(average_precision, mapped, gts, case["iou_threshold"])
        _same_float(b, a, f"the AP after the scores' strictly increasing map {case['map']} (against the AP before)")

    yield check_property("a strictly increasing map of the scores (s^3, an affine map, exp, log) leaves the AP "
                         "unchanged", st.builds(lambda c, m: dict(c, map=m), S.ap_cases(), S.increasing_maps()),
                         showing(_ap_inputs_shown)(monotone), max_examples=20)

    def duplicates(case):
        dets, gts = S.ap_inputs(case)
        assume(sum(len(g) for g in gts) > 0)
        doubled = []
        for k, g in enumerate(gts):
            order = torch.randperm(len(g), generator=torch.Generator().manual_seed(case.get("seed", 0) + k))
            scores = (order.double() + 1) / (len(g) + 1)
            boxes = torch.cat([g, g]).reshape(2, len(g), 4).transpose(0, 1).reshape(-1, 4)
            both = torch.stack([scores, scores - 0.5 / (len(g) + 1)], 1).reshape(-1)
            doubled.append((boxes, both.to(g.dtype)))
        got = _ap(average_precision, doubled, gts, case["iou_threshold"])
        expected = R.average_precision(doubled, gts, case["iou_threshold"])
        _same_float(got, expected, "the AP of perfect detections each followed by an exact duplicate (the "
                                   "duplicates are false positives)")

    yield check_property("an exact duplicate of each correct detection, scored just below it, is a false "
                         "positive: the AP falls below 1, to the brute force's value", S.ap_cases(),
                         showing(_ap_inputs_shown)(duplicates), max_examples=15,
                         examples=[_ap_example([([], [])], [_SQ[:3]]), _ap_example([([], [])], [[_SQ[0]]])])

    def bounded(case):
        dets, gts = S.ap_inputs(case)
        got = _ap(average_precision, dets, gts, case["iou_threshold"])
        if sum(len(g) for g in gts) == 0:
            if not math.isnan(got):
                raise CheckFailed(f"with no ground truth the AP is undefined: return nan, got {got!r}")
        elif not 0.0 <= got <= 1.0:
            raise CheckFailed(f"an AP lies in [0, 1], got {got!r}")

    yield check_property("the AP lies in [0, 1]; nan when there is no ground truth box",
                         S.ap_cases(), showing(_ap_inputs_shown)(bounded), max_examples=15,
                         examples=[_ap_example([([[0, 0, 1, 1]], [0.3])], [[]]),
                                   _ap_example([([], []), ([], [])], [[], []], 0.5, "float32")])


# ---------------------------------------------------------------- mean_average_precision

def _map_example(predictions, targets, dtype="float64"):
    return {"predictions": predictions, "targets": targets, "dtype": dtype}


_MAP_EXAMPLES = [
    # a class only among the predictions is ignored; class 2 has a truth and no detection: AP 0
    _map_example([{"boxes": [[0, 0, 10, 10], [50, 50, 60, 60]], "scores": [0.9, 0.8], "labels": [0, 5]}],
                 [{"boxes": [[0, 0, 10, 10], [20, 20, 30, 30]], "labels": [0, 2]}]),
    # a box that matches at 0.5 to 0.8 but not above (IoU 0.82): map counts 7 of 10 thresholds
    _map_example([{"boxes": [[0, 0, 10, 8.2]], "scores": [0.9], "labels": [1]}],
                 [{"boxes": [[0, 0, 10, 10]], "labels": [1]}], "float32"),
    # the same box in two images, the label decides
    _map_example([{"boxes": [[0, 0, 10, 10]], "scores": [0.9], "labels": [0]},
                  {"boxes": [[0, 0, 10, 10]], "scores": [0.9], "labels": [1]}],
                 [{"boxes": [[0, 0, 10, 10]], "labels": [1]}, {"boxes": [[0, 0, 10, 10]], "labels": [1]}]),
    # no truth anywhere: nan
    _map_example([{"boxes": [[0, 0, 10, 10]], "scores": [0.9], "labels": [0]}],
                 [{"boxes": [], "labels": []}]),
    # IoUs exactly 0.6, 0.65, 0.7, 0.8, 0.85 and 0.9, one class each: each matches up to its own threshold
    # (50 + 5 k) / 100 in float64, included (thresholds made as 0.5 + 0.05 k, by np.arange, np.linspace
    # or in float32 differ from some of these by a rounding and move a match)
    _map_example([{"boxes": [[20 * c, 0, 20 * c + 10, h] for c, h in enumerate((6, 6.5, 7, 8, 8.5, 9))],
                   "scores": [0.9] * 6, "labels": [0, 1, 2, 3, 4, 5]}],
                 [{"boxes": [[20 * c, 0, 20 * c + 10, 10] for c in range(6)], "labels": [0, 1, 2, 3, 4, 5]}]),
    # no image at all: nan
    _map_example([], []),
]


@aspect(A, task="mean_average_precision", points=2)
def mean_average_precision_correct(mean_average_precision):
    """mean_average_precision: map (IoU 0.50:0.95), map_50, map_75 equal a brute force, absent classes skipped."""

    def same_as_brute_force(case):
        preds, targets = S.map_inputs(case)
        if "predictions" not in case:
            dets = [(p["boxes"], p["scores"]) for p in preds]
            assume(S.ious_clear(dets, [t["boxes"] for t in targets], R.IOU_THRESHOLDS))
        passed_p = [{k: v.clone() for k, v in p.items()} for p in preds]
        passed_t = [{k: v.clone() for k, v in t.items()} for t in targets]
        got = call(around(mean_average_precision, _DRIVER), passed_p, passed_t)
        for p, q in zip(preds + targets, passed_p + passed_t):
            _unchanged([(p[k], q[k], f"the input's {k!r}") for k in p])
        if not isinstance(got, dict):
            raise CheckFailed(f"mean_average_precision should return a dict, got {type(got).__name__}")
        expected = R.mean_average_precision(preds, targets)
        for k in ("map", "map_50", "map_75"):
            if k not in got:
                raise CheckFailed(f"the dict mean_average_precision returns has no {k!r}")
            # a mean of at most 40 APs: a table of them kept in float32 rounds it by about 1e-8, while a
            # class or threshold or detection in the wrong place moves it by 1e-4 or more
            _same_float(_number(got[k], repr(k)), expected[k], repr(k), atol=1e-7)

    yield check_property(
        "'map' (AP@[.5:.95]), 'map_50' and 'map_75' equal the brute force over the classes present in the "
        "targets, several images and classes, tied scores included; inputs unchanged",
        S.map_cases(), showing(lambda case: dict(zip(("predictions", "targets"), S.map_inputs(case))))(
            same_as_brute_force), max_examples=25, examples=_MAP_EXAMPLES)
