"""Checks of 12_segmentation_metrics: confusion counts, Dice / Jaccard / precision / recall /
specificity per image and class, mask boundaries, surface distances, the Hausdorff distance and its
percentiles, the average symmetric surface distance, and the MSE pitfall as an experiment.

Every value is compared with two references: MONAI (the field's library, float32, where its
conventions are the notebook's) and a float64 one from set arithmetic and SciPy that follows the
notebook's conventions everywhere, empty masks included. The student's code runs with MONAI, SciPy's
``directed_hausdorff`` (its compiled module too) and scikit-image's ``hausdorff_distance`` refused
(``medgrade.worker.probes.without_segmentation_libraries``).

Tolerances. Overlap metrics are ratios of pixel counts: exact up to a few float64 roundings (1e-12).
A distance is a square root of a sum of two squares in physical units: an exact method is within a
few ulps; ``torch.cdist``'s default (matrix-product) mode computes |a|^2 + |b|^2 - 2ab, whose rounding,
about 4 eps times the squared coordinates (at most (28 * 6 * sqrt 2)^2 mm^2 here), becomes up to 3e-6
times the spacing where a distance is 0. So distances and everything made of them (maxima,
percentiles, means) are compared with atol = 1e-5 * max(spacing), rtol = 1e-9; the smallest real
mistake (a pixel too far, spacings swapped) moves a distance by a tenth of a spacing or more. MONAI's
float32 values get rtol = 1e-5 on top.
"""
from __future__ import annotations

import math
import numbers

import torch
from hypothesis import strategies as st

from medgrade.failures import CheckFailed, assert_close, describe, expect_tensor, modified_in_place
from medgrade.properties import around, call, check_once, check_property
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "12_segmentation_metrics"
_DRIVER = "medgrade.worker.probes:without_segmentation_libraries"
_METRICS = ("dice", "jaccard", "precision", "recall", "specificity")


def _student(fn, *args, **kwargs):
    """Call the student's function with MONAI and the libraries' Hausdorff distances refused."""
    return call(around(fn, _DRIVER), *args, **kwargs)


def _art(mask: torch.Tensor) -> str:
    """A small bool mask drawn with # and . (larger ones are described)."""
    if mask.dim() != 2 or mask.shape[0] > 40 or mask.shape[1] > 48:
        return describe(mask)
    rows = ["".join("#" if v else "." for v in row) for row in mask.tolist()]
    return f"bool mask {tuple(mask.shape)}:\n" + "\n".join("    " + r for r in rows)


def _shown(value) -> str:
    return _art(value) if isinstance(value, torch.Tensor) and value.dtype == torch.bool else describe(value)


def _fail_with(inputs_of):
    """A failing property also prints the masks it used, drawn."""
    def decorate(prop):
        def run(case):
            try:
                prop(case)
            except CheckFailed as e:
                shown = "\n".join(f"{name} = {_shown(v)}" for name, v in inputs_of(case).items())
                raise CheckFailed(f"{e.message}\nthe inputs were:\n{shown}") from None
        return run
    return decorate


def _unchanged(before, passed, names):
    for b, p, name in zip(before, passed, names):
        if p.shape != b.shape or p.dtype != b.dtype or not torch.equal(p, b):
            raise CheckFailed(modified_in_place(name))


def _number(got, what: str) -> float:
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise CheckFailed(f"{what} should be a Python float, got {type(got).__name__}: {describe(got)}")
    return float(got)


def _dist_tol(spacing) -> dict:
    return {"rtol": 1e-9, "atol": 1e-5 * max(float(s) for s in spacing)}


def _same_number(got: float, expected: float, what: str, rtol: float, atol: float) -> None:
    if math.isnan(expected):
        ok = math.isnan(got)
    elif math.isinf(expected):
        ok = got == expected
    else:
        ok = math.isfinite(got) and abs(got - expected) <= atol + rtol * abs(expected)
    if not ok:
        gap = ("" if not (math.isfinite(got) and math.isfinite(expected)) else
               f" (difference {abs(got - expected):.3g}, allowed {atol + rtol * abs(expected):.3g})")
        raise CheckFailed(f"{what}: expected {expected:.10g}, got {got:.10g}{gap}")


# ---------------------------------------------------------------- confusion_counts

def _labels(case):
    return S.labels_from(case)


def _label_shown(case):
    p, t = _labels(case)
    return {"pred": p, "target": t, "num_classes": case["classes"]}


def _counts_call(fn, pred, target, num_classes):
    passed = (pred.clone(), target.clone())
    got = _student(fn, passed[0], passed[1], num_classes)
    _unchanged((pred, target), passed, ("pred", "target"))
    return got


