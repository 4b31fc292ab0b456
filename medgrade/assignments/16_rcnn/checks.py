"""Checks of 16_rcnn: anchors, box-delta coding, anchor matching, balanced sampling, RoI pooling
and RoI Align.

Every reference is torchvision's own code (``AnchorGenerator``, ``BoxCoder``, ``Matcher``,
``BalancedPositiveNegativeSampler``, ``torchvision.ops.roi_pool`` / ``roi_align``), run in the
grading process, in float64 where the task is about values. During the student's call the one
piece of torchvision that the task re-implements is refused (tripwires on its Python functions,
and its operators below Python); the rest of torchvision (``box_iou``, ``nms``) stays allowed.
Generated inputs keep away from the places where rounding, not the method, decides: a half-width
within 1e-5 of a half integer, an RoI Align sample within 1e-4 of the edge where it stops
counting, an adaptive sampling grid whose size is within 1e-4 of an integer. Exact cases of each
(a half-width of exactly 1.5, a sample exactly on the edge) are pinned by explicit examples.
"""
from __future__ import annotations

import importlib
import math
import re

import torch
import torchvision.ops
from hypothesis import assume
from hypothesis import strategies as st

from medgrade.common.tensors import norm_dtype
from medgrade.failures import CheckFailed, assert_close, assert_equal, describe, expect_tensor, modified_in_place
from medgrade.properties import around, call, check_once, check_property, gradients, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "16_rcnn"

# ---------------------------------------------------------------- what each task may not call

_det_utils = importlib.import_module("torchvision.models.detection._utils")
_anchor_utils = importlib.import_module("torchvision.models.detection.anchor_utils")
_roi_align_mod = importlib.import_module("torchvision.ops.roi_align")
_roi_pool_mod = importlib.import_module("torchvision.ops.roi_pool")
_poolers = importlib.import_module("torchvision.ops.poolers")
_ps_align = importlib.import_module("torchvision.ops.ps_roi_align")
_ps_pool = importlib.import_module("torchvision.ops.ps_roi_pool")

_ANCHORS = [(_anchor_utils.AnchorGenerator, name, f"torchvision's AnchorGenerator.{name}")
            for name in ("__init__", "generate_anchors", "grid_anchors", "forward")]
_CODER = [(_det_utils.BoxCoder, name, f"torchvision's BoxCoder.{name}")
          for name in ("encode", "encode_single", "decode", "decode_single")] + \
         [(_det_utils, "encode_boxes", "torchvision.models.detection._utils.encode_boxes")]
_MATCHER = [(_det_utils.Matcher, name, f"torchvision's Matcher.{name}")
            for name in ("__call__", "set_low_quality_matches_")]
_SAMPLER = [(_det_utils.BalancedPositiveNegativeSampler, "__call__",
             "torchvision's BalancedPositiveNegativeSampler")]
_ROI = [(torchvision.ops, "roi_pool", "torchvision.ops.roi_pool"),
        (torchvision.ops, "roi_align", "torchvision.ops.roi_align"),
        (_roi_pool_mod, "roi_pool", "torchvision.ops.roi_pool"),
        (_roi_align_mod, "roi_align", "torchvision.ops.roi_align"),
        (_roi_align_mod, "_roi_align", "torchvision.ops.roi_align (its Python version)"),
        (_roi_pool_mod.RoIPool, "forward", "torchvision.ops.RoIPool"),
        (_roi_align_mod.RoIAlign, "forward", "torchvision.ops.RoIAlign"),
        (_poolers.MultiScaleRoIAlign, "forward", "torchvision.ops.MultiScaleRoIAlign"),
        (_poolers, "_multiscale_roi_align", "torchvision.ops.MultiScaleRoIAlign"),
        (_ps_align, "ps_roi_align", "torchvision.ops.ps_roi_align"),
        (_ps_pool, "ps_roi_pool", "torchvision.ops.ps_roi_pool"),
        # torchvision's pure-Python RoIAlign compiles itself on its first call: a copy kept from before
        (torch, "compile", "torch.compile (torchvision's Python RoIAlign)")]
# torchvision's RoI kernels, however they are reached (torch.ops.torchvision.roi_align, ...)
_ROI_OPS = re.compile(r"torchvision\.(_?roi_|_?ps_roi_)")
_WATCH = "medgrade.worker.probes:call_watched"


def _student(fn, forbid, *args, hint="Write it with tensor operations.", ops=None, **kwargs):
    return call(fn, *args, forbid=forbid, forbid_ops=ops, hint=hint, **kwargs)


def _unchanged(before: torch.Tensor, passed: torch.Tensor, name: str) -> None:
    if not torch.equal(before, passed.detach()):
        raise CheckFailed(modified_in_place(name))


def _tol(dtype: torch.dtype, scale: float = 1.0) -> dict:
    """A few hundred ulps of the dtype, relative to the size of the values: the references are
    sums of a few terms each (a difference, a quotient, a log or an exp)."""
    eps = torch.finfo(dtype).eps
    return {"rtol": 64 * eps, "atol": 64 * eps * scale}


# ---------------------------------------------------------------- cell_anchors

def _anchor_case(case):
    return {"sizes": case["sizes"], "aspect_ratios": case["aspect_ratios"], "dtype": norm_dtype(case["dtype"])}


