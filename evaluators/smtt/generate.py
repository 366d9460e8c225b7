"""Random SMTT instances in the style of Potts & Van Wassenhove (1982).

Processing times are drawn from U{1..100} (or, for the seed paper's
out-of-sample set, Normal(60, 20) rounded and clipped to ≥ 1); due dates from
U[P(1 − TF − RDD/2), P(1 − TF + RDD/2)] with P = Σp, rounded and clipped to ≥ 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from evaluators.smtt.instance import SmttInstance

RDD_VALUES = (0.2, 0.4, 0.6, 0.8, 1.0)
TF_VALUES = (0.2, 0.4, 0.6, 0.8)


@dataclass(frozen=True)
class SmttFamily:
    """A random family of SMTT instances.

    Parameters
    ----------
    n
        Jobs per instance.
    rdd, tf
        Relative range of due dates and tardiness factor.
    distribution
        ``"uniform"`` (p ~ U{1..100}) or ``"normal"`` (p ~ Normal(60, 20)).
    weighted
        Draw weights from U{1..10} (OR-Library style).
    """

    n: int
    rdd: float
    tf: float
    distribution: str = "uniform"
    weighted: bool = False

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if not 0 <= self.rdd <= 2:
            raise ValueError(f"rdd must lie in [0, 2], got {self.rdd}")
        if not 0 <= self.tf <= 1:
            raise ValueError(f"tf must lie in [0, 1], got {self.tf}")
        if self.distribution not in ("uniform", "normal"):
            raise ValueError(
                f"distribution must be 'uniform' or 'normal', got {self.distribution!r}"
            )


def generate_instance(family: SmttFamily, rng: np.random.Generator, name: str = "") -> SmttInstance:
    """Draw one instance of ``family`` using ``rng``."""
    n = family.n
    if family.distribution == "uniform":
        p = rng.integers(1, 101, size=n)
    else:
        p = np.maximum(np.rint(rng.normal(60.0, 20.0, size=n)), 1).astype(np.int64)
    total = int(p.sum())
    lo = total * (1 - family.tf - family.rdd / 2)
    hi = total * (1 - family.tf + family.rdd / 2)
    d = np.maximum(np.rint(rng.uniform(lo, hi, size=n)), 0).astype(np.int64)
    w = rng.integers(1, 11, size=n) if family.weighted else None
    return SmttInstance(
        processing_times=tuple(int(x) for x in p),
        due_dates=tuple(int(x) for x in d),
        weights=tuple(int(x) for x in w) if w is not None else None,
        name=name,
        rdd=family.rdd,
        tf=family.tf,
    )


def generate_classes(
    n: int,
    per_class: int,
    rng: np.random.Generator,
    *,
    rdd_values: Iterable[float] = RDD_VALUES,
    tf_values: Iterable[float] = TF_VALUES,
    distribution: str = "uniform",
    weighted: bool = False,
    prefix: str = "gen",
) -> list[SmttInstance]:
    """Draw ``per_class`` instances for every (RDD, TF) pair, RDD outer, TF inner."""
    tf_list = list(tf_values)
    out = []
    for rdd in rdd_values:
        for tf in tf_list:
            family = SmttFamily(n, rdd, tf, distribution, weighted)
            for k in range(per_class):
                out.append(generate_instance(family, rng, f"{prefix}-n{n}-rdd{rdd:g}-tf{tf:g}-{k}"))
    return out
