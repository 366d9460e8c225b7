"""``discover run`` as a library call: set up, search, validate, summarise.

:func:`run` wires the pieces — archive, training and validation splits,
sandbox pool, proposer (model pool or offline engine), population — into a
:class:`~discover.loop.SearchLoop`, and returns a :class:`RunResult`. It never
prints; attach :mod:`discover.progress` callbacks to watch.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archive import Archive, RunStatus, Split
from archive.engine import is_sqlite, resolve_url
from discover.cascade import archived_validation, run_cascade, validation_evaluation
from discover.config import ModelSpec, RunConfig
from discover.datasets import ValidationSet, selection_set, training_set, validation_set
from discover.events import Event, RunCallback, RunFinished, RunStarted, ValidationScored
from discover.executors import ExecutorLost, open_executor
from discover.loop import SearchLoop, StopRun
from discover.population import Population, PopulationConfig
from discover.preflight import (
    StartError,
    check_archive_url,
    check_models,
    check_prompts,
    check_sandbox,
)
from discover.prompting import BaselineView, PromptLibrary
from discover.proposer import LlmProposer, OfflineProposer, Proposer
from discover.providers import BudgetExhausted, Fatal, pool_from_config
from discover.selection import Selector, training_leaders
from discover.summary import (
    BaselineScore,
    ProgramScore,
    program_scores,
    score_baselines,
    wins_losses,
)
from evaluators.base import Problem, ReferenceRole, reference_role
from evaluators.registry import get_problem, spec_of
from sandbox import SandboxPool

VALIDATION_TIME_LIMIT = 300.0
"""Wall seconds for one program on the whole validation split."""

BASELINES_KEY = "baselines"
"""Key of the classic heuristics' scores in a run's config snapshot (read by the browser)."""

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
    reference_role: ReferenceRole = ReferenceRole.OPTIMUM
    """Optima (gaps are reported) or a reference score (ratios), see :class:`ReferenceRole`."""
    """The classic rule that wins/losses and the runtime cap are measured against."""

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


def _proposer(problem: Problem[Any], config: RunConfig, environ: Mapping[str, str],
              baselines: Sequence[BaselineScore], deadline: float | None = None) -> Proposer:
    if config.llm.offline:
        return OfflineProposer(problem)
    llm = config.llm
    online = [m for m in llm.models if m.spec != "offline"]
    llm_online = type(llm)(**{**llm.__dict__, "models": tuple(online)})
    pool, _budget = pool_from_config(llm_online, rng=np.random.default_rng([config.seed, 7]),
                                     environ=environ, deadline=deadline)
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


def run(config: RunConfig, *, resume: int | None = None,
        callbacks: Sequence[RunCallback] = (), environ: Mapping[str, str] | None = None,
        setup_progress: Callable[[str, int, int], None] | None = None) -> RunResult:
    """Run (or resume) a discovery.

    Parameters
    ----------
    config
        The configuration (ignored when resuming: the archived snapshot is used,
        except ``time_limit``, ``workers`` and ``archive``).
    resume
        Id of an archived run to continue to its original budget.
    callbacks
        Receive every :mod:`discover.events` event.
    environ
        Where API keys are read (default ``os.environ``); never passed to the sandbox.
    setup_progress
        Called as ``(stage, done, total)`` while references are computed.
    """
    environ = os.environ if environ is None else environ

    def emit(event: Event) -> None:
        for cb in callbacks:
            cb.on_event(event)

    start = time.monotonic()
    # Every check that needs no work comes first, and the sandbox starts before a new
    # archive is created: a bad value stops the run with nothing created or changed.
    check_archive_url(config.archive)
    with ExitStack() as stack:
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
        selector = _selector(problem, config, archive, executor, setup_progress)
        baselines = score_baselines(problem, training, validation,
                                    problem.summary_heuristics or tuple(problem.heuristics))
        runtime_limit = _runtime_limit(problem, config, training, pool)
        # Model calls in flight at the time limit are cut there, not waited for.
        deadline = None if config.time_limit is None else start + config.time_limit
        proposer = _proposer(problem, config, environ, baselines, deadline)
        population = _population(config)
        if state is None:
            # The archive URL as displayed (password hidden): no credentials in the snapshot.
            snapshot = {**config.to_dict(), "archive": archive.url if config.archive else None,
                        BASELINES_KEY: [b.snapshot() for b in baselines]}
            run_id = archive.create_run(problem.name, snapshot, config.seed,
                                        budget=config.budget, isolation=isolation)
        else:
            run_id = resume  # type: ignore[assignment]
            archive.reopen_run(run_id)
        loop = SearchLoop(problem, config, archive, run_id, pool, proposer, population,
                          training, emit, runtime_limit, deadline=deadline)
        stack.callback(loop.close)
        if state is not None:
            loop.restore(state.programs, config.budget)
        models = tuple(m.spec for m in config.llm.models)
        emit(RunStarted(run_id, problem.name, config.budget, loop.state.evaluated, isolation,
                        models, len(training.instances), resumed=state is not None))
        validated = _already_validated(state)
        status, reason = RunStatus.FINISHED, "budget reached"
        lost: ExecutorLost | None = None
        try:
            if state is None:
                loop.record_seeds(dict(problem.seed_programs))
            next_validation = _next_multiple(loop.state.evaluated,
                                             config.evaluation.validate_every)
            while loop.state.evaluated < config.budget:
                if config.time_limit is not None and time.monotonic() - start > config.time_limit:
                    reason = f"time limit of {config.time_limit:g} s reached"
                    loop.drain()  # what is in flight is paid for: record it
                    break
                if not loop.advance(config.budget):
                    break
                if next_validation and loop.state.evaluated >= next_validation:
                    _validate(problem, archive, loop, validation, pool, validated, emit, 1,
                              selector)
                    next_validation = _next_multiple(loop.state.evaluated,
                                                     config.evaluation.validate_every)
        except KeyboardInterrupt:
            status, reason = RunStatus.INTERRUPTED, "Ctrl-C"
        except ExecutorLost as exc:
            status, reason, lost = RunStatus.INTERRUPTED, f"executor lost: {exc}", exc
        except StopRun as exc:
            status, reason = RunStatus.FAILED, str(exc)
        except BudgetExhausted as exc:
            reason = f"model budget exhausted: {exc}"
        except Fatal as exc:
            status, reason = RunStatus.FAILED, f"model provider failed: {exc}"
            archive.record_model_calls(run_id, proposer.side_calls())
        except Exception:
            # Anything else (the sandbox cannot start a worker, a bug) still closes
            # the run: it must never stay "running" in the archive.
            archive.finish_run(run_id, RunStatus.FAILED)
            raise
        if status is not RunStatus.INTERRUPTED:
            _validate(problem, archive, loop, validation, pool, validated, emit,
                      config.evaluation.validate_top, selector)
        archive.finish_run(run_id, status)
        best = program_scores(archive, run_id, loop.state.train_scores,
                              config.evaluation.validate_top, validation.references,
                              _reference_objectives(problem, validation,
                                                    config.evaluation.runtime_reference),
                              selector.scores() if selector is not None else None)
        result = RunResult(run_id, status.value, reason, loop.state.evaluated, config.budget,
                           time.monotonic() - start, archive.url, isolation, models, best,
                           tuple(baselines), config.evaluation.runtime_reference,
                           reference_role(problem))
        emit(RunFinished(run_id, status.value, reason, loop.state.evaluated,
                         loop.state.best_id, loop.state.best_score, result.seconds))
        # The hint names the archive, so that it resumes this run and not the run with
        # the same number in the default archive (or in another working directory).
        hint = resume_command(run_id, archive.url)
        if lost is not None:
            raise ExecutorLost(f"run {run_id} stopped: {lost}; everything evaluated so far is "
                               f"archived: resume with {hint} (--executor chooses where)")
        if status is RunStatus.INTERRUPTED:
            raise KeyboardInterrupt(f"run {run_id} interrupted; resume with {hint}")
        return result
    raise AssertionError("unreachable")  # pragma: no cover


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


def _selector(problem: Problem[Any], config: RunConfig, archive: Archive, executor: Any,
              setup_progress: Callable[[str, int, int], None] | None) -> Selector | None:
    """The selection split's ranker, or None when the configuration has no selection split."""
    progress = (lambda d, t: setup_progress("selection references", d, t)) \
        if setup_progress else None
    split = selection_set(problem, config.evaluation, archive, workers=config.workers,
                          progress=progress, mapper=executor.map_ordered)
    if split.empty:
        return None
    return Selector(problem, split, executor.pool, VALIDATION_TIME_LIMIT, config.workers,
                    config.evaluation.selection_metric)


