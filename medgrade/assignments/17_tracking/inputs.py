"""Input generators of 17_tracking: strategies draw small descriptions (sizes, a seed, the
tracker's settings); tensors and scenes are made from the seed, so a counterexample is short to
print and exact to replay."""
from __future__ import annotations

import numpy as np
import torch
from hypothesis import strategies as st

from medgrade.common.tensors import seeds

MAX_SIDE = 12          # an O(n^3) Hungarian algorithm in pure Python solves 12 x 12 in milliseconds


# ---------------------------------------------------------------- cost matrices

@st.composite
def cost_cases(draw, min_side: int = 0):
    """A (T, D) cost matrix: continuous values in [0, 2], or values on a grid of halves (ties),
    some entries +inf; max_cost anywhere from below every entry to +inf; now and then shifted to
    negative values or scaled to millions (the contract allows any finite cost)."""
    return {"rows": draw(st.integers(min_side, MAX_SIDE)), "cols": draw(st.integers(min_side, MAX_SIDE)),
            "grid": draw(st.booleans()), "inf": draw(st.sampled_from([0.0, 0.0, 0.2, 0.6])),
            "max_cost": draw(st.sampled_from([0.3, 0.5, 0.75, 1.0, 1.5, 2.5, float("inf")])),
            "dtype": draw(st.sampled_from(["float64", "float32"])), "seed": draw(seeds),
            "shift": draw(st.sampled_from([0.0, 0.0, -1.0])), "scale": draw(st.sampled_from([1.0, 1.0, 1e7]))}


def shifted(case, value: float) -> float:
    """A value of the unshifted range (a cost or max_cost) moved as the case's matrix is."""
    return (value + case.get("shift", 0.0)) * case.get("scale", 1.0)


def cost_matrix(case) -> torch.Tensor:
    g = torch.Generator().manual_seed(int(case["seed"]))
    shape = (case["rows"], case["cols"])
    if case["grid"]:
        c = torch.randint(0, 5, shape, generator=g).double() / 2
    else:
        c = torch.rand(shape, generator=g, dtype=torch.float64) * 2
    c[torch.rand(shape, generator=g, dtype=torch.float64) < case["inf"]] = float("inf")
    return shifted(case, c).to(getattr(torch, case["dtype"]))


# ---------------------------------------------------------------- Kalman filter scripts

@st.composite
def kalman_cases(draw):
    """A start measurement, noise matrices (or the defaults) and a script of predict / update steps."""
    steps = draw(st.lists(st.sampled_from(["predict", "update"]), min_size=1, max_size=16))
    return {"seed": draw(seeds), "steps": steps, "defaults": draw(st.booleans()),
            "scale": draw(st.sampled_from([0.1, 1.0, 10.0]))}


def spd(n: int, g: torch.Generator, scale: float) -> torch.Tensor:
    """A symmetric positive definite matrix with eigenvalues between scale / 10 and scale."""
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    m = q @ torch.diag(scale * (0.1 + 0.9 * torch.rand(n, generator=g, dtype=torch.float64))) @ q.T
    return (m + m.T) / 2


def kalman_inputs(case):
    """(z0, script, matrices) of a case: measurements follow a box moving at constant velocity."""
    g = torch.Generator().manual_seed(int(case["seed"]))
    z = torch.tensor([50.0, 40.0, 12.0, 9.0], dtype=torch.float64)
    z = z + torch.randn(4, generator=g, dtype=torch.float64) * 5
    v = torch.randn(4, generator=g, dtype=torch.float64) * torch.tensor([2.0, 2.0, 0.2, 0.2], dtype=torch.float64)
    script, t = [], 0
    for step in case["steps"]:
        if step == "predict":
            t += 1
            script.append(("predict",))
        else:
            script.append(("update", z + t * v + torch.randn(4, generator=g, dtype=torch.float64)))
    matrices = {} if case["defaults"] else {"P0": spd(8, g, 10 * case["scale"]), "Q": spd(8, g, case["scale"]),
                                            "R": spd(4, g, case["scale"])}
    return z, script, matrices


# ---------------------------------------------------------------- tracker scenes

@st.composite
def scene_cases(draw):
    """Objects in lanes 40 px apart (no two ever overlap), up to 5 px per frame (so that matching
    the prediction and matching the last box differ), each present from one frame to another,
    missed in a few frames (occlusions), jittered; now and then a false detection; the tracker's
    settings."""
    return {"objects": draw(st.integers(1, 4)), "frames": draw(st.integers(3, 14)), "seed": draw(seeds),
            "max_age": draw(st.integers(0, 3)), "min_hits": draw(st.integers(1, 3)),
            "iou_threshold": draw(st.sampled_from([0.1, 0.2, 0.3, 0.5])),
            "miss": draw(st.sampled_from([0.0, 0.15, 0.3])), "false": draw(st.sampled_from([0.0, 0.2]))}


