"""Known-wrong answers of 16_rcnn (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

CELL = "cell_anchors_correct"
GRID = "grid_anchors_correct"
ENCODE = "encode_deltas_correct"
DECODE, CLAMP = "decode_deltas_correct", "decode_deltas_clamp"
THRESH, LOWQ = "match_anchors_thresholds", "match_anchors_low_quality"
COUNTS, RANDOM, EXACT = "sample_balanced_counts", "sample_balanced_random", "sample_balanced_exact"
POOL, POOL_GRAD = "roi_pool_values", "roi_pool_gradients"
ALIGN, ALIGNED, ADAPTIVE, ALIGN_GRAD = "roi_align_values", "roi_align_aligned", "roi_align_adaptive", "roi_align_gradients"

MUTANTS = [
    # ---------------------------------------------------------------- cell_anchors
    Mutant("cell_anchors_ratio_is_width_over_height", "cell_anchors",
           (("h_ratios = torch.sqrt(ratios)", "h_ratios = 1 / torch.sqrt(ratios)"),),
           breaks=(CELL,), why="takes the aspect ratio as width / height"),
    Mutant("cell_anchors_round_half_up", "cell_anchors",
           ((".round().to(dtype)", ".add(0.5).floor().to(dtype)"),),
           breaks=(CELL,), why="rounds halves up (floor(x + 0.5)): 2.5 -> 3 and -1.5 -> -1 instead of to even"),
    Mutant("cell_anchors_size_major", "cell_anchors",
           (("ws = (w_ratios[:, None] * scales[None, :]).reshape(-1)", "ws = (w_ratios[None, :] * scales[:, None]).reshape(-1)"),
            ("hs = (h_ratios[:, None] * scales[None, :]).reshape(-1)", "hs = (h_ratios[None, :] * scales[:, None]).reshape(-1)")),
           breaks=(CELL,), why="orders the anchors size-major (all ratios of the first size first)"),
    Mutant("cell_anchors_not_rounded", "cell_anchors",
           ((".round().to(dtype)", ".to(dtype)"),),
           breaks=(CELL,), why="keeps the fractional half-sides"),
    Mutant("cell_anchors_loop_float64", "cell_anchors",
           (("    scales = torch.as_tensor(sizes, dtype=torch.float32)\n", "    rows = []\n    for r in aspect_ratios:\n"
             "        for s in sizes:\n            w, h = s / math.sqrt(r), s * math.sqrt(r)\n"
             "            rows.append([round(-w / 2), round(-h / 2), round(w / 2), round(h / 2)])\n"
             "    return torch.tensor(rows, dtype=dtype).reshape(-1, 4)\n"
             "    scales = torch.as_tensor(sizes, dtype=torch.float32)\n"),),
           breaks=(), keeps=(CELL,), why="honest: a loop in Python floats, Python's round (also half to even)"),

    # ---------------------------------------------------------------- grid_anchors
    Mutant("grid_anchors_half_stride_offset", "grid_anchors",
           (("xs = torch.arange(width, dtype=cell.dtype) * stride_w", "xs = (torch.arange(width, dtype=cell.dtype) + 0.5) * stride_w"),
            ("ys = torch.arange(height, dtype=cell.dtype) * stride_h", "ys = (torch.arange(height, dtype=cell.dtype) + 0.5) * stride_h")),
           breaks=(GRID,), why="centres the anchors on the middle of each stride cell"),
    Mutant("grid_anchors_column_major", "grid_anchors",
           (('sy, sx = torch.meshgrid(ys, xs, indexing="ij")', 'sx, sy = torch.meshgrid(xs, ys, indexing="ij")'),),
           breaks=(GRID,), why="walks the positions column by column"),
    Mutant("grid_anchors_strides_swapped", "grid_anchors",
           (("stride_h, stride_w = (stride, stride) if isinstance(stride, int) else stride",
             "stride_w, stride_h = (stride, stride) if isinstance(stride, int) else stride"),),
           breaks=(GRID,), why="reads the stride pair as (stride_w, stride_h)"),
    Mutant("grid_anchors_anchor_major", "grid_anchors",
           (("return (shifts + cell[None]).reshape(-1, 4)", "return (shifts.reshape(1, -1, 4) + cell[:, None]).reshape(-1, 4)"),),
           breaks=(GRID,), why="puts all positions of the first anchor first"),
    Mutant("grid_anchors_loop", "grid_anchors",
           (("    xs = torch.arange(width, dtype=cell.dtype) * stride_w\n",
             "    rows = [cell + torch.tensor([x * stride_w, y * stride_h] * 2, dtype=cell.dtype)\n"
             "            for y in range(height) for x in range(width)]\n"
             "    return torch.cat(rows)\n"
             "    xs = torch.arange(width, dtype=cell.dtype) * stride_w\n"),),
           breaks=(), keeps=(GRID,), why="honest: a loop over positions"),

    # ---------------------------------------------------------------- encode_deltas
    Mutant("encode_deltas_plus_one", "encode_deltas",
           (("aw = anchors[:, 2] - anchors[:, 0]", "aw = anchors[:, 2] - anchors[:, 0] + 1"),
            ("gw = gt_boxes[:, 2] - gt_boxes[:, 0]", "gw = gt_boxes[:, 2] - gt_boxes[:, 0] + 1")),
           breaks=(ENCODE,), why="the legacy +1 pixel width"),
    Mutant("encode_deltas_arguments_swapped", "encode_deltas",
           (("    wx, wy, ww, wh = weights\n", "    wx, wy, ww, wh = weights\n    gt_boxes, anchors = anchors, gt_boxes\n"),),
           breaks=(ENCODE,), why="encodes the anchors relative to the boxes"),
    Mutant("encode_deltas_corner_as_centre", "encode_deltas",
           (("ax = anchors[:, 0] + 0.5 * aw", "ax = anchors[:, 0]"), ("gx = gt_boxes[:, 0] + 0.5 * gw", "gx = gt_boxes[:, 0]"),
            ("ay = anchors[:, 1] + 0.5 * ah", "ay = anchors[:, 1]"), ("gy = gt_boxes[:, 1] + 0.5 * gh", "gy = gt_boxes[:, 1]")),
           breaks=(ENCODE,), why="measures offsets between top-left corners instead of centres"),
    Mutant("encode_deltas_weights_divide", "encode_deltas",
           (("ww * torch.log(gw / aw), wh * torch.log(gh / ah)", "torch.log(gw / aw) / ww, torch.log(gh / ah) / wh"),),
           breaks=(ENCODE,), why="divides the size targets by the weights"),
    Mutant("encode_deltas_midpoints", "encode_deltas",
           (("ax = anchors[:, 0] + 0.5 * aw", "ax = (anchors[:, 0] + anchors[:, 2]) / 2"),
            ("gx = gt_boxes[:, 0] + 0.5 * gw", "gx = (gt_boxes[:, 0] + gt_boxes[:, 2]) / 2"),
            ("ww * torch.log(gw / aw)", "ww * (torch.log(gw) - torch.log(aw))")),
           breaks=(), keeps=(ENCODE,), why="honest: centres as midpoints, the log of a ratio as a difference of logs"),

    # ---------------------------------------------------------------- decode_deltas
    Mutant("decode_deltas_no_clamp", "decode_deltas",
           (("dw = (deltas[:, 2::4] / ww).clamp(max=clip)", "dw = deltas[:, 2::4] / ww"),
            ("dh = (deltas[:, 3::4] / wh).clamp(max=clip)", "dh = deltas[:, 3::4] / wh")),
           breaks=(CLAMP,), keeps=(DECODE,), why="no clamp: exp overflows for a wild prediction"),
    Mutant("decode_deltas_clamp_both_sides", "decode_deltas",
           (("dw = (deltas[:, 2::4] / ww).clamp(max=clip)", "dw = (deltas[:, 2::4] / ww).clamp(-clip, clip)"),
            ("dh = (deltas[:, 3::4] / wh).clamp(max=clip)", "dh = (deltas[:, 3::4] / wh).clamp(-clip, clip)")),
           breaks=(CLAMP,), keeps=(DECODE,), why="clamps from below as well: boxes can no longer shrink below 1/62 of the anchor"),
    Mutant("decode_deltas_clamp_before_weights", "decode_deltas",
           (("dw = (deltas[:, 2::4] / ww).clamp(max=clip)", "dw = deltas[:, 2::4].clamp(max=clip) / ww"),
            ("dh = (deltas[:, 3::4] / wh).clamp(max=clip)", "dh = deltas[:, 3::4].clamp(max=clip) / wh")),
           breaks=(CLAMP, DECODE), why="clamps the raw delta, before dividing by the weight"),
    Mutant("decode_deltas_first_class_only", "decode_deltas",
           (("dx = deltas[:, 0::4] / wx", "dx = deltas[:, 0:1] / wx"), ("dy = deltas[:, 1::4] / wy", "dy = deltas[:, 1:2] / wy"),
            ("dw = (deltas[:, 2::4] / ww)", "dw = (deltas[:, 2:3] / ww)"), ("dh = (deltas[:, 3::4] / wh)", "dh = (deltas[:, 3:4] / wh)"),
            (".reshape(deltas.shape)", ".reshape(len(deltas), -1)")),
           breaks=(DECODE,), why="decodes the first class's group only"),
    Mutant("decode_deltas_weights_multiply", "decode_deltas",
           (("dx = deltas[:, 0::4] / wx", "dx = deltas[:, 0::4] * wx"), ("dy = deltas[:, 1::4] / wy", "dy = deltas[:, 1::4] * wy")),
           breaks=(DECODE,), why="multiplies the centre deltas by the weights"),
    Mutant("decode_deltas_centre_is_corner", "decode_deltas",
           (("return torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=2)",
             "return torch.stack([cx, cy, cx + 2 * half_w, cy + 2 * half_h], dim=2)"),),
           breaks=(DECODE, CLAMP), why="treats the decoded centre as the top-left corner"),
    Mutant("decode_deltas_view_per_class", "decode_deltas",
           (("    dx = deltas[:, 0::4] / wx\n",
             "    d = deltas.reshape(len(deltas), deltas.shape[1] // 4, 4)\n"
             "    d = d / torch.tensor(weights, dtype=deltas.dtype)\n"
             "    dx, dy = d[..., 0], d[..., 1]\n"
             "    dw, dh = d[..., 2].clamp(max=clip), d[..., 3].clamp(max=clip)\n"
             "    cx, cy = dx * aw + ax, dy * ah + ay\n"
             "    half_w, half_h = torch.exp(dw) * aw / 2, torch.exp(dh) * ah / 2\n"
             "    return torch.stack([cx - half_w, cy - half_h, cx + half_w, cy + half_h], dim=2).reshape(deltas.shape)\n"
             "    dx = deltas[:, 0::4] / wx\n"),),
           breaks=(), keeps=(DECODE, CLAMP), why="honest: a (N, K, 4) view, all weights at once"),

    # ---------------------------------------------------------------- match_anchors
    Mutant("match_anchors_strict_high", "match_anchors",
           (("matches[(best >= low_threshold) & (best < high_threshold)] = -2",
             "matches[(best >= low_threshold) & (best <= high_threshold)] = -2"),),
           breaks=(THRESH,), why="a quality equal to the high threshold is not matched (> instead of >=)"),
    Mutant("match_anchors_low_inclusive", "match_anchors",
           (("matches[best < low_threshold] = -1", "matches[best <= low_threshold] = -1"),
            ("matches[(best >= low_threshold) & (best < high_threshold)] = -2",
             "matches[(best > low_threshold) & (best < high_threshold)] = -2")),
           breaks=(THRESH,), why="a quality equal to the low threshold counts as background"),
    Mutant("match_anchors_codes_swapped", "match_anchors",
           (("matches[best < low_threshold] = -1", "matches[best < low_threshold] = -2"),
            ("& (best < high_threshold)] = -2", "& (best < high_threshold)] = -1")),
           breaks=(THRESH, LOWQ), why="-2 for background and -1 for the ignored band"),
    Mutant("match_anchors_last_on_ties", "match_anchors",
           (("best, matches = quality.max(dim=0)",
             "best, matches = quality.flip(0).max(dim=0)\n    matches = m - 1 - matches"),),
           breaks=(THRESH,), why="takes the last ground truth among equals"),
    Mutant("match_anchors_low_quality_always", "match_anchors",
           (("    if allow_low_quality_matches:\n", "    if True:\n"),),
           breaks=(THRESH,), keeps=(LOWQ,), why="adds the low-quality matches even when not asked to"),
    Mutant("match_anchors_low_quality_gives_the_choosing_gt", "match_anchors",
           (("        _, anchor_idx = torch.nonzero(quality == best_per_gt[:, None], as_tuple=True)\n"
             "        matches[anchor_idx] = original[anchor_idx]",
             "        gt_idx, anchor_idx = torch.nonzero(quality == best_per_gt[:, None], as_tuple=True)\n"
             "        matches[anchor_idx] = gt_idx"),),
           breaks=(LOWQ,), keeps=(THRESH,), why="gives the anchor the ground truth that chose it, not its own best"),
    Mutant("match_anchors_low_quality_one_anchor_per_gt", "match_anchors",
           (("        _, anchor_idx = torch.nonzero(quality == best_per_gt[:, None], as_tuple=True)",
             "        anchor_idx = quality.argmax(dim=1)"),),
           breaks=(LOWQ,), keeps=(THRESH,), why="one best anchor per ground truth: ties dropped"),
    Mutant("match_anchors_low_quality_skips_zero", "match_anchors",
           (("quality == best_per_gt[:, None], as_tuple=True)",
             "(quality == best_per_gt[:, None]) & (quality > 0), as_tuple=True)"),),
           breaks=(LOWQ,), keeps=(THRESH,), why="ignores ground truths that overlap no anchor (torchvision does not)"),
    Mutant("match_anchors_where", "match_anchors",
           (("    matches[best < low_threshold] = -1\n    matches[(best >= low_threshold) & (best < high_threshold)] = -2\n",
             "    matches = torch.where(best >= high_threshold, matches, torch.where(best >= low_threshold, -2, -1))\n"),),
           breaks=(), keeps=(THRESH, LOWQ), why="honest: torch.where instead of masked assignment"),

    # ---------------------------------------------------------------- sample_balanced
    Mutant("sample_balanced_rounds_count", "sample_balanced",
           (("num_pos = min(positive.numel(), int(batch_size * positive_fraction))",
             "num_pos = min(positive.numel(), round(batch_size * positive_fraction))"),),
           breaks=(COUNTS, EXACT), keeps=(RANDOM,), why="rounds batch_size * positive_fraction instead of truncating"),
    Mutant("sample_balanced_negatives_do_not_fill", "sample_balanced",
           (("num_neg = min(negative.numel(), batch_size - num_pos)",
             "num_neg = min(negative.numel(), batch_size - int(batch_size * positive_fraction))"),),
           breaks=(COUNTS, EXACT), why="negatives do not fill up when positives are few"),
    Mutant("sample_balanced_ignored_as_negative", "sample_balanced",
           (("negative = torch.nonzero(labels == 0).flatten()", "negative = torch.nonzero(labels <= 0).flatten()"),),
           breaks=(COUNTS, EXACT), why="draws ignored anchors (-1) as negatives"),
    Mutant("sample_balanced_with_replacement", "sample_balanced",
           (("perm_pos = torch.randperm(positive.numel(), generator=generator)[:num_pos]",
             "perm_pos = torch.randint(positive.numel(), (num_pos,), generator=generator) if num_pos else "
             "torch.zeros(0, dtype=torch.int64)"),),
           breaks=(COUNTS, EXACT), why="draws positives with replacement"),
    Mutant("sample_balanced_first_ones", "sample_balanced",
           (("perm_pos = torch.randperm(positive.numel(), generator=generator)[:num_pos]",
             "perm_pos = torch.arange(positive.numel())[:num_pos]"),
            ("perm_neg = torch.randperm(negative.numel(), generator=generator)[:num_neg]",
             "perm_neg = torch.arange(negative.numel())[:num_neg]")),
           breaks=(RANDOM, EXACT), keeps=(COUNTS,), why="takes the first positives and negatives, no randomness"),
    Mutant("sample_balanced_global_rng", "sample_balanced",
           (("perm_pos = torch.randperm(positive.numel(), generator=generator)[:num_pos]",
             "perm_pos = torch.randperm(positive.numel())[:num_pos]"),
            ("perm_neg = torch.randperm(negative.numel(), generator=generator)[:num_neg]",
             "perm_neg = torch.randperm(negative.numel())[:num_neg]")),
           breaks=(RANDOM, EXACT), keeps=(COUNTS,), why="draws from torch's global generator"),
    Mutant("sample_balanced_negatives_first", "sample_balanced",
           (("    perm_pos = torch.randperm(positive.numel(), generator=generator)[:num_pos]\n"
             "    perm_neg = torch.randperm(negative.numel(), generator=generator)[:num_neg]\n",
             "    perm_neg = torch.randperm(negative.numel(), generator=generator)[:num_neg]\n"
             "    perm_pos = torch.randperm(positive.numel(), generator=generator)[:num_pos]\n"),),
           breaks=(EXACT,), keeps=(COUNTS, RANDOM), why="draws the negatives first: another, equally random, draw"),
    Mutant("sample_balanced_sorted", "sample_balanced",
           (("return positive[perm_pos], negative[perm_neg]",
             "return positive[perm_pos].sort().values, negative[perm_neg].sort().values"),),
           breaks=(EXACT,), keeps=(COUNTS, RANDOM), why="returns the indices sorted, not in the order drawn"),
    Mutant("sample_balanced_where", "sample_balanced",
           (("positive = torch.nonzero(labels >= 1).flatten()", "positive = torch.where(labels >= 1)[0]"),
            ("negative = torch.nonzero(labels == 0).flatten()", "negative = (labels == 0).nonzero().squeeze(1)")),
           breaks=(), keeps=(COUNTS, RANDOM, EXACT), why="honest: torch.where and nonzero().squeeze(1)"),

    # ---------------------------------------------------------------- roi_pool
    Mutant("roi_pool_round_half_even", "roi_pool",
           (("x1, y1, x2, y2 = (int(v) for v in round_half_away(roi[1:].detach() * scale))",
             "x1, y1, x2, y2 = (int(v) for v in torch.round(roi[1:].detach() * scale))"),),
           breaks=(POOL,), why="rounds corners with torch.round (half to even)"),
    Mutant("roi_pool_no_plus_one", "roi_pool",
           (("        roi_h = max(y2 - y1 + 1, 1)\n        roi_w = max(x2 - x1 + 1, 1)\n",
             "        roi_h = max(y2 - y1, 1)\n        roi_w = max(x2 - x1, 1)\n"),),
           breaks=(POOL,), why="drops the inclusive +1 of the legacy convention"),
    Mutant("roi_pool_floor_ends", "roi_pool",
           (("he = min(max(int(torch.ceil((i + 1) * bin_h)) + y1, 0), height)",
             "he = min(max(int(torch.floor((i + 1) * bin_h)) + y1, 0), height)"),
            ("we = min(max(int(torch.ceil((j + 1) * bin_w)) + x1, 0), width)",
             "we = min(max(int(torch.floor((j + 1) * bin_w)) + x1, 0), width)")),
           breaks=(POOL,), why="floors the bin ends: bins stop overlapping and some come out empty"),
    Mutant("roi_pool_empty_bins_minus_inf", "roi_pool",
           (("cols.append(features.new_zeros(channels))", "cols.append(features.new_full((channels,), -1e30))"),),
           breaks=(POOL,), why="an empty bin keeps the maximum's starting value instead of 0"),
    Mutant("roi_pool_first_image", "roi_pool",
           (("b = int(roi[0])", "b = 0"),), breaks=(POOL,), why="ignores the batch index column"),
    Mutant("roi_pool_detached", "roi_pool",
           (("    return torch.stack(out)\n", "    return torch.stack(out).detach()\n"),),
           breaks=(POOL_GRAD,), keeps=(POOL,), why="cuts the output from autograd"),
    Mutant("roi_pool_through_lists", "roi_pool",
           (("cols.append(features[b, :, hs:he, ws:we].reshape(channels, -1).max(dim=1).values)",
             "cols.append(torch.tensor(features[b, :, hs:he, ws:we].reshape(channels, -1).max(dim=1).values.tolist(), "
             "dtype=features.dtype))"),),
           breaks=(POOL_GRAD,), keeps=(POOL,), why="rebuilds each bin from Python floats: no gradient"),
    Mutant("roi_pool_amax", "roi_pool",
           ((".reshape(channels, -1).max(dim=1).values)", ".amax(dim=(1, 2)))"),),
           breaks=(), keeps=(POOL, POOL_GRAD), why="honest: amax over the bin (no ties in the checks)"),

    # ---------------------------------------------------------------- roi_align
    Mutant("roi_align_shift_wrong_way", "roi_align",
           (("offset = 0.5 if aligned else 0.0", "offset = -0.5 if aligned else 0.0"),),
           breaks=(ALIGNED,), keeps=(ALIGN,), why="shifts by +0.5 instead of -0.5"),
    Mutant("roi_align_shift_before_scale", "roi_align",
           (("(roi[1:].detach() * spatial_scale - offset)", "((roi[1:].detach() - offset) * spatial_scale)"),),
           breaks=(ALIGNED,), keeps=(ALIGN,), why="shifts by half an image pixel, before scaling, not half a feature cell"),
    Mutant("roi_align_min_side_always", "roi_align",
           (("        if not aligned:\n            roi_w, roi_h", "        if True:\n            roi_w, roi_h"),),
           breaks=(ALIGNED,), keeps=(ALIGN,), why="forces sides of at least 1 also when aligned"),
    Mutant("roi_align_no_min_side", "roi_align",
           (("        if not aligned:\n            roi_w, roi_h", "        if False:\n            roi_w, roi_h"),),
           breaks=(ALIGN,), keeps=(ALIGNED,), why="no minimum side in the legacy mode"),
    Mutant("roi_align_outside_counts", "roi_align",
           (("        return value * valid\n", "        return value\n"),),
           breaks=(ALIGN, ALIGNED), why="samples beyond -1 or the map's size read the border instead of 0"),
    Mutant("roi_align_adaptive_floor", "roi_align",
           (("int(torch.ceil(roi_h / ph_out))", "max(int(torch.floor(roi_h / ph_out)), 1)"),
            ("int(torch.ceil(roi_w / pw_out))", "max(int(torch.floor(roi_w / pw_out)), 1)")),
           breaks=(ADAPTIVE,), keeps=(ALIGN, ALIGNED), why="floors the adaptive grid size"),
    Mutant("roi_align_adaptive_fixed_two", "roi_align",
           (("gh = sampling_ratio if sampling_ratio > 0 else int(torch.ceil(roi_h / ph_out))",
             "gh = sampling_ratio if sampling_ratio > 0 else 2"),
            ("gw = sampling_ratio if sampling_ratio > 0 else int(torch.ceil(roi_w / pw_out))",
             "gw = sampling_ratio if sampling_ratio > 0 else 2")),
           breaks=(ADAPTIVE,), keeps=(ALIGN, ALIGNED), why="a fixed 2 x 2 grid for sampling_ratio <= 0"),
    Mutant("roi_align_mean_of_valid", "roi_align",
           (("        out.append(values.sum(dim=-1) / count)\n",
             "        n_valid = bilinear(torch.ones_like(features[b][:1]), yy, xx).reshape(1, ph_out, pw_out, -1)\n"
             "        out.append(values.sum(dim=-1) / (n_valid > 0).sum(dim=-1).clamp(min=1))\n"),),
           breaks=(ALIGN, ALIGNED), why="averages over the samples inside the map only"),
    Mutant("roi_align_detached", "roi_align",
           (("    return torch.stack(out)\n", "    return torch.stack(out).detach()\n"),),
           breaks=(ALIGN_GRAD,), keeps=(ALIGN, ALIGNED, ADAPTIVE), why="cuts the output from autograd"),
    Mutant("roi_align_reads_detached_map", "roi_align",
           (("        valid = (y >= -1.0)", "        fmap = fmap.detach()\n        valid = (y >= -1.0)"),),
           breaks=(ALIGN_GRAD,), keeps=(ALIGN,), why="reads the map from a detached copy: no gradient reaches features"),
    Mutant("roi_align_grid_sample", "roi_align",
           (("        values = bilinear(features[b], yy, xx).reshape(channels, ph_out, pw_out, gh * gw)\n",
             "        f = features[b]\n"
             "        valid = ((yy >= -1.0) & (yy <= height) & (xx >= -1.0) & (xx <= width)).to(f.dtype)\n"
             "        yc = yy.clamp(min=0).clamp(max=height - 1)\n"
             "        xc = xx.clamp(min=0).clamp(max=width - 1)\n"
             "        grid = torch.stack([2 * xc / max(width - 1, 1) - 1, 2 * yc / max(height - 1, 1) - 1], dim=-1)\n"
             "        sampled = torch.nn.functional.grid_sample(f[None], grid[None, None], mode='bilinear',\n"
             "                                                  align_corners=True)[0, :, 0]\n"
             "        values = (sampled * valid).reshape(channels, ph_out, pw_out, gh * gw)\n"),),
           breaks=(), keeps=(ALIGN, ALIGNED, ADAPTIVE, ALIGN_GRAD),
           why="honest: the sample points read with F.grid_sample (align_corners=True), clamped as torchvision clamps"),

    # ---- audit
    Mutant("decode_deltas_anchors_dtype_kept", "decode_deltas",
           (("    anchors = anchors.to(deltas.dtype)\n", ""),),
           breaks=(DECODE,), keeps=(CLAMP,), why="does not convert the anchors: float64 anchors make float64 boxes"),
    Mutant("match_anchors_no_anchors_unhandled", "match_anchors",
           (("    if n == 0:\n        return torch.zeros(0, dtype=torch.int64)\n", ""),),
           breaks=(LOWQ,), keeps=(THRESH,), why="no anchors (N = 0): the maximum per ground truth fails"),
    Mutant("roi_pool_bins_in_python_floats", "roi_pool",
           (("bin_h = torch.tensor(roi_h, dtype=features.dtype) / ph_out", "bin_h = torch.tensor(roi_h / ph_out, dtype=torch.float64)"),
            ("bin_w = torch.tensor(roi_w, dtype=features.dtype) / pw_out", "bin_w = torch.tensor(roi_w / pw_out, dtype=torch.float64)")),
           breaks=(POOL,), keeps=(POOL_GRAD,), why="bin sizes in Python floats (float64), not the features' float32"),
]

# the mistakes of the demo's buggy student: the wrong way of rounding and of shifting
DEMO = ("cell_anchors_round_half_up", "roi_align_shift_wrong_way")
