"""``discover new-problem``: scaffold an installable problem package."""

from __future__ import annotations

import click

from discover.cli.common import out_console


@click.command(
    "new-problem",
    epilog="""\b
Examples:
  discover new-problem myproblem
  discover new-problem myproblem --directory ~/src
  cd myproblem && pip install -e . && python -m pytest && discover run --problem myproblem
""",
)
@click.argument("name")
@click.option("--directory", type=click.Path(file_okay=False), default=".", show_default=True,
              help="Where to create the NAME/ project directory.")
def new_problem(name: str, directory: str) -> None:
    """Create NAME/: an installable problem package (P||Cmax as a starting point).

    It holds the instance type, loader, generator, validation and objective, sandbox
    harness, an LPT baseline, a CP-SAT reference, a prompt template, a bundled sample
    set, an export contract, tests that run discover's conformance kit, and a README.
    """
    from discover.scaffold import ScaffoldError, scaffold

    try:
        made = scaffold(name, directory)
    except ScaffoldError as exc:
        raise click.ClickException(str(exc)) from None
    out_console.print(f"created {made.root} ({len(made.files)} files). Next:\n"
                      f"  cd {made.root} && pip install -e . && python -m pytest\n"
                      f"  discover run --problem {name} --budget 50")
