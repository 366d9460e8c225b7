"""Registry of problems by name; adding a problem means adding one entry here."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from evaluators.base import Problem

_FACTORIES: dict[str, Callable[[], Problem[Any]]] = {}


def register(name: str, factory: Callable[[], Problem[Any]]) -> None:
    """Make ``factory()`` available as problem ``name``."""
    _FACTORIES[name] = factory


def problem_names() -> list[str]:
    """Names of all registered problems."""
    _load_builtin()
    return sorted(_FACTORIES)


def get_problem(name: str) -> Problem[Any]:
    """Instantiate the problem called ``name``.

    Raises
    ------
    KeyError
        With the list of known problems, when ``name`` is not registered.
    """
    _load_builtin()
    try:
        factory = _FACTORIES[name]
    except KeyError:
        known = ", ".join(sorted(_FACTORIES)) or "none"
        raise KeyError(f"unknown problem {name!r} (known: {known})") from None
    return factory()


def _load_builtin() -> None:
    if "smtt" not in _FACTORIES:
        from evaluators.smtt.problem import SmttProblem

        register("smtt", SmttProblem)
    if "jssp" not in _FACTORIES:
        from evaluators.jssp.problem import JsspProblem

        register("jssp", JsspProblem)
    if "serving" not in _FACTORIES:
        from evaluators.serving.problem import ServingProblem

        register("serving", ServingProblem)
