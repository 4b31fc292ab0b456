"""A notebook kernel forked from a warm zygote, confined before it runs anything.

Started by :class:`medgrade.confined_kernel.SandboxedKernelManager` through
:func:`medgrade.isolation.start_kernel`: the zygote has imported torch, NumPy,
SciPy and IPython's kernel once, so a kernel does not pay for them again
(about 2 s of CPU per notebook). The child then becomes what
``python -m medgrade.worker.sandbox ... -- python -m ipykernel_launcher ...``
would have made: its own session, the kernel's working folder, environment and
``sys.path``, the same confinement (:func:`medgrade.worker.sandbox.confine`), and
``ipykernel_launcher`` run as ``__main__``.

What the zygote imported was imported with the grading process's environment;
what a kernel reads from its own (its private home, the temporary folder) is
read again in the child.
"""
from __future__ import annotations

import os
import runpy
import sys
import tempfile

from medgrade.worker import sandbox

# Only modules that read nothing at import that differs between the grading process and a
# kernel (the kernel's environment is the grading process's with a private home): not IPython's
# kernel (it reads JPY_PARENT_PID at import), not tqdm.auto (it picks its progress bar by whether
# it runs in a kernel), not Matplotlib (its backend).
PRELOAD = ["torch", "torch._dynamo", "numpy", "scipy.ndimage", "medgrade.worker.kernel"]


def _threads(env: dict[str, str]) -> None:
    """torch read OMP_NUM_THREADS when the zygote imported it: the kernel's own value wins."""
    import torch
    value = env.get("OMP_NUM_THREADS", "")
    threads = int(value) if value.isdigit() and int(value) > 0 else len(os.sched_getaffinity(0))
    torch.set_num_threads(threads)


def run(args: list[str], env: dict[str, str], cwd: str, path: list[str], writable: list[str],
        cgroup: str | None) -> None:
    """Become the kernel: ``args`` are ipykernel_launcher's (``-f CONNECTION_FILE ...``)."""
    os.setsid()
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    tempfile.tempdir = None                 # chosen again, from the kernel's TMPDIR
    sys.path[:] = [cwd, *path]              # as `python -m` makes it; the launcher removes cwd
    _threads(env)
    sandbox.confine(writable, cgroup)
    sys.argv = ["ipykernel_launcher", *args]
    runpy.run_module("ipykernel_launcher", run_name="__main__", alter_sys=True)
