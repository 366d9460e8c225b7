"""``discover baselines``: classic heuristics against reference values."""

from __future__ import annotations

import click
from rich.progress import Progress
from rich.table import Table

from discover.baseline_scores import BaselineReport, MethodSummary, run_baselines
from discover.cli.common import (
    emit_json,
    err_console,
    fmt,
    generated_instances,
    load_instances,
    out_console,
    problem_option,
    resolve_problem,
)


@click.command(
    epilog="""\b
Examples:
  discover baselines --problem smtt
  discover baselines --problem smtt --instances smtt:n20_uniform --by-class
  discover baselines --problem smtt --instances smtt:n100 --methods mdd,mddc --json
  discover baselines --problem smtt --instances smtt:wt40 --exact stored
  discover baselines --problem jssp --instances jssp:ta
  discover baselines --problem serving --instances serving:code-windows
"""
)
@problem_option()
@click.option("--instances", "instance_paths", multiple=True, metavar="FILE|SET",
              help="Instance file, directory or bundled set such as smtt:n100 (repeatable; "
                   "`discover datasets` lists the sets). Default: a generated set.")
@click.option("--methods", default=None, metavar="A,B,...",
              help="Comma-separated heuristics (default: all).")
@click.option("--exact", "reference", default=None, metavar="METHOD",
              help="Reference values: stored, none, or an exact method (dp, mip, cpsat, ...). "
                   "Default: stored for files, dp for generated instances.")
@click.option("--time-limit", type=float, default=None, metavar="S",
              help="Per-instance time limit for exact references.")
@click.option("--by-class", is_flag=True, help="Break results down by instance class.")
@click.option("--generate", "gen_n", type=int, default=20, show_default=True, metavar="N",
              help="Jobs per generated instance (when no --instances).")
@click.option("--per-class", type=int, default=1, show_default=True,
              help="Generated instances per class (when no --instances).")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for generated sets.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def baselines(
    problem_name: str,
    instance_paths: tuple[str, ...],
    methods: str | None,
    reference: str | None,
    time_limit: float | None,
    by_class: bool,
    gen_n: int,
    per_class: int,
    seed: int,
    as_json: bool,
) -> None:
    """Score classic heuristics: mean and max gap to the reference, time, ΣH/ΣOPT.

    Gap is 100·(H−OPT)/OPT averaged over instances with OPT > 0 (the seed
    paper's convention).
    """
    problem = resolve_problem(problem_name)
    if instance_paths:
        instances = load_instances(problem, instance_paths)
        source = reference or "stored"
    else:
        instances = generated_instances(problem, gen_n, per_class, seed)
        default_exact = problem.reference_methods[0] if problem.reference_methods else "none"
        source = reference or default_exact
        if not as_json:
            err_console.print(
                f"[dim]No --instances: {len(instances)} generated instances "
                f"(n={gen_n}, seed={seed}), reference {source}.[/dim]"
            )
    names = [m.strip() for m in methods.split(",") if m.strip()] if methods else None
    with Progress(console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("working", total=None)

        def progress(stage: str, done: int, total: int) -> None:
            bar.update(task, description=stage, completed=done, total=total)

        try:
            report = run_baselines(problem, instances, names, reference=source,
                                   time_limit=time_limit, by_class=by_class, progress=progress)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
    if as_json:
        emit_json(report.as_dict())
        return
    _print_report(report)


def _table(title: str, rows: tuple[MethodSummary, ...]) -> Table:
    table = Table(title=title)
    for col in ("method", "mean gap %", "max gap %", "ΣH/ΣOPT", "mean s", "n (gap)"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for s in rows:
        table.add_row(s.method, fmt(s.mean_gap), fmt(s.max_gap), fmt(s.ratio, 4),
                      f"{s.mean_seconds:.5f}", f"{s.instances} ({s.gap_instances})")
    return table


def _print_report(report: BaselineReport) -> None:
    proven = sum(r.proven for r in report.references)
    out_console.print(_table(
        f"Reference: {report.reference_source} ({proven}/{len(report.references)} proven optimal)",
        report.summaries,
    ))
    for label, rows in report.by_class.items():
        out_console.print(_table(label, rows))
