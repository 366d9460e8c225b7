"""A run's search phase: propose, evaluate and record until a stop criterion ends it.

:func:`search` drives the :class:`~discover.search.loop.SearchLoop` one record
at a time, asks the run's stop criteria (:mod:`discover.search.stopping`) after
each, validates the leaders every ``evaluation.validate_every`` evaluations, and
says how the search ended as an :class:`Ending`. Ctrl-C and a lost executor end it
as interrupted (resumable); any other error closes the run as failed and propagates.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from dataclasses import dataclass

from archive import RunStatus
from discover.executors import ExecutorLost
from discover.providers import BudgetExhausted, Fatal
from discover.providers.cancel import CTRL_C, TIME_LIMIT
from discover.reporting.events import Event
from discover.running.setup import RunSetup
from discover.running.validation import validate
from discover.search.loop import SearchLoop
from discover.search.stopping import Stop, StopCriterion, run_criteria


@dataclass(frozen=True)
class Ending:
    """How the search ended: the run's status and why; ``lost`` when the executor was."""

    status: RunStatus
    reason: str
    lost: ExecutorLost | None = None


def search(run: RunSetup, emit: Callable[[Event], None], start: float) -> Ending:
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
                    validate(run, emit, 1)
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
        return Ending(RunStatus.INTERRUPTED, "Ctrl-C")
    except ExecutorLost as exc:
        return Ending(RunStatus.INTERRUPTED, f"executor lost: {exc}", exc)
    except Exception:
        # Anything else (the sandbox cannot start a worker, a bug) still closes
        # the run: it must never stay "running" in the archive.
        run.archive.finish_run(run.run_id, RunStatus.FAILED)
        raise
    return Ending(RunStatus.FAILED if verdict.failed else RunStatus.FINISHED, verdict.reason)


def _record_in_flight(loop: SearchLoop, stop: StopCriterion, start: float) -> Stop | None:
    """Record the slots already proposed (they are paid for); a failure on the way wins."""
    while loop.in_flight_slots:
        loop.record_next(0)
        failure = stop(loop.progress(time.monotonic() - start))
        if failure is not None and failure.failed:
            return failure
    return None


def _next_multiple(value: int, every: int) -> int:
    return 0 if every <= 0 else (value // every + 1) * every
