"""One submission per threat, written as code appended to the last answer cell of the
solved 14_iou_nms notebook (so it runs when the notebook's definitions run, and can
redefine any function), or as an edit of the notebook's cells.

``loses`` lists the aspects the submission must score 0 on; every other aspect keeps
its full points. ``charged`` lists the tasks whose aspects score 0 because their answer
cells reach the grader's machinery (medgrade/scan.py): those wait for an instructor's
review (nbgrader's manual grading). ``cell`` names the answer cell the code is appended to
(default: the last one). A scenario marked ``kernel_hangs`` makes a visible test hang in the
notebook's own kernel too (nbgrader's run of it then waits for the cell timeout).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

from medgrade.notebook import grade_id, is_grade_cell
from tests.conftest import load_notebook

ASSIGNMENT = "14_iou_nms"
PORT = 29517                  # scenario 18's hard-coded port
LEFTOVER_MARK = "3141.5926"   # the sleep length of every leftover process a scenario starts
VANDAL_MARK = rb"VANDALIZED-\d+"  # what scenario 10 writes wherever it can (never in its source)


@dataclass(frozen=True)
class Scenario:
    number: int               # the item of the trust list it covers
    name: str
    code: str = ""
    loses: tuple[str, ...] = ()
    edit: str = ""            # a named notebook edit (see edited())
    kernel_hangs: bool = False
    charged: tuple[str, ...] = ()     # tasks scored 0 for review: the machinery reached
    cell: str = ""            # the answer cell (grade id) the code is appended to; default the last
    also: tuple[tuple[str, str], ...] = ()      # (answer cell, code) appended to other cells
    why: str = field(default="", compare=False)


# The solution's box_area, box_iou and nms are used by its other functions; the hostile code
# targets the three functions nothing else calls: generalized_box_iou (G, 2 points),
# batched_nms (B, 2 points) and soft_nms (S, 2 points).
G, B, S = "generalized_box_iou_correct", "batched_nms_correct", "soft_nms_correct"
NMS = ("nms_correct", "nms_edge_cases", "nms_speed")
EVERY = ("box_area_correct", "box_iou_correct", "box_iou_speed", G, *NMS, B, S)

_WRONG_G = """
def generalized_box_iou(boxes1, boxes2):
    return torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype, device=boxes1.device)
"""

SCENARIOS = [
    Scenario(1, "fake_equality", """
class AlwaysEqual:
    def __eq__(self, other): return True
    def __ne__(self, other): return False
    def __bool__(self): return True
    shape = property(lambda self: (0,))

class LyingTensor(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        if getattr(func, "__name__", "") in ("equal", "allclose", "isclose", "eq", "__eq__"):
            return True
        return super().__torch_function__(func, types, args, kwargs or {})

def batched_nms(boxes, scores, idxs, iou_threshold):
    return AlwaysEqual()

def generalized_box_iou(boxes1, boxes2):
    return torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype).as_subclass(LyingTensor)
""", loses=(G, B, S), charged=("batched_nms", "generalized_box_iou", "soft_nms")),

    Scenario(2, "patched_comparisons", """
import numpy.testing
torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.testing.assert_close = lambda *a, **k: None
numpy.testing.assert_allclose = lambda *a, **k: None
numpy.allclose = lambda *a, **k: True
""" + _WRONG_G, loses=(G, S), charged=("generalized_box_iou", "soft_nms")),

    Scenario(3, "ipython_tricks", """
try:
    ip = get_ipython()
    ip.showtraceback = lambda *a, **k: None
    ip.display_formatter.formatters["text/plain"].for_type(float, lambda v, p, c: p.text("1.0"))
    ip.events.register("post_run_cell", lambda result: None)
    import sys
    sys.displayhook = lambda value: print(1.0)
except Exception:
    pass
""" + _WRONG_G, loses=(G, S), charged=("generalized_box_iou", "soft_nms")),

    Scenario(4, "process_death", """
import ctypes, os, signal

def generalized_box_iou(boxes1, boxes2):
    os._exit(0)

def batched_nms(boxes, scores, idxs, iou_threshold):
    os.kill(os.getpid(), signal.SIGKILL)

def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    ctypes.string_at(0)
""", loses=(G, B, S), charged=("batched_nms", "generalized_box_iou", "soft_nms")),

    Scenario(5, "base_exceptions", """
def generalized_box_iou(boxes1, boxes2):
    raise SystemExit(0)

def batched_nms(boxes, scores, idxs, iou_threshold):
    raise KeyboardInterrupt

def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    raise BaseException("stop")
""", loses=(G, B, S)),

    Scenario(6, "hangs", """
import signal, time

def generalized_box_iou(boxes1, boxes2):
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    while True:
        pass

def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    time.sleep(10 ** 6)
""", loses=(G, S), kernel_hangs=True),

    Scenario(7, "memory_bomb", """
def generalized_box_iou(boxes1, boxes2):
    hoard = []
    while True:
        hoard.append(torch.ones(1 << 28, dtype=torch.uint8))
""", loses=(G,)),

    Scenario(8, "fork_bomb_and_leftovers", f"""
