"""The instructor's demo: the whole nbgrader workflow on sample submissions.

    python -m medgrade.classroom.demo [ASSIGNMENT ...] [--add STUDENT=NOTEBOOK ...] [-j K]

Run from the course root. Generates the release and solution notebooks from
``source/``, puts three sample students under ``submitted/`` (``ada_solved``:
the solutions; ``ben_stub``: the untouched release; ``cyd_buggy``: the
solutions with realistic bugs from each assignment's ``mutants.py``), plus any notebook
given with ``--add``, then runs the real ``nbgrader autograde`` (on K parallel
workers, as ``./course class autograde`` does), ``generate_feedback`` and
``export`` against the course's gradebook and prints the grade table. Every
argument is checked before anything is written, so a bad argument never
touches the gradebook.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

from medgrade.classroom.grade import (
    DEFAULT_TIMEOUT,
    ClassError,
    check_gradebook,
    db_url_from_config,
    default_workers,
    plan,
    prepare_gradebook,
    run_jobs,
)
from medgrade.classroom.nbgrader_cli import NbgraderFailed, run_nbgrader
from medgrade.notebook import NotebookError, assignment_ids, course_root, identify_assignment, read_notebook

SAMPLES = ("ada_solved", "ben_stub", "cyd_buggy")


class DemoError(Exception):
    pass


def _buggy(assignment: str):
    """The solution notebook with the realistic bugs its ``mutants.py`` picks for the demo."""
    from medgrade.mutants import apply, demo_mutants
    chosen = demo_mutants(assignment)
    nb = read_notebook(course_root() / "solutions" / assignment / f"{assignment}.ipynb")
    return apply(nb, *chosen), [m.name for m in chosen]


def parse_args(argv):
    p = argparse.ArgumentParser(prog="course demo", description=__doc__.split("\n\n")[0])
    p.add_argument("assignments", nargs="*", metavar="ASSIGNMENT",
                   help="assignment ids (default: all of source/)")
    p.add_argument("--add", action="append", default=[], metavar="STUDENT=NOTEBOOK",
                   help="also grade this notebook as this student's submission")
    p.add_argument("-j", "--workers", type=int, default=None,
                   help="parallel grading workers (default: what cores and memory allow)")
    return p.parse_args(argv)


def validate(args) -> tuple[list[str], list[tuple[str, str, Path]]]:
    known = assignment_ids()
    chosen = args.assignments or known
    if args.workers is not None and args.workers < 1:
        raise DemoError(f"-j expects a positive number of workers, got {args.workers}")
    for a in chosen:
        if a not in known:
            raise DemoError(f"unknown assignment {a!r} (known: {', '.join(known)})")
    extra = []
    for spec in args.add:
        student, sep, path = spec.partition("=")
        if not sep or not student or not path:
            raise DemoError(f"--add expects STUDENT=NOTEBOOK, got {spec!r}")
        if not student.replace("_", "").replace("-", "").isalnum() or student in SAMPLES:
            raise DemoError(f"--add: {student!r} is not a usable student id")
        nb = read_notebook(path)                       # NotebookError: one clear line
        assignment = identify_assignment(nb, path)
        if assignment not in chosen:
            raise DemoError(f"--add: {path} is {assignment}, which this run does not grade")
        extra.append((student, assignment, Path(path)))
    return chosen, extra


def write_submissions(chosen, extra) -> dict[str, list[str]]:
    import nbformat
    bugs = {}
    for a in chosen:
        notebooks = {
            "ada_solved": read_notebook(course_root() / "solutions" / a / f"{a}.ipynb"),
            "ben_stub": read_notebook(course_root() / "release" / a / f"{a}.ipynb"),
        }
        notebooks["cyd_buggy"], bugs[a] = _buggy(a)
        for student, nb in notebooks.items():
            folder = course_root() / "submitted" / student / a
            folder.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, folder / f"{a}.ipynb")
    for student, a, path in extra:
        folder = course_root() / "submitted" / student / a
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, folder / f"{a}.ipynb")
    return bugs


def autograde(chosen, workers: int | None) -> None:
    """nbgrader's autograde of every submission, with the class command's parallel workers."""
    url = check_gradebook(db_url_from_config())
    jobs, rejected = plan(chosen, None, None)
    prepare_gradebook(url, chosen, jobs)
    workers = workers or default_workers()
    t = time.time()
    outcomes = rejected + run_jobs(jobs, workers, url, timeout=DEFAULT_TIMEOUT,
                                   log_path=course_root() / "autograde.log", progress=False)
    failed = [o for o in outcomes if o.status != "graded"]
    if failed:
        raise DemoError("autograde did not grade " + "; ".join(f"{o.job}: {o.status}: {o.reason}" for o in failed))
    print(f"  {len(jobs)} notebooks in {time.time() - t:.1f} s with {min(workers, len(jobs))} workers", flush=True)


def grade_table(chosen) -> str:
    from nbgrader.api import Gradebook, MissingEntry
    lines = []
    with Gradebook(db_url_from_config()) as gb:
        students = sorted(s.id for s in gb.students)
        for a in chosen:
            assignment = gb.find_assignment(a)
            cells = [(nb.name, c.name, c.max_score) for nb in assignment.notebooks for c in nb.grade_cells]
            width = max([len(c[1]) for c in cells] + [len("total")])
            lines.append(f"\n{a}")
            lines.append(f"  {'aspect':<{width}}  " + "  ".join(f"{s:>12}" for s in students))
            totals = {s: 0.0 for s in students}
            for nb_name, cell, max_score in cells:
                row = []
                for s in students:
                    try:
                        score = gb.find_grade(cell, nb_name, a, s).score
                        totals[s] += score
                        row.append(f"{score:g}/{max_score:g}")
                    except MissingEntry:
                        row.append("-")
                lines.append(f"  {cell:<{width}}  " + "  ".join(f"{r:>12}" for r in row))
            out_of = sum(c[2] for c in cells)
            lines.append(f"  {'total':<{width}}  " + "  ".join(f"{totals[s]:g}/{out_of:g}".rjust(12) for s in students))
    return "\n".join(lines)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        chosen, extra = validate(args)
        start = time.time()
        # one nbgrader process per command for the whole course (nbgrader takes a glob)
        patterns = ["*"] if set(chosen) == set(assignment_ids()) else chosen
        print(f"generate {', '.join(chosen)}: release/ and solutions/", flush=True)
        for pattern in patterns:
            run_nbgrader("generate_assignment", pattern, "--force")
            run_nbgrader("generate_solution", pattern, "--force")
        bugs = write_submissions(chosen, extra)
        for a in chosen:
            print(f"autograde {a}: {', '.join(b for b in bugs[a])} in cyd_buggy", flush=True)
        autograde(chosen, args.workers)
        for pattern in patterns:
            run_nbgrader("generate_feedback", pattern, "--force")
        run_nbgrader("export")
        from medgrade.classroom.report import write_report
        report = write_report(db_url_from_config(), chosen, course_root() / "reports")
    except (DemoError, NbgraderFailed, NotebookError, ClassError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    print(grade_table(chosen))
    print(f"\nfeedback: {course_root() / 'feedback'}/<student>/<assignment>/<assignment>.html")
    print(f"grades:   {course_root() / 'grades.csv'}")
    print(f"report:   {report}  (score distributions, the aspects the class lost)")
    print(f"done in {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
