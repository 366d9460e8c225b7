"""Find a problem from the text given to ``--problem``.

A *problem spec* is one of

* a name: a built-in problem (``smtt``, ``jssp``, ``jssp-active``, ``serving``), one
  added with :func:`register`, or one an installed package declares in the
  ``discover.problems`` entry-point group (``flowshop = "flowshop:FlowshopProblem"``);
* ``package.module:factory``: an importable module and a callable in it that
  returns the problem (a class is a callable);
* a path to a ``.py`` file (ending in ``.py``, optionally ``:factory``; the
  default factory is ``problem``): the file is imported as a module, with its
  directory on ``sys.path`` so that its harness package is importable.

The same text resolves the same problem in every process: the orchestrator,
spawned reference workers (:mod:`discover.splits.references`), sandbox workers (through
the harness package, :attr:`evaluators.base.CandidateSpec.harness_package`) and
Dask workers. :func:`spec_of` gives the text to send to them.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from evaluators.base import Problem

ENTRY_POINT_GROUP = "discover.problems"
"""Entry-point group an installed package declares its problems in."""

BUILTIN: dict[str, str] = {
    "smtt": "evaluators.smtt.problem:SmttProblem",
    "jssp": "evaluators.jssp.problem:JsspProblem",
    "jssp-active": "evaluators.jssp.problem:ActiveJsspProblem",
    "serving": "evaluators.serving.problem:ServingProblem",
}
"""The problems shipped with discover, as ``module:factory`` specs."""

_FACTORIES: dict[str, Callable[[], Problem[Any]]] = {}
_SPECS: dict[str, str] = {}
"""Problem name → the spec that resolved it last (what other processes are sent)."""

_DEFAULT_FILE_FACTORY = "problem"


class ProblemNotFound(KeyError):
    """A problem spec that names no problem; the message says why, in one line."""


def register(name: str, factory: Callable[[], Problem[Any]]) -> None:
    """Make ``factory()`` available as problem ``name`` in this process only.

    Other processes (spawned reference workers, Dask workers) cannot see it:
    prefer an entry point or a ``module:factory`` spec for anything they run.
    """
    _FACTORIES[name] = factory


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def problem_names() -> list[str]:
    """Names of all problems found by name: built-in, registered, entry points."""
    return sorted({*BUILTIN, *_FACTORIES, *_entry_points()})


def is_spec_path(spec: str) -> bool:
    """True when ``spec`` names a ``.py`` file (optionally followed by ``:factory``)."""
    head = spec.rsplit(":", 1)[0] if spec.count(":") and not spec.endswith(".py") else spec
    return head.endswith(".py")


def _load_file(spec: str) -> Callable[[], Problem[Any]]:
    path_text, factory = spec, _DEFAULT_FILE_FACTORY
    if not spec.endswith(".py"):
        path_text, factory = spec.rsplit(":", 1)
    path = Path(path_text).expanduser().resolve()
    if not path.is_file():
        raise ProblemNotFound(f"problem file {path_text} does not exist")
    # The file's directory goes on sys.path so that the harness module it names
    # (and the sandbox binds) is importable under the same name everywhere.
    directory = str(path.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    module_name = f"discover_problem_{path.stem}"
    module = sys.modules.get(module_name)
    if module is None or getattr(module, "__file__", None) != str(path):
        loader_spec = importlib.util.spec_from_file_location(module_name, path)
        if loader_spec is None or loader_spec.loader is None:
            raise ProblemNotFound(f"problem file {path_text} cannot be imported")
        module = importlib.util.module_from_spec(loader_spec)
        sys.modules[module_name] = module
        try:
            loader_spec.loader.exec_module(module)
        except Exception as exc:
            del sys.modules[module_name]
            raise ProblemNotFound(f"problem file {path_text}: {type(exc).__name__}: {exc}"
                                  ) from None
    try:
        return getattr(module, factory)
    except AttributeError:
        raise ProblemNotFound(f"problem file {path_text} defines no {factory!r}") from None


def _load_module(spec: str) -> Callable[[], Problem[Any]]:
    module_name, _, attribute = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ProblemNotFound(f"problem module {module_name!r} cannot be imported: {exc}"
                              ) from None
    target: Any = module
    for part in attribute.split("."):
        try:
            target = getattr(target, part)
        except AttributeError:
            raise ProblemNotFound(f"module {module_name!r} has no {attribute!r}") from None
    return target


def _factory(spec: str) -> Callable[[], Problem[Any]]:
    if is_spec_path(spec):
        return _load_file(spec)
    if ":" in spec:
        return _load_module(spec)
    if spec in _FACTORIES:
        return _FACTORIES[spec]
    if spec in BUILTIN:
        return _load_module(BUILTIN[spec])
    found = _entry_points().get(spec)
    if found is not None:
        try:
            return found.load()
        except Exception as exc:
            raise ProblemNotFound(f"problem {spec!r} (entry point {found.value}) cannot be "
                                  f"loaded: {type(exc).__name__}: {exc}") from None
    known = ", ".join(problem_names()) or "none"
    raise ProblemNotFound(f"unknown problem {spec!r} (known: {known}; or give "
                          "package.module:factory or a path to a .py file)")


def get_problem(spec: str) -> Problem[Any]:
    """The problem ``spec`` names (see the module docstring for the forms).

    Raises
    ------
    ProblemNotFound
        (a :class:`KeyError`) with a one-line reason, when ``spec`` names no
        problem or its factory fails.
    """
    factory = _factory(spec)
    try:
        problem = factory()
    except Exception as exc:
        raise ProblemNotFound(f"problem {spec!r}: its factory failed: "
                              f"{type(exc).__name__}: {exc}") from None
    # A file spec travels as an absolute path: other processes may run elsewhere.
    _SPECS[problem.name] = _canonical(spec)
    return problem


def _canonical(spec: str) -> str:
    if not is_spec_path(spec):
        return spec
    if spec.endswith(".py"):
        return str(Path(spec).expanduser().resolve())
    path, factory = spec.rsplit(":", 1)
    return f"{Path(path).expanduser().resolve()}:{factory}"


def spec_of(problem: Problem[Any]) -> str:
    """The spec to send to another process for ``problem`` (its name if none was used)."""
    return _SPECS.get(problem.name, problem.name)


_RESOLVED: dict[str, Problem[Any] | None] = {}


def resolved(name: str) -> Problem[Any] | None:
    """The problem called ``name`` if this process has resolved it (or can by name).

    One instance per name is kept: lookups of bundled sets and prompt templates
    ask often.
    """
    spec = _SPECS.get(name, name)
    if spec not in _RESOLVED:
        try:
            _RESOLVED[spec] = get_problem(spec)
        except ProblemNotFound:
            _RESOLVED[spec] = None
    return _RESOLVED[spec]


def resolved_spec(spec: str) -> Problem[Any]:
    """:func:`get_problem`, one instance per spec and process (worker processes
    solve many references with the same problem)."""
    problem = _RESOLVED.get(spec)
    if problem is None:
        problem = _RESOLVED[spec] = get_problem(spec)
    return problem
