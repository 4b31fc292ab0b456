"""Grading a submission whose code runs in isolated worker processes.

The grading process (nbgrader's own process during ``autograde``, pytest for
a self-learner) never runs student code. It draws the inputs, computes the
expected values and judges; a *worker* (:mod:`medgrade.worker.server`) runs the
notebook's setup and answer cells and calls the student's functions on the
inputs it is sent. Workers are forked from a warm zygote (multiprocessing's
forkserver with torch preloaded), so starting one costs milliseconds.

One warm worker serves one notebook. Each call has a timeout, each aspect a
time budget; a worker that hangs, crashes, exits or blows its limits is
killed with everything it started (:func:`medgrade.worker.sandbox.kill_all`), the
aspect it was serving fails with what happened, and the next aspect gets a
fresh worker. Timing samples are read on the grading process's clock around
a request to the student's worker and the same request to a *reference
worker* that has run no student code.
"""
from __future__ import annotations

import atexit
import base64
import contextlib
import copyreg
import fcntl
import functools
import io
import json
import math
import multiprocessing
import os
import pickle
import select
import shutil
import socket
import subprocess
import sys
import threading
import time
import weakref
from dataclasses import dataclass
from multiprocessing import connection as mp_connection
from multiprocessing import context as mp_context
from multiprocessing import forkserver as mp_forkserver
from multiprocessing import popen_forkserver
from multiprocessing import reduction as mp_reduction
from multiprocessing import spawn as mp_spawn
from multiprocessing import util as mp_util
from typing import Any, Callable, Iterable, Sequence

from medgrade.failures import WorkerLost
from medgrade.worker import sandbox, wire
from medgrade.worker.guard import Outcome, owner_path

DEFAULT_CALL_SECONDS, DEFAULT_ASPECT_SECONDS = 10, 60       # what the course ships (notebooks state them)
CALL_SECONDS = float(os.environ.get("MEDGRADE_CALL_SECONDS", DEFAULT_CALL_SECONDS))
ASPECT_SECONDS = float(os.environ.get("MEDGRADE_ASPECT_SECONDS", DEFAULT_ASPECT_SECONDS))
BOOT_SECONDS = float(os.environ.get("MEDGRADE_BOOT_SECONDS", "60"))
# What the zygote imports once, so that a worker does not: torch and the worker itself, and what
# the notebooks' setup cells import and each assignment's folder names (the libraries its checks
# refuse, whose functions are replaced by tripwires in the worker): a worker boots in 0.1 s
# instead of 1-3 s. A class run names its assignments (MEDGRADE_ASSIGNMENTS), so that grading
# 05 does not import torchvision and scikit-learn (2 s of CPU per zygote) for 04 and 14.
_BASE_PRELOAD = ["torch", "numpy", "IPython.core.inputtransformer2", "medgrade.worker.server"]
ASSIGNMENTS_VARIABLE = "MEDGRADE_ASSIGNMENTS"


@functools.cache
def _preload() -> list[str]:
    from medgrade.assignments import worker_preload
    chosen = [a for a in os.environ.get(ASSIGNMENTS_VARIABLE, "").split(",") if a] or None
    return _BASE_PRELOAD + [m for m in worker_preload(chosen) if m not in _BASE_PRELOAD]


_context_lock = threading.Lock()
_zygotes: dict[tuple[str, ...], "Zygote"] = {}


def warm_up(assignment: str | None = None) -> None:
    """Start the zygote now (it imports torch in the background), e.g. while a kernel runs, and
    the one of ``assignment``'s workers when it refuses packages' native code."""
    _zygote(()).ensure_running()
    if assignment:
        from medgrade.registry import NATIVE_REFUSED, assignments
        assignments()
        refused = NATIVE_REFUSED.get(assignment, ())
        if refused:
            _zygote(refused).ensure_running()


