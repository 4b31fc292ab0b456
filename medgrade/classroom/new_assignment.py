"""A new assignment that already passes the course's own tests.

    ./course new ID "Title"          (python -m medgrade.classroom.new_assignment ID "Title")

ID is ``NN_topic`` (two digits, an underscore, lowercase words joined by underscores). Writes the
chapter's notebook ``source/ID/ID.ipynb``, its folder ``medgrade/assignments/ID/`` (``__init__``,
``checks``, ``inputs``, ``reference``, ``mutants``), has nbgrader generate ``release/ID/`` and
``solutions/ID/`` from it, and adds ID to the README's tables: one example task with two graded
aspects and their mutants (:mod:`medgrade.classroom.assignment_template`), to be replaced by the
chapter's own. A bad or existing ID is one line on stderr and exit 2, before anything is written;
if a step fails, what was written is removed again (exit 1).
"""
from __future__ import annotations

import importlib
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from medgrade.assignments import ID
from medgrade.classroom import assignment_template as template
from medgrade.notebook import PACKAGE_ROOT, course_root

USAGE = 'usage: ./course new ID "Title"   (ID: NN_topic, e.g. 12_segmentation_metrics)'
KINDS = ("source", "release", "solutions")
README = "README.md"


class Refused(Exception):
    """The command cannot run as asked; the message is one line for the user."""


# ---------------------------------------------------------------- the README's tables

@dataclass
class Table:
    """A markdown table of the README: where its lines are, and its rows split into cells."""
    start: int                    # index of the header line
    lines: list[str]

    @property
    def header(self) -> list[str]:
        return cells(self.lines[0])

    @property
    def body(self) -> list[list[str]]:
        return [cells(line) for line in self.lines[2:]]


def cells(row: str) -> list[str]:
    """The cells of a table row, stripped (``| a | `b` |`` -> ``["a", "`b`"]``)."""
    return [c.strip() for c in row.strip().strip("|").split("|")]


def tables(text: str) -> list[Table]:
    """Every table of a markdown text: runs of lines that start with ``|``, a separator second."""
    found, lines, i = [], text.split("\n"), 0
    while i < len(lines):
        if lines[i].lstrip().startswith("|"):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            if j - i >= 2 and set("".join(cells(lines[i + 1]))) <= set("-: "):
                found.append(Table(i, lines[i:j]))
            i = j
        else:
            i += 1
    return found


_COLUMN = re.compile(r"`?(\d\d)(_[a-z0-9_]+)?`?")


def numbers_table(text: str) -> Table | None:
    """The table of numbers per assignment: its header names a column per assignment, by number
    (``01``) or by id (``01_conv_arithmetic``), after an empty corner cell."""
    for table in tables(text):
        head = table.header
        if len(head) >= 2 and head[0] == "" and all(_COLUMN.fullmatch(c) for c in head[1:]):
            return table
    return None


def catalogue_table(text: str) -> Table | None:
    """The catalogue at the top: a row per assignment, its id in the first column."""
    return next((t for t in tables(text) if t.header and t.header[0].lower() == "assignment"), None)


def column_labels(text: str) -> list[str]:
    """The numbers table's column headers, backticks removed ([] without such a table)."""
    table = numbers_table(text)
    return [c.strip("`") for c in table.header[1:]] if table else []


def catalogue_ids(text: str) -> list[str]:
    """The ids of the catalogue's rows, backticks removed ([] without a catalogue)."""
    table = catalogue_table(text)
    return [row[0].strip("`") for row in table.body] if table else []


def label_of(assignment: str, ids: list[str]) -> str:
    """An assignment's column header: its number, or its id where another assignment has that number."""
    number = assignment[:2]
    return number if [a[:2] for a in ids].count(number) == 1 else assignment


def assignment_of(label: str, ids: list[str]) -> str | None:
    """The assignment a column header names, None if none or several do."""
    if label in ids:
        return label
    matching = [a for a in ids if a[:2] == label]
    return matching[0] if len(matching) == 1 else None