def _label_example(shape=(2, 4, 5), classes=3, target_classes=(0, 1, 2), pred_classes=(0, 1, 2), agree=80,
                   blocky=True, dtype="int64", seed=0):
    return {"shape": shape, "classes": classes, "target_classes": list(target_classes),
            "pred_classes": list(pred_classes), "agree": agree, "blocky": blocky, "dtype": dtype, "seed": seed}


_LABEL_EXAMPLES = [
    _label_example(),
    _label_example((1, 3, 3), 1, (0,), (0,), 100),                       # one class everywhere
    _label_example((3, 5, 4), 4, (0, 2), (0, 3), 50, seed=1),            # class 1 nowhere, 2 and 3 on one side
    _label_example((2, 7), 3, (1,), (0, 1, 2), 0, False, "uint8", 2),    # 1-D images
    _label_example((2, 3, 4, 2), 5, (0, 1, 4), (0, 1, 4), 95, False, "int32", 3),   # 3-D volumes
    _label_example((1, 1, 1), 2, (1,), (0,), 100, False),                # a single pixel, no agreement
    _label_example((1, 16, 16), 2, (1,), (1,), 100, False, "uint8", 4),  # 256 pixels of one class, uint8
    _label_example((2, 20, 20), 17, range(17), range(3, 17), 80, True, "uint8", 5),   # 17 classes: 17 * 17 > 255
]


@aspect(A, task="confusion_counts", points=2)
def confusion_counts_correct(confusion_counts):
    """confusion_counts gives [TP, FP, TN, FN] per image and class, as set arithmetic counts them."""

    @_fail_with(_label_shown)
    def same_as_sets(case):
        pred, target = _labels(case)
        expected = oracles.confusion_counts(pred, target, case["classes"])
        got = _counts_call(confusion_counts, pred, target, case["classes"])
        expect_tensor(got, what="the counts", shape=expected.shape)
        if got.is_complex() or not torch.equal(got.double(), expected.double()):     # the dtype: the contract
            raise CheckFailed(f"the counts [TP, FP, TN, FN] differ from the pixel sets' counts\n"
                              f"expected: {describe(expected)}\ngot:      {describe(got)}")

    yield check_property(
        "equals the pixel-set counts |P and T|, |P - T|, |neither|, |T - P| for every image and class "
        "(label maps of 1 to 3 spatial dimensions, classes absent from one side or both)",
        S.label_cases(), same_as_sets, max_examples=60, examples=_LABEL_EXAMPLES)


@aspect(A, task="confusion_counts", points=1)
def confusion_counts_contract(confusion_counts):
    """confusion_counts returns int64 (B, C, 4) and raises ValueError for bad labels and shapes."""

    @_fail_with(_label_shown)
    def dtype_and_shape(case):
        pred, target = _labels(case)
        got = _counts_call(confusion_counts, pred, target, case["classes"])
        expect_tensor(got, what="the counts", shape=(pred.shape[0], case["classes"], 4), dtype=torch.int64)
        pixels = pred[0].numel()
        if not bool((got.sum(dim=-1) == pixels).all()):
            raise CheckFailed(f"each row [TP, FP, TN, FN] should add up to the {pixels} pixels of an image:\n"
                              f"{describe(got)}")

    yield check_property(
        "an int64 tensor (B, C, 4) whose rows add up to the pixels of one image, for int64, int32 and "
        "uint8 label maps, inputs unchanged",
        S.label_cases(), dtype_and_shape, max_examples=25, examples=_LABEL_EXAMPLES[:3])

    yield check_once("raises ValueError for labels outside [0, num_classes) in either map, shapes that differ, "
                     "and a tensor without a batch dimension", lambda: _refuses(confusion_counts, "confusion_counts"))


def _refuses(fn, name: str) -> None:
    """``fn`` (confusion_counts, or overlap_metrics, which uses it) raises ValueError for bad input."""
    good = torch.tensor([[[0, 1], [2, 1]]])
    cases = [("a label equal to num_classes in pred", torch.tensor([[[0, 3], [2, 1]]]), good, 3),
             ("a label equal to num_classes in target", good, torch.tensor([[[0, 1], [3, 1]]]), 3),
             ("a negative label in pred", torch.tensor([[[0, -1], [2, 1]]]), good, 3),
             ("a negative label in target", good, torch.tensor([[[-2, 1], [2, 1]]]), 3),
             ("shapes (1, 2, 2) and (1, 4)", good, good.reshape(1, 4), 3),
             ("an image without a batch dimension, (4,)", good.reshape(4), good.reshape(4), 3)]
    for what, p, t, c in cases:
        try:
            _student(fn, p, t, c)
        except CheckFailed as e:
            if "raised ValueError" in e.message:
                continue
            raise CheckFailed(f"for {what}, {name} should raise ValueError; {e.message}") from None
        raise CheckFailed(f"for {what}, {name} should raise ValueError; it returned a value")