def _validation_candidates(loop: SearchLoop, top: int, selector: Selector | None) -> list[int]:
    """Which programs to validate: the selection split's leaders, else the training leaders."""
    if selector is None:
        return training_leaders(loop.state.train_scores, top)
    ranked = selector.rank(loop.state.train_scores, loop.state.codes,
                           loop.config.evaluation.selection_top)
    return [s.program_id for s in ranked[:top]]


def _validate(problem: Problem[Any], archive: Archive, loop: SearchLoop,
              validation: ValidationSet, pool: SandboxPool, validated: set[int],
              emit: Callable[[Event], None], top: int, selector: Selector | None = None
              ) -> None:
    if validation.empty or top <= 0:
        return
    ranked = _validation_candidates(loop, top, selector)
    mdd = _reference_objectives(problem, validation,
                                loop.config.evaluation.runtime_reference)
    for program_id in ranked:
        if program_id in validated:
            continue
        start = time.monotonic()
        result = validation_evaluation(problem, loop.state.codes[program_id],
                                       validation.instances, validation.references, pool,
                                       VALIDATION_TIME_LIMIT)
        archive.add_evaluations(program_id, [archived_validation(result,
                                                                 time.monotonic() - start)])
        validated.add(program_id)
        wins, losses = wins_losses(result.objectives, mdd)
        ratio = (result.total_objective / result.total_reference
                 if result.total_objective is not None and result.total_reference else None)
        emit(ValidationScored(program_id, result.mean_gap, ratio, wins, losses))


_RULE_CACHE: dict[tuple[str, ...], tuple[float, ...]] = {}


def _reference_objectives(problem: Problem[Any], validation: ValidationSet, rule: str
                          ) -> tuple[float, ...] | None:
    """Objectives of the reference rule (MDD for SMTT) on the validation split, cached."""
    heuristic = problem.heuristics.get(rule)
    if heuristic is None:
        return None
    key = (problem.name, rule, *(inst.fingerprint for inst in validation.instances))
    if key not in _RULE_CACHE:
        _RULE_CACHE[key] = tuple(problem.objective(inst, heuristic(inst))
                                 for inst in validation.instances)
    return _RULE_CACHE[key]


