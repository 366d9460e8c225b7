"""Permutation flow-shop instances (Fm|prmu|Cmax)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FlowshopInstance:
    """One permutation flow-shop instance.

    Parameters
    ----------
    processing_times
        ``processing_times[i][j]``: time of job ``j`` on machine ``i`` (machine-major,
        as in Taillard's files). Every job visits machines ``0..m-1`` in order.
    name
        Identifier (``ta001``, or the generator's seed and index).
    upper_bound
        Best known makespan stored with the instance (None when unknown).
    lower_bound
        Proven lower bound stored with the instance (None when unknown).
    seed
        Taillard's time seed when the instance was regenerated from it.
    """

    processing_times: tuple[tuple[int, ...], ...]
    name: str = ""
    upper_bound: int | None = None
    lower_bound: int | None = None
    seed: int | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if not self.processing_times or not self.processing_times[0]:
            raise ValueError("an instance needs at least one machine and one job")
        n = len(self.processing_times[0])
        for i, row in enumerate(self.processing_times):
            if len(row) != n:
                raise ValueError(f"machine {i} has {len(row)} times, machine 0 has {n}")
            for v in row:
                if type(v) is not int or v < 0:
                    raise ValueError(f"processing time {v!r} on machine {i} is not a "
                                     "non-negative int")
        if (self.upper_bound is not None and self.lower_bound is not None
                and self.lower_bound > self.upper_bound):
            raise ValueError(f"lower bound {self.lower_bound} > upper bound {self.upper_bound}")

    @property
    def size(self) -> int:
        """Number of jobs."""
        return len(self.processing_times[0])

    @property
    def machines(self) -> int:
        """Number of machines."""
        return len(self.processing_times)

    @property
    def optimum_is_proven(self) -> bool:
        """True when the stored upper bound equals the stored lower bound."""
        return self.upper_bound is not None and self.upper_bound == self.lower_bound

    @property
    def fingerprint(self) -> str:
        """Hash of the processing times (the reference-cache key)."""
        text = ";".join(",".join(map(str, row)) for row in self.processing_times)
        return hashlib.sha256(f"flowshop:{text}".encode()).hexdigest()[:32]

    def jobs_major(self) -> list[list[int]]:
        """``p[j][i]``: the candidate's view (one row per job)."""
        return [list(col) for col in zip(*self.processing_times, strict=True)]

    def trivial_lower_bound(self) -> int:
        """max over machines of (load + smallest head + smallest tail)."""
        m, n = self.machines, self.size
        p = self.processing_times
        best = 0
        for i in range(m):
            head = min(sum(p[k][j] for k in range(i)) for j in range(n))
            tail = min(sum(p[k][j] for k in range(i + 1, m)) for j in range(n))
            best = max(best, head + sum(p[i]) + tail)
        return best