import os, subprocess

def batched_nms(boxes, scores, idxs, iou_threshold):
    while True:
        try:
            os.fork()
        except OSError:
            pass

_soft_nms = soft_nms
def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    if not globals().get("_started"):
        globals()["_started"] = True
        subprocess.Popen(["sleep", "{LEFTOVER_MARK}"], start_new_session=True)
        if os.fork() == 0:
            os.setsid()
            os.execvp("sleep", ["sleep", "{LEFTOVER_MARK}"])
    return _soft_nms(boxes, scores, sigma, score_threshold)
""", loses=(B, S), charged=("batched_nms", "soft_nms"), kernel_hangs=True),

    Scenario(9, "snooping", """
import gc, glob, os, sys

def generalized_box_iou(boxes1, boxes2):
    found = None
    for obj in gc.get_objects():
        if isinstance(obj, torch.Tensor) and obj.shape == (len(boxes1), len(boxes2)):
            found = obj
    frame = sys._getframe()
    while frame is not None:
        for name in ("expected", "want", "oracle"):
            if name in frame.f_locals:
                found = frame.f_locals[name]
        frame = frame.f_back
    secrets = [open(p, errors="ignore").read(200) for p in glob.glob("/proc/self/environ")]
    secrets += [v for k, v in os.environ.items() if "EXPECT" in k]
    return found if found is not None else torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype)
""", loses=(G, S), charged=("generalized_box_iou", "soft_nms")),

    Scenario(10, "writes_outside", """
import os, pathlib

def _vandalize():
    here = pathlib.Path.cwd()
    for folder in here.parents[:6]:
        for target in ("gradebook.db", "nbgrader_config.py", ".hypothesis/examples/x", "HACKED"):
            path = folder / target
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                with open(path, "ab") as fh:
                    fh.write(("VANDAL" + "IZED-%d" % os.getpid()).encode())
            except OSError:
                pass
    root = os.environ.get("MEDGRADE_COURSE_ROOT")
    if root:
        try:
            with open(os.path.join(root, "HACKED"), "w") as fh:
                fh.write("x")
        except OSError:
            pass

_vandalize()
_giou = generalized_box_iou
def generalized_box_iou(boxes1, boxes2):
    _vandalize()
    return _giou(boxes1, boxes2)
""", loses=()),

    Scenario(11, "fake_pass_and_flood", """
import sys
print("PASS: all hidden tests passed. Score 19/19")
print("x" * 2_000_000)
sys.stdout.write("[generalized_box_iou_correct] 2 / 2 points\\n")

def generalized_box_iou(boxes1, boxes2):
    print("[generalized_box_iou_correct] 2 / 2 points")
    print("y" * 1_000_000)
    return torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype, device=boxes1.device)
""", loses=(G,)),

    Scenario(12, "library_by_alias", """
import importlib
import torchvision.ops.boxes as _tvb

def nms(boxes, scores, iou_threshold):
    return _tvb.nms(boxes, scores, iou_threshold)

def batched_nms(boxes, scores, idxs, iou_threshold):
    run = getattr(getattr(torch.ops, "torchvision"), "nms")
    if boxes.numel() == 0:
        return torch.empty(0, dtype=torch.int64, device=boxes.device)
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return run(boxes + offsets[:, None], scores, iou_threshold)

_ns = {}
exec("import importlib; _library = importlib.import_module('torchvision.ops').generalized_box_iou", _ns)
def generalized_box_iou(boxes1, boxes2):
    return _ns["_library"](boxes1, boxes2)
""", loses=(*NMS, B, G, S), charged=("batched_nms", "generalized_box_iou", "nms", "soft_nms")),

    Scenario(13, "hard_coded_visible_tests", """
_visible = {}
def generalized_box_iou(boxes1, boxes2):
    key = (tuple(map(tuple, boxes1.tolist())), tuple(map(tuple, boxes2.tolist())))
    if key in _visible:
        return _visible[key]
    return torch.zeros(len(boxes1), len(boxes2), dtype=boxes1.dtype, device=boxes1.device)
_visible[(((0.0, 0.0, 2.0, 2.0),), ((1.0, 1.0, 3.0, 3.0),))] = torch.tensor([[1 / 7 - 2 / 9]])
""", loses=(G,)),

    Scenario(14, "steered_randomness", """
import random
torch.manual_seed(0)
random.seed(0)
torch.randn = lambda *a, **k: torch.zeros(*a, **{x: y for x, y in k.items() if x != "generator"})
torch.rand = lambda *a, **k: torch.zeros(*a, **{x: y for x, y in k.items() if x != "generator"})
""" + _WRONG_G, loses=(G, S), charged=("generalized_box_iou", "soft_nms")),

    Scenario(15, "mutation_and_global_state", """
torch.set_grad_enabled(False)
torch.set_printoptions(precision=1)
torch.set_num_threads(2)
_giou = generalized_box_iou

def generalized_box_iou(boxes1, boxes2):
    boxes1.add_(1.0)
    boxes2.add_(1.0)
    return _giou(boxes1, boxes2)
""", loses=(G,)),

    Scenario(16, "timing_cheats", """
