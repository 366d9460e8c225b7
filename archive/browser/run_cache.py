"""The runs list and run pages, kept until the archive changes.

A page of a 10,000-program run costs a few hundred milliseconds to derive
from scratch, so each run keeps a :class:`~archive.browser.timeline.RunTimeline`
that is refreshed with only the rows added since (a few index look-ups when
nothing changed) and a page that is recomputed only when the refresh found
something new. The runs list is keyed by the archive's version: the largest
id in every table and every run's status. Rows are only ever added, never
changed, so any write changes the version.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import Session

from archive.browser.charts import mix_chart, pareto_chart, score_chart
from archive.browser.lineage import LineageGraph, neighbourhood
from archive.browser.lineage_svg import lineage_svg
from archive.browser.run_digest import RunDigest, build_digest
from archive.browser.runs_list import RunListEntry, list_runs
from archive.browser.runtimes import RuntimeCache
from archive.browser.timeline import RunTimeline
from archive.models import EvaluationRow, LineageEdgeRow, ModelCallRow, ProgramRow, RunRow
from archive.queries import get_run

LINEAGE_ROOTS = 5
"""Best train programs whose ancestry the run page draws."""
LINEAGE_DEPTH = 10
"""Generations of ancestors drawn (the program lineage page goes further)."""
LINEAGE_NODES = 150


@dataclass(frozen=True)
class RunView:
    """A run page's data and its rendered charts."""

    digest: RunDigest
    score_svg: Markup
    mix_svg: Markup
    pareto_svg: Markup
    lineage: LineageGraph
    lineage_svg: Markup


def archive_version(session: Session) -> tuple[Any, ...]:
    """Changes whenever anything is written to the archive."""
    maxima = session.connection().execute(sa.select(
        sa.select(sa.func.max(ProgramRow.id)).scalar_subquery(),
        sa.select(sa.func.max(EvaluationRow.id)).scalar_subquery(),
        sa.select(sa.func.max(LineageEdgeRow.id)).scalar_subquery(),
        sa.select(sa.func.max(ModelCallRow.id)).scalar_subquery(),
    )).one()
    runs = session.connection().execute(sa.select(RunRow.id, RunRow.status, RunRow.finished_at)
                           .order_by(RunRow.id)).all()
    return (tuple(maxima), tuple(tuple(r) for r in runs))


def run_view(session: Session, timeline: RunTimeline, runtimes: RuntimeCache) -> RunView:
    """Compute a run page from a refreshed timeline."""
    run_id = timeline.run_id
    digest = build_digest(get_run(session, run_id), timeline, runtimes.points(session, run_id))
    roots = [r.program_id for r in digest.top_train[:LINEAGE_ROOTS]]
    graph = neighbourhood(session, roots, max_nodes=LINEAGE_NODES, max_depth=LINEAGE_DEPTH)
    return RunView(digest, score_chart(digest), mix_chart(digest), pareto_chart(digest), graph,
                   lineage_svg(graph, title=f"ancestry of the best programs of run {run_id}"))


class RunCache:
    """The runs list (keyed by the archive version) and run pages (kept per run timeline)."""

    def __init__(self, size: int = 16) -> None:
        self.runtimes = RuntimeCache()
        self._size = size
        self._lock = threading.Lock()
        self._runs: tuple[tuple[Any, ...], list[RunListEntry]] | None = None
        self._views: OrderedDict[int, tuple[RunTimeline, RunView | None, threading.Lock]] = \
            OrderedDict()

    def runs(self, session: Session) -> list[RunListEntry]:
        """The runs list, recomputed only when the archive changed."""
        version = archive_version(session)
        with self._lock:
            if self._runs is not None and self._runs[0] == version:
                return self._runs[1]
        runs = list_runs(session)
        with self._lock:
            self._runs = (version, runs)
        return runs

    def run_view(self, session: Session, run_id: int) -> RunView:
        """A run page: its timeline is refreshed, the page recomputed only if it changed."""
        get_run(session, run_id)  # NotFoundError before anything is cached
        with self._lock:
            entry = self._views.get(run_id)
            if entry is None:
                entry = (RunTimeline(run_id), None, threading.Lock())
                self._views[run_id] = entry
            self._views.move_to_end(run_id)
            while len(self._views) > self._size:
                self._views.popitem(last=False)
        timeline, view, lock = entry
        with lock:  # one computation per run at a time; others wait for its result
            timeline, view, _ = self._views.get(run_id, entry)
            if timeline.refresh(session) or view is None:
                view = run_view(session, timeline, self.runtimes)
            with self._lock:
                self._views[run_id] = (timeline, view, lock)
        return view

    def forget_pages(self) -> None:
        """Drop the cached runs list and run pages (runtimes, which never go stale, stay)."""
        with self._lock:
            self._runs = None
            self._views = OrderedDict(
                (k, (RunTimeline(k), None, lock)) for k, (_, _, lock) in self._views.items())

    def warm(self, session: Session) -> None:
        """Build the runs list and the pages of the newest runs (as many as are kept)."""
        ids = list(session.scalars(sa.select(RunRow.id).order_by(RunRow.id.desc())
                                   .limit(self._size)))
        self.runs(session)
        for run_id in ids:
            self.run_view(session, run_id)
