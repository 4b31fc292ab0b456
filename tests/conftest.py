"""Shared fixtures: the course's notebooks, executed in-process for fast checks."""
from __future__ import annotations

import copy
import functools
import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

from medgrade.notebook import PACKAGE_ROOT, answer_code, read_notebook  # noqa: E402


def notebook_path(kind: str, assignment: str):
    return PACKAGE_ROOT / kind / assignment / f"{assignment}.ipynb"


@functools.lru_cache(maxsize=None)
def _parsed(kind: str, assignment: str):
    return read_notebook(notebook_path(kind, assignment))


def load_notebook(kind: str, assignment: str):
    """A fresh copy of a committed notebook: a test may edit what it gets."""
    return copy.deepcopy(_parsed(kind, assignment))


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

# `./course test` runs pytest-xdist with `--dist loadscope`, and the scheduler below decides
# what a scope is: a group of tests that runs on one worker. Groups share an expensive
# fixture or must not overlap (the red-team tests look for leftover processes machine-wide);
# the checks are split by assignment so the workers share them; the end-to-end tests share
# one demo course.
# Longest first (the queue follows the collection order, sorted here): the three groups of
# several minutes each start before the many short ones, which then fill the gaps, so that no
# worker is left alone with a long group at the end.
_FIRST = ("e2e", "test_redteam", "test_class", "checks-")
_HONEST_REDTEAM = ("test_five_gradings", "test_a_broken_submission", "test_library_through")


@functools.lru_cache(maxsize=1)
def _assignment_of() -> dict:
    from medgrade.mutants import mutants_of
    from medgrade.registry import assignments
    table = {}
    for a, tasks in assignments().items():
        table[a] = a
        table.update({x.id: a for t in tasks.values() for x in t})
        table.update({m.name: a for m in mutants_of(a)})
    return table


def group_of(nodeid: str) -> str:
    path, _, rest = nodeid.partition("::")
    module = path.rsplit("/", 1)[-1].removesuffix(".py")
    param = rest[rest.find("[") + 1:rest.rfind("]")] if "[" in rest else ""
    if module == "test_checks" and param in _assignment_of():
        return f"checks-{_assignment_of()[param]}"
    if module == "test_end_to_end":
        return "e2e"                        # one demo course serves every test of the module
    if module == "test_redteam" and rest.startswith(_HONEST_REDTEAM):
        return "test_redteam-honest"        # no hostile code: may overlap with the rest
    return module


# The quick tier, `./course test -m quick`: what a developer runs while working (about two
# minutes on two cores). Every test but the slow ones (nbgrader, notebooks, browsers, servers),
# the mutants and the red-team suite (hostile submissions that hang, fork and wait for their
# time limits); CI runs everything.
_NOT_QUICK = ("test_mutant_loses_what_it_breaks",)
_NOT_QUICK_MODULES = ("test_redteam.py",)


def pytest_collection_modifyitems(config, items):
    for item in items:
        if (item.get_closest_marker("slow") is None and item.originalname not in _NOT_QUICK
                and item.path.name not in _NOT_QUICK_MODULES):
            item.add_marker(pytest.mark.quick)

    def rank(item):
        group = group_of(item.nodeid)
        return next((i for i, prefix in enumerate(_FIRST) if group.startswith(prefix)), len(_FIRST))
    items.sort(key=rank)     # stable: the order within a group is kept


@pytest.hookimpl(optionalhook=True)   # a hook of pytest-xdist's: unknown without it
def pytest_xdist_make_scheduler(config, log):
    if config.getvalue("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class CourseGroups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return group_of(nodeid)

    return CourseGroups(config, log)
