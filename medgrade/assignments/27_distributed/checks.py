"""Checks of 27_distributed: index sharding like DistributedSampler, the mixed-precision training
step (bfloat16 autocast and the GradScaler on CPU; its speed against a float32 step on CUDA), and
the multi-rank tasks, run as gloo ranks launched the way torchrun launches them."""
from __future__ import annotations

import math
import weakref

import torch
import torch.nn.functional as F
import torch.utils.data
import torch.utils.data.distributed
from torch import nn

from medgrade import ranks
from medgrade.common.tensors import tensor_from_seed
from medgrade.failures import CheckFailed, WorkerLost, describe, max_difference, wrong_dtype
from medgrade.isolation import Remote
from medgrade.properties import PropertyResult, around, beside, call, check_once, check_property, judged, showing
from medgrade.registry import aspect
from medgrade.timing import SpeedCase, grading_device, measure_ratio
from medgrade.worker import probes
from medgrade.worker.guard import guarded_call

from . import inputs as S
from . import reference as oracles

A = "27_distributed"

# ---------------------------------------------------------------- shard_indices

_SAMPLER = torch.utils.data.distributed.DistributedSampler
_NO_SAMPLER = [(_SAMPLER, "__init__", "torch.utils.data.DistributedSampler"),
               (_SAMPLER, "__iter__", "torch.utils.data.DistributedSampler"),
               (torch.utils.data, "DistributedSampler", "torch.utils.data.DistributedSampler"),
               (torch.utils.data.distributed, "DistributedSampler", "torch.utils.data.DistributedSampler")]


_KEYWORDS = ("shuffle", "seed", "epoch", "drop_last")
_DEFAULTS = {"shuffle": True, "seed": 0, "epoch": 0, "drop_last": False}    # DistributedSampler's


def _shard_call(fn, case, keywords=_KEYWORDS):
    """The student's indices for ``case``, passing only ``keywords`` (the others take their defaults).
    The call is watched: code of torch's DistributedSampler module that runs during it (a method
    kept from before the call, a reloaded copy of the module) fails it like the tripwires do, and
    so does a change of torch's global random state."""
    value, used, reseeded = call(around(fn, "medgrade.worker.probes:shard_watch"), case["dataset_size"],
                                 case["world_size"], case["rank"], **{k: case[k] for k in keywords},
                                 forbid=_NO_SAMPLER, hint="DistributedSampler is the reference here")
    if used:
        raise CheckFailed("your function ran DistributedSampler's code (torch.utils.data.distributed): "
                          "this exercise asks you to write it yourself")
    if "torch" in reseeded:
        raise CheckFailed("your function changed torch's global random state (torch.manual_seed or a draw "
                          "from the global generator): shuffle with a torch.Generator of its own, as the "
                          "sampler does, so that the training's own randomness is left alone")
    return value


def _expected_shard(case):
    return oracles.distributed_sampler_indices(case["dataset_size"], case["world_size"], case["rank"],
                                               case["shuffle"], case["seed"], case["epoch"], case["drop_last"])


def _same_shard(got, expected):
    if type(got) is not list:
        raise CheckFailed(f"shard_indices should return a list of Python ints, got {type(got).__name__}")
    if not all(type(i) is int for i in got):
        kinds = sorted({type(i).__name__ for i in got if type(i) is not int})
        raise CheckFailed(f"shard_indices should return a list of Python ints; it holds {', '.join(kinds)}")
    if got != expected:
        if len(got) != len(expected):
            raise CheckFailed(f"this rank should get {len(expected)} indices, got {len(got)}: {describe(got)}")
        first = next(i for i, (a, b) in enumerate(zip(got, expected)) if a != b)
        raise CheckFailed(f"the indices differ from DistributedSampler's from position {first} on\n"
                          f"expected: {describe(expected)}\ngot:      {describe(got)}")


def _shard(**overrides):
    base = {"dataset_size": 10, "world_size": 3, "rank": 0, "shuffle": False, "drop_last": False,
            "seed": 0, "epoch": 0}
    base.update(overrides)
    return base


def _raises_value_error(fn, size, world, rank):
    args, kwargs = (size, world, rank), {"shuffle": False}
    if isinstance(fn, Remote):
        outcome = fn.guarded_call(args, kwargs, forbid=_NO_SAMPLER)
    else:
        outcome = guarded_call(fn, args, kwargs, _NO_SAMPLER)
    what = f"shard_indices({size}, world_size={world}, rank={rank})"
    if outcome.tripped:
        raise CheckFailed(f"your function called {outcome.tripped[0]}: this exercise asks you to write it yourself")
    if outcome.raised is None:
        raise CheckFailed(f"{what} should raise ValueError, but it returned {describe(outcome.value)}")
    if outcome.raised[0] != "ValueError":
        raise CheckFailed(f"{what} should raise ValueError, but it raised {outcome.raised[0]}: {outcome.raised[1]}")


