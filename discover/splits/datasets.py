"""Training and validation splits of a run, with references from the archive's cache.

Training: generated instances (fixed seed, so every run of a configuration
shares them) with exact optima computed once and cached in the archive.
Validation: instance files with stored optima, or exact ones computed the same way.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from archive import Archive, CachedReference, ReferenceStatus
from discover.config import EvaluationConfig
from discover.executors.base import OrderedMap
from discover.search.cascade import TrainingSet
from discover.splits.references import compute_references
from evaluators.base import GeneratorSpec, InstanceError, Problem, Reference, Status
from evaluators.bundled import bundled_equivalent, expand


class ArchiveReferenceCache:
    """The archive's reference cache as a :class:`discover.splits.references.ReferenceCache`."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def get_reference(self, fingerprint: str, method: str) -> Reference | None:
        """A cached reference (time-limited methods may have cached a non-optimal one)."""
        hit = self.archive.get_reference(fingerprint, method)
        if hit is None or not math.isfinite(hit.objective):
            return None
        return Reference(hit.objective, hit.lower_bound, Status(hit.status.value), hit.method,
                         hit.seconds)

    def put_reference(self, fingerprint: str, method: str, reference: Reference) -> None:
        """Store a computed reference."""
        self.archive.put_reference(CachedReference(
            fingerprint, method, reference.objective, reference.lower_bound,
            ReferenceStatus(reference.status.value), reference.seconds))


def resolve_method(problem: Problem[Any], method: str, n: int, *, weighted: bool = False
                   ) -> str:
    """Turn ``auto`` into a concrete method: DP for small n, the scaling exact solver above.

    The branch and bound (``exact``) handles unweighted SMTT only; weighted
    instances above DP size go to CP-SAT.
    """
    methods = problem.reference_methods
    if method != "auto":
        if method not in methods:
            raise ValueError(f"unknown reference method {method!r} (known: {', '.join(methods)})")
        return method
    if "dp" in methods and n <= 20:
        return "dp"
    for choice in (("cpsat", "mip") if weighted else ("exact", "cpsat", "mip")):
        if choice in methods:
            return choice
    return methods[0]


def training_families(problem: Problem[Any], config: EvaluationConfig
                      ) -> list[tuple[int, list[Any]]]:
    """The generated training instances, one ``(size, instances)`` family per size.

    ``train_n`` from ``train_seed``; each further size (``train_extra_n``,
    ``train_sizes``) from its own generator, so the first family stays the same
    with or without them.
    """
    spec = GeneratorSpec(n=config.train_n, count=config.train_per_class,
                         params=dict(config.train_params))
    out = [(config.train_n, problem.generate(spec, np.random.default_rng(config.train_seed)))]
    families = [(config.train_extra_n, config.train_extra_per_class)] \
        if config.train_extra_n > 0 else []
    families += [(n, config.train_sizes_per_class) for n in config.train_sizes]
    for size, per_class in families:
        out.append((size, problem.generate(
            GeneratorSpec(n=size, count=per_class, params=dict(config.train_params)),
            np.random.default_rng([config.train_seed, size]))))
    return out


def training_set(problem: Problem[Any], config: EvaluationConfig, archive: Archive, *,
                 workers: int, progress: Callable[[int, int], None] | None = None,
                 mapper: OrderedMap | None = None) -> TrainingSet:
    """Generate the training instances and their optima (cache first).

    ``mapper`` solves the missing optima elsewhere (a Dask executor's
    ``map_ordered``) instead of in ``workers`` local processes.
    """
    weighted = bool(config.train_params.get("weighted", False))
    instances: list[Any] = []
    refs: list[Reference] = []
    groups: list[int] = []
    families = training_families(problem, config)
    for size, family in families:
        method = resolve_method(problem, config.reference, size, weighted=weighted)
        refs += compute_references(problem, family, method, cache=ArchiveReferenceCache(archive),
                                   time_limit=config.reference_time_limit, workers=workers,
                                   progress=progress, mapper=mapper)
        instances += family
        groups += [size] * len(family)
    not_optimal = [inst.name for inst, r in zip(instances, refs, strict=True)
                   if not r.is_optimal]
    if not_optimal:
        warnings.warn(f"{len(not_optimal)} training references are not proven optimal "
                      f"(e.g. {not_optimal[0]}); gaps on them are upper bounds", stacklevel=2)
    # Spread the probe set over instance classes: generated sets come class by
    # class, so taking every k-th instance first covers easy and hard classes;
    # with several sizes, the sizes take turns (the largest sets the runtime cap).
    order = _probe_first(groups, config.probe_count)
    probe = min(config.probe_count, len(instances))
    return TrainingSet(tuple(instances[i] for i in order),
                       tuple(refs[i].objective for i in order), probe,
                       tuple(groups[i] for i in order) if len(families) > 1 else ())


