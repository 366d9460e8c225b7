"""A seccomp-BPF deny-list for candidate children, built and installed with ctypes.

No third-party binding is needed (the Debian ``python3-seccomp`` package does not
fit a pyenv interpreter): the filter is a short classic-BPF program assembled here
and loaded with ``prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ...)`` after
``PR_SET_NO_NEW_PRIVS``.

Refused system calls *kill* the child (``SECCOMP_RET_KILL_PROCESS``): the kernel
ends the whole process at once, reported as death by ``SIGSYS``, which the
supervisor reads as :attr:`~sandbox.outcome.OutcomeStatus.FORBIDDEN`. Nothing in
the child runs after the call, so nothing can catch or ignore it: neither a
``SIGSYS`` handler (a ``SECCOMP_RET_TRAP`` filter only *sends* ``SIGSYS``, and a
handler that returns resumes the candidate) nor a second, stacked filter (the
kernel applies the strictest verdict of all filters, and kill is the strictest).
The candidate line is named from an audit hook (see :mod:`sandbox.child`), which
writes a hint to the captured stderr before a sensitive operation.

What is refused, and why it is safe to refuse for a pure computation:

* new processes *and* threads (``fork``, ``vfork``, ``clone``, ``clone3``) and
  program execution (``execve``, ``execveat``): numpy runs single-threaded
  (the worker sets ``OPENBLAS_NUM_THREADS=1`` etc.), and a candidate has no
  business spawning anything; refusing threads also stops CPU-burning threads;
* the network (``socket`` and friends), ``io_uring`` (which can perform I/O
  without the syscalls above) and Linux AIO (``io_setup``, ...: its event pool
  is shared by the whole host);
* more seccomp filters (``seccomp``, ``prctl(PR_SET_SECCOMP)``);
* signalling other processes: ``kill``/``tgkill``/``tkill``/``rt_sigqueueinfo``
  are allowed only with the child's own pid (``os.abort`` and ``raise`` still
  work), ``pidfd_*`` are refused;
* opening files for writing (``open``/``openat`` with a write, create, truncate
  or append flag), creating, renaming, linking, deleting files or directories,
  changing modes, owners, times or extended attributes;
* debugging and memory access to other processes (``ptrace``,
  ``process_vm_*``), credentials, mounts and namespaces, kernel modules, BPF,
  perf, keyrings, ``userfaultfd``, ``personality`` and other kernel attack
  surface a computation never needs.

Only x86-64 and AArch64 (little-endian) are supported; other architectures
report seccomp as unavailable. On x86-64 the x32 ABI and any other
architecture token kill the process, so 32-bit entry points cannot bypass the
list.
"""

from __future__ import annotations

import ctypes
import functools
import os
import platform
import struct
import sys
from dataclasses import dataclass

# --- kernel constants -------------------------------------------------------
PR_SET_NO_NEW_PRIVS = 38
PR_SET_SECCOMP = 22
SECCOMP_MODE_FILTER = 2

SECCOMP_RET_KILL_PROCESS = 0x80000000
SECCOMP_RET_TRAP = 0x00030000
SECCOMP_RET_ALLOW = 0x7FFF0000

AUDIT_ARCH_X86_64 = 0xC000003E
AUDIT_ARCH_AARCH64 = 0xC00000B7
X32_SYSCALL_BIT = 0x40000000

# classic BPF opcodes
_LD_W_ABS = 0x20
_JEQ_K = 0x15
_JGE_K = 0x35
_JSET_K = 0x45
_RET_K = 0x06

# struct seccomp_data offsets (little-endian: the low word of args[i] comes first)
_OFF_NR = 0
_OFF_ARCH = 4
_OFF_ARGS = 16

# open(2) flags that imply writing; identical on x86-64 and AArch64
O_WRONLY = 0o1
O_RDWR = 0o2
O_CREAT = 0o100
O_TRUNC = 0o1000
O_APPEND = 0o2000
WRITE_FLAGS = O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND

