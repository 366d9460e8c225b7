"""Draw a :class:`~archive.browser.lineage.LineageGraph`: generations left to right.

Columns are the generations present in the graph (empty ones skipped). The
graph is cut into chains that follow first parents and first children, so a
line of mutations is one straight row; each chain is packed into the free row
nearest to where it branched off (siblings side by side on one row), which
keeps edges short and the drawing low. Edges never cross a node: longer ones
run in the gutters between rows.
Nodes are coloured by train score on a log scale (yellow best, purple worst),
failures are grey, duplicates hollow; every node links to its program.
"""

from __future__ import annotations

import bisect
import math
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass

from markupsafe import Markup

from archive.browser.charts import program_href
from archive.browser.lineage import GraphNode, LineageGraph
from archive.browser.svg import colour, element, group, label, link, num, svg
from archive.records import EdgeRole

COLUMN, ROW, MARGIN, RADIUS = 54, 24, 24, 7
ROLE_CLASS = {EdgeRole.MUTATION: "edge-mutation", EdgeRole.CROSSOVER: "edge-crossover",
              EdgeRole.INSPIRATION: "edge-inspiration"}


@dataclass(frozen=True)
class ScoreRange:
    """Scores mapped to the colour scale: ``best`` → yellow, ``worst`` and above → purple."""

    best: float
    worst: float

    def t(self, score: float) -> float:
        """Position of ``score`` on the colour scale (1 best, 0 worst)."""
        lo, hi = max(self.best, 1e-9), max(self.worst, self.best * 1.0001, 1e-9)
        value = min(max(score, lo), hi)
        if hi <= lo:
            return 1.0
        return 1.0 - (math.log(value) - math.log(lo)) / (math.log(hi) - math.log(lo))


def score_range(graph: LineageGraph) -> ScoreRange | None:
    """Best score and 90th-percentile score of the graph's nodes (``None`` if none scored)."""
    scores = sorted(n.score for n in graph.nodes.values() if n.score is not None)
    if not scores:
        return None
    return ScoreRange(scores[0], scores[min(len(scores) - 1, int(0.9 * len(scores)))])


def _chains(graph: LineageGraph) -> list[tuple[list[int], int | None]]:
    """Split the graph into chains (paths through first parents and first children).

    Each chain comes with the node it branched from (``None`` for the first),
    so it can be drawn near it. Mutation lines become straight rows; a
    crossover or inspiration parent starts a new chain.
    """
    parents: dict[int, list[int]] = defaultdict(list)
    children: dict[int, list[int]] = defaultdict(list)
    for e in graph.edges:
        parents[e.child].append(e.parent)
        children[e.parent].append(e.child)
    generation = {n.id: n.generation for n in graph.nodes.values()}
    placed: set[int] = set()
    chains: list[tuple[list[int], int | None]] = []
    pending: deque[tuple[int, int | None]] = deque((r, None) for r in graph.roots
                                                   if r in graph.nodes)
    pending.extend((n, None) for n in sorted(graph.nodes))  # anything unreachable
    while pending:
        start, anchor = pending.popleft()
        if start in placed:
            continue
        chain = [start]
        placed.add(start)
        for step, later in ((parents, False), (children, True)):
            node = start
            while True:
                # Only strictly older parents and strictly younger children extend
                # a chain, so no two nodes of a chain share a column.
                nxt = next((n for n in step[node] if n not in placed and n in graph.nodes
                            and (generation[n] > generation[node]) == later
                            and generation[n] != generation[node]), None)
                if nxt is None:
                    break
                placed.add(nxt)
                chain.append(nxt)
                node = nxt
        chains.append((chain, anchor))
        for node in chain:
            pending.extendleft((n, node) for n in reversed(parents[node] + children[node])
                               if n not in placed)
    return chains


def layout(graph: LineageGraph) -> dict[int, tuple[float, float]]:
    """Pixel centre of every node: generation columns, chains packed into rows.

    A chain goes to the free row nearest the row of the node it branched from,
    but never into that row itself (it would read as a continuation of that
    line); a row is free when none of its chains overlaps the new one's
    columns. Siblings born in different generations therefore share a row, side
    by side, instead of each taking a new row: the drawing grows with the
    number of siblings per generation and with depth, not with the number of
    siblings. Edges between rows run in the gutters (:func:`edge_path`), so a
    chain need not keep the columns its edges cross free.
    """
    columns = {g: k for k, g in enumerate(sorted({n.generation for n in graph.nodes.values()}))}
    column = {n.id: columns[n.generation] for n in graph.nodes.values()}
    rows: list[list[tuple[int, int]]] = []  # per row: occupied column spans
    row_of: dict[int, int] = {}
    for chain, anchor in _chains(graph):
        span = [column[n] for n in chain]
        lo, hi = min(span), max(span)
        home = row_of.get(anchor) if anchor is not None else None
        target = home if home is not None else 0
        free = [r for r, spans in enumerate(rows)
                if r != home and all(hi < a or lo > b for a, b in spans)]
        row = min(free, key=lambda r: (abs(r - target), r)) if free else len(rows)
        if row == len(rows):
            rows.append([])
        rows[row].append((lo, hi))
        for n in chain:
            row_of[n] = row
    return {n: (MARGIN + RADIUS + column[n] * COLUMN, MARGIN + RADIUS + row_of[n] * ROW)
            for n in graph.nodes}


