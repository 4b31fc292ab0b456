"""The process that runs a submission's code, and nothing else of the grader.

A worker is forked from a warm, clean process that has imported torch but
run no student code (see :mod:`medgrade.isolation`). It starts a session of
its own, sends everything it prints to /dev/null, confines itself
(:func:`medgrade.worker.sandbox.confine`), runs the notebook's setup and answer
cells, and then answers requests over one socket: call a function on these
inputs (the library refused, see :mod:`medgrade.worker.guard`), or run a prepared
block of calls for a timing sample. Requests and replies are plain data
(:mod:`medgrade.worker.wire`). A worker never sees expected values or verdicts:
the grading process generates the inputs and judges the outputs.
"""
from __future__ import annotations

import base64
import builtins
import copy
import functools
import json
import os
import pickle
import random
import sys
import traceback
import types
from typing import Any

import torch

from medgrade.worker import sandbox, wire
from medgrade.worker.guard import guarded_call, resolve

sandbox.prepare_network_rules()      # in the zygote: forked workers apply it with one system call

NATIVE_REFUSED = "MEDGRADE_REFUSE_NATIVE"       # set for a zygote of workers that may not load ...
NATIVE_SCHEMAS = "MEDGRADE_NATIVE_SCHEMAS"      # ... these packages' native code; their operators
_declared: list = []


def _refuse_native_code() -> None:
    """In a zygote started with MEDGRADE_REFUSE_NATIVE (:class:`medgrade.isolation.Zygote`),
    before it imports those packages: their shared libraries become unreadable to it and its
    workers (:func:`medgrade.worker.sandbox.refuse_native`), and their operators are declared without
    a kernel, so the packages still import (torchvision registers fake kernels for its
    operators at import) and calling an operator fails."""
    packages = [p for p in os.environ.pop(NATIVE_REFUSED, "").split(",") if p]
    schemas = json.loads(os.environ.pop(NATIVE_SCHEMAS, "[]") or "[]")
    if not packages or not sandbox.refuse_native(packages):      # no Landlock: the scan still holds
        return
    for namespace in sorted({s.split("::", 1)[0] for s in schemas}):
        library = torch.library.Library(namespace, "DEF")
        for schema in schemas:
            if schema.startswith(namespace + "::"):
                library.define(schema.split("::", 1)[1])
        _declared.append(library)                    # a Library undeclares its operators when freed


_refuse_native_code()

CELL_NAME = "<answer cell {}>"
REFERENCE_NAME = "<the course's answer cell {}>"
_ABSENT = object()


