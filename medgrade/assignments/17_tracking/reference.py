"""The references of 17_tracking's checks, in float64: SciPy's linear_sum_assignment for the
assignment (the library the students' own Hungarian algorithm replaces), torchvision's box_iou
for the overlaps, and plain matrix formulas for the Kalman filter."""
from __future__ import annotations

import math

import numpy as np
import torch
import torchvision.ops as tvops
from scipy.optimize import linear_sum_assignment

# the Kalman filter's defaults (the contract of KalmanFilter's docstring)
P0_DIAG = (10.0, 10.0, 10.0, 10.0, 1000.0, 1000.0, 1000.0, 1000.0)
Q_DIAG = (1.0, 1.0, 1.0, 1.0, 0.01, 0.01, 0.01, 0.01)
R_DIAG = (1.0, 1.0, 1.0, 1.0)


def iou_cost_matrix(tracks: torch.Tensor, detections: torch.Tensor) -> torch.Tensor:
    """1 - IoU in float64, returned in the boxes' dtype; (T, 0) and (0, D) for empty sets."""
    if len(tracks) == 0 or len(detections) == 0:
        return torch.zeros(len(tracks), len(detections), dtype=tracks.dtype)
    return (1.0 - tvops.box_iou(tracks.double(), detections.double())).to(tracks.dtype)


def admissible(cost: np.ndarray, max_cost: float) -> np.ndarray:
    """The pairs that may be matched: finite cost at most max_cost."""
    return np.isfinite(cost) & (cost <= max_cost)


def assign(cost: torch.Tensor, max_cost: float):
    """The most admissible pairs, and among those the least total cost: SciPy's solver on the matrix
    whose inadmissible entries cost more than any set of admissible pairs, those pairs then dropped.
    Returns (sorted list of (row, col), number of pairs, total cost in float64)."""
    c = cost.detach().double().cpu().numpy()
    if c.size == 0:
        return [], 0, 0.0
    ok = admissible(c, max_cost)
    if not ok.any():
        return [], 0, 0.0
    worst = float(np.abs(c[ok]).max())
    big = 1.0 + 2.0 * min(c.shape) * (worst + 1.0)
    rows, cols = linear_sum_assignment(np.where(ok, c, big))
    pairs = sorted((int(i), int(j)) for i, j in zip(rows, cols) if ok[i, j])
    return pairs, len(pairs), math.fsum(float(c[i, j]) for i, j in pairs)


# ---------------------------------------------------------------- the Kalman filter

def _diag(values) -> torch.Tensor:
    return torch.diag(torch.tensor(values, dtype=torch.float64))


F = torch.eye(8, dtype=torch.float64)
F[:4, 4:] = torch.eye(4, dtype=torch.float64)
H = torch.eye(4, 8, dtype=torch.float64)


class KalmanFilter:
    """Constant velocity in (cx, cy, w, h): state (cx, cy, w, h, vcx, vcy, vw, vh), one frame per step."""

    def __init__(self, z0, P0=None, Q=None, R=None):
        self.x = torch.cat([torch.as_tensor(z0, dtype=torch.float64).reshape(4), torch.zeros(4, dtype=torch.float64)])
        self.P = _diag(P0_DIAG) if P0 is None else P0.double().clone()
        self.Q = _diag(Q_DIAG) if Q is None else Q.double().clone()
        self.R = _diag(R_DIAG) if R is None else R.double().clone()

    def predict(self) -> torch.Tensor:
        self.x = F @ self.x
        P = F @ self.P @ F.T + self.Q
        self.P = (P + P.T) / 2
        return H @ self.x

    def update(self, z) -> torch.Tensor:
        z = torch.as_tensor(z, dtype=torch.float64).reshape(4)
        S = H @ self.P @ H.T + self.R
        K = self.P @ H.T @ torch.linalg.inv(S)
        self.x = self.x + K @ (z - H @ self.x)
        A = torch.eye(8, dtype=torch.float64) - K @ H
        P = A @ self.P @ A.T + K @ self.R @ K.T
        self.P = (P + P.T) / 2
        return H @ self.x


def run_kalman(z0, script, P0=None, Q=None, R=None) -> list:
    """[(x, P)] after construction, then (returned, x, P) after each step of the script."""
    kf = KalmanFilter(z0, P0, Q, R)
    out = [(None, kf.x.clone(), kf.P.clone())]
    for step in script:
        got = kf.predict() if step[0] == "predict" else kf.update(step[1])
        out.append((got, kf.x.clone(), kf.P.clone()))
    return out


# ---------------------------------------------------------------- the tracker

def to_z(boxes: torch.Tensor) -> torch.Tensor:
    return tvops.box_convert(boxes.double(), "xyxy", "cxcywh")


def to_box(z: torch.Tensor) -> torch.Tensor:
    return tvops.box_convert(z.double(), "cxcywh", "xyxy")


