"""Simulator speed: simulated requests per second and the cost of evaluating one candidate.

One candidate evaluation is (1) the simulation with the candidate's priority function
(in the sandbox child) and (2) the trusted replay of its decision log plus metrics.
Both are timed in-process on 2000-request windows — the conversation trace at 90 %
and 100 % of capacity, the code trace at 1 and 2 req/s, a synthetic bursty window
(cv 3) at 90 % — for the three seed policies; then one seed is run end to end
through a real sandbox pool (``sandbox.evaluate``: worker round trip, JSON channel,
replay, scoring). Acceptance: one candidate over a 2000-request window in ≤ 1 s.

The machine is shared: CPU seconds of this process are reported next to wall time
(the sandbox row is wall time only, as the work happens in a worker process).

Run from the project root::

    python experiments/serving/bench_sim.py            # table
    python experiments/serving/bench_sim.py --json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from evaluators.bundled import data_dir
from evaluators.serving.engine import decision_log, simulate
from evaluators.serving.generate import BurstyFamily, generate_window
from evaluators.serving.instance import ServingInstance
from evaluators.serving.metrics import RequestMetrics
from evaluators.serving.policies import compile_priority
from evaluators.serving.problem import ServingProblem
from evaluators.serving.replay import validate_log
from evaluators.serving.workloads import read_trace, trace_windows

ROOT = Path(__file__).resolve().parents[2]
VIDUR = data_dir("serving") / "vidur"
LIMIT = 1.0
"""Acceptance: seconds per candidate on a 2000-request window."""


@dataclass(frozen=True)
class Row:
    """One policy on one window."""

    window: str
    policy: str
    requests: int
    iterations: int
    picks: int
    sim_wall: float
    sim_cpu: float
    replay_wall: float
    replay_cpu: float

    @property
    def candidate_wall(self) -> float:
        """Simulation + trusted replay and scoring."""
        return self.sim_wall + self.replay_wall

    @property
    def candidate_cpu(self) -> float:
        """CPU seconds of simulation + replay and scoring."""
        return self.sim_cpu + self.replay_cpu


def windows(problem: ServingProblem) -> list[ServingInstance]:
    """The benchmark windows (2000 requests each)."""
    scenario = problem.scenario
    conv, code = read_trace(VIDUR / "splitwise_conv.csv"), read_trace(VIDUR / "splitwise_code.csv")
    out = trace_windows(conv, scenario, window=2000, span=(0.5, 1.0), loads=[0.9, 1.0])
    out += trace_windows(code, scenario, window=2000, rates=[1.0, 2.0])
    out.append(generate_window(BurstyFamily(requests=2000, load=0.9, cv=3.0), scenario,
                               np.random.default_rng(0), "bursty-cv3"))
    return out


def measure(problem: ServingProblem, inst: ServingInstance, name: str, source: str,
            repeats: int) -> Row:
    """Best of ``repeats`` timings of simulation and of replay + metrics."""
    priority = compile_priority(source)
    payload = json.loads(json.dumps(problem.payload(inst)))
    best = [np.inf] * 4
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        sim = simulate(payload, priority)
        raw = decision_log(sim)
        w1, c1 = time.perf_counter(), time.process_time()
        checked = validate_log(inst, raw)
        assert not hasattr(checked, "reason"), checked
        RequestMetrics(checked.result, inst.scenario).summary()  # type: ignore[union-attr]
        w2, c2 = time.perf_counter(), time.process_time()
        best = [min(b, v) for b, v in zip(best, (w1 - w0, c1 - c0, w2 - w1, c2 - c1),
                                          strict=True)]
    return Row(inst.name, name, inst.size, sim.it, sim.chooser.decisions, *best)


def sandbox_seconds(problem: ServingProblem, inst: ServingInstance, source: str,
                    repeats: int) -> tuple[float, str]:
    """Wall seconds of ``sandbox.evaluate`` on one window (best of ``repeats``)."""
    from sandbox import SandboxPool, SandboxWarning, evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        with SandboxPool(workers=1, isolation="auto") as pool:
            evaluate(problem, [inst], source, pool, 60.0)  # warm the worker's payload cache
            best = np.inf
            for _ in range(repeats):
                start = time.perf_counter()
                result = evaluate(problem, [inst], source, pool, 60.0)
                best = min(best, time.perf_counter() - start)
                assert result.ok, result.message
            return best, pool.isolation_level


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    problem = ServingProblem()
    rows = [measure(problem, inst, name, src, args.repeats)
            for inst in windows(problem) for name, src in problem.seed_programs.items()]
    target = windows(problem)[0]
    box, isolation = sandbox_seconds(problem, target, problem.seed_programs["spf"],
                                     args.repeats)
    ok = all(r.candidate_cpu <= LIMIT for r in rows) and box <= LIMIT
    if args.json:
        print(json.dumps({"rows": [{**asdict(r), "candidate_wall": r.candidate_wall,
                                    "candidate_cpu": r.candidate_cpu} for r in rows],
                          "sandbox": {"window": target.name, "seconds": box,
                                      "isolation": isolation}, "ok": ok}, indent=2))
        return 0 if ok else 1
    print(f"{'window':28} {'policy':6} {'iters':>6} {'picks':>6} {'sim s':>6} {'req/s':>7} "
          f"{'replay s':>8} {'cand. wall':>10} {'cand. CPU':>9}")
    for r in rows:
        print(f"{r.window:28} {r.policy:6} {r.iterations:6d} {r.picks:6d} {r.sim_wall:6.3f} "
              f"{r.requests / r.sim_wall:7.0f} {r.replay_wall:8.3f} {r.candidate_wall:10.3f} "
              f"{r.candidate_cpu:9.3f}")
    sims = np.array([r.requests / r.sim_cpu for r in rows])
    print(f"\nsimulated requests per CPU second: median {np.median(sims):.0f}, "
          f"min {sims.min():.0f}")
    print(f"per candidate (simulation + replay + metrics), CPU: median "
          f"{np.median([r.candidate_cpu for r in rows]):.3f} s, max "
          f"{max(r.candidate_cpu for r in rows):.3f} s (limit {LIMIT} s)")
    print(f"through the sandbox (evaluate, spf, {target.name}, isolation {isolation}): "
          f"{box:.3f} s wall")
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
