"""Checks of 26_compression: L1 unstructured and global pruning masks, structured channel
pruning (and its speed), affine quantization (parameters from a range, per tensor and per
channel, dequantization), dynamic quantization and model size, distillation loss.

Oracles are torch's own: ``torch.nn.utils.prune``, the ``MinMaxObserver`` family,
``torch.quantize_per_tensor`` / ``quantize_per_channel``, ``quantize_dynamic`` and
``F.kl_div``. Where torch leaves a choice open (ties in ``topk``), the property is the
contract's rule, not torch's incidental choice.
"""
from __future__ import annotations

import copy
import re

import torch
import torch.nn as nn
import torch.nn.functional as F
from hypothesis import strategies as st
from torch.nn.utils import prune as _prune

from medgrade.common.tensors import tensor_from_seed
from medgrade.failures import (
    CheckFailed,
    WorkerLost,
    assert_close,
    assert_equal,
    describe,
    expect_tensor,
    modified_in_place,
    wrong_dtype,
)
from medgrade.isolation import Remote
from medgrade.properties import PropertyResult, beside, call, check_once, check_property, gradients, showing
from medgrade.registry import aspect
from medgrade.timing import SpeedCase, grading_device, measure_ratio

from . import inputs as S
from . import reference as oracles

A = "26_compression"

_F32_EPS = torch.finfo(torch.float32).eps

# ---------------------------------------------------------------- the library refused

_PRUNE = [(_prune, "l1_unstructured", "torch.nn.utils.prune.l1_unstructured"),
          (_prune, "global_unstructured", "torch.nn.utils.prune.global_unstructured"),
          (_prune, "ln_structured", "torch.nn.utils.prune.ln_structured"),
          (_prune.L1Unstructured, "compute_mask", "torch.nn.utils.prune.L1Unstructured"),
          (_prune.LnStructured, "compute_mask", "torch.nn.utils.prune.LnStructured")]


def _observer_entries():
    from torch.ao.quantization import observer, utils
    entries = [(observer.UniformQuantizationObserverBase, "_calculate_qparams",
                "torch.ao.quantization observers (calculate_qparams)")]
    if hasattr(utils, "determine_qparams"):
        entries.append((utils, "determine_qparams", "torch.ao.quantization.utils.determine_qparams"))
    return entries


_QUANT_OPS = re.compile(r"quantize_per|fake_quantize|dequantize|int_repr|choose_qparams|_make_per_")
_KL = [(F, "kl_div", "torch.nn.functional.kl_div"), (torch, "kl_div", "torch.kl_div"),
       (nn.KLDivLoss, "forward", "torch.nn.KLDivLoss")]
_KL_OPS = re.compile(r"kl_div")        # the operator itself, however it is reached


def _student(fn, *args, forbid=(), forbid_ops=None, hint="", **kwargs):
    return call(fn, *args, forbid=forbid, forbid_ops=forbid_ops, hint=hint, **kwargs)


def _dtype(name):
    return torch.float64 if name == "float64" else torch.float32


def _unchanged(before, after, what):
    if not torch.equal(before, after):
        raise CheckFailed(modified_in_place(what))


def _amount_text(amount):
    return f"{amount!r} ({'a fraction' if isinstance(amount, float) else 'a count'})"


# ---------------------------------------------------------------- l1_unstructured_mask

def _prune_count(amount, n):
    return round(amount * n) if isinstance(amount, float) else int(amount)


def _strided(t):
    """The same values in another memory layout, as a transposed or sliced weight has: column-major
    (``view(-1)`` fails on it) from 2 dims on, every other element of a larger tensor in 1 dim."""
    if t.dim() >= 2:
        return t.transpose(0, -1).contiguous().transpose(0, -1)
    holder = t.new_zeros(t.numel(), 2)
    holder[:, 0] = t
    return holder[:, 0]


def _close_float64(n, seed):
    """n float64 weights of magnitudes 1 + k * 1e-12 (k a permutation of 0..n-1), random signs:
    distinct in float64, all equal once rounded to float32."""
    g = torch.Generator().manual_seed(seed)
    k = torch.randperm(n, generator=g).to(torch.float64)
    signs = torch.randint(0, 2, (n,), generator=g).to(torch.float64) * 2 - 1
    return (1 + k * 1e-12) * signs


def _mask_call(fn, weight, amount, strided=False):
    passed = _strided(weight) if strided else weight.clone()
    got = _student(fn, passed, amount, forbid=_PRUNE, hint="Sort or rank the magnitudes yourself.")
    _unchanged(weight, passed, "weight")
    expect_tensor(got, what="the mask", shape=weight.shape, dtype=weight.dtype)
    if not bool(((got == 0) | (got == 1)).all()):
        raise CheckFailed(f"the mask must hold only 0 (pruned) and 1 (kept); got {describe(got)}")
    return got


def _threshold_rule(weights, masks, amount, what="the mask"):
    """Exactly round(amount * n) (or amount) zeros, and no pruned |w| above a kept |w|."""
    flat_w = torch.cat([w.detach().double().abs().reshape(-1) for w in weights])
    flat_m = torch.cat([m.detach().double().reshape(-1) for m in masks])
    n, k = flat_w.numel(), _prune_count(amount, flat_w.numel())
    pruned = int((flat_m == 0).sum())
    if pruned != k:
        raise CheckFailed(f"{what} prunes {pruned} of {n} weights; amount = {_amount_text(amount)} asks for "
                          f"exactly {k} (a fraction is rounded like torch: round(amount * n))")
    if 0 < k < n:
        largest_pruned = flat_w[flat_m == 0].max().item()
        smallest_kept = flat_w[flat_m == 1].min().item()
        if largest_pruned > smallest_kept:
            raise CheckFailed(f"{what} prunes a weight of magnitude {largest_pruned:g} but keeps one of "
                              f"magnitude {smallest_kept:g}: the smallest magnitudes must go first")


def _weight_of(case):
    return S.prune_weight_from_case(case["shape"], case["seed"], case["tied"], _dtype(case["dtype"]))


def _mask_shown(case):
    return {"weight": _weight_of(case), "amount": case["amount"]}


def _mask_example(shape, amount, tied=False, dtype="float32", seed=0):
    return {"shape": shape, "amount": amount, "tied": tied, "dtype": dtype, "seed": seed}