def _decided_by_rounding(sizes, ratios) -> bool:
    """A half-width or half-height within 1e-5 of a half integer, and not exactly one: float32 and
    float64 (or size / sqrt(r) and size * (1 / sqrt(r))) may round it to different integers."""
    v = oracles.cell_anchors64(sizes, ratios).abs()
    frac = v - v.floor()
    return bool((((frac - 0.5).abs() < 1e-5) & (frac != 0.5)).any())


@aspect(A, task="cell_anchors", points=2)
def cell_anchors_correct(cell_anchors):
    """cell_anchors equals AnchorGenerator's: ratio = height / width, rounded half to even, ratio-major order."""

    @showing(_anchor_case)
    def same_as_torchvision(case):
        sizes, ratios, dtype = case["sizes"], case["aspect_ratios"], norm_dtype(case["dtype"])
        assume(not _decided_by_rounding(sizes, ratios))
        passed = (list(sizes), list(ratios))
        if case.get("default"):
            got = _student(cell_anchors, _ANCHORS, *passed)
            dtype = torch.float32
        else:
            got = _student(cell_anchors, _ANCHORS, *passed, dtype=dtype)
        expected = oracles.cell_anchors(sizes, ratios, dtype)
        assert_equal(got, expected, what="the anchors (x1, y1, x2, y2) of one position")
        if passed != (list(sizes), list(ratios)):
            raise CheckFailed(modified_in_place("sizes or aspect_ratios"))

    yield check_property(
        "equals torchvision's AnchorGenerator (len(aspect_ratios) * len(sizes) rows, ratio-major; height / "
        "width = ratio; half-sides rounded half to even; float32 by default, float64 on request)",
        S.anchor_specs(), same_as_torchvision, max_examples=60,
        examples=[{"sizes": [32, 64, 128], "aspect_ratios": [0.5, 1.0, 2.0], "dtype": "float32", "default": True},
                  {"sizes": [3, 5], "aspect_ratios": [1.0], "dtype": "float64"},        # +-1.5, +-2.5: to even
                  {"sizes": [10, 6], "aspect_ratios": [4.0, 0.25], "dtype": "float32"},   # 2.5 and 1.5 again
                  {"sizes": [1], "aspect_ratios": [2.0, 0.5], "dtype": "float64"},
                  {"sizes": [16], "aspect_ratios": [0.7, 1.3, 3.1], "dtype": "float32"}])


# ---------------------------------------------------------------- grid_anchors

def _grid_cell(case) -> torch.Tensor:
    dtype = norm_dtype(case["dtype"])
    if case.get("arbitrary"):
        g = torch.Generator().manual_seed(int(case["seed"]))
        n = len(case["sizes"]) * len(case["aspect_ratios"])
        half = torch.rand((n, 2), generator=g, dtype=torch.float64) * 40 + 0.25
        centre = torch.rand((n, 2), generator=g, dtype=torch.float64) * 6 - 3
        return torch.cat([centre - half, centre + half], dim=1).to(dtype)
    return oracles.cell_anchors(case["sizes"], case["aspect_ratios"], dtype)


def _grid_inputs(case):
    return {"cell": _grid_cell(case), "feature_size": case["feature_size"], "stride": case["stride"]}


@aspect(A, task="grid_anchors", points=2)
def grid_anchors_correct(grid_anchors):
    """grid_anchors equals AnchorGenerator.grid_anchors: shifts (x * stride_w, y * stride_h), position-major."""

    @showing(_grid_inputs)
    def same_as_torchvision(case):
        cell = _grid_cell(case)
        passed = cell.clone()
        got = _student(grid_anchors, _ANCHORS, passed, tuple(case["feature_size"]), case["stride"])
        _unchanged(cell, passed, "cell")
        expected = oracles.grid_anchors(cell, case["feature_size"], case["stride"])
        assert_close(got, expected, rtol=2 * torch.finfo(cell.dtype).eps, atol=0.0,
                     what="the anchors of the feature map")

    yield check_property(
        "equals AnchorGenerator.grid_anchors: H * W * A rows, position (row y, then column x) major, the "
        "anchors of one position in their order; int and (stride_h, stride_w) strides; dtype of cell",
        S.grid_specs(), same_as_torchvision, max_examples=50,
        examples=[{"sizes": [32], "aspect_ratios": [0.5, 1.0, 2.0], "dtype": "float32", "feature_size": (2, 3),
                   "stride": 16, "arbitrary": False, "seed": 0},
                  {"sizes": [8, 16], "aspect_ratios": [1.0], "dtype": "float64", "feature_size": (3, 2),
                   "stride": (4, 8), "arbitrary": False, "seed": 1},                 # rows and columns differ
                  {"sizes": [5], "aspect_ratios": [1.0], "dtype": "float32", "feature_size": (1, 1),
                   "stride": (7, 3), "arbitrary": True, "seed": 2}])


# ---------------------------------------------------------------- encode_deltas

def _coder_boxes(case):
    dtype = norm_dtype(case["dtype"])
    return (S.boxes_from_seed(case["n"], case["seed"], dtype), S.boxes_from_seed(case["n"], case["seed"] + 1, dtype))


