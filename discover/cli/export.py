"""``discover export``: a program, a run's best program or a baseline as a standalone module."""

from __future__ import annotations

from pathlib import Path

import click

from archive import ArchiveError, to_jsonable
from discover.cli.archive import archive_option, json_option, open_archive
from discover.cli.common import emit_json, err_console, out_console
from discover.exporting.standalone import ExportError, ExportResult, export_baseline
from discover.exporting.target import ExportTarget, export_target


@click.command(epilog="""\b
Examples:
  discover export 42 -o schedule_42.py
  discover export r3 -o best_of_run3.py --archive runs/discover.sqlite
  discover export --baseline mddc --problem smtt -o mddc.py
  python schedule_42.py        # runs the embedded self-check

PROGRAM_OR_RUN is a program id (42 or p42) or a run id (r3 or run:3): a bare
number is always a program, here and in the Python API (discover.export). A run
exports its best program on the validation split (train when it has none).
""")
@click.argument("target", metavar="PROGRAM_OR_RUN", required=False)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True,
              help="Python file to write.")
@click.option("--baseline", metavar="NAME", default=None,
              help="Export a classic heuristic of --problem instead of an archived program.")
@click.option("--problem", "problem_name", default="smtt", show_default=True,
              help="Problem of --baseline.")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds the program may run on the self-check instances.")
@archive_option
@json_option
def export(target: str | None, output: Path, baseline: str | None, problem_name: str,
           timeout: float, archive_url: str | None, as_json: bool) -> None:
    """Write a standalone module (no discover import) with provenance and a self-check."""
    if (target is None) == (baseline is None):
        raise click.UsageError("give either PROGRAM_OR_RUN or --baseline NAME")
    try:
        if baseline is not None:
            result = export_baseline(problem_name, baseline, output, timeout=timeout)
        else:
            assert target is not None
            try:
                parsed = ExportTarget.parse(target)
            except ValueError as exc:
                raise click.BadParameter(str(exc), param_hint="PROGRAM_OR_RUN") from None
            with open_archive(archive_url) as store:
                result = export_target(store, parsed, output, timeout=timeout)
    except (ExportError, ArchiveError) as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        emit_json(to_jsonable(result) | {"path": str(result.path)})
        return
    _report(result)


def _report(result: ExportResult) -> None:
    for note in result.notes:
        err_console.print(f"[yellow]note:[/yellow] {note}")
    what = (f"baseline {result.baseline}" if result.baseline else f"program {result.program_id}"
            + (f" (best of run {result.run_id} on {result.split.value})" if result.split else ""))
    out_console.print(f"wrote {result.path}: {what}; self-check passed on "
                      f"{len(result.expected)} instances. Run it with: python {result.path}")
