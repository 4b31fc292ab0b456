"""Checks of 05_batchnorm: batch-norm forward (training, running statistics, eval),
its closed-form backward, and layer norm."""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, assert_equal, expect_tensor, modified_in_place
from medgrade.properties import call, check_property, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "05_batchnorm"

_EPS = {torch.float32: torch.finfo(torch.float32).eps, torch.float64: torch.finfo(torch.float64).eps}


# ---------------------------------------------------------------- calling the student

_NORMS = [(F, "batch_norm", "torch.nn.functional.batch_norm"),
          (F, "instance_norm", "torch.nn.functional.instance_norm"),
          (F, "layer_norm", "torch.nn.functional.layer_norm"),
          (F, "group_norm", "torch.nn.functional.group_norm")]
# below the Python layer: torch.batch_norm, torch.native_batch_norm, torch.ops.aten.*, nn.BatchNorm*, ...
_NORM_OPS = re.compile(r"batch_norm|layer_norm|group_norm|instance_norm")
_AUTOGRAD = [(torch.autograd, "grad", "torch.autograd.grad"),
             (torch.autograd, "backward", "torch.autograd.backward"),
             (torch.Tensor, "backward", "Tensor.backward")]


def _call(fn, *args, autograd_allowed=True, **kwargs):
    return call(fn, *args, forbid=_NORMS + ([] if autograd_allowed else _AUTOGRAD),
                forbid_ops=_NORM_OPS, **kwargs)


# ---------------------------------------------------------------- inputs and tolerances

def _dtype(case):
    return norm_dtype(case.get("dtype", "float64"))


def _values(shape, case, seed, dtype):
    """shift + scale * U[-1, 1): the offset and spread of the case."""
    u = tensor_from_seed(shape, seed, dtype=torch.float64)
    return (case["shift"] + case["scale"] * u).to(dtype)


def _condition(case):
    """How much the normalization magnifies rounding: |mean| / spread, at least 1."""
    return 1.0 + abs(case["shift"]) / case["scale"]


def _close(got, expected, case, dtype, what):
    """Float64 to 1e-7; float32 to its precision times the conditioning of the case."""
    magnitude = 1.0 + (expected.detach().double().abs().max().item() if expected.numel() else 0.0)
    if dtype == torch.float64:
        atol, rtol = 1e-7 * magnitude, 1e-7
    else:
        atol, rtol = max(1e-5, 32 * _EPS[torch.float32] * _condition(case)) * magnitude, 1e-5
    assert_close(got, expected, rtol=rtol, atol=atol, what=what)


def _bn_inputs(case):
    """x (N, C) or (N, C, H, W), gamma, beta, running_mean, running_var, all of the case's dtype."""
    dtype, shape, seed = _dtype(case), tuple(case["shape"]), case["seed"]
    c = shape[1]
    x = _values(shape, case, seed, dtype)
    if case.get("constant_channel"):        # channel 0 holds one value: zero variance
        x[:, 0] = case["shift"]
    gamma = tensor_from_seed((c,), seed + 1, low=-2.0, high=2.0, dtype=dtype)
    beta = tensor_from_seed((c,), seed + 2, low=-1.0, high=1.0, dtype=dtype)
    running_mean = tensor_from_seed((c,), seed + 3, low=-1.0, high=1.0, dtype=dtype)
    running_var = tensor_from_seed((c,), seed + 4, low=0.5, high=2.0, dtype=dtype)
    return x, gamma, beta, running_mean, running_var


def _unchanged(originals, passed, names):
    for name, before, after in zip(names, originals, passed):
        if not torch.equal(before, after):
            raise CheckFailed(f"{modified_in_place(name)} (return new tensors instead)")


def _three_tensors(got, what):
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        kind = type(got).__name__ + (f" of length {len(got)}" if isinstance(got, (tuple, list)) else "")
        raise CheckFailed(f"{what} should return a tuple of three tensors, got a {kind}")
    for i, t in enumerate(got):
        expect_tensor(t, what=f"element {i} of the returned tuple")
    return got


_BN_NAMES = ("x", "gamma", "beta", "running_mean", "running_var")


