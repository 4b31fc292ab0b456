"""Checks of 08_optimizers: one step of SGD, Adagrad, Adadelta, RMSprop, Adam and AdamW.

Every task has one interface, ``<name>_step(params, grads, state, **hyper)``: it updates the tensors of
``params`` in place and keeps its own per-parameter state in the dict ``state`` that the caller passes
back at the next step. Each task is graded by two aspects:

- ``<name>_step_matches_torch``: k steps (1 to 8) with random hyper-parameters on several parameters of
  random shapes and dtypes (some gradients all zero) leave the parameters where ``torch.optim.<Name>``
  (foreach=False) leaves them, after every step, also when the learning rate changes between calls as
  a scheduler changes it (the lr of each call is used; none is kept in state); the gradients are left
  unchanged. And the update is
  made in place: after every step the list holds the very tensors it was given, with the same storage,
  and nothing is returned (watched in the student's worker by ``medgrade.worker.probes:optimizer_steps``;
  the values alone cannot tell, since a list rebound entry by entry compares equal, while a model's
  parameters would never change).
- ``<name>_step_none_grads``: a parameter whose gradient is None is skipped as torch.optim skips it:
  left exactly unchanged, no state made for it until its first gradient, and its own step count
  (bias correction, learning-rate decay, the first step of a momentum buffer) counting only the steps
  at which it had a gradient. Judged against the student's own update (the parameter stepped alone
  with its gradients), so that a wrong update costs only the first aspect.
"""
from __future__ import annotations

import torch

from medgrade.common.tensors import norm_dtype, tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, describe
from medgrade.properties import around, call, check_property
from medgrade.registry import aspect

from . import inputs as S
from . import reference as oracles

A = "08_optimizers"

# ---------------------------------------------------------------- refusing torch.optim

_FUNCTIONAL = {"sgd": ["sgd"], "adagrad": ["adagrad"], "adadelta": ["adadelta"],
               "rmsprop": ["rmsprop"], "adam": ["adam"], "adamw": ["adamw"]}
# torch.optim's fused and foreach kernels, however they are reached
_OPTIM_OPS = r"_foreach_|_fused_"
_REFUSED: list = []


def _refused() -> list:
    """Tripwires on torch.optim: every optimizer's constructor (Optimizer.__init__), the classes by
    name, and the functional step functions (torch.optim.<module>.<name>, its _single_tensor_ and
    _multi_tensor_ versions, and their torch.optim._functional aliases)."""
    import importlib

    import torch.optim._functional as functional
    entries = [(torch.optim.Optimizer, "__init__", "torch.optim (an optimizer object)"),
               (torch.optim.Optimizer, "step", "torch.optim.Optimizer.step")]
    for cls in oracles.CLASSES.values():
        entries.append((torch.optim, cls, f"torch.optim.{cls}"))
    for module_name, names in _FUNCTIONAL.items():
        module = importlib.import_module(f"torch.optim.{module_name}")
        for name in names:
            for attr in (name, f"_single_tensor_{name}", f"_multi_tensor_{name}", f"_fused_{name}"):
                entries.append((module, attr, f"torch.optim.{module_name}.{attr}"))
            entries.append((functional, name, f"torch.optim._functional.{name}"))
    return entries


def _call(fn, *args, **kwargs):
    if not _REFUSED:
        _REFUSED.extend(_refused())
    import re
    return call(fn, *args, forbid=_REFUSED, forbid_ops=re.compile(_OPTIM_OPS),
                hint="torch.optim is the reference here, not a tool", **kwargs)


# ---------------------------------------------------------------- the scenario of a case

def _params(case) -> list[torch.Tensor]:
    return [tensor_from_seed(shape, case["seed"] + i, low=-2.0, high=2.0, dtype=norm_dtype(dt))
            for i, (shape, dt) in enumerate(zip(case["shapes"], case["dtypes"]))]


