"""Which Dask workers still heartbeat, seen from the client.

A frozen worker (stopped, swapped out, its host paused) stays in the cluster
until the scheduler's worker TTL expires (minutes). Once the tasks it holds
are cancelled because a copy finished elsewhere, the scheduler sees it as an
idle worker and hands it new tasks, each of which then waits for the
straggler timeout before it is run again elsewhere. What gives a frozen
worker away is that the scheduler's record of its last heartbeat
(``last_seen``) stops moving; :class:`Heartbeats` watches that record on
this process's clock, since the scheduler's clock may differ from ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from distributed import Client
from distributed.scheduler import heartbeat_interval

MISSED_BEATS = 10
"""Heartbeat intervals without a beat after which a worker counts as silent (the
scheduler's own minimum time to live for a worker is ten intervals)."""


def worker_info(client: Client) -> Mapping[str, Mapping[str, Any]]:
    """The scheduler's record of every worker, by address."""
    try:
        info = client.scheduler_info(n_workers=-1)
    except TypeError:  # a distributed without n_workers returns every worker anyway
        info = client.scheduler_info()
    return dict(info.get("workers", {}))


@dataclass
class Heartbeats:
    """Tracks when each worker's heartbeat last moved, and which workers fell silent.

    Parameters
    ----------
    patience
        Seconds without a new heartbeat after which a worker counts as silent;
        at least :data:`MISSED_BEATS` of the scheduler's heartbeat intervals for
        the cluster's size (a large cluster beats less often).
    """

    patience: float
    _beats: dict[str, tuple[object, float]] = field(default_factory=dict)
    """Per worker: the last ``last_seen`` the scheduler reported, and when it changed."""
    silent: frozenset[str] = frozenset()
    """Workers whose heartbeat has not moved for too long, as of the last update."""
    workers: tuple[str, ...] = ()
    """Every worker the scheduler reported at the last update."""

    def __post_init__(self) -> None:
        if not self.patience > 0:
            raise ValueError(f"patience must be > 0 seconds, got {self.patience}")

    def update(self, workers: Mapping[str, Mapping[str, Any]], now: float) -> None:
        """Take in the scheduler's worker records (see :func:`worker_info`) seen at ``now``.

        A worker seen for the first time counts as having just beaten.
        """
        patience = max(self.patience, MISSED_BEATS * heartbeat_interval(len(workers)))
        beats: dict[str, tuple[object, float]] = {}
        for address, record in workers.items():
            seen = record.get("last_seen", record.get("last-seen"))
            before = self._beats.get(address)
            changed = before[1] if before is not None and before[0] == seen else now
            beats[address] = (seen, changed)
        self._beats = beats
        self.workers = tuple(sorted(beats))
        self.silent = frozenset(a for a, (_, changed) in beats.items()
                                if now - changed > patience)

    def responsive(self) -> list[str]:
        """Workers not silent, as of the last update (empty before the first)."""
        return [w for w in self.workers if w not in self.silent]
