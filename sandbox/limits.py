"""Resource limits and isolation settings of the sandbox."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Literal

IsolationMode = Literal["auto", "strict", "none"]
"""How hard the pool insists on isolation.

``"strict"``
    Every layer of :class:`Layer` must be active, with a private, read-only file
    system confirmed by the worker's probe (built by bubblewrap or by the
    sandbox's own ``unshare`` launcher; the level names which); otherwise the
    pool refuses to start (:class:`~sandbox.errors.SandboxUnavailable`).
``"auto"``
    Use every layer this machine offers and warn (:class:`SandboxWarning`) about
    each one missing; the pool records what it ran with. Without a private root
    it refuses when children would also keep the orchestrator's uid (not root),
    unless the ``plain`` launcher is chosen explicitly.
``"none"``
    No security layers: no namespaces, no uid change, no seccomp. Candidates
    still run in a forked child of a clean, exec'd worker with the wall-clock
    deadline and resource limits, so hangs, crashes and memory bombs stay
    typed failures. Only for trusted code (seeds, debugging) or machines
    without Linux isolation.
"""

ISOLATION_MODES: tuple[str, ...] = ("auto", "strict", "none")

Launcher = Literal["auto", "bwrap", "unshare", "plain"]
"""How the worker process is started: inside bubblewrap, inside the namespaces and
private root of :mod:`sandbox.privroot` (``unshare``), or as a plain process.
``"auto"`` tries them in that order (``DISCOVER_SANDBOX_LAUNCHER`` can force one)."""

LAUNCHERS: tuple[str, ...] = ("auto", "bwrap", "unshare", "plain")


class Layer(enum.Enum):
    """Isolation layers; each is probed when a worker starts and reported."""

    NAMESPACES = "namespaces"
    """Network, PID, mount, IPC and UTS namespaces (bubblewrap or ``unshare``)."""
    UNPRIVILEGED_UID = "unprivileged_uid"
    """Children drop to a dedicated unprivileged uid/gid with no capabilities."""
    SECCOMP = "seccomp"
    """The system-call deny-list of :mod:`sandbox.seccomp`."""
    RLIMITS = "rlimits"
    """CPU, address space, FSIZE=0, NOFILE, NPROC, CORE=0."""


class SandboxWarning(UserWarning):
    """An isolation layer is unavailable and the pool runs without it."""


@dataclass(frozen=True)
class Limits:
    """Per-child resource limits.

    Parameters
    ----------
    memory_mb
        Address space a candidate may add on top of the warm worker's own
        (numpy and the interpreter are already mapped); ``RLIMIT_AS`` is set to
        the worker's size plus this.
    max_output_bytes
        Cap on the result channel for a whole batch; a child exceeding it is
        killed and the outcome is ``invalid_output``.
    max_output_items
        Cap on the numbers in one payload's output.
    max_stdout_bytes
        How much of the child's stdout/stderr is kept (the tail).
    max_stdout_flood
        Writing more than this to stdout/stderr kills the child (``forbidden``).
    max_code_bytes
        Size cap of the candidate's source, checked by the pre-check.
    open_files
        ``RLIMIT_NOFILE`` of the child.
    threads
        ``RLIMIT_NPROC`` of the child when it runs under its own uid (tasks of
        that uid, threads included). seccomp already refuses new threads and
        processes; this is the fallback when seccomp is unavailable.
    cpu_slack
        Extra CPU seconds over the wall deadline before ``RLIMIT_CPU`` fires
        (the wall deadline normally fires first).
    kill_grace
        Seconds the orchestrator waits past the deadline for the worker's
        answer before it kills and restarts the worker.
    """

    memory_mb: int = 512
    max_output_bytes: int = 16 * 2**20
    max_output_items: int = 1_000_000
    max_stdout_bytes: int = 16 * 2**10
    max_stdout_flood: int = 4 * 2**20
    max_code_bytes: int = 64 * 2**10
    open_files: int = 32
    threads: int = 1
    cpu_slack: float = 1.0
    kill_grace: float = 5.0

    def __post_init__(self) -> None:
        for name in ("memory_mb", "max_output_bytes", "max_output_items", "max_stdout_bytes",
                     "max_stdout_flood", "max_code_bytes", "open_files", "threads"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name} must be a positive integer, got {value!r}")
        if self.open_files < 8:
            raise ValueError("open_files must be at least 8 (stdio, channel, imports)")
        if self.max_stdout_flood < self.max_stdout_bytes:
            raise ValueError("max_stdout_flood must be >= max_stdout_bytes")
        if self.cpu_slack < 0 or self.kill_grace <= 0:
            raise ValueError("cpu_slack must be >= 0 and kill_grace > 0")

    def to_wire(self) -> dict[str, int | float]:
        """The fields the worker needs, as plain JSON data."""
        return {
            "memory_mb": self.memory_mb,
            "max_output_bytes": self.max_output_bytes,
            "max_output_items": self.max_output_items,
            "max_stdout_bytes": self.max_stdout_bytes,
            "max_stdout_flood": self.max_stdout_flood,
            "open_files": self.open_files,
            "threads": self.threads,
            "cpu_slack": self.cpu_slack,
        }