@aspect(A, task="l1_unstructured_mask", points=3)
def l1_unstructured_mask_correct(l1_unstructured_mask):
    """Without ties the mask equals torch.nn.utils.prune.l1_unstructured's, for fractions and counts."""

    @showing(_mask_shown)
    def same_as_torch(case):
        weight = _weight_of(case)
        got = _mask_call(l1_unstructured_mask, weight, case["amount"], strided=case["seed"] % 2 == 1)
        assert_equal(got, oracles.l1_unstructured_mask(weight, case["amount"]), what="the mask")

    yield check_property(
        "on weights with distinct magnitudes the mask equals torch.nn.utils.prune.l1_unstructured's "
        "(shape and dtype of the weight, 1 = kept, 0 = pruned; amount a fraction or a count; "
        "contiguous or strided weights; the weight left unchanged)",
        S.prune_weight_cases(), same_as_torch, max_examples=80,
        examples=[_mask_example((10,), 0.25),          # 2.5 rounds to 2 (half to even, like torch)
                  _mask_example((10,), 0.35),          # 3.5 rounds to 4
                  _mask_example((2, 5), 3),            # a count
                  _mask_example((4, 3), 1),            # the int 1 is one weight, not 100 %
                  _mask_example((4, 3), 1.0),          # the float 1.0 is every weight
                  _mask_example((3, 2, 2), 0.0), _mask_example((3, 2, 2), 0),
                  _mask_example((1,), 1, dtype="float64"),
                  _mask_example((2, 3, 2, 2), 0.5, dtype="float64", seed=3)])

    def close_float64():
        for amount in (9, 0.5):
            weight = _close_float64(24, 7)
            got = _mask_call(l1_unstructured_mask, weight, amount)
            assert_equal(got, oracles.l1_unstructured_mask(weight, amount),
                         what=f"the mask (amount {amount!r}) of float64 weights 1 + k * 1e-12 in magnitude "
                              f"(distinct in float64, equal in float32: rank them in their own dtype)")

    yield check_once("float64 weights whose magnitudes differ by less than float32 can tell apart: the mask "
                     "equals torch's", close_float64)


@aspect(A, task="l1_unstructured_mask", points=1)
def l1_unstructured_mask_ties(l1_unstructured_mask):
    """With equal magnitudes: exactly the asked number pruned, never a larger |w| than a kept one."""

    @showing(_mask_shown)
    def rule(case):
        weight = _weight_of(case)
        got = _mask_call(l1_unstructured_mask, weight, case["amount"])
        _threshold_rule([weight], [got], case["amount"])

    yield check_property(
        "on weights with many equal magnitudes (zeros too) the mask prunes exactly round(amount * n) "
        "(or amount) weights, and no pruned weight is larger in magnitude than a kept one",
        S.prune_weight_cases(tied=True), rule, max_examples=60,
        examples=[_mask_example((6,), 3, tied=True, seed=1),
                  _mask_example((2, 4), 0.5, tied=True, seed=2),
                  _mask_example((5,), 2, tied=True, seed=4)])

    def all_equal():
        for amount in (0, 3, 0.5, 7, 1.0):
            weight = torch.full((7,), -0.5)
            got = _mask_call(l1_unstructured_mask, weight, amount)
            _threshold_rule([weight], [got], amount, what=f"the mask of 7 equal weights (amount {amount!r})")

    yield check_once("seven equal weights: exactly the asked number pruned (0, 3, 4 of 0.5, 7, all)", all_equal)


# ---------------------------------------------------------------- global_l1_masks

def _global_call(fn, weights, amount, strided=False):
    passed = [_strided(w) if strided else w.clone() for w in weights]
    got = _student(fn, passed, amount, forbid=_PRUNE, hint="Rank the magnitudes of all layers together yourself.")
    for i, (w, p) in enumerate(zip(weights, passed)):
        _unchanged(w, p, f"weights[{i}]")
    if not isinstance(got, (list, tuple)) or len(got) != len(weights):
        raise CheckFailed(f"global_l1_masks should return a list of {len(weights)} masks, one per tensor; "
                          f"got {describe(got)}")
    for i, (w, m) in enumerate(zip(weights, got)):
        expect_tensor(m, what=f"mask {i}", shape=w.shape, dtype=w.dtype)
        if not bool(((m == 0) | (m == 1)).all()):
            raise CheckFailed(f"mask {i} must hold only 0 and 1; got {describe(m)}")
    return list(got)


def _global_shown(case):
    return {"weights": S.global_weights_from_case(case), "amount": case["amount"]}


@aspect(A, task="global_l1_masks", points=2)
def global_l1_masks_correct(global_l1_masks):
    """Global pruning: masks equal prune.global_unstructured's; with ties, the exact count and order."""

    @showing(_global_shown)
    def same_as_torch(case):
        weights = S.global_weights_from_case(case)
        got = _global_call(global_l1_masks, weights, case["amount"], strided=case["seed"] % 2 == 1)
        for i, (g, e) in enumerate(zip(got, oracles.global_l1_masks(weights, case["amount"]))):
            assert_equal(g, e, what=f"mask {i}")

    def close_float64():
        flat = _close_float64(30, 11)
        weights = [flat[:6].reshape(2, 3), flat[6:10], flat[10:].reshape(5, 2, 2)]
        for amount in (13, 0.4):
            got = _global_call(global_l1_masks, weights, amount)
            for i, (g, e) in enumerate(zip(got, oracles.global_l1_masks(weights, amount))):
                assert_equal(g, e, what=f"mask {i} (amount {amount!r}) of float64 weights 1 + k * 1e-12 in "
                                        f"magnitude (distinct in float64, equal in float32)")

    @showing(_global_shown)
    def rule(case):
        weights = S.global_weights_from_case(case)
        got = _global_call(global_l1_masks, weights, case["amount"])
        _threshold_rule(weights, got, case["amount"], what="the masks together")

    def ex(shapes, amount, tied=False, seed=0, dtype="float32"):
        return {"shapes": shapes, "amount": amount, "tied": tied, "dtype": dtype, "seed": seed}

    yield check_property(
        "on distinct magnitudes the masks equal torch.nn.utils.prune.global_unstructured's (L1, all "
        "tensors ranked together, not layer by layer; fraction or count; contiguous or strided; "
        "weights unchanged)",
        S.global_prune_cases(), same_as_torch, max_examples=50,
        examples=[ex([(2, 3), (4,)], 0.5), ex([(5,), (1,), (2, 2)], 4), ex([(3,)], 0.0),
                  ex([(2, 2), (3,)], 1.0, dtype="float64"), ex([(1,), (1,)], 0.25)])
    yield check_once("float64 layers whose magnitudes differ by less than float32 can tell apart: the masks "
                     "equal torch's", close_float64)
    yield check_property(
        "with equal magnitudes across layers: exactly round(amount * total) (or amount) weights pruned "
        "in all, none larger than a kept one",
        S.global_prune_cases(tied=True), rule, max_examples=40,
        examples=[ex([(4,), (2, 3)], 5, tied=True, seed=2)])