# Names refused outright. Names missing on an architecture are skipped.
DENIED: tuple[str, ...] = (
    # processes, threads, programs
    "fork", "vfork", "clone", "clone3", "execve", "execveat",
    # network
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4",
    "sendto", "sendmsg", "sendmmsg",
    # asynchronous I/O: io_uring bypasses per-syscall filtering; the AIO context
    # pool (fs.aio-max-nr) is shared by the whole host, so one candidate could
    # take every event and make io_setup fail for everyone
    "io_uring_setup", "io_uring_enter", "io_uring_register", "io_setup", "io_submit",
    "io_destroy", "io_getevents", "io_pgetevents", "io_cancel",
    # more seccomp filters (a stacked filter could interfere with the child's own
    # reporting) and comparing kernel objects of other processes
    "seccomp", "kcmp",
    # other processes
    "ptrace", "process_vm_readv", "process_vm_writev", "pidfd_open",
    "pidfd_send_signal", "pidfd_getfd", "process_madvise",
    # file system changes
    "creat", "openat2", "open_by_handle_at", "name_to_handle_at", "truncate",
    "ftruncate", "fallocate", "rename", "renameat", "renameat2", "unlink",
    "unlinkat", "rmdir", "mkdir", "mkdirat", "mknod", "mknodat", "link", "linkat",
    "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "chown", "fchown",
    "lchown", "fchownat", "utime", "utimes", "utimensat", "futimesat",
    "setxattr", "lsetxattr", "fsetxattr", "removexattr", "lremovexattr",
    "fremovexattr", "memfd_create", "sendfile", "splice", "tee", "vmsplice",
    "copy_file_range", "inotify_init", "inotify_init1", "fanotify_init",
    # credentials, namespaces, mounts
    "setuid", "setgid", "setreuid", "setregid", "setresuid", "setresgid",
    "setgroups", "setfsuid", "setfsgid", "unshare", "setns", "mount", "umount2",
    "pivot_root", "chroot", "fsopen", "fsmount", "fsconfig", "move_mount",
    "open_tree", "mount_setattr",
    # kernel attack surface
    "bpf", "perf_event_open", "userfaultfd", "keyctl", "add_key", "request_key",
    "kexec_load", "kexec_file_load", "init_module", "finit_module",
    "delete_module", "reboot", "swapon", "swapoff", "acct", "quotactl",
    "quotactl_fd", "syslog", "personality", "uselib", "lookup_dcookie",
    "nfsservctl", "vhangup", "iopl", "ioperm", "modify_ldt", "settimeofday",
    "clock_settime", "adjtimex", "sched_setaffinity", "sched_setscheduler",
    "setpriority", "ioprio_set", "sched_setattr", "sched_setparam", "memfd_secret",
    "mbind", "set_mempolicy", "migrate_pages",
    "move_pages", "mq_open", "msgget", "semget", "shmget",
)

# Signal senders allowed only when their first argument is the child's own pid.
SELF_ONLY: tuple[str, ...] = ("kill", "tkill", "tgkill", "rt_sigqueueinfo", "rt_tgsigqueueinfo")

# name -> index of the flags argument
OPEN_CALLS: dict[str, int] = {"open": 1, "openat": 2}

# name -> (argument index, value) refused; everything else about the call is allowed.
# prctl(PR_SET_SECCOMP) would stack another filter, like seccomp(2).
PR_SET_SECCOMP_OPTION = 22
ARG_DENIED: dict[str, tuple[int, int]] = {"prctl": (0, PR_SET_SECCOMP_OPTION)}

DENY_ACTION = SECCOMP_RET_KILL_PROCESS
"""What a refused call does: the kernel kills the whole child at once (no handler runs)."""

