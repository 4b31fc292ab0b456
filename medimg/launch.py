"""Running data-parallel code written in a notebook as real processes.

A function defined in a notebook cell lives in the kernel's ``__main__``. Starting
processes with the ``spawn`` method (``torch.multiprocessing.spawn``, and ``torchrun``,
which starts fresh interpreters) means each child imports the target by module and name:
the child is a new Python, it cannot import the kernel's ``__main__``, and the launch fails.
The clean way out is to make the code importable: :func:`write_script` copies the
functions' source (``inspect.getsource`` works for functions defined in IPython cells)
and the imports they need into a real module, and :func:`torchrun` launches that module
the way one launches a training script on a cluster: ``torchrun --nproc_per_node=N``.

For functions defined in a notebook, ``write_script(..., cells=[f, g])`` copies the whole
cells that define ``f`` and ``g`` (their helpers, imports and constants come along), where
``functions=[f, g]`` copies the two functions alone. :func:`run_ranks` runs one function in
N ranks and returns what each rank returned: what a quick test of distributed code needs.
"""
from __future__ import annotations

import inspect
import linecache
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import time
import traceback
from multiprocessing import connection
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence


def free_port() -> int:
    """A TCP port that is free right now on this machine (the OS picks it: bind to port 0).

    Never hard-code a rendezvous port: two jobs on the same machine (two students, two
    notebooks, a test run) would collide, and a rank of the other job may join yours.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cell_source(fn: Callable) -> str:
    """The source that defines ``fn``: the whole cell when ``fn`` was defined in a notebook
    (IPython keeps the text of every cell it ran, under the file name its code carries), the
    function alone when it comes from a module file."""
    code = getattr(fn, "__code__", None)
    main_file = getattr(sys.modules.get("__main__"), "__file__", None)
    if code is not None and getattr(fn, "__module__", None) == "__main__" and code.co_filename != main_file:
        lines = linecache.getlines(code.co_filename)
        if lines:
            return "".join(lines)
    return inspect.getsource(fn)


def write_script(path: str | os.PathLike, functions: Iterable[Callable] = (), header: str = "",
                 entry: str | None = "main", *, cells: Iterable[Callable] = ()) -> Path:
    """Write a module to ``path``: ``header`` (imports, constants), then the whole cells that
    define the functions in ``cells`` (each cell once, see :func:`cell_source`), then the source
    of each function in ``functions`` (the function alone), and last
    ``if __name__ == "__main__": <entry>()`` when ``entry`` is given.

    Whatever a copied cell runs at its top level runs again when the module is imported (in
    every rank): cells meant to be copied hold definitions (functions, imports, constants).
    The module is compiled before it is written, so a syntax error shows here and not in N
    processes at once. Returns the path.
    """
    parts = [textwrap.dedent(header).strip()]
    for fn in cells:
        text = cell_source(fn).strip()
        if text not in parts:
            parts.append(text)
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


# ---------------------------------------------------------------- ranks of one function

# What the fork server imports once, so that each rank it forks starts with them loaded:
# torch, torch._dynamo (DistributedDataParallel imports it when it wraps its first model: 2-5 s
# in every rank otherwise), and the course's data sets.
_PRELOAD = ["torch", "torch.distributed", "torch.nn", "torch.nn.functional", "torch.nn.parallel", "torch._dynamo",
            "medimg.data"]


def rank_environment(rank: int, world_size: int, port: int) -> dict[str, str]:
    """What torchrun --nproc_per_node=world_size gives a rank on one machine whose agent hosts
    the rendezvous store on ``port``."""
    return {"RANK": str(rank), "LOCAL_RANK": str(rank), "WORLD_SIZE": str(world_size),
            "LOCAL_WORLD_SIZE": str(world_size), "GROUP_RANK": "0", "ROLE_RANK": str(rank),
            "ROLE_WORLD_SIZE": str(world_size), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(port),
            "TORCHELASTIC_USE_AGENT_STORE": "True", "TORCHELASTIC_RESTART_COUNT": "0",
            "TORCHELASTIC_MAX_RESTARTS": "0", "OMP_NUM_THREADS": "1"}


def run_ranks(fn: Callable, nproc: int = 2, args: Sequence[Any] = (), *, cells: Iterable[Callable] = (),
              header: str = "", timeout: float = 60.0) -> list:
    """Run ``fn(*args)`` in ``nproc`` new processes started the way torchrun starts ranks, and
    return each rank's return value, in rank order.

    The ranks are new processes, which cannot see the notebook: they import a module that
    :func:`write_script` writes into a temporary folder (``header``, the whole cells that define
    the functions in ``cells``, and ``fn``'s own source). Each rank gets torchrun's environment
    (RANK, LOCAL_RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT), and the rendezvous store is hosted
    here, by the launcher, on a port the operating system picks, as torchrun's agent hosts it:
    ``dist.init_process_group("gloo")`` inside ``fn`` (or inside a function it calls) meets the
    other ranks through env://.

    The ranks are forked from a fork server: a clean process of its own, started once, which has
    imported torch and nothing of the notebook (none of its threads, no CUDA), so every launch
    after the first starts in a fraction of a second; where there is no fork server (Windows)
    the ranks are spawned. When a rank raises, every rank is stopped and RuntimeError shows that
    rank's traceback; at ``timeout`` seconds every rank is stopped and RuntimeError names the
    ranks still running (a collective call that not every rank makes waits for the others).
    Return values travel back with ``torch.save``: tensors, numbers, and lists or dicts of them.
    """
    from datetime import timedelta

    import torch
    import torch.distributed as dist

    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    if method == "forkserver":
        multiprocessing.set_forkserver_preload(_PRELOAD)     # used when the server starts
    context = multiprocessing.get_context(method)
    with tempfile.TemporaryDirectory(prefix="ranks-") as folder:
        script = write_script(Path(folder) / "ranks_module.py", [fn], header=header, entry=None, cells=cells)
        store = dist.TCPStore("127.0.0.1", 0, nproc, is_master=True, wait_for_workers=False,
                              timeout=timedelta(seconds=timeout))
        ranks = [context.Process(target=_one_rank, daemon=True,
                                 args=(rank, nproc, store.port, str(script), fn.__name__, tuple(args), folder))
                 for rank in range(nproc)]
        try:
            for rank in ranks:
                rank.start()
            _wait_for(ranks, folder, time.monotonic() + timeout, timeout)
            return [torch.load(Path(folder) / f"rank{r}.pt", weights_only=False) for r in range(nproc)]
        finally:
            for rank in ranks:
                if rank.pid is not None and rank.is_alive():
                    rank.kill()
                if rank.pid is not None:
                    rank.join(5)
            del store


def _wait_for(ranks: list, folder: str, deadline: float, timeout: float) -> None:
    """Until every rank has ended well; raises when a rank failed, or at the deadline."""
    pending = {rank.sentinel: r for r, rank in enumerate(ranks)}
    while pending:
        ready = connection.wait(list(pending), timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            late = sorted(pending.values())
            raise RuntimeError(f"rank{'s' if len(late) > 1 else ''} {', '.join(map(str, late))} of {len(ranks)} "
                               f"still running after {timeout:g} s, every rank was stopped: a rank that waits in a "
                               f"collective call (all_reduce, DDP's backward) that another rank never makes waits "
                               f"until its timeout")
        for sentinel in ready:
            r = pending.pop(sentinel)
            ranks[r].join()
            if ranks[r].exitcode != 0:
                connection.wait(list(pending), timeout=1.0)       # the others often fail at once
                raise RuntimeError(_failures(ranks, folder))


# How gloo says that the rank at the other end of a collective call is gone: a rank failing so
# is seldom the cause (its partner failed first, and left).
_PARTNER_LEFT = ("remote worker", "Connection closed by peer", "Connection reset by peer")


def _failures(ranks: list, folder: str) -> str:
    """What the failed ranks wrote: first the errors of their own, then the ranks that only lost a
    partner in a collective call; among each, the first to fail first."""
    def lost_partner(f: Path) -> bool:
        last = (f.read_text().strip().splitlines() or [""])[-1]
        return any(sign in last for sign in _PARTNER_LEFT)

    errors = sorted(Path(folder).glob("rank*.err"), key=lambda f: (lost_partner(f), f.stat().st_mtime_ns))
    if not errors:
        failed = [r for r, rank in enumerate(ranks) if rank.exitcode not in (None, 0)]
        return (f"rank {failed[0]} of {len(ranks)} ended with exit code {ranks[failed[0]].exitcode}, "
                f"and every rank was stopped")
    first = int(errors[0].stem.removeprefix("rank"))
    text = f"rank {first} of {len(ranks)} failed, and every rank was stopped. Rank {first}:\n{errors[0].read_text()}"
    for f in errors[1:]:
        lines = f.read_text().strip().splitlines()
        text += f"(rank {f.stem.removeprefix('rank')} failed too: {lines[-1] if lines else 'no message'})\n"
    return text


def _one_rank(rank: int, world_size: int, port: int, script: str, name: str, args: tuple, folder: str) -> None:
    """A rank: torchrun's environment, the module imported from its file, one call, the result saved."""
    import importlib.util

    os.environ.update(rank_environment(rank, world_size, port))
    try:
        import torch
        torch.set_num_threads(1)
        spec = importlib.util.spec_from_file_location("ranks_module", script)
        module = importlib.util.module_from_spec(spec)
        sys.modules["ranks_module"] = module
        spec.loader.exec_module(module)
        value = getattr(module, name)(*args)
        torch.save(value, Path(folder) / f"rank{rank}.pt")
    except BaseException:
        Path(folder, f"rank{rank}.err").write_text(traceback.format_exc())
        sys.stdout.flush()
        os._exit(1)
