"""Checks of 10_hyperparameters: learning-rate schedules (step, multi-step, cosine with linear warm-up,
one-cycle) against torch.optim.lr_scheduler, grid and random search under a fixed budget, and the LR
range test."""
from __future__ import annotations

import math
import numbers

import torch
import torch.nn as nn
from torch.optim import lr_scheduler

from medgrade.common.tensors import tensor_from_seed
from medgrade.failures import CheckFailed, assert_close, describe, expect_tensor
from medgrade.isolation import Remote
from medgrade.properties import around, beside, call, check_once, check_property
from medgrade.registry import aspect
from medgrade.worker.guard import guarded_call

from . import inputs as S
from . import reference as oracles

A = "10_hyperparameters"

_HINT = "Compute the learning rate from its formula."


def _refused():
    """Every scheduler class of torch.optim.lr_scheduler, and the constructor they all go through
    (so a class imported before the call is refused too)."""
    entries = [(lr_scheduler, name, f"torch.optim.lr_scheduler.{name}") for name in dir(lr_scheduler)
               if isinstance(getattr(lr_scheduler, name), type)
               and issubclass(getattr(lr_scheduler, name), (lr_scheduler.LRScheduler, lr_scheduler.ReduceLROnPlateau))]
    entries.append((lr_scheduler.LRScheduler, "__init__", "torch.optim.lr_scheduler.LRScheduler"))
    entries.append((lr_scheduler.ReduceLROnPlateau, "__init__", "torch.optim.lr_scheduler.ReduceLROnPlateau"))
    return entries


def _values(fn, steps, kwargs) -> list:
    """The student's schedule at every step in ``steps``, computed in its worker in one call:
    list(map(fn, steps, [arg] * n, ...)) with the arguments positional, in the def line's order."""
    n = len(steps)
    mapped = call(around(fn, "builtins:map"), list(steps), *[[v] * n for v in kwargs.values()])
    got = call(beside(fn, "builtins:list"), mapped, forbid=_refused(), hint=_HINT)
    if type(got) is not list or len(got) != n:
        raise CheckFailed(f"expected {n} learning rates, got {describe(got)}")
    return got


def _same_schedule(got: list, want: list, scale: float, name: str, kwargs: dict) -> None:
    """Relative 1e-9 (torch multiplies step by step, a closed form raises to a power: both round), and an
    absolute 1e-12 of the schedule's largest value (a cosine that reaches 0 is 0 up to rounding)."""
    for t, (g, w) in enumerate(zip(got, want)):
        if isinstance(g, bool) or not isinstance(g, numbers.Real):
            hint = " (call .item() or float() on a tensor)" if isinstance(g, torch.Tensor) else ""
            raise CheckFailed(f"{name}(step={t}, ...) should return a Python float, got {describe(g)}{hint}")
        if not abs(float(g) - w) <= 1e-9 * abs(w) + 1e-12 * scale:
            around_t = range(max(0, t - 2), min(len(want), t + 3))
            rows = "\n".join(f"  step {s}: expected {want[s]!r}, got {got[s]!r}" for s in around_t)
            raise CheckFailed(f"{name} at step {t} is {g!r}, torch's scheduler gives {w!r} "
                              f"(the value after scheduler.step() has been called {t} times)\n{rows}")


# ---------------------------------------------------------------- step_lr and multistep_lr

