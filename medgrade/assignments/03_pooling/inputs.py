"""Input generators of 03_pooling: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

import torch
from hypothesis import strategies as st

from medgrade.common.tensors import norm_dtype, seeds

POOL_VALUES = ("uniform", "negative", "ties", "plateaus", "constant")


def pool_windows(n: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's number of pooling windows along one dimension, or 0 when PyTorch would
    reject the arguments or when some window holds padding only (possible with dilation)."""
    if k < 1 or s < 1 or d < 1 or p < 0 or p > k // 2 or n < 1:
        return 0
    span = d * (k - 1) + 1
    if ceil_mode:
        out = -(-(n + 2 * p - span) // s) + 1
        if (out - 1) * s >= n + p:          # the last window must start inside the input or the left padding
            out -= 1
    else:
        out = (n + 2 * p - span) // s + 1
    if out < 1:
        return 0
    for i in range(out):
        if not any(0 <= i * s - p + j * d < n for j in range(k)):
            return 0
    return out


@st.composite
def pool_geometry(draw, max_n: int = 24, max_k: int = 6, max_s: int = 5, max_d: int = 3, ceil=None):
    """One dimension of a pooling call (n, k, s, p, d, ceil_mode) that PyTorch accepts and
    where every window holds at least one input element."""
    k = draw(st.integers(1, max_k))
    s = draw(st.integers(1, max_s))
    p = draw(st.integers(0, k // 2))
    d = draw(st.integers(1, max_d))
    ceil_mode = draw(st.booleans()) if ceil is None else ceil
    low = max(1, d * (k - 1) + 1 - 2 * p)
    n = draw(st.integers(low, max(low, max_n)))
    if pool_windows(n, k, s, p, d, ceil_mode) == 0:
        d = 1                                   # dilation left a window in the padding: drop it
    return {"n": n, "k": k, "s": s, "p": p, "d": d, "ceil_mode": ceil_mode}


@st.composite
def pool_size_arguments(draw):
    """(n, k, s, p, d, ceil_mode) for an output-size rule, valid or not: padding above half
    the kernel, windows that do not fit, and zero or negative sizes, strides, dilations."""
    return {"n": draw(st.integers(1, 16)), "k": draw(st.integers(-1, 6)), "s": draw(st.integers(0, 5)),
            "p": draw(st.integers(-1, 4)), "d": draw(st.integers(0, 3)), "ceil_mode": draw(st.booleans())}


@st.composite
def pool2d_calls(draw, max_size: int = 12, dilation: bool = True, ceil=None, avg: bool = False,
                 values=POOL_VALUES, min_batch: int = 1, layouts=("4d", "4d", "3d")):
    """A 2-D pooling call as a student would write it.

    kernel_size, stride, padding (and dilation) are each one int or a pair (height, width);
    stride is sometimes None (= kernel_size). Both spatial dimensions satisfy PyTorch's rules
    and every window holds an input element. ``avg``: no dilation, a count_include_pad flag.
    Values: uniform in [-1, 1), all negative, small integers (many ties), constant blocks,
    or one constant; the memory layout is sometimes channels-last or transposed.
    """
    ceil_mode = draw(st.booleans()) if ceil is None else ceil
    dims = []
    for _ in range(2):
        dims.append(draw(pool_geometry(max_n=max_size, max_k=5, max_s=4, max_d=3 if dilation and not avg else 1,
                                       ceil=ceil_mode)))
    (gh, gw) = dims
    stride_none = draw(st.integers(0, 4)) == 0      # None means stride = kernel_size
    if stride_none:
        for g in (gh, gw):
            g["s"] = g["k"]
            if pool_windows(g["n"], g["k"], g["s"], g["p"], g["d"], ceil_mode) == 0:
                g["d"] = 1
    case = {}
    layout = draw(st.sampled_from(layouts))
    n, c = draw(st.integers(min_batch, 3)), draw(st.integers(1, 3))
    case["shape"] = (n, c, gh["n"], gw["n"]) if layout == "4d" else (c, gh["n"], gw["n"])

    def int_or_pair(key):
        a, b = gh[key], gw[key]
        return a if a == b and draw(st.booleans()) else (a, b)

    case["kernel_size"] = int_or_pair("k")
    case["stride"] = None if stride_none else int_or_pair("s")
    case["padding"] = int_or_pair("p")
    if not avg:
        case["dilation"] = int_or_pair("d")
    case["ceil_mode"] = ceil_mode
    if avg:
        case["count_include_pad"] = draw(st.booleans())
    case["dtype"] = draw(st.sampled_from(["float32", "float64"]))
    case["values"] = draw(st.sampled_from(values))
    case["memory"] = draw(st.sampled_from(["contiguous", "contiguous", "transposed"]
                                          + (["channels_last"] if layout == "4d" else [])))
    case["seed"] = draw(seeds)
    return case


def pool_pairs(case) -> dict:
    """A pooling case's arguments as pairs: {"kernel_size": (kh, kw), "stride": ..., ...}."""
    pair = lambda v: (v, v) if isinstance(v, int) else tuple(v)  # noqa: E731
    k = pair(case["kernel_size"])
    return {"kernel_size": k, "stride": k if case["stride"] is None else pair(case["stride"]),
            "padding": pair(case["padding"]), "dilation": pair(case.get("dilation", 1))}


def pool2d_input(case) -> torch.Tensor:
    """The input tensor of a ``pool2d_calls`` case (values, dtype and memory layout)."""
    shape, seed, kind = tuple(case["shape"]), case["seed"], case["values"]
    g = torch.Generator().manual_seed(int(seed))
    if kind == "uniform":
        x = torch.rand(shape, generator=g, dtype=torch.float64) * 2 - 1
    elif kind == "negative":
        x = -1 - 2 * torch.rand(shape, generator=g, dtype=torch.float64)
    elif kind == "ties":
        x = torch.randint(-2, 3, shape, generator=g).double()
    elif kind == "plateaus":
        block = int(torch.randint(2, 4, (1,), generator=g))
        h, w = shape[-2], shape[-1]
        small = torch.randint(-3, 2, (*shape[:-2], -(-h // block), -(-w // block)), generator=g).double()
        x = small.repeat_interleave(block, -2).repeat_interleave(block, -1)[..., :h, :w].contiguous()
    elif kind == "extreme":     # huge negatives and the dtype's lowest finite value, many ties (max pooling only)
        t = torch.randint(0, 4, shape, generator=g).to(norm_dtype(case["dtype"]))
        x = torch.where(t == 0, torch.finfo(t.dtype).min, -1e30 * t)
    else:
        x = torch.full(shape, -0.75, dtype=torch.float64)
    x = x.to(norm_dtype(case["dtype"]))
    if case.get("memory") == "transposed":
        x = x.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif case.get("memory") == "channels_last" and x.dim() == 4:
        x = x.contiguous(memory_format=torch.channels_last)
    return x