@aspect(A, task="encode_deltas", points=2)
def encode_deltas_correct(encode_deltas):
    """encode_deltas equals BoxCoder(weights).encode_single(gt_boxes, anchors): (dx, dy, dw, dh) with the weights."""

    @showing(lambda c: dict(zip(("gt_boxes", "anchors"), _coder_boxes(c)), weights=c["weights"]))
    def same_as_torchvision(case):
        gt, anchors = _coder_boxes(case)
        pg, pa = gt.clone(), anchors.clone()
        if case.get("default"):
            got = _student(encode_deltas, _CODER, pg, pa)
        else:
            got = _student(encode_deltas, _CODER, pg, pa, weights=tuple(case["weights"]))
        _unchanged(gt, pg, "gt_boxes")
        _unchanged(anchors, pa, "anchors")
        expected = oracles.encode_deltas(gt, anchors, case["weights"]).to(gt.dtype)
        # |dx| <= 20 * 160 / 1: the centre's rounding, relative to the anchor's side, times the weight
        assert_close(got, expected, **_tol(gt.dtype, 200 * max(case["weights"])), what="the deltas")

    yield check_property(
        "equals torchvision's BoxCoder(weights).encode_single(gt_boxes, anchors) (float32 and float64, "
        "weights (1, 1, 1, 1) by default, no boxes included); inputs unchanged",
        S.coder_specs(), same_as_torchvision, max_examples=50,
        examples=[{"n": 0, "classes": 1, "weights": (1.0, 1.0, 1.0, 1.0), "dtype": "float32", "seed": 0},
                  {"n": 4, "classes": 1, "weights": (1.0, 1.0, 1.0, 1.0), "dtype": "float64", "seed": 1,
                   "default": True},
                  {"n": 5, "classes": 1, "weights": (10.0, 10.0, 5.0, 5.0), "dtype": "float64", "seed": 2},
                  {"n": 3, "classes": 1, "weights": (0.5, 2.0, 20.0, 1.0), "dtype": "float32", "seed": 3}])


# ---------------------------------------------------------------- decode_deltas

def _decode_inputs(case):
    dtype = norm_dtype(case["dtype"])
    # anchors of another dtype than the deltas ("anchors_dtype"): the result has the deltas' dtype
    anchors = S.boxes_from_seed(case["n"], case["seed"], norm_dtype(case.get("anchors_dtype", case["dtype"])))
    deltas = S.deltas_from_seed(case["n"], case["classes"], case["weights"], case["seed"],
                                case.get("low", -3.0), case.get("high", 3.5), dtype)
    return deltas, anchors


def _decode_property(decode_deltas):
    @showing(lambda c: dict(zip(("deltas", "anchors"), _decode_inputs(c)), weights=c["weights"],
                            clip=c.get("clip", "default")))
    def same_as_torchvision(case):
        deltas, anchors = _decode_inputs(case)
        pd, pa = deltas.clone(), anchors.clone()
        kwargs = {} if case.get("default") else {"weights": tuple(case["weights"])}
        if "clip" in case:
            kwargs["clip"] = case["clip"]
        got = _student(decode_deltas, _CODER, pd, pa, **kwargs)
        _unchanged(deltas, pd, "deltas")
        _unchanged(anchors, pa, "anchors")
        expected = oracles.decode_deltas(deltas, anchors, case["weights"], case.get("clip", S.CLIP)).to(deltas.dtype)
        # boxes up to exp(clip) * 61 + 160 = 4000 pixels: a few ulps of that
        assert_close(got, expected, **_tol(deltas.dtype, float(expected.abs().max()) + 1 if expected.numel() else 1),
                     what="the decoded boxes")
    return same_as_torchvision


@aspect(A, task="decode_deltas", points=2)
def decode_deltas_correct(decode_deltas):
    """decode_deltas equals BoxCoder.decode_single for deltas below the clip: (N, 4 * K) deltas, weights, round trip."""
    yield check_property(
        "equals torchvision's BoxCoder(weights).decode_single(deltas, anchors) for (N, 4 * K) deltas whose "
        "sizes dw / ww, dh / wh stay below the clip (K = 1 to 3 classes, float32 and float64, no boxes "
        "included); inputs unchanged",
        S.coder_specs(), _decode_property(decode_deltas), max_examples=50,
        examples=[{"n": 0, "classes": 1, "weights": (1.0, 1.0, 1.0, 1.0), "dtype": "float64", "seed": 0},
                  {"n": 3, "classes": 1, "weights": (1.0, 1.0, 1.0, 1.0), "dtype": "float32", "seed": 1,
                   "default": True},
                  {"n": 4, "classes": 3, "weights": (10.0, 10.0, 5.0, 5.0), "dtype": "float64", "seed": 2},
                  {"n": 3, "classes": 2, "weights": (1.0, 1.0, 1.0, 1.0), "dtype": "float32", "seed": 3,
                   "anchors_dtype": "float64"}])                 # float64 anchors: converted to float32

    def round_trip(case):
        gt, anchors = _coder_boxes({**case, "dtype": "float64"})
        deltas = oracles.encode_deltas(gt, anchors, case["weights"])
        got = _student(decode_deltas, _CODER, deltas, anchors, weights=tuple(case["weights"]))
        assume(bool((deltas[:, 2::4] / case["weights"][2] < S.CLIP).all()
                    and (deltas[:, 3::4] / case["weights"][3] < S.CLIP).all()))
        assert_close(got, gt, rtol=1e-12, atol=1e-9, what="decode_deltas(encode(gt_boxes, anchors), anchors)")

    yield check_property("decoding the deltas that encode gt_boxes gives gt_boxes back (float64)",
                         S.coder_specs(), round_trip, max_examples=20)


