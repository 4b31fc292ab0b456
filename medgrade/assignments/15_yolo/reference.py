"""The references of 15_yolo's checks: slow, obvious float64 code, one cell, one slot, one detection
at a time, written apart from the notebook's vectorized answers. There is no library for the YOLOv1
grid; the average precision is a brute force (every recall level against every point of the
precision-recall curve), shown equal to torchmetrics' ``MeanAveragePrecision`` (pycocotools'
COCOeval) by :func:`compare_with_torchmetrics`, which imports torchmetrics only when it is called."""
from __future__ import annotations

import math

import torch


def _rows(t: torch.Tensor) -> list:
    return t.detach().double().cpu().tolist()


def _iou(a, b) -> float:
    """IoU of two (x1, y1, x2, y2) boxes given as Python floats (0 when the union is empty)."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# ---------------------------------------------------------------- the grid

def owner_cell(box, S: int, image_size) -> tuple[int, int, float, float]:
    """(row, column, x offset, y offset) of the cell holding the box's centre, in float64."""
    height, width = image_size
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    u, v = cx / (width / S), cy / (height / S)
    j, i = min(math.floor(u), S - 1), min(math.floor(v), S - 1)
    return i, j, u - j, v - i


def encode_targets(boxes, labels, S, B, C, image_size) -> torch.Tensor:
    """The target grid in float64, built one box at a time; the first box of a cell wins."""
    height, width = image_size
    target = torch.zeros(S, S, B * 5 + C, dtype=torch.float64)
    taken = set()
    for box, label in zip(_rows(boxes), labels.tolist()):
        i, j, x, y = owner_cell(box, S, image_size)
        if (i, j) in taken:
            continue
        taken.add((i, j))
        target[i, j, :5] = torch.tensor([x, y, math.sqrt((box[2] - box[0]) / width),
                                         math.sqrt((box[3] - box[1]) / height), 1.0], dtype=torch.float64)
        target[i, j, 5 * B + int(label)] = 1.0
    return target