@aspect(A, task="shard_indices", points=2)
def shard_indices_unshuffled(shard_indices):
    """shuffle=False: the same indices as DistributedSampler (padding, drop_last); bad ranks raise."""

    def same_as_sampler(case):
        _same_shard(_shard_call(shard_indices, case), _expected_shard(case))

    def whole_world(case):
        """Every rank of one world: equal lengths and, together, the padded (or trimmed) data set."""
        for rank in range(case["world_size"]):
            one = dict(case, rank=rank)
            got = _shard_call(shard_indices, one)
            try:
                _same_shard(got, _expected_shard(one))
            except CheckFailed as e:
                raise CheckFailed(f"rank {rank}: {e.message}") from None

    def invalid_ranks(case):
        _raises_value_error(shard_indices, case["size"], case["world"], case["rank"])

    yield check_property(
        "indices equal DistributedSampler(range(n), num_replicas, rank, shuffle=False, drop_last)'s, "
        "as a list of Python ints (n from 0 to 200, also smaller than the world; 1 to 8 ranks)",
        S.shard_cases(shuffle=False), showing(lambda c: c)(same_as_sampler), max_examples=80,
        examples=[_shard(),                                                  # 10 over 3: padding of 2
                  _shard(rank=2, drop_last=True),                            # 10 over 3: drop 1
                  _shard(dataset_size=12, world_size=4, rank=3),             # divisible
                  _shard(dataset_size=0, world_size=3, rank=1),              # empty
                  _shard(dataset_size=2, world_size=7, rank=6),              # padding longer than the data
                  _shard(dataset_size=3, world_size=8, rank=7, drop_last=True),
                  _shard(dataset_size=1, world_size=1, rank=0)])
    yield check_property(
        "every rank of a world gets the indices DistributedSampler gives it",
        S.shard_cases(shuffle=False), showing(lambda c: c)(whole_world), max_examples=15,
        examples=[_shard(dataset_size=5, world_size=8), _shard(dataset_size=13, world_size=5, drop_last=True)])
    yield check_property(
        "a rank outside [0, world_size) (or world_size < 1) raises ValueError, as DistributedSampler does",
        _INVALID, showing(lambda c: c)(invalid_ranks), max_examples=10,
        examples=[{"size": 10, "world": 2, "rank": 2}, {"size": 10, "world": 2, "rank": -1},
                  {"size": 10, "world": 0, "rank": 0}, {"size": 0, "world": 3, "rank": 5}])


def _invalid_ranks():
    from hypothesis import strategies as st
    return st.integers(0, 8).flatmap(lambda world: st.fixed_dictionaries({
        "size": st.integers(0, 50), "world": st.just(world),
        "rank": st.one_of(st.integers(world, world + 5), st.integers(-5, -1))}))


_INVALID = _invalid_ranks()


