"""Operating-system limits for a process that runs a submission, and their cleanup.

:func:`confine` is called by the process itself before any student code
runs (its limits are inherited by everything it starts):

- a memory cap (``RLIMIT_DATA`` above what is already mapped): an allocation
  beyond it fails inside the submission, as an exception;
- no core files, a cap on the size of any file written;
- writes only inside the folders it is given (Landlock, Linux 5.13+), so the
  gradebook, other submissions and the course's files stay untouched; reading
  is not restricted (there is nothing secret to read: expected values exist
  only in the grading process);
- TCP connections only to ports of the machine's ephemeral range (Landlock's
  network rules, Linux 6.7+), where whatever a grading job starts listens (a
  multi-rank run's store and peers): a server on a fixed port, a PostgreSQL
  gradebook above all, cannot be reached from student code;
- a cap on the number of processes: a ``pids`` cgroup when the grader runs as
  root, else ``RLIMIT_NPROC``;
- ``PR_SET_PDEATHSIG``: it dies with its parent.

:func:`kill_all` ends the process and everything it started: its process
group, every process of its session, and every member of its cgroup.
Layers that the machine does not offer are skipped (:func:`confine` returns
the ones that hold).

``python -m medgrade.worker.sandbox --write DIR ... -- CMD ...`` confines itself and
then runs CMD: the course's kernel manager starts notebook kernels this way.
"""
from __future__ import annotations

import argparse
import contextlib
import ctypes
import os
import resource
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

MEMORY_BYTES = int(os.environ.get("MEDGRADE_MEMORY_MB", "4096")) << 20
FILE_BYTES = 256 << 20
MAX_TASKS = 512                      # processes and threads
_CGROUP_ROOT = Path("/sys/fs/cgroup/pids")

_libc = ctypes.CDLL(None, use_errno=True)
_PR_SET_PDEATHSIG = 1
_PR_SET_NO_NEW_PRIVS = 38

# ---------------------------------------------------------------- Landlock (write allow-list)
_SYS_CREATE, _SYS_ADD_RULE, _SYS_RESTRICT = 444, 445, 446
_FS_WRITE_FILE = 1 << 1
_FS_REMOVE_DIR, _FS_REMOVE_FILE = 1 << 4, 1 << 5
_FS_MAKE_CHAR, _FS_MAKE_DIR, _FS_MAKE_REG, _FS_MAKE_SOCK = 1 << 6, 1 << 7, 1 << 8, 1 << 9
_FS_MAKE_FIFO, _FS_MAKE_BLOCK, _FS_MAKE_SYM = 1 << 10, 1 << 11, 1 << 12
_FS_REFER, _FS_TRUNCATE = 1 << 13, 1 << 14
_FILE_RIGHTS = _FS_WRITE_FILE | _FS_TRUNCATE


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


# ---------------------------------------------------------------- Landlock (TCP connect allow-list)
_NET_CONNECT_TCP = 1 << 1
_RULE_NET_PORT = 2
_net_ruleset: int | None = None


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("handled_access_fs", ctypes.c_uint64), ("handled_access_net", ctypes.c_uint64)]


class _NetPort(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("port", ctypes.c_uint64)]


def ephemeral_ports() -> range:
    """The ports the kernel hands out to sockets bound to port 0."""
    try:
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
        return range(low, high + 1)
    except (OSError, ValueError):
        return range(32768, 61000)


def prepare_network_rules() -> None:
    """Build the TCP-connect ruleset once: a rule per ephemeral port (about 28,000, 60 ms).
    The zygote builds it when it imports the worker module; the workers it forks inherit the
    descriptor and apply it with one system call."""
    global _net_ruleset
    if _net_ruleset is not None or landlock_abi() < 4 or not sys.platform.startswith("linux"):
        return
    attr = _RulesetAttr(0, _NET_CONNECT_TCP)
    ruleset = _libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(ctypes.sizeof(attr)),
                            ctypes.c_uint32(0))
    if ruleset < 0:
        return
    rule = _NetPort(_NET_CONNECT_TCP, 0)
    for port in ephemeral_ports():
        rule.port = port
        if _libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(_RULE_NET_PORT),
                         ctypes.byref(rule), ctypes.c_uint32(0)) != 0:
            os.close(ruleset)
            return
    _net_ruleset = ruleset


def _restrict_connects() -> bool:
    prepare_network_rules()
    if _net_ruleset is None:
        return False
    _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return _libc.syscall(_SYS_RESTRICT, ctypes.c_int(_net_ruleset), ctypes.c_uint32(0)) == 0


