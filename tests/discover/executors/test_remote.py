"""What a Dask worker does with a request, called in-process (no cluster needed)."""

from __future__ import annotations

import pickle
from collections.abc import Iterator

import numpy as np
import pytest

from discover.executors import remote
from discover.executors.wire import decode_outcome
from evaluators.base import GeneratorSpec
from evaluators.registry import get_problem
from sandbox import Limits, OutcomeStatus, PayloadSet

SMTT = get_problem("smtt")
ENDLESS = ("def schedule(processing_times, due_dates):\n    while True:\n        pass\n")


@pytest.fixture(scope="module", autouse=True)
def _close_pools() -> Iterator[None]:
    yield
    remote.close_pools()


def _request(code: str, **kwargs: object) -> remote.SandboxRequest:
    instances = SMTT.generate(GeneratorSpec(n=10, count=1), np.random.default_rng(5))[:3]
    payloads = PayloadSet.from_payloads([SMTT.payload(i) for i in instances])
    return remote.SandboxRequest(code, SMTT.candidate_spec, payloads, 20.0, False, "auto",
                                 Limits(), **kwargs)  # type: ignore[arg-type]


def test_a_request_carries_its_step_limit_to_the_sandbox() -> None:
    request = _request(ENDLESS, count_steps=True, step_limit=1_000)
    outcome = decode_outcome(remote.evaluate_request(request), 3, 1 << 20)
    assert outcome.status is OutcomeStatus.TIMEOUT and outcome.step_limit_reached
    assert outcome.error is not None and outcome.error.payload_index == 0
    assert "more than 1,000 steps" in outcome.error.message


def test_a_request_from_before_step_limits_has_none() -> None:
    request = _request(SMTT.seed_programs["mdd"], count_steps=True)
    del request.__dict__["step_limit"]  # as pickled by a discover without the field
    restored = pickle.loads(pickle.dumps(request))
    assert restored.step_limit is None
    outcome = decode_outcome(remote.evaluate_request(restored), 3, 1 << 20)
    assert outcome.ok and len(outcome.steps) == 3