class _NoShell:
    """``get_ipython()`` for cells that use magics: the magics do nothing here."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


class Worker:
    def __init__(self, fd: int):
        self.fd = fd
        self.namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins,
                                          "get_ipython": _NoShell}
        self.cells: list[str] = []
        self.objects: dict[int, Any] = {}
        self.prepared: tuple[Any, list] | None = None
        self.devices = wire.devices_here()
        self.references: dict[str, Any] | None = None      # the course's answers (see swap)
        self.swapped: dict[str, Any] = {}                   # name -> what the namespace held before

    # ------------------------------------------------------------ plain data in and out
    def keep(self, value: Any) -> int:
        ident = len(self.objects) + 1
        self.objects[ident] = value
        return ident

    def lookup(self, ident: int) -> Any:
        if ident not in self.objects:
            raise wire.WireError("unknown object reference")
        return self.objects[ident]

    def decode(self, tree: Any, buffers: list[bytes]) -> Any:
        return wire.Decoder(buffers, self.lookup, self.devices, unpickle=True).decode(tree)

    def reply(self, body: dict, values: dict | None = None) -> None:
        enc = wire.Encoder(self.keep)
        try:
            for key, value in (values or {}).items():
                body[key] = enc.encode(value)
        except Exception as e:          # a result that cannot be sent is the student's error
            body = {"raised": ["UnsendableResult", f"the result could not be read: {e}"[:500], ""]}
            enc.buffers = []
        wire.send(self.fd, body, enc.buffers)

    # ------------------------------------------------------------ requests
    def boot(self, cells: list[str], env: dict | None = None) -> dict:
        """Run the cells; ``env``: environment variables set first (a rank's, as torchrun sets them)."""
        os.environ.update({str(k): str(v) for k, v in (env or {}).items()})
        self.cells = list(cells)
        errors = []
        for i, source in enumerate(self.cells):
            try:
                _run_cell(source, CELL_NAME.format(i + 1), self.namespace)
                errors.append(None)
            except BaseException as e:     # noqa: B036  (a cell may raise SystemExit too)
                errors.append(f"{type(e).__name__}: {str(e)[:300]}" + self.where(e, prefix=" ("))
        defined = sorted(k for k, v in self.namespace.items() if callable(v) and not k.startswith("_"))
        return {"errors": errors, "defined": defined}

    def where(self, e: BaseException, prefix: str = "") -> str:
        """The last line of the answer cells the exception passed through."""
        for frame in reversed(traceback.extract_tb(e.__traceback__)):
            if frame.filename.startswith("<answer cell "):
                cell = int(frame.filename.strip("<>").split()[-1])
                lines = self.cells[cell - 1].splitlines() if cell <= len(self.cells) else []
                text = lines[frame.lineno - 1].strip() if frame.lineno and frame.lineno <= len(lines) else ""
                out = f"line {frame.lineno} of answer cell {cell}: {text}"[:300]
                return f"{prefix}{out})" if prefix else out
        return ""

    def function(self, name: str):
        if ":" in name:
            return resolve(name)
        fn = self.namespace.get(name)
        if fn is None:
            raise LookupError(name)
        return fn

    def call(self, request: dict, buffers: list[bytes]) -> None:
        try:
            fn = self.function(str(request["fn"]))
            if request.get("pass"):         # a driver of the grader's, given the student's function
                fn = functools.partial(fn, self.function(str(request["pass"])))
        except LookupError:
            return self.reply({"missing": True})
        args = self.decode(request.get("args", []), buffers)
        kwargs = self.decode(request.get("kwargs", {"T": "dict", "k": [], "v": []}), buffers)
        forbid = []
        for owner, attr, label in request.get("forbid", []):
            try:
                forbid.append((resolve(owner), attr, label))
            except (ImportError, AttributeError):
                pass
        before = {k: v.clone() for k, v in _tensors(args, kwargs).items()}
        containers = {k: copy.deepcopy(v) for k, v in _containers(args, kwargs).items()}
        outcome = guarded_call(fn, args, kwargs, forbid, request.get("forbid_ops"),
                               catch=BaseException, where=self.where)
        after = _tensors(args, kwargs)
        changed = {k: after[k] for k, v in before.items() if k in after
                   if after[k].shape != v.shape or after[k].dtype != v.dtype or not _same(after[k], v)}
        for k, v in _containers(args, kwargs).items():
            if k in containers and not _same_plain(v, containers[k]):
                changed[k] = v
        body = {"raised": list(outcome.raised) if outcome.raised else None,
                "tripped": outcome.tripped, "ops": outcome.ops}
        value = outcome.value
        if isinstance(value, torch.Tensor) and value.grad_fn is not None:
            leaves = {str(k): t for k, t in after.items() if t.requires_grad}
            leaves.update({k: t for k, t in _listed_tensors(args, kwargs).items() if t.requires_grad})
            body["graph"] = self.keep((value, leaves, forbid, request.get("forbid_ops")))
        self.reply(body, {"value": outcome.value if outcome.raised is None else None,
                          "changed": {str(k): v for k, v in changed.items()}})

    def vjp(self, request: dict, buffers: list[bytes]) -> None:
        """Gradients of a returned tensor with respect to the inputs (keys), under the same refusals."""
        out, leaves, forbid, forbid_ops = self.lookup(int(request["graph"]))
        wanted = [leaves.get(str(k)) for k in request.get("keys", [])]
        upstream = self.decode(request["upstream"], buffers)
        present = [t for t in wanted if t is not None]
        outcome = guarded_call(torch.autograd.grad, (out, present, upstream), {"allow_unused": True},
                               forbid, forbid_ops, catch=BaseException, where=self.where)
        grads = iter(outcome.value or [])
        body = {"raised": list(outcome.raised) if outcome.raised else None,
                "tripped": outcome.tripped, "ops": outcome.ops}
        self.reply(body, {"value": [next(grads) if t is not None else None for t in wanted]
                          if outcome.raised is None else None})

    def prepare(self, request: dict, buffers: list[bytes]) -> None:
        try:
            fn = self.function(str(request["fn"]))
        except LookupError:
            return self.reply({"missing": True})
        self.prepared = (fn, self.decode(request["batch"], buffers))
        self.reply({"ok": len(self.prepared[1])})

    def run(self) -> None:
        fn, batch = self.prepared or (None, [])
        self.prepared = None
        torch.set_num_threads(1)        # timed like the reference, whatever the cells set
        results = []
        try:
            for args in batch:
                results.append(fn(*args))
        except BaseException as e:     # noqa: B036
            return self.reply({"raised": [type(e).__name__, str(e)[:2000], self.where(e)]})
        self.reply({"raised": None}, {"value": results})

    def swap(self, request: dict) -> None:
        """Before an aspect of ``task``: the other graded functions that ``task`` uses (its code
        names them, directly or through helpers the notebook defines) become the course's
        answers, so that a mistake in one of them costs only its own aspects. ``own`` names those
        the aspect grades as the student wrote them. What an earlier swap replaced comes back first.
        """
        for name, before in self.swapped.items():
            if before is _ABSENT:
                self.namespace.pop(name, None)
            else:
                self.namespace[name] = before
        self.swapped = {}
        task = str(request.get("task", ""))
        others = {str(n) for n in request.get("graded", [])} - {task} - {str(n) for n in request.get("own", [])}
        used = _names_used(self.namespace.get(task), others, self.namespace) if others else set()
        if used:
            references = self.course_answers(request.get("cells", []))
            for name in sorted(used):
                if name in references:
                    self.swapped[name] = self.namespace.get(name, _ABSENT)
                    self.namespace[name] = references[name]
        self.reply({"swapped": sorted(self.swapped)})

    def course_answers(self, cells: list) -> dict:
        """The course's setup and answer cells, run once in a namespace of their own (the random
        generators left as they were)."""
        if self.references is None:
            self.references = {"__name__": "__main__", "__builtins__": builtins, "get_ipython": _NoShell}
            import numpy as np
            state = (random.getstate(), torch.get_rng_state(), np.random.get_state())
            try:
                for i, source in enumerate(cells):
                    try:
                        _run_cell(str(source), REFERENCE_NAME.format(i + 1), self.references)
                    except Exception:      # noqa: BLE001  (an answer it cannot define is not swapped)
                        pass
            finally:
                random.setstate(state[0])
                torch.set_rng_state(state[1])
                np.random.set_state(state[2])
        return self.references

    def define(self, request: dict) -> None:
        """The reference worker only: a trusted function sent by the grader."""
        self.namespace[str(request["name"])] = pickle.loads(base64.b64decode(request["pickle"]))
        self.reply({"ok": True})

    def loop(self) -> None:
        while True:
            try:
                request, buffers = wire.receive(self.fd)
            except (wire.Closed, wire.WireError):
                return
            op = request.get("op") if isinstance(request, dict) else None
            try:
                if not self.dispatch(op, request, buffers):
                    return
            except Exception as e:        # the grader's side failed here (not the student's call)
                self.reply({"raised": ["GradingError", f"the grading worker could not serve this request: "
                                                       f"{type(e).__name__}: {e}"[:1000], ""]})

    def dispatch(self, op, request: dict, buffers: list[bytes]) -> bool:
        """Serve one request; False ends the worker."""
        if op == "boot":
            self.reply(self.boot(request.get("cells", []), request.get("env")))
        elif op == "call":
            self.call(request, buffers)
        elif op == "vjp":
            self.vjp(request, buffers)
        elif op == "prepare":
            self.prepare(request, buffers)
        elif op == "run":
            self.run()
        elif op == "define":
            self.define(request)
        elif op == "swap":
            self.swap(request)
        else:
            return False
        return True

def _run_cell(source: str, name: str, namespace: dict) -> None:
    from IPython.core.inputtransformer2 import TransformerManager
    exec(compile(TransformerManager().transform_cell(source), name, "exec", dont_inherit=True), namespace)


_CLASS_DICT = type.__dict__["__dict__"]      # a class's own namespace, whatever its metaclass says


def _code_names(obj, seen: set) -> set[str]:
    """The global names the code of a function, or of a class's methods, refers to. Read without
    running any of the submission's code (no attribute lookups it could intercept)."""
    codes = []
    if type(obj) is types.FunctionType:
        codes.append(obj.__code__)
    elif issubclass(type(obj), type):                                      # a class
        for value in _CLASS_DICT.__get__(obj).values():
            if type(value) in (staticmethod, classmethod):
                value = value.__func__
            elif type(value) is property:
                value = value.fget
            if type(value) is types.FunctionType:
                codes.append(value.__code__)
    names: set[str] = set()
    while codes:
        code = codes.pop()
        if id(code) in seen:
            continue
        seen.add(id(code))
        names.update(code.co_names)
        codes.extend(c for c in code.co_consts if type(c) is types.CodeType)
    return names


def _defined_here(value) -> bool:
    """A function or class the notebook's cells defined (their module is ``__main__``)."""
    if type(value) is types.FunctionType:
        return value.__module__ == "__main__"
    if issubclass(type(value), type):
        return _CLASS_DICT.__get__(value).get("__module__") == "__main__"
    return False


def _names_used(fn, graded: set[str], namespace: dict) -> set[str]:
    """Which of ``graded`` the code of ``fn`` names, directly or through the notebook's other
    functions and classes."""
    found: set[str] = set()
    seen_code: set = set()
    todo, visited = [fn], set()
    while todo:
        obj = todo.pop()
        if obj is None or id(obj) in visited:
            continue
        visited.add(id(obj))
        for name in _code_names(obj, seen_code):
            if name in graded:
                found.add(name)
            elif _defined_here(value := namespace.get(name)):
                todo.append(value)
    return found


def _tensors(args, kwargs) -> dict:
    """The tensors a call may modify in place: tensor arguments, and the parameters and
    buffers of module arguments (a network trained in place), keyed "position" or
    "position:name" (keyword arguments by their name)."""
    found: dict = {}
    for key, value in [*enumerate(args), *kwargs.items()]:
        if isinstance(value, torch.Tensor):
            found[key] = value
        elif isinstance(value, torch.nn.Module):
            for name, t in value.state_dict(keep_vars=True).items():
                if isinstance(t, torch.Tensor):
                    found[f"{key}:{name}"] = t.detach()
    return found


def _listed_tensors(args, kwargs) -> dict:
    """The tensors inside list and tuple arguments (a list of parameters), keyed "position[index]":
    the gradients of a returned tensor can be asked with respect to them too."""
    return {f"{key}[{i}]": t for key, value in [*enumerate(args), *kwargs.items()] if type(value) in (list, tuple)
            for i, t in enumerate(value) if isinstance(t, torch.Tensor)}


def _containers(args, kwargs) -> dict:
    """List and dict arguments: a function that edits them in place (a list of layer specs)
    is seen doing so by the check, as with tensors."""
    return {k: v for k, v in [*enumerate(args), *kwargs.items()] if type(v) in (list, dict)}


def _same_plain(a, b) -> bool:
    if type(a) is not type(b):
        return False
    if type(a) in (list, tuple):
        return len(a) == len(b) and all(_same_plain(x, y) for x, y in zip(a, b))
    if type(a) is dict:
        return a.keys() == b.keys() and all(_same_plain(a[k], b[k]) for k in a)
    if isinstance(a, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and _same(a, b)
    try:
        return bool(a == b) or (a != a and b != b)          # NaN equals NaN here
    except Exception:
        return a is b


def _same(a, b) -> bool:
    return bool(torch.equal(a, b) or (a.is_floating_point() and torch.equal(a.isnan(), b.isnan())
                                      and torch.equal(a.nan_to_num(), b.nan_to_num())))


# What a worker may import of the grading package is this subpackage (and the package's own
# lazy __init__); the rest (checks, references, input generators) cannot be imported by the
# code it runs.
_WORKER_PACKAGE = __name__.rpartition(".")[0]


def _worker_module(name: str) -> bool:
    return name in ("medgrade", _WORKER_PACKAGE) or name.startswith(_WORKER_PACKAGE + ".")


class _GradingPackageRefused:
    """A meta-path finder that refuses the grading package's other modules."""

    def find_spec(self, name, path=None, target=None):
        if name.startswith("medgrade.") and not _worker_module(name):
            raise ImportError(f"{name} is not available to the code being graded")
        return None


def _refuse_grading_package() -> None:
    package = sys.modules.get("medgrade")
    for name in list(sys.modules):
        if name.startswith("medgrade.") and not _worker_module(name):
            del sys.modules[name]
            if package is not None and name.count(".") == 1:
                package.__dict__.pop(name.partition(".")[2], None)
    sys.meta_path.insert(0, _GradingPackageRefused())


def serve(conn, home: str, cgroup: str | None, threads: int = 1) -> None:
    """Entry point of a forked worker (runs in the child, before any student code)."""
    import numpy as np

    os.setsid()
    fd = os.dup(conn.fileno())
    conn.close()
    null = os.open(os.devnull, os.O_RDWR)
    keep_stderr = bool(os.environ.get("MEDGRADE_WORKER_STDERR"))      # for debugging the grader
    for std in (0, 1) if keep_stderr else (0, 1, 2):
        os.dup2(null, std)
    os.close(null)
    sys.stdout = open(os.devnull, "w")
    if not keep_stderr:
        sys.stderr = open(os.devnull, "w")
    os.chdir(home)
    os.environ.update(sandbox.private_home(home), MPLBACKEND="Agg")
    if torch.cuda.is_available():
        # The CUDA context maps much of its memory when it is created: create it before the
        # memory cap is measured and set, or the first CUDA tensor fails under the cap.
        torch.empty(1, device="cuda")
    if "matplotlib" in sys.modules:         # preloaded by the zygote: no window, ever
        sys.modules["matplotlib"].use("Agg", force=True)
    sandbox.confine([home], cgroup)
    _refuse_grading_package()
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    try:
        Worker(fd).loop()
    finally:
        os._exit(0)
