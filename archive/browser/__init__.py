"""A local, read-only web browser for discovery archives (``discover browse``).

Runs list, run pages (score over evaluations, failure mix, gap-vs-runtime
Pareto front with the classic heuristics, islands, lineage), program pages
(highlighted code, diffs against parents, prompts and responses, per-instance
results, downloads) and a compare view. Standard library HTTP server and
Jinja2; no JavaScript framework, no CDN: it works offline.

Examples
--------
>>> from archive.browser import BrowserApp, make_server, open_readonly
>>> app = BrowserApp(open_readonly("runs/discover.sqlite"))  # doctest: +SKIP
>>> make_server(app, "127.0.0.1", 8765).serve_forever()      # doctest: +SKIP
"""

from archive.browser.app import BrowserApp, ExportedFile, Exporter, ExportUnavailable, Response
from archive.browser.readonly import ReadOnlyArchive, open_readonly
from archive.browser.server import DEFAULT_HOST, DEFAULT_PORT, BrowserServer, make_server

__all__ = [
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "BrowserApp",
    "BrowserServer",
    "ExportUnavailable",
    "ExportedFile",
    "Exporter",
    "ReadOnlyArchive",
    "Response",
    "make_server",
    "open_readonly",
]
