"""Reading course notebooks and grading one the way ``nbgrader autograde`` does.

The self-learner runner and the course's own tests share this module, so a
notebook gets the same points from ``pytest --grade`` as from nbgrader:
locked cells (the setup cell and every grade cell) are restored from the
instructor's ``source/`` notebook, hidden tests included; the notebook runs
in a fresh kernel with nbgrader's own ``Execute`` preprocessor and the
course's ``nbgrader_config.py``; stderr is filtered by nbgrader's
``IgnorePattern``; each grade cell is scored by ``nbgrader.utils.determine_grade``.
"""
from __future__ import annotations

import copy
import json
import os
import re
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


def answer_code(nb) -> str:
    """The code a submission defines: the setup cell and every answer cell, in order."""
    parts = []
    for cell in nb.cells:
        if cell.cell_type == "code" and (is_answer_cell(cell) or grade_id(cell) == "setup"):
            parts.append(cell.source)
    return "\n\n".join(parts)


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


def _course_config():
    from traitlets.config.loader import PyFileConfigLoader
    return PyFileConfigLoader("nbgrader_config.py", path=str(course_root())).load_config()


def grade_notebook(path: str | os.PathLike) -> tuple[str, list[AspectScore]]:
    """Execute a submission as nbgrader autograde would and score every grade cell."""
    from nbgrader.preprocessors import ClearOutput, Execute, IgnorePattern
    from nbgrader.utils import determine_grade, setenv

    path = Path(path)
    nb = read_notebook(path)
    assignment = identify_assignment(nb, path)
    source = read_notebook(source_notebook_path(assignment))
    nb = restore_locked_cells(nb, source)
    config = _course_config()
    resources = {"metadata": {"path": str(path.parent.resolve())}}
    nb, resources = ClearOutput(config=config)(nb, resources)
    with setenv(NBGRADER_EXECUTION="autograde"):
        nb, resources = Execute(config=config)(nb, resources)
    nb, resources = IgnorePattern(config=config)(nb, resources)
    scores = []
    present = {grade_id(c) for c in nb.cells if is_grade_cell(c)}
    for cell in nb.cells:
        if is_grade_cell(cell) and not is_answer_cell(cell):
            points, max_points = determine_grade(cell)
            scores.append(AspectScore(grade_id(cell), float(points or 0), max_points, _output_text(cell)))
    for cell in source.cells:
        gid = grade_id(cell)
        if is_grade_cell(cell) and gid not in present:
            scores.append(AspectScore(gid, 0.0, float(nbgrader_meta(cell)["points"]),
                                      "this grade cell is missing from the notebook"))
    return assignment, scores


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _output_text(cell) -> str:
    parts = []
    for out in cell.get("outputs", []):
        if out.output_type == "stream":
            parts.append(out.text)
        elif out.output_type == "error":
            # the end of the traceback: the line of the visible test or of your code that failed
            parts.append("\n".join(out.get("traceback", [])[-3:]) or f"{out.ename}: {out.evalue}")
        elif out.output_type == "execute_result":
            parts.append(str(out.get("data", {}).get("text/plain", "")))
    return _ANSI.sub("", "".join(p if p.endswith("\n") else p + "\n" for p in parts)).rstrip()
