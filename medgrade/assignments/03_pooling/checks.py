"""Checks of 03_pooling: the pooling output size (floor and ceil mode), max pooling with
indices and its backward pass, average pooling (the divisor at the border) and global
average pooling.

References are PyTorch's own pooling functions in float64 (on a contiguous copy of the
input); the gradient of max pooling is autograd through ``F.max_pool2d``, and for
arbitrary index maps a scatter-add. Inputs contain many ties on purpose (small integers,
constant blocks, constant planes), and values below zero, so that padding with zeros
instead of -inf shows. The student's code runs with every library pooling function
refused, in Python and below it.
"""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F
from hypothesis import strategies as st

from medgrade.common.tensors import norm_dtype, seeds, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, assert_equal, describe, expect_tensor, modified_in_place
from medgrade.isolation import Remote
from medgrade.properties import call, check_property, showing
from medgrade.registry import aspect
from medgrade.timing import SpeedCase, measure_ratio
from medgrade.worker.guard import guarded_call

from . import inputs as S
from . import reference as oracles

A = "03_pooling"

# the reference of the timing aspect: the C++ binding itself, bound when this module is imported
_REFERENCE_MAX_POOL = torch._C._nn.max_pool2d_with_indices

# ---------------------------------------------------------------- calling the student

_POOL_NAMES = ("max_pool1d", "max_pool2d", "max_pool2d_with_indices", "max_pool3d", "avg_pool1d",
               "avg_pool2d", "avg_pool3d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
               "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool2d_with_indices",
               "max_unpool1d", "max_unpool2d", "lp_pool2d", "fractional_max_pool2d")
_POOL_FUNCTIONS = [(F, name, f"torch.nn.functional.{name}") for name in _POOL_NAMES]
# below the Python layer: torch.max_pool2d, torch.ops.aten.*, nn.MaxPool2d, nn.AdaptiveAvgPool2d, ...
_POOL_OPS = re.compile(r"max_pool|avg_pool|adaptive_|max_unpool|fractional_max_pool|lp_pool")
_AUTOGRAD = [(torch.autograd, "grad", "torch.autograd.grad"),
             (torch.autograd, "backward", "torch.autograd.backward"),
             (torch.Tensor, "backward", "Tensor.backward")]
_HINT = "Build the windows with F.pad and Tensor.unfold (or as_strided), then reduce them."


def _call(fn, *args, autograd_allowed=True, **kwargs):
    return call(fn, *args, forbid=_POOL_FUNCTIONS + ([] if autograd_allowed else _AUTOGRAD),
                forbid_ops=_POOL_OPS, hint=_HINT, **kwargs)


def _raised_kind(fn, *args):
    """Call the student's function with the library refused: (None, value) when it returns,
    (exception type name, message) when it raises."""
    if isinstance(fn, Remote):
        outcome = fn.guarded_call(args, {}, forbid=_POOL_FUNCTIONS, forbid_ops=_POOL_OPS.pattern)
    else:
        outcome = guarded_call(fn, args, {}, _POOL_FUNCTIONS, _POOL_OPS.pattern)
    used = outcome.tripped[:1] or sorted({op for op in outcome.ops if _POOL_OPS.search(op)})
    if used:
        raise CheckFailed(f"your function called {', '.join(used)}: work the size out yourself")
    if outcome.raised is not None:
        return outcome.raised[0], outcome.raised[1]
    return None, outcome.value


def _expect_int(got, expected: int, what: str) -> None:
    if isinstance(got, bool) or not isinstance(got, int):
        raise CheckFailed(f"{what} should be a Python int, got {type(got).__name__} {got!r}")
    assert_equal(got, expected, what=what)


def _unchanged(before, passed, name):
    if not torch.equal(before, passed):
        raise CheckFailed(modified_in_place(name))




def _x_shown(case):
    return {"x": S.pool2d_input(case)}


