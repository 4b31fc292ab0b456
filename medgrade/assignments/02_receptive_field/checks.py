"""Checks of 02_receptive_field: analytic and empirical receptive fields, parameter and FLOP counts."""
from __future__ import annotations

import math
import numbers
import re

import torch
import torch.nn as nn
from torch.utils import flop_counter

from medgrade.failures import CheckFailed, assert_equal, expect_tensor, modified_in_place
from medgrade.properties import call, check_property
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "02_receptive_field"

# The analytic answer must be analytic: no autograd, no convolution or pooling run.
_AUTOGRAD = [(torch.autograd, "grad", "torch.autograd.grad"),
             (torch.autograd, "backward", "torch.autograd.backward"),
             (torch.Tensor, "backward", "Tensor.backward")]
_LAYER_OPS = re.compile(r"conv|pool")
# The cost is counted, not measured.
_COUNTERS = [(flop_counter, "FlopCounterMode", "torch.utils.flop_counter.FlopCounterMode")]
_CONV_OPS = re.compile(r"conv")


def _reference(*names):
    """The grader's own references, refused like the library's versions of the exercise."""
    return [(oracles, name, f"{oracles.__name__}.{name} (the grader's reference)") for name in names]


_RF_REFUSED = _AUTOGRAD + _reference("receptive_field", "input_support", "_support_twin")
_ERF_REFUSED = _reference("receptive_field", "input_support", "_support_twin")
_COST_REFUSED = _COUNTERS + _reference("conv_stack_cost")


# ---------------------------------------------------------------- models the checks build

def build_model(spec) -> nn.Module:
    """The module an :func:`inputs.rf_model_specs` description stands for
    (deterministic; only torch classes, so it can be sent to an isolated worker)."""
    torch.manual_seed(spec["seed"])
    channels = spec["input"][0]
    blocks, current = [], []
    for layer in spec["layers"]:
        kind = layer["layer"]
        if kind == "conv":
            if current:
                blocks.append(current)
            current = []
            conv = nn.Conv2d(channels, layer["out_channels"], layer["kernel_size"], stride=layer["stride"],
                             padding=layer["padding"], dilation=layer["dilation"],
                             bias=layer["bias"] != "none")
            with torch.no_grad():
                if layer["zero_row"] and conv.weight.shape[2] > 1:
                    conv.weight[:, :, 0, :] = 0.0          # the kernel's top row: pruned, say
                if layer["bias"] == "negative":
                    conv.bias.fill_(-25.0)                  # every ReLU after it is dead
            channels = layer["out_channels"]
            current.append(conv)
        elif kind == "bn":
            bn = nn.BatchNorm2d(channels)
            with torch.no_grad():
                bn.weight.copy_({"random": torch.rand(channels) + 0.5, "negative": -torch.rand(channels) - 0.5,
                                 "zero": torch.zeros(channels)}[layer["gamma"]])
                bn.bias.uniform_(-1.0, 1.0)
                bn.running_mean.uniform_(-1.0, 1.0)
                bn.running_var.uniform_(0.5, 2.0)
            current.append(bn)
        elif kind == "relu":
            current.append(nn.ReLU())
        elif kind == "maxpool":
            current.append(nn.MaxPool2d(layer["kernel_size"], layer["stride"], layer["padding"],
                                        ceil_mode=layer["ceil_mode"]))
        elif kind == "avgpool":
            current.append(nn.AvgPool2d(layer["kernel_size"], layer["stride"], layer["padding"],
                                        ceil_mode=layer["ceil_mode"]))
        elif kind == "pad":
            current.append(nn.ZeroPad2d(tuple(layer["padding"])))
        elif kind == "upsample":
            current.append(nn.Upsample(scale_factor=2, mode="nearest"))
        else:
            raise ValueError(kind)
    if current:
        blocks.append(current)
    if spec["nested"]:          # nn.Sequential inside nn.Sequential, the first block one level deeper
        inner = [nn.Sequential(*block) for block in blocks]
        model = nn.Sequential(nn.Sequential(inner[0]), *inner[1:])
    else:
        model = nn.Sequential(*[m for block in blocks for m in block])
    return model.train(spec["train"])


def _interior(layers, room: int = 0):
    """An input length and an output index whose field lies inside the input with ``room``
    more units after it: (n, m) from the oracle recurrence."""
    r, j, start = oracles.receptive_field(layers)
    half = (r - 1) / 2
    m = max(0, math.ceil((half - start) / j))          # the first unit whose field starts at >= 0
    n = int(start + (m + room) * j + half) + 1
    return n, m


