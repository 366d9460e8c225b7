"""The executor abstraction: where the loop's sandbox evaluations and reference solves run.

An :class:`Executor` provides

* ``pool`` — a :class:`sandbox.SandboxPool` (or a subclass that runs the same
  sandbox elsewhere): the cascade and validation submit candidates to it and
  score the raw outputs on this side;
* ``map_ordered`` — a parallel, order-preserving map for trusted work (exact
  references), or ``None`` to use local processes.

:class:`LocalExecutor` is this machine's warm sandbox pool; the Dask executor
(:mod:`discover.executors.dask_executor`) spreads both over a cluster. How many
evaluations are in flight is the loop's batch size (``--workers``), whatever
the executor, so a run is the same function of its seed everywhere.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from types import TracebackType
from typing import Any, Protocol, TypeVar

from sandbox import SandboxPool

T = TypeVar("T")
R = TypeVar("R")

OrderedMap = Callable[[Callable[[Any], Any], Sequence[Any]], Iterator[Any]]
"""``map_ordered(function, items)``: results in the order of ``items``."""


class Executor(Protocol):
    """Where candidates (and references) are evaluated."""

    @property
    def name(self) -> str:
        """The ``--executor`` text this executor was opened from."""
        ...

    @property
    def pool(self) -> SandboxPool:
        """The sandbox pool candidates are submitted to."""
        ...

    @property
    def map_ordered(self) -> OrderedMap | None:
        """Parallel map for trusted work, or ``None`` for local processes."""
        ...

    def close(self) -> None:
        """Release workers, connections and clusters."""
        ...

    def __enter__(self) -> Executor:
        ...

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        ...


class LocalExecutor:
    """This machine's warm sandbox pool (the default, ``--executor local``).

    Parameters
    ----------
    workers
        Sandbox worker processes.
    isolation
        ``auto``, ``strict`` or ``none`` (see :class:`sandbox.SandboxPool`).
    harness_packages
        Top-level packages the sandbox binds read-only (the problem's
        :attr:`~evaluators.base.CandidateSpec.sandbox_packages`).
    """

    def __init__(self, workers: int, isolation: str = "auto",
                 harness_packages: Sequence[str] = ("evaluators",)) -> None:
        self._pool = SandboxPool(workers=workers, isolation=isolation,  # type: ignore[arg-type]
                                 harness_packages=harness_packages)

    @property
    def name(self) -> str:
        """Always ``local``."""
        return "local"

    @property
    def pool(self) -> SandboxPool:
        """The local pool."""
        return self._pool

    @property
    def map_ordered(self) -> OrderedMap | None:
        """``None``: references use local ``multiprocess`` workers."""
        return None

    def close(self) -> None:
        """Stop the sandbox workers."""
        self._pool.close()

    def __enter__(self) -> LocalExecutor:
        self._pool.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()
