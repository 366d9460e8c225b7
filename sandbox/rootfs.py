"""The private root: the minimal, read-only view of disk a worker gets, as ordered build steps.

One description (:func:`root_layout`) serves both launchers that build a private
root (:mod:`sandbox.launch`): bubblewrap takes it as options
(:meth:`RootEntry.bwrap_args`), :mod:`sandbox.privroot` applies it itself. It
holds the system directories, the dynamic linker's files, the Python
installation, the :mod:`sandbox` package and, of the harness packages, only the
harness modules with what they import.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from sandbox import harness_files

SCRATCH_IN_NAMESPACE = "/tmp/scratch"
SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime")
ROOT_KINDS = ("ro-bind", "symlink", "dir", "dev", "proc", "tmpfs")


@dataclass(frozen=True)
class RootEntry:
    """One step of building the private root, applied in order.

    Parameters
    ----------
    kind
        ``ro-bind`` (host ``source`` read-only at ``dest``), ``symlink`` (``dest``
        points to ``source``), ``dir`` (an empty, world-traversable directory),
        ``dev`` (a minimal ``/dev``), ``proc`` (a ``/proc`` of the new PID
        namespace) or ``tmpfs`` (an empty private file system).
    dest
        Absolute path inside the private root.
    source
        Host path of a bind, target of a symlink; empty otherwise.
    """

    kind: str
    dest: str
    source: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ROOT_KINDS:
            raise ValueError(f"unknown root entry kind {self.kind!r}")
        if not self.dest.startswith("/"):
            raise ValueError(f"root entry destination must be absolute, got {self.dest!r}")
        if (self.kind in ("ro-bind", "symlink")) != bool(self.source):
            raise ValueError(f"{self.kind} entry {self.dest!r}: source is "
                             f"{'required' if self.kind in ('ro-bind', 'symlink') else 'unused'}")

    def bwrap_args(self) -> list[str]:
        """The same step as bubblewrap options."""
        if self.kind == "ro-bind":
            return ["--ro-bind", self.source, self.dest]
        if self.kind == "symlink":
            return ["--symlink", self.source, self.dest]
        if self.kind == "dir":
            return ["--perms", "0755", "--dir", self.dest]
        return [f"--{self.kind}", self.dest]


def python_executable() -> str:
    """The real interpreter binary (pyenv shims and symlinks resolved)."""
    return os.path.realpath(sys.executable)


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


def root_layout(packages: Iterable[Path], harness: Mapping[str, Path] | None = None
                ) -> tuple[RootEntry, ...]:
    """The private root of the ``bwrap`` and ``unshare`` launchers, in build order.

    System directories (symlinks kept as symlinks), the dynamic linker's files,
    a minimal ``/dev``, ``/proc``, a private ``/tmp``, then the Python
    installation and ``packages`` read-only at their host paths (their ancestors
    as empty, world-traversable directories), of the ``harness`` packages only
    the harness modules and what they import (:func:`_harness_entries`), and the
    scratch directory.

    Parameters
    ----------
    packages
        Source directories of the packages the worker imports whole (``sandbox``).
    harness
        Harness packages by name, with their source directories.
    """
    entries: list[RootEntry] = []
    for name in SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            entries.append(RootEntry("symlink", name, os.readlink(path)))
        elif path.is_dir():
            entries.append(RootEntry("ro-bind", name, name))
    for name in SYSTEM_FILES:
        if Path(name).exists():
            entries.append(RootEntry("ro-bind", name, name))
    # The private /tmp first: code that lives under /tmp (a checkout or a virtual
    # environment there) is then bound on top of it rather than hidden by it.
    entries += [RootEntry("dev", "/dev"), RootEntry("proc", "/proc"), RootEntry("tmpfs", "/tmp")]
    binds = [p for p in _outermost([*python_roots(), *packages]) if not _under_system(p)]
    entries += [RootEntry("dir", d) for d in _parent_dirs(binds)]
    entries += [RootEntry("ro-bind", str(p), str(p)) for p in binds]
    if harness:
        entries += _harness_entries(dict(harness), binds, packages)
    entries.append(RootEntry("dir", SCRATCH_IN_NAMESPACE))
    return tuple(entries)


def _harness_entries(harness: dict[str, Path], binds: list[Path], packages: Iterable[Path]
                     ) -> list[RootEntry]:
    """Only the harness modules' files of the harness packages (not heuristics or solvers).

    The packages also hold the project's own heuristics, exact solvers and data; a
    candidate that imported the best heuristic would score as if it had found it.
    Each package directory is created empty (a tmpfs hides it where a Python root
    above already shows it), then the files of the harness closure
    (:func:`sandbox.harness_files.closure`) are bound into it one by one.
    """
    roots = {name: path.parent for name, path in harness.items()}
    sources = sorted(p for d in packages if d.is_dir() for p in d.glob("*.py"))
    files = harness_files.closure(tuple(harness), roots, sources)
    entries: list[RootEntry] = []
    for path in harness.values():
        if any(b == path or b in path.parents for b in binds):
            entries.append(RootEntry("tmpfs", str(path)))
        else:
            entries += [RootEntry("dir", d) for d in _parent_dirs([path])]
            entries.append(RootEntry("dir", str(path)))
    made: set[Path] = set(harness.values())
    for file in files:
        for parent in reversed(file.parents):  # world-traversable, like the host's
            if parent not in made and any(d in parent.parents for d in harness.values()):
                made.add(parent)
                entries.append(RootEntry("dir", str(parent)))
        entries.append(RootEntry("ro-bind", str(file), str(file)))
    return entries


def visible_names(layout: Iterable[RootEntry]) -> frozenset[str]:
    """Top-level names of the private root built from ``layout``."""
    return frozenset(Path(e.dest).parts[1] for e in layout if e.dest != "/")


def _under_system(path: Path) -> bool:
    return any(path == Path(d) or Path(d) in path.parents for d in SYSTEM_DIRS)


def _parent_dirs(paths: Iterable[Path]) -> list[str]:
    """Every ancestor, made world-traversable (the host's may be 0700, e.g. /root)."""
    seen: set[Path] = set()
    dirs: list[str] = []
    for path in paths:
        for parent in reversed(path.parents):
            if parent == Path("/") or parent in seen or str(parent) in SYSTEM_DIRS:
                continue
            seen.add(parent)
            dirs.append(str(parent))
    return dirs
