"""The seccomp filter on its own: assembled correctly, and refusing exactly what it should."""

from __future__ import annotations

import ctypes
import os
import signal
import struct
from collections.abc import Callable
from pathlib import Path

import pytest

from sandbox import seccomp

ARCH = seccomp.current_architecture()
needs_filter = pytest.mark.skipif(ARCH is None, reason="seccomp needs Linux on x86-64/AArch64")


def test_tables_are_consistent() -> None:
    for arch in seccomp.ARCHITECTURES.values():
        numbers = list(arch.numbers.values())
        assert len(numbers) == len(set(numbers)), arch.name
        # the calls a candidate must never make exist on every architecture
        for name in ("clone", "execve", "socket", "io_uring_setup", "ptrace", "kill", "openat",
                     "unlinkat", "clone3", "bpf"):
            assert name in arch.numbers, (arch.name, name)


def test_template_patching_matches_full_assembly() -> None:
    for arch in seccomp.ARCHITECTURES.values():
        for pid in (1, 2, 4242, 2**22):
            assert seccomp.build_filter(arch, pid) == seccomp.assemble(arch, pid)


def test_program_shape() -> None:
    arch = seccomp.ARCHITECTURES["x86_64"]
    program = seccomp.assemble(arch, 1234)
    assert len(program) % 8 == 0
    instructions = [struct.unpack_from("<HBBI", program, k) for k in range(0, len(program), 8)]
    assert len(instructions) < 4096  # BPF_MAXINSNS
    # first: check the architecture, kill on mismatch
    assert instructions[1][3] == seccomp.AUDIT_ARCH_X86_64
    assert instructions[2][3] == seccomp.SECCOMP_RET_KILL_PROCESS
    # last: allow everything not matched
    assert instructions[-1][3] == seccomp.SECCOMP_RET_ALLOW
    # every jump lands inside the program
    for index, (code, jt, jf, _) in enumerate(instructions):
        if code & 0x07 == 0x05:  # BPF_JMP
            assert index + 1 + max(jt, jf) < len(instructions)


def _in_child(action: Callable[[], None]) -> int | str:
    """Install the filter in a forked child, run ``action``; exit code or signal name."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - child
        code = 0
        try:
            seccomp.install(os.getpid())
            action()
        except BaseException:
            code = 3
        os._exit(code)
    _, status = os.waitpid(pid, 0)
    if os.WIFSIGNALED(status):
        return signal.Signals(os.WTERMSIG(status)).name
    return os.WEXITSTATUS(status)


def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


def _ulong_ref() -> object:
    return ctypes.byref(ctypes.c_ulong(0))


def _syscall(name: str, *args: object) -> None:
    assert ARCH is not None
    _libc().syscall(ARCH.numbers[name], *args)


def _numpy_work() -> None:
    import numpy as np

    assert int(np.arange(1000).sum()) == 499500


@pytest.mark.slow
@needs_filter
@pytest.mark.parametrize(
    ("name", "action", "expected"),
    [
        ("computation", _numpy_work, 0),
        ("read a file", lambda: Path("/proc/self/status").read_text(), 0),
        ("signal itself", lambda: os.kill(os.getpid(), 0), 0),
        ("fork", lambda: os.fork(), "SIGSYS"),
        ("socket", lambda: __import__("socket").socket(), "SIGSYS"),
        ("open for writing", lambda: os.open("/proc/self/comm", os.O_WRONLY), "SIGSYS"),
        ("open for appending", lambda: os.open("/dev/null", os.O_APPEND | os.O_RDONLY),
         "SIGSYS"),
        ("unlink", lambda: os.unlink("/nonexistent/file"), "SIGSYS"),
        ("signal the parent", lambda: os.kill(os.getppid(), 0), "SIGSYS"),
        ("signal the group", lambda: os.killpg(0, 0), "SIGSYS"),
        ("execve", lambda: os.execv("/bin/true", ["true"]), "SIGSYS"),
        ("setuid", lambda: os.setuid(0), "SIGSYS"),
        ("io_setup (host-wide AIO pool)", lambda: _syscall("io_setup", 1, _ulong_ref()),
         "SIGSYS"),
        ("another filter", lambda: _libc().prctl(seccomp.PR_SET_SECCOMP_OPTION, 2, 0, 0, 0),
         "SIGSYS"),
        ("other prctl", lambda: _libc().prctl(seccomp.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0),
        ("a SIGSYS handler does not save the caller",
         lambda: (signal.signal(signal.SIGSYS, lambda *a: None), os.fork()), "SIGSYS"),
    ],
)
def test_filter_in_a_child(name: str, action: Callable[[], None], expected: int | str) -> None:
    assert _in_child(action) == expected, name
