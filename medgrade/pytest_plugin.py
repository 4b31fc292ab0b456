"""``pytest --grade PATH``: a self-learner grades their own notebooks.

PATH is a notebook or a folder of them. Each notebook is scored exactly as
``nbgrader autograde`` records it (:func:`medgrade.notebook.assess`:
its setup and answer cells run in isolated worker processes, the checks run
here) and every grade cell becomes one test item, ``<notebook>::<aspect>``,
that passes with full points and fails with the check's report (the
property that failed and the counterexample) otherwise. A table of points
per aspect closes the run, with what an instructor would be told (how the
notebook was read, aspects that wait for review, constructs worth a look).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from medgrade.notebook import (
    AspectScore,
    NotebookError,
    assess_notebook,
    grade_id,
    identify_assignment,
    is_answer_cell,
    is_grade_cell,
    read_notebook,
    source_notebook_path,
)

_TABLE_KEY = pytest.StashKey[list]()


def pytest_addoption(parser):
    group = parser.getgroup("medgrade", "grading course notebooks")
    group.addoption("--grade", action="store_true", default=False,
                    help="grade the course notebooks (.ipynb) among the given paths, "
                         "as nbgrader autograde would, with points per aspect")


def pytest_configure(config):
    config.stash[_TABLE_KEY] = []


def pytest_collect_file(file_path: Path, parent):
    if parent.config.getoption("grade") and file_path.suffix == ".ipynb" \
            and ".ipynb_checkpoints" not in file_path.parts:
        return GradedNotebook.from_parent(parent, path=file_path)
    return None


class GradedNotebook(pytest.File):
    def collect(self):
        try:
            nb = read_notebook(self.path)
            self.assignment = identify_assignment(nb, self.path)
            source = read_notebook(source_notebook_path(self.assignment))
        except NotebookError as e:
            yield Unreadable.from_parent(self, name="notebook", message=str(e))
            return
        self._scores: dict[str, AspectScore] | None = None
        for cell in source.cells:
            if is_grade_cell(cell) and not is_answer_cell(cell):
                yield AspectItem.from_parent(self, name=grade_id(cell))

    def scores(self) -> dict[str, AspectScore]:
        if self._scores is None:
            found = assess_notebook(self.path)
            self._scores = {s.aspect: s for s in found.scores}
            self.config.stash[_TABLE_KEY].append((self.path, found))
        return self._scores


class AspectLost(Exception):
    pass


class AspectItem(pytest.Item):
    def runtest(self):
        score = self.parent.scores()[self.name]
        self.user_properties.append(("points", score.points))
        if score.points < score.max_points:
            raise AspectLost(f"{self.name}: {score.points:g} / {score.max_points:g} points\n{score.report}")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, AspectLost):
            return str(excinfo.value)
        if isinstance(excinfo.value, NotebookError):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, None, f"{self.path.name}::{self.name}"


class Unreadable(pytest.Item):
    def __init__(self, *, message: str, **kwargs):
        super().__init__(**kwargs)
        self.message = message

    def runtest(self):
        raise NotebookError(self.message)

    def repr_failure(self, excinfo):
        return self.message

    def reportinfo(self):
        return self.path, None, f"{self.path.name}"


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    table = config.stash.get(_TABLE_KEY, [])
    if not table:
        return
    tr = terminalreporter
    tr.section("points per aspect")
    for path, found in table:
        scores = found.scores
        total = sum(s.points for s in scores)
        out_of = sum(s.max_points for s in scores)
        tr.write_line(f"{path}  ({found.assignment}): {total:g} / {out_of:g}")
        width = max(len(s.aspect) for s in scores)
        for s in scores:
            mark = "ok  " if s.points >= s.max_points else "LOST"
            waits = "  (for review)" if s.review and s.points < s.max_points else ""
            tr.write_line(f"  {mark} {s.aspect:<{width}}  {s.points:g} / {s.max_points:g}{waits}")
        summary = found.for_the_instructor()
        if summary:
            for line in summary.splitlines()[1:]:
                tr.write_line(f"  {line}")
