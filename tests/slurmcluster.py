"""A throwaway single-node Slurm cluster for tests: slurmctld, slurmd and munged from Debian's packages.

Everything lives in one temporary folder: the configuration, state, spool, logs, pid files
and munge's key and socket (``AuthInfo=socket=`` points every client at it), so nothing under
/etc is read or written and clients need only ``SLURM_CONF``. The daemons listen on
127.0.0.1 on free ports. Choices this machine requires: process tracking by /proc
(``proctrack/linuxproc``: no cgroup controllers are mounted in a container), ``cons_tres``
so that several array tasks run at once, the node's CPUs and memory no larger than slurmd
detects (else the node is invalid), and a scheduler pass every second. Root only (the
daemons run as root; munged needs ``--force`` for that).
"""
from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

DAEMONS = ("slurmctld", "slurmd", "munged", "mungekey", "sbatch", "sinfo")
SEARCH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin", "/usr/bin"])


def missing() -> str | None:
    """Why a cluster cannot start here, or None."""
    absent = [d for d in DAEMONS if not shutil.which(d, path=SEARCH)]
    if absent:
        return f"Slurm is not installed ({', '.join(absent)} missing; Debian: slurmctld slurmd slurm-client munge)"
    if os.geteuid() != 0:
        return "a single-node Slurm cluster for tests runs its daemons as root"
    try:
        socket.gethostbyname(socket.gethostname().split(".")[0])
    except OSError:
        return f"this machine's hostname {socket.gethostname()!r} does not resolve (Slurm needs it in /etc/hosts)"
    return None


def _free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _config(folder: Path, node: str, ports: list[int]) -> str:
    cpus = os.cpu_count() or 1
    memory_mb = int(int(Path("/proc/meminfo").read_text().split()[1]) / 1024 * 0.9)
    return "\n".join([
        "ClusterName=coursetest",
        f"SlurmctldHost={node}(127.0.0.1)",
        f"SlurmctldPort={ports[0]}", f"SlurmdPort={ports[1]}",
        "SlurmUser=root", "SlurmdUser=root",
        "AuthType=auth/munge", "CredType=cred/munge", f"AuthInfo=socket={folder}/munge/socket",
        f"StateSaveLocation={folder}/state", f"SlurmdSpoolDir={folder}/spool",
        f"SlurmctldPidFile={folder}/slurmctld.pid", f"SlurmdPidFile={folder}/slurmd.pid",
        f"SlurmctldLogFile={folder}/slurmctld.log", f"SlurmdLogFile={folder}/slurmd.log",
        "ProctrackType=proctrack/linuxproc", "TaskPlugin=task/none",
        "JobAcctGatherType=jobacct_gather/none", "AccountingStorageType=accounting_storage/none",
        "JobCompType=jobcomp/none", "MpiDefault=none", "SwitchType=switch/none", "MailProg=/bin/true",
        "CommunicationParameters=NoInAddrAny,NoCtldInAddrAny",
        "SchedulerType=sched/backfill", "SchedulerParameters=sched_interval=1",
        "SelectType=select/cons_tres", "SelectTypeParameters=CR_Core",
        "ReturnToService=2", "MinJobAge=60", "KillWait=2", "InactiveLimit=0",
        f"NodeName={node} NodeAddr=127.0.0.1 NodeHostname={node} CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
        f"PartitionName=main Nodes={node} Default=YES MaxTime=INFINITE State=UP",
        "",
    ])


def _pid(path: Path) -> int | None:
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def _job_processes(conf: Path) -> list[int]:
    """Processes of this cluster's jobs (they carry its SLURM_CONF and a job id)."""
    found = []
    marker, own = f"SLURM_CONF={conf}".encode(), os.getpid()
    for environ in Path("/proc").glob("[0-9]*/environ"):
        try:
            pid = int(environ.parent.name)
            values = environ.read_bytes().split(b"\0")
        except (OSError, ValueError):
            continue
        if pid != own and marker in values and any(v.startswith(b"SLURM_JOB_ID=") for v in values):
            found.append(pid)
    return found


@contextlib.contextmanager
def slurm_cluster(start_timeout: float = 60.0):
    """Start the cluster; yield the environment for its clients (SLURM_CONF); stop everything."""
    reason = missing()
    if reason:
        raise RuntimeError(reason)
    folder = Path(tempfile.mkdtemp(prefix="course-slurm-", dir="/tmp"))
    node = socket.gethostname().split(".")[0]
    conf = folder / "slurm.conf"
    for sub in ("state", "spool", "munge"):
        (folder / sub).mkdir()
    folder.chmod(0o755)
    (folder / "munge").chmod(0o755)
    conf.write_text(_config(folder, node, _free_ports(2)))
    env = dict(os.environ, SLURM_CONF=str(conf), PATH=SEARCH)

    def run(*args: str) -> None:
        proc = subprocess.run(args, env=env, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            log = next((p.read_text()[-800:] for p in (folder / "slurmctld.log", folder / "slurmd.log")
                        if p.exists() and args[0] in p.name), "")
            raise RuntimeError(f"{args[0]} failed: {(proc.stderr or proc.stdout).strip()[-400:]} {log}")

    try:
        key = folder / "munge" / "key"
        run("mungekey", "--create", f"--keyfile={key}")
        key.chmod(0o600)
        run("munged", "--force", f"--key-file={key}", f"--socket={folder}/munge/socket",
            f"--pid-file={folder}/munged.pid", f"--log-file={folder}/munged.log",
            f"--seed-file={folder}/munge/seed")
        run("slurmctld", "-f", str(conf), "-i")
        run("slurmd", "-f", str(conf), "-N", node)
        deadline = time.monotonic() + start_timeout
        state = ""
        while time.monotonic() < deadline:
            state = subprocess.run(["sinfo", "-h", "-N", "-n", node, "-o", "%T"], env=env,
                                   capture_output=True, text=True).stdout.strip()
            if state == "idle":
                break
            time.sleep(0.25)
        if state != "idle":
            raise RuntimeError(f"the Slurm node stayed {state or 'unreachable'!r} for {start_timeout:g} s")
        yield {"SLURM_CONF": str(conf), "PATH": SEARCH}
    finally:
        daemons = [p for name in ("slurmd", "slurmctld", "munged") if (p := _pid(folder / f"{name}.pid"))]
        for pid in daemons + _job_processes(conf):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(_alive(p) for p in daemons):
            time.sleep(0.1)
        for pid in daemons + _job_processes(conf):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(folder, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # a zombie (daemons are reparented to PID 1, which reaps them eventually) is not running
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
