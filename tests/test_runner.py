"""`pytest --grade`: the self-learner's runner, its report and its answers to bad input."""
from __future__ import annotations

import subprocess
import sys

import nbformat
import pytest

from medgrade.classroom.nbgrader_cli import tool_env
from medgrade.mutants import apply, mutants_of
from medgrade.notebook import PACKAGE_ROOT as ROOT
from tests.conftest import load_notebook


def grade(*paths, cwd=None):
    return subprocess.run([sys.executable, "-m", "pytest", "--grade", "-q", *map(str, paths)],
                          cwd=cwd or ROOT, env=tool_env(), capture_output=True, text=True)


def test_missing_notebook(tmp_path):
    proc = grade(tmp_path / "nope.ipynb")
    assert proc.returncode != 0
    assert "not found" in proc.stdout + proc.stderr


def test_malformed_notebook_is_one_clear_line(tmp_path):
    path = tmp_path / "01_conv_arithmetic.ipynb"
    path.write_text('{"cells": [')
    proc = grade(path)
    assert proc.returncode == 1
    assert f"{path}: not a notebook (invalid JSON at line 1)" in proc.stdout
    assert "Traceback" not in proc.stdout


def test_unknown_assignment(tmp_path):
    path = tmp_path / "my_homework.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]), path)
    proc = grade(path)
    assert proc.returncode == 1
    assert "unknown assignment 'my_homework'" in proc.stdout


@pytest.mark.slow
def test_a_wrong_answer_shows_points_and_the_counterexample(tmp_path):
    # a bug the visible asserts miss and the hidden properties catch
    assignment = "14_iou_nms"
    mutant = next(m for m in mutants_of(assignment) if m.name == "nms_greater_or_equal")
    nb = apply(load_notebook("solutions", assignment), mutant)
    # a learner may rename their copy: the grade cells still tell the assignment apart
    path = tmp_path / "my_copy.ipynb"
    nbformat.write(nb, path)
    proc = grade(tmp_path)
    out = proc.stdout
    assert proc.returncode == 1, out
    assert "points per aspect" in out and f"({assignment})" in out
    for aspect_id in mutant.breaks:
        assert f"LOST {aspect_id}" in out
        assert f"{aspect_id}: 0 / " in out
    assert "✗ every dropped box overlaps a kept, higher-scored box" in out and "counterexample" in out
    assert not (tmp_path / ".hypothesis").exists()
