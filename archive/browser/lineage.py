"""Lineage subgraphs for the browser: bounded breadth-first walks over ``lineage_edges``.

A run of ten thousand programs has one connected lineage; drawing all of it
helps nobody. The run page shows the ancestry of its best programs, the
program page a neighbourhood of one program, each capped at ``max_nodes``
(nearest first), with a flag saying when the cap cut the graph.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.models import EvaluationRow, LineageEdgeRow, ProgramRow
from archive.records import EdgeRole, EvaluationStatus, Split

_CHUNK = 500


@dataclass(frozen=True)
class GraphNode:
    """A program in a lineage drawing, with its train outcome."""

    id: int
    generation: int
    island: int
    operator: str
    duplicate_of: int | None
    status: EvaluationStatus | None
    score: float | None
    """Train score when the evaluation is OK, else ``None``."""


@dataclass(frozen=True)
class GraphEdge:
    """Parent → child."""

    parent: int
    child: int
    role: EdgeRole


@dataclass(frozen=True)
class LineageGraph:
    """Nodes and the edges among them; ``roots`` are the programs the walk started from."""

    nodes: Mapping[int, GraphNode]
    edges: tuple[GraphEdge, ...]
    roots: tuple[int, ...]
    truncated: bool


def _chunks(ids: Sequence[int]) -> Iterable[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start:start + _CHUNK])


def _walk(session: Session, starts: Sequence[int], *, upward: bool, max_nodes: int,
          max_depth: int | None, seen: set[int]) -> bool:
    """Add nodes reachable from ``starts`` to ``seen``, level by level; True if cut short."""
    near = LineageEdgeRow.child_id if upward else LineageEdgeRow.parent_id
    far = LineageEdgeRow.parent_id if upward else LineageEdgeRow.child_id
    frontier = list(starts)
    depth = 0
    while frontier and (max_depth is None or depth < max_depth):
        depth += 1
        found: list[int] = []
        for chunk in _chunks(frontier):
            for (node,) in session.connection().execute(
                    sa.select(far).where(near.in_(chunk)).distinct().order_by(far)):
                if node in seen:
                    continue
                if len(seen) >= max_nodes:
                    return True
                seen.add(node)
                found.append(node)
        frontier = found
    return False


def nodes_of(session: Session, ids: Iterable[int]) -> dict[int, GraphNode]:
    """Graph nodes (with train outcome) for program ``ids``."""
    train = sa.and_(EvaluationRow.program_id == ProgramRow.id, EvaluationRow.split == Split.TRAIN)
    out = {}
    for chunk in _chunks(sorted(set(ids))):
        rows = session.connection().execute(
            sa.select(ProgramRow.id, ProgramRow.generation, ProgramRow.island,
                      ProgramRow.operator, ProgramRow.duplicate_of, EvaluationRow.status,
                      EvaluationRow.score)
            .outerjoin(EvaluationRow, train).where(ProgramRow.id.in_(chunk)))
        for pid, generation, island, operator, duplicate_of, status, score in rows:
            ok = status is EvaluationStatus.OK and score is not None
            out[pid] = GraphNode(pid, generation, island, operator, duplicate_of, status,
                                 float(score) if ok and score is not None else None)
    return out


def edges_among(session: Session, ids: Iterable[int]) -> tuple[GraphEdge, ...]:
    """Every edge whose parent and child are both in ``ids``."""
    members = set(ids)
    edges = []
    for chunk in _chunks(sorted(members)):
        for parent, child, role in session.connection().execute(
            sa.select(LineageEdgeRow.parent_id, LineageEdgeRow.child_id, LineageEdgeRow.role)
            .where(LineageEdgeRow.child_id.in_(chunk)).order_by(LineageEdgeRow.id)
        ):
            if parent in members:
                edges.append(GraphEdge(parent, child, role))
    return tuple(edges)


def neighbourhood(session: Session, roots: Sequence[int], *, ancestors: bool = True,
                  descendants: bool = False, max_nodes: int = 250,
                  max_depth: int | None = None) -> LineageGraph:
    """The lineage around ``roots``: ancestors and/or descendants, at most ``max_nodes``."""
    seen = set(roots)
    truncated = False
    if ancestors:
        truncated |= _walk(session, roots, upward=True, max_nodes=max_nodes,
                           max_depth=max_depth, seen=seen)
    if descendants:
        truncated |= _walk(session, roots, upward=False, max_nodes=max_nodes,
                           max_depth=max_depth, seen=seen)
    return LineageGraph(nodes=nodes_of(session, seen), edges=edges_among(session, seen),
                        roots=tuple(roots), truncated=truncated)
