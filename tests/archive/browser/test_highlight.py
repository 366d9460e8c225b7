"""The highlighter keeps the code exactly, escapes everything, and classifies tokens."""

from __future__ import annotations

import html
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from archive.browser.highlight import highlight_lines
from tests.archive.browser.synthetic import HOSTILE

_TAG = re.compile(r"</?span[^>]*>")


def plain(markup: str) -> str:
    """The text a browser would show for one highlighted line."""
    return html.unescape(_TAG.sub("", markup))


def test_keywords_names_strings_numbers_comments() -> None:
    line = highlight_lines("def f(x=1.5):  # note\n")[0]
    assert '<span class="kw">def</span>' in line
    assert '<span class="fn">f</span>' in line
    assert '<span class="nu">1.5</span>' in line
    assert '<span class="co"># note</span>' in line


def test_builtins_constants_and_strings() -> None:
    line = highlight_lines("y = len('a') or None\n")[0]
    assert '<span class="bi">len</span>' in line
    assert '<span class="cn">None</span>' in line
    assert '<span class="st">&#39;a&#39;</span>' in line


def test_hostile_text_is_escaped_in_every_kind_of_token() -> None:
    code = f"# {HOSTILE}\nx = {HOSTILE!r}\n'''{HOSTILE}\n{HOSTILE}'''\n{HOSTILE}\n"
    lines = highlight_lines(code)
    joined = "".join(lines)
    assert "<script" not in joined and "<img" not in joined and "<b>" not in joined
    assert [plain(line) for line in lines] == code.splitlines()


def test_multiline_string_is_split_into_balanced_lines() -> None:
    lines = highlight_lines('s = """one\ntwo\nthree"""\n')
    assert len(lines) == 3
    for line in lines:
        assert line.count("<span") == line.count("</span>")
    assert plain(lines[1]) == "two"


def test_code_that_does_not_tokenize_is_kept_plain_from_the_error_on() -> None:
    code = "def f(:\n    return 'unterminated\n  bad indent\n"
    lines = highlight_lines(code)
    assert [plain(line) for line in lines] == code.splitlines()


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200))
def test_any_text_round_trips_line_by_line(text: str) -> None:
    lines = highlight_lines(text)
    expected = text.split("\n")
    if text.endswith("\n"):
        expected.pop()
    assert [plain(line) for line in lines] == [e[:-1] if e.endswith("\r") else e
                                               for e in expected]
    for line in lines:
        assert "<" not in _TAG.sub("", line)  # no markup other than our spans
