"""Standalone modules for job-shop heuristics: the builder, a ``priority`` rule and helpers.

A job-shop candidate is only a ``priority(...)`` function; on its own it does
not schedule anything. The export contract is therefore a module that holds
the Giffler–Thompson builder (copied verbatim from :mod:`evaluators.jssp.builder`,
standard library only), the rule, and a ``schedule(instance)`` helper — so
the file runs anywhere without discover installed::

    python exported.py ta01js.txt          # prints the makespan
    >>> import exported; exported.schedule({"machines": M, "durations": D})
"""

from __future__ import annotations

import ast
from pathlib import Path

from evaluators.jssp import builder as _builder_module
from evaluators.jssp.builder import VARIANTS

_HELPERS = '''

# ---------------------------------------------------------------------------
# Helpers (the export contract: priority(...) above plus schedule(instance)).
# ---------------------------------------------------------------------------

VARIANT = {variant!r}


def schedule(instance, variant=VARIANT):
    """Start times per job, built by Giffler-Thompson with ``priority``.

    ``instance`` is an object with ``machines`` and ``durations`` attributes, a
    mapping with those keys, or a ``(machines, durations)`` pair, where
    ``machines[j][k]`` / ``durations[j][k]`` are the 0-based machine and the
    processing time of operation k of job j. Returns ``starts`` with
    ``starts[j][k]`` the start time of that operation.
    """
    if isinstance(instance, dict):
        machines, durations = instance["machines"], instance["durations"]
    elif hasattr(instance, "machines"):
        machines, durations = instance.machines, instance.durations
    else:
        machines, durations = instance
    flat = _gt_build(machines, durations, priority, variant)
    n_ops = len(machines[0])
    return [flat[j * n_ops:(j + 1) * n_ops] for j in range(len(machines))]


def read_instance(path):
    """Read the standard format: 'jobs machines', then 'machine duration' pairs, a job a line."""
    rows = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            tokens = line.split("#", 1)[0].split()
            if tokens:
                rows.append([int(x) for x in tokens])
    n_jobs = rows[0][0]
    jobs = rows[1:1 + n_jobs]
    return {{"machines": [r[0::2] for r in jobs], "durations": [r[1::2] for r in jobs]}}


if __name__ == "__main__":
    import sys

    for _path in sys.argv[1:]:
        _inst = read_instance(_path)
        _starts = schedule(_inst)
        _end = max(s + d for row_s, row_d in zip(_starts, _inst["durations"])
                   for s, d in zip(row_s, row_d))
        print(f"{{_path}}: makespan {{_end}}")
'''


def builder_source() -> str:
    """Source text of :mod:`evaluators.jssp.builder`, without its developer notes."""
    return strip_module_docstring(Path(_builder_module.__file__).read_text(encoding="utf-8"))

def strip_module_docstring(source: str) -> str:
    """``source`` without its module docstring.

    The copied modules' docstrings are notes for discover's developers (how the
    code runs in the sandbox, why it imports nothing); an exported file is for
    its users, and its own docstring says what it is.
    """
    tree = ast.parse(source)
    first = tree.body[0] if tree.body else None
    if not (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
            and isinstance(first.value.value, str)):
        return source
    lines = source.splitlines(keepends=True)
    assert first.end_lineno is not None
    return "".join(lines[:first.lineno - 1] + lines[first.end_lineno:]).lstrip("\n")



def standalone_source(priority_code: str, variant: str = "non_delay",
                      title: str = "discovered priority rule") -> str:
    """A runnable module: builder + ``priority_code`` + ``schedule(instance)`` helper.

    Parameters
    ----------
    priority_code
        Source defining ``priority(...)`` (a candidate program or a rule).
    variant
        Builder variant the helper uses by default.
    title
        Shown in the header comment.

    Raises
    ------
    ValueError
        If ``variant`` is unknown or ``priority_code`` does not parse or does
        not define ``priority``.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown builder variant {variant!r} (use {' or '.join(VARIANTS)})")
    tree = ast.parse(priority_code)
    if not any(isinstance(n, ast.FunctionDef) and n.name == "priority" for n in tree.body):
        raise ValueError("code does not define a top-level priority(...) function")
    # A __future__ import must open the file; the builder part already has one.
    lines = [ln for ln in priority_code.splitlines()
             if not ln.lstrip().startswith("from __future__ import")]
    header = (f"# Job-shop heuristic exported by discover: {title}.\n"
              "# Giffler-Thompson builder (standard library only) + priority rule + helpers.\n")
    return (
        header
        + builder_source().rstrip()
        + "\n\n\n_gt_build = build  # kept under a private name in case the rule shadows it\n"
        + "\n# " + "-" * 75 + "\n# The priority rule.\n# " + "-" * 75 + "\n\n"
        + "\n".join(lines).strip() + "\n"
        + _HELPERS.format(variant=variant)
    )
