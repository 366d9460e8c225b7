"""Resuming a run: the configuration snapshot it goes on from, and what it already did.

A new run archives its configuration as a snapshot; ``discover run --resume``
rebuilds the run from that snapshot (never from the command line's values), so
that the resumed search makes exactly the decisions the original would have.
"""

from __future__ import annotations

from typing import Any

from archive import RunStatus, Split
from discover.config import RunConfig
from discover.preflight import StartError
from discover.reporting.summary import BaselineScore

BASELINES_KEY = "baselines"
"""Key of the classic heuristics' scores in a run's config snapshot (read by the browser)."""


def resume_command(run_id: int, archive_url: str) -> str:
    """``discover run --resume ID --archive URL`` (``URL`` as displayed, password hidden)."""
    return f"discover run --resume {run_id} --archive '{archive_url}'"


def check_resumable(state: Any) -> None:
    """A run that met its budget has nothing left to do: resuming it must not reopen it."""
    run = state.run
    budget = run.budget if run.budget is not None else run.config.get("budget")
    if run.status is RunStatus.FINISHED and budget is not None \
            and state.counters.evaluated >= budget:
        raise StartError(f"run {run.id} is finished ({state.counters.evaluated}/{budget} "
                         "evaluated); nothing to resume")


def config_snapshot(config: RunConfig, archive_url: str,
                    baselines: tuple[BaselineScore, ...] | list[BaselineScore]
                    ) -> dict[str, Any]:
    """What a new run archives of its configuration (:func:`resumed_config` reads it back).

    ``archive_url`` is the URL as displayed (password hidden): no credentials in
    the snapshot.
    """
    return {**config.to_dict(), "archive": archive_url if config.archive else None,
            BASELINES_KEY: [b.snapshot() for b in baselines]}


def resumed_config(state: Any, given: RunConfig) -> RunConfig:
    """The archived run's configuration, with the values a resume may change from ``given``.

    Only where the run goes on may differ (``time_limit``, ``workers``, ``archive``,
    ``executor``): everything that decides what the search proposes comes from the
    snapshot.
    """
    stored = {k: v for k, v in state.run.config.items() if k != BASELINES_KEY}
    return RunConfig.from_dict(stored, f"run {state.run.id}").with_overrides(
        time_limit=given.time_limit, workers=given.workers, archive=given.archive,
        executor=given.executor)


def already_validated(state: Any) -> set[int]:
    """Programs of a resumed run already scored on the validation split (none for a new run)."""
    if state is None:
        return set()
    return {ps.id for ps in state.programs if Split.VALIDATION in ps.evaluations}
