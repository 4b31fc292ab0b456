"""Running nbgrader's commands from the course's tools, with this Python's environment."""
from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

from medgrade.notebook import course_root


class NbgraderFailed(Exception):
    """An nbgrader command exited non-zero; the message holds its last lines."""


def tool_env(**extra: str) -> dict:
    """The environment for nbgrader and its helpers (alembic) from this Python's environment."""
    env = dict(os.environ, **extra)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("OMP_NUM_THREADS", "1")
    return env


def run_nbgrader(*args: str, cwd: Path | None = None) -> None:
    """Run an nbgrader command in the course folder; NbgraderFailed with its last lines if it fails."""
    proc = subprocess.run([sys.executable, "-m", "nbgrader", *args, "--log-level=WARN"],
                          cwd=cwd or course_root(), env=tool_env(), capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise NbgraderFailed(f"nbgrader {args[0]} failed:\n  " + "\n  ".join(tail))


@functools.cache
def gradebook_schema_version() -> str:
    """The head revision of nbgrader's gradebook schema, which nbgrader writes into every
    gradebook it creates: what ``alembic heads`` prints for nbgrader's migrations, read in this
    process (nbgrader starts ``alembic`` for it, about 2.5 s of CPU per new gradebook)."""
    from alembic.config import Config
    from alembic.script import ScriptDirectory
    from nbgrader.dbutil import ALEMBIC_DIR
    config = Config()
    config.set_main_option("script_location", ALEMBIC_DIR)
    return ScriptDirectory.from_config(config).get_current_head()


def read_schema_version_in_process() -> None:
    """Make nbgrader (in this process) create gradebooks without starting ``alembic``."""
    import nbgrader.api
    nbgrader.api.get_alembic_version = gradebook_schema_version
