"""Input generators of 06_losses: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import seeds

LOSS_DTYPES = ("float32", "float64")


@st.composite
def cross_entropy_cases(draw, *, spreads=(0.1, 1.0, 5.0, 30.0), offsets=(0.0,), weighted=(False,),
                        ignore_indices=(None,), ignore_fractions=(0.0,), smoothings=(None,),
                        dtypes=LOSS_DTYPES, reductions=("none", "sum", "mean")):
    """A cross-entropy call. Logits (N, C) or (N, C, d1[, d2[, d3]]) are, per position, a shift
    drawn from [-offset, offset] plus spread * U[-1, 1) over the classes; targets are int64 class
    indices. ``weighted``: class weights in [0.1, 3] or none; ``ignore_index``: None (not passed,
    the default -100), an int (-100, -1, 255: outside [0, C)) or a class index ("class"), with a
    fraction of the targets set to it; ``label_smoothing``: None (not passed) or a value in [0, 1]."""
    ndim = draw(st.integers(0, 3))
    shape = (draw(st.integers(1, 4)), draw(st.integers(1, 6))) + tuple(
        draw(st.integers(1, 4)) for _ in range(ndim))
    smoothing = draw(st.sampled_from(smoothings))
    if smoothing == "any":
        smoothing = draw(st.one_of(st.sampled_from([0.0, 0.1, 1.0]), st.floats(0.01, 0.99)))
    return {
        "shape": shape,
        "spread": draw(st.sampled_from(spreads)),
        "offset": draw(st.sampled_from(offsets)),
        "weighted": draw(st.sampled_from(weighted)),
        "ignore_index": draw(st.sampled_from(ignore_indices)),
        "ignore_fraction": draw(st.sampled_from(ignore_fractions)),
        "label_smoothing": smoothing,
        "dtype": draw(st.sampled_from(dtypes)),
        "reduction": draw(st.sampled_from(reductions)),
        "seed": draw(seeds),
    }


OVERLAP_LAYOUTS = ("binary3", "binary4", "onehot", "index")


@st.composite
def overlap_cases(draw, layouts=OVERLAP_LAYOUTS, preds=("soft", "soft", "hard", "empty", "perfect"),
                  smooths=(0.0, 1e-5, 1.0, 10.0), dtypes=LOSS_DTYPES, reductions=("mean", "none"),
                  soft_targets: bool = False):
    """A soft Dice / IoU call on 2-D images.

    layout: "binary3" probs (N, H, W), "binary4" (N, 1, H, W), "onehot" (N, C, H, W) with a
    one-hot target of the same shape, "index" (N, C, H, W) with an int64 target (N, H, W).
    pred: "soft" (sigmoid / softmax of random logits, never 0), "hard" (a random 0/1 mask or
    one-hot map), "empty" (all zeros), "perfect" (the target itself). Binary targets have a
    foreground fraction from 0 (empty) to 1 (full); multi-class targets may miss some classes.
    smooth = 0 only with soft predictions (so no 0 / 0). ``soft_targets``: binary and one-hot
    targets are random values in [0, 1] instead of masks.
    """
    layout = draw(st.sampled_from(layouts))
    pred = draw(st.sampled_from(preds))
    if pred == "empty" and layout in ("onehot", "index"):
        pred = "hard"
    smooth = draw(st.sampled_from(smooths))
    if smooth == 0.0 and pred != "soft":
        smooth = 1.0
    channels = 1 if layout.startswith("binary") else draw(st.integers(2, 4))
    return {
        "layout": layout, "pred": pred, "smooth": smooth,
        "shape": (draw(st.integers(1, 3)), channels, draw(st.integers(1, 8)), draw(st.integers(1, 8))),
        "foreground": draw(st.sampled_from([0.0, 0.1, 0.3, 0.7, 1.0])),
        "classes_present": draw(st.integers(1, channels)),
        "soft_target": soft_targets and layout != "index",
        "bool_target": draw(st.booleans()) and not soft_targets and layout != "index",
        "dtype": draw(st.sampled_from(dtypes)),
        "reduction": draw(st.sampled_from(reductions)),
        "seed": draw(seeds),
    }


@st.composite
def focal_cases(draw, *, spreads=(0.5, 3.0, 20.0), offsets=(0.0,), alphas=None, gammas=None,
                dtypes=LOSS_DTYPES, reductions=("none", "sum", "mean")):
    """A sigmoid focal loss call: logits of any shape (1 to 3 dims) as shift + spread * U[-1, 1),
    0/1 float targets with a positive fraction, alpha in [0, 1] or -1 (off), gamma >= 0."""
    shape = tuple(draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 3))))
    alpha = draw(st.one_of(st.sampled_from([-1.0, 0.0, 0.25, 0.5, 1.0]), st.floats(0.0, 1.0))
                 if alphas is None else st.sampled_from(alphas))
    gamma = draw(st.one_of(st.sampled_from([0.0, 0.5, 1.0, 2.0, 5.0]), st.floats(0.0, 4.0))
                 if gammas is None else st.sampled_from(gammas))
    return {
        "shape": shape,
        "spread": draw(st.sampled_from(spreads)),
        "offset": draw(st.sampled_from(offsets)),
        "positive": draw(st.sampled_from([0.0, 0.1, 0.5, 1.0])),
        "alpha": alpha, "gamma": gamma,
        "dtype": draw(st.sampled_from(dtypes)),
        "reduction": draw(st.sampled_from(reductions)),
        "seed": draw(seeds),
    }


@st.composite
def smooth_l1_cases(draw, *, betas=None, dtypes=LOSS_DTYPES, reductions=("none", "sum", "mean")):
    """A smooth L1 call: input and target of one shape (1 to 3 dims), differences of the
    order of ``spread``, beta >= 0; ``at_beta`` puts some differences exactly at +-beta."""
    shape = tuple(draw(st.integers(1, 6)) for _ in range(draw(st.integers(1, 3))))
    beta = draw(st.one_of(st.sampled_from([1.0, 0.5, 2.0, 1e-3]), st.floats(0.01, 3.0))
                if betas is None else st.sampled_from(betas))
    return {
        "shape": shape,
        "spread": draw(st.sampled_from([0.1, 1.0, 10.0])),
        "beta": beta,
        "at_beta": draw(st.booleans()),
        "dtype": draw(st.sampled_from(dtypes)),
        "reduction": draw(st.sampled_from(reductions)),
        "seed": draw(seeds),
    }
