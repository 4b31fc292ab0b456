"""Known-wrong implementations, written as small edits of the solution code.

A mutant names the function whose answer cell it edits, the text edits
(each ``old`` must occur exactly once in that cell), the aspects it must
lose (score 0) and, optionally, aspects it must still pass in full (a slow
but correct loop keeps the correctness aspect and loses the speed one).
A mutant with no ``breaks`` is an honest alternative (written differently
from the solution) that must keep every aspect it lists: the checks may not
be tuned to one way of writing the answer. The same mutants serve the
in-process tests and the demo's buggy submission (a module's ``DEMO`` names).

Each assignment keeps its own in ``medgrade/assignments/<id>/mutants.py``.
"""
from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field

from medgrade import assignments
from medgrade.notebook import is_answer_cell


@dataclass(frozen=True)
class Mutant:
    name: str
    function: str
    replace: tuple[tuple[str, str], ...]
    breaks: tuple[str, ...]
    keeps: tuple[str, ...] = ()
    why: str = field(default="", compare=False)


def mutants_of(assignment: str) -> list[Mutant]:
    return list(assignments.part(assignment, "mutants").MUTANTS)


def demo_mutants(assignment: str) -> list[Mutant]:
    """The mistakes of the demo's buggy student: a module's DEMO names."""
    module = assignments.part(assignment, "mutants")
    return [m for m in module.MUTANTS if m.name in module.DEMO]


def defining_cell(nb, function: str):
    pattern = re.compile(rf"^(def|class)\s+{re.escape(function)}\b", re.M)
    cells = [c for c in nb.cells if is_answer_cell(c) and pattern.search(c.source)]
    if len(cells) != 1:
        raise LookupError(f"{len(cells)} answer cells define {function!r}")
    return cells[0]


def apply(nb, *mutants: Mutant):
    """A copy of ``nb`` with the mutants' edits made in their answer cells."""
    nb = copy.deepcopy(nb)
    for m in mutants:
        cell = defining_cell(nb, m.function)
        for old, new in m.replace:
            count = cell.source.count(old)
            if count != 1:
                raise LookupError(f"mutant {m.name}: {old!r} occurs {count} times in {m.function}'s cell")
            cell.source = cell.source.replace(old, new)
    return nb
