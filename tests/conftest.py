"""Shared fixtures: paths to the read-only benchmark data beside the project root."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.postgres_fixtures import archive_url, postgres_server, postgres_url

__all__ = ["archive_url", "postgres_server", "postgres_url"]

ROOT = Path(__file__).resolve().parent.parent
SHARED_BENCHMARKS = ROOT.parent / "shared" / "benchmarks"
SMTT_PAPER = SHARED_BENCHMARKS / "smtt" / "cetinkaya2025"
ORLIB_WT = SHARED_BENCHMARKS / "smtt" / "orlib-wt"


@pytest.fixture(scope="session")
def shared_benchmarks() -> Path:
    """``../shared/benchmarks`` relative to the project root; fails loudly if absent."""
    if not SHARED_BENCHMARKS.is_dir():
        pytest.fail(f"benchmark data not found at {SHARED_BENCHMARKS}")
    return SHARED_BENCHMARKS


@pytest.fixture(scope="session")
def smtt_paper_dir(shared_benchmarks: Path) -> Path:
    """The seed paper's SMTT instance files."""
    return shared_benchmarks / "smtt" / "cetinkaya2025"


@pytest.fixture(scope="session")
def orlib_wt_dir(shared_benchmarks: Path) -> Path:
    """OR-Library weighted tardiness files."""
    return shared_benchmarks / "smtt" / "orlib-wt"
