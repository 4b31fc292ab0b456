"""Tampered notebooks: what a student edits besides the answers changes no score, in either runner.

Each tampering below is something students do by accident (the create-assignment toolbar is
visible to them, cells get copied, kernels switched) or on purpose. The graded notebook is
rebuilt from source/ with the student's answers (medgrade.notebook.rebuild), so every
tampered copy of the solved notebook must score what the solved notebook scores, under
``pytest --grade`` and under nbgrader's autograde, and no tampering may stop the batch.
"""
from __future__ import annotations

import copy

import nbformat
import pytest

from medgrade.notebook import grade_id, is_answer_cell, is_grade_cell, rebuild, submission_cells
from tests.conftest import load_notebook

A = "05_batchnorm"              # the chapter whose notebook runs fastest: graded 11 times end to end


def _answers(nb):
    return [c for c in nb.cells if is_answer_cell(c)]


def _graded(nb):
    return [c for c in nb.cells if is_grade_cell(c) and not is_answer_cell(c)]


def extra_grade_cell(nb):
    for c in _graded(nb):
        c.metadata["nbgrader"]["points"] = 50
    cell = nbformat.v4.new_code_cell("print('all hidden tests passed')\n100.0")
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "bonus_points", "locked": True, "points": 100,
                                 "schema_version": 3, "solution": False, "task": False}
    nb.cells.insert(5, cell)
    return nb


def kernel_and_answers_as_grade_cells(nb):
    nb.metadata["kernelspec"] = {"name": "my-env", "display_name": "My <b>env</b>", "language": "python"}
    nb.metadata["language_info"] = {"name": "python", "version": "3.99"}
    for c in _answers(nb):
        c.metadata["nbgrader"].update(grade=True, points=25)
    return nb


def answer_grade_ids_renamed(nb):
    for c in _answers(nb):
        c.metadata["nbgrader"]["grade_id"] += "_mine"
    return nb


def answer_metadata_removed(nb):
    for c in _answers(nb):                      # the toolbar's cell type set to "-"
        del c.metadata["nbgrader"]
    return nb


def answers_made_markdown(nb):
    for c in _answers(nb):
        c.cell_type = "markdown"
        c.pop("outputs", None)
        c.pop("execution_count", None)
    return nb


def grade_cells_edited_and_retyped(nb):
    for i, c in enumerate(_graded(nb)):
        c.source = "print('full marks')"
        if i % 2:
            c.cell_type = "markdown"
            c.pop("outputs", None)
            c.pop("execution_count", None)
        c.metadata["nbgrader"].update(locked=False, solution=True)
    setup = next(c for c in nb.cells if grade_id(c) == "setup")
    setup.metadata["nbgrader"]["locked"] = False
    return nb


def answers_copied_above(nb):
    for c in reversed(_answers(nb)):            # a scratch copy left above the real answer
        scratch = copy.deepcopy(c)
        scratch["id"] = f"scratch-{c['id']}"
        scratch.source = scratch.source.split("### BEGIN SOLUTION")[0] + "    pass\n"
        nb.cells.insert(nb.cells.index(c), scratch)
    return nb


def cell_ids_broken(nb):
    for i, c in enumerate(nb.cells):
        c["id"] = ["same-id", 'x" onmouseover="alert(1)', ""][i % 3]
    nb.cells[1].pop("id")
    return nb


def schema_fields_changed(nb):
    nb.nbformat_minor = 99
    for c in nb.cells:
        meta = c.metadata.get("nbgrader")
        if meta:
            meta.update(schema_version=1, checksum="0" * 32, cell_type="raw", my_field=[1, 2])
        c.metadata["tags"] = ["a,b", "<i>x</i>"]
    return nb


def cells_reordered_and_grade_cells_deleted(nb):
    answers = _answers(nb)
    kept = [c for c in nb.cells if c not in answers and not is_grade_cell(c) and grade_id(c) != "setup"]
    nb.cells = kept + answers
    return nb


def nbgrader_metadata_not_a_dict(nb):
    for c in _answers(nb):
        c.metadata["nbgrader"] = "answer"
    for c in _graded(nb)[:2]:
        c.metadata["nbgrader"] = ["grade", 1]
    return nb


TAMPERINGS = {f.__name__: f for f in (
    extra_grade_cell, kernel_and_answers_as_grade_cells, answer_grade_ids_renamed, answer_metadata_removed,
    answers_made_markdown, grade_cells_edited_and_retyped, answers_copied_above, cell_ids_broken,
    schema_fields_changed, cells_reordered_and_grade_cells_deleted, nbgrader_metadata_not_a_dict)}


def tampered(name: str):
    return TAMPERINGS[name](load_notebook("solutions", A))


pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")     # nbformat repairs duplicate ids, says so


def _as_read(nb):
    """The notebook as a grader reads it from disk (JSON, whatever nbformat's schema says)."""
    return nbformat.reads(nbformat.writes(nb, version=nbformat.NO_CONVERT), as_version=4)


@pytest.mark.parametrize("name", list(TAMPERINGS))
def test_the_graded_code_is_the_solved_notebooks(name):
    """What the workers run (the setup and answer cells of the rebuilt notebook) is what they
    run for the solved notebook: the same points follow."""
    solved = submission_cells(rebuild(load_notebook("solutions", A), A).nb)
    rebuilt = rebuild(_as_read(tampered(name)), A)
    assert submission_cells(rebuilt.nb) == solved, rebuilt.notes
    source = load_notebook("source", A)
    assert [c.get("id") for c in rebuilt.nb.cells if grade_id(c)] == [c.get("id") for c in source.cells if grade_id(c)]
    assert rebuilt.nb.metadata == source.metadata
    assert not nbformat.validate(rebuilt.nb)


def test_an_added_grade_cell_is_kept_as_an_ordinary_cell_and_named():
    rebuilt = rebuild(tampered("extra_grade_cell"), A)
    added = [c for c in rebuilt.nb.cells if c.get("id", "").startswith("added-")]
    assert len(added) == 1 and "all hidden tests passed" in added[0].source and not added[0].metadata
    assert any("claims to be a grade cell" in n and "bonus\\_points" in n and "100 points" in n
               for n in rebuilt.notes), rebuilt.notes


# Both runners on every tampering: tests/test_end_to_end.py grades these notebooks in its
# end-to-end course (one nbgrader run shared with the other checks).
STUDENTS = {f"tamper{i:02d}": name for i, name in enumerate(TAMPERINGS)}
