"""Known-wrong answers of 12_segmentation_metrics (and honest ones, written differently), as edits of the
solution's answer cells (:mod:`medgrade.mutants`)."""
from medgrade.mutants import Mutant

CC = "confusion_counts_correct"
CC_CONTRACT = "confusion_counts_contract"
DJ = "overlap_metrics_dice_jaccard"
RATES = "overlap_metrics_rates"
MB = "mask_boundary_correct"
SD = "surface_distances_correct"
HD = "hausdorff_distance_correct"
HDQ = "hausdorff_distance_percentile"
ASSD = "average_surface_distance_correct"
PAIR = "misleading_pair_experiment"

MUTANTS = [
    # ---------------------------------------------------------------- confusion_counts
    Mutant("counts_sklearn_order", "confusion_counts",
           (("return torch.stack([tp, fp, tn, fn], dim=-1)", "return torch.stack([tp, fp, fn, tn], dim=-1)"),),
           breaks=(CC,), keeps=(CC_CONTRACT, DJ),
           why="stores [TP, FP, FN, TN] instead of MONAI's [TP, FP, TN, FN]"),
    Mutant("counts_fp_fn_swapped", "confusion_counts",
           (("fp = (p & ~t).sum(dim=1)", "fp = (~p & t).sum(dim=1)"),
            ("fn = (~p & t).sum(dim=1)", "fn = (p & ~t).sum(dim=1)")),
           breaks=(CC,), keeps=(CC_CONTRACT,),
           why="takes the target for the prediction: false positives and false negatives exchanged"),
    Mutant("counts_pooled_over_batch", "confusion_counts",
           (("p, t = pred.flatten(1).long(), target.flatten(1).long()",
             "p = pred.reshape(1, -1).long().expand(pred.shape[0], -1)\n"
             "    t = target.reshape(1, -1).long().expand(target.shape[0], -1)"),),
           breaks=(CC, CC_CONTRACT),
           why="counts the pixels of the whole batch and gives every image the pooled counts"),
    Mutant("counts_no_range_check", "confusion_counts",
           (("    for name, labels in ((\"pred\", p), (\"target\", t)):\n"
             "        if labels.numel() and (labels.min() < 0 or labels.max() >= num_classes):\n"
             "            raise ValueError(f\"{name} holds labels outside [0, {num_classes})\")\n", ""),),
           breaks=(CC_CONTRACT,), keeps=(CC,),
           why="no check of the labels: F.one_hot raises RuntimeError, not ValueError"),
    Mutant("counts_checks_pred_only", "confusion_counts",
           (("for name, labels in ((\"pred\", p), (\"target\", t)):", "for name, labels in ((\"pred\", p),):"),),
           breaks=(CC_CONTRACT,), keeps=(CC,),
           why="checks the prediction's labels and forgets the target's"),
    Mutant("counts_as_floats", "confusion_counts",
           (("return torch.stack([tp, fp, tn, fn], dim=-1)", "return torch.stack([tp, fp, tn, fn], dim=-1).float()"),),
           breaks=(CC_CONTRACT,), keeps=(CC,),
           why="returns the counts as float32"),
    Mutant("counts_labels_not_int64", "confusion_counts",
           (("p, t = pred.flatten(1).long(), target.flatten(1).long()", "p, t = pred.flatten(1), target.flatten(1)"),),
           breaks=(CC, CC_CONTRACT),
           why="keeps the labels' own dtype: F.one_hot of int32 or uint8 labels raises (it wants int64)"),
    # honest: the confusion matrix of each image by bincount
    Mutant("counts_by_bincount", "confusion_counts",
           (("    p = F.one_hot(p, num_classes).bool()           # (B, N, C)\n"
             "    t = F.one_hot(t, num_classes).bool()\n"
             "    tp = (p & t).sum(dim=1)\n"
             "    fp = (p & ~t).sum(dim=1)\n"
             "    fn = (~p & t).sum(dim=1)\n"
             "    tn = p.shape[1] - tp - fp - fn\n",
             "    pairs = p * num_classes + t + (torch.arange(p.shape[0])[:, None] * num_classes ** 2)\n"
             "    cm = torch.bincount(pairs.flatten(), minlength=p.shape[0] * num_classes ** 2)\n"
             "    cm = cm.reshape(p.shape[0], num_classes, num_classes)      # [b, predicted, true]\n"
             "    tp = cm.diagonal(dim1=1, dim2=2)\n"
             "    fp = cm.sum(dim=2) - tp\n"
             "    fn = cm.sum(dim=1) - tp\n"
             "    tn = p.shape[1] - tp - fp - fn\n"),),
           breaks=(), keeps=(CC, CC_CONTRACT),
           why="honest: each image's C x C confusion matrix from torch.bincount"),

    # ---------------------------------------------------------------- overlap_metrics
    Mutant("overlap_empty_dice_zero", "overlap_metrics",
           (("\"dice\": ratio(2 * tp, 2 * tp + fp + fn, 1.0)", "\"dice\": ratio(2 * tp, 2 * tp + fp + fn, 0.0)"),
            ("\"jaccard\": ratio(tp, tp + fp + fn, 1.0)", "\"jaccard\": ratio(tp, tp + fp + fn, 0.0)")),
           breaks=(DJ,), keeps=(RATES,),
           why="Dice and Jaccard 0 for a class absent from both maps"),
    Mutant("overlap_empty_dice_nan", "overlap_metrics",
           (("\"dice\": ratio(2 * tp, 2 * tp + fp + fn, 1.0)", "\"dice\": ratio(2 * tp, 2 * tp + fp + fn, math.nan)"),
            ("\"jaccard\": ratio(tp, tp + fp + fn, 1.0)", "\"jaccard\": ratio(tp, tp + fp + fn, math.nan)")),
           breaks=(DJ,), keeps=(RATES,),
           why="NaN for a class absent from both maps (MONAI's ignore_empty)"),
    Mutant("overlap_smoothed_dice", "overlap_metrics",
           (("\"dice\": ratio(2 * tp, 2 * tp + fp + fn, 1.0)", "\"dice\": (2 * tp + 1) / (2 * tp + fp + fn + 1)"),
            ("\"jaccard\": ratio(tp, tp + fp + fn, 1.0)", "\"jaccard\": (tp + 1) / (tp + fp + fn + 1)")),
           breaks=(DJ,), keeps=(RATES,),
           why="the soft-Dice loss's smoothing term (+1) carried over into the metric"),
    Mutant("overlap_jaccard_over_all_pixels", "overlap_metrics",
           (("\"jaccard\": ratio(tp, tp + fp + fn, 1.0)", "\"jaccard\": ratio(tp, tp + fp + fn + tn, 1.0)"),),
           breaks=(DJ,), keeps=(RATES,),
           why="divides the intersection by every pixel instead of the union"),
    Mutant("overlap_float32", "overlap_metrics",
           ((".double().unbind(dim=-1)", ".float().unbind(dim=-1)"),),
           breaks=(DJ, RATES),
           why="computes the metrics in float32"),
    Mutant("overlap_precision_recall_swapped", "overlap_metrics",
           (("\"precision\": ratio(tp, tp + fp, math.nan)", "\"precision\": ratio(tp, tp + fn, math.nan)"),
            ("\"recall\": ratio(tp, tp + fn, math.nan)", "\"recall\": ratio(tp, tp + fp, math.nan)")),
           breaks=(RATES,), keeps=(DJ,),
           why="precision and recall exchanged"),
    Mutant("overlap_undefined_is_zero", "overlap_metrics",
           (("\"precision\": ratio(tp, tp + fp, math.nan)", "\"precision\": ratio(tp, tp + fp, 0.0)"),
            ("\"recall\": ratio(tp, tp + fn, math.nan)", "\"recall\": ratio(tp, tp + fn, 0.0)"),
            ("\"specificity\": ratio(tn, tn + fp, math.nan)", "\"specificity\": ratio(tn, tn + fp, 0.0)")),
           breaks=(RATES,), keeps=(DJ,),
           why="0 where precision, recall or specificity is undefined (scikit-learn's zero_division=0)"),
    Mutant("overlap_specificity_is_npv", "overlap_metrics",
           (("\"specificity\": ratio(tn, tn + fp, math.nan)", "\"specificity\": ratio(tn, tn + fn, math.nan)"),),
           breaks=(RATES,), keeps=(DJ,),
           why="specificity as TN / (TN + FN), the negative predictive value"),
    Mutant("overlap_undefined_is_one", "overlap_metrics",
           (("\"precision\": ratio(tp, tp + fp, math.nan)", "\"precision\": ratio(tp, tp + fp, 1.0)"),
            ("\"recall\": ratio(tp, tp + fn, math.nan)", "\"recall\": ratio(tp, tp + fn, 1.0)")),
           breaks=(RATES,), keeps=(DJ,),
           why="1 where precision or recall is undefined"),
    # honest: Dice from Jaccard, no helper for the zero denominators
    Mutant("overlap_dice_from_jaccard", "overlap_metrics",
           (("    return {\"dice\": ratio(2 * tp, 2 * tp + fp + fn, 1.0),\n"
             "            \"jaccard\": ratio(tp, tp + fp + fn, 1.0),\n",
             "    union = tp + fp + fn\n"
             "    jaccard = torch.ones_like(tp)\n"
             "    jaccard[union > 0] = tp[union > 0] / union[union > 0]\n"
             "    return {\"dice\": 2 * jaccard / (1 + jaccard),\n"
             "            \"jaccard\": jaccard,\n"),),
           breaks=(), keeps=(DJ, RATES),
           why="honest: the Jaccard index by masked division, the Dice as 2J / (1 + J)"),

    # ---------------------------------------------------------------- mask_boundary
    Mutant("boundary_eight_neighbours", "mask_boundary",
           (("& padded[1:-1, :-2] & padded[1:-1, 2:])", "& padded[1:-1, :-2] & padded[1:-1, 2:]\n"
             "                & padded[:-2, :-2] & padded[:-2, 2:] & padded[2:, :-2] & padded[2:, 2:])"),),
           breaks=(MB,),
           why="a pixel with a diagonal neighbour outside is boundary too (8-neighbourhood)"),
    Mutant("boundary_edge_inside", "mask_boundary",
           (("padded = F.pad(mask, (1, 1, 1, 1), value=False)", "padded = F.pad(mask, (1, 1, 1, 1), value=True)"),),
           breaks=(MB,), keeps=(SD,),
           why="counts the pixels beyond the image's edge as inside the mask"),
    Mutant("boundary_outer", "mask_boundary",
           (("    return mask & ~interior\n",
             "    grown = (padded[:-2, 1:-1] | padded[2:, 1:-1] | padded[1:-1, :-2] | padded[1:-1, 2:])\n"
             "    return grown & ~mask\n"),),
           breaks=(MB,),
           why="the background pixels next to the mask (the outer contour) instead of the mask's own"),
    Mutant("boundary_whole_mask", "mask_boundary",
           (("    return mask & ~interior\n", "    return mask.clone()\n"),),
           breaks=(MB,),
           why="every pixel of the mask"),
    # honest: SciPy's erosion
    Mutant("boundary_by_scipy_erosion", "mask_boundary",
           (("    padded = F.pad(mask, (1, 1, 1, 1), value=False)            # outside the image: background\n"
             "    interior = (padded[:-2, 1:-1] & padded[2:, 1:-1]            # the pixels above and below\n"
             "                & padded[1:-1, :-2] & padded[1:-1, 2:])         # left and right\n",
             "    from scipy import ndimage\n"
             "    interior = torch.from_numpy(ndimage.binary_erosion(mask.numpy()))\n"),),
           breaks=(), keeps=(MB,),
           why="honest: scipy.ndimage.binary_erosion with its defaults"),

    # ---------------------------------------------------------------- surface_distances
    Mutant("distances_spacing_swapped", "surface_distances",
           (("scale = torch.tensor([float(s) for s in spacing], dtype=torch.float64)",
             "scale = torch.tensor([float(s) for s in reversed(spacing)], dtype=torch.float64)"),),
           breaks=(SD,), keeps=(HD, ASSD),
           why="takes the spacing as (sx, sy)"),
    Mutant("distances_in_pixels", "surface_distances",
           (("pa = torch.nonzero(mask_boundary(a)).double() * scale", "pa = torch.nonzero(mask_boundary(a)).double()"),
            ("pb = torch.nonzero(mask_boundary(b)).double() * scale", "pb = torch.nonzero(mask_boundary(b)).double()")),
           breaks=(SD,),
           why="distances in pixels: the spacing is ignored"),
    Mutant("distances_to_the_mask", "surface_distances",
           (("pb = torch.nonzero(mask_boundary(b)).double() * scale", "pb = torch.nonzero(b).double() * scale"),),
           breaks=(SD,),
           why="the distance to the nearest pixel of b, not of b's boundary: 0 inside b"),
    Mutant("distances_from_the_mask", "surface_distances",
           (("pa = torch.nonzero(mask_boundary(a)).double() * scale", "pa = torch.nonzero(a).double() * scale"),),
           breaks=(SD,),
           why="one distance per pixel of a, not per boundary pixel"),
    Mutant("distances_empty_b_crashes", "surface_distances",
           (("    if len(pb) == 0:\n        return torch.full((len(pa),), math.inf, dtype=torch.float64)\n", ""),),
           breaks=(SD,),
           why="no case for an empty b: the minimum over no pixel raises"),
    # honest: a distance transform; cdist's default (matrix-product) mode
    Mutant("distances_by_edt", "surface_distances",
           (("    pairwise = torch.cdist(pa, pb, compute_mode=\"donot_use_mm_for_euclid_dist\")\n"
             "    return pairwise.min(dim=1).values\n",
             "    from scipy import ndimage\n"
             "    field = ndimage.distance_transform_edt(~mask_boundary(b).numpy(), sampling=[float(s) for s in spacing])\n"
             "    return torch.from_numpy(field)[mask_boundary(a)].double()\n"),),
           breaks=(), keeps=(SD,),
           why="honest: SciPy's exact distance transform of b's boundary, read at a's boundary"),
    Mutant("distances_cdist_default_mode", "surface_distances",
           (("torch.cdist(pa, pb, compute_mode=\"donot_use_mm_for_euclid_dist\")", "torch.cdist(pa, pb)"),),
           breaks=(), keeps=(SD,),
           why="honest: torch.cdist's default mode, |a|^2 + |b|^2 - 2ab by a matrix product (rounding near 0)"),

    # ---------------------------------------------------------------- hausdorff_distance
    Mutant("hd_directed", "hausdorff_distance",
           (("return max(torch.quantile(d_pt, q).item(), torch.quantile(d_tp, q).item())",
             "return torch.quantile(d_pt, q).item()"),),
           breaks=(HD, HDQ),
           why="only the direction from pred to target"),
    Mutant("hd_min_of_directions", "hausdorff_distance",
           (("return max(torch.quantile(d_pt, q).item(), torch.quantile(d_tp, q).item())",
             "return min(torch.quantile(d_pt, q).item(), torch.quantile(d_tp, q).item())"),),
           breaks=(HD, HDQ),
           why="the smaller of the two directed distances"),
    Mutant("hd_both_empty_nan", "hausdorff_distance",
           (("    if len(d_pt) == 0 and len(d_tp) == 0:\n        return 0.0\n",
             "    if len(d_pt) == 0 and len(d_tp) == 0:\n        return math.nan\n"),),
           breaks=(HD, HDQ),
           why="NaN for two empty masks (MONAI's convention)"),
    Mutant("hd_mean_of_directions", "hausdorff_distance",
           (("return max(torch.quantile(d_pt, q).item(), torch.quantile(d_tp, q).item())",
             "return (torch.quantile(d_pt, q).item() + torch.quantile(d_tp, q).item()) / 2"),),
           breaks=(HD, HDQ),
           why="averages the two directed distances"),
    Mutant("hd_pooled_percentile", "hausdorff_distance",
           (("return max(torch.quantile(d_pt, q).item(), torch.quantile(d_tp, q).item())",
             "return torch.quantile(torch.cat([d_pt, d_tp]), q).item()"),),
           breaks=(HDQ,), keeps=(HD,),
           why="the percentile of both directions' distances pooled"),
    Mutant("hd_nearest_rank", "hausdorff_distance",
           (("return max(torch.quantile(d_pt, q).item(), torch.quantile(d_tp, q).item())",
             "return max(torch.quantile(d_pt, q, interpolation=\"higher\").item(),\n"
             "               torch.quantile(d_tp, q, interpolation=\"higher\").item())"),),
           breaks=(HDQ,), keeps=(HD,),
           why="the percentile by rank (the next value up), without interpolation"),
    Mutant("hd_quantile_of_infinities", "hausdorff_distance",
           (("    if len(d_pt) == 0 or len(d_tp) == 0:\n        return math.inf\n",
             "    if len(d_pt) == 0 or len(d_tp) == 0:\n"
             "        return max(torch.quantile(d, q).item() for d in (d_pt, d_tp) if len(d))\n"),),
           breaks=(HDQ,),
           why="one empty mask: the percentile of infinite distances, NaN below 100 (what MONAI returns)"),
    Mutant("hd_no_range_check", "hausdorff_distance",
           (("    if not 0 <= percentile <= 100:\n"
             "        raise ValueError(f\"percentile must be in [0, 100], got {percentile}\")\n", ""),),
           breaks=(HDQ,), keeps=(HD,),
           why="no check of the percentile (torch.quantile raises RuntimeError)"),
    # honest: NumPy's percentile of each direction
    Mutant("hd_numpy_percentile", "hausdorff_distance",
           (("    q = percentile / 100\n"
             "    return max(torch.quantile(d_pt, q).item(), torch.quantile(d_tp, q).item())\n",
             "    import numpy as np\n"
             "    return float(max(np.percentile(d_pt.numpy(), percentile), np.percentile(d_tp.numpy(), percentile)))\n"),),
           breaks=(), keeps=(HD, HDQ),
           why="honest: numpy.percentile of each direction"),

    # ---------------------------------------------------------------- average_surface_distance
    Mutant("assd_mean_of_means", "average_surface_distance",
           (("    both = torch.cat([surface_distances(pred, target, spacing), surface_distances(target, pred, spacing)])\n"
             "    if len(both) == 0:\n        return 0.0\n    return both.mean().item()\n",
             "    d1, d2 = surface_distances(pred, target, spacing), surface_distances(target, pred, spacing)\n"
             "    if len(d1) == 0 and len(d2) == 0:\n        return 0.0\n"
             "    if len(d1) == 0 or len(d2) == 0:\n        return math.inf\n"
             "    return (d1.mean().item() + d2.mean().item()) / 2\n"),),
           breaks=(ASSD,),
           why="the mean of the two directed means, not the pooled mean"),
    Mutant("assd_directed", "average_surface_distance",
           (("    both = torch.cat([surface_distances(pred, target, spacing), surface_distances(target, pred, spacing)])\n",
             "    both = torch.cat([surface_distances(pred, target, spacing), surface_distances(target, pred, spacing)[:0]])\n"),),
           breaks=(ASSD,),
           why="only the distances from pred to target (MONAI's default symmetric=False)"),
    Mutant("assd_both_empty_nan", "average_surface_distance",
           (("    if len(both) == 0:\n        return 0.0\n", ""),),
           breaks=(ASSD,),
           why="the mean of no distance: NaN for two empty masks"),
    # honest: sums and counts
    Mutant("assd_sums_over_counts", "average_surface_distance",
           (("    both = torch.cat([surface_distances(pred, target, spacing), surface_distances(target, pred, spacing)])\n"
             "    if len(both) == 0:\n        return 0.0\n    return both.mean().item()\n",
             "    d1, d2 = surface_distances(pred, target, spacing), surface_distances(target, pred, spacing)\n"
             "    n = len(d1) + len(d2)\n"
             "    return 0.0 if n == 0 else float((d1.sum() + d2.sum()) / n)\n"),),
           breaks=(), keeps=(ASSD,),
           why="honest: the two sums over the two counts"),

    # ---------------------------------------------------------------- misleading_pair
    Mutant("pair_swapped", "misleading_pair",
           (("    return a, b\n", "    return b, a\n"),),
           breaks=(PAIR,),
           why="returns the pair the other way round"),
    Mutant("pair_one_ring", "misleading_pair",
           (("    while int((b & ~truth).sum()) <= int(truth.sum()) + 1:\n", "    for _ in range(1):\n"),),
           breaks=(PAIR,),
           why="grows the lesion by one ring: for a larger lesion that adds fewer pixels than a misses"),
    Mutant("pair_empty_a", "misleading_pair",
           (("    a.view(-1)[far] = True\n", ""),),
           breaks=(PAIR,),
           why="an empty prediction for a"),
    Mutant("pair_b_exact", "misleading_pair",
           (("    while int((b & ~truth).sum()) <= int(truth.sum()) + 1:\n", "    while False:\n"),),
           breaks=(PAIR,),
           why="b is the lesion itself: a perfect prediction has MSE 0"),
    Mutant("pair_a_fixed_corner", "misleading_pair",
           (("    a.view(-1)[far] = True\n", "    a[0, 0] = True\n"),),
           breaks=(PAIR,),
           why="a is always the top-left pixel, which may lie on the lesion"),
    # honest: a far pixel by distance to the centre, b a grown box
    Mutant("pair_box", "misleading_pair",
           (("    b = truth.clone()\n"
             "    while int((b & ~truth).sum()) <= int(truth.sum()) + 1:\n"
             "        b = F.max_pool2d(b[None, None].float(), 3, stride=1, padding=1)[0, 0].bool()\n",
             "    ys, xs = torch.nonzero(truth, as_tuple=True)\n"
             "    r = 0\n"
             "    while True:\n"
             "        r += 1\n"
             "        b = torch.zeros_like(truth)\n"
             "        b[max(0, int(ys.min()) - r):int(ys.max()) + r + 1, max(0, int(xs.min()) - r):int(xs.max()) + r + 1] = True\n"
             "        if int((b & ~truth).sum()) > int(truth.sum()) + 1:\n"
             "            break\n"),),
           breaks=(), keeps=(PAIR,),
           why="honest: b is the lesion's bounding box, grown until it has enough extra pixels"),
]

