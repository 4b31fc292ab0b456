"""Launching a student's function as the ranks of a process group, the way torchrun does.

The grader plays torchrun's agent: it hosts the rendezvous store on a port it
picks (in a worker of its own that runs no student code), starts one process
per rank with torchrun's environment (RANK, WORLD_SIZE, LOCAL_RANK,
MASTER_ADDR, MASTER_PORT, and TORCHELASTIC_USE_AGENT_STORE, which makes every
rank a client of the agent's store), calls the function in every rank at once
and kills every rank at the deadline, or shortly after one rank has failed.
Whether the ranks met at the launcher's store is known from the keys they
wrote there: a submission that hard-codes an address or a port meets
elsewhere, or not at all.

For a :class:`medgrade.isolation.Remote` the ranks are fresh isolated
workers booted with the notebook's cells; for a function of the grading
process (an instructor's kernel, the course's own tests) they are forked
children of it.
"""
from __future__ import annotations

import contextlib
import os
import pickle
import signal
import time
from multiprocessing import connection, get_context
from typing import Any, Callable, Iterable, Sequence

from medgrade.failures import WorkerLost
from medgrade.isolation import BOOT_SECONDS, Process, Remote, _unfinished, _write_back, rank_deadline
from medgrade.worker import wire
from medgrade.worker.guard import Outcome, guarded_call, resolve
from medimg.launch import rank_environment as environment  # what torchrun sets: one definition

STORE_SECONDS = 60.0
LOCAL_CALL_SECONDS = float(os.environ.get("MEDGRADE_LOCAL_RANK_SECONDS", "120"))


class _Store:
    """The rendezvous store, hosted in a clean worker."""

    def __init__(self, world_size: int):
        self.process = Process()
        try:
            self.process.request({"op": "boot", "cells": []}, timeout=BOOT_SECONDS, what="the launcher")
            reply, buffers = self.process.request(
                {"op": "call", "fn": "medgrade.worker.probes:host_store"},
                {"args": [world_size, STORE_SECONDS], "kwargs": {}}, timeout=BOOT_SECONDS, what="the launcher")
            self.handle, self.port = wire.Decoder(buffers).decode(reply["value"])
        except BaseException:
            self.process.kill()
            raise

    def keys(self) -> int:
        """Keys written into the store so far (0 when the store is gone)."""
        try:
            reply, buffers = self.process.request({"op": "call", "fn": "medgrade.worker.probes:store_keys"},
                                                  {"args": [self.handle], "kwargs": {}}, timeout=10,
                                                  what="the launcher")
            value = wire.Decoder(buffers).decode(reply.get("value"))
            return value if type(value) is int else 0
        except WorkerLost:
            return 0

    def close(self) -> None:
        self.process.kill()


class Launch:
    """One launch of ``world_size`` ranks (``started`` of them actually started).

    ``call(calls)`` calls the function in every started rank at once and returns one
    :class:`medgrade.worker.guard.Outcome` per rank, or the :class:`WorkerLost` saying what
    happened to it; ``joined()`` says whether the ranks wrote into the launcher's store;
    ``ask(rank, 'module:attribute')`` calls a library function in a rank's process
    afterwards (is its process group still initialized?). Leaving the ``with`` block
    kills every rank and the store.
    """

    def __init__(self, fn: Callable, world_size: int, started: Sequence[int] | None = None):
        self.fn = fn
        self.world_size = world_size
        self.started = list(range(world_size) if started is None else started)
        self.store = _Store(world_size)
        self.keys_before = self.store.keys()
        envs = [environment(r, world_size, self.store.port) for r in self.started]
        try:
            self.ranks = fn.owner.ranks(envs) if isinstance(fn, Remote) else _LocalRanks(envs)
        except BaseException:
            self.store.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self.ranks.close()
        self.store.close()

    def call(self, calls: list[tuple[Sequence[Any], dict]], forbid: Iterable = (),
             forbid_ops: str | None = None, limit: float | None = None) -> list:
        """``limit`` lowers the time limit of this call (seconds)."""
        if len(calls) != len(self.started):
            raise ValueError("one (args, kwargs) per started rank")
        return self.ranks.call(self.fn, calls, forbid, forbid_ops, limit)

    def joined(self) -> bool:
        return self.store.keys() > self.keys_before

    def ask(self, index: int, path: str, *args) -> Any:
        return self.ranks.ask(index, path, *args)


