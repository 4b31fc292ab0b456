"""Grading a whole class: parallel autograde, the class grade table, the class report, cluster jobs.

    ./course class autograde [ASSIGNMENT ...] [-j K] [--group I/N] [--students ID,...] [--db URL]
    ./course class table     [ASSIGNMENT ...] [--db URL]
    ./course class report    [ASSIGNMENT ...] [--out DIR] [--db URL]
    ./course class slurm     --tasks N [--parallel K] [ASSIGNMENT ...]   (prints an sbatch script)
    ./course class kube      --tasks N [--parallel K] [ASSIGNMENT ...]   (prints an Indexed Job)

``autograde`` runs the real ``nbgrader autograde`` for every submitted
(assignment, student) pair, with K worker processes on this machine. Each
worker imports nbgrader, torch and the checks once and then grades one
submission after another (a fresh ``nbgrader autograde`` process per student
would pay its start-up every time). A submission that fails or runs past
``--timeout`` is reported and the run goes on; at the end the class grade
table is printed. ``--group I/N`` grades only the I-th of N student groups
(student ``k`` of the sorted class belongs to group ``k mod N``): the unit a
Slurm array task or a Kubernetes Indexed Job pod runs, and a safe way to
regrade part of a class.

The gradebook is nbgrader's (``CourseDirectory.db_url``, or ``--db`` /
``COURSE_DB_URL``); the scores are exactly those a serial ``nbgrader
autograde`` records. SQLite serves one machine: its writers wait for each
other (``timeout=60``). A SQLite gradebook on a network filesystem is
refused (its locking is not reliable there): use PostgreSQL.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import selectors
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from medgrade.notebook import NotebookError, assignment_ids, course_root, read_notebook
from medgrade.sanitize import usable_id

# Filesystems whose file locking SQLite cannot rely on (SQLite's own documentation warns
# against network filesystems; a gradebook there can be corrupted by two writers).
NETWORK_FILESYSTEMS = {
    "nfs", "nfs4", "cifs", "smb3", "smbfs", "ncpfs", "afs", "9p", "lustre", "gpfs", "beegfs",
    "ceph", "glusterfs", "panfs", "pvfs2", "orangefs", "davfs", "fuse.sshfs", "fuse.s3fs",
    "fuse.glusterfs", "fuse.cephfs", "fuse.gcsfuse", "fuse.juicefs", "fuse.rclone", "fuse.davfs",
}
DEFAULT_TIMEOUT = 900.0           # seconds for one submission; a notebook's cells take seconds
WORKER_MEMORY = 2.5 * 2**30      # a kernel with torch, the isolated checks' workers, nbgrader


class ClassError(Exception):
    """A problem that stops the whole run before anything is graded: one line for the user."""


# ---------------------------------------------------------------------------------------------
# the gradebook


def db_url_from_config() -> str:
    """The gradebook nbgrader's own commands use here: ``nbgrader_config.py`` and its defaults."""
    from nbgrader.apps.baseapp import NbGrader
    from nbgrader.coursedir import CourseDirectory
    app = NbGrader()
    app.load_config_file()
    return CourseDirectory(config=app.config, root=str(course_root())).db_url


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///`` URL (None for other databases)."""
    if not url.startswith("sqlite:"):
        return None
    rest = url.split("sqlite:///", 1)[1] if "sqlite:///" in url else ""
    return Path(rest.split("?", 1)[0]) if rest else None


def filesystem_type(path: Path, mountinfo: str | None = None) -> str:
    """The type of the filesystem holding ``path`` (from /proc/self/mountinfo)."""
    if mountinfo is None:
        try:
            mountinfo = Path("/proc/self/mountinfo").read_text()
        except OSError:
            return "unknown"
    target = os.path.realpath(path)
    best, kind = "", "unknown"
    for line in mountinfo.splitlines():
        left, sep, right = line.partition(" - ")
        fields = left.split()
        if not sep or len(fields) < 5 or not right.split():
            continue
        mount = fields[4].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) >= len(best):
            best, kind = mount, right.split()[0]
    return kind


