"""Alembic migrations of the archive schema (run programmatically by :mod:`archive.migrate`)."""
