"""Checks of 09_gradients_init: fans and gains, the four Xavier / Kaiming initializations (graded
by their statistics, within bounds derived from the sample size), per-layer gradient norms, and
gradient clipping by the total norm."""
from __future__ import annotations

import math
import re

import torch
import torch.nn.init as nn_init
import torch.nn.utils as nn_utils
import torch.nn.utils.clip_grad as clip_grad_module

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, assert_equal, expect_tensor
from medgrade.properties import around, call, check_once, check_property, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "09_gradients_init"

# every function of torch.nn.init: the public ones and the helpers they call through the
# module's globals (so an alias imported before the call, `from torch.nn.init import
# kaiming_normal_`, trips on _calculate_correct_fan / _calculate_fan_in_and_fan_out)
_INIT_FORBID = [(nn_init, name, f"torch.nn.init.{name}") for name in sorted(vars(nn_init))
                if not name.startswith("__") and callable(getattr(nn_init, name))
                and getattr(getattr(nn_init, name), "__module__", "") == nn_init.__name__]
_CLIP_FORBID = ([(nn_utils, name, f"torch.nn.utils.{name}")
                 for name in ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
                              "clip_grads_with_norm_")]
                + [(clip_grad_module, name, f"torch.nn.utils.clip_grad.{name}")
                   for name in ("clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "_get_total_norm",
                                "_clip_grads_with_norm_", "get_total_norm", "clip_grads_with_norm_")])
_CLIP_OPS = re.compile(r"_foreach_norm")

# the statistical bounds: Z standard deviations of the statistic under the honest distribution.
# At Z = 6.5 a two-sided normal tail is 8e-11 per statistic; the checks compute a few hundred
# statistics in all, so an honest implementation fails with probability below 1e-7.
Z = 6.5


# ---------------------------------------------------------------- fans and gains

def _raises_value_error(fn, *args) -> bool:
    """True when the student's call raised ValueError; another exception is a failure."""
    try:
        call(fn, *args, forbid=_INIT_FORBID)
    except CheckFailed as e:
        if "raised ValueError" in e.message:
            return True
        raise CheckFailed(f"{e.message}\n(ValueError was expected)") from None
    return False


@aspect(A, task="fans", points=1)
def fans_correct(fans):
    """fans returns (fan_in, fan_out) as torch computes them: channels times the receptive field."""

    @showing(lambda case: {"tensor": f"a tensor of shape {case}"})
    def same_as_torch(shape):
        got = call(fans, torch.empty(shape), forbid=_INIT_FORBID)
        expected = oracles.fans(shape)
        if (not isinstance(got, (tuple, list)) or len(got) != 2
                or any(isinstance(v, bool) or not isinstance(v, int) for v in got)):
            raise CheckFailed(f"fans should return a tuple of two ints (fan_in, fan_out), got {got!r}")
        assert_equal(tuple(got), expected, what="(fan_in, fan_out)")

    def refuses_vectors(dims):
        shape = (3,) * dims
        if _raises_value_error(fans, torch.empty(shape)):
            return
        raise CheckFailed(f"fans of a tensor with {dims} dimension(s) (shape {shape}) should raise "
                          f"ValueError: fans are defined for 2 or more dimensions")

    yield check_property(
        "(fan_in, fan_out) equals torch's for linear and convolution weights (1 to 3 spatial dims, "
        "sides of 1 included)",
        S.weight_shapes(), same_as_torch, max_examples=30,
        examples=[(3, 5), (16, 8, 3, 3), (4, 2, 5), (2, 3, 1, 1), (1, 1), (6, 4, 3, 3, 3), (0, 5)])
    for dims in (0, 1):
        yield check_once(f"a tensor of {dims} dimension(s) raises ValueError",
                         lambda dims=dims: refuses_vectors(dims))


