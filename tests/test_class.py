"""Grading a whole class: `./course class ...` against nbgrader's own serial autograde.

A fixture class of six students on 05_batchnorm (the chapter whose notebook runs fastest: the
class tests are about the plumbing, graded many times over), the one with the untouched release
also on 01_conv_arithmetic: the solutions (with a submission time), the untouched release,
two kinds of realistic bugs, a notebook whose kernel dies, and one with a syntax
error. nbgrader's own serial `autograde` grades it once into one gradebook; the
parallel command must then record exactly the same gradebook and `nbgrader
export` three runs in a row and against a real PostgreSQL server.
"""
from __future__ import annotations

import base64
import hashlib
import html
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from medgrade.classroom import cluster as clusterjobs
from medgrade.classroom import grade as classgrade
from medgrade.classroom.nbgrader_cli import tool_env
from medgrade.mutants import apply, demo_mutants, mutants_of
from medgrade.notebook import PACKAGE_ROOT as ROOT
from medgrade.notebook import is_answer_cell
from medgrade.registry import assignments
from tests.helpers import copy_course, require

pytestmark = pytest.mark.slow
A, B = "05_batchnorm", "01_conv_arithmetic"
OTHER_BUGS = ("eps_outside_sqrt", "backward_dgamma_from_x", "layernorm_unbiased_variance")
FULL_A, FULL_B = (int(sum(x.points for t in assignments()[a].values() for x in t)) for a in (A, B))


def _nb(kind: str, assignment: str):
    return nbformat.read(ROOT / kind / assignment / f"{assignment}.ipynb", as_version=4)


def _with_last_answer(nb, extra: str):
    nb = nbformat.from_dict(nb)
    [c for c in nb.cells if is_answer_cell(c)][-1].source += "\n" + extra
    return nb


def _class_submissions() -> dict[tuple[str, str], object]:
    sol, rel = _nb("solutions", A), _nb("release", A)
    broken = nbformat.from_dict(sol)
    [c for c in broken.cells if is_answer_cell(c) and "def batchnorm_forward" in c.source][0].source += "\n    return ("
    return {
        ("ada_solved", A): sol,
        ("ben_stub", A): rel, ("ben_stub", B): _nb("release", B),
        ("cyd_buggy", A): apply(sol, *demo_mutants(A)),
        ("dan_buggy", A): apply(sol, *[m for m in mutants_of(A) if m.name in OTHER_BUGS]),
        ("eve_dies", A): _with_last_answer(sol, "import os\nos._exit(1)"),
        ("fay_syntax", A): broken,
    }


HACK = """
try:
    import psycopg
    with psycopg.connect({url!r}, connect_timeout=5) as _db:
        _db.execute("update grade set manual_score = 100")
    _reached = True
except Exception as _error:
    _reached = repr(_error)
"""


def _write(course: Path, student: str, assignment: str, nb) -> Path:
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / f"{assignment}.ipynb")
    return folder / f"{assignment}.ipynb"


def _run(course: Path, *args: str, db: str | None = None, **kw):
    env = tool_env(MEDGRADE_COURSE_ROOT=str(course), **({"COURSE_DB_URL": db} if db else {}))
    return subprocess.run([sys.executable, *args], cwd=course, env=env, capture_output=True, text=True, **kw)


def _nbgrader(course: Path, *args: str, db: str | None = None):
    return _run(course, "-m", "nbgrader", *args, "--log-level=WARN", db=db)


def _class(course: Path, *args: str, db: str | None = None, **kw):
    return _run(course, "-m", "medgrade.classroom.grade", *args, db=db, **kw)


def _sqlite(course: Path, name: str) -> str:
    return f"sqlite:///{course / name}"


