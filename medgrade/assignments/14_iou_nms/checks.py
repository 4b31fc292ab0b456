"""Checks of 14_iou_nms: box IoU, generalized IoU, NMS, class-aware NMS, Gaussian soft-NMS.

Boxes are (x1, y1, x2, y2). Inputs are made on the CPU and moved to the
grading device (the GPU when there is one), so "on the input's device" is
checked where it matters. References run in float64 on the CPU: torchvision
where it has the operation, a slow one-pair-at-a-time loop where it has not
(ties, soft-NMS). Generated NMS inputs keep every IoU at least 1e-4 away
from the threshold; the boundary itself is pinned by explicit examples.
The student's code runs with torchvision's box and NMS kernels disabled.
"""
from __future__ import annotations

import re

import torch
import torchvision.ops
import torchvision.ops.boxes as _tv_boxes
from hypothesis import assume
from hypothesis import strategies as st

from medgrade.common import boxes as box_lib
from medgrade.common.tensors import seeds
from medgrade.failures import (
    CheckFailed,
    assert_close,
    assert_equal,
    describe,
    expect_tensor,
    modified_in_place,
    wrong_device,
)
from medgrade.properties import call, check_once, check_property
from medgrade.registry import aspect, refuse_native
from medgrade.timing import SpeedCase, grading_device, measure_ratio

from . import inputs as S
from . import reference as oracles

A = "14_iou_nms"
# the students' workers cannot load torchvision's operator library: box and NMS kernels
refuse_native(A, "torchvision")
DEVICE = torch.empty(0, device=grading_device()).device   # "cuda:0", not "cuda": what tensors report

# the references of the timing aspects, bound when this module is imported
_TV_BOX_IOU = torchvision.ops.box_iou
_TV_NMS = torchvision.ops.nms

# ---------------------------------------------------------------- calling the student

# torchvision's box functions are made of ordinary tensor operators: refuse them at the
# Python level; its NMS kernels are operators of their own: refuse them below it.
_FORBIDDEN = [(_tv_boxes, "_box_inter_union", "torchvision.ops.box_iou"),
              (_tv_boxes, "box_area", "torchvision.ops.box_area"),
              (_tv_boxes, "_upcast", "torchvision.ops (box functions)")]
_FORBIDDEN_OPS = re.compile(r"torchvision\.(nms|qnms)")


def _student(fn, *args, **kwargs):
    """Call the student's function with torchvision's box and NMS code refused."""
    return call(fn, *args, forbid=_FORBIDDEN, forbid_ops=_FORBIDDEN_OPS,
                hint="Write it with tensor operations (your own functions from this notebook are fine).", **kwargs)


_dtypes = st.sampled_from([torch.float32, torch.float64])


def _box_tensor(d, dtype):
    return box_lib.boxes_from_seed(d["n"], d["seed"], grid=d["grid"], dtype=dtype)


def _dev(t: torch.Tensor) -> torch.Tensor:
    return t.to(DEVICE)


def _same_input(before: torch.Tensor, passed: torch.Tensor, what: str) -> None:
    if not torch.equal(before, passed.cpu()):
        raise CheckFailed(modified_in_place(what))


def _on_device(got, what: str) -> torch.Tensor:
    if type(got) is torch.Tensor and got.device != DEVICE:
        raise CheckFailed(wrong_device(what, DEVICE, got.device))
    return got


def _index_tensor(got, what: str = "the kept indices") -> torch.Tensor:
    """A 1-D int64 tensor on the input's device, returned on the CPU for comparisons."""
    expect_tensor(got, what=what, dtype=torch.int64)
    if got.dim() != 1:
        raise CheckFailed(f"{what} should be 1-D, got shape {tuple(got.shape)}")
    return _on_device(got, what).cpu()


# ---------------------------------------------------------------- box_area

