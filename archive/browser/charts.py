"""The run page's charts as inline SVG: score over evaluations, failure mix, Pareto front.

Charts stay small however big the run: the score chart draws the running
best (one vertex per improvement) and a per-bucket median, the failure mix
has a bar per bucket, and the Pareto chart draws the front as points and the
other programs as a density grid, not as thousands of circles.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

from markupsafe import Markup

from archive.browser.run_digest import CATEGORIES, FrontPoint, RunDigest
from archive.browser.svg import (
    Scale,
    axes,
    domain,
    element,
    group,
    link,
    num,
    seconds_label,
    spread,
    svg,
)

WIDTH, HEIGHT = 640, 280
LEFT, RIGHT, TOP, BOTTOM = 56, 16, 14, 40

CATEGORY_COLOURS = {
    "ok": "#3b8f5a", "invalid_output": "#e6a23c", "exception": "#d9534f", "timeout": "#8e6cc0",
    "memory": "#5b7fbf", "crashed": "#7a3b2e", "forbidden": "#c03b8e", "rejected": "#9b9b5a",
    "too_slow": "#a77dc9", "cancelled": "#6c757d",
    "duplicate": "#b8b8b8", "unevaluated": "#e8e8e8",
}
TRAIN_COLOUR, VALIDATION_COLOUR, MEDIAN_COLOUR = "#2c6fbb", "#e07b00", "#9aa5b1"
BASELINE_COLOUR = "#c0392b"
LABEL_GUTTER, LABEL_GAP, LABEL_CHARS = 84, 12.0, 9
"""Score chart: width right of the plot for baseline labels, their spacing, name length."""


def program_href(program_id: int) -> str:
    """URL of a program's page."""
    return f"/program/{program_id}"


def _path(points: Sequence[tuple[float, float]], *, step: bool = False) -> str:
    parts: list[str] = []
    for k, (x, y) in enumerate(points):
        if k == 0:
            parts.append(f"M{num(x)},{num(y)}")
        elif step:
            parts.append(f"H{num(x)}V{num(y)}")
        else:
            parts.append(f"L{num(x)},{num(y)}")
    return "".join(parts)


def _short(name: str) -> str:
    return name if len(name) <= LABEL_CHARS else name[:LABEL_CHARS - 1] + "…"


def _baseline_marks(d: RunDigest, x: Scale, y: Scale) -> list[Markup]:
    """A dotted line per baseline across the plot, labelled in the gutter on its right.

    Classic heuristics often score within a few pixels of each other, so the
    labels are spread apart vertically (:func:`spread`) and each is tied to
    its line by a short leader.
    """
    shown = [b for b in d.baselines
             if b.train_gap is not None and y.lo <= b.train_gap <= y.hi]
    rows = [y(b.train_gap) for b in shown if b.train_gap is not None]
    at = spread(rows, LABEL_GAP, y.stop + LABEL_GAP / 2, y.start)
    parts = []
    for b, py, ly in zip(shown, rows, at, strict=True):
        assert b.train_gap is not None
        text = f"{_short(b.name)} {b.train_gap:.3g}"
        parts.append(group([
            element("line", x1=num(x.start), x2=num(x.stop), y1=num(py), y2=num(py),
                    class_="baseline-line", stroke=BASELINE_COLOUR),
            element("path", d=f"M{num(x.stop)},{num(py)}L{num(x.stop + 6)},{num(ly)}"
                              f"H{num(x.stop + 9)}",
                    class_="baseline-leader", stroke=BASELINE_COLOUR, fill="none"),
            element("text", text + element("title", f"{b.name}: train {b.train_gap:.4g}"),
                    x=num(x.stop + 11), y=num(ly), class_="baseline-label",
                    dominant_baseline="central", fill=BASELINE_COLOUR),
        ], class_="baseline-mark"))
    return parts


def score_chart(d: RunDigest) -> Markup:
    """Running best train score, median train score per bucket, validation scores."""
    values = [p.y for p in d.train_best] + [m for _, m in d.train_median] \
        + [p.y for p in d.validation] + [b.train_gap for b in d.baselines if b.train_gap]
    log = bool(values) and min(values) > 0 and max(values) / min(values) > 20
    lo, hi = domain(values, log=log)
    x_max = max([p.x for p in d.train_best] + [p.x for p in d.validation] + [1])
    gutter = LABEL_GUTTER if any(b.train_gap is not None and lo <= b.train_gap <= hi
                                 for b in d.baselines) else 0
    x = Scale(0, x_max, LEFT, WIDTH - RIGHT - gutter)
    y = Scale(lo, hi, HEIGHT - BOTTOM, TOP, log=log)
    parts = [axes(x, y, x_title="programs evaluated", y_title="score (mean gap %)",
                  height=HEIGHT)]
    parts.extend(_baseline_marks(d, x, y))
    if d.train_median:
        parts.append(element("path", d=_path([(x(a), y(m)) for a, m in d.train_median]),
                             fill="none", stroke=MEDIAN_COLOUR, stroke_width="1.5",
                             class_="series-median"))
    if d.train_best:
        parts.append(element("path", d=_path([(x(p.x), y(p.y)) for p in d.train_best],
                                             step=True),
                             fill="none", stroke=TRAIN_COLOUR, stroke_width="2",
                             class_="series-train"))
        for p in d.train_best[:-1] if len(d.train_best) > 1 else d.train_best:
            parts.append(link(program_href(p.program_id),
                              element("circle", cx=num(x(p.x)), cy=num(y(p.y)), r="3",
                                      fill=TRAIN_COLOUR, class_="train-point"),
                              f"program {p.program_id}: train {p.y:.4g} after {p.x}"))
    best_so_far: list[tuple[float, float]] = []
    for p in d.validation:
        if not best_so_far or p.y < best_so_far[-1][1]:
            best_so_far.append((p.x, p.y))
        parts.append(link(program_href(p.program_id),
                          element("rect", x=num(x(p.x) - 3.5), y=num(y(p.y) - 3.5), width="7",
                                  height="7", fill=VALIDATION_COLOUR, class_="validation-point"),
                          f"program {p.program_id}: validation {p.y:.4g} after {p.x}"))
    if best_so_far:
        best_so_far.append((x_max, best_so_far[-1][1]))
        parts.append(element("path", d=_path([(x(a), y(b)) for a, b in best_so_far], step=True),
                             fill="none", stroke=VALIDATION_COLOUR, stroke_width="1.5",
                             stroke_dasharray="5 3", class_="series-validation"))
    return svg(WIDTH, HEIGHT, parts, title="best score over evaluations")