@aspect(A, task="step_lr", points=1)
def step_lr_values(step_lr):
    """step_lr equals StepLR's learning rate at every step, for random base_lr, step_size and gamma."""

    def same_as_torch(case):
        kwargs = {k: case[k] for k in ("base_lr", "step_size", "gamma")}
        want = oracles.step_lr(case["base_lr"], case["step_size"], case["gamma"], case["steps"])
        got = _values(step_lr, range(case["steps"] + 1), kwargs)
        _same_schedule(got, want, case["base_lr"], "step_lr", kwargs)

    yield check_property(
        "step_lr(t, ...) equals StepLR's learning rate after t scheduler steps, for t = 0 .. steps",
        S.step_cases(), same_as_torch, max_examples=25,
        examples=[{"base_lr": 0.1, "step_size": 1, "gamma": 0.5, "steps": 6},        # decays every step
                  {"base_lr": 1.0, "step_size": 30, "gamma": 0.1, "steps": 95},      # the ResNet schedule
                  {"base_lr": 0.05, "step_size": 7, "gamma": 1.0, "steps": 20}])     # gamma 1: constant


@aspect(A, task="multistep_lr", points=1)
def multistep_lr_values(multistep_lr):
    """multistep_lr equals MultiStepLR's learning rate at every step, milestones past the end included."""

    def same_as_torch(case):
        kwargs = {k: case[k] for k in ("base_lr", "milestones", "gamma")}
        want = oracles.multistep_lr(case["base_lr"], case["milestones"], case["gamma"], case["steps"])
        got = _values(multistep_lr, range(case["steps"] + 1), kwargs)
        _same_schedule(got, want, case["base_lr"], "multistep_lr", kwargs)

    yield check_property(
        "multistep_lr(t, ...) equals MultiStepLR's learning rate after t scheduler steps, for t = 0 .. steps",
        S.multistep_cases(), same_as_torch, max_examples=25,
        examples=[{"base_lr": 0.1, "milestones": [1, 2, 3], "gamma": 0.5, "steps": 5},   # consecutive milestones
                  {"base_lr": 0.1, "milestones": [30, 80], "gamma": 0.1, "steps": 100},
                  {"base_lr": 0.3, "milestones": [4, 50], "gamma": 0.2, "steps": 10},   # one past the end
                  {"base_lr": 0.1, "milestones": [2, 2, 5], "gamma": 0.5, "steps": 8}])   # listed twice: counts twice


# ---------------------------------------------------------------- warmup_cosine_lr

@aspect(A, task="warmup_cosine_lr", points=2)
def warmup_cosine_lr_values(warmup_cosine_lr):
    """warmup_cosine_lr equals LinearLR then CosineAnnealingLR (SequentialLR) at every step of the schedule."""
    keys = ["base_lr", "warmup_steps", "total_steps", "start_factor", "eta_min"]

    def same_as_torch(case):
        kwargs = {k: case[k] for k in keys}
        want = oracles.warmup_cosine_lr(**kwargs)
        got = _values(warmup_cosine_lr, range(case["total_steps"] + 1), kwargs)
        _same_schedule(got, want, case["base_lr"], "warmup_cosine_lr", kwargs)

    def example(**kw):
        base = {"base_lr": 0.1, "warmup_steps": 5, "total_steps": 20, "start_factor": 0.1, "eta_min": 0.0}
        base.update(kw)
        return base

    yield check_property(
        "warmup_cosine_lr(t, ...) equals SequentialLR([LinearLR, CosineAnnealingLR], milestones=[warmup_steps]) "
        "after t scheduler steps, for t = 0 .. total_steps",
        S.warmup_cosine_cases(), same_as_torch, max_examples=30,
        examples=[example(),
                  example(warmup_steps=1, total_steps=2),                     # the shortest schedule
                  example(warmup_steps=9, total_steps=10, eta_min=0.001),     # one cosine step
                  example(base_lr=1.0, warmup_steps=50, total_steps=300, start_factor=0.01, eta_min=0.01),
                  example(start_factor=1.0)])                                 # no warm-up in effect


# ---------------------------------------------------------------- one_cycle_lr

_ONE_CYCLE = ["max_lr", "total_steps", "pct_start", "div_factor", "final_div_factor", "three_phase"]


