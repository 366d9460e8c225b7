"""Classic serving policies on the Splitwise traces at a few loads, and their goodput.

For each trace (conversation, code), three 2000-request windows spread over the
trace are served at each load (conversation: 0.8, 0.9, 1.0 × the window's
saturation throughput; code, whose arrivals are far burstier: 1, 2, 3 req/s) by
every heuristic of :mod:`evaluators.serving.policies`, on the problem's default
scenario (A100 cost model, TTFT ≤ 1 s, TPOT ≤ 0.1 s, 512-token chunks for every
policy but ``fcfs``, which is vLLM's default builder). Printed per trace and
load: SLO attainment, mean/p99 TTFT, p99 TPOT, mean/p99 latency and preemptions
(means over the windows); then each policy's goodput — the highest request rate
with ≥ 90 % attainment — on the first window of each trace.

Run from the project root::

    python experiments/serving/policies.py            # tables
    python experiments/serving/policies.py --json
    python experiments/serving/policies.py --cost h100
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.bundled import data_dir
from evaluators.serving.cost_model import cost_model
from evaluators.serving.instance import Scenario, ServerConfig, ServingInstance
from evaluators.serving.metrics import Summary, goodput
from evaluators.serving.policies import HEURISTICS
from evaluators.serving.problem import ServingProblem
from evaluators.serving.workloads import at_rate, read_trace, trace_windows

ROOT = Path(__file__).resolve().parents[2]
VIDUR = data_dir("serving") / "vidur"
LOADS: dict[str, dict[str, list[float]]] = {
    "conv": {"loads": [0.8, 0.9, 1.0]},
    "code": {"rates": [1.0, 2.0, 3.0]},
}
COLUMNS = ("attainment", "mean_ttft", "p99_ttft", "p99_tpot", "mean_latency", "p99_latency",
           "preemptions")


def table(problem: ServingProblem, trace: str, kind: str, value: float
          ) -> dict[str, dict[str, float]]:
    """Mean metrics over three windows of ``trace`` at one load or rate, per heuristic."""
    data = read_trace(VIDUR / f"splitwise_{trace}.csv")
    insts = trace_windows(data, problem.scenario, window=2000, count=3,
                          **{kind: [value]})
    out: dict[str, dict[str, float]] = {}
    for name, heuristic in HEURISTICS.items():
        summaries = [problem.metrics(inst, heuristic(inst)) for inst in insts]
        out[name] = {c: float(np.mean([getattr(s, c) for s in summaries])) for c in COLUMNS}
        out[name]["rate"] = float(np.mean([i.meta["rate"] for i in insts]))
    return out


def policy_goodput(problem: ServingProblem, base: ServingInstance, name: str) -> float | None:
    """Highest rate (req/s) of ``base``'s requests with ≥ 90 % attainment under ``name``."""
    arr, prompt, out = base.arrays

    def attainment(rate: float) -> float:
        inst = at_rate(base.name, arr, prompt, out, base.scenario, rate=rate)
        summary: Summary = problem.metrics(inst, HEURISTICS[name](inst))
        return summary.attainment

    return goodput(attainment, 0.25, 12.0, rel_tol=0.03).rate


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--cost", default="a100", help="cost model: a100, h100 or a JSON file")
    args = parser.parse_args()
    problem = ServingProblem(Scenario(ServerConfig(cost_model(args.cost))))
    results: dict[str, Any] = {"tables": {}, "goodput": {}}
    for trace, spec in LOADS.items():
        (kind, values), = spec.items()
        for value in values:
            key = f"{trace} {kind[:-1]} {value:g}"
            results["tables"][key] = table(problem, trace, kind, value)
        first = trace_windows(read_trace(VIDUR / f"splitwise_{trace}.csv"), problem.scenario,
                              window=2000, rates=[1.0])[0]
        results["goodput"][first.name.split("@")[0]] = {
            name: policy_goodput(problem, first, name) for name in HEURISTICS}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    for key, rows in results["tables"].items():
        rate = np.mean([r["rate"] for r in rows.values()])
        print(f"\n{key} (mean rate {rate:.2f} req/s; 3 windows of 2000 requests; "
              f"cost model {args.cost})")
        print(f"{'policy':12} {'SLO att.':>8} {'TTFT mean':>9} {'TTFT p99':>8} "
              f"{'TPOT p99':>8} {'lat. mean':>9} {'lat. p99':>8} {'preempt':>7}")
        for name, r in rows.items():
            print(f"{name:12} {r['attainment']:8.3f} {r['mean_ttft']:9.3f} {r['p99_ttft']:8.2f} "
                  f"{r['p99_tpot'] * 1e3:6.1f}ms {r['mean_latency']:9.2f} {r['p99_latency']:8.1f} "
                  f"{r['preemptions']:7.1f}")
    print("\ngoodput (req/s at >= 90 % SLO attainment)")
    for window, rates in results["goodput"].items():
        cells = "  ".join(f"{n} {'—' if v is None else f'{v:.2f}'}" for n, v in rates.items())
        print(f"  {window:16} {cells}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