def mix_chart(d: RunDigest) -> Markup:
    """Stacked bars: share of each outcome per bucket of recorded programs."""
    n = max((b.stop for b in d.mix), default=1)
    x = Scale(0, n, LEFT, WIDTH - RIGHT)
    y = Scale(0, 100, HEIGHT - BOTTOM, TOP)
    parts = [axes(x, y, x_title="programs recorded", y_title="share %", height=HEIGHT)]
    for bucket in d.mix:
        total = sum(bucket.counts.values())
        base = 0.0
        x0, x1 = x(bucket.start - 1), x(bucket.stop)
        for category in CATEGORIES:
            count = bucket.counts.get(category, 0)
            if not count:
                continue
            share = 100.0 * count / total
            top = y(base + share)
            parts.append(element(
                "rect", element("title", f"programs {bucket.start}–{bucket.stop}: {count} "
                                         f"{category} ({share:.0f} %)"),
                x=num(x0), y=num(top), width=num(max(x1 - x0 - 0.5, 0.5)),
                height=num(y(base) - top), fill=CATEGORY_COLOURS[category],
                class_=f"mix-{category}"))
            base += share
    return svg(WIDTH, HEIGHT, parts, title="failure mix over time")


def _density(points: Sequence[FrontPoint], x: Scale, y: Scale, cell: float = 8.0) -> Markup:
    xs = x.many(p.runtime for p in points)
    ys = y.many(p.gap for p in points)
    cells: Counter[tuple[int, int]] = Counter(
        (int((px - x.start) // cell), int((py - y.stop) // cell)) for px, py in zip(xs, ys,
                                                                                   strict=True))
    if not cells:
        return Markup("")
    peak = math.log1p(max(cells.values()))
    # Built directly: thousands of cells, all numbers (nothing to escape).
    parts = [f'<rect x="{num(x.start + i * cell)}" y="{num(y.stop + j * cell)}" '
             f'width="{num(cell)}" height="{num(cell)}" fill="#2c6fbb" '
             f'fill-opacity="{0.12 + 0.6 * math.log1p(c) / peak:.2f}" class="density"/>'
             for (i, j), c in sorted(cells.items())]
    return Markup(f'<g class="density-grid">{"".join(parts)}</g>')


def pareto_chart(d: RunDigest) -> Markup:
    """Gap vs mean seconds per instance: all programs (density), the front, the baselines."""
    marked = [b for b in d.baselines if b.train_gap and b.runtime and b.runtime > 0]
    xs = [p.runtime for p in d.points] + [b.runtime for b in marked if b.runtime]
    ys = [p.gap for p in d.points] + [b.train_gap for b in marked if b.train_gap]
    x_lo, x_hi = domain(xs, log=True)
    y_lo, y_hi = domain(ys, log=True)
    x = Scale(x_lo, x_hi, LEFT, WIDTH - RIGHT, log=True)
    y = Scale(y_lo, y_hi, HEIGHT - BOTTOM, TOP, log=True)
    parts = [axes(x, y, x_title="seconds per instance (mean, sandbox-measured)",
                  y_title="train gap %", height=HEIGHT, x_format=seconds_label)]
    parts.append(_density([p for p in d.points if p.gap > 0], x, y))
    front = [p for p in d.front if p.gap > 0]
    if front:
        parts.append(element("path", d=_path([(x(p.runtime), y(p.gap)) for p in front],
                                             step=True),
                             fill="none", stroke=TRAIN_COLOUR, stroke_width="1.5",
                             class_="front-line"))
    for p in front:
        parts.append(link(program_href(p.program_id),
                          element("circle", cx=num(x(p.runtime)), cy=num(y(p.gap)), r="4",
                                  fill=TRAIN_COLOUR, class_="front-point"),
                          f"program {p.program_id}: gap {p.gap:.4g} %, "
                          f"{p.runtime:.3g} s per instance"))
    for b in marked:
        assert b.runtime is not None and b.train_gap is not None
        px, py = x(b.runtime), y(b.train_gap)
        parts.append(group([
            element("path", element("title", f"{b.name}: gap {b.train_gap:.4g} %, "
                                              f"{b.runtime:.3g} s per instance"),
                    d=f"M{num(px)},{num(py - 6)}L{num(px + 6)},{num(py)}L{num(px)},"
                      f"{num(py + 6)}L{num(px - 6)},{num(py)}Z",
                    fill="#ffffff", stroke=BASELINE_COLOUR, stroke_width="2"),
            element("text", b.name, x=num(px + 8 if px < x.stop - 60 else px - 8),
                    y=num(py - 6), fill=BASELINE_COLOUR, class_="baseline-label",
                    text_anchor="start" if px < x.stop - 60 else "end"),
        ], class_="baseline"))
    return svg(WIDTH, HEIGHT, parts, title="gap versus runtime (Pareto front)")