@aspect(A, task="shard_indices", points=2)
def shard_indices_shuffled(shard_indices):
    """shuffle=True: DistributedSampler's order, seeded with seed + epoch, for every rank."""

    def same_as_sampler(case):
        _same_shard(_shard_call(shard_indices, case), _expected_shard(case))

    def reshuffles(case):
        """Two epochs and two seeds: each equals the sampler's (a fixed or unseeded order cannot)."""
        for change in ({"epoch": case["epoch"] + 1}, {"seed": case["seed"] + 7},
                       {"seed": case["seed"] + 1, "epoch": case["epoch"] + 2}):
            one = dict(case, **change)
            try:
                _same_shard(_shard_call(shard_indices, one), _expected_shard(one))
            except CheckFailed as e:
                raise CheckFailed(f"with {', '.join(f'{k} = {v}' for k, v in change.items())}: {e.message}") from None

    yield check_property(
        "indices equal DistributedSampler(range(n), ..., shuffle=True, seed, drop_last)'s after "
        "set_epoch(epoch) (torch.randperm seeded with seed + epoch; n from 0 to 200, 1 to 8 ranks)",
        S.shard_cases(shuffle=True), showing(lambda c: c)(same_as_sampler), max_examples=80,
        examples=[_shard(shuffle=True),
                  _shard(shuffle=True, seed=3, epoch=4, rank=1),
                  _shard(shuffle=True, seed=1, epoch=0, rank=2, drop_last=True),
                  _shard(shuffle=True, dataset_size=3, world_size=8, rank=5),      # padding repeats the permutation
                  _shard(shuffle=True, dataset_size=2, world_size=7, rank=6, seed=2, drop_last=False),
                  _shard(shuffle=True, dataset_size=7, world_size=2, rank=1, seed=100, epoch=9)])
    def defaults(case):
        """Keyword arguments left out take DistributedSampler's defaults (shuffle=True, seed=0,
        epoch=0, drop_last=False)."""
        for omitted in (_KEYWORDS, ("shuffle",), ("drop_last",), ("seed", "epoch")):
            one = dict(case, **{k: _DEFAULTS[k] for k in omitted})
            try:
                _same_shard(_shard_call(shard_indices, case, [k for k in _KEYWORDS if k not in omitted]),
                            _expected_shard(one))
            except CheckFailed as e:
                raise CheckFailed(f"called without {', '.join(omitted)} (the defaults: "
                                  f"{', '.join(f'{k}={_DEFAULTS[k]}' for k in omitted)}): {e.message}") from None

    yield check_property(
        "the order changes with the epoch and the seed exactly as the sampler's does",
        S.shard_cases(shuffle=True), showing(lambda c: c)(reshuffles), max_examples=15,
        examples=[_shard(shuffle=True, dataset_size=40, world_size=2, seed=5, epoch=0)])
    yield check_property(
        "keyword arguments left out take DistributedSampler's defaults (shuffle=True, seed=0, epoch=0, "
        "drop_last=False)",
        S.shard_cases(shuffle=True), showing(lambda c: c)(defaults), max_examples=8,
        examples=[_shard(shuffle=True, dataset_size=11, world_size=3, rank=2, seed=4, epoch=3, drop_last=True)])


# ---------------------------------------------------------------- amp_step

_BF16, _FP16, _FP32 = (probes.AMP_DTYPE_CODES[t] for t in (torch.bfloat16, torch.float16, torch.float32))
_DTYPE_NAMES = {code: str(t).removeprefix("torch.") for t, code in probes.AMP_DTYPE_CODES.items()}


def _batch(case, step):
    """Inputs and labels of one step (from the case's seed and the step number)."""
    seed = case["seed"] + 1000 * (step + 1)
    x = tensor_from_seed((case["n"], case["features"]), seed, low=-2.0, high=2.0)
    y = torch.randint(0, case["classes"], (case["n"],), generator=torch.Generator().manual_seed(seed + 1))
    if case.get("overflow") and case["overflow"][step]:
        x[0, 0] = float("inf")           # some gradients become inf or NaN, as after an overflow
    return x, y


def _reference_step(case, state, x, y, use_autocast=True):
    """One SGD step from ``state``, forward and loss under bfloat16 autocast; the loss and the new state."""
    model = probes.AmpProbeNet(case["features"], case["hidden"], case["classes"])
    model.load_state_dict(state)
    optimizer = torch.optim.SGD(model.parameters(), lr=case["lr"])
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=use_autocast):
        loss = F.cross_entropy(model(x), y)
    loss.backward()
    if all(torch.isfinite(p.grad).all() for p in model.parameters()):
        optimizer.step()
    return loss.item(), probes.state_of(model)


