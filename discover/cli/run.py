"""``discover run`` and ``discover config``: the discovery loop from the command line."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable
from typing import Any

import click
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from archive import Archive, ArchiveError, RunStatus
from discover.cli.common import err_console, fmt, out_console
from discover.cli.literal import literal
from discover.cli.started import process_start, skip_final_collection
from discover.config import ConfigError, ModelSpec, RunConfig
from discover.executors import ExecutorError
from discover.preflight import StartError, check_resume_flags, one_line
from discover.reporting.progress import JsonLinesWriter, LiveDisplay, QuietDisplay
from discover.runner import RunResult, run
from evaluators.base import InstanceError, ReferenceRole
from sandbox import SandboxError


def _load_config(path: str | None, problem: str | None = None) -> RunConfig:
    try:
        return RunConfig.load(path, problem=problem)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@click.command("run", epilog="""\b
Examples:
  discover run --problem smtt                      # offline engine unless an API key is set
  discover run --problem smtt --budget 2000 --seed 1
  discover run --problem smtt --model openai:gpt-4o-mini --budget 500
  discover run --model openai-compatible:qwen2.5-coder --base-url http://127.0.0.1:11434/v1
  discover run --config run.toml --progress jsonl > events.jsonl
  discover run --resume 3                          # continue run 3 to its budget
  discover run --executor dask-local:2             # two local Dask worker processes
  discover run --executor dask://scheduler-host:8786 --workers 32 \
      --archive postgresql+psycopg://user:pw@db/discover   # a cluster and a shared archive
""")
@click.option("--problem", default=None, help="Problem to work on (default from config: smtt).")
@click.option("--model", "models", multiple=True, metavar="M",
              help="provider:model, 'offline' or 'auto' (repeatable for a pool).")
@click.option("--base-url", default=None, help="Base URL for the model's API (proxies, local).")
@click.option("--budget", type=int, default=None, help="Candidate evaluations (default 2000).")
@click.option("--time-limit", type=float, default=None, metavar="S",
              help="Wall seconds from the command's start: model calls and evaluations in "
                   "flight are then cut (archived as cancelled) and the final validation is "
                   "skipped, so the command ends within seconds of S.")
@click.option("--seed", type=int, default=None, help="Seed of the run (default 0).")
@click.option("--workers", type=int, default=None, help="Sandbox workers (default 2).")
@click.option("--archive", default=None, metavar="URL",
              help="SQLAlchemy URL (default sqlite:///runs/discover.sqlite).")
@click.option("--config", "config_path", default=None, metavar="FILE", help="TOML config.")
@click.option("--prompts", default=None, metavar="DIR", help="Override prompt templates.")
@click.option("--sandbox", type=click.Choice(["auto", "strict", "none"]), default=None,
              help="Isolation: auto degrades with a warning, strict refuses.")
@click.option("--executor", default=None, metavar="SPEC",
              help="Where candidates run: local (default), dask://HOST:PORT (a Dask "
                   "scheduler) or dask-local:N (N local Dask workers).")
@click.option("--resume", type=int, default=None, metavar="RUN",
              help="Continue an archived run to its original budget, with its stored "
                   "settings (a finished run is not reopened).")
@click.option("--progress", type=click.Choice(["live", "quiet", "jsonl"]), default=None,
              help="Display: live panel (terminal default), quiet lines, JSON lines.")
def run_command(problem: str | None, models: tuple[str, ...], base_url: str | None,
                budget: int | None, time_limit: float | None, seed: int | None,
                workers: int | None, archive: str | None, config_path: str | None,
                prompts: str | None, sandbox: str | None, executor: str | None,
                resume: int | None, progress: str | None) -> None:
    """Search for a better heuristic: propose, sandbox, score against optima, archive.

    Flags override the config file; the effective configuration is stored with
    the run. At the end the best programs are shown next to the classic
    heuristics on the training and validation splits.
    """
    try:
        _run(problem, models, base_url, budget, time_limit, seed, workers, archive,
             config_path, prompts, sandbox, executor, resume, progress)
    finally:
        skip_final_collection()  # the command ends when its work does (see the function)


def _run(problem: str | None, models: tuple[str, ...], base_url: str | None,
         budget: int | None, time_limit: float | None, seed: int | None,
         workers: int | None, archive: str | None, config_path: str | None,
         prompts: str | None, sandbox: str | None, executor: str | None,
         resume: int | None, progress: str | None) -> None:
    config = _load_config(config_path, problem)
    overrides: dict[str, object] = {
        "budget": budget, "time_limit": time_limit, "seed": seed,
        "workers": workers, "archive": archive, "prompts": prompts, "sandbox": sandbox,
        "executor": executor}
    try:
        if models:
            overrides["llm.models"] = tuple(ModelSpec(m, 1.0, base_url) for m in models)
        elif base_url:
            overrides["llm.models"] = tuple(ModelSpec(m.spec, m.weight, base_url)
                                            for m in config.llm.models)
        config = config.with_overrides(**overrides)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if resume is not None:
        _check_resume_flags(config, resume, {
            "problem": problem, "budget": budget, "seed": seed, "sandbox": sandbox,
            "prompts": prompts, "model": models or None})
    mode = progress or ("live" if sys.stderr.isatty() else "quiet")
    callback = {"live": LiveDisplay, "quiet": QuietDisplay, "jsonl": JsonLinesWriter}[mode]()
    with err_console.status("Preparing training references…") as status, \
            warnings.catch_warnings():
        def setup(stage: str, done: int, total: int) -> None:
            status.update(f"{stage}: {done}/{total}")

        # Warnings (degraded sandbox, missing validation file) are shown when they
        # arise, at the start, so that a run stopped early has shown them too.
        warnings.simplefilter("always")
        warnings.showwarning = _show_warning_once(set())
        try:
            result = run(config, resume=resume, callbacks=[callback], setup_progress=setup,
                         started=process_start())
        except KeyboardInterrupt as exc:
            err_console.print(f"[yellow]{escape(str(exc) or 'interrupted')}[/yellow]",
                              soft_wrap=True)
            sys.exit(130)
        except (ConfigError, InstanceError, ValueError, LookupError, ExecutorError,
                ArchiveError) as exc:
            raise click.ClickException(one_line(str(exc))) from None
        except SandboxError as exc:
            raise click.ClickException(f"sandbox failure: {one_line(str(exc))}") from None
    if mode != "jsonl":
        _print_summary(result)
    if result.status != RunStatus.FINISHED.value:
        # Stopped before its budget (provider down, search stalled): not a success, and
        # everything done so far is archived, so the way on is to resume.
        # The reason may quote a model server's error: printed literally.
        err_console.print(Text(f"run {result.run_id} {result.status}: ", style="red")
                          .append_text(literal(result.reason, style="red")), soft_wrap=True)
        err_console.print(f"Resume it:  {escape(result.resume_command)}", soft_wrap=True)
        sys.exit(1)


def _show_warning_once(seen: set[str]) -> Callable[..., None]:
    """A ``warnings.showwarning`` that prints each distinct message once, on stderr."""
    def show(message: Warning | str, *_args: object, **_kwargs: object) -> None:
        text = str(message)
        if text not in seen:
            seen.add(text)
            err_console.print(Text("warning: ", style="yellow").append_text(literal(text)),
                              highlight=False, soft_wrap=True)
    return show


def _check_resume_flags(config: RunConfig, resume: int, given: dict[str, Any]) -> None:
    """Flags that would change a resumed run's settings are errors, not silently ignored."""
    given = {k: v for k, v in given.items() if v is not None}
    if not given:
        return
    try:
        with Archive.open(config.archive, create=False) as store:
            stored = store.run(resume).config
        check_resume_flags(resume, stored, given)
    except (ArchiveError, StartError) as exc:
        raise click.ClickException(one_line(str(exc))) from None


