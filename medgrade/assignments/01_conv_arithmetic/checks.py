"""Checks of 01_conv_arithmetic: output sizes, conv2d by im2col, parameter and FLOP counts."""
from __future__ import annotations

import numbers
import re

import torch
import torch.nn as nn
from hypothesis import strategies as st
from torch.utils.flop_counter import FlopCounterMode

from medgrade.common.tensors import tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, assert_equal, describe, expect_tensor, modified_in_place
from medgrade.properties import call, check_property, gradients
from medgrade.registry import aspect
from medgrade.timing import SpeedCase, measure_ratio

from . import inputs as S
from . import reference as oracles

A = "01_conv_arithmetic"

# The reference of the timing aspect is the C++ binding itself: a notebook that
# rebinds ``torch.nn.functional.conv2d`` to something slower does not slow it down.
_REFERENCE_CONV2D = torch._C._VariableFunctions.conv2d

# float32 results of at most 4 * 5 * 5 products of numbers in [-1, 1]: rounding is
# below 1e-5; any real mistake (a wrong tap, a wrong padding) is off by 1e-2 or more.
_TOL = {torch.float32: dict(rtol=1e-4, atol=1e-4), torch.float64: dict(rtol=1e-10, atol=1e-10)}


def _expect_int(got, expected: int, what: str) -> None:
    """Exact equality with a Python int; a float such as 3.0 is reported as the wrong type."""
    if isinstance(got, bool) or not isinstance(got, numbers.Integral):
        raise CheckFailed(f"{what} should be a Python int, got {type(got).__name__} {got!r}")
    assert_equal(got, expected, what=what)


# ---------------------------------------------------------------- output sizes

@aspect(A, task="conv_output_size", points=2)
def conv_output_size_correct(conv_output_size):
    """conv_output_size equals torch's output length for every valid (n, k, s, p, d)."""

    def same_as_torch(g):
        got = call(conv_output_size, g["n"], g["k"], g["s"], g["p"], g["d"])
        _expect_int(got, oracles.conv_output_size(**g), what="output size")

    yield check_property(
        "output size equals torch's for every valid (n, k, s, p, d), dilation included",
        S.conv_geometry(), same_as_torch, max_examples=200,
        examples=[{"n": 5, "k": 3, "s": 1, "p": 0, "d": 1},     # the textbook case
                  {"n": 7, "k": 3, "s": 2, "p": 1, "d": 1},     # stride that does not divide
                  {"n": 8, "k": 3, "s": 2, "p": 1, "d": 1},     # ... and one that does
                  {"n": 1, "k": 1, "s": 1, "p": 0, "d": 1},     # a single pixel
                  {"n": 1, "k": 3, "s": 1, "p": 1, "d": 1},     # the kernel reads padding on both sides
                  {"n": 9, "k": 3, "s": 1, "p": 0, "d": 4},     # dilation: span 9, one output
                  {"n": 4, "k": 1, "s": 5, "p": 2, "d": 1}])    # stride larger than the input

    def keyword_arguments(g):
        got = call(conv_output_size, n=g["n"], k=g["k"], s=g["s"], p=g["p"], d=g["d"])
        _expect_int(got, oracles.conv_output_size(**g), what="output size with keyword arguments")
        n = max(g["n"], g["k"])
        _expect_int(call(conv_output_size, n, g["k"]), oracles.conv_output_size(n, g["k"], 1, 0, 1),
                     what=f"conv_output_size({n}, {g['k']}) with the defaults s=1, p=0, d=1")

    yield check_property("keyword arguments n, k, s, p, d and the defaults s=1, p=0, d=1",
                         S.conv_geometry(max_s=2, max_p=1, max_d=2), keyword_arguments, max_examples=20,
                         examples=[{"n": 6, "k": 2, "s": 1, "p": 0, "d": 1}])