def decode_predictions(pred, S, B, C, image_size, conf_threshold):
    """Every cell and slot in row-major order, in float64: (boxes, scores, labels, all_scores)
    where all_scores holds the score of every candidate (kept or not)."""
    height, width = image_size
    p = pred.detach().double().cpu()
    boxes, scores, labels, everything = [], [], [], []
    for i in range(S):
        for j in range(S):
            probs = p[i, j, 5 * B:].tolist()
            label = max(range(C), key=lambda c: (probs[c], -c))      # the first maximum
            for b in range(B):
                x, y, sw, sh, conf = p[i, j, 5 * b:5 * b + 5].tolist()
                cx, cy = (j + x) * width / S, (i + y) * height / S
                w, h = sw * sw * width, sh * sh * height
                score = conf * probs[label]
                everything.append(score)
                if score > conf_threshold:
                    boxes.append([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
                    scores.append(score)
                    labels.append(label)
    return (torch.tensor(boxes, dtype=torch.float64).reshape(-1, 4), torch.tensor(scores, dtype=torch.float64),
            torch.tensor(labels, dtype=torch.int64), torch.tensor(everything, dtype=torch.float64))


def _slot_box(v, S):
    cx, cy, w, h = v[0] / S, v[1] / S, v[2] * v[2], v[3] * v[3]
    return [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]


def responsible_slots(pred, target, B) -> dict:
    """(image, row, column) -> (responsible slot, the IoUs of all slots), for every object cell."""
    p, t = pred.detach().double().cpu(), target.detach().double().cpu()
    N, S = p.shape[0], p.shape[1]
    out = {}
    for n in range(N):
        for i in range(S):
            for j in range(S):
                if float(t[n, i, j, 4]) != 1.0:
                    continue
                truth = _slot_box(t[n, i, j, :4].tolist(), S)
                ious = [_iou(_slot_box(p[n, i, j, 5 * b:5 * b + 4].tolist(), S), truth) for b in range(B)]
                out[(n, i, j)] = (max(range(B), key=lambda b: (ious[b], -b)), ious)
    return out


def yolo_loss(pred, target, B, lambda_coord=5.0, lambda_noobj=0.5) -> dict:
    """The five terms and their total, in float64, one cell and one slot at a time."""
    p, t = pred.detach().double().cpu(), target.detach().double().cpu()
    N, S = p.shape[0], p.shape[1]
    chosen = responsible_slots(pred, target, B)
    terms = dict.fromkeys(("coord_xy", "coord_wh", "obj", "noobj", "class"), 0.0)
    for n in range(N):
        for i in range(S):
            for j in range(S):
                cell = chosen.get((n, i, j))
                truth = t[n, i, j].tolist()
                for b in range(B):
                    x, y, sw, sh, conf = p[n, i, j, 5 * b:5 * b + 5].tolist()
                    if cell is not None and cell[0] == b:
                        terms["coord_xy"] += (x - truth[0]) ** 2 + (y - truth[1]) ** 2
                        terms["coord_wh"] += (sw - truth[2]) ** 2 + (sh - truth[3]) ** 2
                        terms["obj"] += (conf - cell[1][b]) ** 2
                    else:
                        terms["noobj"] += conf ** 2
                if cell is not None:
                    terms["class"] += sum((a - c) ** 2 for a, c in zip(p[n, i, j, 5 * B:].tolist(), truth[5 * B:]))
    terms["coord_xy"] *= lambda_coord
    terms["coord_wh"] *= lambda_coord
    terms["noobj"] *= lambda_noobj
    out = {k: v / N for k, v in terms.items()}
    out["total"] = sum(out.values())
    return out



def yolo_loss_gradient(pred, target, B, lambda_coord=5.0, lambda_noobj=0.5) -> dict:
    """The gradient of each term with respect to pred, (N, S, S, 5B + C) in float64, one cell and one
    slot at a time: 2 * weight * error / N on the entries a term squares, the IoU a constant."""
    p, t = pred.detach().double().cpu(), target.detach().double().cpu()
    N, S = p.shape[0], p.shape[1]
    chosen = responsible_slots(pred, target, B)
    grads = {k: torch.zeros_like(p) for k in ("coord_xy", "coord_wh", "obj", "noobj", "class")}
    for n in range(N):
        for i in range(S):
            for j in range(S):
                cell = chosen.get((n, i, j))
                for b in range(B):
                    at = 5 * b
                    if cell is not None and cell[0] == b:
                        for e, key in ((0, "coord_xy"), (1, "coord_xy"), (2, "coord_wh"), (3, "coord_wh")):
                            grads[key][n, i, j, at + e] = 2 * lambda_coord * (p[n, i, j, at + e] - t[n, i, j, e]) / N
                        grads["obj"][n, i, j, at + 4] = 2 * (p[n, i, j, at + 4] - cell[1][b]) / N
                    else:
                        grads["noobj"][n, i, j, at + 4] = 2 * lambda_noobj * p[n, i, j, at + 4] / N
                if cell is not None:
                    grads["class"][n, i, j, 5 * B:] = 2 * (p[n, i, j, 5 * B:] - t[n, i, j, 5 * B:]) / N
    return grads

# ---------------------------------------------------------------- average precision, brute force

RECALL_LEVELS = [k / 100 for k in range(101)]
IOU_THRESHOLDS = [(50 + 5 * k) / 100 for k in range(10)]


def matches(detections, ground_truths, iou_threshold):
    """[(score, image, rank in the image, true positive?)] for every detection, matched greedily
    image by image (each ground truth at most once, the best free one, IoU >= threshold)."""
    records = []
    for image, ((boxes, scores), gt) in enumerate(zip(detections, ground_truths)):
        boxes, scores, gt = _rows(boxes), scores.detach().double().cpu().tolist(), _rows(gt)
        order = sorted(range(len(scores)), key=lambda d: (-scores[d], d))
        taken = [False] * len(gt)
        for rank, d in enumerate(order):
            best, best_iou = -1, -1.0
            for g, truth in enumerate(gt):
                if taken[g]:
                    continue
                iou = _iou(boxes[d], truth)
                if iou > best_iou:
                    best, best_iou = g, iou
            hit = best >= 0 and best_iou >= iou_threshold
            if hit:
                taken[best] = True
            records.append((scores[d], image, rank, hit))
    return records


def precision_recall(detections, ground_truths, iou_threshold):
    """The precision-recall points, one per detection in decreasing score order."""
    n_gt = sum(len(g) for g in ground_truths)
    records = sorted(matches(detections, ground_truths, iou_threshold), key=lambda r: (-r[0], r[1], r[2]))
    points, tp = [], 0
    for k, record in enumerate(records, start=1):
        tp += record[3]
        points.append((tp / k, tp / n_gt if n_gt else math.nan))
    return points


def average_precision(detections, ground_truths, iou_threshold, levels=RECALL_LEVELS) -> float:
    """For every recall level, the best precision among all points at that recall or beyond."""
    if sum(len(g) for g in ground_truths) == 0:
        return math.nan
    points = precision_recall(detections, ground_truths, iou_threshold)
    total = 0.0
    for r in levels:
        reached = [p for p, rc in points if rc >= r]
        total += max(reached) if reached else 0.0
    return total / len(levels)


def mean_average_precision(predictions, targets, levels=RECALL_LEVELS, thresholds=IOU_THRESHOLDS) -> dict:
    classes = sorted({int(c) for t in targets for c in t["labels"].tolist()})
    if not classes:
        return {"map": math.nan, "map_50": math.nan, "map_75": math.nan}
    table = {}
    for c in classes:
        dets = [(p["boxes"][p["labels"] == c], p["scores"][p["labels"] == c]) for p in predictions]
        truths = [t["boxes"][t["labels"] == c] for t in targets]
        for t in thresholds:
            table[c, t] = average_precision(dets, truths, t, levels)
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    return {"map": mean(list(table.values())),
            "map_50": mean([table[c, thresholds[0]] for c in classes]),
            "map_75": mean([table[c, thresholds[5]] for c in classes])}


def compare_with_torchmetrics(cases: int = 60, seed: int = 0) -> float:
    """The brute force against torchmetrics' MeanAveragePrecision (pycocotools' COCOeval) on random
    multi-image, multi-class cases; returns the largest difference of map, map_50 and map_75.

    torchmetrics hands COCOeval recall levels and IoU thresholds made by ``torch.linspace`` in
    float32: most of them lie a little above k / 100 (0.6 is 0.6000000238), so a recall of exactly
    3 / 5 does not reach the level 0.6 there (pycocotools alone uses ``numpy.linspace``, ten of whose
    levels are an ulp above k / 100). The brute force is given the same levels and thresholds here,
    so both count the same points. Scores are distinct and IoUs stay away from the thresholds; at
    most 100 detections per image (COCO's maxDets).
    """
    from torchmetrics.detection import MeanAveragePrecision

    levels = torch.linspace(0.0, 1.0, 101).tolist()
    thresholds = torch.linspace(0.5, 0.95, 10).tolist()
    g = torch.Generator().manual_seed(seed)
    worst = 0.0
    for _ in range(cases):
        preds, targets = [], []
        for _ in range(int(torch.randint(1, 4, (1,), generator=g))):
            m = int(torch.randint(0, 6, (1,), generator=g))
            xy = torch.rand(m, 2, generator=g, dtype=torch.float64) * 80
            gt = torch.cat([xy, xy + 5 + torch.rand(m, 2, generator=g, dtype=torch.float64) * 30], 1)
            gl = torch.randint(0, 3, (m,), generator=g)
            copies = torch.randint(0, 3, (m,), generator=g)
            boxes = [gt[k] + torch.randn(4, generator=g, dtype=torch.float64) * 3
                     for k in range(m) for _ in range(int(copies[k]))]
            labels = [int(gl[k]) for k in range(m) for _ in range(int(copies[k]))]
            n_false = int(torch.randint(0, 4, (1,), generator=g))
            for _ in range(n_false):
                corner = torch.rand(2, generator=g, dtype=torch.float64) * 80
                boxes.append(torch.cat([corner, corner + 10]))
                labels.append(int(torch.randint(0, 3, (1,), generator=g)))
            b = torch.stack(boxes) if boxes else torch.zeros(0, 4, dtype=torch.float64)
            b = torch.stack([torch.minimum(b[:, 0], b[:, 2] - 1), torch.minimum(b[:, 1], b[:, 3] - 1),
                             b[:, 2], b[:, 3]], 1) if len(b) else b
            scores = torch.rand(len(b), generator=g, dtype=torch.float64)
            preds.append({"boxes": b.float(), "scores": scores.float(),
                          "labels": torch.tensor(labels, dtype=torch.int64)})
            targets.append({"boxes": gt.float(), "labels": gl})
        near = [abs(_iou(a, t) - th) < 1e-4 for p, tg in zip(preds, targets) for a in _rows(p["boxes"])
                for t in _rows(tg["boxes"]) for th in thresholds]
        if any(near):
            continue
        metric = MeanAveragePrecision(iou_type="bbox")
        metric.update(preds, targets)
        got = metric.compute()
        mine = mean_average_precision(preds, targets, levels, thresholds)
        for key in ("map", "map_50", "map_75"):
            theirs = float(got[key])
            if math.isnan(mine[key]) or theirs < 0:
                if not (math.isnan(mine[key]) and theirs < 0):
                    raise AssertionError(f"{key}: {mine[key]} vs torchmetrics {theirs}")
                continue
            worst = max(worst, abs(mine[key] - theirs))
    return worst


if __name__ == "__main__":
    print(f"largest difference from torchmetrics: {compare_with_torchmetrics():.2e}")
