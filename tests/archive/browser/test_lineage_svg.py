"""Lineage drawing geometry, server-side: siblings side by side, edges that pass no node."""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from archive.browser import BrowserApp
from archive.browser.lineage import GraphEdge, GraphNode, LineageGraph, neighbourhood
from archive.browser.lineage_svg import RADIUS, ROW, edge_path, layout, lineage_svg
from archive.records import EdgeRole, EvaluationStatus
from tests.archive.browser.conftest import BrowserArchive


@pytest.fixture
def session(app: BrowserApp) -> Iterator[Session]:
    with Session(app.archive.engine) as s:
        yield s


def _node(pid: int, generation: int) -> GraphNode:
    return GraphNode(pid, generation, 0, "modify", None, EvaluationStatus.OK, 1.0 + pid)


def _graph(generations: dict[int, int], edges: list[tuple[int, int]],
           roots: tuple[int, ...] = (1,)) -> LineageGraph:
    return LineageGraph({p: _node(p, g) for p, g in generations.items()},
                        tuple(GraphEdge(a, b, EdgeRole.MUTATION) for a, b in edges),
                        roots, truncated=False)


def _family(generations: int, per_generation: int) -> LineageGraph:
    """Program 1 (generation 0) with ``per_generation`` children in each later generation."""
    gens = {1: 0}
    for g in range(1, generations + 1):
        for k in range(per_generation):
            gens[1 + (g - 1) * per_generation + k + 1] = g
    return _graph(gens, [(1, c) for c in gens if c != 1])


def test_siblings_share_rows_and_height_does_not_grow_with_their_number() -> None:
    for per_generation in (1, 2, 3):
        heights = set()
        for generations in (5, 20, 60):
            where = layout(_family(generations, per_generation))
            rows = {y for _, y in where.values()}
            # The parent's row holds its first child; the other children share
            # one row per child born in the same generation.
            assert len(rows) <= per_generation + 1, (per_generation, generations, len(rows))
            heights.add(max(rows))
        assert len(heights) == 1


def test_a_chain_never_continues_in_the_row_of_the_node_it_branched_from() -> None:
    # 1 -> 2 -> 3 is a line of mutations; 4 is another child of 1, born after 3.
    # In 1's row it would read as 3's child.
    where = layout(_graph({1: 0, 2: 1, 3: 2, 4: 5}, [(1, 2), (2, 3), (1, 4)]))
    assert where[1][1] == where[2][1] == where[3][1] != where[4][1]


_NUMBER = r"-?\d+(?:\.\d+)?"


def _points(path: str, steps: int = 40) -> Iterator[tuple[float, float]]:
    """Points along an SVG path made of M, L, H and C commands (what lineage_svg writes)."""
    x = y = 0.0
    for command, args in re.findall(r"([MLHC])([^MLHC]*)", path):
        values = [float(v) for v in re.findall(_NUMBER, args)]
        if command == "M":
            x, y = values
            yield x, y
        elif command in "LH":
            x1, y1 = (values[0], y) if command == "H" else (values[0], values[1])
            for k in range(1, steps + 1):
                yield x + (x1 - x) * k / steps, y + (y1 - y) * k / steps
            x, y = x1, y1
        else:
            (ax, ay, bx, by, cx, cy) = values
            for k in range(1, steps + 1):
                t = k / steps
                u = 1 - t
                yield (u ** 3 * x + 3 * u * u * t * ax + 3 * u * t * t * bx + t ** 3 * cx,
                       u ** 3 * y + 3 * u * u * t * ay + 3 * u * t * t * by + t ** 3 * cy)
            x, y = cx, cy


def _edges_clear_of_nodes(graph: LineageGraph) -> None:
    where = layout(graph)
    assert len(set(where.values())) == len(where)  # no two nodes on one spot
    svg = str(lineage_svg(graph, title="t"))
    paths = re.findall(r'<path d="([^"]+)" class="edge', svg)
    assert len(paths) == len(graph.edges)
    for e, path in zip(graph.edges, paths, strict=True):
        others = [xy for n, xy in where.items() if n not in (e.parent, e.child)]
        for px, py in _points(path):
            for nx, ny in others:
                assert math.hypot(px - nx, py - ny) > RADIUS, (e, (px, py), (nx, ny))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 6), min_size=2, max_size=30), st.data())
def test_no_edge_passes_through_a_node(generations: list[int], data: st.DataObject) -> None:
    gens = {k + 1: g for k, g in enumerate(sorted(generations))}
    edges: list[tuple[int, int]] = []
    for child, g in gens.items():
        # Parents are older, or (odd data the drawing must survive) as old.
        older = [p for p, h in gens.items() if h < g or (h == g and p < child)]
        if older:
            picked = data.draw(st.lists(st.sampled_from(older), max_size=2, unique=True))
            edges.extend((p, child) for p in picked)
    _edges_clear_of_nodes(_graph(gens, edges, roots=(max(gens),)))


def test_no_edge_passes_through_a_node_in_the_test_run(
        session: Session, browser_archive: BrowserArchive) -> None:
    ids = browser_archive.main.program_ids
    for roots, up, down in ((list(ids[-10:]), True, True), ([ids[0]], False, True)):
        graph = neighbourhood(session, roots, ancestors=up, descendants=down, max_nodes=200)
        _edges_clear_of_nodes(graph)


def test_long_edges_run_between_rows() -> None:
    # Parent at (0, 0), child four columns right on the next row: the long
    # stretch runs half a row above the child, not along the child's row.
    path = edge_path((0.0, 0.0), (216.0, float(ROW)), blocked=False)
    flat = [y for x, y in _points(path) if 60 < x < 150]
    assert flat and all(math.isclose(y, ROW / 2) for y in flat)
