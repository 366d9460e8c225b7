"""The program page and the compare view: one program's story, or two programs side by side."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import Session

from archive.browser.diffview import DiffStats, SideRow, UnifiedRow, side_rows, stats, unified_rows
from archive.browser.highlight import highlight_lines
from archive.models import ProgramRow
from archive.queries import get_run, program_detail, summaries
from archive.records import Evaluation, EvaluationStatus, InstanceResult, Parent, Split
from archive.views import ProgramDetail, ProgramSummary, RunRecord

MAX_CHILDREN = 60
"""Children listed on a program page (a popular parent can have hundreds)."""


@dataclass(frozen=True)
class ParentDiff:
    """The program against one of its parents."""

    parent: Parent
    summary: ProgramSummary
    rows: tuple[UnifiedRow, ...]
    stats: DiffStats


@dataclass(frozen=True)
class ProgramPage:
    """Everything the program page shows."""

    detail: ProgramDetail
    run: RunRecord
    lines: tuple[Markup, ...]
    """Highlighted code, one line each."""
    parent_diffs: tuple[ParentDiff, ...]
    children: tuple[ProgramSummary, ...]
    children_total: int
    original: ProgramSummary | None
    """The program this one duplicates, if any."""
    duplicates: int
    """Later programs recorded as duplicates of this one."""


def _codes(session: Session, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    rows = session.execute(sa.select(ProgramRow.id, ProgramRow.code).where(ProgramRow.id.in_(ids)))
    return {int(pid): str(code) for pid, code in rows}


def program_page(session: Session, program_id: int) -> ProgramPage:
    """Assemble the program page (raises NotFoundError for an unknown id)."""
    detail = program_detail(session, program_id)
    parent_ids = list(dict.fromkeys(p.program_id for p in detail.parents))
    codes = _codes(session, parent_ids)
    shown_children = list(detail.children[:MAX_CHILDREN])
    extra = [*parent_ids, *shown_children]
    if detail.duplicate_of is not None:
        extra.append(detail.duplicate_of)
    info = summaries(session, extra)
    diffs = tuple(
        ParentDiff(p, info[p.program_id],
                   tuple(unified_rows(codes[p.program_id], detail.program.code)),
                   stats(codes[p.program_id], detail.program.code))
        for p in detail.parents if p.program_id in codes
    )
    duplicates = session.execute(
        sa.select(sa.func.count()).select_from(ProgramRow)
        .where(ProgramRow.duplicate_of == program_id)).scalar_one()
    return ProgramPage(
        detail=detail, run=get_run(session, detail.run_id),
        lines=highlight_lines(detail.program.code), parent_diffs=diffs,
        children=tuple(info[c] for c in shown_children if c in info),
        children_total=len(detail.children),
        original=info.get(detail.duplicate_of) if detail.duplicate_of is not None else None,
        duplicates=int(duplicates),
    )


@dataclass(frozen=True)
class InstancePair:
    """One instance's results for programs A and B; ``winner`` is "a", "b" or "" (tie/none)."""

    instance: str
    a: InstanceResult | None
    b: InstanceResult | None
    winner: str

    @property
    def same(self) -> bool:
        """True when A and B show the same outcome (status, objective and gap) here."""
        a, b = self.a, self.b
        return (a is not None and b is not None and a.status is b.status
                and a.objective == b.objective and a.gap == b.gap)


@dataclass(frozen=True)
class SplitComparison:
    """Both programs on one split."""

    split: Split
    a: Evaluation | None
    b: Evaluation | None
    pairs: tuple[InstancePair, ...]
    """Every instance, in A's order then B's."""
    a_wins: int
    b_wins: int
    ties: int

    @property
    def differing(self) -> tuple[InstancePair, ...]:
        """Instances where A and B differ (what a reader looks for), in instance order."""
        return tuple(p for p in self.pairs if not p.same)

    @property
    def identical(self) -> tuple[InstancePair, ...]:
        """Instances with the same outcome for both (shown collapsed)."""
        return tuple(p for p in self.pairs if p.same)


@dataclass(frozen=True)
class ComparePage:
    """Two programs side by side."""

    a: ProgramDetail
    b: ProgramDetail
    rows: tuple[SideRow, ...]
    stats: DiffStats
    splits: tuple[SplitComparison, ...]


def _value(result: InstanceResult | None) -> float | None:
    if result is None or result.status is not EvaluationStatus.OK:
        return None
    return result.objective if result.objective is not None else result.gap


def _winner(a: InstanceResult | None, b: InstanceResult | None) -> str:
    va, vb = _value(a), _value(b)
    if va is None and vb is None:
        return ""
    if vb is None or (va is not None and va < vb):
        return "a"
    if va is None or vb < va:
        return "b"
    return ""


def compare_split(split: Split, a: Evaluation | None, b: Evaluation | None) -> SplitComparison:
    """Pair the per-instance results of ``a`` and ``b`` by instance key (A's order first)."""
    by_a: Mapping[str, InstanceResult] = {r.instance: r for r in a.per_instance} if a else {}
    by_b: Mapping[str, InstanceResult] = {r.instance: r for r in b.per_instance} if b else {}
    keys = list(dict.fromkeys([*by_a, *by_b]))
    pairs = tuple(InstancePair(k, by_a.get(k), by_b.get(k), _winner(by_a.get(k), by_b.get(k)))
                  for k in keys)
    a_wins = sum(p.winner == "a" for p in pairs)
    b_wins = sum(p.winner == "b" for p in pairs)
    return SplitComparison(split, a, b, pairs, a_wins, b_wins, len(pairs) - a_wins - b_wins)


def compare_page(session: Session, a: int, b: int) -> ComparePage:
    """Assemble the compare view of programs ``a`` and ``b``."""
    left, right = program_detail(session, a), program_detail(session, b)
    splits = tuple(compare_split(s, left.evaluations.get(s), right.evaluations.get(s))
                   for s in Split if s in left.evaluations or s in right.evaluations)
    return ComparePage(left, right, tuple(side_rows(left.program.code, right.program.code)),
                       stats(left.program.code, right.program.code), splits)
