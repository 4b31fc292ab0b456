"""Running data-parallel code written in a notebook as real processes.

A function defined in a notebook cell lives in the kernel's ``__main__``. Starting
processes with the ``spawn`` method (``torch.multiprocessing.spawn``, and ``torchrun``,
which starts fresh interpreters) means each child imports the target by module and name:
the child is a new Python, it cannot import the kernel's ``__main__``, and the launch fails.
The clean way out is to make the code importable: :func:`write_script` copies the
functions' source (``inspect.getsource`` works for functions defined in IPython cells)
and the imports they need into a real module, and :func:`torchrun` launches that module
the way one launches a training script on a cluster: ``torchrun --nproc_per_node=N``.
"""
from __future__ import annotations

import inspect
import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Callable, Iterable


def free_port() -> int:
    """A TCP port that is free right now on this machine (the OS picks it: bind to port 0).

    Never hard-code a rendezvous port: two jobs on the same machine (two students, two
    notebooks, a test run) would collide, and a rank of the other job may join yours.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_script(path: str | os.PathLike, functions: Iterable[Callable], header: str = "",
                 entry: str | None = "main") -> Path:
    """Write ``header`` (imports, constants) and the source of ``functions`` into the module
    ``path``, ending with ``if __name__ == "__main__": <entry>()`` when ``entry`` is given.

    The module is compiled before it is written, so a syntax error shows here and not in N
    processes at once. Returns the path.
    """
    parts = [textwrap.dedent(header).strip()]
    for fn in functions:
        parts.append(textwrap.dedent(inspect.getsource(fn)).strip())
    if entry is not None:
        parts.append(f'if __name__ == "__main__":\n    {entry}()')
    text = "\n\n\n".join(p for p in parts if p) + "\n"
    path = Path(path)
    compile(text, str(path), "exec")
    path.write_text(text)
    return path


# Failures of the launch, not of the script, after which torchrun starts again (at most 3 runs):
# the free port taken by another program before torchrun bound it; and a rank of torch 2.14 on
# gloo aborting while the interpreter exits after the script finished (a C++ thread still
# joinable: "terminate called without an active exception", SIGABRT), seen once in five runs.
_RETRY_ON = ("EADDRINUSE", "address already in use", "terminate called without an active exception")


def torchrun(script: str | os.PathLike, nproc: int = 2, args: Iterable[str] = (),
             env: dict[str, str] | None = None, timeout: float = 120.0, echo: bool = True) -> str:
    """Run ``torchrun --nproc_per_node=<nproc> --master_port=<a free port> <script> <args>``.

    torchrun is ``python -m torch.distributed.run``: it hosts the rendezvous, starts one
    process per rank with RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT set, and
    stops all ranks when one fails. The launcher runs in a session of its own; when it ends
    (or at the timeout) everything it started is killed, so no rank outlives the call.
    Returns the combined output (printed as well when ``echo``); raises RuntimeError with the
    output's end when the launch fails or times out. A launch that failed for the reasons in
    ``_RETRY_ON`` is started again.
    """
    for _ in range(3):
        returncode, output = _launch(script, nproc, args, env, timeout)
        if returncode == 0 or not any(sign in output for sign in _RETRY_ON):
            break
    if echo:
        print(output, end="")
    if returncode != 0:
        raise RuntimeError(f"torchrun exited with code {returncode}\n{output[-3000:]}")
    return output


def _launch(script, nproc: int, args: Iterable[str], env: dict[str, str] | None,
            timeout: float) -> tuple[int, str]:
    """One torchrun on a free port: its exit code and its combined output."""
    command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={nproc}",
               "--master_addr=127.0.0.1", f"--master_port={free_port()}", str(script), *map(str, args)]
    full_env = dict(os.environ)
    full_env.setdefault("OMP_NUM_THREADS", "1")
    full_env.update(env or {})
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=full_env, cwd=str(Path(script).resolve().parent), start_new_session=True)
    try:
        output, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired as e:
        _kill_group(proc.pid)
        try:            # a process that left the group may still hold the output pipe open
            output, _ = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            proc.stdout.close()
            proc.wait()
            output = ""
        raise RuntimeError(f"torchrun did not finish within {timeout:g} s; every rank was stopped\n{output}") from e
    finally:
        _kill_group(proc.pid)
    return proc.returncode, output


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
