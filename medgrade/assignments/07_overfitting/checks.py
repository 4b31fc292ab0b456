"""Checks of 07_overfitting: inverted dropout (values and statistics, contract), the L2 penalty and
SGD's weight_decay, Adam with L2 against AdamW, early stopping on scripted loss curves, and paired
image + mask + box augmentation."""
from __future__ import annotations

import math
import re

import torch
import torch.nn.functional as F

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, assert_equal, describe, expect_tensor, modified_in_place
from medgrade.properties import beside, call, check_property, gradients, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "07_overfitting"

_EPS = {torch.float32: torch.finfo(torch.float32).eps, torch.float64: torch.finfo(torch.float64).eps}

# ---------------------------------------------------------------- dropout

_DROPOUT = [(F, "dropout", "torch.nn.functional.dropout"),
            (torch, "dropout", "torch.dropout"),
            (torch.nn, "Dropout", "torch.nn.Dropout"),
            (F, "dropout1d", "torch.nn.functional.dropout1d"),
            (F, "dropout2d", "torch.nn.functional.dropout2d"),
            (F, "alpha_dropout", "torch.nn.functional.alpha_dropout")]
_DROPOUT_OPS = re.compile(r"dropout")      # aten::dropout, aten::native_dropout, feature dropouts


def _dropout_input(case):
    """Values of magnitude in [0.5, 2) with random signs: no element is 0, so a 0 in the output is a drop."""
    dtype, shape, seed = norm_dtype(case["dtype"]), tuple(case["shape"]), case["seed"]
    mag = tensor_from_seed(shape, seed, low=0.5, high=2.0, dtype=torch.float64)
    sign = torch.where(tensor_from_seed(shape, seed + 1, low=0.0, high=1.0, dtype=torch.float64) < 0.5, -1.0, 1.0)
    return (mag * sign).to(dtype)


def _dropout_call(fn, x, p, training, seed):
    """Call the student's dropout with a fresh generator seeded ``seed``; check x is left alone."""
    before = x.clone()
    got = call(fn, x, p, training=training, generator=torch.Generator().manual_seed(seed),
               forbid=_DROPOUT, forbid_ops=_DROPOUT_OPS)
    if not torch.equal(x, before):
        raise CheckFailed(modified_in_place("x") + " (return a new tensor)")
    return expect_tensor(got, what="dropout's result", shape=x.shape, dtype=x.dtype)


def _scaled_or_zero(out, x, p):
    """Every element is 0 or x / (1 - p), to a few ulps of x's dtype."""
    scaled = x.double() / (1.0 - p)
    o = out.double()
    kept = o != 0
    bad = kept & ((o - scaled).abs() > 4 * _EPS[x.dtype] * scaled.abs())
    if bool(bad.any()):
        i = int(bad.reshape(-1).nonzero()[0])
        raise CheckFailed(f"every element of the output should be 0 (dropped) or x / (1 - p) (kept, scaled); "
                          f"element {i} is {o.reshape(-1)[i].item():.6g} where x = {x.reshape(-1)[i].item():.6g}, "
                          f"p = {p}: x / (1 - p) = {scaled.reshape(-1)[i].item():.6g}")
    return kept


def _independent(kept, shape):
    """Elements are dropped independently: the mask is not shared along the first or the last dim.
    Two independent masks of m elements agree with probability (p^2 + (1-p)^2)^m <= 0.82^m, under
    1e-17 for the m >= 200 of every statistics shape (inputs.STAT_SHAPES)."""
    if len(shape) >= 2:
        rows = kept.reshape(shape[0], -1)
        if shape[0] >= 2 and rows.shape[1] >= 200 and bool((rows == rows[:1]).all()):
            raise CheckFailed("every slice x[i] got the same mask: each element must be dropped independently")
        cols = kept.reshape(-1, shape[-1])
        if shape[-1] >= 2 and cols.shape[0] >= 200 and bool((cols == cols[:, :1]).all()):
            raise CheckFailed("every slice x[..., j] got the same mask: each element must be dropped independently")