def selection_set(problem: Problem[Any], config: EvaluationConfig, archive: Archive, *,
                  workers: int, progress: Callable[[int, int], None] | None = None,
                  mapper: OrderedMap | None = None) -> ValidationSet:
    """Generated instances of ``config.selection_n`` jobs with exact references (cache first).

    The split that decides which of the best training programs are validated
    (:mod:`discover.splits.selection`). Empty when ``selection_n`` is 0. Like the
    training set it is drawn from a fixed seed, so runs share its cached optima;
    unlike the validation split it never reads a benchmark file. With
    ``selection_extra_n`` a second family of that size follows the first, drawn from
    its own seed, so the first family is the same with or without it.
    """
    if config.selection_n <= 0:
        return ValidationSet((), (), ())
    families: list[tuple[int, int, int | list[int]]] = [
        (config.selection_n, config.selection_per_class, config.selection_seed)]
    if config.selection_extra_n > 0:
        families.append((config.selection_extra_n, config.selection_extra_per_class,
                         [config.selection_seed, config.selection_extra_n]))
    weighted = bool(config.train_params.get("weighted", False))
    instances: list[Any] = []
    refs: list[Reference] = []
    sources: list[str] = []
    for size, per_class, seed in families:
        family = problem.generate(GeneratorSpec(n=size, count=per_class,
                                                params=dict(config.train_params)),
                                  np.random.default_rng(seed))
        method = resolve_method(problem, config.reference, size, weighted=weighted)
        refs += compute_references(problem, family, method,
                                   cache=ArchiveReferenceCache(archive),
                                   time_limit=config.reference_time_limit, workers=workers,
                                   progress=progress, mapper=mapper)
        instances += family
        sources.append(f"generated n={size} (seed {seed}, {len(family)} instances, {method})")
    # Unproven references (time-limited methods) still rank programs consistently.
    return ValidationSet(tuple(instances), tuple(r.objective for r in refs), tuple(sources))


def _probe_first(groups: Sequence[int], probe: int) -> list[int]:
    """Instance order with the probe set first: every k-th of each size, sizes in turn."""
    members: dict[int, list[int]] = {}
    for i, g in enumerate(groups):
        members.setdefault(g, []).append(i)
    if len(members) == 1:
        return _interleaved(len(groups), probe)
    share = -(-probe // len(members))
    queues = [[idx[k] for k in _interleaved(len(idx), share)[:share]]
              for idx in members.values()]
    first: list[int] = []
    for rank in range(share):
        first += [q[rank] for q in queues if rank < len(q)]
    first = first[:probe]
    chosen = set(first)
    return first + [i for i in range(len(groups)) if i not in chosen]


def _interleaved(count: int, probe: int) -> list[int]:
    step = max(1, count // max(1, probe))
    first = list(range(0, count, step))[:probe]
    chosen = set(first)
    return first + [i for i in range(count) if i not in chosen]


PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _locate(path: Path, base: Path | None) -> Path:
    """Resolve a relative path against ``base`` (or the working directory), then the
    project root, so checkout-relative paths work from any directory of a checkout."""
    if path.is_absolute():
        return path if path.exists() else bundled_equivalent(path) or path
    first = (base or Path.cwd()) / path
    if first.exists():
        return first
    fallback = PROJECT_ROOT / path
    if fallback.exists():
        return fallback
    # A benchmark path archived before the data was bundled: the same file, bundled.
    return bundled_equivalent(path) or first


@dataclass(frozen=True)
class ValidationSet:
    """Validation instances and their reference values (None where unknown)."""

    instances: tuple[Any, ...]
    references: tuple[float | None, ...]
    sources: tuple[str, ...]

    @property
    def empty(self) -> bool:
        """True when no validation file could be loaded."""
        return not self.instances


def validation_set(problem: Problem[Any], paths: Sequence[str], *, base: Path | None = None
                   ) -> ValidationSet:
    """Load validation files or bundled sets (``smtt:n100``); a missing file is a warning,
    a bad file or an unknown set name an error."""
    instances: list[Any] = []
    references: list[float | None] = []
    sources: list[str] = []
    for raw in (p for entry in paths for p in expand(entry, problem.name)):
        path = _locate(raw, base)
        if not path.exists():
            warnings.warn(f"validation file {path} not found; skipping it", stacklevel=2)
            continue
        try:
            loaded = problem.load(path)
        except InstanceError:
            raise
        for inst in loaded:
            # Stored values may be best-known rather than proven (job-shop upper
            # bounds); gaps against them are what the literature reports.
            value = problem.stored_reference(inst)
            instances.append(inst)
            references.append(value if value is not None and math.isfinite(value) else None)
        sources.append(str(path))
    return ValidationSet(tuple(instances), tuple(references), tuple(sources))
