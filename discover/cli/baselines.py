"""``discover baselines``: classic heuristics against reference values."""

from __future__ import annotations

import click
from rich.markup import escape
from rich.progress import Progress
from rich.table import Table

from discover.cli.common import (
    emit_json,
    err_console,
    fmt,
    generated_instances,
    load_instances,
    out_console,
    plural,
    problem_option,
    resolve_problem,
)
from discover.reporting.baselines import BaselineReport, MethodSummary, run_baselines
from evaluators.base import ReferenceRole


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
@click.option("--generate", "gen_n", type=click.IntRange(min=1), default=None, metavar="N",
              help="Jobs (serving: requests) per generated instance, when no --instances "
                   "[default: the problem's training size: smtt 20, jssp 10, serving 1000, "
                   "where policies differ].")
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
    gen_n: int | None,
    per_class: int,
    seed: int,
    as_json: bool,
) -> None:
    """Score classic heuristics: mean and max gap to the reference, time, ΣH/ΣOPT.

    Gap is 100·(H−OPT)/OPT averaged over instances with OPT > 0 (the seed
    paper's convention). Where the reference is not a proven bound (serving's
    oracle), results are ratios H/ref to the reference score instead. A result
    below an optimum, or a stored value an exact method beats, is flagged; a
    contradicted proven optimum exits with status 1.
    """
    problem = resolve_problem(problem_name)
    if instance_paths:
        instances = load_instances(problem, instance_paths)
        source = reference or "stored"
    else:
        if gen_n is None:
            # The problem's own training size: a 20-request serving window is served
            # without contention, so every policy tied there (all ratios 1).
            gen_n = int(problem.run_defaults.get("evaluation.train_n", 20))
        instances = generated_instances(problem, gen_n, per_class, seed)
        default_exact = problem.reference_methods[0] if problem.reference_methods else "none"
        source = reference or default_exact
        if not as_json:
            err_console.print(
                f"[dim]No --instances: {plural(len(instances), 'generated instance')} "
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
    else:
        _print_report(report)
    if report.contradictions:
        raise click.ClickException(
            f"{plural(report.contradictions, 'claimed proven optimum', 'claimed proven optima')}"
            " contradicted (see the flags)")


def _columns(kind: ReferenceRole) -> tuple[str, ...]:
    if kind is ReferenceRole.SCORE:
        # Not a bound: ratios to the reference score, never a gap to an optimum.
        return ("method", "mean H/ref", "max H/ref", "ΣH/Σref", "mean s", "n")
    return ("method", "mean gap %", "max gap %", "ΣH/ΣOPT", "mean s", "n (gap)")


def _cells(s: MethodSummary) -> list[str]:
    if s.reference_role is ReferenceRole.SCORE:
        return [s.method, fmt(s.mean_ratio, 4), fmt(s.max_ratio, 4), fmt(s.ratio, 4),
                f"{s.mean_seconds:.5f}", str(s.instances)]
    return [s.method, fmt(s.mean_gap), fmt(s.max_gap), fmt(s.ratio, 4),
            f"{s.mean_seconds:.5f}", f"{s.instances} ({s.gap_instances})"]


def _table(title: str, rows: tuple[MethodSummary, ...], kind: ReferenceRole) -> Table:
    table = Table(title=title)
    for col in _columns(kind):
        table.add_column(col, justify="left" if col == "method" else "right")
    for s in rows:
        table.add_row(*_cells(s))
    return table


def _class_table(report: BaselineReport) -> Table:
    """One table for all classes (a class column), not one table per class."""
    table = Table(title="by class")
    table.add_column("class", justify="left")
    for col in _columns(report.reference_role):
        table.add_column(col, justify="left" if col == "method" else "right")
    for label, rows in report.by_class.items():
        for k, s in enumerate(rows):
            table.add_row(label if k == 0 else "", *_cells(s),
                          end_section=k == len(rows) - 1)
    return table


MAX_FLAGS_SHOWN = 20


def _print_report(report: BaselineReport) -> None:
    proven = sum(r.proven for r in report.references)
    count = len(report.references)
    if report.reference_role is ReferenceRole.SCORE:
        title = f"Reference score: {report.reference_source} on {plural(count, 'instance')}"
    else:
        title = f"Reference: {report.reference_source} ({proven}/{count} proven optimal)"
    out_console.print(_table(title, report.summaries, report.reference_role))
    if report.reference_role is ReferenceRole.SCORE:
        out_console.print(f"{report.reference_source} is a reference policy's score, not a bound "
                          "on the best possible: H/ref below 1 beats it.")
    if report.by_class:
        out_console.print(_class_table(report))
    if report.flags:
        out_console.print(
            f"[bold yellow]{plural(len(report.flags), 'reference value')} flagged[/bold yellow]"
            " — a result below an optimum means the reference is not one:")
        for flag in report.flags[:MAX_FLAGS_SHOWN]:
            style = "red" if flag.contradiction else "yellow"
            out_console.print(f"  [{style}]{escape(flag.message())}[/{style}]")
        if len(report.flags) > MAX_FLAGS_SHOWN:
            out_console.print(f"  … and {len(report.flags) - MAX_FLAGS_SHOWN} more (--json "
                              "lists them all)")
