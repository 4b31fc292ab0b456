"""Checks of 17_tracking: the IoU cost matrix, the gated assignment (against SciPy's
linear_sum_assignment), a constant-velocity Kalman filter (against a float64 reference), the
tracker's life cycle (against a reference tracker made of the course's answers) and the CLEAR MOT
counts (against a reference that solves each frame with SciPy).

The assignment is graded with every library assignment solver refused. The Kalman filter and the
tracker are classes: they are built and driven in the student's worker (medgrade.worker.probes)
and only their numbers come back.
"""
from __future__ import annotations

import math

import torch
from hypothesis import assume
from hypothesis import strategies as st

from medgrade.common import boxes as box_lib
from medgrade.failures import CheckFailed, assert_close, describe, expect_tensor, modified_in_place
from medgrade.properties import around, call, check_once, check_property, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as R

A = "17_tracking"


def _boxes(rows, dtype=torch.float64):
    return torch.tensor(rows, dtype=dtype).reshape(-1, 4)


# ---------------------------------------------------------------- iou_cost_matrix

def _tol(dtype):
    return {"rtol": 0.0, "atol": 1e-6} if dtype == torch.float32 else {"rtol": 0.0, "atol": 1e-12}


@aspect(A, task="iou_cost_matrix", points=1)
def iou_cost_matrix_correct(iou_cost_matrix):
    """iou_cost_matrix is 1 - IoU, shape (T, D) in the boxes' dtype, empty sets included; inputs unchanged."""

    def same_as_reference(case):
        a, b = case["tracks"], case["detections"]
        pa, pb = a.clone(), b.clone()
        got = call(iou_cost_matrix, pa, pb)
        if not torch.equal(pa, a) or not torch.equal(pb, b):
            raise CheckFailed(modified_in_place("tracks or detections"))
        assert_close(got, R.iou_cost_matrix(a, b), what="the cost matrix", **_tol(a.dtype))

    def pair(ta, tb, dtype):
        return {"tracks": box_lib.boxes_from_seed(ta["n"], ta["seed"], grid=ta["grid"], dtype=dtype),
                "detections": box_lib.boxes_from_seed(tb["n"], tb["seed"], grid=tb["grid"], dtype=dtype)}

    yield check_property(
        "equals 1 - torchvision.ops.box_iou(tracks, detections): shape (T, D) (rows are tracks), the boxes' "
        "dtype, 1 for boxes that do not overlap, 0 for identical boxes; (0, D), (T, 0) and (0, 0) when a "
        "set is empty; inputs unchanged",
        st.builds(pair, box_lib.box_sets(0, 8), box_lib.box_sets(0, 8),
                  st.sampled_from([torch.float32, torch.float64])),
        same_as_reference, max_examples=40,
        examples=[{"tracks": torch.zeros(0, 4), "detections": box_lib.boxes_from_seed(3, 1)},
                  {"tracks": _boxes([[0, 0, 2, 2], [5, 5, 9, 9]]),
                   "detections": torch.zeros(0, 4, dtype=torch.float64)},
                  {"tracks": torch.zeros(0, 4, dtype=torch.float64),
                   "detections": torch.zeros(0, 4, dtype=torch.float64)},
                  {"tracks": _boxes([[0, 0, 2, 2], [10, 0, 12, 2]]),
                   "detections": _boxes([[0, 0, 2, 2], [1, 1, 3, 3], [2, 0, 4, 2]])}])


# ---------------------------------------------------------------- assign