@aspect(A, task="box_area", points=1)
def box_area_correct(box_area):
    """box_area equals torchvision.ops.box_area: (N, 4) -> (N,), same dtype and device."""

    def same_as_torchvision(case):
        boxes = case["boxes"]
        passed = _dev(boxes.clone())
        got = _on_device(_student(box_area, passed), "the area tensor")
        _same_input(boxes, passed, "boxes")
        assert_close(got.cpu() if type(got) is torch.Tensor else got, box_lib.box_area(boxes),
                     rtol=1e-6, atol=1e-9, what="the area tensor")

    cases = st.builds(lambda d, dtype: {"boxes": _box_tensor(d, dtype)}, box_lib.box_sets(0, 20), _dtypes)
    yield check_property(
        "areas equal torchvision.ops.box_area (float32 and float64, no boxes included); boxes unchanged",
        cases, same_as_torchvision, max_examples=40,
        examples=[{"boxes": torch.zeros(0, 4)}, {"boxes": _boxes([[1, 2, 1, 5], [0, 0, 3, 0.5]])},
                  {"boxes": box_lib.boxes_from_seed(5, 2, dtype=torch.float64)}])


# ---------------------------------------------------------------- box_iou

_two_sets = st.builds(lambda a, b, dtype: {"boxes1": _box_tensor(a, dtype), "boxes2": _box_tensor(b, dtype)},
                      box_lib.box_sets(0, 12), box_lib.box_sets(0, 12), _dtypes)


def _sets(case):
    return case["boxes1"], case["boxes2"]


def _boxes(rows, dtype=torch.float32):
    return torch.tensor(rows, dtype=dtype).reshape(-1, 4)


def _tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-12}


_EMPTY_PAIRS = [
    {"boxes1": torch.zeros(0, 4), "boxes2": box_lib.boxes_from_seed(3, 1)},
    {"boxes1": box_lib.boxes_from_seed(2, 2, grid=True), "boxes2": torch.zeros(0, 4)},
    {"boxes1": torch.zeros(0, 4, dtype=torch.float64), "boxes2": torch.zeros(0, 4, dtype=torch.float64)},
    {"boxes1": _boxes([[0, 0, 2, 2]]), "boxes2": _boxes([[0, 0, 2, 2], [1, 1, 3, 3], [2, 0, 4, 2], [3, 3, 4, 4]])},
]


def _pairwise_property(fn, oracle, what):
    def same_as_torchvision(case):
        a, b = _sets(case)
        pa, pb = _dev(a.clone()), _dev(b.clone())
        got = _on_device(_student(fn, pa, pb), what)
        _same_input(a, pa, "boxes1")
        _same_input(b, pb, "boxes2")
        assert_close(got.cpu() if type(got) is torch.Tensor else got, oracle(a, b), what=what,
                     **_tol(a.dtype))
    return same_as_torchvision