def _grads(case, step: int) -> list[torch.Tensor | None]:
    """The gradients of step ``step`` (0-based): U[-s, s) with s = case["grad_scale"] (1 unless the case
    says; 0.1 to 4: a gradient clipped to [-1, 1], or any shortcut that holds only for |g| <= 1, is
    seen), all zero with probability 0.2, None with probability case["none_rate"] (decided by a
    generator seeded from the case)."""
    n = len(case["shapes"])
    scale = case.get("grad_scale", 1.0)
    coins = torch.rand((n, 2), generator=torch.Generator().manual_seed(case["seed"] * 31 + step))
    out = []
    for i, (shape, dt) in enumerate(zip(case["shapes"], case["dtypes"])):
        if coins[i, 0].item() < case.get("none_rate", 0.0):
            out.append(None)
        elif coins[i, 1].item() < 0.2:
            out.append(torch.zeros(shape, dtype=norm_dtype(dt)))
        else:
            out.append(tensor_from_seed(shape, case["seed"] + 1000 * (step + 1) + i, low=-scale, high=scale,
                                        dtype=norm_dtype(dt)))
    for i, at in case.get("none_at", []):          # pinned examples: grads[i] is None at step `at`
        if at == step:
            out[i] = None
    return out


def _tolerance(dtype: torch.dtype, expected: torch.Tensor) -> dict:
    """float64: 1e-9 relative; float32: 2e-5 of (1 + the largest parameter), enough for any honest
    order of the operations over 8 steps (measured: torch and the course's answer differ by 1.2e-7).
    Every mistake the checks look for moves a parameter by a sizable fraction of the learning rate."""
    finite = expected[torch.isfinite(expected)]        # a wrong update may make NaN: the scale stays a number
    scale = 1.0 + (finite.abs().max().item() if finite.numel() else 0.0)
    if dtype == torch.float64:
        return dict(rtol=1e-9, atol=1e-10 * scale)
    return dict(rtol=0.0, atol=2e-5 * scale)


def _unchanged(now: torch.Tensor, before: torch.Tensor) -> bool:
    """Bitwise the same values, a NaN where there was a NaN (a wrong update that made NaN is judged by
    the other aspect)."""
    return bool(((now == before) | (now.isnan() & before.isnan())).all())


def _hyper(case, task: str, step: int = 0) -> dict:
    """The hyper-parameters of step ``step`` (0-based): the case's (flat in the case, so that it prints
    as one list), with lr * lr_gamma ** step as the learning rate."""
    hyper = {k: case[k] for k in S.HYPER_NAMES[task]}
    hyper["lr"] = case["lr"] * case.get("lr_gamma", 1.0) ** step
    return hyper


def _shown(case, task: str) -> str:
    hyper = ", ".join(f"{k}={v}" for k, v in _hyper(case, task).items())
    lines = [f"{task}(params, grads, state, {hyper}), called once per step; gradients in "
             f"[-{case.get('grad_scale', 1.0)}, {case.get('grad_scale', 1.0)})"]
    if case.get("lr_gamma", 1.0) != 1.0:
        lines.append(f"the learning rate changes between calls, as a scheduler changes it: at step s (from 1) "
                     f"lr = {case['lr']} * {case['lr_gamma']} ** (s - 1)")
    for i, p in enumerate(_params(case)):
        lines.append(f"params[{i}] at the start = {describe(p)}")
    return "\n".join(lines)


def _step(fn, task: str, params, grads, state, hyper, step: int, check_grads: bool = True) -> None:
    """One call of the student's function on clones of the gradients; with ``check_grads`` they must
    come back unchanged (a contract of the first aspect only: one mistake costs its points once)."""
    passed = [None if g is None else g.clone() for g in grads]
    n = len(params)
    try:
        got = _call(fn, params, passed, state, **hyper)
    except CheckFailed as e:
        raise CheckFailed(f"at step {step + 1}: {e.message}") from None
    if got is not None:
        raise CheckFailed(f"{task} should update params in place and return None; it returned {describe(got)}")
    if not isinstance(params, list) or len(params) != n:
        raise CheckFailed(f"{task} changed the list params itself (it must only update its tensors)")
    for i, g in enumerate(grads if check_grads else []):
        if (passed[i] is None) != (g is None) or (g is not None and not torch.equal(passed[i], g)):
            raise CheckFailed(f"at step {step + 1}, {task} modified grads[{i}] (the gradients must be "
                              f"left as they are)")


