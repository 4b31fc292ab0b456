"""Every aspect: full points for the solution, zero for the stub, zero for its mutants.

Solutions, stubs and mutants are graded the way both runners grade: the
notebook's code in an isolated worker, the checks here
(``medgrade.isolation.grade_cells``). The notebook runners, and the same
points and reports from two gradings of one submission, are tested end to end
in test_end_to_end.py and test_redteam.py.
"""
from __future__ import annotations

import functools

import pytest

from medgrade.isolation import grade_cells
from medgrade.mutants import apply, demo_mutants, mutants_of
from medgrade.notebook import submission_cells
from medgrade.registry import ASPECTS, assignments
from tests.conftest import load_notebook

ASSIGNMENTS = list(assignments())
ALL_ASPECTS = [a for tasks in assignments().values() for aspects in tasks.values() for a in aspects]
MUTANTS = [(a, m) for a in ASSIGNMENTS for m in mutants_of(a)]


@functools.lru_cache(maxsize=None)
def isolated(kind: str, assignment: str) -> dict[str, tuple[float, str]]:
    aspects = [a for t in assignments()[assignment].values() for a in t]
    cells = submission_cells(load_notebook(kind, assignment))
    return {a.id: (points, report) for a, points, report in grade_cells(cells, aspects)}


@pytest.mark.parametrize("aspect", ALL_ASPECTS, ids=lambda a: a.id)
def test_solution_earns_full_points(aspect):
    """Full points; a CUDA-only aspect on a machine without CUDA scores 0 and says why."""
    points, report = isolated("solutions", aspect.assignment)[aspect.id]
    if not aspect.gradable_here():
        assert points == 0.0 and "no CUDA device" in report, report
        return
    assert points == aspect.points, report


@pytest.mark.parametrize("aspect", ALL_ASPECTS, ids=lambda a: a.id)
def test_release_stub_earns_zero(aspect):
    points, report = isolated("release", aspect.assignment)[aspect.id]
    assert points == 0.0, report


@pytest.mark.parametrize("assignment,mutant", MUTANTS, ids=[m.name for _, m in MUTANTS])
def test_mutant_loses_what_it_breaks(assignment, mutant):
    cells = submission_cells(apply(load_notebook("solutions", assignment), mutant))
    # in the registry's order, as a submission is graded: an aspect that requires another
    # reuses its result instead of grading it twice
    named = {*mutant.breaks, *mutant.keeps}
    graded = grade_cells(cells, [a for a in ALL_ASPECTS if a.id in named])
    for aspect, points, report in graded:
        if aspect.id in mutant.breaks:
            assert points == 0.0, f"{mutant.name} should lose {aspect.id}\n{report}"
        else:
            full = aspect.points if aspect.gradable_here() else 0.0
            assert points == full, f"{mutant.name} should keep {aspect.id}\n{report}"


@pytest.mark.parametrize("aspect", ALL_ASPECTS, ids=lambda a: a.id)
def test_each_aspect_has_enough_mutants(aspect):
    caught_by = [m for _, m in MUTANTS if aspect.id in m.breaks]
    needed = 2 if aspect.kind == "correct" else 1
    assert len(caught_by) >= needed, f"{aspect.id} is broken by {len(caught_by)} mutant(s)"


@pytest.mark.parametrize("aspect", [a for a in ALL_ASPECTS if a.kind == "speed"], ids=lambda a: a.id)
def test_speed_aspects_pay_only_after_correctness(aspect):
    assert aspect.requires, f"{aspect.id} must require its task's correctness aspect"
    assert all(ASPECTS[r].task == aspect.task and ASPECTS[r].kind == "correct" for r in aspect.requires)


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_demo_bugs_exist(assignment):
    """The demo's buggy student has at least two of the assignment's mutants, each breaking something.
    That the bugs leave partial credit, and that the same submission gets the same points and the
    same reports from two gradings, is tested on the real autograde (tests/test_end_to_end.py)."""
    bugs = demo_mutants(assignment)
    assert len(bugs) >= 2 and all(m.breaks for m in bugs), [m.name for m in bugs]
