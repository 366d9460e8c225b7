"""Random job-shop instances in the style of Taillard (1993).

Taillard's generator draws every processing time from U{1..99} and gives every
job a uniformly random machine order (a Fisher–Yates shuffle of 0..m−1). Two
versions are provided:

* :func:`generate_instance` — the same distribution from a
  :class:`numpy.random.Generator`, for training sets;
* :func:`taillard_instance` — Taillard's own Lehmer generator and seeds, which
  reproduces the published ta instances exactly (ta01: time seed 840612802,
  machine seed 398197754) and so checks that the distribution above is his.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from evaluators.jssp.instance import JsspInstance

_LEHMER_M = 2147483647
_LEHMER_A = 16807
_LEHMER_B = 127773
_LEHMER_C = 2836


@dataclass(frozen=True)
class TaillardFamily:
    """Random J||Cmax instances: durations U{low..high}, random machine order per job.

    Parameters
    ----------
    n_jobs, n_machines
        Instance size; every job visits each machine once.
    low, high
        Inclusive range of processing times (Taillard: 1..99).
    """

    n_jobs: int
    n_machines: int
    low: int = 1
    high: int = 99

    def __post_init__(self) -> None:
        if self.n_jobs < 1 or self.n_machines < 1:
            raise ValueError(f"need at least one job and machine, got "
                             f"{self.n_jobs}x{self.n_machines}")
        if not 0 <= self.low <= self.high:
            raise ValueError(f"need 0 <= low <= high, got low={self.low}, high={self.high}")


def generate_instance(family: TaillardFamily, rng: np.random.Generator,
                      name: str = "") -> JsspInstance:
    """Draw one instance of ``family`` with ``rng``."""
    n, m = family.n_jobs, family.n_machines
    durations = rng.integers(family.low, family.high + 1, size=(n, m))
    machines = rng.permuted(np.tile(np.arange(m), (n, 1)), axis=1)
    return JsspInstance(
        machines=tuple(tuple(int(x) for x in row) for row in machines),
        durations=tuple(tuple(int(x) for x in row) for row in durations),
        name=name or f"gen-{n}x{m}",
        meta={"generator": "taillard-numpy", "low": family.low, "high": family.high},
    )


def generate_set(family: TaillardFamily, count: int, rng: np.random.Generator,
                 prefix: str = "gen") -> list[JsspInstance]:
    """``count`` instances of ``family``, named ``{prefix}-{n}x{m}-{k}``."""
    if count < 1:
        raise ValueError(f"count must be >= 1, got {count}")
    return [generate_instance(family, rng, f"{prefix}-{family.n_jobs}x{family.n_machines}-{k}")
            for k in range(count)]


def _unif(seed: int, low: int, high: int) -> tuple[int, int]:
    """Taillard's ``unif``: one step of the Lehmer generator (Schrage's method)."""
    k = seed // _LEHMER_B
    seed = _LEHMER_A * (seed % _LEHMER_B) - k * _LEHMER_C
    if seed < 0:
        seed += _LEHMER_M
    return seed, low + int((seed / _LEHMER_M) * (high - low + 1))


def taillard_instance(time_seed: int, machine_seed: int, n_jobs: int, n_machines: int,
                      name: str = "") -> JsspInstance:
    """Taillard's (1993) job-shop generator with his seeds, reproducing the ta instances.

    Durations are drawn job by job from the time seed; then each job's machine
    order starts as 0..m−1 and position k is swapped with a uniform position in
    k..m−1, drawn from the machine seed.
    """
    if not (0 < time_seed < _LEHMER_M and 0 < machine_seed < _LEHMER_M):
        raise ValueError("seeds must lie in 1..2^31-2")
    seed = time_seed
    durations = []
    for _ in range(n_jobs):
        row = []
        for _ in range(n_machines):
            seed, d = _unif(seed, 1, 99)
            row.append(d)
        durations.append(tuple(row))
    seed = machine_seed
    machines = []
    for _ in range(n_jobs):
        order = list(range(n_machines))
        for k in range(n_machines):
            seed, swap = _unif(seed, k, n_machines - 1)
            order[k], order[swap] = order[swap], order[k]
        machines.append(tuple(order))
    return JsspInstance(
        machines=tuple(machines),
        durations=tuple(durations),
        name=name or f"taillard-{time_seed}-{machine_seed}",
        meta={"generator": "taillard-lehmer", "time_seed": time_seed,
              "machine_seed": machine_seed},
    )
