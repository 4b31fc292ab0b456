"""A throwaway PostgreSQL server for tests: a new cluster in a temporary folder, on a free local port.

Debian's ``postgresql`` package provides the server (``./course test`` installs it when it
can); its programs live in /usr/lib/postgresql/<version>/bin. The server refuses to run as
root, so as root the cluster belongs to the ``postgres`` user the package creates.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def server_bin() -> Path | None:
    """The folder with initdb and pg_ctl, or None where PostgreSQL is not installed."""
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(os.path.realpath(found)).parent
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                      key=lambda p: int(Path(p).parent.parent.name) if Path(p).parent.parent.name.isdigit() else 0)
    return Path(versions[-1]).parent if versions else None


def _free_port(fixed: bool) -> int:
    """A free local port: one the kernel hands out, or (``fixed``) one below that range, like
    the fixed port a real database server listens on."""
    if not fixed:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    from medgrade.worker.sandbox import ephemeral_ports
    for port in random.Random().sample(range(20000, min(ephemeral_ports().start, 32768)), 200):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no free port below the ephemeral range")


@contextlib.contextmanager
def postgres_server(database: str = "gradebook", fixed_port: bool = True):
    """Start a server; yield the URL of an empty database on it; stop it and remove everything."""
    bindir = server_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    folder = Path(tempfile.mkdtemp(prefix="course-pg-", dir="/tmp"))
    data, port = folder / "data", _free_port(fixed_port)
    as_user: list[str] = []
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(folder, user.pw_uid, user.pw_gid)
        runuser = shutil.which("runuser", path=os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"]))
        as_user = [runuser or "runuser", "-u", "postgres", "--"]

    def run(*args: str) -> None:
        proc = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            raise RuntimeError(f"{Path(args[0]).name} failed: {(proc.stderr or proc.stdout).strip()[-500:]}")

    try:
        run(str(bindir / "initdb"), "-D", str(data), "-U", "grader", "--auth=trust", "-E", "UTF8",
            "--no-sync", "--no-instructions")
        run(str(bindir / "pg_ctl"), "-D", str(data), "-l", str(folder / "server.log"), "-w", "-t", "60",
            "-o", f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                  "-c max_connections=60", "start")
        try:
            run(str(bindir / "createdb") if (bindir / "createdb").exists() else "createdb",
                "-h", "127.0.0.1", "-p", str(port), "-U", "grader", database)
            yield f"postgresql://grader@127.0.0.1:{port}/{database}"
        finally:
            run(str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