def _bn_call(fn, case, training, inputs=None):
    """Call the student's batchnorm_forward on clones; check the inputs were left alone."""
    inputs = _bn_inputs(case) if inputs is None else inputs
    clones = [t.clone() for t in inputs]
    got = _call(fn, *clones, momentum=case["momentum"], eps=case["eps"], training=training)
    _unchanged(inputs, clones, _BN_NAMES)
    return _three_tensors(got, "batchnorm_forward"), inputs


def _bn_examples(dtype="float64", **overrides):
    base = {"shape": (2, 1), "momentum": 0.1, "eps": 1e-5, "scale": 1.0, "shift": 0.0,
            "seed": 0, "dtype": dtype}
    base.update(overrides)
    return base




def _bn_shown(training):
    def inputs_of(case):
        shown = dict(zip(_BN_NAMES, _bn_inputs(case)))
        shown.update(momentum=case["momentum"], eps=case["eps"], training=training)
        return shown
    return inputs_of


def _bw_shown(eps=None):
    def inputs_of(case):
        dout, x, gamma = _bw_inputs(case)
        return {"dout": dout, "x": x, "gamma": gamma, "eps": case["eps"] if eps is None else eps}
    return inputs_of


def _ln_shown(case):
    x, spelled, gamma, beta = _ln_inputs(case)
    return {"x": x, "normalized_shape": spelled, "gamma": gamma, "beta": beta, "eps": case["eps"]}


# ---------------------------------------------------------------- batchnorm_forward

@aspect(A, task="batchnorm_forward", points=3)
def batchnorm_forward_train(batchnorm_forward):
    """Training mode: the output equals F.batch_norm's for (N, C) and (N, C, H, W)."""

    @showing(_bn_shown(True))
    def same_as_torch(case):
        dtype = _dtype(case)
        (out, _, _), inputs = _bn_call(batchnorm_forward, case, training=True)
        expected, _, _ = oracles.batch_norm(*inputs, case["momentum"], case["eps"], True)
        _close(out, expected, case, dtype, "the output")

    @showing(lambda case: {"x": _bn_inputs(case)[0], "eps": case["eps"]})
    def normalized_per_channel(case):
        x, _, _, rm, rv = _bn_inputs(case)
        c = x.shape[1]
        ones, zeros = torch.ones(c, dtype=x.dtype), torch.zeros(c, dtype=x.dtype)
        (out, _, _), _ = _bn_call(batchnorm_forward, case, training=True, inputs=(x, ones, zeros, rm, rv))
        expect_tensor(out, what="the output", shape=x.shape, dtype=x.dtype)
        dims = [0] if x.dim() == 2 else [0, 2, 3]
        var = x.double().var(dim=dims, unbiased=False)
        got_mean = out.double().mean(dim=dims)
        got_var = out.double().var(dim=dims, unbiased=False)
        want_var = var / (var + case["eps"])
        if not torch.allclose(got_mean, torch.zeros_like(got_mean), atol=1e-9):
            raise CheckFailed(f"with gamma = 1 and beta = 0 every channel of the output should have "
                              f"mean 0; the channel means are {got_mean.tolist()}")
        if not torch.allclose(got_var, want_var, rtol=1e-7, atol=1e-12):
            raise CheckFailed(f"with gamma = 1 and beta = 0 every channel of the output should have "
                              f"(biased) variance var / (var + eps), 1 up to eps: expected "
                              f"{want_var.tolist()}, got {got_var.tolist()}")

    yield check_property(
        "training-mode output equals F.batch_norm's (shape, dtype and values; float32 and float64; "
        "inputs left unchanged)",
        S.batchnorm_typed_cases(), same_as_torch, max_examples=70,
        examples=[_bn_examples(),                                                  # N = 2, C = 1
                  _bn_examples(shape=(2, 3, 1, 1), eps=0.1),                       # 2 values per channel
                  _bn_examples(shape=(1, 2, 1, 2), dtype="float32"),               # N = 1, H*W = 2
                  _bn_examples(shape=(8, 6, 5, 5), seed=5, eps=0.1),               # eps large next to var
                  _bn_examples(shape=(5, 3), scale=0.01, shift=-50.0, dtype="float32"),  # mean >> spread
                  _bn_examples(shape=(4, 3, 2, 3), scale=0.01, shift=-50.0, dtype="float32", seed=3),
                  _bn_examples(shape=(4, 2, 3, 3), shift=3.0, constant_channel=True)])   # variance 0
    yield check_property(
        "with gamma = 1, beta = 0 each channel of the output has mean 0 and variance 1 (up to eps)",
        S.batchnorm_typed_cases(dtypes=("float64",)), normalized_per_channel, max_examples=30,
        examples=[_bn_examples(shape=(3, 4, 2, 2), seed=7), _bn_examples(shape=(6, 2), seed=8)])