@aspect(A, task="one_cycle_lr", points=2)
def one_cycle_lr_values(one_cycle_lr):
    """one_cycle_lr equals OneCycleLR (cosine annealing, two- and three-phase) at every step of the cycle."""

    def same_as_torch(case):
        kwargs = {k: case[k] for k in _ONE_CYCLE}
        want = oracles.one_cycle_lr(**kwargs)
        got = _values(one_cycle_lr, range(case["total_steps"]), kwargs)
        _same_schedule(got, want, case["max_lr"], "one_cycle_lr", kwargs)

    def example(**kw):
        base = {"max_lr": 0.1, "total_steps": 100, "pct_start": 0.3, "div_factor": 25.0,
                "final_div_factor": 1e4, "three_phase": False}
        base.update(kw)
        return base

    yield check_property(
        "one_cycle_lr(t, ...) equals OneCycleLR's learning rate after t scheduler steps, for t = 0 .. total_steps - 1 "
        "(two- and three-phase)",
        S.one_cycle_cases(), same_as_torch, max_examples=30,
        examples=[example(),                                                  # torch's defaults
                  example(three_phase=True),
                  example(total_steps=10, pct_start=0.25),                    # a phase end between steps
                  example(total_steps=7, pct_start=0.4, three_phase=True, final_div_factor=1.0),
                  example(max_lr=1.0, total_steps=300, pct_start=0.05, div_factor=10.0, final_div_factor=1e5)])


# ---------------------------------------------------------------- grid_search and random_search

def _objective(case) -> torch.nn.Module:
    bounds = case["bounds"]
    u = tensor_from_seed((len(bounds),), case["seed"], low=0.0, high=1.0, dtype=torch.float64)
    centre = [lo + float(t) * (hi - lo) for t, (lo, hi) in zip(u, bounds)]
    return oracles.objective(centre, bounds, case["axis"])


class _Counted:
    """The objective, kept in the student's worker (or here, in-process), with a forward pre-hook on its
    inner block that adds the block's input, a tensor made afresh by each call of f, to a set there
    (``set.update(block, args)``: the block's 2 layers and the tensor). The set keeps those tensors
    alive, so no two share an id; its size less 2 is the number of calls, whatever tensor the student
    passes (a buffer reused for every point included)."""

    def __init__(self, fn, module):
        self.fn, self.module = fn, module
        self.seen = call(beside(fn, "builtins:set"))
        update = call(beside(fn, "builtins:getattr"), self.seen, "update")
        self.f = call(beside(fn, "copy:deepcopy"), module)
        inner = call(beside(fn, "operator:getitem"), self.f, 1)
        call(beside(fn, "torch.nn:Module.register_forward_pre_hook"), inner, update)

    def calls(self) -> int:
        return max(0, call(beside(self.fn, "builtins:len"), self.seen) - len(list(self.module[1].children())))


def _search_result(got, budget: int, d: int, name: str):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise CheckFailed(f"{name} should return a pair (xs, ys), got {describe(got)}")
    xs, ys = got
    expect_tensor(xs, what=f"the points xs {name} returns", shape=(budget, d), dtype=torch.float64)
    expect_tensor(ys, what=f"the values ys {name} returns", shape=(budget,), dtype=torch.float64)
    return xs, ys


def _calls_and_values(counted: _Counted, xs, ys, budget: int, name: str) -> None:
    calls = counted.calls()
    if calls != budget:
        raise CheckFailed(f"{name} called f {calls} times; the budget is {budget}: exactly budget calls")
    with torch.no_grad():
        want = torch.tensor([float(counted.module(x)) for x in xs], dtype=torch.float64)
    assert_close(ys, want, rtol=1e-12, atol=1e-15, what="ys (ys[i] must be f(xs[i]))")


def _inside(xs, bounds, name: str) -> None:
    low = torch.tensor([lo for lo, _ in bounds], dtype=torch.float64)
    high = torch.tensor([hi for _, hi in bounds], dtype=torch.float64)
    outside = ~((xs >= low) & (xs <= high)).all(dim=1)
    if bool(outside.any()):
        i = int(outside.nonzero()[0])
        raise CheckFailed(f"{name}'s point xs[{i}] = {xs[i].tolist()} lies outside the bounds {bounds}")


