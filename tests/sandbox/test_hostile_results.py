"""Hostile candidates against the trusted side of the result channel (issue 18, 1/4/8).

Through the real sandbox, in both isolation modes this machine offers: bubblewrap
(``strict``) and the ``unshare`` fallback (``auto`` with that launcher). Each
candidate must end in a typed failure whose text can be stored and encoded, a
forged result stream must be refused before it is decoded, and a forged frame
must not make a candidate's failure read as the sandbox's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluators.smtt.instance import SmttInstance
from sandbox import OutcomeStatus, SandboxPool, SandboxWarning, evaluate
from tests.sandbox.support import TEST_LIMITS, PermissiveSmtt, assert_honest_scores_right

REPO = Path(__file__).resolve().parents[2]
DEF = "def schedule(processing_times, due_dates):\n"
MODES = ("strict", "unshare")


def open_pool(mode: str) -> SandboxPool:
    """A one-worker pool: bubblewrap (strict) or the unshare fallback."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)  # the fallback warns, by design
        if mode == "strict":
            pool = SandboxPool(workers=1, isolation="strict", limits=TEST_LIMITS)
        else:
            pool = SandboxPool(workers=1, isolation="auto", launcher="unshare",
                               limits=TEST_LIMITS)
        pool.start()
    return pool


# The unshare pool's cases are slow (a second pool): the fast loop runs them on bubblewrap.
@pytest.fixture(scope="module",
                params=["strict", pytest.param("unshare", marks=pytest.mark.slow)])
def pool(request: pytest.FixtureRequest) -> Iterator[SandboxPool]:
    pool = open_pool(request.param)
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture(scope="module")
def problem() -> PermissiveSmtt:
    return PermissiveSmtt()


def _all_text(result: object) -> str:
    """Every text field of an evaluation, as JSON would carry it."""
    return json.dumps(result.as_dict(), ensure_ascii=False)  # type: ignore[attr-defined]


def _storable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return "\x00" not in text


# -- finding 1: text no store can hold ----------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("raise_line", [
    "raise ValueError('bad \\ud800 surrogate')",
    "raise ValueError('nul \\x00 byte and \\udfff')",
    "print('out \\ud800 put'); raise RuntimeError('two\\nlines \\udfff')",
])
def test_unencodable_exception_text_is_made_storable(pool: SandboxPool,
                                                     problem: PermissiveSmtt,
                                                     honest_instances: list[SmttInstance],
                                                     raise_line: str) -> None:
    result = evaluate(problem, honest_instances, DEF + "    " + raise_line + "\n", pool, 10.0)
    assert result.status is OutcomeStatus.EXCEPTION, result.message
    error = result.outcome.error
    assert error is not None
    for text in (result.message, error.message, error.exception_type or "",
                 *error.traceback, result.outcome.stdout):
        assert _storable(text), repr(text)
    # The escape keeps the character readable instead of dropping it.
    assert "\\ud800" in _all_text(result) or "\\udfff" in _all_text(result)
    _all_text(result).encode("utf-8")
    assert_honest_scores_right(pool, problem, honest_instances)


def test_returned_strings_are_made_storable(pool: SandboxPool, problem: PermissiveSmtt,
                                            honest_instances: list[SmttInstance]) -> None:
    code = DEF + "    return ['\\ud800', 'a\\x00b', 1]\n"
    result = evaluate(problem, honest_instances, code, pool, 10.0)
    assert result.status is OutcomeStatus.INVALID_OUTPUT
    assert result.outcome.outputs[0][:2] == ["\\ud800", "a\\x00b"]
    _all_text(result).encode("utf-8")


# -- finding 4: a forged result stream inflating the orchestrator -------------------------
LISTS_FRAME = """\
import os


def schedule(processing_times, due_dates):
    n = (16 * 2**20 - 64) // 3  # just under the channel cap: the worker passes it on
    body = b'{"i":0,"t":0,"v":[' + b'[],' * (n - 1) + b'[]]}'
    os.write(3, b"O" + len(body).to_bytes(4, "little") + body)
    os._exit(0)
"""


@pytest.mark.slow
def test_forged_stream_of_lists_is_refused_before_decoding(
        pool: SandboxPool, problem: PermissiveSmtt,
        honest_instances: list[SmttInstance]) -> None:
    result = evaluate(problem, honest_instances, LISTS_FRAME, pool, 10.0)
    assert result.status is OutcomeStatus.INVALID_OUTPUT, result.message
    assert "result channel corrupted" in result.message
    assert "values" in result.message
    assert result.outcome.outputs == ()
    assert_honest_scores_right(pool, problem, honest_instances)


MEASURE = """\
import json, resource, sys, warnings
import numpy as np
from evaluators.base import GeneratorSpec
from sandbox import SandboxPool, evaluate
from tests.sandbox.support import TEST_LIMITS, PermissiveSmtt, EDD

warnings.simplefilter("ignore")
mode, path = sys.argv[1], sys.argv[2]
problem = PermissiveSmtt()
instances = problem.generate(GeneratorSpec(n=25, count=6, params={"rdd": 0.6, "tf": 0.6}),
                             np.random.default_rng(42))
kwargs = {"isolation": "strict"} if mode == "strict" else {"isolation": "auto",
                                                           "launcher": "unshare"}
with SandboxPool(workers=1, limits=TEST_LIMITS, **kwargs) as pool:
    assert evaluate(problem, instances, EDD, pool, 10.0).ok
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = evaluate(problem, instances, open(path).read(), pool, 10.0)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"before_kb": before, "after_kb": after, "status": result.status.value}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_forged_stream_leaves_orchestrator_memory_flat(tmp_path: Path, mode: str) -> None:
    """Peak RSS of a fresh orchestrator: the forged 16 MiB stream may cost about its own
    size once (it arrives), not the ~440 MB its decoding took."""
    candidate = tmp_path / "bomb.py"
    candidate.write_text(LISTS_FRAME)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.run([sys.executable, "-c", MEASURE, mode, str(candidate)], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    assert data["status"] == "invalid_output"
    grown_mb = (data["after_kb"] - data["before_kb"]) / 1024
    assert grown_mb < 40, f"peak RSS grew by {grown_mb:.0f} MB"


# -- finding 8: a forged frame blaming the sandbox ----------------------------------------
FORGED_SETUP = textwrap.dedent("""\
    import os


    def schedule(processing_times, due_dates):
        body = (b'{"i":-1,"kind":"setup","type":"OSError",'
                b'"msg":"seccomp filter could not be loaded"}')
        os.write(3, b"E" + len(body).to_bytes(4, "little") + body)
        os._exit(71)
    """)


@pytest.mark.parametrize("code", [FORGED_SETUP, "import os\n" + DEF + "    os._exit(71)\n"],
                         ids=["forged-frame", "exit-code"])
def test_candidate_cannot_pass_its_failure_off_as_a_sandbox_setup_failure(
        pool: SandboxPool, problem: PermissiveSmtt, honest_instances: list[SmttInstance],
        code: str) -> None:
    result = evaluate(problem, honest_instances, code, pool, 10.0)
    assert not result.ok
    assert "setup failed" not in result.message, result.message
    assert result.status in (OutcomeStatus.INVALID_OUTPUT, OutcomeStatus.CRASHED)
    if code is FORGED_SETUP:
        assert "setup failure reported after the candidate started" in result.message
    else:
        assert "exited with code 71" in result.message
    assert_honest_scores_right(pool, problem, honest_instances)
