"""Start the worker in new namespaces with a private, read-only root, without bubblewrap.

Run as a script, not imported: ``python -I -S -B privroot.py SPEC``, where SPEC
is the JSON built by :func:`sandbox.launch.plan` (the mount point, the layout of
the root, the hostname, the working directory and the worker's command line).
It uses the standard library only (system calls through ``ctypes``), so that it
runs before, and independently of, the project's packages.

The process (``P``) calls ``unshare(2)`` for new user (unless root), mount, PID,
network, IPC, UTS and cgroup namespaces, maps its own uid and gid, and forks.
The child (``C``, PID 1 of the new PID namespace) builds the root on a tmpfs:
read-only bind mounts of exactly the host paths of the layout, a minimal
``/dev``, a ``/proc`` of the new PID namespace and a private ``/tmp``; then it
calls ``pivot_root(2)``, detaches the old root (nothing of the host's tree is
reachable after that), makes ``/`` read-only, sets ``no_new_privs``, drops every
capability except, as root, the three the worker needs (``CAP_SETUID``,
``CAP_SETGID``, ``CAP_KILL``, as the bwrap launcher keeps), and executes the
worker. ``P`` waits for ``C`` and exits with its status; both die with their
parent (``PR_SET_PDEATHSIG``), like ``bwrap --die-with-parent``.

Any failure is one line on stderr starting with ``privroot:`` and a non-zero
exit before the worker starts, so the pool reports it and tries the next launcher.
"""

from __future__ import annotations

import ctypes
import errno
import json
import os
import signal
import stat
import sys
from typing import Any, NoReturn

CLONE_NEWNS = 0x00020000
CLONE_NEWCGROUP = 0x02000000
CLONE_NEWUTS = 0x04000000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_NOATIME = 0x400
MS_NODIRATIME = 0x800
MS_BIND = 0x1000
MS_REC = 0x4000
MS_PRIVATE = 0x40000
MS_RELATIME = 0x200000
MS_STRICTATIME = 0x1000000
MNT_DETACH = 0x2

# statvfs f_flag bits (ST_*) and the mount flags they stand for: a read-only
# remount inside a user namespace must keep the flags the kernel locked.
ST_TO_MS = ((0x2, MS_NOSUID), (0x4, MS_NODEV), (0x8, MS_NOEXEC), (0x400, MS_NOATIME),
            (0x800, MS_NODIRATIME), (0x1000, MS_RELATIME))

PR_SET_PDEATHSIG = 1
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CAP_KILL, CAP_SETGID, CAP_SETUID = 5, 6, 7
ROOT_KEEPS_CAPS = (CAP_KILL, CAP_SETGID, CAP_SETUID)
LINUX_CAPABILITY_VERSION_3 = 0x20080522

SYSCALLS = {"x86_64": {"pivot_root": 155, "capget": 125, "capset": 126},
            "aarch64": {"pivot_root": 41, "capget": 90, "capset": 91}}
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEV_LINKS = (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
             ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2"))
PROC_READ_ONLY = ("sys", "sysrq-trigger", "irq", "bus")
EXIT_FAILED = 71

_libc = ctypes.CDLL(None, use_errno=True)
_libc.mount.argtypes = (ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong,
                        ctypes.c_char_p)
_libc.umount2.argtypes = (ctypes.c_char_p, ctypes.c_int)
_libc.unshare.argtypes = (ctypes.c_int,)
_libc.sethostname.argtypes = (ctypes.c_char_p, ctypes.c_size_t)
_libc.prctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_ulong, ctypes.c_ulong,
                        ctypes.c_ulong)
_libc.syscall.restype = ctypes.c_long


class SetupError(Exception):
    """A step of the set-up failed; the message names the step and the errno."""


def _check(result: int, what: str) -> None:
    if result != 0:
        err = ctypes.get_errno()
        raise SetupError(f"{what}: {errno.errorcode.get(err, err)} ({os.strerror(err)})")


def _mount(source: str | None, target: str, fstype: str | None, flags: int,
           data: str | None = None) -> None:
    _check(_libc.mount(None if source is None else source.encode(), target.encode(),
                       None if fstype is None else fstype.encode(), flags,
                       None if data is None else data.encode()),
           f"mount {fstype or source or ''} on {target}")


def _prctl(option: int, arg: int = 0) -> None:
    _check(_libc.prctl(option, arg, 0, 0, 0), f"prctl({option})")


def _syscall(name: str, *args: Any) -> int:
    numbers = SYSCALLS.get(os.uname().machine)
    if numbers is None:
        raise SetupError(f"no system call table for {os.uname().machine}")
    return int(_libc.syscall(numbers[name], *args))


