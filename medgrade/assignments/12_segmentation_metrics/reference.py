"""The references of 12_segmentation_metrics's checks.

Two kinds, and the checks use both: the field's own library, MONAI (``monai.metrics``: DiceMetric's
``compute_dice``, MeanIoU's ``compute_iou``, the confusion-matrix metrics, HausdorffDistanceMetric's
``compute_hausdorff_distance``, SurfaceDistanceMetric's ``compute_average_surface_distance``), which
computes in float32 and has conventions of its own for empty masks (see :func:`monai_overlap`); and
float64 references from NumPy set arithmetic and SciPy (``binary_erosion``,
``distance_transform_edt`` with ``sampling``, ``directed_hausdorff``) that follow the notebook's
conventions exactly. MONAI is imported on first use: it takes seconds, and only this assignment's
checks need it.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import torch
from scipy import ndimage
from scipy.spatial.distance import directed_hausdorff


def _np(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().numpy()


# ---------------------------------------------------------------- overlap metrics (set arithmetic)

def confusion_counts(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> torch.Tensor:
    """[TP, FP, TN, FN] per image and class, one pixel set at a time."""
    p, t = _np(pred).astype(np.int64), _np(target).astype(np.int64)
    out = np.zeros((p.shape[0], num_classes, 4), dtype=np.int64)
    for b in range(p.shape[0]):
        for c in range(num_classes):
            ps, ts = p[b] == c, t[b] == c
            out[b, c] = [np.count_nonzero(ps & ts), np.count_nonzero(ps & ~ts),
                         np.count_nonzero(~ps & ~ts), np.count_nonzero(~ps & ts)]
    return torch.from_numpy(out)


def _ratio(num: np.ndarray, den: np.ndarray, empty: float) -> np.ndarray:
    out = np.full(num.shape, empty, dtype=np.float64)
    np.divide(num, den, out=out, where=den > 0)
    return out


def overlap_metrics(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> dict:
    """The notebook's conventions: Dice and Jaccard are 1 for a class absent from both maps;
    precision, recall and specificity are NaN where their denominator is 0."""
    counts = _np(confusion_counts(pred, target, num_classes)).astype(np.float64)
    tp, fp, tn, fn = np.moveaxis(counts, -1, 0)
    values = {"dice": _ratio(2 * tp, 2 * tp + fp + fn, 1.0), "jaccard": _ratio(tp, tp + fp + fn, 1.0),
              "precision": _ratio(tp, tp + fp, math.nan), "recall": _ratio(tp, tp + fn, math.nan),
              "specificity": _ratio(tn, tn + fp, math.nan)}
    return {k: torch.from_numpy(v) for k, v in values.items()}


def _one_hot(labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """(B, *spatial) labels -> (B, C, *spatial) float32, MONAI's input format."""
    oh = torch.nn.functional.one_hot(labels.long(), num_classes)
    return oh.movedim(-1, 1).float()


def monai_overlap(pred: torch.Tensor, target: torch.Tensor, num_classes: int) -> dict:
    """MONAI's values (float32 promoted to float64). With ``include_background=True`` and
    ``ignore_empty=False`` its Dice and IoU follow the notebook's conventions (1 when both are
    empty); its confusion-matrix metrics give NaN for 0 / 0, as the notebook does. Its defaults
    differ: ``ignore_empty=True`` gives NaN for an empty target, ``include_background=False``
    drops class 0."""
    from monai.metrics import compute_confusion_matrix_metric, compute_dice, compute_iou, get_confusion_matrix
    p, t = _one_hot(pred, num_classes), _one_hot(target, num_classes)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cm = get_confusion_matrix(p, t, include_background=True)
        out = {"dice": compute_dice(p, t, include_background=True, ignore_empty=False),
               "jaccard": compute_iou(p, t, include_background=True, ignore_empty=False),
               "precision": compute_confusion_matrix_metric("precision", cm),
               "recall": compute_confusion_matrix_metric("recall", cm),
               "specificity": compute_confusion_matrix_metric("specificity", cm)}
    return {k: v.double().reshape(pred.shape[0], num_classes) for k, v in out.items()}


def mse(a: torch.Tensor, b: torch.Tensor) -> float:
    """Mean squared error of two masks as 0 / 1 images: the fraction of pixels where they differ."""
    return float(np.mean((_np(a).astype(np.float64) - _np(b).astype(np.float64)) ** 2))


def dice(pred: torch.Tensor, target: torch.Tensor) -> float:
    """The Dice of two bool masks (1 when both are empty)."""
    p, t = _np(pred).astype(bool), _np(target).astype(bool)
    den = p.sum() + t.sum()
    return 1.0 if den == 0 else float(2 * (p & t).sum() / den)


# ---------------------------------------------------------------- boundaries and surface distances

