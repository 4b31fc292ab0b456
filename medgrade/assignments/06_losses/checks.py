"""Checks of 06_losses: cross-entropy from logits, soft Dice and soft IoU losses, the sigmoid
focal loss and smooth L1."""
from __future__ import annotations

import re

import torch
import torch.nn.functional as F
import torchvision.ops
import torchvision.ops.focal_loss
from hypothesis import strategies as st

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, describe, expect_tensor, modified_in_place
from medgrade.properties import call, check_property, gradients, showing
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "06_losses"

_EPS = {torch.float32: float(torch.finfo(torch.float32).eps),
        torch.float64: float(torch.finfo(torch.float64).eps)}


def _dtype(case):
    return norm_dtype(case["dtype"])


# ---------------------------------------------------------------- what each task may not call

_CE_FORBID = [(F, "cross_entropy", "torch.nn.functional.cross_entropy"),
              (F, "nll_loss", "torch.nn.functional.nll_loss"),
              (F, "log_softmax", "torch.nn.functional.log_softmax"),
              (torch, "log_softmax", "torch.log_softmax"),
              (torch, "logsumexp", "torch.logsumexp"),
              (torch.Tensor, "log_softmax", "Tensor.log_softmax"),
              (torch.Tensor, "logsumexp", "Tensor.logsumexp"),
              (torch.special, "log_softmax", "torch.special.log_softmax"),
              (torch.special, "logsumexp", "torch.special.logsumexp"),
              (torch, "logcumsumexp", "torch.logcumsumexp"),
              (torch.Tensor, "logcumsumexp", "Tensor.logcumsumexp")]
# below the Python layer: log_softmax, nll_loss(2d), logsumexp (also as the last entry of a
# logcumsumexp) however they are reached
_CE_OPS = re.compile(r"log_softmax|nll_loss|logsumexp|logcumsumexp|cross_entropy")
_CE_HINT = "Shift each row by its largest logit and write the log-sum-exp yourself."

_FOCAL_FORBID = [(torchvision.ops, "sigmoid_focal_loss", "torchvision.ops.sigmoid_focal_loss"),
                 (torchvision.ops.focal_loss, "sigmoid_focal_loss", "torchvision.ops.sigmoid_focal_loss"),
                 (F, "binary_cross_entropy_with_logits", "torch.nn.functional.binary_cross_entropy_with_logits"),
                 (F, "binary_cross_entropy", "torch.nn.functional.binary_cross_entropy")]
_FOCAL_OPS = re.compile(r"binary_cross_entropy|sigmoid_focal")
_FOCAL_HINT = "Write the binary cross-entropy from logits yourself (F.logsigmoid or F.softplus are allowed)."

_SL1_FORBID = [(F, "smooth_l1_loss", "torch.nn.functional.smooth_l1_loss"),
               (F, "huber_loss", "torch.nn.functional.huber_loss"),
               (F, "l1_loss", "torch.nn.functional.l1_loss"),
               # F.l1_loss and F.smooth_l1_loss(beta=0) call it; it runs as sub, abs, mean below
               # Python, so only a tripwire sees it
               (torch._C._nn, "l1_loss", "torch._C._nn.l1_loss (F.l1_loss)")]
_SL1_OPS = re.compile(r"smooth_l1|huber")


def _unchanged(originals, passed, names):
    for name, before, after in zip(names, originals, passed):
        if before is None:
            continue
        if after.shape != before.shape or not torch.equal(after.detach(), before):
            raise CheckFailed(modified_in_place(name))


def _strided(t, case):
    """``t`` itself, or, when the case asks for it, the same values in a non-contiguous layout
    (transposed storage, as a permuted view has): code that assumes .view works fails there."""
    if not case.get("strided") or t.dim() < 2:
        return t
    rev = tuple(reversed(range(t.dim())))
    return t.permute(rev).contiguous().permute(rev)


def _any_layout(cases):
    """``cases``, each with or without non-contiguous input tensors (the ``strided`` key)."""
    return st.tuples(cases, st.booleans()).map(lambda drawn: dict(drawn[0], strided=drawn[1]))


def _showing(inputs_of):
    """A failing property also prints the tensors the function was given."""
    return showing(inputs_of, note=lambda case: "(the tensors were non-contiguous views: their storage is "
                   "transposed)" if isinstance(case, dict) and case.get("strided") else "")


def _differentiable(got, what):
    expect_tensor(got, what=what)
    if not got.requires_grad:
        raise CheckFailed(f"{what} is cut off from autograd (it does not require grad): compute it "
                          f"with torch operations on the input, without .detach(), .item() or NumPy")


def _finite_gradient(grad, what):
    if grad is None:
        raise CheckFailed(f"{what}: the loss does not depend on the input through autograd")
    if not bool(torch.isfinite(grad).all()):
        raise CheckFailed(f"{what} has NaN or infinite entries:\n{describe(grad)}")


def _upstream(got, seed):
    """dL/d(output): 1 for a scalar loss, random values for reduction='none'."""
    if got.dim() == 0:
        return torch.ones((), dtype=got.dtype)
    return tensor_from_seed(got.shape, seed + 11, dtype=got.dtype)


def _reduced(loss, reduction):
    return loss if reduction == "none" else loss.sum() if reduction == "sum" else loss.mean()


# ---------------------------------------------------------------- cross_entropy

def _ce_inputs(case):
    """logits, target and the keyword arguments of the call (only those the case passes)."""
    dtype, shape, seed = _dtype(case), tuple(case["shape"]), case["seed"]
    n, c, rest = shape[0], shape[1], shape[2:]
    u = tensor_from_seed(shape, seed, dtype=torch.float64)
    shift = tensor_from_seed((n, 1) + rest, seed + 1, dtype=torch.float64) * case["offset"]
    logits = (shift + case["spread"] * u).to(dtype)
    g = torch.Generator().manual_seed(seed + 2)
    target = torch.randint(0, c, (n,) + rest, generator=g)
    kwargs = {}
    if case["weighted"]:
        kwargs["weight"] = tensor_from_seed((c,), seed + 3, low=0.1, high=3.0, dtype=dtype)
    ignore = case["ignore_index"]
    if ignore is not None:
        kwargs["ignore_index"] = seed % c if ignore == "class" else ignore
    if case["ignore_fraction"] > 0:
        hit = torch.rand(target.shape, generator=g) < case["ignore_fraction"]
        target[hit] = kwargs.get("ignore_index", -100)
    if case["label_smoothing"] is not None:
        kwargs["label_smoothing"] = case["label_smoothing"]
    kwargs["reduction"] = case["reduction"]
    return _strided(logits, case), _strided(target, case), kwargs