@aspect(A, task="dropout", points=3)
def dropout_statistics(dropout):
    """Training: each output is 0 or x / (1 - p); kept fraction and mean within 6 sigma of 1 - p and x.

    Like nn.Dropout's; elements are dropped independently."""

    @showing(lambda case: {"x": _dropout_input(case), "p": case["p"], "training": True,
                           "generator": f"torch.Generator().manual_seed({case['seed']})"})
    def inverted_and_unbiased(case):
        x, p = _dropout_input(case), case["p"]
        n = x.numel()
        out = _dropout_call(dropout, x, p, True, case["seed"])
        kept = _scaled_or_zero(out, x, p)
        # The kept count K of n independent elements is Binomial(n, 1 - p): the kept fraction f = K / n
        # has standard deviation sqrt(p (1 - p) / n). Each output is x / (1 - p) with probability 1 - p,
        # so mean(out / x) = f / (1 - p), of expectation 1 and standard deviation sqrt(p / ((1 - p) n)).
        # Six standard deviations: an honest dropout fails with probability < 2e-9 (and the seeds are
        # fixed); keeping with probability p instead of 1 - p, or scaling by 1 - p, is off by >= 30 sigma.
        f = kept.double().mean().item()
        sigma_f = math.sqrt(p * (1 - p) / n)
        if abs(f - (1 - p)) > 6 * sigma_f:
            raise CheckFailed(f"kept fraction {f:.4f} of {n} elements; with p = {p} it should be "
                              f"1 - p = {1 - p:.4f} within 6 sigma = {6 * sigma_f:.4f}")
        ratio = (out.double() / x.double()).mean().item()
        sigma_r = math.sqrt(p / ((1 - p) * n))
        if abs(ratio - 1) > 6 * sigma_r:
            raise CheckFailed(f"mean(dropout(x) / x) = {ratio:.4f}: inverted dropout keeps E[dropout(x)] = x, "
                              f"so it should be 1 within 6 sigma = {6 * sigma_r:.4f}")
        # nn.Dropout on the same shape: the two kept fractions differ by less than 6 sigma of a difference
        # of two independent fractions, sqrt(2 p (1 - p) / n)
        torch_f = oracles.torch_kept_fraction(x.shape, p, case["seed"])
        if abs(f - torch_f) > 6 * math.sqrt(2) * sigma_f:
            raise CheckFailed(f"kept fraction {f:.4f}, nn.Dropout's {torch_f:.4f} on the same shape: "
                              f"they should agree within {6 * math.sqrt(2) * sigma_f:.4f}")
        _independent(kept, tuple(x.shape))

    yield check_property(
        "training mode: every element is 0 or x / (1 - p); kept fraction and mean(dropout(x) / x) within "
        "6 sigma of 1 - p and 1 (binomial variance), as nn.Dropout's; independent drops; float32 and float64",
        S.dropout_stat_cases(), inverted_and_unbiased, max_examples=12,
        examples=[{"shape": (4096,), "dtype": "float32", "p": 0.5, "seed": 0},
                  {"shape": (16, 300), "dtype": "float64", "p": 0.1, "seed": 1},
                  {"shape": (2, 3, 40, 40), "dtype": "float32", "p": 0.9, "seed": 2},
                  {"shape": (300, 16), "dtype": "float64", "p": 0.25, "seed": 3}])


@aspect(A, task="dropout", points=2)
def dropout_contract(dropout):
    """Eval mode and p = 0: the identity; p = 1: zeros; the same generator state, the same output.

    Any shape, float32 and float64; the input is not modified."""

    @showing(lambda case: {"x": _dropout_input(case), "p": case["p"], "training": case["training"],
                           "generator": f"torch.Generator().manual_seed({case['seed']})"})
    def contract(case):
        x, p, training = _dropout_input(case), case["p"], case["training"]
        out = _dropout_call(dropout, x, p, training, case["seed"])
        if not training or p == 0.0:
            assert_equal(out, x, what=f"dropout(x, p={p}, training={training}) (the identity)")
            return
        if p == 1.0:
            assert_equal(out, torch.zeros_like(x), what="dropout(x, p=1) (all dropped: zeros, no NaN)")
            return
        again = _dropout_call(dropout, x, p, True, case["seed"])
        assert_equal(again, out, what="a second call with a generator in the same state (the same mask)")
        if x.numel() >= 200:
            # two masks of n >= 200 independent elements agree with probability <= 0.82^200 < 1e-17
            other = _dropout_call(dropout, x, p, True, case["seed"] + 1)
            if torch.equal(other, out):
                raise CheckFailed("generators seeded differently gave the same mask: draw the mask "
                                  "from the generator you are given")

    yield check_property(
        "eval mode and p = 0: the identity; p = 1: zeros; the mask comes from the generator (same state, "
        "same output); any shape, empty and 0-d included; the input unchanged",
        S.dropout_contract_cases(), contract, max_examples=40,
        examples=[{"shape": (3, 4), "dtype": "float32", "p": 0.5, "training": False, "seed": 0},
                  {"shape": (5,), "dtype": "float64", "p": 0.0, "training": True, "seed": 1},
                  {"shape": (2, 3), "dtype": "float32", "p": 1.0, "training": True, "seed": 2},
                  {"shape": (0, 3), "dtype": "float32", "p": 0.5, "training": True, "seed": 3},
                  {"shape": (), "dtype": "float64", "p": 0.25, "training": True, "seed": 4},
                  {"shape": (10, 30), "dtype": "float64", "p": 0.5, "training": True, "seed": 5},
                  {"shape": (4, 6, 9), "dtype": "float32", "p": 0.9, "training": True, "seed": 6}])