def mask_boundary(mask: torch.Tensor) -> torch.Tensor:
    """The mask's pixels that SciPy's erosion (4-neighbour cross, outside the image = background)
    removes: what MONAI's ``get_mask_edges`` returns without spacing."""
    m = _np(mask).astype(bool)
    return torch.from_numpy(m & ~ndimage.binary_erosion(m, border_value=0))


def surface_distances(a: torch.Tensor, b: torch.Tensor, spacing=(1.0, 1.0)) -> torch.Tensor:
    """For each boundary pixel of ``a`` (row-major), the distance in physical units to the nearest
    boundary pixel of ``b``: SciPy's exact Euclidean distance transform with ``sampling=spacing``."""
    ea, eb = _np(mask_boundary(a)), _np(mask_boundary(b))
    if not ea.any():
        return torch.zeros(0, dtype=torch.float64)
    if not eb.any():
        return torch.full((int(ea.sum()),), math.inf, dtype=torch.float64)
    field = ndimage.distance_transform_edt(~eb, sampling=[float(s) for s in spacing])
    return torch.from_numpy(np.asarray(field, dtype=np.float64)[ea])


def _coords(mask: torch.Tensor, spacing) -> np.ndarray:
    return np.argwhere(_np(mask_boundary(mask))).astype(np.float64) * np.asarray(spacing, dtype=np.float64)


def hausdorff_distance(pred: torch.Tensor, target: torch.Tensor, spacing=(1.0, 1.0),
                       percentile: float = 100.0) -> float:
    """max of the two directed ``percentile``-th percentiles (linear interpolation, NumPy's default);
    0 when both masks are empty, inf when one is."""
    d_pt, d_tp = surface_distances(pred, target, spacing), surface_distances(target, pred, spacing)
    if len(d_pt) == 0 and len(d_tp) == 0:
        return 0.0
    if len(d_pt) == 0 or len(d_tp) == 0:
        return math.inf
    return float(max(np.percentile(d_pt.numpy(), percentile), np.percentile(d_tp.numpy(), percentile)))


def scipy_hausdorff(pred: torch.Tensor, target: torch.Tensor, spacing=(1.0, 1.0)) -> float:
    """The Hausdorff distance of the two boundaries as point sets (both non-empty), by SciPy's
    ``directed_hausdorff`` on the boundary pixels' physical coordinates."""
    u, v = _coords(pred, spacing), _coords(target, spacing)
    return float(max(directed_hausdorff(u, v)[0], directed_hausdorff(v, u)[0]))


def average_surface_distance(pred: torch.Tensor, target: torch.Tensor, spacing=(1.0, 1.0)) -> float:
    """The mean of the distances of both boundaries' pixels to the other boundary, pooled (ASSD)."""
    d = torch.cat([surface_distances(pred, target, spacing), surface_distances(target, pred, spacing)])
    if len(d) == 0:
        return 0.0
    return float(d.mean())


def _monai_pair(pred: torch.Tensor, target: torch.Tensor):
    return pred.bool().float()[None, None], target.bool().float()[None, None]


def monai_hausdorff(pred: torch.Tensor, target: torch.Tensor, spacing=(1.0, 1.0),
                    percentile: float = 100.0) -> float:
    """MONAI's HausdorffDistanceMetric on two bool masks (float32). Both empty gives NaN there;
    one empty gives inf for the maximum and NaN for a percentile (torch.quantile of infinities)."""
    from monai.metrics import compute_hausdorff_distance
    p, t = _monai_pair(pred, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = compute_hausdorff_distance(p, t, include_background=True, spacing=[float(s) for s in spacing],
                                         percentile=None if percentile == 100 else float(percentile))
    return float(out.reshape(()))


def monai_surface_distances(a: torch.Tensor, b: torch.Tensor, spacing=(1.0, 1.0)) -> torch.Tensor:
    """MONAI's directed surface distances from ``a``'s edges to ``b``'s (float32, row-major order
    of ``a``'s edges); both masks non-empty."""
    from monai.metrics.utils import get_edge_surface_distance
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _, (d,), _ = get_edge_surface_distance(a.bool(), b.bool(), spacing=[float(s) for s in spacing],
                                               symmetric=False)
    return torch.as_tensor(d).double()


def monai_average_surface_distance(pred: torch.Tensor, target: torch.Tensor, spacing=(1.0, 1.0)) -> float:
    """MONAI's SurfaceDistanceMetric with ``symmetric=True`` (float32): the pooled mean, as here.
    Both empty gives NaN there, one empty inf."""
    from monai.metrics import compute_average_surface_distance
    p, t = _monai_pair(pred, target)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = compute_average_surface_distance(p, t, include_background=True, symmetric=True,
                                               spacing=[float(s) for s in spacing])
    return float(out.reshape(()))
