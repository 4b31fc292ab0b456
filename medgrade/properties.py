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
import sys
import tempfile
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import torch
from hypothesis import example, given
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


def call(fn: Callable, *args: Any, **kwargs: Any) -> Any:
    """Call the student's function; anything it raises becomes a readable failure.

    What the function prints is discarded: it would only bury the report.
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return fn(*args, **kwargs)
    except NotImplementedError as e:
        raise _StudentRaised(f"not implemented yet ({type(e).__name__}: {e})") from None
    except Exception as e:  # the student's bug, reported as such
        raise _StudentRaised(f"your function raised {type(e).__name__}: {e}") from None


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


def seeded(seed: int) -> torch.Generator:
    """A CPU generator for drawing tensor contents from a Hypothesis-drawn seed."""
    return torch.Generator().manual_seed(int(seed))