_X86_64: dict[str, int] = {
    "open": 2, "shmget": 29, "sendfile": 40, "socket": 41, "connect": 42, "accept": 43,
    "sendto": 44, "sendmsg": 46, "bind": 49, "listen": 50, "socketpair": 53, "clone": 56,
    "fork": 57, "vfork": 58, "execve": 59, "kill": 62, "semget": 64, "msgget": 68,
    "truncate": 76, "ftruncate": 77, "rename": 82, "mkdir": 83, "rmdir": 84, "creat": 85,
    "link": 86, "unlink": 87, "symlink": 88, "chmod": 90, "fchmod": 91, "chown": 92,
    "fchown": 93, "lchown": 94, "ptrace": 101, "syslog": 103, "setuid": 105, "setgid": 106,
    "setreuid": 113, "setregid": 114, "setgroups": 116, "setresuid": 117, "setresgid": 119,
    "setfsuid": 122, "setfsgid": 123, "rt_sigqueueinfo": 129, "utime": 132, "mknod": 133,
    "uselib": 134, "personality": 135, "setpriority": 141, "sched_setscheduler": 144,
    "vhangup": 153, "modify_ldt": 154, "pivot_root": 155, "adjtimex": 159, "chroot": 161,
    "acct": 163, "settimeofday": 164, "mount": 165, "umount2": 166, "swapon": 167,
    "swapoff": 168, "reboot": 169, "iopl": 172, "ioperm": 173, "init_module": 175,
    "delete_module": 176, "quotactl": 179, "nfsservctl": 180, "setxattr": 188,
    "lsetxattr": 189, "fsetxattr": 190, "removexattr": 197, "lremovexattr": 198,
    "fremovexattr": 199, "tkill": 200, "sched_setaffinity": 203, "lookup_dcookie": 212,
    "clock_settime": 227, "tgkill": 234, "utimes": 235, "mbind": 237, "set_mempolicy": 238,
    "mq_open": 240, "kexec_load": 246, "add_key": 248, "request_key": 249, "keyctl": 250,
    "ioprio_set": 251, "inotify_init": 253, "migrate_pages": 256, "openat": 257,
    "mkdirat": 258, "mknodat": 259, "fchownat": 260, "futimesat": 261, "unlinkat": 263,
    "renameat": 264, "linkat": 265, "symlinkat": 266, "fchmodat": 268, "unshare": 272,
    "splice": 275, "tee": 276, "vmsplice": 278, "move_pages": 279, "utimensat": 280,
    "fallocate": 285, "accept4": 288, "inotify_init1": 294, "rt_tgsigqueueinfo": 297,
    "perf_event_open": 298, "fanotify_init": 300, "name_to_handle_at": 303,
    "open_by_handle_at": 304, "sendmmsg": 307, "setns": 308, "process_vm_readv": 310,
    "process_vm_writev": 311, "finit_module": 313, "renameat2": 316, "memfd_create": 319,
    "kexec_file_load": 320, "bpf": 321, "execveat": 322, "userfaultfd": 323,
    "copy_file_range": 326, "io_setup": 206, "io_destroy": 207, "io_getevents": 208,
    "io_submit": 209, "io_cancel": 210, "io_pgetevents": 333, "seccomp": 317, "kcmp": 312,
    "sched_setattr": 314, "sched_setparam": 142, "memfd_secret": 447, "prctl": 157,
    "pidfd_send_signal": 424, "io_uring_setup": 425,
    "io_uring_enter": 426, "io_uring_register": 427, "open_tree": 428, "move_mount": 429,
    "fsopen": 430, "fsconfig": 431, "fsmount": 432, "pidfd_open": 434, "clone3": 435,
    "openat2": 437, "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442,
    "quotactl_fd": 443,
}