def _assign(assign, cost, max_cost, form=True):
    """The student's assignment, with every library solver refused; checked for its form (with
    ``form=False`` only the pairs are read: any integer dtype, the cost may have been written to,
    which is assign_contract's to grade)."""
    passed = cost.clone()
    got = call(around(assign, "medgrade.worker.probes:without_assignment_solvers"), passed, max_cost)
    if form and not torch.equal(passed.nan_to_num(posinf=1e300), cost.nan_to_num(posinf=1e300)):
        raise CheckFailed(modified_in_place("cost"))
    if not isinstance(got, tuple) or len(got) != 3:
        raise CheckFailed("assign should return a tuple (matches, unmatched_rows, unmatched_cols), got "
                          f"{describe(got)}")
    matches, rows, cols = got
    if not form:
        if not isinstance(matches, torch.Tensor) or matches.dtype.is_floating_point or matches.dtype.is_complex \
                or matches.dtype == torch.bool:
            raise CheckFailed(f"matches should be a tensor of integers, got {describe(matches)}")
        if matches.numel() == 0:
            matches = matches.reshape(0, 2)
        if matches.dim() != 2 or matches.shape[1] != 2:
            raise CheckFailed(f"matches should have shape (K, 2), got {tuple(matches.shape)}")
        return matches.long(), rows, cols
    expect_tensor(matches, what="matches", dtype=torch.int64)
    expect_tensor(rows, what="unmatched_rows", dtype=torch.int64)
    expect_tensor(cols, what="unmatched_cols", dtype=torch.int64)
    if matches.dim() != 2 or matches.shape[1] != 2:
        raise CheckFailed(f"matches should have shape (K, 2), got {tuple(matches.shape)}")
    if rows.dim() != 1 or cols.dim() != 1:
        raise CheckFailed(f"unmatched_rows and unmatched_cols should be 1-D, got shapes {tuple(rows.shape)} "
                          f"and {tuple(cols.shape)}")
    return matches, rows, cols


def _a_matching(matches, cost, max_cost):
    """Each row and column at most once, in range, every pair admissible."""
    t, d = cost.shape
    pairs = [tuple(p) for p in matches.tolist()]
    if any(not (0 <= i < t and 0 <= j < d) for i, j in pairs):
        raise CheckFailed(f"a match is out of range for a {t} x {d} cost matrix: {pairs}")
    if len({i for i, _ in pairs}) != len(pairs) or len({j for _, j in pairs}) != len(pairs):
        raise CheckFailed(f"a row or a column is matched twice: {pairs}")
    c = cost.double()
    for i, j in pairs:
        v = float(c[i, j])
        if not (math.isfinite(v) and v <= max_cost):
            raise CheckFailed(f"pair ({i}, {j}) has cost {v:.6g} above max_cost = {max_cost:g} (or infinite): "
                              "it may not be matched")
    return pairs


def _max_cost(case):
    return case["max_cost"] if "fixed" in case else S.shifted(case, case["max_cost"])


def _cost_note(case):
    return f"max_cost = {_max_cost(case):g}"


def _fixed(rows, max_cost, dtype="float64"):
    return {"fixed": rows, "max_cost": max_cost, "dtype": dtype}


def _matrix(case):
    if "fixed" in case:
        t = torch.tensor(case["fixed"], dtype=getattr(torch, case["dtype"]))
        return t.reshape(len(case["fixed"]), -1) if case["fixed"] else torch.zeros(0, 0, dtype=t.dtype)
    return S.cost_matrix(case)


# edge cases and matrices where the rule decides: ties, the gate's equality, +inf
_ASSIGN_EXAMPLES = [
    _fixed([], 0.5),
    {"fixed": [], "max_cost": 0.5, "dtype": "float64", "rows": 3, "cols": 0},
    {"fixed": [], "max_cost": 0.5, "dtype": "float32", "rows": 0, "cols": 4},
    _fixed([[0.9, 0.8], [0.7, 0.95]], 0.5),                                  # everything gated
    _fixed([[0.1, 0.2], [0.2, 0.6]], 0.5),     # minimal cost alone would pair (0,0) only; two pairs are possible
    _fixed([[0.1, 0.4], [0.4, float("inf")]], 1.0),                          # inf is never matched
    _fixed([[float("inf"), 0.3], [0.2, float("inf")]], float("inf")),
    _fixed([[0.5, 0.5, 0.5], [0.5, 0.5, 0.5]], 0.5),                         # equal to max_cost: admissible; ties
    _fixed([[0.3, 0.1, 0.9, 0.4]], 0.35),                                    # one row, four columns
    _fixed([[0.3], [0.1], [0.9], [0.05]], 0.35, "float32"),                  # four rows, one column
    _fixed([[0.0, 0.0], [0.0, 0.0]], 0.0),
    _fixed([[0.2999999999, 0.9]], 0.3),                                      # admissible in float64, not in float32
    _fixed([[float("inf")]], float("inf")),                                  # +inf is not admissible even then
    # two pairs (0.5 + 0.5) are possible; with gated pairs priced max_cost + 1 a complete assignment
    # prefers (0,1) + (1,0) (-1 + 1.5) and keeps one pair: the price must outweigh any admissible pairs
    _fixed([[0.5, -1.0], [2.0, 0.5]], 0.5),
]


