"""What a student sees before their code works: the solution's figures and the grading section.

    python -m medgrade.classroom.chapter [ASSIGNMENT ...]        (./course chapters)

For each assignment (default: all), in ``source/``:

- **Figures.** The solution is executed (the experiments and figures, without the grade
  cells) and every figure a code cell draws is put, as an image attachment, in a markdown
  cell right after it (id ``figure-<cell id>``). The released notebook carries these cells,
  so a student sees what each experiment shows before their own functions can draw it; the
  code cell above redraws it with their code.
- **How this notebook is graded.** A markdown cell (id ``grading``) before the setup cell: the
  chapter's own paragraph on what its checks do (kept as written), then what this tool writes:
  the aspects of each task and their points from the registry, what Validate runs, and
  ``grade("<aspect>", fn)`` shown on a worked example (a realistic bug from the assignment's
  ``mutants.py``, with the report the check prints for it).

Then ``release/`` and ``solutions/`` are generated again with nbgrader. Running it twice gives
the same notebooks (the solutions are seeded; the worked example's check is derandomized).
"""
from __future__ import annotations

import argparse
import base64
import copy
import os
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from medgrade.isolation import DEFAULT_ASPECT_SECONDS, DEFAULT_CALL_SECONDS
from medgrade.notebook import (
    FIGURE_PREFIX,
    NotebookError,
    assignment_ids,
    grade_id,
    is_answer_cell,
    is_grade_cell,
    read_notebook,
    source_notebook_path,
    submission_cells,
)

GRADING_ID = "grading"
FIGURE_NOTE = ("*What the cell above draws with the course's solution: run it once your functions "
               "work and it draws the same from yours.*")
REPORT_LINES = 14           # the worked example's report, at most this many lines


def _course_cells(nb) -> list:
    """The cells of ``nb`` without the ones this tool writes."""
    return [c for c in nb.cells if c.get("id") != GRADING_ID and not c.get("id", "").startswith(FIGURE_PREFIX)]


# ---------------------------------------------------------------- figures

def solution_figures(assignment: str, timeout: int = 600) -> dict[str, list[bytes]]:
    """code cell id -> the PNG images it draws when the solution runs (grade cells left out)."""
    from nbclient import NotebookClient
    nb = copy.deepcopy(read_notebook(source_notebook_path(assignment)))
    nb.cells = _course_cells(nb)
    for cell in nb.cells:
        if cell.cell_type == "code" and is_grade_cell(cell) and not is_answer_cell(cell) and grade_id(cell) != "setup":
            cell.source = ""                       # visible and hidden tests draw nothing
    # the kernel draws into its output only with the inline backend, which it picks itself unless
    # MPLBACKEND names another (./course exports Agg for the commands that draw to files)
    env = {**os.environ, "MPLBACKEND": "module://matplotlib_inline.backend_inline"}
    with tempfile.TemporaryDirectory(prefix="chapter-") as folder:
        NotebookClient(nb, timeout=timeout, kernel_name="python3",
                       resources={"metadata": {"path": folder}}).execute(env=env)
    figures = {}
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        pngs = [base64.b64decode(o["data"]["image/png"]) for o in cell.get("outputs", [])
                if o.get("output_type") in ("display_data", "execute_result") and "image/png" in o.get("data", {})]
        if pngs:
            figures[cell["id"]] = pngs
    return figures


def compact(png: bytes) -> tuple[str, str, bytes]:
    """(MIME type, file extension, bytes): the smaller of a 128-colour PNG (plots stay crisp) and a
    JPEG at quality 80 (noisy scans shrink four times); a preview, three copies of which are committed."""
    import io

    from PIL import Image
    image = Image.open(io.BytesIO(png)).convert("RGB")
    as_png, as_jpeg = io.BytesIO(), io.BytesIO()
    image.quantize(colors=128, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        as_png, "PNG", optimize=True)
    image.save(as_jpeg, "JPEG", quality=80, optimize=True)
    if len(as_png.getvalue()) <= len(as_jpeg.getvalue()):
        return "image/png", "png", as_png.getvalue()
    return "image/jpeg", "jpg", as_jpeg.getvalue()


def figure_cell(cell_id: str, pngs: list[bytes]):
    images = [compact(png) for png in pngs]
    names = [f"{cell_id}-{i + 1}.{ext}" for i, (_, ext, _) in enumerate(images)]
    shown = "\n\n".join(f"![figure {i + 1} of the cell above](attachment:{name})" for i, name in enumerate(names))
    cell = nbformat.v4.new_markdown_cell(f"{FIGURE_NOTE}\n\n{shown}")
    cell["id"] = FIGURE_PREFIX + cell_id
    cell["attachments"] = {name: {mime: base64.b64encode(data).decode()}
                           for name, (mime, _, data) in zip(names, images)}
    return cell


# ---------------------------------------------------------------- the grading section

def _worked_example(assignment: str):
    """(mutant, aspect, report): the first demo bug's first correctness aspect, as graded."""
    from medgrade.isolation import grade_cells
    from medgrade.mutants import apply, demo_mutants
    from medgrade.registry import ASPECTS
    mutant = demo_mutants(assignment)[0]
    aspect = next(ASPECTS[a] for a in mutant.breaks if ASPECTS[a].kind == "correct")
    solved = read_notebook(source_notebook_path(assignment))          # the solution, with its markers as comments
    [(_, _, report)] = grade_cells(submission_cells(apply(solved, mutant)), [aspect])
    return mutant, aspect, report