# ---------------------------------------------------------------- prune_conv_channels

_GETATTR = "builtins:getattr"
_MODULE_CALL = "torch.nn:Module.__call__"


def _conv_of(case, which, in_ch, out_ch, seed):
    g = case[which]
    dtype = _dtype(case["dtype"])
    with torch.random.fork_rng(devices=[]):
        conv = nn.Conv2d(in_ch, out_ch, g["k"], stride=g["stride"], padding=g["padding"],
                         dilation=g["dilation"], bias=g["bias"], padding_mode=g.get("padding_mode", "zeros"),
                         dtype=dtype)
    with torch.no_grad():
        w = S.grid_tensor(conv.weight.shape, seed, dtype)
        if which == "conv" and case["ties"] == "all":
            # every filter a sign flip of filter 0: all L1 norms equal, the first `keep` stay
            for o in range(1, out_ch):
                w[o] = w[0] * (-1 if o % 3 == 1 else 1)
        elif which == "conv" and case["ties"] and out_ch > 1:
            # some filters repeat others, flipped in sign or not: equal L1 norms
            for o in range(1, out_ch, 2):
                w[o] = w[o - 1] * (-1 if o % 4 == 1 else 1)
        conv.weight.copy_(w)
        if conv.bias is not None:
            conv.bias.copy_(S.grid_tensor((out_ch,), seed + 1, dtype))
    return conv


def _pair(case):
    conv = _conv_of(case, "conv", case["in"], case["out"], case["seed"])
    next_conv = _conv_of(case, "next_conv", case["out"], case["next"], case["seed"] + 2)
    return conv, next_conv


def _attr(fn, module, name):
    if isinstance(fn, Remote):
        return call(beside(fn, _GETATTR), module, name)
    return getattr(module, name, None)


def _forward(fn, module, x):
    if isinstance(fn, Remote):
        return call(beside(fn, _MODULE_CALL), module, x)
    with torch.no_grad():
        return module(x)


def _plain(value):
    return value.detach() if isinstance(value, torch.Tensor) else value


def _pair_call(fn, conv, next_conv, keep):
    modules = [(m, f"{what}.") for m, what in ((conv, "conv"), (next_conv, "next_conv"))
               if isinstance(m, nn.Module)]            # (an earlier result may live in a worker)
    before = [copy.deepcopy(m.state_dict()) for m, _ in modules]
    got = _student(fn, conv, next_conv, keep, forbid=_PRUNE, hint="Select the filters yourself.")
    for (m, prefix), saved in zip(modules, before):
        for name, t in m.state_dict().items():
            _unchanged(saved[name], t, prefix + name)
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"prune_conv_channels should return a tuple (new_conv, new_next); got {describe(got)}")
    return got


def _pair_shown(case):
    conv, next_conv = _pair(case)
    return {"conv": conv, "conv.weight": conv.weight.detach(), "conv.bias": _plain(conv.bias),
            "next_conv": next_conv, "keep": case["keep"]}


def _expect_conv(fn, module, template, weight, bias, what):
    """The returned module is a convolution of the template's hyper-parameters with these weights."""
    w = _plain(_attr(fn, module, "weight"))
    expect_tensor(w, what=f"{what}.weight", shape=weight.shape, dtype=weight.dtype)
    assert_equal(w, weight, what=f"{what}.weight")
    b = _plain(_attr(fn, module, "bias"))
    if bias is None:
        if b is not None:
            raise CheckFailed(f"{what} should have no bias (the original has none); got {describe(b)}")
    else:
        assert_equal(b, bias, what=f"{what}.bias")
    for name, want in (("in_channels", weight.shape[1]), ("out_channels", weight.shape[0]),
                       ("kernel_size", template.kernel_size), ("stride", template.stride),
                       ("padding", template.padding), ("dilation", template.dilation), ("groups", 1),
                       ("padding_mode", template.padding_mode)):
        got = _attr(fn, module, name)
        if got != want:
            raise CheckFailed(f"{what}.{name} should be {want!r}, got {got!r}")


def _masked(conv, kept):
    """conv with every filter (and bias) outside ``kept`` zeroed: the masked network's layer."""
    masked = copy.deepcopy(conv)
    drop = torch.ones(conv.out_channels, dtype=torch.bool)
    drop[kept] = False
    with torch.no_grad():
        masked.weight[drop] = 0
        if masked.bias is not None:
            masked.bias[drop] = 0
    return masked


def _pair_example(**overrides):
    geometry = {"k": 3, "stride": 1, "padding": 1, "dilation": 1, "bias": True}
    base = {"in": 2, "out": 4, "next": 3, "conv": dict(geometry), "next_conv": dict(geometry), "keep": 2,
            "ties": False, "batch": 2, "size": 6, "dtype": "float32", "seed": 0}
    base.update(overrides)
    return base


_PAIR_EXAMPLES = [
    _pair_example(),
    _pair_example(ties=True, out=6, keep=3, seed=4),                        # equal norms: lower index kept
    _pair_example(keep=4),                                                  # keep everything
    _pair_example(out=5, keep=1, dtype="float64", seed=2),
    _pair_example(conv={"k": 2, "stride": 2, "padding": 0, "dilation": 2, "bias": False},
                  next_conv={"k": 1, "stride": 1, "padding": 0, "dilation": 1, "bias": False}, size=9),
    # 24 filters of one L1 norm (more than a sort keeps in order by chance): the first 10 stay
    _pair_example(ties="all", out=24, keep=10, seed=5),
    _pair_example(conv={"k": 3, "stride": 1, "padding": 2, "dilation": 1, "bias": True, "padding_mode": "reflect"},
                  next_conv={"k": 3, "stride": 2, "padding": 1, "dilation": 1, "bias": True,
                             "padding_mode": "circular"}, seed=6),
]