@aspect(A, task="decode_deltas", points=1)
def decode_deltas_clamp(decode_deltas):
    """decode_deltas clamps dw / ww and dh / wh from above at clip = log(1000 / 16), after dividing by the weights."""
    yield check_property(
        "equals BoxCoder.decode_single where dw / ww and dh / wh go far above the clip (clamped from above "
        "only: a very negative size shrinks the box) and with another clip",
        S.coder_specs().map(lambda c: {**c, "n": max(c["n"], 2), "low": -12.0, "high": 20.0}),
        _decode_property(decode_deltas), max_examples=40,
        examples=[{"n": 3, "classes": 2, "weights": (1.0, 1.0, 1.0, 1.0), "dtype": "float64", "seed": 4,
                   "low": 5.0, "high": 9.0, "default": True},
                  {"n": 4, "classes": 1, "weights": (10.0, 10.0, 5.0, 5.0), "dtype": "float32", "seed": 5,
                   "low": 0.0, "high": 8.0},
                  {"n": 4, "classes": 1, "weights": (1.0, 1.0, 2.0, 2.0), "dtype": "float64", "seed": 6,
                   "low": -12.0, "high": -6.0},
                  {"n": 3, "classes": 2, "weights": (1.0, 1.0, 1.0, 1.0), "dtype": "float64", "seed": 7,
                   "low": 0.0, "high": 3.0, "clip": 1.0}])


# ---------------------------------------------------------------- match_anchors

def _quality(case) -> torch.Tensor:
    if "quality" in case:
        return case["quality"]
    return S.quality_from_seed(case["m"], case["n"], case["seed"], norm_dtype(case["dtype"]))


def _match_property(match_anchors):
    @showing(lambda c: {"quality": _quality(c), "high_threshold": c["high"], "low_threshold": c["low"],
                        "allow_low_quality_matches": c["allow"]})
    def same_as_torchvision(case):
        q = _quality(case)
        passed = q.clone()
        got = _student(match_anchors, _MATCHER, passed, case["high"], case["low"],
                       allow_low_quality_matches=case["allow"])
        _unchanged(q, passed, "quality")
        expected = oracles.match_anchors(q, case["high"], case["low"], case["allow"])
        assert_equal(got, expected, what="the matched ground-truth index of each anchor (-1 below low, -2 between)")
    return same_as_torchvision


def _q(rows, dtype=torch.float64):
    return torch.tensor(rows, dtype=dtype)


@aspect(A, task="match_anchors", points=2)
def match_anchors_thresholds(match_anchors):
    """match_anchors equals Matcher without low-quality matches: >= high matched, [low, high) -2, < low -1."""
    yield check_property(
        "equals torchvision's Matcher(high, low) with allow_low_quality_matches=False: the best ground truth "
        "(the first on ties) where its quality >= high, -2 in [low, high), -1 below low; qualities equal to "
        "either threshold included; no ground truth: all -1",
        S.match_specs(allow=st.just(False)), _match_property(match_anchors), max_examples=60,
        examples=[{"quality": _q([[0.7, 0.5, 0.3, 0.0]]), "high": 0.7, "low": 0.3, "allow": False},
                  {"quality": _q([[0.5, 0.5, 0.25], [0.5, 0.75, 0.25]], torch.float32), "high": 0.5, "low": 0.25,
                   "allow": False},                                          # ties: the first ground truth
                  {"quality": _q([[0.5, 0.2]]), "high": 0.5, "low": 0.5, "allow": False},   # low == high
                  {"quality": torch.zeros((0, 4)), "high": 0.7, "low": 0.3, "allow": False},
                  {"quality": torch.zeros((2, 0), dtype=torch.float64), "high": 0.7, "low": 0.3, "allow": False}])


@aspect(A, task="match_anchors", points=2)
def match_anchors_low_quality(match_anchors):
    """match_anchors with low-quality matches equals Matcher: each ground truth's best anchors (ties too) match."""
    yield check_property(
        "equals torchvision's Matcher(high, low, allow_low_quality_matches=True): every anchor whose quality "
        "with some ground truth is that ground truth's best (ties included, zero included) gets its own best "
        "ground truth back, whatever the thresholds",
        S.match_specs(allow=st.just(True)), _match_property(match_anchors), max_examples=60,
        examples=[{"quality": _q([[0.1, 0.3, 0.3, 0.0], [0.0, 0.2, 0.1, 0.9]]), "high": 0.7, "low": 0.3,
                   "allow": True},                                       # gt 0's two best anchors, tied
                  {"quality": _q([[0.4, 0.2], [0.6, 0.1]]), "high": 0.7, "low": 0.3, "allow": True},
                  # anchor 0 is gt 0's best, but gt 1 is the anchor's best: it gets gt 1
                  {"quality": _q([[0.0, 0.0, 0.0], [0.5, 0.0, 0.1]], torch.float32), "high": 0.7, "low": 0.3,
                   "allow": True},                                       # a ground truth that no anchor touches
                  {"quality": torch.zeros((0, 3)), "high": 0.7, "low": 0.3, "allow": True},
                  {"quality": torch.zeros((2, 0), dtype=torch.float64), "high": 0.7, "low": 0.3, "allow": True}])


