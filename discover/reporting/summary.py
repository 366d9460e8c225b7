"""End-of-run figures: best programs and classic heuristics on both splits.

Besides the paper's mean relative gap, the summary gives the aggregate ratio
ΣH/ΣOPT and per-instance wins and losses against the problem's reference rule
(MDD for SMTT; :func:`reference_objectives`): the mean gap is dominated by
instances with tiny optima, and a rule can lower it while losing on most
instances.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from archive import Archive, Split
from discover.reporting.baselines import InstanceReference, summarize
from evaluators.base import Problem

SUMMARY_BASELINES = ("edd", "mdd", "psk", "eddc", "mddc", "aug_mddc")


@dataclass(frozen=True)
class BaselineScore:
    """A classic heuristic on the training and validation splits."""

    name: str
    train_gap: float | None
    train_ratio: float | None
    validation_gap: float | None
    validation_ratio: float | None
    runtime: float | None = None
    """Mean seconds per training instance (in-process)."""

    def snapshot(self) -> dict[str, Any]:
        """The form the archive browser reads from a run's config (``baselines``)."""
        return {"name": self.name, "train_gap": self.train_gap,
                "validation_gap": self.validation_gap, "runtime": self.runtime}


@dataclass(frozen=True)
class ProgramScore:
    """A discovered program on the training and validation splits."""

    program_id: int
    train_gap: float | None
    validation_gap: float | None
    validation_ratio: float | None
    wins: int | None
    losses: int | None
    runtime: float | None
    """Mean seconds per validation instance (sandbox-measured)."""
    selection_gap: float | None = None
    """Mean gap on the selection split (:mod:`discover.splits.selection`), when it was scored."""
    selection_ratio: float | None = None
    """Aggregate ratio ΣH/Σref on the selection split, when it was scored."""


def _refs(values: Sequence[float | None]) -> list[InstanceReference]:
    return [InstanceReference(v, v is not None, "reference") for v in values]


def score_baselines(problem: Any, training: Any, validation: Any,
                    names: Sequence[str] = SUMMARY_BASELINES, score: str = "gap"
                    ) -> list[BaselineScore]:
    """Run the classic heuristics (trusted, in-process) on both splits.

    The training figure is the run's training score (``evaluation.score``), so the
    heuristics line up with the programs in the summary and in prompts.
    """
    from discover.search.cascade import score_from

    out = []
    for name in names:
        heuristic = problem.heuristics.get(name)
        if heuristic is None:
            continue
        objectives, seconds = [], []
        for inst in training.instances:
            start = time.perf_counter()
            order = heuristic(inst)
            seconds.append(time.perf_counter() - start)
            objectives.append(problem.objective(inst, order))
        train = summarize(name, objectives, seconds, _refs(training.references))
        train_score = train.mean_gap if train.mean_gap is None or score == "gap" else \
            score_from(train.mean_gap, objectives, training, score)
        if validation.empty:
            out.append(BaselineScore(name, train_score, train.ratio, None, None,
                                     train.mean_seconds))
            continue
        val = summarize(name, [problem.objective(i, heuristic(i))
                               for i in validation.instances], [],
                        _refs(validation.references))
        out.append(BaselineScore(name, train_score, train.ratio, val.mean_gap, val.ratio,
                                 train.mean_seconds))
    return out


_REFERENCE_CACHE: dict[tuple[str, ...], tuple[float, ...]] = {}


def reference_objectives(problem: Problem[Any], instances: Sequence[Any], rule: str
                         ) -> tuple[float, ...] | None:
    """Objectives of the reference rule on ``instances`` (in order), cached: what
    :func:`wins_losses` counts against.

    Parameters
    ----------
    problem
        The problem; the heuristic run is ``problem.reference_heuristic(rule)`` (trusted,
        in-process): ``mdd`` for SMTT, ``mwkr_active`` for ``jssp-active`` (the rule in
        the builder its candidates use).
    instances
        The validation split's instances.
    rule
        The configured reference rule (``evaluation.runtime_reference``).

    Returns
    -------
    tuple of float or None
        One objective per instance; None when the problem has no such heuristic.
    """
    name = problem.reference_heuristic(rule)
    heuristic = problem.heuristics.get(name)
    if heuristic is None:
        return None
    key = (problem.name, name, *(inst.fingerprint for inst in instances))
    if key not in _REFERENCE_CACHE:
        _REFERENCE_CACHE[key] = tuple(float(problem.objective(inst, heuristic(inst)))
                                      for inst in instances)
    return _REFERENCE_CACHE[key]


def wins_losses(objectives: Sequence[float | None],
                reference: Sequence[float] | None) -> tuple[int, int]:
    """Instances where a program beats / loses to the reference heuristic."""
    if reference is None:
        return 0, 0
    wins = sum(1 for o, r in zip(objectives, reference, strict=True) if o is not None and o < r)
    losses = sum(1 for o, r in zip(objectives, reference, strict=True)
                 if o is None or o > r)
    return wins, losses


def program_scores(archive: Archive, run_id: int, train_scores: Mapping[int, float],
                   top: int, references: Sequence[float | None],
                   reference: Sequence[float] | None,
                   selection: Mapping[int, tuple[float | None, float | None]] | None = None
                   ) -> tuple[ProgramScore, ...]:
    """The best programs: by validation gap where validated, else by training gap.

    ``references`` and ``reference`` are the validation split's reference values and
    the reference rule's objectives (:func:`reference_objectives`), in instance order,
    for the ratio and the wins/losses;
    ``selection`` maps programs to their selection-split (gap, ratio) (shown, not
    ranked on: the selection split chose which programs were validated).
    """
    selection = selection or {}
    validated = {r.summary.id: r.evaluation for r in archive.best(run_id, Split.VALIDATION,
                                                                   top=max(top, 1))}
    ranked = sorted(train_scores.items(), key=lambda kv: (kv[1], kv[0]))[: max(top, 1)]
    ids = list(dict.fromkeys([*validated, *(pid for pid, _ in ranked)]))
    out = []
    for pid in ids:
        ev = validated.get(pid)
        ratio = wins = losses = runtime = None
        if ev is not None and len(ev.per_instance) == len(references):
            objectives = [r.objective for r in ev.per_instance]
            pairs = [(o, r) for o, r in zip(objectives, references, strict=True)
                     if o is not None and r is not None]
            total_ref = sum(r for _, r in pairs)
            ratio = sum(o for o, _ in pairs) / total_ref if total_ref else None
            if reference is not None:
                wins, losses = wins_losses(objectives, reference)
            times = [r.seconds for r in ev.per_instance if r.seconds is not None]
            runtime = sum(times) / len(times) if times else None
        out.append(ProgramScore(
            program_id=pid, train_gap=train_scores.get(pid),
            validation_gap=ev.gap if ev is not None else None, validation_ratio=ratio,
            wins=wins, losses=losses, runtime=runtime,
            selection_gap=selection.get(pid, (None, None))[0],
            selection_ratio=selection.get(pid, (None, None))[1]))
    out.sort(key=lambda s: (s.validation_gap is None, s.validation_gap or 0.0,
                            s.train_gap if s.train_gap is not None else float("inf")))
    return tuple(out[: max(top, 1)])
