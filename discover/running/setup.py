"""Setting a run up: checks, archive, sandbox, splits and the search, ready to start.

:func:`set_up` turns a configuration (or an archived run to resume) into a
:class:`RunSetup`: every check that needs no work first, then the archive, the
sandbox executor, the training, selection and validation splits, the runtime
limits, the proposer and the :class:`~discover.search.loop.SearchLoop`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np

from archive import Archive, RunState
from archive.engine import is_sqlite, resolve_url
from discover.config import ModelSpec, RunConfig
from discover.executors import open_executor
from discover.preflight import check_models, check_prompts, check_sandbox
from discover.prompting.render import BaselineView, PromptLibrary
from discover.providers import CancelScope, pool_from_config
from discover.reporting.events import Event
from discover.reporting.summary import BaselineScore, score_baselines
from discover.running.resume import (
    already_validated,
    check_resumable,
    config_snapshot,
    resumed_config,
)
from discover.search.cascade import TrainingSet, run_cascade
from discover.search.collaborators import (
    ArchiveRecorder,
    CascadeEvaluator,
    LoopSettings,
    ProbeTuner,
    SlotGenerators,
)
from discover.search.interrupts import CancellablePool, CancellingEvaluator
from discover.search.loop import SearchLoop
from discover.search.population import Population, PopulationConfig
from discover.search.proposer import LlmProposer, OfflineProposer, Proposer
from discover.search.timing import TimingGate, build_gate
from discover.splits.datasets import ValidationSet, selection_set, training_set, validation_set
from discover.splits.selection import Selector, rule_score
from evaluators.base import Problem
from evaluators.registry import get_problem, spec_of
from sandbox import SandboxPool

VALIDATION_TIME_LIMIT = 300.0
"""Wall seconds for one program on the whole validation split."""

RUNTIME_FLOOR = 0.005
"""Seconds per training instance below which no candidate is "too slow"."""

#: Models used by ``auto`` when the matching key is in the environment.
AUTO_MODELS = (("OPENAI_API_KEY", "openai:gpt-4o-mini"),
               ("ANTHROPIC_API_KEY", "anthropic:claude-3-5-haiku-latest"))


@dataclass
class RunSetup:
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


def set_up(config: RunConfig, resume: int | None, environ: Mapping[str, str],
           setup_progress: Callable[[str, int, int], None] | None,
           emit: Callable[[Event], None], start: float, stack: ExitStack) -> RunSetup:
    """Check the configuration, open the archive, start the sandbox and build the search."""
    state = None
    if resume is not None:
        archive = stack.enter_context(Archive.open(config.archive, create=False))
        state = archive.run_state(resume)
        check_resumable(state)
        config = resumed_config(state, config)
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
        run_id = archive.create_run(problem.name, config_snapshot(config, archive.url, baselines),
                                    config.seed, budget=config.budget, isolation=isolation)
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
    return RunSetup(config, problem, archive, run_id, state, cast(SandboxPool, guarded),
                    isolation, training, validation, selector, tuple(baselines), proposer, loop,
                    already_validated(state), cancel)


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
