"""Reading course notebooks and scoring a submission the way both runners do.

``nbgrader autograde`` (through :mod:`medgrade.nbgrader_trusted`) and the
self-learner's ``pytest --grade`` share :func:`rebuild` and :func:`assess_rebuilt`:
the submission is rebuilt from the instructor's ``source/`` notebook with the
student's answers (no metadata a student edits changes a score), its setup and
answer cells run in an isolated worker (:mod:`medgrade.isolation`), every aspect
of the source notebook's grade cells is scored in the grading process, and an
answer cell that reaches the grader's machinery (:mod:`medgrade.scan`) costs its
tasks' points until an instructor reviews it.
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
    """Which assignment a notebook belongs to: its file name, else the assignment whose grade
    cell ids it shares most (a renamed copy; added or edited cells do not hide it)."""
    known = assignment_ids()
    stem = Path(path).stem
    if stem in known:
        return stem
    cells = nb.get("cells") if isinstance(nb.get("cells"), list) else []
    ids = {grade_id(c) for c in cells if isinstance(c, dict) and isinstance(grade_id(c), str)}
    shared = {a: len(ids & {grade_id(c) for c in read_notebook(source_notebook_path(a)).cells if grade_id(c)})
              for a in known}
    best = max(shared.values(), default=0)
    if best > 0 and list(shared.values()).count(best) == 1:
        return max(shared, key=shared.get)
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


def release_notebook_path(assignment_id: str) -> Path:
    return course_root() / "release" / assignment_id / f"{assignment_id}.ipynb"


@dataclass
class Rebuilt:
    """A submission as the course grades it (:func:`rebuild`), and what a person should know
    about how it was rebuilt (markdown lines; anything the submission wrote is escaped)."""
    nb: nbformat.NotebookNode
    notes: list[str]


def _text(cell) -> str:
    source = cell.get("source", "") if isinstance(cell, dict) else ""
    if isinstance(source, list):
        source = "".join(s for s in source if isinstance(s, str))
    return source if isinstance(source, str) else ""


def _claims(meta: dict) -> str:
    """How a cell's nbgrader metadata presents it, for a note."""
    from medgrade.sanitize import escape_markdown
    kind = ("grade cell" if meta.get("grade") and not meta.get("solution") else "graded answer" if meta.get("grade")
            else "answer cell" if meta.get("solution") else "task" if meta.get("task") else "read-only cell")
    points = meta.get("points")
    worth = f", {escape_markdown(str(points), 12)} points" if meta.get("grade") and points is not None else ""
    return f"{kind} (grade id '{escape_markdown(str(meta.get('grade_id', '')), 40)}'{worth})"


# The cells that show a figure of the course's solution (``./course chapters``): in the release, not
# in the graded notebook, whose pages (feedback, formgrader) show no images from notebooks anyway.
FIGURE_PREFIX = "figure-"