@aspect(A, task="calculate_gain", points=1)
def calculate_gain_correct(calculate_gain):
    """calculate_gain gives torch's recommended gain of every nonlinearity; leaky_relu's slope included."""

    @showing(lambda case: case)
    def same_as_torch(case):
        args = (case["nonlinearity"],) if case["param"] is None else (case["nonlinearity"], case["param"])
        got = call(calculate_gain, *args, forbid=_INIT_FORBID)
        expected = oracles.gain(case["nonlinearity"], case["param"])
        if isinstance(got, torch.Tensor) or not isinstance(got, (int, float)):
            raise CheckFailed(f"calculate_gain should return a Python number, got {type(got).__name__}")
        if not math.isclose(got, expected, rel_tol=1e-12, abs_tol=1e-12):
            raise CheckFailed(f"the gain: expected {expected!r}, got {got!r}")

    def refuses(nonlinearity, param):
        if _raises_value_error(calculate_gain, nonlinearity, param):
            return
        raise CheckFailed(f"calculate_gain({nonlinearity!r}, {param!r}) should raise ValueError")

    yield check_property(
        "equals torch.nn.init.calculate_gain for every nonlinearity it knows; leaky_relu with the "
        "default slope 0.01, an int slope and a float slope",
        S.gain_cases(), same_as_torch, max_examples=20,
        examples=[{"nonlinearity": n, "param": None} for n in S.NONLINEARITIES]
        + [{"nonlinearity": "leaky_relu", "param": 0.2}, {"nonlinearity": "leaky_relu", "param": 3},
           {"nonlinearity": "leaky_relu", "param": 0}])
    yield check_once("an unknown nonlinearity and a slope that is not a number raise ValueError",
                     lambda: (refuses("swish", None), refuses("leaky_relu", "0.1"),
                              refuses("leaky_relu", True)))


# ---------------------------------------------------------------- the four initializations

def _kwargs(kind, case):
    if kind.startswith("xavier"):
        return {"gain": case["gain"]}
    return {"a": case["a"], "mode": case["mode"], "nonlinearity": case["nonlinearity"]}


def _std(kind, case):
    if kind.startswith("xavier"):
        return oracles.target_std(kind, case["shape"], gain_value=case["gain"])
    return oracles.target_std(kind, case["shape"], a=case["a"], mode=case["mode"],
                              nonlinearity=case["nonlinearity"])


def _initialized(fn, kind, case, seed=None, requires_grad=False):
    """Call the student's init on a NaN-filled tensor with a seeded generator; check it filled that
    tensor in place and returned it."""
    dtype = norm_dtype(case["dtype"])
    t = torch.full(case["shape"], float("nan"), dtype=dtype).requires_grad_(requires_grad)
    g = torch.Generator().manual_seed(case["seed"] if seed is None else seed)
    got = call(fn, t, **_kwargs(kind, case), generator=g, forbid=_INIT_FORBID)
    expect_tensor(got, what=f"{kind}'s result", shape=t.shape, dtype=dtype)
    if t.isnan().any():
        raise CheckFailed(f"{kind} must fill the tensor it is given in place (and return it): the "
                          f"tensor passed in (NaN everywhere before the call) still holds "
                          f"{int(t.isnan().sum())} NaN of {t.numel()} values")
    assert_equal(got.detach(), t.detach(), what=f"the tensor {kind} returned (it should be the one passed in)")
    return t.detach().double().reshape(-1)


def _statistics(x, std, uniform, what):
    """Every value within the bound and the extremes near it (uniform), the mean and the mean square
    within Z standard deviations of their sampling distributions."""
    n = x.numel()
    if not torch.isfinite(x).all():
        raise CheckFailed(f"{what} holds values that are not finite")
    if uniform:
        bound = math.sqrt(3.0) * std
        worst = x.abs().max().item()
        if worst > bound * (1 + 1e-6):
            raise CheckFailed(f"{what}: every value should lie in [-{bound:.6g}, {bound:.6g}] "
                              f"(sqrt(3) * std with std = {std:.6g}); the largest |value| is {worst:.6g}")
        # P(no |x| above bound * (1 - 30 / n)) = (1 - 30 / n)^n <= e^-30 for an honest U(-b, b)
        if worst < bound * (1 - 30.0 / n):
            raise CheckFailed(f"{what}: the values should fill [-{bound:.6g}, {bound:.6g}]; the largest "
                              f"|value| of {n} is only {worst:.6g}")
        kurtosis = 9.0 / 5.0
    else:
        # the tails: t is the point an honest N(0, std^2) sample of n values exceeds 23 times on average
        # (P(|x| > t std) = 23 / n, about 2.8 std for n = 4,608 and 3.2 std for n = 16,384), so no value
        # beyond t std has probability (1 - 23 / n)^n < e^-23 = 1e-10; a uniform draw, a truncated normal
        # or a normal clamped at 3 std with about the right variance never gets there
        t = math.sqrt(2.0) * torch.special.erfinv(torch.tensor(1.0 - 23.0 / n, dtype=torch.float64)).item()
        if x.abs().max().item() <= t * std:
            raise CheckFailed(f"{what}: the values should be normally distributed with std {std:.6g}; "
                              f"none of {n} lies beyond {t:.2f} std, where a normal sample has about 23 "
                              f"(a uniform, truncated or clamped distribution?)")
        kurtosis = 3.0
    mean = x.mean().item()
    # the sample mean has standard deviation std / sqrt(n)
    if abs(mean) > Z * std / math.sqrt(n):
        raise CheckFailed(f"{what}: the mean should be 0; the mean of {n} values is {mean:.6g}, "
                          f"outside +-{Z * std / math.sqrt(n):.3g} ({Z} standard errors)")
    # the mean square m2 = sum(x^2) / n of a zero-mean sample has mean std^2 and relative standard
    # deviation sqrt((kurtosis - 1) / n): chi-square (n*m2/std^2 ~ chi2_n, variance 2n) for the normal,
    # Var(x^2) = 4 b^4 / 45 for U(-b, b)
    ratio = x.square().mean().item() / std ** 2
    allowed = Z * math.sqrt((kurtosis - 1.0) / n)
    if abs(ratio - 1.0) > allowed:
        raise CheckFailed(f"{what}: the variance should be std^2 = {std ** 2:.6g}; the sample's mean square "
                          f"is {ratio:.4f} times that, outside 1 +- {allowed:.4f} ({Z} standard deviations "
                          f"of the mean square of {n} values)")


