from medgrade.mutants import Mutant

_IOU_BODY = """    area1 = box_area(boxes1)                                            # (N,)
    area2 = box_area(boxes2)                                            # (M,)
    # corners of every pairwise intersection: (N, 1, 2) against (1, M, 2) broadcasts to (N, M, 2)
    top_left = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)                         # no overlap: 0 wide or high
    inter = wh[..., 0] * wh[..., 1]                                     # (N, M)
    union = area1[:, None] + area2[None, :] - inter
    return inter / union
"""

_IOU_LOOP = """    rows = []
    for a in boxes1.tolist():
        row = []
        for b in boxes2.tolist():
            w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
            h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
            inter = w * h
            row.append(inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter))
        rows.append(row)
    return torch.tensor(rows, dtype=boxes1.dtype, device=boxes1.device).reshape(len(boxes1), len(boxes2))
"""

_NMS_GREEDY = """    keep = []
    while order.numel() > 0:
        best, rest = order[0], order[1:]
        keep.append(best)
        iou = box_iou(boxes[best].unsqueeze(0), boxes[rest]).squeeze(0)  # (len(rest),)
        order = rest[~(iou > iou_threshold)]       # drop what overlaps the kept box too much
"""

_NMS_PAIR_LOOP = """    suppressed = torch.zeros(len(scores), dtype=torch.bool, device=scores.device)
    keep = []
    for a in range(len(order)):
        i = order[a]
        if suppressed[i]:
            continue
        keep.append(i)
        for b in range(a + 1, len(order)):
            j = order[b]
            if suppressed[j]:
                continue
            w = (torch.min(boxes[i, 2], boxes[j, 2]) - torch.max(boxes[i, 0], boxes[j, 0])).clamp(min=0)
            h = (torch.min(boxes[i, 3], boxes[j, 3]) - torch.max(boxes[i, 1], boxes[j, 1])).clamp(min=0)
            inter = w * h
            union = box_area(boxes[i:i + 1])[0] + box_area(boxes[j:j + 1])[0] - inter
            if inter / union > iou_threshold:
                suppressed[j] = True
    order = order[:0]
"""

# A wrong box_iou costs box_iou's aspects only: nms and soft-NMS are graded with the course's box_iou.
USES_BOX_IOU = ("nms_correct", "nms_edge_cases", "soft_nms_correct")

