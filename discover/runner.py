"""``discover run`` as a library call: set up, search, validate, summarise.

:func:`run` wires the pieces — archive, training and validation splits,
sandbox pool, proposer (model pool or offline engine), population — into a
:class:`~discover.search.loop.SearchLoop`, and returns a :class:`RunResult`. It never
prints; attach :mod:`discover.reporting.progress` callbacks to watch.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from archive import Archive, RunState, RunStatus, Split
from archive.engine import is_sqlite, resolve_url
from discover.config import ModelSpec, RunConfig
from discover.executors import ExecutorLost, open_executor
from discover.executors.astlock import serialise_ast_parse
from discover.preflight import (
    StartError,
    check_archive_url,
    check_models,
    check_prompts,
    check_sandbox,
)
from discover.prompting.render import BaselineView, PromptLibrary
from discover.providers import BudgetExhausted, CancelScope, Fatal, pool_from_config
from discover.providers.cancel import CTRL_C, TIME_LIMIT
from discover.reporting.events import Event, RunCallback, RunFinished, RunStarted, ValidationScored
from discover.reporting.summary import (
    BaselineScore,
    ProgramScore,
    program_scores,
    reference_objectives,
    score_baselines,
    wins_losses,
)
from discover.search.cascade import (
    TrainingSet,
    archived_validation,
    run_cascade,
    validation_evaluation,
)
from discover.search.collaborators import (
    ArchiveRecorder,
    CascadeEvaluator,
    LoopSettings,
    ProbeTuner,
    SlotGenerators,
)
from discover.search.interrupts import CancellablePool, CancellingEvaluator, EvaluationCancelled
from discover.search.loop import SearchEfficiency, SearchLoop
from discover.search.population import Population, PopulationConfig
from discover.search.proposer import LlmProposer, OfflineProposer, Proposer
from discover.search.stopping import Stop, StopCriterion, run_criteria
from discover.search.timing import TimingGate, build_gate
from discover.splits.datasets import ValidationSet, selection_set, training_set, validation_set
from discover.splits.selection import Selector, rule_score, training_leaders
from evaluators.base import Problem, ReferenceRole, reference_role
from evaluators.registry import get_problem, spec_of
from sandbox import SandboxPool

VALIDATION_TIME_LIMIT = 300.0
"""Wall seconds for one program on the whole validation split."""

BASELINES_KEY = "baselines"
"""Key of the classic heuristics' scores in a run's config snapshot (read by the browser)."""

SKIPPED_VALIDATION = "; final validation skipped (it would run past the time limit)"
"""Appended to the reason of a run stopped at its time limit."""

RUNTIME_FLOOR = 0.005
"""Seconds per training instance below which no candidate is "too slow"."""

#: Models used by ``auto`` when the matching key is in the environment.
AUTO_MODELS = (("OPENAI_API_KEY", "openai:gpt-4o-mini"),
               ("ANTHROPIC_API_KEY", "anthropic:claude-3-5-haiku-latest"))


@dataclass(frozen=True)
class RunResult:
    """What a run achieved (everything is also in the archive)."""

    run_id: int
    status: str
    reason: str
    evaluated: int
    budget: int
    seconds: float
    archive_url: str
    isolation: str
    models: tuple[str, ...]
    best: tuple[ProgramScore, ...]
    baselines: tuple[BaselineScore, ...]
    reference_rule: str = "mdd"
    """The classic heuristic that wins/losses and the selection bar are measured against
    (``problem.reference_heuristic(evaluation.runtime_reference)``: ``mwkr_active`` for
    ``jssp-active``)."""
    reference_role: ReferenceRole = ReferenceRole.OPTIMUM
    """Optima (gaps are reported) or a reference score (ratios), see :class:`ReferenceRole`."""
    efficiency: SearchEfficiency | None = None
    """New programs per minute, duplicates and redrawn proposals of this session."""

    @property
    def export_command(self) -> str:
        """The command that exports the winner."""
        return f"discover export r{self.run_id} -o best_heuristic.py --archive '{self.archive_url}'"

    @property
    def resume_command(self) -> str:
        """The command that continues this run (in the same archive)."""
        return resume_command(self.run_id, self.archive_url)


def resume_command(run_id: int, archive_url: str) -> str:
    """``discover run --resume ID --archive URL`` (``URL`` as displayed, password hidden)."""
    return f"discover run --resume {run_id} --archive '{archive_url}'"


def _check_resumable(state: Any) -> None:
    """A run that met its budget has nothing left to do: resuming it must not reopen it."""
    run = state.run
    budget = run.budget if run.budget is not None else run.config.get("budget")
    if run.status is RunStatus.FINISHED and budget is not None \
            and state.counters.evaluated >= budget:
        raise StartError(f"run {run.id} is finished ({state.counters.evaluated}/{budget} "
                         "evaluated); nothing to resume")


def resolve_models(config: RunConfig, environ: Mapping[str, str]) -> RunConfig:
    """Replace an ``auto`` model by an LLM when a key is set, else by the offline engine."""
    if not any(m.spec == "auto" for m in config.llm.models):
        return config
    chosen = "offline"
    for variable, spec in AUTO_MODELS:
        if environ.get(variable):
            chosen = spec
            break
    models = tuple(ModelSpec(chosen, m.weight, m.base_url) if m.spec == "auto" else m
                   for m in config.llm.models)
    return config.with_overrides(**{"llm.models": models})


def _class_labels(training: Any) -> tuple[str, ...]:
    """Instance class of each training instance (size included when sizes are mixed)."""
    labels = []
    for k, inst in enumerate(training.instances):
        label = getattr(inst, "class_label", None) or "all"
        if training.groups:
            label = f"n={training.groups[k]} {label}"
        labels.append(label)
    return tuple(labels)


def _proposer(problem: Problem[Any], config: RunConfig, environ: Mapping[str, str],
              baselines: Sequence[BaselineScore], deadline: float | None = None,
              cancel: CancelScope | None = None) -> Proposer:
    if config.llm.offline:
        return OfflineProposer(problem)
    llm = config.llm
    online = [m for m in llm.models if m.spec != "offline"]
    llm_online = type(llm)(**{**llm.__dict__, "models": tuple(online)})
    pool, _budget = pool_from_config(llm_online, rng=np.random.default_rng([config.seed, 7]),
                                     environ=environ, deadline=deadline, cancel=cancel)
    prompts = PromptLibrary(Path(config.prompts) if config.prompts else None)
    views = [BaselineView(b.name, gap=b.train_gap, ratio=b.train_ratio) for b in baselines]
    return LlmProposer(problem, pool, prompts, max_tokens=llm.max_tokens,
                       temperature=llm.temperature, diff_probability=llm.diff_probability,
                       reflection_every=config.search.reflection_every, baselines=views)


def _population(config: RunConfig) -> Population:
    s = config.search
    pc = PopulationConfig(num_islands=s.islands, temperature_init=s.temperature_init,
                          temperature_period=s.temperature_period, reset_period=s.reset_interval)
    return Population(pc, np.random.default_rng([config.seed, 0]))


@dataclass
class _Setup:
    """Everything a run needs once its checks passed and its sandbox runs."""

    config: RunConfig
    problem: Problem[Any]
    archive: Archive
    run_id: int
    resumed: RunState | None
    pool: SandboxPool
    isolation: str
    training: TrainingSet
    validation: ValidationSet
    selector: Selector | None
    baselines: tuple[BaselineScore, ...]
    proposer: Proposer
    loop: SearchLoop
    validated: set[int]
    """Programs already scored on the validation split (none are scored twice)."""
    cancel: CancelScope = dataclasses.field(default_factory=CancelScope)
    """Cuts the model calls and evaluations in flight at the time limit and on Ctrl-C."""


@dataclass(frozen=True)
class _Ending:
    """How the search ended: the run's status and why; ``lost`` when the executor was."""

    status: RunStatus
    reason: str
    lost: ExecutorLost | None = None


