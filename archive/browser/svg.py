"""Small helpers for server-side SVG: scales, ticks, colours, escaped elements.

Every attribute value and text node goes through :func:`markupsafe.escape`,
so labels taken from the archive (baseline names, program ids) cannot break
out of the markup.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Viridis, 9 stops (matplotlib's), from dark purple to yellow.
_VIRIDIS = ("#440154", "#472d7b", "#3b528b", "#2c728e", "#21918c", "#28ae80", "#5ec962",
            "#addc30", "#fde725")


def num(value: float) -> str:
    """A coordinate with one decimal (no exponent, no trailing noise)."""
    return f"{value:.1f}"


def label(value: float) -> str:
    """A tick or tooltip number, short: 3 significant digits, SI-free."""
    if value == 0:
        return "0"
    if abs(value) >= 1000 and value == int(value) and abs(value) < 1e9:
        return f"{int(value):,}"
    if abs(value) >= 1e4 or abs(value) < 1e-3:
        return f"{value:.1e}".replace("e-0", "e-").replace("e+0", "e")
    return f"{value:.3g}"


@dataclass(frozen=True)
class Scale:
    """Map ``[lo, hi]`` onto pixels ``[start, stop]``, linearly or logarithmically."""

    lo: float
    hi: float
    start: float
    stop: float
    log: bool = False

    def __post_init__(self) -> None:
        if self.log and (self.lo <= 0 or self.hi <= 0):
            raise ValueError("a log scale needs a positive domain")
        if not self.hi > self.lo:
            object.__setattr__(self, "hi", self.lo + (abs(self.lo) or 1.0))

    def __call__(self, value: float) -> float:
        if self.log:
            value = max(value, self.lo)
            t = (math.log10(value) - math.log10(self.lo)) / (math.log10(self.hi)
                                                             - math.log10(self.lo))
        else:
            t = (value - self.lo) / (self.hi - self.lo)
        return self.start + t * (self.stop - self.start)

    def many(self, values: Iterable[float]) -> list[float]:
        """Pixels of many values at once (same as calling the scale on each, faster)."""
        span = self.stop - self.start
        if self.log:
            lo = math.log10(self.lo)
            factor = span / (math.log10(self.hi) - lo)
            floor = self.lo
            log10 = math.log10
            return [self.start + (log10(v if v > floor else floor) - lo) * factor
                    for v in values]
        factor = span / (self.hi - self.lo)
        return [self.start + (v - self.lo) * factor for v in values]

    def ticks(self, count: int = 5) -> list[float]:
        """Round tick values inside the domain."""
        if self.log:
            low, high = math.floor(math.log10(self.lo)), math.ceil(math.log10(self.hi))
            decades = [10.0 ** k for k in range(low, high + 1)]
            values = [v * m for v in decades for m in (1.0, 2.0, 5.0)] if len(decades) <= 3 \
                else decades
            return [v for v in values if self.lo <= v <= self.hi]
        step = _nice_step((self.hi - self.lo) / max(count, 1))
        first = float(math.ceil(self.lo / step) * step)
        return [first + k * step for k in range(int((self.hi - first) / step + 1e-9) + 1)]


def _nice_step(raw: float) -> float:
    power = 10.0 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * power:
            return m * power
    return 10 * power


def domain(values: Iterable[float], *, log: bool, pad: float = 0.05) -> tuple[float, float]:
    """A padded ``(lo, hi)`` around ``values`` (positive values only on a log scale)."""
    data = [v for v in values if math.isfinite(v) and (v > 0 or not log)]
    if not data:
        return (0.1, 10.0) if log else (0.0, 1.0)
    lo, hi = min(data), max(data)
    if log:
        if hi / lo < 1.5:
            return lo / 1.25, hi * 1.25
        span = math.log10(hi / lo)
        return lo / 10 ** (pad * span), hi * 10 ** (pad * span)
    span = (hi - lo) or abs(hi) or 1.0
    return lo - pad * span, hi + pad * span


def colour(t: float) -> str:
    """Viridis colour of ``t`` in [0, 1] (clipped): 0 dark purple, 1 yellow."""
    t = min(1.0, max(0.0, t)) * (len(_VIRIDIS) - 1)
    k = min(int(t), len(_VIRIDIS) - 2)
    a, b = _VIRIDIS[k], _VIRIDIS[k + 1]
    f = t - k
    rgb = (round(int(a[i:i + 2], 16) * (1 - f) + int(b[i:i + 2], 16) * f) for i in (1, 3, 5))
    return "#" + "".join(f"{c:02x}" for c in rgb)


def element(tag: str, text: str | Markup | None = None, /, **attrs: object) -> Markup:
    """``<tag attr="…">text</tag>`` with escaped attributes and text.

    Attribute names use ``_`` for ``-`` (``stroke_width`` → ``stroke-width``);
    a trailing ``_`` is dropped (``class_`` → ``class``); ``None`` values are omitted.
    """
    parts = [tag]
    for key, value in attrs.items():
        if value is None:
            continue
        name = key.rstrip("_").replace("_", "-")
        parts.append(f'{name}="{escape(value)}"')
    head = " ".join(parts)
    if text is None:
        return Markup(f"<{head}/>")
    return Markup(f"<{head}>{escape(text)}</{tag}>")


def group(children: Iterable[Markup], **attrs: object) -> Markup:
    """``<g …>children</g>`` (children are already markup)."""
    return element("g", Markup("").join(children), **attrs)


def link(href: str, child: Markup, tooltip: str | None = None) -> Markup:
    """An SVG hyperlink around ``child`` with an optional native tooltip."""
    inner = child + (element("title", tooltip) if tooltip else Markup(""))
    return element("a", inner, href=href)


def svg(width: int, height: int, children: Iterable[Markup], *, title: str,
        class_: str = "chart") -> Markup:
    """A standalone inline ``<svg>`` with an accessible title."""
    body = element("title", title) + Markup("").join(children)
    return element("svg", body, xmlns="http://www.w3.org/2000/svg", width=width, height=height,
                   viewBox=f"0 0 {width} {height}", role="img", class_=class_)


def seconds_label(value: float) -> str:
    """A duration tick: ``50 µs``, ``2 ms``, ``1.5 s``."""
    if value < 1e-3:
        return f"{value * 1e6:.3g} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def axes(x: Scale, y: Scale, *, x_title: str, y_title: str, height: int,
         x_format: Callable[[float], str] = label) -> Markup:
    """Frame, ticks, grid lines and axis titles of a plot area."""
    parts = [element("rect", x=num(x.start), y=num(y.stop), width=num(x.stop - x.start),
                     height=num(y.start - y.stop), class_="frame")]
    for v in x.ticks():
        px = x(v)
        parts.append(element("line", x1=num(px), x2=num(px), y1=num(y.stop), y2=num(y.start),
                             class_="grid"))
        # A label at the right edge would be cut off if centred on its tick.
        anchor = "end" if px > x.stop - 16 else "middle"
        parts.append(element("text", x_format(v), x=num(px), y=num(y.start + 14),
                             class_="tick", text_anchor=anchor))
    for v in y.ticks():
        py = y(v)
        parts.append(element("line", x1=num(x.start), x2=num(x.stop), y1=num(py), y2=num(py),
                             class_="grid"))
        parts.append(element("text", label(v), x=num(x.start - 4), y=num(py + 3),
                             class_="tick", text_anchor="end"))
    parts.append(element("text", x_title, x=num((x.start + x.stop) / 2), y=num(height - 4),
                         class_="axis-title", text_anchor="middle"))
    parts.append(element("text", y_title, x=num(12), y=num((y.start + y.stop) / 2),
                         class_="axis-title", text_anchor="middle",
                         transform=f"rotate(-90 12 {num((y.start + y.stop) / 2)})"))
    return group(parts)


def spread(wanted: Sequence[float], gap: float, low: float, high: float) -> list[float]:
    """Positions near ``wanted`` (in order) at least ``gap`` apart, inside ``[low, high]``.

    One-dimensional label placement: labels that would overlap are merged into
    a block, centred on the mean of their wanted positions, until no two blocks
    overlap; blocks are then pushed inside the bounds. Labels that do not
    crowd keep their wanted position. When the labels cannot fit at ``gap``
    the spacing shrinks to fit (as far apart as the room allows).

    Parameters
    ----------
    wanted
        Wanted positions (any order; the result keeps it).
    gap
        Minimum distance between neighbouring positions (a label's height).
    low, high
        Bounds for every position.

    Returns
    -------
    list[float]
        One position per wanted position, in the same order.
    """
    if not wanted:
        return []
    order = sorted(range(len(wanted)), key=lambda k: (wanted[k], k))
    if len(wanted) > 1:
        gap = min(gap, (high - low) / (len(wanted) - 1))
    clamped = [min(max(w, low), high) for w in wanted]
    # Blocks of labels packed ``gap`` apart: (first rank in ``order``, count, top).
    blocks: list[tuple[int, int, float]] = []
    for rank, k in enumerate(order):
        blocks.append((rank, 1, clamped[k]))
        while len(blocks) > 1:
            (first, before, top), (_, count, bottom) = blocks[-2], blocks[-1]
            if top + before * gap <= bottom + 1e-9:
                break
            merged = before + count
            mean = sum(clamped[order[first + j]] - j * gap for j in range(merged)) / merged
            blocks[-2:] = [(first, merged, mean)]
    out = [0.0] * len(wanted)
    for first, count, top in blocks:
        for j in range(count):
            out[order[first + j]] = top + j * gap
    # Push inside the bounds keeping the gaps: the k-th label (in order) lies in
    # [low + k gap, high - (n-1-k) gap], which is never empty as gap was shrunk.
    n, ranked = len(order), [out[k] for k in order]
    for r in range(n):
        ranked[r] = max(ranked[r], low + r * gap, ranked[r - 1] + gap if r else low)
    for r in reversed(range(n)):
        ranked[r] = min(ranked[r], high - (n - 1 - r) * gap,
                        ranked[r + 1] - gap if r + 1 < n else high)
    for r, k in enumerate(order):
        out[k] = min(max(ranked[r], low), high)
    return out
