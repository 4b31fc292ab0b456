"""The trust list, one hostile or broken submission per item (tests/redteam/scenarios.py),
each with its exact score from both runners, and the same score five times over.

The self-learner's runner (``grade_submission``, what ``pytest --grade`` records) grades
every scenario on its own; nbgrader grades all of them in one ``autograde`` batch beside
three ordinary students, whose scores must not move. Afterwards nothing may be left:
no process a submission started, no file outside its folder, no ``.hypothesis``.
"""
from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from medgrade.classroom.nbgrader_cli import tool_env
from medgrade.mutants import apply, demo_mutants, mutants_of
from medgrade.notebook import PACKAGE_ROOT as ROOT
from medgrade.notebook import grade_submission, submission_cells
from medgrade.registry import ASPECTS, assignments
from medgrade.worker import sandbox
from tests.conftest import load_notebook
from tests.helpers import copy_course
from tests.redteam.scenarios import ASSIGNMENT, LEFTOVER_MARK, PORT, SCENARIOS, VANDAL_MARK, expected_points, submission

ASPECT_LIST = [a for task in assignments()[ASSIGNMENT].values() for a in task]
FAST = "05_batchnorm"          # the chapter that autogrades fastest
PACKAGE_SOURCE_LINES = ("def check_property", "def measure_ratio", "def guarded_call", "def grade_cells",
                        "from ..properties import", "_FORBIDDEN_OPS")


def reviewed(scores) -> set[str]:
    """Aspects scored 0 because the answer reaches the grader's machinery (they wait for review)."""
    return {s.aspect for s in scores if s.review and s.points == 0}


def charged_aspects(scenario) -> set[str]:
    return {a.id for a in ASPECT_LIST if a.task in scenario.charged}


