"""Job-shop instances (J||Cmax): every job visits machines in a fixed order."""

from __future__ import annotations

import enum
import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np


class BoundStatus(enum.Enum):
    """Whether an instance's best known makespan is proven optimal."""

    CLOSED = "closed"
    OPEN = "open"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class JsspInstance:
    """One job-shop instance.

    Parameters
    ----------
    machines
        ``machines[j][k]``: 0-based machine of the k-th operation of job j.
        Every job has the same number of operations (the standard format has
        one per machine).
    durations
        ``durations[j][k]``: non-negative integer processing time of that operation.
    name
        Identifier (file stem for benchmark files, e.g. ``"ta01js"``).
    upper_bound
        Best known makespan (``bks.json`` ``upper_bound``); the reference value.
    lower_bound
        Best proven lower bound on the makespan.
    bound_status
        Closed when ``upper_bound`` is proven optimal.
    meta
        Free-form provenance (source file, generator seed); not compared or hashed.
    """

    machines: tuple[tuple[int, ...], ...]
    durations: tuple[tuple[int, ...], ...]
    name: str = ""
    upper_bound: int | None = None
    lower_bound: int | None = None
    bound_status: BoundStatus = BoundStatus.UNKNOWN
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = len(self.machines)
        if n == 0:
            raise ValueError("an instance needs at least one job")
        if len(self.durations) != n:
            raise ValueError(f"{n} machine rows but {len(self.durations)} duration rows")
        ops = len(self.machines[0])
        if ops == 0:
            raise ValueError("jobs need at least one operation")
        for j, (mrow, drow) in enumerate(zip(self.machines, self.durations, strict=True)):
            if len(mrow) != ops or len(drow) != ops:
                raise ValueError(f"job {j} has {len(mrow)} machines and {len(drow)} durations; "
                                 f"expected {ops} operations")
            for v in (*mrow, *drow):
                if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                    raise TypeError(f"job {j}: {v!r} is not an integer")
            if min(mrow) < 0:
                raise ValueError(f"job {j}: machine indices must be non-negative")
            if min(drow) < 0:
                raise ValueError(f"job {j}: durations must be non-negative")
        if not isinstance(self.bound_status, BoundStatus):
            raise TypeError(f"bound_status must be a BoundStatus, got {self.bound_status!r}")
        if (self.upper_bound is not None and self.lower_bound is not None
                and self.lower_bound > self.upper_bound):
            raise ValueError(f"lower bound {self.lower_bound} exceeds upper bound "
                             f"{self.upper_bound}")

    @property
    def size(self) -> int:
        """Number of jobs."""
        return len(self.machines)

    @property
    def n_jobs(self) -> int:
        """Number of jobs."""
        return len(self.machines)

    @property
    def n_ops(self) -> int:
        """Operations per job."""
        return len(self.machines[0])

    @cached_property
    def n_machines(self) -> int:
        """Number of machines (highest machine index + 1)."""
        return 1 + max(max(row) for row in self.machines)

    @cached_property
    def machine_array(self) -> np.ndarray:
        """``machines`` as a read-only ``(n_jobs, n_ops)`` int64 array."""
        return _frozen(self.machines)

    @cached_property
    def duration_array(self) -> np.ndarray:
        """``durations`` as a read-only ``(n_jobs, n_ops)`` int64 array."""
        return _frozen(self.durations)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the shape, machine orders and durations."""
        h = hashlib.sha256(b"jssp/v1")
        h.update(np.asarray(self.machine_array.shape, dtype=np.int64).tobytes())
        h.update(self.machine_array.tobytes())
        h.update(self.duration_array.tobytes())
        return h.hexdigest()

    @property
    def optimum_is_proven(self) -> bool:
        """True when ``upper_bound`` is a proven optimum (closed instance)."""
        return self.upper_bound is not None and (
            self.bound_status is BoundStatus.CLOSED or self.upper_bound == self.lower_bound
        )

    @property
    def class_label(self) -> str:
        """Size class, ``"15x15"`` (jobs × machines), for per-class reports."""
        return f"{self.n_jobs}x{self.n_machines}"

    @cached_property
    def trivial_lower_bound(self) -> int:
        """max(longest job, most loaded machine): a valid makespan lower bound."""
        loads = np.bincount(self.machine_array.ravel(), weights=self.duration_array.ravel(),
                            minlength=self.n_machines)
        return int(max(self.duration_array.sum(axis=1).max(), loads.max()))


def _frozen(rows: tuple[tuple[int, ...], ...]) -> np.ndarray:
    arr = np.asarray(rows, dtype=np.int64)
    arr.setflags(write=False)
    return arr
