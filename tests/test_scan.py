"""The static scan flags hostile constructs for the instructor and leaves honest answers alone."""
from __future__ import annotations

import pytest

from medgrade import assignments
from medgrade.notebook import submission_cells
from medgrade.scan import flags
from tests.conftest import load_notebook
from tests.mutants import apply, mutants_of
from tests.redteam.scenarios import ASSIGNMENT, SCENARIOS, submission

# what each scenario's flags must mention (scenarios without a visible construct are absent)
EXPECTED = {1: "__torch_function__", 2: "replaces torch.allclose", 3: "display hook", 4: "os._exit",
            6: "signals", 8: "forks", 9: "stack frames", 12: "torch.ops", 14: "replaces torch.randn",
            16: "replaces time.perf_counter", 18: "subprocess"}


@pytest.mark.parametrize("assignment", list(assignments()))
def test_solutions_and_honest_variants_raise_no_flag(assignment):
    honest = [m for m in mutants_of(assignment) if not m.breaks]
    solved = load_notebook("solutions", assignment)
    for nb in (solved, *(apply(solved, m) for m in honest)):     # one variant at a time: two may edit one line
        assert flags(submission_cells(nb), assignments()[assignment]) == []


@pytest.mark.parametrize("number", sorted(EXPECTED))
def test_hostile_constructs_are_flagged(number):
    scenario = next(s for s in SCENARIOS if s.number == number)
    found = flags(submission_cells(submission(scenario)), assignments()[ASSIGNMENT])
    assert any(EXPECTED[number] in line for line in found), found


def test_library_by_alias_is_flagged_three_ways():
    scenario = next(s for s in SCENARIOS if s.name == "library_by_alias")
    found = "\n".join(flags(submission_cells(submission(scenario)), assignments()[ASSIGNMENT]))
    for what in ("importlib", "exec", ".nms, a library version"):
        assert what in found, found