_AARCH64: dict[str, int] = {
    "setxattr": 5, "lsetxattr": 6, "fsetxattr": 7, "removexattr": 14, "lremovexattr": 15,
    "fremovexattr": 16, "lookup_dcookie": 18, "inotify_init1": 26, "ioprio_set": 30,
    "mknodat": 33, "mkdirat": 34, "unlinkat": 35, "symlinkat": 36, "linkat": 37,
    "renameat": 38, "umount2": 39, "mount": 40, "pivot_root": 41, "nfsservctl": 42,
    "truncate": 45, "ftruncate": 46, "fallocate": 47, "chroot": 51, "fchmod": 52,
    "fchmodat": 53, "fchownat": 54, "fchown": 55, "openat": 56, "vhangup": 58,
    "quotactl": 60, "sendfile": 71, "vmsplice": 75, "splice": 76, "tee": 77,
    "utimensat": 88, "acct": 89, "personality": 92, "unshare": 97, "kexec_load": 104,
    "init_module": 105, "delete_module": 106, "clock_settime": 112, "syslog": 116,
    "ptrace": 117, "sched_setscheduler": 119, "sched_setaffinity": 122, "kill": 129,
    "tkill": 130, "tgkill": 131, "rt_sigqueueinfo": 138, "setpriority": 140, "reboot": 142,
    "setregid": 143, "setgid": 144, "setreuid": 145, "setuid": 146, "setresuid": 147,
    "setresgid": 149, "setfsuid": 151, "setfsgid": 152, "setgroups": 159,
    "settimeofday": 170, "adjtimex": 171, "mq_open": 180, "msgget": 186, "semget": 190,
    "shmget": 194, "socket": 198, "socketpair": 199, "bind": 200, "listen": 201,
    "accept": 202, "connect": 203, "sendto": 206, "sendmsg": 211, "add_key": 217,
    "request_key": 218, "keyctl": 219, "clone": 220, "execve": 221, "swapon": 224,
    "swapoff": 225, "mbind": 235, "set_mempolicy": 237, "migrate_pages": 238,
    "move_pages": 239, "rt_tgsigqueueinfo": 240, "perf_event_open": 241, "accept4": 242,
    "fanotify_init": 262, "name_to_handle_at": 264, "open_by_handle_at": 265,
    "setns": 268, "sendmmsg": 269, "process_vm_readv": 270, "process_vm_writev": 271,
    "finit_module": 273, "renameat2": 276, "memfd_create": 279, "bpf": 280,
    "execveat": 281, "userfaultfd": 282, "copy_file_range": 285, "kexec_file_load": 294,
    "io_setup": 0, "io_destroy": 1, "io_submit": 2, "io_cancel": 3, "io_getevents": 4,
    "io_pgetevents": 292, "seccomp": 277, "kcmp": 272, "sched_setattr": 274,
    "sched_setparam": 118, "memfd_secret": 447, "prctl": 167,
    "pidfd_send_signal": 424, "io_uring_setup": 425, "io_uring_enter": 426,
    "io_uring_register": 427, "open_tree": 428, "move_mount": 429, "fsopen": 430,
    "fsconfig": 431, "fsmount": 432, "pidfd_open": 434, "clone3": 435, "openat2": 437,
    "pidfd_getfd": 438, "process_madvise": 440, "mount_setattr": 442, "quotactl_fd": 443,
}


@dataclass(frozen=True, eq=False)  # identity hash: one instance per architecture
class Architecture:
    """System-call numbering of one architecture."""

    name: str
    audit_arch: int
    numbers: dict[str, int]
    x32_bit: bool

    def __post_init__(self) -> None:
        unknown = (set(self.numbers) - set(DENIED) - set(SELF_ONLY) - set(OPEN_CALLS)
                   - set(ARG_DENIED))
        if unknown:
            raise ValueError(f"syscall table has names outside the policy: {sorted(unknown)}")


ARCHITECTURES: dict[str, Architecture] = {
    "x86_64": Architecture("x86_64", AUDIT_ARCH_X86_64, _X86_64, x32_bit=True),
    "aarch64": Architecture("aarch64", AUDIT_ARCH_AARCH64, _AARCH64, x32_bit=False),
}


@functools.cache
def current_architecture() -> Architecture | None:
    """The running machine's architecture, or ``None`` when unsupported."""
    if not sys.platform.startswith("linux") or sys.byteorder != "little":
        return None
    machine = platform.machine().lower()
    machine = {"amd64": "x86_64", "arm64": "aarch64"}.get(machine, machine)
    return ARCHITECTURES.get(machine)


def _stmt(code: int, k: int) -> bytes:
    return struct.pack("<HBBI", code, 0, 0, k & 0xFFFFFFFF)


def _jump(code: int, k: int, jt: int, jf: int) -> bytes:
    if not (0 <= jt <= 255 and 0 <= jf <= 255):
        raise ValueError("BPF jump offset out of range")
    return struct.pack("<HBBI", code, jt, jf, k & 0xFFFFFFFF)


def build_filter(arch: Architecture, self_pid: int) -> bytes:
    """The filter program (``struct sock_filter[]``) for ``self_pid``, as bytes.

    The program is assembled once per architecture; only the pid constants are
    patched per child, which keeps the per-candidate cost in microseconds.
    """
    template, offsets = _template(arch)
    program = bytearray(template)
    for offset in offsets:
        struct.pack_into("<I", program, offset + 4, self_pid & 0xFFFFFFFF)
    return bytes(program)


_PID_PLACEHOLDER = 0x7FFFFFFE