def _run_steps(amp_step, case, scaled: bool):
    """Build the probe setup in the student's process, run the case's steps, compare each step."""
    setup = beside(amp_step, "medgrade.worker.probes:amp_setup")
    state_of = beside(amp_step, "medgrade.worker.probes:state_of")
    scale_of = beside(amp_step, "medgrade.worker.probes:scale_of")
    model, optimizer, scaler = call(setup, case["features"], case["hidden"], case["classes"], case["seed"],
                                    case["lr"], case.get("init_scale") if scaled else None)
    state = call(state_of, model)
    scale = case.get("init_scale")
    for step in range(case["steps"]):
        x, y = _batch(case, step)
        args = (model, optimizer, x, y) + ((scaler,) if scaled else ())
        got = call(amp_step, *args)
        new_state = call(state_of, model)
        where = f"step {step + 1} of {case['steps']}"
        overflow = bool(case.get("overflow") and case["overflow"][step])
        want_loss, want_state = _reference_step(case, state, x, y)
        _check_loss(got, None if overflow else want_loss, where)
        _check_master_weights(new_state, state, where)
        seen = int(new_state["seen_dtype"])
        if seen != _BF16:
            raise CheckFailed(f"{where}: the model's layers computed in {_DTYPE_NAMES.get(seen, 'an unknown dtype')}; "
                              f"on CPU the forward pass should run under torch.autocast with bfloat16")
        if scaled and overflow:
            for name, before in state.items():
                if name != "seen_dtype" and not torch.equal(new_state[name], before):
                    raise CheckFailed(f"{where}: some gradients were not finite (inf or NaN, as after an "
                                      f"overflow), so the scaler should have skipped the optimizer step, "
                                      f"but {name} changed")
        else:
            _check_update(new_state, state, want_state, where)
        if scaled:
            scale = scale / 2 if overflow else scale * 2
            got_scale = call(scale_of, scaler)
            if got_scale != scale:
                raise CheckFailed(f"{where}: the scaler's scale should be {scale:g} after this step "
                                  f"({'halved after an overflow' if overflow else 'doubled after a good step'} "
                                  f"by scaler.update(); this scaler grows after every good step), got {got_scale:g}")
        state = new_state


def _check_loss(got, want, where):
    if isinstance(got, bool) or not isinstance(got, float):
        hint = " (call .item() on the loss)" if isinstance(got, torch.Tensor) else ""
        raise CheckFailed(f"{where}: amp_step should return the loss as a Python float, got "
                          f"{type(got).__name__}{hint}")
    if want is not None and (not math.isfinite(got) or abs(got - want) > 1e-2 * abs(want) + 1e-3):
        raise CheckFailed(f"{where}: the returned loss is {got!r}; the cross-entropy of this step "
                          f"(bfloat16 forward) is {want:.6g}")


def _check_master_weights(new_state, state, where):
    for name, t in new_state.items():
        if name != "seen_dtype" and t.dtype != torch.float32:
            raise CheckFailed(f"{where}: {wrong_dtype(f'the parameter {name}', torch.float32, t.dtype)} after "
                              f"the step; the master weights must stay float32 (autocast casts per operation, "
                              f"the model itself is not converted)")


def _check_update(new_state, state, want_state, where):
    size = max((want_state[k] - state[k]).abs().max().item() for k in state if k != "seen_dtype")
    for name in state:
        if name == "seen_dtype":
            continue
        err = (new_state[name].double() - want_state[name].double()).abs().max().item()
        if not err <= 0.05 * size + 1e-6:
            raise CheckFailed(f"{where}: after the step {name} differs from one SGD step on the gradients of "
                              f"this batch's loss by up to {err:.3g} (the whole update is about {size:.3g}); "
                              f"were the old gradients zeroed, the gradients unscaled, the step taken once?")


def _amp_examples(**overrides):
    base = {"n": 8, "features": 6, "hidden": 10, "classes": 3, "lr": 0.1, "steps": 3, "seed": 0}
    base.update(overrides)
    return base


@aspect(A, task="amp_step", points=2)
def amp_step_bfloat16_cpu(amp_step):
    """CPU, no scaler: bfloat16 autocast forward, float32 master weights, one SGD step on fresh gradients."""

    yield check_property(
        "on CPU: the layers compute in bfloat16, the parameters stay float32, the returned loss "
        "and the updated weights match one SGD step under bfloat16 autocast, step after step "
        "(the optimizer starts with stale gradients)",
        S.amp_cases(), showing(lambda c: c)(lambda case: _run_steps(amp_step, case, scaled=False)),
        max_examples=12,
        examples=[_amp_examples(), _amp_examples(n=1, classes=2, lr=0.5, seed=4)])


@aspect(A, task="amp_step", points=2)
def amp_step_grad_scaler(amp_step):
    """With a GradScaler: scaled backward, unscaled update, skipped step and lowered scale on overflow."""

    yield check_property(
        "with a GradScaler (CPU): the update is the unscaled SGD step; when gradients are not finite "
        "(an overflow) the step is skipped and the scale halved, after a good step it grows (scaler.update())",
        S.amp_cases(scaler=True), showing(lambda c: c)(lambda case: _run_steps(amp_step, case, scaled=True)),
        max_examples=12,
        examples=[_amp_examples(init_scale=2.0 ** 16, overflow=[False, True, False]),
                  _amp_examples(init_scale=1024.0, overflow=[True, True, False], seed=3, lr=0.5),
                  _amp_examples(init_scale=1.0, steps=1, overflow=[False], n=1)])