# ---------------------------------------------------------------- overlap_metrics

def _metrics_call(fn, pred, target, num_classes, keys):
    got = _counts_call(fn, pred, target, num_classes)
    if not isinstance(got, dict):
        raise CheckFailed(f"overlap_metrics should return a dict, got {type(got).__name__}")
    missing = [k for k in keys if k not in got]
    if missing:
        raise CheckFailed(f"the dict has no key {missing[0]!r} (it has {sorted(map(str, got))})")
    shape = (pred.shape[0], num_classes)
    for k in keys:
        expect_tensor(got[k], what=f"the {k!r} entry", shape=shape, dtype=torch.float64)
    return got


def _compare_metrics(got, pred, target, num_classes, keys):
    expected = oracles.overlap_metrics(pred, target, num_classes)
    library = oracles.monai_overlap(pred, target, num_classes)
    for k in keys:
        assert_close(got[k], expected[k], rtol=0.0, atol=1e-12, what=f"the {k!r} entry")
        assert_close(got[k], library[k], rtol=1e-5, atol=1e-6,
                     what=f"the {k!r} entry (compared with MONAI's, float32)")


def _overlap_examples(what):
    """Pinned cases for one side of the conventions, as label maps (B=1)."""
    def one(p, t, c=2):
        return torch.tensor([p]), torch.tensor([t]), c
    both_empty = one([[0, 0], [0, 0]], [[0, 0], [0, 0]])            # class 1 absent from both
    pred_empty = one([[0, 0], [0, 0]], [[0, 1], [0, 0]])            # class 1 only in the target
    target_empty = one([[0, 1], [1, 0]], [[0, 0], [0, 0]])          # class 1 only in the prediction
    full = one([[1, 1], [1, 1]], [[1, 1], [1, 1]])                  # class 1 everywhere: no negatives
    half = one([[1, 1, 0, 0]], [[1, 0, 0, 0]])
    return [("both maps without the class", *both_empty), ("an empty prediction", *pred_empty),
            ("an empty target", *target_empty), ("the class everywhere in both", *full),
            ("a small overlap", *half)]


def _same_as_references(overlap_metrics, keys):
    """A property: the entries ``keys`` of overlap_metrics equal MONAI's and set arithmetic's on a case."""
    @_fail_with(_label_shown)
    def same_as_references(case):
        pred, target = _labels(case)
        got = _metrics_call(overlap_metrics, pred, target, case["classes"], keys)
        _compare_metrics(got, pred, target, case["classes"], keys)
    return same_as_references


def _conventions(overlap_metrics, keys):
    """A check: the entries ``keys`` on the pinned empty-mask examples."""
    def conventions():
        for what, p, t, c in _overlap_examples(keys):
            got = _metrics_call(overlap_metrics, p, t, c, keys)
            try:
                _compare_metrics(got, p, t, c, keys)
            except CheckFailed as e:
                raise CheckFailed(f"{what} (pred = {p.tolist()}, target = {t.tolist()}): {e.message}") from None
    return conventions


@aspect(A, task="overlap_metrics", points=2)
def overlap_metrics_dice_jaccard(overlap_metrics):
    """Dice and Jaccard per image and class as MONAI and set arithmetic; 1 when both are empty; bad labels refused."""
    keys = ("dice", "jaccard")

    same_as_references = _same_as_references(overlap_metrics, keys)

    yield check_property(
        "dice and jaccard (float64, (B, C)) equal MONAI's DiceMetric and MeanIoU (include_background=True, "
        "ignore_empty=False) and the pixel sets' 2|P and T| / (|P| + |T|), |P and T| / |P or T|",
        S.label_cases(), same_as_references, max_examples=50, examples=_LABEL_EXAMPLES)

    conventions = _conventions(overlap_metrics, keys)

    yield check_once("a class absent from both maps scores 1, present in only one of them 0", conventions)

    yield check_once("raises ValueError, as confusion_counts does, for labels outside [0, num_classes) in either "
                     "map, shapes that differ and a tensor without a batch dimension",
                     lambda: _refuses(overlap_metrics, "overlap_metrics"))

    @_fail_with(_label_shown)
    def identities(case):
        pred, target = _labels(case)
        got = _metrics_call(overlap_metrics, pred, target, case["classes"], keys)
        swapped = _metrics_call(overlap_metrics, target, pred, case["classes"], keys)
        d, j = got["dice"], got["jaccard"]
        if not bool(((d >= 0) & (d <= 1) & (j >= 0) & (j <= 1)).all()):
            raise CheckFailed(f"a Dice or Jaccard outside [0, 1]:\ndice: {describe(d)}\njaccard: {describe(j)}")
        assert_close(d, 2 * j / (1 + j), rtol=0.0, atol=1e-12, what="dice, compared with 2 J / (1 + J) of your jaccard")
        for k in keys:
            assert_close(swapped[k], got[k], rtol=0.0, atol=1e-12,
                         what=f"the {k!r} entry with pred and target swapped (it is symmetric)")

    yield check_property("in [0, 1], Dice = 2J / (1 + J), and both symmetric in pred and target",
                         S.label_cases(), identities, max_examples=20)


