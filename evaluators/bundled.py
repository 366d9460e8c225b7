"""Benchmark sets shipped inside the package, addressed as ``PROBLEM:SET``.

Each problem package declares its bundled sets in its own ``bundled`` module
(``evaluators/smtt/bundled.py`` ...) as a tuple ``SETS`` of :class:`BundledSet`;
the files live under the package's ``data/`` directory and are found through
:mod:`importlib.resources`, so an installed wheel finds them as well as a checkout.

A set name such as ``smtt:n100`` or ``jssp:taillard`` is accepted wherever an
instance file is (``--instances``, the ``validation`` list of a run
configuration, a serving workload's ``trace``, a scenario's ``cost``):
:func:`expand` turns it into its file(s) and leaves any other text as a path.
``discover datasets`` lists them.
"""

from __future__ import annotations

import atexit
import contextlib
import enum
import importlib
import importlib.resources
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from evaluators.base import InstanceError

PROBLEM_PACKAGES: dict[str, str] = {
    "smtt": "evaluators.smtt",
    "jssp": "evaluators.jssp",
    "serving": "evaluators.serving",
}
"""Built-in problem name → package holding a ``bundled`` module and a ``data/`` directory.

Other problems declare theirs as :attr:`evaluators.base.Problem.data_package`;
:func:`package_of` finds either. A problem whose ``data_package`` is another's
(``jssp-active`` and ``jssp``) uses that problem's sets under their own names
(``jssp:ta``), owns none and is not listed twice.
"""


def package_of(problem: str) -> str | None:
    """The package holding ``problem``'s bundled sets, or None (no such problem or none).

    Built-in problems are answered without importing them; any other name is
    resolved through :mod:`evaluators.registry` (entry points included).
    """
    if problem in PROBLEM_PACKAGES:
        return PROBLEM_PACKAGES[problem]
    from evaluators.registry import resolved

    found = resolved(problem)
    return None if found is None else found.data_package


def known_problems() -> list[str]:
    """Names of every problem found by name that bundles data."""
    from evaluators.registry import problem_names

    return [name for name in problem_names() if package_of(name) is not None]

_NAME = re.compile(r"^([a-z][a-z0-9_]*):([A-Za-z0-9][A-Za-z0-9_.-]*)$")


class ReferenceKind(enum.Enum):
    """What the reference values shipped with a set are."""

    PROVEN_OPTIMUM = "proven optimum"
    BEST_KNOWN = "best known"
    PUBLISHED = "published, not optimal"
    COMPUTED = "computed on load"
    NONE = "none"


@dataclass(frozen=True)
class BundledSet:
    """One named set of bundled files.

    Parameters
    ----------
    problem
        The problem it belongs to (``"smtt"``).
    name
        Its short name; the full name is ``problem:name``.
    files
        Paths relative to the problem package's ``data/`` directory: one file,
        one directory (loaded recursively), or several files in order.
    description
        One line: what it is and where it comes from.
    count
        How many ``unit`` it holds (checked against the files by the tests).
    reference
        What its reference values are.
    unit
        What ``count`` counts (``"instances"``, ``"requests"``, ``"windows"`` ...).
    """

    problem: str
    name: str
    files: tuple[str, ...]
    description: str
    count: int
    reference: ReferenceKind
    unit: str = "instances"

    def __post_init__(self) -> None:
        if not _NAME.match(self.full_name):
            raise ValueError(f"bad set name {self.full_name!r}")
        if not self.files or any(f.startswith("/") or ".." in f for f in self.files):
            raise ValueError(f"{self.full_name}: files must be relative paths inside data/")
        if self.count < 0:
            raise ValueError(f"{self.full_name}: count must be >= 0")
        if not isinstance(self.reference, ReferenceKind):
            raise TypeError(f"{self.full_name}: reference must be a ReferenceKind")

    @property
    def full_name(self) -> str:
        """``problem:name``, the form accepted on the command line."""
        return f"{self.problem}:{self.name}"

    def paths(self) -> tuple[Path, ...]:
        """The set's files (or directory) on disk."""
        root = data_dir(self.problem)
        return tuple(root / f for f in self.files)

    def as_dict(self) -> dict[str, object]:
        """JSON form for ``discover datasets --json``."""
        return {"name": self.full_name, "problem": self.problem, "count": self.count,
                "unit": self.unit, "reference": self.reference.value,
                "description": self.description,
                "files": [str(p) for p in self.paths()]}


class UnknownDataset(InstanceError):
    """A ``PROBLEM:SET`` name that no problem package declares."""


_KEEP = contextlib.ExitStack()
atexit.register(_KEEP.close)
_DATA_DIRS: dict[str, Path] = {}


