"""Fixtures for the browser tests: one synthetic archive per session, the app and a live server.

The archive holds a 120-program synthetic run (lineage, failures of every
kind, duplicates, validations, model calls, baselines, one program with
hostile code and texts) and a second, still running run whose problem name,
config and baseline name are hostile too. Tests only read it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from archive import Archive, Evaluation, EvaluationStatus, InstanceResult, Program, Split
from archive.browser import BrowserApp, BrowserServer, make_server, open_readonly
from tests.archive.browser.synthetic import HOSTILE, SyntheticRun, SyntheticSpec, build_run

HOSTILE_PROBLEM = "<i>smtt</i><script>window.__pwned=3</script>"


@dataclass(frozen=True)
class BrowserArchive:
    """Where the test archive is and what it holds."""

    path: Path
    main: SyntheticRun
    other_run: int
    other_program: int


SPEC = SyntheticSpec(programs=120, train_instances=12, validation_instances=6, validate_every=20,
                     hostile=True)


@pytest.fixture(scope="session")
def browser_archive(tmp_path_factory: pytest.TempPathFactory) -> BrowserArchive:
    """The shared read-only test archive."""
    path = tmp_path_factory.mktemp("browser") / "archive.sqlite"
    with Archive.open(path) as store:
        main = build_run(store, SPEC, np.random.default_rng(7))
        other = store.create_run(
            HOSTILE_PROBLEM,
            {"note": HOSTILE, "baselines": [{"name": HOSTILE, "train_gap": 5.0,
                                             "validation_gap": None, "runtime": 1e-4}]},
            seed=1, budget=5)
        code = ("def schedule(processing_times, due_dates):\n"
                "    return list(range(len(due_dates)))\n")
        lone = store.record_candidate(other, Program(code, "seed", idea="identity order"),
                                      evaluations=[Evaluation(
                                          Split.TRAIN, EvaluationStatus.OK, score=12.5, gap=12.5,
                                          seconds=0.1, per_instance=(InstanceResult(
                                              "only", objective=10.0, gap=12.5,
                                              seconds=1e-4),))])
    return BrowserArchive(path, main, other, lone)


@pytest.fixture(scope="session")
def store(browser_archive: BrowserArchive) -> Iterator[Archive]:
    """The test archive through the ordinary store API (the independent truth)."""
    with Archive.open(browser_archive.path, create=False) as archive:
        yield archive


@pytest.fixture(scope="session")
def app(browser_archive: BrowserArchive) -> Iterator[BrowserApp]:
    """The browser app over the test archive, opened read-only."""
    readonly = open_readonly(browser_archive.path)
    yield BrowserApp(readonly)
    readonly.close()


@pytest.fixture(scope="session")
def live_server(app: BrowserApp) -> Iterator[BrowserServer]:
    """The app served on a free loopback port."""
    server = make_server(app, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