# ---------------------------------------------------------------- sample_balanced

def _labels(case) -> torch.Tensor:
    return S.labels_from_seed(case["n"], case["positive_rate"], case["seed"], case["dtype"])


def _sample(sample_balanced, case, seed=None, watch=False):
    labels = _labels(case)
    passed = labels.clone()
    g = torch.Generator().manual_seed(int(case["seed"] if seed is None else seed))
    args = (passed, case["batch_size"], case["positive_fraction"], g)
    if watch:
        got, effects = _student(around(sample_balanced, _WATCH), _SAMPLER, *args)
        if effects["modified"]:
            raise CheckFailed(modified_in_place(effects["modified"][0]))
        if effects["globals"]:
            raise CheckFailed(f"sample_balanced changed {' and '.join(effects['globals'])}: draw from the "
                              "generator you are given, and leave torch's global random state alone")
    else:
        got = _student(sample_balanced, _SAMPLER, *args)
        _unchanged(labels, passed, "labels")
    if not isinstance(got, tuple) or len(got) != 2:
        raise CheckFailed(f"sample_balanced should return a tuple (pos_idx, neg_idx), got {type(got).__name__}")
    for name, t in zip(("pos_idx", "neg_idx"), got):
        expect_tensor(t, what=name, dtype=torch.int64)
        if t.dim() != 1:
            raise CheckFailed(f"{name} should be 1-D, got shape {tuple(t.shape)}")
    return labels, got


_showing_labels = showing(lambda c: {"labels": _labels(c), "batch_size": c["batch_size"],
                                     "positive_fraction": c["positive_fraction"],
                                     "generator": f"torch.Generator().manual_seed({c['seed']})"})


def _sample_case(n, batch_size, positive_fraction, positive_rate, dtype, seed):
    """A pinned sampling case, as S.sample_specs draws them."""
    return {"n": n, "batch_size": batch_size, "positive_fraction": positive_fraction,
            "positive_rate": positive_rate, "dtype": dtype, "seed": seed}


@aspect(A, task="sample_balanced", points=2)
def sample_balanced_counts(sample_balanced):
    """sample_balanced draws min(#pos, int(batch * fraction)) positives, then negatives, without repetition."""

    @_showing_labels
    def counts(case):
        labels, (pos, neg) = _sample(sample_balanced, case)
        positives = set(torch.nonzero(labels >= 1).flatten().tolist())
        negatives = set(torch.nonzero(labels == 0).flatten().tolist())
        n_pos = min(len(positives), int(case["batch_size"] * case["positive_fraction"]))
        n_neg = min(len(negatives), case["batch_size"] - n_pos)
        for name, got, allowed, n, label in (("pos_idx", pos, positives, n_pos, "1"),
                                             ("neg_idx", neg, negatives, n_neg, "0")):
            if got.numel() != n:
                raise CheckFailed(f"{name} should hold {n} indices, got {got.numel()}: {describe(got)}")
            if len(set(got.tolist())) != got.numel():
                raise CheckFailed(f"{name} repeats an index (draw without replacement): {describe(got)}")
            if not set(got.tolist()) <= allowed:
                raise CheckFailed(f"{name} holds indices whose label is not {label}: "
                                  f"{sorted(set(got.tolist()) - allowed)}")

    yield check_property(
        "min(#positives, int(batch_size * positive_fraction)) positives, then negatives up to batch_size (as many "
        "as there are), distinct indices of the right labels, int64; labels (float or int) unchanged",
        S.sample_specs(), counts, max_examples=60,
        examples=[_sample_case(0, 8, 0.5, 0.5, "float32", 1),
                  _sample_case(40, 7, 0.5, 0.5, "int64", 2),
                  _sample_case(30, 16, 0.25, 0.05, "float32", 3),
                  _sample_case(20, 40, 1.0, 0.2, "int64", 4),
                  _sample_case(50, 10, 0.29, 0.9, "float32", 5)])


# 400 draws of 4 positives out of 10 and 6 negatives out of 12: each index is drawn Binomial(400, p)
# times. Every count must lie within 5 standard deviations of 400 p: an honest sampler misses that with
# probability under 22 * 6e-7 (each of the 22 indices), one that favours some indices (the first ones,
# a fixed order) is far outside.
_UNIFORM_DRAWS, _UNIFORM_Z = 400, 5.0
_UNIFORM_CASE = {"n": 0, "batch_size": 10, "positive_fraction": 0.4, "positive_rate": 0.0, "dtype": "int64", "seed": 0}