@aspect(A, task="conv_transpose_output_size", points=2)
def conv_transpose_output_size_correct(conv_transpose_output_size):
    """conv_transpose_output_size equals nn.ConvTranspose1d's output length."""

    def same_as_torch(g):
        got = call(conv_transpose_output_size, g["n"], g["k"], g["s"], g["p"], g["output_padding"], g["d"])
        _expect_int(got, oracles.conv_transpose_output_size(**g), what="output size")
        got = call(conv_transpose_output_size, n=g["n"], k=g["k"], s=g["s"], p=g["p"],
                   output_padding=g["output_padding"], d=g["d"])
        _expect_int(got, oracles.conv_transpose_output_size(**g), what="output size with keyword arguments")

    yield check_property(
        "output size equals torch's ConvTranspose1d for every valid (n, k, s, p, output_padding, d)",
        S.conv_transpose_geometry(), same_as_torch, max_examples=150,
        examples=[{"n": 4, "k": 4, "s": 2, "p": 1, "output_padding": 0, "d": 1},   # the x2 up-sampler
                  {"n": 4, "k": 3, "s": 2, "p": 1, "output_padding": 1, "d": 1},   # 7 or 8: output_padding decides
                  {"n": 1, "k": 1, "s": 1, "p": 0, "output_padding": 0, "d": 1},
                  {"n": 5, "k": 3, "s": 1, "p": 0, "output_padding": 1, "d": 2},   # output_padding < dilation
                  {"n": 3, "k": 5, "s": 3, "p": 2, "output_padding": 2, "d": 1}])

    def defaults(g):
        expected = oracles.conv_transpose_output_size(g["n"], g["k"], 1, 0, 0, 1)
        _expect_int(call(conv_transpose_output_size, g["n"], g["k"]), expected,
                     what="output size with default s=1, p=0, output_padding=0, d=1")

    yield check_property("the defaults s=1, p=0, output_padding=0, d=1",
                         S.conv_transpose_geometry(), defaults, max_examples=10)


# ---------------------------------------------------------------- conv2d

_LIBRARY_CONV = re.compile(r"conv(?!ert)|im2col|col2im|nnpack", re.I)


def _conv2d_tensors(case):
    dtype = getattr(torch, case["dtype"]) if isinstance(case.get("dtype"), str) else torch.float32
    n, cin, cout = case["batch"], case["in_channels"], case["out_channels"]
    (h, w), (kh, kw) = case["size"], case["kernel"]
    x = tensor_from_seed((n, cin, h, w), case["seed"], dtype=dtype)
    weight = tensor_from_seed((cout, cin, kh, kw), case["seed"] + 1, dtype=dtype)
    bias = tensor_from_seed((cout,), case["seed"] + 2, dtype=dtype) if case["bias"] else None
    return x, weight, bias


def _call_conv2d(conv2d, x, weight, bias, stride, padding, dilation):
    """The student's conv2d; fails if an input changed or a library convolution ran."""
    originals = [t for t in (x, weight, bias) if t is not None]
    before = [t.clone() for t in originals]
    got = call(conv2d, x, weight, bias, stride, padding, dilation,
               forbid_ops=_LIBRARY_CONV,
               hint="Build the columns with F.pad and Tensor.unfold (or as_strided) and multiply once.")
    for name, old, now in zip(("x", "weight", "bias"), before, originals):
        if not torch.equal(old, now):
            raise CheckFailed(modified_in_place(name, who="conv2d"))
    return got


def _same_as_torch(conv2d):
    def holds(case):
        x, weight, bias = _conv2d_tensors(case)
        s, p, d = case["stride"], case["padding"], case["dilation"]
        got = _call_conv2d(conv2d, x, weight, bias, s, p, d)
        expected = oracles.conv2d(x, weight, bias, stride=s, padding=p, dilation=d)
        assert_close(got, expected, **_TOL[x.dtype], what="conv2d's output")
    return holds


