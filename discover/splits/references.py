"""Exact references for training and validation instances, computed once and cached.

References are trusted work (our own solvers), so they may run in a
``multiprocess`` pool across cores, or on a Dask cluster's workers; candidate
code never does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

from evaluators.base import Problem, Reference


class ReferenceCache(Protocol):
    """Where computed references are kept (the archive implements this)."""

    def get_reference(self, fingerprint: str, method: str) -> Reference | None:
        """A cached reference, or None."""
        ...

    def put_reference(self, fingerprint: str, method: str, reference: Reference) -> None:
        """Store a reference."""
        ...


def _solve_one(args: tuple[str, Any, str, float | None]) -> Reference:
    # Runs in a worker process: resolve the problem spec again rather than pickling
    # the problem (a name, module:factory or file path resolves the same everywhere).
    from evaluators.registry import resolved_spec

    spec, instance, method, time_limit = args
    return resolved_spec(spec).reference(instance, method, time_limit)


def compute_references(
    problem: Problem[Any],
    instances: Sequence[Any],
    method: str,
    *,
    cache: ReferenceCache | None = None,
    time_limit: float | None = None,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
    mapper: Callable[[Callable[[Any], Reference], Sequence[Any]], Iterable[Reference]]
    | None = None,
) -> list[Reference]:
    """References for ``instances``: cache first, then solve the rest in parallel.

    Parameters
    ----------
    method
        A method of ``problem.reference_methods`` (``"auto"`` picks per instance
        when the problem supports it).
    cache
        Optional cache consulted first and filled with new results.
    workers
        Processes for solving; 1 solves in this process.
    progress
        Called as ``progress(done, total)``.
    mapper
        An order-preserving parallel map (e.g. a Dask executor's ``map_ordered``)
        used instead of local processes.
    """
    results: list[Reference | None] = [None] * len(instances)
    todo: list[int] = []
    for k, inst in enumerate(instances):
        hit = cache.get_reference(inst.fingerprint, method) if cache is not None else None
        if hit is not None:
            results[k] = hit
        else:
            todo.append(k)
    done = len(instances) - len(todo)
    if progress is not None:
        progress(done, len(instances))
    from evaluators.registry import spec_of

    jobs = [(spec_of(problem), instances[k], method, time_limit) for k in todo]
    if mapper is not None and jobs:
        for k, ref in zip(todo, mapper(_solve_one, jobs), strict=True):
            results[k] = _store(cache, instances[k], method, ref)
            done += 1
            if progress is not None:
                progress(done, len(instances))
    elif workers > 1 and len(jobs) > 1:
        import multiprocess

        with multiprocess.get_context("spawn").Pool(min(workers, len(jobs))) as pool:
            solved = pool.imap(_solve_one, jobs)
            for k, ref in zip(todo, solved, strict=True):
                results[k] = _store(cache, instances[k], method, ref)
                done += 1
                if progress is not None:
                    progress(done, len(instances))
    else:
        for k, job in zip(todo, jobs, strict=True):
            results[k] = _store(cache, instances[k], method, _solve_one(job))
            done += 1
            if progress is not None:
                progress(done, len(instances))
    return [r for r in results if r is not None]


def _store(cache: ReferenceCache | None, instance: Any, method: str, ref: Reference) -> Reference:
    if cache is not None:
        cache.put_reference(instance.fingerprint, method, ref)
    return ref
