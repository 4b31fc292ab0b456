"""Refusing the library's own version of an exercise during one student call.

Used where the student's code runs: in the grading worker (isolated
grading) and in-process (an instructor calling a check from a notebook).
"""
from __future__ import annotations

import contextlib
import importlib
import io
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

Forbidden = tuple  # (owner, attribute name, what to call it in the report)


@contextlib.contextmanager
def forbidden(entries: Iterable[Forbidden]):
    """Replace library functions by tripwires for the duration of one student call.

    Yields the list of the tripwires that fired, so a call that caught the
    tripwire's exception is still known to have used the library.
    """
    tripped: list[str] = []
    saved = []

    def tripwire(label: str):
        def refuse(*args, **kwargs):
            tripped.append(label)
            raise RuntimeError(f"{label} may not be used in this exercise")
        return refuse

    try:
        for owner, attr, label in entries:
            if hasattr(owner, attr):
                saved.append((owner, attr, getattr(owner, attr)))
                setattr(owner, attr, tripwire(label))
        yield tripped
    finally:
        for owner, attr, original in reversed(saved):
            setattr(owner, attr, original)


class OpRecorder(TorchDispatchMode):
    """Names every aten / torchvision operator run while active, however it was reached
    (an alias, ``getattr``, ``torch.ops``, ``importlib``, ``exec``)."""

    def __init__(self):
        super().__init__()
        self.ops: list[str] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.append(str(func))
        return func(*args, **(kwargs or {}))


class FunctionRecorder(TorchFunctionMode):
    """Names every torch function called while active (``kl_div`` however it was reached:
    ``F.kl_div``, ``torch._C._VariableFunctions.kl_div``, ``torch.ops.aten.kl_div``): a
    library function that decomposes into small operators before dispatch leaves no trace of
    its own name among the operators :class:`OpRecorder` sees."""

    def __init__(self):
        super().__init__()
        self.names: set[str] = set()

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.names.add(str(getattr(func, "__name__", func)))
        return func(*args, **(kwargs or {}))


def resolve(path: str):
    """'torch.nn.functional' or 'torch:Tensor' (module:attribute path) -> the object."""
    module, _, attrs = path.partition(":")
    owner = importlib.import_module(module)
    for name in filter(None, attrs.split(".")):
        owner = getattr(owner, name)
    return owner


def owner_path(owner) -> str:
    """The inverse of :func:`resolve` for a module or a class."""
    if isinstance(owner, type):
        return f"{owner.__module__}:{owner.__qualname__}"
    return owner.__name__


@dataclass
class Outcome:
    """What one guarded call of the student's function did."""
    value: Any = None
    raised: tuple[str, str, str] | None = None     # (exception type, message, where in the answer)
    tripped: list[str] = field(default_factory=list)
    ops: list[str] = field(default_factory=list)   # recorded operators matching the refused pattern


def guarded_call(fn: Callable, args: Sequence[Any], kwargs: dict, forbid: Iterable[Forbidden] = (),
                 forbid_ops: str | None = None, catch: type[BaseException] = Exception,
                 where: Callable[[BaseException], str] = lambda e: "") -> Outcome:
    """Call ``fn`` with the library refused: tripwires for ``forbid``, and the operators
    run below Python recorded when ``forbid_ops`` (a regular expression) is given.
    What the function prints is discarded."""
    recorder = OpRecorder() if forbid_ops is not None else contextlib.nullcontext()
    functions = FunctionRecorder() if forbid_ops is not None else contextlib.nullcontext()
    outcome = Outcome()
    with forbidden(forbid) as tripped:
        try:
            with contextlib.redirect_stdout(io.StringIO()), recorder, functions:
                outcome.value = fn(*args, **kwargs)
        except catch as e:  # the student's bug, reported as such
            outcome.raised = (type(e).__name__, _message(e), where(e))
    outcome.tripped = list(tripped)
    if forbid_ops is not None:
        pattern = re.compile(forbid_ops)
        outcome.ops = sorted({op for op in (*recorder.ops, *functions.names) if pattern.search(op)})
    return outcome


def _message(e: BaseException) -> str:
    try:
        return str(e)[:2000]
    except Exception:
        return "(the exception's message could not be shown)"
