"""Input generators of 26_compression: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

import math

import torch
from hypothesis import strategies as st

from medgrade.common.tensors import seeds, tensor_from_seed


@st.composite
def prune_weight_cases(draw, tied: bool = False, max_numel: int = 120):
    """A weight tensor to prune (1 to 4 dims) and an amount: a float fraction or an int count.
    ``tied``: magnitudes on a coarse grid with many equal values (zeros included); otherwise
    all magnitudes are distinct (the pruned set is then unique)."""
    dims = draw(st.integers(1, 4))
    shape = [draw(st.integers(1, 6)) for _ in range(dims)]
    while math.prod(shape) > max_numel:
        shape[shape.index(max(shape))] -= 1
    n = math.prod(shape)
    if draw(st.booleans()):
        amount = draw(st.one_of(st.sampled_from([0.0, 1.0, 0.5, 0.25, 0.05, 0.95]), st.floats(0.0, 1.0)))
    else:
        amount = draw(st.integers(0, n))
    return {"shape": tuple(shape), "amount": amount, "tied": tied,
            "dtype": draw(st.sampled_from(["float32", "float64"])), "seed": draw(seeds)}


def prune_weight_from_case(shape, seed: int, tied: bool, dtype=torch.float32) -> torch.Tensor:
    """Tie-free: a random permutation of distinct magnitudes with random signs; tied: small
    integers (a third of them repeated at least) divided by 4."""
    g = torch.Generator().manual_seed(int(seed))
    n = math.prod(shape)
    if tied:
        values = torch.randint(-3, 4, (n,), generator=g).to(torch.float64) / 4
    else:
        magnitudes = (torch.randperm(n, generator=g).to(torch.float64) + 1) / n
        signs = torch.randint(0, 2, (n,), generator=g).to(torch.float64) * 2 - 1
        values = magnitudes * signs
    return values.reshape(shape).to(dtype)


@st.composite
def global_prune_cases(draw, tied: bool = False):
    """Several layers' weights (1 to 4 tensors) pruned together, with a float or int amount."""
    layers = draw(st.lists(st.lists(st.integers(1, 5), min_size=1, max_size=3), min_size=1, max_size=4))
    n = sum(math.prod(s) for s in layers)
    amount = draw(st.one_of(st.floats(0.0, 1.0), st.sampled_from([0.0, 1.0, 0.5]), st.integers(0, n)))
    return {"shapes": [tuple(s) for s in layers], "amount": amount, "tied": tied,
            "dtype": draw(st.sampled_from(["float32", "float64"])), "seed": draw(seeds)}


def global_weights_from_case(case) -> list:
    """The layers of a global case; tie-free across all layers together."""
    dtype = torch.float64 if case["dtype"] == "float64" else torch.float32
    sizes = [math.prod(s) for s in case["shapes"]]
    flat = prune_weight_from_case((sum(sizes),), case["seed"], case["tied"], torch.float64)
    out, start = [], 0
    for shape, size in zip(case["shapes"], sizes):
        out.append(flat[start:start + size].reshape(shape).to(dtype))
        start += size
    return out


@st.composite
def conv_pair_cases(draw, max_size: int = 9):
    """conv (in -> out channels) followed by next_conv (out -> next channels), both groups=1,
    with their hyper-parameters (padding_mode too), bias or not, a keep count, and an input
    size that fits (reflect padding needs more input than padding).
    ``ties``: some filters are copies (or sign flips) of others, so L1 norms tie exactly."""
    out = draw(st.integers(1, 8))
    def geometry():
        return {"k": draw(st.integers(1, 3)), "stride": draw(st.integers(1, 2)),
                "padding": draw(st.integers(0, 2)), "dilation": draw(st.integers(1, 2)),
                "bias": draw(st.booleans()),
                "padding_mode": draw(st.sampled_from(["zeros", "zeros", "reflect", "replicate", "circular"]))}
    first, second = geometry(), geometry()

    def after(n, g):
        return (n + 2 * g["padding"] - g["dilation"] * (g["k"] - 1) - 1) // g["stride"] + 1
    size = draw(st.integers(5, max_size))
    while after(after(size, first), second) < 1 or after(size, first) <= second["padding"]:
        size += 1
    return {"in": draw(st.integers(1, 4)), "out": out, "next": draw(st.integers(1, 5)),
            "conv": first, "next_conv": second, "keep": draw(st.integers(1, out)),
            "ties": draw(st.booleans()), "batch": draw(st.integers(1, 3)),
            "size": size, "dtype": draw(st.sampled_from(["float32", "float64"])),
            "seed": draw(seeds)}