# ---------------------------------------------------------------- pool_output_size

def _size_case(n, k, s, p, d=1, ceil_mode=False):
    return {"n": n, "k": k, "s": s, "p": p, "d": d, "ceil_mode": ceil_mode}


@aspect(A, task="pool_output_size", points=2)
def pool_output_size_correct(pool_output_size):
    """pool_output_size equals PyTorch's pooling output length, floor and ceil mode, dilation included."""

    def same_as_torch(g):
        got = _call(pool_output_size, g["n"], g["k"], g["s"], g["p"], g["d"], g["ceil_mode"])
        _expect_int(got, oracles.pool_output_size(**g), what="output size")

    yield check_property(
        "output size equals F.max_pool1d's for every valid (n, kernel_size, stride, padding, dilation, ceil_mode)",
        S.pool_geometry(max_n=40, max_k=7, max_s=6, max_d=4), same_as_torch, max_examples=150,
        examples=[_size_case(6, 2, 2, 0),                      # the usual 2x2 pooling: halves the size
                  _size_case(7, 2, 2, 0),                      # floor: the last column is dropped
                  _size_case(7, 2, 2, 0, ceil_mode=True),      # ceil: a last, partial window
                  _size_case(8, 2, 2, 0, ceil_mode=True),      # ceil adds nothing when s divides
                  _size_case(5, 3, 2, 1, ceil_mode=True),      # ceil changes nothing here either
                  _size_case(5, 2, 2, 1, ceil_mode=True),      # ceil would add a window in the right padding: dropped
                  _size_case(6, 2, 3, 0, ceil_mode=True),      # ... the same rule, stride larger than kernel
                  _size_case(4, 1, 2, 0, ceil_mode=True),      # ... and a 1-wide window
                  _size_case(112, 3, 2, 1),                    # ResNet's stem pooling: 112 -> 56
                  _size_case(1, 1, 1, 0),                      # one pixel
                  _size_case(9, 3, 1, 0, d=4),                 # dilation: span 9, one window
                  _size_case(4, 1, 5, 0, ceil_mode=True)])     # stride larger than the input

    def keywords_and_defaults(g):
        k, n = g["k"], max(g["n"], g["d"] * (g["k"] - 1) + 1)
        got = _call(pool_output_size, n=g["n"], kernel_size=k, stride=g["s"], padding=g["p"],
                    dilation=g["d"], ceil_mode=g["ceil_mode"])
        _expect_int(got, oracles.pool_output_size(**g), what="output size with keyword arguments")
        got = _call(pool_output_size, n, k)
        _expect_int(got, oracles.pool_output_size(n, k, k, 0, 1, False),
                    what=f"pool_output_size({n}, {k}): the defaults stride=None (= kernel_size), "
                         f"padding=0, dilation=1, ceil_mode=False")
        got = _call(pool_output_size, g["n"], k, None, g["p"], g["d"], g["ceil_mode"])
        expected = oracles.pool_output_size(g["n"], k, k, g["p"], g["d"], g["ceil_mode"])
        if expected is not None:
            _expect_int(got, expected, what="output size with stride=None (stride = kernel_size)")

    yield check_property(
        "keyword arguments, stride=None meaning stride = kernel_size, and the defaults",
        S.pool_geometry(max_n=20), keywords_and_defaults, max_examples=20,
        examples=[_size_case(7, 3, 3, 1, ceil_mode=True)])


def _some_negative(drawn):
    """A drawn (n, k, s, p, d, ceil_mode), sometimes with a negative stride or dilation."""
    g, flip = drawn
    if flip == 1:
        return {**g, "s": -max(g["s"], 1)}
    if flip == 2:
        return {**g, "d": -max(g["d"], 1)}
    return g