def leftovers() -> list[str]:
    out = subprocess.run(["ps", "-eo", "pid,args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if LEFTOVER_MARK in line and "ps -eo" not in line]


_GRADED: dict = {}      # scenario name -> its scores from the test above (the same grading)


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[f"{s.number:02d}_{s.name}" for s in SCENARIOS])
def test_isolated_runner_gives_the_exact_score(scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    scores = _GRADED[scenario.name] = grade_submission(submission(scenario), ASSIGNMENT)
    got = {s.aspect: s.points for s in scores}
    assert got == expected_points(scenario, ASPECT_LIST), "\n".join(
        s.report for s in scores if s.points != expected_points(scenario, ASPECT_LIST)[s.aspect])
    assert reviewed(scores) == charged_aspects(scenario)
    assert not leftovers(), "a process the submission started is still running"
    assert list(tmp_path.iterdir()) == [], "the grader's folder gained files"
    assert not (ROOT / "HACKED").exists()
    for s in scores:
        assert not any(line in s.report for line in PACKAGE_SOURCE_LINES), s.report


def test_lost_aspects_say_why():
    """A report names what happened: a timeout, a killed process, the library call."""
    by_name = {s.name: s for s in SCENARIOS}
    reports = {}
    for name in ("hangs", "process_death", "library_by_alias", "memory_bomb"):
        cached = _GRADED.get(name) if name != "memory_bomb" else None   # (graded here, on a quiet worker)
        scores = cached or grade_submission(submission(by_name[name]), ASSIGNMENT)
        reports[name] = "\n".join(s.report for s in scores)
    assert "did not finish within" in reports["hangs"]
    assert "killed by SIGKILL" in reports["process_death"] and "killed by SIGSEGV" in reports["process_death"]
    assert "torchvision.nms" in reports["library_by_alias"]
    assert "asks you to write it yourself" in reports["library_by_alias"]
    assert "memory" in reports["memory_bomb"].lower()
    machinery = "\n".join(s.report for s in _GRADED.get("dispatch_modes_off") or grade_submission(
        submission(by_name["dispatch_modes_off"]), ASSIGNMENT))
    assert "scored 0 for review" in machinery and "_disable_current_modes" in machinery, machinery


def test_a_hoard_stopped_for_time_says_how_much_memory_it_held():
    """A hoard that a slow machine stops for time before it reaches the memory cap: the report
    says how much memory it held (what 'memory_bomb' gets where writing 4 GiB takes seconds)."""
    from medgrade.isolation import grade_cells
    hoard = """
import time
def box_area(boxes):
    hoard = torch.ones(int(2.5 * 2**30), dtype=torch.uint8)
    time.sleep(10 ** 6)
"""
    cells = submission_cells(load_notebook("solutions", ASSIGNMENT)) + [hoard]
    (_, points, report), = grade_cells(cells, [ASPECTS["box_area_correct"]], call_seconds=8)
    assert points == 0.0
    assert "did not finish within 8 s" in report and "GiB of memory" in report, report


@pytest.mark.skipif(sandbox.landlock_abi() < 1, reason="this kernel cannot restrict reading (no Landlock)")
def test_the_library_cannot_be_loaded_where_it_is_refused():
    """Defence in depth, without the static reading: the answer cells of 'dispatch_modes_off'
    (the library's NMS bound at cell time, called with torch's dispatch modes switched off)
    graded by the workers alone. Where 14's workers cannot load torchvision's operator library
    the call fails; the same cells in a worker that can load it earn the NMS points."""
    from medgrade import registry
    from medgrade.isolation import grade_cells
    from medgrade.notebook import rebuild
    cells = submission_cells(rebuild(submission(next(s for s in SCENARIOS if s.name == "dispatch_modes_off")),
                                     ASSIGNMENT).nb)
    nms = [ASPECTS[a] for a in ("nms_correct", "nms_edge_cases")]
    assert registry.NATIVE_REFUSED[ASSIGNMENT] == ("torchvision",)
    refused = {a.id: points for a, points, _ in grade_cells(cells, nms)}
    assert refused == {"nms_correct": 0.0, "nms_edge_cases": 0.0}
    try:
        registry.NATIVE_REFUSED[ASSIGNMENT] = ()
        allowed = {a.id: points for a, points, _ in grade_cells(cells, nms)}
    finally:
        registry.NATIVE_REFUSED[ASSIGNMENT] = ("torchvision",)
    assert allowed == {"nms_correct": 3.0, "nms_edge_cases": 2.0}, "the attack itself no longer works"


@pytest.mark.skipif(sandbox.landlock_abi() < 1, reason="this kernel cannot restrict writes (no Landlock)")
def test_worker_cannot_write_outside_its_folder(tmp_path):
    target = tmp_path / "gradebook.db"
    target.write_bytes(b"grades")
    scenario = next(s for s in SCENARIOS if s.name == "writes_outside")
    code = f"open({str(target)!r}, 'ab').write(b'vandalized')\n"
    nb = submission(scenario)
    last = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")][-1]
    last.source += "\n" + code
    scores = grade_submission(nb, ASSIGNMENT)
    assert sum(s.points for s in scores) == sum(a.points for a in ASPECT_LIST)
    assert target.read_bytes() == b"grades"


# ---------------------------------------------------------------- item 18 on the DDP assignment

DDP = "27_distributed"
DDP_HOSTILE = f"""
def train_ddp(model, x, y, *, epochs, batch_size, lr, seed=0, timeout_s=30.0):
    import subprocess, time
    subprocess.Popen(["sleep", "{LEFTOVER_MARK}"], start_new_session=True)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:{PORT + 1}",
                            rank=int(os.environ["RANK"]), world_size=int(os.environ["WORLD_SIZE"]))
    if dist.get_rank() == 1:
        time.sleep(3600)
    return []
"""


def test_ddp_ranks_with_a_hard_coded_port_a_hung_rank_and_leftovers(tmp_path, monkeypatch):
    """A train_ddp whose ranks meet on a port of their own, whose rank 1 never returns and which
    starts a detached process in every rank: zero on both train_ddp aspects, every other aspect
    of the notebook untouched, the grading over in well under a minute, nothing left running."""
    monkeypatch.chdir(tmp_path)
    nb = load_notebook("solutions", DDP)
    last = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("solution")][-1]
    last.source += "\n" + DDP_HOSTILE
    start = time.monotonic()
    scores = grade_submission(nb, DDP)
    elapsed = time.monotonic() - start
    expected = {a.id: 0.0 if a.task == "train_ddp" or not a.gradable_here() else a.points
                for t in assignments()[DDP].values() for a in t}
    got = {s.aspect: s.points for s in scores}
    assert got == expected, "\n".join(s.report for s in scores if s.points != expected[s.aspect])
    assert elapsed < 120, elapsed
    assert not leftovers(), "a process a rank started is still running"
    assert list(tmp_path.iterdir()) == [], "the grader's folder gained files"


# ---------------------------------------------------------------- reproducibility

def _borderline():
    """Honest but slow-ish and float32: the Python-float NMS loop (well under the speed
    threshold, far above the library) and the other honest variants together."""
    honest = [m for m in mutants_of(ASSIGNMENT) if not m.breaks]
    return apply(load_notebook("solutions", ASSIGNMENT), *honest)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["solved", "stub", "borderline", "buggy"])
