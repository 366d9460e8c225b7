"""A small timing table for the MIP (SCIP and CP-SAT backends) and the CP-SAT model.

For each n in ``--sizes`` (default 10 15 20 25 30) draws ``--per-n`` random
Potts–Van Wassenhove instances in the hard-ish class RDD = 0.6, TF = 0.6
(``--weighted`` adds U{1..10} weights), solves each with every method under
``--time-limit`` seconds, and prints per (n, method): instances proven optimal,
mean and max wall seconds, and the mean relative gap between incumbent and
lower bound. Where the DP applies (n ≤ 22) every objective is checked against
it, and any claim of optimality that disagrees is reported and fails the run.

Wall-clock figures on a shared machine: the load average is printed too.

Usage::

    python experiments/smtt_exact/mip_cpsat_timing.py [--sizes 10 20] [--per-n 2]
        [--time-limit 10] [--weighted] [--seed 0] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from collections.abc import Callable

import numpy as np

from evaluators.base import Reference
from evaluators.smtt.exact import cpsat, dp, mip
from evaluators.smtt.generate import SmttFamily, generate_instance
from evaluators.smtt.instance import SmttInstance

Method = Callable[[SmttInstance, float], Reference]

METHODS: dict[str, Method] = {
    "mip-scip": lambda i, t: mip.solve(i, t, backend=mip.MipBackend.SCIP),
    "mip-cpsat": lambda i, t: mip.solve(i, t, backend=mip.MipBackend.CP_SAT),
    "cpsat": lambda i, t: cpsat.solve(i, t),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10, 15, 20, 25, 30])
    parser.add_argument("--per-n", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=10.0)
    parser.add_argument("--weighted", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    load_start = os.getloadavg()[0]
    rows = []
    errors: list[str] = []
    for n in args.sizes:
        family = SmttFamily(n, rdd=0.6, tf=0.6, weighted=args.weighted)
        instances = [generate_instance(family, rng, f"n{n}-{k}") for k in range(args.per_n)]
        optima = [dp.solve(i).objective if n <= dp.MAX_JOBS else None for i in instances]
        for name, method in METHODS.items():
            results = [method(i, args.time_limit) for i in instances]
            for inst, res, opt in zip(instances, results, optima, strict=True):
                if opt is None:
                    continue
                if res.is_optimal and res.objective != opt:
                    errors.append(f"{name} {inst.name}: claims {res.objective:g}, DP {opt:g}")
                if res.lower_bound > opt or res.objective < opt:
                    errors.append(f"{name} {inst.name}: [{res.lower_bound:g}, "
                                  f"{res.objective:g}] excludes DP {opt:g}")
            gaps = [100.0 * (r.objective - r.lower_bound) / r.objective
                    for r in results if r.objective > 0]
            rows.append({
                "n": n,
                "method": name,
                "optimal": sum(r.is_optimal for r in results),
                "instances": len(results),
                "mean_s": statistics.fmean(r.seconds for r in results),
                "max_s": max(r.seconds for r in results),
                "mean_gap_pct": statistics.fmean(gaps) if gaps else 0.0,
            })
            if not args.json:
                r = rows[-1]
                print(f"n={n:3d} {name:10s} optimal {r['optimal']}/{r['instances']}  "
                      f"mean {r['mean_s']:6.2f}s  max {r['max_s']:6.2f}s  "
                      f"bound gap {r['mean_gap_pct']:5.1f}%", flush=True)
    load_end = os.getloadavg()[0]
    if args.json:
        print(json.dumps({"rows": rows, "errors": errors, "time_limit": args.time_limit,
                          "weighted": args.weighted, "loadavg": [load_start, load_end]}))
    else:
        print(f"time limit {args.time_limit:g}s, {'weighted' if args.weighted else 'unweighted'}, "
              f"RDD=0.6 TF=0.6; load average {load_start:.2f} -> {load_end:.2f}")
        for line in errors:
            print("ERROR " + line)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
