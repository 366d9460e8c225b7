"""The runs list and run pages, kept until the archive changes.

A finished run never changes, and a page of a 10,000-program run costs a few
hundred milliseconds to derive, so the derived figures are cached and keyed by
a *version*: for a run page, the run's status and the count and largest id of
its programs, evaluations and model calls; for the runs list, the largest ids
in every table and every run's status. Rows are only ever added, never
changed, so any write changes the version, and reading it costs a few index
scans. A run still going is recomputed when it has changed; a finished one is
computed once.
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
from archive.models import EvaluationRow, LineageEdgeRow, ModelCallRow, ProgramRow, RunRow

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


def run_version(session: Session, run_id: int) -> tuple[Any, ...]:
    """Changes whenever anything is written to run ``run_id`` (a few index scans)."""
    run = session.connection().execute(sa.select(RunRow.status, RunRow.finished_at)
                          .where(RunRow.id == run_id)).one_or_none()
    programs = session.connection().execute(sa.select(sa.func.count(), sa.func.max(ProgramRow.id))
                               .where(ProgramRow.run_id == run_id)).one()
    evaluations = session.connection().execute(
        sa.select(sa.func.count(), sa.func.max(EvaluationRow.id))
        .join(ProgramRow, ProgramRow.id == EvaluationRow.program_id)
        .where(ProgramRow.run_id == run_id)).one()
    calls = session.connection().execute(sa.select(sa.func.count(), sa.func.max(ModelCallRow.id))
                            .where(ModelCallRow.run_id == run_id)).one()
    return (None if run is None else tuple(run), tuple(programs), tuple(evaluations),
            tuple(calls))


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


def run_view(session: Session, run_id: int, runtimes: RuntimeCache) -> RunView:
    """Compute a run page from scratch."""
    digest = build_digest(session, run_id, runtimes.get(session, run_id))
    roots = [r.program_id for r in digest.top_train[:LINEAGE_ROOTS]]
    graph = neighbourhood(session, roots, max_nodes=LINEAGE_NODES, max_depth=LINEAGE_DEPTH)
    return RunView(digest, score_chart(digest), mix_chart(digest), pareto_chart(digest), graph,
                   lineage_svg(graph, title=f"ancestry of the best programs of run {run_id}"))


class RunCache:
    """Version-keyed cache of the runs list and of the most recently viewed run pages."""

    def __init__(self, size: int = 16) -> None:
        self.runtimes = RuntimeCache()
        self._size = size
        self._lock = threading.Lock()
        self._runs: tuple[tuple[Any, ...], list[RunListEntry]] | None = None
        self._views: OrderedDict[int, tuple[tuple[Any, ...], RunView]] = OrderedDict()

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
        """A run page, recomputed only when the run changed."""
        version = run_version(session, run_id)
        with self._lock:
            hit = self._views.get(run_id)
            if hit is not None and hit[0] == version:
                self._views.move_to_end(run_id)
                return hit[1]
        view = run_view(session, run_id, self.runtimes)
        with self._lock:
            self._views[run_id] = (version, view)
            self._views.move_to_end(run_id)
            while len(self._views) > self._size:
                self._views.popitem(last=False)
        return view

    def forget_pages(self) -> None:
        """Drop the cached runs list and run pages (runtimes, which never go stale, stay)."""
        with self._lock:
            self._runs = None
            self._views.clear()

    def warm(self, session: Session) -> None:
        """Read every run's runtimes, then build the newest run's page."""
        ids = list(session.scalars(sa.select(RunRow.id).order_by(RunRow.id.desc())))
        self.runtimes.warm(session, ids)
        self.runs(session)
        if ids:
            self.run_view(session, ids[0])