def _ce_shown(case):
    logits, target, kwargs = _ce_inputs(case)
    return {"logits": logits, "target": target, **kwargs}


def _ce_call(fn, logits, target, kwargs):
    passed = [logits.clone(), target.clone(), kwargs.get("weight")]
    passed[2] = None if passed[2] is None else passed[2].clone()
    extra = dict(kwargs, **({"weight": passed[2]} if passed[2] is not None else {}))
    got = call(fn, passed[0], passed[1], forbid=_CE_FORBID, forbid_ops=_CE_OPS, hint=_CE_HINT, **extra)
    _unchanged((logits, target, kwargs.get("weight")), passed, ("logits", "target", "weight"))
    return got


def _ce_tolerance(logits, kwargs):
    """Rounding of an honest float32 / float64 answer: a few ulps of the largest logit per term,
    times the classes the smoothing term sums over, times the terms a sum adds up."""
    dtype = logits.dtype
    magnitude = 1.0 + logits.double().abs().max().item()
    terms = logits.shape[1] if kwargs.get("label_smoothing") else 1
    positions = logits.numel() // logits.shape[1] if kwargs["reduction"] == "sum" else 1
    atol = 16 * _EPS[dtype] * magnitude * (1 + terms) * positions
    return {"rtol": 1e-5 if dtype == torch.float32 else 1e-10, "atol": atol}


def _ce_same_as_torch(cross_entropy):
    @_showing(_ce_shown)
    def prop(case):
        logits, target, kwargs = _ce_inputs(case)
        got = _ce_call(cross_entropy, logits, target, kwargs)
        expected = oracles.cross_entropy(logits, target, **kwargs)
        assert_close(got, expected, **_ce_tolerance(logits, kwargs), what="the loss")
    return prop


def _ce_gradient(cross_entropy):
    @_showing(_ce_shown)
    def prop(case):
        logits, target, kwargs = _ce_inputs(case)
        leaf = logits.clone().requires_grad_(True)
        with torch.enable_grad():
            got = call(cross_entropy, leaf, target.clone(), forbid=_CE_FORBID, forbid_ops=_CE_OPS,
                       hint=_CE_HINT, **kwargs)
            _differentiable(got, "the loss")
            expected = oracles.cross_entropy(logits, target, **kwargs)
            assert_close(got, expected, **_ce_tolerance(logits, kwargs), what="the loss")
            if kwargs["reduction"] == "mean" and bool((target == kwargs.get("ignore_index", -100)).all()):
                return                     # every target ignored: the mean is 0 / 0, so is its gradient
            upstream = _upstream(got, case["seed"])
            (grad,) = gradients(got, [leaf], upstream)
            _finite_gradient(grad, "the gradient with respect to the logits")
            ref = logits.detach().double().requires_grad_(True)
            w = kwargs.get("weight")
            ref_out = F.cross_entropy(ref, target, None if w is None else w.double(),
                                      ignore_index=kwargs.get("ignore_index", -100),
                                      label_smoothing=kwargs.get("label_smoothing", 0.0),
                                      reduction=kwargs["reduction"])
            (want,) = torch.autograd.grad(ref_out, [ref], upstream.double())
        scale = 1.0 + want.abs().max().item()
        tol = 1e-5 if logits.dtype == torch.float32 else 1e-10
        assert_close(grad, want.to(logits.dtype), rtol=tol, atol=tol * scale,
                     what="the gradient with respect to the logits")
    return prop


def _ce_example(shape=(3, 4), **overrides):
    base = {"shape": shape, "spread": 1.0, "offset": 0.0, "weighted": False, "ignore_index": None,
            "ignore_fraction": 0.0, "label_smoothing": None, "dtype": "float64", "reduction": "mean",
            "seed": 0}
    base.update(overrides)
    return base


@aspect(A, task="cross_entropy", points=2)
def cross_entropy_matches_torch(cross_entropy):
    """Plain cross-entropy from logits equals F.cross_entropy, (N, C) and (N, C, d1, ...), every reduction."""
    yield check_property(
        "equals F.cross_entropy for logits (N, C) and (N, C, d1[, d2[, d3]]) with int64 targets, "
        "contiguous or not, reduction 'none' / 'sum' / 'mean' (shape, dtype and values; float32 and "
        "float64; inputs left unchanged)",
        _any_layout(S.cross_entropy_cases()), _ce_same_as_torch(cross_entropy), max_examples=50,
        examples=[_ce_example(),
                  _ce_example((1, 1), reduction="none"),                    # one class: loss 0
                  _ce_example((2, 3, 4), reduction="none", seed=3),          # (N, C, d1)
                  _ce_example((2, 4, 3, 2), reduction="sum", dtype="float32", seed=4),
                  _ce_example((4, 5, 2, 2), spread=30.0, dtype="float32", seed=5),
                  _ce_example((1, 6, 1, 3), reduction="mean", seed=6),
                  _ce_example((2, 3, 2, 3, 2), reduction="none", seed=7),   # (N, C, d1, d2, d3)
                  _ce_example((3, 4, 2, 3), reduction="none", strided=True, seed=8)])
    yield check_property(
        "differentiable: the gradient with respect to the logits equals autograd's through "
        "F.cross_entropy (softmax minus one-hot, scaled by the reduction)",
        S.cross_entropy_cases(dtypes=("float64",)), _ce_gradient(cross_entropy), max_examples=15,
        examples=[_ce_example((3, 4), reduction="none"), _ce_example((2, 3, 2, 2), seed=2)])


