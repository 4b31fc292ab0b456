"""Objects the checks send into a grading worker: transforms and small instrumented networks.

They are unpickled in the worker, next to the student's code, so they live here, in a
module that imports torch and nothing of the grading package: the worker refuses to
import the modules that hold checks, references and input generators (see
:mod:`medgrade.worker.server`).
"""
from __future__ import annotations

import torch
from torch import nn


class Affine:
    """Maps [0, 1] to [-1, 1]: a transform the checks give a student's dataset."""

    def __call__(self, image):
        return 2 * image - 1


class Flip:
    """Mirrors the last axis."""

    def __call__(self, image):
        return torch.flip(image, dims=(-1,))


class ScriptedValidation(nn.Module):
    """Trains as a linear classifier; in eval mode its logits on any input give the cross-entropy
    ``script[i]`` for class 1, where i is the number of training forward passes so far."""

    def __init__(self, features: int, script: list[float]):
        super().__init__()
        self.linear = nn.Linear(features, 2).double()
        self.register_buffer("script", torch.tensor(script, dtype=torch.float64))
        self.register_buffer("steps", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        if self.training:
            if torch.is_grad_enabled():
                self.steps += 1
            return self.linear(x)
        loss = self.script[min(int(self.steps), len(self.script) - 1)]
        z = -torch.log(torch.expm1(loss))              # cross-entropy of [0, z] for class 1 is loss
        logits = torch.stack([torch.zeros(len(x), dtype=x.dtype), z.expand(len(x)).to(x.dtype)], 1)
        return logits + 0 * self.linear(x)


class OrderRecorder(nn.Module):
    """A linear classifier that records, in buffers, the sample ids (last input column) of every
    training forward pass and the size of each batch."""

    def __init__(self, features: int, capacity: int):
        super().__init__()
        self.linear = nn.Linear(features, 2).double()
        self.register_buffer("seen", torch.full((capacity,), -1, dtype=torch.int64))
        self.register_buffer("sizes", torch.zeros(capacity, dtype=torch.int64))
        self.register_buffer("filled", torch.zeros((), dtype=torch.int64))
        self.register_buffer("calls", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        if self.training and torch.is_grad_enabled():
            ids = x[:, -1].detach().round().long()
            start, calls = int(self.filled), int(self.calls)
            end = min(start + len(ids), len(self.seen))
            self.seen[start:end] = ids[:end - start]
            if calls < len(self.sizes):
                self.sizes[calls] = len(ids)
            self.filled += len(ids)
            self.calls += 1
        return self.linear(x[:, :-1])


class CountingShift:
    """Adds the number of its earlier calls to the image: a stateful transform, so a dataset
    that transforms at construction time, or more than once per read, gives other values."""

    def __init__(self):
        self.calls = 0

    def __call__(self, image):
        out = image + self.calls
        self.calls += 1
        return out


class ModeSequential(nn.Sequential):
    """An nn.Sequential that records, in its buffer ``mode``, the mode (1 train, 0 eval) that the
    last ``train()`` / ``eval()`` call set."""

    def __init__(self, *layers):
        super().__init__(*layers)
        self.register_buffer("mode", torch.ones((), dtype=torch.int64))

    def train(self, mode: bool = True):
        out = super().train(mode)
        self.mode.fill_(int(bool(mode)))
        return out


# ---------------------------------------------------------------- 09_gradients_init: .grad stays in the worker
# (a tensor's .grad does not cross the process boundary: the parameters whose gradients a
# student's function reads or clips are made here, from plain tensors)

def clip_with_grads(fn, grads: list, max_norm: float, norm_type: float, how: str = "list"):
    """Parameters whose ``.grad`` are ``grads`` (None: a parameter without a gradient), given to
    ``fn(parameters, max_norm, norm_type=norm_type)`` as a list (``how="list"``), a one-pass
    iterator (``"iterator"``) or a single tensor (``"single"``). Returns (what fn returned, the
    gradients afterwards, the parameters' values afterwards)."""
    params = []
    for g in grads:
        p = torch.nn.Parameter(torch.zeros(g.shape if g is not None else (2,), dtype=(
            g.dtype if g is not None else torch.float32)))
        p.grad = None if g is None else g.detach().clone()
        params.append(p)
    if how == "single":
        given = params[0]
    elif how == "iterator":
        given = (p for p in params)
    else:
        given = params
    total = fn(given, max_norm, norm_type=norm_type)
    after = [None if p.grad is None else p.grad.detach().clone() for p in params]
    values = [p.detach().clone() for p in params]
    return total, after, values


def norms_with_stale_grads(fn, model, x, y, loss_fn, stale: float):
    """``fn(model, x, y, loss_fn)`` after every parameter's ``.grad`` was set to ``stale``
    (gradients left over from an earlier step, when stale is not 0; none at all when it is 0)."""
    for p in model.parameters():
        p.grad = None if stale == 0 else torch.full_like(p, stale)
    return fn(model, x, y, loss_fn)


# ---------------------------------------------------------------- 08_optimizers (in place)

def optimizer_steps(step, params: list, grads_per_step: list, state: dict, **hyper) -> tuple:
    """Calls the student's ``step(params, grads, state, **hyper)`` once per entry of
    ``grads_per_step`` and, after every call, sees whether it kept its in-place contract: nothing
    returned, ``params`` still the same list length, every entry the very same tensor object with
    the same storage (``data_ptr()``; a ``p.data = ...`` or ``p.set_(...)`` gives it new storage).
    Returns (None, or (the 1-based step, what went wrong), copies of the final parameters)."""
    kept = list(params)
    storage = [p.data_ptr() for p in kept]
    problem = None
    for k, grads in enumerate(grads_per_step):
        value = step(params, grads, state, **hyper)
        if value is not None:
            problem = (k + 1, f"returned a {type(value).__name__} (it must return None)")
        elif type(params) is not list or len(params) != len(kept):
            problem = (k + 1, "changed the list params itself (its length)")
        else:
            for i, (p, q) in enumerate(zip(params, kept)):
                if p is not q:
                    problem = (k + 1, f"replaced params[{i}] by a new tensor (params[{i}] = ...) instead "
                                      f"of writing into the tensor it was given")
                    break
                if p.data_ptr() != storage[i]:
                    problem = (k + 1, f"gave params[{i}] new storage (p.data = ... or p.set_(...)) instead "
                                      f"of writing into the storage it had")
                    break
        if problem is not None:
            break
    final = [p.detach().clone() if isinstance(p, torch.Tensor) else None for p in params] \
        if type(params) is list else []
    return problem, final


# ---------------------------------------------------------------- 27_distributed (ranks)
# The launcher's rendezvous store lives in a worker of its own that runs no student code (a
# rank that floods the store fills that worker, not the grading process); the drivers set the
# scene in a rank's process (process group, DDP wrapper, a counter of gradient
# synchronizations) and call the student's function there.

def host_store(world_size: int, timeout_s: float):
    """A TCPStore server on a free local port: the store torchrun's agent hosts. Returns the
    store (kept in this process) and its port."""
    from datetime import timedelta

    import torch.distributed as dist
    store = dist.TCPStore("127.0.0.1", 0, world_size, True, timeout=timedelta(seconds=timeout_s),
                          wait_for_workers=False)
    return store, int(store.port)


def store_keys(store) -> int:
    """How many keys the ranks wrote into the launcher's store."""
    return int(store.num_keys())


def _join(timeout_s: float) -> None:
    from datetime import timedelta

    import torch.distributed as dist
    dist.init_process_group("gloo", timeout=timedelta(seconds=timeout_s))


def _leave() -> None:
    import torch.distributed as dist
    if dist.is_initialized():
        dist.destroy_process_group()


def _grads(model: nn.Module) -> list:
    return [None if p.grad is None else p.grad.detach().clone() for p in model.parameters()]


_LAUNCH_VARIABLES = ("RANK", "LOCAL_RANK", "WORLD_SIZE", "LOCAL_WORLD_SIZE", "GROUP_RANK", "ROLE_RANK",
                     "ROLE_WORLD_SIZE")


def rank_average_gradients(average_gradients, model: nn.Module, x, y, timeout_s: float) -> list:
    """One rank: join the process group, backward of the cross-entropy on this rank's batch,
    the student's ``average_gradients(model)``; returns every parameter's gradient. The
    launcher's rank and world-size variables are out of the environment during the call (the
    process group, not the environment, says how many ranks there are: a group may be made
    without them, as with mp.spawn or a HashStore)."""
    import os

    import torch.nn.functional as F
    _join(timeout_s)
    hidden = {k: os.environ.pop(k) for k in _LAUNCH_VARIABLES if k in os.environ}
    try:
        model.zero_grad(set_to_none=True)
        F.cross_entropy(model(x), y).backward()
        average_gradients(model)
        return _grads(model)
    finally:
        os.environ.update(hidden)
        _leave()


class _SyncCount:
    buckets = 0


def _counting_hook(count: _SyncCount, bucket):
    """A DDP communication hook that counts the buckets it reduces and then all-reduces them as
    DDP does by default (sum, divided by the world size)."""
    from torch.distributed.algorithms.ddp_comm_hooks.default_hooks import allreduce_hook
    count.buckets += 1
    return allreduce_hook(None, bucket)


def rank_accumulate(accumulate_gradients, model: nn.Module, micro_batches: list, timeout_s: float):
    """One rank: the model wrapped in DDP (one gradient bucket) with a counting hook, the grads
    zeroed, the student's ``accumulate_gradients(ddp_model, micro_batches)``; returns the
    gradients and how many bucket synchronizations happened."""
    from torch.nn.parallel import DistributedDataParallel
    _join(timeout_s)
    try:
        ddp = DistributedDataParallel(model)
        counter = _SyncCount()
        ddp.register_comm_hook(counter, _counting_hook)
        ddp.zero_grad(set_to_none=True)
        accumulate_gradients(ddp, micro_batches)
        return _grads(model), counter.buckets
    finally:
        _leave()


# ---------------------------------------------------------------- 27_distributed (one process)

_SAMPLER_FILE = ("torch", "utils", "data", "distributed.py")


def _sampler_code(code) -> bool:
    import os
    return tuple(code.co_filename.split(os.sep)[-4:]) == _SAMPLER_FILE


def shard_watch(shard_indices, *args, **kwargs):
    """Calls the student's ``shard_indices``; returns (its value, whether any Python code of
    torch's DistributedSampler module ran meanwhile, however it was reached: a method kept
    from before the call, a reloaded or re-executed copy of the module, a thread; the global
    random states the call left changed, a list of "torch", "numpy" (NumPy's legacy global
    generator) and "random" (Python's module))."""
    import pickle
    import random
    import sys
    import threading

    import numpy as np
    seen = []

    def profile(frame, event, arg):
        if event == "call" and not seen and _sampler_code(frame.f_code):
            seen.append(True)

    before, before_threads = sys.getprofile(), threading.getprofile()
    rng, np_rng, py_rng = torch.get_rng_state(), pickle.dumps(np.random.get_state()), random.getstate()
    sys.setprofile(profile)
    threading.setprofile(profile)
    try:
        value = shard_indices(*args, **kwargs)
    finally:
        intact = sys.getprofile() is profile
        sys.setprofile(before)
        threading.setprofile(before_threads)
    changed = [name for name, same in (("torch", torch.equal(rng, torch.get_rng_state())),
                                       ("numpy", np_rng == pickle.dumps(np.random.get_state())),
                                       ("random", py_rng == random.getstate())) if not same]
    return value, bool(seen) or not intact, changed

# the dtype a probe network saw, as a number (a buffer cannot hold a dtype)
AMP_DTYPE_CODES = {torch.float32: 32, torch.bfloat16: 16, torch.float16: 15, torch.float64: 64}


class AmpProbeNet(nn.Module):
    """A two-layer perceptron that records, in its buffer ``seen_dtype``, the dtype of its first
    layer's output in the last forward pass (see AMP_DTYPE_CODES): under autocast it is the
    autocast dtype, without it float32."""

    def __init__(self, features: int, hidden: int, classes: int, device=None):
        super().__init__()
        self.fc1 = nn.Linear(features, hidden, device=device)
        self.fc2 = nn.Linear(hidden, classes, device=device)
        self.register_buffer("seen_dtype", torch.zeros((), dtype=torch.int64, device=device))

    def forward(self, x):
        h = self.fc1(x)
        self.seen_dtype.fill_(AMP_DTYPE_CODES.get(h.dtype, -1))
        return self.fc2(torch.tanh(h))


def amp_setup(features: int, hidden: int, classes: int, seed: int, lr: float,
              init_scale: float | None = None, stale_grads: bool = True):
    """(model, optimizer, scaler) built together, so the optimizer holds the model's own
    parameters: an AmpProbeNet with weights drawn from ``seed``, SGD(lr) over its parameters
    (holding stale gradients when ``stale_grads``), and a CPU GradScaler with ``init_scale``
    that doubles its scale after every good step (None without ``init_scale``)."""
    g = torch.Generator().manual_seed(int(seed))
    model = AmpProbeNet(features, hidden, classes)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) / p.shape[-1] ** 0.5)
            if stale_grads:
                p.grad = torch.rand(p.shape, generator=g) * 10
    optimizer = torch.optim.SGD(model.parameters(), lr=lr)
    scaler = None
    if init_scale is not None:
        scaler = torch.amp.GradScaler("cpu", init_scale=init_scale, growth_factor=2.0,
                                      backoff_factor=0.5, growth_interval=1)
    return model, optimizer, scaler


