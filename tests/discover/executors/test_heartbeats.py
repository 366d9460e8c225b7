"""Heartbeats: a worker whose scheduler record stops moving is silent until it beats again."""

from __future__ import annotations

import pytest

from discover.executors.heartbeats import MISSED_BEATS, Heartbeats


def _records(**last_seen: float) -> dict[str, dict[str, float]]:
    return {f"tcp://{name}": {"last_seen": seen} for name, seen in last_seen.items()}


def test_a_worker_whose_heartbeat_stops_falls_silent_and_recovers_when_it_beats() -> None:
    beats = Heartbeats(patience=5.0)
    beats.update(_records(a=100.0, b=100.0), now=0.0)
    assert beats.silent == frozenset() and beats.responsive() == ["tcp://a", "tcp://b"]
    beats.update(_records(a=104.0, b=100.0), now=4.0)
    beats.update(_records(a=105.0, b=100.0), now=5.0)
    assert beats.silent == frozenset(), "silent for exactly the patience is not yet silent"
    beats.update(_records(a=106.0, b=100.0), now=5.5)
    assert beats.silent == {"tcp://b"} and beats.responsive() == ["tcp://a"]
    beats.update(_records(a=107.0, b=107.0), now=6.0)  # b resumed (SIGCONT)
    assert beats.silent == frozenset()


def test_only_the_change_counts_not_the_schedulers_clock() -> None:
    # The scheduler's clock may be far off ours: a stale but recent-looking value is silence.
    beats = Heartbeats(patience=5.0)
    beats.update(_records(a=1e12), now=0.0)
    beats.update(_records(a=1e12), now=6.0)
    assert beats.silent == {"tcp://a"}


def test_new_workers_count_as_just_beaten_and_departed_ones_are_forgotten() -> None:
    beats = Heartbeats(patience=5.0)
    beats.update(_records(a=1.0), now=0.0)
    beats.update(_records(a=1.0, b=1.0), now=6.0)
    assert beats.silent == {"tcp://a"}
    beats.update(_records(b=1.0), now=6.5)
    assert beats.silent == frozenset() and beats.workers == ("tcp://b",)


def test_patience_grows_with_the_schedulers_heartbeat_interval() -> None:
    # 300 workers beat every 2.5 s: ten missed beats are 25 s, beyond a patience of 5 s.
    beats = Heartbeats(patience=5.0)
    many = {f"tcp://w{i}": {"last_seen": 1.0} for i in range(300)}
    beats.update(many, now=0.0)
    beats.update(many, now=MISSED_BEATS * 2.5 - 1)
    assert beats.silent == frozenset()
    beats.update(many, now=MISSED_BEATS * 2.5 + 1)
    assert len(beats.silent) == 300


def test_small_clusters_get_ten_half_second_beats_even_with_less_patience() -> None:
    beats = Heartbeats(patience=1.0)
    beats.update(_records(a=1.0), now=0.0)
    beats.update(_records(a=1.0), now=4.9)
    assert beats.silent == frozenset()
    beats.update(_records(a=1.0), now=5.1)
    assert beats.silent == {"tcp://a"}


@pytest.mark.parametrize("patience", [0.0, -1.0, float("nan")])
def test_patience_must_be_positive(patience: float) -> None:
    with pytest.raises(ValueError, match="patience"):
        Heartbeats(patience=patience)