@aspect(A, task="box_iou", points=3)
def box_iou_correct(box_iou):
    """box_iou equals torchvision.ops.box_iou and behaves like an overlap measure."""
    yield check_property(
        "IoU matrix equals torchvision.ops.box_iou: shape (N, M), dtype and device of the input, "
        "empty sets included; inputs unchanged",
        _two_sets, _pairwise_property(box_iou, box_lib.box_iou, "the IoU matrix"),
        max_examples=60, examples=_EMPTY_PAIRS)

    def overlap_measure(case):
        a, b = _sets(case)
        ab = expect_tensor(_student(box_iou, _dev(a), _dev(b)), what="box_iou(a, b)").cpu().double()
        ba = expect_tensor(_student(box_iou, _dev(b), _dev(a)), what="box_iou(b, a)").cpu().double()
        aa = expect_tensor(_student(box_iou, _dev(a), _dev(a)), what="box_iou(a, a)").cpu().double()
        if ab.numel() and (bool((ab < -1e-6).any()) or bool((ab > 1 + 1e-6).any())):
            raise CheckFailed(f"IoU values must lie in [0, 1], got min {ab.min():.4g}, max {ab.max():.4g}")
        if ab.shape != ba.T.shape or not torch.allclose(ab, ba.T, rtol=1e-5, atol=1e-6):
            raise CheckFailed("box_iou(b, a) should be box_iou(a, b) transposed (IoU is symmetric)")
        if aa.shape != (len(a), len(a)) or not torch.allclose(aa.diagonal(), torch.ones(len(a), dtype=aa.dtype),
                                                              rtol=0, atol=1e-6):
            raise CheckFailed(f"every box has IoU 1 with itself; the diagonal of box_iou(a, a) is "
                              f"{describe(aa.diagonal())}")

    yield check_property("IoU is in [0, 1], symmetric (box_iou(b, a) = box_iou(a, b).T), and 1 for a box "
                         "with itself", _two_sets, overlap_measure, max_examples=40)

    def disjoint(case):
        a, b = _sets(case)
        got = expect_tensor(_student(box_iou, _dev(a), _dev(b)), what="the IoU matrix",
                            shape=(len(a), len(b))).cpu()
        if bool((got != 0).any()):
            raise CheckFailed(f"boxes that do not overlap have IoU 0, got\n{describe(got)}")

    def apart(d, axis):
        a = _box_tensor(d, torch.float32)
        shift = torch.tensor([1000.0, 0.0, 1000.0, 0.0] if axis == "x" else [1000.0] * 4)
        return {"boxes1": a, "boxes2": a + shift}

    yield check_property(
        "boxes that do not overlap (apart along x only, or along both axes) have IoU exactly 0",
        st.builds(apart, box_lib.box_sets(1, 6), st.sampled_from(["x", "xy"])), disjoint, max_examples=20,
        examples=[{"boxes1": _boxes([[0, 0, 2, 2], [0, 5, 2, 9]]), "boxes2": _boxes([[3, 0, 5, 2], [3, 0, 5, 9]])}])


def _iou_inputs(seed, device):
    return (box_lib.boxes_from_seed(200, seed).to(device), box_lib.boxes_from_seed(200, seed + 7_919).to(device))


def _iou_output_ok(args, got, expected):
    expect_tensor(got, what="the IoU matrix", shape=expected.shape, dtype=expected.dtype)
    assert_close(got, expected, rtol=1e-5, atol=1e-6, what="the IoU matrix")


@aspect(A, task="box_iou", points=2, kind="speed", requires=("box_iou_correct",))
def box_iou_speed(box_iou):
    """box_iou on 200 x 200 boxes runs within a small factor of torchvision.ops.box_iou (no Python loops)."""
    yield measure_ratio(SpeedCase(
        "IoU of 200 boxes with 200 boxes, vs torchvision.ops.box_iou",
        student=box_iou, reference=_TV_BOX_IOU,
        make_inputs=_iou_inputs, check=_iou_output_ok, thresholds={"cpu": 8.0, "cuda": 8.0},
        forbid=_FORBIDDEN, forbid_ops=_FORBIDDEN_OPS))


# ---------------------------------------------------------------- generalized_box_iou

@aspect(A, task="generalized_box_iou", points=2)
def generalized_box_iou_correct(generalized_box_iou):
    """generalized_box_iou equals torchvision.ops.generalized_box_iou; in [-1, 1] and never above IoU."""
    yield check_property(
        "GIoU matrix equals torchvision.ops.generalized_box_iou: shape (N, M), dtype and device of the input, "
        "empty sets included; inputs unchanged",
        _two_sets, _pairwise_property(generalized_box_iou, box_lib.generalized_box_iou, "the GIoU matrix"),
        max_examples=60, examples=_EMPTY_PAIRS)

    def bounded(case):
        a, b = _sets(case)
        a = torch.cat([a, a[:2] + 1000.0])   # far-away boxes: GIoU close to -1
        got = expect_tensor(_student(generalized_box_iou, _dev(a), _dev(b)), what="the GIoU matrix",
                            shape=(len(a), len(b))).cpu().double()
        iou = box_lib.box_iou(a.double(), b.double())
        if got.numel() and (bool((got < -1 - 1e-6).any()) or bool((got > 1 + 1e-6).any())):
            raise CheckFailed(f"GIoU values must lie in [-1, 1], got min {got.min():.4g}, max {got.max():.4g}")
        if bool((got > iou + 1e-6).any()):
            raise CheckFailed("GIoU can never exceed IoU (it subtracts a non-negative penalty); got\n"
                              f"GIoU = {describe(got)}\nIoU =  {describe(iou)}")

    yield check_property("GIoU lies in [-1, 1] and never exceeds IoU, far-apart boxes included",
                         _two_sets, bounded, max_examples=40)