def _init_aspect(kind, uniform, fn, examples):
    @showing(lambda case: {"tensor": f"torch.full({case['shape']}, nan, dtype={case['dtype']})",
                           **_kwargs(kind, case), "generator": f"torch.Generator().manual_seed({case['seed']})"},
             note=lambda case: f"the target std is {_std(kind, case):.6g}")
    def statistics(case):
        x = _initialized(fn, kind, case)
        _statistics(x, _std(kind, case), uniform, f"the tensor {kind} filled")

    @showing(lambda case: {"tensor": f"torch.full({case['shape']}, nan, dtype={case['dtype']})",
                           **_kwargs(kind, case)})
    def reproducible(case):
        first = _initialized(fn, kind, case)
        again = _initialized(fn, kind, case, requires_grad=True)
        other = _initialized(fn, kind, case, seed=case["seed"] + 1)
        if not torch.equal(first, again):
            raise CheckFailed(f"{kind} with two generators seeded alike should fill the same values "
                              f"(draw every value from the generator you are given), on a tensor "
                              f"that requires grad too")
        if torch.equal(first, other):
            raise CheckFailed(f"{kind} filled the same values with generators of different seeds")

    yield check_property(
        f"the values' {'bound, extremes, ' if uniform else 'tails, '}mean and variance match "
        f"torch's {kind} within {Z} standard deviations of the sample (float32 and float64, "
        f"linear and convolution weights); the tensor is filled in place and returned",
        S.init_cases(kind), statistics, max_examples=12, examples=examples)
    small = dict(examples[0], shape=(3, 4, 2))
    yield check_property(
        "the same generator seed gives the same values, another seed others; a tensor that requires "
        "grad (an nn.Parameter) is filled too",
        S.init_cases(kind), reproducible, max_examples=3, examples=[small])


def _xavier_examples():
    return [{"shape": (64, 256), "dtype": "float32", "gain": 1.0, "seed": 1},
            {"shape": (512, 32), "dtype": "float64", "gain": 2.0, "seed": 2},       # fan_out >> fan_in
            {"shape": (32, 16, 3, 3), "dtype": "float32", "gain": 0.5, "seed": 3},   # receptive field 9
            {"shape": (8, 64, 5, 5), "dtype": "float64", "gain": 5 / 3, "seed": 4}]


