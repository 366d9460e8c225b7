"""Executors: where the loop's candidates are evaluated (this machine, or a Dask cluster).

``open_executor(config.executor, ...)`` returns a context manager with a
sandbox ``pool`` and an optional ``map_ordered`` for trusted work; see
:mod:`discover.executors.base`. Dask (and the sandbox) are imported only when needed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from discover.executors.errors import ExecutorError, ExecutorLost, PoolClosed
from discover.executors.spec import ExecutorKind, ExecutorSpec

if TYPE_CHECKING:  # pragma: no cover
    from discover.executors.base import Executor, LocalExecutor, OrderedMap
    from sandbox import Limits

_LAZY = {"Executor", "LocalExecutor", "OrderedMap"}


def __getattr__(name: str) -> Any:
    # The sandbox is imported on first use: discover.config validates specs with this package.
    if name in _LAZY:
        from discover.executors import base

        return getattr(base, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def open_executor(text: str, *, workers: int, isolation: str = "auto",
                  limits: Limits | None = None, problem: str = "",
                  harness_packages: Sequence[str] = ("evaluators",),
                  **dask_options: float) -> Executor:
    """The executor named by ``text`` (``local``, ``dask://HOST:PORT``, ``dask-local:N``).

    Parameters
    ----------
    text
        The ``--executor`` value.
    workers
        Sandbox workers of a local executor (Dask workers size their own pools
        by their thread count).
    isolation
        Sandbox isolation mode.
    limits
        Per-child limits (Dask executors; the local pool uses the defaults).
    problem
        The problem spec (:func:`evaluators.registry.spec_of`): Dask workers
        resolve it themselves to find the harness package to bind.
    harness_packages
        Packages the local sandbox binds read-only (the problem's
        :attr:`~evaluators.base.CandidateSpec.sandbox_packages`).
    dask_options
        ``connect_timeout``, ``worker_timeout``, ``no_worker_timeout`` in seconds.

    Raises
    ------
    ValueError
        When ``text`` is not an executor.
    ExecutorError
        When a Dask cluster cannot be reached or started.
    """
    spec = ExecutorSpec.parse(text)
    if spec.kind is ExecutorKind.LOCAL:
        from discover.executors.base import LocalExecutor

        return LocalExecutor(workers, isolation, harness_packages)
    try:
        from discover.executors.dask_executor import DaskExecutor
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise ExecutorError(f"--executor {text} needs dask[distributed] ({exc}); "
                            "pip install 'dask[distributed]'") from None
    return DaskExecutor(spec, isolation=isolation, limits=limits, problem=problem,
                        **dask_options)


__all__ = ["Executor", "ExecutorError", "ExecutorKind", "ExecutorLost", "ExecutorSpec",
           "LocalExecutor", "OrderedMap", "PoolClosed", "open_executor"]
