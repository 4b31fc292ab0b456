"""The repository's shape: pins agree, the top-level folders, nothing hidden in release/, no outputs,
one glossary.

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
        for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS"):
            assert marker not in text, f"{nb.name} contains {marker!r}"
        # the grading section shows grade() in markdown; no code cell calls it
        code = "".join("".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "code")
        assert "medgrade import grade" not in code, f"{nb.name} calls the hidden checks"


def test_committed_notebooks_have_no_outputs():
    for kind in ("source", "release", "solutions"):
        for path in (ROOT / kind).glob("*/*.ipynb"):
            nb = json.loads(path.read_text())
            for cell in nb["cells"]:
                assert not cell.get("outputs"), f"{path} has outputs"


def test_notebooks_use_the_glossarys_words():
    """One Chinese word per idea (medgrade/glossary.py); the quoted interview questions are exempt."""
    from medgrade.glossary import misuses
    for path in sorted((ROOT / "source").glob("*/*.ipynb")):
        found = sorted({m for cell in json.loads(path.read_text())["cells"] for m in misuses("".join(cell["source"]))})
        assert not found, f"{path.name}: " + ", ".join(f"{bad} (the course writes {good})" for bad, good in found)


def test_every_chapter_says_how_it_is_graded_and_shows_its_figures():
    """The section ./course chapters writes (medgrade/classroom/chapter.py): before the setup cell,
    every aspect with its points as the registry has them; and the solution's figures, each
    after the cell that draws it, as images a student sees before their own code works."""
    import base64

    from medgrade.classroom.chapter import FIGURE_PREFIX, GRADING_ID
    for a, tasks in assignments().items():
        cells = json.loads((ROOT / "source" / a / f"{a}.ipynb").read_text())["cells"]
        ids = [c.get("id") for c in cells]
        assert GRADING_ID in ids, f"{a} has no grading section: run ./course chapters {a}"
        setup = next(i for i, c in enumerate(cells)
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "setup")
        assert ids.index(GRADING_ID) == setup - 1, f"{a}: the grading section is not right before the setup cell"
        section = "".join(cells[setup - 1]["source"])
        for task, aspects in tasks.items():
            for x in aspects:
                row = f"| `{task}` | `{x.id}` | {x.points:g} |"
                assert row in section, f"{a}: {x.id} is stale: ./course chapters {a}"
        figures = [(i, c) for i, c in enumerate(cells) if c.get("id", "").startswith(FIGURE_PREFIX)]
        assert figures, f"{a} shows no figure: run ./course chapters {a}"
        for i, cell in figures:
            assert cells[i - 1]["cell_type"] == "code" and FIGURE_PREFIX + cells[i - 1]["id"] == cell["id"], cell["id"]
            for name, data in cell["attachments"].items():
                [(mime, encoded)] = data.items()
                head = base64.b64decode(encoded)[:4]
                assert (mime, head[:3]) in (("image/png", b"\x89PN"), ("image/jpeg", b"\xff\xd8\xff")), name
                assert f"attachment:{name}" in "".join(cell["source"]), name