# ------------------------------------------------------------------ namespaces
def enter_namespaces() -> None:
    """New namespaces for this process's children (user ones unless we are root)."""
    uid, gid = os.geteuid(), os.getegid()
    flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS
    if uid != 0:
        flags |= CLONE_NEWUSER
    if _libc.unshare(flags | CLONE_NEWCGROUP) != 0:
        if ctypes.get_errno() != errno.EINVAL:  # EINVAL: a kernel without cgroup namespaces
            _refused(ctypes.get_errno(), uid)
        if _libc.unshare(flags) != 0:
            _refused(ctypes.get_errno(), uid)
    if uid != 0:
        # The caller's own ids, as bwrap maps them: no root inside, so the worker
        # loses every capability when it is executed.
        _write_file("/proc/self/setgroups", "deny")
        _write_file("/proc/self/uid_map", f"{uid} {uid} 1")
        _write_file("/proc/self/gid_map", f"{gid} {gid} 1")


def _refused(err: int, uid: int) -> NoReturn:
    what = "user namespaces" if uid != 0 else "namespaces"
    hints = []
    for path, bad, fix in (
            ("/proc/sys/kernel/unprivileged_userns_clone", "0",
             "sysctl kernel.unprivileged_userns_clone=1"),
            ("/proc/sys/user/max_user_namespaces", "0", "sysctl user.max_user_namespaces=15000"),
            ("/proc/sys/kernel/apparmor_restrict_unprivileged_userns", "1",
             "AppArmor restricts them: install bubblewrap, whose profile allows them")):
        try:
            with open(path) as fh:
                if fh.read().strip() == bad:
                    hints.append(fix)
        except OSError:
            pass
    raise SetupError(f"the kernel refused new {what} ({errno.errorcode.get(err, err)}: "
                     f"{os.strerror(err)})" + (f"; {'; '.join(hints)}" if hints else ""))


def _write_file(path: str, text: str) -> None:
    try:
        with open(path, "w") as fh:
            fh.write(text)
    except OSError as exc:
        raise SetupError(f"writing {path}: {exc.strerror}") from None


# ------------------------------------------------------------------ the root
def _make_parent(path: str) -> None:
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)


def _mount_points_under(path: str) -> list[str]:
    """Mount points at or below ``path``, parents first (from /proc/self/mountinfo)."""
    points = []
    with open("/proc/self/mountinfo", "rb") as fh:
        for line in fh:
            raw = line.split(b" ")[4]
            # Spaces, tabs, newlines and backslashes are octal escapes there.
            point = raw.decode("unicode_escape").encode("latin-1").decode(
                sys.getfilesystemencoding(), "surrogateescape")
            if point == path or point.startswith(path.rstrip("/") + "/"):
                points.append(point)
    return sorted(set(points), key=lambda p: p.count("/"))


def _remount_read_only(point: str) -> None:
    flags = MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV
    try:
        have = os.statvfs(point).f_flag
    except FileNotFoundError:
        # Listed in mountinfo but covered by a later mount on a parent directory (e.g.
        # a file bind under /usr/lib/x, then a tmpfs on /usr/lib/x): nothing in the new
        # root reaches it, and the bound tree is locked, so it cannot be uncovered there.
        return
    for st, ms in ST_TO_MS:
        if have & st:
            flags |= ms
    if not have & (0x400 | 0x1000):  # neither noatime nor relatime
        flags |= MS_STRICTATIME
    _mount(None, point, None, flags)


def _ro_bind(source: str, target: str) -> None:
    info = os.stat(source)  # follows symlinks, as the bind itself does
    if stat.S_ISDIR(info.st_mode):
        os.makedirs(target, mode=0o755, exist_ok=True)
    else:
        _make_parent(target)
        os.close(os.open(target, os.O_WRONLY | os.O_CREAT, 0o444))
    _mount(source, target, None, MS_BIND | MS_REC)
    for point in _mount_points_under(target):
        _remount_read_only(point)


def _dev(target: str) -> None:
    os.makedirs(target, mode=0o755, exist_ok=True)
    _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k")
    for name in DEVICES:
        host = f"/dev/{name}"
        if os.path.exists(host):
            os.close(os.open(f"{target}/{name}", os.O_WRONLY | os.O_CREAT, 0o666))
            _mount(host, f"{target}/{name}", None, MS_BIND)
    for name, link in DEV_LINKS:
        os.symlink(link, f"{target}/{name}")
    os.mkdir(f"{target}/shm", 0o755)
    _mount(None, target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC)