class Zygote:
    """A warm process that has imported what workers need and forks them (multiprocessing's
    forkserver). Workers of an assignment that refuses packages' native code come from a zygote
    of their own, which made those shared libraries unreadable before importing anything of
    them (:func:`medgrade.worker.server._refuse_native_code`); every other worker comes from the
    default one. Both are forked from the kernel zygote (:class:`_StagedServer`)."""

    def __init__(self, refused: tuple[str, ...]):
        self.refused = refused
        self._schemas: list[str] | None = None
        preload = _preload()
        if refused:                         # the refusal comes first, on import of the server
            preload = ["medgrade.worker.server", *[m for m in preload if m != "medgrade.worker.server"]]
        # the kernel zygote it is forked from must not have imported those: the refusal would not run
        self.server = _StagedServer(preload, fresh=["medgrade.worker.server", *refused] if refused else [])

    def ensure_running(self) -> None:
        if self.refused:
            from medgrade.worker.server import NATIVE_REFUSED, NATIVE_SCHEMAS
            self.server.env = {NATIVE_REFUSED: ",".join(self.refused), NATIVE_SCHEMAS: json.dumps(self.schemas())}
        self.server.ensure_running()

    def schemas(self) -> list[str]:
        """The refused packages' operator schemas, as this process has them (read once)."""
        if self._schemas is None:
            import torch
            self._schemas = []
            for package in self.refused:
                __import__(package)
                self._schemas += [str(op) for op in torch._C._jit_get_all_schemas()
                                  if op.name.startswith(package + "::")]
        return self._schemas

    def process(self, **kwargs):
        self.ensure_running()
        process = _ZygoteProcess(**kwargs)
        process.zygote = self.refused
        return process


def _zygote(refused: tuple[str, ...]) -> Zygote:
    with _context_lock:
        if refused not in _zygotes:
            _zygotes[refused] = Zygote(refused)
        return _zygotes[refused]


class _ZygotePopen(popen_forkserver.Popen):
    """multiprocessing's launch through a forkserver, through the given one instead of the
    interpreter's single forkserver."""

    def __init__(self, process_obj, server):
        self.server = server
        super().__init__(process_obj)

    def _launch(self, process_obj):
        prepared = io.BytesIO()
        mp_context.set_spawning_popen(self)
        try:
            mp_context.reduction.dump(mp_spawn.get_preparation_data(process_obj._name), prepared)
            mp_context.reduction.dump(process_obj, prepared)
        finally:
            mp_context.set_spawning_popen(None)
        self.sentinel, data = self.server.connect_to_new_process(self._fds)
        keep = os.dup(data)                             # the child watches it to see its parent alive
        self.finalizer = mp_util.Finalize(self, mp_util.close_fds, (keep, self.sentinel))
        with open(data, "wb", closefd=True) as out:
            out.write(prepared.getbuffer())
        self.pid = mp_forkserver.read_signed(self.sentinel)


class _ZygoteProcess(mp_context.ForkServerProcess):
    zygote: tuple[str, ...] = ()

    @staticmethod
    def _Popen(process_obj):
        return _ZygotePopen(process_obj, _zygote(process_obj.zygote).server)

    def __reduce__(self):
        # the child is rebuilt as multiprocessing's own class: a worker imports nothing more of ours
        return copyreg._reconstructor, (mp_context.ForkServerProcess, object, None), self.__dict__


_kernel_server = None


def _kernel_zygote():
    """The zygote of notebook kernels (:mod:`medgrade.worker.kernel`): one per grading process,
    started with its first kernel."""
    global _kernel_server
    with _context_lock:
        if _kernel_server is None:
            from multiprocessing import forkserver

            from medgrade.worker.kernel import PRELOAD
            _kernel_server = forkserver.ForkServer()
            _kernel_server.set_forkserver_preload(PRELOAD)
        return _kernel_server


class _StagedServer(mp_forkserver.ForkServer):
    """A worker zygote forked from the kernel zygote instead of started as a new interpreter:
    torch, NumPy and SciPy are imported once per grading process, not once per zygote (about
    1.5 s of CPU each). The child runs multiprocessing's forkserver loop with the rest of its
    preload; it ends, as any forkserver does, when this process and the workers it forked are
    gone. If it (or the kernel zygote) dies, the next request starts it again."""

    def __init__(self, preload: list[str], fresh: list[str]):
        super().__init__()
        self.preload, self.fresh = preload, fresh
        self.env: dict[str, str] = {}
        self.process: _KernelProcess | None = None

    def ensure_running(self) -> None:
        with self._lock:
            if self.process is not None and self.process._popen.poll() is None:
                return
            if self._forkserver_alive_fd is not None:
                os.close(self._forkserver_alive_fd)        # the old zygote ends with its workers
            self._forkserver_address = self._forkserver_alive_fd = self._forkserver_pid = None
            with socket.socket(socket.AF_UNIX) as listener:
                address = mp_connection.arbitrary_address("AF_UNIX")
                listener.bind(address)
                if not mp_util.is_abstract_socket_namespace(address):
                    os.chmod(address, 0o600)
                listener.listen()
                alive_r, alive_w = os.pipe()
                try:
                    process = _KernelProcess(target=_serve_as_zygote, args=(
                        _PassedFd(listener.fileno()), _PassedFd(alive_r), self.preload, dict(self.env), self.fresh))
                    with _main_script_hidden():
                        process.start()
                except BaseException:
                    os.close(alive_w)
                    raise
                finally:
                    os.close(alive_r)
            multiprocessing.process._children.discard(process)    # nothing waits for it at exit
            self.process = process
            self._forkserver_address, self._forkserver_alive_fd, self._forkserver_pid = address, alive_w, process.pid