def _empty_matrix(case):
    return torch.zeros(case["rows"], case["cols"], dtype=getattr(torch, case["dtype"]))


def _case_matrix(case):
    if "fixed" in case and "rows" in case:
        return _empty_matrix(case)
    return _matrix(case)


@aspect(A, task="assign", points=3)
def assign_optimal(assign):
    """assign matches the most admissible pairs with the least total cost (SciPy's optimum); ties: any optimum."""

    @showing(lambda case: {"cost": _case_matrix(case)}, _cost_note)
    def optimal(case):
        cost, max_cost = _case_matrix(case), _max_cost(case)
        matches, _, _ = _assign(assign, cost, max_cost, form=False)
        pairs = _a_matching(matches, cost, max_cost)
        best, count, total = R.assign(cost, max_cost)
        if len(pairs) != count:
            raise CheckFailed(f"{len(pairs)} pairs matched, but {count} admissible pairs can be matched at once "
                              f"(for example {best})\ngot: {sorted(pairs)}")
        got_total = math.fsum(float(cost.double()[i, j]) for i, j in pairs)
        scale = 1.0 + math.fsum(abs(float(cost.double()[i, j])) for i, j in best)
        allowed = (1e-5 if cost.dtype == torch.float32 else 1e-9) * scale
        if got_total > total + allowed:
            raise CheckFailed(f"the matching's total cost is {got_total:.9g}; the least possible with {count} "
                              f"pairs is {total:.9g} (for example {best})\ngot: {sorted(pairs)}")

    yield check_property(
        "a matching (each row and column at most once) of admissible pairs only (cost <= max_cost, finite) "
        "with as many pairs as possible and, among those, the least total cost: equal to SciPy's "
        "linear_sum_assignment with the gate applied first (compared by count and total cost, so ties may "
        "be broken either way); rectangular both ways, empty, all gated, +inf entries, float32 and float64",
        S.cost_cases(), optimal, max_examples=80, examples=_ASSIGN_EXAMPLES)


@aspect(A, task="assign", points=1)
def assign_contract(assign):
    """assign's form: int64 tensors, matches sorted by row, the unmatched rows and columns in order; cost unchanged."""

    @showing(lambda case: {"cost": _case_matrix(case)}, _cost_note)
    def form(case):
        cost, max_cost = _case_matrix(case), _max_cost(case)
        matches, rows, cols = _assign(assign, cost, max_cost)
        pairs = _a_matching(matches, cost, max_cost)
        if pairs != sorted(pairs):
            raise CheckFailed(f"matches should be sorted by row: {pairs}")
        t, d = cost.shape
        want_rows = [i for i in range(t) if i not in {p[0] for p in pairs}]
        want_cols = [j for j in range(d) if j not in {p[1] for p in pairs}]
        if rows.tolist() != want_rows:
            raise CheckFailed(f"unmatched_rows should be the rows not in matches, in increasing order: "
                              f"expected {want_rows}, got {rows.tolist()}")
        if cols.tolist() != want_cols:
            raise CheckFailed(f"unmatched_cols should be the columns not in matches, in increasing order: "
                              f"expected {want_cols}, got {cols.tolist()}")

    yield check_property(
        "matches (K, 2), unmatched_rows (T - K,) and unmatched_cols (D - K,), all int64; matches sorted by "
        "row; the unmatched rows and columns are exactly the others, in increasing order (empty matrices "
        "included); the cost matrix is left unchanged",
        S.cost_cases(), form, max_examples=40, examples=_ASSIGN_EXAMPLES)


# ---------------------------------------------------------------- KalmanFilter

