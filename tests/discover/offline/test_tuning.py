"""Numeric tuning: literals optimised by Nelder-Mead, recorded before and after."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from archive import Archive
from discover.offline.tuning import literals, tune
from discover.runner import run
from discover.search.tune_slots import TUNED
from tests.discover.loop_fixtures import small_config

CODE = """\
def schedule(processing_times, due_dates):
    remaining = list(range(len(processing_times)))
    order = []
    t = 0
    while remaining:
        best = min(remaining, key=lambda j: (max(t + 1.0 * processing_times[j], due_dates[j])
                                             + 0.5 * processing_times[j] / max(t, 1), j))
        remaining.remove(best)
        order.append(best)
        t += processing_times[best]
    return order
"""


def _coefficients(code: str) -> list[float]:
    return [float(n.value) for n in literals(ast.parse(code), "schedule")]


def test_literals_skip_guards_and_subscripts() -> None:
    # The 1 of max(t, 1) is a guard, not a coefficient.
    assert _coefficients(CODE) == [1.0, 0.5]


def test_tune_minimises_the_score_and_records_constants() -> None:
    calls: list[str] = []

    def score(code: str) -> float:
        calls.append(code)
        a, b = _coefficients(code)
        return (a - 1.7) ** 2 + (b - 0.2) ** 2

    tuned = tune(CODE, "schedule", score, max_evaluations=40)
    assert tuned is not None
    assert tuned.before == (1.0, 0.5)
    a, b = tuned.after
    assert abs(a - 1.7) < 0.3 and abs(b - 0.2) < 0.2
    assert tuned.score_after < tuned.score_before
    assert _coefficients(tuned.code) == list(tuned.after)
    assert len(calls) == tuned.evaluations <= 40
    assert re.search(r"\[1, 0\.5\] -> \[", tuned.describe())
    # Nothing to gain: no child.
    assert tune(CODE, "schedule", lambda code: 1.0, max_evaluations=10) is None
    # A failing start point (score None) gives nothing to tune from.
    assert tune(CODE, "schedule", lambda code: None, max_evaluations=10) is None


@pytest.mark.slow
def test_tune_slots_tune_promising_parents(tmp_path: Path) -> None:
    config = small_config(tmp_path, budget=40, workers=2)
    config = config.with_overrides(**{"search.operators": {"tune": 1.0, "modify": 1.0},
                                      "search.tune_evaluations": 8})
    result = run(config)
    assert result.status == "finished", result.reason
    with Archive.open(config.archive) as archive:
        state = archive.run_state(result.run_id)
    tuned = [ps for ps in state.programs if (ps.program.idea or "").startswith(TUNED)]
    assert tuned, "no tune slot tuned its parent"
    parents = [ps.parents[0].program_id for ps in tuned]
    assert len(parents) == len(set(parents)), "a parent was tuned twice"
    for ps in tuned:
        assert "->" in (ps.program.idea or "") and ps.program.operator == "tune"
