"""``discover browse``: a local, read-only web browser for the archive."""

from __future__ import annotations

import click

from archive import ArchiveError
from archive.browser import DEFAULT_HOST, DEFAULT_PORT, make_server
from archive.browser.server import is_loopback
from discover.cli.archive import archive_option, json_option
from discover.cli.common import emit_json, err_console, out_console
from discover.reporting.browser import browser_app


@click.command(epilog="""\b
Examples:
  discover browse
  discover browse --archive runs/other.sqlite --port 9000
  discover browse --port 0 --json      # pick a free port, print it as JSON

Then open the printed URL. The archive is opened read-only, so browsing a run
while it is still going is safe. Stop with Ctrl-C.
""")
@archive_option
@click.option("--host", default=DEFAULT_HOST, show_default=True,
              help="Address to listen on; anything but loopback exposes the archive "
                   "(code, prompts, responses) to the network.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True,
              help="Port to listen on (0: any free port).")
@json_option
def browse(archive_url: str | None, host: str, port: int, as_json: bool) -> None:
    """Browse runs, lineages, programs and model calls in a web browser."""
    try:
        app = browser_app(archive_url)
    except ArchiveError as exc:
        raise click.ClickException(str(exc)) from None
    try:
        server = make_server(app, host, port)
    except OSError as exc:
        app.archive.close()
        raise click.ClickException(f"cannot listen on {host}:{port}: "
                                   f"{exc.strerror or exc}") from None
    if not is_loopback(host):
        err_console.print(f"[yellow]warning:[/yellow] listening on {host}: anyone who can reach "
                          "this address can read the archive")
    app.warm()
    if as_json:
        emit_json({"url": server.url, "archive": app.archive.display_url,
                   "host": server.server_address[0], "port": server.server_address[1]})
    else:
        out_console.print(f"browsing {app.archive.display_url} (read-only) at {server.url}  "
                          "— Ctrl-C to stop", markup=False, highlight=False)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        app.archive.close()