def _kaiming_examples():
    return [{"shape": (64, 256), "dtype": "float32", "mode": "fan_in", "nonlinearity": "relu", "a": 0.0, "seed": 1},
            {"shape": (256, 64), "dtype": "float64", "mode": "fan_out", "nonlinearity": "relu", "a": 0.0, "seed": 2},
            {"shape": (64, 16, 3, 3), "dtype": "float32", "mode": "fan_in", "nonlinearity": "leaky_relu",
             "a": 0.0, "seed": 3},                                         # the default: leaky_relu with a = 0
            {"shape": (16, 64, 3, 3), "dtype": "float64", "mode": "fan_out", "nonlinearity": "leaky_relu",
             "a": 1.0, "seed": 4},                                         # a = 1: gain 1, not sqrt(2)
            {"shape": (32, 512), "dtype": "float32", "mode": "fan_in", "nonlinearity": "tanh", "a": 0.0, "seed": 5},
            {"shape": (100, 300), "dtype": "float64", "mode": "fan_in", "nonlinearity": "relu", "a": 3.0, "seed": 6},
            {"shape": (48, 8, 5, 5), "dtype": "float32", "mode": "fan_out", "nonlinearity": "selu", "a": 0.0,
             "seed": 7}]


@aspect(A, task="xavier_uniform_", points=2)
def xavier_uniform_statistics(xavier_uniform_):
    """xavier_uniform_ fills U(-b, b), b = gain * sqrt(6 / (fan_in + fan_out)), in place, from the generator."""
    yield from _init_aspect("xavier_uniform_", True, xavier_uniform_, _xavier_examples())


@aspect(A, task="xavier_normal_", points=2)
def xavier_normal_statistics(xavier_normal_):
    """xavier_normal_ fills N(0, gain^2 * 2 / (fan_in + fan_out)), in place, from the generator."""
    yield from _init_aspect("xavier_normal_", False, xavier_normal_, _xavier_examples())


@aspect(A, task="kaiming_uniform_", points=2)
def kaiming_uniform_statistics(kaiming_uniform_):
    """kaiming_uniform_ fills U(-b, b), b = gain * sqrt(3 / fan) for the mode and nonlinearity, in place."""
    yield from _init_aspect("kaiming_uniform_", True, kaiming_uniform_, _kaiming_examples())


@aspect(A, task="kaiming_normal_", points=2)
def kaiming_normal_statistics(kaiming_normal_):
    """kaiming_normal_ fills N(0, gain^2 / fan) for the mode and nonlinearity, in place, from the generator."""
    yield from _init_aspect("kaiming_normal_", False, kaiming_normal_, _kaiming_examples())


# ---------------------------------------------------------------- per-layer gradient norms

_ACTIVATIONS = {"sigmoid": torch.nn.Sigmoid, "relu": torch.nn.ReLU, "tanh": torch.nn.Tanh}
_LOSSES = {"mse": torch.nn.MSELoss, "l1": torch.nn.L1Loss}


def _mlp(case):
    torch.manual_seed(case["seed"])
    widths, layers = case["widths"], []
    for i, (a, b) in enumerate(zip(widths[:-1], widths[1:])):
        layers.append(torch.nn.Linear(a, b, bias=case["bias"]).double())
        if i < len(widths) - 2 and case.get("norm", False):
            layers.append(torch.nn.LayerNorm(b).double())     # has a .weight that is not an nn.Linear's
        if i < len(widths) - 2:
            layers.append(_ACTIVATIONS[case["activation"]]())
    if case["nested"] and len(layers) > 2:
        model = torch.nn.Sequential(torch.nn.Sequential(*layers[:2]), torch.nn.Sequential(*layers[2:]))
    else:
        model = torch.nn.Sequential(*layers)
    x = tensor_from_seed((case["batch"], widths[0]), case["seed"] + 1, low=-2.0, high=2.0, dtype=torch.float64)
    y = tensor_from_seed((case["batch"], widths[-1]), case["seed"] + 2, dtype=torch.float64)
    return model, x, y, _LOSSES[case["loss"]]()