@aspect(A, task="pool_output_size", points=1)
def pool_output_size_invalid(pool_output_size):
    """pool_output_size raises ValueError exactly where PyTorch rejects the arguments."""

    def as_torch(g):
        expected = oracles.pool_output_size(**g)
        kind, value = _raised_kind(pool_output_size, g["n"], g["k"], g["s"], g["p"], g["d"], g["ceil_mode"])
        if expected is None:
            if kind != "ValueError":
                got = f"it raised {kind}: {value}" if kind else f"it returned {value!r}"
                raise CheckFailed(f"PyTorch rejects these arguments, so pool_output_size should raise "
                                  f"ValueError; {got}")
        elif kind is not None:
            raise CheckFailed(f"these arguments are valid (PyTorch's output size is {expected}), "
                              f"but your function raised {kind}: {value}")
        else:
            _expect_int(value, expected, what="output size")

    yield check_property(
        "raises ValueError for padding > kernel_size // 2, an output size below 1, kernel_size, stride "
        "or dilation below 1 (zero or negative), or negative padding; returns PyTorch's size otherwise",
        st.tuples(S.pool_size_arguments(), st.integers(0, 4)).map(_some_negative), as_torch, max_examples=100,
        examples=[_size_case(5, 3, 1, 1),                      # valid: padding 1 = 3 // 2
                  _size_case(5, 3, 1, 2),                      # padding 2 > 3 // 2
                  _size_case(5, 2, 2, 1, d=3),                 # padding 1 = 2 // 2 (dilation does not count)
                  _size_case(5, 2, 1, 2, d=3),                 # padding 2 > 2 // 2, though the span is 4
                  _size_case(5, 1, 1, 1),                      # a 1-wide window takes no padding
                  _size_case(2, 3, 1, 0),                      # the window does not fit: output size 0
                  _size_case(2, 3, 1, 0, ceil_mode=True),
                  _size_case(2, 3, 2, 0, ceil_mode=True),      # ... but valid: the ceiling keeps one window
                  _size_case(4, 3, 3, 0, d=2, ceil_mode=True),  # ... also when dilated (span 5 > 4)
                  _size_case(4, 3, 1, 0, d=2),                 # span 5 > 4
                  _size_case(4, 0, 1, 0), _size_case(4, 2, 0, 0), _size_case(4, 2, 1, 0, d=0),
                  _size_case(4, 2, 1, -1),
                  _size_case(6, 2, -1, 0), _size_case(6, 3, -2, 1, ceil_mode=True),   # negative stride
                  _size_case(6, 2, 1, 0, d=-1), _size_case(6, -2, 1, 0)])             # negative dilation, kernel


# ---------------------------------------------------------------- max_pool2d

def _pool_args(case):
    return (case["kernel_size"], case["stride"], case["padding"], case["dilation"], case["ceil_mode"])


def _max_oracle(x, case):
    P = S.pool_pairs(case)
    return oracles.max_pool2d(x, P["kernel_size"], P["stride"], P["padding"], P["dilation"], case["ceil_mode"])


def _max_call(max_pool2d, case, keywords=False):
    """The student's (out, indices) on the case's input; checks the input was left alone."""
    x = S.pool2d_input(case)
    before = x.clone()
    if keywords:
        got = _call(max_pool2d, x, kernel_size=case["kernel_size"], stride=case["stride"],
                    padding=case["padding"], dilation=case["dilation"], ceil_mode=case["ceil_mode"])
    else:
        got = _call(max_pool2d, x, *_pool_args(case))
    _unchanged(before, x, "x")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        kind = type(got).__name__ + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        raise CheckFailed(f"max_pool2d should return a tuple (out, indices), got a {kind}")
    expect_tensor(got[0], what="out (the first element returned)")
    expect_tensor(got[1], what="indices (the second element returned)")
    return x, got[0], got[1]


def _max_case(shape, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, values="uniform",
              dtype="float32", memory="contiguous", seed=0):
    return {"shape": shape, "kernel_size": kernel_size, "stride": stride, "padding": padding,
            "dilation": dilation, "ceil_mode": ceil_mode, "dtype": dtype, "values": values,
            "memory": memory, "seed": seed}


