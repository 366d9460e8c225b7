"""Property tests: any program, evaluation and model call written is read back equal."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archive import (
    Archive,
    EdgeRole,
    Evaluation,
    EvaluationStatus,
    InstanceResult,
    ModelCall,
    Parent,
    Program,
    Split,
)

# Text as users and models produce it: any Unicode except NUL (refused on purpose,
# see archive.records) and lone surrogates (not encodable).
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
               max_size=200)
FLOAT = st.floats(allow_nan=False, allow_infinity=False)
COUNT = st.integers(min_value=0, max_value=10**12)

programs = st.builds(
    Program,
    code=TEXT,
    operator=TEXT.filter(bool),
    island=st.integers(0, 2**31 - 1),
    generation=st.integers(0, 2**31 - 1),
    idea=st.none() | TEXT,
    code_hash=st.text("0123456789abcdef", min_size=0, max_size=128),
    behaviour_hash=st.none() | st.text("0123456789abcdef", min_size=1, max_size=64),
)
instance_results = st.builds(
    InstanceResult,
    instance=TEXT,
    status=st.sampled_from(EvaluationStatus),
    objective=st.none() | FLOAT,
    gap=st.none() | FLOAT,
    seconds=st.none() | st.floats(0, 1e9),
    error=st.none() | TEXT,
)
evaluations = st.builds(
    Evaluation,
    split=st.sampled_from(Split),
    status=st.sampled_from(EvaluationStatus),
    score=st.none() | FLOAT,
    gap=st.none() | FLOAT,
    seconds=st.floats(0, 1e9),
    error=st.none() | TEXT,
    per_instance=st.lists(instance_results, max_size=5).map(tuple),
    steps=st.none() | st.integers(min_value=0, max_value=2**62),
)
model_calls = st.builds(
    ModelCall,
    provider=TEXT.filter(bool),
    model=TEXT.filter(bool),
    prompt=TEXT,
    response=st.none() | TEXT,
    tokens_in=st.none() | COUNT,
    tokens_out=st.none() | COUNT,
    cost=st.none() | st.floats(0, 1e12),
    latency=st.floats(0, 1e9),
    error=st.none() | TEXT,
)


# Examples share one archive per test on purpose (each checks only its own rows).
SHARED_ARCHIVE = [HealthCheck.too_slow, HealthCheck.function_scoped_fixture]


@pytest.fixture
def shared(database_url: str) -> Iterator[tuple[Archive, int, int]]:
    """One archive for all examples of a test (one per example would dominate the run time)."""
    with Archive.open(database_url) as store:
        run = store.create_run("smtt", {"k": [1, 2.5, None, "x"]}, seed=-5)
        parent = store.record_candidate(run, Program("def schedule(p, d): ...", "seed"))
        yield store, run, parent


@settings(max_examples=40, deadline=None, suppress_health_check=SHARED_ARCHIVE)
@given(program=programs,
       evals=st.lists(evaluations, max_size=3, unique_by=lambda e: e.split),
       calls=st.lists(model_calls, max_size=3),
       role=st.sampled_from(EdgeRole))
def test_candidate_roundtrip(shared: tuple[Archive, int, int], program: Program,
                             evals: list[Evaluation], calls: list[ModelCall],
                             role: EdgeRole) -> None:
    store, run, parent = shared
    pid = store.record_candidate(run, program, parents=[Parent(parent, role)],
                                 evaluations=evals, model_calls=calls)
    detail = store.program(pid)
    assert detail.program == program
    assert detail.parents == (Parent(parent, role),)
    assert dict(detail.evaluations) == {e.split: e for e in evals}
    assert list(detail.model_calls) == calls
    assert detail.run_id == run


@settings(max_examples=30, deadline=None, suppress_health_check=SHARED_ARCHIVE)
@given(calls=st.lists(model_calls, min_size=1, max_size=3))
def test_orphan_model_calls_are_counted(shared: tuple[Archive, int, int],
                                        calls: list[ModelCall]) -> None:
    store, run, _ = shared
    before = store.run_state(run, per_instance=False).counters
    store.record_model_calls(run, calls)
    after = store.run_state(run, per_instance=False).counters
    assert after.calls_without_program == before.calls_without_program + len(calls)
    assert after.tokens_in == before.tokens_in + sum(c.tokens_in or 0 for c in calls)


def test_run_config_roundtrip(shared: tuple[Archive, int, int]) -> None:
    store, run, _ = shared
    record = store.run(run)
    assert record.config == {"k": [1, 2.5, None, "x"]}
    assert record.seed == -5
