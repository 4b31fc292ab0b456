"""The browser tests: JupyterLab on a local port, driven by Galata (Playwright) in Debian's Chromium.

    python -m tests.browser test [PLAYWRIGHT ARGS ...]   # ./course browser: the student's and the instructor's paths
    python -m tests.browser screenshots [--out DIR]      # ./course screenshots: what students see, as PNG files

Both prepare a course folder in a temporary directory (a copy of the course, the instructor
demo run on one assignment: generated, autograded, feedback), start JupyterLab there with the
course's config (``tests/ui/jupyter_server_config.py``) and run the specs of ``tests/ui``.
The Node packages come from ``tests/ui/package-lock.json`` (``npm ci``); the browser is
Debian's ``chromium-headless-shell`` (or ``chromium``), never one Playwright downloads:
Playwright runs with an empty ``PLAYWRIGHT_BROWSERS_PATH`` and the run checks it stays empty.
"""
from __future__ import annotations

import argparse
import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from medgrade.notebook import PACKAGE_ROOT as ROOT
from medimg.launch import free_port

UI = ROOT / "tests" / "ui"
ASSIGNMENT = "01_conv_arithmetic"          # the cheapest chapter: its whole notebook validates in seconds
CHROMIUM = ("/usr/bin/chromium-headless-shell", "/usr/lib/chromium/chromium-headless-shell", "/usr/bin/chromium")
REPORTS = ROOT / "reports"
PLAYWRIGHT_TIMEOUT = 900            # seconds; the config's globalTimeout stops the tests well before


class BrowserError(Exception):
    pass


def chromium() -> str | None:
    """Debian's Chromium (the headless shell when installed), or COURSE_CHROMIUM."""
    chosen = os.environ.get("COURSE_CHROMIUM")
    if chosen:
        return chosen
    return next((path for path in CHROMIUM if os.access(path, os.X_OK)), None)


def missing() -> str | None:
    """What the browser tests need and this machine lacks, in one line; None when nothing."""
    lacking = [name for name in ("node", "npm") if shutil.which(name) is None]
    if chromium() is None:
        lacking.append("Debian's chromium-headless-shell")
    return ", ".join(lacking) or None


def node_modules() -> Path:
    """tests/ui/node_modules as the committed lock file fixes it (``npm ci``, once per lock file)."""
    lock = UI / "package-lock.json"
    stamp = UI / "node_modules" / f".course-{hashlib.sha1(lock.read_bytes()).hexdigest()[:12]}"
    with open(UI / ".npm-ci.lock", "w") as held:       # one install at a time (parallel test workers)
        fcntl.flock(held, fcntl.LOCK_EX)
        if not stamp.exists():
            _npm_ci()
            stamp.touch()
    return UI / "node_modules"