@pytest.fixture(scope="module")
def klass(tmp_path_factory) -> Path:
    """The class's course folder: assignments generated into fresh.db, submissions in place."""
    course = copy_course(tmp_path_factory.mktemp("class"))
    for a in (A, B):
        proc = _nbgrader(course, "generate_assignment", a, "--force", db=_sqlite(course, "fresh.db"))
        assert proc.returncode == 0, proc.stderr
    for (student, a), nb in _class_submissions().items():
        _write(course, student, a, nb)
    (course / "submitted" / "ada_solved" / A / "timestamp.txt").write_text("2026-11-02 09:30:00.000000 UTC")
    return course


def dump(url: str):
    """Everything autograde records, without database ids: comparable across databases."""
    from nbgrader.api import Gradebook
    rows = []
    with Gradebook(url) as gb:
        students = sorted(s.id for s in gb.students)
        for a in gb.assignments:
            for sub in a.submissions:
                who = (a.name, sub.student.id)
                rows.append(("submission", *who, str(sub.timestamp), str(sub.extension)))
                for nb in sub.notebooks:
                    rows += [("grade", *who, nb.name, g.name, g.auto_score, g.manual_score, g.extra_credit,
                              g.needs_manual_grade) for g in nb.grades]
                    rows += [("comment", *who, nb.name, c.name, c.auto_comment, c.manual_comment)
                             for c in nb.comments]
    return students, sorted(rows, key=repr)


def _export(course: Path, url: str, name: str) -> str:
    proc = _nbgrader(course, "export", f"--to={course / name}", db=url)
    assert proc.returncode == 0, proc.stderr
    return (course / name).read_text()


@pytest.fixture(scope="module")
def serial(klass):
    """nbgrader's own serial autograde of the class: the reference gradebook and export."""
    shutil.copy(klass / "fresh.db", klass / "serial.db")
    url = _sqlite(klass, "serial.db")
    for a in (A, B):
        proc = _nbgrader(klass, "autograde", a, "--force", db=url)
        assert "Traceback" not in proc.stderr, proc.stderr
    return dump(url), _export(klass, url, "serial.csv")