# ---------------------------------------------------------------- nms

def _run_nms(nms, case):
    """Call nms on the case (on the grading device); check inputs and output type; return keep on the CPU."""
    boxes, scores = case["boxes"], case["scores"]
    pb, ps = _dev(boxes.clone()), _dev(scores.clone())
    got = _student(nms, pb, ps, case["iou_threshold"])
    _same_input(boxes, pb, "boxes")
    _same_input(scores, ps, "scores")
    keep = _index_tensor(got)
    n = boxes.shape[0]
    if keep.numel() and (int(keep.min()) < 0 or int(keep.max()) >= n):
        raise CheckFailed(f"kept indices must lie in [0, {n}), got {describe(keep)}")
    if keep.unique().numel() != keep.numel():
        raise CheckFailed(f"a box is kept twice: {describe(keep)}")
    return keep


def _expect_same_keep(keep, expected, what="the kept indices"):
    if not torch.equal(keep, expected):
        raise CheckFailed(f"{what} differ from the reference\nexpected: {describe(expected)}\n"
                          f"got:      {describe(keep)}")


def _expect_same_set(keep, expected, scores, what="the kept boxes"):
    if set(keep.tolist()) != set(expected.tolist()):
        raise CheckFailed(f"{what} differ from the reference (compared as sets; among equal scores the "
                          f"lower index is taken first)\nexpected (in order): {describe(expected)}\n"
                          f"got:                 {describe(keep)}")
    kept = scores.double()[keep]
    if bool((kept[1:] > kept[:-1]).any()):
        raise CheckFailed(f"kept indices must come in decreasing score order; their scores are {describe(kept)}")


@aspect(A, task="nms", points=3)
def nms_correct(nms):
    """nms keeps what torchvision.ops.nms keeps, in decreasing score order, as int64 on the input's device."""
    yield check_property(
        "returns a 1-D int64 tensor of distinct indices on the input's device and leaves boxes and scores unchanged",
        S.nms_inputs(min_n=1, tied=None), lambda case: _run_nms(nms, case), max_examples=30)

    def decreasing(case):
        keep = _run_nms(nms, case)
        kept = case["scores"].double()[keep]
        if bool((kept[1:] > kept[:-1]).any()):
            raise CheckFailed(f"kept indices must come in decreasing score order; kept {describe(keep)} "
                              f"with scores {describe(kept)}")

    yield check_property("kept indices come in decreasing score order", S.nms_inputs(min_n=2),
                         decreasing, max_examples=40)

    def no_kept_pair_overlaps(case):
        keep = _run_nms(nms, case)
        iou = box_lib.box_iou(case["boxes"].double(), case["boxes"].double())[keep][:, keep]
        iou.fill_diagonal_(0)
        if bool((iou > case["iou_threshold"]).any()):
            i, j = (int(v) for v in torch.nonzero(iou > case["iou_threshold"])[0])
            raise CheckFailed(f"kept boxes {int(keep[i])} and {int(keep[j])} overlap with IoU "
                              f"{float(iou[i, j]):.4f} > iou_threshold = {case['iou_threshold']:.4f}: "
                              f"the lower-scored one should have been suppressed")

    yield check_property("no two kept boxes overlap with IoU above the threshold", S.nms_inputs(min_n=2),
                         no_kept_pair_overlaps, max_examples=40)

    def dropped_for_a_reason(case):
        keep = _run_nms(nms, case)
        boxes, scores, t = case["boxes"], case["scores"].double(), case["iou_threshold"]
        iou = box_lib.box_iou(boxes.double(), boxes.double())
        for d in sorted(set(range(len(boxes))) - set(keep.tolist())):
            if not any(float(iou[d, k]) > t and float(scores[k]) > float(scores[d]) for k in keep.tolist()):
                raise CheckFailed(f"box {d} (score {float(scores[d]):.4f}) was dropped, but no kept box with a "
                                  f"higher score overlaps it with IoU > {t:.4f}")

    yield check_property("every dropped box overlaps a kept, higher-scored box with IoU above the threshold",
                         S.nms_inputs(min_n=2), dropped_for_a_reason, max_examples=40)

    def same_as_torchvision(case):
        keep = _run_nms(nms, case)
        _expect_same_keep(keep, oracles.nms(case["boxes"], case["scores"], case["iou_threshold"]))

    yield check_property("equals torchvision.ops.nms when scores are distinct (float32 and float64, "
                         "thresholds 0 to 1)", S.nms_inputs(min_n=1), same_as_torchvision, max_examples=100)


