"""SEARCH/REPLACE application: exact, whitespace-tolerant, fuzzy, and reported failures."""

# Long lines below are verbatim answer and code text; wrapping them would change them.
# ruff: noqa: E501

from __future__ import annotations

import ast
import textwrap
import time

import pytest

from discover.answers.edits import (
    BlockOutcome,
    DiffFailure,
    MatchKind,
    apply_search_replace,
    parse_edit_blocks,
)

PARENT = textwrap.dedent(
    """\
    import math


    def schedule(processing_times, due_dates):
        n = len(processing_times)
        remaining = list(range(n))
        order = []
        t = 0
        while remaining:
            best = min(remaining, key=lambda j: (max(t + processing_times[j], due_dates[j]), j))
            remaining.remove(best)
            order.append(best)
            t += processing_times[best]
        return order
    """
)

OLD_KEY = "        best = min(remaining, key=lambda j: (max(t + processing_times[j], due_dates[j]), j))"
NEW_KEY = "        best = min(remaining, key=lambda j: (max(t + processing_times[j], due_dates[j]) - math.sqrt(processing_times[j]), j))"


def block(search: str, replace: str) -> str:
    return f"<<<<<<< SEARCH\n{search}\n=======\n{replace}\n>>>>>>> REPLACE\n"


def test_exact_block() -> None:
    result = apply_search_replace(PARENT, "Change the key:\n" + block(OLD_KEY, NEW_KEY))
    assert result.ok and result.outcomes == (BlockOutcome(0, MatchKind.EXACT, 1.0),)
    assert result.code == PARENT.replace(OLD_KEY, NEW_KEY)


def test_exact_match_only_on_whole_lines() -> None:
    # "t = 0" is a substring of no other line here, but "order = []" must not match "border = []".
    parent = "def schedule(p, d):\n    border = []\n    order = []\n    return order\n"
    result = apply_search_replace(parent, block("    order = []", "    order = [0]"))
    assert result.code == "def schedule(p, d):\n    border = []\n    order = [0]\n    return order\n"


def test_blocks_inside_fences_and_several_in_order() -> None:
    answer = (
        "IDEA: subtract sqrt(p).\n```python\n"
        + block(OLD_KEY, NEW_KEY)
        + block("    return order", "    return list(order)")
        + "```\n"
    )
    result = apply_search_replace(PARENT, answer)
    assert result.ok and [o.kind for o in result.outcomes] == [MatchKind.EXACT] * 2
    assert "return list(order)" in result.code and "math.sqrt" in result.code


def test_dedented_search_is_matched_and_replacement_reindented() -> None:
    search = "best = min(remaining, key=lambda j: (max(t + processing_times[j], due_dates[j]), j))\nremaining.remove(best)"
    replace = "best = min(remaining, key=lambda j: (due_dates[j], j))\nremaining.remove(best)"
    result = apply_search_replace(PARENT, block(search, replace))
    assert result.outcomes[0].kind is MatchKind.WHITESPACE
    assert "        best = min(remaining, key=lambda j: (due_dates[j], j))\n        remaining.remove(best)" in result.code
    assert result.ok


def test_trailing_spaces_collapsed_spaces_and_blank_lines() -> None:
    search = "    n = len(processing_times)   \n\n\n    remaining   =   list(range(n))"
    result = apply_search_replace(PARENT, block(search, "    n = len(due_dates)\n    remaining = list(range(n))"))
    assert result.outcomes[0].kind is MatchKind.WHITESPACE
    assert "n = len(due_dates)" in result.code and result.ok


def test_tabs_in_search_and_replace() -> None:
    search = "\tt += processing_times[best]"
    replace = "\tt += processing_times[best]\n\tassert t >= 0"
    result = apply_search_replace(PARENT, block(search, replace))
    assert result.ok
    assert "        t += processing_times[best]\n        assert t >= 0\n    return order" in result.code


