"""Every input generator of the course, in one place.

Strategies draw small structured descriptions (sizes, hyper-parameters, a
seed); tensor contents come from a ``torch.Generator`` seeded by the drawn
seed, so a counterexample is short to print and exact to replay. Elements
are bounded: no NaN or infinity unless a contract says so.
"""
from __future__ import annotations

import torch
from hypothesis import strategies as st

seeds = st.integers(min_value=0, max_value=2**31 - 1)


def tensor_from_seed(shape, seed: int, *, low: float = -1.0, high: float = 1.0,
                     dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Uniform values in [low, high) drawn from ``seed``; the same seed gives the same tensor."""
    g = torch.Generator().manual_seed(int(seed))
    return (torch.rand(tuple(shape), generator=g, dtype=torch.float64) * (high - low) + low).to(dtype)


# ---------------------------------------------------------------- convolution

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
def conv2d_cases(draw, max_batch: int = 3, max_channels: int = 4, max_size: int = 12):
    """A full conv2d call: shapes, stride, padding, dilation (each a pair), bias or not, seed."""
    kh, kw = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    dh, dw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    ph, pw = draw(st.integers(0, 3)), draw(st.integers(0, 3))
    min_h = max(1, dh * (kh - 1) + 1 - 2 * ph)
    min_w = max(1, dw * (kw - 1) + 1 - 2 * pw)
    h = draw(st.integers(min_h, max(min_h, max_size)))
    w = draw(st.integers(min_w, max(min_w, max_size)))
    return {
        "batch": draw(st.integers(1, max_batch)),
        "in_channels": draw(st.integers(1, max_channels)),
        "out_channels": draw(st.integers(1, max_channels)),
        "size": (h, w), "kernel": (kh, kw),
        "stride": (sh, sw), "padding": (ph, pw), "dilation": (dh, dw),
        "bias": draw(st.booleans()),
        "seed": draw(seeds),
    }


# ---------------------------------------------------------------- normalization

@st.composite
def batchnorm_cases(draw, spatial: bool | None = None):
    """Batch-norm inputs: (N, C) or (N, C, H, W), momentum, eps, seed."""
    if spatial is None:
        spatial = draw(st.booleans())
    n = draw(st.integers(2, 8))
    c = draw(st.integers(1, 6))
    shape = (n, c, draw(st.integers(1, 5)), draw(st.integers(1, 5))) if spatial else (n, c)
    return {
        "shape": shape,
        "momentum": draw(st.sampled_from([0.1, 0.01, 0.5, 0.9, 1.0])),
        "eps": draw(st.sampled_from([1e-5, 1e-3, 0.1])),
        "scale": draw(st.sampled_from([1.0, 10.0, 0.01])),
        "shift": draw(st.sampled_from([0.0, 3.0, -50.0])),
        "seed": draw(seeds),
    }


# ---------------------------------------------------------------- boxes

def boxes_from_seed(n: int, seed: int, *, grid: bool = False, dtype=torch.float32,
                    canvas: float = 100.0) -> torch.Tensor:
    """``n`` valid boxes (x1, y1, x2, y2) with x1 < x2 and y1 < y2.

    ``grid=True`` puts corners on a coarse integer grid, which makes exact
    duplicates, shared edges and nested boxes common.
    """
    g = torch.Generator().manual_seed(int(seed))
    if grid:
        xy = torch.randint(0, 8, (n, 2), generator=g).double()
        wh = torch.randint(1, 5, (n, 2), generator=g).double()
    else:
        xy = torch.rand((n, 2), generator=g, dtype=torch.float64) * canvas
        wh = torch.rand((n, 2), generator=g, dtype=torch.float64) * (canvas / 2) + 0.5
    return torch.cat([xy, xy + wh], dim=1).to(dtype)


@st.composite
def box_sets(draw, min_n: int = 0, max_n: int = 12):
    """A description of a box set: size, seed, and whether corners are on a grid."""
    return {"n": draw(st.integers(min_n, max_n)), "seed": draw(seeds), "grid": draw(st.booleans())}


def distinct_scores(n: int, seed: int, dtype=torch.float32) -> torch.Tensor:
    """``n`` scores in (0, 1], all different (a random permutation of a ladder)."""
    g = torch.Generator().manual_seed(int(seed) + 1)
    return ((torch.randperm(n, generator=g).double() + 1) / (n + 1)).to(dtype)
