"""The repository's shape: pins agree, the top-level folders, nothing hidden in release/, no outputs.

That release/ and solutions/ are what nbgrader makes of source/ is tested on the demo's course
(tests/test_end_to_end.py), which generates them anyway."""
from __future__ import annotations

import json
import re
import tomllib

from medgrade.notebook import PACKAGE_ROOT as ROOT
from medgrade.registry import assignments

PIN = re.compile(r"^\s*-?\s*([A-Za-z0-9_.\-]+)==([^\s#]+)\s*$")


def _pins(lines):
    return {m.group(1).lower(): m.group(2) for line in lines if (m := PIN.match(line))}


def test_environment_yml_and_pyproject_pin_the_same_versions():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    from_pyproject = _pins(project)
    from_conda = _pins((ROOT / "environment.yml").read_text().splitlines())
    assert from_pyproject, "pyproject.toml pins nothing"
    assert from_conda == from_pyproject
    for name in ("torch", "torchvision", "nbgrader", "jupyterlab", "hypothesis", "pytest",
                 "numpy", "scikit-image"):
        assert name in from_pyproject, f"{name} is not pinned"
    assert from_pyproject["torch"] == "2.14.1" and from_pyproject["torchvision"] == "0.29.1"


def test_top_level_layout():
    for name in ("source", "release", "autograded", "solutions", "tests", "nbgrader_config.py",
                 "environment.yml", "pyproject.toml", "README.md", ".ci/run", "course"):
        assert (ROOT / name).exists(), name
    for a in assignments():
        for kind in ("source", "release", "solutions"):
            folder = ROOT / kind / a
            assert sorted(p.name for p in folder.iterdir()) == [f"{a}.ipynb"], folder


def test_release_has_no_solutions_or_hidden_tests():
    for nb in (ROOT / "release").glob("*/*.ipynb"):
        text = nb.read_text()
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "medgrade import grade"):
            assert marker not in text, f"{nb.name} contains {marker!r}"


def test_committed_notebooks_have_no_outputs():
    for kind in ("source", "release", "solutions"):
        for path in (ROOT / kind).glob("*/*.ipynb"):
            nb = json.loads(path.read_text())
            for cell in nb["cells"]:
                assert not cell.get("outputs"), f"{path} has outputs"
