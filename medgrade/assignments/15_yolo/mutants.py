"""Known-wrong answers of 15_yolo (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

ENC = "encode_targets_correct"
ENC_ONE = "encode_targets_one_per_cell"
DEC = "decode_predictions_correct"
DEC_RT = "decode_predictions_round_trip"
DEC_SPEED = "decode_predictions_speed"
COORD = "yolo_loss_coord"
CONF = "yolo_loss_confidence"
CLS = "yolo_loss_class"
BATCH = "yolo_loss_batch"
POST = "postprocess_correct"
AP = "average_precision_correct"
AP_PROPS = "average_precision_properties"
MAP = "mean_average_precision_correct"

_DECODE_LOOP = '''    height, width = image_size
    out_boxes, out_scores, out_labels = [], [], []
    for i in range(S):
        for j in range(S):                      # one cell at a time, its B slots together
            slots = pred[i, j, :5 * B].reshape(B, 5)
            probs = pred[i, j, 5 * B:]
            label = probs.argmax()
            cx = (j + slots[:, 0]) * (width / S)
            cy = (i + slots[:, 1]) * (height / S)
            w = slots[:, 2] ** 2 * width
            h = slots[:, 3] ** 2 * height
            out_boxes.append(torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1))
            out_scores.append(slots[:, 4] * probs[label])
            out_labels.append(label.expand(B))
    boxes, scores, labels = torch.cat(out_boxes), torch.cat(out_scores), torch.cat(out_labels)
    keep = scores > conf_threshold
    return boxes[keep], scores[keep], labels[keep]
'''

_DECODE_MESHGRID = '''    height, width = image_size
    rows, cols = torch.meshgrid(torch.arange(S, dtype=pred.dtype, device=pred.device),
                                torch.arange(S, dtype=pred.dtype, device=pred.device), indexing="ij")
    slots = pred[..., :5 * B].reshape(S, S, B, 5)
    best, label = pred[..., 5 * B:].max(dim=-1)
    cx = (cols[..., None] + slots[..., 0]) * width / S
    cy = (rows[..., None] + slots[..., 1]) * height / S
    half_w, half_h = slots[..., 2] ** 2 * width / 2, slots[..., 3] ** 2 * height / 2
    boxes = torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=-1).flatten(0, 2)
    scores = (slots[..., 4] * best[..., None]).flatten()
    labels = label[..., None].repeat(1, 1, B).flatten()
    mask = scores > conf_threshold
    return boxes[mask], scores[mask], labels[mask]
'''

_LOSS_MASKS = '''    m = responsible.to(pred.dtype)                                 # 1 for responsible slots
    tt = t.expand_as(p)
    coord_xy = lambda_coord * (m * ((p[..., 0] - tt[..., 0]) ** 2 + (p[..., 1] - tt[..., 1]) ** 2)).sum() / N
    coord_wh = lambda_coord * (m * ((p[..., 2] - tt[..., 2]) ** 2 + (p[..., 3] - tt[..., 3]) ** 2)).sum() / N
    obj = (m * (p[..., 4] - torch.nan_to_num(iou)) ** 2).sum() / N
    noobj = lambda_noobj * ((1 - m) * p[..., 4] ** 2).sum() / N
'''

_LOSS_INDEXED = '''    r = p[responsible]                                             # (M, 5) responsible predictions
    g = t.expand_as(p)[responsible]                                # their ground truth
    coord_xy = lambda_coord * ((r[:, 0] - g[:, 0]) ** 2 + (r[:, 1] - g[:, 1]) ** 2).sum() / N
    coord_wh = lambda_coord * ((r[:, 2] - g[:, 2]) ** 2 + (r[:, 3] - g[:, 3]) ** 2).sum() / N
    obj = ((r[:, 4] - iou[responsible]) ** 2).sum() / N
    noobj = lambda_noobj * (p[..., 4][~responsible] ** 2).sum() / N
'''

_AP_LEVELS = '''    envelope = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])
    levels = torch.arange(101, dtype=torch.float64) / 100
    first = torch.searchsorted(recall, levels, side="left")         # first k with recall_k >= r
    at_level = torch.where(first < len(recall), envelope[first.clamp(max=len(recall) - 1)], 0.0)
    return float(at_level.mean())
'''

_AP_LOOPS = '''    envelope = precision.clone()
    for k in range(len(envelope) - 2, -1, -1):
        envelope[k] = max(envelope[k], envelope[k + 1])
    total = 0.0
    for level in range(101):
        reached = (recall >= level / 100).nonzero()
        total += float(envelope[reached[0, 0]]) if len(reached) else 0.0
    return total / 101
'''

_AP_LIBRARY = '''    from torchmetrics.detection import MeanAveragePrecision
    metric = MeanAveragePrecision(iou_thresholds=[iou_threshold])
    metric.update([{"boxes": b, "scores": s, "labels": torch.zeros(len(b), dtype=torch.int64)} for b, s in detections],
                  [{"boxes": g, "labels": torch.zeros(len(g), dtype=torch.int64)} for g in ground_truths])
    return float(metric.compute()["map"])
    n_gt = sum(len(g) for g in ground_truths)
'''

MUTANTS = [
    # ---------------------------------------------------------------- encode_targets
    Mutant("encode_targets_rows_and_columns_swapped", "encode_targets",
           (("i, j = int(row[k]), int(col[k])", "i, j = int(col[k]), int(row[k])"),),
           breaks=(ENC,), why="target[column, row]: the grid is transposed"),
    Mutant("encode_targets_offset_relative_to_image", "encode_targets",
           (("x = cx / cell_w - col\n    y = cy / cell_h - row", "x = cx / width\n    y = cy / height"),),
           breaks=(ENC,), keeps=(DEC, POST), why="the centre relative to the image, not to its cell"),
    Mutant("encode_targets_size_without_sqrt", "encode_targets",
           (("sqrt_w = ((boxes[:, 2] - boxes[:, 0]) / width).sqrt()", "sqrt_w = (boxes[:, 2] - boxes[:, 0]) / width"),
            ("sqrt_h = ((boxes[:, 3] - boxes[:, 1]) / height).sqrt()", "sqrt_h = (boxes[:, 3] - boxes[:, 1]) / height")),
           breaks=(ENC,), keeps=(DEC,), why="stores w and h instead of their square roots"),
    Mutant("encode_targets_height_and_width_swapped", "encode_targets",
           (("height, width = image_size\n    target", "width, height = image_size\n    target"),),
           breaks=(ENC,), why="reads image_size as (width, height): wrong on every non-square image"),
    Mutant("encode_targets_last_box_wins", "encode_targets",
           (("for k in reversed(range(len(boxes))):", "for k in range(len(boxes)):"),),
           breaks=(ENC_ONE,), why="writes the boxes in order: the last box of a cell overwrites the first"),
    Mutant("encode_targets_keeps_old_class", "encode_targets",
           (("        target[i, j] = 0                       # forget a later box of this cell, class included\n", ""),),
           breaks=(ENC_ONE,), why="does not clear the cell: two boxes of one cell leave two classes set"),
    Mutant("encode_targets_every_slot", "encode_targets",
           (("        target[i, j, 4] = 1\n", "        target[i, j, 4] = 1\n        target[i, j, :5 * B] = target[i, j, :5].repeat(B)\n"),),
           breaks=(ENC,), why="writes the truth into every slot, where the contract keeps slots 1..B-1 at 0"),
    # honest alternatives
    Mutant("encode_targets_first_come_first_served", "encode_targets",
           (("    for k in reversed(range(len(boxes))):      # backwards: the first box of a cell is written last\n"
             "        i, j = int(row[k]), int(col[k])\n"
             "        target[i, j] = 0                       # forget a later box of this cell, class included\n",
             "    taken = set()\n"
             "    for k in range(len(boxes)):\n"
             "        i, j = int(row[k]), int(col[k])\n"
             "        if (i, j) in taken:\n"
             "            continue\n"
             "        taken.add((i, j))\n"),),
           breaks=(), keeps=(ENC, ENC_ONE), why="honest: boxes in order, a cell already taken is skipped"),

    # ---------------------------------------------------------------- decode_predictions
    Mutant("decode_predictions_rows_and_columns_swapped", "decode_predictions",
           (("cx = (cells.view(1, S, 1) + slots[..., 0])", "cx = (cells.view(S, 1, 1) + slots[..., 0])"),
            ("cy = (cells.view(S, 1, 1) + slots[..., 1])", "cy = (cells.view(1, S, 1) + slots[..., 1])")),
           breaks=(DEC, DEC_RT), why="adds the row index to x and the column index to y"),
    Mutant("decode_predictions_sizes_not_squared", "decode_predictions",
           (("w = slots[..., 2] ** 2 * width", "w = slots[..., 2] * width"),
            ("h = slots[..., 3] ** 2 * height", "h = slots[..., 3] * height")),
           breaks=(DEC, DEC_RT), keeps=(POST,), why="forgets that the network predicts square roots of the sizes"),
    Mutant("decode_predictions_confidence_as_score", "decode_predictions",
           (("scores = (slots[..., 4] * best).reshape(-1)", "scores = slots[..., 4].reshape(-1)"),),
           breaks=(DEC,), keeps=(DEC_RT, POST), why="scores by the box confidence alone, not times the class probability"),
    Mutant("decode_predictions_threshold_inclusive", "decode_predictions",
           (("keep = scores > conf_threshold", "keep = scores >= conf_threshold"),),
           breaks=(DEC,), keeps=(DEC_RT,), why="keeps a score equal to the threshold"),
    Mutant("decode_predictions_cell_size_of_square_image", "decode_predictions",
           (("cy = (cells.view(S, 1, 1) + slots[..., 1]) * (height / S)",
             "cy = (cells.view(S, 1, 1) + slots[..., 1]) * (width / S)"),),
           breaks=(DEC, DEC_RT), why="uses the cell width along y too: wrong on non-square images"),
    Mutant("decode_predictions_loop_over_cells", "decode_predictions",
           (("    height, width = image_size\n    slots = pred[..., :5 * B].reshape(S, S, B, 5)\n",
             _DECODE_LOOP + "    slots = pred[..., :5 * B].reshape(S, S, B, 5)\n"),),
           breaks=(DEC_SPEED,), keeps=(DEC, DEC_RT),
           why="a Python loop over the cells (each cell's slots at once): right, and many times slower"),
    # honest alternatives
    Mutant("decode_predictions_meshgrid", "decode_predictions",
           (("    height, width = image_size\n    slots = pred[..., :5 * B].reshape(S, S, B, 5)\n",
             _DECODE_MESHGRID + "    slots = pred[..., :5 * B].reshape(S, S, B, 5)\n"),),
           breaks=(), keeps=(DEC, DEC_RT, DEC_SPEED), why="honest: meshgrid, torch.max for the class, flatten"),

    # ---------------------------------------------------------------- yolo_loss
    Mutant("yolo_loss_slot_zero_responsible", "yolo_loss",
           (("best = iou.argmax(dim=-1)", "best = torch.zeros_like(iou[..., 0], dtype=torch.long)"),),
           breaks=(COORD, CONF), keeps=(CLS,), why="makes slot 0 responsible, whatever the IoUs"),
    Mutant("yolo_loss_lowest_iou_responsible", "yolo_loss",
           (("best = iou.argmax(dim=-1)", "best = iou.argmin(dim=-1)"),),
           breaks=(COORD, CONF), keeps=(CLS,), why="takes the worst-overlapping slot"),
    Mutant("yolo_loss_sizes_not_sqrt", "yolo_loss",
           (("((r[:, 2] - g[:, 2]) ** 2 + (r[:, 3] - g[:, 3]) ** 2)",
             "((r[:, 2] ** 2 - g[:, 2] ** 2) ** 2 + (r[:, 3] ** 2 - g[:, 3] ** 2) ** 2)"),),
           breaks=(COORD,), keeps=(CONF, CLS, BATCH), why="compares the sizes, not their square roots"),
    Mutant("yolo_loss_no_lambda_coord_on_sizes", "yolo_loss",
           (("coord_wh = lambda_coord * (", "coord_wh = ("),),
           breaks=(COORD,), keeps=(CONF, CLS, BATCH), why="weighs only the centres by lambda_coord"),
    Mutant("yolo_loss_confidence_target_one", "yolo_loss",
           (("obj = ((r[:, 4] - iou[responsible]) ** 2)", "obj = ((r[:, 4] - 1) ** 2)"),),
           breaks=(CONF,), keeps=(COORD, CLS, BATCH), why="trains the confidence towards 1, not towards the IoU"),
    Mutant("yolo_loss_noobj_only_empty_cells", "yolo_loss",
           (("noobj = lambda_noobj * (p[..., 4][~responsible] ** 2)", "noobj = lambda_noobj * (p[..., 4][~has_object] ** 2)"),),
           breaks=(CONF,), keeps=(COORD, CLS, BATCH),
           why="forgets the non-responsible slots of object cells in the no-object term"),
    Mutant("yolo_loss_no_lambda_noobj", "yolo_loss",
           (("noobj = lambda_noobj * (", "noobj = ("),),
           breaks=(CONF,), keeps=(COORD, CLS, BATCH), why="does not weigh the empty predictors down"),
    Mutant("yolo_loss_iou_in_cell_units", "yolo_loss",
           (("cx, cy, w, h = v[..., 0] / S, v[..., 1] / S,", "cx, cy, w, h = v[..., 0], v[..., 1],"),),
           breaks=(CONF,), keeps=(CLS,), why="mixes centres in cells with sizes in images when computing the IoU"),
    Mutant("yolo_loss_class_per_slot", "yolo_loss",
           (("cls = ((pred[..., 5 * B:]", "cls = B * ((pred[..., 5 * B:]"),),
           breaks=(CLS,), keeps=(COORD, CONF, BATCH), why="counts the class error once per slot"),
    Mutant("yolo_loss_class_in_every_cell", "yolo_loss",
           ((".sum(dim=-1)[has_object].sum() / N", ".sum(dim=-1).sum() / N"),),
           breaks=(CLS,), keeps=(COORD, CONF, BATCH), why="penalizes class probabilities of empty cells too"),
    Mutant("yolo_loss_sum_over_batch", "yolo_loss",
           (("    return {\"coord_xy\": coord_xy, \"coord_wh\": coord_wh, \"obj\": obj, \"noobj\": noobj,\n"
             "            \"class\": cls, \"total\": total}",
             "    terms = {\"coord_xy\": coord_xy, \"coord_wh\": coord_wh, \"obj\": obj, \"noobj\": noobj,\n"
             "             \"class\": cls, \"total\": total}\n"
             "    return {k: v * N for k, v in terms.items()}"),),
           breaks=(BATCH,), keeps=(COORD, CONF, CLS), why="sums over the batch instead of averaging"),
    Mutant("yolo_loss_total_without_class", "yolo_loss",
           (("total = coord_xy + coord_wh + obj + noobj + cls", "total = coord_xy + coord_wh + obj + noobj"),),
           breaks=(BATCH,), keeps=(COORD, CONF, CLS), why="leaves the class term out of the total"),
    # honest alternatives
    Mutant("yolo_loss_masks_multiplied", "yolo_loss", ((_LOSS_INDEXED, _LOSS_MASKS),),
           breaks=(), keeps=(COORD, CONF, CLS, BATCH),
           why="honest: multiplies by 0/1 masks instead of indexing (NaN IoUs of empty cells made 0)"),

    # ---------------------------------------------------------------- postprocess
    Mutant("postprocess_class_agnostic", "postprocess",
           (("keep = torchvision.ops.batched_nms(boxes, scores, labels, iou_threshold)",
             "keep = torchvision.ops.nms(boxes, scores, iou_threshold)"),),
           breaks=(POST,), why="one NMS over all classes: a mass suppresses the nodule under it"),
    Mutant("postprocess_thresholds_swapped", "postprocess",
           (("decode_predictions(pred, S, B, C, image_size, conf_threshold)",
             "decode_predictions(pred, S, B, C, image_size, iou_threshold)"),),
           breaks=(POST,), why="passes the IoU threshold as the score threshold"),
    Mutant("postprocess_in_grid_order", "postprocess",
           (("    return boxes[keep], scores[keep], labels[keep]", "    keep = keep.sort().values\n"
             "    return boxes[keep], scores[keep], labels[keep]"),),
           breaks=(POST,), why="returns the kept boxes in grid order, not by decreasing score"),
    # honest alternatives
    Mutant("postprocess_nms_then_threshold", "postprocess",
           (("boxes, scores, labels = decode_predictions(pred, S, B, C, image_size, conf_threshold)\n"
             "    keep = torchvision.ops.batched_nms(boxes, scores, labels, iou_threshold)\n",
             "boxes, scores, labels = decode_predictions(pred, S, B, C, image_size, -1.0)\n"
             "    keep = torchvision.ops.batched_nms(boxes, scores, labels, iou_threshold)\n"
             "    keep = keep[scores[keep] > conf_threshold]\n"),),
           breaks=(), keeps=(POST,), why="honest: NMS over every candidate, the score threshold after it"),

    # ---------------------------------------------------------------- average_precision
    Mutant("average_precision_duplicates_are_hits", "average_precision",
           (("                taken[best] = True\n", ""),),
           breaks=(AP, AP_PROPS), keeps=(MAP,), why="lets every detection match an object already found"),
    Mutant("average_precision_strict_threshold", "average_precision",
           (("if free[best] >= iou_threshold:", "if free[best] > iou_threshold:"),),
           breaks=(AP,), keeps=(MAP,), why="an IoU equal to the threshold does not match"),
    Mutant("average_precision_no_envelope", "average_precision",
           (("envelope = torch.flip(torch.cummax(torch.flip(precision, [0]), 0).values, [0])", "envelope = precision"),),
           breaks=(AP,), why="takes the precision at the first point reaching each recall level, without the envelope"),
    Mutant("average_precision_eleven_points", "average_precision",
           (("levels = torch.arange(101, dtype=torch.float64) / 100", "levels = torch.arange(11, dtype=torch.float64) / 10"),),
           breaks=(AP,), why="PASCAL VOC 2007's 11 recall levels instead of COCO's 101"),
    Mutant("average_precision_float32_recall", "average_precision",
           (("recall = tp / n_gt", "recall = (tp / n_gt).float().double()"),),
           breaks=(AP,), why="recall in float32: 7 / 10 falls just below the level 0.7"),
    Mutant("average_precision_zero_without_truth", "average_precision",
           (("        return float(\"nan\")\n", "        return 0.0\n"),),
           breaks=(AP, AP_PROPS), why="an AP of 0 for a class that has no ground truth"),
    Mutant("average_precision_images_not_merged_by_score", "average_precision",
           (("hits = torch.cat(all_hits)[torch.sort(scores, descending=True, stable=True).indices]",
             "hits = torch.cat(all_hits)"),),
           breaks=(AP,), why="takes the images one after the other instead of all detections by score"),
    Mutant("average_precision_library", "average_precision",
           (("    n_gt = sum(len(g) for g in ground_truths)\n", _AP_LIBRARY),),
           breaks=(AP, AP_PROPS), why="calls torchmetrics' MeanAveragePrecision"),
    # honest alternatives
    Mutant("average_precision_loops", "average_precision", ((_AP_LEVELS, _AP_LOOPS),),
           breaks=(), keeps=(AP, AP_PROPS), why="honest: the envelope and the recall levels in Python loops"),

    # ---------------------------------------------------------------- mean_average_precision
    Mutant("mean_average_precision_classes_of_predictions", "mean_average_precision",
           (("torch.cat([t[\"labels\"] for t in targets])", "torch.cat([t[\"labels\"] for t in targets + predictions])"),),
           breaks=(MAP,), why="averages over the predicted classes too (their AP is nan, or counted)"),
    Mutant("mean_average_precision_only_at_half", "mean_average_precision",
           (("thresholds = [(50 + 5 * k) / 100 for k in range(10)]", "thresholds = [0.5] * 10"),),
           breaks=(MAP,), why="reports mAP@0.5 as AP@[.5:.95]"),
    Mutant("mean_average_precision_labels_ignored", "mean_average_precision",
           (("detections = [(p[\"boxes\"][p[\"labels\"] == c], p[\"scores\"][p[\"labels\"] == c]) for p in predictions]",
             "detections = [(p[\"boxes\"], p[\"scores\"]) for p in predictions]"),),
           breaks=(MAP,), why="gives every class all the detections, whatever their label"),
    Mutant("mean_average_precision_wrong_threshold_for_75", "mean_average_precision",
           (("\"map_75\": float(table[:, 5].mean())", "\"map_75\": float(table[:, 4].mean())"),),
           breaks=(MAP,), why="takes the column of 0.70 for map_75"),
    # honest alternatives
    Mutant("mean_average_precision_per_threshold_first", "mean_average_precision",
           (("{\"map\": float(table.mean())", "{\"map\": float(table.mean(dim=0).mean())"),),
           breaks=(), keeps=(MAP,), why="honest: the mean over classes per threshold, then over thresholds"),
]

# ---- audit
_OWN_NMS = """    boxes, scores, labels = decode_predictions(pred, S, B, C, image_size, conf_threshold)
    order = torch.sort(scores, descending=True, stable=True).indices
    iou = torchvision.ops.box_iou(boxes[order], boxes[order])
    same = labels[order][:, None] == labels[order][None, :]
    alive = torch.ones(len(order), dtype=torch.bool)
    for a in range(len(order)):
        if alive[a]:
            beaten = (iou[a] > iou_threshold) & same[a]
            beaten[:a + 1] = False
            alive &= ~beaten
    keep = order[alive]
    return boxes[keep], scores[keep], labels[keep]