class _PassedFd:
    """A file descriptor of this process, given to a child started through a zygote."""

    def __init__(self, fd: int):
        self.fd = fd

    def __reduce__(self):
        return _inherited_fd, (mp_reduction.DupFd(self.fd),)


def _inherited_fd(passed) -> int:
    return passed.detach()


def _serve_as_zygote(listener: int, alive: int, preload: list[str], env: dict[str, str],
                     fresh: list[str]) -> None:
    imported = [m for m in fresh if m in sys.modules]
    if imported:
        raise RuntimeError(f"the kernel zygote imported {', '.join(imported)}: this zygote must import it first")
    os.environ.update(env)
    mp_forkserver.main(listener, alive, preload)


@functools.lru_cache(maxsize=8)
def _fresh_sys_path(pythonpath: str, nousersite: str, home: str) -> list[str]:
    """``sys.path`` of ``python -m ...`` started with these variables, without the entry of the
    current folder (the launcher removes it)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONNOUSERSITE", "HOME")}
    env.update({k: v for k, v in (("PYTHONPATH", pythonpath), ("PYTHONNOUSERSITE", nousersite),
                                  ("HOME", home)) if v})
    out = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sys.path[1:]))"],
                         env=env, capture_output=True, text=True, check=True).stdout
    return json.loads(out)


class _KernelProcess(_ZygoteProcess):
    @staticmethod
    def _Popen(process_obj):
        return _ZygotePopen(process_obj, _kernel_zygote())


def start_kernel(args: list[str], env: dict[str, str], cwd: str, writable: list[str],
                 cgroup: str | None) -> "_KernelProcess":
    """A confined notebook kernel forked from the kernel zygote (:func:`medgrade.worker.kernel.run`):
    ``args`` are ipykernel_launcher's; its ``sys.path`` is a fresh interpreter's with ``env``."""
    from medgrade.worker.kernel import run
    path = _fresh_sys_path(env.get("PYTHONPATH", ""), env.get("PYTHONNOUSERSITE", ""), env.get("HOME", ""))
    process = _KernelProcess(target=run, args=(args, env, cwd, path, writable, cgroup))
    with _main_script_hidden():
        process.start()
    # its kernel manager stops it; multiprocessing must not wait for it when this process exits
    multiprocessing.process._children.discard(process)
    return process


@contextlib.contextmanager
def _main_script_hidden():
    """multiprocessing re-runs the parent's main script in each child unless it is hidden:
    a worker must import nothing but its own modules (the main script is nbgrader's or pytest's)."""
    main = sys.modules.get("__main__")
    saved = {k: main.__dict__.pop(k) for k in ("__file__", "__spec__") if main and k in main.__dict__}
    try:
        if main is not None:
            main.__spec__ = None
        yield
    finally:
        if main is not None:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


class Process:
    """One worker process: start, request with a deadline, kill with all it started."""

    def __init__(self, refused: tuple[str, ...] = ()):
        self.home = sandbox.new_home("worker")
        self.cgroup = sandbox.new_cgroup()
        parent, child = multiprocessing.Pipe(duplex=True)
        from medgrade.worker.server import serve
        self.proc = _zygote(refused).process(target=serve, args=(child, self.home, self.cgroup), daemon=True)
        with _main_script_hidden():
            self.proc.start()
        child.close()
        self.conn = parent
        self.fd = parent.fileno()
        fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) | os.O_NONBLOCK)
        self.alive = True

    def request(self, body: dict, values: dict | None = None, timeout: float = CALL_SECONDS,
                what: str = "your function") -> tuple[Any, list[bytes]]:
        deadline = time.monotonic() + timeout
        self.send(body, values, deadline, what, timeout)
        return self.receive(deadline, what, timeout)

    def send(self, body: dict, values: dict | None, deadline: float, what: str = "your function",
             limit: float = CALL_SECONDS) -> None:
        enc = wire.Encoder(pickle_others=True)
        for key, value in (values or {}).items():
            body[key] = enc.encode(value)
        with self._lost(what, limit):
            wire.send(self.fd, body, enc.buffers, deadline)

    def receive(self, deadline: float, what: str = "your function",
                limit: float = CALL_SECONDS) -> tuple[Any, list[bytes]]:
        with self._lost(what, limit):
            reply, buffers = wire.receive(self.fd, deadline)
            if type(reply) is not dict:
                raise wire.WireError("a reply that is not a message")
            return reply, buffers

    @contextlib.contextmanager
    def _lost(self, what: str, limit: float):
        """What can go wrong on the socket, as the aspect's failure; the process is killed."""
        try:
            yield
        except wire.Timeout:
            held = _memory_held(self.proc.pid)
            self.kill()
            raise WorkerLost(f"{what} did not finish within {limit:g} s; it was stopped" + held) from None
        except wire.Closed:
            code = self.kill()
            raise WorkerLost(f"{what} ended the process that ran it ({_exit_text(code)})") from None
        except wire.WireError as e:
            self.kill()
            raise WorkerLost(f"{what} sent back something that is not plain data ({e})") from None

    def kill(self) -> int | None:
        if self.alive:
            self.alive = False
            with contextlib.suppress(OSError, ValueError):
                self.conn.close()
            sandbox.kill_all(self.proc.pid, self.cgroup)
            self.proc.join(5)
            shutil.rmtree(self.home, ignore_errors=True)
        return self.proc.exitcode