def _print_summary(result: RunResult) -> None:
    # The reason may quote a model server's error: printed literally.
    out_console.print(Text(f"Run {result.run_id} {result.status}: ").append_text(
        literal(result.reason)).append(
        f". {result.evaluated}/{result.budget} evaluated in {result.seconds:.0f} s "
        f"(sandbox: {result.isolation})."))
    # A reference score (serving's oracle) is not a bound: ratios to it, never gaps.
    score = result.reference_role is ReferenceRole.SCORE
    gap, total = ("H/ref", "ΣH/Σref") if score else ("gap", "ΣH/ΣOPT")
    table = Table(title="Best programs and classic heuristics" + (
        "" if score else " (mean gap %, ΣH/ΣOPT)"))
    # The selection split's column appears only in runs that have one.
    selection = any(p.selection_ratio is not None for p in result.best)
    for col in ("program", f"train {gap}", *((f"selection {total}",) if selection else ()),
                f"validation {gap}", f"validation {total}", "wins/losses vs rule"):
        table.add_column(col, justify="left" if col == "program" else "right")

    def mean(value: float | None) -> str:
        # The mean gap is 100·(mean H/ref − 1) over the same instances, so the mean
        # ratio is exact, not an approximation.
        if score:
            return fmt(None if value is None else 1.0 + value / 100.0, 4)
        return fmt(value, 3)

    for p in result.best:
        wl = "—" if p.wins is None else f"{p.wins}/{p.losses}"
        table.add_row(f"#{p.program_id}", mean(p.train_gap),
                      *((fmt(p.selection_ratio, 4),) if selection else ()),
                      mean(p.validation_gap), fmt(p.validation_ratio, 4), wl)
    for b in result.baselines:
        table.add_row(b.name.upper(), mean(b.train_gap), *(("",) if selection else ()),
                      mean(b.validation_gap), fmt(b.validation_ratio, 4), "")
    out_console.print(table)
    if score:
        out_console.print("[dim]H/ref: mean ratio to the reference score, a reference policy's "
                          "score and not a bound on the best possible; below 1 beats it.[/dim]")
    out_console.print(f"[dim]wins/losses: validation instances where a program beats / "
                      f"loses to {result.reference_rule.upper()}.[/dim]")
    if result.efficiency is not None:
        out_console.print(f"Search: {result.efficiency.describe()}.")
    if result.best and result.status == RunStatus.FINISHED.value:
        out_console.print(f"Export the winner:  {result.export_command}")


@click.command("config", epilog="""\b
Examples:
  discover config --show
  discover config --show --config run.toml > effective.toml
  discover config --show --problem jssp
""")
@click.option("--show", is_flag=True, help="Print the effective configuration as TOML.")
@click.option("--config", "config_path", default=None, metavar="FILE", help="TOML config.")
@click.option("--problem", default=None, help="Apply this problem's defaults (default smtt).")
@click.pass_context
def config_group(ctx: click.Context, show: bool, config_path: str | None,
                 problem: str | None) -> None:
    """Inspect run configurations: defaults merged with FILE, as TOML.

    Every key of the output can be set in a file passed to ``discover run --config``.
    """
    if not show:
        click.echo(ctx.get_help())
        return
    click.echo(_load_config(config_path, problem).to_toml(), nl=False)