def _boundary_case(iou_threshold, above, higher_first, seed, dtype=torch.float32):
    """A pair at IoU = threshold + 1e-5 (suppressed) or - 1e-5 (kept), among far-apart boxes."""
    pair = S.pair_at_iou(iou_threshold + (1e-5 if above else -1e-5), seed, dtype)
    others = box_lib.boxes_from_seed(3, seed + 1, dtype=dtype) + 10_000.0 * torch.arange(1, 4, dtype=dtype)[:, None]
    scores = torch.tensor([0.9, 0.6, 0.8, 0.7, 0.5] if higher_first else [0.6, 0.9, 0.8, 0.7, 0.5], dtype=dtype)
    return {"boxes": torch.cat([pair, others]), "scores": scores, "iou_threshold": iou_threshold}


def _exact_case(rows, iou_threshold, scores, dtype=torch.float32):
    return {"boxes": _boxes(rows, dtype), "scores": torch.tensor(scores, dtype=dtype),
            "iou_threshold": iou_threshold}


@aspect(A, task="nms", points=2)
def nms_edge_cases(nms):
    """nms on empty input, one box, identical boxes, thresholds 0 and 1, zero-area boxes, the threshold itself, ties."""

    def empty():
        for dtype in (torch.float32, torch.float64):
            keep = _run_nms(nms, {"boxes": torch.zeros(0, 4, dtype=dtype),
                                  "scores": torch.zeros(0, dtype=dtype), "iou_threshold": 0.5})
            if keep.numel():
                raise CheckFailed(f"no boxes in, no indices out; got {describe(keep)}")

    yield check_once("no boxes: an empty int64 tensor", empty)

    def single(case):
        keep = _run_nms(nms, case)
        _expect_same_keep(keep, torch.tensor([0]))

    yield check_property("a single box is kept, whatever the threshold",
                         S.nms_inputs(min_n=1, max_n=1), single, max_examples=10,
                         examples=[_exact_case([[0, 0, 1, 1]], t, [0.5]) for t in (0.0, 0.5, 1.0)])

    def identical(case):
        keep = _run_nms(nms, case)
        expected = oracles.greedy_nms(case["boxes"], case["scores"], case["iou_threshold"])
        _expect_same_set(keep, expected, case["scores"])

    copies = S.nms_inputs(min_n=2, max_n=8, tied=None, threshold=st.sampled_from([0.0, 0.5, 0.99, 1.0])).map(
        lambda c: dict(c, boxes=c["boxes"][:1].repeat(len(c["boxes"]), 1)))
    yield check_property("copies of one box: only the best-scored copy survives (all of them at threshold 1)",
                         copies, identical, max_examples=25)

    def same_as_torchvision(case):
        keep = _run_nms(nms, case)
        _expect_same_keep(keep, oracles.nms(case["boxes"], case["scores"], case["iou_threshold"]))

    yield check_property("threshold 0 (any overlap suppresses, touching boxes do not) and threshold 1 "
                         "(nothing is suppressed), equal to torchvision.ops.nms",
                         S.nms_inputs(min_n=2, threshold=st.sampled_from([0.0, 1.0])),
                         same_as_torchvision, max_examples=30,
                         examples=[_exact_case([[0, 0, 2, 2], [2, 0, 4, 2], [1, 1, 3, 3]], 0.0, [0.9, 0.8, 0.7]),
                                   _exact_case([[0, 0, 2, 2], [0, 0, 2, 2]], 1.0, [0.8, 0.9])])

    yield check_property("zero-area boxes (zero width or height, repeated) are never suppressed and never "
                         "crash: equal to torchvision.ops.nms",
                         S.nms_inputs(min_n=1, degenerate=True), same_as_torchvision, max_examples=30,
                         examples=[_exact_case([[1, 1, 1, 5], [1, 1, 1, 5], [0, 0, 4, 4]], 0.5, [0.9, 0.8, 0.7]),
                                   _exact_case([[2, 2, 2, 2], [2, 2, 2, 2]], 0.0, [0.7, 0.9])])

    def boundary(case):
        iou = float(box_lib.box_iou(case["boxes"][:1].double(), case["boxes"][1:2].double()))
        assume(abs(iou - case["iou_threshold"]) > 2e-6)
        keep = _run_nms(nms, case)
        _expect_same_keep(keep, oracles.nms(case["boxes"], case["scores"], case["iou_threshold"]))

    pinned = [_boundary_case(t, above, first, seed)
              for seed, t in enumerate((0.3, 0.5, 0.7)) for above in (True, False) for first in (True, False)]
    exact = [_exact_case([[0, 0, 2, 1], [0, 0, 1, 1]], 0.5, [0.9, 0.8]),       # IoU exactly 1/2: kept
             _exact_case([[0, 0, 4, 2], [0, 0, 1, 2]], 0.25, [0.3, 0.6]),      # exactly 1/4: kept
             _exact_case([[8, 8, 12, 9], [9, 8, 12, 9]], 0.75, [0.9, 0.1]),    # exactly 3/4: kept
             _exact_case([[0, 0, 2, 1], [0, 0, 1, 1]], 0.5, [0.9, 0.8], torch.float64)]
    boundary_cases = st.builds(_boundary_case, st.floats(0.05, 0.95), st.booleans(), st.booleans(), seeds,
                               st.sampled_from([torch.float32, torch.float64]))
    yield check_property("at the threshold: IoU = threshold + 1e-5 suppresses, IoU = threshold - 1e-5 and "
                         "IoU exactly equal to the threshold do not",
                         boundary_cases, boundary, max_examples=20, examples=pinned + exact)

    def ties(case):
        keep = _run_nms(nms, case)
        _expect_same_set(keep, oracles.greedy_nms(case["boxes"], case["scores"], case["iou_threshold"]),
                         case["scores"])

    yield check_property("tied scores: the same boxes kept as greedy NMS taking the lower index first "
                         "(compared as sets)",
                         S.nms_inputs(min_n=2, tied=True), ties, max_examples=40,
                         examples=[_exact_case([[0, 0, 2, 2], [0, 0, 2, 2], [1, 0, 3, 2]], 0.3, [0.5, 0.5, 0.5])])


