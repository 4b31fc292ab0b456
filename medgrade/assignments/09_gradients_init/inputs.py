"""Input generators of 09_gradients_init: strategies draw small descriptions (a shape, a dtype, a
mode, a seed); tensors and networks are made from the seed, so a counterexample is short to print
and exact to replay."""
from __future__ import annotations

import math

from hypothesis import strategies as st

from medgrade.common.tensors import NORM_DTYPES, seeds

NONLINEARITIES = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")


@st.composite
def weight_shapes(draw, min_dims: int = 2, max_dims: int = 5, max_side: int = 7):
    """The shape of a weight: (out, in) for a linear layer, (out, in, k...) for a convolution."""
    dims = draw(st.integers(min_dims, max_dims))
    return tuple(draw(st.lists(st.integers(1, max_side), min_size=dims, max_size=dims)))


@st.composite
def gain_cases(draw):
    nonlinearity = draw(st.sampled_from(NONLINEARITIES))
    param = None
    if nonlinearity == "leaky_relu":
        param = draw(st.one_of(st.none(), st.integers(0, 5), st.floats(0.0, 3.0)))
    return {"nonlinearity": nonlinearity, "param": param}


@st.composite
def init_cases(draw, kind: str):
    """A weight large enough for its statistics (8,192 to 40,000 values) and the init's options."""
    out_c = draw(st.integers(4, 200))
    ks = draw(st.sampled_from([(), (3,), (3, 3), (5, 5), (1, 1), (3, 3, 3)]))
    receptive = math.prod(ks)
    low = max(1, -(-8192 // (out_c * receptive)))
    high = max(low, 40000 // (out_c * receptive))
    in_c = draw(st.integers(low, high))
    case = {"shape": (out_c, in_c, *ks), "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}
    if kind.startswith("xavier"):
        case["gain"] = draw(st.sampled_from([1.0, 0.5, 2.0, 5 / 3, math.sqrt(2)]))
    else:
        case["mode"] = draw(st.sampled_from(["fan_in", "fan_out"]))
        case["nonlinearity"] = draw(st.sampled_from(["relu", "leaky_relu", "tanh", "linear", "selu",
                                                     "sigmoid", "conv2d"]))
        case["a"] = draw(st.sampled_from([0.0, 0.01, 0.2, 0.5, 1.0, 3.0]))
    return case


@st.composite
def mlp_cases(draw):
    """A small MLP (nn.Sequential of nn.Linear, maybe nn.LayerNorm, and an activation), a batch and a loss."""
    depth = draw(st.integers(1, 6))
    widths = draw(st.lists(st.integers(1, 12), min_size=depth + 1, max_size=depth + 1))
    return {"widths": widths,
            "activation": draw(st.sampled_from(["sigmoid", "relu", "tanh"])),
            "bias": draw(st.booleans()),
            "nested": draw(st.booleans()),
            "norm": draw(st.booleans()),
            "batch": draw(st.integers(1, 8)),
            "loss": draw(st.sampled_from(["mse", "l1"])),
            "stale": draw(st.sampled_from([0.0, 1.0, -3.0])),
            "seed": draw(seeds)}


@st.composite
def clip_cases(draw, missing: bool = False):
    """Gradients (some tensors without one when ``missing``), a norm type, and max_norm as a
    multiple of the total norm kept away from 1 (clipped or not, never on the edge)."""
    n = draw(st.integers(1, 5))
    shapes = [tuple(draw(st.lists(st.integers(1, 6), min_size=0, max_size=3))) for _ in range(n)]
    has = [draw(st.booleans()) if missing else True for _ in range(n)]
    ratio = draw(st.one_of(st.floats(0.05, 0.95), st.floats(1.05, 20.0)))
    return {"shapes": shapes, "has_grad": has,
            "norm_type": draw(st.sampled_from([2.0, 1.0, 3.0, 0.5, 4.5, math.inf])),
            "ratio": ratio, "scale": draw(st.sampled_from([1e-3, 1.0, 1e3])),
            "dtype": draw(st.sampled_from(NORM_DTYPES)), "seed": draw(seeds)}
