"""Score classic heuristics against reference values: the library behind ``discover baselines``.

Gap convention (the seed paper's): ``100·(H − OPT)/OPT`` averaged over the
instances with ``OPT > 0``. Because that mean is dominated by instances with
tiny optima, the report also gives the aggregate ratio ``ΣH / ΣOPT``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluators.base import Problem, Reference, Status, relative_gap

STORED = "stored"
NONE = "none"


@dataclass(frozen=True)
class InstanceReference:
    """The value heuristics are compared against on one instance."""

    value: float | None
    proven: bool
    source: str
    reference: Reference | None = None


@dataclass(frozen=True)
class MethodSummary:
    """Aggregate results of one heuristic over a set of instances.

    ``mean_gap``/``max_gap`` are ``None`` when no instance has a positive reference.
    """

    method: str
    instances: int
    gap_instances: int
    mean_gap: float | None
    max_gap: float | None
    mean_seconds: float
    total_objective: float
    total_reference: float | None
    ratio: float | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class BaselineReport:
    """Everything ``discover baselines`` computed."""

    methods: tuple[str, ...]
    reference_source: str
    summaries: tuple[MethodSummary, ...]
    by_class: dict[str, tuple[MethodSummary, ...]] = field(default_factory=dict)
    objectives: dict[str, tuple[float, ...]] = field(default_factory=dict)
    seconds: dict[str, tuple[float, ...]] = field(default_factory=dict)
    references: tuple[InstanceReference, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (per-instance values included)."""
        return {
            "reference_source": self.reference_source,
            "methods": list(self.methods),
            "summary": [s.as_dict() for s in self.summaries],
            "by_class": {k: [s.as_dict() for s in v] for k, v in self.by_class.items()},
            "references": [
                {"value": r.value, "proven": r.proven, "source": r.source}
                for r in self.references
            ],
            "objectives": {k: list(v) for k, v in self.objectives.items()},
        }


ProgressCallback = Callable[[str, int, int], None]
"""Called as ``progress(stage, done, total)``."""


def compute_references(
    problem: Problem[Any],
    instances: Sequence[Any],
    source: str,
    *,
    time_limit: float | None = None,
    progress: ProgressCallback | None = None,
) -> list[InstanceReference]:
    """Reference values for ``instances``.

    Parameters
    ----------
    source
        ``"stored"`` (values shipped with the file), ``"none"``, or one of
        ``problem.reference_methods``.
    """
    refs: list[InstanceReference] = []
    if source not in (STORED, NONE) and source not in problem.reference_methods:
        known = ", ".join((STORED, NONE, *problem.reference_methods))
        raise ValueError(f"unknown reference {source!r} (known: {known})")
    for k, inst in enumerate(instances):
        if source == NONE:
            refs.append(InstanceReference(None, False, NONE))
        elif source == STORED:
            value = problem.stored_reference(inst)
            proven = bool(getattr(inst, "optimum_is_proven", False)) and value is not None
            refs.append(InstanceReference(value, proven, STORED))
        else:
            ref = problem.reference(inst, source, time_limit)
            value = ref.objective if math.isfinite(ref.objective) else None
            refs.append(InstanceReference(value, ref.status is Status.OPTIMAL, source, ref))
        if progress is not None:
            progress("reference", k + 1, len(instances))
    return refs


def summarize(
    method: str,
    objectives: Sequence[float],
    seconds: Sequence[float],
    references: Sequence[InstanceReference],
) -> MethodSummary:
    """Mean/max gap over instances with a positive reference, mean time, ΣH/ΣOPT."""
    gaps = [
        g
        for obj, ref in zip(objectives, references, strict=True)
        if ref.value is not None and (g := relative_gap(obj, ref.value)) is not None
    ]
    with_ref = [(o, r.value) for o, r in zip(objectives, references, strict=True)
                if r.value is not None]
    total_ref = sum(v for _, v in with_ref) if with_ref else None
    total_obj_ref = sum(o for o, _ in with_ref)
    return MethodSummary(
        method=method,
        instances=len(objectives),
        gap_instances=len(gaps),
        mean_gap=sum(gaps) / len(gaps) if gaps else None,
        max_gap=max(gaps) if gaps else None,
        mean_seconds=sum(seconds) / len(seconds) if seconds else 0.0,
        total_objective=float(sum(objectives)),
        total_reference=total_ref,
        ratio=total_obj_ref / total_ref if total_ref else None,
    )


def run_baselines(
    problem: Problem[Any],
    instances: Sequence[Any],
    methods: Sequence[str] | None = None,
    *,
    reference: str = STORED,
    time_limit: float | None = None,
    by_class: bool = False,
    progress: ProgressCallback | None = None,
) -> BaselineReport:
    """Run classic heuristics on ``instances`` and compare them with references.

    Parameters
    ----------
    problem
        The problem (see :func:`evaluators.registry.get_problem`).
    instances
        Instances to score.
    methods
        Heuristic names (default: all of ``problem.heuristics``).
    reference
        Where reference values come from: ``"stored"``, ``"none"`` or an exact method.
    time_limit
        Per-instance limit for exact reference methods.
    by_class
        Also summarise per instance class (``instance.class_label``).
    progress
        Optional callback ``progress(stage, done, total)``.
    """
    names = list(methods) if methods else list(problem.heuristics)
    unknown = [m for m in names if m not in problem.heuristics]
    if unknown:
        known = ", ".join(problem.heuristics)
        raise ValueError(f"unknown heuristic(s) {', '.join(unknown)} (known: {known})")
    refs = compute_references(problem, instances, reference, time_limit=time_limit,
                              progress=progress)
    objectives: dict[str, tuple[float, ...]] = {}
    seconds: dict[str, tuple[float, ...]] = {}
    for m_idx, name in enumerate(names):
        heuristic = problem.heuristics[name]
        objs, secs = [], []
        for inst in instances:
            start = time.perf_counter()
            solution = heuristic(inst)
            secs.append(time.perf_counter() - start)
            objs.append(problem.objective(inst, solution))
        objectives[name] = tuple(objs)
        seconds[name] = tuple(secs)
        if progress is not None:
            progress("heuristics", m_idx + 1, len(names))
    summaries = tuple(summarize(n, objectives[n], seconds[n], refs) for n in names)
    classes: dict[str, tuple[MethodSummary, ...]] = {}
    if by_class:
        labels = [getattr(inst, "class_label", None) for inst in instances]
        for label in dict.fromkeys(lb for lb in labels if lb is not None):
            idx = [i for i, lb in enumerate(labels) if lb == label]
            classes[label] = tuple(
                summarize(n, [objectives[n][i] for i in idx], [seconds[n][i] for i in idx],
                          [refs[i] for i in idx])
                for n in names
            )
    return BaselineReport(
        methods=tuple(names),
        reference_source=reference,
        summaries=summaries,
        by_class=classes,
        objectives=objectives,
        seconds=seconds,
        references=tuple(refs),
    )