# ---------------------------------------------------------------- amp_step on CUDA: speed

_SPEC = (8192, 2, 10, 0, 1e-3, "cuda")          # width, hidden layers, classes, seed, lr, device
_BATCH = 1024


def _speed_inputs(isolated: bool):
    """Fresh (model, optimizer, x, y, scaler) per call: the large setup's parts (placeholders that
    become the worker's own objects when the student's function runs isolated), a new batch."""
    def make(seed, device):
        g = torch.Generator(device).manual_seed(seed)
        x = torch.randn(_BATCH, _SPEC[0], generator=g, device=device)
        y = torch.randint(0, _SPEC[2], (_BATCH,), generator=g, device=device)
        parts = [probes.AmpPart(_SPEC, p) for p in ("model", "optimizer", "scaler")]
        if not isolated:
            parts = [p.get() for p in parts]
        return (parts[0], parts[1], x, y, parts[2])
    return make


def _speed_check(args, got, ref):
    if isinstance(got, bool) or not isinstance(got, float) or not math.isfinite(got):
        raise CheckFailed(f"amp_step should return the loss as a finite Python float, got {describe(got)}")
    if abs(got - ref) > 0.1 + 0.05 * abs(ref):
        raise CheckFailed(f"the returned loss {got:.4g} is far from the float32 step's {ref:.4g}")


@aspect(A, task="amp_step", points=1, kind="speed", requires=("amp_step_bfloat16_cpu", "amp_step_grad_scaler"),
        call_seconds=30, aspect_seconds=120, device="cuda")
def amp_step_faster_on_cuda(amp_step):
    """On CUDA: the float16 autocast step with a GradScaler is faster than a float32 step."""
    title = (f"one float16 autocast + GradScaler step of a {_SPEC[1] + 1}-layer, {_SPEC[0]}-wide MLP on a "
             f"batch of {_BATCH} takes less time than a float32 step")
    make_inputs = _speed_inputs(isinstance(amp_step, Remote))
    try:
        call(amp_step, *make_inputs(1, grading_device()))
        seen = call(beside(amp_step, "medgrade.worker.probes:seen_dtype"), probes.AmpPart(_SPEC, "model"))
    except CheckFailed as e:
        yield PropertyResult(title, False, 1, "", e.message, kind="speed")
        return
    if seen != _FP16:
        yield PropertyResult(title, False, 1, "", f"on CUDA the layers should compute in float16 (autocast), "
                             f"they computed in {_DTYPE_NAMES.get(seen, 'an unknown dtype')}", kind="speed")
        return
    yield measure_ratio(SpeedCase(title, student=amp_step, reference=probes.fp32_step,
                                  make_inputs=make_inputs, check=_speed_check,
                                  thresholds={"cuda": 0.5, "cpu": 0.5}))

# ---------------------------------------------------------------- the multi-rank tasks
# average_gradients, train_ddp and accumulate_gradients run as gloo ranks, launched the way
# torchrun launches them (medgrade.ranks): the grader hosts the rendezvous on a port it picks,
# gives every rank torchrun's environment and a short collective timeout, and stops every
# rank at the deadline. The expected weights and gradients come from one process that sees
# the whole batch, in float64.

TIMEOUT_S = 5.0           # the collective timeout the grader gives train_ddp (its timeout_s)
LONE_TIMEOUT_S = 1.0      # ... and a rank whose partner never starts
RENDEZVOUS = ("the ranks did not meet at the rendezvous the launcher gave them (MASTER_ADDR:MASTER_PORT "
              "in the environment): join the process group with env:// and no address or port of your own")


# ---------------------------------------------------------------- scenes

def _net(seed: int, features: int = 6, classes: int = 3, frozen_bias: bool = False) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Linear(features, 8), nn.Tanh(), nn.Linear(8, classes)).double()
    if frozen_bias:
        net[0].bias.requires_grad_(False)
    return net


def _rank_batch(seed: int, n: int, features: int = 6, classes: int = 3):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(n, features, generator=g, dtype=torch.float64),
            torch.randint(0, classes, (n,), generator=g))


def _names(model: nn.Module) -> list[str]:
    return [name for name, _ in model.named_parameters()]


def _outcomes(results: list, hint: str = "") -> list:
    """Every rank's value, or the failure of the first rank that failed."""
    values = []
    for r, result in enumerate(results):
        if isinstance(result, WorkerLost):
            raise CheckFailed(result.message)
        values.append(judged(result, who=f"rank {r}", hint=hint))
    return values