# ---- audit
_HD_RANGE_CHECK = ("    if not 0 <= percentile <= 100:\n"
                   "        raise ValueError(f\"percentile must be in [0, 100], got {percentile}\")\n")
_HD_EMPTY_CASES = ("    if len(d_pt) == 0 and len(d_tp) == 0:\n        return 0.0\n"
                   "    if len(d_pt) == 0 or len(d_tp) == 0:\n        return math.inf\n")
_HD_QUANTILES = ("    q = percentile / 100\n"
                 "    return max(torch.quantile(d_pt, q).item(), torch.quantile(d_tp, q).item())\n")
_BOUNDARY_POINTS = ("        s = np.array([float(x) for x in spacing])\n"             # inside an if
                    "        u = np.ascontiguousarray(np.argwhere(mask_boundary(pred).numpy()) * s)\n"
                    "        v = np.ascontiguousarray(np.argwhere(mask_boundary(target).numpy()) * s)\n")

MUTANTS += [
    Mutant("hd_scipy_compiled_module", "hausdorff_distance",
           ((_HD_QUANTILES,
             "    if percentile == 100:\n"
             "        from scipy.spatial import _hausdorff\n" + _BOUNDARY_POINTS +
             "        return max(_hausdorff.directed_hausdorff(u, v, 0)[0], _hausdorff.directed_hausdorff(v, u, 0)[0])\n"
             + _HD_QUANTILES),),
           breaks=(HD,),
           why="hostile: SciPy's compiled directed_hausdorff, imported from its private module past the wrapper"),
    Mutant("hd_scipy_compiled_bound_before", "hausdorff_distance",
           (("def hausdorff_distance(pred: torch.Tensor,",
             "from scipy.spatial._hausdorff import directed_hausdorff as _directed\n\n\n"
             "def hausdorff_distance(pred: torch.Tensor,"),
            (_HD_QUANTILES,
             "    if percentile == 100:\n" + _BOUNDARY_POINTS +
             "        return max(_directed(u, v, 0)[0], _directed(v, u, 0)[0])\n" + _HD_QUANTILES)),
           breaks=(HD,),
           why="hostile: the compiled directed_hausdorff bound to a name when the cell runs, before any call"),
    Mutant("hd_skimage_hausdorff", "hausdorff_distance",
           ((_HD_QUANTILES,
             "    if percentile == 100 and tuple(spacing) == (1.0, 1.0):\n"
             "        from skimage.metrics import hausdorff_distance as library_hd\n"
             "        return float(library_hd(mask_boundary(pred).numpy(), mask_boundary(target).numpy()))\n"
             + _HD_QUANTILES),),
           breaks=(HD,),
           why="hostile: scikit-image's hausdorff_distance of the two boundaries (in pixels)"),
    Mutant("hd_percentile_as_fraction", "hausdorff_distance",
           (("    q = percentile / 100\n", "    q = percentile if 0 < percentile <= 1 else percentile / 100\n"),),
           breaks=(HDQ,), keeps=(HD,),
           why="reads a percentile of at most 1 as a fraction (0.95 for HD95): q = 1 gives the maximum"),
    Mutant("hd_empty_before_range_check", "hausdorff_distance",
           ((_HD_RANGE_CHECK, ""),
            (_HD_EMPTY_CASES, _HD_EMPTY_CASES + _HD_RANGE_CHECK)),
           breaks=(HDQ,), keeps=(HD,),
           why="answers 0 / inf for empty masks before checking the percentile: no ValueError there"),
    Mutant("overlap_clamps_labels", "overlap_metrics",
           (("    tp, fp, tn, fn = confusion_counts(pred, target, num_classes)",
             "    pred, target = pred.long().clamp(0, num_classes - 1), target.long().clamp(0, num_classes - 1)\n"
             "    tp, fp, tn, fn = confusion_counts(pred, target, num_classes)"),),
           breaks=(DJ,), keeps=(RATES,),
           why="clamps labels into [0, C) instead of letting confusion_counts refuse them"),
    Mutant("pair_a_at_centre", "misleading_pair",
           (("    a.view(-1)[far] = True\n", "    a[h // 2, w // 2] = True\n"),),
           breaks=(PAIR,),
           why="a is always the centre pixel, which a lesion in the middle covers"),
    Mutant("pair_a_top_right", "misleading_pair",
           (("    a.view(-1)[far] = True\n", "    a[0, w - 1] = True\n"),),
           breaks=(PAIR,),
           why="a is always the top-right pixel, which a lesion in that corner covers"),
    # honest: the whole image for b; SciPy's cKDTree; a boundary by convolution; HD by distance transforms
    Mutant("pair_b_whole_image", "misleading_pair",
           (("    return a, b\n", "    return a, torch.ones_like(truth)\n"),),
           breaks=(), keeps=(PAIR,),
           why="honest: b marks the whole image (Dice above 0, HD95 below the far pixel's, many wrong pixels)"),
    Mutant("distances_by_kdtree", "surface_distances",
           (("    pairwise = torch.cdist(pa, pb, compute_mode=\"donot_use_mm_for_euclid_dist\")\n"
             "    return pairwise.min(dim=1).values\n",
             "    from scipy.spatial import cKDTree\n"
             "    return torch.from_numpy(cKDTree(pb.numpy()).query(pa.numpy())[0]).double()\n"),),
           breaks=(), keeps=(SD,),
           why="honest: nearest boundary pixels by SciPy's cKDTree (not refused with the Hausdorff functions)"),
    Mutant("boundary_by_conv_cross", "mask_boundary",
           (("    padded = F.pad(mask, (1, 1, 1, 1), value=False)            # outside the image: background\n"
             "    interior = (padded[:-2, 1:-1] & padded[2:, 1:-1]            # the pixels above and below\n"
             "                & padded[1:-1, :-2] & padded[1:-1, 2:])         # left and right\n",
             "    cross = torch.tensor([[0.0, 1.0, 0.0], [1.0, 1.0, 1.0], [0.0, 1.0, 0.0]])[None, None]\n"
             "    interior = F.conv2d(mask.float()[None, None], cross, padding=1)[0, 0] == 5\n"),),
           breaks=(), keeps=(MB,),
           why="honest: a pixel is interior when a 3 x 3 cross, zero-padded, sums to 5"),
    Mutant("hd_by_distance_transforms", "hausdorff_distance",
           ((_HD_QUANTILES,
             "    from scipy import ndimage\n"
             "    edge_p, edge_t = mask_boundary(pred).numpy(), mask_boundary(target).numpy()\n"
             "    sampling = [float(s) for s in spacing]\n"
             "    to_t = ndimage.distance_transform_edt(~edge_t, sampling=sampling)[edge_p]\n"
             "    to_p = ndimage.distance_transform_edt(~edge_p, sampling=sampling)[edge_t]\n"
             "    return float(max(np.percentile(to_t, percentile), np.percentile(to_p, percentile)))\n"),),
           breaks=(), keeps=(HD, HDQ),
           why="honest: both directions from SciPy's distance transforms, numpy.percentile"),
]

# the mistakes of the demo's buggy student: each costs one aspect and leaves the rest
DEMO = ("overlap_empty_dice_zero", "hd_pooled_percentile")