@aspect(A, task="prune_conv_channels", points=3)
def prune_conv_channels_correct(prune_conv_channels):
    """Structured pruning returns genuinely smaller convolutions holding the right filters and inputs."""

    @showing(_pair_shown)
    def smaller(case):
        conv, next_conv = _pair(case)
        new_conv, new_next = _pair_call(prune_conv_channels, conv, next_conv, case["keep"])
        kept = oracles.kept_channels(conv.weight, case["keep"])
        _expect_conv(prune_conv_channels, new_conv, conv, conv.weight.detach()[kept],
                     None if conv.bias is None else conv.bias.detach()[kept], "new_conv")
        _expect_conv(prune_conv_channels, new_next, next_conv, next_conv.weight.detach()[:, kept],
                     None if next_conv.bias is None else next_conv.bias.detach(), "new_next")

    def new_modules():
        for keep in (4, 2):
            conv, next_conv = _pair(_pair_example(seed=8))
            # handed over where the student's code runs, so that identity and shared memory can be seen
            held = [call(beside(prune_conv_channels, "copy:deepcopy"), m) for m in (conv, next_conv)]
            got = _pair_call(prune_conv_channels, *held, keep)
            where = f"prune_conv_channels(conv, next_conv, keep={keep}) of a conv with 4 filters"
            for new, what in zip(got, ("new_conv", "new_next")):
                for old, name in zip(held, ("conv", "next_conv")):
                    if call(beside(prune_conv_channels, "operator:is_"), new, old):
                        raise CheckFailed(f"{where}: {what} is {name} itself; the contract asks for two NEW modules")
                # overwrite the new module's weights in place: the originals must not move
                zeros = {"weight": torch.zeros_like(_plain(_attr(prune_conv_channels, new, "weight")))}
                bias = _plain(_attr(prune_conv_channels, new, "bias"))
                if isinstance(bias, torch.Tensor):
                    zeros["bias"] = torch.zeros_like(bias)
                call(beside(prune_conv_channels, "torch.nn:Module.load_state_dict"), new, zeros)
            for old, orig, name in zip(held, (conv, next_conv), ("conv", "next_conv")):
                for key in ("weight", "bias"):
                    if not torch.equal(_plain(_attr(prune_conv_channels, old, key)), getattr(orig, key).detach()):
                        raise CheckFailed(f"{where}: writing into the returned modules' weights changed "
                                          f"{name}.{key}: they share memory with the originals; the contract "
                                          f"asks for NEW modules with their own weights")

    yield check_once("new_conv and new_next are new modules that share no parameter with conv or next_conv, "
                     "also when every channel is kept", new_modules)
    yield check_property(
        "new_conv keeps the `keep` filters of largest L1 norm (equal norms: the lower index; in their "
        "original order) with their biases, new_next keeps the matching input channels; weights, "
        "in/out_channels and hyper-parameters (padding_mode too) of real smaller convolutions; the "
        "inputs unchanged",
        S.conv_pair_cases(), smaller, max_examples=40, examples=_PAIR_EXAMPLES)


@aspect(A, task="prune_conv_channels", points=2)
def prune_conv_channels_equivalent(prune_conv_channels):
    """The pruned pair computes what the masked pair (dropped filters zeroed) computes."""

    @showing(_pair_shown)
    def same_function(case):
        conv, next_conv = _pair(case)
        dtype = _dtype(case["dtype"])
        x = tensor_from_seed((case["batch"], case["in"], case["size"], case["size"]), case["seed"] + 5,
                               dtype=dtype)
        new_conv, new_next = _pair_call(prune_conv_channels, conv, next_conv, case["keep"])
        hidden = _forward(prune_conv_channels, new_conv, x)
        expect_tensor(hidden, what="new_conv(x)")
        out = _forward(prune_conv_channels, new_next, torch.relu(hidden))
        kept = oracles.kept_channels(conv.weight, case["keep"])
        with torch.no_grad():
            want = next_conv.double()(torch.relu(_masked(conv, kept).double()(x.double())))
        tol = 1e-10 if dtype == torch.float64 else 2e-5
        assert_close(out, want.to(dtype), rtol=tol, atol=tol * (1 + want.abs().max().item()),
                     what="new_next(relu(new_conv(x)))")

    yield check_property(
        "new_next(relu(new_conv(x))) equals next_conv(relu(masked_conv(x))), where masked_conv is conv "
        "with the dropped filters and biases set to zero (random inputs, float32 and float64)",
        S.conv_pair_cases(), same_function, max_examples=30, examples=_PAIR_EXAMPLES[:3] + _PAIR_EXAMPLES[-1:])


# ---------------------------------------------------------------- prune_conv_channels: speed

# device type -> (batch, channels, kept channels, input size, max ratio). Measured ratios (best of
# 11 interleaved blocks): CPU, one thread, idle / one / two cores busy: honest 0.15-0.19x, full-size
# compute behind small weights 1.05-1.10x; H200: honest 0.24x, full-size compute 1.11x.
_SPEED = {"cpu": (1, 64, 16, 40, 0.45), "cuda": (64, 256, 64, 64, 0.5)}


def _speed_convs(channels, device):
    sizes = [(3, channels), (channels, channels), (channels, channels), (channels, 16)]
    convs = []
    with torch.random.fork_rng(devices=[]):
        for i, (cin, cout) in enumerate(sizes):
            conv = nn.Conv2d(cin, cout, 3, padding=1)
            with torch.no_grad():
                conv.weight.copy_(tensor_from_seed(conv.weight.shape, 100 + i, low=-0.2, high=0.2))
                conv.bias.copy_(tensor_from_seed(conv.bias.shape, 200 + i, low=-0.1, high=0.1))
            convs.append(conv.to(device).requires_grad_(False))
    return convs


def _network(convs):
    return nn.Sequential(convs[0], nn.ReLU(), convs[1], nn.ReLU(), convs[2], nn.ReLU(), convs[3],
                         nn.AdaptiveAvgPool2d(1), nn.Flatten()).eval()


def _prune_chain(fn, convs, keep):
    """Prune conv 0, 1 and 2 to ``keep`` output channels, each with its successor."""
    layers = list(convs)
    for i in range(3):
        layers[i], layers[i + 1] = _pair_call(fn, layers[i], layers[i + 1], keep)
    return layers


def _oracle_chain(convs, keep):
    layers = [copy.deepcopy(c) for c in convs]
    for i in range(3):
        kept = oracles.kept_channels(layers[i].weight, keep)
        conv, nxt = layers[i], layers[i + 1]
        with torch.no_grad():
            small = nn.Conv2d(conv.in_channels, keep, 3, padding=1).to(conv.weight.device)
            small.weight.copy_(conv.weight[kept])
            small.bias.copy_(conv.bias[kept])
            after = nn.Conv2d(keep, nxt.out_channels, 3, padding=1).to(conv.weight.device)
            after.weight.copy_(nxt.weight[:, kept])
            after.bias.copy_(nxt.bias)
        layers[i], layers[i + 1] = small.requires_grad_(False), after.requires_grad_(False)
    return _network(layers)