@aspect(A, task="conv2d", points=3)
def conv2d_correct(conv2d):
    """conv2d equals F.conv2d for random shapes, ints and pairs, bias or none, float32 and float64."""
    base = {"batch": 2, "in_channels": 3, "out_channels": 2, "size": (7, 6), "kernel": (3, 3),
            "stride": 1, "padding": 0, "dilation": 1, "bias": True, "dtype": "float32", "seed": 1}
    yield check_property(
        "equals F.conv2d (shape, dtype, values) for every stride, padding and dilation, as ints and as pairs",
        S.conv2d_calls(), _same_as_torch(conv2d), max_examples=120,
        examples=[base,
                  {**base, "kernel": (1, 1)},                                        # a 1x1 convolution
                  {**base, "kernel": (2, 4), "stride": (2, 1), "padding": (0, 2),    # everything non-square
                   "dilation": (1, 2), "bias": False},
                  {**base, "batch": 1, "in_channels": 1, "out_channels": 1, "size": (5, 5),
                   "kernel": (5, 5)},                                                 # one output pixel
                  {**base, "size": (4, 9), "stride": (3, 2), "padding": 1, "dilation": (2, 1)},
                  {**base, "dtype": "float64", "padding": (2, 1), "dilation": 2}])

    def differentiable(case):
        x, weight, bias = _conv2d_tensors(case)
        s, p, d = case["stride"], case["padding"], case["dilation"]
        leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
        with torch.enable_grad():
            got = call(conv2d, leaves[0], leaves[1], bias=leaves[2], stride=s, padding=p, dilation=d)
            expected = oracles.conv2d(x, weight, bias, stride=s, padding=p, dilation=d)
            assert_close(got, expected, **_TOL[torch.float64], what="conv2d's output (keyword arguments)")
            if not got.requires_grad:
                raise CheckFailed("conv2d's output is cut off from autograd (it does not require grad): "
                                  "compute it with torch operations on the inputs, not through NumPy")
            upstream = tensor_from_seed(got.shape, case["seed"] + 5, dtype=torch.float64)
            grads = gradients(got, leaves, upstream)
            ref_leaves = [t.clone().requires_grad_(True) for t in (x, weight, bias)]
            ref_out = torch.nn.functional.conv2d(*ref_leaves, stride=s, padding=p, dilation=d)
            ref_grads = torch.autograd.grad(ref_out, ref_leaves, upstream)
        for name, g, r in zip(("x", "weight", "bias"), grads, ref_grads):
            if g is None:
                raise CheckFailed(f"conv2d's output does not depend on {name} through autograd")
            assert_close(g, r, **_TOL[torch.float64], what=f"the gradient with respect to {name}")

    yield check_property(
        "differentiable: autograd's gradients for x, weight and bias equal F.conv2d's (float64)",
        S.conv2d_calls().map(lambda c: {**c, "dtype": "float64", "bias": True}), differentiable,
        max_examples=25, examples=[{**base, "dtype": "float64"}])


@aspect(A, task="conv2d", points=1)
def conv2d_edge_cases(conv2d):
    """conv2d handles an empty batch, non-contiguous inputs, padding wider than the kernel."""
    base = {"batch": 2, "in_channels": 2, "out_channels": 3, "size": (5, 4), "kernel": (3, 2),
            "stride": 1, "padding": 0, "dilation": 1, "bias": True, "dtype": "float32", "seed": 7}
    edge = [{**base, "batch": 0},                                                   # N = 0
            {**base, "batch": 0, "stride": 2, "padding": (1, 2), "bias": False},
            {**base, "in_channels": 1, "out_channels": 1, "kernel": (1, 1), "padding": 3},
            {**base, "size": (3, 3), "kernel": (3, 3), "stride": (4, 5), "padding": 1},
            {**base, "size": (1, 1), "kernel": (1, 1)},
            {**base, "size": (2, 9), "kernel": (1, 3), "dilation": (5, 4), "stride": (1, 2)}]
    yield check_property(
        "an empty batch (N = 0), a single channel, padding wider than the kernel, a stride past the input",
        st.sampled_from(edge), _same_as_torch(conv2d), max_examples=1, examples=edge)

    def non_contiguous(case):
        x, weight, bias = _conv2d_tensors(case)
        # the same values, laid out differently in memory
        xt = x.transpose(2, 3).contiguous().transpose(2, 3)
        wt = weight.permute(3, 2, 1, 0).contiguous().permute(3, 2, 1, 0)
        bt = None if bias is None else torch.stack([bias, bias], 1)[:, 0]
        s, p, d = case["stride"], case["padding"], case["dilation"]
        got = _call_conv2d(conv2d, xt, wt, bt, s, p, d)
        expected = oracles.conv2d(x, weight, bias, stride=s, padding=p, dilation=d)
        assert_close(got, expected, **_TOL[x.dtype], what="conv2d's output on non-contiguous inputs")

    yield check_property("non-contiguous x, weight and bias (transposed or strided views)",
                         S.conv2d_calls(), non_contiguous, max_examples=25,
                         examples=[{**base, "batch": 1}])