_MAX_EXAMPLES = [
    _max_case((1, 1, 4, 4), 2),                                                 # the textbook 2x2
    _max_case((2, 3, 7, 7), 3, 2, 1, values="negative"),                        # all < 0: padding must be -inf
    _max_case((2, 7, 5), 2, ceil_mode=True, values="negative", dtype="float64"),  # (C, H, W), partial windows
    _max_case((1, 2, 6, 6), 2, 2, 1, ceil_mode=True, values="ties"),            # ceil drops a window in the padding
    _max_case((1, 1, 5, 6), (3, 2), (1, 2), (1, 0), (1, 2), values="ties"),     # everything non-square
    _max_case((3, 2, 6, 5), 3, 1, 1, values="constant"),                        # every element ties
    _max_case((1, 1, 1, 1), 1),                                                 # one pixel
    _max_case((0, 2, 5, 5), 2),                                                 # an empty batch
    _max_case((2, 2, 9, 8), 3, 2, 0, 2, values="plateaus", memory="channels_last"),
    _max_case((1, 3, 6, 6), 4, 3, 2, ceil_mode=True, values="plateaus", memory="transposed", dtype="float64"),
    # finite values far below zero, down to the dtype's lowest: only -inf padding never wins
    _max_case((1, 2, 5, 5), 2, 2, 1, values="extreme"),
    _max_case((2, 1, 6, 5), 3, 2, 1, ceil_mode=True, values="extreme", dtype="float64"),
]
# input kinds of the max-pooling properties: the shared ones and huge negative values
_MAX_VALUES = S.POOL_VALUES + ("extreme",)


@aspect(A, task="max_pool2d", points=3)
def max_pool2d_values(max_pool2d):
    """max_pool2d's output equals F.max_pool2d's exactly, for every window geometry and both layouts."""

    @showing(_x_shown)
    def same_values(case):
        x, out, _ = _max_call(max_pool2d, case)
        expected, _ = _max_oracle(x, case)
        assert_equal(out, expected, what="out (the pooled values; max picks an input element, so they must be exact)")

    yield check_property(
        "out equals F.max_pool2d's exactly (shape, dtype, values): (N, C, H, W) and (C, H, W), ints and pairs, "
        "stride None, padding, dilation, ceil_mode, float32 and float64, negative inputs down to the dtype's "
        "lowest finite value, input left unchanged",
        S.pool2d_calls(values=_MAX_VALUES), same_values, max_examples=100, examples=_MAX_EXAMPLES)

    @showing(_x_shown)
    def keywords(case):
        x, out, _ = _max_call(max_pool2d, case, keywords=True)
        expected, _ = _max_oracle(x, case)
        assert_equal(out, expected, what="out, with keyword arguments")

    yield check_property("keyword arguments kernel_size, stride, padding, dilation, ceil_mode",
                         S.pool2d_calls(max_size=8), keywords, max_examples=10)


@aspect(A, task="max_pool2d", points=2)
def max_pool2d_indices(max_pool2d):
    """max_pool2d's indices equal F.max_pool2d's (flat indices into H*W; ties: the first maximum)."""

    @showing(_x_shown)
    def same_indices(case):
        x, out, indices = _max_call(max_pool2d, case)
        _, expected = _max_oracle(x, case)
        assert_equal(indices, expected,
                     what="indices (flat positions h * W + w in each input plane; on ties the first "
                          "maximum in row-major order)")

    yield check_property(
        "indices equal F.max_pool2d(..., return_indices=True)'s: int64, index into the unpadded H * W plane, "
        "ties resolved to the first maximum of the window in row-major order",
        S.pool2d_calls(values=("ties", "ties", "plateaus", "constant", "uniform", "negative", "extreme")),
        same_indices, max_examples=100, examples=_MAX_EXAMPLES)