"""
_BATCHED_NMS = """    boxes, scores, labels = decode_predictions(pred, S, B, C, image_size, conf_threshold)
    keep = torchvision.ops.batched_nms(boxes, scores, labels, iou_threshold)
    return boxes[keep], scores[keep], labels[keep]
"""

MUTANTS += [
    Mutant("yolo_loss_iou_target_not_detached", "yolo_loss",
           (("iou = (inter / union).detach()", "iou = inter / union"),),
           breaks=(CONF,), keeps=(COORD, CLS, BATCH),
           why="the obj term's target, the IoU, left in the graph: right values, a gradient on the boxes too"),
    Mutant("yolo_loss_terms_detached", "yolo_loss",
           (("    total = coord_xy + coord_wh + obj + noobj + cls\n",
             "    coord_xy, coord_wh, obj, noobj, cls = (v.detach() for v in (coord_xy, coord_wh, obj, noobj, cls))\n"
             "    total = coord_xy + coord_wh + obj + noobj + cls\n"),),
           breaks=(COORD, CONF, CLS), keeps=(BATCH,), why="right values, cut off from autograd: nothing to train"),
    Mutant("yolo_loss_ties_to_the_last_slot", "yolo_loss",
           (("best = iou.argmax(dim=-1)", "best = B - 1 - iou.flip(-1).argmax(dim=-1)"),),
           breaks=(COORD, CONF), why="two slots at the same IoU (none overlapping the truth): the higher one"),
    Mutant("yolo_loss_iou_with_epsilon", "yolo_loss",
           (("iou = (inter / union).detach()", "iou = (inter / (union + 1e-12)).detach()"),),
           breaks=(), keeps=(COORD, CONF), why="honest: an epsilon in the IoU's denominator"),
    Mutant("postprocess_nms_inclusive", "postprocess", ((_BATCHED_NMS, _OWN_NMS.replace(
        "iou[a] > iou_threshold", "iou[a] >= iou_threshold")),),
           breaks=(POST,), why="its own NMS suppresses a box whose IoU equals iou_threshold"),
    Mutant("postprocess_ties_to_the_later_candidate", "postprocess", ((_BATCHED_NMS, _OWN_NMS.replace(
        "torch.sort(scores, descending=True, stable=True).indices",
        "len(scores) - 1 - torch.sort(scores.flip(0), descending=True, stable=True).indices")),),
           breaks=(POST,), why="equal scores: the later candidate first, so it suppresses the earlier one"),
    Mutant("postprocess_own_nms", "postprocess", ((_BATCHED_NMS, _OWN_NMS),),
           breaks=(), keeps=(POST,), why="honest: its own class-aware NMS, a stable sort by score"),
    Mutant("average_precision_taken_best_is_a_false_positive", "average_precision",
           (("free = iou[d].masked_fill(taken, -1.0)\n            best = int(free.argmax())\n"
             "            if free[best] >= iou_threshold:",
             "free = iou[d]\n            best = int(free.argmax())\n"
             "            if free[best] >= iou_threshold and not taken[best]:"),),
           breaks=(AP,), why="PASCAL VOC's devkit: when the best ground truth is taken the detection is a false "
                             "positive, where the contract takes the next best free one"),
    Mutant("mean_average_precision_thresholds_by_steps", "mean_average_precision",
           (("thresholds = [(50 + 5 * k) / 100 for k in range(10)]", "thresholds = [0.5 + 0.05 * k for k in range(10)]"),),
           breaks=(MAP,), why="0.5 + 0.05 * 7 is 0.8500000000000001: an IoU of exactly 0.85 no longer matches"),
    Mutant("mean_average_precision_float32_table", "mean_average_precision",
           (("dtype=torch.float64)", "dtype=torch.float32)"),),
           breaks=(), keeps=(MAP,), why="honest: the table of APs in float32, its mean rounded by about 1e-8"),
]

# the mistakes of the demo's buggy student: each costs one aspect and leaves the rest
DEMO = ("decode_predictions_confidence_as_score", "average_precision_eleven_points")
