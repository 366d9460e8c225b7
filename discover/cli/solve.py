"""``discover solve``: exact methods (serving: reference policies) on instance files."""

from __future__ import annotations

import math

import click
from rich.markup import escape
from rich.table import Table

from discover.cli.common import (
    emit_json_line,
    err_console,
    load_instances,
    out_console,
    plural,
    problem_option,
    resolve_problem,
)
from evaluators.base import ReferenceRole, reference_role


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
@click.option("--method", required=True, metavar="METHOD",
              help="Exact method (smtt: dp, mip, cpsat, exact; jssp: cpsat) or reference "
                   "policy (serving: oracle, best_known).")
@click.option("--time-limit", type=float, default=None, metavar="S",
              help="Per-instance time limit in seconds.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON lines, one per instance.")
def solve(problem_name: str, instance_paths: tuple[str, ...], method: str,
          time_limit: float | None, as_json: bool) -> None:
    """Exact solutions (serving: a reference policy's score): status, objective, bound, time.

    When the file stores an optimum it is shown, and any disagreement with a
    proven optimum is flagged (exit code 1). For serving there is no exact
    method: the "reference score" is what a reference policy (the oracle, which
    knows the output lengths) achieves, not a bound — other policies may beat it.
    """
    problem = resolve_problem(problem_name)
    if method not in problem.reference_methods:
        raise click.BadParameter(
            f"{method!r} is not one of {', '.join(problem.reference_methods)}",
            param_hint="--method")
    instances = load_instances(problem, instance_paths)
    score = reference_role(problem) is ReferenceRole.SCORE
    rows = []
    disagreements = 0
    for k, inst in enumerate(instances):
        try:
            ref = problem.reference(inst, method, time_limit)
        except ValueError as exc:
            raise click.ClickException(f"{inst.name}: {exc}") from None
        stored = problem.stored_reference(inst)
        flag = ""
        proven_stored = bool(getattr(inst, "optimum_is_proven", False))
        if score or stored is None:
            pass  # a reference score is there to be beaten; nothing to compare
        elif ref.is_optimal and not math.isclose(ref.objective, stored):
            flag = "DISAGREES" if proven_stored else "stored value not optimal"
            disagreements += proven_stored
        elif math.isfinite(ref.objective) and ref.objective < stored - 1e-9 * max(1.0, stored):
            # Not proven optimal, yet better than the file's value (cpsat 8522 < 8544).
            flag = "DISAGREES" if proven_stored else "beats the stored value"
            disagreements += proven_stored
        row = {"instance": inst.name, "status": ref.status.value,
               "reference_role": reference_role(problem).value, "objective": ref.objective,
               "lower_bound": ref.lower_bound, "seconds": ref.seconds, "nodes": ref.nodes,
               "stored": stored, "flag": flag}
        rows.append(row)
        if as_json:
            emit_json_line(row)
        else:
            err_console.print(f"[dim]{k + 1}/{len(instances)} {escape(inst.name)}: "
                              f"{ref.status.value} {ref.objective:g} ({ref.seconds:.3f}s)[/dim]")
    if not as_json:
        what = "reference score" if score else "objective"
        table = Table(title=f"{method} on {plural(len(instances), 'instance')}")
        for col in ("instance", "status", what, "lower bound", "seconds",
                    "stored reference" if score else "stored", ""):
            table.add_column(col)
        for r in rows:
            table.add_row(r["instance"], r["status"], f"{r['objective']:g}",
                          f"{r['lower_bound']:g}", f"{r['seconds']:.3f}",
                          "—" if r["stored"] is None else f"{r['stored']:g}", r["flag"])
        out_console.print(table)
        if score:
            out_console.print(f"{method} is a reference policy's score, not a bound on the best "
                              "possible: other policies may score below it. The lower bound "
                              "serves each request alone.")
    if disagreements:
        raise click.ClickException(
            f"{plural(disagreements, 'proven optimum disagrees', 'proven optima disagree')} "
            "with the file")