def _max_difference(got: list, expected: list) -> float:
    return max([float((g.double() - e).abs().max()) for g, e in zip(got, expected) if e.numel()] or [0.0])


def _same_tensors(got, expected: list, names: list[str], what: str, tol: float) -> float:
    """Compare a rank's list of tensors (or Nones) with the expected one; the max difference."""
    if type(got) is not list or len(got) != len(expected):
        raise CheckFailed(f"{what}: expected one entry per parameter ({len(expected)}), got {describe(got)}")
    for name, g, e in zip(names, got, expected):
        if e is None:
            if g is not None:
                raise CheckFailed(f"{what}: parameter {name} has no gradient on any rank (it is frozen), "
                                  f"but it ended with one")
            continue
        if not isinstance(g, torch.Tensor) or g.shape != e.shape:
            raise CheckFailed(f"{what}: parameter {name} should hold a tensor of shape {tuple(e.shape)}, "
                              f"got {describe(g)}")
        diff = float((g.double() - e).abs().max()) if e.numel() else 0.0
        if not diff <= tol:
            raise CheckFailed(f"{what}: parameter {name} is off, {max_difference(diff, f'{tol:g}')}")
    return _max_difference([g for g in got if g is not None], [e for e in expected if e is not None])


def _per_scene(scenes, title_of, judge):
    """One property per multi-rank scene, in order, stopping at the first failure: ``judge(*scene)``
    raises CheckFailed / WorkerLost, or returns the largest difference found (None: none to report)."""
    for scene in scenes:
        title = title_of(*scene)
        try:
            worst = judge(*scene)
        except (CheckFailed, WorkerLost) as e:
            yield PropertyResult(title, False, 1, "", e.message)
            return
        yield PropertyResult(title + ("" if worst is None else f": max difference {worst:.1e}"), True, 1)


# ---------------------------------------------------------------- average_gradients

def _mean_gradients(model: nn.Module, batches: list) -> list:
    """One process: the mean over ranks of each rank's gradient of its mean cross-entropy."""
    total = None
    for x, y in batches:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        grads = [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]
        total = grads if total is None else [None if a is None else a + b for a, b in zip(total, grads)]
    return [None if g is None else g / len(batches) for g in total]


def _average_scene(average_gradients, world_size: int, seed: int) -> float:
    batches = [_rank_batch(seed + r, 5 + r) for r in range(world_size)]
    expected = _mean_gradients(_net(seed, frozen_bias=True), batches)
    names = _names(_net(seed))
    driver = around(average_gradients, "medgrade.worker.probes:rank_average_gradients")
    with ranks.launch(driver, world_size) as job:
        results = job.call([((_net(seed, frozen_bias=True), x, y, TIMEOUT_S), {}) for x, y in batches])
        grads = _outcomes(results)
    worst = 0.0
    for r, got in enumerate(grads):
        worst = max(worst, _same_tensors(got, expected, names, f"rank {r}'s gradients after your function", 1e-10))
    return worst


@aspect(A, task="average_gradients", points=2, call_seconds=20)
def average_gradients_correct(average_gradients):
    """Every rank's gradients become the mean over ranks, frozen parameters stay without one."""
    yield from _per_scene(
        ((2, 1), (3, 7)),
        lambda world_size, _: (f"{world_size} gloo ranks, each with its own batch: after your function every "
                               f"rank holds the mean of the ranks' gradients (what DDP computes), a frozen bias "
                               f"keeps grad None"),
        lambda world_size, seed: _average_scene(average_gradients, world_size, seed))


# ---------------------------------------------------------------- train_ddp

def _single_process(model: nn.Module, x, y, world_size: int, epochs: int, batch_size: int, lr: float,
                    seed: int) -> list[list[float]]:
    """One process on the full batch: each step averages the ranks' batch losses (what DDP's
    averaged gradients descend). Trains ``model`` in place; returns each rank's step losses."""
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    losses: list[list[float]] = [[] for _ in range(world_size)]
    for epoch in range(epochs):
        shards = [oracles.distributed_sampler_indices(len(x), world_size, r, True, seed, epoch, False)
                  for r in range(world_size)]
        for start in range(0, len(shards[0]), batch_size):
            optimizer.zero_grad()
            total = 0
            for r, shard in enumerate(shards):
                idx = torch.tensor(shard[start:start + batch_size])
                loss = F.cross_entropy(model(x[idx]), y[idx])
                losses[r].append(float(loss))
                total = total + loss
            (total / world_size).backward()
            optimizer.step()
    return losses