def _run_steps(fn, task: str, case) -> None:
    """Step the student's function and torch.optim side by side; compare after every step."""
    params = _params(case)
    reference = oracles.TorchOptimizer(task, params, _hyper(case, task))
    state: dict = {}
    for step in range(case["steps"]):
        grads = _grads(case, step)
        hyper = _hyper(case, task, step)
        _step(fn, task, params, grads, state, hyper, step)
        expected = reference.step(grads, lr=hyper["lr"])
        for i in range(len(params)):
            assert_close(params[i], expected[i], **_tolerance(expected[i].dtype, expected[i]),
                         what=f"params[{i}] after step {step + 1}")


def _skips_none(fn, task: str, case) -> None:
    """Skipping is judged against the student's own update, not against torch (a wrong update costs
    the other aspect): with None gradients interleaved, a parameter must end where the same function
    leaves it when that parameter is stepped alone with its gradients only, as torch.optim skips it.
    At a None step the parameter is exactly unchanged and has no state before its first gradient; at
    a step with a non-zero gradient it moves (a function that does nothing is not skipping)."""
    params = _params(case)
    start = [p.clone() for p in params]
    state: dict = {}
    seen = [False] * len(params)
    history: list[list] = [[] for _ in params]
    for step in range(case["steps"]):
        grads = _grads(case, step)
        before = [p.clone() for p in params]
        _step(fn, task, params, grads, state, _hyper(case, task, step), step, check_grads=False)
        for i, g in enumerate(grads):
            if g is None:
                if not _unchanged(params[i], before[i]):
                    raise CheckFailed(f"at step {step + 1}, grads[{i}] is None and params[{i}] changed: "
                                      f"a parameter without a gradient must be skipped")
                if not seen[i] and i in state:
                    raise CheckFailed(f"at step {step + 1}, params[{i}] has never had a gradient but "
                                      f"state[{i}] exists: state is made at a parameter's first gradient")
                continue
            seen[i] = True
            history[i].append((step, g))
            if bool((g != 0).any()) and _unchanged(params[i], before[i]) and not bool(params[i].isnan().all()):
                raise CheckFailed(f"at step {step + 1}, grads[{i}] is not zero and params[{i}] did not move")
    for i, grads_i in enumerate(history):
        if len(grads_i) == case["steps"]:          # never skipped: nothing to compare with
            continue
        alone, alone_state = [start[i].clone()], {}
        for step, g in grads_i:          # each with the learning rate of the step it was given at
            _step(fn, task, alone, [g], alone_state, _hyper(case, task, step), step, check_grads=False)
        assert_close(params[i], alone[0], **_tolerance(alone[0].dtype, alone[0]),
                     what=f"params[{i}] after the {case['steps']} steps (compared with params[{i}] stepped alone "
                          f"with its {len(grads_i)} gradients, by your own function)")


def _nones(step_list):
    return [None if g is None else "tensor" for g in step_list]


def _note(case) -> str:
    return "gradients per step (None or a tensor): " + "; ".join(
        f"step {s + 1}: {_nones(_grads(case, s))}" for s in range(case["steps"]))


def _matches(fn, task: str, examples: list, max_examples: int = 25):
    def same_as_torch(case):
        try:
            _run_steps(fn, task, case)
        except CheckFailed as e:
            raise CheckFailed(f"{e.message}\nthe scenario was:\n{_shown(case, task)}") from None
    return check_property(
        f"after each of k steps (1 to 8), random hyper-parameters (the learning rate constant or changed "
        f"between calls), several parameters of random shapes in float32 and float64 (some gradients all "
        f"zero): the parameters equal "
        f"torch.optim.{oracles.CLASSES[task]}'s; the gradients are left unchanged",
        S.step_cases(task), same_as_torch, max_examples=max_examples, examples=examples)


