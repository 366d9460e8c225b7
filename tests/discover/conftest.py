"""Fixtures shared by tests under tests/discover (imported so that pytest registers them)."""

from tests.discover.archive_fixtures import smtt_run, smtt_train, smtt_validation

__all__ = ["smtt_run", "smtt_train", "smtt_validation"]