@aspect(A, task="cross_entropy", points=2)
def cross_entropy_stable(cross_entropy):
    """Finite and correct for logits of magnitude 1e4 in float32 (the log-sum-exp shift)."""
    big = dict(spreads=(1e2, 1e3, 1e4), offsets=(0.0, 1e4))
    yield check_property(
        "logits of magnitude up to 2e4 (rows far apart from each other): the loss is finite and "
        "equals F.cross_entropy's (float32 and float64)",
        S.cross_entropy_cases(**big), _ce_same_as_torch(cross_entropy), max_examples=30,
        examples=[_ce_example((3, 4), spread=1e4, dtype="float32", reduction="none"),
                  _ce_example((2, 3), spread=1e4, dtype="float32"),
                  _ce_example((4, 3), spread=10.0, offset=1e4, dtype="float32", reduction="none", seed=1),
                  _ce_example((2, 5, 3), spread=1e3, offset=1e4, dtype="float64", reduction="none", seed=2),
                  _ce_example((2, 3, 2, 2), spread=1e4, dtype="float32", reduction="sum", seed=7)])
    yield check_property(
        "logits of magnitude up to 2e4: the gradient is finite and equals autograd's through "
        "F.cross_entropy",
        S.cross_entropy_cases(**big), _ce_gradient(cross_entropy), max_examples=15,
        examples=[_ce_example((3, 4), spread=1e4, dtype="float32", reduction="none"),
                  _ce_example((4, 3), spread=10.0, offset=1e4, dtype="float32", seed=1)])


@aspect(A, task="cross_entropy", points=2)
def cross_entropy_weight_ignore(cross_entropy):
    """Class weights and ignore_index with torch's weighted mean; all targets ignored."""
    cases = dict(weighted=(False, True), ignore_indices=(None, -100, -1, 255, "class"),
                 ignore_fractions=(0.0, 0.3, 0.3, 1.0))
    yield check_property(
        "with class weights and ignore_index (the default -100, -1, 255, or a class index such as 0): "
        "equals F.cross_entropy; 'mean' divides by the summed weights of the targets that are not "
        "ignored; ignored positions contribute 0; all targets ignored: 'mean' is nan, 'sum' is 0",
        S.cross_entropy_cases(**cases), _ce_same_as_torch(cross_entropy), max_examples=50,
        examples=[_ce_example((4, 3), weighted=True),
                  _ce_example((4, 3), weighted=True, ignore_index=-100, ignore_fraction=0.3, seed=1),
                  _ce_example((5, 3), ignore_index="class", seed=2, reduction="none"),
                  _ce_example((3, 4, 2, 2), weighted=True, ignore_index="class", seed=4),
                  _ce_example((3, 4, 3), weighted=True, ignore_index=-1, ignore_fraction=0.3,
                              dtype="float32", reduction="sum", seed=5),
                  _ce_example((4, 3, 2), weighted=True, ignore_index=255, ignore_fraction=0.3,
                              reduction="none", seed=6),
                  _ce_example((2, 3), ignore_index=-100, ignore_fraction=1.0),                   # nan
                  _ce_example((2, 3, 2), weighted=True, ignore_index=-100, ignore_fraction=1.0,
                              reduction="sum"),
                  _ce_example((2, 3, 2), weighted=True, ignore_index=-100, ignore_fraction=1.0,
                              reduction="none")])
    no_all_ignored = dict(cases, ignore_fractions=(0.0, 0.3))
    yield check_property(
        "with class weights and ignore_index: the gradient equals autograd's through F.cross_entropy "
        "(0 at ignored positions)",
        S.cross_entropy_cases(dtypes=("float64",), **no_all_ignored), _ce_gradient(cross_entropy),
        max_examples=15,
        examples=[_ce_example((4, 3), weighted=True, ignore_index=-100, ignore_fraction=0.3, seed=1),
                  _ce_example((3, 4, 2), weighted=True, ignore_index="class", seed=3, reduction="none")])


@aspect(A, task="cross_entropy", points=2)
def cross_entropy_label_smoothing(cross_entropy):
    """Label smoothing as torch mixes it in, also with class weights and ignore_index."""
    cases = dict(smoothings=("any",), weighted=(False, True), ignore_indices=(None, -100, 255, "class"),
                 ignore_fractions=(0.0, 0.3))
    yield check_property(
        "with label_smoothing in [0, 1] (alone, with class weights, with ignore_index): equals "
        "F.cross_entropy, every reduction",
        S.cross_entropy_cases(**cases), _ce_same_as_torch(cross_entropy), max_examples=50,
        examples=[_ce_example((4, 3), label_smoothing=0.1),
                  _ce_example((4, 5), label_smoothing=1.0, reduction="none", seed=1),
                  _ce_example((4, 3), label_smoothing=0.2, weighted=True, seed=2),
                  _ce_example((3, 4, 2), label_smoothing=0.3, weighted=True, ignore_index=-100,
                              ignore_fraction=0.3, reduction="none", seed=3),
                  _ce_example((5, 3), label_smoothing=0.25, weighted=True, ignore_index="class",
                              dtype="float32", seed=4),
                  _ce_example((2, 4, 2, 2), label_smoothing=0.1, ignore_index="class", reduction="sum",
                              seed=5)])
    yield check_property(
        "with label smoothing and logits of magnitude up to 2e4: finite and equal to F.cross_entropy "
        "(the smoothing term adds -log p of every class, the least likely ones included)",
        S.cross_entropy_cases(spreads=(1e2, 1e3, 1e4), offsets=(0.0, 1e4), **cases),
        _ce_same_as_torch(cross_entropy), max_examples=15,
        examples=[_ce_example((3, 4), spread=1e4, label_smoothing=0.1, dtype="float32", reduction="none"),
                  _ce_example((2, 3, 2), spread=1e3, offset=1e4, label_smoothing=0.05, weighted=True,
                              dtype="float32", seed=1)])
    yield check_property(
        "with label smoothing: the gradient equals autograd's through F.cross_entropy",
        S.cross_entropy_cases(dtypes=("float64",), **cases), _ce_gradient(cross_entropy), max_examples=15,
        examples=[_ce_example((4, 3), label_smoothing=0.2, weighted=True, ignore_index=-100,
                              ignore_fraction=0.3, seed=2)])


# ---------------------------------------------------------------- soft Dice and soft IoU

