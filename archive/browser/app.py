"""The browser application: routes, page assembly and responses, independent of any server.

:meth:`BrowserApp.handle` maps a method, a path with query string and a form
to a :class:`Response`; :mod:`archive.browser.server` puts it behind
``http.server``, and tests can call it directly. Pages are rendered with
Jinja2 with autoescaping on, so every text from the archive — code, ideas,
prompts, responses, errors, instance names, even run problem names — reaches
the browser escaped; highlighted code and diffs are built from escaped
pieces (:mod:`archive.browser.highlight`, :mod:`archive.browser.diffview`).
Responses carry a Content-Security-Policy that allows only this server's own
script and style files, as a second line of defence.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlsplit

from sqlalchemy.orm import Session

from archive.browser import pages
from archive.browser.readonly import ReadOnlyArchive
from archive.browser.render import Renderer
from archive.browser.run_cache import LINEAGE_DEPTH, RunCache
from archive.errors import ArchiveError, NotFoundError

log = logging.getLogger(__name__)

SECURITY_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
     "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Content-Type-Options", "nosniff"),
    ("Referrer-Policy", "no-referrer"),
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
    ("Cross-Origin-Resource-Policy", "same-origin"),
)
_STATIC_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8",
                 ".svg": "image/svg+xml"}
_STATIC_NAME = re.compile(r"^[a-z0-9_-]+\.(css|js|svg)$")


@dataclass(frozen=True)
class Response:
    """An HTTP response: status, content type, body and extra headers."""

    status: int
    content_type: str
    body: bytes
    headers: tuple[tuple[str, str], ...] = ()

    @property
    def text(self) -> str:
        """The body decoded as UTF-8 (for tests)."""
        return self.body.decode("utf-8")


@dataclass(frozen=True)
class ExportedFile:
    """A file the exporter produced for download."""

    filename: str
    content: bytes

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z0-9_.-]+", self.filename):
            raise ValueError(f"unsafe download file name {self.filename!r}")


class ExportUnavailable(Exception):
    """Raised by an exporter that cannot export a program; the message is shown to the user."""


Exporter = Callable[[int], ExportedFile]
"""Turns a program id into a standalone module (wired by ``discover browse``)."""


class BadRequest(Exception):
    """A malformed query parameter or form; the message is shown to the user."""


def _int(params: Mapping[str, list[str]], name: str, default: int | None = None) -> int | None:
    values = params.get(name)
    if not values or values[-1].strip() == "":
        return default
    text = values[-1].strip().lstrip("pP#")
    if not text.isdigit():
        raise BadRequest(f"{name} must be a positive integer, got {values[-1]!r}")
    return int(text)


class BrowserApp:
    """The archive browser over a read-only archive.

    Parameters
    ----------
    archive
        From :func:`archive.browser.readonly.open_readonly`.
    exporter
        Optional: makes the program page offer "download exported module".
    token
        Secret that export requests must carry (default: random per app), so
        that another site cannot make the browser export programs (which runs
        them in a child interpreter) through a cross-site form.
    """

    def __init__(self, archive: ReadOnlyArchive, *, exporter: Exporter | None = None,
                 token: str | None = None) -> None:
        self.archive = archive
        self.exporter = exporter
        self.token = token or secrets.token_urlsafe(24)
        self.cache = RunCache()
        self.renderer = Renderer(archive.display_url)
        self._routes: list[tuple[str, re.Pattern[str], Callable[..., Response]]] = [
            ("GET", re.compile(r"/"), self._runs),
            ("GET", re.compile(r"/run/(\d+)"), self._run),
            ("GET", re.compile(r"/run/(\d+)/programs"), self._programs),
            ("GET", re.compile(r"/program/(\d+)"), self._program),
            ("GET", re.compile(r"/program/(\d+)/lineage"), self._lineage),
            ("GET", re.compile(r"/program/(\d+)/code\.py"), self._code),
            ("POST", re.compile(r"/program/(\d+)/export"), self._export),
            ("GET", re.compile(r"/compare"), self._compare),
            ("GET", re.compile(r"/static/([^/]+)"), self._static),
        ]

    # -- entry points --------------------------------------------------------------------------
    def handle(self, method: str, target: str, form: Mapping[str, list[str]] | None = None
               ) -> Response:
        """Answer one request; never raises (errors become error pages)."""
        parts = urlsplit(target)
        params = parse_qs(parts.query, keep_blank_values=True)
        try:
            allowed = set()
            for route_method, pattern, handler in self._routes:
                match = pattern.fullmatch(parts.path)
                if match is None:
                    continue
                allowed.add(route_method)
                if route_method == method or (method == "HEAD" and route_method == "GET"):
                    return handler(*match.groups(), params=params, form=form or {})
            if allowed:
                return self._error(405, "method not allowed",
                                   f"{method} is not allowed here",
                                   (("Allow", ", ".join(sorted(allowed))),))
            return self._error(404, "not found", f"no page at {parts.path}")
        except NotFoundError as exc:
            return self._error(404, "not found", str(exc))
        except (BadRequest, ValueError) as exc:
            return self._error(400, "bad request", str(exc))
        except ArchiveError as exc:
            return self._error(500, "archive error", str(exc))
        except Exception:  # a page must fail alone, not take the server down
            log.exception("error serving %s %s", method, target)
            return self._error(500, "internal error", "the page failed; see the server log")

    def warm(self) -> threading.Thread:
        """Compile the templates and fill the run caches in a background thread.

        Builds the runs list and the pages of the newest runs — reading their
        per-instance runtimes takes seconds for 10,000 programs — so that first
        visits are fast; a page requested meanwhile computes what it needs itself.
        """
        def work() -> None:
            try:
                self.renderer.precompile()
                with Session(self.archive.engine) as session:
                    self.cache.warm(session)
            except Exception:  # warming is an optimisation; pages compute on demand
                log.exception("warming the run caches failed")

        thread = threading.Thread(target=work, name="browser-warm", daemon=True)
        thread.start()
        return thread

    # -- helpers -------------------------------------------------------------------------------
    def _page(self, template: str, code: int = 200, **context: Any) -> Response:
        html = self.renderer.render(template, **context)
        return Response(code, "text/html; charset=utf-8", html.encode("utf-8"),
                        (("Cache-Control", "no-store"),))

    def _error(self, status: int, title: str, message: str,
               headers: tuple[tuple[str, str], ...] = ()) -> Response:
        page = self._page("error.html.j2", status, title=title, message=message, status=status)
        return Response(page.status, page.content_type, page.body, page.headers + headers)

    # -- routes --------------------------------------------------------------------------------
    def _runs(self, *, params: Mapping[str, list[str]], form: Any) -> Response:
        with Session(self.archive.engine) as session:
            runs = self.cache.runs(session)
        return self._page("runs.html.j2", runs=runs)

    def _run(self, run_id: str, *, params: Mapping[str, list[str]], form: Any) -> Response:
        with Session(self.archive.engine) as session:
            view = self.cache.run_view(session, int(run_id))
        return self._page("run.html.j2", view=view, digest=view.digest,
                          lineage_depth=LINEAGE_DEPTH,
                          config_json=json.dumps(view.digest.run.config, indent=2,
                                                 sort_keys=True, default=str))

    def _programs(self, run_id: str, *, params: Mapping[str, list[str]], form: Any) -> Response:
        query = pages.programs_query(params)
        with Session(self.archive.engine) as session:
            run, table = pages.programs(session, int(run_id), query)
        return self._page("programs.html.j2", run=run, table=table)

    def _program(self, program_id: str, *, params: Mapping[str, list[str]], form: Any
                 ) -> Response:
        with Session(self.archive.engine) as session:
            page = pages.program(session, int(program_id))
        return self._page("program.html.j2", page=page, d=page.detail,
                          exporter=self.exporter is not None, token=self.token)

    def _lineage(self, program_id: str, *, params: Mapping[str, list[str]], form: Any
                 ) -> Response:
        depth = _int(params, "depth", 4)
        assert depth is not None
        with Session(self.archive.engine) as session:
            view = pages.lineage(session, int(program_id), min(max(depth, 1), 50))
        return self._page("lineage.html.j2", view=view)

    def _compare(self, *, params: Mapping[str, list[str]], form: Any) -> Response:
        a, b = _int(params, "a"), _int(params, "b")
        if a is None or b is None:
            raise BadRequest("compare needs two program ids: /compare?a=12&b=34")
        with Session(self.archive.engine) as session:
            page = pages.compare(session, a, b)
        return self._page("compare.html.j2", page=page)

    def _code(self, program_id: str, *, params: Mapping[str, list[str]], form: Any) -> Response:
        pid = int(program_id)
        with Session(self.archive.engine) as session:
            code = pages.code(session, pid)
        return _download(f"program_{pid}.py", code.encode("utf-8"))

    def _export(self, program_id: str, *, params: Mapping[str, list[str]],
                form: Mapping[str, list[str]]) -> Response:
        if self.exporter is None:
            return self._error(404, "not found", "this browser was started without an exporter")
        given = (form.get("token") or [""])[-1]
        if not hmac.compare_digest(given.encode(), self.token.encode()):
            return self._error(403, "forbidden", "missing or stale export token; reload the page")
        try:
            exported = self.exporter(int(program_id))
        except ExportUnavailable as exc:
            return self._error(422, "export failed", str(exc))
        return _download(exported.filename, exported.content)

    def _static(self, name: str, *, params: Mapping[str, list[str]], form: Any) -> Response:
        if not _STATIC_NAME.fullmatch(name):
            raise NotFoundError(f"no static file {name}")
        resource = resources.files("archive.browser").joinpath("static", name)
        if not resource.is_file():
            raise NotFoundError(f"no static file {name}")
        suffix = name[name.rindex("."):]
        return Response(200, _STATIC_TYPES[suffix], resource.read_bytes(),
                        (("Cache-Control", "max-age=3600"),))


def _download(filename: str, content: bytes) -> Response:
    return Response(200, "text/x-python; charset=utf-8", content,
                    (("Content-Disposition", f'attachment; filename="{filename}"'),
                     ("Cache-Control", "no-store")))