# Timed case: a stem-like max pooling (3 x 3 windows, stride 2, padding 1) of a 1 x 4 x 128 x 128 feature
# map: 4,096 output positions. Few channels and many positions: a loop over the positions pays per
# position, the reference per element. Measured through the isolated path (student and reference in
# worker processes, one torch thread) on the shared 2-core machine under load (load average 4-8),
# 10 runs each: unfold + max 1.5-3.9x the reference, as_strided + argmax 1.1-3.7x, a loop over the
# 9 kernel offsets (torch.where on shifted slices, meant to pass) 1.9-3.1x, a loop over output
# positions vectorized over batch and channels 74-275x. T = 16 leaves 4.1x on the fast side and 4.6x
# on the slow side. (At 4 x 8 x 64 x 64 the position loop measured only 13.6-30x: too close.)
SPEED_SHAPE = (1, 4, 128, 128)
SPEED_THRESHOLDS = {"cpu": 16.0, "cuda": 16.0}     # cuda: provisional, not measured on a GPU


def _speed_inputs(seed, device):
    return (tensor_from_seed(SPEED_SHAPE, seed).to(device), 3, 2, 1, 1, False)


def _speed_check(args, got, expected):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed("max_pool2d should return a tuple (out, indices) in the timed calls too")
    assert_equal(got[0], expected[0], what="out in the timed calls")
    assert_equal(got[1], expected[1], what="indices in the timed calls")


@aspect(A, task="max_pool2d", points=2, kind="speed", requires=("max_pool2d_values", "max_pool2d_indices"))
def max_pool2d_speed(max_pool2d):
    """max_pool2d runs within a fixed ratio of F.max_pool2d's time (no Python loop over output pixels)."""
    yield measure_ratio(SpeedCase(
        "max pooling 3 x 3, stride 2, padding 1 of a 1 x 4 x 128 x 128 input, with indices, vs F.max_pool2d",
        student=max_pool2d, reference=_REFERENCE_MAX_POOL, make_inputs=_speed_inputs,
        check=_speed_check, thresholds=SPEED_THRESHOLDS, forbid=_POOL_FUNCTIONS, forbid_ops=_POOL_OPS))


# ---------------------------------------------------------------- max_pool2d_backward

def _overlapping(case):
    """Mostly stride <= kernel (overlapping windows: one pixel can win several of them)."""
    P = S.pool_pairs(case)
    (kh, kw), (sh, sw) = P["kernel_size"], P["stride"]
    if case["seed"] % 4 != 0 and (sh > kh or sw > kw):
        case = {**case, "stride": (min(sh, kh), min(sw, kw))}
        for n, k, s, p, d in zip(case["shape"][-2:], (kh, kw), case["stride"], P["padding"], P["dilation"]):
            if S.pool_windows(n, k, s, p, d, case["ceil_mode"]) == 0:
                case = {**case, "dilation": 1}
    return case


def _bw_inputs(case):
    x = S.pool2d_input(case)
    out, indices = _max_oracle(x, case)
    grad_out = tensor_from_seed(out.shape, case["seed"] + 1, dtype=x.dtype)
    if case.get("memory") == "transposed":          # the same values, laid out differently in memory
        grad_out = grad_out.transpose(-1, -2).contiguous().transpose(-1, -2)
    elif case.get("memory") == "channels_last" and grad_out.dim() == 4:
        grad_out = grad_out.contiguous(memory_format=torch.channels_last)
    return x, grad_out, indices


def _bw_call(fn, grad_out, indices, input_shape):
    g, i = grad_out.clone(), indices.clone()
    with torch.no_grad():
        got = _call(fn, g, i, tuple(input_shape), autograd_allowed=False)
    _unchanged(grad_out, g, "grad_out")
    _unchanged(indices, i, "indices")
    return expect_tensor(got, what="the input gradient", shape=tuple(input_shape), dtype=grad_out.dtype)