def test_five_gradings_give_one_score_vector(kind):
    nb = {"solved": lambda: load_notebook("solutions", ASSIGNMENT),
          "stub": lambda: load_notebook("release", ASSIGNMENT),
          "borderline": _borderline,
          "buggy": lambda: apply(load_notebook("solutions", ASSIGNMENT), *demo_mutants(ASSIGNMENT))}[kind]()
    vectors = [tuple(s.points for s in grade_submission(nb, ASSIGNMENT)) for _ in range(5)]
    assert len(set(vectors)) == 1, vectors
    total = sum(vectors[0])
    full = sum(a.points for a in ASPECT_LIST)
    assert {"solved": total == full, "stub": total == 0, "borderline": total == full,
            "buggy": 0 < total < full}[kind], (kind, vectors[0])


# ---------------------------------------------------------------- nbgrader, one batch

@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    # a hanging visible test waits for the kernel's cell timeout: shorter here than in the course
    course = copy_course(tmp_path_factory.mktemp("redteam-course"), config_extra="\nc.Execute.timeout = 10\n")
    extra = tmp_path_factory.mktemp("redteam-submissions")
    adds = []
    for s in SCENARIOS:
        folder = extra / f"rt{s.number:02d}"
        folder.mkdir()
        nbformat.write(submission(s), folder / f"{ASSIGNMENT}.ipynb")
        adds += ["--add", f"rt{s.number:02d}={folder / f'{ASSIGNMENT}.ipynb'}"]
    proc = subprocess.run([sys.executable, "-m", "medgrade.classroom.demo", ASSIGNMENT, *adds], cwd=course,
                          env=tool_env(MEDGRADE_COURSE_ROOT=str(course), MEDGRADE_CALL_SECONDS="5"),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return course


def _gradebook(course: Path, manual: bool = False, assignment: str = ASSIGNMENT) -> dict[str, dict]:
    """student -> aspect -> score (or, with ``manual``, whether nbgrader asks for manual grading)."""
    from nbgrader.api import Gradebook
    out: dict[str, dict] = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
        for student in gb.students:
            nb = gb.find_submission_notebook(assignment, assignment, student.id)
            out[student.id] = {g.name: g.needs_manual_grade if manual else float(g.score)
                               for g in nb.grades if g.cell.name in ASPECTS}
    return out


@pytest.mark.slow
def test_nbgrader_gives_every_scenario_its_exact_score(batch):
    table, manual = _gradebook(batch), _gradebook(batch, manual=True)
    for s in SCENARIOS:
        student = f"rt{s.number:02d}"
        assert table[student] == expected_points(s, ASPECT_LIST), s.name
        # what reaches the machinery scores 0 and waits in formgrader for an instructor
        assert charged_aspects(s) <= {a for a, waits in manual[student].items() if waits}, s.name
        if not s.charged:
            assert not any(manual[student].values()), s.name
    full = sum(a.points for a in ASPECT_LIST)
    assert sum(table["ada_solved"].values()) == full          # other students untouched
    assert sum(table["ben_stub"].values()) == 0


@pytest.mark.slow
def test_nbgrader_batch_leaves_nothing_behind(batch):
    assert not leftovers()
    assert not list(batch.rglob(".hypothesis")) and not (ROOT / ".hypothesis").exists()
    assert not list(batch.rglob("HACKED")) and not (ROOT / "HACKED").exists()
    mark = re.compile(VANDAL_MARK)
    assert not [p for p in batch.rglob("*") if p.is_file() and mark.search(p.read_bytes()[:1 << 22])]


@pytest.mark.slow
def test_feedback_shows_the_failure_and_never_the_checking_code(batch):
    for s in SCENARIOS:
        html = (batch / "feedback" / f"rt{s.number:02d}" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
        for line in PACKAGE_SOURCE_LINES:
            assert line not in html, (s.name, line)
        if s.loses:
            assert "✗" in html, s.name


# ---------------------------------------------------------------- bad input in a batch

@pytest.mark.slow
def test_a_broken_submission_does_not_stop_the_batch(tmp_path):
    """Not JSON, an empty file, a huge file beside a good notebook: the batch goes on, the
    readable ones are graded in full, the broken one is named in nbgrader's report. (On the
    chapter that autogrades fastest: what is tested is nbgrader's batch, not the checks.)"""
    a = FAST
    course = copy_course(tmp_path / "course", parts=("source", "release", "solutions"))
    env = tool_env(MEDGRADE_COURSE_ROOT=str(course))

    def nbgrader(*args):
        return subprocess.run([sys.executable, "-m", "nbgrader", *args], cwd=course, env=env,
                              capture_output=True, text=True)

    assert nbgrader("generate_assignment", a, "--force").returncode == 0
    solved = (ROOT / "solutions" / a / f"{a}.ipynb").read_bytes()
    for student, content in (("good", solved), ("notjson", b"{ this is not a notebook"),
                             ("empty", b""), ("hugefile", solved)):
        folder = course / "submitted" / student / a
        folder.mkdir(parents=True)
        (folder / f"{a}.ipynb").write_bytes(content)
    with open(course / "submitted" / "hugefile" / a / "scan.raw", "wb") as fh:
        fh.truncate(150 << 20)                                   # 150 MB, sparse
    proc = nbgrader("autograde", a, "--force")
    log = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "notjson" in log and "empty" in log, log[-2000:]
    table = _gradebook(course, assignment=a)
    full = sum(x.points for t in assignments()[a].values() for x in t)
    assert sum(table["good"].values()) == full
    assert sum(table["hugefile"].values()) == full
    assert not (course / "autograded" / "hugefile" / a / "scan.raw").exists()
    assert "scan.raw" in log
    autograded = nbformat.read(course / "autograded" / "hugefile" / a / f"{a}.ipynb", 4)
    assert "ignored files over" in autograded.cells[0].source
    assert sum(table.get("notjson", {}).values()) == 0


# ---------------------------------------------------------------- the library by other roads

_OTHER_ROADS = {
    "05_batchnorm": ("""
import torch.nn.functional
_norm = getattr(torch.nn.functional, "batch_" + "norm")
def batchnorm_forward(x, gamma, beta, running_mean, running_var, momentum=0.1, eps=1e-5, training=True):
    return _norm(x, running_mean, running_var, gamma, beta, training, momentum, eps)
""", ("batchnorm_forward_train", "batchnorm_forward_running_stats", "batchnorm_forward_eval"), "batch_norm"),
    "01_conv_arithmetic": ("""
import importlib
def conv2d(x, weight, bias=None, stride=1, padding=0, dilation=1):
    functional = importlib.import_module("torch.nn." + "functional")
    return functional.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation)
""", ("conv2d_correct", "conv2d_edge_cases", "conv2d_properties", "conv2d_speed"), "conv"),
}


@pytest.mark.parametrize("assignment", sorted(_OTHER_ROADS))
def test_library_through_getattr_or_importlib_earns_zero_and_says_why(assignment):
    code, lost, op = _OTHER_ROADS[assignment]
    cells = submission_cells(load_notebook("solutions", assignment)) + [code]
    from medgrade.isolation import grade_cells
    for aspect, points, report in grade_cells(cells, [ASPECTS[a] for a in lost]):
        assert points == 0.0, report
        if aspect.kind == "correct":
            assert "asks you to write it yourself" in report and op in report, report
