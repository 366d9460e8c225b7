"""The subset DP against the stored optima of the seed paper's n = 20 file.

Solves every instance of ``n20_uniform.json`` (800 instances, 20 jobs) with the
Held–Karp DP and compares the optimum with the file's ``optimal_solution``.
Prints the number of mismatches and the time per instance: wall-clock (what a
user waits, sensitive to other load on the machine) and process CPU time (what
the DP itself costs), mean and max, plus the load average at start and end.

Exits non-zero on any mismatch. The acceptance threshold (``--max-mean``,
0.5 s per instance) is checked against both the mean wall and the mean CPU time
and the verdict printed; it does not set the exit code, because wall time on a
shared machine measures the other load as much as the DP.

Usage::

    python experiments/smtt_exact/dp_check.py [--file PATH] [--limit N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

from evaluators.bundled import bundled_file
from evaluators.smtt.exact import dp
from evaluators.smtt.loaders import load_instances

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_FILE = bundled_file("smtt:n20_uniform")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--file", type=Path, default=DEFAULT_FILE)
    parser.add_argument("--limit", type=int, default=None, help="first N instances only")
    parser.add_argument("--max-mean", type=float, default=0.5,
                        help="threshold in mean seconds per instance to report against")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    load_before = os.getloadavg()
    instances = load_instances(args.file)[: args.limit]
    wall: list[float] = []
    cpu: list[float] = []
    mismatches: list[str] = []
    for instance in instances:
        c0, w0 = time.process_time(), time.perf_counter()
        result = dp.solve(instance)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        if instance.optimum is None or result.objective != instance.optimum:
            mismatches.append(f"{instance.name}: dp {result.objective:g}, "
                              f"stored {instance.optimum}")
    summary = {
        "file": str(args.file),
        "instances": len(instances),
        "n": sorted({i.size for i in instances}),
        "mismatches": len(mismatches),
        "wall_mean_s": statistics.fmean(wall),
        "wall_max_s": max(wall),
        "cpu_mean_s": statistics.fmean(cpu),
        "cpu_max_s": max(cpu),
        "loadavg_start": load_before[0],
        "loadavg_end": os.getloadavg()[0],
        "cores": os.cpu_count(),
    }
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{summary['instances']} instances of n={summary['n']} from {args.file.name}")
        print(f"mismatches with stored optimum: {len(mismatches)}")
        for line in mismatches[:20]:
            print("  " + line)
        for kind in ("wall", "cpu"):
            print(f"{kind:4} s/instance: mean {summary[kind + '_mean_s']:.3f}  "
                  f"max {summary[kind + '_max_s']:.3f}")
        for kind in ("wall", "cpu"):
            verdict = "within" if summary[kind + "_mean_s"] <= args.max_mean else "OVER"
            print(f"mean {kind} time {verdict} the {args.max_mean:g} s threshold")
        print(f"load average {load_before[0]:.2f} -> {summary['loadavg_end']:.2f} "
              f"on {summary['cores']} cores")
    return 1 if mismatches else 0


if __name__ == "__main__":
    sys.exit(main())