def rebuild(student, assignment: str) -> Rebuilt:
    """The notebook that is graded: the assignment's source notebook, with the student's answers.

    Everything but the answers comes from the course: the notebook's metadata (kernelspec,
    schema version), every locked cell (setup, grade cells with their hidden tests, read-only
    text) and its nbgrader metadata (grade ids, points, types), cell ids. So nothing a student
    edits by accident or on purpose (points, grade ids, cell types, the kernel, cell ids, a
    deleted or duplicated grade cell) changes a score or stops the grading. The answer to a
    task is the student's cell found by its grade id (the last copy, as nbgrader's
    DeduplicateIds decides), else by its cell id, else by its content (the released cell, or
    a cell that starts with the task's ``def`` line); a task with no answer cell is graded on
    the released stub. The solution's figures (cells ``figure-*``) are left out. Cells the
    student added stay, as ordinary cells after the cell they followed: code is kept (it is not
    run), markdown made safe to show (:func:`medgrade.sanitize.markdown_cell`), raw cells kept as
    plain text; one that claims to be a grade or answer cell is named in the notes and is not
    graded.
    """
    from medgrade.sanitize import escape_markdown, markdown_cell
    source = read_notebook(source_notebook_path(assignment))
    release = read_notebook(release_notebook_path(assignment))
    if [c.get("id") for c in source.cells] != [c.get("id") for c in release.cells]:
        raise NotebookError(f"release/{assignment} is not generated from source/{assignment}: "
                            f"run nbgrader generate_assignment {assignment}")
    cells = [c for c in (student.get("cells") if isinstance(student.get("cells"), list) else [])
             if isinstance(c, dict)]
    notes: list[str] = []
    kinds = ["answer" if is_answer_cell(c) or (nbgrader_meta(c).get("solution") and not is_locked(c))
             else "locked" if nbgrader_meta(c) else "free" for c in source.cells]
    by_grade_id = {grade_id(c): j for j, c in enumerate(source.cells) if grade_id(c)}
    by_cell_id = {c.get("id"): j for j, c in enumerate(source.cells)}
    heads = {j: _text(release.cells[j]).lstrip().splitlines()[0] for j, k in enumerate(kinds)
             if k == "answer" and _text(release.cells[j]).strip()}

    claimed: dict[int, int] = {}                     # source position -> student cell
    how: dict[int, str] = {}
    for i, cell in enumerate(cells):                 # 1: grade ids; a later copy takes the place
        gid = grade_id(cell)
        j = by_grade_id.get(gid) if isinstance(gid, str) else None
        if j is not None and (kinds[j] == "answer" or cell.get("id") == source.cells[j].get("id")
                              or _text(cell) in (_text(source.cells[j]), _text(release.cells[j]))):
            claimed[j], how[j] = i, "grade id"
    taken = set(claimed.values())
    for i, cell in enumerate(cells):                 # 2: cell ids; 3: the released text; 4: the def line
        if i in taken:
            continue
        text = _text(cell)
        j = by_cell_id.get(cell.get("id")) if isinstance(cell.get("id"), str) else None
        way = "its cell id"
        if j is None or j in claimed:
            way = "its content"
            j = next((j for j, c in enumerate(release.cells) if j not in claimed and text.strip()
                      and _text(c) == text), None)
        if j is None:
            way = "its def line"
            j = next((j for j, head in heads.items() if j not in claimed and text.lstrip().startswith(head)), None)
        if j is not None:
            claimed[j], how[j] = i, way
            taken.add(i)

    follows: dict[int, list[int]] = {}             # source position -> the added cells after it
    anchor = -1
    position_of = {i: j for j, i in claimed.items()}
    for i in range(len(cells)):
        if i in position_of:
            anchor = position_of[i]
        else:
            follows.setdefault(anchor, []).append(i)

    out = []
    added = 0

    def safe_markdown(i: int):
        cell, changed = markdown_cell(cells[i])
        if changed:
            notes.append(f"markdown cell {i + 1} held HTML or links that could run script; it is shown sanitized")
        return cell

    def emit_added(j: int) -> None:
        nonlocal added
        for i in follows.get(j, []):
            cell, meta = cells[i], nbgrader_meta(cells[i])
            added += 1
            kind = cell.get("cell_type")
            if kind == "markdown":
                new = safe_markdown(i)
            elif kind == "code":
                new = nbformat.v4.new_code_cell(_text(cell))
            else:
                new = nbformat.v4.new_raw_cell(_text(cell))
                new.metadata["raw_mimetype"] = "text/plain"      # shown as text, never as HTML
            new["id"] = f"added-{added}"
            if meta.get("grade") or meta.get("solution") or meta.get("task") or meta.get("locked"):
                notes.append(f"cell {i + 1} claims to be a {_claims(meta)}: it is kept as an ordinary "
                             "cell and not graded (the assignment's own cells are)")
            out.append(new)

    emit_added(-1)
    for j, (src, rel) in enumerate(zip(source.cells, release.cells)):
        i = claimed.get(j)
        theirs = cells[i] if i is not None else None
        gid = escape_markdown(grade_id(src) or "")
        if kinds[j] == "free":
            if theirs is None or src.get("id", "").startswith(FIGURE_PREFIX):
                continue                # a figure of the solution shows the goal; nothing graded needs it
            if _text(theirs) == _text(rel) or rel.cell_type == "code":
                cell = copy.deepcopy(rel)
                cell.source = _text(theirs)
            else:
                cell = safe_markdown(i)
        else:
            cell = copy.deepcopy(rel)
            cell.cell_type = src.cell_type
            if kinds[j] == "answer":
                cell.source = _text(theirs) if theirs is not None else _text(rel)
                if theirs is not None and cell.cell_type == "markdown":       # a written answer
                    cell.source = markdown_cell(theirs)[0].source
                if theirs is None:
                    notes.append(f"no answer cell '{gid}' was found: it is graded as released (the stub)")
                elif how[j] != "grade id":
                    notes.append(f"the answer cell '{gid}' was found by {how[j]} (its nbgrader metadata "
                                 "had been changed or removed)")
            else:
                cell.source = _text(src)
                if theirs is None and is_grade_cell(src):
                    notes.append(f"grade cell '{gid}' was missing from the submission; the course's is back")
            if theirs is not None and _edited(theirs, rel) and (kinds[j] != "answer" or how[j] == "grade id"):
                notes.append(f"'{gid}' had been edited into a {theirs.get('cell_type')} cell that claims to be "
                             f"a {_claims(nbgrader_meta(theirs))}; the course's cell counts")
            if cell.cell_type == "code":
                cell.outputs, cell.execution_count = [], None
            else:
                cell.pop("outputs", None)
                cell.pop("execution_count", None)
        cell["id"] = src.get("id")
        out.append(cell)
        emit_added(j)

    theirs = student.get("metadata", {}).get("kernelspec") if isinstance(student.get("metadata"), dict) else None
    if isinstance(theirs, dict) and theirs.get("name") != source.metadata.get("kernelspec", {}).get("name"):
        notes.append(f"the notebook asked for the kernel '{escape_markdown(str(theirs.get('name')), 40)}'; "
                     "it is graded with the course's")
    nb = nbformat.v4.new_notebook(cells=out, metadata=copy.deepcopy(source.metadata))
    nb.nbformat_minor = source.get("nbformat_minor", nb.nbformat_minor)
    return Rebuilt(nb, notes)


