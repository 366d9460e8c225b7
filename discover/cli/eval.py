"""``discover eval``: run one candidate file through the sandbox and score it."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import click
from rich.text import Text

from discover.cli.common import (
    emit_json,
    err_console,
    fmt,
    load_instances,
    out_console,
    plural,
    problem_option,
    resolve_problem,
)
from discover.cli.literal import literal
from evaluators.base import Problem, ReferenceRole, reference_role
from sandbox import (
    CandidateEvaluation,
    OutcomeStatus,
    SandboxError,
    SandboxPool,
    SandboxUnavailable,
    SandboxWarning,
    evaluate,
)
from sandbox.limits import ISOLATION_MODES

# Default bundled set per data package (see `discover datasets`): instances with stored
# reference values, so an evaluation needs no exact solve. Keyed by the problem's
# ``data_package``, so that a problem reading another's sets (``jssp-active`` reads
# jssp's) has that problem's default without an entry of its own.
DEFAULT_SETS: dict[str, str] = {"evaluators.smtt": "smtt:n20_uniform",
                                "evaluators.jssp": "jssp:la",
                                "evaluators.serving": "serving:code-windows"}


def default_instance_set(problem: Problem[Any]) -> str:
    """The bundled set ``discover eval`` uses when no ``--instances`` is given.

    Parameters
    ----------
    problem
        The problem; its ``data_package`` decides the set.

    Returns
    -------
    str
        A bundled set name (``"jssp:la"``).

    Raises
    ------
    click.UsageError
        When the problem's data package has no default set (or it bundles none).
    """
    package = problem.data_package
    name = DEFAULT_SETS.get(package) if package is not None else None
    if name is None:
        raise click.UsageError(f"problem {problem.name!r} has no default instance set; "
                               "pass --instances FILE")
    return name


@click.command(
    "eval",
    epilog="""\b
Examples:
  discover eval --problem smtt my_heuristic.py
  discover eval --problem smtt my_heuristic.py --instances smtt:n100 --json
  discover eval --problem jssp my_rule.py --instances jssp:ta --time-limit 60
  discover eval --problem smtt my_heuristic.py --sandbox strict --time-limit 5
