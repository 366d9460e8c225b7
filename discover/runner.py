"""``discover run`` as a library call: set up, search, validate, summarise.

:func:`run` wires the pieces — archive, training and validation splits,
sandbox pool, proposer (model pool or offline engine), population — into a
:class:`~discover.search.loop.SearchLoop`, and returns a :class:`RunResult`. It never
prints; attach :mod:`discover.reporting.progress` callbacks to watch. The stages
live in :mod:`discover.running`: set-up, the search phase, validation and resume.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import dataclass

from archive import RunStatus
from discover.config import RunConfig
from discover.executors import ExecutorLost
from discover.executors.astlock import serialise_ast_parse
from discover.preflight import check_archive_url
from discover.providers.cancel import CTRL_C
from discover.reporting.events import Event, RunCallback, RunFinished, RunStarted
from discover.reporting.summary import (
    BaselineScore,
    ProgramScore,
    program_scores,
    reference_objectives,
)
from discover.running.resume import BASELINES_KEY, resume_command
from discover.running.search_phase import Ending, search
from discover.running.setup import (
    AUTO_MODELS,
    RUNTIME_FLOOR,
    VALIDATION_TIME_LIMIT,
    RunSetup,
    resolve_models,
    set_up,
)
from discover.running.validation import validate
from discover.search.loop import SearchEfficiency
from evaluators.base import ReferenceRole, reference_role

SKIPPED_VALIDATION = "; final validation skipped (it would run past the time limit)"
"""Appended to the reason of a run stopped at its time limit."""

__all__ = [
    "AUTO_MODELS",
    "BASELINES_KEY",
    "RUNTIME_FLOOR",
    "SKIPPED_VALIDATION",
    "VALIDATION_TIME_LIMIT",
    "RunResult",
    "resolve_models",
    "resume_command",
    "run",
]


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
        run = set_up(config, resume, environ, setup_progress, emit, start, stack)
        _announce(run, emit)
        search_start = time.monotonic()
        run.cancel.start()
        ending = search(run, emit, start)
        if run.cancel.cancelled and ending.status is not RunStatus.INTERRUPTED:
            # A run with --time-limit ends near its limit: the final validation
            # (minutes for a slow program) is not run past it, and the reason says so.
            ending = dataclasses.replace(ending, reason=ending.reason + SKIPPED_VALIDATION)
        elif ending.status is not RunStatus.INTERRUPTED:
            try:
                validate(run, emit, run.config.evaluation.validate_top)
            except KeyboardInterrupt:  # cut the validation in flight too, and say how to resume
                run.cancel.cancel(CTRL_C)
                ending = Ending(RunStatus.INTERRUPTED, "Ctrl-C")
        run.archive.finish_run(run.run_id, ending.status)
        result = _result(run, ending, start, time.monotonic() - search_start)
        emit(RunFinished(run.run_id, ending.status.value, ending.reason, run.loop.evaluated,
                         *run.loop.best, result.seconds))
        _raise_if_interrupted(run, ending)
        return result
    raise AssertionError("unreachable")  # pragma: no cover


def _announce(run: RunSetup, emit: Callable[[Event], None]) -> None:
    """Tell the callbacks the run starts (how far a resumed run already got)."""
    emit(RunStarted(run.run_id, run.problem.name, run.config.budget, run.loop.evaluated,
                    run.isolation, tuple(m.spec for m in run.config.llm.models),
                    len(run.training.instances), resumed=run.resumed is not None))


def _result(run: RunSetup, ending: Ending, start: float, search_seconds: float) -> RunResult:
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


def _raise_if_interrupted(run: RunSetup, ending: Ending) -> None:
    """Ctrl-C and a lost executor end the call with an error that says how to resume."""
    # The hint names the archive, so that it resumes this run and not the run with
    # the same number in the default archive (or in another working directory).
    hint = resume_command(run.run_id, run.archive.url)
    if ending.lost is not None:
        raise ExecutorLost(f"run {run.run_id} stopped: {ending.lost}; everything evaluated so "
                           f"far is archived: resume with {hint} (--executor chooses where)")
    if ending.status is RunStatus.INTERRUPTED:
        raise KeyboardInterrupt(f"run {run.run_id} interrupted; resume with {hint}")