def _memory_held(pid: int | None) -> str:
    """What a worker stopped for time held in memory, when that is a large part of its cap
    (a submission that hoards memory under a slow machine runs out of time before its cap)."""
    try:
        with open(f"/proc/{pid}/status") as fh:
            kb = {k: int(v.split()[0]) for k, v in (line.split(":", 1) for line in fh)
                  if k == "VmHWM"}
    except (OSError, ValueError, IndexError):
        return ""
    used = max(kb.values(), default=0) << 10
    if used < sandbox.MEMORY_BYTES // 2:
        return ""
    return (f" while it held {used / 2**30:.1f} GiB of memory (a submission may use "
            f"{sandbox.MEMORY_BYTES / 2**30:.0f} GiB)")


def _exit_text(code: int | None) -> str:
    if code is None:
        return "it did not exit"
    if code < 0:
        import signal
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


class Remote:
    """A student's function that lives in a worker: what the checks receive instead of it.

    ``passes`` names a student's function that the worker gives ``name`` (a library
    driver, 'module:attribute') as its first argument: a driver that sets the scene in
    the worker (a process group, a wrapped model) and calls the student's code there.
    """

    def __init__(self, owner, name: str, passes: str | None = None):
        self.owner = owner              # a Session, or the reference worker
        self.name = name
        self.passes = passes

    def __repr__(self) -> str:
        return f"<{self.name} in an isolated worker>"

    def __call__(self, *args, **kwargs):
        from medgrade.properties import call
        return call(self, *args, **kwargs)

    def request(self, forbid: Iterable = (), forbid_ops: str | None = None) -> dict:
        return {"op": "call", "fn": self.name, "pass": self.passes, "forbid_ops": forbid_ops,
                "forbid": [[owner_path(o), a, label] for o, a, label in forbid]}

    def guarded_call(self, args: Sequence[Any], kwargs: dict, forbid: Iterable = (),
                     forbid_ops: str | None = None) -> Outcome:
        process = self.owner.process()
        reply, buffers = process.request(self.request(forbid, forbid_ops),
                                         {"args": list(args), "kwargs": dict(kwargs)},
                                         timeout=self.owner.timeout())
        return self.outcome(process, reply, buffers, args, kwargs)

    def outcome(self, process, reply: dict, buffers: list[bytes], args: Sequence[Any], kwargs: dict) -> Outcome:
        """A call's reply as an Outcome; arguments the call modified are modified here too."""
        if reply.get("missing"):
            raise WorkerLost(self.owner.missing(self.passes or self.name))
        outcome = Outcome(raised=_raised(reply.get("raised")), tripped=_strings(reply.get("tripped")),
                          ops=_strings(reply.get("ops")))
        dec = wire.Decoder(buffers, devices=wire.devices_here())
        try:
            if outcome.raised is None:
                outcome.value = dec.decode(reply.get("value"))
            changed = dec.decode(reply.get("changed", {"T": "dict", "k": [], "v": []}))
        except wire.WireError as e:
            process.kill()
            raise WorkerLost(f"your function returned something that is not plain data ({e})") from None
        _write_back(args, kwargs, changed)
        if isinstance(outcome.value, torch_tensor()) and type(reply.get("graph")) is int:
            keys = {id(t): str(i) for i, t in enumerate(args) if isinstance(t, torch_tensor())}
            keys.update({id(t): str(k) for k, t in kwargs.items() if isinstance(t, torch_tensor())})
            keys.update({id(t): f"{k}[{i}]" for k, v in [*enumerate(args), *kwargs.items()] if type(v) in (list, tuple)
                         for i, t in enumerate(v) if isinstance(t, torch_tensor())})
            _graphs[id(outcome.value)] = (self, reply["graph"], keys)
            weakref.finalize(outcome.value, _graphs.pop, id(outcome.value), None)
        return outcome

    def vjp(self, graph: int, keys: list[str], upstream) -> Outcome:
        process = self.owner.process()
        reply, buffers = process.request({"op": "vjp", "graph": graph, "keys": keys},
                                         {"upstream": upstream}, timeout=self.owner.timeout())
        outcome = Outcome(raised=_raised(reply.get("raised")), tripped=_strings(reply.get("tripped")),
                          ops=_strings(reply.get("ops")))
        if outcome.raised is None:
            try:
                outcome.value = wire.Decoder(buffers, devices=wire.devices_here()).decode(reply.get("value"))
            except wire.WireError as e:
                process.kill()
                raise WorkerLost(f"your function's gradients are not plain data ({e})") from None
            if type(outcome.value) is not list or len(outcome.value) != len(keys):
                raise WorkerLost("your function's gradients came back incomplete")
        return outcome

    def timed_block(self, batch: list[Sequence[Any]], clock: Callable[[], float]) -> tuple[float, list]:
        """Seconds per call of one block on the grading process's clock, and the outputs.

        The inputs are sent first (not timed); the timed request runs the
        block and brings every output back as data, so nothing can be left
        unfinished or cached between blocks of fresh inputs.
        """
        process = self.owner.process()
        reply, _ = process.request({"op": "prepare", "fn": self.name}, {"batch": [list(a) for a in batch]},
                                   timeout=self.owner.timeout())
        if reply.get("missing"):
            raise WorkerLost(self.owner.missing(self.name))
        start = clock()
        reply, buffers = process.request({"op": "run"}, timeout=self.owner.timeout())
        seconds = (clock() - start) / max(1, len(batch))
        raised = _raised(reply.get("raised"))
        if raised is not None:
            return seconds, [Raised(*raised)] * len(batch)
        try:
            outputs = wire.Decoder(buffers, devices=wire.devices_here()).decode(reply.get("value"))
        except wire.WireError as e:
            process.kill()
            raise WorkerLost(f"your function returned something that is not plain data ({e})") from None
        if type(outputs) is not list or len(outputs) != len(batch):
            raise WorkerLost("the timed block came back incomplete")
        return seconds, outputs


