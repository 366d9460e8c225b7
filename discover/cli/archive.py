"""``discover archive``: browse runs, programs, lineage, best programs and diffs."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from archive import (
    Archive,
    ArchiveError,
    Lineage,
    ProgramDetail,
    RankedProgram,
    RunSummary,
    Split,
    to_jsonable,
)
from discover.cli.common import emit_json, err_console, fmt, out_console
from discover.cli.literal import literal
from discover.exporting.target import ExportTarget
from sandbox.text import visible

_RUN = re.compile(r"^(?:r|run[:#-]?)(\d+)$", re.IGNORECASE)
_PROGRAM = re.compile(r"^(?:p|program[:#-]?)?(\d+)$", re.IGNORECASE)


def parse_run_id(text: str) -> int:
    """``3``, ``r3`` or ``run:3`` → 3."""
    match = _RUN.match(text.strip()) or re.match(r"^(\d+)$", text.strip())
    if not match:
        raise click.BadParameter(f"{text!r} is not a run id (e.g. 3 or r3)")
    return int(match.group(1))


def parse_program_id(text: str) -> int:
    """``12`` or ``p12`` → 12."""
    match = _PROGRAM.match(text.strip())
    if not match:
        raise click.BadParameter(f"{text!r} is not a program id (e.g. 12 or p12)")
    return int(match.group(1))


def parse_target(text: str) -> tuple[str, int]:
    """``r3``/``run:3`` → ("run", 3); ``12``/``p12`` → ("program", 12).

    The same meaning as :class:`discover.exporting.target.ExportTarget`.
    """
    try:
        target = ExportTarget.parse(text)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None
    return target.kind.value, target.id


def archive_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--archive URL`` (default ``runs/discover.sqlite`` under the working directory)."""
    return click.option(
        "--archive", "archive_url", metavar="URL", default=None,
        help="SQLAlchemy URL or SQLite file of the archive [default: runs/discover.sqlite].",
    )(function)


def json_option(function: Callable[..., Any]) -> Callable[..., Any]:
    """``--json``: machine-readable output on stdout."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")(
        function)


@contextmanager
def open_archive(url: str | None) -> Iterator[Archive]:
    """Open an existing archive, turning archive errors into clean CLI errors."""
    try:
        archive = Archive.open(url, create=False)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        yield archive
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        archive.close()


@click.group(epilog="""\b
Examples:
  discover archive runs
  discover archive show 42
  discover archive lineage 42 --depth 3
  discover archive best r3 --split validation --top 5
  discover archive diff 17 42 --archive runs/other.sqlite
""")
def archive() -> None:
    """Browse the archive of runs: programs, scores, lineage, model calls."""


@archive.command(epilog="""\b
Examples:
  discover archive runs
  discover archive runs --json --archive sqlite:///runs/discover.sqlite
""")
@archive_option
@json_option
def runs(archive_url: str | None, as_json: bool) -> None:
    """List runs, newest first, with progress, cost and best scores."""
    with open_archive(archive_url) as store:
        summaries = store.runs()
    if as_json:
        emit_json(to_jsonable(summaries))
        return
    out_console.print(_runs_table(summaries))


def _runs_table(summaries: list[RunSummary]) -> Table:
    table = Table(title="runs", box=None, pad_edge=False, padding=(0, 1, 0, 0),
                  header_style="bold underline")
    for column in ("run", "problem", "status", "seed", "evals", "dup", "calls", "tokens", "$",
                   "train", "valid", "started"):
        table.add_column(column, justify="left" if column in ("problem", "status") else "right",
                         no_wrap=True)
    table.caption = ("evals: programs evaluated/budget; dup: duplicates skipped; "
                     "train, valid: best score (lower is better); started: UTC")
    for s in summaries:
        c = s.counters
        budget = "" if s.run.budget is None else f"/{s.run.budget}"
        table.add_row(
            str(s.run.id), s.run.problem, s.run.status.value, str(s.run.seed),
            f"{c.evaluated}{budget}", str(c.duplicates), str(c.model_calls),
            f"{c.tokens_in + c.tokens_out:,}", f"{c.cost:.2f}",
            fmt(s.best.get(Split.TRAIN), 4), fmt(s.best.get(Split.VALIDATION), 4),
            f"{s.run.started_at:%m-%d %H:%M}",
        )
    return table


@archive.command(epilog="""\b
Examples:
  discover archive show 42
  discover archive show p42 --calls
  discover archive show 42 --json
