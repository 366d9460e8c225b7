"""Routes, escaping, downloads and export protection of the browser app (no sockets)."""

from __future__ import annotations

import html
import re

import pytest
from markupsafe import escape

from archive import Archive, Split
from archive.browser import BrowserApp, ExportedFile, ExportUnavailable
from tests.archive.browser.conftest import HOSTILE_PROBLEM, BrowserArchive
from tests.archive.browser.synthetic import HOSTILE

_SCRIPT = re.compile(r"<script\b[^>]*>", re.IGNORECASE)


def scripts(page: str) -> list[str]:
    """Every <script> start tag in a page."""
    return _SCRIPT.findall(page)


def test_every_page_renders(app: BrowserApp, browser_archive: BrowserArchive) -> None:
    run, pid = browser_archive.main.run_id, browser_archive.main.program_ids[50]
    for path in ("/", f"/run/{run}", f"/run/{run}/programs", f"/run/{run}/programs?sort=train"
                 "&outcome=ok&island=1&page=1", f"/program/{pid}", f"/program/{pid}/lineage",
                 f"/program/{pid}/lineage?depth=2", f"/compare?a={pid}&b={pid + 3}",
                 f"/run/{browser_archive.other_run}", f"/program/{browser_archive.other_program}",
                 "/static/style.css", "/static/app.js"):
        response = app.handle("GET", path)
        assert response.status == 200, (path, response.text[:500])


@pytest.mark.parametrize(("path", "status"), [
    ("/run/999", 404), ("/program/99999", 404), ("/program/99999/lineage", 404),
    ("/compare?a=1&b=99999", 404), ("/compare?a=1", 400), ("/compare?a=x&b=2", 400),
    ("/run/1/programs?sort=bogus", 400), ("/run/1/programs?page=-1", 400),
    ("/static/../app.py", 404), ("/static/missing.css", 404), ("/nowhere", 404),
])
def test_errors_are_pages_not_tracebacks(app: BrowserApp, path: str, status: int) -> None:
    response = app.handle("GET", path)
    assert response.status == status
    assert "Traceback" not in response.text and "<h1>" in response.text


def test_wrong_method(app: BrowserApp) -> None:
    response = app.handle("POST", "/")
    assert response.status == 405 and ("Allow", "GET") in response.headers
    assert app.handle("GET", "/program/1/export").status == 405


def test_hostile_program_is_shown_as_text(app: BrowserApp, store: Archive,
                                          browser_archive: BrowserArchive) -> None:
    pid = browser_archive.main.hostile_id
    assert pid is not None
    page = app.handle("GET", f"/program/{pid}").text
    assert scripts(page) == ['<script src="/static/app.js" defer>']
    assert "<img src=x" not in page and "<b>bold?</b>" not in page
    # idea, error (twice), instance name, prompt and response (three times) in one piece;
    # the code's copies are split into highlighted tokens
    assert page.count(str(escape(HOSTILE))) >= 7
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    assert text.count(HOSTILE) >= 10
    detail = store.program(pid)
    assert detail.program.idea == HOSTILE and HOSTILE in detail.program.code


def test_hostile_run_names_are_escaped_everywhere(app: BrowserApp,
                                                  browser_archive: BrowserArchive) -> None:
    parent = browser_archive.main.program_ids[5]
    for path in ("/", f"/run/{browser_archive.other_run}",
                 f"/program/{browser_archive.other_program}",
                 f"/compare?a={browser_archive.main.hostile_id}&b={parent}",
                 f"/run/{browser_archive.main.run_id}/programs?outcome=failed"):
        page = app.handle("GET", path).text
        assert scripts(page) == ['<script src="/static/app.js" defer>'], path
        assert "<i>smtt</i>" not in page and "<img" not in page
    assert str(escape(HOSTILE_PROBLEM)) in app.handle("GET", "/").text


def test_security_headers(app: BrowserApp) -> None:
    from archive.browser.app import SECURITY_HEADERS
    csp = dict(SECURITY_HEADERS)["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert ("Cache-Control", "no-store") in app.handle("GET", "/").headers


def test_run_page_shows_the_archive(app: BrowserApp, store: Archive,
                                    browser_archive: BrowserArchive) -> None:
    run = browser_archive.main.run_id
    page = app.handle("GET", f"/run/{run}").text
    best = store.best(run, Split.TRAIN, top=10)
    for r in best:
        assert f'href="/program/{r.summary.id}"' in page
    assert f"{store.run_state(run).counters.evaluated:,} evaluated" in page
    for name in ("edd", "mdd", "aug_mddc"):
        assert f">{name}<" in page  # baselines marked on the Pareto chart


def test_program_page_shows_code_parents_calls_and_instances(
        app: BrowserApp, store: Archive, browser_archive: BrowserArchive) -> None:
    detail = next(store.program(p) for p in browser_archive.main.program_ids[60:]
                  if len(store.program(p).parents) == 2 and store.program(p).evaluations)
    page = app.handle("GET", f"/program/{detail.id}").text
    text = html.unescape(re.sub(r"<[^>]+>", "", page))
    for line in detail.program.code.splitlines():
        assert line in text
    for parent in detail.parents:
        assert f'data-parent="{parent.program_id}"' in page
    for call in detail.model_calls:
        assert call.prompt.splitlines()[0] in text
    for result in next(iter(detail.evaluations.values())).per_instance:
        assert result.instance in text
    for evaluation in detail.evaluations.values():
        shown = "—" if evaluation.steps is None else f"{evaluation.steps:,}"
        assert f'<td class="n steps">{shown}</td>' in page
    assert any(e.steps is not None for e in detail.evaluations.values())


def test_code_download_is_the_exact_code(app: BrowserApp, store: Archive,
                                         browser_archive: BrowserArchive) -> None:
    pid = browser_archive.main.hostile_id
    assert pid is not None
    response = app.handle("GET", f"/program/{pid}/code.py")
    assert response.body.decode() == store.program(pid).program.code
    assert ("Content-Disposition", f'attachment; filename="program_{pid}.py"') in response.headers


def test_export_needs_the_token_and_an_exporter(browser_archive: BrowserArchive,
                                                app: BrowserApp) -> None:
    calls: list[int] = []

    def exporter(program_id: int) -> ExportedFile:
        calls.append(program_id)
        if program_id == 2:
            raise ExportUnavailable("cannot export <this>")
        return ExportedFile(f"program_{program_id}.py", b"# exported\n")

    with_export = BrowserApp(app.archive, exporter=exporter, token="secret")
    page = with_export.handle("GET", "/program/1").text
    assert 'name="token" value="secret"' in page
    assert 'name="token"' not in app.handle("GET", "/program/1").text
    assert with_export.handle("POST", "/program/1/export", {}).status == 403
    assert with_export.handle("POST", "/program/1/export", {"token": ["wrong"]}).status == 403
    assert calls == []
    ok = with_export.handle("POST", "/program/1/export", {"token": ["secret"]})
    assert ok.status == 200 and ok.body == b"# exported\n" and calls == [1]
    failed = with_export.handle("POST", "/program/2/export", {"token": ["secret"]})
    assert failed.status == 422 and "cannot export &lt;this&gt;" in failed.text
    assert app.handle("POST", "/program/1/export", {"token": [app.token]}).status == 404
    with pytest.raises(ValueError):
        ExportedFile('bad"name.py', b"")