@aspect(A, task="batchnorm_forward", points=2)
def batchnorm_forward_running_stats(batchnorm_forward):
    """Training mode: the running statistics follow torch's update, step after step."""

    @showing(_bn_shown(True))
    def one_step(case):
        dtype = _dtype(case)
        (_, rm, rv), inputs = _bn_call(batchnorm_forward, case, training=True)
        _, want_rm, want_rv = oracles.batch_norm(*inputs, case["momentum"], case["eps"], True)
        _close(rm, want_rm, case, dtype, "the new running mean")
        _close(rv, want_rv, case, dtype, "the new running variance")

    def many_steps(seq):
        dtype, c = norm_dtype(seq["dtype"]), seq["channels"]
        rm = tensor_from_seed((c,), seq["seed"], low=-1.0, high=1.0, dtype=dtype)
        rv = tensor_from_seed((c,), seq["seed"] + 1, low=0.5, high=2.0, dtype=dtype)
        want_rm, want_rv = rm.clone(), rv.clone()
        for k, step in enumerate(seq["steps"], 1):
            case = dict(step, eps=1e-5, dtype=seq["dtype"])
            x, gamma, beta, _, _ = _bn_inputs(case)
            (_, rm, rv), _ = _bn_call(batchnorm_forward, case, training=True,
                                      inputs=(x, gamma, beta, rm, rv))
            _, want_rm, want_rv = oracles.batch_norm(x, gamma, beta, want_rm, want_rv,
                                                     step["momentum"], 1e-5, True)
            # the tolerance grows with the worst-conditioned step so far
            worst = max(seq["steps"][:k], key=_condition)
            _close(rm, want_rm, worst, dtype, f"the running mean after step {k}")
            _close(rv, want_rv, worst, dtype, f"the running variance after step {k}")

    yield check_property(
        "one training step: new running mean and variance equal torch's "
        "((1 - momentum) * running + momentum * batch statistic, unbiased variance)",
        S.batchnorm_typed_cases(), one_step, max_examples=50,
        examples=[_bn_examples(shape=(2, 3), momentum=0.1),                  # m = 2: factor 2 for the variance
                  _bn_examples(shape=(1, 2, 2, 1), momentum=0.3),            # N = 1, H*W = 2
                  _bn_examples(shape=(3, 2, 2, 2), momentum=1.0),            # momentum 1: the batch statistics
                  _bn_examples(shape=(3, 2), momentum=0.0),                  # momentum 0: nothing changes
                  _bn_examples(shape=(4, 3, 2, 2), momentum=0.01, seed=11)])
    yield check_property(
        "k successive training steps with random momentum: running statistics equal torch's after each step",
        S.batchnorm_step_sequences(), many_steps, max_examples=30)


@aspect(A, task="batchnorm_forward", points=2)
def batchnorm_forward_eval(batchnorm_forward):
    """Eval mode: normalize with the running statistics, return them unchanged."""

    @showing(_bn_shown(False))
    def uses_running_stats(case):
        dtype = _dtype(case)
        (out, rm, rv), inputs = _bn_call(batchnorm_forward, case, training=False)
        expected, want_rm, want_rv = oracles.batch_norm(*inputs, case["momentum"], case["eps"], False)
        _close(out, expected, case, dtype, "the eval-mode output")
        assert_equal(rm, inputs[3], what="the running mean returned in eval mode (it must not change)")
        assert_equal(rv, inputs[4], what="the running variance returned in eval mode (it must not change)")

    @showing(_bn_shown(False))
    def per_sample(case):
        dtype = _dtype(case)
        (out, _, _), (x, gamma, beta, rm, rv) = _bn_call(batchnorm_forward, case, training=False)
        expect_tensor(out, what="the eval-mode output", shape=x.shape, dtype=x.dtype)
        for i in range(x.shape[0]):
            (alone, _, _), _ = _bn_call(batchnorm_forward, case, training=False,
                                        inputs=(x[i:i + 1].clone(), gamma, beta, rm, rv))
            _close(alone, out[i:i + 1], case, dtype, f"the eval-mode output of sample {i} on its own")

    yield check_property(
        "eval-mode output equals F.batch_norm's with training=False; running statistics come back unchanged",
        S.batchnorm_typed_cases(), uses_running_stats, max_examples=50,
        examples=[_bn_examples(shape=(1, 3), scale=10.0, shift=3.0),        # a single sample
                  _bn_examples(shape=(1, 2, 3, 3), dtype="float32"),
                  _bn_examples(shape=(5, 4, 2, 2), eps=0.1, shift=-50.0)])  # batch far from running stats
    yield check_property(
        "in eval mode each sample's output does not depend on the rest of the batch",
        S.batchnorm_typed_cases(), per_sample, max_examples=25,
        examples=[_bn_examples(shape=(4, 2, 2, 2), shift=3.0)])


