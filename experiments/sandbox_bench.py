"""Sandbox throughput and per-candidate overhead against in-process execution.

A trivial priority rule (EDD as a sort key) is evaluated on 100 SMTT instances of
100 jobs, as one batch per candidate. Reported:

* in-process time per candidate (exec + the harness call on every instance);
* sandbox latency per candidate with one worker, sequentially, and the
  overhead = latency - in-process time; the child's own wall time and the time
  inside the candidate are shown to split the overhead;
* throughput in candidates per minute with 1 and 2 workers (many candidates in
  flight), for the raw pool and for ``sandbox.evaluate`` called from a few
  threads (which adds the trusted validation and objective computation);
* CPU milliseconds per candidate over all processes involved (orchestrator,
  workers, children), which is less sensitive to other load on the machine;
* the load average, because the figures are wall-clock measurements.

Usage::

    python experiments/sandbox_bench.py [--candidates 300] [--isolation auto]
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import GeneratorSpec
from evaluators.smtt.harness import call
from evaluators.smtt.problem import SmttProblem
from sandbox import SandboxPool, evaluate
from sandbox.scoring import payload_set

RULE = """\
def schedule(processing_times, due_dates):
    return sorted(range(len(due_dates)), key=lambda j: due_dates[j] + {k} * 0)
"""


def _tree_cpu(roots: list[int]) -> float:
    """CPU seconds of ``roots`` and all their descendants, including reaped children."""
    stats: dict[int, list[str]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stats[int(entry)] = Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2] \
                    .split()
            except OSError:
                continue
    children: dict[int, list[int]] = {}
    for pid, fields in stats.items():
        children.setdefault(int(fields[1]), []).append(pid)
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    stack = [r for r in roots if r in stats]
    seen: set[int] = set()
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        f = stats[pid]
        # utime, stime, cutime, cstime are fields 14-17 (index 11-14 after the name)
        total += sum(int(x) for x in f[11:15]) / tick
        stack.extend(children.get(pid, []))
    return total


def _self_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def in_process_seconds(code: str, payloads: list[dict[str, Any]], repeats: int) -> float:
    """Median time of exec + harness calls on every payload, in this process."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        namespace: dict[str, Any] = {}
        exec(compile(code, "<candidate>", "exec"), namespace)
        fn = namespace["schedule"]
        for payload in payloads:
            call(fn, payload)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(pool: SandboxPool, job: Callable[[int], Any], count: int,
            parallel: bool) -> tuple[float, float, list[Any]]:
    """Wall seconds and CPU seconds (all processes) for ``count`` jobs."""
    roots = pool.worker_pids()
    cpu0 = _self_cpu() + _tree_cpu(roots)
    start = time.perf_counter()
    if parallel:
        results = [f.result() for f in [job(k) for k in range(count)]]
    else:
        results = [job(k) for k in range(count)]
    wall = time.perf_counter() - start
    cpu = _self_cpu() + _tree_cpu(roots) - cpu0
    return wall, cpu, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=300)
    parser.add_argument("--isolation", default="auto", choices=("auto", "strict", "none"))
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    problem = SmttProblem()
    instances = problem.generate(GeneratorSpec(n=100, count=5), np.random.default_rng(args.seed))
    assert len(instances) == 100 and all(i.size == 100 for i in instances)
    pset = payload_set(problem, instances)
    payloads = [problem.payload(i) for i in instances]
    spec = problem.candidate_spec
    n = args.candidates
    print(f"load average before: {os.getloadavg()}  (cores: {os.cpu_count()})")
    print(f"batch: {len(instances)} instances x {instances[0].size} jobs; candidates: {n}")

    inproc = in_process_seconds(RULE.format(k=0), payloads, 30)
    print(f"\nin-process per candidate:         {inproc * 1e3:7.2f} ms")

    # The fork ahead of the request, on and off, alternated so machine load hits both alike.
    latencies: dict[bool, list[float]] = {False: [], True: []}
    for _ in range(3):
        for prefork in (False, True):
            with SandboxPool(workers=1, isolation=args.isolation,  # type: ignore[arg-type]
                             prefork=prefork) as pool:
                for k in range(5):
                    assert pool.run(RULE.format(k=k), spec, pset, 10.0).ok
                wall, _, outs = measure(
                    pool, lambda k: pool.run(RULE.format(k=k), spec, pset, 10.0), n // 3, False)
                assert all(o.ok for o in outs)
                latencies[prefork].append(wall / (n // 3))
    for prefork, values in latencies.items():
        best = statistics.median(values)
        print(f"latency, fork {'ahead of' if prefork else 'on'} request: {best * 1e3:6.2f} ms, "
              f"overhead {(best - inproc) * 1e3:6.2f} ms (median of 3 alternated runs)")

    rows = []
    for workers in (1, 2):
        with SandboxPool(workers=workers, isolation=args.isolation) as pool:  # type: ignore[arg-type]
            level = pool.isolation_level
            for k in range(5):  # warm up: payload sets reach the workers
                assert pool.run(RULE.format(k=k), spec, pset, 10.0).ok
            if workers == 1:
                wall, cpu, outs = measure(
                    pool, lambda k: pool.run(RULE.format(k=k), spec, pset, 10.0), n, False)
                assert all(o.ok for o in outs)
                child = statistics.mean(o.total_seconds for o in outs)
                inside = statistics.mean(sum(o.seconds) for o in outs)
                latency = wall / n
                print(f"sandbox latency per candidate:    {latency * 1e3:7.2f} ms  "
                      f"(isolation {level})")
                print(f"  of which child wall time:       {child * 1e3:7.2f} ms")
                print(f"  of which inside the candidate:  {inside * 1e3:7.2f} ms")
                print(f"overhead vs in-process:           {(latency - inproc) * 1e3:7.2f} ms")
                print(f"CPU per candidate (all procs):    {cpu / n * 1e3:7.2f} ms "
                      f"(in-process: {inproc * 1e3:.2f} ms)")
            wall, cpu, outs = measure(
                pool, lambda k: pool.submit(RULE.format(k=k), spec, pset, 10.0), n, True)
            assert all(o.ok for o in outs)
            rows.append((workers, "pool.submit", n / wall * 60, cpu / n * 1e3))
            # evaluate() is thread-safe; a few caller threads keep every worker busy
            # while the trusted side validates and scores finished candidates.
            with ThreadPoolExecutor(max_workers=2 * workers) as callers:
                wall, cpu, evs = measure(
                    pool, lambda k: callers.submit(evaluate, problem, instances,
                                                   RULE.format(k=k), pool, 10.0), n, True)
            assert all(e.ok for e in evs)
            rows.append((workers, f"evaluate ({2 * workers} threads)", n / wall * 60,
                         cpu / n * 1e3))
    print("\nthroughput")
    print(f"{'workers':>8} {'path':<24} {'candidates/min':>15} {'CPU ms/candidate':>17}")
    for workers, path, per_min, cpu_ms in rows:
        print(f"{workers:>8} {path:<24} {per_min:>15.0f} {cpu_ms:>17.2f}")
    print(f"\nload average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
