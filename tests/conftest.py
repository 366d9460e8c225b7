"""Shared fixtures: paths to the bundled benchmark data (package data, no checkout needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.bundled import data_dir
from tests.postgres_fixtures import archive_url, postgres_server, postgres_url

__all__ = ["archive_url", "postgres_server", "postgres_url"]

ROOT = Path(__file__).resolve().parent.parent
SMTT_PAPER = data_dir("smtt") / "cetinkaya2025"
ORLIB_WT = data_dir("smtt") / "orlib-wt"


@pytest.fixture(scope="session")
def smtt_paper_dir() -> Path:
    """The seed paper's SMTT instance files (bundled: ``evaluators/smtt/data``)."""
    return SMTT_PAPER


@pytest.fixture(scope="session")
def orlib_wt_dir() -> Path:
    """OR-Library weighted tardiness files (bundled)."""
    return ORLIB_WT