def _overlap_inputs(case, *, pred=None):
    """(probs, target) of the case's layout; ``pred`` overrides the kind of prediction."""
    dtype, seed, layout = _dtype(case), case["seed"], case["layout"]
    n, c, h, w = case["shape"]
    g = torch.Generator().manual_seed(seed)
    index = None
    if layout.startswith("binary"):
        if case["soft_target"]:
            t = torch.rand((n, 1, h, w), generator=g, dtype=torch.float64)
        else:
            t = (torch.rand((n, 1, h, w), generator=g) < case["foreground"]).double()
    else:
        present = torch.randperm(c, generator=g)[:case["classes_present"]]
        index = present[torch.randint(0, len(present), (n, h, w), generator=g)]
        t = F.one_hot(index, c).movedim(-1, 1).double()
        if case["soft_target"]:
            t = torch.rand((n, c, h, w), generator=g, dtype=torch.float64)
    kind = pred or case["pred"]
    logits = 3 * (torch.rand((n, c, h, w), generator=g, dtype=torch.float64) * 2 - 1)
    if kind == "soft":
        p = torch.sigmoid(logits) if c == 1 else torch.softmax(logits, dim=1)
    elif kind == "hard":
        p = ((logits > 0).double() if c == 1 else
             F.one_hot(logits.argmax(1), c).movedim(-1, 1).double())
    elif kind == "empty":
        p = torch.zeros((n, c, h, w), dtype=torch.float64)
    else:   # perfect
        p = t.clone()
    p = p.to(dtype)
    if layout == "index":
        target = index
    else:
        target = t.bool() if case["bool_target"] else t.to(dtype)
    if layout == "binary3":
        p, target = p[:, 0], target[:, 0]
    return _strided(p, case), _strided(target, case)


def _overlap_call(fn, probs, target, **kwargs):
    passed = (probs.clone(), target.clone())
    got = call(fn, *passed, **kwargs)
    _unchanged((probs, target), passed, ("probs", "target"))
    return got


def _overlap_shown(case):
    probs, target = _overlap_inputs(case)
    return {"probs": probs, "target": target, "smooth": case["smooth"], "reduction": case["reduction"]}


def _overlap_expected(probs, target, smooth, reduction, kind):
    loss = 1 - oracles.soft_overlap(probs, target, smooth, kind)
    return (loss if reduction == "none" else loss.mean()).to(probs.dtype)


def _overlap_tol(dtype):
    return {"rtol": 1e-5, "atol": 1e-5} if dtype == torch.float32 else {"rtol": 1e-10, "atol": 1e-10}


_NAMES = {"dice": "soft Dice", "iou": "soft IoU"}


def _overlap_value(fn, kind):
    @_showing(_overlap_shown)
    def prop(case):
        probs, target = _overlap_inputs(case)
        got = _overlap_call(fn, probs, target, smooth=case["smooth"], reduction=case["reduction"])
        expected = _overlap_expected(probs, target, case["smooth"], case["reduction"], kind)
        assert_close(got, expected, **_overlap_tol(probs.dtype),
                     what=f"the {_NAMES[kind]} loss" + (" per (sample, class)" if case["reduction"] == "none"
                                                         else ""))
    return prop


def _overlap_perfect(fn, kind):
    @_showing(lambda case: dict(zip(("probs", "target"), _overlap_inputs(case, pred="perfect")),
                                smooth=case["smooth"]))
    def prop(case):
        probs, target = _overlap_inputs(case, pred="perfect")
        got = _overlap_call(fn, probs, target, smooth=case["smooth"], reduction="none")
        n, c = probs.shape[0], (1 if probs.dim() == 3 else probs.shape[1])
        expect_tensor(got, what="the loss with reduction='none'", shape=(n, c), dtype=probs.dtype)
        if not bool((got.detach().double().abs() <= 1e-6).all()):
            raise CheckFailed(f"a prediction equal to its (0/1) target should give a {_NAMES[kind]} loss "
                              f"of 0 for every sample and class, also for empty masks; got\n{describe(got)}")
    return prop


def _overlap_bounded_symmetric(fn, kind):
    @_showing(_overlap_shown)
    def prop(case):
        probs, target = _overlap_inputs(case)
        target = target.to(dtype=probs.dtype)
        got = _overlap_call(fn, probs, target, smooth=case["smooth"], reduction="none")
        swapped = _overlap_call(fn, target, probs, smooth=case["smooth"], reduction="none")
        expect_tensor(got, what="the loss with reduction='none'")
        values = got.detach().double()
        if not bool(((values >= -1e-6) & (values <= 1 + 1e-6)).all()):
            raise CheckFailed(f"the {_NAMES[kind]} loss should lie in [0, 1] when predictions and targets "
                              f"are in [0, 1]; got\n{describe(got)}")
        tol = _overlap_tol(probs.dtype)
        assert_close(swapped, got.detach(), rtol=tol["rtol"], atol=tol["atol"],
                     what="the loss with prediction and target swapped (it should be symmetric)")
    return prop


def _overlap_monotone(fn, kind):
    @_showing(_overlap_shown)
    def prop(case):
        probs, target = _overlap_inputs(case, pred="soft")
        if case["smooth"] == 0 and case["layout"] in _BINARY:
            target = target.clone()
            target[..., 0, 0] = 1          # an empty target with smooth = 0 scores 0 whatever the prediction
        _, onehot = oracles.overlap_terms(probs, target)
        start = probs.double() if probs.dim() == 4 else probs.double().unsqueeze(1)
        losses = []
        for k in range(5):
            step = start + (k / 5) * (onehot - start)        # more overlap, less spill, step by step
            step = step if probs.dim() == 4 else step[:, 0]
            got = _overlap_call(fn, step, target, smooth=case["smooth"], reduction="mean")
            expect_tensor(got, what="the loss", shape=(), dtype=torch.float64)
            losses.append(got.item())
        if not all(b < a - 1e-12 for a, b in zip(losses, losses[1:])):
            raise CheckFailed(f"moving the prediction step by step from soft probabilities onto the target "
                              f"(more overlap at every step) should make the {_NAMES[kind]} loss decrease "
                              f"strictly; the losses were {[round(v, 8) for v in losses]}")
    return prop


def _overlap_gradient(fn, kind):
    @_showing(_overlap_shown)
    def prop(case):
        probs, target = _overlap_inputs(case)
        leaf = probs.clone().requires_grad_(True)
        with torch.enable_grad():
            got = call(fn, leaf, target.clone(), smooth=case["smooth"], reduction=case["reduction"])
            _differentiable(got, f"the {_NAMES[kind]} loss")
            assert_close(got, _overlap_expected(probs, target, case["smooth"], case["reduction"], kind),
                         **_overlap_tol(probs.dtype), what=f"the {_NAMES[kind]} loss")
            upstream = _upstream(got, case["seed"])
            (grad,) = gradients(got, [leaf], upstream)
            _finite_gradient(grad, "the gradient with respect to probs")
            ref = probs.detach().double().requires_grad_(True)
            ref_loss = 1 - oracles.soft_overlap(ref, target, case["smooth"], kind)
            ref_loss = ref_loss if case["reduction"] == "none" else ref_loss.mean()
            (want,) = torch.autograd.grad(ref_loss, [ref], upstream.double())
        assert_close(grad, want.to(probs.dtype), **_overlap_tol(probs.dtype),
                     what="the gradient with respect to probs")
    return prop