def _run_kalman(KalmanFilter, case):
    z0, script, matrices = S.kalman_inputs(case)
    passed = {k: v.clone() for k, v in matrices.items()}
    z0_passed = z0.clone()
    script_passed = [tuple(v.clone() if isinstance(v, torch.Tensor) else v for v in step) for step in script]
    got = call(around(KalmanFilter, "medgrade.worker.probes:run_kalman"), z0_passed, script_passed, passed)
    if not torch.equal(z0_passed, z0) or any(not torch.equal(passed[k], matrices[k]) for k in matrices):
        raise CheckFailed(modified_in_place("z0, P0, Q or R", "your KalmanFilter"))
    if any(len(a) == 2 and not torch.equal(a[1], b[1]) for a, b in zip(script_passed, script)):
        raise CheckFailed(modified_in_place("the measurement z of update(z)", "your KalmanFilter"))
    if not isinstance(got, list) or len(got) != len(script) + 1:
        raise CheckFailed(f"the filter could not be driven through the script: {describe(got)}")
    return z0, script, matrices, got


def _step_name(script, k):
    return "after construction" if k == 0 else f"after step {k} ({script[k - 1][0]})"


def _kalman_shown(case):
    z0, script, matrices = S.kalman_inputs(case)
    shown = {"z0": z0, "script": " -> ".join(s[0] for s in script)}
    shown.update(matrices if matrices else {"P0, Q, R": "the defaults"})
    return shown


_KALMAN_EXAMPLES = [{"seed": 1, "steps": ["predict"], "defaults": True, "scale": 1.0},
                    {"seed": 2, "steps": ["update"], "defaults": True, "scale": 1.0},
                    {"seed": 3, "steps": ["predict", "update"] * 5, "defaults": True, "scale": 1.0},
                    {"seed": 4, "steps": ["update", "update", "predict", "predict", "update"], "defaults": False,
                     "scale": 10.0}]


@aspect(A, task="KalmanFilter", points=2)
def kalman_filter_reference(KalmanFilter):
    """KalmanFilter's state, covariance and returns equal a float64 reference after any predict/update script."""

    @showing(_kalman_shown)
    def same_as_reference(case):
        z0, script, matrices, got = _run_kalman(KalmanFilter, case)
        want = R.run_kalman(z0, script, **matrices)
        for k, ((g_ret, g_x, g_p), (w_ret, w_x, w_p)) in enumerate(zip(got, want)):
            when = _step_name(script, k)
            scale = float(w_p.abs().max())
            if w_ret is not None:
                assert_close(g_ret, w_ret, rtol=1e-9, atol=1e-9, what=f"what {script[k - 1][0]}() returned {when}")
            assert_close(g_x, w_x, rtol=1e-9, atol=1e-9, what=f"the state x {when}")
            assert_close(g_p, w_p, rtol=1e-9, atol=1e-12 * scale, what=f"the covariance P {when}")

    yield check_property(
        "x (8,), P (8, 8) and what predict() and update(z) return (4,), all float64, equal a float64 "
        "constant-velocity Kalman filter after every step of random scripts (the default P0, Q, R, or "
        "random symmetric positive definite ones)",
        S.kalman_cases(), same_as_reference, max_examples=30, examples=_KALMAN_EXAMPLES)


@aspect(A, task="KalmanFilter", points=1)
def kalman_filter_covariance(KalmanFilter):
    """KalmanFilter's P is exactly symmetric and positive definite after every step; z0, P0, Q, R, z unchanged."""

    @showing(_kalman_shown)
    def symmetric_positive(case):
        _, script, _, got = _run_kalman(KalmanFilter, case)
        for k, (_, _, p) in enumerate(got):
            when = _step_name(script, k)
            expect_tensor(p, what=f"P {when}", shape=(8, 8), dtype=torch.float64)
            if not torch.equal(p, p.T):
                raise CheckFailed(f"P {when} is not exactly symmetric: max |P - P.T| = "
                                  f"{float((p - p.T).abs().max()):.3g} (symmetrize it: (P + P.T) / 2)")
            smallest = float(torch.linalg.eigvalsh(p).min())
            if not smallest > 0:
                raise CheckFailed(f"P {when} is not positive definite: its smallest eigenvalue is {smallest:.4g}")

    yield check_property(
        "P is exactly symmetric (P == P.T, element by element) and positive definite (smallest eigenvalue "
        "> 0) after construction and after every predict and update; z0, P0, Q, R and z are left unchanged",
        S.kalman_cases(), symmetric_positive, max_examples=20, examples=_KALMAN_EXAMPLES)