MUTANTS = [
    # ---------------------------------------------------------------- box_area
    Mutant("area_plus_one_pixel", "box_area",
           (("width = boxes[:, 2] - boxes[:, 0]", "width = boxes[:, 2] - boxes[:, 0] + 1"),
            ("height = boxes[:, 3] - boxes[:, 1]", "height = boxes[:, 3] - boxes[:, 1] + 1")),
           breaks=("box_area_correct",), keeps=("box_iou_correct", "generalized_box_iou_correct"),
           why="the inclusive-pixel (+1) convention of old VOC code, on continuous coordinates"),
    Mutant("area_reads_xywh", "box_area",
           (("width = boxes[:, 2] - boxes[:, 0]", "width = boxes[:, 2]"),
            ("height = boxes[:, 3] - boxes[:, 1]", "height = boxes[:, 3]")),
           breaks=("box_area_correct",),
           why="treats (x1, y1, x2, y2) as (x, y, w, h)"),
    # ---------------------------------------------------------------- box_iou
    Mutant("iou_no_clamp", "box_iou",
           ((".clamp(min=0)", ""),),
           breaks=("box_iou_correct",),
           why="negative width times negative height: disjoint boxes get a positive IoU"),
    Mutant("iou_union_without_intersection", "box_iou",
           (("union = area1[:, None] + area2[None, :] - inter", "union = area1[:, None] + area2[None, :]"),),
           breaks=("box_iou_correct",),
           why="|A| + |B| counts the intersection twice: IoU is at most 1/2"),
    Mutant("iou_plus_one_pixel", "box_iou",
           (("(bottom_right - top_left).clamp(min=0)", "(bottom_right - top_left + 1).clamp(min=0)"),),
           breaks=("box_iou_correct",), keeps=USES_BOX_IOU,
           why="+1 on the intersection's sides only"),
    Mutant("iou_wrong_corner", "box_iou",
           (("top_left = torch.max(", "top_left = torch.min("),),
           breaks=("box_iou_correct",),
           why="the intersection's top-left corner is the larger of the two, not the smaller"),
    Mutant("iou_python_double_loop", "box_iou",
           ((_IOU_BODY, _IOU_LOOP),),
           breaks=("box_iou_speed",), keeps=("box_iou_correct",),
           why="correct, but a Python loop over all N x M pairs"),
    # ---------------------------------------------------------------- generalized_box_iou
    Mutant("giou_enclosing_box_is_intersection", "generalized_box_iou",
           (("hull_top_left = torch.min(", "hull_top_left = torch.max("),),
           breaks=("generalized_box_iou_correct",),
           why="the enclosing box takes the inner top-left corner"),
    Mutant("giou_divides_by_union", "generalized_box_iou",
           (("(hull - union) / hull", "(hull - union) / union"),),
           breaks=("generalized_box_iou_correct",),
           why="the penalty is relative to the enclosing box, not to the union"),
    # ---------------------------------------------------------------- nms
    Mutant("nms_no_sort", "nms",
           (("order = torch.sort(scores, descending=True, stable=True).indices",
             "order = torch.arange(len(scores), device=scores.device)"),),
           breaks=("nms_correct",), keeps=("batched_nms_correct",),   # batched_nms uses the course's nms
           why="greedy in index order instead of score order"),
    Mutant("nms_ascending", "nms",
           (("descending=True", "descending=False"),),
           breaks=("nms_correct",),
           why="keeps the worst box of each cluster"),
    Mutant("nms_keeps_the_overlaps", "nms",
           (("rest[~(iou > iou_threshold)]", "rest[iou > iou_threshold]"),),
           breaks=("nms_correct",),
           why="the suppression mask the wrong way round: keeps the duplicates"),
    Mutant("nms_less_than", "nms",
           (("rest[~(iou > iou_threshold)]", "rest[~(iou < iou_threshold)]"),),
           breaks=("nms_correct",),
           why="suppresses the boxes that do not overlap"),
    Mutant("nms_greater_or_equal", "nms",
           (("rest[~(iou > iou_threshold)]", "rest[~(iou >= iou_threshold)]"),),
           breaks=("nms_correct", "nms_edge_cases"),
           why="suppresses at IoU equal to the threshold: exact ties, and every pair at threshold 0"),
    Mutant("nms_keep_where_below", "nms",
           (("rest[~(iou > iou_threshold)]", "rest[iou <= iou_threshold]"),),
           breaks=("nms_edge_cases",), keeps=("nms_correct",),
           why="NaN IoUs of zero-area boxes compare false: they are dropped"),
    Mutant("nms_crashes_on_empty", "nms",
           (("torch.stack(keep) if keep else order", "torch.stack(keep)"),),
           breaks=("nms_edge_cases",), keeps=("nms_correct",),
           why="torch.stack of an empty list raises"),
    Mutant("nms_returns_int32", "nms",
           (("torch.stack(keep) if keep else order", "(torch.stack(keep) if keep else order).int()"),),
           breaks=("nms_correct",),
           why="indices must be int64, like torchvision's"),
    Mutant("nms_library_on_large_inputs", "nms",
           (("    keep = []\n    while order.numel() > 0:",
             "    if boxes.shape[0] > 1000:\n"
             "        return torchvision.ops.nms(boxes, scores, iou_threshold)\n"
             "    keep = []\n    while order.numel() > 0:"),),
           breaks=("nms_speed",), keeps=("nms_correct", "nms_edge_cases"),
           why="torchvision's NMS only on inputs as large as the timed ones"),
    Mutant("nms_pair_loop", "nms",
           ((_NMS_GREEDY, _NMS_PAIR_LOOP),),
           breaks=("nms_speed",), keeps=("nms_correct", "nms_edge_cases"),
           why="correct, but a double loop over pairs that indexes tensors"),
    # ---------------------------------------------------------------- batched_nms
    Mutant("batched_ignores_classes", "batched_nms",
           (("members = torch.nonzero(idxs == label).flatten()",
             "members = torch.arange(len(idxs), device=idxs.device)"),),
           breaks=("batched_nms_correct",),
           why="class-agnostic: boxes of different classes suppress each other"),
    Mutant("batched_indices_not_mapped_back", "batched_nms",
           (("keep_mask[members[kept]] = True", "keep_mask[kept] = True"),),
           breaks=("batched_nms_correct",),
           why="uses indices into the class's subset as indices into the full set"),
    Mutant("batched_not_sorted", "batched_nms",
           (("return keep[torch.sort(scores[keep], descending=True, stable=True).indices]", "return keep"),),
           breaks=("batched_nms_correct",),
           why="returns kept indices in index order, not in decreasing score order"),
    # ---------------------------------------------------------------- soft_nms
    Mutant("soft_no_square", "soft_nms",
           (("torch.exp(-iou ** 2 / sigma)", "torch.exp(-iou / sigma)"),),
           breaks=("soft_nms_correct",),
           why="exp(-IoU / sigma) instead of the Gaussian exp(-IoU^2 / sigma)"),
    Mutant("soft_linear_decay", "soft_nms",
           (("torch.exp(-iou ** 2 / sigma)", "(1 - iou)"),),
           breaks=("soft_nms_correct",),
           why="the linear variant, applied to every overlap, instead of the Gaussian one"),
    Mutant("soft_selects_by_original_score", "soft_nms",
           (("torch.where(alive, current,", "torch.where(alive, scores,"),),
           breaks=("soft_nms_correct",),
           why="sorts once by the original scores instead of re-selecting by the decayed ones"),
    Mutant("soft_never_drops", "soft_nms",
           (("        alive &= current >= score_threshold\n", ""),),
           breaks=("soft_nms_correct",),
           why="decayed boxes are never dropped below score_threshold"),
]

