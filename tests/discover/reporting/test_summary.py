"""End-of-run figures: the wins/losses count against the problem's reference rule."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from discover.reporting.summary import reference_objectives, wins_losses
from evaluators.base import GeneratorSpec
from evaluators.registry import get_problem
from sandbox import SandboxPool, evaluate

JSSP = get_problem("jssp")
JSSP_ACTIVE = get_problem("jssp-active")
SMTT = get_problem("smtt")


@pytest.fixture(scope="module")
def lawrence() -> list[Any]:
    """Lawrence's 40 shops (10x5 to 15x15)."""
    return list(JSSP_ACTIVE.load("jssp:la"))


def _objectives(heuristic: str, instances: list[Any]) -> tuple[float, ...]:
    """A job-shop heuristic's makespans, computed in-process."""
    return tuple(float(JSSP.objective(i, JSSP.heuristics[heuristic](i))) for i in instances)


def test_reference_objectives_follow_the_problems_reference_heuristic(
        lawrence: list[Any]) -> None:
    active = reference_objectives(JSSP_ACTIVE, lawrence, "mwkr")
    plain = reference_objectives(JSSP, lawrence, "mwkr")
    assert active == _objectives("mwkr_active", lawrence)
    assert plain == _objectives("mwkr", lawrence)
    assert active != plain
    assert reference_objectives(JSSP_ACTIVE, lawrence, "no-such-rule") is None
    # The default (smtt: the rule of the configured name) is unchanged.
    instances = SMTT.generate(GeneratorSpec(n=10, count=5), np.random.default_rng(3))
    assert reference_objectives(SMTT, instances, "mdd") == tuple(
        float(SMTT.objective(i, SMTT.heuristics["mdd"](i))) for i in instances)


@pytest.mark.slow
def test_jssp_active_wins_losses_are_against_the_active_rule(lawrence: list[Any]) -> None:
    """MWKR, run as a jssp-active candidate (active builder in the sandbox), ties the
    reference everywhere: 0 wins, 0 losses. Against the non-delay MWKR, the old reference,
    it would have counted wins and losses that say nothing about the search."""
    spec = JSSP_ACTIVE.candidate_spec
    with SandboxPool(workers=1, isolation="none",
                     harness_packages=spec.sandbox_packages) as pool:
        result = evaluate(JSSP_ACTIVE, lawrence, JSSP_ACTIVE.seed_programs["mwkr"], pool, 120.0)
    assert result.ok, result.message
    assert wins_losses(result.objectives, reference_objectives(JSSP_ACTIVE, lawrence,
                                                               "mwkr")) == (0, 0)
    wins, losses = wins_losses(result.objectives, reference_objectives(JSSP, lawrence, "mwkr"))
    assert wins + losses > 0
