"""Archive write throughput: candidates per second committed into SQLite, one transaction each.

Each candidate is what the loop writes: a program (~1 KB of code), a lineage
edge to an earlier program, a train evaluation with per-instance results and,
unless ``--no-calls``, the model call behind it (~4 KB prompt, ~2 KB response).
Every candidate is its own ``BEGIN IMMEDIATE … COMMIT``, exactly as
:meth:`archive.Archive.record_candidate` commits during a run.

Usage::

    python experiments/archive_bench.py                 # defaults: 3000 candidates, 40 instances
    python experiments/archive_bench.py --synchronous FULL --programs 1000

Prints one line per configuration and the figure the acceptance asks for
(programs with evaluations per second, target >= 1000).
"""

from __future__ import annotations

import argparse
import os
import random
import tempfile
import time
from pathlib import Path

from archive import (
    Archive,
    EdgeRole,
    Evaluation,
    EvaluationStatus,
    InstanceResult,
    ModelCall,
    Parent,
    Program,
    Split,
)

CODE = '''\
def schedule(processing_times, due_dates):
    """Modified due date with a slack-weighted tie-break (variant {k})."""
    n = len(processing_times)
    remaining = list(range(n))
    order = []
    t = 0
    while remaining:
        def key(j):
            slack = max(0, due_dates[j] - t - processing_times[j])
            return (max(t + processing_times[j], due_dates[j]) + {k} * 1e-6 * slack, j)
        best = min(remaining, key=key)
        remaining.remove(best)
        order.append(best)
        t += processing_times[best]
    return order
'''


def candidate(k: int, instances: int, with_call: bool
              ) -> tuple[Program, list[Evaluation], list[ModelCall]]:
    """Realistic candidate content; the loop passes its own code hash, so do we."""
    rng = random.Random(k)
    per_instance = tuple(
        InstanceResult(f"n20_uniform#{i}", objective=float(rng.randint(0, 5000)),
                       gap=rng.uniform(0, 10), seconds=rng.uniform(1e-4, 1e-3))
        for i in range(instances))
    gaps = [r.gap for r in per_instance if r.gap is not None]
    evaluation = Evaluation(Split.TRAIN, EvaluationStatus.OK, score=sum(gaps) / len(gaps),
                            gap=sum(gaps) / len(gaps), seconds=0.05, per_instance=per_instance)
    program = Program(CODE.format(k=k), "modify", island=k % 4, generation=k // 50,
                      idea=f"slack-weighted ties, variant {k}", code_hash=f"{k:064x}",
                      behaviour_hash=f"{k * 7:064x}")
    calls = [ModelCall("openai", "gpt-4.1-mini", "You are improving a heuristic.\n" * 130,
                       "```python\n" + CODE.format(k=k) + "```\n" * 2, 1100, 450, 0.0009, 3.2)
             ] if with_call else []
    return program, [evaluation], calls


def bench(path: Path, programs: int, instances: int, synchronous: str, with_call: bool
          ) -> tuple[float, float]:
    """Candidates per wall second and per CPU second of this process.

    Content is built beforehand, so only archive work is timed. On a machine
    shared with other jobs the wall-clock rate drops with the load while the
    CPU rate shows what the archive itself costs.
    """
    work = [candidate(k, instances, with_call) for k in range(programs)]
    with Archive.open(f"sqlite:///{path}", synchronous=synchronous) as archive:
        run = archive.create_run("smtt", {"bench": True}, seed=0, budget=programs)
        ids: list[int] = []
        rng = random.Random(1)
        start = time.perf_counter()
        cpu = time.process_time()
        for program, evaluations, calls in work:
            parents = [Parent(rng.choice(ids), EdgeRole.MUTATION)] if ids else []
            ids.append(archive.record_candidate(run, program, parents=parents,
                                                evaluations=evaluations, model_calls=calls))
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu
        assert archive.run_state(run, per_instance=False).counters.evaluated == programs
    return programs / elapsed, programs / cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--programs", type=int, default=3000)
    parser.add_argument("--instances", type=int, default=40,
                        help="per-instance results in each evaluation")
    parser.add_argument("--synchronous", choices=["NORMAL", "FULL", "both"], default="both")
    args = parser.parse_args()
    modes = ["NORMAL", "FULL"] if args.synchronous == "both" else [args.synchronous]
    print(f"{args.programs} candidates, {args.instances} per-instance results each, "
          f"one transaction per candidate; load average {os.getloadavg()[0]:.1f} "
          f"on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory() as tmp:
        for mode in modes:
            for with_call in (False, True):
                path = Path(tmp) / f"bench-{mode}-{with_call}.sqlite"
                rate, cpu_rate = bench(path, args.programs, args.instances, mode, with_call)
                size = path.stat().st_size + Path(f"{path}-wal").stat().st_size \
                    if Path(f"{path}-wal").exists() else path.stat().st_size
                what = "program+edge+evaluation+model call" if with_call else \
                    "program+edge+evaluation"
                print(f"synchronous={mode:<6} {what:<36} {rate:7.0f}/s wall "
                      f"{cpu_rate:7.0f}/s CPU  ({size / args.programs / 1024:.1f} KiB each)")


if __name__ == "__main__":
    main()