# ---------------------------------------------------------------- l2_penalty

def _params(case):
    dtype = norm_dtype(case["dtype"])
    return [tensor_from_seed(s, case["seed"] + i, low=-2.0, high=2.0, dtype=dtype).requires_grad_(True)
            for i, s in enumerate(case["shapes"])]


def _penalty_call(fn, params, weight_decay):
    """params: a list of tensors, or one tensor (then the gradient w.r.t. it can be read)."""
    before = [p.detach().clone() for p in params]
    got = call(fn, params, weight_decay)
    for i, (p, b) in enumerate(zip(params, before)):
        if not torch.equal(p.detach(), b):
            raise CheckFailed(modified_in_place(f"params[{i}]"))
    return got


@aspect(A, task="l2_penalty", points=2)
def l2_penalty_matches_weight_decay(l2_penalty):
    """(λ/2)·Σ||w||², gradient λw: in the loss, SGD takes the steps of SGD(weight_decay=λ).

    With momentum and Nesterov too."""

    @showing(lambda case: {"params": _params(case), "weight_decay": case["weight_decay"]})
    def value(case):
        # every other tensor is a plain one (no requires_grad): the penalty sums over all the tensors
        params, lam = _params(case), case["weight_decay"]
        params = [w if i % 2 == 0 else w.detach() for i, w in enumerate(params)]
        dtype = params[0].dtype
        got = _penalty_call(l2_penalty, params, lam)
        expected = 0.5 * lam * sum((p.detach().double() ** 2).sum() for p in params)
        expect_tensor(got, what="the penalty", shape=(), dtype=dtype)
        tol = 16 * _EPS[dtype]
        assert_close(got, expected.to(dtype), rtol=tol, atol=tol, what="the penalty")

    def _given(case):
        """One tensor (the iterable is its rows) when the case has one shape, else the list of them."""
        params = _params(case)
        return params[0] if len(params) == 1 else params

    @showing(lambda case: {"params": _given(case), "weight_decay": case["weight_decay"]})
    def gradient(case):
        # the gradient w.r.t. every tensor, read where the call ran
        given, lam = _given(case), case["weight_decay"]
        leaves = [given] if isinstance(given, torch.Tensor) else given
        got = _penalty_call(l2_penalty, given, lam)
        expect_tensor(got, what="the penalty", shape=(), dtype=leaves[0].dtype)
        grads = gradients(got, leaves, torch.ones((), dtype=leaves[0].dtype))
        tol = 16 * _EPS[leaves[0].dtype]
        for i, (w, g) in enumerate(zip(leaves, grads)):
            name = "the weights" if len(leaves) == 1 else f"params[{i}]"
            if g is None:
                raise CheckFailed(f"the penalty does not depend on {name} (no gradient): keep it "
                                  f"differentiable (no .item(), .detach(), .data or torch.tensor(...))")
            assert_close(g, lam * w.detach(), rtol=tol, atol=tol,
                         what=f"the gradient of the penalty w.r.t. {name} (λ·w for the (λ/2)·||w||² convention)")

    def sgd_equivalence(case):
        g = torch.Generator().manual_seed(case["seed"])
        xs = torch.randn(case["samples"], case["features"], generator=g, dtype=torch.float64)
        ys = torch.randn(case["samples"], generator=g, dtype=torch.float64)
        w0 = torch.randn(case["features"], generator=g, dtype=torch.float64)
        want = oracles.sgd_with_weight_decay(w0, xs, ys, case)
        w = w0.clone().requires_grad_(True)
        opt = torch.optim.SGD([w], lr=case["lr"], momentum=case["momentum"], nesterov=case["nesterov"])
        for _ in range(case["steps"]):
            opt.zero_grad()
            ((xs @ w - ys) ** 2).mean().backward()
            pen = _penalty_call(l2_penalty, w, case["weight_decay"])
            expect_tensor(pen, what="the penalty", shape=(), dtype=torch.float64)
            (pg,) = gradients(pen, [w], torch.ones((), dtype=torch.float64))
            if pg is None:
                raise CheckFailed("the penalty has no gradient w.r.t. the weights")
            w.grad = w.grad + pg.detach()
            opt.step()
        assert_close(w.detach(), want, rtol=1e-9, atol=1e-12,
                     what=f"the weights after {case['steps']} SGD steps with the penalty in the loss, "
                          f"against torch.optim.SGD(weight_decay={case['weight_decay']}) without it")

    yield check_property(
        "the value (λ/2)·Σ||w||² for 1-4 tensors of any shape, float32 and float64; the parameters unchanged",
        S.penalty_cases(), value, max_examples=30,
        examples=[{"shapes": [(3,)], "dtype": "float64", "weight_decay": 0.1, "seed": 0},
                  {"shapes": [(2, 3), (), (4, 1, 2)], "dtype": "float32", "weight_decay": 0.01, "seed": 1},
                  {"shapes": [(2,)], "dtype": "float64", "weight_decay": 0.0, "seed": 2}])
    yield check_property(
        "differentiable, with gradient λ·w w.r.t. each tensor (one tensor, or a list of 2-4)",
        S.penalty_cases(min_dims=1), gradient, max_examples=15,
        examples=[{"shapes": [(3,)], "dtype": "float64", "weight_decay": 0.1, "seed": 0},
                  {"shapes": [(2, 3)], "dtype": "float32", "weight_decay": 0.5, "seed": 1},
                  {"shapes": [(2,), (3, 2), (1,)], "dtype": "float64", "weight_decay": 0.1, "seed": 2}])
    yield check_property(
        "k SGD steps (momentum, Nesterov) on loss + penalty equal torch.optim.SGD(weight_decay=λ) on the loss",
        S.sgd_cases(), sgd_equivalence, max_examples=15,
        examples=[{"features": 3, "samples": 4, "steps": 5, "lr": 0.1, "momentum": 0.9, "nesterov": False,
                   "weight_decay": 0.1, "seed": 0}])


