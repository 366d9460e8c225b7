"""Step counts: a measure of a candidate's work that does not depend on the machine."""

from __future__ import annotations

import sys
import textwrap
from typing import Any

import pytest

from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem
from sandbox import CandidateEvaluation, OutcomeStatus, SandboxPool, evaluate
from sandbox.channel import ErrorKind, FrameKind, frame
from sandbox.outcome import STEP_LIMIT_MESSAGE
from sandbox.steps import (
    StepCounter,
    StepLimitReached,
    line_weights,
    straight_line,
    traced,
)
from sandbox.verdict import classify
from tests.sandbox.support import PermissiveSmtt

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
    counter = StepCounter(filename)
    with traced(counter.tracer):
        function(*args)
    return counter.count


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


# -- counting straight-line code once ----------------------------------------------------
def _by_line(function: Any, filename: str, *args: Any) -> int:
    """The count of plain line-by-line tracing (the oracle the memoised tracer must match)."""
    count = 0
    tables: dict[Any, dict[int, int]] = {}

    def local(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        count += tables[frame.f_code].get(frame.f_lineno, 1) if event == "line" else 1
        return local

    def start(frame: Any, event: str, arg: Any) -> Any:
        nonlocal count
        if frame.f_code.co_filename != filename:
            return None
        if frame.f_code not in tables:
            tables[frame.f_code] = line_weights(frame.f_code)
        count += 1
        return local

    with traced(start):
        function(*args)
    return count


VARIED = {
    "key lambda": """def work(n):
    t = 0
    left = list(range(n))
    while left:
        j = min(left, key=lambda j: (max(t + j % 7, 3 * j - t), j))
        left.remove(j)
        t += j % 5
    return t
""",
    "helpers, multi-line expression": """def key(t, p, d):
    return max(t + p,
               d) + 0.5 * (p
                           - d)


def work(n):
    return sorted(range(n), key=lambda j: key(j % 3, j % 11, n - j))
""",
    "branches, comprehension, generator": """def gen(n):
    for k in range(n):
        yield k * k


def work(n):
    total = sum(x for x in gen(n) if x % 2) + len([k for k in range(n) if k > 3 or k == 1])
    return total if n > 5 else -total
""",
    "recursion through a straight-line function": """def half(n):
    return down(n // 2)


def down(n):
    if n <= 1:
        return 1
    return half(n) + half(n - 1)


def work(n):
    return down(n)
""",
    "handled exceptions around straight-line calls": """def ratio(a, b):
    return a / b


def work(n):
    total = 0
    for k in range(n):
        try:
            total += ratio(k, 1 + k % 3)
        except ZeroDivisionError:
            total -= 1
    return total
""",
}


@pytest.mark.parametrize("name", VARIED)
def test_memoised_counts_equal_line_by_line_tracing(name: str) -> None:
    work = _compiled(VARIED[name], "<candidate>")
    for n in (0, 1, 9, 60):
        assert _counted(work, "<candidate>", n) == _by_line(work, "<candidate>", n) > 0


@pytest.mark.parametrize("name", sorted(SEED_PROGRAMS))
def test_seed_programs_count_as_line_by_line(name: str, honest_instances: list[SmttInstance]
                                             ) -> None:
    namespace: dict[str, Any] = {}
    exec(compile(SEED_PROGRAMS[name], "<candidate>", "exec"), namespace)
    schedule = namespace["schedule"]
    for instance in honest_instances:
        args = (list(instance.processing_times), list(instance.due_dates))
        assert _counted(schedule, "<candidate>", *args) == _by_line(schedule, "<candidate>",
                                                                   *args)


def test_straight_line_code_is_only_code_without_branches() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(VARIED["branches, comprehension, generator"] + VARIED["key lambda"]
                 + "def plain(a, b):\n    c = a + b\n    return max(c, a) * b\n",
                 "<candidate>", "exec"), namespace)
    assert straight_line(namespace["plain"].__code__)
    assert not straight_line(namespace["work"].__code__)  # the while loop
    assert not straight_line(namespace["gen"].__code__)   # a generator
    ternary = compile("lambda x: 1 if x else 2", "<candidate>", "eval").co_consts[0]
    guarded = compile("def f(x):\n    try:\n        return 1 / x\n    except Exception:\n"
                      "        return 0\n", "<candidate>", "exec").co_consts[0]
    assert not straight_line(ternary) and not straight_line(guarded)


