"""Which isolation layers are actually in force, judged from a worker's self-test."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sandbox.limits import Layer

REQUIRED_NAMESPACES = ("net", "pid", "mnt", "ipc")


@dataclass(frozen=True)
class LayerStatus:
    """One layer: whether it holds, and the evidence or the reason it does not."""

    layer: Layer
    active: bool
    detail: str

    def __post_init__(self) -> None:
        if not isinstance(self.layer, Layer):
            raise TypeError(f"layer must be a Layer, got {self.layer!r}")


@dataclass(frozen=True)
class IsolationReport:
    """What a pool runs with.

    Parameters
    ----------
    mode
        The requested mode (``auto``, ``strict``, ``none``).
    launcher
        How workers were started (``bwrap``, ``unshare``, ``plain``).
    private_root
        Whether children see a minimal read-only file system.
    layers
        Status of every :class:`~sandbox.limits.Layer`, in enum order.
    """

    mode: str
    launcher: str
    private_root: bool
    layers: tuple[LayerStatus, ...]

    def __post_init__(self) -> None:
        if [s.layer for s in self.layers] != list(Layer):
            raise ValueError("layers must list every Layer once, in order")

    @property
    def active(self) -> frozenset[Layer]:
        """Layers in force."""
        return frozenset(s.layer for s in self.layers if s.active)

    @property
    def missing(self) -> tuple[LayerStatus, ...]:
        """Layers not in force, with the reason."""
        return tuple(s for s in self.layers if not s.active)

    @property
    def complete(self) -> bool:
        """Every layer active and a private root: what ``strict`` demands."""
        return not self.missing and self.private_root

    @property
    def level(self) -> str:
        """Short label for the archive: ``full``, ``none`` or ``partial:<active layers>``.

        The launcher is part of the label whenever it is not bubblewrap:
        ``full(unshare)`` and ``namespaces(unshare)`` for the private root the
        sandbox builds itself, ``namespaces(host-fs)`` for namespaces without a
        private root (what the ``unshare`` launcher gave before it had one).
        """
        if self.complete:
            return "full" if self.launcher == "bwrap" else f"full({self.launcher})"
        if self.mode == "none":
            return "none"
        names = [s.layer.value for s in self.layers if s.active]
        if self.layers[0].active and not self.private_root:
            names[0] = "namespaces(host-fs)"
        elif self.layers[0].active and self.launcher != "bwrap":
            names[0] = f"namespaces({self.launcher})"
        return "partial:" + ("+".join(names) if names else "-")

    def summary(self) -> str:
        """Multi-line human-readable report."""
        lines = [f"isolation {self.level} (mode {self.mode}, launcher {self.launcher})"]
        for s in self.layers:
            lines.append(f"  [{'x' if s.active else ' '}] {s.layer.value}: {s.detail}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for JSON output and the archive."""
        return {"level": self.level, "mode": self.mode, "launcher": self.launcher,
                "private_root": self.private_root,
                "layers": {s.layer.value: {"active": s.active, "detail": s.detail}
                           for s in self.layers}}


def own_namespaces() -> dict[str, int]:
    """Namespace inodes of the calling (orchestrator) process."""
    out = {}
    for name in ("net", "pid", "mnt", "ipc", "uts", "user"):
        with contextlib.suppress(OSError):
            out[name] = os.stat(f"/proc/self/ns/{name}").st_ino
    return out


def assess(mode: str, launcher: str, private_root: bool, requested: frozenset[Layer],
           ready: Mapping[str, Any], uid: int | None, reasons: Mapping[Layer, str],
           visible: frozenset[str] = frozenset()) -> IsolationReport:
    """Judge each layer from a worker's ``ready`` message.

    Parameters
    ----------
    mode, launcher, private_root
        As configured. A private root counts only if the probe child's view of
        ``/`` holds nothing but ``visible``.
    requested
        Layers the pool tried to enable.
    ready
        The worker's self-test (namespace inodes, probe facts, seccomp test).
    uid
        The uid children were asked to switch to (``None`` if not).
    reasons
        Why a layer was not requested (shown instead of probe evidence).
    """
    probe = ready.get("probe", {}) if isinstance(ready.get("probe"), dict) else {}
    private_root, root_detail = _private_root(private_root, probe, visible)
    statuses = []
    for layer in Layer:
        if layer not in requested:
            statuses.append(LayerStatus(layer, False, reasons.get(layer, "not requested")))
            continue
        check = {Layer.NAMESPACES: _namespaces, Layer.UNPRIVILEGED_UID: _uid,
                 Layer.SECCOMP: _seccomp, Layer.RLIMITS: _rlimits}[layer]
        active, detail = check(launcher, private_root, ready, probe, uid)
        if layer is Layer.NAMESPACES and active:
            detail += root_detail
        statuses.append(LayerStatus(layer, active, detail))
    return IsolationReport(mode, launcher, private_root, tuple(statuses))


