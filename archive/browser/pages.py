"""Page assembly for the routes that are not cached: programs table, program, lineage, compare."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import Session

from archive.browser.lineage import LineageGraph, neighbourhood
from archive.browser.lineage_svg import lineage_svg
from archive.browser.program_data import ComparePage, ProgramPage, compare_page, program_page
from archive.browser.programs_table import (
    Outcome,
    ProgramsPage,
    ProgramsQuery,
    SortKey,
    programs_page,
)
from archive.errors import NotFoundError
from archive.models import ProgramRow
from archive.queries import get_run
from archive.views import RunRecord

LINEAGE_NODES = 300


@dataclass(frozen=True)
class LineageView:
    """A program's neighbourhood in the lineage."""

    program_id: int
    run_id: int
    depth: int
    graph: LineageGraph
    svg: Markup


def _choice(params: Mapping[str, list[str]], name: str, default: str) -> str:
    values = params.get(name)
    return values[-1] if values and values[-1] else default


def programs_query(params: Mapping[str, list[str]]) -> ProgramsQuery:
    """Parse ``?page=&sort=&outcome=&island=`` (ValueError names a bad value)."""
    page, island = _choice(params, "page", "1"), _choice(params, "island", "")
    if not page.isdigit() or (island and not island.isdigit()):
        raise ValueError("page and island must be non-negative integers")
    try:
        sort = SortKey(_choice(params, "sort", SortKey.ID.value))
        outcome = Outcome(_choice(params, "outcome", Outcome.ANY.value))
    except ValueError:
        raise ValueError(f"sort must be one of {[s.value for s in SortKey]} and outcome one "
                         f"of {[o.value for o in Outcome]}") from None
    return ProgramsQuery(page=int(page), sort=sort, outcome=outcome,
                         island=int(island) if island else None)


def programs(session: Session, run_id: int, query: ProgramsQuery
             ) -> tuple[RunRecord, ProgramsPage]:
    """The run and one page of its programs."""
    return get_run(session, run_id), programs_page(session, run_id, query)


def program(session: Session, program_id: int) -> ProgramPage:
    """The program page."""
    return program_page(session, program_id)


def lineage(session: Session, program_id: int, depth: int) -> LineageView:
    """Ancestors and descendants of a program up to ``depth`` edges away."""
    run_id = session.execute(sa.select(ProgramRow.run_id).where(ProgramRow.id == program_id)
                             ).scalar_one_or_none()
    if run_id is None:
        raise NotFoundError(f"no program {program_id}")
    graph = neighbourhood(session, [program_id], ancestors=True, descendants=True,
                          max_nodes=LINEAGE_NODES, max_depth=depth)
    return LineageView(program_id, int(run_id), depth, graph,
                       lineage_svg(graph, title=f"lineage of program {program_id}"))


def compare(session: Session, a: int, b: int) -> ComparePage:
    """Programs ``a`` and ``b`` side by side."""
    return compare_page(session, a, b)


def code(session: Session, program_id: int) -> str:
    """A program's source."""
    text = session.execute(sa.select(ProgramRow.code).where(ProgramRow.id == program_id)
                           ).scalar_one_or_none()
    if text is None:
        raise NotFoundError(f"no program {program_id}")
    return str(text)