def _perturbed(model: nn.Module, seed: int) -> nn.Module:
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=g, dtype=p.dtype))
    return model


_TRAIN_SCENES = (      # world size, samples, batch size, epochs, lr, seed
    (2, 24, 4, 2, 0.5, 3),
    (3, 20, 3, 2, 0.3, 11),       # 20 samples on 3 ranks: the shards are padded to 7; last batch of 1
)


def _train_scene(train_ddp, world_size, n, batch_size, epochs, lr, seed) -> float:
    """Trains on ``world_size`` ranks; every rank's weights and step losses against one process."""
    x, y = _rank_batch(seed, n)
    reference = _net(seed)
    expected_losses = _single_process(reference, x, y, world_size, epochs, batch_size, lr, seed)
    expected = [p.detach().clone() for p in reference.parameters()]
    models = [_net(seed) if r == 0 else _perturbed(_net(seed), seed + r) for r in range(world_size)]
    kwargs = dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, timeout_s=TIMEOUT_S)
    with ranks.launch(train_ddp, world_size) as job:
        results = job.call([((models[r], x, y), dict(kwargs)) for r in range(world_size)])
        joined = job.joined()
        values = _outcomes(results)
    if not joined:
        raise CheckFailed(RENDEZVOUS)
    names = _names(models[0])
    worst = 0.0
    for r, model in enumerate(models):
        worst = max(worst, _same_tensors([p.detach() for p in model.parameters()], expected, names,
                                         f"rank {r}'s weights after training", 1e-9))
    for r, got in enumerate(values):
        want = expected_losses[r]
        if type(got) is not list or len(got) != len(want) or any(type(v) is not float for v in got):
            raise CheckFailed(f"rank {r} should return its {len(want)} step losses as a list of "
                              f"Python floats, got {describe(got)}")
        off, allowed = max(abs(a - b) for a, b in zip(got, want)), 1e-9
        if not off <= allowed:
            raise CheckFailed(f"rank {r}'s step losses are not the losses of its own batches "
                              f"({max_difference(off, f'{allowed:g}')})")
    return worst


@aspect(A, task="train_ddp", points=3, call_seconds=30, aspect_seconds=90)
def train_ddp_matches_single_process(train_ddp):
    """Two and three gloo ranks end with the weights of one process on the full batch."""
    yield from _per_scene(
        _TRAIN_SCENES,
        lambda world_size, n, batch_size, epochs, *_: (
            f"{world_size} gloo ranks, {n} samples, batches of {batch_size} per rank, {epochs} epochs: "
            f"every rank ends with the weights of one process trained on the full batch"),
        lambda *scene: _train_scene(train_ddp, *scene))


@aspect(A, task="train_ddp", points=2, call_seconds=30, aspect_seconds=60)
def train_ddp_rendezvous(train_ddp):
    """Meets at the launcher's rendezvous, leaves no process group, gives up on a missing rank."""
    world_size, n, batch_size, epochs, lr, seed = 2, 8, 4, 1, 0.1, 5
    x, y = _rank_batch(seed, n)
    kwargs = dict(epochs=epochs, batch_size=batch_size, lr=lr, seed=seed, timeout_s=TIMEOUT_S)

    def together():
        with ranks.launch(train_ddp, world_size) as job:
            results = job.call([((_net(seed), x, y), dict(kwargs)) for _ in range(world_size)])
            _outcomes(results)
            if not job.joined():
                raise CheckFailed(RENDEZVOUS)
            for r in range(world_size):
                if job.ask(r, "torch.distributed:is_initialized") is not False:
                    raise CheckFailed(f"rank {r}'s process group is still initialized after your function "
                                      f"returned: destroy it before returning")
    yield check_once("2 ranks launched like torchrun meet at the launcher's rendezvous "
                     "and destroy their process group before returning", together)

    def failing():
        bad = torch.full_like(y, 7)          # class 7 of a 3-class model: cross_entropy raises
        with ranks.launch(train_ddp, world_size) as job:
            results = job.call([((_net(seed), x, bad), dict(kwargs)) for _ in range(world_size)])
            for r, result in enumerate(results):
                if isinstance(result, WorkerLost):
                    raise CheckFailed(result.message)
                if result.raised is None:
                    raise CheckFailed(f"rank {r} returned although its labels (class 7 of 3) make "
                                      f"cross_entropy raise")
                if result.raised[0] == "NotImplementedError":
                    judged(result)
                if job.ask(r, "torch.distributed:is_initialized") is not False:
                    raise CheckFailed(f"rank {r}'s process group is still initialized after training raised "
                                      f"(labels out of range): destroy it in a finally block")
    yield check_once("when training raises (labels out of range), every rank destroys its process group "
                     "before the error leaves the function", failing)

    def alone():
        limit = LONE_TIMEOUT_S + 6.0
        with ranks.launch(train_ddp, world_size, started=[0]) as job:
            lone = dict(kwargs, timeout_s=LONE_TIMEOUT_S)
            result = job.call([((_net(seed), x, y), lone)], limit=limit)[0]
            if isinstance(result, WorkerLost):
                raise CheckFailed(f"rank 0 of 2, whose partner never started, was still waiting after {limit:g} s "
                                  f"with timeout_s={LONE_TIMEOUT_S:g}: pass timeout_s to init_process_group "
                                  f"as a timedelta")
            if result.raised is None:
                raise CheckFailed("rank 0 of 2 finished training although rank 1 never started: "
                                  "read RANK and WORLD_SIZE from the environment (env://)")
            if result.raised[0] == "NotImplementedError":
                judged(result)
    yield check_once(f"a rank whose partner never starts gives up (raises) after timeout_s={LONE_TIMEOUT_S:g} s "
                     f"instead of waiting", alone)