def _nms_inputs(seed, device):
    boxes = S.detections_from_seed(40, 50, seed)
    return boxes.to(device), box_lib.distinct_scores(len(boxes), seed).to(device), 0.5


def _nms_output_ok(args, got, expected):
    assert_equal(got, expected, what="the kept indices")


@aspect(A, task="nms", points=2, kind="speed", requires=("nms_correct",))
def nms_speed(nms):
    """nms on 2000 raw detections runs within a bounded factor of torchvision.ops.nms (no loop over box pairs)."""
    yield measure_ratio(SpeedCase(
        "NMS of 2000 detections of 40 objects, vs torchvision.ops.nms",
        student=nms, reference=_TV_NMS,
        make_inputs=_nms_inputs, check=_nms_output_ok, thresholds={"cpu": 1000.0, "cuda": 1000.0},
        forbid=_FORBIDDEN, forbid_ops=_FORBIDDEN_OPS))


# ---------------------------------------------------------------- batched_nms

def _run_batched(batched_nms, case):
    boxes, scores, idxs = case["boxes"], case["scores"], case["idxs"]
    pb, ps, pi = _dev(boxes.clone()), _dev(scores.clone()), _dev(idxs.clone())
    got = _student(batched_nms, pb, ps, pi, case["iou_threshold"])
    _same_input(boxes, pb, "boxes")
    _same_input(scores, ps, "scores")
    _same_input(idxs, pi, "idxs")
    keep = _index_tensor(got)
    if keep.numel() and (int(keep.min()) < 0 or int(keep.max()) >= len(boxes)):
        raise CheckFailed(f"kept indices must lie in [0, {len(boxes)}), got {describe(keep)}")
    return keep


