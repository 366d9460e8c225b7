"""The ``discover`` command line: a thin layer over the library.

Each command lives in its own module under :mod:`discover.cli` and only parses
options, calls the library and prints. Register a new command in :data:`COMMANDS`.
"""

from __future__ import annotations

import importlib
import warnings

import click

from discover import __version__

# command name -> (module under discover.cli, attribute, one-line help). Modules are
# imported only when their command runs, so `discover --help` and each command
# start without loading OR-Tools, SQLAlchemy or the SDKs they do not need.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": ("run", "run_command", "Search for a better heuristic (the discovery loop)."),
    "config": ("run", "config_group", "Show the effective run configuration as TOML."),
    "baselines": ("baselines", "baselines", "Score classic heuristics against references."),
    "solve": ("solve", "solve", "Solve instances exactly (serving: reference policy scores)."),
    "datasets": ("datasets", "datasets", "List the bundled benchmark sets (PROBLEM:SET)."),
    "eval": ("eval", "eval_command", "Run one candidate file through the sandbox."),
    "archive": ("archive", "archive", "Read the archive: runs, programs, lineage, best, diff."),
    "export": ("export", "export", "Write a standalone module of a program or baseline."),
    "browse": ("browse", "browse", "Explore an archive in a local, read-only web app."),
    "new-problem": ("new_problem", "new_problem",
                    "Scaffold an installable problem package (a plugin)."),
}
COMMAND_MODULES: tuple[tuple[str, str], ...] = tuple((m, a) for m, a, _ in COMMANDS.values())


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(f"discover.cli.{module}"), attr)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        rows = [(name, short) for name, (_, _, short) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  discover run --problem smtt --budget 2000 --seed 1
  discover baselines --problem smtt --instances smtt:n20_uniform
  discover solve --problem smtt --instances jobs.txt --method dp
  discover datasets --problem jssp
""",
)
@click.version_option(__version__, prog_name="discover")
def main() -> None:
    """discover: find scheduling heuristics with language models, scored against exact optima."""
    warnings.showwarning = _show_warning


def _show_warning(message: Warning | str, category: type[Warning], filename: str, lineno: int,
                  file: object = None, line: str | None = None) -> None:
    # Users get the message, not the Python source line that raised it.
    click.echo(click.style("warning: ", fg="yellow") + str(message), err=True)