def _student_network(fn, layers):
    """The student's pruned layers as one network, built where they live (their worker)."""
    parts = [layers[0], nn.ReLU(), layers[1], nn.ReLU(), layers[2], nn.ReLU(), layers[3],
             nn.AdaptiveAvgPool2d(1), nn.Flatten()]
    net = call(beside(fn, "torch.nn:Sequential"), *parts)
    return call(beside(fn, "torch.nn:Module.requires_grad_"), net, False)


@aspect(A, task="prune_conv_channels", points=2, kind="speed", requires=("prune_conv_channels_correct",))
def prune_conv_channels_speed(prune_conv_channels):
    """A network with three layers pruned to a quarter of their channels runs well under the unpruned time."""
    device = grading_device()
    batch, channels, keep, size, _ = _SPEED[device.type]
    title = (f"a 4-conv network ({channels} channels, input {batch}x3x{size}x{size}) with 3 layers pruned to "
             f"{keep} channels by your function, timed against the unpruned network")
    try:
        convs = _speed_convs(channels, device)
        expected_net = _oracle_chain(convs, keep)
        net = _student_network(prune_conv_channels, _prune_chain(prune_conv_channels, convs, keep))
    except (CheckFailed, WorkerLost) as e:
        yield PropertyResult(title, False, 1, "", e.message, kind="speed")
        return

    def checked(args, got, _unpruned):
        with torch.no_grad():
            want = expected_net(*args)
        assert_close(got, want, rtol=1e-3, atol=1e-4 * (1 + want.abs().max().item()),
                     what="the pruned network's output (timed call)", check_dtype=True)

    yield measure_ratio(SpeedCase(
        title, student=beside(prune_conv_channels, _MODULE_CALL), reference=_network(convs),
        make_inputs=lambda seed, dev: (tensor_from_seed((batch, 3, size, size), seed).to(dev),),
        check=checked, thresholds={"cpu": _SPEED["cpu"][-1], "cuda": _SPEED["cuda"][-1]},
        student_args=lambda args: (net, *args),
        advice="are the convolutions really smaller, or only masked?"))


# ---------------------------------------------------------------- affine_qparams

def _range_tensors(case):
    r = torch.tensor(case["ranges"], dtype=torch.float32)
    if case["per_channel"]:
        return r[:, 0].clone(), r[:, 1].clone()
    return r[0, 0].clone(), r[0, 1].clone()


def _qparams_call(fn, case):
    lo, hi = _range_tensors(case)
    a, b = lo.clone(), hi.clone()
    got = _student(fn, a, b, case["qmin"], case["qmax"], symmetric=case["symmetric"],
                   forbid=_observer_entries(), forbid_ops=_QUANT_OPS, hint="Compute scale and zero point yourself.")
    _unchanged(lo, a, "x_min")
    _unchanged(hi, b, "x_max")
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"affine_qparams should return (scale, zero_point); got {describe(got)}")
    scale, zp = got
    expect_tensor(scale, what="scale", shape=lo.shape)
    expect_tensor(zp, what="zero_point", shape=lo.shape)
    if not scale.is_floating_point():
        raise CheckFailed(wrong_dtype("scale", "floating-point", scale.dtype))
    if zp.dtype != torch.int64:
        raise CheckFailed(wrong_dtype("zero_point", torch.int64, zp.dtype))
    return scale, zp


def _qparams_shown(case):
    lo, hi = _range_tensors(case)
    return {"x_min": lo, "x_max": hi, "qmin": case["qmin"], "qmax": case["qmax"], "symmetric": case["symmetric"]}


def _qp_example(ranges, qmin=0, qmax=255, symmetric=False, per_channel=False):
    return {"ranges": ranges, "qmin": qmin, "qmax": qmax, "symmetric": symmetric, "per_channel": per_channel}


_QP_EXAMPLES = [_qp_example([[-1.0, 2.0]]), _qp_example([[0.0, 0.0]]), _qp_example([[3.0, 3.0]]),
                _qp_example([[-2.0, -2.0]]), _qp_example([[0.5, 7.25]]), _qp_example([[-1.0, 2.0]], 0, 15),
                _qp_example([[-1.0, 2.0]], -128, 127, symmetric=True),
                _qp_example([[-3.0, 0.5]], -8, 7, symmetric=True), _qp_example([[0.0, 0.0]], -128, 127, True),
                _qp_example([[-1.0, 2.0]], -8, 7),
                _qp_example([[-1.0, 2.0], [0.0, 0.0], [4.0, 4.0], [-6.0, -1.0]], per_channel=True),
                _qp_example([[-1.0, 2.0], [0.0, 0.0]], -128, 127, symmetric=True, per_channel=True)]


def _qparams_strategy():
    return st.one_of(S.qrange_cases(), S.qrange_cases(per_channel=True))


@aspect(A, task="affine_qparams", points=2)
def affine_qparams_correct(affine_qparams):
    """Scale and zero point equal torch's MinMaxObserver / PerChannelMinMaxObserver, degenerate ranges too."""

    @showing(_qparams_shown)
    def same_as_torch(case):
        scale, zp = _qparams_call(affine_qparams, case)
        lo, hi = _range_tensors(case)
        want_s, want_z = oracles.minmax_qparams(lo, hi, case["qmin"], case["qmax"], case["symmetric"])
        assert_close(scale.double(), want_s.double(), rtol=2e-6, atol=0.0, what="scale")
        # the zero point rounds min / scale: within 1e-4 of a half-integer either neighbour is fine
        ratio = torch.clamp(lo.double(), max=0.0) / want_s.double()
        near_half = ((ratio - ratio.floor() - 0.5).abs() < 1e-4)
        off = (zp.to(torch.int64) - want_z).abs()
        if bool(((off > 1) | ((off == 1) & ~near_half)).any()):
            raise CheckFailed(f"zero_point differs from torch's\n"
                              f"expected: {describe(want_z)}\ngot:      {describe(zp)}")

    yield check_property(
        "scale and zero point equal torch's MinMaxObserver (per tensor, 0-d inputs) or "
        "PerChannelMinMaxObserver (one range per channel): range widened to include 0, scale at least "
        "float32 eps, zero point rounded and clamped; symmetric: zero point 0",
        _qparams_strategy(), same_as_torch, max_examples=80, examples=_QP_EXAMPLES)


