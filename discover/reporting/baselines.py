"""Score classic heuristics against reference values: the library behind ``discover baselines``.

Gap convention (the seed paper's): ``100·(H − OPT)/OPT`` averaged over the
instances with ``OPT > 0``. Because that mean is dominated by instances with
tiny optima, the report also gives the aggregate ratio ``ΣH / ΣOPT``.

Gaps are only for problems whose references are optima or bounds of the optimum
(:attr:`ReferenceRole.OPTIMUM`). Where the reference is another policy's score
(:attr:`ReferenceRole.SCORE`, serving's oracle SRPT), results are ratios
``H / ref`` to the *reference score* instead, and no gap is reported.

A result below an optimum-kind reference means the reference is no optimum: every
such case is listed in :attr:`BaselineReport.flags`, as is a stored value that an
exact method beats or that lies below a proven optimum.
"""

from __future__ import annotations

import enum
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from evaluators.base import Problem, Reference, ReferenceRole, Status, reference_role, relative_gap

STORED = "stored"
NONE = "none"


@dataclass(frozen=True)
class InstanceReference:
    """The value heuristics are compared against on one instance."""

    value: float | None
    proven: bool
    source: str
    reference: Reference | None = None


class FlagKind(enum.Enum):
    """Why a reference value is flagged."""

    BEATEN_BY_HEURISTIC = "beaten_by_heuristic"
    """A heuristic scored below the reference (a negative gap)."""
    BEATEN_BY_SOLVER = "beaten_by_solver"
    """The exact method found a better value than the one stored with the instance."""
    BELOW_PROVEN_OPTIMUM = "below_proven_optimum"
    """The stored value is below an optimum the exact method proved: it is wrong."""


def _num(value: float) -> str:
    """``1283380`` rather than ``1.28338e+06`` for the integral objectives of SMTT and jssp."""
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.6g}"


@dataclass(frozen=True)
class ReferenceFlag:
    """One reference value contradicted by a result.

    Parameters
    ----------
    kind
        What contradicts it.
    instance
        Instance name.
    index
        Position of the instance in the input.
    reference
        The reference (or stored) value.
    proven
        Whether that value was claimed to be a proven optimum.
    by
        The heuristic or exact method whose result contradicts it.
    value
        That result.
    """

    kind: FlagKind
    instance: str
    index: int
    reference: float
    proven: bool
    by: str
    value: float

    @property
    def contradiction(self) -> bool:
        """True when a claimed proven optimum is contradicted (the data or a solver is wrong)."""
        return self.proven or self.kind is FlagKind.BELOW_PROVEN_OPTIMUM

    def message(self) -> str:
        """One line for people."""
        if self.kind is FlagKind.BEATEN_BY_HEURISTIC:
            why = ("claimed proven optimal: check the data" if self.proven
                   else "so it is not an optimum")
            return (f"{self.instance}: {self.by} scores {_num(self.value)}, below the reference "
                    f"{_num(self.reference)} ({why})")
        if self.kind is FlagKind.BEATEN_BY_SOLVER:
            why = "claimed proven optimal: check the data" if self.proven else "not an optimum"
            return (f"{self.instance}: {self.by} finds {_num(self.value)}, below the stored value "
                    f"{_num(self.reference)} ({why})")
        return (f"{self.instance}: stored value {_num(self.reference)} is below the optimum "
                f"{_num(self.value)} that {self.by} proved (the stored value is wrong)")

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view."""
        return {"kind": self.kind.value, "instance": self.instance, "index": self.index,
                "reference": self.reference, "proven": self.proven, "by": self.by,
                "value": self.value, "message": self.message()}


@dataclass(frozen=True)
class MethodSummary:
    """Aggregate results of one heuristic over a set of instances.

    For optimum-kind references: ``mean_gap``/``max_gap`` (``None`` when no instance
    has a positive reference). For reference scores, the gaps are ``None`` and
    ``mean_ratio``/``max_ratio`` give ``H / ref`` over instances with ``ref > 0``.
    ``ratio`` is ``ΣH / Σref`` either way.
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
    mean_ratio: float | None = None
    max_ratio: float | None = None
    reference_role: ReferenceRole = ReferenceRole.OPTIMUM

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view: gap fields for optima, ratio fields for reference scores."""
        out = dict(self.__dict__)
        out["reference_role"] = self.reference_role.value
        if self.reference_role is ReferenceRole.SCORE:
            for key in ("mean_gap", "max_gap", "gap_instances"):
                out.pop(key)
        else:
            for key in ("mean_ratio", "max_ratio"):
                out.pop(key)
        return out


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
    flags: tuple[ReferenceFlag, ...] = ()
    reference_role: ReferenceRole = ReferenceRole.OPTIMUM

    @property
    def contradictions(self) -> int:
        """Flags that contradict a claimed proven optimum."""
        return sum(f.contradiction for f in self.flags)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly view (per-instance values included)."""
        return {
            "reference_source": self.reference_source,
            "reference_role": self.reference_role.value,
            "flags": [f.as_dict() for f in self.flags],
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
    kind: ReferenceRole = ReferenceRole.OPTIMUM,
) -> MethodSummary:
    """Mean/max gap (or ratio, for reference scores) over instances with a positive
    reference, mean time, ΣH/Σref."""
    gaps = [
        g
        for obj, ref in zip(objectives, references, strict=True)
        if ref.value is not None and (g := relative_gap(obj, ref.value)) is not None
    ]
    with_ref = [(o, r.value) for o, r in zip(objectives, references, strict=True)
                if r.value is not None]
    ratios = [o / v for o, v in with_ref if v > 0]
    total_ref = sum(v for _, v in with_ref) if with_ref else None
    total_obj_ref = sum(o for o, _ in with_ref)
    score = kind is ReferenceRole.SCORE
    return MethodSummary(
        method=method,
        instances=len(objectives),
        gap_instances=len(gaps),
        mean_gap=sum(gaps) / len(gaps) if gaps and not score else None,
        max_gap=max(gaps) if gaps and not score else None,
        mean_seconds=sum(seconds) / len(seconds) if seconds else 0.0,
        total_objective=float(sum(objectives)),
        total_reference=total_ref,
        ratio=total_obj_ref / total_ref if total_ref else None,
        mean_ratio=sum(ratios) / len(ratios) if ratios and score else None,
        max_ratio=max(ratios) if ratios and score else None,
        reference_role=kind,
    )