def test_a_straight_line_call_that_raises_counts_as_a_complete_one() -> None:
    # The one difference from line-by-line tracing, and still the same every run.
    work = _compiled(VARIED["handled exceptions around straight-line calls"].replace(
        "1 + k % 3", "k % 3"), "<candidate>")
    counts = {_counted(work, "<candidate>", 30) for _ in range(3)}
    assert len(counts) == 1 and counts.pop() != _by_line(work, "<candidate>", 30)


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


# -- the step limit ----------------------------------------------------------------------
DEF = "def schedule(processing_times, due_dates):\n"
EDD_RETURN = "    return sorted(range(len(due_dates)), key=lambda j: (due_dates[j], j))\n"
# The same work on every payload (the loop does not depend on the instance, all of size 25).
LOOPING = DEF + "    total = 0\n    for k in range(ITERATIONS):\n        total += k\n" + EDD_RETURN
ENDLESS = LOOPING.replace("ITERATIONS", "10 ** 12")
# Candidates that catch everything, in the loop and around it, and carry on.
CATCHING = [
    DEF + textwrap.indent(textwrap.dedent("""\
        total = 0
        for k in range(10 ** 12):
            try:
                total += k
            except BaseException:
                pass
    """), "    ") + EDD_RETURN,
    DEF + textwrap.indent(textwrap.dedent("""\
        while True:
            try:
                while True:
                    pass
            except BaseException:
                try:
                    continue
                except BaseException:
                    continue
    """), "    "),
]


def _limited(pool: SandboxPool, code: str, instances: list[SmttInstance],
             limit: int | None, problem: SmttProblem | None = None) -> CandidateEvaluation:
    return evaluate(problem or SmttProblem(), instances, code, pool, 30.0, count_steps=True,
                    step_limit=limit)


def _assert_stopped(result: CandidateEvaluation, limit: int, at: int) -> None:
    outcome = result.outcome
    assert outcome.status is OutcomeStatus.TIMEOUT and outcome.step_limit_reached, result.message
    assert outcome.error is not None and outcome.error.payload_index == at
    assert outcome.error.message.startswith(f"{STEP_LIMIT_MESSAGE}: more than {limit:,} steps")
    assert len(outcome.outputs) == len(outcome.steps) == at < outcome.n_payloads


def test_a_long_loop_stops_at_a_small_limit(strict_pool: SandboxPool,
                                            honest_instances: list[SmttInstance]) -> None:
    # Without the limit it would run until the 30 s deadline ("exceeded the time limit").
    result = _limited(strict_pool, ENDLESS, honest_instances, 1_000)
    _assert_stopped(result, 1_000, 0)
    assert result.outcome.error is not None
    stopped_at = int(result.outcome.error.message.rsplit(" ", 1)[1].rstrip(")").replace(",", ""))
    assert 1_000 < stopped_at < 1_100  # stopped at once, not at the end of a payload


@pytest.mark.parametrize("code", CATCHING, ids=["try-in-loop", "nested-handlers"])
def test_a_candidate_that_catches_everything_is_stopped_too(
        strict_pool: SandboxPool, honest_instances: list[SmttInstance], code: str) -> None:
    compile(code, "<candidate>", "exec")
    _assert_stopped(_limited(strict_pool, code, honest_instances, 5_000), 5_000, 0)


def test_under_the_limit_the_counts_are_those_of_an_unlimited_run(
        strict_pool: SandboxPool, honest_instances: list[SmttInstance]) -> None:
    code = LOOPING.replace("ITERATIONS", "2_000")
    free = _limited(strict_pool, code, honest_instances, None)
    assert free.ok and free.outcome.total_steps is not None
    exact = _limited(strict_pool, code, honest_instances, free.outcome.total_steps)
    assert exact.ok and exact.outcome.steps == free.outcome.steps  # equal is not over
    # One step short: stopped on the last payload, the others' counts unchanged.
    short = _limited(strict_pool, code, honest_instances, free.outcome.total_steps - 1)
    _assert_stopped(short, free.outcome.total_steps - 1, len(honest_instances) - 1)
    assert short.outcome.steps == free.outcome.steps[:-1]


