"""Errors raised by the archive, each with a message fit for a command line."""

from __future__ import annotations


class ArchiveError(Exception):
    """Base class: the archive cannot do what was asked."""


class NotFoundError(ArchiveError, LookupError):
    """A run or program id does not exist in this archive."""


class IntegrityError(ArchiveError):
    """A write would break an invariant (unknown parent, second evaluation of a split...)."""


class SchemaError(ArchiveError):
    """The database schema cannot be brought to this version of discover."""
