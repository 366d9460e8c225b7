"""One status vocabulary: the mirrors across layers that may not import each other stay equal."""

from __future__ import annotations

from archive import EvaluationStatus, ReferenceStatus
from discover.search.cascade import SANDBOX_STATUS
from evaluators.base import Status
from sandbox import OutcomeStatus


def test_reference_status_has_the_values_of_the_solver_status() -> None:
    assert [s.value for s in ReferenceStatus] == [s.value for s in Status]


def test_every_sandbox_outcome_has_exactly_one_verdict() -> None:
    assert set(SANDBOX_STATUS) == set(OutcomeStatus)
    assert len(set(SANDBOX_STATUS.values())) == len(OutcomeStatus)  # no two merged


def test_the_verdicts_the_sandbox_cannot_give_are_the_cascades_own() -> None:
    assert set(EvaluationStatus) - set(SANDBOX_STATUS.values()) == {EvaluationStatus.TOO_SLOW,
                                                                     EvaluationStatus.CANCELLED}


def test_sandbox_failure_kinds_keep_their_names_in_the_archive() -> None:
    renamed = {o.value: e.value for o, e in SANDBOX_STATUS.items() if o.value != e.value}
    assert renamed == {"precheck_failed": "rejected"}