def edge_path(start: tuple[float, float], end: tuple[float, float], *, blocked: bool) -> str:
    """SVG path data of an edge that passes no node.

    Nodes sit only at column centres on row lines, so an edge is safe where it
    runs between columns or between rows. Neighbouring columns (or a free
    stretch of one row) get a single S-curve, which changes row between the
    columns. A longer edge leaves its parent with such a curve into the gutter
    next to the child's row (on the parent's side, or below when both share a
    row), runs along the gutter, and curves into the child in its last
    column: siblings of one parent share that run, like a comb.

    Parameters
    ----------
    start, end
        Centres of the parent and the child.
    blocked
        Both lie on one row with other nodes between them.
    """
    (x0, y0), (x1, y1) = start, end
    if abs(x1 - x0) <= COLUMN + 1 and not (blocked or math.isclose(x0, x1)):
        mid = (x0 + x1) / 2
        return (f"M{num(x0)},{num(y0)}C{num(mid)},{num(y0)} {num(mid)},{num(y1)} "
                f"{num(x1)},{num(y1)}")
    if math.isclose(y0, y1) and not blocked:
        return f"M{num(x0)},{num(y0)}L{num(x1)},{num(y1)}"
    way = 1.0 if x1 >= x0 else -1.0
    gutter = y1 - ROW / 2 if y1 > y0 else y1 + ROW / 2
    a, b = x0 + way * COLUMN, x1 - way * COLUMN
    ma, mb = x0 + way * COLUMN / 2, x1 - way * COLUMN / 2
    return (f"M{num(x0)},{num(y0)}C{num(ma)},{num(y0)} {num(ma)},{num(gutter)} "
            f"{num(a)},{num(gutter)}L{num(b)},{num(gutter)}"
            f"C{num(mb)},{num(gutter)} {num(mb)},{num(y1)} {num(x1)},{num(y1)}")


def _blocked(where: dict[int, tuple[float, float]]) -> Callable[[int, int], bool]:
    """Whether the straight line between two nodes of one row would cross another node."""
    rows: dict[float, list[float]] = defaultdict(list)
    for x, y in where.values():
        rows[y].append(x)
    for xs in rows.values():
        xs.sort()

    def blocked(p: int, c: int) -> bool:
        (x0, y0), (x1, y1) = where[p], where[c]
        if y0 != y1:
            return False
        xs = rows[y0]
        lo, hi = min(x0, x1), max(x0, x1)
        return bisect.bisect_left(xs, hi) - bisect.bisect_right(xs, lo) > 0

    return blocked


def _tooltip(node: GraphNode) -> str:
    if node.duplicate_of is not None:
        outcome = f"duplicate of {node.duplicate_of}"
    elif node.score is not None:
        outcome = f"train {label(node.score)}"
    else:
        outcome = node.status.value if node.status is not None else "not evaluated"
    return (f"program {node.id} · generation {node.generation} · island {node.island} · "
            f"{node.operator} · {outcome}")


def _node(node: GraphNode, x: float, y: float, scale: ScoreRange | None, root: bool) -> Markup:
    if node.duplicate_of is not None:
        fill, css = "#ffffff", "node node-duplicate"
    elif node.score is None:
        fill, css = "#c8c8c8", "node node-failed"
    else:
        fill = colour(scale.t(node.score)) if scale is not None else colour(0.5)
        css = "node node-ok"
    if root:
        css += " node-root"
    shape = element("circle", cx=num(x), cy=num(y), r=str(RADIUS + (2 if root else 0)),
                    fill=fill, class_=css, data_program=str(node.id))
    return link(program_href(node.id), shape, _tooltip(node))


def _label(node: GraphNode, x: float, y: float) -> Markup:
    return link(program_href(node.id), element("text", str(node.id), x=num(x),
                                               y=num(y + RADIUS + 10), class_="node-label",
                                               text_anchor="middle"))


def lineage_svg(graph: LineageGraph, *, title: str) -> Markup:
    """The graph as inline SVG (empty string for an empty graph)."""
    if not graph.nodes:
        return Markup("")
    where = layout(graph)
    scale = score_range(graph)
    blocked = _blocked(where)
    edges = [element("path", d=edge_path(where[e.parent], where[e.child],
                                         blocked=blocked(e.parent, e.child)),
                     class_=f"edge {ROLE_CLASS[e.role]}", fill="none")
             for e in graph.edges]
    roots = set(graph.roots)
    labels = len(graph.nodes) <= 400
    ordered = sorted(graph.nodes.values(), key=lambda n: n.id)
    nodes = [_node(n, *where[n.id], scale, n.id in roots) for n in ordered]
    # Labels after every node: a node of the next row (a starting program's
    # thick ring) would otherwise cover the label above it.
    names = [_label(n, *where[n.id]) for n in ordered if labels or n.id in roots]
    width = int(max(x for x, _ in where.values()) + RADIUS + MARGIN)
    height = int(max(y for _, y in where.values()) + RADIUS + MARGIN + 10)
    return svg(width, height, [group(edges, class_="edges"), group(nodes, class_="nodes"),
                               group(names, class_="labels")],
               title=title, class_="lineage")