def add_to_readme(text: str, assignment: str, title: str, *, ids: list[str], points: float, aspects: int,
                  mutants: int, honest: int) -> str:
    """``text`` with ``assignment`` in the catalogue (a row: its title) and in the table of numbers
    (a column: its points and mutants, the timings left to measure), in sorted position. ``ids``:
    the other assignments, which a column headed by a bare number is read against."""
    others = sorted(set(ids) - {assignment})
    everyone = sorted(others + [assignment])
    lines = text.split("\n")
    numbers = numbers_table(text)
    if numbers is not None:
        columns = [assignment_of(c, everyone) or assignment_of(c, others) or c for c in column_labels(text)]
        if assignment not in columns:
            at = sum(1 for c in columns if c < assignment)
            columns.insert(at, assignment)
            for k, line in enumerate(numbers.lines):
                raw = line.split("|")          # what is outside the pipes comes first and last
                if k == 0:
                    raw = raw[:2] + [f" {label_of(c, everyone)} " for c in columns] + raw[-1:]
                elif k == 1:
                    raw.insert(2 + at, "---")
                else:
                    label = cells(line)[0].lower()
                    value = (f"{points:g} ({aspects})" if label.startswith("points")
                             else f"{mutants} ({honest})" if label.startswith("mutants") else "–")
                    raw.insert(2 + at, f" {value} ")
                lines[numbers.start + k] = "|".join(raw)
    catalogue = catalogue_table("\n".join(lines))
    if catalogue is not None and assignment not in catalogue_ids("\n".join(lines)):
        rows = [row[0].strip("`") for row in catalogue.body]
        lines.insert(catalogue.start + 2 + sum(1 for r in rows if r < assignment), f"| `{assignment}` | – | {title} |")
    return "\n".join(lines)


# ---------------------------------------------------------------- the notebook

def notebook(assignment: str, title: str):
    """The chapter's source notebook: the template's cells with nbgrader's metadata."""
    import nbformat
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    for i, (kind, role, gid, points, source) in enumerate(template.CELLS):
        source = fill(source, assignment, title)
        cell = nbformat.v4.new_markdown_cell(source) if kind == "markdown" else nbformat.v4.new_code_cell(source)
        cell["id"] = f"cell-{i:02d}"
        if role is not None:
            meta = {"grade": role == "grade", "grade_id": gid, "locked": role != "answer",
                    "schema_version": 3, "solution": role == "answer", "task": False}
            if role == "grade":
                meta["points"] = points
            cell.metadata["nbgrader"] = dict(sorted(meta.items()))
        nb.cells.append(cell)
    return nb


def fill(text: str, assignment: str, title: str) -> str:
    return text.replace("__ID__", assignment).replace("__NN__", assignment[:2]).replace("__TITLE__", title)


# ---------------------------------------------------------------- the command

def check_request(assignment: str, title: str, root: Path) -> None:
    """Refused (one line) for a bad ID or title, an existing ID, or a course folder other than
    this checkout; nothing is read but folder names."""
    if not ID.fullmatch(assignment):
        raise Refused(f"{assignment!r} is not an assignment id: NN_topic, two digits, an underscore, "
                      "lowercase words joined by underscores (e.g. 12_segmentation_metrics)")
    if not title.strip() or any(c in title for c in '"\\|\n\r'):
        raise Refused("the title must be one line of text without quotes, backslashes or '|' "
                      "(it goes into docstrings and a README table)")
    if root != PACKAGE_ROOT:
        raise Refused(f"the course folder is {root} (MEDGRADE_COURSE_ROOT), but a new assignment's checks "
                      f"go into {PACKAGE_ROOT}: run this in that checkout without MEDGRADE_COURSE_ROOT")
    for where in (root / kind / assignment for kind in KINDS):
        if where.exists():
            raise Refused(f"assignment {assignment} exists already ({where.relative_to(root)}/)")
    package = PACKAGE_ROOT / "medgrade" / "assignments" / assignment
    if package.exists():
        raise Refused(f"assignment {assignment} exists already ({package.relative_to(PACKAGE_ROOT)}/)")