def _below(value: float, reference: float) -> bool:
    # Objectives are sums of integers for the optimum-kind problems; the tolerance
    # only absorbs float round-off.
    return value < reference - 1e-9 * max(1.0, abs(reference))


def find_flags(
    problem: Problem[Any],
    instances: Sequence[Any],
    references: Sequence[InstanceReference],
    objectives: dict[str, tuple[float, ...]],
) -> list[ReferenceFlag]:
    """Every reference contradicted by a heuristic's result or by the exact method.

    Only for optimum-kind problems: a reference score is there to be beaten.
    """
    if reference_role(problem) is not ReferenceRole.OPTIMUM:
        return []
    flags: list[ReferenceFlag] = []
    for k, (inst, ref) in enumerate(zip(instances, references, strict=True)):
        name = str(getattr(inst, "name", "") or f"#{k}")
        if ref.reference is not None:
            stored = problem.stored_reference(inst)
            found = ref.reference.objective
            stored_proven = bool(getattr(inst, "optimum_is_proven", False))
            if stored is not None and math.isfinite(found):
                if _below(found, stored):
                    flags.append(ReferenceFlag(FlagKind.BEATEN_BY_SOLVER, name, k, stored,
                                               stored_proven, ref.source, found))
                elif ref.reference.is_optimal and _below(stored, found):
                    flags.append(ReferenceFlag(FlagKind.BELOW_PROVEN_OPTIMUM, name, k, stored,
                                               stored_proven, ref.source, found))
        if ref.value is None:
            continue
        for method, values in objectives.items():
            if _below(values[k], ref.value):
                flags.append(ReferenceFlag(FlagKind.BEATEN_BY_HEURISTIC, name, k, ref.value,
                                           ref.proven, method, values[k]))
    return flags


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
    kind = reference_role(problem)
    summaries = tuple(summarize(n, objectives[n], seconds[n], refs, kind) for n in names)
    classes: dict[str, tuple[MethodSummary, ...]] = {}
    if by_class:
        labels = [getattr(inst, "class_label", None) for inst in instances]
        for label in dict.fromkeys(lb for lb in labels if lb is not None):
            idx = [i for i, lb in enumerate(labels) if lb == label]
            classes[label] = tuple(
                summarize(n, [objectives[n][i] for i in idx], [seconds[n][i] for i in idx],
                          [refs[i] for i in idx], kind)
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
        flags=tuple(find_flags(problem, instances, refs, objectives)),
        reference_role=kind,
    )
