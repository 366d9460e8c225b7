"""How a worker process is started: the command line, the clean environment, the view of disk.

Three launchers, strongest first:

``bwrap``
    bubblewrap with new user (when unprivileged), network, PID, IPC, UTS and
    cgroup namespaces and a private mount namespace whose root holds only what
    the worker needs, read-only: ``/usr`` and the library directories, the
    Python installation, and the source directories of :mod:`sandbox` and the
    harness packages. No home directory, no project checkout beyond those
    packages, a private ``/tmp`` as scratch space. Capabilities are dropped
    except the three the worker needs to switch children to the unprivileged
    uid and to kill them. ``--die-with-parent`` takes the whole namespace down
    with the orchestrator.
``unshare``
    the same namespaces and the same private root (the same
    :func:`~sandbox.rootfs.root_layout`),
    built without any system package by :mod:`sandbox.privroot`: ``unshare(2)``,
    bind mounts remounted read-only, ``pivot_root(2)``, the old root detached,
    capabilities dropped like bwrap's, then exec of the worker. Needs a kernel
    that lets the caller create namespaces (unprivileged user namespaces, or root).
``plain``
    the worker as an ordinary process (the host file system stays visible).

In every case the worker is started by exec with a clean environment built
here from scratch (never a copy of ``os.environ``), so API keys in the
orchestrator's environment are never inherited.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from sandbox.limits import LAUNCHERS

# The private root's layout has its own module; its names stay importable from here.
from sandbox.rootfs import (
    SCRATCH_IN_NAMESPACE,
    RootEntry,
    python_executable,
    python_roots,
    root_layout,
    visible_names,
)

__all__ = ["HOSTNAME", "INSTALL_HINT", "LAUNCHER_VARIABLE", "PRIVROOT_SCRIPT",
           "SCRATCH_IN_NAMESPACE", "THREAD_VARIABLES", "LaunchPlan", "RootEntry", "clean_env",
           "host_files_warning", "launcher_override", "package_dirs", "plan",
           "private_root_problem", "python_executable", "python_roots", "root_layout",
           "unguarded_refusal", "visible_names", "worker_argv"]

THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS")
PRIVROOT_SCRIPT = Path(__file__).resolve().with_name("privroot.py")
"""Run as a script (``python -I -S``): it must not import the package."""
HOSTNAME = "sandbox"
LAUNCHER_VARIABLE = "DISCOVER_SANDBOX_LAUNCHER"
INSTALL_HINT = ("install bubblewrap (apt-get install bubblewrap) or allow unprivileged user "
                "namespaces")


@dataclass(frozen=True)
class LaunchPlan:
    """A ready-to-exec worker command.

    Parameters
    ----------
    launcher
        ``"bwrap"``, ``"unshare"`` or ``"plain"``.
    argv
        The command line.
    env
        The complete environment of the worker.
    scratch
        The children's working directory, as the worker sees it.
    private_root
        Whether the worker sees a minimal, read-only file system.
    visible
        With a private root: the names its ``/`` may hold (checked against what
        the worker's probe child actually sees).
    """

    launcher: str
    argv: tuple[str, ...]
    env: dict[str, str]
    scratch: str
    private_root: bool
    visible: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.launcher not in ("bwrap", "unshare", "plain"):
            raise ValueError(f"unknown launcher {self.launcher!r}")
        if not self.argv:
            raise ValueError("argv must not be empty")
        if self.private_root != bool(self.visible):
            raise ValueError("a private root needs its visible names, and only it")


def package_dirs(packages: Iterable[str]) -> list[Path]:
    """Source directories of top-level packages, as imported by the orchestrator."""
    dirs = []
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is None:
            raise ModuleNotFoundError(f"package {name!r} not found")
        if spec.submodule_search_locations:
            dirs += [Path(p).resolve() for p in spec.submodule_search_locations]
        elif spec.origin:
            dirs.append(Path(spec.origin).resolve())
    return dirs


def clean_env(python_path: Iterable[Path]) -> dict[str, str]:
    """The worker's entire environment, built from nothing."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "LC_ALL": "C.UTF-8",
        "HOME": "/tmp",
        "PYTHONPATH": os.pathsep.join(str(p) for p in python_path),
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONHASHSEED": "0",
    }
    # numpy must stay single-threaded: the seccomp filter refuses new threads.
    env.update({name: "1" for name in THREAD_VARIABLES})
    return env


def worker_argv() -> list[str]:
    """The worker command itself (without a launcher prefix)."""
    return [python_executable(), "-B", "-s", "-m", "sandbox.worker"]


