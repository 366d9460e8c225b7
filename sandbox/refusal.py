"""Naming the candidate line behind a refused system call.

The seccomp filter kills the child outright (``SECCOMP_RET_KILL_PROCESS``):
nothing runs after the refused call, so no signal handler can print a stack.
Instead, an audit hook (:pep:`578`) installed just before the candidate runs
writes a one-line hint to the captured stderr whenever Python is about to do
something the filter may refuse (start a process, open a socket, write a file,
call C through ``ctypes``, ...). When the child then dies by ``SIGSYS`` the
trusted side quotes the last hint's candidate line.

The hint is diagnostics only: the candidate controls its stderr and can forge or
suppress hints, which changes the message, never the status (that comes from
the kernel's verdict, the ``SIGSYS`` death). Audit hooks cannot be removed from
Python code.
"""

from __future__ import annotations

import contextlib
import os
import re
import sys
from collections.abc import Callable
from typing import Any

HINT_PREFIX = "[sandbox-audit]"
SENSITIVE_PREFIXES = ("os.", "socket.", "subprocess.", "ctypes.", "shutil.", "mmap.", "pty.",
                      "fcntl.", "resource.", "signal.", "_posixsubprocess.", "_thread.",
                      "glob.", "tempfile.", "sqlite3.", "webbrowser.", "urllib.", "http.")
_WRITE_MODES = frozenset("wax+")
_HINT = re.compile(re.escape(HINT_PREFIX) + r" (?P<event>\S+) at candidate line (?P<line>\d+)")


def _sensitive(event: str, args: tuple[Any, ...]) -> bool:
    if event == "open":
        # (path, mode, flags): reads are allowed, so only writes are worth a hint
        mode = args[1] if len(args) > 1 else None
        flags = args[2] if len(args) > 2 else 0
        return (isinstance(mode, str) and bool(_WRITE_MODES & set(mode))) or (
            isinstance(flags, int) and bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT
                                                     | os.O_TRUNC | os.O_APPEND)))
    return event.startswith(SENSITIVE_PREFIXES)


def install_hook(filename: str, fd: int = 2) -> None:
    """Write a hint to ``fd`` before each sensitive operation made under candidate code.

    Parameters
    ----------
    filename
        The candidate's code file name: the hint names the innermost frame from it.
    fd
        Where hints go (the captured stderr).
    """
    getframe: Callable[[int], Any] = sys._getframe
    write = os.write

    def hook(event: str, args: tuple[Any, ...]) -> None:
        if not _sensitive(event, args):
            return
        frame = getframe(1)
        while frame is not None and frame.f_code.co_filename != filename:
            frame = frame.f_back
        if frame is None:
            return
        # stderr closed or full: the status does not depend on the hint
        with contextlib.suppress(OSError):
            write(fd, f"\n{HINT_PREFIX} {event} at candidate line {frame.f_lineno}\n".encode())

    sys.addaudithook(hook)


def last_hint(stdout: str) -> tuple[str, int] | None:
    """The last ``(event, candidate line)`` hinted in the captured output, if any."""
    found = None
    for match in _HINT.finditer(stdout):
        found = match
    return (found["event"], int(found["line"])) if found is not None else None