# ---------------------------------------------------------------- adam_l2_vs_adamw

_ADAM = [(torch.optim, "Adam", "torch.optim.Adam"), (torch.optim, "AdamW", "torch.optim.AdamW"),
         (torch.optim, "NAdam", "torch.optim.NAdam"), (torch.optim, "RAdam", "torch.optim.RAdam")]
_ADAM_OPS = re.compile(r"adam")            # aten::_fused_adam(w)_, _foreach kernels of the optimizers


def _adam_inputs(case):
    shape, seed = tuple(case["shape"]), case["seed"]
    w = tensor_from_seed(shape, seed, low=-2.0, high=2.0, dtype=torch.float64)
    grads = tensor_from_seed((case["steps"],) + shape, seed + 1, dtype=torch.float64) * case["scale"]
    return w, grads


@aspect(A, task="adam_l2_vs_adamw", points=2)
def adam_l2_vs_adamw_correct(adam_l2_vs_adamw):
    """Adam with the L2 gradient and AdamW (decoupled decay) equal torch.optim's after k steps."""

    @showing(lambda case: dict(zip(("w", "grads"), _adam_inputs(case)), lr=case["lr"],
                               weight_decay=case["weight_decay"], betas=case["betas"], eps=case["eps"]))
    def same_as_torch(case):
        w, grads = _adam_inputs(case)
        w_in, g_in = w.clone(), grads.clone()
        got = call(adam_l2_vs_adamw, w_in, g_in, case["lr"], case["weight_decay"], betas=case["betas"],
                   eps=case["eps"], forbid=_ADAM, forbid_ops=_ADAM_OPS)
        if not (torch.equal(w_in, w) and torch.equal(g_in, grads)):
            raise CheckFailed(modified_in_place("w or grads"))
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise CheckFailed(f"adam_l2_vs_adamw should return a pair (w_adam_l2, w_adamw), got {describe(got)}")
        want_l2, want_w = oracles.adam_l2_and_adamw(w, grads, case)
        assert_close(got[0], want_l2, rtol=1e-9, atol=1e-12, what="w after Adam with the L2 gradient (coupled)")
        assert_close(got[1], want_w, rtol=1e-9, atol=1e-12, what="w after AdamW (decoupled decay)")

    yield check_property(
        "Adam with weight decay in the gradient and AdamW with decoupled decay equal torch.optim.Adam and "
        "AdamW after 1-6 steps, for any lr, λ, betas, eps and gradient scale (float64); inputs unchanged",
        S.adam_cases(), same_as_torch, max_examples=25,
        examples=[{"shape": (3,), "steps": 1, "lr": 0.1, "weight_decay": 1.0, "betas": (0.9, 0.999),
                   "eps": 1e-8, "scale": 1.0, "seed": 0},
                  {"shape": (2, 2), "steps": 6, "lr": 0.01, "weight_decay": 0.1, "betas": (0.5, 0.9),
                   "eps": 1e-3, "scale": 1e-3, "seed": 1}])


