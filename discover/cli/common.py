"""Options and helpers shared by several commands."""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Sequence
from typing import Any

import click
import numpy as np

from discover.reporting.consoles import OutputConsole
from evaluators.base import GeneratorSpec, InstanceError, Problem
from evaluators.registry import get_problem, problem_names

# Diagnostics go to stderr so that --json output on stdout stays parseable. Neither
# wraps nor truncates when redirected to a file or pipe (see discover.reporting.consoles).
err_console = OutputConsole(stderr=True)
out_console = OutputConsole()


def problem_option(default: str | None = "smtt") -> Any:
    """``--problem NAME`` with the registered names listed in help."""
    return click.option(
        "--problem",
        "problem_name",
        default=default,
        show_default=True,
        help=f"Problem to work on: {', '.join(problem_names())}, an installed plugin's "
             "name, package.module:factory, or path/to/problem.py.",
    )


def resolve_problem(name: str) -> Problem[Any]:
    """Look up a problem, turning an unknown name into a usage error."""
    try:
        return get_problem(name)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--problem") from None


def load_instances(problem: Problem[Any], paths: Sequence[str]) -> list[Any]:
    """Load instances from every path or bundled set name (``smtt:n100``), reporting bad
    files and unknown names without a traceback."""
    instances: list[Any] = []
    for raw in paths:
        try:
            # A string, not a Path: problems resolve bundled set names themselves.
            instances.extend(problem.load(raw))
        except InstanceError as exc:
            raise click.ClickException(str(exc)) from None
        except OSError as exc:
            raise click.ClickException(f"{raw}: {exc.strerror or exc}") from None
    if not instances:
        raise click.ClickException("no instances loaded")
    return instances


def generated_instances(problem: Problem[Any], n: int, per_class: int, seed: int) -> list[Any]:
    """A seeded random instance set (per-class count where the problem has classes)."""
    rng = np.random.default_rng(seed)
    return problem.generate(GeneratorSpec(n=n, count=per_class), rng)


def emit_json(data: Any) -> None:
    """Write ``data`` as JSON on stdout."""
    json.dump(data, sys.stdout, indent=2, default=_json_default)
    sys.stdout.write("\n")


def emit_json_line(data: Any) -> None:
    """Write ``data`` as one line of JSON on stdout (for JSON-lines output).

    Non-finite numbers (an objective of ``inf`` when a solver found nothing) become
    ``null``: ``Infinity`` is not JSON and strict parsers reject the line.
    """
    sys.stdout.write(json.dumps(_finite(data), default=_json_default, allow_nan=False) + "\n")
    sys.stdout.flush()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if hasattr(value, "value"):
        return value.value
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 instance"``, ``"2 instances"``."""
    return f"{count} {singular if count == 1 else (plural_form or singular + 's')}"


def fmt(value: float | None, digits: int = 2) -> str:
    """Format a number for tables; ``None`` as an em dash."""
    if value is None:
        return "—"
    return f"{value:.{digits}f}"