@aspect(A, task="conv2d", points=2)
def conv2d_properties(conv2d):
    """conv2d is linear in x and in weight, translation-equivariant at stride 1, batch-independent."""
    tol = dict(rtol=1e-4, atol=1e-4)

    def linear(case):
        x1, weight, _ = _conv2d_tensors(case)
        x2 = tensor_from_seed(x1.shape, case["seed"] + 3)
        w2 = tensor_from_seed(weight.shape, case["seed"] + 4)
        a, b = 1.5, -0.75
        s, p, d = case["stride"], case["padding"], case["dilation"]
        f = lambda x, w: expect_tensor(_call_conv2d(conv2d, x, w, None, s, p, d),  # noqa: E731
                                       what="conv2d's output")
        lhs, rhs = f(a * x1 + b * x2, weight), a * f(x1, weight) + b * f(x2, weight)
        assert_close(lhs, rhs.detach(), **tol, what="conv2d(1.5 x1 - 0.75 x2, w), compared with "
                     "1.5 conv2d(x1, w) - 0.75 conv2d(x2, w),")
        lhs, rhs = f(x1, a * weight + b * w2), a * f(x1, weight) + b * f(x1, w2)
        assert_close(lhs, rhs.detach(), **tol, what="conv2d(x, 1.5 w1 - 0.75 w2), compared with "
                     "1.5 conv2d(x, w1) - 0.75 conv2d(x, w2),")

    yield check_property("linear in x and linear in weight (bias None)",
                         S.conv2d_calls().map(lambda c: {**c, "dtype": "float32", "bias": False}),
                         linear, max_examples=30)

    def equivariant(case):
        x, weight, bias = _conv2d_tensors(case)
        h, w = case["size"]
        dy, dx = min(1 + case["seed"] % 2, h - 1), min((case["seed"] // 2) % 4, w - 1)
        shifted = torch.zeros_like(x)
        shifted[..., dy:, dx:] = x[..., :h - dy, :w - dx]
        p, d = case["padding"], case["dilation"]
        (ph, pw), (dh, dw) = ((p, p) if isinstance(p, int) else p), ((d, d) if isinstance(d, int) else d)
        kh, kw = case["kernel"]
        # outputs whose window never reads the rows/columns pushed out by the shift
        rows = h - dy - (dh * (kh - 1) + 1) + ph + 1
        cols = w - dx - (dw * (kw - 1) + 1) + pw + 1
        y = expect_tensor(_call_conv2d(conv2d, x, weight, bias, 1, p, d), what="conv2d(x)")
        ys = expect_tensor(_call_conv2d(conv2d, shifted, weight, bias, 1, p, d),
                           what="conv2d(shifted x)")
        if y.shape != ys.shape or y.dim() != 4:
            raise CheckFailed(f"conv2d(x) and conv2d(shifted x) should have the same 4-D shape, "
                              f"got {tuple(y.shape)} and {tuple(ys.shape)}")
        if rows <= 0 or cols <= 0:
            return
        assert_close(ys[..., dy:dy + rows, dx:dx + cols], y[..., :rows, :cols].detach(), **tol,
                     what=f"conv2d(x shifted down {dy}, right {dx}) away from the border, "
                          f"compared with conv2d(x) shifted the same way,")

    yield check_property("translation equivariance at stride 1: shifting x shifts the output (away from the border)",
                         S.conv2d_calls(max_size=14, stride_one=True).map(lambda c: {**c, "dtype": "float32"}),
                         equivariant, max_examples=30,
                         examples=[{"batch": 1, "in_channels": 1, "out_channels": 1, "size": (8, 5),
                                    "kernel": (2, 3), "stride": 1, "padding": (1, 0), "dilation": 1,
                                    "bias": True, "dtype": "float32", "seed": 5}])

    def batch_independent(case):
        x, weight, bias = _conv2d_tensors(case)
        s, p, d = case["stride"], case["padding"], case["dilation"]
        whole = expect_tensor(_call_conv2d(conv2d, x, weight, bias, s, p, d),
                              what="conv2d on the batch")
        for i in range(x.shape[0]):
            one = expect_tensor(_call_conv2d(conv2d, x[i:i + 1], weight, bias, s, p, d),
                                what=f"conv2d on image {i} alone")
            if whole.dim() != 4 or whole.shape[0] != x.shape[0]:
                raise CheckFailed(f"conv2d on a batch of {x.shape[0]} returned shape {tuple(whole.shape)}")
            assert_close(one, whole[i:i + 1].detach(), **tol,
                         what=f"conv2d on image {i} alone, compared with item {i} of conv2d on the batch,")

    yield check_property("a batch equals its images one at a time",
                         S.conv2d_calls(max_batch=4).map(lambda c: {**c, "dtype": "float32",
                                                                    "batch": max(2, c["batch"])}),
                         batch_independent, max_examples=20)


# The timed case: the first layer of a CT classifier, four single-channel 64 x 64 patches,
# eight 3 x 3 filters, padding 1. Measured on the 2-core CI machine with the student's code in
# an isolated worker and F.conv2d in a clean one (one torch thread; each call's inputs and
# output cross the process boundary, which adds the same cost to both sides and pulls ratios
# towards 1): im2col + one matmul 1.4-1.6x F.conv2d; a loop over the 9 kernel offsets
# 0.8-1.2x (vectorized over pixels: meant to pass); a loop over output pixels, vectorized over
# batch and channels, 45-125x (in one process it was 165-650x). T = 8 leaves 5x on both sides.
SPEED_SHAPE = {"batch": 4, "in_channels": 1, "size": 64, "out_channels": 8, "kernel": 3, "padding": 1}
SPEED_THRESHOLDS = {"cpu": 8.0, "cuda": 8.0}   # cuda: provisional, not measured on a GPU


def _speed_inputs(seed, device):
    c = SPEED_SHAPE
    x = tensor_from_seed((c["batch"], c["in_channels"], c["size"], c["size"]), seed).to(device)
    w = tensor_from_seed((c["out_channels"], c["in_channels"], c["kernel"], c["kernel"]), seed + 1).to(device)
    b = tensor_from_seed((c["out_channels"],), seed + 2).to(device)
    return x, w, b, 1, c["padding"], 1


def _speed_check(args, got, expected):
    assert_close(got, expected, rtol=1e-4, atol=1e-4, what="conv2d's output in the timed calls")


@aspect(A, task="conv2d", points=2, kind="speed", requires=("conv2d_correct",))
def conv2d_speed(conv2d):
    """conv2d runs within a fixed ratio of F.conv2d's time (no Python loop over pixels)."""
    yield measure_ratio(SpeedCase(
        "as fast as im2col + one matrix multiply (input 4 x 1 x 64 x 64, 8 filters 3 x 3)",
        student=conv2d, reference=_REFERENCE_CONV2D, make_inputs=_speed_inputs,
        check=_speed_check, thresholds=SPEED_THRESHOLDS, forbid_ops=_LIBRARY_CONV))


# ---------------------------------------------------------------- parameters and FLOPs

def build_model(spec) -> nn.Module:
    """The module a ``small_model_specs`` description stands for (deterministic)."""
    torch.manual_seed(0)
    made = []
    for layer in spec["layers"]:
        kind = layer[0]
        if kind == "conv":
            made.append(nn.Conv2d(layer[1], layer[2], layer[3], bias=layer[4]))
        elif kind == "linear":
            made.append(nn.Linear(layer[1], layer[2], bias=layer[3]))
        elif kind == "batchnorm":
            made.append(nn.BatchNorm2d(layer[1]))
        else:
            made.append(nn.ReLU())
    for i, what in spec["frozen"]:
        for name, p in made[i].named_parameters():
            if what == "all" or name == what:
                p.requires_grad_(False)
    if spec["reuse_first"] and made:
        made.append(made[0])                      # one module, registered twice
    if spec["nested"] and len(made) > 1:
        half = len(made) // 2
        body = nn.Sequential(nn.Sequential(*made[:half]), nn.ModuleDict({"tail": nn.Sequential(*made[half:])}))
    else:
        body = nn.Sequential(*made)
    if spec["tied"] is None:
        return body
    model = nn.Module()
    model.body = body
    model.embed = nn.Embedding(spec["vocab"], spec["dim"])
    model.head = nn.Linear(spec["dim"], spec["vocab"])
    model.head.weight = model.embed.weight        # weight tying: one Parameter, two modules
    if spec["tied"] == "frozen":
        model.embed.weight.requires_grad_(False)
    return model


def _trainable_count(model: nn.Module) -> int:
    unique = {}
    for module in model.modules():
        for p in module._parameters.values():
            if p is not None:
                unique[id(p)] = p
    return sum(p.numel() for p in unique.values() if p.requires_grad)


@aspect(A, task="count_parameters", points=1)
def count_parameters_correct(count_parameters):
    """count_parameters counts trainable parameters, shared ones once, buffers never."""

    def holds(spec):
        model = build_model(spec)
        flags = [(id(p), p.requires_grad) for p in model.parameters()]
        got = call(count_parameters, model)
        _expect_int(got, _trainable_count(model), what="number of trainable parameters")
        if [(id(p), p.requires_grad) for p in model.parameters()] != flags:
            raise CheckFailed("count_parameters changed which parameters are trainable: it must only count")

    empty = {"layers": [], "frozen": [], "nested": False, "reuse_first": False, "tied": None,
             "vocab": 2, "dim": 1}
    yield check_property(
        "counts trainable parameters: frozen ones and buffers excluded, shared modules and tied weights once",
        S.small_model_specs(), holds, max_examples=80,
        examples=[empty,                                                               # no parameters
                  {**empty, "layers": [("relu",), ("batchnorm", 4)]},                  # buffers are not parameters
                  {**empty, "layers": [("conv", 3, 8, 3, True)], "frozen": [(0, "all")]},
                  {**empty, "layers": [("conv", 3, 8, 3, True)], "frozen": [(0, "bias")]},
                  {**empty, "layers": [("linear", 4, 4, True)], "reuse_first": True},  # the same module twice
                  {**empty, "tied": "trainable", "vocab": 10, "dim": 4},               # tied weights
                  {**empty, "layers": [("conv", 1, 2, 3, False), ("linear", 5, 3, True)],
                   "nested": True, "tied": "frozen", "vocab": 6, "dim": 3}])


def _flops_oracle(case) -> tuple[int, tuple[int, int]]:
    """FlopCounterMode on an actual F.conv2d call (meta tensors: shapes only)."""
    g = case["groups"]
    x = torch.empty(case["batch_size"], case["in_channels"], *case["input_size"], device="meta")
    w = torch.empty(case["out_channels"], case["in_channels"] // g, *case["kernel"], device="meta")
    b = torch.empty(case["out_channels"], device="meta")
    with FlopCounterMode(display=False) as counter:
        y = torch.nn.functional.conv2d(x, w, b, stride=case["stride"], padding=case["padding"],
                                       dilation=case["dilation"], groups=g)
    return int(counter.get_total_flops()), (int(y.shape[2]), int(y.shape[3]))


@aspect(A, task="conv_flops", points=1)
def conv_flops_correct(conv_flops):
    """conv_flops equals torch.utils.flop_counter.FlopCounterMode on an actual conv2d call."""

    def holds(case):
        expected, out_hw = _flops_oracle(case)
        kernel = case["kernel"]
        if case["ints_when_square"]:
            kernel = kernel[0] if kernel[0] == kernel[1] else kernel
            out_hw = out_hw[0] if out_hw[0] == out_hw[1] else out_hw
        got = call(conv_flops, case["in_channels"], case["out_channels"], kernel, out_hw,
                   groups=case["groups"], batch_size=case["batch_size"])
        _expect_int(got, expected, what=f"FLOPs for output size {describe(out_hw)}")
        if case["groups"] == 1 and case["batch_size"] == 1:
            _expect_int(call(conv_flops, case["in_channels"], case["out_channels"], kernel, out_hw),
                         expected, what="FLOPs with the defaults groups=1, batch_size=1")

    base = {"batch_size": 1, "in_channels": 64, "out_channels": 64, "groups": 1, "kernel": (3, 3),
            "input_size": (56, 56), "stride": (1, 1), "padding": (1, 1), "dilation": (1, 1),
            "ints_when_square": True}
    yield check_property(
        "FLOPs (2 per multiply-accumulate, bias not counted) equal FlopCounterMode's, groups and batch included",
        S.conv_flops_cases(), holds, max_examples=80,
        examples=[base,                                                              # a ResNet 3x3 layer
                  {**base, "kernel": (7, 7), "padding": (3, 3)},
                  {**base, "groups": 64, "out_channels": 64},                        # depthwise
                  {**base, "in_channels": 6, "out_channels": 4, "groups": 2, "kernel": (1, 3),
                   "input_size": (5, 9), "stride": (2, 1), "padding": (0, 1), "batch_size": 3,
                   "ints_when_square": False}])