def track(frames: list, max_age: int, min_hits: int, iou_threshold: float):
    """The tracker of the contract, run over ``frames`` (each a (D, 4) float64 tensor of boxes).
    Returns (per frame, the list of (id, box) reported) and the smallest distance of an IoU that
    decided a match (a track's predicted box against a detection) from iou_threshold."""
    tracks, next_id, outputs, margin = [], 1, [], math.inf
    for dets in frames:
        dets = dets.double()
        for t in tracks:
            t["kf"].predict()
        boxes = (to_box(torch.stack([t["kf"].x[:4] for t in tracks])) if tracks
                 else torch.zeros(0, 4, dtype=torch.float64))
        iou = tvops.box_iou(boxes, dets) if len(tracks) and len(dets) else torch.zeros(len(tracks), len(dets),
                                                                                        dtype=torch.float64)
        if iou.numel():
            margin = min(margin, float((iou - iou_threshold).abs().min()))
        pairs, _, _ = assign(1.0 - iou, 1.0 - iou_threshold)
        matched_t = {i for i, _ in pairs}
        matched_d = {j for _, j in pairs}
        for i, j in pairs:
            tracks[i]["kf"].update(to_z(dets[j]))
            tracks[i]["hits"] += 1
            tracks[i]["misses"] = 0
        for i, t in enumerate(tracks):
            if i not in matched_t:
                t["misses"] += 1
        for j in range(len(dets)):
            if j not in matched_d:
                tracks.append({"id": next_id, "kf": KalmanFilter(to_z(dets[j])), "hits": 1, "misses": 0})
                next_id += 1
        tracks = [t for t in tracks if t["misses"] <= max_age]
        outputs.append([(t["id"], to_box(t["kf"].x[:4])) for t in tracks
                        if t["misses"] == 0 and t["hits"] >= min_hits])
    return outputs, margin


def greedy_ids(frames: list, iou_threshold: float = 0.3) -> list:
    """Per-frame detection with identities by greedy frame-to-frame matching: each detection, best
    IoU first, takes the id of the previous frame's detection it overlaps most (IoU >= threshold),
    else a new id. Returns per frame the list of (id, box)."""
    out, prev, next_id = [], [], 1
    for dets in frames:
        dets = dets.double()
        current = [None] * len(dets)
        if prev and len(dets):
            iou = tvops.box_iou(torch.stack([b for _, b in prev]), dets)
            taken = set()
            order = sorted(((float(iou[i, j]), i, j) for i in range(len(prev)) for j in range(len(dets))),
                           reverse=True)
            for value, i, j in order:
                if value < iou_threshold:
                    break
                if i in taken or current[j] is not None:
                    continue
                taken.add(i)
                current[j] = prev[i][0]
        for j in range(len(dets)):
            if current[j] is None:
                current[j] = next_id
                next_id += 1
        prev = [(current[j], dets[j]) for j in range(len(dets))]
        out.append(prev)
    return out


# ---------------------------------------------------------------- CLEAR MOT

def clear_mot(gt: list, hyp: list, iou_threshold: float = 0.5) -> dict:
    """CLEAR MOT counts. Per frame: keep each ground-truth object's last correspondence when that
    hypothesis is present, not taken, and overlaps it with IoU >= threshold (objects by increasing
    id); match the rest with the most pairs of IoU >= threshold and, among those, the least total
    1 - IoU; a match of an object whose last correspondence was another hypothesis is an ID switch."""
    counts = {"gt": 0, "matches": 0, "fn": 0, "fp": 0, "idsw": 0}
    last: dict[int, int] = {}
    for (g_ids, g_boxes), (h_ids, h_boxes) in zip(gt, hyp):
        g_ids, h_ids = [int(v) for v in g_ids], [int(v) for v in h_ids]
        iou = (tvops.box_iou(g_boxes.double(), h_boxes.double()) if len(g_ids) and len(h_ids)
               else torch.zeros(len(g_ids), len(h_ids), dtype=torch.float64)).numpy()
        pairs, taken_h = [], set()
        for i in sorted(range(len(g_ids)), key=lambda i: g_ids[i]):
            h = last.get(g_ids[i])
            if h is not None and h in h_ids:
                j = h_ids.index(h)
                if j not in taken_h and iou[i, j] >= iou_threshold:
                    pairs.append((i, j))
                    taken_h.add(j)
        free_g = [i for i in range(len(g_ids)) if i not in {p[0] for p in pairs}]
        free_h = [j for j in range(len(h_ids)) if j not in taken_h]
        if free_g and free_h:
            sub = iou[np.ix_(free_g, free_h)]
            ok = sub >= iou_threshold
            if ok.any():
                rows, cols = linear_sum_assignment(np.where(ok, 1.0 - sub, 1e6))
                for a, b in zip(rows, cols):
                    if ok[a, b]:
                        i, j = free_g[a], free_h[b]
                        if g_ids[i] in last and last[g_ids[i]] != h_ids[j]:
                            counts["idsw"] += 1
                        pairs.append((i, j))
        for i, j in pairs:
            last[g_ids[i]] = h_ids[j]
        counts["gt"] += len(g_ids)
        counts["matches"] += len(pairs)
        counts["fn"] += len(g_ids) - len(pairs)
        counts["fp"] += len(h_ids) - len(pairs)
    errors = counts["fn"] + counts["fp"] + counts["idsw"]
    counts["mota"] = 1.0 - errors / counts["gt"] if counts["gt"] else math.nan
    return counts
