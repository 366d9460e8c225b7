"""Trusted validation: feasible start times pass, every violation is a typed Failure."""

from __future__ import annotations

import numpy as np
import pytest

from evaluators.base import Failure, FailureReason
from evaluators.jssp.instance import JsspInstance
from evaluators.jssp.objective import makespan, validate_schedule

# tiny: job0 = M0:3 -> M1:2, job1 = M1:2 -> M0:4, job2 = M0:1 -> M1:1.
GOOD = [0, 3, 0, 3, 7, 8]  # M0: j0[0,3) j1[3,7) j2[7,8); M1: j1[0,2) j0[3,5) j2[8,9)


def test_feasible_schedule_passes(tiny: JsspInstance) -> None:
    assert validate_schedule(tiny, GOOD) == GOOD
    assert validate_schedule(tiny, tuple(GOOD)) == GOOD
    assert validate_schedule(tiny, np.array(GOOD, dtype=np.int32)) == GOOD
    assert makespan(tiny, GOOD) == 9


def reason(instance: JsspInstance, raw: object) -> FailureReason:
    result = validate_schedule(instance, raw)
    assert isinstance(result, Failure), result
    return result.reason


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"a": 1}, FailureReason.NOT_A_SEQUENCE),
        ("012345", FailureReason.NOT_A_SEQUENCE),
        (np.zeros((2, 3), dtype=int), FailureReason.NOT_A_SEQUENCE),
        (GOOD[:-1], FailureReason.WRONG_LENGTH),
        ([*GOOD, 0], FailureReason.WRONG_LENGTH),
        ([0.0, 3, 0, 3, 7, 8], FailureReason.NON_INTEGER),
        ([True, 3, 0, 3, 7, 8], FailureReason.NON_INTEGER),
        (["0", 3, 0, 3, 7, 8], FailureReason.NON_INTEGER),
        ([float("nan"), 3, 0, 3, 7, 8], FailureReason.NOT_FINITE),
        ([float("inf"), 3, 0, 3, 7, 8], FailureReason.NOT_FINITE),
        ([-1, 3, 0, 3, 7, 8], FailureReason.OUT_OF_RANGE),
        ([0, 3, 0, 3, 7, 2**70], FailureReason.OUT_OF_RANGE),
    ],
)
def test_malformed_output(tiny: JsspInstance, raw: object, expected: FailureReason) -> None:
    assert reason(tiny, raw) is expected


def test_precedence_violation_names_job(tiny: JsspInstance) -> None:
    bad = [0, 2, 0, 3, 7, 8]  # job 0's second op starts before its first ends (3)
    result = validate_schedule(tiny, bad)
    assert isinstance(result, Failure) and result.reason is FailureReason.INFEASIBLE
    assert "job 0" in result.detail and "operation 1" in result.detail


def test_machine_overlap_names_machine(tiny: JsspInstance) -> None:
    bad = [0, 3, 0, 2, 7, 8]  # job 1's M0 op [2,6) overlaps job 0's M0 op [0,3)
    result = validate_schedule(tiny, bad)
    assert isinstance(result, Failure) and result.reason is FailureReason.INFEASIBLE
    assert "machine 0" in result.detail


def test_touching_intervals_and_zero_length_ops_are_fine() -> None:
    inst = JsspInstance(machines=((0,), (0,), (0,)), durations=((2,), (0,), (3,)))
    assert validate_schedule(inst, [0, 1, 2]) == [0, 1, 2]  # zero-length op inside [0,2)
    assert makespan(inst, [0, 1, 2]) == 5
    assert reason(inst, [0, 1, 1]) is FailureReason.INFEASIBLE


def test_delayed_but_feasible_schedule_accepted(tiny: JsspInstance) -> None:
    late = [x + 100 for x in GOOD]
    assert validate_schedule(tiny, late) == late
    assert makespan(tiny, late) == 109