@aspect(A, task="affine_qparams", points=1)
def affine_qparams_cover_range(affine_qparams):
    """With your scale and zero point every x in [x_min, x_max] is represented within scale / 2."""

    @showing(_qparams_shown)
    def covered(case):
        scale, zp = _qparams_call(affine_qparams, case)
        qmin, qmax = case["qmin"], case["qmax"]
        z = zp.to(torch.int64).reshape(-1)
        s = scale.double().reshape(-1)
        if bool(((z < qmin) | (z > qmax)).any()):
            raise CheckFailed(f"zero_point must lie in [qmin, qmax] = [{qmin}, {qmax}] (0 must be exactly "
                              f"representable); got {describe(zp)}")
        if bool((s <= 0).any()):
            raise CheckFailed(f"scale must be positive; got {describe(scale)}")
        for c, (lo, hi) in enumerate(case["ranges"]):
            x = torch.linspace(lo, hi, 257, dtype=torch.float64)
            q = torch.clamp(torch.round(x / s[c]) + z[c], qmin, qmax)
            err = ((q - z[c]) * s[c] - x).abs().max().item()
            if err > s[c].item() / 2 * (1 + 1e-5) + 1e-12:
                raise CheckFailed(f"with scale {s[c].item():.6g} and zero point {int(z[c])}, a value of "
                                  f"[{lo:.6g}, {hi:.6g}] comes back {err:.4g} away after quantization and "
                                  f"dequantization, more than scale / 2: the range is not covered")

    yield check_property(
        "every x in [x_min, x_max] quantizes and dequantizes within scale / 2 (the range fits in "
        "[qmin, qmax]); the zero point lies in [qmin, qmax]",
        _qparams_strategy(), covered, max_examples=50, examples=_QP_EXAMPLES)


# ---------------------------------------------------------------- quantize

def _scale_zp(case):
    if case["axis"] is None:
        return case["scales"][0], case["zero_points"][0]
    return (torch.tensor(case["scales"], dtype=torch.float64),
            torch.tensor(case["zero_points"], dtype=torch.int64))


def _quantize_call(fn, case):
    x = S.quantize_input(case)
    scale, zp = _scale_zp(case)
    passed = x.clone()
    args = (passed, scale.clone() if isinstance(scale, torch.Tensor) else scale,
            zp.clone() if isinstance(zp, torch.Tensor) else zp, case["qmin"], case["qmax"])
    got = _student(fn, *args, **({} if case["axis"] is None else {"axis": case["axis"]}),
                   forbid_ops=_QUANT_OPS, hint="Round and clamp yourself.")
    _unchanged(x, passed, "x")
    expect_tensor(got, what="q", shape=x.shape)
    if got.dtype != torch.int64:
        raise CheckFailed(wrong_dtype("q", torch.int64, got.dtype))
    return x, scale, zp, got.to(torch.int64)


def _quantize_shown(case):
    scale, zp = _scale_zp(case)
    shown = {"x": S.quantize_input(case), "scale": scale, "zero_point": zp, "qmin": case["qmin"],
             "qmax": case["qmax"]}
    if case["axis"] is not None:
        shown["axis"] = case["axis"]
    return shown


def _per_element(v, x, axis):
    if not isinstance(v, torch.Tensor):
        return torch.full(x.shape, float(v), dtype=torch.float64)
    shape = [1] * x.dim()
    shape[axis] = -1
    return v.double().reshape(shape).expand(x.shape)


def _same_as_torch_quantize(fn):
    def prop(case):
        x, scale, zp, q = _quantize_call(fn, case)
        want = oracles.quantize(x, scale, zp, case["qmin"], case["qmax"], case["axis"])
        # x / scale within a hair of k + 1/2 (but not exactly there): either neighbour is fine
        v = x.double() / _per_element(scale, x, case["axis"])
        frac = (v - v.floor() - 0.5).abs()
        loose = (frac < 1e-6) & (frac != 0)
        off = (q - want).abs()
        if bool(((off > 1) | ((off == 1) & ~loose)).any()):
            raise CheckFailed(f"q differs from torch's in {int((off > 0).sum())} of {q.numel()} places\n"
                              f"expected: {describe(want)}\ngot:      {describe(q)}")
    return prop


def _within_half_step(fn):
    def prop(case):
        x, scale, zp, q = _quantize_call(fn, case)
        s, z = _per_element(scale, x, case["axis"]), _per_element(zp, x, case["axis"])
        lo, hi = (case["qmin"] - z) * s, (case["qmax"] - z) * s
        inside = (x.double() >= lo) & (x.double() <= hi)
        err = ((q.double() - z) * s - x.double()).abs()
        bad = inside & (err > s / 2 * (1 + 1e-6) + 1e-9)
        if bool(bad.any()):
            raise CheckFailed(f"{int(bad.sum())} values inside the representable range come back more than "
                              f"scale / 2 away (worst {err[bad].max().item():.4g})")
        outside = ~inside
        clamped = torch.where(x.double() < lo, case["qmin"], case["qmax"]).to(torch.int64)
        if bool((outside & (q != clamped)).any()):
            raise CheckFailed("values outside the representable range must be clamped to qmin or qmax")
    return prop


@aspect(A, task="quantize", points=2)
def quantize_per_tensor_correct(quantize):
    """Per-tensor affine quantization equals torch.quantize_per_tensor: half to even, clamped."""
    strategy = S.quantize_cases()
    yield check_property(
        "q equals torch.quantize_per_tensor(x, scale, zero_point, dtype).int_repr(), clamped to "
        "[qmin, qmax] (round half to even; int64; x unchanged)",
        strategy, showing(_quantize_shown)(_same_as_torch_quantize(quantize)), max_examples=60)

    def halves():
        x = torch.tensor([0.25, 0.75, 1.25, 1.75, -0.25, -0.75, -1.25, 0.0, 200.0, -200.0])
        for zp, qmin, qmax in ((3, 0, 255), (0, -128, 127), (7, 0, 15)):
            got = _student(quantize, x.clone(), 0.5, zp, qmin, qmax, forbid_ops=_QUANT_OPS)
            expect_tensor(got, what="q", shape=x.shape, dtype=torch.int64)
            want = oracles.quantize(x, 0.5, zp, qmin, qmax)
            if not torch.equal(got.to(torch.int64), want):
                raise CheckFailed(f"x = {x.tolist()}, scale 0.5, zero point {zp}, [{qmin}, {qmax}]: x / scale "
                                  f"is exactly k + 1/2, which rounds to the even neighbour (and 200 / -200 "
                                  f"clamp)\nexpected: {want.tolist()}\ngot:      {got.tolist()}")

    yield check_once("x / scale exactly halfway rounds to the even integer; far values clamp to qmin / qmax",
                     halves)
    yield check_property(
        "inside the representable range [(qmin - z) * s, (qmax - z) * s] the quantization error "
        "|(q - z) * s - x| is at most scale / 2; outside it q is qmin or qmax",
        strategy, showing(_quantize_shown)(_within_half_step(quantize)), max_examples=40)


