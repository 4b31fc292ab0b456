"""The static reading of answer cells (medgrade/scan.py): the grader's machinery costs points,
however it is reached; honest answers raise nothing; a few constructs are only worth a look."""
from __future__ import annotations

import textwrap

import pytest

from medgrade.mutants import apply, mutants_of
from medgrade.notebook import answer_cells, grade_id
from medgrade.registry import assignments
from medgrade.scan import charges, findings
from tests.conftest import load_notebook
from tests.redteam.scenarios import ASSIGNMENT, SCENARIOS, submission

SETUP = "import torch\nimport torch.nn as nn\nimport torch.nn.functional as F\nimport numpy as np\nimport torchvision\n"


def scan(nb, assignment):
    setup = next(c.source for c in nb.cells if grade_id(c) == "setup")
    return findings(setup, answer_cells(nb), assignments()[assignment])


def costs(code: str) -> list[str]:
    return [f.what for f in findings(SETUP, [("a_answer", textwrap.dedent(code))]) if f.costs]


@pytest.mark.parametrize("assignment", list(assignments()))
def test_solutions_stubs_and_honest_variants_raise_nothing(assignment):
    honest = [m for m in mutants_of(assignment) if not m.breaks]
    solved = load_notebook("solutions", assignment)
    for nb in (solved, load_notebook("release", assignment), *(apply(solved, m) for m in honest)):
        assert scan(nb, assignment) == []        # one variant at a time: two may edit one line


# Ways to reach what the grading worker watches a call with, plain and hidden. Each must cost.
MACHINERY = {
    "dispatch modes off": "from torch.utils._python_dispatch import _disable_current_modes",
    "dispatch module": "import torch.utils._python_dispatch as d\nd._disable_current_modes()",
    "function modes": "class M(torch.overrides.TorchFunctionMode):\n    pass",
    "torch_function hook": "class T(torch.Tensor):\n    @classmethod\n"
                           "    def __torch_function__(cls, *a):\n        pass",
    "operators by name": "nms = torch.ops.torchvision.nms",
    "operators by alias": "t = torch\nop = t.ops.aten.convolution",
    "operators of a built object": "op = [torch][0].ops.aten.convolution",
    "operators from an import": "from torch import ops",
    "C bindings": "f = torch._C._VariableFunctions.conv2d",
    "load a library": "torch.ops.load_library('x.so')",
    "computed attribute": "f = getattr(torch.utils, '_python' + '_dispatch')",
    "getattr passed around": "g = getattr\nf = g(torch, 'ops')",
    "constant getattr": "f = getattr(torch, 'ops')",
    "__dict__": "m = torch.utils.__dict__['_python_dispatch']",
    "vars of a module": "m = vars(torch)['o' + 'ps']",
    "namespace": "t = globals()['torch']",
    "exec": "exec('import torch')",
    "eval": "x = eval('1')",
    "compile": "c = compile('x', 'y', 'exec')",
    "__import__": "m = __import__('torch')",
    "importlib": "import importlib\nm = importlib.import_module('torch')",
    "encoded names": "import base64\nname = base64.b64decode('b3Bz').decode()",
    "codecs": "import codecs\nname = codecs.decode('bcf', 'rot13')",
    "pickle": "import pickle\nf = pickle.loads(b'')",
    "sys.modules": "import sys\nm = sys.modules['torch']",
    "settrace": "import sys\nsys.settrace(None)",
    "setprofile": "import sys\nsys.setprofile(None)",
    "threading trace": "import threading\nthreading.settrace(None)",
    "monitoring": "import sys\nsys.monitoring.use_tool_id(1, 'x')",
    "frames": "import sys\nf = sys._getframe(1).f_locals",
    "inspect frames": "import inspect\nf = inspect.currentframe().f_back",
    "traceback frames": "try:\n    1 / 0\nexcept Exception as e:\n    f = e.__traceback__.tb_frame",
    "gc objects": "import gc\nobjs = gc.get_objects()",
    "gc referrers": "from gc import get_referrers",
    "function globals": "def f():\n    pass\ng = f.__globals__",
    "class graph": "subs = ().__class__.__bases__[0].__subclasses__()",
    "grading package": "import medgrade.worker.server",
    "grading package by string": "name = 'medgrade.worker.server'",
    "patch a library": "torch.equal = lambda *a: True",
    "patch through setattr": "setattr(torch, 'allclose', lambda *a: True)",
    "patch an alias": "F.conv2d = lambda *a: None",
    "delete from a library": "del torch.Tensor.__eq__",
    "builtins": "import builtins\nbuiltins.print = None",
    "ctypes": "import ctypes",
    "attrgetter": "import operator\nf = operator.attrgetter('ops')(torch)",
    "mock": "from unittest import mock",
    "code objects": "import types\nf = types.FunctionType",
    "torch.library": "lib = torch.library.Library('aten', 'IMPL')",
    "inside a function": "def nms(b, s, t):\n"
                         "    with torch.utils._python_dispatch._disable_current_modes():\n        pass",
    "reduce over getattr": "import functools\nm = functools.reduce(getattr, ['utils', 'x'], torch)",
    "object.__getattribute__": "m = object.__getattribute__(torch, 'ops')",
    "object.__setattr__": "object.__setattr__(torch, 'equal', None)",
    "pkgutil": "import pkgutil\nf = pkgutil.resolve_name('med' + 'grade.worker:x')",
    "native extension": "from torch.utils.cpp_extension import load_inline",
    "numpy ctypes": "p = np.ctypeslib.as_ctypes",
    "torch.compile": "f = torch.compile(lambda x: x)",
    "class swap": "torch.__class__ = object",
}