def test_the_limit_is_on_the_batch_not_on_each_payload(
        strict_pool: SandboxPool, honest_instances: list[SmttInstance]) -> None:
    code = LOOPING.replace("ITERATIONS", "2_000")
    steps = _limited(strict_pool, code, honest_instances, None).outcome.steps
    limit = sum(steps[:3]) + steps[3] // 2
    assert max(steps) < limit  # every payload alone is within it
    result = _limited(strict_pool, code, honest_instances, limit)
    _assert_stopped(result, limit, 3)
    assert result.outcome.steps == steps[:3]
    assert [s.objective for s in result.scores[:3]] == \
        [s.objective for s in evaluate(SmttProblem(), honest_instances[:3], code,
                                       strict_pool, 30.0).scores]


def test_a_step_limit_needs_counting_and_a_positive_int(
        strict_pool: SandboxPool, honest_instances: list[SmttInstance]) -> None:
    for kwargs in ({"step_limit": 10}, {"count_steps": True, "step_limit": 0},
                   {"count_steps": True, "step_limit": True},
                   {"count_steps": True, "step_limit": 2.5}):
        with pytest.raises(ValueError, match="step_limit"):
            evaluate(SmttProblem(), honest_instances, EDD_RETURN, strict_pool, 30.0,
                     **kwargs)  # type: ignore[arg-type]


FORGED_STEP_LIMIT = DEF + """\
    import os
    body = b'{"i":0,"kind":"step_limit","s":COUNT}'
    os.write(3, b"E" + len(body).to_bytes(4, "little") + body)
    os._exit(0)
"""


@pytest.mark.parametrize(("count", "limit"), [("1000000000", None), ("5", 10**6),
                                               ('"1e9"', 10**6)],
                         ids=["no-limit-asked", "count-within-limit", "count-not-an-int"])
def test_a_forged_step_limit_report_is_a_corrupted_channel(
        strict_pool: SandboxPool, honest_instances: list[SmttInstance], count: str,
        limit: int | None) -> None:
    code = FORGED_STEP_LIMIT.replace("COUNT", count)
    result = _limited(strict_pool, code, honest_instances, limit, PermissiveSmtt())
    assert result.status is OutcomeStatus.INVALID_OUTPUT, result.message
    assert "result channel corrupted" in result.message and "step-limit" in result.message


def _channel(*frames: bytes) -> bytes:
    return frame(FrameKind.STARTED) + b"".join(frames)


STOPPED = frame(FrameKind.ERROR, {"i": 1, "kind": ErrorKind.STEP_LIMIT.value, "s": 1_234})
FINISHED = (frame(FrameKind.OUTPUT, {"i": 0, "t": 0.1, "v": [0]}),
            frame(FrameKind.STEPS, {"i": 0, "s": 600}))
REPLY = {"exit_code": 0, "elapsed": 0.2, "stdout": "", "cpu": 0.1}


def test_the_verdict_of_a_step_limit_error() -> None:
    outcome = classify(REPLY, _channel(*FINISHED, STOPPED), 3, "", 10.0, step_limit=1_200)
    assert outcome.status is OutcomeStatus.TIMEOUT and outcome.step_limit_reached
    assert outcome.error is not None and outcome.error.payload_index == 1
    assert outcome.error.message == \
        "step limit reached: more than 1,200 steps (stopped at 1,234)"
    assert outcome.outputs == ([0],) and outcome.steps == (600,)
    # The supervisor's facts come first: the wall-clock deadline, a signal.
    late = classify({**REPLY, "timed_out": True}, _channel(*FINISHED, STOPPED), 3, "", 10.0,
                    step_limit=1_200)
    assert late.status is OutcomeStatus.TIMEOUT and not late.step_limit_reached
    assert "exceeded the time limit of 10 s" in str(late.error)
    killed = classify({**REPLY, "signal": 11}, _channel(*FINISHED, STOPPED), 3, "", 10.0,
                      step_limit=1_200)
    assert killed.status is OutcomeStatus.CRASHED


@pytest.mark.parametrize(("channel", "limit"), [
    (_channel(*FINISHED, STOPPED), None),  # no limit was asked for
    (_channel(*FINISHED, STOPPED), 1_234),  # the count is not over the limit
    (_channel(*FINISHED, STOPPED.replace(b"1234", b"1e99")), 1_200),
    (_channel(STOPPED), 1_200),  # payload 0 did not finish
    (_channel(*FINISHED, STOPPED), 500),  # payload 0 alone was over: it should have stopped
], ids=["no-limit", "not-over", "count-not-an-int", "unfinished-payload", "over-before"])
def test_a_malformed_step_limit_error_is_a_corrupted_channel(channel: bytes,
                                                              limit: int | None) -> None:
    outcome = classify(REPLY, channel, 3, "", 10.0, step_limit=limit)
    assert outcome.status is OutcomeStatus.INVALID_OUTPUT and not outcome.step_limit_reached
    assert outcome.error is not None
    assert outcome.error.message.startswith("result channel corrupted: step-limit error")