_FS_READ_FILE = 1 << 2


def native_files(package: str) -> list[str]:
    """The shared libraries a package ships (``torchvision/_C_stable.so``), found without
    importing it."""
    import importlib.util
    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return []
    found = []
    for folder in (spec.submodule_search_locations or []) if spec else []:
        for root, _, names in os.walk(folder):
            found += [os.path.join(root, n) for n in names if n.endswith(".so") or ".so." in n]
    return sorted(found)


def refuse_native(packages: list[str]) -> bool:
    """Make the shared libraries of ``packages`` unreadable to this process and everything it
    starts (Landlock: reading allowed everywhere except those files), so their native code
    cannot be loaded, by import, ``torch.ops.load_library`` or ``ctypes``. Called in a zygote
    before it imports the packages: their Python parts import without their operators."""
    denied = {os.path.realpath(f) for p in packages for f in native_files(p)}
    if not denied or landlock_abi() < 1 or not sys.platform.startswith("linux"):
        return False
    ancestors = set()
    for path in denied:
        folder = os.path.dirname(path)
        while folder not in ancestors:
            ancestors.add(folder)
            if folder == "/":
                break
            folder = os.path.dirname(folder)
    rules = []
    for folder in sorted(ancestors):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        # a symbolic link is reached through its target, which has its own rule
        rules += [(e.path, _FS_READ_FILE) for e in entries
                  if e.path not in ancestors and e.path not in denied and not e.is_symlink()]
    return _restrict_paths(_FS_READ_FILE, rules, follow=False)


def _restrict_paths(handled: int, rules: list[tuple[str, int]], follow: bool = True) -> bool:
    """One Landlock layer over the file system: the ``handled`` rights are denied except beneath
    each rule's path (its rights); applies to this process and what it starts."""
    attr = ctypes.c_uint64(handled)
    ruleset = _libc.syscall(_SYS_CREATE, ctypes.byref(attr), ctypes.c_size_t(8), ctypes.c_uint32(0))
    if ruleset < 0:
        return False
    try:
        for path, rights in rules:
            try:
                fd = os.open(path, os.O_PATH | os.O_CLOEXEC | (0 if follow else os.O_NOFOLLOW))
            except OSError:
                continue
            try:
                rule = _PathBeneath(rights, fd)
                _libc.syscall(_SYS_ADD_RULE, ctypes.c_int(ruleset), ctypes.c_int(1), ctypes.byref(rule),
                              ctypes.c_uint32(0))
            finally:
                os.close(fd)
        _libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        return _libc.syscall(_SYS_RESTRICT, ctypes.c_int(ruleset), ctypes.c_uint32(0)) == 0
    finally:
        os.close(ruleset)


def landlock_abi() -> int:
    try:
        return max(0, _libc.syscall(_SYS_CREATE, None, ctypes.c_size_t(0), ctypes.c_uint32(1)))
    except Exception:
        return 0


def _write_rights(abi: int) -> int:
    rights = (_FS_WRITE_FILE | _FS_REMOVE_DIR | _FS_REMOVE_FILE | _FS_MAKE_CHAR | _FS_MAKE_DIR
              | _FS_MAKE_REG | _FS_MAKE_SOCK | _FS_MAKE_FIFO | _FS_MAKE_BLOCK | _FS_MAKE_SYM)
    if abi >= 2:
        rights |= _FS_REFER
    if abi >= 3:
        rights |= _FS_TRUNCATE
    return rights


def _restrict_writes(writable: list[str]) -> bool:
    abi = landlock_abi()
    if abi < 1 or not sys.platform.startswith("linux"):
        return False
    handled = _write_rights(abi)
    return _restrict_paths(handled, [(p, handled if os.path.isdir(p) else handled & _FILE_RIGHTS)
                                     for p in writable])