@aspect(A, task="grid_search", points=2)
def grid_search_exact(grid_search):
    """grid_search evaluates f once at each centre of the k**d grid cells; a budget not a d-th power raises."""

    def the_grid(case):
        bounds, budget = case["bounds"], case["budget"]
        counted = _Counted(grid_search, _objective(case))
        xs, ys = _search_result(call(grid_search, counted.f, [tuple(b) for b in bounds], budget), budget, len(bounds),
                                "grid_search")
        _calls_and_values(counted, xs, ys, budget, "grid_search")
        want = oracles.grid_points(bounds, budget)
        # the order of the points is free: compare them sorted, row by row
        order = lambda t: sorted(range(len(t)), key=lambda i: t[i].tolist())   # noqa: E731
        got_sorted, want_sorted = xs[order(xs)], want[order(want)]
        scale = max(hi - lo for lo, hi in bounds)
        assert_close(got_sorted, want_sorted, rtol=1e-12, atol=1e-12 * scale,
                     what="the grid's points (sorted; the centres of k equal cells per axis)")

    def not_a_power(case):
        d = len(case["bounds"])
        if d == 1:                      # every budget is a first power
            return
        budget = case["k"] ** d + 1     # between k**d and (k + 1)**d
        args = [_objective(case), [tuple(b) for b in case["bounds"]], budget]
        if isinstance(grid_search, Remote):
            outcome = grid_search.guarded_call(args, {})
        else:
            outcome = guarded_call(grid_search, args, {})
        if outcome.raised is None or outcome.raised[0] != "ValueError":
            what = "returned" if outcome.raised is None else f"raised {outcome.raised[0]}"
            raise CheckFailed(f"grid_search with {d} dimensions and budget {budget} (not a {d}-th power) "
                              f"should raise ValueError, but it {what}")

    yield check_property(
        "the points are the k**d cell centres (in any order), f is called exactly budget times and ys[i] = f(xs[i]); "
        "1 to 3 dimensions, k = 1 included",
        S.boxes(), the_grid, max_examples=30,
        examples=[{"bounds": [(0.0, 1.0), (0.0, 1.0)], "k": 3, "budget": 9, "axis": 0, "seed": 1},
                  {"bounds": [(0.0, 1.0)] * 3, "k": 4, "budget": 64, "axis": 2, "seed": 2},   # 64 ** (1/3) < 4
                  {"bounds": [(-5.0, 5.0)] * 3, "k": 5, "budget": 125, "axis": 1, "seed": 3},
                  {"bounds": [(1e-4, 1.0001)], "k": 1, "budget": 1, "axis": 0, "seed": 4},
                  {"bounds": [(0.5, 3.0), (-1.0, 0.0)], "k": 1, "budget": 1, "axis": 1, "seed": 5}])
    yield check_property(
        "a budget that is not k**d for an integer k raises ValueError",
        S.boxes(), not_a_power, max_examples=10,
        examples=[{"bounds": [(0.0, 1.0), (0.0, 1.0)], "k": 3, "budget": 9, "axis": 0, "seed": 1}])


def _random_call(random_search, f, bounds, budget, seed, name="random_search"):
    g = torch.Generator().manual_seed(seed)
    got = call(random_search, f, [tuple(b) for b in bounds], budget, g)
    return _search_result(got, budget, len(bounds), name)


# calls the student's function in its worker; returns (value, whether DistributedSampler's code ran, the
# global random states it changed: "torch", "numpy", "random")
_RNG_WATCH = "medgrade.worker.probes:shard_watch"


