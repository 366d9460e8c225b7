"""Where candidates are evaluated: the ``--executor`` text and its parsed form.

Kept free of heavy imports: :mod:`discover.config` validates the text with it.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

LOCAL_TEXT = "local"
_DASK = re.compile(r"^dask://(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>\d+)$")
_DASK_LOCAL = re.compile(r"^dask-local:(?P<n>\d+)$")

SYNTAX = "local, dask://HOST:PORT (a running Dask scheduler) or dask-local:N (N local workers)"
"""The accepted forms, for error messages and help."""


class ExecutorKind(enum.Enum):
    """The kinds of executor."""

    LOCAL = "local"
    """This machine's warm sandbox pool."""
    DASK = "dask"
    """An existing Dask scheduler; its workers run the sandbox."""
    DASK_LOCAL = "dask-local"
    """A Dask ``LocalCluster`` of worker processes started for the run."""


@dataclass(frozen=True)
class ExecutorSpec:
    """A parsed ``--executor`` value.

    Parameters
    ----------
    kind
        Which executor.
    address
        Scheduler address (``tcp://HOST:PORT``) for :attr:`ExecutorKind.DASK`.
    workers
        Worker processes of a :attr:`ExecutorKind.DASK_LOCAL` cluster.
    """

    kind: ExecutorKind
    address: str | None = None
    workers: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.kind, ExecutorKind):
            raise TypeError(f"kind must be an ExecutorKind, got {self.kind!r}")
        if (self.address is not None) != (self.kind is ExecutorKind.DASK):
            raise ValueError("an address is given for dask://HOST:PORT executors only")
        if (self.workers is not None) != (self.kind is ExecutorKind.DASK_LOCAL):
            raise ValueError("a worker count is given for dask-local:N executors only")
        if self.workers is not None and not 1 <= self.workers <= 1024:
            raise ValueError(f"dask-local needs 1..1024 workers, got {self.workers}")

    @classmethod
    def parse(cls, text: str) -> ExecutorSpec:
        """Parse ``local``, ``dask://HOST:PORT`` or ``dask-local:N``.

        Raises
        ------
        ValueError
            With the accepted forms, when ``text`` is none of them.
        """
        if not isinstance(text, str):
            raise ValueError(f"executor must be text ({SYNTAX}), got {text!r}")
        if text == LOCAL_TEXT:
            return cls(ExecutorKind.LOCAL)
        match = _DASK.match(text)
        if match:
            port = int(match["port"])
            if not 1 <= port <= 65535:
                raise ValueError(f"executor {text!r}: port must lie in 1..65535")
            return cls(ExecutorKind.DASK, address=f"tcp://{match['host']}:{port}")
        match = _DASK_LOCAL.match(text)
        if match:
            return cls(ExecutorKind.DASK_LOCAL, workers=int(match["n"]))
        raise ValueError(f"executor {text!r} not understood; use {SYNTAX}")

    def __str__(self) -> str:
        if self.kind is ExecutorKind.DASK:
            assert self.address is not None
            return "dask://" + self.address.removeprefix("tcp://")
        if self.kind is ExecutorKind.DASK_LOCAL:
            return f"dask-local:{self.workers}"
        return LOCAL_TEXT
