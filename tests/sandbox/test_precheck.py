"""Static pre-check: contract violations fail fast with a message naming the line."""

from __future__ import annotations

import pytest

from evaluators.smtt.problem import SmttProblem
from sandbox import precheck

GOOD = """\
import math
from collections import deque
from typing import List

def helper(x):
    return math.floor(x)

def schedule(processing_times, due_dates):
    return sorted(range(len(due_dates)), key=lambda j: due_dates[j])
"""


def test_good_candidate_passes(smtt: SmttProblem) -> None:
    result = precheck(GOOD, smtt.candidate_spec)
    assert result.ok
    assert result.problems == ()
    assert result.message == ""


def test_seed_programs_pass(smtt: SmttProblem) -> None:
    for name, code in smtt.seed_programs.items():
        assert precheck(code, smtt.candidate_spec).ok, name


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("def schedule(processing_times, due_dates)\n    return []\n",
         "line 1: syntax error"),
        ("def order(processing_times, due_dates):\n    return []\n",
         "must define `def schedule(processing_times, due_dates):`"),
        ("class A:\n    def schedule(processing_times, due_dates):\n        return []\n",
         "at the top level"),
        ("async def schedule(processing_times, due_dates):\n    return []\n",
         "line 1: `schedule` must be a plain function"),
        ("def schedule(p, d):\n    return []\n",
         "line 1: `schedule` must take the parameters (processing_times, due_dates) in this "
         "order; it takes (p, d)"),
        ("def schedule(processing_times):\n    return []\n", "it takes (processing_times)"),
        ("def schedule(processing_times, due_dates, extra):\n    return []\n",
         "it takes (processing_times, due_dates, extra)"),
        ("def schedule(processing_times, due_dates, *, mode):\n    return []\n",
         "required keyword-only parameters (mode)"),
        ("import os\ndef schedule(processing_times, due_dates):\n    return []\n",
         "line 1: import of 'os' is not allowed (allowed: bisect, collections"),
        ("def schedule(processing_times, due_dates):\n    import subprocess\n    return []\n",
         "line 2: import of 'subprocess' is not allowed"),
        ("from os import path\ndef schedule(processing_times, due_dates):\n    return []\n",
         "line 1: import of 'os' is not allowed"),
        ("from . import x\ndef schedule(processing_times, due_dates):\n    return []\n",
         "line 1: relative imports are not allowed"),
        ("def schedule(processing_times, due_dates):\n    return eval('[]')\n",
         "line 2: `eval` is not available"),
        ("def schedule(processing_times, due_dates):\n    open('x', 'w')\n",
         "line 2: `open` is not available"),
        ("def schedule(processing_times, due_dates):\n    return ().__class__.__bases__\n",
         "attribute `__class__` is not allowed"),
        ("def schedule(processing_times, due_dates):\n"
         "    return getattr(schedule, '__globals__')\n",
         "getattr() of dunder attribute '__globals__'"),
    ],
)
def test_violations_are_explained(smtt: SmttProblem, code: str, expected: str) -> None:
    result = precheck(code, smtt.candidate_spec)
    assert not result.ok
    assert expected in result.message, result.message


def test_extra_parameters_with_defaults_are_fine(smtt: SmttProblem) -> None:
    code = "def schedule(processing_times, due_dates, alpha=0.5):\n    return []\n"
    assert precheck(code, smtt.candidate_spec).ok


def test_size_cap(smtt: SmttProblem) -> None:
    code = GOOD + "# " + "x" * 1000 + "\n"
    result = precheck(code, smtt.candidate_spec, max_bytes=500)
    assert not result.ok
    assert "the limit is 500 bytes" in result.message


def test_non_text_and_nul_bytes(smtt: SmttProblem) -> None:
    assert "must be text" in precheck(b"def schedule(): pass", smtt.candidate_spec).message  # type: ignore[arg-type]
    assert "NUL byte" in precheck("def schedule(a, b):\x00\n", smtt.candidate_spec).message


def test_every_problem_is_reported(smtt: SmttProblem) -> None:
    code = "import os\nimport socket\ndef schedule(p, d):\n    return eval('1')\n"
    result = precheck(code, smtt.candidate_spec)
    assert len(result.problems) == 4


def test_result_invariant() -> None:
    from sandbox.precheck import PrecheckResult

    with pytest.raises(ValueError):
        PrecheckResult(True, ("a problem",))
    with pytest.raises(ValueError):
        PrecheckResult(False, ())