def test_fuzzy_match_above_threshold() -> None:
    # The model misremembered one token of the parent.
    search = "        best = min(remaining, key=lambda j: (max(t + processing_times[j], due_dates[j]), -j))"
    result = apply_search_replace(PARENT, block(search, NEW_KEY))
    assert result.outcomes[0].kind is MatchKind.FUZZY and result.outcomes[0].similarity > 0.9
    assert result.code == PARENT.replace(OLD_KEY, NEW_KEY) and result.ok


def test_unrelated_search_fails_and_parent_is_kept() -> None:
    result = apply_search_replace(PARENT, block("    for job in jobs:\n        pass", "    pass"))
    assert not result.ok and result.failure is DiffFailure.BLOCK_FAILED
    assert result.failed_blocks == (0,) and result.outcomes[0].kind is MatchKind.NOT_FOUND
    assert result.outcomes[0].similarity < 0.9
    assert result.code == PARENT


def test_partial_failure_reports_which_block() -> None:
    answer = block(OLD_KEY, NEW_KEY) + block("    x = compute()", "    x = 1")
    result = apply_search_replace(PARENT, answer)
    assert result.failure is DiffFailure.BLOCK_FAILED and result.failed_blocks == (1,)
    assert "math.sqrt" in result.code  # the good block still applied, for the record


def test_threshold_is_respected() -> None:
    search = "        best = min(remaining, key=lambda j: (due_dates[j] + t, j))"
    loose = apply_search_replace(PARENT, block(search, NEW_KEY), fuzzy_threshold=0.5)
    strict = apply_search_replace(PARENT, block(search, NEW_KEY), fuzzy_threshold=0.99)
    assert loose.outcomes[0].kind is MatchKind.FUZZY
    assert strict.outcomes[0].kind is MatchKind.NOT_FOUND
    with pytest.raises(ValueError):
        apply_search_replace(PARENT, "", fuzzy_threshold=0.0)


def test_no_blocks() -> None:
    result = apply_search_replace(PARENT, "```python\ndef schedule(p, d):\n    return []\n```")
    assert result.failure is DiffFailure.NO_BLOCKS and result.code == PARENT


def test_truncated_block_is_malformed() -> None:
    answer = "<<<<<<< SEARCH\n" + OLD_KEY + "\n=======\n" + NEW_KEY
    result = apply_search_replace(PARENT, answer)
    assert result.outcomes[0].kind is MatchKind.MALFORMED and not result.ok


def test_result_that_does_not_parse_is_rejected() -> None:
    result = apply_search_replace(PARENT, block("    return order", "    return order)"))
    assert result.failure is DiffFailure.SYNTAX_ERROR
    assert [o.kind for o in result.outcomes] == [MatchKind.EXACT]


def test_empty_search_appends_a_helper() -> None:
    result = apply_search_replace(PARENT, block("", "def helper(x):\n    return x"))
    assert result.ok and result.outcomes[0].kind is MatchKind.APPENDED
    assert [n.name for n in ast.parse(result.code).body if isinstance(n, ast.FunctionDef)] == [
        "schedule",
        "helper",
    ]


def test_deletion_block() -> None:
    result = apply_search_replace(PARENT, block("            order.append(best)", ""))
    assert result.ok and "order.append" not in result.code


def test_think_sections_ignored_and_marker_variants() -> None:
    answer = (
        "<think>\n" + block("    return order", "    return []") + "</think>\n"
        "<<<<< SEARCH\n    return order\n=====\n    return order[:]\n>>>>>> REPLACE"
    )
    blocks = parse_edit_blocks(answer)
    assert len(blocks) == 1 and blocks[0].replace == "    return order[:]"
    assert "return order[:]" in apply_search_replace(PARENT, answer).code


def test_huge_inputs_skip_fuzzy_matching_quickly() -> None:
    parent = "\n".join(f"x{k} = {k}" for k in range(5000))
    search = "\n".join(f"y{k} = {k}" for k in range(100))
    start = time.monotonic()
    result = apply_search_replace(parent, block(search, "z = 0"))
    assert result.outcomes[0].kind is MatchKind.NOT_FOUND and time.monotonic() - start < 5.0