def _ov_example(layout="binary4", shape=(2, 1, 4, 4), **overrides):
    base = {"layout": layout, "pred": "soft", "smooth": 1.0, "shape": shape, "foreground": 0.3,
            "classes_present": shape[1], "soft_target": False, "bool_target": False,
            "dtype": "float64", "reduction": "mean", "seed": 0}
    base.update(overrides)
    return base


_BINARY = ("binary3", "binary4")
_MULTI = ("onehot", "index")


def _masks_or_soft(layouts):
    """Overlap cases with 0/1 (or index) targets or with soft labels in [0, 1], contiguous or not."""
    return _any_layout(st.one_of(S.overlap_cases(layouts=layouts),
                                 S.overlap_cases(layouts=layouts, soft_targets=True)))


def _binary_properties(fn, kind, what, scale=1.0):
    ratio = ("2 sum(p t) + smooth) / (sum(p) + sum(t)" if kind == "dice"
             else "sum(p t) + smooth) / (sum(p) + sum(t) - sum(p t)")
    yield check_property(
        f"binary {what}: probs (N, H, W) or (N, 1, H, W) against a 0/1 mask (float or bool) or soft "
        f"labels in [0, 1] of the same shape, contiguous or not, equals 1 - ({ratio}"
        f" + smooth), per sample, then the mean (reduction 'none': shape (N, 1))",
        _masks_or_soft(_BINARY), _overlap_value(fn, kind), max_examples=int(35 * scale),
        examples=[_ov_example(),
                  _ov_example("binary3", (3, 1, 5, 4), reduction="none", seed=1),
                  _ov_example("binary3", (2, 1, 4, 4), foreground=0.0, reduction="none", seed=2),  # empty target
                  _ov_example("binary4", (2, 1, 3, 3), pred="empty", foreground=0.0, reduction="none"),
                  _ov_example("binary4", (1, 1, 1, 1), smooth=0.0, seed=3),
                  _ov_example("binary3", (2, 1, 6, 6), smooth=10.0, bool_target=True, dtype="float32", seed=4),
                  _ov_example("binary4", (2, 1, 5, 5), pred="hard", smooth=1e-5, foreground=1.0, seed=5),
                  _ov_example("binary4", (2, 1, 4, 3), soft_target=True, strided=True, seed=6)])
    yield check_property(
        f"the {_NAMES[kind]} loss of a prediction equal to its 0/1 mask is 0, also for an empty mask "
        "(the smoothing term makes 0/0 into smooth/smooth)",
        S.overlap_cases(layouts=_BINARY, smooths=(1e-5, 1.0, 10.0)), _overlap_perfect(fn, kind),
        max_examples=int(10 * scale),
        examples=[_ov_example("binary3", (2, 1, 4, 4), foreground=0.0),
                  _ov_example("binary4", (3, 1, 3, 5), foreground=0.3, smooth=1e-5, seed=1),
                  _ov_example("binary4", (1, 1, 2, 2), foreground=1.0, seed=2)])
    yield check_property(
        "the loss lies in [0, 1] and is symmetric: loss(p, t) == loss(t, p) for predictions and "
        "targets in [0, 1]",
        S.overlap_cases(layouts=_BINARY, preds=("soft", "hard", "empty"), soft_targets=True),
        _overlap_bounded_symmetric(fn, kind), max_examples=int(15 * scale),
        examples=[_ov_example("binary4", (2, 1, 4, 4), soft_target=True),
                  _ov_example("binary3", (2, 1, 3, 3), pred="hard", smooth=0.0, seed=1)])
    yield check_property(
        "monotone: moving the prediction towards the target (more overlap) lowers the loss strictly",
        S.overlap_cases(layouts=_BINARY, dtypes=("float64",), smooths=(0.0, 1e-5, 1.0, 10.0)),
        _overlap_monotone(fn, kind), max_examples=int(8 * scale),
        examples=[_ov_example("binary4", (2, 1, 4, 4), foreground=0.1, seed=3)])


def _multiclass_properties(fn, kind, what, scale=1.0):
    yield check_property(
        f"multi-class {what}: probs (N, C, H, W) against a one-hot map or soft labels (N, C, H, W) or int64 "
        f"class indices (N, H, W), contiguous or not: one coefficient per sample and class, background (class 0) "
        f"included, then the mean "
        f"(reduction 'none': shape (N, C))",
        _masks_or_soft(_MULTI), _overlap_value(fn, kind), max_examples=int(35 * scale),
        examples=[_ov_example("index", (2, 3, 4, 4), classes_present=3),
                  _ov_example("onehot", (2, 3, 4, 4), classes_present=2, reduction="none", seed=1),
                  _ov_example("index", (3, 4, 3, 5), classes_present=1, reduction="none", seed=2),
                  _ov_example("index", (1, 2, 5, 5), pred="hard", smooth=1e-5, seed=3),
                  _ov_example("onehot", (2, 4, 2, 3), smooth=0.0, bool_target=True, seed=4),
                  _ov_example("index", (2, 3, 6, 6), dtype="float32", smooth=10.0, seed=5),
                  _ov_example("onehot", (2, 3, 4, 5), soft_target=True, reduction="none", seed=6),
                  _ov_example("index", (2, 3, 3, 4), strided=True, reduction="none", seed=7)])
    yield check_property(
        "a one-hot prediction equal to the target gives 0 for every sample and class, classes absent "
        "from the image included",
        S.overlap_cases(layouts=_MULTI, smooths=(1e-5, 1.0, 10.0)), _overlap_perfect(fn, kind),
        max_examples=int(10 * scale),
        examples=[_ov_example("index", (2, 4, 3, 3), classes_present=2),
                  _ov_example("onehot", (1, 3, 4, 4), classes_present=1, seed=1)])
    yield check_property(
        "monotone: moving the probabilities towards the one-hot target lowers the loss strictly",
        S.overlap_cases(layouts=_MULTI, dtypes=("float64",), smooths=(0.0, 1.0)), _overlap_monotone(fn, kind),
        max_examples=int(8 * scale), examples=[_ov_example("index", (2, 3, 4, 4), classes_present=2, seed=2)])


