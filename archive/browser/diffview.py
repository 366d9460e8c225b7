"""Code diffs as table rows: unified (program against a parent) and side by side (compare).

Rows carry escaped :class:`Markup`; changed lines paired in a replacement get
intra-line ``<del>``/``<ins>`` marks around the characters that differ.
"""

from __future__ import annotations

import difflib
import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape


class RowKind(enum.Enum):
    """What a diff row shows."""

    SAME = "same"
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"
    HUNK = "hunk"
    """A separator between hunks (unchanged lines left out)."""


@dataclass(frozen=True)
class UnifiedRow:
    """One line of a unified diff: old and new line numbers (``None`` where absent)."""

    kind: RowKind
    old: int | None
    new: int | None
    html: Markup


@dataclass(frozen=True)
class SideRow:
    """One row of a side-by-side diff."""

    kind: RowKind
    left_no: int | None
    left: Markup
    right_no: int | None
    right: Markup


@dataclass(frozen=True)
class DiffStats:
    """Lines added and removed from ``a`` to ``b``."""

    added: int
    removed: int

    @property
    def identical(self) -> bool:
        """True when nothing changed."""
        return self.added == 0 and self.removed == 0


def _lines(code: str) -> list[str]:
    return code.splitlines()


_TOKEN = re.compile(r"\w+|\s+|[^\w\s]")


def _marked(a: str, b: str) -> tuple[Markup, Markup]:
    """``a`` and ``b`` escaped, with their differing words and symbols wrapped in del/ins.

    Words rather than characters: a changed identifier or number is marked
    whole instead of as scattered letters.
    """
    left: list[str] = []
    right: list[str] = []
    ta, tb = _TOKEN.findall(a), _TOKEN.findall(b)
    matcher = difflib.SequenceMatcher(None, ta, tb, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        old, new = str(escape("".join(ta[i1:i2]))), str(escape("".join(tb[j1:j2])))
        if op == "equal":
            left.append(old)
            right.append(new)
            continue
        if old:
            left.append(f"<del>{old}</del>")
        if new:
            right.append(f"<ins>{new}</ins>")
    return Markup("".join(left)), Markup("".join(right))


def stats(a: str, b: str) -> DiffStats:
    """Lines added and removed from ``a`` to ``b``."""
    added = removed = 0
    matcher = difflib.SequenceMatcher(None, _lines(a), _lines(b), autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op != "equal":
            removed += i2 - i1
            added += j2 - j1
    return DiffStats(added, removed)


def unified_rows(a: str, b: str, context: int = 3) -> list[UnifiedRow]:
    """Unified diff from ``a`` to ``b`` with ``context`` unchanged lines around changes."""
    old, new = _lines(a), _lines(b)
    rows: list[UnifiedRow] = []
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    for group in matcher.get_grouped_opcodes(context):
        first, last = group[0], group[-1]
        rows.append(UnifiedRow(RowKind.HUNK, None, None, Markup(escape(
            f"@@ -{first[1] + 1},{last[2] - first[1]} +{first[3] + 1},{last[4] - first[3]} @@"))))
        for op, i1, i2, j1, j2 in group:
            if op == "equal":
                rows.extend(UnifiedRow(RowKind.SAME, i + 1, j + 1, Markup(escape(old[i])))
                            for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
                continue
            pairs = min(i2 - i1, j2 - j1) if op == "replace" else 0
            marked = [_marked(old[i1 + k], new[j1 + k]) for k in range(pairs)]
            for k, i in enumerate(range(i1, i2)):
                html = marked[k][0] if k < pairs else Markup(escape(old[i]))
                rows.append(UnifiedRow(RowKind.REMOVED, i + 1, None, html))
            for k, j in enumerate(range(j1, j2)):
                html = marked[k][1] if k < pairs else Markup(escape(new[j]))
                rows.append(UnifiedRow(RowKind.ADDED, None, j + 1, html))
    return rows


def side_rows(a: str, b: str, context: int | None = None) -> list[SideRow]:
    """Side-by-side diff; ``context=None`` shows every line, else only hunks."""
    old, new = _lines(a), _lines(b)
    matcher = difflib.SequenceMatcher(None, old, new, autojunk=False)
    groups: Sequence[Sequence[tuple[str, int, int, int, int]]] = (
        [matcher.get_opcodes()] if context is None
        else list(matcher.get_grouped_opcodes(context)))
    rows: list[SideRow] = []
    empty = Markup("")
    for n, group in enumerate(groups):
        if context is not None and n:
            rows.append(SideRow(RowKind.HUNK, None, Markup("…"), None, Markup("…")))
        for op, i1, i2, j1, j2 in group:
            if op == "equal":
                rows.extend(SideRow(RowKind.SAME, i + 1, Markup(escape(old[i])), j + 1,
                                    Markup(escape(new[j])))
                            for i, j in zip(range(i1, i2), range(j1, j2), strict=True))
                continue
            for k in range(max(i2 - i1, j2 - j1)):
                i, j = i1 + k, j1 + k
                has_old, has_new = i < i2, j < j2
                if has_old and has_new:
                    left, right = _marked(old[i], new[j])
                    rows.append(SideRow(RowKind.CHANGED, i + 1, left, j + 1, right))
                elif has_old:
                    rows.append(SideRow(RowKind.REMOVED, i + 1, Markup(escape(old[i])),
                                        None, empty))
                else:
                    rows.append(SideRow(RowKind.ADDED, None, empty, j + 1,
                                        Markup(escape(new[j]))))
    return rows