# ---------------------------------------------------------------- accumulate_gradients

_scenes: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _accumulate_scene(accumulate_gradients, k: int, seed: int) -> tuple[float, list[int]]:
    """Both aspects of the task judge the same runs: each is run once per function."""
    runs = _scenes.setdefault(accumulate_gradients, {})
    if (k, seed) not in runs:
        try:
            runs[(k, seed)] = _run_accumulate(accumulate_gradients, k, seed)
        except (CheckFailed, WorkerLost) as e:
            runs[(k, seed)] = e
    if isinstance(runs[(k, seed)], BaseException):
        raise runs[(k, seed)]
    return runs[(k, seed)]


def _run_accumulate(accumulate_gradients, k: int, seed: int) -> tuple[float, list[int]]:
    world_size = 2
    micro = [[_rank_batch(seed + 10 * r + i, 4) for i in range(k)] for r in range(world_size)]
    expected = _mean_gradients(_net(seed), [b for rank_batches in micro for b in rank_batches])
    names = _names(_net(seed))
    driver = around(accumulate_gradients, "medgrade.worker.probes:rank_accumulate")
    with ranks.launch(driver, world_size) as job:
        results = job.call([((_net(seed), micro[r], TIMEOUT_S), {}) for r in range(world_size)])
        values = _outcomes(results)
    worst, syncs = 0.0, []
    for r, value in enumerate(values):
        if type(value) not in (list, tuple) or len(value) != 2:
            raise CheckFailed(f"rank {r}: the gradients could not be read after your function")
        grads, buckets = value
        worst = max(worst, _same_tensors(grads, expected, names,
                                         f"rank {r}'s gradients after {k} micro-batches", 1e-10))
        syncs.append(buckets)
    return worst, syncs


_ACCUMULATE_SCENES = ((3, 21), (1, 4), (4, 8))


@aspect(A, task="accumulate_gradients", points=2, call_seconds=20)
def accumulate_gradients_correct(accumulate_gradients):
    """Accumulating k micro-batches gives the gradient of one big batch on every rank."""
    yield from _per_scene(
        _ACCUMULATE_SCENES,
        lambda k, _: (f"2 gloo ranks, {k} micro-batch(es) of 4 each: every rank ends with the gradient of the "
                      f"mean loss over all {2 * k} micro-batches (one big batch)"),
        lambda k, seed: _accumulate_scene(accumulate_gradients, k, seed)[0])


@aspect(A, task="accumulate_gradients", points=1, call_seconds=20, requires=("accumulate_gradients_correct",))
def accumulate_gradients_no_sync(accumulate_gradients):
    """The gradients are synchronized once per accumulation, not once per micro-batch."""
    def once(k, seed):
        syncs = _accumulate_scene(accumulate_gradients, k, seed)[1]
        if any(s != 1 for s in syncs):
            raise CheckFailed(f"DDP synchronized the gradients {max(syncs)} times on one rank "
                              f"({syncs} per rank) for {k} micro-batch(es)")

    yield from _per_scene(
        _ACCUMULATE_SCENES,
        lambda k, _: f"{k} micro-batch(es): DDP synchronizes the gradients once (no_sync for all but the last)",
        once)