def check_gradebook(url: str, mountinfo: str | None = None) -> str:
    """The URL the workers use; ClassError when the gradebook cannot serve a class run."""
    path = sqlite_path(url)
    if url.startswith("sqlite:"):
        if path is None:
            raise ClassError(f"gradebook {url!r}: an in-memory SQLite database cannot be shared by workers")
        kind = filesystem_type(path.parent if not path.exists() else path, mountinfo)
        if kind in NETWORK_FILESYSTEMS:
            raise ClassError(f"gradebook {path} is on a network filesystem ({kind}): SQLite's locking is not "
                             "reliable there; use a PostgreSQL gradebook (--db postgresql://...)")
        if not path.is_file():
            raise ClassError(f"no gradebook at {path} (nbgrader generate_assignment creates it)")
        if "timeout=" not in url:           # writers wait for each other instead of failing
            url += ("&" if "?" in url else "?") + "timeout=60"
    return url


def open_gradebook(url: str):
    """nbgrader's Gradebook at ``url``; ClassError with one line if it cannot be reached."""
    import sqlalchemy.exc
    from nbgrader.api import Gradebook
    try:
        gb = Gradebook(_with_connect_timeout(url))
        gb.db.execute(__import__("sqlalchemy").text("select 1"))
        return gb
    except (sqlalchemy.exc.SQLAlchemyError, OSError) as e:
        reason = str(getattr(e, "orig", None) or e).strip().splitlines()
        why = reason[0] if reason else type(e).__name__
        raise ClassError(f"gradebook {_redacted(url)} cannot be opened: {why}") from e


def _with_connect_timeout(url: str) -> str:
    if url.startswith("postgresql") and "connect_timeout=" not in url:
        url += ("&" if "?" in url else "?") + "connect_timeout=10"
    return url


def _redacted(url: str) -> str:
    """A database URL without its password."""
    return re.sub(r"(://[^:/@]+):[^@/]*@", r"\1:***@", url)


# ---------------------------------------------------------------------------------------------
# what to grade


@dataclass(frozen=True, order=True)
class Job:
    assignment: str
    student: str

    def __str__(self) -> str:
        return f"{self.student}/{self.assignment}"


@dataclass
class JobResult:
    job: Job
    status: str                       # "graded", "failed", "timed out", "not graded"
    reason: str = ""
    seconds: float = 0.0


