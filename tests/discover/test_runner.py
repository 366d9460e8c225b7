"""A run's end: the reference rule its summary and wins/losses are measured against."""

from __future__ import annotations

from pathlib import Path

import pytest

from archive import Archive, Split
from discover.config import RunConfig
from discover.reporting.summary import wins_losses
from discover.runner import run
from evaluators.registry import get_problem


def _tiny(problem: str, tmp_path: Path) -> RunConfig:
    """Seconds of ``problem``: 6 generated shops of 5 jobs x 4 machines to train on (CP-SAT
    optima), a selection split of 4 shops of 8 x 4, Lawrence's 40 shops to validate on."""
    return RunConfig.for_problem(problem).with_overrides(**{
        "budget": 6, "seed": 1, "workers": 1,
        "archive": f"sqlite:///{tmp_path / 'archive.sqlite'}",
        "llm.models": [{"spec": "offline"}],
        "evaluation.train_n": 5, "evaluation.train_per_class": 6,
        "evaluation.train_params": {"machines": 4},
        "evaluation.reference": "cpsat_det", "evaluation.reference_time_limit": 1.0,
        "evaluation.validation": ["jssp:la"], "evaluation.validate_top": 3,
        "evaluation.validate_every": 0,
        "evaluation.selection_n": 8, "evaluation.selection_per_class": 4,
    })


@pytest.mark.slow
@pytest.mark.parametrize(("problem", "rule"), [("jssp-active", "mwkr_active"),
                                               ("jssp", "mwkr")])
def test_wins_losses_count_against_the_problems_reference_heuristic(
        tmp_path: Path, problem: str, rule: str) -> None:
    """Both job shops configure ``mwkr``; jssp-active's programs, built actively, are
    compared with MWKR in the active builder, jssp's with the non-delay MWKR."""
    config = _tiny(problem, tmp_path)
    assert config.evaluation.runtime_reference == "mwkr"
    result = run(config)
    assert result.reference_rule == rule
    shops = get_problem(problem)
    instances = shops.load("jssp:la")
    reference = [float(shops.objective(i, shops.heuristics[rule](i))) for i in instances]
    scored = [p for p in result.best if p.wins is not None]
    assert scored
    with Archive.open(config.archive) as archive:
        state = archive.run_state(result.run_id)
    evaluations = {ps.id: ps.evaluations[Split.VALIDATION] for ps in state.programs
                   if Split.VALIDATION in ps.evaluations}
    for program in scored:
        objectives = [r.objective for r in evaluations[program.program_id].per_instance]
        assert (program.wins, program.losses) == wins_losses(objectives, reference)