@aspect(A, task="batched_nms", points=2)
def batched_nms_correct(batched_nms):
    """batched_nms equals torchvision.ops.batched_nms; boxes of different classes never suppress each other."""

    def same_as_torchvision(case):
        keep = _run_batched(batched_nms, case)
        _expect_same_keep(keep, oracles.batched_nms(case["boxes"], case["scores"], case["idxs"],
                                                    case["iou_threshold"]))

    one_class = {"boxes": _boxes([[0, 0, 2, 2], [0, 0, 2, 2], [5, 5, 6, 6]]),
                 "scores": torch.tensor([0.7, 0.9, 0.8]), "idxs": torch.tensor([4, 4, 4]), "iou_threshold": 0.5}
    yield check_property(
        "equals torchvision.ops.batched_nms (int64 on the input's device, decreasing score order, inputs "
        "unchanged)", S.batched_nms_inputs(), same_as_torchvision, max_examples=60,
        examples=[{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0),
                   "idxs": torch.zeros(0, dtype=torch.int64), "iou_threshold": 0.5},
                  one_class, dict(one_class, idxs=torch.tensor([0, 1, 2]))])

    def classes_apart(case):
        keep = _run_batched(batched_nms, case)
        n, t = len(case["boxes"]) // 2, case["iou_threshold"]
        boxes, scores = case["boxes"][:n], case["scores"]
        expected = set(oracles.nms(boxes, scores[:n], t).tolist()) | \
            {n + int(i) for i in oracles.nms(boxes, scores[n:], t)}
        if set(keep.tolist()) != expected:
            raise CheckFailed("the second half of the boxes copies the first, in another class: each class "
                              "should keep exactly what nms keeps on that class alone\n"
                              f"expected (as a set): {describe(torch.tensor(sorted(expected)))}\n"
                              f"got:                 {describe(keep)}")

    def two_classes(case, first):
        boxes, scores = case["boxes"], case["scores"]
        n = len(boxes)
        return {"boxes": torch.cat([boxes, boxes]),
                "scores": torch.cat([scores, box_lib.distinct_scores(n, n + 11, scores.dtype) * 0.999]),
                "idxs": torch.cat([torch.full((n,), first), torch.full((n,), first + 1)]).long(),
                "iou_threshold": S.threshold_away_from(box_lib.box_iou(boxes.double(), boxes.double()),
                                                       case["iou_threshold"], gap=1e-3)}

    yield check_property(
        "boxes of different classes never suppress each other: every box copied into a second class",
        st.builds(two_classes, S.nms_inputs(min_n=1, max_n=10), st.sampled_from([0, 1, 3])),
        classes_apart, max_examples=30)


# ---------------------------------------------------------------- soft_nms

def _run_soft(soft_nms, case, *, defaults=False):
    boxes, scores = case["boxes"], case["scores"]
    pb, ps = _dev(boxes.clone()), _dev(scores.clone())
    if defaults:
        got = _student(soft_nms, pb, ps)
    else:
        got = _student(soft_nms, pb, ps, sigma=case["sigma"], score_threshold=case["score_threshold"])
    _same_input(boxes, pb, "boxes")
    _same_input(scores, ps, "scores")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed(f"soft_nms should return a tuple (keep, kept_scores), got {type(got).__name__}")
    keep = _index_tensor(got[0])
    kept = expect_tensor(got[1], what="kept_scores", shape=keep.shape, dtype=scores.dtype)
    return keep, _on_device(kept, "kept_scores").cpu()


