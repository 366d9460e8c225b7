"""The archive browser with discover's export wired in (``discover browse``).

:mod:`archive.browser` does not import discover (see ``docs/architecture.md``);
this module gives it the one thing it needs from here, an exporter that
turns a program id into the standalone module of :mod:`discover.exporting.standalone`.
"""

from __future__ import annotations

import tempfile
import threading
from collections import OrderedDict
from pathlib import Path

from archive import Archive, ArchiveError
from archive.browser import BrowserApp, ExportedFile, ExportUnavailable, open_readonly
from discover.exporting.standalone import DEFAULT_TIMEOUT, ExportError, export_program

__all__ = ["browser_app", "program_exporter"]


def program_exporter(store: Archive, *, timeout: float = DEFAULT_TIMEOUT, keep: int = 32
                     ) -> ExportedCallable:
    """An exporter for :class:`~archive.browser.BrowserApp` backed by :func:`export_program`.

    Exports run the program in a child interpreter to build the self-check,
    which takes seconds, so the last ``keep`` modules are remembered.
    """
    return ExportedCallable(store, timeout, keep)


class ExportedCallable:
    """Callable ``program_id -> ExportedFile`` with a small cache (see :func:`program_exporter`)."""

    def __init__(self, store: Archive, timeout: float, keep: int) -> None:
        self._store, self._timeout, self._keep = store, timeout, keep
        self._cache: OrderedDict[int, ExportedFile] = OrderedDict()
        self._lock = threading.Lock()

    def __call__(self, program_id: int) -> ExportedFile:
        with self._lock:
            if program_id in self._cache:
                self._cache.move_to_end(program_id)
                return self._cache[program_id]
        with tempfile.TemporaryDirectory(prefix="discover-browse-") as tmp:
            path = Path(tmp) / f"program_{program_id}.py"
            try:
                export_program(self._store, program_id, path, timeout=self._timeout)
            except (ExportError, ArchiveError) as exc:
                raise ExportUnavailable(str(exc)) from None
            exported = ExportedFile(path.name, path.read_bytes())
        with self._lock:
            self._cache[program_id] = exported
            while len(self._cache) > self._keep:
                self._cache.popitem(last=False)
        return exported


def browser_app(url: str | Path | None, *, export_timeout: float = DEFAULT_TIMEOUT
                ) -> BrowserApp:
    """Open ``url`` read-only and build the browser app with exports enabled.

    Raises
    ------
    archive.ArchiveError
        If the archive cannot be opened (missing file, other schema revision...).
    """
    archive = open_readonly(url)
    return BrowserApp(archive, exporter=program_exporter(archive.store, timeout=export_timeout))
