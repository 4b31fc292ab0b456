"""Input generators of 07_overfitting: strategies draw small descriptions (a shape, a rate, a loss
curve, a list of augmentations, a seed); tensors are made from the seed, so a counterexample is short
to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds

RATES = (0.1, 0.25, 0.5, 0.75, 0.9)

# shapes of 4,096 to 9,600 elements whose first dim and the rest, and whose last dim and the rest,
# both leave slices of >= 200 elements (see checks._independent)
STAT_SHAPES = ((4096,), (2, 2048), (16, 300), (8, 16, 32), (2, 3, 40, 40), (300, 16), (4, 1, 48, 50))


@st.composite
def dropout_stat_cases(draw):
    """A large input for the statistics of dropout: shape, dtype, rate, seed."""
    return {"shape": draw(st.sampled_from(STAT_SHAPES)), "dtype": draw(st.sampled_from(NORM_DTYPES)),
            "p": draw(st.sampled_from(RATES)), "seed": draw(seeds)}


@st.composite
def dropout_contract_cases(draw):
    """Any shape (none, or an empty dim), a rate in [0, 1] with both ends, a mode, a dtype, a seed."""
    dims = draw(st.integers(0, 4))
    shape = tuple(draw(st.lists(st.integers(0 if dims else 1, 7), min_size=dims, max_size=dims)))
    return {"shape": shape, "dtype": draw(st.sampled_from(NORM_DTYPES)),
            "p": draw(st.sampled_from((0.0, 1.0) + RATES)), "training": draw(st.booleans()),
            "seed": draw(seeds)}


@st.composite
def penalty_cases(draw, min_dims: int = 0):
    """1 to 4 parameter tensors (shapes of min_dims to 3 dims, dtype), a weight decay, a seed."""
    shape = st.lists(st.integers(1, 5), min_size=min_dims, max_size=3).map(tuple)
    shapes = draw(st.lists(shape, min_size=1, max_size=4))
    return {"shapes": shapes, "dtype": draw(st.sampled_from(NORM_DTYPES)),
            "weight_decay": draw(st.sampled_from((0.0, 1e-4, 0.01, 0.1, 0.5))), "seed": draw(seeds)}


@st.composite
def sgd_cases(draw):
    """A small linear regression trained for a few SGD steps with momentum (float64)."""
    momentum = draw(st.sampled_from((0.0, 0.5, 0.9)))
    return {"features": draw(st.integers(1, 5)), "samples": draw(st.integers(2, 8)),
            "steps": draw(st.integers(1, 6)), "lr": draw(st.sampled_from((0.01, 0.05, 0.1))),
            "momentum": momentum, "nesterov": momentum > 0 and draw(st.booleans()),   # Nesterov needs momentum
            "weight_decay": draw(st.sampled_from((0.01, 0.1, 0.5))), "seed": draw(seeds)}


@st.composite
def adam_cases(draw):
    """A parameter tensor, a sequence of 1-6 gradients, Adam's hyper-parameters."""
    shape = tuple(draw(st.lists(st.integers(1, 4), min_size=1, max_size=2)))
    return {"shape": shape, "steps": draw(st.integers(1, 6)),
            "lr": draw(st.sampled_from((1e-3, 0.01, 0.1))),
            "weight_decay": draw(st.sampled_from((0.01, 0.1, 1.0))),
            "betas": draw(st.sampled_from(((0.9, 0.999), (0.8, 0.99), (0.5, 0.9)))),
            "eps": draw(st.sampled_from((1e-8, 1e-3))),
            "scale": draw(st.sampled_from((1.0, 1e-3, 100.0))), "seed": draw(seeds)}


# loss values on a grid of 1/64: every difference and every comparison with min_delta is exact
_GRID = 64


@st.composite
def loss_curves(draw):
    """A validation-loss curve of 1-12 epochs (multiples of 1/64 in [0, 2], sometimes a NaN or a +-inf),
    a patience in 0-4 and a min_delta in {0, 1/64, 2/64, 4/64}."""
    n = draw(st.integers(1, 12))
    values = draw(st.lists(st.integers(0, 2 * _GRID), min_size=n, max_size=n))
    losses = [v / _GRID for v in values]
    if draw(st.integers(0, 5)) == 0:
        losses[draw(st.integers(0, n - 1))] = draw(st.sampled_from((float("nan"), float("inf"), float("-inf"))))
    return {"losses": losses, "patience": draw(st.integers(0, 4)),
            "min_delta": draw(st.sampled_from((0, 1, 2, 4))) / _GRID}


_OPS = ("hflip", "vflip", "rot90", "crop")


@st.composite
def augment_ops(draw, height: int, width: int, n: int):
    """n augmentations, each valid for the image size it meets (rot90 swaps it, a crop shrinks it)."""
    ops = []
    for _ in range(n):
        name = draw(st.sampled_from(_OPS))
        if name == "rot90":
            k = draw(st.integers(-5, 5))
            ops.append(("rot90", k))
            if k % 2:
                height, width = width, height
        elif name == "crop":
            h = draw(st.integers(1, height))
            w = draw(st.integers(1, width))
            top, left = draw(st.integers(0, height - h)), draw(st.integers(0, width - w))
            ops.append(("crop", top, left, h, w))
            height, width = h, w
        else:
            ops.append((name,))
    return ops


@st.composite
def augment_cases(draw, max_ops: int = 1, min_ops: int = 1):
    """An image (channels, height, width; often not square), 0-4 lesions and augmentations."""
    h, w = draw(st.integers(2, 12)), draw(st.integers(2, 12))
    n = draw(st.integers(min_ops, max_ops))
    return {"channels": draw(st.integers(1, 3)), "size": (h, w), "lesions": draw(st.integers(0, 4)),
            "dtype": draw(st.sampled_from(NORM_DTYPES)),
            "ops": draw(augment_ops(h, w, n)), "seed": draw(seeds)}


@st.composite
def restore_curves(draw):
    """Distinct finite losses (min_delta 0) that stop: a curve of 1-8 epochs, then patience + 4 epochs
    above all of them, so the best epoch is the minimum whatever the stop rule's details."""
    n = draw(st.integers(1, 8))
    values = draw(st.lists(st.integers(0, 2 * _GRID), min_size=n, max_size=n, unique=True))
    patience = draw(st.integers(0, 4))
    tail = [3 * _GRID + i for i in range(patience + 4)]
    return {"losses": [v / _GRID for v in values + tail], "patience": patience, "min_delta": 0.0}
