"""Running a property over generated inputs and calling the student's code.

A property is a function of one drawn case that raises :class:`CheckFailed`
when the student's answer is wrong for that case. :func:`check_property`
runs it under the grading profile, lets Hypothesis shrink a failure to a
small counterexample, and turns the outcome into a :class:`PropertyResult`
that says which property failed and on which input, never how it was checked.
"""
from __future__ import annotations

import contextlib
import functools
import io
import os
import re
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
from hypothesis import example, given, reporting
from hypothesis import strategies as st

from medgrade.failures import CheckFailed, WorkerLost, describe
from medgrade.hypothesis_profile import grading_settings
from medgrade.isolation import Remote, remote_graph
from medgrade.worker.guard import Forbidden, guarded_call


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


def call(fn: Callable, *args: Any, forbid: Iterable[Forbidden] = (),
         forbid_ops: re.Pattern | None = None, hint: str = "", **kwargs: Any) -> Any:
    """Call the student's function; anything it raises becomes a readable failure.

    ``fn`` is the function itself (in-process) or a :class:`medgrade.isolation.Remote`
    stand-in for a function that lives in an isolated worker process; both
    are called through :func:`medgrade.worker.guard.guarded_call`. The library's own
    version of the exercise is refused two ways: ``forbid`` replaces
    Python-level functions by tripwires (for functions made of many small
    operators, such as torchvision's box_iou), and ``forbid_ops`` is a pattern
    over the operators the call runs, recorded below the Python layer (for
    ``conv2d``, ``native_batch_norm``, ``torchvision::nms``). Either makes the
    property fail with the reason and ``hint``.
    """
    pattern = forbid_ops.pattern if forbid_ops is not None else None
    if isinstance(fn, Remote):
        outcome = fn.guarded_call(args, kwargs, forbid=forbid, forbid_ops=pattern)
    else:
        outcome = guarded_call(fn, args, kwargs, forbid, pattern)
    return judged(outcome, forbid_ops, hint)


def judged(outcome, forbid_ops: re.Pattern | None = None, hint: str = "", who: str = "your function") -> Any:
    """A call's value, or the failure that says what the call did wrong: the library it
    called, or what it raised (a rank's outcome too: ``who`` is then 'rank 1')."""
    used = outcome.tripped[:1] or (sorted({op for op in outcome.ops if forbid_ops.search(op)})
                                   if forbid_ops is not None else [])
    if used:
        raise _StudentRaised(f"{who} called {', '.join(used)}: this exercise asks you to "
                             f"write it yourself" + (f". {hint}" if hint else ""))
    if outcome.raised is not None:
        kind, message, where = outcome.raised
        if kind == "NotImplementedError":
            raise _StudentRaised(f"not implemented yet ({kind}: {message})")
        raise _StudentRaised(f"{who} raised {kind}: {message}" + (f"\n{where}" if where else ""))
    return outcome.value


def beside(fn: Callable, path: str) -> Callable:
    """The library function ``path`` ('module:attribute', e.g. 'builtins:len'), run where
    ``fn`` runs: in its worker when ``fn`` is a :class:`Remote` (so that it can be applied
    to the student's objects that live there, such as a Dataset), else here."""
    if isinstance(fn, Remote):
        return Remote(fn.owner, path)
    from medgrade.worker.guard import resolve
    return resolve(path)


def around(fn: Callable, path: str) -> Callable:
    """The grader's driver ``path`` ('module:attribute') given the student's ``fn`` as its first
    argument, run where ``fn`` runs: a driver sets the scene (a process group, a wrapped model)
    in the student's worker and calls the student's function there."""
    if isinstance(fn, Remote):
        return Remote(fn.owner, path, passes=fn.name)
    from medgrade.worker.guard import resolve
    return functools.partial(resolve(path), fn)


def gradients(got: torch.Tensor, leaves: list[torch.Tensor], upstream: torch.Tensor) -> tuple:
    """``torch.autograd.grad(got, leaves, upstream, allow_unused=True)``, also when ``got``
    came back from an isolated worker: its graph stays there, and the worker computes the
    gradients (with the library still refused)."""
    where = remote_graph(got)
    if where is None:
        return torch.autograd.grad(got, leaves, upstream, allow_unused=True)
    remote, graph, keys = where
    wanted = [keys.get(id(t), "?") for t in leaves]
    outcome = remote.vjp(graph, wanted, upstream)
    if outcome.tripped or outcome.ops:
        raise _StudentRaised(f"your function's backward pass called {(outcome.tripped or outcome.ops)[0]}: "
                             "this exercise asks you to write it yourself")
    if outcome.raised is not None:
        raise _StudentRaised(f"autograd through your function raised {outcome.raised[0]}: {outcome.raised[1]}")
    return tuple(outcome.value)


def showing(inputs_of: Callable[[Any], dict], note: Callable[[Any], str] | None = None) -> Callable:
    """Decorate a property so that a failure also prints the inputs the function was given:
    ``inputs_of(case)`` names them; ``note(case)``, if given, adds a line about the case."""
    def decorate(prop):
        @functools.wraps(prop)
        def run(case):
            try:
                prop(case)
            except CheckFailed as e:
                shown = "\n".join(f"{name} = {describe(value)}" for name, value in inputs_of(case).items())
                extra = note(case) if note is not None else ""
                raise CheckFailed(f"{e.message}\nthe inputs were:\n{shown}" + (f"\n{extra}" if extra else "")) from None
        return run
    return decorate


def check_property(title: str, strategy: st.SearchStrategy, prop: Callable[[Any], None], *,
                   max_examples: int = 50, examples: Iterable[Any] = ()) -> PropertyResult:
    """Run ``prop`` on ``examples`` (pinned edge cases) and then on generated cases.

    ``prop(case)`` raises :class:`CheckFailed` when the property does not hold.
    The returned result carries the shrunk counterexample, rendered with
    :func:`medgrade.failures.describe`.
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
        except WorkerLost:
            failure["case"] = case
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
    except WorkerLost as e:
        return PropertyResult(title, False, seen["n"], _render_case(failure.get("case")), e.message)
    except Exception as e:  # the property itself broke on this submission
        return PropertyResult(title, False, seen["n"], _render_case(failure.get("case")),
                              f"the check could not run on your answer: {type(e).__name__}: {e}")
    return PropertyResult(title, True, seen["n"])


def check_once(title: str, prop: Callable[[], None]) -> PropertyResult:
    """A property with no generated input: one fixed scenario."""
    try:
        prop()
    except (CheckFailed, WorkerLost) as e:
        return PropertyResult(title, False, 1, "", e.message)
    return PropertyResult(title, True, 1)


def _render_case(case: Any) -> str:
    if case is None:
        return ""
    return describe(case)
