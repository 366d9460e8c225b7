"""Evaluations per minute of an offline SMTT run on each executor.

Runs the same offline discovery (same seed, same batch size, so the very same
programs) with ``--executor local``, ``dask-local:1`` and ``dask-local:2``,
as separate runs of one SQLite archive, and reports the loop's throughput: evaluated
programs per minute between the first and the last candidate (set-up —
references, starting workers or a cluster — excluded, validation switched
off). Every run is checked to hold the same programs as the local one.

Example::

    python experiments/distributed/bench_executors.py --budget 300 --repeats 2

Timings depend on the machine's load; on a shared 2-core machine run it when
it is otherwise idle, and compare the ratios rather than absolute figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from archive import Archive, Split
from discover.config import EvaluationConfig, LlmConfig, ModelSpec, RunConfig, SearchConfig
from discover.events import CandidateEvaluated, Event, RunStarted
from discover.runner import run

EXECUTORS = ("local", "dask-local:1", "dask-local:2")


class Throughput:
    """Times the loop from its start to its last evaluated candidate."""

    def __init__(self) -> None:
        self.started: float | None = None
        self.last: float | None = None
        self.first_evaluated = 0
        self.evaluated = 0

    def on_event(self, event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, RunStarted):
            self.started = now
            self.first_evaluated = event.evaluated
        elif isinstance(event, CandidateEvaluated):
            self.last, self.evaluated = now, event.evaluated

    @property
    def per_minute(self) -> float:
        assert self.started is not None and self.last is not None
        return 60.0 * (self.evaluated - self.first_evaluated) / (self.last - self.started)


def programs(url: str, run_id: int) -> list[tuple[str, float | None]]:
    """(code, training score) of every program, in order."""
    with Archive.open(url) as archive:
        state = archive.run_state(run_id)
    return [(ps.program.code, ps.evaluations[Split.TRAIN].score
             if Split.TRAIN in ps.evaluations else None) for ps in state.programs]


def config(archive: Path, args: argparse.Namespace, executor: str) -> RunConfig:
    """An offline run that spends its time evaluating candidates."""
    evaluation = EvaluationConfig(train_n=args.train_n, train_per_class=args.per_class,
                                  probe_count=10, validation=(), validate_top=0,
                                  validate_every=0, candidate_time_limit=30.0,
                                  # No "too slow" rejections: they depend on measured
                                  # time, so runs under different load would diverge.
                                  runtime_cap=1e4)
    return RunConfig(budget=args.budget, seed=args.seed, workers=args.in_flight,
                     executor=executor, archive=f"sqlite:///{archive}",
                     llm=LlmConfig(models=(ModelSpec("offline"),)), evaluation=evaluation,
                     search=SearchConfig(islands=2, reset_interval=100))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--train-n", type=int, default=40, help="jobs per training instance")
    parser.add_argument("--per-class", type=int, default=5, help="instances per class (x20)")
    parser.add_argument("--in-flight", type=int, default=2,
                        help="candidates evaluated at once (--workers), the same for all")
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--executors", nargs="+", default=list(EXECUTORS))
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in args.executors}
    with tempfile.TemporaryDirectory(prefix="discover-bench-") as tmp:
        # One archive for all runs: the training optima are solved once and cached.
        archive = Path(tmp) / "bench.sqlite"
        reference = None
        for repeat in range(args.repeats):
            for name in args.executors:
                meter = Throughput()
                busy = os.getloadavg()[0]  # other work on the machine shares its cores
                result = run(config(archive, args, name), callbacks=[meter])
                history = programs(f"sqlite:///{archive}", result.run_id)
                reference = reference or history
                if history != reference:
                    raise SystemExit(f"{name} evaluated other programs than {args.executors[0]}")
                rates[name].append(meter.per_minute)
                print(f"{name:>14}  repeat {repeat}: {meter.per_minute:8.1f} evaluations/min "
                      f"({result.evaluated} evaluated; load average {busy:.1f} before, "
                      f"{os.getloadavg()[0]:.1f} after, {os.cpu_count()} cores)", flush=True)
    summary = {name: statistics.median(values) for name, values in rates.items()}
    if args.json:
        print(json.dumps({"median_per_minute": summary, "runs": rates, "budget": args.budget,
                          "train_n": args.train_n, "instances": 20 * args.per_class}))
        return
    print(f"\nmedian evaluations per minute (budget {args.budget}, {20 * args.per_class} "
          f"training instances of {args.train_n} jobs, {args.in_flight} in flight):")
    for name, value in summary.items():
        print(f"  {name:>14}: {value:8.1f}")
    if "dask-local:1" in summary and "dask-local:2" in summary:
        print(f"  dask-local:2 / dask-local:1 = "
              f"{summary['dask-local:2'] / summary['dask-local:1']:.2f}")


if __name__ == "__main__":
    main()