@aspect(A, task="overlap_metrics", points=2)
def overlap_metrics_rates(overlap_metrics):
    """Precision, recall, specificity per image and class as MONAI gives them; NaN exactly where undefined."""
    keys = ("precision", "recall", "specificity")

    same_as_references = _same_as_references(overlap_metrics, keys)

    yield check_property(
        "precision TP / (TP + FP), recall TP / (TP + FN) and specificity TN / (TN + FP) (float64, (B, C)) equal "
        "MONAI's confusion-matrix metrics and the pixel sets' ratios, NaN where the denominator is 0",
        S.label_cases(), same_as_references, max_examples=50, examples=_LABEL_EXAMPLES)

    conventions = _conventions(overlap_metrics, keys)

    yield check_once("empty prediction: precision NaN; empty target: recall NaN; a class everywhere: "
                     "specificity NaN; defined values otherwise", conventions)

    @_fail_with(_label_shown)
    def swap(case):
        pred, target = _labels(case)
        got = _metrics_call(overlap_metrics, pred, target, case["classes"], keys)
        swapped = _metrics_call(overlap_metrics, target, pred, case["classes"], keys)
        assert_close(swapped["precision"], got["recall"], rtol=0.0, atol=1e-12,
                     what="precision with pred and target swapped (it should be the recall)")
        assert_close(swapped["recall"], got["precision"], rtol=0.0, atol=1e-12,
                     what="recall with pred and target swapped (it should be the precision)")

    yield check_property("swapping pred and target swaps precision and recall", S.label_cases(), swap,
                         max_examples=15)


# ---------------------------------------------------------------- mask_boundary

def _mask_shown(desc):
    return {"mask": S.mask_from(desc)}


_MASK_EXAMPLES = [
    {"shape": (1, 1), "parts": [("pixel", 0, 0)]},
    {"shape": (4, 5), "parts": []},
    {"shape": (4, 5), "parts": [("rect", 0, 0, 4, 5)]},                         # the whole image
    {"shape": (1, 6), "parts": [("rect", 0, 1, 1, 4)]},                         # one row
    {"shape": (7, 7), "parts": [("rect", 1, 1, 5, 5), ("hole", 3, 3, 1, 1)]},   # a ring: inner boundary
    {"shape": (6, 8), "parts": [("disk", 0, 7, 3.0), ("pixel", 5, 0)]},         # touching two edges, an island
    {"shape": (9, 9), "parts": [("speckle", 5, 60)]},
]


@aspect(A, task="mask_boundary", points=1)
def mask_boundary_correct(mask_boundary):
    """mask_boundary: the pixels with a side neighbour outside the mask, the image's edge outside."""

    @_fail_with(_mask_shown)
    def same_as_erosion(desc):
        mask = S.mask_from(desc)
        passed = mask.clone()
        got = _student(mask_boundary, passed)
        _unchanged((mask,), (passed,), ("mask",))
        expected = oracles.mask_boundary(mask)
        expect_tensor(got, what="the boundary", shape=mask.shape, dtype=torch.bool)
        if not torch.equal(got, expected):
            raise CheckFailed(f"the boundary differs from the mask minus its erosion (4-neighbour, the image's "
                              f"edge outside) in {int((got != expected).sum())} pixels\n"
                              f"expected: {_art(expected)}\ngot:      {_art(got)}")

    yield check_property(
        "equals mask AND NOT erosion(mask) (4-neighbour cross, outside the image is background): masks of "
        "rectangles, disks, single pixels, holes and speckle, touching the edges or not, empty or full",
        S.masks(), same_as_erosion, max_examples=60, examples=_MASK_EXAMPLES)


# ---------------------------------------------------------------- surface_distances