# ---------------------------------------------------------------- EarlyStopping

_GETATTR, _CALL = "builtins:getattr", "operator:call"


class _Scene:
    """A student's EarlyStopping and a small model, both where the student's code runs; the model's
    weights are set to the epoch's number before each step, so the weights say which epoch they are."""

    def __init__(self, cls, patience, min_delta):
        self.cls = cls
        self.stopper = call(cls, patience=patience, min_delta=min_delta)
        self.model = call(beside(cls, "torch.nn:Linear"), 2, 1)

    def set_epoch(self, e):
        state = {"weight": torch.full((1, 2), float(e)), "bias": torch.full((1,), float(e))}
        call(beside(self.cls, "torch.nn:Module.load_state_dict"), self.model, state)

    def weights(self):
        params = call(beside(self.cls, "torch.nn:Module.parameters"), self.model)
        flat = call(beside(self.cls, "torch.nn.utils:parameters_to_vector"), params)
        return expect_tensor(flat, what="the model's weights").detach().clone()

    def step(self, loss):
        method = call(beside(self.cls, _GETATTR), self.stopper, "step")
        got = call(beside(self.cls, _CALL), method, loss, self.model)
        if type(got) is not bool:
            raise CheckFailed(f"step(val_loss, model) should return a bool (stop or not), got {describe(got)}")
        return got


def _reference_stops(losses, patience, min_delta):
    """(the epoch at which training stops or None, the best epoch then or None): the docstring's rule."""
    best, best_epoch, bad = math.inf, None, 0
    for e, loss in enumerate(losses):
        if not math.isfinite(loss):
            return e, best_epoch
        if best - loss > min_delta:
            best, best_epoch, bad = loss, e, 0
            continue
        bad += 1
        if bad >= patience:
            return e, best_epoch
    return None, best_epoch


def _curve_shown(case):
    return {"losses": case["losses"], "patience": case["patience"], "min_delta": case["min_delta"]}


