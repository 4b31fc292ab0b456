"""The real nbgrader workflow in a temporary course folder, and the self-learner runner beside it.

One run of the instructor demo (generate, autograde, feedback, export) in one course folder
grades, for every assignment, the solutions, the untouched release and the solutions with
realistic bugs; in WARNED assignments also the solutions with functions that emit warnings; every
tampered notebook (of tests/test_tampering.py's assignment); in the SHARED one a hostile
notebook. The tests then read the gradebook,
the feedback, the generated release/ and solutions/ and the runner. One course for the whole
course's assignments: nbgrader's own start-up, generation, feedback and export are paid once,
and one autograde batch keeps both cores busy (the tests of this module run on one test worker,
see tests/conftest.py).
"""
from __future__ import annotations

import functools
import hashlib
import html as html_module
import json
import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from medgrade.classroom.nbgrader_cli import tool_env
from medgrade.mutants import demo_mutants
from medgrade.notebook import PACKAGE_ROOT as ROOT
from medgrade.registry import ASPECTS, assignments
from tests.conftest import load_notebook
from tests.helpers import copy_course, require
from tests.redteam.xss import hostile_notebook, hostile_student_ids
from tests.test_tampering import STUDENTS as TAMPERED
from tests.test_tampering import A as TAMPERED_ASSIGNMENT
from tests.test_tampering import tampered

pytestmark = pytest.mark.slow
ASSIGNMENTS = list(assignments())
# The student whose functions emit warnings (Python's and torch's own) is graded in the chapter
# whose notebook runs fastest and in the one whose library warns by itself
# (torch.ao.quantization): what keeps warnings from costing points (the checks' quiet(),
# nbgrader's IgnorePattern) is the same for every assignment.
WARNED = {"05_batchnorm", "26_compression"}
# The first assignment's course also grades the hostile notebook of tests/redteam/xss.py, and the
# tampered notebooks of tests/test_tampering.py are of its assignment (the fastest chapter too):
# one nbgrader run serves those checks.
SHARED = ASSIGNMENTS[0]
HOSTILE = "mallory"

WARNING_CELL = '''\
import functools, warnings
def _emits_warnings(fn):
    @functools.wraps(fn)
    def wrapped(*args, **kwargs):
        warnings.warn("a warning from the student's code", UserWarning)
        torch.tensor(torch.ones(1))  # torch's own UserWarning (copy-construct)
        return fn(*args, **kwargs)
    return wrapped
for _name in {names!r}:
    globals()[_name] = _emits_warnings(globals()[_name])
'''


def _run(args, cwd, **env):
    return subprocess.run([sys.executable, *args], cwd=cwd, env=tool_env(**env), capture_output=True, text=True)