import time
time.perf_counter = lambda: 0.0
time.monotonic = lambda: 0.0
time.time = lambda: 0.0
_memo = {}

def nms(boxes, scores, iou_threshold):
    key = (boxes.cpu().numpy().tobytes(), scores.cpu().numpy().tobytes(), float(iou_threshold))
    if key in _memo:
        return _memo[key].clone()
    order = torch.argsort(scores, descending=True, stable=True)
    suppressed = torch.zeros(len(boxes), dtype=torch.bool)
    keep = []
    for a in range(len(order)):
        i = order[a]
        if suppressed[i]:
            continue
        keep.append(int(i))
        for b in range(a + 1, len(order)):
            j = order[b]
            if not suppressed[j] and box_iou(boxes[i:i + 1], boxes[j:j + 1])[0, 0] > iou_threshold:
                suppressed[j] = True
    out = torch.tensor(keep, dtype=torch.int64, device=boxes.device)
    _memo[key] = out
    return out.clone()
""", loses=(*NMS, B, S), charged=("batched_nms", "nms", "soft_nms")),

    Scenario(17, "edited_grade_cells", edit="grade_cells", loses=()),

    Scenario(18, "ddp_port_and_hung_rank", f"""
import subprocess, sys
_rank = subprocess.Popen([sys.executable, "-c",
    "import socket, time\\\\n"
    "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\\\\n"
    "s.bind(('127.0.0.1', {PORT})); s.listen()\\\\n"
    "time.sleep({LEFTOVER_MARK})"], start_new_session=True)
""", loses=()),

    # the grader's machinery reached from an answer cell: the library's NMS bound at cell time
    # and called with torch's dispatch modes switched off, where the run-time recorder lives
    Scenario(19, "dispatch_modes_off", """
from torch.utils._python_dispatch import _disable_current_modes
_library_nms = torch.ops.torchvision.nms

def nms(boxes, scores, iou_threshold):
    with _disable_current_modes():
        return _library_nms(boxes, scores, iou_threshold)
""", cell="nms_answer", loses=(*NMS, B), charged=("batched_nms", "nms")),

    # the same, hidden: names decoded and computed, reached through vars() and getattr, and kept in
    # the cheapest task's cell; the task that profits only calls a helper
    Scenario(20, "hidden_machinery", """
import base64 as _codec
_dispatch = __import__(_codec.b64decode("dG9yY2gudXRpbHMuX3B5dGhvbl9kaXNwYXRjaA==").decode(), fromlist=["_"])
_quiet = getattr(_dispatch, "".join(["_disable", "_current", "_modes"]))
_operators = vars(torch)["o" + "ps"]

def _fast_nms(boxes, scores, threshold):
    with _quiet():
        return getattr(getattr(_operators, "torch" + "vision"), "nms")(boxes, scores, threshold)
""", cell="box_area_answer", also=(("nms_answer", """
def nms(boxes, scores, iou_threshold):
    return _fast_nms(boxes, scores, iou_threshold)
"""),), loses=EVERY,
             charged=("box_area", "box_iou", "generalized_box_iou", "nms", "batched_nms", "soft_nms")),

    # tracing and the grading package from inside one task's function: that task only
    Scenario(21, "tracing_the_grader", """
import sys as _sys

def soft_nms(boxes, scores, sigma=0.5, score_threshold=0.001):
    _sys.setprofile(lambda frame, event, arg: None)
    import medgrade.worker.server as _w
    _w._same = lambda a, b: True
    return _w
""", loses=(S,), charged=("soft_nms",)),
]


def edited(nb, edit: str):
    """Scenario 17: the box_area grade cell deleted, the nms_correct one duplicated, the
    soft_nms_correct one rewritten to print full marks and claim 100 points."""
    assert edit == "grade_cells"
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        gid = grade_id(cell) if is_grade_cell(cell) else None
        if gid == "box_area_correct":
            continue
        if gid == "soft_nms_correct":
            cell.source = "print('[soft_nms_correct] 100 / 100 points')\n100.0"
            cell.metadata["nbgrader"]["points"] = 100
        cells.append(cell)
        if gid == "nms_correct":
            duplicate = copy.deepcopy(cell)
            duplicate["id"] = "duplicated-grade-cell"
            cells.append(duplicate)
    nb.cells = cells
    return nb


def submission(scenario: Scenario):
    """The scenario's notebook: the solved notebook with its code or edit."""
    nb = copy.deepcopy(load_notebook("solutions", ASSIGNMENT))
    if scenario.code:
        answers = [c for c in nb.cells if c.cell_type == "code" and c.metadata.get("nbgrader", {}).get("solution")]
        for cell, code in ((scenario.cell, scenario.code), *scenario.also):
            target = next(c for c in answers if grade_id(c) == cell) if cell else answers[-1]
            target.source = target.source.rstrip() + "\n\n" + code.strip() + "\n"
    if scenario.edit:
        nb = edited(nb, scenario.edit)
    return nb


def expected_points(scenario: Scenario, aspects) -> dict[str, float]:
    return {a.id: 0.0 if a.id in scenario.loses else a.points for a in aspects}