# ---------------------------------------------------------------- Tracker

_SETTINGS = ("max_age", "min_hits", "iou_threshold")


def _run_tracker(Tracker, settings: dict, frames: list) -> list:
    """What the student's tracker reported per frame, as lists of (int id, (4,) float64 box)."""
    got = call(around(Tracker, "medgrade.worker.probes:run_tracker"), settings, [f.clone() for f in frames])
    out = []
    for t, reported in enumerate(got):
        if not isinstance(reported, list):
            raise CheckFailed(f"update() should return a list of (track_id, box), got {describe(reported)} "
                              f"in frame {t}")
        rows = []
        for item in reported:
            if not (isinstance(item, tuple) and len(item) == 2 and type(item[0]) is int):
                raise CheckFailed(f"update() should return (track_id, box) tuples with an int id, got "
                                  f"{describe(item)} in frame {t}")
            expect_tensor(item[1], what=f"the box of track {item[0]} in frame {t}", shape=(4,), dtype=torch.float64)
            rows.append(item)
        out.append(rows)
    return out


def _same_reports(got: list, want: list) -> None:
    for t, (g, w) in enumerate(zip(got, want)):
        g_ids, w_ids = [i for i, _ in g], [i for i, _ in w]
        if g_ids != w_ids:
            raise CheckFailed(f"frame {t}: the tracks reported should be {w_ids} (by increasing id), got {g_ids}\n"
                              + _history(got, want, t))
        for (i, gb), (_, wb) in zip(g, w):
            assert_close(gb, wb, rtol=0.0, atol=1e-6, what=f"frame {t}: the box of track {i}")


def _history(got, want, upto):
    lines = []
    for t in range(upto + 1):
        lines.append(f"  frame {t}: expected ids {[i for i, _ in want[t]]}, got {[i for i, _ in got[t]]}")
    return "\n".join(lines)


def _scene_note(case):
    frames, sources = S.scene(case)
    return "\n".join(f"frame {t}: {len(f)} detections of objects {s} (-1: a false detection)"
                     for t, (f, s) in enumerate(zip(frames, sources)))


_scene_shown = showing(lambda case: {k: case[k] for k in _SETTINGS}, _scene_note)


def _one(x1, y1, w=10.0, h=10.0):
    return [x1, y1, x1 + w, y1 + h]


def _scripted(frames, **settings):
    return {"scripted": [_boxes(f) for f in frames], **settings}


def _frames_of(case):
    return case["scripted"] if "scripted" in case else S.scene(case)[0]


# one object moving 2 px per frame, missed in frames 3 and 4 (a gap of two), and a second one born in frame 5
_GAP = [[_one(0, 0)], [_one(2, 0)], [_one(4, 0)], [], [], [_one(10, 0), _one(0, 50)], [_one(12, 0), _one(0, 52)]]
_TRACKER_EXAMPLES = [
    _scripted(_GAP, max_age=2, min_hits=1, iou_threshold=0.3),     # the gap is bridged: one id
    _scripted(_GAP, max_age=1, min_hits=1, iou_threshold=0.3),     # the track dies; its object comes back as 2
    _scripted(_GAP, max_age=0, min_hits=2, iou_threshold=0.3),
    _scripted(_GAP, max_age=3, min_hits=3, iou_threshold=0.3),     # confirmed on its third hit
    _scripted([[], [_one(0, 0)], [], []], max_age=1, min_hits=1, iou_threshold=0.3),
    _scripted([[_one(0, 0), _one(0, 40), _one(0, 80)]] * 3 + [[_one(0, 40)]] * 3, max_age=0, min_hits=2,
              iou_threshold=0.5),
    # a miss is not a hit: confirmed on the third detection, not on the third frame
    _scripted([[_one(0, 0)], [], [_one(1, 0)], [_one(2, 0)], [_one(3, 0)]], max_age=2, min_hits=3,
              iou_threshold=0.3),
    # IoU exactly iou_threshold is a match (cost 0.5 <= max_cost 0.5)
    _scripted([[_one(0, 0)], [_one(0, 0, h=5.0)], [_one(0, 0)]], max_age=0, min_hits=1, iou_threshold=0.5),
    # the gate comes before the optimization: the cheapest complete assignment pairs track 2 with a
    # detection at IoU 0.29 (gated), the gated optimum matches both tracks
    _scripted([[[0, 0, 10, 10], [6, 0, 36, 10]], [[-2, 0, 18, 10], [5, 0, 15, 10]]], max_age=1, min_hits=1,
              iou_threshold=0.3),
    # matching uses the prediction: a cell moving 4 px per frame, and in frame 6 a false detection where
    # it was in frame 5
    _scripted([[_one(4.0 * t, 0)] for t in range(6)] + [[_one(20, 0), _one(24, 0)], [_one(28, 0)]], max_age=1,
              min_hits=2, iou_threshold=0.3),
]


