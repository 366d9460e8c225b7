"""Validating a run's leaders: which programs reach the validation split, and scoring them.

The run validates its leaders every ``evaluation.validate_every`` evaluations
and once more at its end. The selection split (when configured) decides which
training leaders are worth it (:mod:`discover.splits.selection`); each program
is validated at most once.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from discover.reporting.events import Event, ValidationScored
from discover.reporting.summary import reference_objectives, wins_losses
from discover.running.setup import VALIDATION_TIME_LIMIT, RunSetup
from discover.search.cascade import archived_validation, validation_evaluation
from discover.search.interrupts import EvaluationCancelled
from discover.splits.selection import training_leaders


def validation_candidates(run: RunSetup, top: int) -> list[int]:
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


def validate(run: RunSetup, emit: Callable[[Event], None], top: int) -> None:
    """Score the ``top`` leaders not yet validated on the validation split."""
    validated = run.validated
    validation = run.validation
    if validation.empty or top <= 0:
        return
    reference = reference_objectives(run.problem, validation.instances,
                                     run.config.evaluation.runtime_reference)
    try:
        candidates = validation_candidates(run, top)
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