# Contracts the docstrings state beyond the values: inputs left as they were, the inputs' precision,
# torchvision's box functions refused, the return type.
MUTANTS += [
    Mutant("area_sizes_in_place", "box_area",
           (("    width = boxes[:, 2] - boxes[:, 0]\n    height = boxes[:, 3] - boxes[:, 1]\n",
             "    boxes[:, 2:] -= boxes[:, :2]                # corners to sizes, in the caller's tensor\n"
             "    width, height = boxes[:, 2], boxes[:, 3]\n"),),
           breaks=("box_area_correct",), keeps=("box_iou_correct",),
           why="right areas, but the caller's boxes now hold widths and heights"),
    Mutant("iou_translates_in_place", "box_iou",
           (("    area1 = box_area(boxes1)",
             "    if len(boxes1) and len(boxes2):              # IoU ignores translation: work near 0\n"
             "        origin = torch.cat([boxes1[:, :2], boxes2[:, :2]]).amin(dim=0).repeat(2)\n"
             "        boxes1 -= origin\n"
             "        boxes2 -= origin\n"
             "    area1 = box_area(boxes1)"),),
           breaks=("box_iou_correct",),
           why="moves both box sets to the origin with -=: the caller's boxes move too"),
    Mutant("iou_in_float32", "box_iou",
           (("    area1 = box_area(boxes1)",
             "    dtype = boxes1.dtype\n"
             "    boxes1, boxes2 = boxes1.float(), boxes2.float()   # float32 is plenty for pixels\n"
             "    area1 = box_area(boxes1)"),
            ("    return inter / union\n", "    return (inter / union).to(dtype)\n")),
           breaks=("box_iou_correct",),
           why="float64 boxes computed in float32 and cast back: float32 accuracy in a float64 tensor"),
    Mutant("giou_torchvision_box_iou", "generalized_box_iou",
           (("    return inter / union - (hull - union) / hull",
             "    return torchvision.ops.box_iou(boxes1, boxes2) - (hull - union) / hull"),),
           breaks=("generalized_box_iou_correct",),
           why="takes the IoU term from torchvision.ops.box_iou, which the task refuses"),
    Mutant("nms_torchvision_box_iou", "nms",
           (("iou = box_iou(boxes[best].unsqueeze(0), boxes[rest])",
             "iou = torchvision.ops.box_iou(boxes[best].unsqueeze(0), boxes[rest])"),),
           breaks=("nms_correct", "nms_edge_cases", "nms_speed"),
           why="the greedy loop written by hand, but with torchvision.ops.box_iou, which the task refuses"),
    Mutant("batched_offsets_in_place", "batched_nms",
           (("""    keep_mask = torch.zeros(len(scores), dtype=torch.bool, device=scores.device)
    for label in torch.unique(idxs):
        members = torch.nonzero(idxs == label).flatten()      # the boxes of this class
        kept = nms(boxes[members], scores[members], iou_threshold)
        keep_mask[members[kept]] = True                        # back to indices of the full set
    keep = torch.nonzero(keep_mask).flatten()                  # increasing index
    return keep[torch.sort(scores[keep], descending=True, stable=True).indices]""",
             """    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.int64, device=boxes.device)
    # the coordinate trick: move each class far from the others, then one class-agnostic nms
    boxes += (idxs - idxs.min()).to(boxes.dtype)[:, None] * (boxes.max() - boxes.min() + 1)
    return nms(boxes, scores, iou_threshold)"""),),
           breaks=("batched_nms_correct",),
           why="the offset trick with += shifts the caller's boxes"),
    Mutant("soft_returns_list", "soft_nms",
           (("    return torch.stack(keep), torch.stack(kept_scores)",
             "    return [torch.stack(keep), torch.stack(kept_scores)]"),),
           breaks=("soft_nms_correct",),
           why="a list [keep, kept_scores] where the contract asks for a tuple"),
    Mutant("soft_decays_in_float32", "soft_nms",
           (("    current = scores.clone()                       # never modify the caller's scores",
             "    current = scores.float()                       # float32 is enough for scores"),
            ("    return torch.stack(keep), torch.stack(kept_scores)",
             "    return torch.stack(keep), torch.stack(kept_scores).to(scores.dtype)")),
           breaks=("soft_nms_correct",),
           why="float64 scores decayed in float32 and cast back"),
]