def parse_group(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    m = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not m or int(m[2]) < 1 or int(m[1]) >= int(m[2]):
        raise ClassError(f"--group expects I/N with 0 <= I < N, got {text!r}")
    return int(m[1]), int(m[2])


def in_group(students: list[str], group: tuple[int, int] | None) -> list[str]:
    """Students of group I of N: the k-th of the sorted class belongs to group k mod N."""
    students = sorted(students)
    if group is None:
        return students
    index, count = group
    return students[index::count]


def submitted_students(assignments: list[str]) -> list[str]:
    folder = course_root() / "submitted"
    if not folder.is_dir():
        return []
    return sorted(s.name for s in folder.iterdir()
                  if s.is_dir() and any((s / a).is_dir() for a in assignments))


def plan(assignments: list[str], students: list[str] | None, group) -> tuple[list[Job], list[JobResult]]:
    """The jobs to run, and the submissions that cannot be graded (with the reason)."""
    known = assignment_ids()
    for a in assignments:
        if a not in known:
            raise ClassError(f"unknown assignment {a!r} (known: {', '.join(known)})")
    everyone = submitted_students(assignments)
    if students is not None:
        missing = sorted(set(students) - set(everyone))
        if missing:
            raise ClassError(f"no submission in submitted/ for student {missing[0]!r}")
        everyone = students
    jobs, rejected = [], []
    for student in in_group(everyone, group):
        for a in assignments:
            folder = course_root() / "submitted" / student / a
            if not folder.is_dir():
                continue                                  # this student did not submit a
            job = Job(a, student)
            if not usable_id(student):
                rejected.append(JobResult(job, "not graded", "the folder name is not a usable student id (letters, "
                                        "digits and _ . @ + - only; pages print ids as they are)"))
                continue
            path = folder / f"{a}.ipynb"
            if not path.is_file():
                rejected.append(JobResult(job, "not graded", f"no {a}.ipynb in submitted/{student}/{a}"))
                continue
            try:
                read_notebook(path)
            except NotebookError as e:
                rejected.append(JobResult(job, "not graded", str(e)))
                continue
            jobs.append(job)
    return jobs, rejected


def prepare_gradebook(url: str, assignments: list[str], jobs: list[Job]) -> None:
    """Assignments must be in the gradebook (generate_assignment put them there); students are
    created here, once, so that two workers never race to create the same student."""
    gb = open_gradebook(url)
    from nbgrader.api import MissingEntry
    try:
        for a in assignments:
            try:
                gb.find_assignment(a)
            except MissingEntry:
                raise ClassError(f"assignment {a!r} is not in the gradebook {_redacted(url)}: "
                                 f"run `nbgrader generate_assignment {a}` against it first") from None
        for student in sorted({j.student for j in jobs}):
            try:
                gb.find_student(student)
            except MissingEntry:
                gb.add_student(student)
    finally:
        gb.close()


# ---------------------------------------------------------------------------------------------
# the workers


def worker_main(verbose: bool = False) -> int:
    """One grading worker: jobs in on stdin, one JSON line per job out.

    The reply channel is a private copy of stdout: the kernels this process starts write to
    stderr (the log with --verbose, else nowhere), never to the channel the parent reads its
    results from. A reply carries nbgrader's own reason when a notebook fails, and with
    ``verbose`` the whole of nbgrader's log of that notebook.
    """
    import logging
    import warnings

    replies = os.fdopen(os.dup(1), "w", buffering=1)
    requests = os.fdopen(os.dup(0), "r")
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)

    stopping = []

    def stop(signum, frame):                     # nbgrader cleans up (kernel shut down) on the way out
        stopping.append(signum)
        raise KeyboardInterrupt
    signal.signal(signal.SIGTERM, stop)

    import sqlalchemy.exc
    warnings.filterwarnings("ignore", category=sqlalchemy.exc.SAWarning)   # nbgrader's, not the class's
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.apps.baseapp import NbGrader

    from medgrade.nbgrader_trusted import NEEDS_REVIEW
    app = NbGrader()
    app.load_config_file()
    api = NbGraderAPI(config=app.config)          # the course folder is the working directory
    api.log.setLevel(logging.INFO if verbose else logging.WARNING)     # errors are the reasons
    replies.write(json.dumps({"ready": True}) + "\n")
    for line in requests:
        request = json.loads(line)
        start = time.monotonic()
        result = api.autograde(request["assignment"], request["student"], force=True, create=False)
        if stopping:
            return 1
        log = result.get("log") or ""
        reason = "" if result["success"] else failure_reason(log + "\n" + (result.get("error") or ""))
        replies.write(json.dumps({"ok": bool(result["success"]), "reason": reason,
                                  "review": NEEDS_REVIEW in log,
                                  "details": log if verbose else "",
                                  "seconds": time.monotonic() - start}) + "\n")
    return 0


def failure_reason(text: str) -> str:
    """nbgrader's own reason from its log of a failed notebook: the last exception line of the
    traceback it logged (its closing 'Please see the above traceback' says nothing)."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    for ln in reversed(lines):
        if re.match(r"^[\w.]+(Error|Exception|Interrupt)\b", ln) and "NbGraderException" not in ln:
            return ln[:300]
    for ln in reversed(lines):
        if ln.startswith("[ERROR]") and "Please see the" not in ln and "There was an error" not in ln:
            return ln[len("[ERROR]"):].strip()[:300]
    return (lines[-1] if lines else "nbgrader failed")[:300]


class AutogradeProcess:
    def __init__(self, env: dict, log, verbose: bool = False):
        # without --verbose the worker's own output goes to a file of its own, read only if it dies
        self.errors = log if verbose else tempfile.TemporaryFile("w+")
        command = [sys.executable, "-m", "medgrade.classroom.grade", "_worker", *(["--verbose"] if verbose else [])]
        self.proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.errors,
                                     text=True, bufsize=1, env=env, cwd=course_root(),
                                     start_new_session=True)
        self.job: Job | None = None
        self.started = 0.0
        self.ready = False

    def last_words(self) -> str:
        """The end of what a worker that died wrote (without --verbose)."""
        try:
            self.errors.seek(0)
            return "\n".join(self.errors.read().strip().splitlines()[-5:])
        except (OSError, ValueError):
            return ""

    def give(self, job: Job) -> None:
        self.job, self.started = job, time.monotonic()
        self.proc.stdin.write(json.dumps({"assignment": job.assignment, "student": job.student}) + "\n")
        self.proc.stdin.flush()

    def close(self) -> None:
        """An idle worker: end of input, it exits by itself."""
        try:
            self.proc.stdin.close()
            self.proc.wait(5.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.stop()

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (nbgrader shuts the kernel down), then SIGKILL the worker's process group."""
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)     # whatever the worker left in its group
        except ProcessLookupError:
            pass


