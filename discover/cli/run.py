"""``discover run`` and ``discover config``: the discovery loop from the command line."""

from __future__ import annotations

import sys
import warnings

import click
from rich.table import Table
from rich.text import Text

from discover.cli.common import err_console, fmt, out_console
from discover.cli.literal import literal
from discover.config import ConfigError, ModelSpec, RunConfig
from discover.executors import ExecutorError
from discover.progress import JsonLinesWriter, LiveDisplay, QuietDisplay
from discover.runner import RunResult, run
from evaluators.base import InstanceError
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
@click.option("--time-limit", type=float, default=None, metavar="S", help="Wall seconds.")
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
              help="Continue an archived run to its original budget.")
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
    config = _load_config(config_path, problem)
    overrides: dict[str, object] = {
        "budget": budget, "time_limit": time_limit, "seed": seed,
        "workers": workers, "archive": archive, "prompts": prompts, "sandbox": sandbox,
        "executor": executor}
    if models:
        overrides["llm.models"] = tuple(ModelSpec(m, 1.0, base_url) for m in models)
    elif base_url:
        overrides["llm.models"] = tuple(ModelSpec(m.spec, m.weight, base_url)
                                        for m in config.llm.models)
    try:
        config = config.with_overrides(**overrides)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    mode = progress or ("live" if sys.stderr.isatty() else "quiet")
    callback = {"live": LiveDisplay, "quiet": QuietDisplay, "jsonl": JsonLinesWriter}[mode]()
    with err_console.status("Preparing training references…") as status:
        def setup(stage: str, done: int, total: int) -> None:
            status.update(f"{stage}: {done}/{total}")

        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                result = run(config, resume=resume, callbacks=[callback],
                             setup_progress=setup)
        except KeyboardInterrupt as exc:
            err_console.print(f"[yellow]{exc or 'interrupted'}[/yellow]")
            sys.exit(130)
        except (ConfigError, InstanceError, ValueError, LookupError, ExecutorError) as exc:
            raise click.ClickException(str(exc)) from None
        except SandboxError as exc:
            raise click.ClickException(f"sandbox failure: {exc}") from None
    for w in caught:
        err_console.print(f"[yellow]warning:[/yellow] {w.message}")
    if mode != "jsonl":
        _print_summary(result)


def _print_summary(result: RunResult) -> None:
    # The reason may quote a model server's error: printed literally.
    out_console.print(Text(f"Run {result.run_id} {result.status}: ").append_text(
        literal(result.reason)).append(
        f". {result.evaluated}/{result.budget} evaluated in {result.seconds:.0f} s "
        f"(sandbox: {result.isolation})."))
    table = Table(title="Best programs and classic heuristics (mean gap %, ΣH/ΣOPT)")
    # The selection split's column appears only in runs that have one.
    selection = any(p.selection_ratio is not None for p in result.best)
    for col in ("program", "train gap", *(("selection ΣH/ΣOPT",) if selection else ()),
                "validation gap", "validation ΣH/ΣOPT", "wins/losses vs rule"):
        table.add_column(col, justify="left" if col == "program" else "right")
    for p in result.best:
        wl = "—" if p.wins is None else f"{p.wins}/{p.losses}"
        table.add_row(f"#{p.program_id}", fmt(p.train_gap, 3),
                      *((fmt(p.selection_ratio, 4),) if selection else ()),
                      fmt(p.validation_gap, 3), fmt(p.validation_ratio, 4), wl)
    for b in result.baselines:
        table.add_row(b.name.upper(), fmt(b.train_gap, 3), *(("",) if selection else ()),
                      fmt(b.validation_gap, 3), fmt(b.validation_ratio, 4), "")
    out_console.print(table)
    out_console.print(f"[dim]wins/losses: validation instances where a program beats / "
                      f"loses to {result.reference_rule.upper()}.[/dim]")
    if result.best:
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