""")
@click.argument("program")
@click.option("--calls", is_flag=True, help="Also print the prompts and responses.")
@archive_option
@json_option
def show(program: str, calls: bool, archive_url: str | None, as_json: bool) -> None:
    """Show one program: code, scores per split, parents, children, model calls."""
    program_id = parse_program_id(program)
    with open_archive(archive_url) as store:
        detail = store.program(program_id)
        problem = store.run(detail.run_id).problem
    if as_json:
        emit_json(to_jsonable(detail))
        return
    _print_detail(detail, calls, problem)


def _gap_column(problem: str) -> tuple[str, Callable[[float | None], str]]:
    """``gap %`` where references are optima or bounds; ``H/ref`` where the reference
    is a reference policy's score (serving), which is no bound."""
    from evaluators.base import ReferenceRole, reference_role
    from evaluators.registry import get_problem

    try:
        kind = reference_role(get_problem(problem))
    except KeyError:
        kind = ReferenceRole.OPTIMUM
    if kind is ReferenceRole.SCORE:
        return "H/ref", lambda gap: fmt(None if gap is None else 1.0 + gap / 100.0, 4)
    return "gap %", lambda gap: fmt(gap, 3)


def _limit(width: int) -> int | None:
    """Cut text to ``width`` on a screen; whole in a file or pipe."""
    return width if out_console.is_terminal else None


def _print_detail(d: ProgramDetail, calls: bool, problem: str = "smtt") -> None:
    p = d.program
    out_console.print(f"[bold]program {d.id}[/bold]  run {d.run_id}  island {p.island}  "
                      f"generation {p.generation}  operator {p.operator}  "
                      f"created {d.created_at:%Y-%m-%d %H:%M:%S} UTC")
    if p.idea:
        out_console.print(Text("idea: ").append_text(literal(p.idea)))
    parents = ", ".join(f"{x.program_id} ({x.role.value})" for x in d.parents) or "none"
    children = ", ".join(map(str, d.children)) or "none"
    out_console.print(f"parents: {parents}   children: {children}")
    if d.duplicate_of is not None:
        out_console.print(f"[yellow]duplicate of program {d.duplicate_of} (not evaluated)"
                          "[/yellow]")
    if d.evaluations:
        table = Table(title="evaluations")
        gap_label, gap_text = _gap_column(problem)
        for column in ("split", "status", "score", gap_label, "seconds", "instances", "error"):
            table.add_column(column)
        for split, e in d.evaluations.items():
            table.add_row(split.value, e.status.value, fmt(e.score, 4), gap_text(e.gap),
                          f"{e.seconds:.2f}", str(len(e.per_instance)),
                          literal(e.error, limit=_limit(60)))
        out_console.print(table)
    if d.model_calls:
        table = Table(title="model calls")
        for column in ("model", "tokens in", "tokens out", "cost $", "latency s", "error"):
            table.add_column(column)
        for c in d.model_calls:
            table.add_row(f"{c.provider}/{c.model}", fmt(c.tokens_in, 0), fmt(c.tokens_out, 0),
                          fmt(c.cost, 4), f"{c.latency:.2f}", literal(c.error, limit=_limit(60)))
        out_console.print(table)
    # Model-written code and text: control characters shown, never sent to the terminal.
    out_console.print_code(visible(p.code, multiline=True), "python", line_numbers=True)
    if calls:
        for k, c in enumerate(d.model_calls, start=1):
            out_console.rule(f"call {k}: prompt")
            out_console.print(literal(c.prompt, multiline=True))
            out_console.rule(f"call {k}: response")
            out_console.print(literal(c.response or f"(no response: {c.error})",
                                      multiline=True))


@archive.command(epilog="""\b
Examples:
  discover archive lineage 42
  discover archive lineage 42 --depth 2 --json
""")
@click.argument("program")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Follow at most this many edges each way.")
@archive_option
@json_option
def lineage(program: str, depth: int | None, archive_url: str | None, as_json: bool) -> None:
    """Show a program's ancestors and descendants with their roles and scores."""
    program_id = parse_program_id(program)
    with open_archive(archive_url) as store:
        graph = store.lineage(program_id, max_depth=depth)
    if as_json:
        emit_json(to_jsonable(graph))
        return
    out_console.print(_lineage_tree(graph, upward=True))
    out_console.print(_lineage_tree(graph, upward=False))


def _node_label(graph: Lineage, program_id: int, role: str = "") -> str:
    node = graph.nodes[program_id]
    scores = " ".join(f"{s.value}={fmt(v, 4)}" for s, v in node.scores.items()) or "unscored"
    role_text = escape(f"[{role}] ") if role else ""
    dup = f" duplicate of {node.duplicate_of}" if node.duplicate_of is not None else ""
    return (f"{role_text}[bold]{program_id}[/bold] gen {node.generation} island {node.island} "
            f"{node.operator} {scores}{dup}")


