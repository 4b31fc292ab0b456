"""Shared fixtures: the course's notebooks, executed in-process for fast checks."""
from __future__ import annotations

import functools
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from medgrade.notebook import PACKAGE_ROOT, answer_code, read_notebook  # noqa: E402


def notebook_path(kind: str, assignment: str):
    return PACKAGE_ROOT / kind / assignment / f"{assignment}.ipynb"


@functools.lru_cache(maxsize=None)
def load_notebook(kind: str, assignment: str):
    return read_notebook(notebook_path(kind, assignment))


def namespace_of(nb) -> dict:
    """Run a notebook's setup and answer cells (definitions only) and return what they define."""
    ns: dict = {"__name__": "__submission__"}
    exec(compile(answer_code(nb), "<submission>", "exec", dont_inherit=True), ns)
    return ns


@pytest.fixture(scope="session")
def namespaces():
    cache: dict = {}

    def get(kind: str, assignment: str) -> dict:
        if (kind, assignment) not in cache:
            cache[kind, assignment] = namespace_of(load_notebook(kind, assignment))
        return cache[kind, assignment]

    return get


# ---------------------------------------------------------------- parallel runs (pytest-xdist)

# Groups whose tests share an expensive module fixture or must not overlap (the red-team
# tests look for leftover processes machine-wide), longest first: with `--dist loadgroup
# --no-loadscope-reorder` a group runs on one worker, in this order.
_FIRST = ("test_redteam", "e2e-", "checks-")


def _group(item) -> str:
    module = item.module.__name__.rpartition(".")[2]
    params = item.callspec.params if hasattr(item, "callspec") else {}
    if module == "test_checks":
        assignment = params.get("assignment") or getattr(params.get("aspect"), "assignment", None)
        if assignment:
            return f"checks-{assignment}"
    if module == "test_end_to_end" and "course" in params:
        return f"e2e-{params['course']}"          # one demo course per assignment
    return module


@pytest.hookimpl(tryfirst=True)       # before xdist's own hook reads the groups
def pytest_collection_modifyitems(config, items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(_group(item)))

    def rank(item):
        group = _group(item)
        return next((i for i, prefix in enumerate(_FIRST) if group.startswith(prefix)), len(_FIRST))
    items.sort(key=rank)     # stable: the order within a group is kept