# ---------------------------------------------------------------- batchnorm_backward

def _bw_inputs(case):
    x, gamma, _, _, _ = _bn_inputs(case)
    dout = tensor_from_seed(x.shape, case["seed"] + 5, low=-1.0, high=1.0, dtype=x.dtype)
    return dout, x, gamma


def _bw_call(fn, dout, x, gamma, eps):
    clones = [t.clone() for t in (dout, x, gamma)]
    with torch.no_grad():
        got = _call(fn, *clones, eps=eps, autograd_allowed=False)
    _unchanged((dout, x, gamma), clones, ("dout", "x", "gamma"))
    dx, dgamma, dbeta = _three_tensors(got, "batchnorm_backward")
    return dx, dgamma, dbeta


@aspect(A, task="batchnorm_backward", points=3)
def batchnorm_backward_correct(batchnorm_backward):
    """Closed-form backward of training-mode batch norm equals autograd's."""

    @showing(_bw_shown())
    def same_as_autograd(case):
        dtype = _dtype(case)
        dout, x, gamma = _bw_inputs(case)
        dx, dgamma, dbeta = _bw_call(batchnorm_backward, dout, x, gamma, case["eps"])
        want_dx, want_dgamma, want_dbeta = oracles.batch_norm_backward(dout, x, gamma, case["eps"])
        _close(dx, want_dx, case, dtype, "dx")
        _close(dgamma, want_dgamma, case, dtype, "dgamma")
        _close(dbeta, want_dbeta, case, dtype, "dbeta")

    @showing(_bw_shown(eps=0.0))
    def invariances(case):
        dout, x, gamma = _bw_inputs(case)
        dx, _, _ = _bw_call(batchnorm_backward, dout, x, gamma, 0.0)
        expect_tensor(dx, what="dx", shape=x.shape, dtype=x.dtype)
        dims = [0] if x.dim() == 2 else [0, 2, 3]
        x64, dx64 = x.double(), dx.double()
        centred = x64 - x64.mean(dim=dims, keepdim=True)
        std = centred.pow(2).mean(dim=dims, keepdim=True).sqrt()
        x_hat = centred / std
        shape = [1, -1] + [1] * (x.dim() - 2)
        # what rounding can leave of a zero sum: the size of the terms, times the conditioning
        size = (dout.double() * gamma.double().reshape(shape)).abs().div(std).sum(dim=dims)
        allowed = 1e-9 * _condition(case) * size
        total = dx64.sum(dim=dims)
        if not bool((total.abs() <= allowed).all()):
            raise CheckFailed(f"dx should sum to zero over each channel (shifting a whole channel "
                              f"does not change the output); the sums are {total.tolist()}")
        inner = (dx64 * x_hat).sum(dim=dims)
        if not bool((inner.abs() <= allowed * x_hat.abs().amax(dim=dims)).all()):
            raise CheckFailed(f"with eps = 0, dx should be orthogonal to x_hat in each channel "
                              f"(scaling a channel does not change the output); "
                              f"sum(dx * x_hat) per channel is {inner.tolist()}")

    yield check_property(
        "dx, dgamma, dbeta equal autograd through F.batch_norm (training mode), for (N, C) and "
        "(N, C, H, W), computed under torch.no_grad()",
        S.batchnorm_typed_cases(), same_as_autograd, max_examples=60,
        examples=[_bn_examples(),                                            # 2 values per channel
                  _bn_examples(shape=(1, 2, 2, 1), eps=0.1),
                  _bn_examples(shape=(6, 3, 4, 2), seed=2, eps=0.1),
                  _bn_examples(shape=(5, 3), scale=0.01, shift=-50.0, dtype="float32"),
                  _bn_examples(shape=(4, 2, 3, 3), shift=3.0, constant_channel=True)])
    yield check_property(
        "dx sums to zero over each channel, and (with eps = 0) is orthogonal to x_hat in each channel",
        S.batchnorm_typed_cases(dtypes=("float64",)), invariances, max_examples=30,
        examples=[_bn_examples(shape=(3, 2), seed=4), _bn_examples(shape=(2, 3, 3, 2), seed=6)])


