"""The search loop with fakes: a scripted proposer, an in-process pool, a memory recorder.

No sandbox, no archive file: these run in a fraction of a second and pin down
what the end-to-end tests in test_loop.py only show in aggregate — duplicates,
failed proposals, the stall stop, and that resume rebuilds the live state.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest

from archive import EvaluationStatus, ProgramState, RunStatus, Split
from discover.config import RunConfig, SearchConfig
from discover.executors import ExecutorLost, PoolClosed
from discover.reporting.events import CandidateEvaluated, Event
from discover.running.search_phase import search
from discover.running.setup import RunSetup
from discover.search.cascade import TrainingSet
from discover.search.collaborators import CascadeEvaluator, LoopSettings, SlotGenerators
from discover.search.loop import SearchLoop
from discover.search.population import Population, PopulationConfig
from discover.search.stopping import MAX_STALLED, FirstOf, MaxEvaluations, Stalled
from discover.search.timing import TimingGate, timing_instances
from evaluators.registry import get_problem
from tests.discover.fakes import (
    InProcessPool,
    MemoryRecorder,
    ScriptedProposer,
    smtt_instances,
    sort_key_program,
)

SMTT: Any = get_problem("smtt")
SEEDS = {"edd": sort_key_program("d[j]"), "spt": sort_key_program("p[j]")}
NEW = [sort_key_program(f"d[j] + {k} * p[j]") for k in range(1, 6)]


def _training() -> TrainingSet:
    instances = smtt_instances(6)
    mdd = SMTT.heuristics["mdd"]
    return TrainingSet(tuple(instances),
                       tuple(float(max(SMTT.objective(i, mdd(i)), 1)) for i in instances), 2)


def _loop(codes: Sequence[str | None], recorder: MemoryRecorder | None = None,
          events: list[Event] | None = None, *, runtime_limit: float | None = None,
          in_flight: int = 2, timing: TimingGate | None = None) -> SearchLoop:
    population = Population(PopulationConfig(num_islands=2), np.random.default_rng([1, 0]))
    evaluator = CascadeEvaluator(SMTT, _training(), InProcessPool(), 10.0, runtime_limit,  # type: ignore[arg-type]
                                 timing=timing)
    settings = LoopSettings({"modify": 1.0}, in_flight,
                            step_limit=timing.limit if timing is not None else None)
    sink = events if events is not None else []
    return SearchLoop(ScriptedProposer(codes), evaluator, recorder or MemoryRecorder(),
                      population, SlotGenerators(1), settings, sink.append)


def _search_to(loop: SearchLoop, budget: int) -> None:
    while loop.record_next(budget):
        loop.propose(budget)


def test_records_seeds_then_new_programs_to_the_budget() -> None:
    recorder = MemoryRecorder()
    loop = _loop(NEW, recorder)
    try:
        loop.record_seeds(SEEDS)
        _search_to(loop, 5)
    finally:
        loop.close()
    assert loop.evaluated == 5
    assert [r.program.operator for r in recorder.programs] == ["seed"] * 2 + ["modify"] * 3
    assert all(r.evaluations[0].status is EvaluationStatus.OK for r in recorder.programs)
    assert [r.program.code for r in recorder.programs[2:]] == NEW[:3]
    assert len(loop.population) == 5
    best_id, best_score = loop.best
    assert best_score == min(loop.train_scores().values())
    assert loop.train_scores()[best_id] == best_score  # type: ignore[index]


def test_the_same_code_again_is_recorded_as_a_duplicate_and_no_code_as_nothing() -> None:
    recorder = MemoryRecorder()
    events: list[Event] = []
    loop = _loop([None, SEEDS["edd"], NEW[0]], recorder, events, in_flight=1)
    try:
        loop.record_seeds(SEEDS)
        _search_to(loop, 3)
    finally:
        loop.close()
    statuses = [e.status for e in events if isinstance(e, CandidateEvaluated)]
    assert statuses == ["ok", "ok", "no_code", "duplicate", "ok"]
    duplicate = recorder.programs[2]
    assert duplicate.duplicate_of == recorder.programs[0].program_id
    assert duplicate.evaluations == () and loop.evaluated == 3


def test_a_too_slow_program_is_recorded_as_too_slow_and_stays_out_of_the_population() -> None:
    recorder = MemoryRecorder()
    slow = sort_key_program("d[j] - p[j]", "    # seconds=0.5\n")
    loop = _loop([slow], recorder, runtime_limit=0.1, in_flight=1)
    try:
        loop.record_seeds(SEEDS)
        _search_to(loop, 3)
    finally:
        loop.close()
    assert recorder.programs[2].evaluations[0].status is EvaluationStatus.TOO_SLOW
    assert len(loop.population) == 2 and loop.evaluated == 3


def test_the_stall_criterion_counts_proposals_without_a_new_program() -> None:
    loop = _loop([SEEDS["edd"]], in_flight=1)  # only ever proposes a known program
    stop = FirstOf((Stalled(4), MaxEvaluations(100)))
    try:
        loop.record_seeds(SEEDS)
        seen = []
        while (verdict := stop(loop.progress(0.0))) is None:
            assert loop.record_next(100)
            loop.propose(100)
            seen.append(loop.progress(0.0).stalled)
    finally:
        loop.close()
    assert seen == [1, 2, 3, 4]
    assert verdict.failed and "4 proposals in a row" in verdict.reason


def _state_of(recorder: MemoryRecorder) -> list[ProgramState]:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    return [ProgramState(r.program_id, r.program, r.parents, r.duplicate_of,
                         {Split.TRAIN: r.evaluations[0]} if r.evaluations else {}, now)
            for r in recorder.programs]


def test_resume_rebuilds_the_live_state_through_the_same_member_builder() -> None:
    recorder = MemoryRecorder()
    codes = [NEW[0], SEEDS["spt"], None, *NEW[1:]]
    live = _loop(codes, recorder)
    try:
        live.record_seeds(SEEDS)
        _search_to(live, 6)
    finally:
        live.close()
    resumed = _loop(codes)
    try:
        resumed.restore(_state_of(recorder), 6)
    finally:
        resumed.close()
    assert resumed.population.members == live.population.members
    assert (resumed.evaluated, resumed.best) == (live.evaluated, live.best)
    assert resumed.train_scores() == live.train_scores()
    assert resumed.codes() == live.codes()
    assert resumed.state.by_code == live.state.by_code
    assert resumed.state.by_behaviour == live.state.by_behaviour
    assert {m.cost for m in live.population.members} == {1e-4}  # no loops: depth 0
    assert {m.load for m in live.population.members} == {None}  # no timing gate


def test_members_carry_their_share_of_the_step_budget_through_resume() -> None:
    recorder = MemoryRecorder()
    gate = TimingGate(timing_instances(SMTT, 40, 2), 10**6, 30.0)
    live = _loop(NEW, recorder, timing=gate)
    try:
        live.record_seeds(SEEDS)
        _search_to(live, 5)
    finally:
        live.close()
    steps = {r.program_id: r.evaluations[0].steps for r in recorder.programs}
    assert all(s is not None and s > 0 for s in steps.values())
    members = live.population.members
    assert len(members) == 5
    assert all(m.load == steps[m.program_id] / 10**6 for m in members)
    resumed = _loop(NEW, timing=gate)
    try:
        resumed.restore(_state_of(recorder), 5)
    finally:
        resumed.close()
    assert resumed.population.members == members


def test_the_runner_stops_a_stalled_search_as_failed() -> None:
    loop = _loop([SEEDS["edd"]], in_flight=4)
    config = RunConfig(budget=50, seed=1, search=SearchConfig(islands=2))
    run = RunSetup(config=config, problem=SMTT, archive=None, run_id=1,  # type: ignore[arg-type]
                   resumed=None, pool=None, isolation="none", training=_training(),  # type: ignore[arg-type]
                   validation=None, selector=None, baselines=(),  # type: ignore[arg-type]
                   proposer=loop.proposer, loop=loop, validated=set())
    try:
        ending = search(run, lambda event: None, start=time.monotonic())
    finally:
        loop.close()
    assert ending.status is RunStatus.FAILED
    assert ending.reason.startswith(f"search stalled: {MAX_STALLED} proposals in a row")
    assert loop.evaluated == len(SMTT.seed_programs)  # only the problem's seeds are new
    assert loop.progress(0.0).stalled == MAX_STALLED


@pytest.mark.parametrize("budget", [1, 6])
def test_the_runner_stops_at_the_budget(budget: int) -> None:
    loop = _loop(NEW, in_flight=2)
    config = RunConfig(budget=budget, seed=1, search=SearchConfig(islands=2))
    run = RunSetup(config=config, problem=SMTT, archive=None, run_id=1,  # type: ignore[arg-type]
                   resumed=None, pool=None, isolation="none", training=_training(),  # type: ignore[arg-type]
                   validation=None, selector=None, baselines=(),  # type: ignore[arg-type]
                   proposer=loop.proposer, loop=loop, validated=set())
    try:
        ending = search(run, lambda event: None, start=time.monotonic())
    finally:
        loop.close()
    assert (ending.status, ending.reason) == (RunStatus.FINISHED, "budget reached")
    assert loop.evaluated == max(budget, len(SMTT.seed_programs))  # seeds are always recorded


@pytest.mark.parametrize(("error", "ends_the_run"), [
    (RuntimeError("a scoring bug"), False),
    (PoolClosed("the remote sandbox pool was closed"), True),
    (ExecutorLost("lost the connection to the Dask scheduler"), True),
], ids=["trusted-fault", "pool-closed", "executor-lost"])
def test_only_a_candidates_own_failure_is_recorded_as_its_crash(
        error: Exception, ends_the_run: bool) -> None:
    """A trusted-side error is the candidate's ``crashed`` evaluation; a pool closed or
    lost under it ends the run instead (the candidate did nothing wrong)."""
    loop = _loop(NEW)

    def failing(code: str, is_known: object) -> object:
        raise error

    loop.evaluator = failing  # type: ignore[assignment]
    try:
        if ends_the_run:
            with pytest.raises(type(error)):
                loop._contained(NEW[0])
        else:
            result = loop._contained(NEW[0])
            assert not isinstance(result, str)
            assert result.status is EvaluationStatus.CRASHED and result.stage == "trusted"
    finally:
        loop.close()