def _measured(layers):
    """Autograd on the stack as an nn.Sequential (one channel), for an interior output unit
    (row m, column m + 1) of an input large enough: (size, jump, start) read off the gradient."""
    n, m = _interior(layers, room=1)
    model = build_model(S.rf_layers_to_model_spec(layers))
    mask = oracles.input_support(model, (1, n, n), unit=(m, m + 1))
    rows = torch.nonzero(mask.any(dim=1)).flatten()
    cols = torch.nonzero(mask.any(dim=0)).flatten()
    size = int(rows[-1] - rows[0]) + 1
    centre_m, centre_next = (rows[0] + rows[-1]).item() / 2, (cols[0] + cols[-1]).item() / 2
    jump = round(centre_next - centre_m)
    return size, jump, centre_m - m * jump, m


# ---------------------------------------------------------------- receptive_field

def _rf_call(receptive_field, layers):
    fresh = [dict(layer) for layer in layers]
    got = call(receptive_field, fresh, forbid=_RF_REFUSED, forbid_ops=_LAYER_OPS,
               hint="Compute the receptive field from the layers' numbers, with the recurrence.")
    now, given = [dict(layer) for layer in fresh], [dict(layer) for layer in layers]
    if now != given and (len(now) != len(given) or all(layer in given for layer in now)):
        raise CheckFailed(f"{modified_in_place('layers', who='receptive_field')}: the list's order or length "
                          f"changed (the docstring says: do not modify the list); walk it without changing it, "
                          f"e.g. with reversed(layers)")
    if now != given:
        raise CheckFailed(f"{modified_in_place('layers', who='receptive_field')} (the docstring says: do not "
                          f"modify the dicts); read the defaults into local variables instead")
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        kind = type(got).__name__ + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        raise CheckFailed(f"receptive_field should return a tuple (size, jump, start), got a {kind}")
    return got


def _expect_int(got, expected: int, what: str) -> None:
    if isinstance(got, bool) or not isinstance(got, numbers.Integral):
        raise CheckFailed(f"{what} should be a Python int, got {type(got).__name__} {got!r}")
    assert_equal(int(got), expected, what=what)


def _expect_number(got, expected: float, what: str) -> None:
    if isinstance(got, bool) or not isinstance(got, numbers.Real):
        raise CheckFailed(f"{what} should be a number (float or int), got {type(got).__name__} {got!r}")
    if not math.isfinite(float(got)) or abs(float(got) - expected) > 1e-9:
        raise CheckFailed(f"{what}: expected {expected:g}, got {float(got):g}")


