"""Input generators of 01_conv_arithmetic: strategies draw small descriptions (sizes, hyper-parameters, a
seed); tensors are made from the seed, so a counterexample is short to print and exact to replay."""
from __future__ import annotations

from hypothesis import strategies as st

from medgrade.common.tensors import seeds


@st.composite
def conv_geometry(draw, max_n: int = 64, max_k: int = 9, max_s: int = 5, max_p: int = 5, max_d: int = 4):
    """One spatial dimension of a convolution (n, k, s, p, d) with at least one output."""
    k = draw(st.integers(1, max_k))
    d = draw(st.integers(1, max_d))
    s = draw(st.integers(1, max_s))
    p = draw(st.integers(0, max_p))
    span = d * (k - 1) + 1
    n = draw(st.integers(max(1, span - 2 * p), max(max(1, span - 2 * p), max_n)))
    return {"n": n, "k": k, "s": s, "p": p, "d": d}


@st.composite
def conv_transpose_geometry(draw, max_n: int = 32):
    """(n, k, s, p, output_padding, d) valid for a transposed convolution."""
    k = draw(st.integers(1, 7))
    d = draw(st.integers(1, 3))
    s = draw(st.integers(1, 4))
    p = draw(st.integers(0, (d * (k - 1)) // 2))
    # torch requires output_padding < max(stride, dilation)
    op = draw(st.integers(0, max(s, d) - 1))
    n = draw(st.integers(1, max_n))
    out = (n - 1) * s - 2 * p + d * (k - 1) + op + 1
    if out < 1:
        n = n + (1 - out + s - 1) // s
    return {"n": n, "k": k, "s": s, "p": p, "output_padding": op, "d": d}


@st.composite
def conv2d_calls(draw, max_batch: int = 3, max_channels: int = 4, max_size: int = 12,
                 stride_one: bool = False):
    """A conv2d call as a student would write it: stride, padding and dilation each given
    either as one int (both dimensions) or as a pair (height, width); bias or not; float32
    or float64; contents from ``seed``. The dilated kernel always fits in the padded input."""
    def int_or_pair(lo, hi):
        if draw(st.booleans()):
            v = draw(st.integers(lo, hi))
            return v, (v, v)
        pair = (draw(st.integers(lo, hi)), draw(st.integers(lo, hi)))
        return pair, pair

    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    stride, (sh, sw) = (1, (1, 1)) if stride_one else int_or_pair(1, 3)
    padding, (ph, pw) = int_or_pair(0, 3)
    dilation, (dh, dw) = int_or_pair(1, 3)
    min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
    min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
    return {
        "batch": draw(st.integers(1, max_batch)),
        "in_channels": draw(st.integers(1, max_channels)),
        "out_channels": draw(st.integers(1, max_channels)),
        "size": (draw(st.integers(min_h, max(min_h, max_size))),
                 draw(st.integers(min_w, max(min_w, max_size)))),
        "kernel": (kh, kw),
        "stride": stride, "padding": padding, "dilation": dilation,
        "bias": draw(st.booleans()),
        "dtype": draw(st.sampled_from(["float32", "float32", "float64"])),
        "seed": draw(seeds),
    }


@st.composite
def small_model_specs(draw):
    """A description of a small nn.Module (built by the check, never run): a list of
    layers, some of them frozen entirely or in part, optionally nested, optionally
    one module registered twice, optionally an embedding and a head sharing one weight."""
    layer = st.one_of(
        st.tuples(st.just("conv"), st.integers(1, 8), st.integers(1, 8), st.integers(1, 5), st.booleans()),
        st.tuples(st.just("linear"), st.integers(1, 16), st.integers(1, 16), st.booleans()),
        st.tuples(st.just("batchnorm"), st.integers(1, 8)),
        st.tuples(st.just("relu")),
    )
    layers = draw(st.lists(layer, min_size=0, max_size=6))
    frozen = []
    if layers:
        for i in draw(st.lists(st.integers(0, len(layers) - 1), max_size=3, unique=True)):
            frozen.append((i, draw(st.sampled_from(["all", "weight", "bias"]))))
    return {
        "layers": layers,
        "frozen": frozen,
        "nested": draw(st.booleans()),
        "reuse_first": draw(st.booleans()),
        "tied": draw(st.sampled_from([None, "trainable", "frozen"])),
        "vocab": draw(st.integers(2, 12)),
        "dim": draw(st.integers(1, 8)),
    }


@st.composite
def conv_flops_cases(draw):
    """A grouped 2-D convolution: channels divisible by groups, any valid stride, padding
    and dilation (the FLOP count depends only on the output size they lead to)."""
    groups = draw(st.sampled_from([1, 1, 1, 2, 3, 4]))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
    min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
    return {
        "batch_size": draw(st.integers(1, 8)),
        "in_channels": groups * draw(st.integers(1, 16)),
        "out_channels": groups * draw(st.integers(1, 16)),
        "groups": groups,
        "kernel": (kh, kw),
        "input_size": (draw(st.integers(min_h, max(min_h, 64))), draw(st.integers(min_w, max(min_w, 64)))),
        "stride": (draw(st.integers(1, 4)), draw(st.integers(1, 4))),
        "padding": (ph, pw),
        "dilation": (dh, dw),
        "ints_when_square": draw(st.booleans()),
    }