def _warning_submission(assignment: str, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    nb = nbformat.read(ROOT / "solutions" / assignment / f"{assignment}.ipynb", as_version=4)
    tasks = list(assignments()[assignment])
    last_answer = max(i for i, c in enumerate(nb.cells) if c.get("metadata", {}).get("nbgrader", {}).get("solution"))
    nb.cells.insert(last_answer + 1, nbformat.v4.new_code_cell(WARNING_CELL.format(names=tasks)))
    path = folder / f"{assignment}.ipynb"
    nbformat.write(nb, path)
    return path


def _shared_submissions(folder: Path) -> list[str]:
    """--add arguments for the tampered notebooks and the hostile one."""
    notebooks = {(student, TAMPERED_ASSIGNMENT): tampered(name) for student, name in TAMPERED.items()}
    notebooks[HOSTILE, SHARED] = hostile_notebook(load_notebook("solutions", SHARED))
    adds = []
    for (student, assignment), nb in notebooks.items():
        path = folder / student / f"{assignment}.ipynb"
        path.parent.mkdir()
        path.write_text(nbformat.writes(nb, version=nbformat.NO_CONVERT))   # as the student left it
        adds += ["--add", f"{student}={path}"]
    return adds


@pytest.fixture(scope="session")
def demo_course(tmp_path_factory):
    """The demo's course for every assignment at once: (folder, the demo's output)."""
    # source/ only: release/ and solutions/ are what the demo generates (compared with the committed ones)
    course = copy_course(tmp_path_factory.mktemp("course"), parts=("source",))
    extra = tmp_path_factory.mktemp("extra")
    adds = []
    for a in sorted(WARNED):
        adds += ["--add", f"dee_warns={_warning_submission(a, extra / a)}"]
    adds += _shared_submissions(extra)
    proc = _run(["-m", "medgrade.classroom.demo", "-j", "2", *adds], cwd=course, MEDGRADE_COURSE_ROOT=str(course))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return course, proc.stdout


@pytest.fixture(params=ASSIGNMENTS)
def course(request, demo_course):
    """One assignment of the demo's course: (folder, the demo's output, assignment)."""
    return (*demo_course, request.param)


def _scores(course: Path, assignment: str) -> dict:
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for submission in gb.find_assignment(assignment).submissions:
            for nb in submission.notebooks:
                for grade in nb.grades:
                    out[submission.student.id, assignment, grade.name] = grade.score
    return out


def test_autograde_scores(course):
    course, stdout, a = course
    scores = _scores(course, a)
    for tasks in assignments()[a].values():
        for aspect in tasks:
            full = aspect.points if aspect.gradable_here() else 0       # CUDA-only aspects without CUDA
            assert scores["ada_solved", a, aspect.id] == full, aspect.id
            assert scores["ben_stub", a, aspect.id] == 0, aspect.id
            if a in WARNED:
                assert scores["dee_warns", a, aspect.id] == full, f"a warning cost {aspect.id}"
    for line in ("ada_solved", "ben_stub", "cyd_buggy", "grades.csv", "feedback"):
        assert line in stdout


def test_the_graded_cells_ran_in_the_kernel(course):
    """Students see their cells' outputs in the feedback: the setup, answer and grade cells of
    every autograded notebook ran in the notebook's (confined) kernel."""
    course, _, a = course
    for student in ("ada_solved", "ben_stub", "cyd_buggy"):
        nb = nbformat.read(course / "autograded" / student / a / f"{a}.ipynb", as_version=4)
        graded = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader")]
        assert graded and all(c.execution_count for c in graded), \
            f"{student}/{a}: cells without an execution count: the kernel did not run them"


def test_buggy_submission_loses_what_its_bugs_break(course):
    course, stdout, a = course
    scores = _scores(course, a)
    for m in demo_mutants(a):
        assert m.name in stdout
        for aspect_id in m.breaks:
            assert scores["cyd_buggy", a, aspect_id] == 0, (m.name, aspect_id)
    total = sum(v for (s, aa, _), v in scores.items() if s == "cyd_buggy" and aa == a)
    assert 0 < total < sum(x.points for t in assignments()[a].values() for x in t)


@functools.lru_cache(maxsize=1)
def _package_lines() -> frozenset[str]:
    lines = set()
    for path in (ROOT / "medgrade").rglob("*.py"):
        lines |= {line.strip() for line in path.read_text().splitlines() if len(line.strip()) > 30}
    return frozenset(lines)


def _shown_lines(html: str) -> set[str]:
    """The lines a reader of the feedback page sees: tags removed (code cells are highlighted
    token by token), entities decoded."""
    text = html_module.unescape(re.sub(r"<[^>]*>", "", html))
    return {line.strip() for line in text.splitlines()}


def test_feedback_shows_reports_but_no_checking_code(course):
    course, _, a = course
    for student in ("ada_solved", "ben_stub", "cyd_buggy", *(("dee_warns",) if a in WARNED else ())):
        # a line the notebook shows anyway (the student's own code, a call in a visible test)
        # is not a leak
        submitted = course / "submitted" / student / a / f"{a}.ipynb"
        own = {line.strip() for text in (_notebook_text(a), _cells_text(submitted)) for line in text.splitlines()}
        html = (course / "feedback" / student / a / f"{a}.html").read_text()
        leaked = sorted((_package_lines() - own) & _shown_lines(html))
        assert not leaked, f"{student}/{a} feedback shows grading code: {leaked[:3]}"
    buggy = (course / "feedback" / "cyd_buggy" / a / f"{a}.html").read_text()
    assert "counterexample" in buggy
    assert not list(course.rglob(".hypothesis")), "Hypothesis wrote an example database"
    rows = (course / "grades.csv").read_text().splitlines()[1:]
    assert sum(row.startswith(f"{a},") for row in rows) == len(_students(course)), rows[:3]


def _notebook_text(assignment: str) -> str:
    return _cells_text(ROOT / "release" / assignment / f"{assignment}.ipynb")


def _cells_text(path: Path) -> str:
    return "\n".join(cell.source for cell in nbformat.read(path, as_version=4).cells)


def _grade_submission(path: Path):
    from medgrade.notebook import grade_notebook
    return grade_notebook(path)


def test_self_learner_runner_gives_the_same_points_as_autograde(course):
    """The buggy notebook (partial credit: the case where runners could differ), graded again by
    `pytest --grade`'s engine: same points, aspect by aspect. The solved and stub notebooks score
    full and zero in both (test_autograde_scores here, tests/test_checks.py for the engine), and
    the tampered notebooks' assignment compares both runners on every one of them."""
    course, _, a = course
    scores = _scores(course, a)
    jobs = [("cyd_buggy", a)]
    paths = [course / "submitted" / s / a / f"{a}.ipynb" for s, a in jobs]
    os.environ["MEDGRADE_COURSE_ROOT"] = str(course)
    try:
        results = [_grade_submission(path) for path in paths]
    finally:
        del os.environ["MEDGRADE_COURSE_ROOT"]
    for (student, a), (assignment, aspect_scores) in zip(jobs, results):
        assert assignment == a
        assert len(aspect_scores) == sum(len(t) for t in assignments()[a].values())
        shown = _reports(course / "autograded" / student / a / f"{a}.ipynb")
        for s in aspect_scores:
            assert s.points == scores[student, a, s.aspect], (student, s.aspect)
            # the same report, counterexamples included: derandomized, in two separate gradings
            # (a speed aspect's report shows the ratio it measured, which varies)
            if ASPECTS[s.aspect].kind == "correct":
                assert s.report.rstrip() == shown[s.aspect], (student, s.aspect, s.report, shown[s.aspect])


def _reports(path: Path) -> dict[str, str]:
    """grade id -> the report autograde wrote in that grade cell (its printed text)."""
    from medgrade.notebook import grade_id, is_grade_cell
    nb = nbformat.read(path, as_version=4)
    return {grade_id(c): "".join(o.get("text", "") for o in c.outputs if o.get("output_type") == "stream").rstrip()
            for c in nb.cells if c.cell_type == "code" and is_grade_cell(c)}


def _students(course: Path) -> list[str]:
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        return [s.id for s in gb.students]


def test_release_and_solutions_are_what_nbgrader_makes_of_source(demo_course):
    """release/ and solutions/ are committed; the demo generated them again from source/ with
    nbgrader: they must be the same (run ./course demo, or nbgrader generate_*, after editing source/)."""
    course, _ = demo_course
    for a in ASSIGNMENTS:
        for kind in ("release", "solutions"):
            made = json.loads((course / kind / a / f"{a}.ipynb").read_text())
            committed = json.loads((ROOT / kind / a / f"{a}.ipynb").read_text())
            assert made == committed, f"{kind}/{a} is stale: run ./course demo (or nbgrader generate_*)"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize("course", ASSIGNMENTS[:1], indirect=True)
@pytest.mark.parametrize("args,message", [
    (["99_nothing"], "unknown assignment '99_nothing'"),
    (["--add", "eve=does/not/exist.ipynb"], "no such notebook"),
    (["--add", "eve={malformed}"], "not a notebook"),
    (["--add", "eve={foreign}"], "unknown assignment"),
])
def test_demo_rejects_bad_input_and_keeps_the_gradebook(course, tmp_path, args, message):
    course, _, _ = course
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    foreign = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(foreign, tmp_path / "mine.ipynb")
    args = [x.format(malformed=tmp_path / "broken.ipynb", foreign=tmp_path / "mine.ipynb") for x in args]
    before = _digest(course / "gradebook.db")
    proc = _run(["-m", "medgrade.classroom.demo", *args], cwd=course, MEDGRADE_COURSE_ROOT=str(course))
    assert proc.returncode != 0
    errors = proc.stderr.strip().splitlines()
    assert len(errors) == 1 and message in errors[0], proc.stderr
    assert _digest(course / "gradebook.db") == before


@pytest.mark.parametrize("course", ASSIGNMENTS[:1], indirect=True)
def test_student_and_instructor_paths_in_a_browser(course):
    """JupyterLab on the demo's course folder, driven in Debian's Chromium (tests/ui): the
    student's path, the instructor's, the feedback; then a test that fails on purpose, which
    must leave its step screenshots and its trace. Playwright never downloads a browser."""
    from tests import browser
    course, _, a = course
    require(browser.missing())
    assert a == browser.ASSIGNMENT
    output = browser.REPORTS / "browser"
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    log = output / "jupyterlab.log"
    expect = browser.expected_scores(course)
    other = ("screenshots.spec", "selfcheck.spec", "untrusted.spec")
    specs = [p for p in (browser.UI / "specs").glob("*.spec.ts") if p.stem not in other]
    planned = sum(len(re.findall(r"^test\(", p.read_text(), re.M)) for p in specs)
    with browser.jupyter_lab(course, log) as url:
        proc, downloaded = browser.playwright(url, course, output / "results", "--project=course",
                                              expect=expect, capture=True)
        shown = proc.stdout + proc.stderr
        assert proc.returncode == 0 and f"{planned} passed" in shown, (
            f"browser tests failed; screenshots and traces in {output / 'results'}\n{shown[-6000:]}\n"
            f"JupyterLab's log:\n{log.read_text()[-2000:]}")
        assert re.search(r"browser: Chromium \d+\.", shown), "the browser's version is not logged"
        assert not re.search(r"^\s*\d+ (skipped|flaky|failed|interrupted|did not run)", shown, re.M), shown[-3000:]
        assert downloaded == [], f"Playwright downloaded a browser: {downloaded}"

        failing = output / "selfcheck"
        proc, downloaded = browser.playwright(url, course, failing, "--project=selfcheck", expect=expect,
                                              capture=True, COURSE_UI_SELFCHECK="1")
    assert proc.returncode == 1 and "1 failed" in proc.stdout, proc.stdout[-3000:]
    assert downloaded == []
    kept = {p.name for p in failing.rglob("*") if p.is_file()}
    assert {"step-01-the-launcher-is-there.png", "step-02-a-text-that-is-not-there.png",
            "test-failed-1.png", "trace.zip"} <= kept, kept
    shutil.rmtree(failing)


@pytest.mark.parametrize("course", ASSIGNMENTS[:1], indirect=True)
def test_screenshots_command_pictures_what_students_see(course, tmp_path, capsys):
    """`./course screenshots` on the demo's course: PNG files of a released notebook, its first
    task, a student's feedback and the counterexample in it."""
    from tests import browser
    course, _, _ = course
    require(browser.missing())
    out = tmp_path / "shots"
    assert browser.main(["screenshots", "--course", str(course), "--out", str(out)]) == 0, capsys.readouterr()
    pictures = {p.name: p.read_bytes() for p in out.glob("*.png")}
    assert sorted(pictures) == ["feedback.png", "feedback_counterexample.png", "released_notebook.png",
                                "released_task.png"]
    for name, data in pictures.items():
        assert data[:8] == b"\x89PNG\r\n\x1a\n", name
        width, height = struct.unpack(">II", data[16:24])
        assert width >= 1000 and height >= 900 and len(data) > 50_000, (name, width, height, len(data))
    assert str(out / "released_notebook.png") in capsys.readouterr().out


# ---------------------------------------------------------------- untrusted submissions (SHARED)

def _totals(course: Path, assignment: str) -> dict[str, float]:
    totals: dict[str, float] = {}
    for (student, _, _), score in _scores(course, assignment).items():
        totals[student] = totals.get(student, 0.0) + score
    return totals


@pytest.mark.parametrize("course", [TAMPERED_ASSIGNMENT], indirect=True)
def test_tampered_notebooks_score_what_the_solved_one_scores_in_both_runners(course):
    """Points raised, grade cells added, retyped or deleted, answers re-labelled, kernels and ids
    changed (tests/test_tampering.py): nbgrader and `pytest --grade` give each tampered notebook
    the solved notebook's points, and the added grade cell is named in the feedback."""
    from medgrade.notebook import assess_notebook
    course, _, a = course
    totals = _totals(course, a)
    full = totals["ada_solved"]
    assert full == sum(x.points for t in assignments()[a].values() for x in t)
    os.environ["MEDGRADE_COURSE_ROOT"] = str(course)
    try:
        for student, name in TAMPERED.items():
            learner = assess_notebook(course / "submitted" / student / a / f"{a}.ipynb")
            assert totals[student] == full, (name, totals[student])
            assert sum(s.points for s in learner.scores) == full, (name, [s.report for s in learner.scores])
    finally:
        del os.environ["MEDGRADE_COURSE_ROOT"]
    student = next(s for s, name in TAMPERED.items() if name == "extra_grade_cell")
    feedback = (course / "feedback" / student / a / f"{a}.html").read_text()
    assert "claims to be a grade cell" in feedback and "bonus_points" in feedback


@pytest.mark.parametrize("course", [SHARED], indirect=True)
def test_no_submission_runs_script_in_the_instructors_browser(course):
    """A hostile submission (tests/redteam/xss.py), graded by the real autograde, shown to an
    instructor logged in to an ordinary Jupyter server (a token, XSRF checks on): formgrader's
    submission view and student pages, the feedback (served and as a local file), the class
    report, the autograded notebook in JupyterLab. No payload runs, loads a URL, writes a file
    or navigates. Students whose ids are markup are never graded, so never shown."""
    import secrets

    from nbgrader.api import Gradebook

    from tests import browser
    course, _, a = course
    require(browser.missing())
    odd = hostile_student_ids()
    for student in odd:
        folder = course / "submitted" / student / a
        folder.mkdir(parents=True)
        shutil.copyfile(course / "solutions" / a / f"{a}.ipynb", folder / f"{a}.ipynb")
    try:
        # only the new folders: both ids begin with "<img" (the other students were graded by the demo)
        raw = _run(["-m", "nbgrader", "autograde", a, "--student=<img*"], cwd=course, MEDGRADE_COURSE_ROOT=str(course))
        plain = [s for s in odd if "," not in s]          # --students splits on commas
        classwide = _run(["-m", "medgrade.classroom.grade", "autograde", a, "--students", plain[0], "-j", "1",
                          "--quiet"],
                         cwd=course, MEDGRADE_COURSE_ROOT=str(course))
        assert classwide.returncode == 1 and "not a usable student id" in classwide.stdout, classwide.stdout[-2000:]
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            students = {s.id for s in gb.students}
            submission = gb.find_submission_notebook(a, a, HOSTILE).id
        assert HOSTILE in students and not set(odd) & students, raw.stdout[-2000:] + raw.stderr[-2000:]
        expected = {"assignment": a, "submissions": [{"student": HOSTILE, "id": submission}], "students": [HOSTILE],
                    "feedback": [f"feedback/{HOSTILE}/{a}/{a}.html"], "report": "reports/class_report.html",
                    "autograded": f"autograded/{HOSTILE}/{a}/{a}.ipynb"}
        output = browser.REPORTS / "browser-untrusted"
        shutil.rmtree(output, ignore_errors=True)
        output.mkdir(parents=True)
        token = secrets.token_hex(16)
        with browser.jupyter_lab(course, output / "jupyterlab.log", token=token) as url:
            proc, downloaded = browser.playwright(url, course, output / "results", "--project=untrusted",
                                                  expect=expected, capture=True, COURSE_UI_TOKEN=token)
    finally:
        for student in odd:
            shutil.rmtree(course / "submitted" / student, ignore_errors=True)
    shown = proc.stdout + proc.stderr
    assert proc.returncode == 0 and "4 passed" in shown, f"{output / 'results'}\n{shown[-8000:]}"
    assert downloaded == [] and not list(course.glob("xss-*.txt"))