def scene(case):
    """(per frame a (D, 4) float64 tensor of detections in a random order, per frame the true object
    index of each detection, -1 for a false one)."""
    rng = np.random.default_rng(int(case["seed"]))
    n, frames = case["objects"], case["frames"]
    objects = []
    for k in range(n):
        start = int(rng.integers(0, max(1, frames - 2)))
        end = int(rng.integers(start + 1, frames + 1))
        w, h = rng.uniform(8, 16, size=2)
        objects.append((start, end, rng.uniform(20, 80), 40.0 * k + 10, rng.uniform(-5.0, 5.0),
                        rng.uniform(-0.3, 0.3), w, h))
    out, sources = [], []
    for t in range(frames):
        rows, src = [], []
        for k, (start, end, x, y, vx, vy, w, h) in enumerate(objects):
            if start <= t < end and (t == start or rng.random() >= case["miss"]):
                cx, cy = x + vx * (t - start), y + vy * (t - start)
                rows.append(np.array([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]) + rng.normal(scale=0.2, size=4))
                src.append(k)
        if rng.random() < case["false"]:
            cx, cy = rng.uniform(0, 100), 40.0 * n + 20 + rng.uniform(0, 100)
            rows.append(np.array([cx, cy, cx + 10, cy + 10]))
            src.append(-1)
        order = rng.permutation(len(rows))
        rows = np.array(rows)[order] if rows else np.zeros((0, 4))
        out.append(torch.tensor(rows, dtype=torch.float64).reshape(-1, 4))
        sources.append([src[i] for i in order])
    return out, sources


# ---------------------------------------------------------------- CLEAR MOT sequences

@st.composite
def mot_cases(draw):
    """Ground-truth objects moving close together (their boxes overlap), and hypotheses made from
    them: noisy boxes, misses, false positives and identity changes."""
    return {"objects": draw(st.integers(1, 5)), "frames": draw(st.integers(1, 10)), "seed": draw(seeds),
            "noise": draw(st.sampled_from([0.5, 1.5, 3.0])), "miss": draw(st.sampled_from([0.0, 0.2])),
            "swap": draw(st.sampled_from([0.0, 0.15, 0.4])), "false": draw(st.sampled_from([0.0, 0.3])),
            "iou_threshold": draw(st.sampled_from([0.5, 0.5, 0.3, 0.7]))}


def mot_sequence(case):
    """(gt, hyp): per frame (ids (n,) int64, boxes (n, 4) float64)."""
    rng = np.random.default_rng(int(case["seed"]))
    n, frames = case["objects"], case["frames"]
    start = rng.integers(0, max(1, frames - 1), size=n)
    end = np.minimum(frames, start + rng.integers(1, frames + 1, size=n))
    pos = rng.uniform(0, 30, size=(n, 2))
    vel = rng.uniform(-2, 2, size=(n, 2))
    size = rng.uniform(8, 14, size=(n, 2))
    label = list(range(101, 101 + n))                        # the hypothesis id each object is given now
    next_label = 101 + n
    gt, hyp = [], []
    for t in range(frames):
        g_ids, g_boxes, h_ids, h_boxes = [], [], [], []
        for k in range(n):
            if not (start[k] <= t < end[k]):
                continue
            c = pos[k] + vel[k] * t
            box = np.concatenate([c, c + size[k]])
            g_ids.append(k + 1)
            g_boxes.append(box)
            if rng.random() < case["swap"]:
                if rng.random() < 0.5 and n > 1:             # trade labels with another object
                    other = int(rng.integers(0, n))
                    label[k], label[other] = label[other], label[k]
                else:                                        # a fresh label
                    label[k], next_label = next_label, next_label + 1
            if rng.random() >= case["miss"]:
                h_ids.append(label[k])
                h_boxes.append(box + rng.normal(scale=case["noise"], size=4) * np.array([1, 1, 1, 1]))
        for _ in range(int(rng.random() < case["false"]) + int(rng.random() < case["false"] / 2)):
            c = rng.uniform(0, 40, size=2)
            h_ids.append(next_label)
            next_label += 1
            h_boxes.append(np.concatenate([c, c + rng.uniform(6, 14, size=2)]))
        order_g, order_h = rng.permutation(len(g_ids)), rng.permutation(len(h_ids))
        gt.append(_frame(g_ids, g_boxes, order_g))
        hyp.append(_frame(h_ids, h_boxes, order_h))
    return gt, hyp


def _frame(ids, boxes, order):
    ids_t = torch.tensor([ids[i] for i in order], dtype=torch.int64)
    b = np.array([boxes[i] for i in order]).reshape(-1, 4)
    b[:, 2:] = np.maximum(b[:, 2:], b[:, :2] + 0.5)           # keep x1 < x2, y1 < y2 after the noise
    return ids_t, torch.tensor(b, dtype=torch.float64)