@aspect(A, task="EarlyStopping", points=2)
def early_stopping_stops(EarlyStopping):
    """step says stop at exactly the right epoch (min_delta, patience, patience = 0, NaN) on scripted curves.

    An improvement is a decrease by more than min_delta; patience epochs without one stop
    (patience = 0: the first); a NaN or inf loss stops at once."""

    @showing(_curve_shown)
    def stops_on_time(case):
        losses = case["losses"]
        stop_at, _ = _reference_stops(losses, case["patience"], case["min_delta"])
        scene = _Scene(EarlyStopping, case["patience"], case["min_delta"])
        for e, loss in enumerate(losses):
            scene.set_epoch(e)
            got = scene.step(loss)
            if got != (e == stop_at):
                raise CheckFailed(f"at epoch {e} (val_loss = {loss}) step returned {got}; expected "
                                  f"{e == stop_at} (training should stop at epoch {stop_at})")
            if got:
                return

    q = 1 / 64
    yield check_property(
        "on scripted loss curves (1-12 epochs, patience 0-4, min_delta 0-4/64, sometimes a NaN or inf) "
        "step says stop at exactly the epoch the rule gives, and not before",
        S.loss_curves(), stops_on_time, max_examples=60,
        examples=[{"losses": [1.0, 0.5, 0.6, 0.7, 0.4], "patience": 2, "min_delta": 0.0},
                  {"losses": [1.0, 1.0 - 2 * q, 1.0 - 3 * q], "patience": 1, "min_delta": 2 * q},  # exactly min_delta
                  {"losses": [1.0, 0.5, 0.75, 0.25], "patience": 0, "min_delta": 0.0},
                  {"losses": [1.0, 0.5, float("nan"), 0.25], "patience": 3, "min_delta": 0.0},
                  {"losses": [1.0, 0.9, 0.8, 0.7], "patience": 1, "min_delta": 0.0},
                  {"losses": [0.5, 0.75, 0.25, 0.75, 0.75], "patience": 2, "min_delta": 0.0},
                  {"losses": [1.0, 0.5, float("inf"), 0.25], "patience": 3, "min_delta": 0.0},
                  {"losses": [1.0, float("-inf"), 0.5], "patience": 3, "min_delta": 0.0}])


@aspect(A, task="EarlyStopping", points=2)
def early_stopping_restores(EarlyStopping):
    """When step stops, the model holds the best epoch's weights (a deep copy), untouched before.

    Not the last ones."""

    @showing(_curve_shown)
    def restores_best(case):
        losses = case["losses"]
        scene = _Scene(EarlyStopping, case["patience"], case["min_delta"])
        for e, loss in enumerate(losses):
            scene.set_epoch(e)
            stopped = scene.step(loss)
            weights = scene.weights()
            if not stopped:
                if not torch.equal(weights, torch.full_like(weights, float(e))):
                    raise CheckFailed(f"at epoch {e} step did not stop but changed the model's weights "
                                      f"(they hold epoch {e}'s weights, {e}.0 each, before the call): "
                                      f"{describe(weights)}")
                continue
            seen = losses[:e + 1]
            best = seen.index(min(seen))      # distinct finite losses, min_delta = 0: the best is the minimum
            if not torch.equal(weights, torch.full_like(weights, float(best))):
                raise CheckFailed(f"step stopped at epoch {e}; the model should then hold the best epoch's "
                                  f"weights (epoch {best}, val_loss {losses[best]}: {best}.0 each), it holds "
                                  f"{describe(weights)}")
            return
        # a stopper that never stops loses early_stopping_stops; nothing was restored here to judge

    yield check_property(
        "the weights are untouched before the stop and are the best epoch's (a deep copy) after it",
        S.restore_curves(), restores_best, max_examples=25,
        examples=[{"losses": [0.5, 0.25, 0.75, 1.0, 1.25], "patience": 2, "min_delta": 0.0},
                  {"losses": [1.0, 2.0], "patience": 0, "min_delta": 0.0},
                  {"losses": [3.0, 2.0, 1.0, 2.5, 1.5, 4.0, 5.0, 6.0, 7.0], "patience": 3, "min_delta": 0.0}])


# ---------------------------------------------------------------- augment_one, augment

def _scene(case):
    """image (C, H, W), a label mask (H, W) int64 of non-overlapping rectangles 1..L, and their boxes."""
    c, (h, w), seed = case["channels"], case["size"], case["seed"]
    dtype = norm_dtype(case["dtype"])
    image = tensor_from_seed((c, h, w), seed, low=0.0, high=1.0, dtype=dtype)
    labels = torch.zeros((h, w), dtype=torch.int64)
    g = torch.Generator().manual_seed(seed + 1)
    count = 0
    for _ in range(case["lesions"]):
        y1, y2 = sorted(torch.randint(0, h + 1, (2,), generator=g).tolist())
        x1, x2 = sorted(torch.randint(0, w + 1, (2,), generator=g).tolist())
        if y2 > y1 and x2 > x1 and not bool(labels[y1:y2, x1:x2].any()):
            count += 1
            labels[y1:y2, x1:x2] = count
    boxes = oracles.boxes_of_labels(labels, count).to(dtype)
    return image, labels, boxes, count


def _aug_shown(case):
    image, labels, boxes, _ = _scene(case)
    return {"image": image, "mask": labels, "boxes": boxes, "ops": case["ops"]}