def _soft_reference(case):
    keep, kept, margin = oracles.soft_nms(case["boxes"], case["scores"], case["sigma"],
                                          case["score_threshold"], with_margin=True)
    assume(margin > 1e-5)  # closer than that, rounding decides the order, not the algorithm
    return keep, kept


@aspect(A, task="soft_nms", points=2)
def soft_nms_correct(soft_nms):
    """soft_nms equals a slow float64 Gaussian soft-NMS; scores only decay; a huge sigma decays nothing."""

    def same_as_reference(case):
        keep, kept = _run_soft(soft_nms, case, defaults=case.get("defaults", False))
        ref_keep, ref_kept = _soft_reference(case)
        _expect_same_keep(keep, ref_keep, what="the selected indices (in the order selected)")
        assert_close(kept, ref_kept, what="kept_scores", **_tol(case["scores"].dtype))

    dup = {"boxes": _boxes([[0, 0, 4, 4], [0, 0, 4, 4], [1, 0, 5, 4], [10, 10, 12, 12]]),
           "scores": torch.tensor([0.9, 0.8, 0.85, 0.3]), "sigma": 0.5, "score_threshold": 0.001,
           "defaults": True}
    yield check_property(
        "equals Gaussian soft-NMS computed one box at a time in float64: indices in the order selected and "
        "their decayed scores (sigma and score_threshold varied, defaults 0.5 and 0.001)",
        st.builds(lambda case, d: dict(case, defaults=d, sigma=0.5, score_threshold=0.001) if d else case,
                  S.soft_nms_inputs(), st.booleans()),
        same_as_reference, max_examples=60,
        examples=[{"boxes": torch.zeros(0, 4), "scores": torch.zeros(0), "sigma": 0.5, "score_threshold": 0.001},
                  {"boxes": _boxes([[0, 0, 1, 1]]), "scores": torch.tensor([0.5]), "sigma": 0.5,
                   "score_threshold": 0.001}, dup,
                  dict(dup, score_threshold=0.3, sigma=0.1, defaults=False)])

    def only_decays(case):
        keep, kept = _run_soft(soft_nms, case)
        original = case["scores"].double()[keep]
        kept = kept.double()
        if bool((kept > original * (1 + 1e-6) + 1e-12).any()):
            raise CheckFailed(f"a kept score is above the box's original score\noriginal: {describe(original)}\n"
                              f"returned: {describe(kept)}")
        if bool((kept[1:] > kept[:-1] * (1 + 1e-6)).any()):
            raise CheckFailed(f"boxes are selected by decreasing current score, so kept scores cannot rise: "
                              f"{describe(kept)}")
        if bool((kept < case["score_threshold"] * (1 - 1e-6)).any()):
            raise CheckFailed(f"a box below score_threshold = {case['score_threshold']} was kept: {describe(kept)}")

    yield check_property("no kept score exceeds the box's original score; kept scores never rise; none is "
                         "below score_threshold", S.soft_nms_inputs(min_n=1), only_decays, max_examples=40)

    def huge_sigma(case):
        keep, kept = _run_soft(soft_nms, case)
        ref_keep, _ = _soft_reference(case)
        _expect_same_keep(keep, ref_keep, what="with a huge sigma, the selected indices (all boxes above "
                                               "score_threshold, by decreasing score)")
        assert_close(kept, case["scores"][ref_keep], rtol=1e-6, atol=1e-9,
                     what="with a huge sigma (nothing decays), kept_scores")

    yield check_property("with a huge sigma nothing decays: every box above score_threshold is kept with its "
                         "own score, by decreasing score", S.soft_nms_inputs(min_n=1).map(lambda c: dict(c, sigma=1e9)),
                         huge_sigma, max_examples=20)