_RF_EXAMPLES = [
    [],                                                                        # no layer: one pixel
    [{"kind": "conv", "kernel_size": 3}],
    [{"kind": "conv", "kernel_size": 3, "padding": 1}] * 3,                    # three 3x3: 7, like one 7x7
    [{"kind": "conv", "kernel_size": 7, "stride": 2, "padding": 3},            # a ResNet stem
     {"kind": "pool", "kernel_size": 3, "stride": 2, "padding": 1}],
    [{"kind": "conv", "kernel_size": 3, "padding": 1}, {"kind": "pool", "kernel_size": 2},   # pool: stride = 2
     {"kind": "conv", "kernel_size": 3, "padding": 1}, {"kind": "pool", "kernel_size": 2, "stride": None}],
    [{"kind": "conv", "kernel_size": 3, "dilation": 2, "padding": 2},          # dilation 1, 2, 4
     {"kind": "conv", "kernel_size": 3, "dilation": 4, "padding": 4}],
    [{"kind": "conv", "kernel_size": 2, "stride": 2}, {"kind": "conv", "kernel_size": 4, "padding": 3}],
    [{"kind": "conv", "kernel_size": 1, "stride": 3}, {"kind": "conv", "kernel_size": 1}],
    [{"kind": "pool", "kernel_size": 3, "stride": 1, "padding": 1},
     {"kind": "conv", "kernel_size": 5, "stride": 2, "dilation": 3, "padding": 0}],
    [{"kind": "conv", "kernel_size": 4, "stride": None, "padding": 1, "channels": 16},   # None: the default;
     {"kind": "pool", "kernel_size": 3, "stride": None, "name": "pool1"}],              # other keys ignored
    [{"kind": "pool", "kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2},      # a dilated pool
     {"kind": "conv", "kernel_size": 2}],
]


@aspect(A, task="receptive_field", points=3)
def receptive_field_size(receptive_field):
    """Size and jump of the last layer's units: the recurrence, and autograd on the actual stack."""

    def same_as_recurrence(layers):
        got = _rf_call(receptive_field, layers)
        r, j, _ = oracles.receptive_field(layers)
        _expect_int(got[1], j, "the jump (distance in input pixels between neighbouring output units)")
        _expect_int(got[0], r, "the receptive field size")

    yield check_property(
        "size and jump equal the recurrence r += (d(k-1)) j, j *= s for stacks of convolutions and "
        "pools with stride, padding and dilation (pools too; a pool's stride defaults to its kernel size)",
        S.rf_layer_specs(pool_dilation=True), same_as_recurrence, max_examples=100, examples=_RF_EXAMPLES)

    def same_as_autograd(layers):
        got = _rf_call(receptive_field, layers)
        size, jump, _, _ = _measured(layers)
        _expect_int(got[0], size, "the receptive field size (the extent of the input gradient of an "
                                  "interior output unit of the actual network)")
        _expect_int(got[1], jump, "the jump (the shift of that gradient between neighbouring output units)")

    yield check_property(
        "analytic = empirical: size and jump equal what autograd measures on the stack built as an "
        "nn.Sequential (an interior unit of an input large enough)",
        S.rf_layer_specs(max_layers=5, max_jump=16), same_as_autograd, max_examples=30,
        examples=_RF_EXAMPLES[3:6])


@aspect(A, task="receptive_field", points=2)
def receptive_field_start(receptive_field):
    """Start (centre of the first unit's field): the recurrence, and autograd on the actual stack."""

    def same_as_recurrence(layers):
        got = _rf_call(receptive_field, layers)
        _, _, start = oracles.receptive_field(layers)
        _expect_number(got[2], start, "start (the centre of the first output unit's field, input pixel "
                                      "i centred at coordinate i)")

    yield check_property(
        "start equals the recurrence start += ((d(k-1))/2 - p) j, from 0 for the input pixel 0 "
        "(negative with padding, a half-integer for even spans)",
        S.rf_layer_specs(pool_dilation=True), same_as_recurrence, max_examples=100, examples=_RF_EXAMPLES)

    def same_as_autograd(layers):
        got = _rf_call(receptive_field, layers)
        _, jump, start, m = _measured(layers)
        _expect_number(got[2], start, f"start (measured: the field of output unit {m} of the actual network "
                                      f"is centred at start + {m} * jump)")

    yield check_property(
        "analytic = empirical: start + m * jump is the centre of the input gradient of output unit m, "
        "measured by autograd on the stack built as an nn.Sequential",
        S.rf_layer_specs(max_layers=5, max_jump=16), same_as_autograd, max_examples=30,
        examples=_RF_EXAMPLES[3:7])


# ---------------------------------------------------------------- empirical_receptive_field

def _state(model):
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def _erf_call(fn, model, input_size, unit):
    before = _state(model)
    args = (model, tuple(input_size)) + (() if unit is None else (tuple(unit),))
    got = call(fn, *args, forbid=_ERF_REFUSED)
    after = model.state_dict()
    for name, value in before.items():
        if not torch.equal(value, after[name]):
            raise CheckFailed(f"{modified_in_place(f'model ({name})', who='empirical_receptive_field')}: "
                              f"work on a copy (copy.deepcopy)")
    return got


def _mask_text(mask: torch.Tensor) -> str:
    rows = ["".join("#" if v else "." for v in row) for row in mask.tolist()]
    return "\n".join("    " + r for r in rows)


def _same_mask(got, expected, what):
    expect_tensor(got, what=what, shape=expected.shape, dtype=torch.bool)
    if not torch.equal(got.cpu(), expected):
        if expected.numel() <= 48 * 48:
            raise CheckFailed(f"{what} differs from the receptive field (# = influences the unit)\n"
                              f"  expected:\n{_mask_text(expected)}\n  got:\n{_mask_text(got.cpu())}")
        raise CheckFailed(f"{what} differs from the receptive field in "
                          f"{int((got.cpu() != expected).sum())} pixels")


def _exact_mask(fn):
    def holds(spec):
        model = build_model(spec)
        expected = oracles.input_support(model, spec["input"], spec["unit"])
        got = _erf_call(fn, model, spec["input"], spec["unit"])
        unit = "the centre output unit" if spec["unit"] is None else f"output unit {tuple(spec['unit'])}"
        _same_mask(got, expected, f"the receptive field of {unit}")
    return holds


def _analytic_box(fn):
    def holds(layers):
        n, m = _interior(layers)
        spec = S.rf_layers_to_model_spec(layers, channels=2, seed=len(layers))
        spec["input"] = [2, n, n]
        model = build_model(spec)
        got = expect_tensor(_erf_call(fn, model, (2, n, n), (m, m)), what="the mask", shape=(n, n),
                            dtype=torch.bool)
        r, j, start = oracles.receptive_field(layers)
        lo = int(start + m * j - (r - 1) / 2)
        rows = torch.nonzero(got.any(dim=1)).flatten().tolist()
        cols = torch.nonzero(got.any(dim=0)).flatten().tolist()
        want = (lo, lo + r - 1)
        for axis, found in (("rows", rows), ("columns", cols)):
            span = (found[0], found[-1]) if found else None
            if span != want:
                raise CheckFailed(f"output unit ({m}, {m}) of an input {n} x {n}: its field should span {axis} "
                                  f"{want[0]}..{want[1]} (size {r}, centred at start + m * jump = "
                                  f"{start + m * j:g}), your mask spans {axis} "
                                  f"{'nothing' if span is None else f'{span[0]}..{span[1]}'}")
    return holds


_CONV = {"layer": "conv", "out_channels": 2, "kernel_size": 3, "stride": 1, "padding": 1, "dilation": 1,
         "bias": "random", "zero_row": False}
_BASE = {"input": [1, 9, 9], "layers": [_CONV], "unit": None, "nested": False, "train": False, "seed": 0}
_RELU, _BN = {"layer": "relu"}, {"layer": "bn", "gamma": "negative"}
# Deep stacks: the gradient at the field's edge is ~1e-20 of its centre (path counts), and with
# pools also tiny in absolute terms: only "nonzero" is the field, no threshold on its size.
_DEEP_CONV = {**_BASE, "input": [2, 65, 65], "nested": True,
              "layers": [{**_CONV, "kernel_size": 5, "padding": 2, "bias": "none"}, _RELU] * 16}
_DEEP_POOL = {**_BASE, "input": [1, 49, 49],
              "layers": [{**_CONV, "out_channels": 1}, _RELU, {"layer": "maxpool", "kernel_size": 3, "stride": 1,
                                                             "padding": 1, "ceil_mode": False}] * 12}


@aspect(A, task="empirical_receptive_field", points=2)
def empirical_receptive_field_conv(empirical_receptive_field):
    """Convolution stacks: exactly the connected pixels, whatever the weights; the analytic box inside."""
    yield check_property(
        "the mask is exactly the set of input pixels connected to the unit, for convolution stacks with "
        "zero kernel rows, dead ReLUs, batch norm (training mode or not), padding, stride, dilation "
        "(gridding holes), fields that spill over the border, nn.Sequential nested two or three deep, "
        "zero padding or up-sampling layers, and deep stacks (however small the gradient at the field's "
        "edge); the model is left unchanged",
        S.rf_model_specs(extras=True), _exact_mask(empirical_receptive_field), max_examples=50,
        examples=[_BASE,
                  {**_BASE, "layers": [{**_CONV, "zero_row": True}, _RELU], "unit": [0, 0]},
                  {**_BASE, "layers": [{**_CONV, "bias": "negative"}, _RELU, _CONV], "train": True},
                  {**_BASE, "input": [2, 12, 11], "layers": [_CONV, _BN, _RELU, _CONV, _BN, _RELU],
                   "nested": True, "train": True},
                  {**_BASE, "input": [1, 15, 15],                                 # dilation 2 twice: holes
                   "layers": [{**_CONV, "dilation": 2, "padding": 2}, {**_CONV, "dilation": 2, "padding": 0}]},
                  {**_BASE, "input": [1, 10, 10], "unit": [1, 3],
                   "layers": [{**_CONV, "stride": 2}, {"layer": "pad", "padding": (3, 0, 1, 2)},
                              {"layer": "upsample"}, {**_CONV, "kernel_size": (1, 3), "padding": 0}]},
                  _DEEP_CONV])
    yield check_property(
        "analytic = empirical: for an interior unit of an input large enough, the mask's bounding box is "
        "the analytic field (size r centred at start + m * jump)",
        S.rf_layer_specs(max_layers=4, max_jump=8).filter(lambda ls: all(x["kind"] == "conv" for x in ls)),
        _analytic_box(empirical_receptive_field), max_examples=20,
        examples=[[{"kind": "conv", "kernel_size": 3, "padding": 1}] * 3,
                  [{"kind": "conv", "kernel_size": 5, "stride": 2, "dilation": 2}, {"kind": "conv", "kernel_size": 2}]])


_POOL = {"layer": "maxpool", "kernel_size": 2, "stride": 2, "padding": 0, "ceil_mode": False}


@aspect(A, task="empirical_receptive_field", points=2)
def empirical_receptive_field_pooling(empirical_receptive_field):
    """Stacks with max and average pooling: every pixel of every window counts, not only the argmax."""
    yield check_property(
        "with max pooling (and average pooling, padding, ceil mode) the mask is exactly the set of "
        "connected input pixels, not only the pixels that won the max for one input (also through "
        "many pools, however small the gradient at the field's edge)",
        S.rf_model_specs(pools=True), _exact_mask(empirical_receptive_field), max_examples=50,
        examples=[{**_BASE, "input": [1, 8, 8], "layers": [_CONV, _RELU, _POOL]},
                  {**_BASE, "input": [2, 13, 12], "unit": [0, 2], "nested": True,
                   "layers": [_CONV, _RELU, {**_POOL, "kernel_size": 3, "padding": 1, "ceil_mode": True},
                              _CONV, _POOL]},
                  {**_BASE, "input": [1, 9, 9], "layers": [_POOL, {**_POOL, "stride": 1}, _CONV]},
                  _DEEP_POOL])
    yield check_property(
        "analytic = empirical with max pools: for an interior unit of an input large enough, the mask's "
        "bounding box is the analytic field",
        S.rf_layer_specs(max_layers=4, max_jump=8).filter(lambda ls: any(x["kind"] == "pool" for x in ls)),
        _analytic_box(empirical_receptive_field), max_examples=20,
        examples=[[{"kind": "conv", "kernel_size": 3, "padding": 1}, {"kind": "pool", "kernel_size": 2},
                   {"kind": "conv", "kernel_size": 3, "padding": 1}, {"kind": "pool", "kernel_size": 2}]])


# ---------------------------------------------------------------- conv_stack_cost

def _cost_call(fn, case):
    """The answer for ``case`` and how it was asked: bias=True is left to the default for odd-length stacks."""
    default = case["bias"] is True and len(case["kernel_sizes"]) % 2 == 1
    kwargs = {} if default else {"bias": case["bias"]}
    got = call(fn, list(case["kernel_sizes"]), case["channels"], case["size"], **kwargs,
               forbid=_COST_REFUSED, forbid_ops=_CONV_OPS,
               hint="Count with the formulas; do not build and run the layers.")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        kind = type(got).__name__ + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        raise CheckFailed(f"conv_stack_cost should return a tuple (parameters, flops), got a {kind}")
    return got, " (bias left to its default, True)" if default else ""


_COST_BASE = {"kernel_sizes": [3, 3, 3], "channels": 64, "size": 56, "bias": True}
_COST_EXAMPLES = [_COST_BASE,                                                     # three 3x3 ...
                  {**_COST_BASE, "kernel_sizes": [7]},                            # ... or one 7x7
                  {**_COST_BASE, "bias": False},
                  {**_COST_BASE, "kernel_sizes": [], "channels": [5]},            # no layer at all
                  {"kernel_sizes": [1, 3, 1], "channels": [256, 64, 64, 256], "size": (28, 20), "bias": False},
                  {"kernel_sizes": [(3, 1), (1, 3)], "channels": [4, 8, 2], "size": (9, 5), "bias": True},
                  {"kernel_sizes": [5], "channels": 3, "size": 1, "bias": True},
                  # counts beyond 2**31 (parameters) and 2**53 (FLOPs): exact Python ints
                  {"kernel_sizes": [(11, 13), 1, 3], "channels": [4001, 5003, 4099, 77], "size": (4095, 3071),
                   "bias": True}]


@aspect(A, task="conv_stack_cost", points=1)
def conv_stack_cost_params(conv_stack_cost):
    """Parameters of a stack of "same" convolutions equal those of the actual nn.Conv2d modules."""

    def holds(case):
        params, _ = oracles.conv_stack_cost(**case)
        got, how = _cost_call(conv_stack_cost, case)
        _expect_int(got[0], params, "the number of parameters" + how)

    yield check_property(
        "parameters = sum of C_out C_in kh kw (+ C_out with bias, the default) over the layers, as nn.Conv2d "
        "counts them, exact however large",
        S.conv_stack_cases(), holds, max_examples=60, examples=_COST_EXAMPLES)


@aspect(A, task="conv_stack_cost", points=1)
def conv_stack_cost_flops(conv_stack_cost):
    """FLOPs of a stack of "same" convolutions equal FlopCounterMode's on the actual modules."""

    def holds(case):
        _, flops = oracles.conv_stack_cost(**case)
        got, how = _cost_call(conv_stack_cost, case)
        _expect_int(got[1], flops, "the number of FLOPs" + how)

    yield check_property(
        "FLOPs (2 per multiply-accumulate, bias additions not counted, batch of one) equal "
        "FlopCounterMode's for the stack on an input of the given size, exact however large",
        S.conv_stack_cases(), holds, max_examples=60, examples=_COST_EXAMPLES)