_IN_PLACE = "medgrade.worker.probes:optimizer_steps"


def _in_place(fn, task: str, examples: list, max_examples: int = 10):
    def keeps_tensors(case):
        params = _params(case)
        grads = [_grads(case, step) for step in range(case["steps"])]
        problem, _final = _call(around(fn, _IN_PLACE), params, grads, {}, **_hyper(case, task))
        if problem is not None:
            step, what = problem
            raise CheckFailed(
                f"at step {step}, {task} {what}. The caller (an optimizer of a model) holds the tensors of "
                f"params: a step that does not write into them never changes the model. Update each "
                f"parameter in place, under torch.no_grad(): p.sub_(...), p.add_(..., alpha=...), "
                f"p.addcdiv_(...), p.mul_(...) or p.copy_(new_value); never params[i] = ..., p.data = ... "
                f"or return params\nthe scenario was:\n{_shown(case, task)}")
    return check_property(
        "updates the given tensors in place (the list keeps the same tensors; nothing returned)",
        S.step_cases(task), keeps_tensors, max_examples=max_examples, examples=examples)


def _none_grads(fn, task: str, examples: list, max_examples: int = 15):
    def skips_none(case):
        try:
            _skips_none(fn, task, case)
        except CheckFailed as e:
            raise CheckFailed(f"{e.message}\nthe scenario was:\n{_shown(case, task)}\n{_note(case)}") from None
    return check_property(
        "a parameter whose gradient is None is skipped as torch.optim skips it: unchanged, no state until "
        "its first gradient, and it ends where your function leaves it when stepped alone with its gradients",
        S.step_cases(task, none_rate=0.4), skips_none, max_examples=max_examples, examples=examples)


def _case(hyper: dict, shapes=((3,), (2, 2)), dtypes=("float64", "float32"), steps: int = 4, seed: int = 0,
          none_at: list | None = None, grad_scale: float = 1.0, lr_gamma: float = 1.0) -> dict:
    """A pinned example; ``none_at``: (parameter, step) pairs at which that gradient is None;
    ``grad_scale``: the gradients are U[-grad_scale, grad_scale); ``lr_gamma``: the learning rate of
    step s (from 1) is lr * lr_gamma ** (s - 1)."""
    case = {"shapes": [tuple(s) for s in shapes], "dtypes": list(dtypes), "steps": steps, "seed": seed,
            "grad_scale": grad_scale, "lr_gamma": lr_gamma}
    if none_at:
        case["none_at"] = list(none_at)
    return {**case, **hyper}


# a parameter that has no gradient at the first two steps, then has one: its state starts at step 3
_LATE = [(0, 0), (0, 1)]

# ---------------------------------------------------------------- SGD

_SGD = dict(lr=0.1, momentum=0.0, dampening=0.0, nesterov=False, weight_decay=0.0)


@aspect(A, task="sgd_step", points=2)
def sgd_step_matches_torch(sgd_step):
    """SGD with momentum, dampening, Nesterov and weight decay equals torch.optim.SGD after every step, in place."""
    yield _matches(sgd_step, "sgd_step", [
        _case(dict(_SGD), steps=2),                                                    # plain SGD
        _case(dict(_SGD, momentum=0.9), steps=1),                                      # buffer = gradient
        _case(dict(_SGD, momentum=0.9, dampening=0.5), steps=3),                       # no dampening at step 1
        _case(dict(_SGD, momentum=0.8, nesterov=True, weight_decay=0.1), steps=4, seed=3),
        _case(dict(_SGD, momentum=0.5, dampening=0.3, weight_decay=0.2), shapes=((), (2, 3, 2)), steps=6),
        _case(dict(_SGD, momentum=0.9), steps=3, grad_scale=4.0),                 # |g| > 1
        _case(dict(_SGD, momentum=0.9, nesterov=True), steps=4, lr_gamma=0.6)])   # a decaying lr
    yield _in_place(sgd_step, "sgd_step", [_case(dict(_SGD, momentum=0.9), steps=3)])