# the demo's buggy student (cyd_buggy) makes these mistakes
DEMO = ("giou_divides_by_union", "nms_no_sort")

# Honest alternatives: written differently from the solution, they must keep every aspect.
MUTANTS += [
    Mutant("honest_iou_by_coordinates", "box_iou",
           (("""    top_left = torch.max(boxes1[:, None, :2], boxes2[None, :, :2])
    bottom_right = torch.min(boxes1[:, None, 2:], boxes2[None, :, 2:])
    wh = (bottom_right - top_left).clamp(min=0)                         # no overlap: 0 wide or high
    inter = wh[..., 0] * wh[..., 1]                                     # (N, M)""",
             """    x1, y1, x2, y2 = boxes1.unbind(1)
    u1, v1, u2, v2 = boxes2.unbind(1)
    w = (torch.minimum(x2[:, None], u2[None, :]) - torch.maximum(x1[:, None], u1[None, :])).clamp(min=0)
    h = (torch.minimum(y2[:, None], v2[None, :]) - torch.maximum(y1[:, None], v1[None, :])).clamp(min=0)
    inter = w * h"""),),
           breaks=(), keeps=("box_iou_correct", "box_iou_speed"),
           why="per-coordinate broadcasting instead of corner pairs"),
    Mutant("honest_greedy_on_python_floats", "nms",
           (("""    order = torch.sort(scores, descending=True, stable=True).indices   # ties: lower index first
    keep = []
    while order.numel() > 0:
        best, rest = order[0], order[1:]
        keep.append(best)
        iou = box_iou(boxes[best].unsqueeze(0), boxes[rest]).squeeze(0)  # (len(rest),)
        order = rest[~(iou > iou_threshold)]       # drop what overlaps the kept box too much
    return torch.stack(keep) if keep else order    # here `order` is an empty int64 tensor""",
             """    b, s = boxes.tolist(), scores.tolist()
    order = sorted(range(len(s)), key=lambda i: (-s[i], i))        # ties: lower index first
    keep, dropped = [], [False] * len(s)
    for k, i in enumerate(order):
        if dropped[i]:
            continue
        keep.append(i)
        x1, y1, x2, y2 = b[i]
        for j in order[k + 1:]:
            if dropped[j]:
                continue
            u1, v1, u2, v2 = b[j]
            inter = max(0.0, min(x2, u2) - max(x1, u1)) * max(0.0, min(y2, v2) - max(y1, v1))
            union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
            if union > 0 and inter / union > iou_threshold:
                dropped[j] = True
    return torch.tensor(keep, dtype=torch.int64, device=boxes.device)"""),),
           breaks=(), keeps=("nms_correct", "nms_edge_cases", "nms_speed"),
           why="the classic double loop on Python floats: correct, and the speed aspect lets it pass"),
]