_FIELDS = ("grade", "solution", "locked", "task", "points", "grade_id")


def _edited(theirs, ours) -> bool:
    """Whether a student's cell differs from the released one in type or nbgrader metadata."""
    mine, course = nbgrader_meta(theirs), nbgrader_meta(ours)
    return theirs.get("cell_type") != ours.get("cell_type") or any(mine.get(k) != course.get(k) for k in _FIELDS)


@dataclass
class AspectScore:
    aspect: str
    points: float
    max_points: float
    report: str
    review: str = ""        # why this aspect waits for an instructor (nbgrader's manual grading)


@dataclass
class Assessment:
    """How both runners score a submission: the points per aspect, and what a person should
    know (markdown lines): how the notebook was rebuilt, what reached the grader's machinery
    (those aspects score 0 and wait for an instructor), and constructs worth a look."""
    assignment: str
    scores: list[AspectScore]
    notes: list[str]
    flags: list[str]

    def for_the_instructor(self) -> str:
        """One markdown cell for the autograded notebook and the feedback ('' when nothing)."""
        if not (self.notes or self.flags or any(s.review for s in self.scores)):
            return ""
        parts = ["**For the instructor**"]
        reviewed = [s for s in self.scores if s.review]
        if reviewed:
            parts.append("Scored 0 until an instructor reviews them (the answer cells reach the grader's "
                         "machinery; nbgrader lists these grade cells for manual grading):\n\n"
                         + "\n".join(f"- `{s.aspect}`: {s.review}" for s in reviewed if s.points == 0))
            waiting = [s.aspect for s in reviewed if s.points > 0]
            if waiting:
                parts.append("Points kept, marked for a look (the same code runs before them): "
                             + ", ".join(f"`{a}`" for a in waiting))
        if self.notes:
            parts.append("How the submission was read:\n\n" + "\n".join(f"- {n}" for n in self.notes))
        if self.flags:
            parts.append("Worth a look (no points are taken for these):\n\n" + "\n".join(f"- {f}" for f in self.flags))
        return "\n\n".join(parts)


