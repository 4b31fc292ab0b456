"""Running a property over generated inputs and calling the student's code.

A property is a function of one drawn case that raises :class:`CheckFailed`
when the student's answer is wrong for that case. :func:`check_property`
runs it under the grading profile, lets Hypothesis shrink a failure to a
small counterexample, and turns the outcome into a :class:`PropertyResult`
that says which property failed and on which input, never how it was checked.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
from hypothesis import example, given
from torch.utils._python_dispatch import TorchDispatchMode
from hypothesis import reporting
from hypothesis import strategies as st

from .profile import grading_settings
from .report import CheckFailed, describe


@dataclass
class PropertyResult:
    title: str
    passed: bool
    examples: int = 0
    counterexample: str = ""
    message: str = ""
    kind: str = "property"          # or "speed": examples then counts timing samples


class _StudentRaised(CheckFailed):
    pass


@contextlib.contextmanager
def quiet():
    """Keep warnings and anything written to stderr (Python or C++) away from the cell.

    nbgrader scores a grade cell 0 when anything reaches stderr; torch writes
    deprecation and user warnings there, some of them from C++ straight to
    file descriptor 2. Warnings must never cost points.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        sys.stderr.flush()
        saved_fd = None
        sink = tempfile.TemporaryFile()
        try:
            saved_fd = os.dup(2)
            os.dup2(sink.fileno(), 2)
        except OSError:
            saved_fd = None
        try:
            with contextlib.redirect_stderr(io.StringIO()):
                yield
        finally:
            if saved_fd is not None:
                os.dup2(saved_fd, 2)
                os.close(saved_fd)
            sink.close()


@contextlib.contextmanager
def one_thread():
    """Checks run on one torch thread: the same arithmetic on every machine, and no
    oversubscription on a loaded 2-core grader (small tensors slowed 5-25x there)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


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


def call(fn: Callable, *args: Any, forbid: Iterable[Forbidden] = (),
         forbid_ops: re.Pattern | None = None, hint: str = "", **kwargs: Any) -> Any:
    """Call the student's function; anything it raises becomes a readable failure.

    The library's own version of the exercise is refused two ways: ``forbid``
    replaces Python-level functions by tripwires (for functions made of many
    small operators, such as torchvision's box_iou), and ``forbid_ops`` is a
    pattern over the operators the call runs, recorded below the Python layer
    (for ``conv2d``, ``native_batch_norm``, ``torchvision::nms``). Either makes
    the property fail with the reason and ``hint``. What the function prints is
    discarded: it would only bury the report.
    """
    recorder = OpRecorder() if forbid_ops is not None else contextlib.nullcontext()
    with forbidden(forbid) as tripped:
        try:
            with contextlib.redirect_stdout(io.StringIO()), recorder:
                out = fn(*args, **kwargs)
        except NotImplementedError as e:
            raise _StudentRaised(f"not implemented yet ({type(e).__name__}: {e})") from None
        except Exception as e:  # the student's bug, reported as such
            if not tripped:
                raise _StudentRaised(f"your function raised {type(e).__name__}: {e}") from None
    used = tripped[:1]
    if forbid_ops is not None and not used:
        used = sorted({op for op in recorder.ops if forbid_ops.search(op)})
    if used:
        raise _StudentRaised(f"your function called {', '.join(used)}: this exercise asks you to "
                             f"write it yourself" + (f". {hint}" if hint else ""))
    return out


def check_property(title: str, strategy: st.SearchStrategy, prop: Callable[[Any], None], *,
                   max_examples: int = 50, examples: Iterable[Any] = ()) -> PropertyResult:
    """Run ``prop`` on ``examples`` (pinned edge cases) and then on generated cases.

    ``prop(case)`` raises :class:`CheckFailed` when the property does not hold.
    The returned result carries the shrunk counterexample, rendered with
    :func:`medgrade.report.describe`.
    """
    seen = {"n": 0}
    failure: dict[str, Any] = {}

    def property_holds(case):
        seen["n"] += 1
        try:
            prop(case)
        except CheckFailed as e:
            failure["case"], failure["message"] = case, e.message
            raise

    test = property_holds
    for ex in reversed(list(examples)):
        test = example(ex)(test)
    test = grading_settings(max_examples)(given(strategy)(test))
    try:
        with reporting.with_reporter(lambda *_: None):
            test()
    except CheckFailed:
        return PropertyResult(title, False, seen["n"], _render_case(failure.get("case")),
                              failure.get("message", ""))
    except Exception as e:  # the property itself broke on this submission
        return PropertyResult(title, False, seen["n"], _render_case(failure.get("case")),
                              f"the check could not run on your answer: {type(e).__name__}: {e}")
    return PropertyResult(title, True, seen["n"])


def check_once(title: str, prop: Callable[[], None]) -> PropertyResult:
    """A property with no generated input: one fixed scenario."""
    try:
        prop()
    except CheckFailed as e:
        return PropertyResult(title, False, 1, "", e.message)
    return PropertyResult(title, True, 1)


def _render_case(case: Any) -> str:
    if case is None:
        return ""
    return describe(case)