@aspect(A, task="Tracker", points=2)
def tracker_lifecycle(Tracker):
    """Tracker: births, confirmation after min_hits, death after max_age misses, ids never reused, gaps bridged."""

    @showing(lambda case: {k: case[k] for k in _SETTINGS}, lambda case: (
        "\n".join(f"frame {t}: {describe(f)}" for t, f in enumerate(case["scripted"])) if "scripted" in case
        else _scene_note(case)))
    def same_as_reference(case):
        frames = _frames_of(case)
        want, margin = R.track(frames, *(case[k] for k in _SETTINGS))
        assume("scripted" in case or margin > 1e-6)      # the scripted scenes are exact where they touch it
        got = _run_tracker(Tracker, {k: case[k] for k in _SETTINGS}, frames)
        if len(got) != len(frames):
            raise CheckFailed(f"{len(frames)} frames given, {len(got)} reports")
        _same_reports(got, want)

    yield check_property(
        "reports, frame by frame, the same tracks (ids, by increasing id) with the same boxes as the "
        "contract's tracker: objects that appear, vanish, are missed for a few frames, and false "
        "detections; max_age 0 to 3, min_hits 1 to 3, iou_threshold 0.1 to 0.5; IoU equal to the threshold, "
        "a gated optimum, a false detection on the last box",
        S.scene_cases(), same_as_reference, max_examples=40, examples=_TRACKER_EXAMPLES)


def _cells(seed, crossing):
    from medimg.data import cell_detections, moving_cells
    seq = moving_cells(n_frames=30, n_lanes=5, crossing_lanes=crossing, occlusions=3, seed=seed, images=False)
    return seq, cell_detections(seq, seed=seed)


def _as_hyp(reports):
    return [(torch.tensor([i for i, _ in r], dtype=torch.int64),
             torch.stack([b for _, b in r]) if r else torch.zeros(0, 4, dtype=torch.float64)) for r in reports]


_CELL_SETTINGS = {"max_age": 5, "min_hits": 2, "iou_threshold": 0.2}


@aspect(A, task="Tracker", points=2)
def tracker_on_cells(Tracker):
    """Tracker on moving cells: as the reference, one id per cell, fewer ID switches than per-frame detection."""

    def cells(case):
        seq, dets = _cells(case["seed"], case["crossing"])
        got = _run_tracker(Tracker, dict(_CELL_SETTINGS), dets)
        want, _ = R.track(dets, **_CELL_SETTINGS)
        _same_reports(got, want)
        gt = list(zip(seq.ids, seq.boxes))
        tracked = R.clear_mot(gt, _as_hyp(got))
        greedy = R.clear_mot(gt, _as_hyp(R.greedy_ids(dets, _CELL_SETTINGS["iou_threshold"])))
        if not tracked["idsw"] < greedy["idsw"]:
            raise CheckFailed(f"tracking should switch identities less often than per-frame detection matched "
                              f"greedily frame to frame: {tracked['idsw']} ID switches against {greedy['idsw']}")
        if case["crossing"] == 0 and tracked["idsw"] != 0:
            raise CheckFailed(f"no two cells cross, yet {tracked['idsw']} identity switches")

    yield check_property(
        "on synthetic time-lapse sequences of 5 lanes of cells (30 frames, 3 cells out of focus for 2-4 "
        "frames, with and without crossing paths; max_age 5, min_hits 2, iou_threshold 0.2): the same "
        "reports as the contract's tracker, no identity switch when no paths cross, and fewer ID switches "
        "(CLEAR MOT) than per-frame detections given ids by greedy frame-to-frame matching",
        st.fixed_dictionaries({"seed": st.integers(0, 10_000), "crossing": st.sampled_from([0, 2])}),
        cells, max_examples=3, examples=[{"seed": 0, "crossing": 0}, {"seed": 1, "crossing": 2}])


