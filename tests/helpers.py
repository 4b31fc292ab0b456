"""What several test modules need: a copy of the course to write in, and a rule for missing servers."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from medgrade.notebook import PACKAGE_ROOT as ROOT

PARTS = ("source", "release", "solutions", "tests")


def copy_course(dest: Path, parts=PARTS, config_extra: str = "") -> Path:
    """The course's notebooks, its nbgrader_config.py and (for the preprocessors some tests
    configure, such as RefusesOnPurpose) the tests package, in ``dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    ignore = shutil.ignore_patterns("__pycache__", "node_modules")
    for name in parts:
        shutil.copytree(ROOT / name, dest / name, ignore=ignore)
    (dest / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text() + config_extra)
    return dest


def require(reason: str | None) -> None:
    """A real server or program a test needs: missing on a workstation is a skip, in CI a failure."""
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"{reason}: ./course test installs Debian's packages when it runs as root")
        pytest.skip(reason)


class RefusesOnPurpose:
    """An autograde step that fails every notebook with a reason of its own (a course's test
    configures it to see that reason reach the class command's report)."""

    REASON = "this notebook is refused on purpose by the course's tests"

    def __init__(self, **kwargs):
        pass

    def __call__(self, nb, resources):
        raise ValueError(self.REASON)
