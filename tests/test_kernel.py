"""The confined kernel nbgrader runs a submission in (medgrade/kernel.py)."""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import nbformat
import pytest

from medgrade.confined_kernel import ConfinedExecute
from medgrade.worker import sandbox


def _run(cells: list[str], folder):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    ConfinedExecute(timeout=60, allow_errors=True).preprocess(nb, {"metadata": {"path": str(folder)}})
    return nb


def _text(cell) -> str:
    return "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) + o.get("evalue", "")
                   for o in cell.outputs)


@pytest.mark.skipif(sandbox.landlock_abi() < 1, reason="this kernel cannot restrict writes (no Landlock)")
def test_the_kernel_starts_on_a_machine_whose_home_is_empty(tmp_path, monkeypatch):
    """A fresh machine has no ~/.ipython: IPython creates its profile when the kernel starts, and
    the confined kernel may not write in the grader's home. It gets a home of its own."""
    home = tmp_path / "home"
    home.mkdir()
    for name in ("IPYTHONDIR", "MPLCONFIGDIR", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "JUPYTER_RUNTIME_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(home))
    submission = tmp_path / "submission"
    submission.mkdir()
    nb = _run(["print('ran', 6 * 7)",
               "import matplotlib.pyplot as plt; plt.plot([1, 2]); print('plotted')",
               f"open({str(home / 'planted')!r}, 'w').write('x')"], submission)
    assert [c.execution_count for c in nb.cells] == [1, 2, 3]
    assert "ran 42" in _text(nb.cells[0]) and "plotted" in _text(nb.cells[1])
    assert "ermission" in _text(nb.cells[2])          # the grader's home stays read-only to it
    assert not (home / "planted").exists()


FACTS = r'''
import json, os, sys, tempfile, multiprocessing, torch, matplotlib
from tqdm.auto import tqdm
with multiprocessing.get_context("fork").Pool(2) as pool:
    squares = pool.map(abs, [-2, -3])
print(json.dumps({
    "path": sys.path, "cwd": os.getcwd(), "argv0": os.path.basename(sys.argv[0]),
    "environment": sorted(os.environ), "home": os.environ["HOME"] == tempfile.gettempdir(),
    "threads": torch.get_num_threads(), "backend": matplotlib.get_backend(), "tqdm": tqdm.__module__,
    "session leader": os.getpid() == os.getsid(0), "children": squares,
    "parent is the grader": os.getppid() == int(os.environ["JPY_PARENT_PID"]),
}, sort_keys=True))
'''


@pytest.mark.skipif(sandbox.landlock_abi() < 1, reason="this kernel cannot restrict writes (no Landlock)")
def test_a_forked_kernel_is_the_kernel_a_new_interpreter_would_be(tmp_path):
    """Kernels are forked from a zygote that has imported torch (medgrade/worker/kernel.py):
    the same kernel as one started as a new interpreter, with everything it reads from its
    environment read again; only its parent differs. Both are confined alike."""
    import json

    from traitlets.config import Config
    facts = {}
    for fork in (True, False):
        config = Config()
        config.SandboxedKernelManager.fork = fork
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FACTS),
                                             nbformat.v4.new_code_cell("open('/etc/planted', 'w')")])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        execute = ConfinedExecute(timeout=60, allow_errors=True, config=config)
        execute.preprocess(nb, {"metadata": {"path": str(tmp_path)}})
        facts[fork] = json.loads(_text(nb.cells[0]))
        assert "ermission" in _text(nb.cells[1]) or "Read-only" in _text(nb.cells[1]), _text(nb.cells[1])
    assert facts[True].pop("parent is the grader") is False and facts[False].pop("parent is the grader") is True
    assert facts[True] == facts[False]
    assert facts[True]["cwd"] == str(tmp_path) and facts[True]["session leader"] and facts[True]["home"]


def test_worker_zygotes_are_forked_from_the_kernel_zygote_and_outlive_its_death():
    """The zygotes of workers (the default one and 14's, which refuses torchvision's native code)
    are children of the kernel zygote, which imported torch once for all three. Killed, the
    zygotes start again on the next request: grading goes on."""
    import os
    import signal
    import time

    from medgrade import isolation
    from medgrade.isolation import grade_cells
    from medgrade.notebook import submission_cells
    from medgrade.registry import ASPECTS, assignments
    from tests.conftest import load_notebook
    assignments()

    def parent(pid: int) -> int:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])

    def graded(assignment: str, aspect: str) -> float:
        cells = submission_cells(load_notebook("solutions", assignment))
        return [points for _, points, _ in grade_cells(cells, [ASPECTS[aspect]])][0]

    for round_ in range(2):
        assert graded("05_batchnorm", "batchnorm_forward_eval") == ASPECTS["batchnorm_forward_eval"].points
        assert graded("14_iou_nms", "box_area_correct") == ASPECTS["box_area_correct"].points
        kernel_zygote = isolation._kernel_zygote()._forkserver_pid
        zygotes = [isolation._zygote(r).server._forkserver_pid for r in ((), ("torchvision",))]
        assert [parent(z) for z in zygotes] == [kernel_zygote] * 2, round_
        assert parent(kernel_zygote) == os.getpid()
        for pid in (*zygotes, kernel_zygote):
            os.kill(pid, signal.SIGKILL)
        time.sleep(0.5)


def test_a_killed_owner_leaves_no_private_folder_behind(tmp_path, monkeypatch):
    """A worker's or kernel's private folder is named after the process that owns it; one whose
    owner was killed before it could remove it goes when the next one is made."""
    monkeypatch.setattr(sandbox.tempfile, "gettempdir", lambda: str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    stale = tmp_path / f"medgrade-worker-{gone.pid}-abc"
    live = tmp_path / f"medgrade-worker-{os.getpid()}-def"
    other = tmp_path / "medgrade-worker-notapid"
    for folder in (stale, live, other):
        (folder / ".cache").mkdir(parents=True)
    made = Path(sandbox.new_home("worker"))
    assert made.parent == tmp_path and made.name.startswith(f"medgrade-worker-{os.getpid()}-")
    assert not stale.exists() and live.exists() and other.exists()
