"""The worker's children seen from outside: one run watched to its end, spares, clean-up.

A child runs untrusted code, so the worker never waits on it blindly: :func:`watch`
holds the wall-clock deadline (``SIGKILL`` to the child's whole process group) and
the output caps while it drains the child's pipes, and reports how the child ended.
Spare children (forked ahead of their job) are discarded here when they cannot be
used, and leftovers of a child (orphans that came back to the subreaping worker)
are found and killed.
"""

from __future__ import annotations

import contextlib
import math
import os
import select
import signal
import time
from dataclasses import dataclass
from typing import Any

READ_CHUNK = 1 << 16


@dataclass(frozen=True)
class Spare:
    """A child forked ahead of the next request, waiting for its job on ``job_w``."""

    pid: int
    chan_r: int
    out_r: int
    job_w: int
    keys: frozenset[str]
    """Payload sets in the spare's memory."""
    modules: int
    """``len(sys.modules)`` when it was forked (it has what was imported by then)."""


def watch(pid: int, chan_r: int, out_r: int, start: float, time_limit: float,
          limits: dict[str, Any]) -> tuple[dict[str, Any], bytes]:
    """Supervise the running child ``pid`` until it exits, overruns or floods; reap it.

    Parameters
    ----------
    pid
        The child, leader of its own process group.
    chan_r, out_r
        Read ends of its result channel and of its stdout/stderr (closed here).
    start
        When it was started or handed its job (``time.monotonic()``).
    time_limit
        Wall seconds from ``start`` before the child's group is killed.
    limits
        The request's limits (output caps, ``cpu_slack``).

    Returns
    -------
    tuple
        The reply header (``status`` ``"done"``, how the child ended, its usage and
        captured stdout) and the channel bytes (empty when they overflowed).
    """
    deadline = start + time_limit
    channel = bytearray()
    stdout = bytearray()
    stdout_total = 0
    cap_channel = int(limits["max_output_bytes"])
    cap_stdout = int(limits["max_stdout_bytes"])
    flood = int(limits["max_stdout_flood"])
    timed_out = overflow = flooded = exited = False
    pidfd = os.pidfd_open(pid) if hasattr(os, "pidfd_open") else None
    open_fds = {chan_r, out_r}
    for fd in open_fds:
        os.set_blocking(fd, False)
    while True:
        wait = deadline - time.monotonic()
        if wait <= 0:
            timed_out = True
            break
        watched = [*open_fds] + ([pidfd] if pidfd is not None else [])
        ready, _, _ = select.select(watched, [], [], wait if pidfd is not None
                                    else min(wait, 0.005))
        for fd in ready:
            if fd == pidfd:
                exited = True
                continue
            eof = drain(fd, channel if fd == chan_r else stdout)
            if eof:
                open_fds.discard(fd)
        if pidfd is None and os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG
                                       | os.WNOWAIT) is not None:
            exited = True
        if len(stdout) > 2 * cap_stdout:
            stdout_total += len(stdout) - cap_stdout
            del stdout[:-cap_stdout]
        overflow = len(channel) > cap_channel
        flooded = stdout_total + len(stdout) > flood
        if exited or overflow or flooded:
            break
    if not exited:
        kill_group(pid)
    _, status, usage = os.wait4(pid, 0)
    elapsed = time.monotonic() - start
    kill_group(pid)  # members that stayed in the child's group
    for fd in (chan_r, out_r):
        if fd in open_fds and not (overflow or flooded):
            drain(fd, channel if fd == chan_r else stdout)
        os.close(fd)
    if pidfd is not None:
        os.close(pidfd)
    reply = {
        "status": "done",
        "elapsed": elapsed,
        "timed_out": timed_out,
        "overflow": overflow,
        "flood": flooded,
        "exit_code": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "cpu": usage.ru_utime + usage.ru_stime,
        "cpu_limit": max(1, math.ceil(time_limit + float(limits["cpu_slack"]))),
        "maxrss_kb": usage.ru_maxrss,
        "stdout": bytes(stdout[-cap_stdout:]).decode("utf-8", "replace"),
    }
    return reply, bytes(channel[:cap_channel]) if not overflow else b""


def drain(fd: int, sink: bytearray) -> bool:
    """Read what is available; True at end of file."""
    while True:
        try:
            chunk = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return False
        if not chunk:
            return True
        sink += chunk
        if len(chunk) < READ_CHUNK:
            return False


def alive(pid: int) -> bool:
    """True while the child ``pid`` has not exited (it is reaped if it has)."""
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return False
    return done == 0


def discard(spare: Spare) -> None:
    """Kill and reap an unused spare child."""
    for fd in (spare.job_w, spare.chan_r, spare.out_r):
        with contextlib.suppress(OSError):
            os.close(fd)
    with contextlib.suppress(ProcessLookupError):
        os.kill(spare.pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(spare.pid, 0)


def kill_group(pid: int) -> None:
    """``SIGKILL`` to the process group ``pid`` leads, and to ``pid`` itself."""
    for kill, target in ((os.killpg, pid), (os.kill, pid)):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(target, signal.SIGKILL)


def kill_children(spare: int | None) -> list[int]:
    """Kill every child of this process but ``spare``; their pids (to be reaped)."""
    me = str(os.getpid())
    killed = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == spare:
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        if stat.rpartition(")")[2].split()[1] == me:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(int(entry), signal.SIGKILL)
                killed.append(int(entry))
    return killed
