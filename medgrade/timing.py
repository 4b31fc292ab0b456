"""Speed as a ratio to the reference, on the same device, in the same process.

Protocol (measured on the CI machines, see the course's timing notes):
one torch thread; warm-up calls of each side; per sample, each side times a
block of its own calls lasting about 20 ms; 11 samples, student and
reference interleaved with alternating order, each sample on fresh inputs
with different content (a content cache gains nothing); ratio = min student
time per call / min reference time per call.
Every timed output is checked, and must be a plain tensor. Calls far above 3x
the threshold end the measurement after two to five calls, so a slow loop
costs a few calls, not eleven blocks; a ratio below a quarter of the threshold
after three samples is a clear pass and ends it too.

On CUDA the clock is read after a synchronize (``torch.utils.benchmark``'s
clock does this) and the thresholds are the CUDA ones.
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import torch
from torch.utils.benchmark.utils.timer import timer as clock

from medgrade.failures import CheckFailed, WorkerLost
from medgrade.isolation import Raised, Remote, reference
from medgrade.properties import PropertyResult, call

SAMPLES = 11
BLOCK_SECONDS = 0.02
SLOW_CALL_SECONDS = 0.05


def grading_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class SpeedCase:
    """What a timing aspect compares.

    ``make_inputs(seed, device)`` returns the positional arguments of one
    call, different for every seed; ``check(args, student_out, reference_out)``
    raises CheckFailed when a timed output is wrong. ``student`` is the
    student's function itself. Timed calls run without the library refusal
    (it would add its own cost); ``forbid`` / ``forbid_ops`` (as for
    :func:`medgrade.properties.call`) refuse the library on one untimed call of
    the timed size first, so an answer that calls the library only on large
    inputs earns nothing here.
    """
    title: str
    student: Callable
    reference: Callable
    make_inputs: Callable[[int, torch.device], Sequence[Any]]
    check: Callable[[Sequence[Any], Any, Any], None]
    thresholds: dict[str, float]          # device type -> max ratio
    forbid: tuple = ()
    forbid_ops: Any = None
    # the student's side's arguments made from the reference's (e.g. the student's network
    # first: a network built by the student's code and timed against the library's one)
    student_args: Callable[[Sequence[Any]], Sequence[Any]] | None = None
    advice: str = ""                      # added to a too-slow verdict

    def student_inputs(self, args: Sequence[Any]) -> Sequence[Any]:
        return self.student_args(args) if self.student_args is not None else args


def _time_block(fn: Callable, batch: list[Sequence[Any]], out: list) -> float:
    """Seconds per call over one block, read with torch.utils.benchmark's clock (synchronizes CUDA).

    No warm-up inside the block: a warm-up on the same inputs would let a
    result cache answer the timed calls.
    """
    start = clock()
    for args in batch:
        out.append(fn(*args))
    return (clock() - start) / len(batch)


def _remote_block(remote, batch: list[Sequence[Any]], out: list) -> float:
    """One block run in a worker process (the student's, or the clean reference worker),
    timed on this process's clock around the request."""
    seconds, outputs = remote.timed_block(batch, clock)
    for o in outputs:
        if isinstance(o, Raised):
            raise CheckFailed(f"your function raised {o.kind}: {o.message}" + (f"\n{o.where}" if o.where else ""))
    out.extend(outputs)
    return seconds


def _sides(case: SpeedCase):
    """(student block, reference block): in-process, or both in worker processes."""
    if isinstance(case.student, Remote):
        ref = reference(case.reference)
        return (lambda batch, out: _remote_block(case.student, [case.student_inputs(a) for a in batch], out),
                lambda batch, out: _remote_block(ref, batch, out))
    student = lambda *a: call(case.student, *a)  # noqa: E731  (readable failures)
    return (lambda batch, out: _time_block(student, [case.student_inputs(a) for a in batch], out),
            lambda batch, out: _time_block(case.reference, batch, out))


def measure_ratio(case: SpeedCase) -> PropertyResult:
    device = grading_device()
    threshold = case.thresholds[device.type]
    title = f"{case.title} (on {device.type}: at most {threshold:g}x the reference's time)"
    previous_threads = torch.get_num_threads()
    threads_before = threading.active_count()
    seed = iter(range(10_000, 10_000_000))
    student_block, reference_block = _sides(case)

    def fail(message: str, samples: int = 1) -> PropertyResult:
        return PropertyResult(title, False, samples, "", message, kind="speed")

    try:
        torch.set_num_threads(1)
        for _ in range(2):
            reference_block([case.make_inputs(next(seed), device)], [])
        t_ref = min(reference_block([case.make_inputs(next(seed), device)], []) for _ in range(3))
        # Warm-up and a first look at the student's cost. A call far above the
        # threshold is confirmed by more calls (a preempted call is not a verdict):
        # two when calls are long, up to five when they are short.
        warm: list[float] = []
        for k in range(5):
            args = case.make_inputs(next(seed), device)
            warm.append(student_block([args], out := []))
            case.check(args, out[0], case.reference(*args))
            if warm[-1] / t_ref <= 3 * threshold or (k >= 1 and warm[-1] >= SLOW_CALL_SECONDS):
                break
        if min(warm) / t_ref > 3 * threshold:
            return fail(f"each call took about {min(warm) / t_ref:.0f}x the reference's time", len(warm))
        # The library refused on one call of the timed size (untimed): only an answer that may
        # pass needs it, so a slow loop is not run once more for it.
        args = case.make_inputs(next(seed), device)
        case.check(args, call(case.student, *case.student_inputs(args), forbid=case.forbid,
                              forbid_ops=case.forbid_ops), case.reference(*args))
        # Each side times a block of about BLOCK_SECONDS of its own calls, on fresh inputs.
        r_ref = max(1, math.ceil(BLOCK_SECONDS / max(t_ref, 1e-9)))
        r_student = max(1, math.ceil(BLOCK_SECONDS / max(min(warm), 1e-9)))
        best_student = best_ref = math.inf
        samples = 0
        for i in range(SAMPLES):
            samples += 1
            batch = [case.make_inputs(next(seed), device) for _ in range(max(r_ref, r_student))]
            got: list = []
            for side in (("student", "reference") if i % 2 == 0 else ("reference", "student")):
                if side == "student":
                    best_student = min(best_student, student_block(batch[:r_student], got))
                else:
                    best_ref = min(best_ref, reference_block(batch[:r_ref], []))
            for args, g in zip(batch, got):
                case.check(args, g, case.reference(*args))
            if i == 0 and best_student / best_ref > 3 * threshold:
                break                                   # a clear fail
            if i >= 2 and best_student / best_ref < threshold / 4:
                break                                   # a clear pass
        if threading.active_count() > threads_before:
            return fail("your function left threads running: results must be complete on return")
    except (CheckFailed, WorkerLost) as e:
        return fail(e.message)
    finally:
        torch.set_num_threads(previous_threads)
    ratio = best_student / best_ref
    if ratio > threshold:
        return fail(f"your function took {_ratio(ratio)}x the reference's time"
                    + (f": {case.advice}" if case.advice else ""), samples)
    return PropertyResult(title + f": {_ratio(ratio)}x", True, samples, kind="speed")


def _ratio(r: float) -> str:
    return f"{r:.2f}" if r < 1 else f"{r:.1f}"