@aspect(A, task="sample_balanced", points=1)
def sample_balanced_random(sample_balanced):
    """sample_balanced is random through its generator: same seed, same draw; each eligible index equally likely."""

    @_showing_labels
    def reproducible(case):
        _, (p1, n1) = _sample(sample_balanced, case)
        _, (p2, n2) = _sample(sample_balanced, case)
        if not (torch.equal(p1, p2) and torch.equal(n1, n2)):
            raise CheckFailed("two calls with generators seeded the same drew different indices: draw every random "
                              f"number from `generator`\nfirst:  {describe(p1)}, {describe(n1)}\n"
                              f"second: {describe(p2)}, {describe(n2)}")

    yield check_property("the same seed gives the same indices", S.sample_specs(), reproducible, max_examples=15)

    def uniform():
        labels = torch.tensor([1] * 10 + [0] * 12 + [-1] * 3)
        case = dict(_UNIFORM_CASE, labels=labels)
        counts = torch.zeros(len(labels), dtype=torch.float64)
        for seed in range(_UNIFORM_DRAWS):
            g = torch.Generator().manual_seed(1000 + seed)
            got = _student(sample_balanced, _SAMPLER, labels.clone(), case["batch_size"], case["positive_fraction"], g)
            if not isinstance(got, tuple) or len(got) != 2:
                raise CheckFailed("sample_balanced should return a tuple (pos_idx, neg_idx)")
            for t in got:
                expect_tensor(t, what="an index tensor", dtype=torch.int64)
                counts[t.long()] += 1
        for name, part, k in (("positive", slice(0, 10), 4), ("negative", slice(10, 22), 6)):
            n = part.stop - part.start
            p = k / n
            mean, sd = _UNIFORM_DRAWS * p, math.sqrt(_UNIFORM_DRAWS * p * (1 - p))
            c = counts[part]
            if bool(((c - mean).abs() > _UNIFORM_Z * sd).any()):
                raise CheckFailed(f"{_UNIFORM_DRAWS} draws of {k} of {n} {name}s (generators seeded 1000, 1001, ...) "
                                  f"are not uniform: each {name} was drawn {c.long().tolist()} times, expected "
                                  f"{mean:g} each (an honest sampler stays within {_UNIFORM_Z * sd:.0f} of that)")
        if bool(counts[22:].any()):
            raise CheckFailed("an ignored anchor (label -1) was drawn")

    yield check_once(f"every eligible index is equally likely: {_UNIFORM_DRAWS} draws of 4 of 10 positives and "
                     "6 of 12 negatives, each index's count within 5 standard deviations of its mean", uniform)


@aspect(A, task="sample_balanced", points=1)
def sample_balanced_exact(sample_balanced):
    """sample_balanced draws what torchvision's sampler draws: randperm of positives, then of negatives."""

    @_showing_labels
    def exact(case):
        labels, (pos, neg) = _sample(sample_balanced, case, watch=True)
        e_pos, e_neg = oracles.sample_balanced(labels, case["batch_size"], case["positive_fraction"], case["seed"])
        assert_equal(pos, e_pos, what="pos_idx (in the order drawn)")
        assert_equal(neg, e_neg, what="neg_idx (in the order drawn)")

    yield check_property(
        "the indices, in order, of positive[torch.randperm(#pos, generator=generator)[:num_pos]] and then "
        "negative[torch.randperm(#neg, generator=generator)[:num_neg]], as torchvision's sampler draws them; "
        "torch's global random state untouched",
        S.sample_specs(), exact, max_examples=30,
        examples=[_sample_case(40, 12, 0.25, 0.5, "int64", 7),
                  _sample_case(0, 8, 0.5, 0.5, "float32", 1)])


# ---------------------------------------------------------------- RoI pooling: inputs

def _roi_inputs(case):
    dtype = norm_dtype(case["dtype"])
    features = S.features_from_seed(case["batch"], case["channels"], case["height"], case["width"], case["seed"], dtype)
    rois = case["roi_list"] if "roi_list" in case else S.rois_from_seed(
        case["rois"], case["batch"], case["height"], case["width"], case["spatial_scale"], case["seed"])
    return features, rois.to(dtype)


def _pair(size):
    return (size, size) if isinstance(size, int) else tuple(size)


def _roi_shown(case):
    features, rois = _roi_inputs(case)
    shown = {"features": features, "rois": rois, "output_size": case["output_size"],
             "spatial_scale": case["spatial_scale"]}
    if "sampling_ratio" in case and case.get("op") != "roi_pool":
        shown.update(sampling_ratio=case["sampling_ratio"], aligned=case["aligned"])
    return shown


def _align_ambiguous(case, rois: torch.Tensor, gap: float = 1e-4) -> bool:
    """Whether rounding may decide this case: a sample point within ``gap`` of the edge where it
    stops counting (-1 or the map's size), or an adaptive grid size ceil(roi_side / bins) whose
    argument lies within ``gap`` of an integer (and is not one)."""
    ph, pw = _pair(case["output_size"])
    height, width = case["height"], case["width"]
    off = 0.5 if case["aligned"] else 0.0
    for roi in rois.double():
        start = roi[1:3] * case["spatial_scale"] - off
        side = roi[3:5] * case["spatial_scale"] - off - start
        if not case["aligned"]:
            side = side.clamp(min=1.0)
        for axis, bins, limit in ((0, pw, width), (1, ph, height)):
            ratio = float(side[axis]) / bins
            if case["sampling_ratio"] > 0:
                grid = case["sampling_ratio"]
            else:
                if 0 < abs(ratio - round(ratio)) < gap:
                    return True
                grid = math.ceil(ratio)
            if grid <= 0:
                continue
            b = torch.arange(bins, dtype=torch.float64)[:, None]
            i = torch.arange(grid, dtype=torch.float64)[None, :]
            pts = start[axis] + b * side[axis] / bins + (i + 0.5) * side[axis] / bins / grid
            near = torch.minimum((pts + 1).abs(), (pts - limit).abs())
            if bool(((near < gap) & (near > 0)).any()):
                return True
    return False


