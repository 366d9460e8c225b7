"""Corner cases of extracting a program and its idea from real-looking model answers."""

# Long lines below are verbatim answer and code text; wrapping them would change them.
# ruff: noqa: E501

from __future__ import annotations

import ast
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discover.answers.extract import Extraction, ExtractionFailure, extract_code, extract_idea

MDD = textwrap.dedent(
    """\
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

EDD = "def schedule(processing_times, due_dates):\n    return sorted(range(len(due_dates)), key=lambda j: due_dates[j])\n"


def same_program(code: str | None, expected: str) -> bool:
    """Equal up to formatting: the ASTs match."""
    assert code is not None
    return ast.dump(ast.parse(code)) == ast.dump(ast.parse(expected))


def run(code: str | None, p: list[int], d: list[int]) -> list[int]:
    """Execute extracted code (trusted test input) and call schedule."""
    assert code is not None
    namespace: dict[str, object] = {}
    exec(compile(code, "<extracted>", "exec"), namespace)
    return namespace["schedule"](p, d)  # type: ignore[operator]


@pytest.mark.parametrize(
    "fence",
    ["```python", "```py", "```Python", "```python3", "```", "~~~", "~~~python", "````python"],
)
def test_fenced_variants(fence: str) -> None:
    closer = fence[: len(fence) - len(fence.lstrip("`~"))]
    answer = f"Here is the heuristic.\n\n{fence}\n{MDD}{closer}\n\nIt runs in O(n^2)."
    result = extract_code(answer, "schedule")
    assert result.ok and result.failure is None
    assert same_program(result.code, MDD)


def test_unfenced_code_with_prose_around() -> None:
    answer = (
        "Sure. The rule below appends the job with the smallest modified due date.\n\n"
        + MDD
        + "\nThis is O(n^2) because of the min over remaining jobs.\n"
    )
    result = extract_code(answer, "schedule")
    assert same_program(result.code, MDD)
    assert any("unfenced" in note for note in result.notes)


def test_unfenced_with_imports_and_top_level_constant() -> None:
    answer = (
        "Use this:\n\nimport math\nALPHA = 0.5\n\ndef schedule(processing_times, due_dates):\n"
        "    return sorted(range(len(due_dates)), key=lambda j: due_dates[j] - ALPHA * math.sqrt(processing_times[j]))\n"
        "\nHope it helps!"
    )
    result = extract_code(answer, "schedule")
    assert result.ok
    assert run(result.code, [3, 1, 2], [4, 4, 9]) == [0, 1, 2]
    assert "Hope" not in (result.code or "")


def test_several_blocks_picks_the_one_defining_function() -> None:
    answer = (
        "First an example instance:\n```python\np = [3, 1, 2]\nd = [4, 2, 6]\n```\n"
        "The heuristic:\n```python\n" + MDD + "```\nUsage:\n```python\nprint(schedule(p, d))\n```\n"
    )
    result = extract_code(answer, "schedule")
    assert same_program(result.code, MDD)


def test_last_complete_definition_wins_over_drafts() -> None:
    answer = (
        "Draft:\n```python\n" + EDD + "```\nOn reflection MDD is better:\n```python\n" + MDD + "```\n"
    )
    assert same_program(extract_code(answer, "schedule").code, MDD)


def test_helpers_and_imports_merged_from_other_blocks() -> None:
    answer = (
        "Helper first:\n```python\nimport math\n\ndef urgency(p, d, t):\n"
        "    return max(d - t - p, 0) / math.sqrt(p)\n```\nThen the rule:\n```python\n"
        "def schedule(processing_times, due_dates):\n    n = len(processing_times)\n"
        "    remaining, order, t = list(range(n)), [], 0\n    while remaining:\n"
        "        j = min(remaining, key=lambda k: (urgency(processing_times[k], due_dates[k], t), k))\n"
        "        remaining.remove(j); order.append(j); t += processing_times[j]\n    return order\n```\n"
    )
    result = extract_code(answer, "schedule")
    assert result.ok
    tree = ast.parse(result.code or "")
    assert [type(n).__name__ for n in tree.body] == ["Import", "FunctionDef", "FunctionDef"]
    assert sorted(run(result.code, [2, 3, 1], [2, 9, 3])) == [0, 1, 2]
    assert any("merged 2" in note for note in result.notes)


def test_transitive_helpers_are_merged() -> None:
    answer = (
        "```python\ndef a(x):\n    return b(x) + 1\n```\n```python\ndef b(x):\n    return C * x\n```\n"
        "```python\nC = 2\n```\n```python\ndef schedule(processing_times, due_dates):\n"
        "    return sorted(range(len(due_dates)), key=lambda j: a(due_dates[j]))\n```"
    )
    result = extract_code(answer, "schedule")
    assert run(result.code, [1, 1], [5, 3]) == [1, 0]


def test_missing_standard_import_added() -> None:
    answer = (
        "```python\ndef schedule(processing_times, due_dates):\n"
        "    return sorted(range(len(due_dates)), key=lambda j: math.log1p(due_dates[j]) + np.sqrt(processing_times[j]))\n```"
    )
    result = extract_code(answer, "schedule")
    assert "import math" in (result.code or "") and "import numpy as np" in (result.code or "")
    assert run(result.code, [1, 1], [5, 3]) == [1, 0]


def test_think_section_with_code_is_ignored() -> None:
    answer = (
        "<think>\nMaybe EDD:\n```python\n" + EDD + "```\nNo, MDD is better.\n</think>\n\n"
        "IDEA: modified due date dispatching.\n```python\n" + MDD + "```"
    )
    result = extract_code(answer, "schedule")
    assert same_program(result.code, MDD)
    assert any("thinking" in note for note in result.notes)


def test_think_section_only_code_gives_no_code() -> None:
    answer = "<think>\n```python\n" + EDD + "```\n</think>\nI could not find a better rule."
    result = extract_code(answer, "schedule")
    assert result.failure is ExtractionFailure.NO_CODE and result.code is None


def test_unmatched_closing_think_tag_drops_preamble() -> None:
    # Some servers strip the opening <think>: everything before </think> is reasoning.
    answer = "Let me draft:\n```python\n" + EDD + "```\n</think>\n```python\n" + MDD + "```"
    assert same_program(extract_code(answer, "schedule").code, MDD)


def test_unclosed_think_truncated_while_thinking() -> None:
    answer = "<thinking>\nfirst try:\n```python\n" + EDD + "```\nhmm, and then"
    assert extract_code(answer, "schedule").failure is ExtractionFailure.NO_CODE


def test_reasoning_preamble_drafts_lose_to_final_answer() -> None:
    answer = (
        "Reasoning: EDD ignores processing times, e.g.\n\n" + EDD
        + "\nwhich fails when jobs are long.\n\nFinal answer:\n\n```python\n" + MDD + "```\n"
    )
    assert same_program(extract_code(answer, "schedule").code, MDD)


def test_truncated_answer_missing_closing_fence() -> None:
    answer = "IDEA: MDD.\n```python\n" + MDD
    result = extract_code(answer, "schedule")
    assert same_program(result.code, MDD)
    assert result.truncated and any("closing fence" in note for note in result.notes)


def test_truncated_mid_statement_repaired_by_dropping_tail() -> None:
    answer = "```python\n" + EDD + "\ndef tie_break(j, d):\n    return (d[j],"
    result = extract_code(answer, "schedule")
    assert result.truncated and same_program(result.code, EDD)
    assert any("truncated" in note for note in result.notes)


def test_complete_block_beats_later_truncated_one() -> None:
    answer = "```python\n" + EDD + "```\nImproved:\n```python\n" + MDD[:-40]
    assert same_program(extract_code(answer, "schedule").code, EDD)


def test_truncated_inside_signature_is_reported() -> None:
    answer = "Here:\n```python\ndef schedule(processing_times,"
    result = extract_code(answer, "schedule")
    assert result.failure is ExtractionFailure.TRUNCATED


def test_partial_function_truncated_in_loop_still_parses() -> None:
    cut = MDD.split("remaining.remove(best)")[0] + "remaining.remove("
    result = extract_code("```python\n" + cut, "schedule")
    assert result.ok and result.truncated
    tree = ast.parse(result.code or "")
    assert isinstance(tree.body[0], ast.FunctionDef) and tree.body[0].name == "schedule"


def test_uniform_extra_indentation_is_removed() -> None:
    indented = textwrap.indent(MDD, "        ")
    answer = "1. The rule:\n\n    ```python\n" + indented + "    ```\n"
    assert same_program(extract_code(answer, "schedule").code, MDD)


def test_tabs_mixed_with_spaces() -> None:
    code = (
        "def schedule(processing_times, due_dates):\n\tn = len(processing_times)\n"
        "\tif n == 0:\n\t    return []\n\treturn sorted(range(n), key=lambda j: due_dates[j])\n"
    )
    result = extract_code("```python\n" + code + "```", "schedule")
    assert run(result.code, [1, 2], [3, 1]) == [1, 0]


def test_first_line_lost_its_indentation() -> None:
    code = (
        "def helper(x):\n        return -x\n    def schedule(processing_times, due_dates):\n"
        "        return sorted(range(len(due_dates)), key=lambda j: helper(due_dates[j]))\n"
    )
    result = extract_code("```\n" + code + "```", "schedule")
    assert run(result.code, [1, 2], [3, 1]) == [0, 1]


def test_non_breaking_spaces_and_crlf() -> None:
    answer = "```python\r\n" + MDD.replace("\n", "\r\n").replace("    ", "\u00a0\u00a0\u00a0\u00a0") + "```"
    assert same_program(extract_code(answer, "schedule").code, MDD)


def test_demo_code_and_main_guard_are_stripped() -> None:
    code = (
        '"""Slack rule."""\nimport math\n\n' + EDD
        + "\nprint(schedule([1, 2], [3, 4]))\n\nif __name__ == '__main__':\n    schedule([1], [1])\n"
    )
    result = extract_code("```python\n" + code + "```", "schedule")
    tree = ast.parse(result.code or "")
    assert [type(n).__name__ for n in tree.body] == ["Expr", "Import", "FunctionDef"]
    assert any("script" in note for note in result.notes)


def test_fenced_prose_then_code_inside_text_fence() -> None:
    answer = "```text\nThe rule is below.\n\n" + MDD + "```"
    assert same_program(extract_code(answer, "schedule").code, MDD)


def test_diff_answer_read_as_program_ignores_search_halves() -> None:
    # A diff answer whose edits failed is read as a full rewrite: the REPLACE text, never the
    # quoted parent in SEARCH, may become the program.
    answer = (
        "IDEA: switch to MDD.\n```python\n<<<<<<< SEARCH\n" + EDD + "=======\n" + MDD
        + ">>>>>>> REPLACE\n```\n"
    )
    result = extract_code(answer, "schedule")
    assert same_program(result.code, MDD)
    assert any("SEARCH half" in note for note in result.notes)
    only_search = "<<<<<<< SEARCH\n" + EDD + "=======\n    pass\n>>>>>>> REPLACE\n"
    assert extract_code(only_search, "schedule").failure is not None


def test_wrong_function_name_reports_what_was_found() -> None:
    answer = "```python\ndef schedule_jobs(p, d):\n    return list(range(len(p)))\n```"
    result = extract_code(answer, "schedule")
    assert result.failure is ExtractionFailure.MISSING_FUNCTION
    assert any("schedule_jobs" in note for note in result.notes)


def test_function_nested_in_class_is_not_top_level() -> None:
    answer = "```python\nclass S:\n    def schedule(self, p, d):\n        return []\n```"
    assert extract_code(answer, "schedule").failure is ExtractionFailure.MISSING_FUNCTION


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        ("", ExtractionFailure.EMPTY),
        ("   \n\t", ExtractionFailure.EMPTY),
        ("I am sorry, I cannot help with that.", ExtractionFailure.NO_CODE),
        ("```python\ndef schedule(p, d) return p\n```", ExtractionFailure.SYNTAX_ERROR),
        ("```json\n{\"order\": [1, 2]}\n```", ExtractionFailure.MISSING_FUNCTION),
    ],
)
def test_failures(answer: str, failure: ExtractionFailure) -> None:
    result = extract_code(answer, "schedule")
    assert result.failure is failure and result.code is None and not result.ok


def test_extraction_invariants() -> None:
    with pytest.raises(ValueError):
        Extraction("x = 1", ExtractionFailure.EMPTY)
    with pytest.raises(ValueError):
        Extraction(None, None)
    with pytest.raises(ValueError):
        extract_code("def f(): pass", "not an identifier")


# -- property: whatever wrapping, the program comes back intact -----------------

PROGRAMS = [MDD, EDD, "import heapq\n\n\ndef schedule(processing_times, due_dates):\n"
            "    h = [(d, j) for j, d in enumerate(due_dates)]\n    heapq.heapify(h)\n"
            "    return [heapq.heappop(h)[1] for _ in range(len(h))]\n"]
PROSE = st.text(alphabet=st.sampled_from(list("abcdefgh ,.!?()")), min_size=0, max_size=60).map(
    lambda s: s.strip().capitalize()
)


@settings(max_examples=150, deadline=None)
@given(
    program=st.sampled_from(PROGRAMS),
    before=PROSE,
    after=PROSE,
    fence=st.sampled_from(["```python", "```py", "```", "~~~", None]),
    indent=st.sampled_from(["", "  ", "    ", "\t"]),
    close=st.booleans(),
    crlf=st.booleans(),
)
def test_property_wrapped_program_is_recovered(
    program: str, before: str, after: str, fence: str | None, indent: str, close: bool, crlf: bool
) -> None:
    body = textwrap.indent(program, indent) if fence is not None else program
    if fence is None:
        answer = f"{before}\n\n{body}\n{after}"
    else:
        closer = fence[:3] if close else ""
        answer = f"{before}\n{indent}{fence}\n{body}{indent}{closer}\n{after if close else ''}"
    if crlf:
        answer = answer.replace("\n", "\r\n")
    result = extract_code(answer, "schedule")
    assert result.ok, result.notes
    assert same_program(result.code, program)


# -- ideas ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "idea"),
    [
        ("IDEA: Weight slack by processing time.\n```python\n" + EDD + "```", "Weight slack by processing time."),
        ("**Idea:** favour short urgent jobs\n```python\n" + EDD + "```", "favour short urgent jobs"),
        ("```python\n" + EDD + "```\n\nIdea: *lookahead of one job*", "lookahead of one job"),
        ("IDEA:\n\n  Combine MDD with  a\tswap pass.\n```python\n" + EDD + "```", "Combine MDD with a swap pass."),
        ("<think>IDEA: a bad draft</think>\nIDEA: the real idea\n", "the real idea"),
        ("```python\n# Idea: comment in code\n" + EDD + "```", "comment in code"),
    ],
)
def test_extract_idea_markers(answer: str, idea: str) -> None:
    assert extract_idea(answer) == idea


def test_idea_falls_back_to_docstring_then_leading_comment() -> None:
    with_doc = '```python\ndef schedule(p, d):\n    """Slack over processing time.\n\n    Details."""\n    return []\n```'
    assert extract_idea(with_doc, "schedule") == "Slack over processing time."
    with_comment = "```python\ndef schedule(p, d):\n    # ratio rule on the critical jobs\n    return []\n```"
    assert extract_idea(with_comment, "schedule") == "ratio rule on the critical jobs"
    assert extract_idea("```python\ndef schedule(p, d):\n    return []\n```", "schedule") is None
    assert extract_idea("no idea here") is None


def test_idea_is_capped() -> None:
    idea = extract_idea("IDEA: " + "x" * 1000)
    assert idea is not None and len(idea) == 300 and idea.endswith("…")
