"""Stop criteria: each alone, combined in order, and the run's default combination."""

from __future__ import annotations

import pytest

from discover.providers import BudgetExhausted, Fatal
from discover.search.stopping import (
    MAX_STALLED,
    FirstOf,
    MaxEvaluations,
    MaxRuntime,
    ProviderFailed,
    SearchProgress,
    Stalled,
    Stop,
    run_criteria,
)


def _at(evaluated: int = 0, seconds: float = 0.0, stalled: int = 0,
        error: Exception | None = None) -> SearchProgress:
    return SearchProgress(evaluated, seconds, stalled, error)


def test_budget() -> None:
    assert MaxEvaluations(10)(_at(9)) is None
    assert MaxEvaluations(10)(_at(10)) == Stop("budget reached")


def test_time_limit_records_what_is_in_flight() -> None:
    assert MaxRuntime(5)(_at(seconds=5.0)) is None  # exceeded, not reached
    stop = MaxRuntime(5)(_at(seconds=5.01))
    assert stop == Stop("time limit of 5 s reached", record_in_flight=True)


def test_stall_fails_the_run() -> None:
    assert Stalled(3)(_at(stalled=2)) is None
    stop = Stalled(3)(_at(stalled=3))
    assert stop is not None and stop.failed and not stop.record_in_flight
    assert Stalled()(_at(stalled=MAX_STALLED - 1)) is None


def test_provider_failures() -> None:
    assert ProviderFailed()(_at()) is None
    assert ProviderFailed()(_at(error=ValueError("not a provider error"))) is None
    fatal = ProviderFailed()(_at(error=Fatal("bad key")))
    assert fatal == Stop("model provider failed: bad key", failed=True)
    spent = ProviderFailed()(_at(error=BudgetExhausted("$5 spent")))
    assert spent == Stop("model budget exhausted: $5 spent")


def test_first_of_asks_in_order_and_combines_with_or() -> None:
    both = _at(evaluated=10, stalled=3)
    assert FirstOf((Stalled(3), MaxEvaluations(10)))(both) == Stalled(3)(both)
    assert FirstOf((MaxEvaluations(10), Stalled(3)))(both) == Stop("budget reached")
    combined = FirstOf((MaxEvaluations(10),)) | MaxRuntime(1)
    assert combined(_at(seconds=2)) == MaxRuntime(1)(_at(seconds=2))
    assert combined(_at()) is None


def test_the_run_fails_on_a_stall_even_when_the_budget_is_met() -> None:
    stop = run_criteria(budget=10, time_limit=None)
    verdict = stop(_at(evaluated=10, stalled=MAX_STALLED))
    assert verdict is not None and verdict.failed
    assert stop(_at(evaluated=10, seconds=1e9)) == Stop("budget reached")
    timed = run_criteria(budget=10, time_limit=60)
    assert timed(_at(evaluated=3, seconds=61)) == MaxRuntime(60)(_at(seconds=61))


@pytest.mark.parametrize("bad", [lambda: MaxEvaluations(-1), lambda: MaxRuntime(-1),
                                 lambda: Stalled(0), lambda: SearchProgress(-1, 0.0)])
def test_bad_values_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        bad()  # type: ignore[operator]
