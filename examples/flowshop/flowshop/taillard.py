"""Taillard's (1993) flow-shop generator and seeds: ta001-ta120 regenerated exactly.

E. Taillard, "Benchmarks for basic scheduling problems", European Journal of
Operational Research 64 (1993) 278-285: processing times are drawn machine by
machine, job by job, as ``unif(seed, 1, 99)`` from a Lehmer generator
(multiplier 16807, modulus 2^31 - 1, Schrage's method), seeded with the time
seed the paper lists for each instance. The seeds are the paper's; the code is
ours. The tests check ta001 against the paper's published first row.
"""

from __future__ import annotations

from flowshop.instance import FlowshopInstance

_M = 2147483647
_A = 16807
_B = 127773
_C = 2836

SIZES: tuple[tuple[int, int], ...] = (
    (20, 5), (20, 10), (20, 20), (50, 5), (50, 10), (50, 20),
    (100, 5), (100, 10), (100, 20), (200, 10), (200, 20), (500, 20),
)
"""(jobs, machines) of each group of ten instances, in the paper's order."""

SEEDS: tuple[int, ...] = (
    # 20 x 5
    873654221, 379008056, 1866992158, 216771124, 495070989,
    402959317, 1369363414, 2021925980, 573109518, 88325120,
    # 20 x 10
    587595453, 1401007982, 873136276, 268827376, 1634173168,
    691823909, 73807235, 1273398721, 2065119309, 1672900551,
    # 20 x 20
    479340445, 268827376, 1958948863, 918272953, 555010963,
    2010851491, 1519833303, 1748670931, 1923497586, 1829909967,
    # 50 x 5
    1328042058, 200382020, 496319842, 1203030903, 1730708564,
    450926852, 1303135678, 1273398721, 587288402, 248421594,
    # 50 x 10
    1958948863, 575633267, 655816003, 1977864101, 93805469,
    1803345551, 49612559, 1899802599, 2013025619, 578962478,
    # 50 x 20
    1539989115, 691823909, 655816003, 1315102446, 1949668355,
    1923497586, 1805594913, 1861070898, 715643788, 464843328,
    # 100 x 5
    896678084, 1179439976, 1122278347, 416756875, 267829958,
    1835213917, 1328833962, 1418570761, 161033112, 304212574,
    # 100 x 10
    1539989115, 655816003, 960914243, 1915696806, 2013025619,
    1168140026, 1923497586, 167698528, 1528387973, 993794175,
    # 100 x 20
    450926852, 1462772409, 1021685265, 83696007, 508154254,
    1861070898, 26482542, 444956424, 2115448041, 118254244,
    # 200 x 10
    471503978, 1215892992, 135346136, 1602504050, 160037322,
    551454346, 519485142, 383947510, 1968171878, 540872513,
    # 200 x 20
    2013025619, 475051709, 914834335, 810642687, 1019331795,
    2056065863, 1342855162, 1325809384, 1988803007, 765656702,
    # 500 x 20
    1368624604, 450181436, 1927888393, 1759567256, 606425239,
    19268348, 1298201670, 2041736264, 379756761, 28837162,
)
"""Time seeds of ta001-ta120 (Taillard 1993, flow-shop table)."""


def unif(seed: int, low: int, high: int) -> tuple[int, int]:
    """One step of Taillard's ``unif``: the next seed and a draw in ``low..high``."""
    k = seed // _B
    seed = _A * (seed % _B) - k * _C
    if seed < 0:
        seed += _M
    return seed, low + int((seed / _M) * (high - low + 1))


def taillard_flowshop(seed: int, jobs: int, machines: int, name: str = "",
                      upper_bound: int | None = None,
                      lower_bound: int | None = None) -> FlowshopInstance:
    """The instance Taillard's generator draws from ``seed`` (machine-major order)."""
    if not 0 < seed < _M:
        raise ValueError("seeds must lie in 1..2^31-2")
    if jobs < 1 or machines < 1:
        raise ValueError("jobs and machines must be positive")
    first = seed
    rows = []
    for _ in range(machines):
        row = []
        for _ in range(jobs):
            seed_next, value = unif(seed, 1, 99)
            seed = seed_next
            row.append(value)
        rows.append(tuple(row))
    return FlowshopInstance(tuple(rows), name=name or f"taillard-{jobs}x{machines}-{first}",
                            upper_bound=upper_bound, lower_bound=lower_bound, seed=first)


def benchmark(number: int) -> FlowshopInstance:
    """Taillard's instance ``ta{number:03d}`` (1..120)."""
    if not 1 <= number <= len(SEEDS):
        raise ValueError(f"Taillard's flow-shop instances are ta001-ta120, not {number}")
    jobs, machines = SIZES[(number - 1) // 10]
    return taillard_flowshop(SEEDS[number - 1], jobs, machines, name=f"ta{number:03d}")
