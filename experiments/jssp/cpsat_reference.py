"""CP-SAT reference on classic job-shop instances: known optima and gaps to best bounds.

Acceptance (issue 8): CP-SAT finds the known optimum of ft06, ft10 and la01–la05
within its time limit. For each instance the script prints the makespan found,
CP-SAT's proven bound and status, when the final makespan was first reached
and the gap to ``bks.json``'s ``upper_bound``.

Run from the project root::

    python experiments/jssp/cpsat_reference.py                      # ft06 ft10 la01-la05, 60 s
    python experiments/jssp/cpsat_reference.py --time-limit 10 \\
        --instances evaluators/jssp/data/scheduleopt/instances/Taillard1993/ta0*js.txt
    python experiments/jssp/cpsat_reference.py --time-limit 10 --instances jssp:la

The second form compares with the benchmark README's figure (2 workers, 10 s on a
2-core machine: 4.3 % above the best upper bound on 15×15). Exit status 1 when a
closed instance's optimum was not reached (default set only).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from evaluators.bundled import data_dir, expand_all
from evaluators.jssp.cpsat import solve_cpsat
from evaluators.jssp.loaders import load_files

INSTANCES = data_dir("jssp") / "scheduleopt" / "instances"
DEFAULT = [INSTANCES / "FisherThompson1963" / "ft06.txt",
           INSTANCES / "FisherThompson1963" / "ft10.txt",
           *(INSTANCES / "Lawrence1984" / f"la{i:02d}.txt" for i in range(1, 6))]


def _recorder(hits: list[tuple[float, int]]) -> Callable[[float, int], None]:
    def record(seconds: float, value: int) -> None:
        hits.append((seconds, value))

    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--instances", nargs="+", default=DEFAULT,
                        help="instance files, directories or bundled sets (jssp:la ...)")
    parser.add_argument("--time-limit", type=float, default=60.0, help="seconds per instance")
    parser.add_argument("--workers", type=int, default=2, help="CP-SAT workers")
    args = parser.parse_args(argv)
    instances = load_files(expand_all(args.instances, "jssp"))
    print(f"CP-SAT, {args.workers} workers, {args.time_limit:g} s per instance")
    print(f"{'instance':<10} {'size':>7} {'bks':>6} {'found':>6} {'bound':>6} {'status':>9} "
          f"{'first hit s':>11} {'total s':>8} {'gap %':>6}")
    checking = args.instances == DEFAULT  # the acceptance set; others are just measured
    misses, gaps = [], []
    for inst in instances:
        hits: list[tuple[float, int]] = []
        ref = solve_cpsat(inst, args.time_limit, num_workers=args.workers,
                          on_solution=_recorder(hits))
        found = int(ref.objective)
        first = min((s for s, v in hits if v == found), default=float("nan"))
        ub = inst.upper_bound
        gap = 100.0 * (found - ub) / ub if ub else float("nan")
        gaps.append(gap)
        print(f"{inst.name:<10} {inst.class_label:>7} {ub if ub is not None else '-':>6} "
              f"{found:>6} {int(ref.lower_bound):>6} {ref.status.value:>9} {first:>11.2f} "
              f"{ref.seconds:>8.2f} {gap:>6.2f}")
        if checking and inst.optimum_is_proven and found != ub:
            misses.append(f"{inst.name}: found {found}, optimum {ub}")
    print(f"mean gap to best upper bound: {sum(gaps) / len(gaps):.2f} % over {len(gaps)} instances")
    for line in misses:
        print(f"MISS {line}", file=sys.stderr)
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