# chi-square over a 4 x 4 grid of cells with 1600 points: 15 degrees of freedom, mean 15, standard
# deviation sqrt(30) = 5.5; an honest uniform sample stays below 15 + 6 * 5.5 = 48 (P < 1e-5).
_CELLS, _UNIFORM_N, _CHI2_BOUND = 4, 1600, 48.0


@aspect(A, task="random_search", points=2)
def random_search_contract(random_search):
    """random_search calls f exactly budget times at uniform points of the box, drawn from the generator alone."""

    def budget_bounds_generator(case):
        bounds, budget = case["bounds"], case["budget"]
        counted = _Counted(random_search, _objective(case))
        xs, ys = _random_call(random_search, counted.f, bounds, budget, case["seed"])
        _calls_and_values(counted, xs, ys, budget, "random_search")
        _inside(xs, bounds, "random_search")
        again, _ = _random_call(random_search, _objective(case), bounds, budget, case["seed"])
        assert_close(again, xs, rtol=0.0, atol=0.0,
                     what="the points of a second call with a generator seeded the same (the generator alone decides)")
        other, _ = _random_call(random_search, _objective(case), bounds, budget, case["seed"] + 1)
        if budget >= 2 and torch.equal(other, xs):
            raise CheckFailed("two generators seeded differently gave the same points: draw them from the generator")

    def uniform():
        bounds = [(-1.0, 3.0), (0.5, 0.75)]
        case = {"bounds": bounds, "budget": _UNIFORM_N, "axis": 0, "seed": 7}
        xs, _ = _random_call(random_search, _objective(case), bounds, _UNIFORM_N, 12345)
        _inside(xs, bounds, "random_search")
        low = torch.tensor([lo for lo, _ in bounds], dtype=torch.float64)
        width = torch.tensor([hi - lo for lo, hi in bounds], dtype=torch.float64)
        cell = ((xs - low) / width * _CELLS).floor().clamp(0, _CELLS - 1).long()
        counts = torch.bincount(cell[:, 0] * _CELLS + cell[:, 1], minlength=_CELLS ** 2).double()
        expected = _UNIFORM_N / _CELLS ** 2
        chi2 = float(((counts - expected) ** 2 / expected).sum())
        if chi2 > _CHI2_BOUND:
            raise CheckFailed(f"{_UNIFORM_N} points in the box {bounds} are not uniform: in a 4 x 4 grid of cells "
                              f"the counts are {counts.long().tolist()} (expected {expected:g} each; chi-square "
                              f"{chi2:.1f}, an honest uniform sample stays below {_CHI2_BOUND:g})")

        g = torch.Generator().manual_seed(12345)
        torch.rand(3, generator=g)                       # a generator already drawn from
        advanced, _used, changed = call(around(random_search, _RNG_WATCH), _objective(case),
                                        [tuple(b) for b in bounds], _UNIFORM_N, g)
        if changed:
            names = {"torch": "torch's global random state (torch.manual_seed, or a draw without generator=)",
                     "numpy": "NumPy's global random state (np.random.seed or np.random.rand, ...)",
                     "random": "Python's random module's state (random.seed, random.random, ...)"}
            raise CheckFailed(f"random_search changed {' and '.join(names[n] for n in changed)}: draw every "
                              f"number from `generator`, and leave the program's global random states alone")
        advanced = _search_result(advanced, _UNIFORM_N, len(bounds), "random_search")[0]
        if torch.equal(advanced, xs):
            raise CheckFailed("a generator seeded the same but already drawn from gave the same points as a fresh "
                              "one: draw from `generator` itself (its current state), not from a copy seeded with "
                              "generator.initial_seed()")

    yield check_property(
        "f is called exactly budget times, ys[i] = f(xs[i]), every point lies in the box, the same seed gives "
        "the same points and another seed other points",
        S.boxes(), budget_bounds_generator, max_examples=15,
        examples=[{"bounds": [(0.0, 1.0)], "k": 1, "budget": 1, "axis": 0, "seed": 1},
                  {"bounds": [(0.5, 3.0), (-1.0, 0.0), (1e-4, 1.0001)], "k": 3, "budget": 27, "axis": 1, "seed": 2}])
    yield check_once(f"{_UNIFORM_N} points are uniform over the box (chi-square over a 4 x 4 grid of cells); "
                     "a generator already drawn from gives other points than a fresh one of the same seed, and "
                     "no global random state (torch's, NumPy's, Python's) is used or changed", uniform)


