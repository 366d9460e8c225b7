"""Static rejection of children that would crash on every instance (``rewrite.misuses``)."""

from __future__ import annotations

import ast

import pytest

from discover.offline.rewrite import misuses
from discover.offline.sites import find_function
from evaluators.smtt.problem import SEED_PROGRAMS

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


def _misuse(code: str) -> str | None:
    func = find_function(ast.parse(code), "schedule")
    assert func is not None
    return misuses(func)


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
