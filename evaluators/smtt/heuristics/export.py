"""Standalone source of a classic baseline, honouring the candidate contract.

:func:`baseline_source` assembles a module that defines
``schedule(processing_times, due_dates) -> list[int]`` from the very
functions the in-package heuristic runs: the source of the core rule and of
every improver is copied with :func:`inspect.getsource`, together with every
module-level function they reach through global names (found by walking the
bytecode, nested code objects included). Global names that are modules or
objects of the standard library or numpy become import lines; anything else
(a project import, a mutable global) is refused with :class:`ExportError`, so
an export can never silently depend on this project.
"""

from __future__ import annotations

import builtins
import dis
import inspect
import sys
import types
from collections.abc import Callable, Iterator
from typing import Any

from evaluators.smtt.heuristics.catalog import Baseline, get_baseline

# Packages whose objects an exported module may import (besides the stdlib).
_THIRD_PARTY = frozenset({"numpy"})
# Modules whose functions are copied into exports (the stdlib + numpy cores).
CORE_MODULES = (
    "evaluators.smtt.heuristics.sorting",
    "evaluators.smtt.heuristics.dispatch",
    "evaluators.smtt.heuristics.constructive",
    "evaluators.smtt.heuristics.augment",
    "evaluators.smtt.heuristics.local_moves",
)


class ExportError(RuntimeError):
    """A core function depends on something that cannot be exported."""


def baseline_source(name: str) -> str:
    """Source of a standalone module running baseline ``name``.

    The module imports only the standard library and numpy and defines
    ``schedule(processing_times, due_dates) -> list[int]`` (a 0-based job
    order, unit weights).

    Parameters
    ----------
    name
        A key of :data:`evaluators.smtt.heuristics.catalog.BASELINES`.

    Raises
    ------
    KeyError
        Naming the known baselines, when ``name`` is unknown.
    """
    baseline = get_baseline(name)
    entry = [baseline.rule, *baseline.improvers]
    functions, imports = _closure(entry)
    parts = [_module_docstring(baseline), "from __future__ import annotations", ""]
    parts.append("from collections.abc import Sequence")
    parts.extend(sorted(imports))
    for function in functions:
        parts.append("")
        parts.append("")
        parts.append(inspect.getsource(function).rstrip())
    parts.append("")
    parts.append("")
    parts.append(_schedule_source(baseline))
    return "\n".join(parts) + "\n"


def _module_docstring(baseline: Baseline) -> str:
    ref = f"\nReference: {baseline.reference}." if baseline.reference else ""
    return (
        f'"""SMTT baseline {baseline.name!r}: {baseline.summary}\n'
        f"{ref}\n\n"
        "Exported by discover from evaluators.smtt.heuristics (the functions below are\n"
        "the library's own implementation, copied verbatim). Standard library and numpy\n"
        "only. Entry point: schedule(processing_times, due_dates) -> list[int], a 0-based\n"
        'job order minimising total tardiness (unit weights).\n"""'
    )


def _schedule_source(baseline: Baseline) -> str:
    args = ["processing_times", "due_dates"] + [f"{k}={v!r}" for k, v in baseline.params]
    lines = [
        "def schedule(processing_times: Sequence[int], due_dates: Sequence[int]) -> list[int]:",
        f'    """{baseline.summary}',
        "",
        "    Returns a permutation of range(len(processing_times)): the processing order.",
        '    """',
        f"    order = {baseline.rule.__name__}({', '.join(args)})",
    ]
    for improver in baseline.improvers:
        lines.append(f"    order = {improver.__name__}(order, processing_times, due_dates)")
    lines.append("    return [int(j) for j in order]")
    return "\n".join(lines)


def _closure(entry: list[Callable[..., Any]]) -> tuple[list[types.FunctionType], set[str]]:
    """Core functions reachable from ``entry`` (in discovery order) and import lines."""
    functions: list[types.FunctionType] = []
    imports: set[str] = set()
    pending = list(entry)
    while pending:
        function = pending.pop(0)
        if not isinstance(function, types.FunctionType):
            raise ExportError(f"{function!r} is not a plain function")
        if function.__module__ not in CORE_MODULES:
            raise ExportError(
                f"{function.__qualname__} lives in {function.__module__}, not a core module"
            )
        if function in functions:
            continue
        functions.append(function)
        for name in sorted(set(_global_names(function.__code__))):
            if name in function.__globals__:
                value = function.__globals__[name]
            elif hasattr(builtins, name):
                continue
            else:
                raise ExportError(f"{function.__qualname__} uses undefined global {name!r}")
            if isinstance(value, types.FunctionType) and value.__module__ in CORE_MODULES:
                pending.append(value)
            else:
                imports.add(_import_line(function, name, value))
    return functions, imports


def _global_names(code: types.CodeType) -> Iterator[str]:
    for instruction in dis.get_instructions(code):
        if instruction.opname in ("LOAD_GLOBAL", "LOAD_NAME"):
            yield str(instruction.argval)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _global_names(const)


def _import_line(function: types.FunctionType, name: str, value: object) -> str:
    where = f"{function.__qualname__} uses global {name!r}"
    if isinstance(value, types.ModuleType):
        _check_importable(value.__name__, where)
        if value.__name__ == name:
            return f"import {name}"
        return f"import {value.__name__} as {name}"
    owner = getattr(value, "__module__", None)
    if not isinstance(owner, str) or getattr(value, "__name__", None) != name:
        raise ExportError(f"{where}, which is not an importable module-level object")
    _check_importable(owner, where)
    return f"from {owner} import {name}"


def _check_importable(module: str, where: str) -> None:
    top = module.split(".")[0]
    if top not in sys.stdlib_module_names and top not in _THIRD_PARTY:
        raise ExportError(f"{where} from {module!r}, outside the standard library and numpy")
