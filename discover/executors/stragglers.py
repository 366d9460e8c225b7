"""Stragglers: evaluations on a Dask cluster to start again on another worker.

A slow or frozen worker must not stall the loop. An evaluation running far
beyond the usual time, or waiting on a worker whose heartbeat has stopped, gets
a second, speculative copy elsewhere; so does one computed but whose result
cannot be fetched from the worker holding it. Tasks are idempotent and the
first copy to finish completes the caller's future (the other is cancelled),
so nothing is recorded twice.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Iterator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from distributed import Future as DaskFuture

from discover.executors import remote
from sandbox import Outcome


@dataclass
class Task:
    """One evaluation asked for by the caller, and the Dask tasks running it (a straggler
    gets a second, speculative copy on another worker; the first result wins)."""

    future: Future[Outcome]
    request: remote.SandboxRequest
    dask_futures: list[DaskFuture] = field(default_factory=list)
    processing_since: float | None = None
    finished_at: float | None = None
    speculated: bool = False

    @property
    def keys(self) -> list[str]:
        """The Dask keys of its copies."""
        return [str(f.key) for f in self.dask_futures]



def stragglers(tasks: Iterable[Task], processing: Mapping[str, Iterable[Any]],
               silent: Collection[str], now: float, limit: float, unfetched_after: float,
               who_has: Callable[[list[DaskFuture]], Mapping[Any, Iterable[Any]]]
               ) -> Iterator[tuple[Task, list[str]]]:
    """Each task to copy, with the workers its copy may go to (lazily, in ``tasks`` order).

    Parameters
    ----------
    tasks
        The evaluations not speculated yet (a task's ``processing_since`` is set
        here the first time it is seen running).
    processing
        The scheduler's running keys by worker (``Client.processing()``).
    silent
        Workers whose heartbeat has stopped.
    now
        The current ``time.monotonic()``.
    limit
        Seconds a task may run on a responsive worker before it is copied.
    unfetched_after
        Seconds a finished task's result may stay unfetched before it is copied.
    who_has
        Which workers hold the results of some Dask futures (``Client.who_has``).
    """
    where = {str(k): w for w, keys in processing.items() for k in keys}
    for task in tasks:
        if task.future.done():
            continue
        worker = next((where[k] for k in task.keys if k in where), None)
        if worker is not None:
            if task.processing_since is None:
                task.processing_since = now
            if worker not in silent and now - task.processing_since <= limit:
                continue
            exclude = {worker}
        elif task.finished_at is not None and now - task.finished_at > unfetched_after:
            # Computed, but its result cannot be fetched from the worker holding it.
            holders = who_has(task.dask_futures)
            exclude = {str(w) for ws in holders.values() for w in ws}
        else:
            continue  # queued: waiting for a free worker is not straggling
        others = [w for w in processing if w not in exclude and w not in silent]
        if others:
            yield task, others