def _npm_ci() -> None:
    print("installing the browser tests' Node packages (npm ci, tests/ui/package-lock.json)", file=sys.stderr)
    env = dict(os.environ, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1")
    proc = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=UI, env=env,
                          capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrowserError("npm ci failed in tests/ui: " + (proc.stderr or proc.stdout).strip()[-800:])


def prepare_course(dest: Path, assignment: str = ASSIGNMENT) -> Path:
    """A course folder in ``dest`` after the instructor demo on ``assignment``."""
    from medgrade.classroom.nbgrader_cli import tool_env
    from tests.helpers import copy_course
    copy_course(dest)
    proc = subprocess.run([sys.executable, "-m", "medgrade.classroom.demo", assignment, "-j", "1"], cwd=dest,
                          env=tool_env(MEDGRADE_COURSE_ROOT=str(dest)), capture_output=True, text=True)
    if proc.returncode != 0:
        raise BrowserError("the demo failed: " + (proc.stdout + proc.stderr).strip()[-2000:])
    return dest


def expected_scores(course: Path, assignment: str = ASSIGNMENT) -> dict:
    """What the gradebook holds, for the specs to compare with what formgrader shows."""
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        a = gb.find_assignment(assignment)
        # formgrader's student list shows each student's total over every assignment of the course
        totals = {s.id: sum(sub.score for sub in s.submissions) for s in gb.students}
        return {"assignment": assignment, "max_score": a.max_score,
                "scores": {s.student.id: s.score for s in a.submissions},
                "totals": totals, "max_total": sum(x.max_score for x in gb.assignments)}


@contextlib.contextmanager
def jupyter_lab(course: Path, log: Path, timeout: float = 90, port: int | None = None, token: str = ""):
    """JupyterLab serving ``course`` on a free local port (or ``port``); yields its URL; everything
    it started (kernels included) is stopped at the end. With a ``token``, the server is a normal
    one: token login and XSRF checks on (the security tests); without, what Galata needs."""
    from medgrade.classroom.nbgrader_cli import tool_env
    state = Path(tempfile.mkdtemp(prefix="course-lab-"))
    (state / "config").mkdir()
    (state / "exchange").mkdir()
    # nbgrader's assignment list wants a writable exchange; the course's own config stays in `course`
    (state / "config" / "nbgrader_config.py").write_text(f"c.Exchange.root = {str(state / 'exchange')!r}\n")
    port = port or free_port()
    env = tool_env(COURSE_UI_PORT=str(port), COURSE_UI_TOKEN=token, COURSE_UI_ROOT=str(course),
                   COURSE_UI_STATE=str(state / "workspaces"), JUPYTER_CONFIG_DIR=str(state / "config"),
                   JUPYTER_RUNTIME_DIR=str(state / "runtime"), MEDGRADE_COURSE_ROOT=str(course))
    with open(log, "ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterlab", "--config", str(UI / "jupyter_server_config.py")],
                                cwd=course, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise BrowserError(f"JupyterLab exited ({proc.returncode}):\n" + log.read_text()[-2000:])
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise BrowserError(f"JupyterLab did not answer on {url} within {timeout:.0f} s:\n"
                                   + log.read_text()[-2000:])
            time.sleep(0.3)
        yield url
    finally:
        kernels = _children(proc.pid)      # kernels run in sessions of their own
        for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(wait)
                break
        for pid in kernels:                # the server shuts them down; one it could not is killed
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(state, ignore_errors=True)


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def playwright(url: str, course: Path, output: Path, *args: str, expect: dict | None = None,
               capture: bool = False, **extra_env: str) -> tuple[subprocess.CompletedProcess, list[str]]:
    """``playwright test ARGS`` in tests/ui against the server at ``url``; the process and what
    appeared in the (empty) PLAYWRIGHT_BROWSERS_PATH during the run, which must stay empty."""
    modules = node_modules()
    output.mkdir(parents=True, exist_ok=True)
    browsers = Path(tempfile.mkdtemp(prefix="no-browsers-"))
    scratch = Path(tempfile.mkdtemp(prefix="course-ui-"))
    expect_file = scratch / "expected.json"            # outside outputDir, which Playwright empties
    expect_file.write_text(json.dumps(expect or {}))
    env = dict(os.environ, COURSE_UI_URL=url, COURSE_UI_ROOT=str(course), COURSE_UI_OUTPUT=str(output),
               COURSE_UI_EXPECT=str(expect_file), COURSE_CHROMIUM=chromium() or "",
               PLAYWRIGHT_BROWSERS_PATH=str(browsers), PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD="1", **extra_env)
    try:
        pipe = subprocess.PIPE if capture else None
        runner = subprocess.Popen([str(modules / ".bin" / "playwright"), "test", *args], cwd=UI, env=env,
                                  stdout=pipe, stderr=pipe, text=True, start_new_session=True)
        try:
            out, err = runner.communicate(timeout=PLAYWRIGHT_TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(runner.pid, signal.SIGKILL)        # Playwright and the browsers it started
            out, err = runner.communicate()
            err = (err or "") + f"\nPlaywright ran past {PLAYWRIGHT_TIMEOUT} s and was stopped\n"
            runner.returncode = 124
        except BaseException:                             # Ctrl+C: its own session would not get it
            os.killpg(runner.pid, signal.SIGKILL)
            raise
        proc = subprocess.CompletedProcess(runner.args, runner.returncode, out, err)
        downloaded = sorted(str(p.relative_to(browsers)) for p in browsers.rglob("*"))
    finally:
        shutil.rmtree(browsers, ignore_errors=True)
        shutil.rmtree(scratch, ignore_errors=True)
    return proc, downloaded


def run(args: list[str], course: Path | None = None, output: Path | None = None, capture: bool = False,
        **extra_env: str):
    """Prepare a course (unless given), serve it, run Playwright; (process, downloaded, output)."""
    problem = missing()
    if problem:
        raise BrowserError(f"the browser tests need {problem} (./course test installs them as root on Debian)")
    output = output or REPORTS / "browser"
    shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    with contextlib.ExitStack() as stack:
        if course is None:
            scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="course-ui-")))
            course = prepare_course(scratch / "course")
        with jupyter_lab(course, output / "jupyterlab.log") as url:
            proc, downloaded = playwright(url, course, output / "results", *args, expect=expected_scores(course),
                                          capture=capture, **extra_env)
    return proc, downloaded, output


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="./course browser|screenshots", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    tests = sub.add_parser("test", help="the browser tests (extra arguments go to playwright test)")
    shots = sub.add_parser("screenshots", help="PNG files of a released notebook and of a student's feedback")
    for p in (tests, shots):
        p.add_argument("--course", type=Path, help="a course folder where the demo ran on "
                       f"{ASSIGNMENT} (default: a new one in a temporary folder)")
    shots.add_argument("--out", type=Path, default=REPORTS / "screenshots", help="folder for the PNG files")
    args, rest = parser.parse_known_args(argv)
    try:
        if args.command == "test":
            proc, downloaded, output = run(["--project=course", *rest], course=args.course)
        else:
            out = args.out.resolve()
            out.mkdir(parents=True, exist_ok=True)
            proc, downloaded, output = run(["--project=screenshots", *rest], course=args.course,
                                           output=REPORTS / "browser-screenshots", COURSE_UI_SHOTS=str(out))
            for png in sorted(out.glob("*.png")):
                print(png)
    except BrowserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if downloaded:
        print(f"error: Playwright downloaded into its browsers folder: {downloaded[:5]}", file=sys.stderr)
        return 1
    if proc.returncode != 0:
        print(f"browser tests failed: screenshots and traces in {output / 'results'} "
              f"(npx playwright show-trace FILE in tests/ui)", file=sys.stderr)
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