# -- the counter in-process ----------------------------------------------------------------
def test_the_counter_stops_at_the_batch_total_and_reports_once() -> None:
    work = _compiled(LOOP, "<candidate>")
    per_payload = _counted(work, "<candidate>", 100)
    calls: list[int] = []
    counter = StepCounter("<candidate>", 2 * per_payload + 1, lambda c: calls.append(c.total))
    for _ in range(2):
        counter.next_payload()
        with traced(counter.tracer):
            work(100)
        assert counter.count == per_payload and not counter.over
    counter.next_payload()
    with pytest.raises(StepLimitReached), traced(counter.tracer):
        work(100)
    assert counter.over and counter.payload == 2 and calls == [counter.total]
    assert 0 < counter.total - (2 * per_payload + 1) < 10  # at the event that passed it


def test_cpython_drops_a_trace_function_that_raises() -> None:
    """Why the sandbox child ends itself at the limit instead of relying on the exception:
    once the candidate catches it, nothing is traced any more."""
    swallows = ("def work(n):\n    try:\n        for k in range(n):\n            pass\n"
                "    except BaseException:\n        pass\n    return 'carried on'\n")
    work = _compiled(swallows, "<candidate>")
    counter = StepCounter("<candidate>", 500)
    counter.next_payload()
    with traced(counter.tracer):
        assert work(10_000) == "carried on"
        assert sys.gettrace() is None
    assert counter.over and counter.total < 1_000


# -- sorting: C work the tracer cannot see, charged n·⌈log2 n⌉ -------------------------------
def test_counted_sorted_sorts_like_sorted_and_charges_the_comparisons() -> None:
    counter = StepCounter("<candidate>")
    counter.next_payload()
    counted = counter.counted_sorted()
    data = [5, 3, 9, 1, 7] * 40
    assert counted(data) == sorted(data) and counter.count == 200 * (200).bit_length()
    assert counted(iter(data), key=lambda x: -x, reverse=True) == sorted(data)
    assert counter.count == 2 * 200 * (200).bit_length()
    assert counted([]) == [] and counted([4]) == [4]  # nothing to compare: no charge
    assert counter.count == 2 * 200 * (200).bit_length()
    with pytest.raises(TypeError):
        counted(data, lambda x: x)  # type: ignore[misc]  # key is keyword-only, as for sorted


def test_a_sort_counts_toward_the_limit() -> None:
    reached: list[int] = []
    counter = StepCounter("<candidate>", limit=1_000, on_limit=lambda c: reached.append(c.total))
    counter.next_payload()
    with pytest.raises(StepLimitReached):
        counter.counted_sorted()(range(200))
    assert counter.over and reached == [200 * 8]


SORTING = DEF + "    x = sorted(list(range(SIZE)))\n" + EDD_RETURN


def test_a_candidates_sort_is_charged_in_the_sandbox(
        strict_pool: SandboxPool, honest_instances: list[SmttInstance]) -> None:
    small, large = (_limited(strict_pool, SORTING.replace("SIZE", str(size)), honest_instances,
                             None) for size in (1, 1000))
    assert small.ok and large.ok
    # The same lines run; the larger sort costs its comparisons, on every payload.
    assert [b - a for a, b in zip(small.outcome.steps, large.outcome.steps, strict=True)] \
        == [1000 * (1000).bit_length()] * len(honest_instances)
    # Without counting, the candidate gets the real sorted (nothing is charged anywhere).
    plain = evaluate(SmttProblem(), honest_instances, SORTING.replace("SIZE", "1000"),
                     strict_pool, 30.0)
    assert plain.ok and plain.outcome.steps == ()


def test_a_huge_sort_is_stopped_by_the_limit(
        strict_pool: SandboxPool, honest_instances: list[SmttInstance]) -> None:
    result = _limited(strict_pool, SORTING.replace("SIZE", "10 ** 6"), honest_instances, 100_000)
    _assert_stopped(result, 100_000, 0)