def _bw_close(got, expected, what):
    tol = (dict(rtol=1e-12, atol=1e-12) if expected.dtype == torch.float64
           else dict(rtol=1e-5, atol=1e-6 * (1 + float(expected.abs().max()) if expected.numel() else 1.0)))
    assert_close(got, expected, what=what, **tol)


@aspect(A, task="max_pool2d_backward", points=3)
def max_pool2d_backward_correct(max_pool2d_backward):
    """max_pool2d_backward equals autograd through F.max_pool2d: a scatter-ADD of grad_out at the indices."""

    def bw_shown(case):
        x, grad_out, indices = _bw_inputs(case)
        return {"x (the forward input)": x, "grad_out": grad_out, "indices": indices,
                "input_shape": tuple(x.shape)}

    @showing(bw_shown)
    def same_as_autograd(case):
        x, grad_out, indices = _bw_inputs(case)
        got = _bw_call(max_pool2d_backward, grad_out, indices, x.shape)
        P = S.pool_pairs(case)
        expected = oracles.max_pool2d_input_grad(x, grad_out, P["kernel_size"], P["stride"], P["padding"],
                                                 P["dilation"], case["ceil_mode"])
        _bw_close(got, expected, "the input gradient")

    examples = [_max_case((1, 1, 4, 4), 2, seed=1),
                _max_case((1, 1, 4, 4), 3, 1, 1, values="constant", seed=1),   # one pixel wins up to 9 windows
                _max_case((2, 3, 7, 6), 3, 1, 1, values="plateaus", dtype="float64", seed=2),
                _max_case((2, 5, 5), 2, 1, 0, ceil_mode=True, values="ties", seed=3),     # (C, H, W)
                _max_case((2, 2, 6, 7), 3, 2, 1, values="negative", memory="channels_last", seed=4),
                _max_case((0, 2, 4, 4), 2)]
    yield check_property(
        "the input gradient equals autograd through F.max_pool2d (overlapping windows, repeated maxima, "
        "(N, C, H, W) and (C, H, W), float32 and float64, any memory layout), computed under torch.no_grad()",
        S.pool2d_calls(values=("ties", "plateaus", "constant", "uniform", "negative")).map(_overlapping),
        same_as_autograd, max_examples=80, examples=examples)

    def index_map(case):
        g = torch.Generator().manual_seed(case["seed"])
        lead, (oh, ow), (h, w) = tuple(case["lead"]), case["out"], case["input"]
        grad_out = (torch.rand((*lead, oh, ow), generator=g, dtype=torch.float64) * 2 - 1).to(
            norm_dtype(case["dtype"]))
        # a few popular positions: most of them are hit many times, some never
        popular = torch.randint(0, h * w, (case["distinct"],), generator=g)
        indices = popular[torch.randint(0, case["distinct"], (*lead, oh, ow), generator=g)]
        return grad_out, indices, (*lead, h, w)

    def matches_scatter_add(case):
        grad_out, indices, input_shape = index_map(case)
        try:
            got = _bw_call(max_pool2d_backward, grad_out, indices, input_shape)
            _bw_close(got, oracles.scatter_add_planes(grad_out, indices, input_shape), "the input gradient")
        except CheckFailed as e:
            raise CheckFailed(f"{e.message}\nthe inputs were:\ngrad_out = {describe(grad_out)}\n"
                              f"indices = {describe(indices)}\ninput_shape = {input_shape}") from None

    yield check_property(
        "for any index map (repeated indices, positions never hit) the gradient of a pixel is the sum of "
        "grad_out over the outputs whose index names it, plane by plane",
        st.fixed_dictionaries({
            "lead": st.sampled_from([(1, 1), (2, 3), (3,), (2, 1)]),
            "out": st.tuples(st.integers(1, 4), st.integers(1, 4)),
            "input": st.tuples(st.integers(1, 6), st.integers(1, 6)),
            "distinct": st.integers(1, 4),
            "dtype": st.sampled_from(["float64", "float32"]),
            "seed": seeds}),
        matches_scatter_add, max_examples=40,
        examples=[{"lead": (1, 1), "out": (2, 2), "input": (3, 3), "distinct": 1, "dtype": "float64", "seed": 0}])


