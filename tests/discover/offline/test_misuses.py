"""Static rejection of children that would crash on every instance (``rewrite.misuses``)."""

from __future__ import annotations

import ast

import pytest

from discover.offline.rewrite import misuses, number_sequences
from discover.offline.sites import find_function
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem

SEQUENCES = number_sequences(SmttProblem.candidate_spec.signature)
"""``processing_times`` and ``due_dates``: SMTT's contract types both as ``list[int]``."""

LOOKAHEAD = """\
def schedule(processing_times, due_dates):
    remaining = list(range(len(processing_times)))
    order = []
    t = 0
    n_left = len(remaining)
    while remaining:
        _top = sorted(remaining, key=lambda j: (max(t + processing_times[j], due_dates[j]), j))[:3]
        best = min(_top, key=lambda j: (KEY, j))
        remaining.remove(best)
        order.append(best)
        t += processing_times[best]
    return order
"""
GOOD_KEY = ("max(t + processing_times[j], due_dates[j]) + min((max(t + processing_times[j] "
            "+ processing_times[_i], due_dates[_i]) for _i in _top if _i != j), default=0)")


def _misuse(code: str, sequences: frozenset[str] = SEQUENCES) -> str | None:
    func = find_function(ast.parse(code), "schedule")
    assert func is not None
    return misuses(func, sequences)


@pytest.mark.parametrize("name", sorted(SEED_PROGRAMS))
def test_seed_programs_are_fine(name: str) -> None:
    assert _misuse(SEED_PROGRAMS[name]) is None


def test_a_look_ahead_is_fine() -> None:
    assert _misuse(LOOKAHEAD.replace("KEY", GOOD_KEY)) is None


@pytest.mark.parametrize(("key", "why"), [
    # Crossover grafted the look-ahead's generator where a number goes.
    ("max(t, (processing_times[_i] for _i in _top))", "generator used as a value"),
    ("(due_dates[_i] for _i in _top) * 1.5", "generator used as a value"),
    # A reducer with default= over a number (the generator was replaced).
    ("min(max(t, due_dates[j]), default=0)", "over a number"),
    ("min(t, default=0.094)", "over a number"),
    ("min(n_left, default=0)", "over a number"),
    ("min(processing_times[j] + 1, default=0)", "over a number"),
    ("max((due_dates[_i] for _i in _top), processing_times[j], default=0)", "several"),
])
def test_children_that_would_crash_are_named(key: str, why: str) -> None:
    found = _misuse(LOOKAHEAD.replace("KEY", key))
    assert found is not None and why in found


@pytest.mark.parametrize("key", [
    "min(_top, default=0)",  # a list: fine
    "min((due_dates[_i] for _i in _top), default=0)",
    "min(remaining, default=0)",
    "sum(processing_times[_i] for _i in _top)",
])
def test_reducers_over_sequences_are_fine(key: str) -> None:
    assert _misuse(LOOKAHEAD.replace("KEY", key)) is None


def test_a_short_list_whose_key_reads_itself_is_named() -> None:
    code = LOOKAHEAD.replace("KEY", "due_dates[j]").replace(
        "key=lambda j: (max(t + processing_times[j], due_dates[j]), j))[:3]",
        "key=lambda j: (max(t + len(_top), due_dates[j]), j))[:3]")
    found = _misuse(code)
    assert found is not None and "_top" in found


@pytest.mark.parametrize(("signature", "expected"), [
    ("def schedule(processing_times: list[int], due_dates: list[int]) -> list[int]:",
     {"processing_times", "due_dates"}),
    ("def f(a: tuple[float, ...], b: Sequence[int], c: typing.Sequence[float], d, "
     "e: int, f: list[list[int]], g: dict[int, int], h: list) -> None:", {"a", "b", "c"}),
    # A flow shop's rows: an element of processing_times is a list, not a number.
    ("def schedule(processing_times: list[list[int]]) -> list[int]:", set()),
    ("def priority(request, state):", set()),
    ("not a def line", set()),
])
def test_number_sequences_are_read_from_the_signature(signature: str,
                                                      expected: set[str]) -> None:
    assert number_sequences(signature) == expected


@pytest.mark.parametrize("key", [
    # Crossover grafted an element where the look-ahead's generator was.
    "min(processing_times[j], default=0)",
    "max(due_dates[j], default=0)",
    "max(processing_times[j])",
    "sum(processing_times[j])",
    "sorted(due_dates[j + 1])[0]",
    "len(processing_times[j])",
    "any(due_dates[-j])",
    "all(processing_times[0])",
    "sum(x for x in due_dates[j])",
    "min([x for x in processing_times[j]], default=0)",
])
def test_reducers_and_loops_over_an_element_are_named(key: str) -> None:
    found = _misuse(LOOKAHEAD.replace("KEY", key))
    assert found is not None and "over an element of" in found


def test_a_loop_over_an_element_is_named() -> None:
    code = LOOKAHEAD.replace("KEY", "due_dates[j]").replace(
        "t += processing_times[best]", "for x in processing_times[best]:\n            t += x")
    found = _misuse(code)
    assert found is not None and "iteration over an element of processing_times" in found


@pytest.mark.parametrize("key", [
    "min(processing_times[j], due_dates[j])",  # two arguments: the smaller one
    "max(processing_times)",  # the whole parameter
    "max(processing_times, default=0)",
    "max(processing_times[_i] for _i in _top)",  # a generator of elements
    "min((due_dates[_i] for _i in _top), default=0)",
    "sum(processing_times[1:])",  # a slice is a sequence
    "min(due_dates[j:], default=0)",
    "min(_top, key=lambda i: processing_times[i])",
    "abs(processing_times[j])",  # not a reducer
])
def test_reducers_over_sequences_of_a_parameter_are_fine(key: str) -> None:
    assert _misuse(LOOKAHEAD.replace("KEY", key)) is None


def test_elements_are_not_judged_without_number_sequences() -> None:
    # Unknown contract (or a flow shop, whose rows are lists): sum(p[j]) may be right.
    assert _misuse(LOOKAHEAD.replace("KEY", "sum(processing_times[j])"), frozenset()) is None


def test_a_rebound_parameter_is_not_judged() -> None:
    code = LOOKAHEAD.replace("KEY", "min(due_dates[j])").replace(
        "    order = []\n", "    order = []\n    due_dates = [[d] for d in due_dates]\n")
    assert _misuse(code) is None
    shadowed = LOOKAHEAD.replace("KEY", "(lambda due_dates: min(due_dates[j]))([[1]])")
    assert _misuse(shadowed) is None