def _gradient_properties(fn, kind, scale=1.0):
    yield check_property(
        f"differentiable: the gradient with respect to probs equals autograd's through the {_NAMES[kind]} "
        "formula (binary and multi-class, every smooth)",
        S.overlap_cases(dtypes=("float64",)), _overlap_gradient(fn, kind), max_examples=int(20 * scale),
        examples=[_ov_example("binary4", (2, 1, 4, 4), reduction="none"),
                  _ov_example("index", (2, 3, 3, 3), classes_present=2, seed=1)])
    yield check_property(
        "empty masks: with an all-zero prediction and an all-zero target (smooth > 0) the loss is 0 "
        "and its gradient is finite and equals the formula's (1 / smooth per pixel)",
        S.overlap_cases(layouts=_BINARY, preds=("empty",), smooths=(1e-5, 1.0, 10.0)).map(
            lambda c: dict(c, foreground=0.0, soft_target=False)),
        _overlap_gradient(fn, kind), max_examples=int(8 * scale),
        examples=[_ov_example("binary3", (2, 1, 4, 4), pred="empty", foreground=0.0),
                  _ov_example("binary4", (1, 1, 3, 3), pred="empty", foreground=0.0, smooth=1e-5,
                              dtype="float32", reduction="none"),
                  _ov_example("binary4", (3, 1, 4, 4), pred="empty", foreground=0.3, smooth=1.0, seed=1),
                  _ov_example("binary3", (2, 1, 4, 4), pred="hard", foreground=0.0, smooth=1.0, seed=2)])


@aspect(A, task="soft_dice_loss", points=2)
def soft_dice_loss_binary(soft_dice_loss):
    """Binary soft Dice: the formula with its smoothing term, 0 when perfect, in [0, 1], symmetric, monotone."""
    yield from _binary_properties(soft_dice_loss, "dice", "soft Dice loss")


@aspect(A, task="soft_dice_loss", points=2)
def soft_dice_loss_multiclass(soft_dice_loss):
    """Multi-class soft Dice: per sample and class, background included, one-hot or index targets."""
    yield from _multiclass_properties(soft_dice_loss, "dice", "soft Dice loss")


@aspect(A, task="soft_dice_loss", points=1)
def soft_dice_loss_gradients(soft_dice_loss):
    """Gradients of the soft Dice loss: autograd's through the formula; finite on empty masks."""
    yield from _gradient_properties(soft_dice_loss, "dice")


def _iou_from_dice(soft_iou_loss):
    @_showing(lambda case: dict(zip(("probs", "target"), _overlap_inputs(case)), smooth=0.0))
    def prop(case):
        probs, target = _overlap_inputs(case)
        target = target.to(dtype=probs.dtype)
        target[..., 0, 0] = 1                                   # no empty target: no 0 / 0
        got = _overlap_call(soft_iou_loss, probs, target, smooth=0.0, reduction="none")
        p, t = oracles.overlap_terms(probs, target)
        dims = (2, 3)
        dice = 2 * (p * t).sum(dims) / (p.sum(dims) + t.sum(dims))
        expected = (1 - dice / (2 - dice)).to(probs.dtype)
        assert_close(got, expected, **_overlap_tol(probs.dtype),
                     what="the IoU loss of 0/1 masks with smooth = 0, 1 - D / (2 - D) with D the Dice score")
    return prop


@aspect(A, task="soft_iou_loss", points=2)
def soft_iou_loss_correct(soft_iou_loss):
    """Soft IoU (Jaccard) loss, binary and multi-class; J = D / (2 - D) on masks; 0 when perfect."""
    yield from _binary_properties(soft_iou_loss, "iou", "soft IoU loss", scale=0.6)
    yield from _multiclass_properties(soft_iou_loss, "iou", "soft IoU loss", scale=0.6)
    yield check_property(
        "on 0/1 masks with smooth = 0 the IoU and the Dice score are related by J = D / (2 - D)",
        S.overlap_cases(layouts=_BINARY, preds=("hard", "perfect", "empty")), _iou_from_dice(soft_iou_loss),
        max_examples=10, examples=[_ov_example("binary4", (2, 1, 4, 4), pred="hard")])


@aspect(A, task="soft_iou_loss", points=1)
def soft_iou_loss_gradients(soft_iou_loss):
    """Gradients of the soft IoU loss: autograd's through the formula; finite on empty masks."""
    yield from _gradient_properties(soft_iou_loss, "iou", scale=0.7)


# ---------------------------------------------------------------- focal_loss

def _focal_inputs(case):
    dtype, shape, seed = _dtype(case), tuple(case["shape"]), case["seed"]
    u = tensor_from_seed(shape, seed, dtype=torch.float64)
    shift = tensor_from_seed(shape, seed + 1, dtype=torch.float64) * case["offset"]
    logits = (shift + case["spread"] * u).to(dtype)
    g = torch.Generator().manual_seed(seed + 2)
    targets = (torch.rand(shape, generator=g) < case["positive"]).to(dtype)
    return _strided(logits, case), _strided(targets, case)


def _focal_shown(case):
    logits, targets = _focal_inputs(case)
    return {"logits": logits, "targets": targets, "alpha": case["alpha"], "gamma": case["gamma"],
            "reduction": case["reduction"]}


def _focal_tolerance(logits, reduction):
    magnitude = 1.0 + logits.double().abs().max().item()
    count = logits.numel() if reduction == "sum" else 1
    if logits.dtype == torch.float32:
        return {"rtol": 1e-5, "atol": 1e-6 * magnitude * count}
    return {"rtol": 1e-10, "atol": 1e-12 * magnitude * count}


def _focal_value(focal_loss):
    @_showing(_focal_shown)
    def prop(case):
        logits, targets = _focal_inputs(case)
        passed = (logits.clone(), targets.clone())
        got = call(focal_loss, *passed, alpha=case["alpha"], gamma=case["gamma"], reduction=case["reduction"],
                   forbid=_FOCAL_FORBID, forbid_ops=_FOCAL_OPS, hint=_FOCAL_HINT)
        _unchanged((logits, targets), passed, ("logits", "targets"))
        expected = oracles.sigmoid_focal_loss(logits, targets, case["alpha"], case["gamma"], case["reduction"])
        assert_close(got, expected, **_focal_tolerance(logits, case["reduction"]), what="the focal loss")
    return prop