def check_aspect_ids() -> None:
    """Refused when another assignment already declares an aspect of the example task (aspect ids are global)."""
    from medgrade.registry import ASPECTS, load_checks
    try:
        load_checks()
    except Exception as e:
        raise Refused(f"the course's checks do not load ({type(e).__name__}: {e}): "
                      "tests/test_structure.py says which folder") from None
    for aspect_id in template.ASPECTS:
        if aspect_id in ASPECTS:
            raise Refused(f"{ASPECTS[aspect_id].assignment} still holds the example task {template.TASK} "
                          f"(aspect {aspect_id}; aspect ids are global): replace it there first")


def create(assignment: str, title: str, root: Path) -> list[Path]:
    """Write everything; on any failure remove it again and re-raise. Returns what was made."""
    import nbformat

    from medgrade.classroom.nbgrader_cli import run_nbgrader
    package = PACKAGE_ROOT / "medgrade" / "assignments" / assignment
    made = [root / "source" / assignment, package, root / "release" / assignment, root / "solutions" / assignment]
    readme = root / README
    before = readme.read_text(encoding="utf-8") if readme.is_file() else None
    try:
        made[0].mkdir(parents=True)
        nbformat.write(notebook(assignment, title), made[0] / f"{assignment}.ipynb")
        package.mkdir(parents=True)
        for name, text in template.FILES.items():
            (package / name).write_text(fill(text, assignment, title), encoding="utf-8")
        importlib.invalidate_caches()
        checks = importlib.import_module(f"medgrade.assignments.{assignment}.checks")
        mutants = importlib.import_module(f"medgrade.assignments.{assignment}.mutants")
        from medgrade.registry import ASPECTS
        declared = [a for a in ASPECTS.values() if a.assignment == checks.A]
        from medgrade.classroom import chapter
        nb = nbformat.read(made[0] / f"{assignment}.ipynb", as_version=4)      # the grading section, the figures
        grading = chapter.grading_cell(assignment, chapter.DEFAULT_ABOUT)
        chapter.arrange(nb, grading, chapter.figure_cells(chapter.solution_figures(assignment)))
        nbformat.write(nb, made[0] / f"{assignment}.ipynb")
        with tempfile.TemporaryDirectory() as scratch:     # a gradebook of its own: the course's is not touched
            db = f"--CourseDirectory.db_url=sqlite:///{Path(scratch) / 'gradebook.db'}"
            run_nbgrader("generate_assignment", assignment, db, cwd=root)
            run_nbgrader("generate_solution", assignment, db, cwd=root)
        if before is not None:
            from medgrade import assignments
            readme.write_text(add_to_readme(
                before, assignment, title, ids=assignments.ids(),
                points=sum(a.points for a in declared), aspects=len(declared),
                mutants=len(mutants.MUTANTS), honest=sum(1 for m in mutants.MUTANTS if not m.breaks)),
                encoding="utf-8")
    except BaseException:
        for path in made:
            shutil.rmtree(path, ignore_errors=True)
        if before is not None:
            readme.write_text(before, encoding="utf-8")
        raise
    return made + ([readme] if before is not None else [])


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        print(__doc__)
        return 0
    if len(argv) != 2:
        print(USAGE, file=sys.stderr)
        return 2
    assignment, title = argv[0], argv[1].strip()
    root = course_root()
    try:
        check_request(assignment, title, root)
        check_aspect_ids()
    except Refused as e:
        print(f"course new: {e}", file=sys.stderr)
        return 2
    try:
        made = create(assignment, title, root)
    except Exception as e:                 # nbgrader failed, or the template no longer imports
        print(f"course new: {assignment} was not created, nothing was left behind: {type(e).__name__}: {e}",
              file=sys.stderr)
        return 1
    print(f"created {assignment}: {', '.join(str(p.relative_to(root)) for p in made)}")
    print(f"next: fill in source/{assignment}/{assignment}.ipynb and medgrade/assignments/{assignment}/; "
          f"then .venv/bin/pytest -m quick tests/test_structure.py says what is missing "
          f"(README.md: 'Adding an assignment')")
    return 0


if __name__ == "__main__":
    sys.exit(main())
