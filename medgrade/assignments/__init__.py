"""The assignments: one folder each, found by discovery.

``medgrade/assignments/<id>/`` holds everything the grading of assignment ``<id>`` needs
besides its notebook (``source/<id>/<id>.ipynb``):

- ``__init__.py``: a one-line title, and ``WORKER_PRELOAD``, modules its grading workers import
  before any student code besides what the notebook's setup cell imports (libraries its checks
  refuse, so that a worker starts warm);
- ``checks.py``: the graded aspects (:func:`medgrade.registry.aspect`), one per grade cell;
- ``inputs.py``: the Hypothesis strategies only this assignment draws from;
- ``reference.py``: the references its checks compare with;
- ``mutants.py``: ``MUTANTS``, known-wrong and honest variants of the solution, and ``DEMO``, the
  mistakes of the demo's buggy student (:mod:`medgrade.mutants`).

What several assignments share (tensors, boxes) lives in :mod:`medgrade.common`.
``./course new ID`` creates a folder that already passes the course's own tests.
"""
from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

FOLDER = Path(__file__).parent
ID = re.compile(r"\d\d_[a-z][a-z0-9]*(?:_[a-z0-9]+)*")     # NN_topic: two digits, lowercase words


def ids() -> list[str]:
    """Every assignment folder here, in order."""
    return sorted(p.name for p in FOLDER.iterdir() if p.is_dir() and ID.fullmatch(p.name)
                  and (p / "__init__.py").is_file())


def part(assignment: str, name: str) -> ModuleType:
    """``checks``, ``mutants``, ... of one assignment (imported on first use)."""
    if assignment not in ids():
        raise KeyError(f"no folder medgrade/assignments/{assignment}")
    return importlib.import_module(f"{__name__}.{assignment}.{name}")


def of_module(module_name: str) -> str:
    """The assignment a module of this package belongs to."""
    prefix = __name__ + "."
    if not module_name.startswith(prefix):
        raise ValueError(f"{module_name} is not in an assignment folder")
    return module_name[len(prefix):].split(".")[0]


def worker_preload(chosen: list[str] | None = None) -> list[str]:
    """What the grading workers of these assignments (default: every one) import before any
    student code: the modules their notebooks' setup cells import, which a worker runs first,
    and their folders' ``WORKER_PRELOAD``."""
    import ast
    import json

    from medgrade.notebook import source_notebook_path
    found: list[str] = []
    for a in ids():
        if chosen is not None and a not in chosen:
            continue
        modules: list[str] = []
        try:
            cells = json.loads(source_notebook_path(a).read_text())["cells"]
            setup = next("".join(c["source"]) for c in cells if c.get("cell_type") == "code"
                         and c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup")
            for node in ast.walk(ast.parse(setup)):
                if isinstance(node, ast.Import):
                    modules += [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    modules.append(node.module)
        except (OSError, ValueError, KeyError, StopIteration, SyntaxError):
            pass                                # a notebook being written: its folder's list only
        modules += getattr(importlib.import_module(f"{__name__}.{a}"), "WORKER_PRELOAD", ())
        found += [m for m in modules if m not in found]
    return found
