"""Step counts: a measure of a candidate's work that does not depend on the machine."""

from __future__ import annotations

from typing import Any

from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem
from sandbox import OutcomeStatus, SandboxPool, evaluate
from sandbox.steps import counting_tracer, line_weights, traced

LOOP = """\
def work(n):
    total = 0
    for k in range(n):
        total += k
    return total
"""
# The same loop with a longer expression on the loop's line of work.
HEAVY = LOOP.replace("total += k", "total += (k * 3 + k // 2 - k % 5) * (k + 1)")


def _compiled(code: str, filename: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(code, filename, "exec"), namespace)
    return namespace["work"]


def _counted(function: Any, filename: str, *args: Any) -> int:
    tracer, count = counting_tracer(filename)
    with traced(tracer):
        function(*args)
    return count[0]


def test_the_count_grows_with_the_work_and_repeats_exactly() -> None:
    work = _compiled(LOOP, "<candidate>")
    small, again, medium, large = (_counted(work, "<candidate>", n)
                                   for n in (100, 100, 200, 1000))
    assert small == again > 100
    # Linear in the passes through the loop, each pass the same weight.
    per_pass = (medium - small) / 100
    assert per_pass >= 2 and large - small == 900 * per_pass


def test_a_line_weighs_its_instructions() -> None:
    plain, heavy = _compiled(LOOP, "<candidate>"), _compiled(HEAVY, "<candidate>")
    # Line 4 is the loop's work.
    assert line_weights(plain.__code__)[4] < line_weights(heavy.__code__)[4]
    assert _counted(heavy, "<candidate>", 1000) > 2 * _counted(plain, "<candidate>", 1000)


def test_only_the_named_file_counts() -> None:
    work = _compiled(LOOP, "<elsewhere>")
    assert _counted(work, "<candidate>", 1000) == 0


def test_counts_cross_the_sandbox_unchanged(strict_pool: SandboxPool, smtt: SmttProblem,
                                            honest_instances: list[SmttInstance]) -> None:
    runs = [evaluate(smtt, honest_instances, SEED_PROGRAMS["mdd"], strict_pool, 30.0,
                     count_steps=True) for _ in range(2)]
    assert all(r.ok for r in runs)
    assert runs[0].outcome.steps == runs[1].outcome.steps
    assert len(runs[0].outcome.steps) == len(honest_instances)
    assert runs[0].outcome.total_steps == sum(runs[0].outcome.steps) > 0
    plain = evaluate(smtt, honest_instances, SEED_PROGRAMS["mdd"], strict_pool, 30.0)
    assert plain.ok and plain.outcome.steps == () and plain.outcome.total_steps is None


def test_a_failed_run_keeps_the_counts_of_finished_payloads(
        strict_pool: SandboxPool, smtt: SmttProblem,
        honest_instances: list[SmttInstance]) -> None:
    fails_third = SEED_PROGRAMS["edd"].replace(
        "    n = len(processing_times)\n",
        "    n = len(processing_times)\n    if processing_times == LATER:\n"
        "        raise ValueError('third')\n", 1).replace(
        "def schedule", f"LATER = {list(honest_instances[2].processing_times)}\n\n"
                        "def schedule", 1)
    result = evaluate(smtt, honest_instances, fails_third, strict_pool, 30.0,
                      count_steps=True)
    assert result.status is OutcomeStatus.EXCEPTION
    assert len(result.outcome.steps) == len(result.outcome.outputs) == 2
    assert result.outcome.total_steps is None