@aspect(A, task="sgd_step", points=1)
def sgd_step_none_grads(sgd_step):
    """SGD skips a parameter whose gradient is None: unchanged, no state, no momentum decay."""
    yield _none_grads(sgd_step, "sgd_step", [
        _case(dict(_SGD, momentum=0.9, dampening=0.5), steps=4, none_at=_LATE),
        _case(dict(_SGD, momentum=0.9, weight_decay=0.1), steps=3, none_at=[(1, 1)])])


# ---------------------------------------------------------------- Adagrad

_ADAGRAD = dict(lr=0.1, lr_decay=0.0, weight_decay=0.0, initial_accumulator_value=0.0, eps=1e-10)


@aspect(A, task="adagrad_step", points=2)
def adagrad_step_matches_torch(adagrad_step):
    """Adagrad with lr_decay, weight decay, initial_accumulator_value and eps equals torch.optim.Adagrad, in place."""
    yield _matches(adagrad_step, "adagrad_step", [
        _case(dict(_ADAGRAD), steps=1),
        _case(dict(_ADAGRAD, lr_decay=0.5), steps=4),
        _case(dict(_ADAGRAD, initial_accumulator_value=0.5, eps=0.5), steps=2),
        _case(dict(_ADAGRAD, weight_decay=0.2, lr_decay=0.1, eps=1e-3), steps=5, seed=4),
        _case(dict(_ADAGRAD, eps=1e-3), steps=3, grad_scale=4.0),
        _case(dict(_ADAGRAD, lr_decay=0.5), steps=4, lr_gamma=1.3)])
    yield _in_place(adagrad_step, "adagrad_step", [_case(dict(_ADAGRAD), steps=2)])


@aspect(A, task="adagrad_step", points=1)
def adagrad_step_none_grads(adagrad_step):
    """Adagrad skips a parameter whose gradient is None: unchanged, no state, its own step count for lr_decay."""
    yield _none_grads(adagrad_step, "adagrad_step", [
        _case(dict(_ADAGRAD, lr_decay=0.5), steps=4, none_at=_LATE)])


# ---------------------------------------------------------------- Adadelta

_ADADELTA = dict(lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0)


@aspect(A, task="adadelta_step", points=2)
def adadelta_step_matches_torch(adadelta_step):
    """Adadelta with rho, eps, lr and weight decay equals torch.optim.Adadelta after every step, in place."""
    yield _matches(adadelta_step, "adadelta_step", [
        _case(dict(_ADADELTA), steps=1),
        _case(dict(_ADADELTA, eps=0.05, rho=0.7), steps=3),
        _case(dict(_ADADELTA, lr=0.5, weight_decay=0.2, eps=1e-3), steps=6, seed=5),
        _case(dict(_ADADELTA, eps=1e-3), steps=3, grad_scale=4.0),
        _case(dict(_ADADELTA, eps=0.05), steps=4, lr_gamma=0.6)])
    yield _in_place(adadelta_step, "adadelta_step", [_case(dict(_ADADELTA), steps=2)])


@aspect(A, task="adadelta_step", points=1)
def adadelta_step_none_grads(adadelta_step):
    """Adadelta skips a parameter whose gradient is None: unchanged, no state."""
    yield _none_grads(adadelta_step, "adadelta_step", [
        _case(dict(_ADADELTA, eps=0.05), steps=4, none_at=_LATE)])


# ---------------------------------------------------------------- RMSprop

_RMSPROP = dict(lr=0.01, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0, centered=False)