# ---------------------------------------------------------------- clear_mot

_COUNTS = ("gt", "matches", "fn", "fp")


def _threshold(case):
    return case.get("iou_threshold", 0.5)


def _run_mot(clear_mot, gt, hyp, iou_threshold=0.5):
    passed_gt = [(i.clone(), b.clone()) for i, b in gt]
    passed_hyp = [(i.clone(), b.clone()) for i, b in hyp]
    got = call(clear_mot, passed_gt, passed_hyp, iou_threshold)
    if not isinstance(got, dict):
        raise CheckFailed(f"clear_mot should return a dict, got {describe(got)}")
    missing = [k for k in (*_COUNTS, "idsw", "mota") if k not in got]
    if missing:
        raise CheckFailed(f"the dict lacks the keys {missing}")
    for k in (*_COUNTS, "idsw"):
        if type(got[k]) is not int:
            raise CheckFailed(f"got[{k!r}] should be an int, got {describe(got[k])}")
    if type(got["mota"]) is not float:
        raise CheckFailed(f"got['mota'] should be a float, got {describe(got['mota'])}")
    return got


def _mot_of(case):
    return case["fixed"] if "fixed" in case else S.mot_sequence(case)


def _margin_ok(gt, hyp, iou_threshold=0.5):
    for (_, g), (_, h) in zip(gt, hyp):
        if len(g) and len(h):
            iou = box_lib.box_iou(g.double(), h.double())
            if bool(((iou - iou_threshold).abs() < 1e-9).any()):
                return False
    return True


def _mot_note(case):
    gt, hyp = _mot_of(case)
    frames = [f"frame {t}: gt {describe(gi)} {describe(gb)}\n         hyp {describe(hi)} {describe(hb)}"
              for t, ((gi, gb), (hi, hb)) in enumerate(zip(gt, hyp))]
    return "\n".join([f"iou_threshold = {_threshold(case)}", *frames])


def _seq(*frames, iou_threshold=0.5):
    """Frames given as ([(id, box), ...] for gt, [(id, box), ...] for hyp)."""
    def part(items):
        return (torch.tensor([i for i, _ in items], dtype=torch.int64), _boxes([b for _, b in items]))
    return {"fixed": ([part(g) for g, _ in frames], [part(h) for _, h in frames]), "iou_threshold": iou_threshold}


_A, _B = _one(0, 0), _one(30, 0)
_MOT_EXAMPLES = [
    # object 1 followed by 7, then lost for a frame, then found by 8: a switch across the gap
    _seq(([(1, _A)], [(7, _A)]), ([(1, _A)], []), ([(1, _A)], [(8, _A)])),
    # a hypothesis overlapping exactly half (IoU 0.5: a match) and one just below
    _seq(([(1, [0, 0, 10, 10]), (2, [50, 0, 60, 10])], [(5, [0, 0, 10, 5]), (6, [50, 0, 59, 5])])),
    # the previous correspondence is kept although another hypothesis overlaps better
    _seq(([(1, _A)], [(3, [0.5, 0, 10.5, 10])]), ([(1, _A)], [(3, [2, 0, 12, 10]), (4, _A)])),
    # two objects trade their hypotheses: two switches
    _seq(([(1, _A), (2, _B)], [(5, _A), (6, _B)]), ([(1, _A), (2, _B)], [(6, _A), (5, _B)])),
    # greedy (object 1 takes its best hypothesis first) matches one pair; two are possible
    _seq(([(1, [0, 0, 10, 10]), (2, [3, 0, 13, 10])], [(5, [1, 0, 11, 10]), (6, [-3, 0, 7, 10])])),
    # nothing at all in one frame, only false positives in another
    _seq(([], []), ([(1, _A)], [(4, _B)]), ([(1, _A)], [(4, _A)])),
    # two objects last matched to the same hypothesis (listed with the larger id first): the smaller id
    # keeps it, the other is matched anew (a switch); a later frame tells who kept what
    _seq(([(1, _A)], [(7, _A)]), ([(2, _A)], [(7, _A)]), ([(2, _A), (1, _A)], [(8, _A), (7, _A)]),
         ([(2, _B), (1, _A)], [(8, _B), (7, _A)])),
    # the threshold is a parameter: IoU 0.6 is a match at 0.5, not at 0.7; IoU 0.25 is one at 0.2
    _seq(([(1, [0, 0, 10, 10])], [(5, [0, 0, 10, 6])]), ([(1, [0, 0, 10, 10])], [(6, [0, 0, 10, 6])]),
         iou_threshold=0.7),
    _seq(([(1, [0, 0, 10, 10])], [(5, [0, 0, 10, 6])]), ([(1, [0, 0, 10, 10])], [(6, [0, 0, 10, 2.5])]),
         iou_threshold=0.2),
]