# 3 dimensions, budget 64: the grid tries k = 4 values of the important axis, random search 64.
# With c the optimum's coordinate on that axis (uniform), the grid's distance to it is uniform on
# [0, 1/8] (in units of the axis); random search misses [c - d, c + d], of length at least d, with
# probability at most (1 - d)**64, so P(random better) >= 1 - 8 (1 - (7/8)**65) / 65 = 0.877.
# Over 200 seeds the count is Binomial(200, p >= 0.877): mean >= 175.4, sd <= 4.65; an honest
# random search reaches 175.4 - 6 * 4.65 > 147 with P > 1 - 1e-9. A search that tries only 4 values
# per axis (a shifted grid) wins about half the time: 100 + 6 * 7.1 = 143 < 148. f is the distance on
# the important axis plus 1e-9 times the others' (in units of each range), at most 2e-9 in all: it can
# decide a seed only when the grid's distance is below 2e-9 (probability 1.6e-8 per seed).
_SEEDS, _NEEDED = 200, 148


@aspect(A, task="random_search", points=2)
def random_search_beats_grid(random_search):
    """With one important axis out of three, random search beats the grid (same budget) in at least 148 of 200 seeds."""

    def share():
        wins = 0
        for seed in range(_SEEDS):
            g = torch.Generator().manual_seed(10_000 + seed)
            lows = (torch.rand(3, generator=g, dtype=torch.float64) * 4 - 2).tolist()
            widths = (torch.rand(3, generator=g, dtype=torch.float64) * 3 + 0.5).tolist()
            bounds = [(lo, lo + w) for lo, w in zip(lows, widths)]
            case = {"bounds": bounds, "budget": 64, "axis": seed % 3, "seed": 20_000 + seed}
            with torch.no_grad():
                _, grid_ys = oracles.grid_search(_objective(case), bounds, 64)
            xs, ys = _random_call(random_search, _objective(case), bounds, 64, seed)
            _inside(xs, bounds, "random_search")
            wins += float(ys.min()) < float(grid_ys.min())
        if wins < _NEEDED:
            raise CheckFailed(f"random search found a better point than the 4 x 4 x 4 grid in {wins} of {_SEEDS} "
                              f"seeds; an honest uniform random search does in at least {_NEEDED} (it tries 64 values "
                              f"of the important axis where the grid tries 4)")

    yield check_once(f"with budget 64 in 3 dimensions and one important axis, random search beats the grid in at "
                     f"least {_NEEDED} of {_SEEDS} seeds", share)


# ---------------------------------------------------------------- lr_range_test

def _net(case) -> nn.Module:
    d, h, k = case["features"], case["hidden"], case["classes"]
    layers = [nn.Linear(d, h)] + ([nn.BatchNorm1d(h)] if case["batchnorm"] else []) + [nn.Tanh(), nn.Linear(h, k)]
    net = nn.Sequential(*layers).double()
    with torch.no_grad():
        for i, p in enumerate(net.parameters()):
            p.copy_(tensor_from_seed(p.shape, case["seed"] + 10 + i, low=-0.8, high=0.8, dtype=torch.float64))
    return net.train(case["train_mode"])


def _batches(case) -> list:
    g = torch.Generator().manual_seed(case["seed"] + 1)
    out = []
    for b in range(case["batches"]):
        x = tensor_from_seed((case["batch_size"], case["features"]), case["seed"] + 100 + b, low=-2.0, high=2.0,
                             dtype=torch.float64)
        out.append((x, torch.randint(0, case["classes"], (case["batch_size"],), generator=g)))
    return out