def _proc(target: str) -> None:
    os.makedirs(target, mode=0o755, exist_ok=True)
    _mount("proc", target, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC)
    # As bwrap does: the kernel's tunables under /proc stay read-only.
    for name in PROC_READ_ONLY:
        path = f"{target}/{name}"
        if os.path.exists(path):
            _mount(path, path, None, MS_BIND | MS_REC)
            for point in _mount_points_under(path):
                _remount_read_only(point)


def build_root(root: str, layout: list[list[str]]) -> None:
    """Mount a tmpfs on ``root`` and apply ``layout`` (see ``sandbox.rootfs.RootEntry``)."""
    # Nothing done from here on may propagate back to the host's mount table.
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    _mount("tmpfs", root, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=1m")
    for kind, dest, source in layout:
        target = root + dest
        if kind == "ro-bind":
            _ro_bind(source, target)
        elif kind == "symlink":
            _make_parent(target)
            os.symlink(source, target)
        elif kind == "dir":
            os.makedirs(target, mode=0o755, exist_ok=True)
            os.chmod(target, 0o755)
        elif kind == "dev":
            _dev(target)
        elif kind == "proc":
            _proc(target)
        elif kind == "tmpfs":
            os.makedirs(target, mode=0o755, exist_ok=True)
            _mount("tmpfs", target, "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=16m")
        else:
            raise SetupError(f"unknown layout entry {kind!r}")


def enter_root(root: str) -> None:
    """Make ``root`` the file system root, detach the old one, make ``/`` read-only."""
    os.chdir(root)
    # pivot_root(".", "."): the old root ends up stacked on the new one and is
    # detached at once, so no directory for it is needed and nothing of it stays.
    _check(_syscall("pivot_root", b".", b"."), "pivot_root")
    _check(_libc.umount2(b".", MNT_DETACH), "umount2 of the old root")
    os.chdir("/")
    _mount(None, "/", None, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV)


# ------------------------------------------------------------------ privileges
class _CapHeader(ctypes.Structure):
    _fields_ = (("version", ctypes.c_uint32), ("pid", ctypes.c_int))


class _CapData(ctypes.Structure):
    _fields_ = (("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32))


def drop_capabilities(keep: tuple[int, ...]) -> None:
    """Limit what the executed worker can hold to ``keep`` (bounding, inheritable, ambient)."""
    with open("/proc/sys/kernel/cap_last_cap") as fh:
        last = int(fh.read())
    for cap in range(last + 1):
        if cap not in keep:
            _prctl(PR_CAPBSET_DROP, cap)
    _prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL)
    header = _CapHeader(LINUX_CAPABILITY_VERSION_3, 0)
    data = (_CapData * 2)()
    _check(_syscall("capget", ctypes.byref(header), data), "capget")
    for part in data:
        part.inheritable = 0
    _check(_syscall("capset", ctypes.byref(header), data), "capset")


# ------------------------------------------------------------------ processes
def child(spec: dict[str, Any]) -> NoReturn:
    """PID 1 of the new namespace: build the root, lock down, execute the worker."""
    try:
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        build_root(spec["mountpoint"], spec["layout"])
        enter_root(spec["mountpoint"])
        name = spec["hostname"].encode()
        _check(_libc.sethostname(name, len(name)), "sethostname")
        os.chdir(spec["workdir"])
        _prctl(PR_SET_NO_NEW_PRIVS, 1)
        drop_capabilities(ROOT_KEEPS_CAPS if os.geteuid() == 0 else ())
        argv = spec["argv"]
        os.execv(argv[0], argv)
    except (SetupError, OSError, KeyError, ValueError) as exc:
        _fail(exc)
    os._exit(EXIT_FAILED)


def _fail(exc: BaseException) -> NoReturn:
    os.write(2, f"privroot: {exc}\n".encode(errors="replace"))
    os._exit(EXIT_FAILED)


def main() -> NoReturn:
    """``P``: enter the namespaces, fork PID 1, pass its exit status on."""
    try:
        spec = json.loads(sys.argv[1])
        _prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        enter_namespaces()
    except (SetupError, OSError, IndexError, ValueError) as exc:
        _fail(exc)
    os.umask(0o022)
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
        child(spec)
    # The worker's protocol pipes must close when it dies: keep no copy here.
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    os.dup2(null, 1)
    _, status = os.waitpid(pid, 0)
    os._exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 128 + os.WTERMSIG(status))


if __name__ == "__main__":
    main()