TABLE_LINE = "**Aspects and points**, as the hidden checks grade them:"
# a new chapter's first paragraph, until its author says what its checks compare with
DEFAULT_ABOUT = ("Each task is a function whose docstring fixes its contract. Write your code where the cell "
                 "says `YOUR CODE HERE` and delete the `raise NotImplementedError()`. Each grade cell under an "
                 "answer runs a few visible asserts; when the notebook is graded it also runs hidden "
                 "property-based tests (Hypothesis) that compare your function with a trusted reference on many "
                 "generated inputs. Each grade cell is one aspect, all or nothing.")


def grading_markdown(assignment: str, about: str, example=None) -> str:
    """The section: ``about`` (the chapter's own words on what its checks do), then what this
    tool writes from the registry and the worked example."""
    from medgrade.registry import assignments
    tasks = assignments()[assignment]
    total = sum(a.points for aspects in tasks.values() for a in aspects)
    rows = [f"| `{task}` | `{a.id}` | {a.points:g} | {a.summary} |" for task, aspects in tasks.items() for a in aspects]
    mutant, aspect, report = example or _worked_example(assignment)
    lines = report.rstrip().splitlines()
    shown = "\n".join(lines[:REPORT_LINES] + (["..."] if len(lines) > REPORT_LINES else []))
    return "\n".join([
        "## How this notebook is graded",
        "",
        about.strip(),
        "",
        TABLE_LINE,
        "",
        "| task | aspect | points | what it checks |",
        "|---|---|---|---|",
        *rows,
        f"| | **total** | **{total:g}** | |",
        "",
        "- The cells under each answer are the **visible tests**: a few examples you can read and run. "
        "Passing them is a good sign, not the grade.",
        "- nbgrader's **Validate** button runs the whole notebook from the top and reports the cells "
        "that fail. It does not run the hidden checks.",
        f"- Unless a docstring gives another limit, each call of your function has {DEFAULT_CALL_SECONDS} s and "
        f"each aspect {DEFAULT_ASPECT_SECONDS} s in all; "
        "a function that runs longer, crashes or exits loses that aspect only.",
        "- To run the hidden checks of one aspect while you work, and see the smallest input on which your "
        "function is wrong, add a cell of your own:",
        "",
        "```python",
        "from medgrade import grade",
        f"grade(\"{aspect.id}\", {aspect.task})",
        "```",
        "",
        f"For example, a `{aspect.task}` with a common mistake ({mutant.why}) gets this report:",
        "",
        "```text",
        shown,
        "```",
        "",
        "A self-learner grades the whole notebook with `./course grade PATH`: the points per aspect and, "
        "for each lost one, the counterexample. A bug costs its points once: an aspect that needs another "
        "of your functions uses the course's version of it.",
    ])


def about_text(nb) -> str:
    """The chapter's own paragraph of its grading section (what precedes the written part)."""
    cell = next((c for c in nb.cells if c.get("id") == GRADING_ID), None)
    if cell is None:
        raise NotebookError("the notebook has no grading section yet: write its first paragraph in a "
                            f"markdown cell with id {GRADING_ID!r} (## How this notebook is graded)")
    text = "".join(cell.source)
    body = text.split("\n", 1)[1] if text.startswith("## How this notebook is graded") else text
    return body.split(TABLE_LINE)[0].strip()


def grading_cell(assignment: str, about: str, example=None):
    cell = nbformat.v4.new_markdown_cell(grading_markdown(assignment, about, example))
    cell["id"] = GRADING_ID
    return cell


# ---------------------------------------------------------------- putting them in source/

def figure_cells(figures: dict[str, list[bytes]]) -> dict:
    """code cell id -> the cell that shows its figures."""
    return {cell_id: figure_cell(cell_id, pngs) for cell_id, pngs in figures.items()}


def arrange(nb, grading, figures: dict):
    """``nb`` with the grading section before the setup cell and each figure cell (``figures``:
    code cell id -> cell) after its code cell."""
    cells = []
    for cell in _course_cells(nb):
        if grade_id(cell) == "setup":
            cells.append(grading)
        cells.append(cell)
        if cell.get("id") in figures:
            cells.append(figures[cell["id"]])
    if not any(c is grading for c in cells):
        raise NotebookError("the notebook has no setup cell (grade id 'setup') to put the grading section before")
    nb.cells = cells
    return nb


def update(assignment: str, with_figures: bool = True) -> Path:
    from medgrade.classroom.nbgrader_cli import run_nbgrader
    path = source_notebook_path(assignment)
    nb = read_notebook(path)
    if with_figures:
        figures = figure_cells(solution_figures(assignment))
    else:                                            # the figure cells as they are
        figures = {c["id"][len(FIGURE_PREFIX):]: c for c in nb.cells if c.get("id", "").startswith(FIGURE_PREFIX)}
    arrange(nb, grading_cell(assignment, about_text(nb)), figures)
    nbformat.write(nb, path)
    run_nbgrader("generate_assignment", assignment, "--force")
    run_nbgrader("generate_solution", assignment, "--force")
    return path


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="course chapters", description=__doc__.split("\n\n")[0])
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignment ids (default: all)")
    p.add_argument("--no-figures", action="store_true", help="keep the figures as they are (no execution)")
    args = p.parse_args(argv)
    known = assignment_ids()
    for a in args.assignments:
        if a not in known:
            print(f"error: unknown assignment {a!r} (known: {', '.join(known)})", file=sys.stderr)
            return 2
    for a in args.assignments or known:
        start = time.time()
        try:
            update(a, with_figures=not args.no_figures)
        except Exception as e:                          # noqa: BLE001  (one line per assignment)
            print(f"error: {a}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}", file=sys.stderr)
            return 1
        what = "grading section" if args.no_figures else "grading section and figures"
        print(f"{a}: {what} updated in {time.time() - start:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
