"""Speed as a ratio to the reference, on the same device, in the same process.

Protocol (measured on the CI machines, see the course's timing notes):
one torch thread; two warm-up calls of each side; a block of ``r`` calls
per sample with ``r`` chosen so a reference block lasts about 20 ms; 11
samples, student and reference interleaved with alternating order, each
sample on fresh inputs with different content (a content cache gains
nothing); ratio = min student time per call / min reference time per call.
Every timed output is checked, and must be a plain tensor. A first sample
above 3x the threshold ends the measurement early, so a slow loop costs
about one call, not eleven blocks.

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

from .properties import PropertyResult, call
from .report import CheckFailed

SAMPLES = 11
BLOCK_SECONDS = 0.02


def grading_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


@dataclass
class SpeedCase:
    """What a timing aspect compares.

    ``make_inputs(seed, device)`` returns the positional arguments of one
    call, different for every seed; ``check(args, student_out, reference_out)``
    raises CheckFailed when a timed output is wrong.
    """
    title: str
    student: Callable
    reference: Callable
    make_inputs: Callable[[int, torch.device], Sequence[Any]]
    check: Callable[[Sequence[Any], Any, Any], None]
    thresholds: dict[str, float]          # device type -> max ratio


def _time_block(fn: Callable, batch: list[Sequence[Any]], out: list) -> float:
    """Seconds per call over one block, read with torch.utils.benchmark's clock (synchronizes CUDA).

    No warm-up inside the block: a warm-up on the same inputs would let a
    result cache answer the timed calls.
    """
    start = clock()
    for args in batch:
        out.append(fn(*args))
    return (clock() - start) / len(batch)


def measure_ratio(case: SpeedCase) -> PropertyResult:
    device = grading_device()
    threshold = case.thresholds[device.type]
    title = f"{case.title} (on {device.type}: at most {threshold:g}x the reference's time)"
    previous_threads = torch.get_num_threads()
    threads_before = threading.active_count()
    seed = iter(range(10_000, 10_000_000))
    student = lambda *a: call(case.student, *a)  # noqa: E731  (readable failures)
    try:
        torch.set_num_threads(1)
        # warm-up, and a first look at the cost of one call of each side: a call far
        # above the threshold ends the measurement after that one call
        for _ in range(2):
            case.reference(*case.make_inputs(next(seed), device))
        t_ref = min(_time_block(case.reference, [case.make_inputs(next(seed), device)], [])
                    for _ in range(3))
        for _ in range(2):
            args = case.make_inputs(next(seed), device)
            t_student = _time_block(student, [args], out := [])
            case.check(args, out[0], case.reference(*args))
            if t_student / t_ref > 3 * threshold:
                return PropertyResult(title, False, 1, "",
                                      f"one call took {t_student / t_ref:.0f}x the reference's time")
        r = max(1, math.ceil(BLOCK_SECONDS / max(t_ref, 1e-9)))
        best_student = best_ref = math.inf
        for i in range(SAMPLES):
            batch = [case.make_inputs(next(seed), device) for _ in range(r)]
            expected = [case.reference(*a) for a in batch]
            got: list = []
            order = ("student", "reference") if i % 2 == 0 else ("reference", "student")
            for side in order:
                if side == "student":
                    best_student = min(best_student, _time_block(student, batch, got))
                else:
                    best_ref = min(best_ref, _time_block(case.reference, batch, []))
            for a, g, e in zip(batch, got, expected):
                case.check(a, g, e)
            if i == 0 and best_student / best_ref > 3 * threshold:
                break
        if threading.active_count() > threads_before:
            raise CheckFailed("your function left threads running: results must be complete on return")
    except CheckFailed as e:
        return PropertyResult(title, False, 1, "", e.message)
    finally:
        torch.set_num_threads(previous_threads)
    ratio = best_student / best_ref
    message = f"your function took {ratio:.1f}x the reference's time"
    if ratio > threshold:
        return PropertyResult(title, False, SAMPLES, "", message)
    return PropertyResult(title + f": {ratio:.1f}x", True, SAMPLES)