def _pair_shown(case):
    (pd, td), spacing = case
    return {"a": S.mask_from(pd), "b": S.mask_from(td), "spacing": spacing}


def _pair_call(fn, a, b, *args, **kwargs):
    passed = (a.clone(), b.clone())
    got = _student(fn, passed[0], passed[1], *args, **kwargs)
    _unchanged((a, b), passed, ("the first mask", "the second mask"))
    return got


def _pair(shape, pred_parts, target_parts, spacing):
    return ({"shape": shape, "parts": pred_parts}, {"shape": shape, "parts": target_parts}), spacing


_PAIR_EXAMPLES = [
    (({"shape": (5, 5), "parts": [("pixel", 1, 1)]}, {"shape": (5, 5), "parts": [("pixel", 4, 3)]}), (1.0, 1.0)),
    _pair((6, 9), [("rect", 1, 1, 3, 3)], [("rect", 1, 4, 4, 5)], (0.7, 5.0)),
    _pair((8, 8), [("disk", 4, 4, 3.0)], [("disk", 0, 0, 2.0)], (2.0, 0.5)),
    _pair((4, 4), [("rect", 0, 0, 4, 4)], [("rect", 1, 1, 2, 2)], (1.0, 3.0)),
    (({"shape": (7, 7), "parts": [("rect", 0, 0, 7, 7), ("hole", 2, 2, 3, 3)]},
      {"shape": (7, 7), "parts": [("pixel", 3, 3)]}), (0.25, 0.143)),                  # a ring around a dot
]
_EMPTY = {"shape": (5, 6), "parts": []}
_SOME = {"shape": (5, 6), "parts": [("rect", 1, 2, 2, 3)]}
_EMPTY_PAIRS = [(("both empty", _EMPTY, _EMPTY)), ("first empty", _EMPTY, _SOME), ("second empty", _SOME, _EMPTY)]


@aspect(A, task="surface_distances", points=2)
def surface_distances_correct(surface_distances):
    """surface_distances: per boundary pixel of a, the distance in mm to b's boundary (SciPy, MONAI)."""

    @_fail_with(_pair_shown)
    def same_as_references(case):
        (pd, td), spacing = case
        a, b = S.mask_from(pd), S.mask_from(td)
        got = _pair_call(surface_distances, a, b, spacing)
        expected = oracles.surface_distances(a, b, spacing)
        assert_close(got, expected, **_dist_tol(spacing),
                     what="the distances (one per boundary pixel of a, in row-major order)")
        if a.any() and b.any():
            assert_close(got, oracles.monai_surface_distances(a, b, spacing), rtol=1e-5,
                         atol=_dist_tol(spacing)["atol"], what="the distances (compared with MONAI's, float32)")

    yield check_property(
        "float64, one distance per boundary pixel of a in row-major order, equal to SciPy's "
        "distance_transform_edt(sampling=spacing) of b's boundary and MONAI's surface distances, for square "
        "and anisotropic spacings (sy, sx)",
        st.tuples(S.mask_pairs(), S.spacings), same_as_references, max_examples=60, examples=_PAIR_EXAMPLES)

    def empty():
        for what, pd, td in _EMPTY_PAIRS:
            a, b = S.mask_from(pd), S.mask_from(td)
            got = _pair_call(surface_distances, a, b, (1.0, 2.0))
            try:
                assert_close(got, oracles.surface_distances(a, b, (1.0, 2.0)), rtol=0.0, atol=0.0,
                             what="the distances")
            except CheckFailed as e:
                raise CheckFailed(f"{what}: {e.message}\na = {_art(a)}\nb = {_art(b)}") from None

    yield check_once("an empty a gives an empty tensor; a non-empty a and an empty b give inf for every "
                     "boundary pixel of a", empty)


# ---------------------------------------------------------------- hausdorff_distance

def _hd(fn, a, b, spacing, **kwargs):
    return _number(_pair_call(fn, a, b, spacing, **kwargs), "the Hausdorff distance")


@st.composite
def _triples(draw):
    first = draw(S.masks(nonempty=True))
    shape = first["shape"]
    return (first, draw(S.masks(shape=shape, nonempty=True)), draw(S.masks(shape=shape, nonempty=True)),
            draw(S.spacings))


def _triple_shown(case):
    a, b, c, spacing = case
    return {"a": S.mask_from(a), "b": S.mask_from(b), "c": S.mask_from(c), "spacing": spacing}


@st.composite
def _shifts(draw):
    (pd, td), spacing = draw(S.mask_pairs(nonempty=True)), draw(S.spacings)
    return pd, td, draw(st.integers(-4, 4)), draw(st.integers(-4, 4)), spacing