def _aug_check(got, image, labels, boxes, count, ops, who):
    if not isinstance(got, (tuple, list)) or len(got) != 3:
        raise CheckFailed(f"{who} should return (image, mask, boxes), got {describe(got)}")
    want_image, want_mask, want_boxes = oracles.augment(image, labels, boxes, ops)
    assert_equal(got[0], want_image.contiguous(), what="the image")
    assert_equal(got[1], want_mask.contiguous(), what="the mask")
    assert_equal(got[2], want_boxes, what="the boxes")
    # the boxes are the boxes of the transformed mask's regions (torchvision.ops.masks_to_boxes)
    from_mask = oracles.boxes_of_labels(got[1], count).to(boxes.dtype)
    assert_equal(got[2], from_mask, what="the boxes, against the boxes of the returned mask's regions")


def _check_new_tensors(got, who):
    """A slice of an input (a view, not a copy) keeps the input's whole storage: the returned
    tensors must be new ones, which a later in-place change cannot pass back to the inputs."""
    if not isinstance(got, (tuple, list)):
        return
    for name, t in zip(("image", "mask", "boxes"), got):
        if isinstance(t, torch.Tensor) and t.untyped_storage().nbytes() > t.numel() * t.element_size():
            raise CheckFailed(f"{who} returned a {name} that is a view into a larger tensor (a slice of "
                              f"the input?): return new tensors (.clone() the slice), so that changing "
                              f"the result cannot change the inputs")


def _aug_call(fn, case, many):
    image, labels, boxes, count = _scene(case)
    args = (image.clone(), labels.clone(), boxes.clone())
    ops = case["ops"] if many else case["ops"][0]
    op_arg = [tuple(o) for o in ops] if many else tuple(ops)
    got = call(fn, *args, op_arg)
    for name, a, b in zip(("image", "mask", "boxes"), args, (image, labels, boxes)):
        if not torch.equal(a, b):
            raise CheckFailed(modified_in_place(name))
    if many and op_arg != [tuple(o) for o in ops]:
        raise CheckFailed(modified_in_place("ops (the list)"))
    _check_new_tensors(got, who="augment" if many else "augment_one")
    _aug_check(got, image, labels, boxes, count, case["ops"], "augment" if many else "augment_one")


def _aug_example(ops, size=(5, 8), lesions=3, channels=2, seed=0, dtype="float32"):
    return {"channels": channels, "size": size, "lesions": lesions, "dtype": dtype, "ops": ops, "seed": seed}


@aspect(A, task="augment_one", points=3)
def augment_one_correct(augment_one):
    """One flip, rot90 or crop moves image, mask and boxes together; boxes = boxes of the new mask.

    Non-square images; a crop clips boxes and drops the empty ones."""

    @showing(_aug_shown)
    def aligned(case):
        _aug_call(augment_one, case, many=False)

    yield check_property(
        "image and mask equal torch.flip / torch.rot90 / slicing, and the boxes equal the boxes of the "
        "transformed mask's regions, for every op, on non-square images with 0-4 lesions",
        S.augment_cases(), aligned, max_examples=60,
        examples=[_aug_example([("hflip",)]), _aug_example([("vflip",)]),
                  _aug_example([("rot90", 1)]), _aug_example([("rot90", -1)], seed=1),
                  _aug_example([("rot90", 2)], dtype="float64"), _aug_example([("rot90", 7)], seed=2),
                  _aug_example([("crop", 1, 2, 3, 4)], seed=3), _aug_example([("crop", 0, 0, 5, 8)], seed=4),
                  _aug_example([("hflip",)], lesions=0), _aug_example([("crop", 2, 3, 1, 1)], seed=5)])


@aspect(A, task="augment", points=1)
def augment_compose(augment):
    """A list of ops is applied in order (an empty list changes nothing), image, mask and boxes together."""

    @showing(_aug_shown)
    def composed(case):
        _aug_call(augment, case, many=True)

    yield check_property(
        "0-4 ops applied left to right give the composition of the single ops (the course's augment_one)",
        S.augment_cases(max_ops=4, min_ops=0), composed, max_examples=30,
        examples=[_aug_example([]), _aug_example([("rot90", 1), ("hflip",)]),
                  _aug_example([("crop", 0, 1, 4, 6), ("rot90", 1), ("vflip",)], seed=1)])