def grid_tensor(shape, seed: int, dtype=torch.float32, steps: int = 8) -> torch.Tensor:
    """Values k / steps, k in [-steps, steps]: sums of their magnitudes are exact in float32."""
    g = torch.Generator().manual_seed(int(seed))
    return (torch.randint(-steps, steps + 1, tuple(shape), generator=g).to(torch.float64) / steps).to(dtype)


@st.composite
def qrange_cases(draw, per_channel: bool = False):
    """A real range (or one per channel) to quantize into [qmin, qmax], affine or symmetric;
    degenerate ranges (all zero, one value, one sign) included."""
    qmin, qmax = draw(st.sampled_from([(0, 255), (-128, 127), (0, 15), (-8, 7)]))
    symmetric = qmin < 0 and draw(st.booleans())
    n = draw(st.integers(1, 6)) if per_channel else 1

    def one():
        kind = draw(st.sampled_from(["any", "any", "positive", "negative", "equal", "zero", "tiny"]))
        a, b = draw(st.floats(-50, 50)), draw(st.floats(-50, 50))
        lo, hi = min(a, b), max(a, b)
        if kind == "positive":
            lo, hi = abs(lo) / 2, abs(lo) / 2 + abs(hi)
        elif kind == "negative":
            lo, hi = -abs(lo) - abs(hi), -abs(hi) / 2
        elif kind == "equal":
            hi = lo
        elif kind == "zero":
            lo = hi = 0.0
        elif kind == "tiny":
            lo, hi = lo * 1e-9, hi * 1e-9
        return [lo, hi]
    return {"ranges": [one() for _ in range(n)], "qmin": qmin, "qmax": qmax, "symmetric": symmetric,
            "per_channel": per_channel}


@st.composite
def quantize_cases(draw, per_channel: bool = False):
    """x (float32, 1 to 4 dims), scale(s) and zero point(s) inside [qmin, qmax], an axis for
    per-channel; values spread well beyond the representable range so clamping happens.
    ``halves``: a power-of-two scale and x on its half-steps, so x / scale is exactly k + 1/2."""
    qmin, qmax = draw(st.sampled_from([(0, 255), (-128, 127), (0, 15), (-8, 7)]))
    dims = draw(st.integers(1, 4))
    shape = tuple(draw(st.integers(1, 5)) for _ in range(dims))
    axis = draw(st.integers(0, dims - 1)) if per_channel else None
    channels = shape[axis] if per_channel else 1
    halves = draw(st.booleans())
    scales = [2.0 ** draw(st.integers(-4, 2)) if halves else draw(st.floats(1e-3, 2.0)) for _ in range(channels)]
    zps = [draw(st.integers(qmin, qmax)) for _ in range(channels)]
    return {"shape": shape, "axis": axis, "scales": scales, "zero_points": zps, "qmin": qmin,
            "qmax": qmax, "halves": halves, "spread": draw(st.sampled_from([1.0, 10.0, 300.0])),
            "seed": draw(seeds)}


def quantize_input(case) -> torch.Tensor:
    """x of the case: on half-steps of the (smallest) scale when ``halves``, else uniform."""
    shape, seed = case["shape"], case["seed"]
    if case["halves"]:
        step = min(case["scales"]) / 2
        g = torch.Generator().manual_seed(int(seed))
        k = torch.randint(-600, 601, shape, generator=g).to(torch.float64)
        return (k * step).to(torch.float32)
    return tensor_from_seed(shape, seed, low=-case["spread"], high=case["spread"])


@st.composite
def distillation_cases(draw):
    """Student and teacher logits (N, C), a temperature, a spread (up to 1e4: a softmax without
    the max subtracted overflows), float32 or float64."""
    return {"n": draw(st.integers(1, 6)), "c": draw(st.integers(2, 10)),
            "T": draw(st.one_of(st.sampled_from([1.0, 2.0, 4.0, 0.5, 10.0]), st.floats(0.5, 20.0))),
            "spread": draw(st.sampled_from([1.0, 5.0, 30.0])),
            "dtype": draw(st.sampled_from(["float32", "float64"])), "seed": draw(seeds)}


@st.composite
def mlp_cases(draw):
    """A small MLP (2 or 3 Linear layers, ReLU between) and a batch for dynamic quantization."""
    widths = [draw(st.integers(4, 48)) for _ in range(draw(st.integers(3, 4)))]
    return {"widths": widths, "batch": draw(st.integers(1, 8)), "seed": draw(seeds)}