def state_of(model: nn.Module) -> dict:
    """The model's parameters and buffers as a plain dict of tensors (copies)."""
    return {k: v.detach().clone() for k, v in model.state_dict().items()}


def scale_of(scaler) -> float:
    """A GradScaler's current scale."""
    return float(scaler.get_scale())


class AmpPart:
    """Stands for the model, the optimizer or the scaler of one large CUDA setup. Sent to a
    worker as separate arguments, the parts of one ``spec`` become the same three objects there
    (built once per process), so the optimizer steps the model's own parameters."""

    def __init__(self, spec: tuple, part: str):
        self.spec, self.part = tuple(spec), part

    def __reduce__(self):
        return _amp_part, (self.spec, self.part)

    def get(self):
        return _amp_part(self.spec, self.part)


_AMP_BUILT: dict = {}


def _amp_part(spec: tuple, part: str):
    """spec = (width, depth, classes, seed, lr, device): an MLP of ``depth`` width x width layers."""
    spec = tuple(spec)
    if spec not in _AMP_BUILT:
        _AMP_BUILT.clear()                          # one large setup at a time
        width, depth, classes, seed, lr, device = spec
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            layers = []
            for _ in range(depth):
                layers += [nn.Linear(width, width, device=device), nn.ReLU()]
            model = nn.Sequential(*layers, nn.Linear(width, classes, device=device))
        model.add_module("probe", _DtypeProbe())
        optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        scaler = torch.amp.GradScaler(torch.device(device).type)
        _AMP_BUILT[spec] = {"model": model, "optimizer": optimizer, "scaler": scaler}
    return _AMP_BUILT[spec][part]