@aspect(A, task="quantize", points=2)
def quantize_per_channel_correct(quantize):
    """Per-channel quantization along any axis equals torch.quantize_per_channel."""
    strategy = S.quantize_cases(per_channel=True)
    yield check_property(
        "with one scale and zero point per index of `axis` (any axis), q equals "
        "torch.quantize_per_channel(...).int_repr(), clamped to [qmin, qmax]",
        strategy, showing(_quantize_shown)(_same_as_torch_quantize(quantize)), max_examples=60,
        examples=[{"shape": (3, 4), "axis": 1, "scales": [0.5, 0.25, 0.125, 1.0], "zero_points": [0, 3, 255, 128],
                   "qmin": 0, "qmax": 255, "halves": True, "spread": 1.0, "seed": 1},
                  {"shape": (2, 3, 2), "axis": 2, "scales": [0.1, 0.7], "zero_points": [-3, 5],
                   "qmin": -8, "qmax": 7, "halves": False, "spread": 10.0, "seed": 2},
                  {"shape": (4, 1, 3), "axis": 0, "scales": [0.05, 0.2, 1.5, 0.01], "zero_points": [0, -128, 127, 1],
                   "qmin": -128, "qmax": 127, "halves": False, "spread": 10.0, "seed": 3}])
    yield check_property(
        "per channel too, the error inside each channel's representable range is at most that channel's "
        "scale / 2, and values outside clamp",
        strategy, showing(_quantize_shown)(_within_half_step(quantize)), max_examples=30)


# ---------------------------------------------------------------- dequantize

def _storage_dtype(qmin, qmax):
    """The integer dtype of int_repr() for torch's quantized dtype of this grid."""
    if qmin >= 0 and qmax <= 255:
        return torch.uint8
    if qmin >= -128 and qmax <= 127:
        return torch.int8
    return torch.int32


@aspect(A, task="dequantize", points=1)
def dequantize_correct(dequantize):
    """(q - zero_point) * scale equals torch's dequantize(), per tensor and per channel."""

    def prop(case):
        x = S.quantize_input(case)
        scale, zp = _scale_zp(case)
        q, want = oracles.quantize_dequantize(x, scale, zp, case["qmin"], case["qmax"], case["axis"])
        if case["seed"] % 2:        # the dtype int_repr() gives: uint8 / int8 / int32 (q - z may not fit)
            q = q.to(_storage_dtype(case["qmin"], case["qmax"]))
        passed = q.clone()
        got = _student(dequantize, passed, scale, zp, **({} if case["axis"] is None else {"axis": case["axis"]}),
                       forbid_ops=_QUANT_OPS, hint="Subtract and multiply yourself.")
        _unchanged(q, passed, "q")
        assert_close(got, want, rtol=2 * _F32_EPS, atol=1e-30, what="the dequantized tensor")

    def shown(case):
        x = S.quantize_input(case)
        scale, zp = _scale_zp(case)
        q, _ = oracles.quantize_dequantize(x, scale, zp, case["qmin"], case["qmax"], case["axis"])
        if case["seed"] % 2:
            q = q.to(_storage_dtype(case["qmin"], case["qmax"]))
        return {"q": q, "scale": scale, "zero_point": zp, "axis": case["axis"]}

    yield check_property(
        "x_hat = (q - zero_point) * scale as float32 equals torch's .dequantize() of the same quantized "
        "tensor (per tensor; per channel along any axis; q int64 or the uint8 / int8 / int32 of "
        "int_repr()); q unchanged",
        st.one_of(S.quantize_cases(), S.quantize_cases(per_channel=True)), showing(shown)(prop), max_examples=60)


# ---------------------------------------------------------------- model_size_bytes, compare_dynamic_quantization

def _mlp(case):
    widths = case["widths"]
    layers = []
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(case["seed"])
        for i in range(len(widths) - 1):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < len(widths) - 2:
                layers.append(nn.ReLU())
    return nn.Sequential(*layers).eval()


def _size_models():
    """Models whose state_dicts differ in kind: parameters only, buffers too, a quantized one."""
    from torch.ao.quantization import quantize_dynamic
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        models = [("a 2-layer MLP", _mlp({"widths": [16, 32, 4], "seed": 0})),
                  ("a conv net with BatchNorm (buffers count too)",
                   nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1))),
                  ("a single Linear without bias", nn.Linear(100, 50, bias=False)),
                  ("a float64 Linear", nn.Linear(20, 10).double())]
        mlp = _mlp({"widths": [64, 128, 10], "seed": 1})
        models.append(("a dynamically quantized MLP", quantize_dynamic(mlp, {nn.Linear}, dtype=torch.qint8)))
    return models


@aspect(A, task="model_size_bytes", points=1)
def model_size_bytes_correct(model_size_bytes):
    """The size of the serialized state_dict, for float, float64, buffered and quantized models."""

    def sizes():
        for what, model in _size_models():
            got = _student(model_size_bytes, model)
            assert_equal(got, oracles.state_dict_bytes(model),
                         what=f"the size of {what} (torch.save of its state_dict, in bytes)")

    yield check_once("model_size_bytes(model) equals the byte count of torch.save(model.state_dict()) "
                     "for five models (buffers, float64 and a quantized model included)", sizes)


def _dynamic_oracle(model, x):
    from torch.ao.quantization import quantize_dynamic
    quantized = quantize_dynamic(copy.deepcopy(model), {nn.Linear}, dtype=torch.qint8)
    with torch.no_grad():
        return oracles.state_dict_bytes(model), oracles.state_dict_bytes(quantized), quantized(x), model(x)