def _roi_call(fn, case, features, rois):
    if case.get("op") == "roi_pool":
        return _student(fn, _ROI, features, rois, case["output_size"], spatial_scale=case["spatial_scale"],
                        ops=_ROI_OPS)
    return _student(fn, _ROI, features, rois, case["output_size"], spatial_scale=case["spatial_scale"],
                    sampling_ratio=case["sampling_ratio"], aligned=case["aligned"], ops=_ROI_OPS)


def _roi_reference(case, features, rois):
    if case.get("op") == "roi_pool":
        return oracles.roi_pool(features, rois, _pair(case["output_size"]), case["spatial_scale"])
    return oracles.roi_align(features.double(), rois.double(), _pair(case["output_size"]), case["spatial_scale"],
                             case["sampling_ratio"], case["aligned"]).to(features.dtype)


def _roi_values(fn, op):
    @showing(_roi_shown)
    def same_as_torchvision(case):
        case = {**case, "op": op}
        features, rois = _roi_inputs(case)
        if op == "roi_align":
            assume(not _align_ambiguous(case, rois))
        pf, pr = features.clone(), rois.clone()
        got = _roi_call(fn, case, pf, pr)
        _unchanged(features, pf, "features")
        _unchanged(rois, pr, "rois")
        expected = _roi_reference(case, features, rois)
        if op == "roi_pool":   # a maximum is one of the inputs: exact
            assert_equal(got, expected, what="the pooled RoIs (K, C, output height, output width)")
        else:                  # a mean of bilinear samples of values in [-1, 1]
            tol = 1e-10 if features.dtype == torch.float64 else 2e-5
            assert_close(got, expected, rtol=0.0, atol=tol, what="the aligned RoIs (K, C, output height, output width)")
    return same_as_torchvision


def _roi_gradient(fn, op):
    @showing(_roi_shown)
    def same_gradient(case):
        case = {**case, "op": op, "dtype": "float64"}
        features, rois = _roi_inputs(case)
        if op == "roi_align":
            assume(not _align_ambiguous(case, rois))
        leaf = features.clone().requires_grad_(True)
        with torch.enable_grad():
            got = _roi_call(fn, case, leaf, rois)
            expect_tensor(got, what="the output", shape=_roi_reference(case, features, rois).shape,
                          dtype=torch.float64)
            g = torch.Generator().manual_seed(int(case["seed"]) + 9)
            upstream = torch.rand(got.shape, generator=g, dtype=torch.float64) * 2 - 1
            # an output that does not require grad passes nothing back: right only where nothing should pass
            (grad,) = gradients(got, [leaf], upstream) if got.requires_grad else (None,)
        kwargs = {"output_size": _pair(case["output_size"]), "spatial_scale": case["spatial_scale"]}
        if op == "roi_align":
            kwargs.update(sampling_ratio=case["sampling_ratio"], aligned=case["aligned"])
        expected = oracles.roi_gradient(op, features, rois, upstream, **kwargs)
        if grad is None:
            if bool(expected.any()):
                raise CheckFailed("no gradient reaches features (the output is cut off from autograd): compute it "
                                  "with torch operations on features, not through .item(), NumPy or a detached copy")
            grad = torch.zeros_like(features)
        assert_close(grad, expected, rtol=0.0, atol=1e-10, what="the gradient with respect to features")
    return same_gradient


def _roi_case(rows, *, batch=1, channels=1, height=6, width=6, output_size=2, spatial_scale=1.0,
              sampling_ratio=2, aligned=False, dtype="float64", seed=0):
    return {"batch": batch, "channels": channels, "height": height, "width": width, "rois": len(rows),
            "roi_list": torch.tensor(rows, dtype=torch.float64).reshape(-1, 5), "output_size": output_size,
            "spatial_scale": spatial_scale, "sampling_ratio": sampling_ratio, "aligned": aligned,
            "dtype": dtype, "seed": seed}


# ---------------------------------------------------------------- roi_pool

_POOL_PINNED = [
    _roi_case([[0, 0, 0, 5, 5]], output_size=2),                                      # the whole map
    _roi_case([[0, 0.5, 1.5, 2.5, 4.5], [0, -0.5, -1.5, 3, 3]], output_size=(2, 3)),   # x.5 rounds away from 0
    _roi_case([[1, 2, 2, 9, 9], [0, -6, -6, -2, -2]], batch=2, channels=2, output_size=3),  # outside: empty bins
    _roi_case([[0, 4, 4, 4, 4], [0, 3, 1, 2, 1]], output_size=2, dtype="float32"),    # zero size, reversed corners
    _roi_case([[0, 2, 6, 10, 18], [1, 1, 3, 5, 5]], batch=2, height=8, width=8, output_size=(3, 2),
              spatial_scale=0.25),                                                   # 0.5 and 0.75: rounding
    _roi_case([], output_size=2),                                                     # no RoIs
    # 29 rows in 7 bins, in float32 as torchvision computes them: 7 * (29 / 7) is just above 29, so the
    # last bin also takes row 9, the maximum of its rows here (in float64 it would stop at row 8)
    _roi_case([[0, 0, -20, 3, 8]], height=12, width=4, output_size=(7, 1), dtype="float32", seed=4),
]