# ---------------------------------------------------------------- layernorm_forward

def _ln_inputs(case):
    dtype, seed = _dtype(case), case["seed"]
    norm = tuple(case["normalized"])
    x = _values(tuple(case["lead"]) + norm, case, seed, dtype)
    gamma = tensor_from_seed(norm, seed + 1, low=-2.0, high=2.0, dtype=dtype)
    beta = tensor_from_seed(norm, seed + 2, low=-1.0, high=1.0, dtype=dtype)
    form = case["form"]
    spelled = (norm[0] if form == "int" else list(norm) if form == "list"
               else torch.Size(norm) if form == "size" else norm)
    return x, spelled, gamma, beta


def _ln_call(fn, x, spelled, gamma, beta, eps):
    clones = [t.clone() for t in (x, gamma, beta)]
    got = _call(fn, clones[0], spelled, clones[1], clones[2], eps=eps)
    _unchanged((x, gamma, beta), clones, ("x", "gamma", "beta"))
    return got


def _ln_examples(lead, normalized, form="tuple", **overrides):
    base = {"lead": lead, "normalized": normalized, "form": form, "eps": 1e-5, "scale": 1.0,
            "shift": 0.0, "dtype": "float64", "seed": 0}
    base.update(overrides)
    return base


@aspect(A, task="layernorm_forward", points=2)
def layernorm_forward_correct(layernorm_forward):
    """Layer norm equals F.layer_norm and normalizes each sample on its own."""

    @showing(_ln_shown)
    def same_as_torch(case):
        dtype = _dtype(case)
        x, spelled, gamma, beta = _ln_inputs(case)
        got = _ln_call(layernorm_forward, x, spelled, gamma, beta, case["eps"])
        expected = oracles.layer_norm(x, tuple(case["normalized"]), gamma, beta, case["eps"])
        _close(got, expected, case, dtype, "the output")

    @showing(_ln_shown)
    def per_sample(case):
        dtype = _dtype(case)
        x, spelled, gamma, beta = _ln_inputs(case)
        whole = _ln_call(layernorm_forward, x, spelled, gamma, beta, case["eps"])
        expect_tensor(whole, what="the output", shape=x.shape, dtype=x.dtype)
        for i in range(x.shape[0]):
            alone = _ln_call(layernorm_forward, x[i:i + 1].clone(), spelled, gamma, beta, case["eps"])
            _close(alone, whole[i:i + 1], case, dtype, f"the output of sample {i} on its own")

    yield check_property(
        "output equals F.layer_norm's for 1 to 3 normalized dims, normalized_shape as int, tuple, "
        "list or torch.Size (float32 and float64; inputs left unchanged)",
        S.layernorm_cases(), same_as_torch, max_examples=70,
        examples=[_ln_examples((2, 3), (4,), form="int"),
                  _ln_examples((3,), (2, 3, 4)),
                  _ln_examples((), (5, 2), form="list"),                     # no batch dims at all
                  _ln_examples((2,), (1,), form="int"),                      # one value: output = beta
                  _ln_examples((4,), (3, 1, 2), form="size", shift=-50.0, scale=0.01, dtype="float32"),
                  _ln_examples((2, 2), (3, 3), eps=0.1, scale=0.01)])
    yield check_property(
        "each sample is normalized with its own statistics: the output of one sample does not "
        "depend on the batch size",
        S.layernorm_cases(min_lead=1), per_sample, max_examples=25,
        examples=[_ln_examples((3,), (4, 2)), _ln_examples((2, 2), (3,), form="int")])
