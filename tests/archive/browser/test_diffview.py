"""Diff rows reproduce both programs, count like the store's diff, and escape their text."""

from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive.browser.diffview import RowKind, side_rows, stats, unified_rows
from tests.archive.browser.synthetic import HOSTILE

_TAG = re.compile(r"</?(ins|del)>")


def text(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup))


code_lines = st.lists(st.sampled_from(["a = 1", "b = 2", "return a", HOSTILE, "", "  x += 1",
                                       "if a < b:", "c = '<b>'"]), max_size=12)


@settings(max_examples=200, deadline=None)
@given(code_lines, code_lines)
def test_side_by_side_rows_rebuild_both_sides(a_lines: list[str], b_lines: list[str]) -> None:
    a, b = "\n".join(a_lines), "\n".join(b_lines)
    rows = side_rows(a, b)
    assert [text(r.left) for r in rows if r.left_no is not None] == a.splitlines()
    assert [text(r.right) for r in rows if r.right_no is not None] == b.splitlines()
    assert [r.left_no for r in rows if r.left_no is not None] == list(
        range(1, len(a.splitlines()) + 1))
    for r in rows:
        assert "<script" not in r.left and "<script" not in r.right


@pytest.mark.slow
@settings(max_examples=200, deadline=None)
@given(code_lines, code_lines)
def test_unified_rows_match_difflib_counts(a_lines: list[str], b_lines: list[str]) -> None:
    a, b = "\n".join(a_lines) + "\n", "\n".join(b_lines) + "\n"
    rows = unified_rows(a, b)
    counted = stats(a, b)
    assert sum(r.kind is RowKind.ADDED for r in rows) == counted.added
    assert sum(r.kind is RowKind.REMOVED for r in rows) == counted.removed
    old, new = a.splitlines(), b.splitlines()
    for r in rows:
        if r.kind in (RowKind.SAME, RowKind.REMOVED):
            assert r.old is not None and text(r.html) == old[r.old - 1]
        if r.kind in (RowKind.SAME, RowKind.ADDED):
            assert r.new is not None and text(r.html) == new[r.new - 1]
    assert counted.identical == (a == b)


def test_counts_agree_with_the_store_diff(store, browser_archive) -> None:  # type: ignore[no-untyped-def]
    ids = browser_archive.main.program_ids
    for a, b in zip(ids[:30], ids[5:35], strict=True):
        expected = store.diff(a, b)
        got = stats(store.program(a).program.code, store.program(b).program.code)
        assert (got.added, got.removed) == (expected.added, expected.removed)


def test_changed_words_are_marked_not_whole_lines() -> None:
    rows = side_rows("x = 0.16 * d\n", "x = 0.259 * d\n")
    assert rows[0].kind is RowKind.CHANGED
    assert "<del>16</del>" in rows[0].left and "<ins>259</ins>" in rows[0].right
    assert "x = 0." in rows[0].left