HONEST = {
    "torch.stack": "x = torch.stack([torch.ones(2)])",
    "self.ops": "class Net(nn.Module):\n    def __init__(self):\n"
                "        super().__init__()\n        self.ops = nn.ModuleList()",
    "gc.collect": "import gc\ngc.collect()",
    "inspect.signature": "import inspect\ns = inspect.signature(print)",
    "vars of self": "class O:\n    def check(self):\n        return vars(self)['x']",
    "getattr with a constant": "w = getattr(nn.Linear(2, 2), 'weight')",
    "hasattr": "ok = hasattr(torch.ones(1), 'shape')",
    "cudnn settings": "torch.backends.cudnn.deterministic = True\ntorch.backends.cuda.matmul.allow_tf32 = False",
    "module attributes": "m = nn.Linear(2, 2)\nm.weight.data = torch.zeros(2, 2)",
    "environment": "import os\nos.environ['MASTER_PORT'] = '29500'",
    "torchvision.ops": "a = torchvision.ops.box_area(torch.zeros(0, 4))",
    "class name": "name = torch.ones(1).__class__.__name__",
    "docstring": 'def f():\n    """Unlike torch._C._nn.l1_loss, use __dict__ nowhere."""\n    return 1',
    "time": "import time\nt = time.perf_counter()",
    "exception info": "import sys\ntry:\n    1 / 0\nexcept ZeroDivisionError:\n    kind = sys.exc_info()[0]",
}


@pytest.mark.parametrize("name", list(MACHINERY))
def test_reaching_the_machinery_costs(name):
    assert costs(MACHINERY[name]), name


@pytest.mark.parametrize("name", list(HONEST))
def test_honest_code_costs_nothing(name):
    assert costs(HONEST[name]) == [], name


# what each red-team scenario's findings must mention
MENTIONED = {1: "__torch_function__", 2: "replaces torch.allclose", 3: "display hook", 4: "os._exit",
             6: "signals", 8: "forks", 9: "sys._getframe", 12: "torch.ops", 14: "replaces torch.randn",
             16: "replaces time.perf_counter", 18: "subprocess", 19: "_disable_current_modes",
             20: "computed name", 21: "setprofile"}


@pytest.mark.parametrize("number", sorted(MENTIONED))
def test_hostile_constructs_are_found(number):
    scenario = next(s for s in SCENARIOS if s.number == number)
    found = [str(f) for f in scan(submission(scenario), ASSIGNMENT)]
    assert any(MENTIONED[number] in line for line in found), found


@pytest.mark.parametrize("scenario", SCENARIOS, ids=[s.name for s in SCENARIOS])
def test_the_charged_tasks_are_the_scenarios(scenario):
    nb = submission(scenario)
    found = scan(nb, ASSIGNMENT)
    assert sorted(charges(answer_cells(nb), found, assignments()[ASSIGNMENT]).tasks) == sorted(scenario.charged)


def test_a_helper_in_another_cell_charges_the_task_that_uses_it():
    """Reached inside a helper of one cell and called from another task's cell: both tasks; a task
    that does not use it keeps its points; at a cell's top level every grade cell waits for review."""
    cells = [("box_area_answer", "def box_area(b):\n    return b\n"
                                 "def _fast(b):\n    return torch.ops.torchvision.nms(b)\n"),
             ("nms_answer", "def nms(b, s, t):\n    return _fast(b)\n"),
             ("box_iou_answer", "def box_iou(a, b):\n    return a\n")]
    found = findings(SETUP, cells)
    charged = charges(cells, found, ["box_area", "nms", "box_iou"])
    assert sorted(charged.tasks) == ["box_area", "nms"] and not charged.everywhere
    cells[0] = ("box_area_answer", "_op = torch.ops.torchvision.nms\ndef box_area(b):\n    return b\n")
    assert charges(cells, findings(SETUP, cells), ["box_area", "nms", "box_iou"]).everywhere