def run(config: RunConfig, *, resume: int | None = None,
        callbacks: Sequence[RunCallback] = (), environ: Mapping[str, str] | None = None,
        setup_progress: Callable[[str, int, int], None] | None = None,
        started: float | None = None) -> RunResult:
    """Run (or resume) a discovery.

    Parameters
    ----------
    config
        The configuration (ignored when resuming: the archived snapshot is used,
        except ``time_limit``, ``workers`` and ``archive``).
    resume
        Id of an archived run to continue to its original budget.
    callbacks
        Receive every :mod:`discover.reporting.events` event.
    environ
        Where API keys are read (default ``os.environ``); never passed to the sandbox.
    setup_progress
        Called as ``(stage, done, total)`` while references are computed.
    started
        ``time.monotonic()`` value the time limit counts from (the command line
        passes its process's start); default: now.
    """
    environ = os.environ if environ is None else environ
    # The loop parses candidates in several threads (proposals, dedup, pre-checks); on
    # CPython < 3.13 two parses at once can corrupt the AST constructor's depth counter
    # (gh-106905; seen with the local pool too, not only under Dask).
    serialise_ast_parse()

    def emit(event: Event) -> None:
        for cb in callbacks:
            cb.on_event(event)

    start = time.monotonic() if started is None else min(started, time.monotonic())
    # Every check that needs no work comes first, and the sandbox starts before a new
    # archive is created: a bad value stops the run with nothing created or changed.
    check_archive_url(config.archive)
    with ExitStack() as stack:
        run = _set_up(config, resume, environ, setup_progress, emit, start, stack)
        _announce(run, emit)
        search_start = time.monotonic()
        run.cancel.start()
        ending = _search(run, emit, start)
        if run.cancel.cancelled and ending.status is not RunStatus.INTERRUPTED:
            # A run with --time-limit ends near its limit: the final validation
            # (minutes for a slow program) is not run past it, and the reason says so.
            ending = dataclasses.replace(ending, reason=ending.reason + SKIPPED_VALIDATION)
        elif ending.status is not RunStatus.INTERRUPTED:
            try:
                _validate(run, emit, run.config.evaluation.validate_top)
            except KeyboardInterrupt:  # cut the validation in flight too, and say how to resume
                run.cancel.cancel(CTRL_C)
                ending = _Ending(RunStatus.INTERRUPTED, "Ctrl-C")
        run.archive.finish_run(run.run_id, ending.status)
        result = _result(run, ending, start, time.monotonic() - search_start)
        emit(RunFinished(run.run_id, ending.status.value, ending.reason, run.loop.evaluated,
                         *run.loop.best, result.seconds))
        _raise_if_interrupted(run, ending)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _set_up(config: RunConfig, resume: int | None, environ: Mapping[str, str],
            setup_progress: Callable[[str, int, int], None] | None,
            emit: Callable[[Event], None], start: float, stack: ExitStack) -> _Setup:
    """Check the configuration, open the archive, start the sandbox and build the search."""
    state = None
    if resume is not None:
        archive = stack.enter_context(Archive.open(config.archive, create=False))
        state = archive.run_state(resume)
        _check_resumable(state)
        stored = {k: v for k, v in state.run.config.items() if k != BASELINES_KEY}
        config = RunConfig.from_dict(stored, f"run {resume}").with_overrides(
            time_limit=config.time_limit, workers=config.workers, archive=config.archive,
            executor=config.executor)
    else:
        config = resolve_models(config, environ)
    problem = get_problem(config.problem)
    # A file spec is archived as an absolute path: resume and export may run elsewhere.
    config = config.with_overrides(problem=spec_of(problem))
    check_models(config, environ)
    check_sandbox(config.sandbox)
    check_prompts(config.prompts, problem)
    # A database server is reached before the sandbox starts (an unreachable one is
    # the likelier mistake); a new SQLite file is created only once the sandbox runs.
    server = state is None and not is_sqlite(resolve_url(config.archive))
    if server:
        archive = stack.enter_context(Archive.open(config.archive))
    executor = stack.enter_context(open_executor(
        config.executor, workers=config.workers, isolation=config.sandbox,
        problem=spec_of(problem), harness_packages=problem.candidate_spec.sandbox_packages))
    if state is None and not server:
        archive = stack.enter_context(Archive.open(config.archive))
    pool = executor.pool
    isolation = pool.isolation_level
    progress = (lambda d, t: setup_progress("training references", d, t)) \
        if setup_progress else None
    training = training_set(problem, config.evaluation, archive, workers=config.workers,
                            progress=progress, mapper=executor.map_ordered)
    validation = validation_set(problem, config.evaluation.validation)
    # Model calls and evaluations in flight at the time limit (or on Ctrl-C) are cut
    # there, not waited for; the scope's timer is armed when the search starts.
    deadline = None if config.time_limit is None else start + config.time_limit
    cancel = CancelScope(deadline)
    stack.callback(cancel.close)
    guarded = CancellablePool(executor.pool, cancel)
    stack.callback(guarded.close)
    selector = _selector(problem, config, archive, executor, setup_progress,
                         cast(SandboxPool, guarded))
    baselines = score_baselines(problem, training, validation,
                                problem.summary_heuristics or tuple(problem.heuristics),
                                config.evaluation.score)
    runtime_limit = _runtime_limit(problem, config, training, pool)
    proposer = _proposer(problem, config, environ, baselines, deadline, cancel)
    if isinstance(proposer, LlmProposer):
        proposer.class_labels = _class_labels(training)
    if state is None:
        # The archive URL as displayed (password hidden): no credentials in the snapshot.
        snapshot = {**config.to_dict(), "archive": archive.url if config.archive else None,
                    BASELINES_KEY: [b.snapshot() for b in baselines]}
        run_id = archive.create_run(problem.name, snapshot, config.seed,
                                    budget=config.budget, isolation=isolation)
    else:
        run_id = state.run.id
        archive.reopen_run(run_id)
    time_limit = config.evaluation.candidate_time_limit
    # Tuning and the timing gate evaluate through the guarded pool too, so the time
    # limit and Ctrl-C cut them like any evaluation.
    sandbox = cast(SandboxPool, guarded)
    gate = _timing_gate(problem, config, sandbox)
    evaluator = CancellingEvaluator(CascadeEvaluator(
        problem, training, sandbox, time_limit, runtime_limit, config.evaluation.score, gate))
    tuner = ProbeTuner(problem, training, sandbox, time_limit, config.evaluation.score,
                       config.search.tune_evaluations)
    loop = SearchLoop(proposer, evaluator, ArchiveRecorder(archive, run_id),
                      _population(config), SlotGenerators(config.seed),
                      LoopSettings.from_config(config, deadline,
                                               gate.limit if gate is not None else None),
                      emit, tuner)
    stack.callback(loop.close)
    if state is not None:
        loop.restore(state.programs, config.budget)
    return _Setup(config, problem, archive, run_id, state, cast(SandboxPool, guarded),
                  isolation, training, validation, selector, tuple(baselines), proposer, loop,
                  _already_validated(state), cancel)


