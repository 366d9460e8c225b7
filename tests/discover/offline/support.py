"""Shared fixtures of the structural-move tests: the SMTT contract, MDD, small instances."""

from __future__ import annotations

from typing import Any

import numpy as np

from evaluators.smtt.generate import generate_classes
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem

SPEC = SmttProblem.candidate_spec
MDD = SEED_PROGRAMS["mdd"]
EDD = SEED_PROGRAMS["edd"]
INSTANCES = generate_classes(25, 1, np.random.default_rng(4))
"""One instance of n = 25 per class (20)."""


def schedule_of(code: str) -> Any:
    """The ``schedule`` function of engine-written test code (trusted: run in-process)."""
    namespace: dict[str, Any] = {}
    exec(compile(code, "<child>", "exec"), namespace)
    return namespace["schedule"]