@aspect(A, task="layer_grad_norms", points=2)
def layer_grad_norms_correct(layer_grad_norms):
    """layer_grad_norms gives the norm of d loss / d W of every nn.Linear, in order, as autograd does."""

    @showing(lambda case: {"model": str(_mlp(case)[0]).replace("\n", " "), "x": _mlp(case)[1],
                           "y": _mlp(case)[2], "loss_fn": _mlp(case)[3],
                           "every parameter's .grad before the call": case["stale"] or None})
    def same_as_autograd(case):
        model, x, y, loss_fn = _mlp(case)
        state = {k: v.clone() for k, v in model.state_dict().items()}
        expected = oracles.layer_grad_norms(model, x, y, loss_fn)
        got = call(around(layer_grad_norms, "medgrade.worker.probes:norms_with_stale_grads"),
                   model, x.clone(), y.clone(), loss_fn, case["stale"])
        expect_tensor(got, what="layer_grad_norms' result", shape=expected.shape)
        if not got.is_floating_point():
            raise CheckFailed(f"layer_grad_norms should return floating-point norms, got {got.dtype}")
        assert_close(got.detach().double(), expected, rtol=1e-6, atol=1e-12,
                     what="the per-layer gradient norms")
        for k, v in model.state_dict().items():
            if not torch.equal(v, state[k]):
                raise CheckFailed(f"layer_grad_norms changed the model's {k}: it must only read gradients")

    yield check_property(
        "one norm per nn.Linear (its weight only: no bias, no LayerNorm weight; nested modules included) "
        "equal to autograd's, whatever "
        ".grad held before the call; the model left unchanged",
        S.mlp_cases(), same_as_autograd, max_examples=20,
        examples=[{"widths": [4, 6, 6, 2], "activation": "sigmoid", "bias": True, "nested": False, "batch": 3,
                   "loss": "mse", "stale": 1.0, "seed": 1},
                  {"widths": [3, 5, 5, 5, 1], "activation": "relu", "bias": True, "nested": True, "batch": 2,
                   "loss": "l1", "stale": 0.0, "seed": 2},
                  {"widths": [2, 1], "activation": "tanh", "bias": False, "nested": False, "batch": 1,
                   "loss": "mse", "stale": -3.0, "seed": 3},
                  {"widths": [3, 4, 4, 2], "activation": "relu", "bias": True, "nested": True, "norm": True,
                   "batch": 4, "loss": "mse", "stale": 1.0, "seed": 4}])


# ---------------------------------------------------------------- clip_grad_norm_

def _grads(case):
    dtype = norm_dtype(case["dtype"])
    return [tensor_from_seed(shape, case["seed"] + i, low=-case["scale"], high=case["scale"], dtype=dtype)
            if has else None
            for i, (shape, has) in enumerate(zip(case["shapes"], case["has_grad"]))]


def _max_norm(case, grads):
    present = [g.double() for g in grads if g is not None]
    if not present:
        return 1.0
    p = case["norm_type"]
    total = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g, p) for g in present]), p)
    return float(total) * case["ratio"]


def _clip_tol(dtype):
    return dict(rtol=1e-5, atol=1e-30) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-300)


def _clip_shown(case):
    grads = _grads(case)
    return {"grads": grads, "max_norm": _max_norm(case, grads), "norm_type": case["norm_type"]}


def _clip_call(fn, case, how="list"):
    grads = _grads(case)
    max_norm = _max_norm(case, grads)
    got, after, values = call(around(fn, "medgrade.worker.probes:clip_with_grads"), grads, max_norm,
                              case["norm_type"], how, forbid=_CLIP_FORBID, forbid_ops=_CLIP_OPS)
    want_total, want_after = oracles.clip_grad_norm(grads, max_norm, case["norm_type"])
    return grads, got, after, values, want_total, want_after


def _clip_compare(case, got, after, values, want_total, want_after):
    dtype = norm_dtype(case["dtype"])
    expect_tensor(got, what="the total norm clip_grad_norm_ returned")
    if got.numel() != 1:
        raise CheckFailed(f"clip_grad_norm_ should return the total norm as a 0-dim tensor, got shape "
                          f"{tuple(got.shape)}")
    if any(w is not None for w in want_after) and got.dtype != dtype:
        raise CheckFailed(f"the total norm should come back in the gradients' dtype {dtype}, got {got.dtype}")
    assert_close(got.detach().double().reshape(()), want_total.double(), **_clip_tol(dtype),
                 what="the total norm before clipping")
    for i, (g, w) in enumerate(zip(after, want_after)):
        if w is None:
            if g is not None:
                raise CheckFailed(f"parameter {i} had no gradient and should keep none")
            continue
        if g is None:
            raise CheckFailed(f"parameter {i}'s gradient is gone")
        assert_close(g, w, **_clip_tol(dtype), what=f"parameter {i}'s gradient after clipping")
    for i, v in enumerate(values):
        if v.abs().max().item() != 0:
            raise CheckFailed(f"clip_grad_norm_ changed parameter {i}'s values: it must only scale .grad")


