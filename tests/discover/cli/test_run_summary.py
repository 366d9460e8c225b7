"""The summary ``discover run`` prints: gaps for optima, ratios for reference scores."""

from __future__ import annotations

import pytest

from discover.cli.run import _print_summary
from discover.reporting.summary import BaselineScore, ProgramScore
from discover.runner import RunResult
from evaluators.base import ReferenceRole


def _result(kind: ReferenceRole) -> RunResult:
    best = (ProgramScore(7, train_gap=-40.0, validation_gap=-62.0, validation_ratio=0.41,
                         wins=9, losses=1, runtime=0.1),)
    baselines = (BaselineScore("fcfs", -46.0, 0.52, -30.0, 0.70),)
    return RunResult(5, "finished", "budget reached", 10, 10, 3.0, "sqlite:///x", "strict",
                     ("offline",), best, baselines, "fcfs", kind)


def test_serving_summary_reports_ratios_to_the_reference_score(
        capsys: pytest.CaptureFixture[str]) -> None:
    """Before: serving's oracle was reported as "gap" columns that went negative."""
    _print_summary(_result(ReferenceRole.SCORE))
    out = capsys.readouterr().out
    assert "gap" not in out.lower() and "ΣH/ΣOPT" not in out
    assert "reference score" in out and "train H/ref" in out and "validation ΣH/Σref" in out
    assert "0.6000" in out and "0.3800" in out  # 1 − 40 %, 1 − 62 %
    assert "0.5400" in out  # FCFS: 1 − 46 %


def test_optimum_summary_keeps_gaps(capsys: pytest.CaptureFixture[str]) -> None:
    _print_summary(_result(ReferenceRole.OPTIMUM))
    out = capsys.readouterr().out
    assert "train gap" in out and "validation ΣH/ΣOPT" in out and "-62.000" in out