def _lineage_tree(graph: Lineage, *, upward: bool) -> Tree:
    edges = graph.ancestors if upward else graph.descendants
    title = "ancestors" if upward else "descendants"
    tree = Tree(f"{title} of {_node_label(graph, graph.program_id)}")
    links: dict[int, list[tuple[int, str]]] = {}
    for e in edges:
        near, far = (e.child_id, e.parent_id) if upward else (e.parent_id, e.child_id)
        links.setdefault(near, []).append((far, e.role.value))
    shown: set[int] = set()

    def grow(branch: Tree, node: int) -> None:
        for other, role in links.get(node, []):
            if other in shown:
                branch.add(escape(f"[{role}] {other}") + " [dim](shown above)[/dim]")
                continue
            shown.add(other)
            grow(branch.add(_node_label(graph, other, role)), other)

    grow(tree, graph.program_id)
    if not edges:
        tree.add("[dim]none[/dim]")
    return tree


@archive.command(epilog="""\b
Examples:
  discover archive best 3
  discover archive best r3 --split train --top 20 --json
""")
@click.argument("run")
@click.option("--split", type=click.Choice([s.value for s in Split]), default=None,
              help="Rank by the score on this split [default: validation, or train when the "
                   "run has no validation scores].")
@click.option("--top", type=click.IntRange(min=1), default=10, show_default=True,
              help="How many programs to list.")
@archive_option
@json_option
def best(run: str, split: str | None, top: int, archive_url: str | None, as_json: bool) -> None:
    """List a run's best programs on a split (lowest score first; failed ones excluded)."""
    run_id = parse_run_id(run)
    with open_archive(archive_url) as store:
        chosen = Split.VALIDATION if split is None else Split(split)
        ranked = store.best(run_id, chosen, top)
        if not ranked and split is None:
            # Runs without validation files (or stopped before validating) still have a
            # training ranking; showing it beats an empty answer.
            ranked = store.best(run_id, Split.TRAIN, top)
            if ranked:
                chosen = Split.TRAIN
                err_console.print(f"run {run_id} has no validation scores; ranking by the "
                                  "train split (choose with --split)")
        scored = [s.value for s in Split if s is not chosen and store.best(run_id, s, 1)]
        problem = store.run(run_id).problem
    if not ranked:
        hint = (f"; scores exist on: {', '.join(scored)} (use --split)" if scored
                else "; it has no successful evaluation on any split")
        raise click.ClickException(
            f"run {run_id} has no successful evaluation on the {chosen.value} split{hint}")
    if as_json:
        emit_json(to_jsonable(ranked))
        return
    out_console.print(_best_table(run_id, chosen.value, ranked, problem))


def _best_table(run_id: int, split: str, ranked: list[RankedProgram],
                problem: str = "smtt") -> Table:
    table = Table(title=f"best programs of run {run_id} on {split}", box=None, pad_edge=False,
                  padding=(0, 1, 0, 0), header_style="bold underline")
    gap_label, gap_text = _gap_column(problem)
    for column in ("#", "program", "score", gap_label, "sec", "gen", "isl", "operator"):
        table.add_column(column, justify="left" if column == "operator" else "right",
                         no_wrap=True)
    # Ideas are cut short on a screen only; a file or pipe gets them whole.
    table.add_column("idea", no_wrap=True, overflow="ellipsis",
                     max_width=28 if out_console.is_terminal else None)
    for r in ranked:
        s = r.summary
        table.add_row(str(r.rank), str(s.id), fmt(r.evaluation.score, 4),
                      gap_text(r.evaluation.gap),
                      f"{r.evaluation.seconds:.2f}", str(s.generation), str(s.island),
                      s.operator, literal(s.idea))
    return table


@archive.command(epilog="""\b
Examples:
  discover archive diff 17 42
  discover archive diff p17 p42 --context 1 --json
""")
@click.argument("a")
@click.argument("b")
@click.option("--context", type=click.IntRange(min=0), default=3, show_default=True,
              help="Lines of context around changes.")
@archive_option
@json_option
def diff(a: str, b: str, context: int, archive_url: str | None, as_json: bool) -> None:
    """Show a unified diff of two programs' code (from A to B)."""
    with open_archive(archive_url) as store:
        result = store.diff(parse_program_id(a), parse_program_id(b), context)
    if as_json:
        emit_json(to_jsonable(result))
        return
    if result.identical:
        out_console.print(f"programs {result.a} and {result.b} have identical code")
        return
    out_console.print_code(visible(result.unified, multiline=True), "diff")
    # The count goes to stderr so that `discover archive diff A B > d.patch` is a patch.
    err_console.print(f"+{result.added} −{result.removed} lines")