class _DtypeProbe(nn.Module):
    """The last layer of a large setup: records the dtype of what reaches it, passes it on."""

    def __init__(self):
        super().__init__()
        self.register_buffer("seen_dtype", torch.zeros((), dtype=torch.int64))

    def forward(self, x):
        self.seen_dtype.fill_(AMP_DTYPE_CODES.get(x.dtype, -1))      # a CPU buffer: no device sync
        return x


def seen_dtype(model) -> int:
    """The dtype code recorded by a probe network (an AmpProbeNet or a large setup's model)."""
    model = model.get() if isinstance(model, AmpPart) else model
    return int(model.get_buffer("probe.seen_dtype" if hasattr(model, "probe") else "seen_dtype"))


def fp32_step(model, optimizer, x, y, scaler=None) -> float:
    """The float32 training step that mixed precision is timed against (``scaler`` unused);
    plain float32 matrix products (TensorFloat-32 off, torch's default)."""
    if isinstance(model, AmpPart):
        model, optimizer = model.get(), optimizer.get()
    tf32 = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False
    try:
        optimizer.zero_grad(set_to_none=True)
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss.item()
    finally:
        torch.backends.cuda.matmul.allow_tf32 = tf32


# ---------------------------------------------------------------- 12_segmentation_metrics: MONAI refused
# The tasks are MONAI's metrics, SciPy's directed_hausdorff and scikit-image's hausdorff_distance.
# MONAI takes seconds to import, so a worker does not import it to refuse it: during the call a
# fresh import of it fails, and where the answer cell imported it already, every function and class
# of monai.metrics is a tripwire. The same for scikit-image's set metrics.

