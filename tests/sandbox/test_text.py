"""Candidate text made storable and visible (issue 18, findings 1 and 8)."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sandbox.text import storable, visible


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)))
def test_storable_text_always_encodes_and_keeps_ordinary_text(text: str) -> None:
    safe = storable(text)
    safe.encode("utf-8")
    assert "\x00" not in safe
    if all(c != "\x00" and not 0xD800 <= ord(c) <= 0xDFFF for c in text):
        assert safe == text


@given(st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF)))
def test_visible_text_has_no_control_characters(text: str) -> None:
    def fine(c: str) -> bool:
        return c.isprintable() or unicodedata.category(c) == "Zs"

    assert all(fine(c) for c in visible(text)), repr(text)
    assert all(fine(c) or c in "\n\t" for c in visible(text, multiline=True))


@pytest.mark.parametrize(("text", "shown"), [
    ("\x1b[2K\rstatus ok", "\\x1b[2K\\rstatus ok"),
    ("a\nb", "a\\nb"),
    ("bidi \u202e override", "bidi \\u202e override"),
    ("line\u2028sep", "line\\u2028sep"),
    ("C1 \x9b csi", "C1 \\x9b csi"),
    ("lone \ud800", "lone \\ud800"),
    ("[/] plain ümlaut 中文", "[/] plain ümlaut 中文"),
])
def test_visible_examples(text: str, shown: str) -> None:
    assert visible(text) == shown


def test_multiline_keeps_newlines_and_tabs_only() -> None:
    assert visible("a\n\tb\x1b", multiline=True) == "a\n\tb\\x1b"