def torch_tensor():
    import torch
    return torch.Tensor


# output tensor -> (its Remote, the worker's graph id, input id -> argument key)
# (keyed by id: a tensor's == is elementwise, so tensors cannot be dictionary keys)
_graphs: dict[int, tuple] = {}


def remote_graph(t):
    """Where a returned tensor's autograd graph lives, if it lives in a worker."""
    return _graphs.get(id(t))


class Raised:
    """A timed call that raised: the timing check reports it as the student's error."""

    def __init__(self, kind: str, message: str, where: str):
        self.kind, self.message, self.where = kind, message, where


def _raised(v) -> tuple[str, str, str] | None:
    if v is None:
        return None
    if type(v) is not list or len(v) != 3:
        return ("Exception", "(unreadable)", "")
    return tuple(str(x)[:2000] for x in v)


def _strings(v) -> list[str]:
    return [str(x)[:200] for x in v][:100] if type(v) is list else []


def _write_back(args, kwargs, changed: dict) -> None:
    """Inputs the student's function modified in place are modified here too, so a check
    sees what an in-process call would have left (in-place contracts, input-mutation bugs)."""
    import torch
    if type(changed) is not dict:
        return
    for key, value in changed.items():
        key, _, name = str(key).partition(":")
        target = kwargs.get(key) if not key.isdigit() else (
            args[int(key)] if int(key) < len(args) else None)
        if name and isinstance(target, torch.nn.Module):     # a module's parameter or buffer
            target = target.state_dict(keep_vars=True).get(name)
        if isinstance(target, torch.Tensor) and isinstance(value, torch.Tensor):
            with torch.no_grad():
                target.data = value.to(target.device)
        elif type(target) in (list, dict) and type(value) is type(target) and not _has_opaque(value):
            _update_in_place(target, value)


def _has_opaque(value) -> bool:
    if isinstance(value, wire.Opaque):
        return True
    items = value.values() if type(value) is dict else value if type(value) in (list, tuple) else ()
    return any(_has_opaque(v) for v in items)