def _announce(run: _Setup, emit: Callable[[Event], None]) -> None:
    """Tell the callbacks the run starts (how far a resumed run already got)."""
    emit(RunStarted(run.run_id, run.problem.name, run.config.budget, run.loop.evaluated,
                    run.isolation, tuple(m.spec for m in run.config.llm.models),
                    len(run.training.instances), resumed=run.resumed is not None))


def _search(run: _Setup, emit: Callable[[Event], None], start: float) -> _Ending:
    """Propose, evaluate and record until a stop criterion says why the run ends."""
    config, loop = run.config, run.loop
    stop = run_criteria(config.budget, config.time_limit)
    try:
        try:
            if run.resumed is None:
                loop.record_seeds(dict(run.problem.seed_programs))
            next_validation = _next_multiple(loop.evaluated, config.evaluation.validate_every)
            while (verdict := stop(loop.progress(time.monotonic() - start))) is None:
                if not loop.record_next(config.budget):
                    verdict = Stop("budget reached")
                    break
                failure = stop(loop.progress(time.monotonic() - start))
                if failure is not None and failure.failed:
                    verdict = failure  # e.g. stalled: propose nothing more
                    break
                loop.propose(config.budget)
                if next_validation and loop.evaluated >= next_validation:
                    _validate(run, emit, 1)
                    next_validation = _next_multiple(loop.evaluated,
                                                     config.evaluation.validate_every)
            if verdict.record_in_flight:
                run.cancel.cancel(TIME_LIMIT)  # the timer may be a moment late
                verdict = _record_in_flight(loop, stop, start) or verdict
        except (BudgetExhausted, Fatal) as exc:
            verdict = stop(loop.progress(time.monotonic() - start, exc))
            if verdict is None:
                raise
            if isinstance(exc, Fatal):
                run.archive.record_model_calls(run.run_id, run.proposer.side_calls())
    except KeyboardInterrupt:
        # Cut what is in flight at once and archive the model calls it made; the
        # slots themselves are dropped, so that a resumed run proposes them again.
        run.cancel.cancel(CTRL_C)
        with contextlib.suppress(KeyboardInterrupt):  # a second Ctrl-C skips the archiving
            loop.abandon()
        return _Ending(RunStatus.INTERRUPTED, "Ctrl-C")
    except ExecutorLost as exc:
        return _Ending(RunStatus.INTERRUPTED, f"executor lost: {exc}", exc)
    except Exception:
        # Anything else (the sandbox cannot start a worker, a bug) still closes
        # the run: it must never stay "running" in the archive.
        run.archive.finish_run(run.run_id, RunStatus.FAILED)
        raise
    return _Ending(RunStatus.FAILED if verdict.failed else RunStatus.FINISHED, verdict.reason)