@aspect(A, task="clip_grad_norm_", points=3)
def clip_grad_norm_correct(clip_grad_norm_):
    """clip_grad_norm_ returns the total p-norm (inf included) and scales every gradient as torch does."""

    @showing(_clip_shown)
    def same_as_torch(case):
        _, got, after, values, want_total, want_after = _clip_call(clip_grad_norm_, case)
        _clip_compare(case, got, after, values, want_total, want_after)

    @showing(_clip_shown)
    def bounded_same_direction(case):
        grads, got, after, _, _, _ = _clip_call(clip_grad_norm_, case)
        max_norm, p = _max_norm(case, grads), case["norm_type"]
        if any(g is None for g in after):
            raise CheckFailed("a gradient is gone after clipping")
        old = torch.cat([g.double().reshape(-1) for g in grads])
        new = torch.cat([g.double().reshape(-1) for g in after])
        slack = 1e-5 if case["dtype"] == "float32" else 1e-10
        new_total = torch.linalg.vector_norm(new, p).item()
        if new_total > max_norm * (1 + slack):
            raise CheckFailed(f"after clipping the total {p}-norm of the gradients is {new_total:.6g}, "
                              f"above max_norm = {max_norm:.6g}")
        # one common factor c in (0, 1]: new = c * old, every gradient alike (the direction is kept)
        c = (new @ old / (old @ old)).item()
        if not 0 < c <= 1 + slack or not torch.allclose(new, c * old, rtol=100 * slack, atol=0):
            raise CheckFailed("the clipped gradients are not one common positive multiple (at most 1) of the "
                              "gradients before: clipping must keep the direction of the whole step")

    def ex(shapes, norm_type, ratio, dtype="float64", scale=1.0, seed=0):
        return {"shapes": shapes, "has_grad": [True] * len(shapes), "norm_type": norm_type, "ratio": ratio,
                "scale": scale, "dtype": dtype, "seed": seed}

    yield check_property(
        "after clipping the total norm is at most max_norm, and every gradient is scaled by the same "
        "factor (the direction of the step is kept)",
        S.clip_cases(), bounded_same_direction, max_examples=15,
        examples=[ex([(3, 4), (5,)], 2.0, 0.5), ex([(2, 3), (4,), ()], math.inf, 0.3),
                  ex([(6,), (2, 2)], 1.0, 0.1, "float32")])
    yield check_property(
        "the pre-clip total norm and the clipped gradients equal torch.nn.utils.clip_grad_norm_'s for "
        "p in {0.5, 1, 2, 3, 4.5, inf}, clipped (max_norm below the total) or not (above it)",
        S.clip_cases(), same_as_torch, max_examples=40,
        examples=[ex([(3, 4), (5,)], 2.0, 0.5), ex([(3, 4), (5,)], 2.0, 2.0),
                  ex([(2, 3), (4,), ()], math.inf, 0.3), ex([(6,), (2, 2)], 1.0, 0.1, "float32"),
                  ex([(3,), (3,)], 3.0, 0.7, scale=1e-3), ex([(4, 4)], 2.0, 0.5, "float32", scale=1e3)])


@aspect(A, task="clip_grad_norm_", points=1)
def clip_grad_norm_contract(clip_grad_norm_):
    """clip_grad_norm_ takes a single tensor or any iterable, skips parameters without a gradient."""

    def one(case, how):
        _, got, after, values, want_total, want_after = _clip_call(clip_grad_norm_, case, how)
        _clip_compare(case, got, after, values, want_total, want_after)

    @showing(_clip_shown)
    def iterable_with_missing(case):
        one(case, "iterator")

    @showing(_clip_shown)
    def single(case):
        one(dict(case, shapes=case["shapes"][:1], has_grad=[True]), "single")

    def ex(has, shapes=None, norm_type=2.0, ratio=0.5, seed=0):
        shapes = shapes or [(3,)] * len(has)
        return {"shapes": shapes, "has_grad": has, "norm_type": norm_type, "ratio": ratio,
                "scale": 1.0, "dtype": "float64", "seed": seed}

    yield check_property(
        "parameters given as a one-pass iterator; those whose .grad is None are skipped (and keep None); "
        "no gradient at all gives a total norm of 0",
        S.clip_cases(missing=True), iterable_with_missing, max_examples=15,
        examples=[ex([True, False, True]), ex([False, True], norm_type=math.inf), ex([False, False]),
                  ex([False], ratio=2.0)])
    yield check_property(
        "a single tensor (not in a list) is accepted as parameters",
        S.clip_cases(), single, max_examples=6,
        examples=[ex([True], shapes=[(2, 3)]), ex([True], shapes=[(4,)], norm_type=1.0, ratio=3.0)])
