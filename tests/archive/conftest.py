"""Fixtures for archive tests: a fresh archive per test and a few records.

The ``archive`` fixture is a new SQLite file, then a fresh database on the test
PostgreSQL server (``DISCOVER_TEST_POSTGRES_URL``, or a cluster the session starts
from the installed binaries); see ``tests/postgres_fixtures.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from archive import Archive, Evaluation, EvaluationStatus, InstanceResult, ModelCall, Program, Split


@pytest.fixture
def archive_path(tmp_path: Path) -> Path:
    """Where the test's archive file lives."""
    return tmp_path / "archive.sqlite"


@pytest.fixture
def database_url(archive_url: str) -> str:
    """URL of a new, empty database on each backend under test.

    SQLite at :func:`archive_path`, then a fresh PostgreSQL database; the
    PostgreSQL case skips without PostgreSQL installed (fails under
    ``DISCOVER_TEST_REQUIRE_ALL=1``; see ``tests/postgres_fixtures.py``).
    """
    return archive_url


@pytest.fixture
def archive(database_url: str) -> Iterator[Archive]:
    """A new, empty archive (SQLite file; also PostgreSQL when configured)."""
    with Archive.open(database_url) as store:
        yield store


@pytest.fixture
def sqlite_archive(archive_path: Path) -> Iterator[Archive]:
    """A new, empty SQLite archive, for tests of SQLite-specific behaviour."""
    with Archive.open(f"sqlite:///{archive_path}") as store:
        yield store


@pytest.fixture
def run_id(archive: Archive) -> int:
    """A running SMTT run with budget 10."""
    return archive.create_run("smtt", {"budget": 10, "seed": 7}, seed=7, budget=10,
                              isolation="process")


def make_program(k: int, *, generation: int = 0, island: int = 0,
                 operator: str = "modify") -> Program:
    """A distinct small SMTT program (``k`` changes the code)."""
    code = ("def schedule(processing_times, due_dates):\n"
            f"    # variant {k}\n"
            "    n = len(processing_times)\n"
            f"    return sorted(range(n), key=lambda j: (due_dates[j] + {k} * "
            "processing_times[j], j))\n")
    return Program(code=code, operator=operator, island=island, generation=generation,
                   idea=f"due date plus {k} times processing time")


def make_evaluation(split: Split, score: float | None, *,
                    status: EvaluationStatus = EvaluationStatus.OK) -> Evaluation:
    """An evaluation with two per-instance results."""
    return Evaluation(
        split=split, status=status, score=score, gap=score, seconds=0.25,
        error=None if status is EvaluationStatus.OK else "boom",
        per_instance=(InstanceResult("i0", objective=10.0, gap=1.0, seconds=0.1),
                      InstanceResult("i1", objective=20.0, gap=2.0, seconds=0.15)),
    )


def make_call(k: int = 0) -> ModelCall:
    """A model call with token counts and cost."""
    return ModelCall(provider="openai", model="gpt-4.1-mini", prompt=f"prompt {k}",
                     response=f"response {k}", tokens_in=100 + k, tokens_out=50, cost=0.001,
                     latency=1.5)
