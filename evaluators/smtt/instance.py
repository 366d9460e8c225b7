"""Single-machine (weighted) total tardiness instances: 1||ΣTj and 1||ΣwjTj."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SmttInstance:
    """One single-machine tardiness instance.

    Parameters
    ----------
    processing_times
        Positive integer processing time of each job. One rule everywhere: the
        loaders reject a zero or negative time with file, instance and line, and
        so does this type (the exact methods disagreed on such instances: the DP
        and MIP found 0, CP-SAT nothing, branch and bound refused). The seed
        paper's ``n20_normal.json`` holds 125 such instances; its reproduction
        scripts evaluate them from the raw file.
    due_dates
        Integer due date of each job (may be zero or negative).
    weights
        Positive integer weights, or ``None`` for the unweighted problem.
    name
        Human-readable identifier (file and index, or generator seed).
    optimum
        Reference value stored with the instance (``None`` if unknown).
    optimum_is_proven
        Whether ``optimum`` is known to be optimal (``False`` for best-known values).
    rdd, tf
        The (relative range of due dates, tardiness factor) class, when known.
    """

    processing_times: tuple[int, ...]
    due_dates: tuple[int, ...]
    weights: tuple[int, ...] | None = None
    name: str = ""
    optimum: int | None = None
    optimum_is_proven: bool = True
    rdd: float | None = None
    tf: float | None = None
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = len(self.processing_times)
        if n == 0:
            raise ValueError("an instance needs at least one job")
        if len(self.due_dates) != n:
            raise ValueError(
                f"{n} processing times but {len(self.due_dates)} due dates"
            )
        if self.weights is not None and len(self.weights) != n:
            raise ValueError(f"{n} processing times but {len(self.weights)} weights")
        for label, values in (("processing time", self.processing_times),
                              ("due date", self.due_dates),
                              ("weight", self.weights or ())):
            for v in values:
                if not isinstance(v, (int, np.integer)) or isinstance(v, bool):
                    raise TypeError(f"{label} {v!r} is not an integer")
        bad = next((j for j, v in enumerate(self.processing_times) if v <= 0), None)
        if bad is not None:
            raise ValueError(f"processing time must be positive (job {bad} has "
                             f"{self.processing_times[bad]})")
        if self.weights is not None and min(self.weights) <= 0:
            raise ValueError("weights must be positive")

    @property
    def size(self) -> int:
        """Number of jobs."""
        return len(self.processing_times)

    @property
    def is_weighted(self) -> bool:
        """True when the instance carries job weights."""
        return self.weights is not None

    @cached_property
    def p(self) -> np.ndarray:
        """Processing times as a read-only int64 array."""
        return _frozen_array(self.processing_times)

    @cached_property
    def d(self) -> np.ndarray:
        """Due dates as a read-only int64 array."""
        return _frozen_array(self.due_dates)

    @cached_property
    def w(self) -> np.ndarray:
        """Weights as a read-only int64 array (all ones when unweighted)."""
        if self.weights is None:
            return _frozen_array((1,) * self.size)
        return _frozen_array(self.weights)

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the job data; equal data gives equal fingerprints."""
        h = hashlib.sha256(b"smtt/v1")
        h.update(self.p.tobytes())
        h.update(self.d.tobytes())
        if self.weights is not None:
            h.update(b"w")
            h.update(self.w.tobytes())
        return h.hexdigest()

    @property
    def class_label(self) -> str | None:
        """``"RDD=0.2 TF=0.4"`` when the class is known."""
        if self.rdd is None or self.tf is None:
            return None
        return f"RDD={self.rdd:g} TF={self.tf:g}"


def _frozen_array(values: tuple[int, ...]) -> np.ndarray:
    arr = np.asarray(values, dtype=np.int64)
    arr.setflags(write=False)
    return arr