def _mot_and_reference(clear_mot, case):
    """The student's CLEAR MOT counts and the reference's on one case (generated sequences with an
    IoU within 1e-9 of the threshold are left out)."""
    gt, hyp = _mot_of(case)
    assume("fixed" in case or _margin_ok(gt, hyp, _threshold(case)))
    return _run_mot(clear_mot, gt, hyp, _threshold(case)), R.clear_mot(gt, hyp, _threshold(case))


@aspect(A, task="clear_mot", points=2)
def clear_mot_counts(clear_mot):
    """clear_mot's GT, matches, misses, false positives and MOTA equal the CLEAR MOT reference."""

    @showing(lambda case: {}, _mot_note)
    def counts(case):
        got, want = _mot_and_reference(clear_mot, case)
        for k in _COUNTS:
            if got[k] != want[k]:
                raise CheckFailed(f"{k}: expected {want[k]}, got {got[k]} (all expected: {want})")
        # MOTA from the student's own idsw: a wrong switch count costs clear_mot_id_switches only
        mota = 1.0 - (want["fn"] + want["fp"] + got["idsw"]) / want["gt"] if want["gt"] else math.nan
        if not (math.isclose(got["mota"], mota, rel_tol=1e-12, abs_tol=1e-12)
                or (math.isnan(mota) and math.isnan(got["mota"]))):
            raise CheckFailed(f"mota: expected 1 - (fn + fp + idsw) / gt = {mota!r} with your idsw = "
                              f"{got['idsw']}, got {got['mota']!r} (all expected: {want})")

    yield check_property(
        "gt, matches, fn, fp (ints) equal the CLEAR MOT reference's (IoU >= iou_threshold, 0.3 to 0.7, previous "
        "correspondences kept, the rest by the most pairs of least total 1 - IoU) and mota = 1 - (fn + fp + idsw) "
        "/ gt (a float, with your own idsw) on random sequences of overlapping objects with misses, false "
        "positives and identity changes",
        S.mot_cases(), counts, max_examples=40, examples=_MOT_EXAMPLES)

    def no_objects():
        got = _run_mot(clear_mot, [(torch.zeros(0, dtype=torch.int64), torch.zeros(0, 4, dtype=torch.float64))],
                       [(torch.tensor([3]), _boxes([_A]))])
        if not (got["gt"] == 0 and got["fp"] == 1 and math.isnan(got["mota"])):
            raise CheckFailed(f"with no ground-truth object at all, gt is 0 and mota is nan; got {got}")

    yield check_once("no ground-truth object in the sequence: gt = 0, mota is nan", no_objects)


@aspect(A, task="clear_mot", points=2)
def clear_mot_id_switches(clear_mot):
    """clear_mot's ID-switch count equals the CLEAR MOT reference (switches across gaps, kept correspondences)."""

    @showing(lambda case: {}, _mot_note)
    def switches(case):
        got, want = _mot_and_reference(clear_mot, case)
        if got["idsw"] != want["idsw"]:
            raise CheckFailed(f"idsw: expected {want['idsw']}, got {got['idsw']} (all expected: {want})")

    yield check_property(
        "idsw equals the CLEAR MOT reference: a match to another hypothesis than the object's last "
        "correspondence (even frames ago) is a switch, a correspondence still valid is kept (objects by "
        "increasing id when two claim the same hypothesis); iou_threshold 0.3 to 0.7",
        S.mot_cases(), switches, max_examples=40, examples=_MOT_EXAMPLES)