def launch(fn: Callable, world_size: int, started: Sequence[int] | None = None) -> Launch:
    return Launch(fn, world_size, started)


# ---------------------------------------------------------------- ranks of the grading process

class _LocalRanks:
    """Ranks forked from this process, for a function that lives here (no isolation: this path
    serves an instructor's kernel and the course's tests, never a student's grade)."""

    def __init__(self, envs: list[dict]):
        self.envs = envs
        self.children: list = []

    def close(self) -> None:
        for proc, conn in self.children:
            with contextlib.suppress(OSError):
                conn.close()
            if proc.is_alive():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(proc.pid, signal.SIGKILL)
            proc.join(5)

    def call(self, fn: Callable, calls, forbid, forbid_ops, limit: float | None = None) -> list:
        ctx = get_context("fork")          # the function and its inputs are inherited, not pickled
        self.close()                       # one call per set of ranks: ranks of an earlier call end here
        self.children = []
        limit = min(LOCAL_CALL_SECONDS, limit or LOCAL_CALL_SECONDS)
        deadline = time.monotonic() + limit
        results: list = [None] * len(self.envs)
        pending = {}
        for r, (env, (args, kwargs)) in enumerate(zip(self.envs, calls)):
            parent, child = ctx.Pipe()
            proc = ctx.Process(target=_local_rank, args=(child, env, fn, args, kwargs, forbid, forbid_ops),
                               daemon=True)
            proc.start()
            child.close()
            self.children.append((proc, parent))
            pending[parent] = r
        while pending:
            deadline = rank_deadline(results, deadline)
            ready = connection.wait(list(pending), timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                break
            for conn in ready:
                r = pending.pop(conn)
                try:
                    outcome, state = conn.recv()
                except (EOFError, OSError):
                    results[r] = WorkerLost(f"rank {r} ended the process that ran it")
                    continue
                args, kwargs = calls[r]
                _write_back(args, kwargs, state)
                results[r] = outcome
        stopped = [r for r, x in enumerate(results) if x is not None]
        for r in pending.values():
            proc = self.children[r][0]
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(proc.pid, signal.SIGKILL)
            results[r] = WorkerLost(_unfinished(r, limit, stopped))
        return results

    def ask(self, index: int, path: str, *args) -> Any:
        proc, conn = self.children[index]
        if not proc.is_alive():
            return None
        try:
            conn.send((path, list(args)))
            if conn.poll(10):
                return conn.recv()
        except (EOFError, OSError):
            pass
        return None


def _local_rank(conn, env: dict, fn, args, kwargs, forbid, forbid_ops) -> None:
    """A forked rank: one call, then questions until its pipe closes."""
    from medgrade.worker.server import _containers, _tensors
    os.setsid()
    os.environ.update(env)
    try:
        outcome = guarded_call(fn, args, kwargs, forbid, forbid_ops, catch=BaseException)
        state = {str(k): v for k, v in {**_tensors(args, kwargs), **_containers(args, kwargs)}.items()}
        try:
            conn.send((outcome, state))
        except (pickle.PicklingError, TypeError, AttributeError) as e:
            conn.send((Outcome(raised=("UnsendableResult", str(e)[:500], "")), {}))
        while True:
            try:
                path, questions = conn.recv()
            except (EOFError, OSError):
                return
            try:
                conn.send(resolve(path)(*questions))
            except Exception:
                conn.send(None)
    finally:
        os._exit(0)
