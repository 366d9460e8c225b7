"""``discover solve``: exact methods on instance files."""

from __future__ import annotations

import math

import click
from rich.table import Table

from discover.cli.common import (
    emit_json,
    err_console,
    load_instances,
    out_console,
    problem_option,
    resolve_problem,
)


@click.command(
    epilog="""\b
Examples:
  discover solve --problem smtt --instances jobs.txt --method dp
  discover solve --problem smtt --instances smtt:n100 --method exact --json
  discover solve --problem smtt --instances smtt:wt40 --method mip --time-limit 10
  discover solve --problem jssp --instances jssp:ft --method cpsat --time-limit 10
"""
)
@problem_option()
@click.option("--instances", "instance_paths", multiple=True, required=True,
              metavar="FILE|SET",
              help="Instance file, directory or bundled set such as smtt:n100 (repeatable; "
                   "`discover datasets` lists the sets).")
@click.option("--method", required=True, metavar="METHOD", help="Exact method (dp, mip, ...).")
@click.option("--time-limit", type=float, default=None, metavar="S",
              help="Per-instance time limit in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines, one per instance.")
def solve(problem_name: str, instance_paths: tuple[str, ...], method: str,
          time_limit: float | None, as_json: bool) -> None:
    """Solve each instance exactly: status, objective, lower bound, seconds.

    When the file stores an optimum it is shown, and any disagreement with a
    proven optimum is flagged (exit code 1).
    """
    problem = resolve_problem(problem_name)
    if method not in problem.reference_methods:
        raise click.BadParameter(
            f"{method!r} is not one of {', '.join(problem.reference_methods)}",
            param_hint="--method")
    instances = load_instances(problem, instance_paths)
    rows = []
    disagreements = 0
    for k, inst in enumerate(instances):
        try:
            ref = problem.reference(inst, method, time_limit)
        except ValueError as exc:
            raise click.ClickException(f"{inst.name}: {exc}") from None
        stored = problem.stored_reference(inst)
        flag = ""
        if stored is not None and ref.is_optimal and not math.isclose(ref.objective, stored):
            proven_stored = bool(getattr(inst, "optimum_is_proven", False))
            flag = "DISAGREES" if proven_stored else "stored value not optimal"
            disagreements += proven_stored
        row = {"instance": inst.name, "status": ref.status.value, "objective": ref.objective,
               "lower_bound": ref.lower_bound, "seconds": ref.seconds, "nodes": ref.nodes,
               "stored": stored, "flag": flag}
        rows.append(row)
        if as_json:
            emit_json(row)
        else:
            err_console.print(f"[dim]{k + 1}/{len(instances)} {inst.name}: "
                              f"{ref.status.value} {ref.objective:g} ({ref.seconds:.3f}s)[/dim]")
    if not as_json:
        table = Table(title=f"{method} on {len(instances)} instance(s)")
        for col in ("instance", "status", "objective", "lower bound", "seconds", "stored", ""):
            table.add_column(col)
        for r in rows:
            table.add_row(r["instance"], r["status"], f"{r['objective']:g}",
                          f"{r['lower_bound']:g}", f"{r['seconds']:.3f}",
                          "—" if r["stored"] is None else f"{r['stored']:g}", r["flag"])
        out_console.print(table)
    if disagreements:
        raise click.ClickException(f"{disagreements} proven optimum(s) disagree with the file")
