"""Which files of the harness packages a worker needs: the harness modules and what they import.

Under bubblewrap the workers see a private root. The harness packages (e.g.
``evaluators``) also hold the project's own heuristics, exact solvers and
problem code, which a candidate must not be able to import or read (a
candidate that imports the project's best heuristic scores as if it had found
it). So instead of the whole package, the private root holds only this closure:
every ``harness.py`` in the packages, the package modules that they and the
:mod:`sandbox` package import (found statically, including imports inside
functions), and the ``__init__.py`` of every package on the way.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from pathlib import Path

HARNESS_FILE = "harness.py"


def _module_file(root: Path, name: str) -> Path | None:
    """The source file of module ``name`` under the import root ``root``, if any."""
    base = root.joinpath(*name.split("."))
    if (base / "__init__.py").is_file():
        return base / "__init__.py"
    candidate = base.with_suffix(".py")
    return candidate if candidate.is_file() else None


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, name: str) -> set[str]:
    """Modules named by the import statements of ``path`` (module ``name``), absolute."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = ".".join(parts[:len(parts) - node.level + 1])
                module = f"{base}.{node.module}" if node.module else base
            else:
                module = node.module or ""
            found.add(module)
            # ``from pkg import mod`` may name a submodule
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def closure(packages: Iterable[str], roots: dict[str, Path], extra_sources: Iterable[Path] = ()
            ) -> list[Path]:
    """The files of ``packages`` that the workers need.

    Parameters
    ----------
    packages
        Top-level harness package names (``evaluators``).
    roots
        Import root (the directory holding the package) of each package.
    extra_sources
        Other trusted modules whose imports of the packages count too (the
        :mod:`sandbox` package's files).

    Returns
    -------
    list[Path]
        Sorted source files: harness modules, their imports, package ``__init__`` files.
    """
    packages = tuple(packages)
    pending: list[tuple[Path, str]] = []
    for package in packages:
        root = roots[package]
        for path in sorted((root / package).rglob(HARNESS_FILE)):
            pending.append((path, _module_name(root, path)))
    wanted: set[str] = set()
    for source in extra_sources:
        wanted |= _imports(source, source.stem)
    for module in sorted(wanted):
        top = module.partition(".")[0]
        if top in packages:
            found = _module_file(roots[top], module)
            if found is not None:
                pending.append((found, module))
    files: set[Path] = set()
    while pending:
        path, name = pending.pop()
        if path in files:
            continue
        files.add(path)
        parts = name.split(".")
        top = parts[0]
        for k in range(1, len(parts)):  # the packages on the way
            init = _module_file(roots[top], ".".join(parts[:k]))
            if init is not None and init not in files:
                pending.append((init, ".".join(parts[:k])))
        for module in _imports(path, name):
            mtop = module.partition(".")[0]
            if mtop in packages:
                found = _module_file(roots[mtop], module)
                if found is not None and found not in files:
                    pending.append((found, module))
    return sorted(files)