def _update_in_place(target, value) -> None:
    """Make the list or dict ``target`` equal ``value``, keeping the identity of the containers
    inside it that the check may still hold (a layer spec inside a list of them)."""
    if type(target) is dict:
        for key in [k for k in target if k not in value]:
            del target[key]
        for key, v in value.items():
            if key in target and type(target[key]) in (list, dict) and type(v) is type(target[key]):
                _update_in_place(target[key], v)
            else:
                target[key] = v
    elif len(target) == len(value):
        for i, v in enumerate(value):
            if type(target[i]) in (list, dict) and type(v) is type(target[i]):
                _update_in_place(target[i], v)
            else:
                target[i] = v
    else:
        target[:] = value


class Session:
    """The isolated run of one notebook: its cells, its warm worker, its budgets."""

    def __init__(self, cells: list[str], call_seconds: float = CALL_SECONDS,
                 aspect_seconds: float = ASPECT_SECONDS, boot_seconds: float = BOOT_SECONDS,
                 refused: tuple[str, ...] = (), references: Callable[[str], CourseAnswers | None] | None = None):
        self.cells = list(cells)
        # an aspect's task uses the course's answers for the other graded functions (see swap)
        self.references = references
        self.aspect = None
        self.swapped: tuple[str, ...] = ()      # what the current aspect's task uses of the course's
        self.exposed: set[str] = set()          # every name the worker has held the course's answer of
        self.refused = tuple(refused)          # packages whose native code its workers cannot load
        self.call_seconds, self.aspect_seconds, self.boot_seconds = call_seconds, aspect_seconds, boot_seconds
        self.worker: Process | None = None
        self.boot_failure: str | None = None
        self.cell_errors: list[str | None] = []
        self.defined: list[str] = []
        self.functions: dict[str, Remote] = {}
        self.call_limit, self.budget = call_seconds, aspect_seconds
        self.deadline = time.monotonic() + aspect_seconds
        self.restarts = 0

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.kill()
            self.worker = None

    def start_aspect(self, call_seconds: float | None = None, aspect_seconds: float | None = None,
                     aspect=None) -> None:
        """A new aspect: its budget starts now; an aspect may raise the default limits. Given the
        aspect (a registry entry), its task is graded with the course's answers in place of the
        other graded functions it uses (:meth:`swap`)."""
        self.call_limit = max(self.call_seconds, call_seconds or 0.0)
        self.budget = max(self.aspect_seconds, aspect_seconds or 0.0)
        self.deadline = time.monotonic() + self.budget
        self.aspect, self.swapped = aspect, ()
        if aspect is None or self.worker is None or not self.worker.alive:
            return
        if aspect.task in self.exposed:
            # this worker has held the course's answer of the task now graded (the student's code
            # could have kept it): the aspect gets a fresh worker
            self.worker.kill()
            self.worker, self.exposed = None, set()
            return
        try:
            self.swapped = self.swap(self.worker)
        except WorkerLost:
            # the aspect's check boots a fresh worker, and says what happened if that fails too
            self.worker.kill()
            self.worker = None

    def swap(self, process: "Process") -> tuple[str, ...]:
        """Replace, in ``process``, the graded functions the current aspect's task uses (other than
        those it grades as the student wrote them) with the course's answers; what was replaced."""
        answers = self.references(self.aspect.assignment) if self.references and self.aspect else None
        if answers is None:
            return ()
        reply, _ = process.request({"op": "swap", "task": self.aspect.task, "graded": list(answers.tasks),
                                    "own": list(self.aspect.own), "cells": list(answers.cells)},
                                   timeout=self.boot_seconds, what="your notebook's answer cells")
        swapped = tuple(_strings(reply.get("swapped")))
        if process is self.worker:
            self.exposed |= set(swapped)
        return swapped

    def timeout(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            if self.worker is not None:
                self.worker.kill()
            raise WorkerLost(f"the checks of this aspect ran out of time ({self.budget:g} s): "
                             "your function is far too slow on small inputs")
        return min(self.call_limit, left)

    def function(self, name: str) -> Remote:
        if name not in self.functions:
            self.functions[name] = Remote(self, name)
        return self.functions[name]

    def process(self) -> Process:
        if self.boot_failure is not None:
            raise WorkerLost(self.boot_failure)
        if self.worker is None or not self.worker.alive:
            if self.worker is not None:
                self.restarts += 1
            self.worker = Process(self.refused)
            try:
                reply, _ = self.worker.request({"op": "boot", "cells": self.cells},
                                               timeout=self.boot_seconds, what="your notebook's answer cells")
            except WorkerLost as e:
                self.boot_failure = e.message
                raise
            self.cell_errors = [e if isinstance(e, str) else None for e in reply.get("errors", [])]
            self.defined = _strings(reply.get("defined"))
            if self.aspect is not None:
                self.swapped = self.swap(self.worker)
        return self.worker

    def ranks(self, envs: list[dict]) -> Ranks:
        """Fresh workers for a multi-rank launch, one per environment (the session's own worker
        is not one of them)."""
        if self.boot_failure is not None:
            raise WorkerLost(self.boot_failure)
        return Ranks(self, envs)

    def missing(self, name: str) -> str:
        errors = [e for e in self.cell_errors if e]
        return (f"your notebook does not define {name}"
                + (f" (an answer cell raised {errors[0]})" if errors else ""))


class Ranks:
    """The processes of one multi-rank launch (the grader plays torchrun): one fresh worker per
    rank, each booted with the notebook's cells in its own environment. Closing kills them all,
    with everything they started."""

    def __init__(self, session: "Session", envs: list[dict]):
        self.session = session
        self.processes: list[Process] = []
        limit = session.boot_seconds
        deadline = time.monotonic() + limit
        try:
            for env in envs:
                process = Process(session.refused)
                self.processes.append(process)
                process.send({"op": "boot", "cells": session.cells, "env": env}, None, deadline,
                             "your notebook's answer cells", limit)
            for process in self.processes:
                process.receive(deadline, "your notebook's answer cells", limit)
            if session.aspect is not None:
                for process in self.processes:
                    session.swap(process)
        except BaseException:
            self.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        for process in self.processes:
            process.kill()

    def call(self, fn: Remote, calls: list[tuple[Sequence[Any], dict]], forbid: Iterable = (),
             forbid_ops: str | None = None, limit: float | None = None) -> list:
        """Call ``fn`` in every rank at once, rank r with ``calls[r]`` (args, kwargs). Returns one
        Outcome per rank, or the WorkerLost that says what happened to that rank; once a rank
        has failed or returned, the others get a grace period (see :func:`rank_deadline`).
        ``limit`` lowers the call's time limit."""
        limit = min(self.session.timeout(), limit or math.inf)
        deadline = time.monotonic() + limit
        results: list = [None] * len(self.processes)
        pending: dict[int, int] = {}
        for r, (process, (args, kwargs)) in enumerate(zip(self.processes, calls)):
            try:
                process.send(fn.request(forbid, forbid_ops), {"args": list(args), "kwargs": dict(kwargs)},
                             deadline, f"rank {r}", limit)
                pending[process.fd] = r
            except WorkerLost as e:
                results[r] = e
        while pending:
            deadline = rank_deadline(results, deadline)
            left = deadline - time.monotonic()
            ready = select.select(list(pending), [], [], max(0.0, left))[0] if left > 0 else []
            if not ready:
                break
            for fd in ready:
                r = pending.pop(fd)
                args, kwargs = calls[r]
                try:
                    reply, buffers = self.processes[r].receive(deadline, f"rank {r}", limit)
                    results[r] = fn.outcome(self.processes[r], reply, buffers, args, kwargs)
                except WorkerLost as e:
                    results[r] = e
        stopped = [r for r, x in enumerate(results) if x is not None]
        for r in pending.values():
            self.processes[r].kill()
            results[r] = WorkerLost(_unfinished(r, limit, stopped))
        return results

    def ask(self, rank: int, path: str, *args) -> Any:
        """A library function ('module:attribute') called in one rank's process, e.g. whether a
        process group is still initialized there; None when that rank's process is gone."""
        process = self.processes[rank]
        if not process.alive:
            return None
        try:
            reply, buffers = process.request({"op": "call", "fn": path}, {"args": list(args), "kwargs": {}},
                                             timeout=self.session.call_seconds, what=f"rank {rank}")
            return wire.Decoder(buffers, devices=wire.devices_here()).decode(reply.get("value"))
        except (WorkerLost, wire.WireError):
            return None


FAILED_GRACE = 2.0      # seconds the other ranks get once one rank has failed (they may wait for it)
FINISHED_GRACE = 5.0    # ... once one rank has returned: its partners' collectives are over


def rank_deadline(results: list, deadline: float) -> float:
    """The deadline of a multi-rank call given the ranks' results so far (None: still running)."""
    if any(isinstance(x, WorkerLost) or (x is not None and x.raised) for x in results):
        return min(deadline, time.monotonic() + FAILED_GRACE)
    if any(x is not None for x in results):
        return min(deadline, time.monotonic() + FINISHED_GRACE)
    return deadline


def _unfinished(rank: int, limit: float, stopped: list[int]) -> str:
    if stopped:
        return (f"rank {rank} was still running after rank {stopped[0]} had stopped (waiting for it in a "
                f"collective?); every rank was stopped")
    return f"rank {rank} did not finish within {limit:g} s; every rank was stopped"


class _References:
    """One clean worker per grading process for the timing references: it runs no student code."""

    def __init__(self):
        self.worker: Process | None = None
        self.functions: list[tuple[Callable, Remote]] = []

    def process(self) -> Process:
        if self.worker is None or not self.worker.alive:
            self.worker = Process()
            self.worker.request({"op": "boot", "cells": []}, timeout=BOOT_SECONDS, what="the reference")
            for fn, remote in self.functions:
                self._define(remote.name, fn)
        return self.worker

    def timeout(self) -> float:
        return CALL_SECONDS

    def missing(self, name: str) -> str:
        return f"the reference {name} is missing"

    def _define(self, name: str, fn: Callable) -> None:
        self.worker.request({"op": "define", "name": name,
                             "pickle": base64.b64encode(pickle.dumps(fn)).decode()},
                            timeout=BOOT_SECONDS, what="the reference")

    def function(self, fn: Callable) -> Remote:
        for known, remote in self.functions:
            if known is fn:
                return remote
        remote = Remote(self, f"reference_{len(self.functions)}")
        self.functions.append((fn, remote))
        if self.worker is not None and self.worker.alive:
            self._define(remote.name, fn)
        return remote

    def close(self) -> None:
        if self.worker is not None:
            self.worker.kill()


_references = _References()
atexit.register(_references.close)


def reference(fn: Callable) -> Remote:
    """``fn`` (a library function, picklable by name) run in the clean reference worker."""
    return _references.function(fn)


@dataclass(frozen=True)
class CourseAnswers:
    """What a worker needs to put the course's answers in place of a student's: the assignment's
    graded functions, and its source notebook's setup and answer cells."""
    tasks: tuple[str, ...]
    cells: tuple[str, ...]


@functools.cache
def course_answers(assignment: str) -> CourseAnswers | None:
    """The course's answers of ``assignment`` (from the course's ``source/``, else the package's
    own); None when neither has its notebook."""
    from medgrade.notebook import PACKAGE_ROOT, read_notebook, source_notebook_path, submission_cells
    from medgrade.registry import assignments
    for path in (source_notebook_path(assignment), PACKAGE_ROOT / "source" / assignment / f"{assignment}.ipynb"):
        if path.is_file():
            cells = tuple(submission_cells(read_notebook(path)))
            return CourseAnswers(tuple(assignments().get(assignment, {})), cells)
    return None


def grade_cells(cells: list[str], aspects: list, functions: dict[str, str] | None = None,
                **budgets) -> list[tuple[Any, float, str]]:
    """Grade ``aspects`` (registry entries) on the functions that ``cells`` define.

    Returns (aspect, points, report) in order. ``functions`` maps an aspect id
    to the graded function's name (default: the aspect's task). The workers cannot load the
    native code of the packages the aspects' assignments refuse (:func:`medgrade.registry.refuse_native`).
    An aspect grades its own task: the other graded functions the task uses are the course's
    answers while it is graded, and the report says so where one of the student's is wrong.
    """
    from medgrade.registry import NATIVE_REFUSED
    refused = tuple(sorted({p for a in aspects for p in NATIVE_REFUSED.get(a.assignment, ())}))
    results, uses = [], []
    with Session(cells, refused=refused, references=course_answers, **budgets) as session:
        for a in aspects:
            session.start_aspect(a.call_seconds, a.aspect_seconds, aspect=a)
            fn = session.function((functions or {}).get(a.id, a.task))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                points = a.check(fn)
            results.append((a, points, out.getvalue().rstrip()))
            uses.append(session.swapped)
    return _charged_once(results, uses)


def _charged_once(results: list, uses: list[tuple[str, ...]]) -> list[tuple[Any, float, str]]:
    """Each report of an aspect graded with the course's answer of a function the student got
    wrong (one of that function's aspects lost points here) names that function and the aspects
    its mistake is charged to."""
    lost: dict[str, list[str]] = {}
    for a, points, _ in results:
        if a.kind == "correct" and points < a.points:
            lost.setdefault(a.task, []).append(a.id)
    out = []
    for (a, points, report), used in zip(results, uses, strict=True):
        notes = [f"  · your {name} is wrong (it loses {', '.join(lost[name])}); this aspect used the course's "
                 f"{name} in its place, so that mistake is not charged here too" for name in used if name in lost]
        out.append((a, points, "\n".join([report, *notes]) if notes else report))
    return out