@aspect(A, task="rmsprop_step", points=2)
def rmsprop_step_matches_torch(rmsprop_step):
    """RMSprop with alpha, eps, weight decay, momentum and centered equals torch.optim.RMSprop, in place."""
    yield _matches(rmsprop_step, "rmsprop_step", [
        _case(dict(_RMSPROP), steps=1),
        _case(dict(_RMSPROP, eps=0.5, alpha=0.8), steps=3),
        _case(dict(_RMSPROP, centered=True, alpha=0.7), steps=3),
        _case(dict(_RMSPROP, momentum=0.9, eps=0.05), steps=2),
        _case(dict(_RMSPROP, momentum=0.5, centered=True, weight_decay=0.1, eps=1e-3), steps=6, seed=6),
        _case(dict(_RMSPROP, centered=True, alpha=0.5, eps=1e-3), steps=3, grad_scale=4.0),
        _case(dict(_RMSPROP, momentum=0.9, eps=0.05), steps=4, lr_gamma=1.3)])
    yield _in_place(rmsprop_step, "rmsprop_step", [_case(dict(_RMSPROP, momentum=0.9), steps=2)])


@aspect(A, task="rmsprop_step", points=1)
def rmsprop_step_none_grads(rmsprop_step):
    """RMSprop skips a parameter whose gradient is None: unchanged, no state."""
    yield _none_grads(rmsprop_step, "rmsprop_step", [
        _case(dict(_RMSPROP, momentum=0.9, centered=True), steps=4, none_at=_LATE)])


# ---------------------------------------------------------------- Adam and AdamW

_ADAM = dict(lr=0.01, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0, amsgrad=False)


@aspect(A, task="adam_step", points=2)
def adam_step_matches_torch(adam_step):
    """Adam with betas, eps, (L2) weight decay and amsgrad equals torch.optim.Adam after every step, in place."""
    yield _matches(adam_step, "adam_step", [
        _case(dict(_ADAM), steps=1),                                      # bias correction at step 1
        _case(dict(_ADAM, betas=(0.5, 0.6)), steps=3),
        _case(dict(_ADAM, eps=0.5), steps=2),
        _case(dict(_ADAM, amsgrad=True, betas=(0.5, 0.6)), steps=6, seed=7),
        _case(dict(_ADAM, weight_decay=0.3, betas=(0.8, 0.9), eps=1e-3), steps=4, seed=8),
        _case(dict(_ADAM, betas=(0.5, 0.6), eps=0.05), steps=3, grad_scale=4.0),
        _case(dict(_ADAM, betas=(0.5, 0.6), amsgrad=True), steps=4, lr_gamma=0.6)])
    yield _in_place(adam_step, "adam_step", [_case(dict(_ADAM), steps=3)])


@aspect(A, task="adam_step", points=1)
def adam_step_none_grads(adam_step):
    """Adam skips a parameter whose gradient is None: unchanged, no state, its own step for bias correction."""
    yield _none_grads(adam_step, "adam_step", [
        _case(dict(_ADAM, betas=(0.5, 0.6)), steps=4, none_at=_LATE)])


_ADAMW = dict(_ADAM, weight_decay=0.5)


@aspect(A, task="adamw_step", points=2)
def adamw_step_matches_torch(adamw_step):
    """AdamW (decoupled weight decay) with betas, eps and amsgrad equals torch.optim.AdamW per step, in place."""
    yield _matches(adamw_step, "adamw_step", [
        _case(dict(_ADAMW), steps=1),
        _case(dict(_ADAMW, lr=0.1, weight_decay=1.0, betas=(0.5, 0.6)), steps=3),
        _case(dict(_ADAMW, eps=0.5, weight_decay=0.0), steps=2),
        _case(dict(_ADAMW, amsgrad=True, betas=(0.5, 0.6)), steps=6, seed=7),
        _case(dict(_ADAMW, betas=(0.5, 0.6), eps=0.05), steps=3, grad_scale=4.0),
        _case(dict(_ADAMW, lr=0.1, betas=(0.5, 0.6)), steps=4, lr_gamma=1.3)])
    yield _in_place(adamw_step, "adamw_step", [_case(dict(_ADAMW), steps=3)])


@aspect(A, task="adamw_step", points=1)
def adamw_step_none_grads(adamw_step):
    """AdamW skips a parameter whose gradient is None: unchanged (no decay either), no state, its own step."""
    yield _none_grads(adamw_step, "adamw_step", [
        _case(dict(_ADAMW, betas=(0.5, 0.6)), steps=4, none_at=_LATE)])