def _focal_gradient(focal_loss):
    @_showing(_focal_shown)
    def prop(case):
        logits, targets = _focal_inputs(case)
        leaf = logits.clone().requires_grad_(True)
        kwargs = dict(alpha=case["alpha"], gamma=case["gamma"], reduction=case["reduction"])
        with torch.enable_grad():
            got = call(focal_loss, leaf, targets.clone(), forbid=_FOCAL_FORBID, forbid_ops=_FOCAL_OPS,
                       hint=_FOCAL_HINT, **kwargs)
            _differentiable(got, "the focal loss")
            assert_close(got, oracles.sigmoid_focal_loss(logits, targets, **kwargs),
                         **_focal_tolerance(logits, case["reduction"]), what="the focal loss")
            upstream = _upstream(got, case["seed"])
            (grad,) = gradients(got, [leaf], upstream)
            _finite_gradient(grad, "the gradient with respect to the logits")
            ref = logits.detach().double().requires_grad_(True)
            ref_out = torchvision.ops.sigmoid_focal_loss(ref, targets.double(), **kwargs)
            (want,) = torch.autograd.grad(ref_out, [ref], upstream.double())
        tol = 1e-5 if logits.dtype == torch.float32 else 1e-10
        assert_close(grad, want.to(logits.dtype), rtol=tol, atol=tol * (1 + want.abs().max().item()),
                     what="the gradient with respect to the logits")
    return prop


def _focal_bce(focal_loss):
    @_showing(_focal_shown)
    def prop(case):
        logits, targets = _focal_inputs(case)
        got = call(focal_loss, logits.clone(), targets.clone(), alpha=-1, gamma=0.0, reduction=case["reduction"],
                   forbid=_FOCAL_FORBID, forbid_ops=_FOCAL_OPS, hint=_FOCAL_HINT)
        expected = F.binary_cross_entropy_with_logits(logits.double(), targets.double(),
                                                      reduction=case["reduction"]).to(logits.dtype)
        assert_close(got, expected, **_focal_tolerance(logits, case["reduction"]),
                     what="the focal loss with gamma = 0 and alpha = -1 (binary cross-entropy with logits)")
    return prop


def _focal_example(shape=(4, 3), **overrides):
    base = {"shape": shape, "spread": 3.0, "offset": 0.0, "positive": 0.5, "alpha": 0.25, "gamma": 2.0,
            "dtype": "float64", "reduction": "mean", "seed": 0}
    base.update(overrides)
    return base


@aspect(A, task="focal_loss", points=2)
def focal_loss_correct(focal_loss):
    """The focal loss equals torchvision.ops.sigmoid_focal_loss (alpha, alpha = -1, gamma, reductions)."""
    yield check_property(
        "equals torchvision.ops.sigmoid_focal_loss for any shape (contiguous or not), alpha in [0, 1] or "
        "-1 (no weighting), gamma >= 0 and every reduction (float32 and float64; inputs left unchanged)",
        _any_layout(S.focal_cases()), _focal_value(focal_loss), max_examples=45,
        examples=[_focal_example(),
                  _focal_example((5,), alpha=-1.0, reduction="none", seed=1),
                  _focal_example((2, 3, 4), alpha=0.0, gamma=0.0, reduction="sum", seed=2),
                  _focal_example((3, 3), alpha=1.0, gamma=5.0, positive=0.1, seed=3),
                  _focal_example((6,), alpha=0.75, gamma=0.5, positive=1.0, dtype="float32", seed=4),
                  _focal_example((2, 2), positive=0.0, gamma=1.0, reduction="none", seed=5),
                  _focal_example((3, 4), strided=True, reduction="none", seed=6)])
    yield check_property(
        "gamma = 0 with alpha = -1 is binary cross-entropy with logits",
        S.focal_cases(), _focal_bce(focal_loss), max_examples=10,
        examples=[_focal_example((3, 4), reduction="none")])
    yield check_property(
        "differentiable: the gradient with respect to the logits equals autograd's through torchvision's",
        S.focal_cases(dtypes=("float64",), spreads=(0.5, 3.0)), _focal_gradient(focal_loss), max_examples=15,
        examples=[_focal_example((4, 3), reduction="none"), _focal_example((3,), alpha=-1.0, gamma=0.0)])


@aspect(A, task="focal_loss", points=1)
def focal_loss_stable(focal_loss):
    """Finite and correct for logits of magnitude 1e4, with finite gradients."""
    big = dict(spreads=(50.0, 1e3, 1e4), offsets=(0.0, 1e4))
    yield check_property(
        "logits of magnitude up to 2e4: the loss is finite and equals torchvision's (float32 and float64)",
        S.focal_cases(**big), _focal_value(focal_loss), max_examples=30,
        examples=[_focal_example((6,), spread=1e4, dtype="float32", reduction="none"),
                  _focal_example((4, 4), spread=1e4, alpha=-1.0, gamma=0.0, dtype="float32", seed=1),
                  _focal_example((3, 5), spread=100.0, offset=1e4, alpha=1.0, dtype="float32",
                                 reduction="none", seed=2),
                  _focal_example((8,), spread=1e3, alpha=0.0, positive=0.5, reduction="sum", seed=3)])
    yield check_property(
        "logits of magnitude up to 2e4, gamma = 0 or >= 1: the gradient is finite and equals "
        "autograd's through torchvision's",
        S.focal_cases(gammas=(0.0, 1.0, 2.0, 3.0), **big), _focal_gradient(focal_loss), max_examples=15,
        examples=[_focal_example((6,), spread=1e4, dtype="float32", reduction="none"),
                  _focal_example((6,), spread=1e4, gamma=0.0, alpha=-1.0, dtype="float32", seed=1)])


# ---------------------------------------------------------------- smooth_l1

def _sl1_inputs(case):
    dtype, shape, seed = _dtype(case), tuple(case["shape"]), case["seed"]
    x = tensor_from_seed(shape, seed, dtype=torch.float64) * case["spread"]
    y = tensor_from_seed(shape, seed + 1, dtype=torch.float64) * case["spread"]
    flat = y.view(-1)
    if case["at_beta"]:                      # some differences exactly +-beta, one exactly 0
        flat[:2] = x.view(-1)[:2] - torch.tensor([case["beta"], -case["beta"]], dtype=torch.float64)[:flat[:2].numel()]
        flat[2:3] = x.view(-1)[2:3]
    return _strided(x.to(dtype), case), _strided(y.to(dtype), case)


def _sl1_shown(case):
    x, y = _sl1_inputs(case)
    return {"input": x, "target": y, "beta": case["beta"], "reduction": case["reduction"]}


