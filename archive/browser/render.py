"""Jinja2 environment of the browser: packaged templates, autoescaping always on, filters."""

from __future__ import annotations

import datetime as dt
import enum
import math
from typing import Any

import jinja2

from archive.browser.charts import CATEGORY_COLOURS
from archive.browser.run_digest import CATEGORIES
from archive.records import EdgeRole, EvaluationStatus, Split


def fmt_number(value: float | int | None, digits: int = 4) -> str:
    """``None`` as an em dash, floats with ``digits`` significant digits."""
    if value is None:
        return "—"
    if isinstance(value, int):
        return f"{value:,}"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.{digits}g}"


def fmt_gap(value: float | None) -> str:
    """A gap in percent, e.g. ``3.214 %``."""
    return "—" if value is None else f"{value:.4g} %"


def fmt_time(value: dt.datetime | None) -> str:
    """UTC timestamp to the second."""
    return "—" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_duration(start: dt.datetime, end: dt.datetime | None) -> str:
    """``1 h 02 min``, ``3 min 05 s`` or ``12 s`` (``—`` while still open)."""
    if end is None:
        return "—"
    seconds = int((end - start).total_seconds())
    if seconds >= 3600:
        return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
    if seconds >= 60:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds} s"


def fmt_seconds(value: float | None) -> str:
    """Seconds with a unit that keeps three digits (µs, ms, s)."""
    if value is None:
        return "—"
    if value < 1e-3:
        return f"{value * 1e6:.3g} µs"
    if value < 1:
        return f"{value * 1e3:.3g} ms"
    return f"{value:.3g} s"


def enum_value(value: Any) -> str:
    """An enum's value (plain text for anything else)."""
    return str(value.value) if isinstance(value, enum.Enum) else str(value)


class Renderer:
    """Renders the packaged templates with the browser's filters and globals."""

    def __init__(self, archive_url: str) -> None:
        self.env = jinja2.Environment(
            loader=jinja2.PackageLoader("archive.browser", "templates"),
            autoescape=True,  # every template, whatever its file name
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(num=fmt_number, gap=fmt_gap, time=fmt_time,
                                duration=fmt_duration, seconds=fmt_seconds, ev=enum_value)
        self.env.globals.update(archive_url=archive_url, Split=Split, EdgeRole=EdgeRole,
                                EvaluationStatus=EvaluationStatus, CATEGORIES=CATEGORIES,
                                CATEGORY_COLOURS=CATEGORY_COLOURS)

    def precompile(self) -> None:
        """Compile every template now rather than on its first page."""
        for name in self.env.list_templates(extensions=["j2"]):
            self.env.get_template(name)

    def render(self, template: str, **context: Any) -> str:
        """Render ``template`` with ``context``."""
        return self.env.get_template(template).render(**context)