def _record_in_flight(loop: SearchLoop, stop: StopCriterion, start: float) -> Stop | None:
    """Record the slots already proposed (they are paid for); a failure on the way wins."""
    while loop.in_flight_slots:
        loop.record_next(0)
        failure = stop(loop.progress(time.monotonic() - start))
        if failure is not None and failure.failed:
            return failure
    return None


def _result(run: _Setup, ending: _Ending, start: float, search_seconds: float) -> RunResult:
    """The run's result: the best programs next to the classic heuristics."""
    config = run.config
    selector = run.selector
    best = program_scores(run.archive, run.run_id, run.loop.train_scores(),
                          config.evaluation.validate_top, run.validation.references,
                          reference_objectives(run.problem, run.validation.instances,
                                               config.evaluation.runtime_reference),
                          selector.scores() if selector is not None else None)
    return RunResult(run.run_id, ending.status.value, ending.reason, run.loop.evaluated,
                     config.budget, time.monotonic() - start, run.archive.url, run.isolation,
                     tuple(m.spec for m in config.llm.models), best, run.baselines,
                     run.problem.reference_heuristic(config.evaluation.runtime_reference),
                     reference_role(run.problem),
                     run.loop.efficiency(search_seconds))


def _raise_if_interrupted(run: _Setup, ending: _Ending) -> None:
    """Ctrl-C and a lost executor end the call with an error that says how to resume."""
    # The hint names the archive, so that it resumes this run and not the run with
    # the same number in the default archive (or in another working directory).
    hint = resume_command(run.run_id, run.archive.url)
    if ending.lost is not None:
        raise ExecutorLost(f"run {run.run_id} stopped: {ending.lost}; everything evaluated so "
                           f"far is archived: resume with {hint} (--executor chooses where)")
    if ending.status is RunStatus.INTERRUPTED:
        raise KeyboardInterrupt(f"run {run.run_id} interrupted; resume with {hint}")


