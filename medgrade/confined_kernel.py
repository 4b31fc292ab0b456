"""A Jupyter kernel manager that starts notebook kernels confined (see :mod:`medgrade.worker.sandbox`).

``nbgrader autograde`` runs each submission top to bottom in a kernel: that
is the student's code, with the grader's files within reach. Configured as
the kernel manager of :class:`ConfinedExecute` (nbgrader's ``Execute``, which
otherwise fixes its own kernel manager) in ``nbgrader_config.py``, this manager
starts the kernel through ``python -m medgrade.worker.sandbox``: writes only inside
the submission's own folder and a private temporary folder, a memory cap, a
process cap; when the kernel is shut down, everything it started is killed.

The kernel is forked from a zygote that has imported torch, NumPy and SciPy
(:mod:`medgrade.worker.kernel`): about 2 s of CPU less per notebook than a new
interpreter, which ``c.SandboxedKernelManager.fork = False`` brings back. Both
kernels are confined alike and see the same environment.

The private folder is the kernel's home: IPython's profile, Matplotlib's and other
libraries' caches and the temporary files go there, so a kernel starts the same on
a machine whose home directory is empty (IPython creates its profile on start, and a
confined kernel may not write in the grader's home).
"""
from __future__ import annotations

import os
import shutil
import signal
import sys
import typing as t

from jupyter_client import AsyncKernelManager
from nbgrader.preprocessors import Execute
from traitlets import Bool

from medgrade.worker import sandbox


class _ForkedKernel:
    """What jupyter_client's local provisioner expects of a kernel's ``Popen``, for a kernel
    forked from the zygote (not this process's child: its exit status comes from the zygote)."""

    stdin = stdout = stderr = None

    def __init__(self, process):
        self.process = process
        self.pid = process.pid

    @property
    def returncode(self) -> int | None:
        return self.process.exitcode

    def poll(self) -> int | None:
        return self.process.exitcode

    def wait(self, timeout: float | None = None) -> int | None:
        self.process.join(timeout)
        return self.process.exitcode

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class SandboxedKernelManager(AsyncKernelManager):
    fork = Bool(True, help="Fork kernels from a zygote that has imported torch, NumPy, SciPy and "
                           "IPython's kernel (about 2 s of CPU less per notebook); False starts each "
                           "kernel as a new interpreter. Both are confined alike.").tag(config=True)

    _sandbox_pid: int | None = None
    _sandbox_cgroup: str | None = None
    _sandbox_home: str | None = None
    _sandbox_writable: list[str] = []
    _fork_args: list[str] | None = None

    async def _async_pre_start_kernel(self, **kw: t.Any):
        cmd, kw = await super()._async_pre_start_kernel(**kw)
        folder = os.path.abspath(kw.get("cwd") or os.getcwd())
        self._sandbox_home = sandbox.new_home("kernel")
        self._sandbox_cgroup = sandbox.new_cgroup()
        self._sandbox_writable = [folder, self._sandbox_home]
        prefix = [sys.executable, "-m", "medgrade.worker.sandbox", "--write", folder, "--write", self._sandbox_home]
        if self._sandbox_cgroup:
            prefix += ["--cgroup", self._sandbox_cgroup]
        kw["env"] = dict(kw.get("env") or os.environ, **sandbox.private_home(self._sandbox_home))
        # the course's kernel (this interpreter's ipykernel) can be forked; any other is started
        forkable = (self.fork and sys.platform.startswith("linux") and list(cmd[1:3]) == ["-m", "ipykernel_launcher"]
                    and os.path.realpath(cmd[0]) == os.path.realpath(sys.executable))
        self._fork_args = list(cmd[3:]) if forkable else None
        return prefix + ["--"] + list(cmd), kw

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        if self._fork_args is None:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        else:
            from medgrade.isolation import start_kernel
            cwd = os.path.abspath(kw.get("cwd") or os.getcwd())
            env = dict(kw["env"], JPY_PARENT_PID=str(os.getpid()))      # as jupyter_client's launcher sets it
            process = _ForkedKernel(start_kernel(self._fork_args, env, cwd, self._sandbox_writable,
                                                 self._sandbox_cgroup))
            provisioner = self.provisioner
            provisioner.process = process
            provisioner.pid = provisioner.pgid = process.pid     # the kernel leads its own session
            provisioner.cwd = cwd
            self._reconcile_connection_info(provisioner.connection_info)
        process = getattr(self.provisioner, "process", None)
        self._sandbox_pid = getattr(process, "pid", None)

    async def _async_cleanup_resources(self, restart: bool = False) -> None:
        await super()._async_cleanup_resources(restart=restart)
        if self._sandbox_pid is not None:
            sandbox.kill_all(self._sandbox_pid, self._sandbox_cgroup)
            self._sandbox_pid = None
        if self._sandbox_home:
            shutil.rmtree(self._sandbox_home, ignore_errors=True)
            self._sandbox_home = None


class ConfinedExecute(Execute):
    """nbgrader's Execute, with kernels started by :class:`SandboxedKernelManager`.

    With ``run_experiments = False`` it runs only the cells that grading uses (the
    setup, answer and grade cells, the ones with nbgrader metadata): a chapter's
    training runs, timing tables and figures are never graded, so a class's
    autograde does not pay for them, and the kernel runs exactly the cells the
    isolated grading runs.
    """

    run_experiments = Bool(True, help="Also execute code cells without nbgrader metadata "
                                      "(experiments, figures, the student's own cells).").tag(config=True)

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("kernel_manager_class", SandboxedKernelManager)
        super().__init__(*args, **kwargs)

    def preprocess_cell(self, cell, resources, index):
        if not self.run_experiments and cell.cell_type == "code" and not cell.metadata.get("nbgrader"):
            return cell, resources
        return super().preprocess_cell(cell, resources, index)

    def preprocess(self, nb, resources, *args, **kwargs):
        """A kernel that dies or hangs ends the run, not the grading: the notebook goes on
        to the trusted scoring with the outputs it has."""
        from medgrade.isolation import warm_up
        warm_up(resources.get("nbgrader", {}).get("assignment"))   # the scoring's zygotes start while the kernel runs
        try:
            return super().preprocess(nb, resources, *args, **kwargs)
        except Exception as e:          # DeadKernelError, CellTimeoutError, a failed start
            self.log.warning("Execution stopped: %s: %s", type(e).__name__,
                             str(e).splitlines()[0][:200] if str(e) else "")
            return nb, resources