def _range_both(lr_range_test, case, **extra):
    """The student's test on a model kept in its worker (so its mode can be read afterwards) and the
    reference on a copy here; returns both results and the model's state dict and mode afterwards."""
    loader, reference = _batches(case), _net(case)
    net = call(beside(lr_range_test, "copy:deepcopy"), _net(case))
    args = (case["lr_min"], case["lr_max"], case["steps"])
    got = call(lr_range_test, net, [(x.clone(), y.clone()) for x, y in loader], *args, **extra)
    if not isinstance(got, (tuple, list)) or len(got) != 2 or type(got[0]) is not list or type(got[1]) is not list:
        raise CheckFailed(f"lr_range_test should return a pair of lists (lrs, losses), got {describe(got)}")
    want = oracles.lr_range_test(reference, loader, *args, **extra)
    state = call(beside(lr_range_test, "builtins:dict"), call(beside(lr_range_test, "torch.nn:Module.state_dict"), net))
    training = call(beside(lr_range_test, "builtins:getattr"), net, "training")
    return got, want, (state, training)


def _same_list(got, want, what, rtol):
    if len(got) != len(want):
        raise CheckFailed(f"{what} has {len(got)} entries, expected {len(want)}: "
                          f"expected {_short(want)}, got {_short(got)}")
    for i, (g, w) in enumerate(zip(got, want)):
        if isinstance(g, bool) or not isinstance(g, numbers.Real):
            raise CheckFailed(f"{what}[{i}] should be a Python float, got {describe(g)}")
        if not (abs(float(g) - w) <= rtol * abs(w) + 1e-12 or (math.isnan(w) and math.isnan(g)) or g == w):
            raise CheckFailed(f"{what}[{i}] is {g!r}, expected {w!r}\n"
                              f"expected: {_short(want)}\ngot:      {_short(got)}")


def _short(values) -> str:
    shown = [f"{v:.6g}" if isinstance(v, float) else repr(v) for v in list(values)[:14]]
    return "[" + ", ".join(shown) + (", ..." if len(values) > 14 else "") + "]"


_RANGE_KEYS = ["features", "hidden", "classes", "batchnorm", "batches", "batch_size", "lr_min", "lr_max", "steps",
               "seed", "train_mode"]


def _range_example(**kw):
    base = {"features": 3, "hidden": 4, "classes": 2, "batchnorm": False, "batches": 2, "batch_size": 4,
            "lr_min": 1e-4, "lr_max": 0.1, "steps": 7, "seed": 0, "train_mode": True}
    base.update(kw)
    return base


@aspect(A, task="lr_range_test", points=3)
def lr_range_test_values(lr_range_test):
    """The learning rates are spaced exponentially from lr_min to lr_max; the losses equal plain SGD's, step by step."""

    def same_as_reference(case):
        got, want, _ = _range_both(lr_range_test, case, diverge_factor=1e300)
        _same_list(got[0], want[0], "lrs", rtol=1e-12)
        _same_list(got[1], want[1], "losses (each batch's mean cross-entropy before its SGD step)", rtol=1e-7)

    yield check_property(
        "lrs[i] = lr_min * (lr_max / lr_min) ** (i / (steps - 1)); losses equal plain SGD's with those rates, one "
        "batch per step, the loader restarted when it runs out (training mode, BatchNorm included); no divergence",
        S.range_test_cases(), same_as_reference, max_examples=20,
        examples=[_range_example(),
                  _range_example(steps=2, batches=1),                       # two steps, one batch reused
                  _range_example(batchnorm=True, train_mode=False, steps=9, batches=3),   # handed over in eval mode
                  _range_example(lr_min=1e-3, lr_max=1.0, steps=12, classes=3, seed=5)])