def graded_aspects(source_nb) -> list:
    """The registry's aspects for the grade cells of a source notebook, in notebook order."""
    from medgrade.registry import ASPECTS, assignments
    assignments()
    found = []
    for cell in source_nb.cells:
        if is_grade_cell(cell) and not is_answer_cell(cell):
            gid = grade_id(cell)
            if gid not in ASPECTS:
                raise NotebookError(f"grade cell {gid!r} has no check in the grading package")
            found.append(ASPECTS[gid])
    return found


def answer_cells(nb) -> list[tuple[str, str]]:
    """(grade id, source) of every answer cell, in order."""
    return [(grade_id(c) or "", c.source) for c in nb.cells if is_answer_cell(c)]


def assess_rebuilt(nb, assignment: str, notes: list[str] = ()) -> Assessment:
    """Score a rebuilt submission (:func:`rebuild`): every aspect of the assignment graded on the
    answer cells in isolated workers (:mod:`medgrade.isolation`); an aspect whose task's answer
    cell reaches the grader's machinery (:mod:`medgrade.scan`) scores 0 and waits for review."""
    from medgrade import scan
    from medgrade.isolation import grade_cells
    from medgrade.registry import assignments
    from medgrade.sanitize import escape_markdown
    source = read_notebook(source_notebook_path(assignment))
    tasks = list(assignments().get(assignment, {}))
    setup = next((c.source for c in nb.cells if c.get("cell_type") == "code" and grade_id(c) == "setup"), "")
    cells = answer_cells(nb)
    found = scan.findings(setup, cells, tasks)
    charged = scan.charges(cells, found, tasks)
    scores = []
    for a, points, report in grade_cells(submission_cells(nb), graded_aspects(source)):
        score = AspectScore(a.id, float(points), a.points, report)
        if a.task in charged.tasks:
            why = escape_markdown(str(charged.tasks[a.task][0]), 200)
            score.review = why
            score.points = 0.0
            score.report += (f"\n  ✗ scored 0 for review: {charged.tasks[a.task][0]} (the checks alone gave "
                             f"{points:g} / {a.points:g}; an instructor can restore them)")
        elif charged.everywhere:
            score.review = "marked for a look: code that reaches the grader's machinery runs before it"
        scores.append(score)
    flags = [escape_markdown(str(f), 200) for f in found if not f.costs]
    return Assessment(assignment, scores, list(notes), flags)


def assess(nb, assignment: str) -> Assessment:
    """What both runners record for a submission: :func:`rebuild`, then :func:`assess_rebuilt`."""
    rebuilt = rebuild(nb, assignment)
    return assess_rebuilt(rebuilt.nb, assignment, rebuilt.notes)


def grade_submission(nb, assignment: str) -> list[AspectScore]:
    """The points per aspect of a submission (:func:`assess`): the score both runners record."""
    return assess(nb, assignment).scores


def assess_notebook(path: str | os.PathLike) -> Assessment:
    """Read a submission, tell its assignment, and assess it."""
    nb = read_notebook(path)
    return assess(nb, identify_assignment(nb, path))


def grade_notebook(path: str | os.PathLike) -> tuple[str, list[AspectScore]]:
    """Read a submission, tell its assignment, and score it (see :func:`grade_submission`)."""
    found = assess_notebook(path)
    return found.assignment, found.scores
