"""The repository passes ruff with the configuration in pyproject.toml."""
from __future__ import annotations

import subprocess
import sys

from medgrade.notebook import PACKAGE_ROOT as ROOT


def test_ruff_reports_nothing():
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", str(ROOT)], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
