"""How a worker process is started: the command line, the clean environment, the view of disk.

Three launchers, strongest first:

``bwrap``
    bubblewrap with new network, PID, IPC, UTS (and cgroup) namespaces and a
    private mount namespace whose root holds only what the worker needs,
    read-only: ``/usr`` and the library directories, the Python installation,
    the :mod:`sandbox` package and, of the harness packages, only the harness
    modules and what they import (:mod:`sandbox.harness_files`). No
    home directory, no project checkout beyond those packages, a private
    ``/tmp`` as scratch space. Capabilities are dropped except the three the
    worker needs to switch children to the unprivileged uid and to kill them.
    ``--die-with-parent`` takes the whole namespace down with the orchestrator.
``unshare``
    util-linux ``unshare``: the same namespaces, but the host file system stays
    visible (read access is then limited by the uid and seccomp layers only).
``plain``
    the worker as an ordinary process.

In every case the worker is started by exec with a clean environment built
here from scratch (never a copy of ``os.environ``), so API keys in the
orchestrator's environment are never inherited.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from sandbox import harness_files

SCRATCH_IN_NAMESPACE = "/tmp/scratch"
THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
                    "NUMEXPR_NUM_THREADS", "VECLIB_MAXIMUM_THREADS", "NUMBA_NUM_THREADS")
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime")


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
    """

    launcher: str
    argv: tuple[str, ...]
    env: dict[str, str]
    scratch: str
    private_root: bool

    def __post_init__(self) -> None:
        if self.launcher not in ("bwrap", "unshare", "plain"):
            raise ValueError(f"unknown launcher {self.launcher!r}")
        if not self.argv:
            raise ValueError("argv must not be empty")


def python_executable() -> str:
    """The real interpreter binary (pyenv shims and symlinks resolved)."""
    return os.path.realpath(sys.executable)


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


def python_roots() -> list[Path]:
    """Directories of the interpreter installation and its site-packages."""
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(),
             Path(sys.exec_prefix).resolve(), Path(python_executable()).parent}
    for entry in sys.path:
        path = Path(entry) if entry else None
        if path is not None and path.is_absolute() and path.exists() and "site-packages" in (
                path.parts):
            roots.add(path.resolve())
    return _outermost(roots)


def _outermost(paths: Iterable[Path]) -> list[Path]:
    ordered = sorted(set(paths), key=lambda p: len(p.parts))
    kept: list[Path] = []
    for p in ordered:
        if not any(p == k or k in p.parents for k in kept):
            kept.append(p)
    return kept


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


def plan(launcher: str, packages: Iterable[str], host_scratch: str) -> LaunchPlan:
    """Build the command that starts a worker with ``launcher``.

    Parameters
    ----------
    launcher
        ``"bwrap"``, ``"unshare"`` or ``"plain"``.
    packages
        Top-level packages the worker imports (``sandbox`` and the harness packages).
    host_scratch
        Scratch directory on the host for the launchers without a private ``/tmp``.

    Raises
    ------
    FileNotFoundError
        When the launcher's program is not installed.
    """
    packages = tuple(packages)
    pkg_dirs = package_dirs(["sandbox", *packages])
    import_roots = _outermost(p.parent for p in pkg_dirs)
    env = clean_env(import_roots)
    if launcher == "plain":
        return LaunchPlan("plain", tuple(worker_argv()), env, host_scratch, False)
    if launcher == "unshare":
        tool = shutil.which("unshare")
        if tool is None:
            raise FileNotFoundError("unshare (util-linux) is not installed")
        argv = [tool, "--fork", "--pid", "--mount-proc", "--net", "--ipc", "--uts",
                "--kill-child"]
        if os.geteuid() != 0:
            argv += ["--user", "--map-root-user"]
        return LaunchPlan("unshare", (*argv, "--", *worker_argv()), env, host_scratch, False)
    if launcher != "bwrap":
        raise ValueError(f"unknown launcher {launcher!r}")
    tool = shutil.which("bwrap")
    if tool is None:
        raise FileNotFoundError("bubblewrap (bwrap) is not installed; apt-get install bubblewrap")
    argv = [tool, "--die-with-parent", "--unshare-net", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--unshare-cgroup-try", "--hostname", "sandbox"]
    if os.geteuid() == 0:
        # Keep only what the worker needs to switch children to the unprivileged
        # uid and to kill them; children lose even these at setuid.
        argv += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                 "--cap-add", "CAP_KILL"]
    else:
        # Unprivileged: a user namespace is what lets bwrap create the others; the
        # worker and its children keep the caller's uid, with no capabilities.
        argv += ["--unshare-user"]
    argv += _system_binds()
    # The private /tmp first: code that lives under /tmp (a checkout or a virtual
    # environment there) is then bound on top of it rather than hidden by it.
    argv += ["--dev", "/dev", "--proc", "/proc", "--tmpfs", "/tmp"]
    sandbox_dirs = package_dirs(["sandbox"])
    binds = [p for p in _outermost([*python_roots(), *sandbox_dirs]) if not _under_system(p)]
    argv += _parent_dirs(binds)
    for path in binds:
        argv += ["--ro-bind", str(path), str(path)]
    argv += _harness_binds(tuple(packages), sandbox_dirs)
    argv += ["--perms", "0755", "--dir", SCRATCH_IN_NAMESPACE, "--chdir", "/tmp"]
    return LaunchPlan("bwrap", (*argv, "--", *worker_argv()), env, SCRATCH_IN_NAMESPACE, True)


def _harness_binds(packages: tuple[str, ...], sandbox_dirs: list[Path]) -> list[str]:
    """Only the harness modules' files of ``packages`` (never their heuristics or solvers).

    Each package directory becomes an empty tmpfs (hiding it even where a
    Python root above already showed it), the files of the harness closure
    (:func:`sandbox.harness_files.closure`) are bound into it, and it is made
    read-only again.
    """
    if not packages:
        return []
    dirs = {name: package_dirs([name])[0] for name in packages}
    roots = {name: path.parent for name, path in dirs.items()}
    sources = sorted(p for d in sandbox_dirs for p in d.glob("*.py"))
    files = harness_files.closure(packages, roots, sources)
    args: list[str] = []
    for path in dirs.values():
        args += _parent_dirs([path])
        args += ["--perms", "0755", "--tmpfs", str(path)]
    made: set[Path] = set()
    for file in files:
        for parent in reversed(file.parents):  # world-traversable, like the host's
            if parent not in made and any(d in parent.parents for d in dirs.values()):
                made.add(parent)
                args += ["--perms", "0755", "--dir", str(parent)]
        args += ["--ro-bind", str(file), str(file)]
    for path in dirs.values():
        args += ["--remount-ro", str(path)]
    return args


def _system_binds() -> list[str]:
    args: list[str] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for name in SYSTEM_FILES:
        if Path(name).exists():
            args += ["--ro-bind", name, name]
    return args


def _under_system(path: Path) -> bool:
    return any(path == Path(d) or Path(d) in path.parents for d in SYSTEM_DIRS)


def _parent_dirs(paths: Iterable[Path]) -> list[str]:
    """``--dir`` for every ancestor, world-traversable (the host's may be 0700, e.g. /root)."""
    seen: set[Path] = set()
    args: list[str] = []
    for path in paths:
        for parent in reversed(path.parents):
            if parent == Path("/") or parent in seen or str(parent) in SYSTEM_DIRS:
                continue
            seen.add(parent)
            args += ["--perms", "0755", "--dir", str(parent)]
    return args
