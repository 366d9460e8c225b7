"""Validation of the records written to the archive, key redaction and the default code hash."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from archive import (
    CachedReference,
    Evaluation,
    EvaluationStatus,
    InstanceResult,
    ModelCall,
    Program,
    ReferenceStatus,
    Split,
)
from archive.hashing import code_hash
from archive.redact import REDACTED, redact
from evaluators.base import Status

CODE = '''\
def schedule(processing_times, due_dates):
    """Earliest due date."""
    return sorted(range(len(due_dates)), key=lambda j: due_dates[j])
'''


def test_code_hash_ignores_formatting_comments_and_docstrings() -> None:
    reformatted = ("def schedule(processing_times,due_dates):\n"
                   "    # EDD\n"
                   "    return sorted(range(len(due_dates)),\n"
                   "                  key=lambda j: due_dates[j])  # by due date\n")
    assert code_hash(CODE) == code_hash(reformatted)
    assert code_hash(CODE) != code_hash(CODE.replace("due_dates[j])", "-due_dates[j])"))
    assert len(code_hash(CODE)) == 64


def test_code_hash_of_unparsable_code_is_whitespace_insensitive() -> None:
    assert code_hash("def f(:\n  x") == code_hash("  def f(:\n\n    x  ")
    assert code_hash("def f(:\n  x") != code_hash("def f(:\n  y")


def test_program_fills_in_its_hash() -> None:
    assert Program(CODE, "seed").code_hash == code_hash(CODE)
    assert Program(CODE, "seed", code_hash="abc").code_hash == "abc"
    with pytest.raises(ValueError):
        Program(CODE, "seed", code_hash="x" * 129)
    with pytest.raises(ValueError):
        Program(CODE, "")
    with pytest.raises(ValueError):
        Program(CODE, "seed", island=-1)
    with pytest.raises(ValueError, match="NUL"):
        Program("x = '\x00'", "seed")


@pytest.mark.parametrize("text", [
    "Incorrect API key provided: sk-proj-AbCdEfGhIjKlMnOpQrStUv1234",
    "anthropic error: invalid x-api-key sk-ant-api03-abcdefghijklmnopqrstuvwx",
    'headers={"Authorization": "Bearer abcdefghijklmnop.qrstu"}',
    "url?api_key=0123456789abcdef&x=1",
    "key AIzaSyA1234567890abcdefghijklmnopqrstu",
])
def test_keys_are_redacted(text: str) -> None:
    cleaned = redact(text)
    assert REDACTED in cleaned
    for secret in ("AbCdEfGhIj", "abcdefghijklmnopqrstuvwx", "abcdefghijklmnop.qrstu",
                   "0123456789abcdef", "A1234567890abcdef"):
        assert secret not in cleaned


def test_model_call_never_holds_a_key() -> None:
    call = ModelCall("openai", "gpt", "hello", error="401: sk-abcdefghijklmnopqrstuvwxyz01")
    assert call.error == f"401: {REDACTED}"
    assert ModelCall("openai", "gpt", "no key here, sk-short").prompt == "no key here, sk-short"


@pytest.mark.slow
@given(st.text())
def test_redaction_is_idempotent(text: str) -> None:
    once = redact(text)
    assert redact(once) == once


def test_non_finite_numbers_are_refused() -> None:
    with pytest.raises(ValueError):
        Evaluation(Split.TRAIN, EvaluationStatus.OK, score=math.nan)
    with pytest.raises(ValueError):
        InstanceResult("a", objective=math.inf)
    with pytest.raises(ValueError):
        ModelCall("p", "m", "x", cost=-1.0)
    with pytest.raises(ValueError):
        ModelCall("p", "m", "x", tokens_in=10**12 + 1)
    with pytest.raises(TypeError):
        Evaluation("train", EvaluationStatus.OK)  # type: ignore[arg-type]


def test_cached_reference_allows_infinite_objective() -> None:
    ref = CachedReference("f" * 64, "dp", math.inf, 0.0, ReferenceStatus.TIMEOUT, 1.0)
    assert not ref.is_optimal
    with pytest.raises(ValueError):
        CachedReference("f", "dp", math.nan, 0.0, ReferenceStatus.TIMEOUT, 1.0)


def test_statuses_mirror_their_sources() -> None:
    # The archive may not import the evaluators' enum, so it mirrors its values.
    assert {s.value for s in ReferenceStatus} == {s.value for s in Status}


@given(st.builds(
    InstanceResult,
    instance=st.text().filter(lambda s: "\x00" not in s),
    status=st.sampled_from(EvaluationStatus),
    objective=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    gap=st.none() | st.floats(allow_nan=False, allow_infinity=False),
    seconds=st.none() | st.floats(min_value=0, allow_nan=False, allow_infinity=False),
    error=st.none() | st.text().filter(lambda s: "\x00" not in s),
))
def test_instance_result_json_roundtrip(result: InstanceResult) -> None:
    assert InstanceResult.from_json(result.to_json()) == result


@pytest.mark.parametrize("steps", [-1, 1.5, True, "7"])
def test_evaluation_steps_must_be_a_count(steps: object) -> None:
    with pytest.raises(ValueError, match="steps"):
        Evaluation(Split.TRAIN, EvaluationStatus.OK, steps=steps)  # type: ignore[arg-type]