# ---------------------------------------------------------------- avg_pool2d

def _avg_call(avg_pool2d, case, keywords=False):
    x = S.pool2d_input(case)
    before = x.clone()
    args = (case["kernel_size"], case["stride"], case["padding"], case["ceil_mode"], case["count_include_pad"])
    if keywords:
        got = _call(avg_pool2d, x, kernel_size=args[0], stride=args[1], padding=args[2], ceil_mode=args[3],
                    count_include_pad=args[4])
    else:
        got = _call(avg_pool2d, x, *args)
    _unchanged(before, x, "x")
    P = S.pool_pairs(case)
    expected = oracles.avg_pool2d(x, P["kernel_size"], P["stride"], P["padding"], case["ceil_mode"],
                                  case["count_include_pad"])
    # float32: loose enough for a summed-area table (cumulative sums) over the whole plane; a wrong
    # divisor or a wrong window is off by 1e-2 or more
    tol = dict(rtol=1e-10, atol=1e-10) if x.dtype == torch.float64 else dict(rtol=1e-4, atol=1e-4)
    assert_close(got, expected, what="the output", **tol)


def _avg_case(shape, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
              values="uniform", dtype="float32", memory="contiguous", seed=0):
    return {"shape": shape, "kernel_size": kernel_size, "stride": stride, "padding": padding,
            "ceil_mode": ceil_mode, "count_include_pad": count_include_pad, "dtype": dtype,
            "values": values, "memory": memory, "seed": seed}


@aspect(A, task="avg_pool2d", points=2)
def avg_pool2d_correct(avg_pool2d):
    """avg_pool2d (floor mode) equals F.avg_pool2d, with and without counting the padding."""

    @showing(_x_shown)
    def same_as_torch(case):
        _avg_call(avg_pool2d, case)

    yield check_property(
        "equals F.avg_pool2d (ceil_mode=False): count_include_pad True and False, padding, ints and pairs, "
        "stride None, (N, C, H, W) and (C, H, W), float32 and float64, input left unchanged",
        S.pool2d_calls(avg=True, ceil=False), same_as_torch, max_examples=80,
        examples=[_avg_case((1, 1, 4, 4), 2),
                  _avg_case((2, 3, 5, 5), 3, 1, 1, count_include_pad=True),      # corners: 4 of 9 are padding
                  _avg_case((2, 3, 5, 5), 3, 1, 1, count_include_pad=False),     # ... divided by 4, not 9
                  _avg_case((2, 6, 7), (2, 3), (1, 2), (1, 1), count_include_pad=False, dtype="float64"),
                  _avg_case((1, 2, 6, 5), 3, 2, 1, values="negative", memory="channels_last"),
                  _avg_case((0, 1, 4, 4), 2)])

    @showing(_x_shown)
    def keywords(case):
        _avg_call(avg_pool2d, case, keywords=True)

    yield check_property("keyword arguments kernel_size, stride, padding, ceil_mode, count_include_pad",
                         S.pool2d_calls(max_size=8, avg=True, ceil=False), keywords, max_examples=10)


def _hangs_over(case):
    """Some window of the case reaches past the padded input (only possible in ceil mode)."""
    P = S.pool_pairs(case)
    for n, k, s, p in zip(case["shape"][-2:], P["kernel_size"], P["stride"], P["padding"]):
        out = S.pool_windows(n, k, s, p, 1, case["ceil_mode"])
        if (out - 1) * s + k > n + 2 * p:
            return True
    return False


