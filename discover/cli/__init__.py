"""The ``discover`` command line: a thin layer over the library.

Each command lives in its own module under :mod:`discover.cli` and only parses
options, calls the library and prints. Register a new command in
:data:`COMMAND_MODULES`.
"""

from __future__ import annotations

import importlib
import warnings

import click

from discover import __version__

# module name -> attribute holding the click command or group
COMMAND_MODULES: tuple[tuple[str, str], ...] = (
    ("baselines", "baselines"),
    ("solve", "solve"),
    ("archive", "archive"),
    ("export", "export"),
    ("eval", "eval_command"),
    ("run", "run_command"),
    ("run", "config_group"),
    ("browse", "browse"),
)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    epilog="""\b
Examples:
  discover run --problem smtt --budget 2000 --seed 1
  discover baselines --problem smtt --instances n20_uniform.json
  discover solve --problem smtt --instances jobs.txt --method dp
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


for _module, _attr in COMMAND_MODULES:
    main.add_command(getattr(importlib.import_module(f"discover.cli.{_module}"), _attr))