def data_dir(problem: str) -> Path:
    """The ``data/`` directory of a problem package, as a real directory.

    Installed packages (wheel or checkout) are plain directories; from a zip
    import the directory is extracted once and kept until the process exits.
    """
    if problem not in _DATA_DIRS:
        package = package_of(problem)
        if package is None:
            raise KeyError(f"unknown problem {problem!r} (or it bundles no data)")
        resource = importlib.resources.files(package) / "data"
        _DATA_DIRS[problem] = _KEEP.enter_context(importlib.resources.as_file(resource))
    return _DATA_DIRS[problem]


def bundled_sets(problem: str | None = None) -> tuple[BundledSet, ...]:
    """Every bundled set, or those of one problem, in declaration order.

    A problem that shares another's data package (``jssp-active``) has that
    problem's sets; listed over all problems, each package's sets appear once.
    """
    problems = known_problems() if problem is None else [problem]
    out: list[BundledSet] = []
    seen: set[str] = set()
    for name in problems:
        package = package_of(name)
        if package is None:
            raise KeyError(f"unknown problem {name!r} or it bundles no data "
                           f"(known: {', '.join(known_problems())})")
        if package in seen:
            continue
        seen.add(package)
        module = importlib.import_module(f"{package}.bundled")
        out.extend(module.SETS)
    return tuple(out)


def is_set_name(text: str | Path) -> bool:
    """True when ``text`` has the form ``PROBLEM:SET`` for a known problem.

    Paths never take this form by accident: a known problem name followed by a
    colon and no slash (``C:\\...`` and ``./smtt:x`` are paths).
    """
    if isinstance(text, Path):
        return False
    match = _NAME.match(text)
    return match is not None and package_of(match.group(1)) is not None


def find_set(name: str, problem: str | None = None) -> BundledSet:
    """The bundled set called ``name`` (``"smtt:n100"``).

    Parameters
    ----------
    problem
        When given, a set of another problem is an error too, unless that problem
        shares ``problem``'s data package (``jssp-active`` loads ``jssp:ta``).

    Raises
    ------
    UnknownDataset
        Naming the known sets of that problem.
    """
    match = _NAME.match(name)
    owner = match.group(1) if match else ""
    if not owner or package_of(owner) is None:
        raise UnknownDataset(name, "not a bundled set name (PROBLEM:SET, see `discover "
                                   "datasets`)")
    if problem is not None and owner != problem and package_of(owner) != package_of(problem):
        raise UnknownDataset(name, f"a {owner} set, not a {problem} one (see `discover "
                                   f"datasets --problem {problem}`)")
    sets = bundled_sets(owner)
    for candidate in sets:
        if candidate.full_name == name:
            return candidate
    known = ", ".join(s.full_name for s in sets)
    raise UnknownDataset(name, f"no such bundled set (known: {known})")


def expand(text: str | Path, problem: str | None = None) -> tuple[Path, ...]:
    """The file(s) behind a set name, or ``(Path(text),)`` for anything else."""
    if is_set_name(text):
        return find_set(str(text), problem).paths()
    return (Path(text),)


def expand_all(texts: Iterable[str | Path], problem: str | None = None) -> list[Path]:
    """:func:`expand` over several entries, in order."""
    return [path for text in texts for path in expand(text, problem)]


def resolve_file(text: str | Path, problem: str | None = None) -> Path:
    """One file: a set name of a single-file set, or ``text`` as a path.

    Raises
    ------
    UnknownDataset
        For an unknown name or a set of several files.
    """
    if not is_set_name(text):
        return Path(text)
    paths = find_set(str(text), problem).paths()
    if len(paths) != 1 or paths[0].is_dir():
        raise UnknownDataset(str(text), "names several files; give a single-file set here")
    return paths[0]


def bundled_equivalent(path: str | Path) -> Path | None:
    """The bundled copy of a benchmark file named by an old, outside path, if any.

    Matched on the last two path components (``cetinkaya2025/n100.json``,
    ``Taillard1993/ta51js.txt``), so configurations archived before the data
    was bundled (absolute or ``..``-relative paths to the same files) still
    find their validation files when a run is resumed.
    """
    tail = Path(path).parts[-2:]
    if len(tail) < 2:
        return None
    for problem in PROBLEM_PACKAGES:
        candidate = data_dir(problem).joinpath(*tail)
        if candidate.is_file():
            return candidate
        for found in data_dir(problem).rglob(tail[-1]):
            if found.parent.name == tail[0] and found.is_file():
                return found
    return None


def bundled_file(name: str) -> Path:
    """The single file of set ``name``; for scripts and tests that read it directly."""
    return resolve_file(name)