import importlib.abc as _abc  # noqa: E402
import sys as _sys  # noqa: E402
import types as _types  # noqa: E402

_REFUSED_PACKAGES = ("monai", "skimage.metrics.set_metrics")
_SKIMAGE_HAUSDORFF = ("hausdorff_distance", "hausdorff_pair")


class _Refused(RuntimeError):
    pass


class _NoFreshImport(_abc.MetaPathFinder):
    """On ``sys.meta_path`` for a call: importing one of ``packages`` (or a submodule) that is not
    loaded yet fails, and is recorded in ``tripped``."""

    def __init__(self, tripped: list, packages: tuple[str, ...] = _REFUSED_PACKAGES):
        self.tripped, self.packages = tripped, packages

    def find_spec(self, name, path=None, target=None):
        if any(name == p or name.startswith(p + ".") for p in self.packages):
            self.tripped.append(name)
            raise ImportError(f"{name} may not be used in this exercise")
        return None


def _restore(saved: list, finder) -> None:
    """Undo a call's tripwires ((owner, attribute, original), last set first) and its import finder."""
    for owner, attr, original in reversed(saved):
        setattr(owner, attr, original)
    if finder in _sys.meta_path:
        _sys.meta_path.remove(finder)


def _tripwire(label: str, tripped: list):
    def refuse(*args, **kwargs):
        tripped.append(label)
        raise _Refused(f"{label} may not be used in this exercise")
    return refuse


class _TrippingModule:
    """Stands for a module a compiled function reads at call time: any attribute trips."""

    def __init__(self, label: str, tripped: list):
        self._label, self._tripped = label, tripped

    def __getattr__(self, attr):
        self._tripped.append(self._label)
        raise _Refused(f"{self._label} may not be used in this exercise")