""",
)
@problem_option()
@click.argument("candidate", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--instances", "instance_paths", multiple=True, metavar="FILE|SET",
              help="Instance file, directory or bundled set such as smtt:n100 (repeatable; "
                   "`discover datasets` lists the sets). Default: smtt:n20_uniform (800 "
                   "instances with proven optima), jssp:la (jssp, jssp-active), "
                   "serving:code-windows.")
@click.option("--sandbox", "isolation", type=click.Choice(ISOLATION_MODES), default="auto",
              show_default=True,
              help="Isolation: auto (warn about missing layers), strict (refuse without "
                   "all of them), none (process and limits only; trusted code).")
@click.option("--time-limit", type=float, default=10.0, show_default=True, metavar="S",
              help="Wall-clock limit in seconds for the whole instance set.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def eval_command(problem_name: str, candidate: Path, instance_paths: tuple[str, ...],
                 isolation: str, time_limit: float, as_json: bool) -> None:
    """Run CANDIDATE (a Python file defining the problem's candidate function, for smtt
    `schedule(processing_times, due_dates) -> list[int]`) in the sandbox on a set of
    instances; print the status, the objective summed over the instances, the gap to
    the stored optima (serving: the ratio to the reference score, which is not a
    bound), and the time.

    Exit code 0 only when the candidate produced a valid solution for every instance.
    """
    problem = resolve_problem(problem_name)
    if time_limit <= 0:
        raise click.BadParameter("must be positive", param_hint="--time-limit")
    try:
        code = candidate.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{candidate}: cannot read candidate: {exc}") from None
    paths = list(instance_paths) or [default_instance_set(problem)]
    instances = load_instances(problem, paths)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", SandboxWarning)
            # Not entered as a context manager: the pool starts on first use, so a
            # candidate rejected by the pre-check costs no worker start.
            pool = SandboxPool(workers=1, isolation=isolation,  # type: ignore[arg-type]
                               harness_packages=problem.candidate_spec.sandbox_packages)
            try:
                result = evaluate(problem, instances, code, pool, time_limit)
            finally:
                pool.close()
    except SandboxUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    except SandboxError as exc:
        raise click.ClickException(f"sandbox failure: {exc}") from None
    for warning in caught:
        err_console.print(f"[yellow]warning:[/yellow] {warning.message}")
    if as_json:
        data: dict[str, Any] = {"candidate": str(candidate), "problem": problem.name,
                                "instance_files": paths,
                                "reference_role": reference_role(problem).value,
                                **result.as_dict()}
        if reference_role(problem) is ReferenceRole.SCORE:
            # Ratios to the reference score replace the gap fields (no optimum here).
            del data["mean_gap"], data["total_gap"]
            data["mean_ratio"], data["total_ratio"] = _ratios(result)
        emit_json(data)
    else:
        _print(result, candidate, paths, reference_role(problem))
    if not result.ok:
        raise SystemExit(1)


def _ratios(result: CandidateEvaluation) -> tuple[float | None, float | None]:
    """Mean H/ref over instances with a positive reference, and ΣH/Σref."""
    ratios = [s.objective / s.reference for s in result.scores
              if s.objective is not None and s.reference]
    total, total_ref = result.total_objective, result.total_reference
    return (sum(ratios) / len(ratios) if ratios else None,
            total / total_ref if total_ref and total is not None else None)


def _print(result: CandidateEvaluation, candidate: Path, paths: list[str],
           kind: ReferenceRole = ReferenceRole.OPTIMUM) -> None:
    # Every value is printed literally (no markup, control characters visible): the
    # reason, refusal and traceback quote the candidate, and file names are the user's.
    outcome = result.outcome
    with_ref = sum(s.reference is not None for s in result.scores)
    colour = "green" if result.ok else "red"
    rows: list[tuple[str, str | Text]] = [
        ("candidate", str(candidate)),
        ("instances", f"{len(result.scores)} from {', '.join(paths)}"),
        ("status", literal(result.status.value, style=colour)),
    ]
    if result.ok:
        total_ref = result.total_reference
        rows.append(("objective", f"{result.total_objective:g} (summed over instances)"))
        if kind is ReferenceRole.SCORE:
            # A reference policy's score is no bound: a ratio, never a gap to an optimum.
            mean_ratio, aggregate = _ratios(result)
            rows += [
                ("reference", "—" if total_ref is None else
                 f"{total_ref:g} (reference score, not a bound; {with_ref}/"
                 f"{plural(len(result.scores), 'instance')})"),
                ("ratio", f"mean H/ref {fmt(mean_ratio, 4)}"
                          f"; ΣH/Σref {fmt(aggregate, 4)}"
                          " (below 1 beats the reference)"),
            ]
        else:
            rows += [
                ("reference", "—" if total_ref is None else
                 f"{total_ref:g} (stored, {with_ref}/{plural(len(result.scores), 'instance')})"),
                ("gap", f"mean {fmt(result.mean_gap)} % over instances with OPT > 0; "
                        f"total {fmt(result.total_gap)} %"),
            ]
    else:
        rows.append(("reason", result.message))
        error = outcome.error
        if error is not None and error.refused:
            rows.append(("refused", error.refused))
    if result.status is not OutcomeStatus.PRECHECK_FAILED:
        rows.append(("time", f"{outcome.total_seconds:.3f} s in the sandbox "
                             f"(isolation {outcome.isolation_level})"))
    for key, value in rows:
        out_console.print(Text(f"{key:<10} ").append_text(
            value if isinstance(value, Text) else literal(value)), highlight=False)
    error = outcome.error
    if error is not None and error.traceback:
        out_console.print("traceback (last lines):", highlight=False)
        for line in error.traceback[-8:]:
            out_console.print(Text("  ").append_text(literal(line)), highlight=False)