def _private_root(claimed: bool, probe: Mapping[str, Any], visible: frozenset[str]
                  ) -> tuple[bool, str]:
    """Whether the root the launcher promised is what a locked-down child sees."""
    if not claimed:
        return False, ""
    seen = probe.get("root")
    if not isinstance(seen, list) or not seen:
        return False, " (not confirmed: the probe could not list /)"
    extra = sorted(str(name) for name in seen if name not in visible)
    if extra:
        return False, f" (not private: / also holds {', '.join(extra[:8])})"
    return True, f" (/ holds {', '.join(sorted(map(str, seen)))})"


def _namespaces(launcher: str, private_root: bool, ready: Mapping[str, Any],
                probe: Mapping[str, Any], uid: int | None) -> tuple[bool, str]:
    ours = own_namespaces()
    theirs = ready.get("ns", {})
    separate = [n for n in REQUIRED_NAMESPACES
                if n in ours and theirs.get(n) not in (None, ours[n])]
    if len(separate) < len(REQUIRED_NAMESPACES):
        shared = sorted(set(REQUIRED_NAMESPACES) - set(separate))
        return False, f"{launcher}: still sharing the {', '.join(shared)} namespace(s)"
    root = "private read-only root" if private_root else "host file system visible"
    extra = ["uts"] if theirs.get("uts") not in (None, ours.get("uts")) else []
    return True, f"{launcher}: {', '.join([*separate, *extra])} namespaces; {root}"


def _uid(launcher: str, private_root: bool, ready: Mapping[str, Any],
         probe: Mapping[str, Any], uid: int | None) -> tuple[bool, str]:
    got = probe.get("uid")
    caps = str(probe.get("cap_eff", ""))
    if got is None or uid is None:
        return False, f"probe failed: {probe.get('error', 'no report')}"
    if got != uid or got == 0 or probe.get("euid") != uid:
        return False, f"children run as uid {got}, not {uid}"
    if caps.strip("0"):
        return False, f"children keep capabilities {caps}"
    return True, f"children run as uid {got} gid {probe.get('gid')}, no capabilities"


def _seccomp(launcher: str, private_root: bool, ready: Mapping[str, Any],
             probe: Mapping[str, Any], uid: int | None) -> tuple[bool, str]:
    if str(probe.get("seccomp")) != "2":
        return False, f"filter not loaded (Seccomp: {probe.get('seccomp', '?')}); " \
                      f"{probe.get('error', '')}".rstrip("; ")
    if ready.get("seccomp_enforced") is not True:
        return False, "filter loaded but a test socket() was not refused"
    return True, "deny-list loaded; test socket() refused with SIGSYS"


def _rlimits(launcher: str, private_root: bool, ready: Mapping[str, Any],
             probe: Mapping[str, Any], uid: int | None) -> tuple[bool, str]:
    limits = probe.get("rlimits")
    if not isinstance(limits, dict):
        return False, f"probe failed: {probe.get('error', 'no report')}"
    fsize, core, nofile, cpu, address = (limits.get(k) for k in (
        "RLIMIT_FSIZE", "RLIMIT_CORE", "RLIMIT_NOFILE", "RLIMIT_CPU", "RLIMIT_AS"))
    if not (fsize == [0, 0] and core == [0, 0] and isinstance(nofile, list)
            and isinstance(cpu, list) and isinstance(address, list)
            and 0 < nofile[1] <= 1024 and cpu[1] > 0 and address[1] > 0):
        return False, f"limits not in force: {limits}"
    nproc = limits.get("RLIMIT_NPROC")
    parts = [f"AS {address[1] // 2**20} MiB", f"CPU {cpu[0]}s", "FSIZE 0",
             f"NOFILE {nofile[1]}", "CORE 0"]
    if uid is not None and isinstance(nproc, list):
        parts.append(f"NPROC {nproc[1]}")
    return True, ", ".join(parts)
