"""The exact-reference cache: shared by runs, never degraded."""

from __future__ import annotations

import math

import pytest

from archive import Archive, CachedReference, IntegrityError, ReferenceStatus


def ref(fp: str, objective: float, bound: float, status: ReferenceStatus,
        method: str = "dp") -> CachedReference:
    return CachedReference(fp, method, objective, bound, status, seconds=0.5)


def test_put_and_get(archive: Archive) -> None:
    optimal = ref("a" * 64, 120.0, 120.0, ReferenceStatus.OPTIMAL)
    assert archive.get_reference(optimal.fingerprint, "dp") is None
    assert archive.put_reference(optimal) == optimal
    assert archive.get_reference(optimal.fingerprint, "dp") == optimal
    assert archive.get_reference(optimal.fingerprint, "mip") is None


def test_optimum_is_never_replaced_by_less(archive: Archive) -> None:
    optimal = ref("b", 50.0, 50.0, ReferenceStatus.OPTIMAL)
    archive.put_reference(optimal)
    assert archive.put_reference(ref("b", 60.0, 40.0, ReferenceStatus.TIMEOUT)) == optimal
    assert archive.get_reference("b", "dp") == optimal


def test_better_results_replace_weaker_ones(archive: Archive) -> None:
    archive.put_reference(ref("c", math.inf, 0.0, ReferenceStatus.TIMEOUT))
    feasible = ref("c", 70.0, 10.0, ReferenceStatus.FEASIBLE)
    assert archive.put_reference(feasible) == feasible
    assert archive.put_reference(ref("c", 80.0, 20.0, ReferenceStatus.FEASIBLE)) == feasible
    optimal = ref("c", 65.0, 65.0, ReferenceStatus.OPTIMAL)
    assert archive.put_reference(optimal) == optimal
    assert archive.get_reference("c", "dp") == optimal


def test_disagreeing_optima_are_an_error(archive: Archive) -> None:
    archive.put_reference(ref("d", 10.0, 10.0, ReferenceStatus.OPTIMAL))
    with pytest.raises(IntegrityError, match="disagree"):
        archive.put_reference(ref("d", 11.0, 11.0, ReferenceStatus.OPTIMAL))


def test_bulk_get_and_put(archive: Archive) -> None:
    items = [ref(f"{k:064x}", float(k), float(k), ReferenceStatus.OPTIMAL) for k in range(1200)]
    archive.put_references(items)
    found = archive.get_references([r.fingerprint for r in items] + ["missing"], "dp")
    assert len(found) == 1200
    assert found[items[700].fingerprint] == items[700]
    assert math.isinf(archive.put_reference(
        ref("inf", math.inf, 3.0, ReferenceStatus.TIMEOUT)).objective)
    assert math.isinf(archive.get_reference("inf", "dp").objective)  # type: ignore[union-attr]


def test_cache_is_shared_between_connections(archive: Archive) -> None:
    archive.put_reference(ref("e", 5.0, 5.0, ReferenceStatus.OPTIMAL))
    with Archive.open(archive.engine.url) as other:
        assert other.get_reference("e", "dp") == ref("e", 5.0, 5.0, ReferenceStatus.OPTIMAL)