@aspect(A, task="compare_dynamic_quantization", points=2)
def compare_dynamic_quantization_correct(compare_dynamic_quantization):
    """Sizes before / after int8 dynamic quantization of the Linear layers, and the quantized outputs."""

    def prop(case):
        model = _mlp(case)
        x = tensor_from_seed((case["batch"], case["widths"][0]), case["seed"] + 1, low=-2.0, high=2.0)
        # the model handed over lives where the student's code runs, so that what the call leaves
        # of it (layers swapped for quantized ones, in place) can be looked at afterwards
        held = call(beside(compare_dynamic_quantization, "copy:deepcopy"), model)
        got = _student(compare_dynamic_quantization, held, x.clone())
        float_bytes, quant_bytes, quant_out, float_out = _dynamic_oracle(model, x)
        left = _forward(compare_dynamic_quantization, held, x)
        if (not isinstance(left, torch.Tensor) or left.shape != float_out.shape
                or (left.double() - float_out.double()).abs().max() > 1e-5 * (1 + float_out.abs().max())):
            raise CheckFailed("after your function the model no longer is the float model it was (its layers "
                              "were quantized in place?): quantize a copy and leave the model unchanged")
        if type(got) is not dict or not {"float_bytes", "quantized_bytes", "quantized_output"} <= set(got):
            raise CheckFailed(f"expected a dict with keys float_bytes, quantized_bytes, quantized_output; "
                              f"got {describe(got)}")
        assert_equal(got["float_bytes"], float_bytes, what="float_bytes")
        assert_equal(got["quantized_bytes"], quant_bytes,
                     what="quantized_bytes (the Linear layers quantized dynamically to torch.qint8)")
        scale = 1 + float_out.abs().max().item()
        assert_close(got["quantized_output"], quant_out, rtol=1e-5, atol=1e-5 * scale,
                     what="quantized_output (the quantized model on x)")
        if got["quantized_output"].requires_grad:
            raise CheckFailed("quantized_output requires grad: the contract asks for an output without grad "
                              "(run the quantized model under torch.no_grad(), leave x as it is)")
        err = (got["quantized_output"].double() - float_out.double()).abs().max().item()
        if err > 0.1 * scale:
            raise CheckFailed(f"the quantized model's output is {err:.3g} away from the float model's: "
                              f"int8 weights should stay much closer than that")

    def shown(case):
        return {"model": _mlp(case), "x": f"a ({case['batch']}, {case['widths'][0]}) batch"}

    yield check_property(
        "for small MLPs: float_bytes and quantized_bytes are the state_dict sizes of the model and of its "
        "quantize_dynamic({nn.Linear}, torch.qint8) copy; quantized_output is that copy's output on x and "
        "stays close to the float output; the model itself unchanged",
        S.mlp_cases(), showing(shown)(prop), max_examples=6,
        examples=[{"widths": [32, 64, 10], "batch": 4, "seed": 0}])


# ---------------------------------------------------------------- distillation_loss

def _logits(case):
    dtype = _dtype(case["dtype"])
    shape = (case["n"], case["c"])
    s = tensor_from_seed(shape, case["seed"], low=-case["spread"], high=case["spread"], dtype=dtype)
    t = tensor_from_seed(shape, case["seed"] + 1, low=-case["spread"], high=case["spread"], dtype=dtype)
    return s, t


def _kd_tol(case, dtype):
    eps = _F32_EPS if dtype == torch.float32 else torch.finfo(torch.float64).eps
    T = case["T"]
    return T * T * 64 * eps * (1 + case["spread"] / T)


def _kd_shown(case):
    s, t = _logits(case)
    return {"student_logits": s, "teacher_logits": t, "T": case["T"]}


def _kd_example(n=2, c=3, T=2.0, spread=5.0, dtype="float64", seed=0):
    return {"n": n, "c": c, "T": T, "spread": spread, "dtype": dtype, "seed": seed}


_KD_EXAMPLES = [_kd_example(), _kd_example(n=1, c=2, T=1.0), _kd_example(T=4.0, dtype="float32", seed=3),
                _kd_example(n=3, c=5, T=1.0, spread=1e4, seed=5),          # exp(1e4) overflows
                _kd_example(n=2, c=4, T=0.5, spread=300.0, dtype="float32", seed=6)]


@aspect(A, task="distillation_loss", points=2)
def distillation_loss_correct(distillation_loss):
    """The distillation loss equals F.kl_div(log_softmax(s/T), log_softmax(t/T), batchmean) * T^2."""

    @showing(_kd_shown)
    def same_as_torch(case):
        s, t = _logits(case)
        ps, pt = s.clone(), t.clone()
        got = _student(distillation_loss, ps, pt, case["T"], forbid=_KL, forbid_ops=_KL_OPS,
                       hint="Write the KL divergence yourself.")
        _unchanged(s, ps, "student_logits")
        _unchanged(t, pt, "teacher_logits")
        want = oracles.distillation_loss(s, t, case["T"]).to(s.dtype)
        expect_tensor(got, what="the loss", shape=(), dtype=s.dtype)
        assert_close(got, want, rtol=1e-5 if s.dtype == torch.float32 else 1e-10,
                     atol=_kd_tol(case, s.dtype) * (1 + case["spread"]), what="the loss")

    yield check_property(
        "loss equals F.kl_div(log_softmax(s / T), log_softmax(t / T), reduction='batchmean', "
        "log_target=True) * T^2: a 0-d tensor of the logits' dtype, finite for logits up to 1e4",
        S.distillation_cases(), same_as_torch, max_examples=60, examples=_KD_EXAMPLES)

    def zero_when_equal():
        s = tensor_from_seed((4, 6), 9, low=-20, high=20, dtype=torch.float64)
        got = _student(distillation_loss, s.clone(), s.clone(), 3.0, forbid=_KL, forbid_ops=_KL_OPS)
        expect_tensor(got, what="the loss", shape=())
        if abs(got.item()) > 1e-12:
            raise CheckFailed(f"the student equal to the teacher must give loss 0; got {got.item():.3g}")

    yield check_once("identical student and teacher logits give loss 0", zero_when_equal)


@aspect(A, task="distillation_loss", points=1)
def distillation_loss_gradients(distillation_loss):
    """Gradients with respect to the student's logits equal autograd through F.kl_div (T^2 included)."""

    @showing(_kd_shown)
    def grads(case):
        s, t = _logits(case)
        leaf = s.clone().requires_grad_(True)
        got = _student(distillation_loss, leaf, t.clone(), case["T"], forbid=_KL, forbid_ops=_KL_OPS)
        expect_tensor(got, what="the loss", shape=())
        upstream = torch.ones((), dtype=s.dtype)
        (g,) = gradients(got, [leaf], upstream)
        if g is None:
            raise CheckFailed("the loss does not depend on student_logits through autograd (no gradient)")
        s64 = s.double().requires_grad_(True)
        (want,) = torch.autograd.grad(oracles.distillation_loss(s64, t, case["T"]), [s64])
        assert_close(g, want.to(s.dtype), rtol=1e-4 if s.dtype == torch.float32 else 1e-9,
                     atol=_kd_tol(case, s.dtype) / max(case["T"], 1e-3), what="d loss / d student_logits")

    yield check_property(
        "d loss / d student_logits equals autograd through the F.kl_div formula: T * (softmax(s/T) - "
        "softmax(t/T)) / N",
        S.distillation_cases(), grads, max_examples=40, examples=_KD_EXAMPLES)
