"""The exact-reference cache: optima computed once per instance and method, shared by runs.

Which of two results for the same ``(fingerprint, method)`` the cache keeps:

* a proven optimum is never replaced by a non-optimal result (a later run with
  a shorter time limit must not degrade the cache);
* two optima must agree (to 1e-6 relative); disagreement means a solver bug
  and raises :class:`archive.errors.IntegrityError` rather than hiding it;
* between non-optimal results the smaller objective wins, then the higher bound.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.convert import reference_values, to_reference
from archive.errors import IntegrityError
from archive.models import ReferenceRow
from archive.records import CachedReference

_CHUNK = 500  # stay well below SQLite's bound-parameter limit in IN (...)
_LOCK_KEY = 0x72656663  # "refc": advisory-lock key of reference-cache writes on PostgreSQL


def get_many(session: Session, fingerprints: Sequence[str], method: str
             ) -> dict[str, CachedReference]:
    """Cached references of ``fingerprints`` for ``method``, by fingerprint."""
    found: dict[str, CachedReference] = {}
    unique = list(dict.fromkeys(fingerprints))
    for start in range(0, len(unique), _CHUNK):
        chunk = unique[start:start + _CHUNK]
        rows = session.scalars(
            sa.select(ReferenceRow).where(ReferenceRow.method == method,
                                          ReferenceRow.fingerprint.in_(chunk))
        )
        for row in rows:
            found[row.fingerprint] = to_reference(row)
    return found


def preferred(old: CachedReference, new: CachedReference) -> CachedReference:
    """The result the cache keeps when ``new`` arrives for ``old``'s key."""
    if old.is_optimal and new.is_optimal:
        if not math.isclose(old.objective, new.objective, rel_tol=1e-6, abs_tol=1e-6):
            raise IntegrityError(
                f"two optima disagree for instance {old.fingerprint[:12]}… with method "
                f"{old.method!r}: {old.objective} vs {new.objective}"
            )
        return old
    if old.is_optimal:
        return old
    if new.is_optimal:
        return new
    if (new.objective, -new.lower_bound) < (old.objective, -old.lower_bound):
        return new
    return old


def put_many(connection: sa.Connection, items: Sequence[CachedReference],
             now: dt.datetime) -> list[CachedReference]:
    """Insert or merge ``items`` (inside the caller's write transaction).

    Returns what the cache holds for each item afterwards, in order.
    """
    if connection.dialect.name == "postgresql":
        # Runs sharing a server cache the same instances at once; under READ COMMITTED
        # both would miss the row and both insert (unique violation). SQLite's
        # BEGIN IMMEDIATE serialises writers; here a transaction-scoped advisory
        # lock does (released at commit), and the reads below see the other's rows.
        connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_LOCK_KEY})")
    stored: dict[tuple[str, str], CachedReference | None] = {}
    kept: dict[tuple[str, str], CachedReference] = {}
    for item in items:
        key = (item.fingerprint, item.method)
        if key not in stored:
            row = connection.execute(
                sa.select(ReferenceRow).where(ReferenceRow.fingerprint == item.fingerprint,
                                              ReferenceRow.method == item.method)
            ).first()
            stored[key] = None if row is None else CachedReference(
                row.fingerprint, row.method, row.objective, row.lower_bound, row.status,
                row.seconds)
        previous = kept.get(key, stored[key])
        kept[key] = item if previous is None else preferred(previous, item)
    for key, value in kept.items():
        if stored[key] is None:
            connection.execute(sa.insert(ReferenceRow), reference_values(value, now))
        elif value != stored[key]:
            connection.execute(
                sa.update(ReferenceRow)
                .where(ReferenceRow.fingerprint == key[0], ReferenceRow.method == key[1])
                .values(reference_values(value, now))
            )
    return [kept[(item.fingerprint, item.method)] for item in items]