def _placed(mask: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``mask`` on a canvas 5 pixels larger on every side, moved by (dy, dx) from the centre."""
    h, w = mask.shape
    canvas = torch.zeros(h + 10, w + 10, dtype=torch.bool)
    canvas[5 + dy:5 + dy + h, 5 + dx:5 + dx + w] = mask
    return canvas


def _shift_shown(case):
    pd, td, dy, dx, spacing = case
    return {"pred": S.mask_from(pd), "target": S.mask_from(td), "shift (dy, dx)": (dy, dx), "spacing": spacing}


@aspect(A, task="hausdorff_distance", points=2)
def hausdorff_distance_correct(hausdorff_distance):
    """HD equals SciPy's and MONAI's; 0 / inf for empty masks; a metric, invariant to translation."""

    @_fail_with(_pair_shown)
    def same_as_references(case):
        (pd, td), spacing = case
        pred, target = S.mask_from(pd), S.mask_from(td)
        got = _hd(hausdorff_distance, pred, target, spacing)
        tol = _dist_tol(spacing)
        _same_number(got, oracles.hausdorff_distance(pred, target, spacing), "the Hausdorff distance", **tol)
        if pred.any() and target.any():
            _same_number(got, oracles.scipy_hausdorff(pred, target, spacing),
                         "the Hausdorff distance (compared with SciPy's directed_hausdorff of the boundaries)", **tol)
            _same_number(got, oracles.monai_hausdorff(pred, target, spacing),
                         "the Hausdorff distance (compared with MONAI's, float32)", 1e-5, tol["atol"])

    yield check_property(
        "with the default percentile (100): the larger of the two directed maxima between the boundaries, "
        "equal to SciPy's directed_hausdorff both ways and MONAI's HausdorffDistanceMetric, square and "
        "anisotropic spacings",
        st.tuples(S.mask_pairs(), S.spacings), same_as_references, max_examples=50, examples=_PAIR_EXAMPLES)

    def empty():
        for what, pd, td in _EMPTY_PAIRS:
            p, t = S.mask_from(pd), S.mask_from(td)
            got = _hd(hausdorff_distance, p, t, (1.0, 2.0))
            _same_number(got, oracles.hausdorff_distance(p, t, (1.0, 2.0)),
                         f"{what} ({'0: nothing to disagree on' if what == 'both empty' else 'inf'})", 0.0, 0.0)

    yield check_once("both masks empty: 0.0; exactly one empty: inf", empty)

    @_fail_with(_triple_shown)
    def metric(case):
        a, b, c = (S.mask_from(d) for d in case[:3])
        spacing = case[3]
        tol = _dist_tol(spacing)["atol"]
        ab, ba = _hd(hausdorff_distance, a, b, spacing), _hd(hausdorff_distance, b, a, spacing)
        bc, ac = _hd(hausdorff_distance, b, c, spacing), _hd(hausdorff_distance, a, c, spacing)
        aa = _hd(hausdorff_distance, a, a, spacing)
        if abs(aa) > tol:
            raise CheckFailed(f"HD(a, a) should be 0, got {aa:.6g}")
        if abs(ab - ba) > tol:
            raise CheckFailed(f"HD(a, b) = {ab:.6g} but HD(b, a) = {ba:.6g}: it should be symmetric")
        if ac > ab + bc + tol:
            raise CheckFailed(f"HD(a, c) = {ac:.6g} > HD(a, b) + HD(b, c) = {ab:.6g} + {bc:.6g}: "
                              f"the triangle inequality fails")

    yield check_property("HD(a, a) = 0, HD(a, b) = HD(b, a), HD(a, c) <= HD(a, b) + HD(b, c) for non-empty masks",
                         _triples(), metric, max_examples=15)

    @_fail_with(_shift_shown)
    def translation(case):
        pd, td, dy, dx, spacing = case
        pred, target = S.mask_from(pd), S.mask_from(td)
        here = _hd(hausdorff_distance, _placed(pred, 0, 0), _placed(target, 0, 0), spacing)
        moved = _hd(hausdorff_distance, _placed(pred, dy, dx), _placed(target, dy, dx), spacing)
        if abs(here - moved) > _dist_tol(spacing)["atol"] + 1e-9 * here:
            raise CheckFailed(f"moving both masks by ({dy}, {dx}) pixels on a larger image changed the Hausdorff "
                              f"distance from {here:.6g} to {moved:.6g}")

    yield check_property("moving both masks together (on an image 5 pixels larger on every side) keeps it",
                         _shifts(), translation, max_examples=10)


# percentiles, not fractions: 1.0 and 0.5 are the 1st and the half percentile (a check that q <= 1 is not
# read as a fraction), 100.0 the maximum
_PERCENTILES = st.one_of(st.sampled_from([95.0, 95.0, 50.0, 0.0, 99.0, 90.0, 75.5, 1.0, 0.5, 100.0]),
                         st.floats(0.0, 100.0))


@st.composite
def _percentile_cases(draw):
    return draw(S.mask_pairs(nonempty=True)), draw(S.spacings), draw(_PERCENTILES)


def _percentile_shown(case):
    (pd, td), spacing, q = case
    return {"pred": S.mask_from(pd), "target": S.mask_from(td), "spacing": spacing, "percentile": q}


@aspect(A, task="hausdorff_distance", points=2)
def hausdorff_distance_percentile(hausdorff_distance):
    """HD95 and any percentile: the larger directed percentile, as MONAI; inf for one empty mask."""

    @_fail_with(_percentile_shown)
    def same_as_references(case):
        (pd, td), spacing, q = case
        pred, target = S.mask_from(pd), S.mask_from(td)
        got = _hd(hausdorff_distance, pred, target, spacing, percentile=q)
        tol = _dist_tol(spacing)
        _same_number(got, oracles.hausdorff_distance(pred, target, spacing, q),
                     f"the {q:g}th-percentile Hausdorff distance", **tol)
        if q > 0:                   # MONAI reads percentile=0 as "no percentile" and returns the maximum
            _same_number(got, oracles.monai_hausdorff(pred, target, spacing, q),
                         f"the {q:g}th-percentile Hausdorff distance (compared with MONAI's, float32)",
                         1e-5, tol["atol"])

    yield check_property(
        "max(q-th percentile of the distances from pred's boundary to target's, q-th percentile of the "
        "reverse), linear interpolation between ranks, equal to NumPy's and MONAI's (percentile=q), for "
        "HD95 and percentiles from 0 to 100, non-empty masks",
        _percentile_cases(), same_as_references, max_examples=50,
        examples=[(pair, spacing, 95.0) for pair, spacing in _PAIR_EXAMPLES]
        + [(_PAIR_EXAMPLES[1][0], (1.0, 1.0), 0.0), (_PAIR_EXAMPLES[2][0], (0.5, 3.0), 50.0),
           (_PAIR_EXAMPLES[2][0], (2.0, 0.5), 1.0), (_PAIR_EXAMPLES[1][0], (0.7, 5.0), 0.5)])

    def edges():
        for what, pd, td in _EMPTY_PAIRS:
            p, t = S.mask_from(pd), S.mask_from(td)
            got = _hd(hausdorff_distance, p, t, (1.0, 1.0), percentile=95.0)
            _same_number(got, oracles.hausdorff_distance(p, t, (1.0, 1.0), 95.0), f"HD95, {what}", 0.0, 0.0)
        some, empty = S.mask_from(_SOME), S.mask_from(_EMPTY)
        masks = (("two overlapping masks", some, some.roll(1, dims=1)), ("two empty masks", empty, empty),
                 ("an empty prediction", empty, some), ("an empty target", some, empty))
        for q, (what, p, t) in zip((-1.0, 100.5, 950.0, -0.5, 101.0, -3.0), masks + masks[1:]):
            try:
                _student(hausdorff_distance, p, t, (1.0, 1.0), percentile=q)
            except CheckFailed as e:
                if "raised ValueError" in e.message:
                    continue
                raise CheckFailed(f"percentile={q:g} ({what}) should raise ValueError; {e.message}") from None
            raise CheckFailed(f"percentile={q:g} ({what}) should raise ValueError, whatever the masks; "
                              f"it returned a value")

    yield check_once("HD95 of two empty masks is 0.0, of one empty mask inf; a percentile outside [0, 100] "
                     "raises ValueError, for empty masks too", edges)


# ---------------------------------------------------------------- average_surface_distance

@aspect(A, task="average_surface_distance", points=2)
def average_surface_distance_correct(average_surface_distance):
    """ASSD: both directions' distances pooled, as MONAI's symmetric one; 0 / inf for empty masks."""

    @_fail_with(_pair_shown)
    def same_as_references(case):
        (pd, td), spacing = case
        pred, target = S.mask_from(pd), S.mask_from(td)
        got = _number(_pair_call(average_surface_distance, pred, target, spacing), "the ASSD")
        tol = _dist_tol(spacing)
        _same_number(got, oracles.average_surface_distance(pred, target, spacing), "the ASSD", **tol)
        if pred.any() and target.any():
            _same_number(got, oracles.monai_average_surface_distance(pred, target, spacing),
                         "the ASSD (compared with MONAI's SurfaceDistanceMetric(symmetric=True), float32)",
                         1e-5, tol["atol"])
            back = _number(_pair_call(average_surface_distance, target, pred, spacing), "the ASSD")
            _same_number(back, got, "the ASSD with pred and target swapped (it is symmetric)", 0.0, tol["atol"])
            if got > oracles.hausdorff_distance(pred, target, spacing) + tol["atol"]:
                raise CheckFailed(f"the ASSD {got:.6g} is larger than the Hausdorff distance: a mean cannot "
                                  f"exceed the maximum")

    yield check_property(
        "(sum of the distances from pred's boundary to target's + sum of the reverse) / (number of boundary "
        "pixels of both), equal to MONAI's SurfaceDistanceMetric(symmetric=True); symmetric; at most the "
        "Hausdorff distance; square and anisotropic spacings",
        st.tuples(S.mask_pairs(), S.spacings), same_as_references, max_examples=50, examples=_PAIR_EXAMPLES)

    def empty():
        for what, pd, td in _EMPTY_PAIRS:
            p, t = S.mask_from(pd), S.mask_from(td)
            got = _number(_pair_call(average_surface_distance, p, t, (1.0, 2.0)), "the ASSD")
            _same_number(got, oracles.average_surface_distance(p, t, (1.0, 2.0)), f"the ASSD, {what}", 0.0, 0.0)

    yield check_once("both masks empty: 0.0; exactly one empty: inf", empty)


# ---------------------------------------------------------------- misleading_pair

def _lesion_shown(desc):
    return {"truth": S.mask_from(desc)}


@aspect(A, task="misleading_pair", points=2)
def misleading_pair_experiment(misleading_pair):
    """misleading_pair: two predictions of a small lesion that MSE ranks against Dice and HD95."""

    @_fail_with(_lesion_shown)
    def misleads(desc):
        truth = S.mask_from(desc)
        passed = truth.clone()
        got = _student(misleading_pair, passed)
        _unchanged((truth,), (passed,), ("truth",))
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailed(f"misleading_pair should return a pair (a, b), got {describe(got)}")
        a, b = got
        for name, m in (("a", a), ("b", b)):
            expect_tensor(m, what=f"prediction {name}", shape=truth.shape, dtype=torch.bool)
            if not bool(m.any()):
                raise CheckFailed(f"prediction {name} is empty: both predictions must mark at least one pixel")
        mse = oracles.mse(a, truth), oracles.mse(b, truth)
        dice = oracles.dice(a, truth), oracles.dice(b, truth)
        hd95 = (oracles.hausdorff_distance(a, truth, percentile=95.0),
                oracles.hausdorff_distance(b, truth, percentile=95.0))
        verdict = (f"MSE a = {mse[0]:.5g}, b = {mse[1]:.5g}; Dice a = {dice[0]:.4g}, b = {dice[1]:.4g}; "
                   f"HD95 a = {hd95[0]:.4g}, b = {hd95[1]:.4g}\na = {_art(a)}\nb = {_art(b)}")
        if not mse[0] < mse[1]:
            raise CheckFailed("MSE should prefer a (a smaller MSE than b's):\n" + verdict)
        if not dice[1] > dice[0]:
            raise CheckFailed("Dice should prefer b (a larger Dice than a's):\n" + verdict)
        if not hd95[1] < hd95[0]:
            raise CheckFailed("HD95 should prefer b (a smaller HD95 than a's):\n" + verdict)

    yield check_property(
        "for lesions of 1 to 40 pixels anywhere on images of 20 to 48 pixels a side (centre, edges and corners "
        "included): a and b are non-empty bool masks of the truth's shape, MSE(a) < MSE(b), Dice(b) > Dice(a) "
        "and HD95(b) < HD95(a) (the course's metrics, unit spacing); truth unchanged",
        S.small_lesions(), misleads, max_examples=40,
        examples=[{"shape": (20, 20), "parts": [("pixel", 0, 0)]},
                  {"shape": (20, 48), "parts": [("disk", 10, 24, 3.5)]},
                  {"shape": (48, 20), "parts": [("rect", 42, 14, 6, 6)]},
                  {"shape": (32, 32), "parts": [("disk", 31, 0, 3.5)]},
                  {"shape": (20, 27), "parts": [("rect", 0, 23, 3, 4)]},         # the four corners, each
                  {"shape": (21, 21), "parts": [("pixel", 10, 10)]},             # the centre, odd sides
                  {"shape": (24, 30), "parts": [("rect", 11, 14, 2, 2)]}])       # the centre, even sides
