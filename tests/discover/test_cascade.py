"""The cascade's verdicts in the archive's vocabulary, with no sandbox (fakes only)."""

from __future__ import annotations

import pytest

from archive import EvaluationStatus, Split
from discover.cascade import archived_validation
from sandbox import CandidateEvaluation, ErrorInfo, Outcome, OutcomeStatus


def _failed(status: OutcomeStatus) -> CandidateEvaluation:
    outcome = Outcome(status, error=ErrorInfo(f"{status.value} happened"), n_payloads=2)
    return CandidateEvaluation(status, outcome, (), f"{status.value} happened")


def test_a_validation_that_fails_the_precheck_is_archived_as_rejected() -> None:
    archived = archived_validation(_failed(OutcomeStatus.PRECHECK_FAILED), 0.5)
    assert archived.split is Split.VALIDATION
    assert archived.status is EvaluationStatus.REJECTED
    assert archived.error == "precheck_failed happened"


@pytest.mark.parametrize("status", [s for s in OutcomeStatus if s is not OutcomeStatus.OK])
def test_every_sandbox_failure_has_an_archive_status(status: OutcomeStatus) -> None:
    archived = archived_validation(_failed(status), 0.5)
    assert archived.status is not EvaluationStatus.OK