def _sl1_tolerance(x, reduction):
    magnitude = 1.0 + x.double().abs().max().item()
    count = x.numel() if reduction == "sum" else 1
    return ({"rtol": 1e-5, "atol": 1e-6 * magnitude * count} if x.dtype == torch.float32
            else {"rtol": 1e-10, "atol": 1e-12 * magnitude * count})


def _sl1_call(smooth_l1, x, y, beta, reduction):
    passed = (x.clone(), y.clone())
    got = call(smooth_l1, *passed, beta=beta, reduction=reduction, forbid=_SL1_FORBID, forbid_ops=_SL1_OPS)
    _unchanged((x.detach(), y), passed, ("input", "target"))
    return got


def _sl1_value(smooth_l1):
    @_showing(_sl1_shown)
    def prop(case):
        x, y = _sl1_inputs(case)
        got = _sl1_call(smooth_l1, x, y, case["beta"], case["reduction"])
        assert_close(got, oracles.smooth_l1_loss(x, y, case["beta"], case["reduction"]),
                     **_sl1_tolerance(x, case["reduction"]), what="the smooth L1 loss")
    return prop


def _sl1_gradient(smooth_l1):
    @_showing(_sl1_shown)
    def prop(case):
        x, y = _sl1_inputs(case)
        leaf = x.clone().requires_grad_(True)
        with torch.enable_grad():
            got = call(smooth_l1, leaf, y.clone(), beta=case["beta"], reduction=case["reduction"],
                       forbid=_SL1_FORBID, forbid_ops=_SL1_OPS)
            _differentiable(got, "the smooth L1 loss")
            assert_close(got, oracles.smooth_l1_loss(x, y, case["beta"], case["reduction"]),
                         **_sl1_tolerance(x, case["reduction"]), what="the smooth L1 loss")
            upstream = _upstream(got, case["seed"])
            (grad,) = gradients(got, [leaf], upstream)
            _finite_gradient(grad, "the gradient with respect to the input")
            ref = x.detach().double().requires_grad_(True)
            ref_out = F.smooth_l1_loss(ref, y.double(), beta=case["beta"], reduction=case["reduction"])
            (want,) = torch.autograd.grad(ref_out, [ref], upstream.double())
        if case["beta"] == 0:        # |d| has no derivative at d = 0: any value in [-1, 1] is a subgradient
            tie = (x.double() == y.double())
            grad, want = grad.masked_fill(tie, 0.0), want.masked_fill(tie, 0.0)
        tol = 1e-5 if x.dtype == torch.float32 else 1e-10
        assert_close(grad, want.to(x.dtype), rtol=tol, atol=tol, what="the gradient with respect to the input")
    return prop


def _sl1_example(shape=(5,), **overrides):
    base = {"shape": shape, "spread": 1.0, "beta": 1.0, "at_beta": False, "dtype": "float64",
            "reduction": "mean", "seed": 0}
    base.update(overrides)
    return base


@aspect(A, task="smooth_l1", points=2)
def smooth_l1_correct(smooth_l1):
    """Smooth L1 equals F.smooth_l1_loss for beta > 0; continuous at |d| = beta; its gradient."""
    yield check_property(
        "equals F.smooth_l1_loss for beta > 0, any shape (contiguous or not), every reduction (float32 "
        "and float64; inputs left unchanged)",
        _any_layout(S.smooth_l1_cases()), _sl1_value(smooth_l1), max_examples=40,
        examples=[_sl1_example(),
                  _sl1_example((3, 4), beta=0.5, at_beta=True, reduction="none", seed=1),
                  _sl1_example((2, 3, 2), beta=2.0, spread=10.0, reduction="sum", seed=2),
                  _sl1_example((6,), beta=1e-3, spread=0.1, at_beta=True, dtype="float32", seed=3),
                  _sl1_example((4,), beta=3.0, spread=0.1, reduction="none", seed=4),
                  _sl1_example((3, 2), beta=0.5, strided=True, reduction="none", seed=5)])

    def continuous(beta):
        d = torch.tensor([beta * (1 - 1e-6), beta, beta * (1 + 1e-6), -beta * (1 - 1e-6), -beta,
                          -beta * (1 + 1e-6)], dtype=torch.float64)
        got = _sl1_call(smooth_l1, d, torch.zeros_like(d), beta, "none")
        expect_tensor(got, what="the loss with reduction='none'", shape=d.shape, dtype=d.dtype)
        values = got.detach()
        if not bool(((values - 0.5 * beta).abs() <= 1e-5 * beta + 1e-12).all()):
            raise CheckFailed(f"smooth L1 should be continuous at |d| = beta = {beta:g}, where both pieces "
                              f"equal beta / 2; just below, at and just above +-beta it gave {values.tolist()}")

    yield check_property(
        "continuous at |d| = beta: just below, at and just above the joint the loss is beta / 2",
        st.one_of(st.sampled_from([1.0, 0.5, 2.0, 1e-3]), st.floats(0.01, 5.0)), continuous, max_examples=8,
        examples=[1.0, 0.25])
    yield check_property(
        "differentiable: the gradient with respect to the input equals autograd's through "
        "F.smooth_l1_loss (d / beta inside, sign(d) outside)",
        S.smooth_l1_cases(dtypes=("float64",)), _sl1_gradient(smooth_l1), max_examples=15,
        examples=[_sl1_example((3, 4), beta=0.5, at_beta=True, reduction="none", seed=1)])


@aspect(A, task="smooth_l1", points=1)
def smooth_l1_beta_zero(smooth_l1):
    """beta = 0 is plain L1, with finite values and gradients (torch treats it specially)."""
    yield check_property(
        "beta = 0 is the L1 loss |d|: equals F.smooth_l1_loss(beta=0), every reduction, no NaN",
        S.smooth_l1_cases(betas=(0.0,)), _sl1_value(smooth_l1), max_examples=15,
        examples=[_sl1_example(beta=0.0, reduction="none"),
                  _sl1_example((3, 2), beta=0.0, at_beta=True, dtype="float32", reduction="sum", seed=1)])
    yield check_property(
        "beta = 0: the gradient is finite everywhere and equals sign(d) (scaled by the reduction) "
        "wherever d != 0",
        S.smooth_l1_cases(betas=(0.0,)), _sl1_gradient(smooth_l1), max_examples=10,
        examples=[_sl1_example((4,), beta=0.0, at_beta=True, reduction="none"),
                  _sl1_example((2, 3), beta=0.0, dtype="float32", seed=2)])