def plan(launcher: str, packages: Iterable[str], host_scratch: str,
         command: Sequence[str] | None = None) -> LaunchPlan:
    """Build the command that starts a worker with ``launcher``.

    Parameters
    ----------
    launcher
        ``"bwrap"``, ``"unshare"`` or ``"plain"``.
    packages
        Top-level packages the worker imports (``sandbox`` and the harness packages).
    host_scratch
        An empty host directory owned by the pool: the children's working
        directory with ``plain``, the mount point of the private root (inside
        the worker's own mount namespace only) with ``unshare``.
    command
        What to run instead of the worker (checks of the launcher itself).

    Raises
    ------
    FileNotFoundError
        When the launcher's program is not installed.
    """
    packages = tuple(packages)
    pkg_dirs = package_dirs(["sandbox", *packages])
    # Every parent is its own import root, nested ones too: a plugin package under
    # the checkout (examples/flowshop/flowshop) is only importable from its own parent.
    import_roots = list(dict.fromkeys(p.parent for p in pkg_dirs))
    env = clean_env(import_roots)
    target = list(command) if command is not None else worker_argv()
    if launcher == "plain":
        return LaunchPlan("plain", tuple(target), env, host_scratch, False)
    harness = {name: package_dirs([name])[0] for name in packages}
    layout = root_layout(package_dirs(["sandbox"]), harness)
    visible = visible_names(layout)
    if launcher == "unshare":
        spec = {"mountpoint": host_scratch, "hostname": HOSTNAME, "workdir": "/tmp",
                "layout": [[e.kind, e.dest, e.source] for e in layout],
                "argv": target}
        # -I -S: the bootstrap needs the standard library only, and nothing from
        # the environment may change what it imports.
        command = (python_executable(), "-I", "-S", "-B", str(PRIVROOT_SCRIPT),
                   json.dumps(spec, separators=(",", ":")))
        return LaunchPlan("unshare", command, env, SCRATCH_IN_NAMESPACE, True, visible)
    if launcher != "bwrap":
        raise ValueError(f"unknown launcher {launcher!r}")
    tool = shutil.which("bwrap")
    if tool is None:
        raise FileNotFoundError("bubblewrap (bwrap) is not installed; apt-get install bubblewrap")
    # --as-pid-1: no bwrap init inside the namespace, which would hold the worker's
    # protocol pipes open where a candidate of the same uid could reopen them.
    argv = [tool, "--die-with-parent", "--as-pid-1", "--unshare-net", "--unshare-pid",
            "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try", "--hostname", HOSTNAME]
    if os.geteuid() == 0:
        # Keep only what the worker needs to switch children to the unprivileged
        # uid and to kill them; children lose even these at setuid.
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                 "--cap-add", "CAP_KILL"]
    else:
        # Unprivileged: a user namespace is what lets bwrap create the others; the
        # worker and its children keep the caller's uid, with no capabilities.
        argv += ["--unshare-user"]
    for entry in layout:
        argv += entry.bwrap_args()
    argv += ["--chdir", "/tmp"]
    return LaunchPlan("bwrap", (*argv, "--", *target), env, SCRATCH_IN_NAMESPACE, True, visible)


def private_root_problem(packages: Iterable[str] = ("evaluators",),
                         timeout: float = 30.0) -> str | None:
    """Why neither launcher can build the private root here, or ``None`` when one can.

    Runs ``true`` inside the private root with ``bwrap`` and then ``unshare`` (a
    fraction of a second); for checks before long work, e.g. ``--sandbox strict``.
    Strict mode also needs the other layers, which only a started pool can confirm.

    Parameters
    ----------
    packages
        Harness packages, as for :func:`plan`.
    timeout
        Seconds each attempt may take.
    """
    true = shutil.which("true", path="/usr/bin:/bin")
    if true is None:
        return "no 'true' program in /usr/bin or /bin to test the launchers with"
    failures = []
    with tempfile.TemporaryDirectory(prefix="discover-rootcheck-") as tmp:
        for name in ("bwrap", "unshare"):
            try:
                attempt = plan(name, packages, tmp, command=[true])
                done = subprocess.run(attempt.argv, env=attempt.env, cwd="/", timeout=timeout,
                                      stdin=subprocess.DEVNULL, capture_output=True)
            except (FileNotFoundError, subprocess.TimeoutExpired) as exc:
                failures.append(f"{name}: {exc}")
                continue
            if done.returncode == 0:
                return None
            said = done.stderr.decode(errors="replace").strip().splitlines()
            failures.append(f"{name}: {said[-1] if said else f'exit {done.returncode}'}")
    return "; ".join(failures)


def launcher_override(launcher: str) -> str:
    """``launcher``, or for ``"auto"`` the one forced by ``DISCOVER_SANDBOX_LAUNCHER``.

    The variable lets tests and users run everything with one launcher (e.g.
    ``unshare`` on a machine that has bubblewrap) without changing any code.

    Raises
    ------
    ValueError
        When the variable names no launcher.
    """
    forced = os.environ.get(LAUNCHER_VARIABLE, "").strip()
    if launcher != "auto" or not forced:
        return launcher
    if forced not in LAUNCHERS:
        raise ValueError(f"{LAUNCHER_VARIABLE}={forced!r} is not one of {', '.join(LAUNCHERS)}")
    return forced


def host_files_warning(failures: Iterable[str]) -> str:
    """The warning when candidates run without a private root: what to install, and why."""
    why = "; ".join(failures) or "namespaces not in force"
    return f"candidates can read the host's files (no private root): {INSTALL_HINT}; tried {why}"


def unguarded_refusal(failures: Iterable[str]) -> str:
    """Why ``auto`` refuses to run candidates as the orchestrator's own user without a root."""
    why = "; ".join(failures) or "namespaces not in force"
    return ("no private root for candidates, and they would run as your own user: your files "
            "and your processes (with the API keys in their environment) would be in reach. "
            f"To run them safely, {INSTALL_HINT}, or run as root (children then switch to "
            f"uid 65534); {LAUNCHER_VARIABLE}=plain runs them so anyway. Tried {why}")