@functools.cache
def _template(arch: Architecture) -> tuple[bytes, tuple[int, ...]]:
    program = assemble(arch, _PID_PLACEHOLDER)
    offsets = tuple(k * 8 for k in range(len(program) // 8)
                    if program[k * 8:k * 8 + 2] == struct.pack("<H", _JEQ_K)
                    and struct.unpack_from("<I", program, k * 8 + 4)[0] == _PID_PLACEHOLDER)
    return program, offsets


def assemble(arch: Architecture, self_pid: int) -> bytes:
    """Assemble the filter program (``struct sock_filter[]``) as bytes.

    Parameters
    ----------
    arch
        Syscall numbering to compile against.
    self_pid
        The child's pid (in its own pid namespace): signals to it stay allowed.
    """
    prog: list[bytes] = [
        _stmt(_LD_W_ABS, _OFF_ARCH),
        _jump(_JEQ_K, arch.audit_arch, 1, 0),
        _stmt(_RET_K, SECCOMP_RET_KILL_PROCESS),
        _stmt(_LD_W_ABS, _OFF_NR),
    ]
    if arch.x32_bit:
        prog += [_jump(_JGE_K, X32_SYSCALL_BIT, 0, 1), _stmt(_RET_K, SECCOMP_RET_KILL_PROCESS)]
    for name in DENIED:
        nr = arch.numbers.get(name)
        if nr is not None:
            prog += [_jump(_JEQ_K, nr, 0, 1), _stmt(_RET_K, DENY_ACTION)]
    for name in SELF_ONLY:
        nr = arch.numbers.get(name)
        if nr is None:
            continue
        # if nr matches: load the low word of arg0; own pid -> allow, else trap.
        # (The high word of a C int argument carries no meaning for the kernel.)
        prog += [
            _jump(_JEQ_K, nr, 0, 4),
            _stmt(_LD_W_ABS, _OFF_ARGS),
            _jump(_JEQ_K, self_pid, 0, 1),
            _stmt(_RET_K, SECCOMP_RET_ALLOW),
            _stmt(_RET_K, DENY_ACTION),
        ]
    for name, (arg, value) in ARG_DENIED.items():
        nr = arch.numbers.get(name)
        if nr is None:
            continue
        # the low word of the argument carries the whole int (prctl options are ints)
        prog += [
            _jump(_JEQ_K, nr, 0, 4),
            _stmt(_LD_W_ABS, _OFF_ARGS + 8 * arg),
            _jump(_JEQ_K, value, 0, 1),
            _stmt(_RET_K, DENY_ACTION),
            _stmt(_RET_K, SECCOMP_RET_ALLOW),
        ]
    for name, arg in OPEN_CALLS.items():
        nr = arch.numbers.get(name)
        if nr is None:
            continue
        prog += [
            _jump(_JEQ_K, nr, 0, 4),
            _stmt(_LD_W_ABS, _OFF_ARGS + 8 * arg),
            _jump(_JSET_K, WRITE_FLAGS, 0, 1),
            _stmt(_RET_K, DENY_ACTION),
            _stmt(_RET_K, SECCOMP_RET_ALLOW),
        ]
    prog.append(_stmt(_RET_K, SECCOMP_RET_ALLOW))
    return b"".join(prog)


_LIBC: ctypes.CDLL | None = None


def _libc() -> ctypes.CDLL:
    """The C library of this process (no ``find_library``: it spawns programs)."""
    global _LIBC
    if _LIBC is None:
        _LIBC = ctypes.CDLL(None, use_errno=True)
    return _LIBC


def prctl(option: int, arg2: int = 0) -> None:
    """Call ``prctl(option, arg2, 0, 0, 0)``; raise :class:`OSError` on failure."""
    if _libc().prctl(option, arg2, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl({option}) failed: {os.strerror(err)}")


class _SockFprog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]


def install(self_pid: int) -> None:
    """Load the filter into the calling process (irreversible).

    Sets ``PR_SET_NO_NEW_PRIVS`` first, which also lets an unprivileged process
    install the filter.

    Raises
    ------
    OSError
        When the kernel refuses (no seccomp support) or the architecture is not
        supported.
    """
    arch = current_architecture()
    if arch is None:
        raise OSError(f"seccomp filter not available on {platform.machine()} {sys.platform}")
    program = build_filter(arch, self_pid)
    libc = _libc()
    buf = ctypes.create_string_buffer(program, len(program))
    fprog = _SockFprog(len(program) // 8, ctypes.cast(buf, ctypes.c_void_p))
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS) failed: errno {err}")
    if libc.prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, ctypes.byref(fprog), 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_SECCOMP) failed: errno {err}")
