"""``discover datasets``: the benchmark sets shipped with the package."""

from __future__ import annotations

import click
from rich.table import Table

from discover.cli.common import emit_json, out_console, resolve_problem
from evaluators.bundled import bundled_sets


@click.command(
    epilog="""\b
Examples:
  discover datasets
  discover datasets --problem jssp
  discover datasets --json
  discover baselines --problem smtt --instances smtt:n100   # a set by name
"""
)
@click.option("--problem", "problem_name", default=None,
              help="Only the sets of this problem (a name, module:factory or file.py).")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON list (name, problem, count, unit, reference, description, "
                   "files).")
def datasets(problem_name: str | None, as_json: bool) -> None:
    """List the bundled benchmark sets.

    Each is named PROBLEM:SET and accepted wherever an instance file is: --instances of
    eval, baselines and solve, the validation list of a run configuration, a serving
    workload's trace and a scenario's cost. Reference is what the stored values are:
    a proven optimum, a best-known bound, computed on load, or none.
    """
    if problem_name is not None:
        problem_name = resolve_problem(problem_name).name
    try:
        sets = bundled_sets(problem_name)
    except KeyError as exc:
        raise click.BadParameter(str(exc.args[0]), param_hint="--problem") from None
    if as_json:
        emit_json([s.as_dict() for s in sets])
        return
    table = Table(title="Bundled sets (use the name wherever a file is accepted)")
    # The name carries the problem (PROBLEM:SET), so no column repeats it.
    table.add_column("name", no_wrap=True)
    table.add_column("size", justify="right", no_wrap=True)
    table.add_column("reference", max_width=14)
    table.add_column("description")
    for s in sets:
        table.add_row(s.full_name, f"{s.count} {s.unit}", s.reference.value, s.description)
    out_console.print(table)
