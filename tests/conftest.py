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
    exec(compile(answer_code(nb), "<submission>", "exec"), ns)
    return ns


@pytest.fixture(scope="session")
def namespaces():
    cache: dict = {}

    def get(kind: str, assignment: str) -> dict:
        if (kind, assignment) not in cache:
            cache[kind, assignment] = namespace_of(load_notebook(kind, assignment))
        return cache[kind, assignment]

    return get