def new_home(kind: str) -> str:
    """A private folder for a confined process (its home, its temporary files), named after the
    process that owns it (``medgrade-<kind>-<pid>-...``). The owner removes it when the process
    ends; an owner killed before that cannot, so each new folder first removes those whose owner
    is gone."""
    root = tempfile.gettempdir()
    prefix = f"medgrade-{kind}-"
    for entry in os.scandir(root):
        owner = entry.name[len(prefix):].split("-", 1)[0] if entry.name.startswith(prefix) else ""
        if owner.isdigit() and not _alive(int(owner)):
            with contextlib.suppress(OSError):
                if entry.is_dir(follow_symlinks=False) and entry.stat(follow_symlinks=False).st_uid == os.getuid():
                    shutil.rmtree(entry.path, ignore_errors=True)
    return tempfile.mkdtemp(prefix=f"{prefix}{os.getpid()}-", dir=root)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def private_home(home: str) -> dict[str, str]:
    """Environment variables that point what a confined process writes for itself (IPython's
    profile, Matplotlib's and other caches, temporary files) into ``home``, a folder it may
    write: it then starts the same on a machine whose home directory is empty."""
    return {"HOME": home, "TMPDIR": home, "IPYTHONDIR": os.path.join(home, ".ipython"),
            "MPLCONFIGDIR": os.path.join(home, ".matplotlib"), "XDG_CACHE_HOME": os.path.join(home, ".cache"),
            "XDG_CONFIG_HOME": os.path.join(home, ".config"), "JUPYTER_RUNTIME_DIR": os.path.join(home, ".runtime")}


# ---------------------------------------------------------------- process caps

def cgroup_available() -> bool:
    return os.geteuid() == 0 and os.access(_CGROUP_ROOT, os.W_OK)


def new_cgroup() -> str | None:
    """A fresh pids cgroup (root only); its name travels to the confined process."""
    if not cgroup_available():
        return None
    name = f"medgrade-{uuid.uuid4().hex[:12]}"
    try:
        (_CGROUP_ROOT / name).mkdir()
        (_CGROUP_ROOT / name / "pids.max").write_text(str(MAX_TASKS))
    except OSError:
        return None
    return name


def _join_cgroup(name: str) -> bool:
    try:
        (_CGROUP_ROOT / name / "cgroup.procs").write_text(str(os.getpid()))
        return True
    except OSError:
        return False


def _tasks_of_user() -> int:
    uid, n = os.getuid(), 0
    for p in Path("/proc").iterdir():
        if p.name.isdigit():
            try:
                n += p.stat().st_uid == uid and len(os.listdir(p / "task"))
            except OSError:
                pass
    return n


def confine(writable: list[str], cgroup: str | None = None, memory: int = MEMORY_BYTES) -> list[str]:
    """Limit this process (and what it starts). Returns the layers that hold."""
    held = []
    for limit, value in ((resource.RLIMIT_CORE, 0), (resource.RLIMIT_FSIZE, FILE_BYTES)):
        resource.setrlimit(limit, (value, value))
    held.append("file size")
    try:
        mapped = _status_kb("VmData") << 10
        hard = resource.getrlimit(resource.RLIMIT_DATA)[1]
        cap = mapped + memory if hard == resource.RLIM_INFINITY else min(mapped + memory, hard)
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))
        held.append("memory")
    except (OSError, ValueError):
        pass
    if cgroup and _join_cgroup(cgroup):
        held.append("processes (cgroup)")
    elif os.geteuid() != 0:
        n = _tasks_of_user() + MAX_TASKS
        resource.setrlimit(resource.RLIMIT_NPROC, (n, n))
        held.append("processes (rlimit)")
    if sys.platform.startswith("linux"):
        _libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if _restrict_writes(writable + ["/dev/null", "/dev/shm"]):
            held.append("writes")
        if _restrict_connects():
            held.append("network")
    return held


def _status_kb(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise ValueError(field)


# ---------------------------------------------------------------- cleanup

def _session_members(sid: int) -> list[int]:
    found = []
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            fields = (p / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[3]) == sid:           # field 6 of stat: session id
            found.append(int(p.name))
    return found


def _cgroup_members(name: str) -> list[int]:
    try:
        return [int(x) for x in (_CGROUP_ROOT / name / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


def kill_all(leader: int, cgroup: str | None = None, settle: float = 2.0) -> None:
    """SIGKILL ``leader``'s process group, its session and its cgroup, until none is left."""
    end = time.monotonic() + settle
    while True:
        victims = set(_session_members(leader)) | set(_cgroup_members(cgroup) if cgroup else [])
        try:
            os.killpg(leader, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        for pid in victims - {os.getpid()}:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        if not victims or time.monotonic() > end:
            break
        time.sleep(0.01)
    if cgroup:
        for _ in range(100):
            try:
                (_CGROUP_ROOT / cgroup).rmdir()
                break
            except FileNotFoundError:
                break
            except OSError:
                time.sleep(0.02)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m medgrade.worker.sandbox",
                                     description="run a command confined like a grading worker")
    parser.add_argument("--write", action="append", default=[], help="a folder it may write to")
    parser.add_argument("--cgroup", default=None)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given")
    confine([os.path.abspath(w) for w in args.write], args.cgroup)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main()
