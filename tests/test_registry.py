"""The registry and the notebooks agree: one grade cell per aspect, same points, one-line hidden call."""
from __future__ import annotations

import re

import pytest

from medgrade.notebook import grade_id, is_answer_cell, is_grade_cell, nbgrader_meta
from medgrade.registry import ASPECTS, assignments
from tests.conftest import load_notebook

HIDDEN = re.compile(r"### BEGIN HIDDEN TESTS\n(.*?)### END HIDDEN TESTS", re.S)


@pytest.mark.parametrize("assignment", list(assignments()))
def test_grade_cells_match_registry(assignment):
    nb = load_notebook("source", assignment)
    cells = {grade_id(c): c for c in nb.cells if is_grade_cell(c) and not is_answer_cell(c)}
    declared = {a.id for tasks in assignments()[assignment].values() for a in tasks}
    assert set(cells) == declared
    for gid, cell in cells.items():
        aspect = ASPECTS[gid]
        assert float(nbgrader_meta(cell)["points"]) == aspect.points, gid
        hidden = HIDDEN.findall(cell.source)
        assert hidden == [f'from medgrade import grade\ngrade("{gid}", {aspect.task})\n'], gid


@pytest.mark.parametrize("assignment", list(assignments()))
def test_every_task_has_an_answer_cell(assignment):
    nb = load_notebook("source", assignment)
    answers = "\n".join(c.source for c in nb.cells if is_answer_cell(c))
    for task in assignments()[assignment]:
        assert re.search(rf"^(def|class) {task}\b", answers, re.M), task