def _scores(url: str, assignment: str, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook
    with Gradebook(url) as gb:
        sub = gb.find_submission(assignment, student)
        return {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}


def test_the_fixture_class_is_what_it_claims(serial):
    (students, rows), _ = serial
    assert students == ["ada_solved", "ben_stub", "cyd_buggy", "dan_buggy", "eve_dies", "fay_syntax"]
    totals = {}
    for row in rows:
        if row[0] == "grade":
            totals[row[1], row[2]] = totals.get((row[1], row[2]), 0) + row[5]
    assert totals[A, "ada_solved"] == FULL_A
    assert totals[A, "ben_stub"] == totals[B, "ben_stub"] == totals[A, "eve_dies"] == 0
    assert all(0 < totals[A, s] < FULL_A for s in ("cyd_buggy", "dan_buggy", "fay_syntax"))


def test_parallel_runs_record_what_a_serial_run_records(klass, serial):
    """Two runs with two workers (the first into the fresh gradebook, the second regrading it):
    the same gradebook and the same export as nbgrader's serial autograde, both times. Each
    run's log has a line per submission (graded, failed with the reason) and nothing else; with
    --verbose (the second run), nbgrader's own log of each notebook follows its line."""
    reference, reference_csv = serial
    shutil.copy(klass / "fresh.db", klass / "gradebook.db")
    url = _sqlite(klass, "gradebook.db")
    for run in range(2):
        log = klass / f"run{run}.log"
        proc = _class(klass, "autograde", A, B, "-j", "2", "--log", str(log), *(["--verbose"] if run else []))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "7 of 7 submissions graded" in proc.stdout
        assert re.search(rf"^ada_solved\s+{FULL_A}/{FULL_A}\s+-$", proc.stdout, re.M), proc.stdout
        assert re.search(rf"^ben_stub\s+0/{FULL_A}\s+0/{FULL_B}$", proc.stdout, re.M), proc.stdout
        assert re.search(rf"^cyd_buggy\s+\d+/{FULL_A}\s+-$", proc.stdout, re.M), proc.stdout
        text = log.read_text()
        assert "database is locked" not in proc.stderr + text
        assert dump(url) == reference, f"run {run}"
        assert _export(klass, url, f"parallel{run}.csv") == reference_csv, f"run {run}"
        lines = text.splitlines()
        assert sum(bool(LOG_LINE.match(line)) for line in lines) == 7, lines
        assert any(f"ada_solved/{A}: graded" in line for line in lines)
        if run == 0:
            assert all(LOG_LINE.match(line) for line in lines) and "Traceback" not in text, lines
        else:
            assert "Sanitizing" in text and "Autograding" in text        # nbgrader's own words, behind --verbose
            assert "SAWarning" not in text and "ProfileDirError" not in text


def test_postgresql_gradebook_records_what_sqlite_records(klass, serial):
    """The class into a real PostgreSQL server: the serial run's gradebook and export. One more
    student knows the gradebook's address and tries to give itself manual scores from its
    notebook: the server listens on a fixed port, as database servers do, which student code
    cannot reach, so no manual score appears and nobody's grade moves."""
    from tests.pgserver import postgres_server, server_bin
    require(None if server_bin() else "PostgreSQL is not installed (Debian: apt-get install postgresql)")
    (students, rows), reference_csv = serial
    with postgres_server() as url:
        for a in (A, B):
            assert _nbgrader(klass, "generate_assignment", a, "--force", db=url).returncode == 0
        _write(klass, "ivy_hacks", A, _with_last_answer(_nb("release", A), HACK.format(url=url)))
        try:
            proc = _class(klass, "autograde", A, B, "-j", "2", "--db", url, "--log", str(klass / "pg.log"))
        finally:
            shutil.rmtree(klass / "submitted" / "ivy_hacks")
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert re.search(rf"^ivy_hacks\s+0/{FULL_A}\s+-$", proc.stdout, re.M), proc.stdout
        pg_students, pg_rows = dump(url)
        assert not [r for r in pg_rows if r[0] == "grade" and r[6] is not None], "student code wrote a grade"
        assert pg_students == sorted([*students, "ivy_hacks"])
        assert [r for r in pg_rows if r[2] != "ivy_hacks"] == rows
        exported = _export(klass, url, "pg.csv").splitlines(keepends=True)
        assert "".join(line for line in exported if ",ivy_hacks," not in line) == reference_csv
        table = _class(klass, "table", A, B, "--db", url)
        assert re.search(rf"^dan_buggy\s+\d+/{FULL_A}\s+-$", table.stdout, re.M), table.stdout + table.stderr


def test_save_auto_grades_writes_a_notebook_all_or_nothing(klass, serial, monkeypatch):
    """A save that fails halfway (here: the third grade cell) leaves every grade as it was;
    nbgrader's own SaveAutoGrades, which commits cell by cell, leaves a mix."""
    from nbgrader import utils
    from nbgrader.preprocessors import SaveAutoGrades as NbgraderSave

    from medgrade.nbgrader_trusted import SaveAutoGrades

    solved = _nb("release", A)             # grade cells without errors: full points
    real = utils.determine_grade
    for saver, mixed in ((SaveAutoGrades, False), (NbgraderSave, True)):
        url = _graded_copy(klass, serial, "atomic.db")
        resources = {"nbgrader": {"notebook": A, "assignment": A, "student": "ben_stub", "db_url": url}}
        calls = []

        def failing(cell, log=None, calls=calls):
            calls.append(cell)
            if len(calls) == 3:
                raise RuntimeError("the grading process died here")
            return real(cell, log)
        monkeypatch.setattr(utils, "determine_grade", failing)
        with pytest.raises(RuntimeError):
            saver().preprocess(nbformat.from_dict(solved), resources)
        monkeypatch.setattr(utils, "determine_grade", real)
        scores = _scores(url, A, "ben_stub")
        assert (sum(scores.values()) > 0) == mixed, (saver, scores)
    SaveAutoGrades().preprocess(nbformat.from_dict(solved), resources)
    assert sum(_scores(url, A, "ben_stub").values()) == FULL_A


def test_slurm_job_array_grades_each_group_into_postgresql(klass, serial, tmp_path):
    """The generated sbatch script, submitted to a real single-node Slurm: two array tasks, one
    at a time (``%1``), each grade one student group into one PostgreSQL gradebook from a
    course folder every node would see; the grades are the serial run's."""
    from tests.pgserver import postgres_server, server_bin
    from tests.slurmcluster import missing, slurm_cluster
    require(None if server_bin() else "PostgreSQL is not installed")
    require(missing())
    course = tmp_path / "course"                   # two students: one per array task
    course.mkdir()
    for name in ("source", "release", "solutions", "tests"):
        shutil.copytree(klass / name, course / name)
    for name in ("nbgrader_config.py", "pyproject.toml", "course"):      # ./course runs in each task
        shutil.copy(ROOT / name, course / name)
    stamp = ".installed-" + hashlib.sha1((ROOT / "pyproject.toml").read_bytes()).hexdigest()[:12]
    assert (ROOT / ".venv" / stamp).exists(), "the course's .venv is not up to date: ./course setup"
    (course / ".venv").symlink_to(ROOT / ".venv")
    for student in ("ada_solved", "cyd_buggy"):
        shutil.copytree(klass / "submitted" / student / A, course / "submitted" / student / A)
    (course / "autograde.sbatch").write_text(clusterjobs.slurm_script(2, 1, [A], cpus=1))
    (_, reference), _ = serial
    with postgres_server() as url, slurm_cluster() as slurm:
        assert _nbgrader(course, "generate_assignment", A, "--force", db=url).returncode == 0
        env = tool_env(MEDGRADE_COURSE_ROOT=str(course), COURSE_DB_URL=url, **slurm)
        proc = subprocess.run(["sbatch", "--parsable", "autograde.sbatch"], cwd=course, env=env,
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        job = proc.stdout.strip().split(";")[0]
        deadline = time.monotonic() + 600           # sbatch --wait polls every 10 s: poll faster
        while time.monotonic() < deadline and subprocess.run(
                ["squeue", "-h", "-j", job], env=env, capture_output=True, text=True).stdout.strip():
            time.sleep(0.5)
        tasks = subprocess.run(["scontrol", "-o", "show", "job", job], env=env, capture_output=True,
                               text=True).stdout.strip().splitlines()
        outputs = sorted(course.glob(f"autograde-{job}_*.out"))
        logs = "".join(p.read_text() for p in outputs)
        assert len(tasks) == 2 and all("JobState=COMPLETED" in t and "ExitCode=0:0" in t for t in tasks), \
            "\n".join(tasks) + logs
        times = sorted(tuple(re.search(rf"{k}=(\S+)", t)[1] for k in ("StartTime", "EndTime")) for t in tasks)
        assert times[1][0] >= times[0][1], f"%1 ran two tasks at once: {times}"
        assert len(outputs) == 2
        for output in outputs:
            assert "1 of 1 submissions graded" in output.read_text(), output.read_text()
        students, rows = dump(url)
        assert students == ["ada_solved", "cyd_buggy"]
        assert rows == [r for r in reference if r[1] == A and r[2] in students]


def _graded_copy(klass: Path, serial, name: str) -> str:
    shutil.copy(klass / "serial.db", klass / name)
    return _sqlite(klass, name)


def _worker_pids(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == parent:
            pids.append(int(stat.parent.name))
    return pids


def test_a_killed_worker_never_leaves_half_written_grades(klass, serial):
    """ada's notebook is replaced by the stub and regraded; the worker is killed mid-run.
    ada's grades are then all the old ones or all the new ones, nobody else's moved, and a
    rerun records the new ones."""
    url = _graded_copy(klass, serial, "killed.db")
    before = {s: _scores(url, A, s) for s in ("ada_solved", "ben_stub")}
    _write(klass, "ada_solved", A, _nb("release", A))
    try:
        autograded = klass / "autograded" / "ada_solved" / A
        shutil.rmtree(autograded, ignore_errors=True)
        env = tool_env(MEDGRADE_COURSE_ROOT=str(klass), COURSE_DB_URL=url)
        proc = subprocess.Popen([sys.executable, "-m", "medgrade.classroom.grade", "autograde", A, "--students",
                                 "ada_solved", "-j", "1", "--quiet"], cwd=klass, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not autograded.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert autograded.exists(), "the worker never started grading"
        time.sleep(1.0)
        workers = _worker_pids(proc.pid)
        assert workers
        for pid in workers:
            os.killpg(pid, signal.SIGKILL)
        out, err = proc.communicate(timeout=60)
        after = _scores(url, A, "ada_solved")
        assert after in (before["ada_solved"], {k: 0.0 for k in after}), after
        assert _scores(url, A, "ben_stub") == before["ben_stub"]
        if after == before["ada_solved"]:                     # killed before saving: reported
            assert proc.returncode == 1, out + err
            assert f"ada_solved/{A}: failed: the grading worker died" in out, out + err
        rerun = _class(klass, "autograde", A, "--students", "ada_solved", "-j", "1", "--quiet", db=url)
        assert rerun.returncode == 0, rerun.stdout + rerun.stderr
        assert set(_scores(url, A, "ada_solved").values()) == {0.0}
    finally:
        _write(klass, "ada_solved", A, _nb("solutions", A))


def test_a_hanging_submission_is_stopped_and_the_run_goes_on(klass, serial, tmp_path):
    """A notebook that never ends is stopped at --timeout (generous: a worker's first notebook
    also starts its zygotes, on a loaded machine); the others are graded, a student without a
    notebook is not; the log has a line each, and nothing else."""
    url = _graded_copy(klass, serial, "hang.db")
    _write(klass, "hal_hangs", A, _with_last_answer(_nb("solutions", A), "import time\ntime.sleep(3600)"))
    (klass / "submitted" / "kim_empty" / A).mkdir(parents=True, exist_ok=True)
    log = tmp_path / "hang.log"
    try:
        start = time.monotonic()
        proc = _class(klass, "autograde", A, "--students", "hal_hangs,ben_stub,kim_empty", "-j", "2",
                      "--timeout", "60", "--quiet", "--log", str(log), db=url, timeout=240)
        assert time.monotonic() - start < 180
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert f"hal_hangs/{A}: timed out: stopped after 60 s" in proc.stdout
        assert re.search(r"^hal_hangs\s+timed out$", proc.stdout, re.M), proc.stdout
        assert re.search(rf"^ben_stub\s+0/{FULL_A}$", proc.stdout, re.M), proc.stdout
        assert "1 of 3 submissions graded" in proc.stdout, proc.stdout
        assert not [p for p in _processes_in(klass / "autograded" / "hal_hangs")], "a kernel was left running"
        lines = log.read_text().splitlines()
        assert len(lines) == 3 and all(LOG_LINE.match(line) for line in lines), lines
        assert any(f"kim_empty/{A}: not graded: no {A}.ipynb" in line for line in lines)
        assert any(f"hal_hangs/{A}: timed out" in line for line in lines)
    finally:
        shutil.rmtree(klass / "submitted" / "hal_hangs")
        shutil.rmtree(klass / "submitted" / "kim_empty")


LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \S+/\S+: (graded|failed|timed out|not graded)"
                      r"(: .+)?( \(\d+\.\d s\))?$")


def test_a_notebook_nbgrader_fails_is_reported_with_nbgraders_reason(tmp_path):
    """nbgrader's closing line ('Please see the above traceback') says nothing: the class
    command reports the reason nbgrader logged."""
    from tests.helpers import RefusesOnPurpose
    course = copy_course(tmp_path / "course", config_extra="\nc.Autograde.sanitize_preprocessors.insert("
                                                           "0, 'tests.helpers.RefusesOnPurpose')\n")
    assert _nbgrader(course, "generate_assignment", A, "--force").returncode == 0
    _write(course, "ada_solved", A, _nb("solutions", A))
    proc = _class(course, "autograde", A, "-j", "1", "--quiet")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    line = f"ada_solved/{A}: failed: ValueError: {RefusesOnPurpose.REASON}"
    assert line in proc.stdout and line in (course / "autograde.log").read_text(), proc.stdout


def _processes_in(folder: Path) -> list[int]:
    found = []
    for cwd in Path("/proc").glob("[0-9]*/cwd"):
        try:
            if str(os.readlink(cwd)).startswith(str(folder)):
                found.append(int(cwd.parent.name))
        except OSError:
            continue
    return found


# ---------------------------------------------------------------------------------------------
# bad input: one line, non-zero exit, the gradebook untouched


def _digest(path: Path) -> bytes:
    return path.read_bytes()


@pytest.mark.parametrize("args,message,code", [
    (["autograde", "99_nothing"], "unknown assignment '99_nothing'", 2),
    (["autograde", A, "--students", "zed"], "no submission in submitted/ for student 'zed'", 2),
    (["autograde", A, "--group", "2/2"], "--group expects I/N", 2),
    (["autograde", A, "-j", "0"], "-j expects a positive number", 2),
    (["autograde", A, "--db", "postgresql://grader@127.0.0.1:9/nothing"], "cannot be opened", 2),
    (["autograde", A, "--db", "sqlite:////no/such/folder/gb.db"], "no gradebook at /no/such/folder/gb.db", 2),
    (["autograde", A, "--db", "sqlite://"], "in-memory SQLite", 2),
    (["autograde", A, "--db", "{fresh_without_b}"], f"assignment '{B}' is not in the gradebook", 2),
    (["autograde", A, "--students", "ida_empty"], f"ida_empty/{A}: not graded: no {A}.ipynb", 1),
    (["autograde", A, "--students", "jon_malformed"], f"jon_malformed/{A}: not graded: ", 1),
    (["slurm", "--tasks", "0"], "--tasks must be at least 1", 2),
    (["kube", "99_nothing", "--tasks", "2"], "unknown assignment '99_nothing'", 2),
])
def test_bad_input_is_one_line_and_keeps_the_gradebook(klass, serial, tmp_path, monkeypatch, capsys,
                                                       args, message, code):
    from nbgrader.api import Gradebook
    url = _graded_copy(klass, serial, "bad.db")
    (klass / "submitted" / "ida_empty" / A).mkdir(parents=True, exist_ok=True)
    (klass / "submitted" / "jon_malformed" / A).mkdir(parents=True, exist_ok=True)
    (klass / "submitted" / "jon_malformed" / A / f"{A}.ipynb").write_text('{"cells": [')
    if "{fresh_without_b}" in args:
        only_a = tmp_path / "only_a.db"
        shutil.copy(klass / "fresh.db", only_a)
        with Gradebook(f"sqlite:///{only_a}") as gb:
            gb.remove_assignment(B)
        args = [x.format(fresh_without_b=f"sqlite:///{only_a}") for x in args]
        args.insert(2, B)
    before = _digest(klass / "bad.db")
    monkeypatch.chdir(klass)                              # nbgrader reads nbgrader_config.py here
    monkeypatch.setenv("MEDGRADE_COURSE_ROOT", str(klass))
    monkeypatch.setenv("COURSE_DB_URL", url)
    try:
        returned = classgrade.main([*args, "--quiet"] if args[0] == "autograde" else args)
        out, err = capsys.readouterr()
        assert returned == code, out + err
        errors = [line for line in err.splitlines() if line.strip() and not line.startswith("autograde ")]
        assert len(errors) == 1 and message in errors[0], err
        assert "Traceback" not in out + err
        assert _digest(klass / "bad.db") == before
    finally:
        shutil.rmtree(klass / "submitted" / "ida_empty")
        shutil.rmtree(klass / "submitted" / "jon_malformed")


def test_the_schema_version_is_what_alembic_prints(tmp_path):
    """Gradebooks nbgrader creates under the course's configuration record the schema version
    read in the process: the one `alembic heads` prints for nbgrader's migrations, which
    nbgrader itself would ask it for."""
    from nbgrader.dbutil import write_alembic_ini

    from medgrade.classroom.nbgrader_cli import gradebook_schema_version
    write_alembic_ini(str(tmp_path / "alembic.ini"), f"sqlite:///{tmp_path / 'gb.db'}")
    printed = subprocess.run([Path(sys.executable).parent / "alembic", "-c", tmp_path / "alembic.ini", "heads"],
                             capture_output=True, text=True, check=True).stdout
    assert printed.split()[0] == gradebook_schema_version()
    assert "(head)" in printed and len(printed.strip().splitlines()) == 1


def test_sqlite_on_a_network_filesystem_is_refused(tmp_path, monkeypatch, capsys):
    mountinfo = ("22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n"
                 "40 22 0:50 / /shared rw,relatime - nfs4 server:/export rw,vers=4.2\n"
                 "41 22 0:51 / /shared/local rw - tmpfs tmpfs rw\n")
    assert classgrade.filesystem_type(Path("/shared/course/gradebook.db"), mountinfo) == "nfs4"
    assert classgrade.filesystem_type(Path("/shared/local/gradebook.db"), mountinfo) == "tmpfs"
    assert classgrade.filesystem_type(Path("/sharedx/gradebook.db"), mountinfo) == "ext4"
    with pytest.raises(classgrade.ClassError, match="network filesystem .nfs4.*PostgreSQL"):
        classgrade.check_gradebook("sqlite:////shared/course/gradebook.db", mountinfo)
    local = tmp_path / "gradebook.db"
    local.write_bytes(b"")
    assert classgrade.check_gradebook(f"sqlite:///{local}", mountinfo) == f"sqlite:///{local}?timeout=60"
    assert classgrade.check_gradebook("postgresql://u@h/db", mountinfo) == "postgresql://u@h/db"
    # the command refuses it before anything is read or written
    monkeypatch.setattr(classgrade, "filesystem_type", lambda path, mountinfo=None: "cifs")
    assert classgrade.main(["autograde", A, "--db", f"sqlite:///{tmp_path / 'gb.db'}"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "network filesystem (cifs)" in err[0]
    assert not (tmp_path / "gb.db").exists()


# ---------------------------------------------------------------------------------------------
# the class report


def test_class_report_shows_each_aspect_and_what_the_class_lost(klass, serial, tmp_path, monkeypatch, capsys):
    from medgrade.classroom.report import AspectStats, AssignmentStats, collect, most_lost
    from medgrade.registry import assignments
    url = _graded_copy(klass, serial, "report.db")
    monkeypatch.setenv("MEDGRADE_COURSE_ROOT", str(klass))
    assert classgrade.main(["report", A, B, "--out", str(tmp_path), "--db", url]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "class_report.html")
    page = (tmp_path / "class_report.html").read_text()
    assert "Content-Security-Policy" in page and "default-src 'none'" in page      # nothing in it runs
    for a in (A, B):
        png = (tmp_path / f"{a}.png").read_bytes()
        assert png.startswith(b"\x89PNG\r\n\x1a\n")
        assert base64.b64encode(png).decode() in page, f"{a}'s figure is not embedded"
    (_, rows), _ = serial
    lost: dict[str, int] = {}
    graded_students = {r[2] for r in rows if r[0] == "grade" and r[1] == A}
    for r in rows:
        if r[0] == "grade" and r[1] == A:
            max_score = next(x.points for t in assignments()[A].values() for x in t if x.id == r[4])
            lost[r[4]] = lost.get(r[4], 0) + (r[5] < max_score)
    stats = {s.id: s for s in collect(url, [A, B])}
    assert len(stats[A].totals) == len(graded_students) == 6 and len(stats[B].totals) == 1
    top = most_lost(stats[A])
    assert [a.lost for a in top] == sorted((v for v in lost.values() if v), reverse=True)[:5]
    section = page.split(f"<h2>{B}</h2>")[0]
    for aspect in top:
        assert f"<code>{aspect.id}</code>" in section and f"{aspect.lost} of 6" in section
        summary = next(x.summary for t in assignments()[A].values() for x in t if x.id == aspect.id)
        assert html.escape(summary) in section
    assert len(top) == 5
    # the second assignment's only submission is the release: it lost every aspect
    assert [a.lost for a in most_lost(stats[B], top=99)] == [1] * len(stats[B].aspects)
    assert most_lost(AssignmentStats("x", 2, [2.0], [AspectStats("kept", 2, [2.0])], 0)) == []


# ---------------------------------------------------------------------------------------------
# many machines: groups, the Slurm array, the Kubernetes Indexed Job


@pytest.mark.parametrize("count", [1, 2, 3, 7, 12])
def test_groups_split_the_class_into_disjoint_covering_parts(count):
    students = [f"s{i:03d}" for i in range(0, 50, 3)][::-1]
    groups = [classgrade.in_group(students, (i, count)) for i in range(count)]
    assert sorted(s for g in groups for s in g) == sorted(students)
    assert max(map(len, groups)) - min(map(len, groups)) <= 1
    assert all(classgrade.in_group(list(reversed(students)), (i, count)) == g for i, g in enumerate(groups))


def test_slurm_script_runs_every_group_once():
    script = clusterjobs.slurm_script(5, 2, [A, B], cpus=2)
    assert "#SBATCH --array=0-4%2" in script and "#SBATCH --cpus-per-task=2" in script
    assert f'./course class autograde {A} {B} --group "${{SLURM_ARRAY_TASK_ID}}/5" -j 2' in script
    assert clusterjobs.slurm_script(3, None, []).count("--array=0-2%3") == 1
    assert clusterjobs.slurm_script(3, 9, []).count("--array=0-2%3") == 1
    # the script's arithmetic, run by bash for each task index as Slurm would
    body = script.replace("exec ./course", "echo ./course")
    seen = []
    for task in range(5):
        out = subprocess.run(["bash", "-c", body], env=dict(os.environ, SLURM_ARRAY_TASK_ID=str(task),
                             SLURM_ARRAY_JOB_ID="77", COURSE_DB_URL="postgresql://g@h/c"),
                             capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        seen.append(re.search(r'--group (\S+)', out.stdout)[1].strip('"'))
    assert seen == [f"{i}/5" for i in range(5)]
    missing = subprocess.run(["bash", "-c", body], env={"PATH": os.environ["PATH"], "SLURM_ARRAY_TASK_ID": "0"},
                             capture_output=True, text=True)
    assert missing.returncode != 0 and "COURSE_DB_URL" in missing.stderr


def test_kubernetes_indexed_job_manifest():
    import yaml
    job = yaml.safe_load(clusterjobs.kube_manifest(4, 3, [A], cpus=2, image="registry.example/course:1"))
    spec = job["spec"]
    assert job["kind"] == "Job" and job["apiVersion"] == "batch/v1"
    assert spec["completionMode"] == "Indexed" and spec["completions"] == 4 and spec["parallelism"] == 3
    container = spec["template"]["spec"]["containers"][0]
    assert spec["template"]["spec"]["restartPolicy"] == "Never"
    assert container["image"] == "registry.example/course:1"
    assert container["env"][0]["name"] == "COURSE_DB_URL"
    command = container["command"]
    assert command[:2] == ["/bin/bash", "-c"]
    for index in range(4):
        out = subprocess.run(["bash", "-c", command[2].replace("exec ./course", "echo ./course")
                              .replace("mkdir -p logs && ", "")],
                             env=dict(os.environ, JOB_COMPLETION_INDEX=str(index)), capture_output=True, text=True)
        assert f"--group {index}/4 " in out.stdout.replace('"', ""), out.stdout
