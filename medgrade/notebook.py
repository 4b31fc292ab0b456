"""Reading course notebooks and scoring a submission the way both runners do.

``nbgrader autograde`` (through :mod:`medgrade.nbgrader_trusted`) and the
self-learner's ``pytest --grade`` share :func:`grade_submission`: locked
cells (the setup cell and every grade cell) are restored from the
instructor's ``source/`` notebook, the setup and answer cells run in an
isolated worker (:mod:`medgrade.isolation`), and every aspect of the source
notebook's grade cells is scored in the grading process.
"""
from __future__ import annotations

import copy
import json
import os
from dataclasses import dataclass
from pathlib import Path

import nbformat

PACKAGE_ROOT = Path(__file__).resolve().parents[1]


def course_root() -> Path:
    """The course folder (source/, release/, nbgrader_config.py): $MEDGRADE_COURSE_ROOT or this checkout."""
    return Path(os.environ.get("MEDGRADE_COURSE_ROOT") or PACKAGE_ROOT).resolve()


class NotebookError(Exception):
    """A notebook that cannot be graded; the message is one line for the user."""


def assignment_ids() -> list[str]:
    return sorted(p.name for p in (course_root() / "source").iterdir()
                  if (p / f"{p.name}.ipynb").is_file())


def source_notebook_path(assignment_id: str) -> Path:
    return course_root() / "source" / assignment_id / f"{assignment_id}.ipynb"


def read_notebook(path: str | os.PathLike) -> nbformat.NotebookNode:
    path = Path(path)
    if not path.is_file():
        raise NotebookError(f"{path}: no such notebook")
    try:
        text = path.read_text(encoding="utf-8")
        json.loads(text)
        nb = nbformat.reads(text, as_version=4)
    except UnicodeDecodeError:
        raise NotebookError(f"{path}: not a notebook (not UTF-8 text)") from None
    except json.JSONDecodeError as e:
        raise NotebookError(f"{path}: not a notebook (invalid JSON at line {e.lineno})") from None
    except Exception as e:
        raise NotebookError(f"{path}: not a notebook ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    if not isinstance(nb.get("cells"), list):
        raise NotebookError(f"{path}: not a notebook (no cells)")
    return nb


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_grade_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("grade"))


def is_answer_cell(cell) -> bool:
    return cell.get("cell_type") == "code" and bool(nbgrader_meta(cell).get("solution"))


def is_locked(cell) -> bool:
    m = nbgrader_meta(cell)
    return bool(m.get("locked")) or bool(m.get("grade")) and not m.get("solution")


def identify_assignment(nb, path: str | os.PathLike) -> str:
    """Which assignment a notebook belongs to: its file name, else its grade cell ids."""
    known = assignment_ids()
    stem = Path(path).stem
    if stem in known:
        return stem
    ids = {grade_id(c) for c in nb.cells if grade_id(c)}
    for a in known:
        src = read_notebook(source_notebook_path(a))
        if ids and ids <= {grade_id(c) for c in src.cells if grade_id(c)}:
            return a
    raise NotebookError(f"{path}: unknown assignment {stem!r} (known: {', '.join(known)})")


def submission_cells(nb) -> list[str]:
    """The code a submission defines: the setup cell and every answer cell, in order.

    This is what the isolated worker runs (and all it runs): helpers belong in
    the answer cells. Locked cells must be restored from the source first.
    """
    return [cell.source for cell in nb.cells
            if cell.get("cell_type") == "code" and (is_answer_cell(cell) or grade_id(cell) == "setup")]


def answer_code(nb) -> str:
    return "\n\n".join(submission_cells(nb))


def restore_locked_cells(student_nb, source_nb):
    """What nbgrader's OverwriteCells does: locked cells come back from the source."""
    nb = copy.deepcopy(student_nb)
    originals = {grade_id(c): c for c in source_nb.cells if grade_id(c)}
    for cell in nb.cells:
        gid = grade_id(cell)
        if gid in originals and is_locked(originals[gid]):
            src = originals[gid]
            cell.cell_type = src.cell_type
            cell.source = src.source
            cell.metadata["nbgrader"] = copy.deepcopy(nbgrader_meta(src))
            if cell.cell_type == "code":
                cell.setdefault("outputs", [])
                cell.setdefault("execution_count", None)
    return nb


@dataclass
class AspectScore:
    aspect: str
    points: float
    max_points: float
    report: str


def graded_aspects(source_nb) -> list:
    """The registry's aspects for the grade cells of a source notebook, in notebook order."""
    from .registry import ASPECTS, assignments
    assignments()
    found = []
    for cell in source_nb.cells:
        if is_grade_cell(cell) and not is_answer_cell(cell):
            gid = grade_id(cell)
            if gid not in ASPECTS:
                raise NotebookError(f"grade cell {gid!r} has no check in the grading package")
            found.append(ASPECTS[gid])
    return found


def grade_submission(nb, assignment: str) -> list[AspectScore]:
    """Score every aspect of ``assignment`` on a submission, its code run in isolated workers.

    Locked cells (setup, grade cells) are restored from the source first, as
    nbgrader does; grade cells the student deleted, duplicated or edited change
    nothing: the aspects come from the source notebook, the functions from the
    answer cells. This is the score both runners record.
    """
    from .isolation import grade_cells
    source = read_notebook(source_notebook_path(assignment))
    nb = restore_locked_cells(nb, source)
    return [AspectScore(a.id, float(points), a.points, report)
            for a, points, report in grade_cells(submission_cells(nb), graded_aspects(source))]


def grade_notebook(path: str | os.PathLike) -> tuple[str, list[AspectScore]]:
    """Read a submission, tell its assignment, and score it (see :func:`grade_submission`)."""
    nb = read_notebook(path)
    assignment = identify_assignment(nb, path)
    return assignment, grade_submission(nb, assignment)


def instructor_flags(path: str | os.PathLike) -> list[str]:
    """What :func:`medgrade.scan.flags` finds in a submission's answer cells (no points at stake)."""
    from .registry import assignments
    from .scan import flags
    nb = read_notebook(path)
    assignment = identify_assignment(nb, path)
    nb = restore_locked_cells(nb, read_notebook(source_notebook_path(assignment)))
    return flags(submission_cells(nb), assignments()[assignment])
