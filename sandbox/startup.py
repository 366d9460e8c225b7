"""Starting a pool: the layers asked for, the launchers to try and what they give.

The pool asks for every layer its isolation mode and the machine allow
(:func:`requested_layers`), tries the launchers in order until a first worker
passes its self-test (:func:`start_first_worker`), then holds the isolation
that worker reports against the mode (:func:`enforce_isolation`): strict
refuses anything missing, auto warns about it (and refuses children that would
run as the orchestrator's user with the host's files in view).
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandbox import launch, seccomp
from sandbox.errors import SandboxError, SandboxUnavailable
from sandbox.isolation import IsolationReport
from sandbox.launch import LaunchPlan, host_files_warning, unguarded_refusal
from sandbox.limits import IsolationMode, Layer, SandboxWarning
from sandbox.worker_process import WorkerProcess

SCRATCH_PREFIX = "discover-sandbox-"
"""Names a pool's scratch directory, followed by the orchestrator's pid."""


def remove_stale_scratch() -> None:
    """Remove scratch directories of orchestrators that died without closing their pool."""
    for path in Path(tempfile.gettempdir()).glob(f"{SCRATCH_PREFIX}*-*"):
        pid_text = path.name[len(SCRATCH_PREFIX):].split("-", 1)[0]
        if not pid_text.isdigit() or int(pid_text) == os.getpid():
            continue
        try:
            os.kill(int(pid_text), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except PermissionError:
            pass  # alive, someone else's


def requested_layers(isolation: IsolationMode, disable: Collection[Layer], uid: int
                     ) -> tuple[frozenset[Layer], dict[Layer, str], int | None]:
    """The layers to ask for, why each other one is not, and the children's uid.

    Parameters
    ----------
    isolation
        The pool's isolation mode.
    disable
        Layers switched off on purpose.
    uid
        The unprivileged uid for children, used only when the orchestrator is root.

    Returns
    -------
    tuple
        The requested layers, the reason for each layer left out, and the
        children's uid (``None``: they keep the orchestrator's).
    """
    reasons: dict[Layer, str] = {}
    requested = set(Layer) - set(disable)
    for layer in disable:
        reasons[layer] = "disabled on request"
    if isolation == "none":
        for layer in (Layer.NAMESPACES, Layer.UNPRIVILEGED_UID, Layer.SECCOMP):
            requested.discard(layer)
            reasons[layer] = "isolation 'none'"
    if Layer.UNPRIVILEGED_UID in requested and os.geteuid() != 0:
        requested.discard(Layer.UNPRIVILEGED_UID)
        reasons[Layer.UNPRIVILEGED_UID] = (
            "the orchestrator is not root, so children keep its uid "
            "(run as root, e.g. in a container, for a dedicated uid)")
    if Layer.SECCOMP in requested and seccomp.current_architecture() is None:
        requested.discard(Layer.SECCOMP)
        reasons[Layer.SECCOMP] = "no filter for this architecture / operating system"
    child_uid = uid if Layer.UNPRIVILEGED_UID in requested else None
    return frozenset(requested), reasons, child_uid


def launcher_order(requested: frozenset[Layer], launcher: str,
                   isolation: IsolationMode) -> list[str]:
    """The launchers to try, in order: ``launcher`` if forced, else what the mode accepts."""
    if Layer.NAMESPACES not in requested:
        return ["plain"]
    if launcher != "auto":
        return [launcher]
    # Both launchers give the same namespaces and private root (strict accepts
    # either; the level names the one that ran). plain shows the host's files.
    if isolation == "strict":
        return ["bwrap", "unshare"]
    return ["bwrap", "unshare", "plain"]


@dataclass(frozen=True)
class Launched:
    """The first worker of a pool, the plan that started it and what it said."""

    worker: WorkerProcess
    plan: LaunchPlan
    init: dict[str, Any]
    """The ``init`` message every worker of the pool is started with."""
    ready: dict[str, Any]
    """The worker's ``ready`` message (its self-test)."""


def start_first_worker(order: Sequence[str], harness_packages: Sequence[str], tmp: Path,
                       init: Mapping[str, Any], prefork: bool, start_timeout: float
                       ) -> tuple[Launched | None, list[str]]:
    """Try the launchers of ``order`` until one starts a worker that passes its self-test.

    Parameters
    ----------
    order
        Launcher names, as :func:`launcher_order` gives them.
    harness_packages
        Top-level packages holding harness modules.
    tmp
        The pool's scratch space: the children's scratch is ``tmp/scratch``, and
        each launcher tried logs to a file of its own here.
    init
        The ``init`` message without its launcher-dependent parts (``scratch``,
        ``prefork``).
    prefork
        Whether the workers fork each child ahead of its request.
    start_timeout
        Seconds a worker may take to start and pass its self-test.

    Returns
    -------
    tuple
        The worker that started (``None`` if none did) and why each launcher
        before it failed.
    """
    failures: list[str] = []
    for name in order:
        try:
            plan = launch.plan(name, harness_packages, str(tmp / "scratch"))
        except FileNotFoundError as exc:
            failures.append(f"{name}: {exc}")
            continue
        full = {**init, "scratch": plan.scratch, "prefork": prefork}
        # A log per launcher tried: a failure quotes its own launcher's messages only.
        worker = WorkerProcess(plan, full, tmp / f"worker-0-{name}.log")
        try:
            ready = worker.spawn(start_timeout)
        except SandboxError as exc:
            failures.append(f"{name}: {exc}")
            continue
        return Launched(worker, plan, full, ready), failures
    return None, failures


def enforce_isolation(report: IsolationReport, isolation: IsolationMode, launcher: str,
                      wanted_root: bool, uid: int | None, failures: Sequence[str]) -> None:
    """Hold the isolation a started pool has against its mode; warn about what is missing.

    Parameters
    ----------
    report
        What the first worker reported, assessed.
    isolation, launcher
        The pool's mode and launcher setting (``"auto"`` or forced).
    wanted_root
        Whether a private root (the namespaces layer) was asked for.
    uid
        The children's uid (``None``: the orchestrator's).
    failures
        Why the launchers tried before the one that ran failed.

    Raises
    ------
    SandboxUnavailable
        In strict mode when a layer is missing; in auto mode when children would
        run as the orchestrator's user without a private root, unless the
        launcher was chosen explicitly.
    """
    if isolation == "strict" and not report.complete:
        raise SandboxUnavailable("strict isolation unavailable:\n" + report.summary()
                                 + "".join(f"\n  {f}" for f in failures))
    if (isolation == "auto" and wanted_root and not report.private_root
            and uid is None and launcher == "auto"):
        # Children would run as the orchestrator's user with nothing between them and
        # that user's files and processes: refused unless chosen explicitly.
        raise SandboxUnavailable(unguarded_refusal(failures))
    if isolation == "auto":
        # stacklevel 4: this function, SandboxPool._start, SandboxPool.start, its caller.
        if wanted_root and not report.private_root:
            # First and on its own: the one thing to do about it.
            warnings.warn(host_files_warning(failures), SandboxWarning, stacklevel=4)
        for status in report.missing:
            warnings.warn(f"sandbox runs without {status.layer.value}: {status.detail}",
                          SandboxWarning, stacklevel=4)