@aspect(A, task="roi_pool", points=2)
def roi_pool_values(roi_pool):
    """roi_pool equals torchvision.ops.roi_pool: corners rounded half away from zero, +1 sides, empty bins 0."""
    yield check_property(
        "equals torchvision.ops.roi_pool (K, C, output height, output width) for RoIs partly or wholly outside "
        "the map, tiny ones, several images, int and (h, w) output sizes, spatial scales 1 to 1/8, float32 and "
        "float64; inputs unchanged",
        S.roi_specs(), _roi_values(roi_pool, "roi_pool"), max_examples=50, examples=_POOL_PINNED)


@aspect(A, task="roi_pool", points=1)
def roi_pool_gradients(roi_pool):
    """roi_pool's gradient with respect to features equals torchvision's: each bin's value goes to its maximum."""
    yield check_property(
        "autograd's gradient with respect to features equals torchvision.ops.roi_pool's (float64; bins that share "
        "a maximum add up; empty bins pass nothing)",
        S.roi_specs(), _roi_gradient(roi_pool, "roi_pool"), max_examples=25, examples=_POOL_PINNED[:3])


# ---------------------------------------------------------------- roi_align

_ALIGN_PINNED = [
    _roi_case([[0, 1, 1, 4, 3]], output_size=2, sampling_ratio=2),
    _roi_case([[0, 0.3, 0.6, 0.9, 1.1], [0, 2, 2, 2, 2]], output_size=(2, 3), sampling_ratio=1),  # under a pixel
    _roi_case([[0, 5, 5, 7, 7], [0, -3, -2, 1, 0]], output_size=1, sampling_ratio=1),  # samples at 6 (= H) and -1
    _roi_case([[1, -4, -4, 3, 9], [0, 4, 2, 12, 6]], batch=2, channels=2, output_size=(3, 2), sampling_ratio=3),
    _roi_case([[0, 2, 6, 10, 18]], height=8, width=8, output_size=3, spatial_scale=0.25, sampling_ratio=2,
              dtype="float32"),
    _roi_case([], output_size=2),
]


def _aligned(pinned, aligned, sampling=None):
    return [{**c, "aligned": aligned, **({} if sampling is None else {"sampling_ratio": sampling})} for c in pinned]


_SCALES = st.one_of(st.sampled_from(S.DYADIC_SCALES), st.floats(0.1, 1.0).map(lambda s: round(s, 3)))


@aspect(A, task="roi_align", points=2)
def roi_align_values(roi_align):
    """roi_align (aligned=False, fixed sampling ratio) equals torchvision.ops.roi_align: sides at least 1."""
    yield check_property(
        "equals torchvision.ops.roi_align with aligned=False and sampling_ratio 1 to 3 (RoIs partly outside the "
        "map, tiny ones, several images, int and (h, w) output sizes, spatial scales 1/8 to 1, float32 and "
        "float64); inputs unchanged",
        S.roi_specs(scales=_SCALES), _roi_values(roi_align, "roi_align"), max_examples=50, examples=_ALIGN_PINNED)


@aspect(A, task="roi_align", points=1)
def roi_align_aligned(roi_align):
    """roi_align with aligned=True equals torchvision's: corners shifted by -0.5 after scaling, no minimum side."""
    yield check_property(
        "equals torchvision.ops.roi_align with aligned=True (the half-pixel shift) and sampling_ratio 1 to 3",
        S.roi_specs(scales=_SCALES, aligned=st.just(True)), _roi_values(roi_align, "roi_align"), max_examples=40,
        examples=_aligned(_ALIGN_PINNED, True)[:5])


@aspect(A, task="roi_align", points=1)
def roi_align_adaptive(roi_align):
    """roi_align with sampling_ratio <= 0 takes ceil(roi side / output side) samples per bin side."""
    yield check_property(
        "equals torchvision.ops.roi_align with sampling_ratio -1 or 0 (adaptive: ceil(RoI height / output "
        "height) by ceil(RoI width / output width) samples per bin), aligned True and False",
        S.roi_specs(scales=_SCALES, sampling=st.sampled_from([-1, 0]), aligned=st.booleans()),
        _roi_values(roi_align, "roi_align"), max_examples=40,
        examples=_aligned(_ALIGN_PINNED[:4], False, -1) + _aligned(_ALIGN_PINNED[:4], True, 0))


@aspect(A, task="roi_align", points=1)
def roi_align_gradients(roi_align):
    """roi_align's gradient with respect to features equals torchvision's (bilinear weights / count)."""
    yield check_property(
        "autograd's gradient with respect to features equals torchvision.ops.roi_align's (float64; fixed and "
        "adaptive sampling, aligned True and False)",
        S.roi_specs(scales=_SCALES, sampling=st.sampled_from([-1, 1, 2]), aligned=st.booleans()),
        _roi_gradient(roi_align, "roi_align"), max_examples=25,
        examples=_ALIGN_PINNED[:4] + _aligned(_ALIGN_PINNED[2:4], True, -1))
