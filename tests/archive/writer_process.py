"""Stand-in for the loop's writes, run as a subprocess by the crash and concurrency tests.

It resumes from the archive the way the loop must: the next candidate index is
the number of non-duplicate programs already committed (``run_state``), and it
writes one candidate per transaction until the run's budget is reached.
Every candidate has two evaluations with per-instance results, a model call,
and (after the first) a lineage edge to an earlier program. After each commit
it prints ``committed <index> <program id>`` and flushes, so the parent knows
exactly which candidates were committed before it killed the process.

Usage: ``python writer_process.py URL (--run ID | --new-run BUDGET) [--delay S] [--wait-for F]``
"""

from __future__ import annotations

import argparse
import random
import sys
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


def candidate(index: int) -> tuple[Program, list[Evaluation], ModelCall]:
    """Deterministic content for candidate ``index`` (the index is in the idea)."""
    code = ("def schedule(processing_times, due_dates):\n"
            f"    w = {index}\n"
            "    return sorted(range(len(due_dates)), key=lambda j: due_dates[j] + w * j)\n")
    per_instance = tuple(InstanceResult(f"inst{k}", objective=float(index + k), gap=0.1 * k,
                                        seconds=0.001) for k in range(20))
    evaluations = [Evaluation(split, EvaluationStatus.OK, score=float(index), gap=1.0,
                              seconds=0.02, per_instance=per_instance)
                   for split in (Split.TRAIN, Split.VALIDATION)]
    call = ModelCall("offline", "engine", f"prompt for {index}\n" * 20, code, 500, 200, 0.0, 0.01)
    return Program(code, "modify", island=index % 4, generation=index // 10,
                   idea=f"candidate {index}"), evaluations, call


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--run", type=int)
    group.add_argument("--new-run", type=int, metavar="BUDGET")
    parser.add_argument("--delay", type=float, default=0.0)
    parser.add_argument("--wait-for", metavar="PATH", default=None,
                        help="after printing 'ready', start writing only once PATH exists")
    args = parser.parse_args()
    with Archive.open(args.url) as archive:
        run = args.run if args.run is not None else archive.create_run(
            "smtt", {"budget": args.new_run}, seed=0, budget=args.new_run)
        state = archive.run_state(run, per_instance=False)
        budget = state.run.budget or 0
        ids = [p.id for p in state.programs]
        rng = random.Random(run * 1000 + len(ids))
        print(f"ready run {run} at {len(ids)}", flush=True)
        while args.wait_for and not Path(args.wait_for).exists():
            time.sleep(0.005)
        for index in range(state.counters.evaluated, budget):
            program, evaluations, call = candidate(index)
            parents = [Parent(rng.choice(ids), EdgeRole.MUTATION)] if ids else []
            pid = archive.record_candidate(run, program, parents=parents,
                                           evaluations=evaluations, model_calls=[call])
            ids.append(pid)
            print(f"committed {index} {pid}", flush=True)
            if args.delay:
                time.sleep(args.delay)
    return 0


if __name__ == "__main__":
    sys.exit(main())
