"""Assignments -> tasks -> aspects, each aspect with its points and its check.

An aspect is one grade cell: ``nms_edge_cases`` is graded by the function
``nms_edge_cases`` in ``medgrade/assignments/14_iou_nms/checks.py``, declared there with
:func:`aspect` (every folder's checks are found by :func:`load_checks`). The
decorated function is the check: it takes the student's
function, prints a short report to stdout and returns the points earned.
"""
from __future__ import annotations

import functools
import os
import weakref
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

import medgrade.assignments as folders
from medgrade.failures import WorkerLost
from medgrade.properties import PropertyResult, one_thread, quiet


@dataclass(frozen=True)
class Aspect:
    id: str
    assignment: str
    task: str
    points: float
    kind: str                       # "correct" or "speed"
    requires: tuple[str, ...]       # aspects that must pass first (a speed aspect's correctness)
    summary: str
    check: Callable = field(repr=False, compare=False)
    call_seconds: float | None = None      # isolated runs: one call's time limit (None: the default)
    aspect_seconds: float | None = None    # isolated runs: the whole aspect's budget (None: the default)
    device: str | None = None              # "cuda": graded only where the grading machine has one
    own: tuple[str, ...] = ()              # graded functions the task is graded with as the student wrote them

    def gradable_here(self) -> bool:
        """False for a CUDA-only aspect on a machine without CUDA: it scores 0 there, with a reason."""
        if self.device != "cuda":
            return True
        import torch
        return torch.cuda.is_available()


ASPECTS: dict[str, Aspect] = {}
# assignment -> packages whose native code its students' workers cannot load (see refuse_native)
NATIVE_REFUSED: dict[str, tuple[str, ...]] = {}
NO_DEVICE = "skipped: the grading machine has no {device} device; this aspect is graded on a machine with one"
# aspect id -> {student function: points}; weak, so a freed function's id is never reused
_memo: dict[str, weakref.WeakKeyDictionary] = {}


def aspect(assignment: str, task: str, points: float, *, kind: str = "correct",
           requires: Iterable[str] = (), call_seconds: float | None = None,
           aspect_seconds: float | None = None, device: str | None = None,
           own: Iterable[str] = ()) -> Callable:
    """Declare a graded aspect. The decorated generator yields PropertyResults in order.

    ``call_seconds`` / ``aspect_seconds`` raise the isolated runners' limits for
    an aspect whose single call is long by design (training a network).
    ``device="cuda"``: the aspect is about CUDA (a GPU speed-up); on a grading machine
    without CUDA it is not run and scores 0, saying so: no point is given for what was
    not checked.
    ``own``: in isolated runs a task is graded with the course's answers in place of the other
    graded functions it uses, so that one mistake costs its own aspects once
    (:func:`medgrade.isolation.grade_cells`); an aspect about how the task uses the student's own
    helper names that helper here.
    """

    def register(body: Callable[..., Iterator[PropertyResult]]) -> Callable[..., float]:
        aspect_id = body.__name__
        if aspect_id in ASPECTS:
            raise ValueError(f"aspect {aspect_id} is declared twice")
        folder = folders.of_module(body.__module__) if body.__module__.startswith(folders.__name__ + ".") else None
        if folder is not None and folder != assignment:
            raise ValueError(f"aspect {aspect_id} declares assignment {assignment!r} in the folder of {folder!r}")

        @functools.wraps(body)
        def check(fn: Callable, *, report: bool = True) -> float:
            lines: list[str] = []
            with quiet(), one_thread():
                if not info.gradable_here():
                    earned = 0.0
                    lines.append(f"  ✗ {NO_DEVICE.format(device=info.device.upper())}")
                else:
                    earned = _run(body, fn, lines)
            try:
                _memo.setdefault(aspect_id, weakref.WeakKeyDictionary())[fn] = earned
            except TypeError:  # not weakly referenceable: no memo
                pass
            if report:
                print(f"[{aspect_id}] {earned:g} / {points:g} points")
                print("\n".join(lines))
            return earned

        info = Aspect(aspect_id, assignment, task, float(points), kind, tuple(requires),
                      (body.__doc__ or "").strip().splitlines()[0] if body.__doc__ else "", check,
                      call_seconds, aspect_seconds, device, tuple(own))
        ASPECTS[aspect_id] = info
        return check

    return register


def refuse_native(assignment: str, *packages: str) -> None:
    """The students' code of ``assignment`` runs where the shared libraries of ``packages`` cannot
    be loaded (``torchvision``'s operators for 14_iou_nms, whose tasks re-implement them): the
    packages import, their operators exist without kernels, and calling one fails. A check's
    run-time refusal and the static scan watch a worker from inside; this holds outside it
    (see :func:`medgrade.worker.sandbox.refuse_native`)."""
    NATIVE_REFUSED[assignment] = tuple(sorted(set(NATIVE_REFUSED.get(assignment, ())) | set(packages)))


def _run(body: Callable, fn: Callable, lines: list[str]) -> float:
    """The aspect's points if every aspect it requires and every property of its body pass."""
    info = ASPECTS[body.__name__]
    for needed in info.requires:
        if _score(needed, fn) < ASPECTS[needed].points:
            lines.append(f"  ✗ graded only once {needed} earns full points")
            return 0.0
    try:
        for result in body(fn):
            lines.append(_render(result))
            if not result.passed:
                return 0.0
    except WorkerLost as e:
        lines.append(f"  ✗ {e.message}")
        return 0.0
    return info.points


def _score(aspect_id: str, fn: Callable) -> float:
    try:
        return _memo[aspect_id][fn]
    except (KeyError, TypeError):
        return ASPECTS[aspect_id].check(fn, report=False)


def _render(result: PropertyResult) -> str:
    mark = "✓" if result.passed else "✗"
    unit = "samples" if result.kind == "speed" else "inputs"
    count = f" ({result.examples} {unit})" if result.examples > 1 else ""
    out = [f"  {mark} {result.title}{count if result.passed else ''}"]
    if not result.passed:
        if result.counterexample:
            out.append("    counterexample:")
            out.extend("      " + line for line in result.counterexample.splitlines())
        if result.message:
            out.extend("    " + line for line in result.message.splitlines())
    return "\n".join(out)


def grade(aspect_id: str, fn: Callable) -> float:
    """Grade ``fn`` on one aspect: prints the report, returns the points earned.

    This runs the check in the calling process, which is what an instructor
    wants when running the source notebook. Under ``nbgrader autograde`` the
    calling process is the submission's own kernel, which the submission
    controls: there the cell scores 0 and the course's autograde step
    (:mod:`medgrade.nbgrader_trusted`) replaces its output with the score
    computed in isolated processes.
    """
    if os.environ.get("NBGRADER_EXECUTION") == "autograde":
        print(f"[{aspect_id}] graded outside this notebook, in isolated processes")
        return 0.0
    with quiet():
        load_checks()
    if aspect_id not in ASPECTS:
        raise KeyError(f"unknown aspect {aspect_id!r}")
    return ASPECTS[aspect_id].check(fn)


def assignments() -> dict[str, dict[str, list[Aspect]]]:
    """assignment id -> task -> aspects, in declaration order."""
    load_checks()
    table: dict[str, dict[str, list[Aspect]]] = {}
    for a in ASPECTS.values():
        table.setdefault(a.assignment, {}).setdefault(a.task, []).append(a)
    return dict(sorted(table.items()))


def load_checks() -> None:
    """Import every assignment folder's checks: each registers its aspects."""
    for a in folders.ids():
        folders.part(a, "checks")
