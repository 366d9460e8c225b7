"""Trusted objective and validation: makespan of a job permutation."""

from __future__ import annotations

from collections.abc import Sequence

from evaluators.base import Failure
from evaluators.validation import validate_permutation
from flowshop.instance import FlowshopInstance


def makespan(instance: FlowshopInstance, order: Sequence[int]) -> int:
    """Completion time of the last job on the last machine for ``order``."""
    p = instance.processing_times
    m = instance.machines
    c = [0] * m
    for j in order:
        t = 0
        for i in range(m):
            t = max(t, c[i]) + p[i][j]
            c[i] = t
    return c[-1]


def validate(instance: FlowshopInstance, raw: object) -> list[int] | Failure:
    """A permutation of the jobs, or why the output is not one."""
    return validate_permutation(instance.size, raw)