@aspect(A, task="avg_pool2d", points=2)
def avg_pool2d_ceil_mode(avg_pool2d):
    """avg_pool2d in ceil mode: the last windows hang over the border, and their divisor follows PyTorch."""

    @showing(_x_shown)
    def same_as_torch(case):
        _avg_call(avg_pool2d, case)

    yield check_property(
        "equals F.avg_pool2d with ceil_mode=True where the last window hangs over the padded input "
        "(count_include_pad=True counts the padding, never the positions beyond it)",
        S.pool2d_calls(avg=True, ceil=True).filter(_hangs_over), same_as_torch, max_examples=70,
        examples=[_avg_case((1, 1, 5, 5), 2, ceil_mode=True),                  # last window: 1 x 2, 2 x 1, 1 x 1
                  _avg_case((1, 1, 5, 5), 2, ceil_mode=True, count_include_pad=False),
                  _avg_case((2, 2, 6, 6), 3, 2, 1, ceil_mode=True),             # padding counted, overhang not
                  _avg_case((2, 6, 6), 3, 2, 1, ceil_mode=True, count_include_pad=False, dtype="float64"),
                  _avg_case((1, 2, 7, 4), (3, 2), (2, 3), (1, 0), ceil_mode=True, values="negative")])


# ---------------------------------------------------------------- global_avg_pool2d

@aspect(A, task="global_avg_pool2d", points=1)
def global_avg_pool2d_correct(global_avg_pool2d):
    """global_avg_pool2d averages each channel over H and W: (N, C) or, with keepdim, (N, C, 1, 1)."""

    def gap_input(case):
        x = tensor_from_seed(case["shape"], case["seed"], dtype=torch.float64) * case["scale"] + case["shift"]
        return x.to(norm_dtype(case["dtype"]))

    @showing(lambda case: {"x": gap_input(case)})
    def same_as_torch(case):
        x = gap_input(case)
        before = x.clone()
        if case["keepdim"] is None:
            got = _call(global_avg_pool2d, x)
        else:
            got = _call(global_avg_pool2d, x, keepdim=case["keepdim"])
        _unchanged(before, x, "x")
        expected = oracles.global_avg_pool2d(x, bool(case["keepdim"]))
        tol = (dict(rtol=1e-12, atol=1e-12) if x.dtype == torch.float64
               else dict(rtol=1e-5, atol=1e-6 * (1 + abs(case["shift"]))))
        what = "the output" + ("" if case["keepdim"] is None else f" with keepdim={case['keepdim']}")
        assert_close(got, expected, what=what, **tol)

    yield check_property(
        "equals F.adaptive_avg_pool2d(x, 1): shape (N, C) by default, (N, C, 1, 1) with keepdim=True; "
        "float32 and float64, large offsets, input left unchanged",
        st.fixed_dictionaries({
            "shape": st.tuples(st.integers(1, 3), st.integers(1, 4), st.integers(1, 9), st.integers(1, 9)),
            "keepdim": st.sampled_from([None, False, True]),
            "dtype": st.sampled_from(["float32", "float64"]),
            "scale": st.sampled_from([1.0, 0.01]),
            "shift": st.sampled_from([0.0, -40.0]),
            "seed": seeds}),
        same_as_torch, max_examples=40,
        examples=[{"shape": (2, 3, 4, 5), "keepdim": None, "dtype": "float32", "scale": 1.0, "shift": 0.0, "seed": 0},
                  {"shape": (2, 3, 4, 5), "keepdim": True, "dtype": "float32", "scale": 1.0, "shift": 0.0, "seed": 0},
                  {"shape": (1, 2, 1, 1), "keepdim": False, "dtype": "float64", "scale": 1.0, "shift": 0.0, "seed": 1},
                  {"shape": (3, 1, 7, 2), "keepdim": None, "dtype": "float32", "scale": 0.01, "shift": -40.0,
                   "seed": 2}])