def without_segmentation_libraries(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with MONAI, SciPy's ``directed_hausdorff`` and scikit-image's
    ``hausdorff_distance`` / ``hausdorff_pair`` refused: a fresh ``import monai...`` (or of
    scikit-image's set metrics) fails; where MONAI is loaded already, every function and class that
    ``monai.metrics`` and its modules define or import from MONAI is replaced by a tripwire (so a
    metric bound to a name before the call still reaches one). ``directed_hausdorff`` is a tripwire in
    ``scipy.spatial.distance`` and in the compiled ``scipy.spatial._hausdorff``, whose NumPy (which it
    reads at every call) trips too, so the compiled function bound to a name before the call is
    refused as well; scikit-image's two functions, and the cKDTree they call, likewise. Raises after
    the call when anything was reached, whatever the function did with the exception."""
    tripped: list = []
    saved = []
    finder = _NoFreshImport(tripped)
    _sys.meta_path.insert(0, finder)
    try:
        for name, module in list(_sys.modules.items()):
            if module is None or not (name == "monai.metrics" or name.startswith("monai.metrics.")):
                continue
            for attr, value in list(vars(module).items()):
                if attr.startswith("__") or not callable(value):
                    continue
                if not str(getattr(value, "__module__", "") or "").startswith("monai"):
                    continue
                saved.append((module, attr, value))
                setattr(module, attr, _tripwire(f"{getattr(value, '__module__', name)}.{attr}", tripped))
        for name in ("skimage.metrics", "skimage.metrics.set_metrics"):
            module = _sys.modules.get(name)
            if module is None:
                continue
            names = _SKIMAGE_HAUSDORFF + (("cKDTree",) if name.endswith("set_metrics") else ())
            for attr in names:
                if attr in vars(module):
                    saved.append((module, attr, vars(module)[attr]))
                    label = "hausdorff_distance" if attr == "cKDTree" else attr     # what calls it there
                    setattr(module, attr, _tripwire(f"skimage.metrics.{label}", tripped))
        # loaded here, so that no import during the call escapes the tripwires
        import scipy.spatial._hausdorff as compiled_module
        import scipy.spatial.distance as distance
        wire = _tripwire("scipy.spatial.distance.directed_hausdorff", tripped)
        compiled = _types.SimpleNamespace(directed_hausdorff=wire)
        for owner, attr, value in ((distance, "directed_hausdorff", wire), (distance, "_hausdorff", compiled),
                                   (compiled_module, "directed_hausdorff", wire),
                                   (compiled_module, "np", _TrippingModule(
                                       "scipy.spatial._hausdorff.directed_hausdorff", tripped))):
            saved.append((owner, attr, getattr(owner, attr)))
            setattr(owner, attr, value)
        value = fn(*args, **kwargs)
    finally:
        _restore(saved, finder)
    if tripped:
        raise _Refused(f"your function used {tripped[0]}: this exercise asks you to write it yourself "
                       "(torch, NumPy, SciPy's distance transforms, morphology and cKDTree are fine)")
    return value


# ---------------------------------------------------------------- 13_unet: the course's training loop

def _soft_dice_loss(logits, masks):
    """1 - soft Dice of the foreground probability, over the whole batch (smoothed by 1)."""
    p = logits.softmax(1)[:, 1]
    t = masks.to(p.dtype)
    return 1 - (2 * (p * t).sum() + 1) / (p.sum() + t.sum() + 1)


def built_after_seed(build, seed: int, *args, **kwargs):
    """``build(*args, **kwargs)`` right after ``torch.manual_seed(seed)``: the default initialization
    of the layers it makes then depends on the seed alone."""
    torch.manual_seed(int(seed))
    return build(*args, **kwargs)


def _is_torch_layer(module: nn.Module) -> bool:
    return (type(module).__module__ or "").split(".")[0] == "torch"


def _foreign_layers(net: nn.Module, own: str) -> list[str]:
    """The classes of ``net``'s modules that are neither torch's nor defined where the student's
    class is (``own``, its module): another library's network or blocks."""
    return list(dict.fromkeys(f"{type(m).__module__}.{type(m).__qualname__}" for m in net.modules()
                              if not _is_torch_layer(m) and type(m).__module__ != own))


def train_unet(UNet, images, masks, test_images, *, steps: int = 300, batch_size: int = 4,
               lr: float = 3e-3, seed: int = 0, depth: int = 2, base_channels: int = 8):
    """The course's recipe, applied to the student's UNet class: a same-padding network of 3 input
    channels and 2 classes, built from torch.nn's layers (and the student's own classes), its layers
    reset to their default initialization under ``seed``; Adam with a one-cycle schedule,
    cross-entropy plus soft Dice on random mini-batches; returns the predicted masks (argmax) of
    test_images, in eval mode."""
    import torch.nn.functional as F
    torch.manual_seed(seed)
    net = UNet(in_channels=images.shape[1], num_classes=2, depth=depth, base_channels=base_channels,
               padding="same")
    foreign = _foreign_layers(net, UNet.__module__)
    if foreign:
        raise _Refused(f"your UNet is built from {foreign[0]}, another library's layer: this exercise asks you "
                       f"to build the network yourself from torch.nn's layers")
    # only the architecture is graded: torch's layers start from their default initialization under the
    # check's seed, whatever the constructor drew or seeded
    torch.manual_seed(seed)
    for module in net.modules():
        if _is_torch_layer(module) and callable(getattr(module, "reset_parameters", None)):
            module.reset_parameters()
    optimizer = torch.optim.Adam(net.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps, pct_start=0.2)
    g = torch.Generator().manual_seed(seed)
    net.train()
    for _ in range(steps):
        idx = torch.randint(0, len(images), (batch_size,), generator=g)
        logits = net((images[idx] - 0.5) / 0.25)
        loss = F.cross_entropy(logits, masks[idx].long()) + _soft_dice_loss(logits, masks[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    net.eval()
    with torch.no_grad():
        return torch.cat([net((chunk - 0.5) / 0.25).argmax(1) == 1 for chunk in test_images.split(16)])


# ---------------------------------------------------------------- 11_attention_vs_rnn: what a call leaves behind

import inspect as _inspect  # noqa: E402
import weakref as _weakref  # noqa: E402

_RETURNED: list = []        # weak references to the tensors that earlier watched calls returned


def _tensors_within(value, path: str):
    """(path, tensor) for every tensor in ``value``, inside tuples, lists and dicts too."""
    if isinstance(value, torch.Tensor):
        yield path, value
    elif isinstance(value, (tuple, list)):
        for i, item in enumerate(value):
            yield from _tensors_within(item, f"{path}[{i}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _tensors_within(item, f"{path}[{key!r}]")


def _memory(t: torch.Tensor):
    """Where a tensor's storage starts (None for an empty one: they all may start at 0)."""
    try:
        storage = t.untyped_storage()
        return (t.device.type, storage.data_ptr()) if storage.nbytes() else None
    except (RuntimeError, NotImplementedError):
        return None


def _unchanged(before: torch.Tensor, after: torch.Tensor) -> bool:
    if before.shape != after.shape or before.dtype != after.dtype:
        return False
    if torch.equal(before, after):
        return True
    return before.is_floating_point() and torch.equal(before.isnan(), after.isnan()) \
        and torch.equal(before.nan_to_num(), after.nan_to_num())


def call_watched(fn, *args, **kwargs):
    """Calls the student's ``fn``; returns (its value, what the call did besides returning it):
    ``modified``, the arguments it changed in place, named as the function names them (a tensor
    inside the state's tuple too: ``state[1]``); ``aliased``, a returned tensor that shares memory
    with an argument or with a tensor an earlier watched call returned and something still holds
    (a cache); ``globals``, the global settings it left changed (torch's default dtype, the
    gradient mode, torch's global random generator), which are put back. The call starts from a
    random state that no seeding gives (a draw after a seed), so a seed set in it shows too."""
    try:
        bound = _inspect.signature(fn).bind(*args, **kwargs)
        named = list(bound.arguments.items())
    except (TypeError, ValueError):
        named = [(str(i), a) for i, a in enumerate(args)] + list(kwargs.items())
    inputs = [(path, t) for name, value in named for path, t in _tensors_within(value, name)]
    copies = [t.detach().clone() for _, t in inputs]
    saved_rng = torch.get_rng_state()
    torch.manual_seed(0x5EED)
    torch.rand(1)
    settings = (torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_rng_state())
    try:
        value = fn(*args, **kwargs)
    finally:
        dtype, grad, rng = torch.get_default_dtype(), torch.is_grad_enabled(), torch.get_rng_state()
        changed = []
        if dtype != settings[0]:
            changed.append(f"torch's default dtype (to {str(dtype).removeprefix('torch.')})")
        if grad != settings[1]:
            changed.append("the gradient mode (torch.set_grad_enabled)")
        if not torch.equal(rng, settings[2]):
            changed.append("torch's global random generator (a seed or a draw)")
        torch.set_default_dtype(settings[0])
        torch.set_grad_enabled(settings[1])
        torch.set_rng_state(saved_rng)
    modified = [path for (path, t), copy in zip(inputs, copies) if not _unchanged(copy, t.detach())]
    held = {_memory(t): path for path, t in inputs}
    _RETURNED[:] = [r for r in _RETURNED if r() is not None]
    earlier = {_memory(r()) for r in _RETURNED}
    aliased = ""
    for path, t in _tensors_within(value, "its result"):
        where = _memory(t)
        if where is None:
            continue
        if where in held:
            aliased = aliased or f"{path}, which shares memory with the input {held[where]}"
        elif where in earlier:
            aliased = aliased or f"{path}, which shares memory with the result of an earlier call (a cache?)"
    for _, t in _tensors_within(value, "its result"):
        _RETURNED.append(_weakref.ref(t))
    return value, {"modified": modified, "aliased": aliased, "globals": changed}


# ---------------------------------------------------------------- 17_tracking: solvers refused, objects kept here
# The assignment task is the Hungarian algorithm: SciPy's linear_sum_assignment (a compiled
# function a cell may have bound to a name before the call, which no tripwire on a module
# reaches), SciPy's sparse matching, its linear-programming solvers and NetworkX's matchings
# are refused by watching every call made during the student's (a profile hook sees compiled
# functions however they were reached);
# the packages that exist only to solve assignments cannot be imported fresh during the call.
# The Kalman filter and the tracker are classes: they are built and driven here, and only their
# plain results go back.

_SOLVER_PACKAGES = ("lap", "lapx", "lapjv", "lapsolver", "munkres", "hungarian", "networkx")


def _solvers() -> tuple[set, set]:
    """(compiled solver functions, code objects of Python solver functions) loaded in this process."""
    compiled, code = set(), set()
    try:
        import scipy.optimize as _opt
        compiled.add(_opt.linear_sum_assignment)
    except ImportError:
        pass
    try:
        import scipy.sparse.csgraph as _graph
        for name in ("min_weight_full_bipartite_matching", "maximum_bipartite_matching"):
            if hasattr(_graph, name):
                compiled.add(getattr(_graph, name))
    except ImportError:
        pass
    # a linear program solves an assignment exactly (its matrix is totally unimodular): SciPy's LP and
    # MILP front ends are solvers too
    for name in ("linprog", "milp"):
        value = getattr(_sys.modules.get("scipy.optimize"), name, None)
        value = getattr(value, "__wrapped__", value)
        if hasattr(value, "__code__"):
            code.add(value.__code__)
    for name, module in list(_sys.modules.items()):
        if module is None or not (name == "networkx.algorithms" or name.startswith("networkx.algorithms.")):
            continue
        for attr in ("max_weight_matching", "min_weight_matching", "minimum_weight_full_matching",
                     "hopcroft_karp_matching", "maximum_matching", "eppstein_matching"):
            value = vars(module).get(attr)
            value = getattr(value, "__wrapped__", value)
            if hasattr(value, "__code__"):
                code.add(value.__code__)
    return compiled, code


def _cython_solvers() -> list:
    """SciPy's sparse matchings are Cython functions, which no profile event reports: they are
    replaced, for the call, by tripwires wherever a name binds them (their modules, and the globals
    of the student's function)."""
    try:
        import scipy.sparse.csgraph as _graph
    except ImportError:
        return []
    found = [getattr(_graph, name) for name in ("min_weight_full_bipartite_matching", "maximum_bipartite_matching")
             if hasattr(_graph, name)]
    return [f for f in found if type(f).__name__ == "cython_function_or_method"]


def _swap_cython_solvers(fn, tripped: list) -> list:
    """Put tripwires in place of the Cython matchings; returns (namespace, name, original) to restore."""
    solvers = _cython_solvers()
    if not solvers:
        return []
    spaces = [vars(m) for name, m in list(_sys.modules.items())
              if m is not None and (name == "scipy.sparse.csgraph" or name.startswith("scipy.sparse.csgraph."))]
    spaces.append(getattr(fn, "__globals__", None) or {})
    swapped = []
    for space in spaces:
        for name, value in list(space.items()):
            if any(value is f for f in solvers):
                def wire(*_a, _name=value.__name__, **_k):
                    tripped.append(f"scipy.sparse.csgraph.{_name}")
                    raise _Refused(f"{_name} may not be used in this exercise")
                swapped.append((space, name, value))
                space[name] = wire
    return swapped


def without_assignment_solvers(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with every library assignment solver refused (see above); raises
    after the call when one was reached, whatever the function did with the exception."""
    compiled, code = _solvers()
    tripped: list = []

    def watch(frame, event, arg):
        if event == "c_call" and arg in compiled:
            tripped.append(f"{getattr(arg, '__module__', '') or 'scipy'}.{arg.__name__}")
            raise _Refused(f"{arg.__name__} may not be used in this exercise")
        if event == "call" and frame.f_code in code:
            tripped.append(f"networkx {frame.f_code.co_name}")
            raise _Refused(f"{frame.f_code.co_name} may not be used in this exercise")

    finder = _NoFreshImport(tripped, _SOLVER_PACKAGES)
    _sys.meta_path.insert(0, finder)
    swapped = _swap_cython_solvers(fn, tripped)
    previous = _sys.getprofile()
    _sys.setprofile(watch)
    try:
        value = fn(*args, **kwargs)
    finally:
        _sys.setprofile(previous)
        for space, name, original in swapped:
            space[name] = original
        if finder in _sys.meta_path:
            _sys.meta_path.remove(finder)
    if tripped:
        raise _Refused(f"your function used {tripped[0]}: this exercise asks you to write the assignment "
                       "yourself (the Hungarian algorithm, or any exact method of your own)")
    return value


def _snapshot(value):
    import copy
    return value.detach().clone() if isinstance(value, torch.Tensor) else copy.deepcopy(value)


def run_kalman(KalmanFilter, z0, script: list, matrices: dict):
    """Build ``KalmanFilter(z0, **matrices)`` and run ``script`` (("predict",) or ("update", z)
    steps). Returns [(None, x, P)] after construction, then (what the call returned, x, P) after
    each step, each a copy taken at that moment."""
    kf = KalmanFilter(z0, **matrices)
    out = [(None, _snapshot(kf.x), _snapshot(kf.P))]
    for step in script:
        got = kf.predict() if step[0] == "predict" else kf.update(step[1])
        out.append((_snapshot(got), _snapshot(kf.x), _snapshot(kf.P)))
    return out


def run_tracker(Tracker, settings: dict, frames: list):
    """Build ``Tracker(**settings)`` and give it the frames' detections one frame at a time; what
    each update returned, copied at that moment."""
    tracker = Tracker(**settings)
    return [_snapshot(tracker.update(detections)) for detections in frames]


# ---------------------------------------------------------------- 15_yolo: library mAP refused, the timed decode
# The tasks are the average precision that torchmetrics' MeanAveragePrecision and pycocotools'
# COCOeval compute. Neither is imported to be refused: during the call a fresh import of either
# fails; where one is loaded already, COCOeval's methods and every function and class of
# torchmetrics' detection modules are tripwires (a class bound to a name before the call cannot
# be built: its __init__ trips).

_MAP_PACKAGES = ("torchmetrics", "pycocotools", "faster_coco_eval")


def _map_tripwires(tripped: list) -> list:
    """(owner, attribute, original) for every tripwire set in the loaded detection metrics."""
    saved = []
    for name, module in list(_sys.modules.items()):
        if module is None:
            continue
        if name in ("pycocotools.cocoeval", "faster_coco_eval.core.cocoeval"):
            cls = getattr(module, "COCOeval", None)
            for attr in ("evaluate", "accumulate", "summarize", "evaluateImg", "computeIoU"):
                if cls is not None and attr in vars(cls):
                    saved.append((cls, attr, vars(cls)[attr]))
                    setattr(cls, attr, _tripwire(f"{name}.COCOeval", tripped))
        if not (name.startswith("torchmetrics.detection") or name.startswith("torchmetrics.functional.detection")):
            continue
        for attr, value in list(vars(module).items()):
            if attr.startswith("__") or not callable(value):
                continue
            if not str(getattr(value, "__module__", "") or "").startswith("torchmetrics"):
                continue
            label = f"{getattr(value, '__module__', name)}.{attr}"
            if isinstance(value, type):
                if "__init__" in vars(value):
                    saved.append((value, "__init__", vars(value)["__init__"]))
                    value.__init__ = _tripwire(label, tripped)
            else:
                saved.append((module, attr, value))
                setattr(module, attr, _tripwire(label, tripped))
    return saved


def without_map_libraries(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` with torchmetrics' and pycocotools' mean average precision refused;
    raises after the call when anything was reached, whatever the function did with the exception."""
    tripped: list = []
    finder = _NoFreshImport(tripped, _MAP_PACKAGES)
    _sys.meta_path.insert(0, finder)
    saved = []
    try:
        saved = _map_tripwires(tripped)
        value = fn(*args, **kwargs)
    finally:
        _restore(saved, finder)
    if tripped:
        raise _Refused(f"your function used {tripped[0]}: this exercise asks you to compute the average "
                       "precision yourself (torch and torchvision.ops.box_iou are fine)")
    return value


def yolo_decode(pred, S: int, B: int, C: int, image_size, conf_threshold: float):
    """The course's vectorized YOLOv1 decode: the reference of the speed check."""
    height, width = image_size
    slots = pred[..., :5 * B].reshape(S, S, B, 5)
    probs = pred[..., 5 * B:]
    label = probs.argmax(dim=-1)
    best = probs.gather(-1, label.unsqueeze(-1))
    cells = torch.arange(S, device=pred.device, dtype=pred.dtype)
    cx = (cells.view(1, S, 1) + slots[..., 0]) * (width / S)
    cy = (cells.view(S, 1, 1) + slots[..., 1]) * (height / S)
    w = slots[..., 2] ** 2 * width
    h = slots[..., 3] ** 2 * height
    boxes = torch.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], dim=-1).reshape(-1, 4)
    scores = (slots[..., 4] * best).reshape(-1)
    labels = label.unsqueeze(-1).expand(S, S, B).reshape(-1)
    keep = scores > conf_threshold
    return boxes[keep], scores[keep], labels[keep]


def yolo_loss_gradients(fn, pred, target, B: int, groups: list, **kwargs):
    """``fn(pred, target, B, **kwargs)``'s terms, and for each group of term names the gradient of
    their sum with respect to pred (None where no term of the group depends on pred through
    autograd). The graph stays here: only values come back. ``pred`` is handed over as a leaf that
    shares its storage, so an in-place change still reaches the caller."""
    leaf = pred.detach().requires_grad_(True)
    with torch.enable_grad():
        out = fn(leaf, target, B, **kwargs)
        grads = []
        for keys in groups:
            parts = [out[k] for k in keys if isinstance(out, dict) and isinstance(out.get(k), torch.Tensor)
                     and out[k].requires_grad and out[k].numel() == 1]
            if not parts:
                grads.append(None)
                continue
            (grad,) = torch.autograd.grad(sum(p.reshape(()) for p in parts), [leaf], retain_graph=True,
                                          allow_unused=True)
            grads.append(None if grad is None else grad.detach())
    if isinstance(out, dict):
        out = {k: v.detach() if isinstance(v, torch.Tensor) else v for k, v in out.items()}
    return out, grads