@aspect(A, task="lr_range_test", points=2)
def lr_range_test_divergence(lr_range_test):
    """The test stops right after the first loss above diverge_factor times the smallest so far (or not finite)."""

    def stops_there(case):
        # judged on the student's own losses, so that a wrong spacing or update costs lr_range_test_values only
        (lrs, losses), _, _ = _range_both(lr_range_test, case, diverge_factor=case["diverge_factor"])
        factor, steps = case["diverge_factor"], case["steps"]
        if len(lrs) != len(losses) or not 1 <= len(losses) <= steps:
            raise CheckFailed(f"lrs and losses should have the same length, 1 to steps = {steps}; got {len(lrs)} "
                              f"and {len(losses)}")
        for i, loss in enumerate(losses):
            if isinstance(loss, bool) or not isinstance(loss, numbers.Real):
                raise CheckFailed(f"losses[{i}] should be a Python float, got {describe(loss)}")
        for i, loss in enumerate(losses):
            smallest = min(losses[:i + 1])
            diverged = not math.isfinite(loss) or loss > factor * smallest
            if diverged and i < len(losses) - 1:
                raise CheckFailed(f"losses[{i}] = {loss!r} is above diverge_factor = {factor} times the smallest loss "
                                  f"so far ({smallest!r}), but the test went on for {len(losses) - 1 - i} more "
                                  f"step(s): it should stop right after recording it\nlosses: {_short(losses)}")
            if not diverged and i == len(losses) - 1 and len(losses) < steps:
                raise CheckFailed(f"the test stopped after {len(losses)} of {steps} steps, but its last loss "
                                  f"{loss!r} is not above diverge_factor = {factor} times the smallest so far "
                                  f"({smallest!r}): record the diverging loss, then stop\nlosses: {_short(losses)}")

    cases = S.range_test_cases().map(lambda c: dict(c, lr_max=c["lr_min"] * 1e6, steps=c["steps"] + 8,
                                                      diverge_factor=1.5))
    yield check_property(
        "with a large lr_max the losses end with the first one that is above diverge_factor * the smallest so far "
        "or not finite (the diverging loss is recorded, no step follows it), or run all steps if none is",
        cases, stops_there, max_examples=20,
        examples=[dict(_range_example(lr_min=1e-2, lr_max=1e4, steps=16, seed=2), diverge_factor=1.5),
                  dict(_range_example(lr_min=1e-3, lr_max=1e5, steps=20, batches=1, seed=3), diverge_factor=4.0),
                  dict(_range_example(lr_min=1.0, lr_max=1e6, steps=6, seed=4), diverge_factor=1.0)])


@aspect(A, task="lr_range_test", points=2)
def lr_range_test_restores(lr_range_test):
    """Afterwards the model's parameters, buffers and training mode are exactly what they were."""

    def restored(case):
        before = _net(case)
        _, _, (state, training) = _range_both(lr_range_test, case, diverge_factor=4.0)
        for name, value in before.state_dict().items():
            if not isinstance(state.get(name), torch.Tensor) or not torch.equal(state[name], value):
                raise CheckFailed(f"after lr_range_test the model's {name} is not what it was: restore the weights "
                                  f"and buffers (the state_dict) when the test ends")
        if training is not case["train_mode"]:
            was = "training" if case["train_mode"] else "eval"
            raise CheckFailed(f"the model was handed over in {was} mode and came back in the other: restore its mode")

    yield check_property(
        "parameters and buffers (BatchNorm's running statistics) bit for bit as before, and the mode it was handed "
        "over in, whether the test ran to the end or stopped early",
        S.range_test_cases().map(lambda c: dict(c, lr_max=c["lr_min"] * 1e6)), restored, max_examples=15,
        examples=[_range_example(batchnorm=True, train_mode=False),
                  _range_example(batchnorm=True, train_mode=True, lr_min=1.0, lr_max=1e6, steps=6)])