def _next_multiple(value: int, every: int) -> int:
    return 0 if every <= 0 else (value // every + 1) * every


def _already_validated(state: Any) -> set[int]:
    if state is None:
        return set()
    return {ps.id for ps in state.programs if Split.VALIDATION in ps.evaluations}


def _runtime_limit(problem: Problem[Any], config: RunConfig, training: Any,
                   pool: SandboxPool) -> float | None:
    """``runtime_cap`` × the reference seed program's CPU seconds per instance."""
    code = problem.seed_programs.get(config.evaluation.runtime_reference)
    if code is None:
        return None
    result = run_cascade(problem, code, training, pool,
                         time_limit=config.evaluation.candidate_time_limit)
    if isinstance(result, str) or not result.ok or result.runtime is None:
        return None
    # The floor keeps the child's fixed start-up cost (a few ms of CPU per batch,
    # spread over the probe's instances) from rejecting fast rules on tiny
    # instances; exhaustive searches take far longer.
    return max(config.evaluation.runtime_cap * result.runtime, RUNTIME_FLOOR)


def _timing_gate(problem: Problem[Any], config: RunConfig, pool: SandboxPool
                 ) -> TimingGate | None:
    """The runtime gate at scale (``evaluation.timing_n``; :mod:`discover.search.timing`)."""
    ev = config.evaluation
    code = problem.seed_programs.get(ev.runtime_reference)
    if ev.timing_n <= 0 or code is None:
        return None
    return build_gate(problem, code, ev.timing_n, ev.timing_count, ev.timing_cap, pool,
                      params=dict(ev.train_params))


def _selector(problem: Problem[Any], config: RunConfig, archive: Archive, executor: Any,
              setup_progress: Callable[[str, int, int], None] | None,
              pool: SandboxPool) -> Selector | None:
    """The selection split's ranker, or None when the configuration has no selection split."""
    progress = (lambda d, t: setup_progress("selection references", d, t)) \
        if setup_progress else None
    split = selection_set(problem, config.evaluation, archive, workers=config.workers,
                          progress=progress, mapper=executor.map_ordered)
    if split.empty:
        return None
    return Selector(problem, split, pool, VALIDATION_TIME_LIMIT, config.workers,
                    config.evaluation.selection_metric,
                    bar=rule_score(problem, split, config.evaluation.runtime_reference))


def _validation_candidates(run: _Setup, top: int) -> list[int]:
    """Which programs to validate: the selection split's leaders, else the training leaders.

    A leader worse than the reference rule on the selection split is skipped (see
    :mod:`discover.splits.selection`); only while nothing is validated yet does the
    split's best stand in, so that a run always has a validated program.
    """
    if run.selector is None:
        return training_leaders(run.loop.train_scores(), top)
    ranked = run.selector.rank(run.loop.train_scores(), run.loop.codes(),
                               run.config.evaluation.selection_top)
    picks = [s for s in ranked if run.selector.eligible(s)]
    if not picks and not run.validated:
        picks = ranked[:1]
    return [s.program_id for s in picks[:top]]


def _validate(run: _Setup, emit: Callable[[Event], None], top: int) -> None:
    """Score the ``top`` leaders not yet validated on the validation split."""
    validated = run.validated
    validation = run.validation
    if validation.empty or top <= 0:
        return
    reference = reference_objectives(run.problem, validation.instances,
                                     run.config.evaluation.runtime_reference)
    try:
        candidates = _validation_candidates(run, top)
    except EvaluationCancelled:
        return  # the selection split's ranking was cut: the run stops
    for program_id in candidates:
        if program_id in validated:
            continue
        start = time.monotonic()
        try:
            result = validation_evaluation(run.problem, run.loop.code(program_id),
                                           validation.instances, validation.references,
                                           run.pool, VALIDATION_TIME_LIMIT)
        except EvaluationCancelled:
            return  # the run stops (time limit, Ctrl-C): not the program's failure
        run.archive.add_evaluations(program_id, [archived_validation(result,
                                                                     time.monotonic() - start)])
        validated.add(program_id)
        wins, losses = wins_losses(result.objectives, reference)
        ratio = (result.total_objective / result.total_reference
                 if result.total_objective is not None and result.total_reference else None)
        emit(ValidationScored(program_id, result.mean_gap, ratio, wins, losses))