def default_workers() -> int:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        meminfo = Path("/proc/meminfo").read_text()
        available = int(re.search(r"MemAvailable:\s+(\d+)", meminfo)[1]) * 1024
        return max(1, min(cores, int(available // WORKER_MEMORY)))
    except (OSError, TypeError):
        return max(1, cores)


def run_jobs(jobs: list[Job], workers: int, url: str, timeout: float, log_path: Path,
             progress: bool = True, verbose: bool = False) -> list[JobResult]:
    """Grade every job with ``workers`` processes; a job that fails or times out is reported.

    The log gets one line per submission (graded, failed with nbgrader's reason, timed out;
    'for review' when an aspect waits for an instructor); ``verbose`` adds nbgrader's own log
    of every notebook and what the workers print."""
    from tqdm import tqdm

    from medgrade.classroom.nbgrader_cli import tool_env
    from medgrade.isolation import ASSIGNMENTS_VARIABLE
    env = tool_env(COURSE_DB_URL=url, MEDGRADE_COURSE_ROOT=str(course_root()),
                   **{ASSIGNMENTS_VARIABLE: ",".join(sorted({job.assignment for job in jobs}))})
    pending = list(jobs)
    outcomes: list[JobResult] = []
    bar = tqdm(total=len(jobs), unit="notebook", desc="autograde", disable=not progress,
               file=sys.stderr, dynamic_ncols=True)
    pool: list[AutogradeProcess] = []
    log = open(log_path, "a")
    selector = selectors.DefaultSelector()

    def start_worker():
        w = AutogradeProcess(env, log, verbose)
        pool.append(w)
        selector.register(w.proc.stdout, selectors.EVENT_READ, w)

    def retire(w: AutogradeProcess, outcome: JobResult | None):
        selector.unregister(w.proc.stdout)
        pool.remove(w)
        if outcome is None:
            w.close()
        else:
            w.stop()
            finish(outcome)

    def finish(outcome: JobResult, details: str = ""):
        outcomes.append(outcome)
        log.write(log_line(outcome) + "\n" + "".join(f"    {ln}\n" for ln in details.splitlines()))
        log.flush()
        if outcome.status != "graded":
            bar.write(f"{outcome.job}: {outcome.status}: {outcome.reason}")
        bar.update(1)
        bar.set_postfix(failed=sum(o.status != "graded" for o in outcomes), refresh=False)

    try:
        for _ in range(min(workers, len(pending))):
            start_worker()
        while pool:
            now = time.monotonic()
            for w in list(pool):
                if w.job is not None and now - w.started > timeout:
                    job, w.job = w.job, None
                    retire(w, JobResult(job, "timed out", f"stopped after {timeout:g} s", timeout))
                    if pending:
                        start_worker()
            for key, _ in selector.select(timeout=1.0):
                w: AutogradeProcess = key.data
                line = w.proc.stdout.readline()
                if not line:                                   # the worker died
                    job, w.job = w.job, None
                    words = w.last_words()
                    said = f": {words.splitlines()[-1][:200]}" if words else ""
                    retire(w, None if job is None else JobResult(job, "failed", "the grading worker died" + said))
                    code = w.proc.returncode
                    if not w.ready:
                        raise ClassError(f"a grading worker could not start (exit {code})"
                                         + (f": {words.splitlines()[-1][:300]}" if words else f"; see {log_path}"))
                    if pending:
                        start_worker()
                    continue
                try:
                    reply = json.loads(line)
                except ValueError:
                    reply = {"ok": False, "reason": "the grading worker's reply was garbled"}
                if reply.get("ready"):
                    w.ready = True
                elif w.job is not None:
                    job, w.job = w.job, None
                    review = "for review: an aspect waits for an instructor" if reply.get("review") else ""
                    finish(JobResult(job, "graded" if reply.get("ok") else "failed",
                                   str(reply.get("reason", "")) if not reply.get("ok") else review,
                                   float(reply.get("seconds", 0.0))), str(reply.get("details", "")))
                if w.job is None:
                    if pending:
                        w.give(pending.pop(0))
                    else:
                        retire(w, None)
    finally:
        for w in list(pool):
            w.stop(grace=5.0)
        bar.close()
        log.close()
    outcomes += [JobResult(job, "not graded", "no grading worker was left to take it") for job in pending]
    return outcomes


def log_line(outcome: JobResult) -> str:
    """One line of the class log: when, who, what happened, why, how long."""
    when = time.strftime("%Y-%m-%d %H:%M:%S")
    why = f": {outcome.reason}" if outcome.reason else ""
    took = f" ({outcome.seconds:.1f} s)" if outcome.seconds else ""
    return f"{when} {outcome.job}: {outcome.status}{why}{took}"


# ---------------------------------------------------------------------------------------------
# the grade table


def grade_rows(url: str, assignments: list[str]) -> tuple[list[str], dict]:
    """Students, and (student, assignment) -> (score, max score) for every recorded submission."""
    from nbgrader.api import MissingEntry
    gb = open_gradebook(url)
    try:
        students = sorted(s.id for s in gb.students)
        scores = {}
        for a in assignments:
            try:
                assignment = gb.find_assignment(a)
            except MissingEntry:
                continue
            out_of = assignment.max_score
            for sub in assignment.submissions:
                scores[sub.student.id, a] = (sub.score, out_of)
        return students, scores
    finally:
        gb.close()


def class_table(url: str, assignments: list[str], outcomes: list[JobResult] = ()) -> str:
    students, scores = grade_rows(url, assignments)
    problems = {(o.job.student, o.job.assignment): o.status for o in outcomes if o.status != "graded"}
    students = [s for s in students if any((s, a) in scores or (s, a) in problems for a in assignments)]
    width = max([len(s) for s in students] + [len("student")])
    cols = [max(len(a), 11) for a in assignments]
    lines = [f"{'student':<{width}}  " + "  ".join(f"{a:>{c}}" for a, c in zip(assignments, cols))]
    for s in students:
        cells = []
        for a, c in zip(assignments, cols):
            if (s, a) in problems:
                cell = problems[s, a]
            elif (s, a) in scores:
                got, out_of = scores[s, a]
                cell = f"{got:g}/{out_of:g}"
            else:
                cell = "-"
            cells.append(f"{cell:>{c}}")
        lines.append(f"{s:<{width}}  " + "  ".join(cells))
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------
# commands


def _assignments(args) -> list[str]:
    known = assignment_ids()
    chosen = args.assignments or known
    for a in chosen:
        if a not in known:
            raise ClassError(f"unknown assignment {a!r} (known: {', '.join(known)})")
    return list(dict.fromkeys(chosen))


def _url(args) -> str:
    """--db, else the gradebook nbgrader's commands use here (COURSE_DB_URL or the config's).
    The workers get it as COURSE_DB_URL, which nbgrader_config.py reads."""
    return args.db or db_url_from_config()


def cmd_autograde(args) -> int:
    assignments = _assignments(args)
    group = parse_group(args.group)
    students = [s for s in args.students.split(",") if s] if args.students else None
    if args.workers is not None and args.workers < 1:
        raise ClassError(f"-j expects a positive number of workers, got {args.workers}")
    if args.timeout <= 0:
        raise ClassError(f"--timeout expects a positive number of seconds, got {args.timeout:g}")
    url = check_gradebook(_url(args))
    jobs, rejected = plan(assignments, students, group)
    prepare_gradebook(url, assignments, jobs)
    workers = args.workers or default_workers()
    for o in rejected:
        print(f"{o.job}: {o.status}: {o.reason}", file=sys.stderr)
    log_path = Path(args.log or course_root() / "autograde.log")
    start = time.monotonic()
    used = min(workers, max(1, len(jobs)))
    print(f"autograde {', '.join(assignments)}: {len(jobs)} notebook{'s' * (len(jobs) != 1)}, {used} "
          f"worker{'s' * (used != 1)}{'' if group is None else f', group {group[0]}/{group[1]}'}",
          file=sys.stderr, flush=True)
    with open(log_path, "a") as log:
        log.writelines(log_line(o) + "\n" for o in rejected)
    outcomes = run_jobs(jobs, workers, url, args.timeout, log_path, progress=not args.quiet, verbose=args.verbose)
    seconds = time.monotonic() - start
    outcomes += rejected
    graded = sum(o.status == "graded" for o in outcomes)
    print(class_table(url, assignments, outcomes))
    rate = f", {60 * len(jobs) / seconds:.1f} notebooks/min" if jobs and seconds > 0 else ""
    print(f"\n{graded} of {len(outcomes)} submissions graded in {seconds:.0f} s{rate}; the log: {log_path}")
    bad = [o for o in outcomes if o.status != "graded"]
    for o in bad:
        print(f"  {o.job}: {o.status}: {o.reason}")
    return 1 if bad else 0


def cmd_table(args) -> int:
    url, chosen = _url(args), _assignments(args)
    if not args.assignments:                         # all of them: only those with submissions
        _, scores = grade_rows(url, chosen)
        chosen = [a for a in chosen if any(key[1] == a for key in scores)] or chosen
    print(class_table(url, chosen))
    return 0


def cmd_report(args) -> int:
    from medgrade.classroom.report import write_report
    path = write_report(_url(args), _assignments(args), Path(args.out or course_root() / "reports"))
    print(path)
    return 0


def cmd_slurm(args) -> int:
    from medgrade.classroom.cluster import slurm_script
    chosen = _assignments(args) if args.assignments else []
    try:
        print(slurm_script(args.tasks, args.parallel, chosen, args.cpus), end="")
    except ValueError as e:
        raise ClassError(str(e)) from None
    return 0


def cmd_kube(args) -> int:
    from medgrade.classroom.cluster import kube_manifest
    chosen = _assignments(args) if args.assignments else []
    try:
        print(kube_manifest(args.tasks, args.parallel, chosen, args.cpus, args.image), end="")
    except ValueError as e:
        raise ClassError(str(e)) from None
    return 0


def parse_args(argv):
    p = argparse.ArgumentParser(prog="course class", description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="command", required=True)

    def common(q, db=True):
        q.add_argument("assignments", nargs="*", metavar="ASSIGNMENT", help="assignment ids (default: all)")
        if db:
            q.add_argument("--db", help="gradebook URL (default: COURSE_DB_URL, else nbgrader_config.py's)")

    q = sub.add_parser("autograde", help="autograde every submission with parallel workers")
    common(q)
    q.add_argument("-j", "--workers", type=int, help="parallel workers (default: what cores and memory allow)")
    q.add_argument("--group", help="only student group I of N (a cluster array task)")
    q.add_argument("--students", help="only these students (comma-separated ids)")
    q.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="seconds one submission may take")
    q.add_argument("--log", help="the log, a line per submission (default: autograde.log in the course folder)")
    q.add_argument("--verbose", action="store_true", help="the log also holds nbgrader's own log of every notebook")
    q.add_argument("--quiet", action="store_true", help="no progress bar")
    q.set_defaults(run=cmd_autograde)
    q = sub.add_parser("table", help="print the class grade table")
    common(q)
    q.set_defaults(run=cmd_table)
    q = sub.add_parser("report", help="write the class report (HTML with figures)")
    common(q)
    q.add_argument("--out", help="folder for the report (default: reports/)")
    q.set_defaults(run=cmd_report)
    for name, fn in (("slurm", cmd_slurm), ("kube", cmd_kube)):
        q = sub.add_parser(name, help=f"print a {'Slurm job array' if name == 'slurm' else 'Kubernetes Indexed Job'}")
        common(q, db=False)
        q.add_argument("--tasks", type=int, required=True, help="student groups (array tasks)")
        q.add_argument("--parallel", type=int, default=None, help="tasks running at once (default: all)")
        q.add_argument("--cpus", type=int, default=2, help="cores per task")
        if name == "kube":
            q.add_argument("--image", default="dl-medical-imaging:latest", help="container image with the course")
        q.set_defaults(run=fn)
    q = sub.add_parser("_worker")
    q.add_argument("--verbose", action="store_true")
    q.set_defaults(run=lambda args: worker_main(args.verbose))
    return p.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        return args.run(args)
    except (ClassError, NotebookError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("error: interrupted; submissions graded so far are recorded, rerun to finish", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
