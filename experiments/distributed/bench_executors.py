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

import psutil

from archive import Archive, Split
from discover.config import EvaluationConfig, LlmConfig, ModelSpec, RunConfig, SearchConfig
from discover.reporting.events import CandidateEvaluated, Event, RunStarted
from discover.runner import run

EXECUTORS = ("local", "dask-local:1", "dask-local:2")


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds of this process, and of all its descendants (with their reaped children)."""
    me = psutil.Process()
    own = me.cpu_times()
    others = 0.0
    for child in me.children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.Error:  # ended meanwhile
            continue
        others += t.user + t.system + t.children_user + t.children_system
    return own.user + own.system, others + own.children_user + own.children_system


class Throughput:
    """Times the loop from its start to its last evaluated candidate, and its CPU use.

    Wall throughput depends on what else the machine runs; CPU seconds per
    evaluation do not, and give the throughput the executor reaches on idle cores.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.started: float | None = None
        self.last: float | None = None
        self.first_evaluated = 0
        self.evaluated = 0
        self.cpu_start = (0.0, 0.0)
        self.cpu_last = (0.0, 0.0)

    def on_event(self, event: Event) -> None:
        now = time.perf_counter()
        if isinstance(event, RunStarted):
            self.started = now
            self.first_evaluated = event.evaluated
            self.cpu_start = cpu_seconds()
        elif isinstance(event, CandidateEvaluated):
            self.last, self.evaluated = now, event.evaluated
            if event.evaluated - self.first_evaluated == self.budget:
                # Sampled once at the end: scanning the process tree costs CPU itself.
                self.cpu_last = cpu_seconds()

    @property
    def count(self) -> int:
        return self.evaluated - self.first_evaluated

    @property
    def per_minute(self) -> float:
        assert self.started is not None and self.last is not None
        return 60.0 * self.count / (self.last - self.started)

    @property
    def cpu_ms(self) -> tuple[float, float]:
        """Milliseconds of CPU per evaluation: orchestrator, and workers with their sandboxes."""
        return (1e3 * (self.cpu_last[0] - self.cpu_start[0]) / self.count,
                1e3 * (self.cpu_last[1] - self.cpu_start[1]) / self.count)


def programs(url: str, run_id: int) -> list[tuple[str, float | None]]:
    """(code, training score) of every program, in order."""
    with Archive.open(url) as archive:
        state = archive.run_state(run_id)
    return [(ps.program.code, ps.evaluations[Split.TRAIN].score
             if Split.TRAIN in ps.evaluations else None) for ps in state.programs]


def config(archive: Path, args: argparse.Namespace, executor: str) -> RunConfig:
    """An offline run that spends its time evaluating candidates."""
    if args.defaults:
        # What `discover run --problem smtt` evaluates (its training set and references),
        # without the validation and selection splits, which are outside the timed span.
        return RunConfig.for_problem("smtt").with_overrides(**{
            "budget": args.budget, "seed": args.seed, "workers": args.in_flight,
            "executor": executor, "archive": f"sqlite:///{archive}",
            "llm.models": [{"spec": "offline"}], "evaluation.validation": [],
            "evaluation.validate_top": 0, "evaluation.validate_every": 0,
            "evaluation.selection_n": 0, "evaluation.runtime_cap": 1e4})
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
    parser.add_argument("--defaults", action="store_true",
                        help="evaluate on the SMTT run defaults' training set (as `discover run "
                             "--problem smtt`) instead of --train-n/--per-class")
    args = parser.parse_args()
    rates: dict[str, list[float]] = {name: [] for name in args.executors}
    cpu: dict[str, list[tuple[float, float]]] = {name: [] for name in args.executors}
    with tempfile.TemporaryDirectory(prefix="discover-bench-") as tmp:
        # One archive for all runs: the training optima are solved once and cached.
        archive = Path(tmp) / "bench.sqlite"
        reference = None
        for repeat in range(args.repeats):
            for name in args.executors:
                meter = Throughput(args.budget)
                busy = os.getloadavg()[0]  # other work on the machine shares its cores
                result = run(config(archive, args, name), callbacks=[meter])
                history = programs(f"sqlite:///{archive}", result.run_id)
                reference = reference or history
                if history != reference:
                    raise SystemExit(f"{name} evaluated other programs than {args.executors[0]}")
                rates[name].append(meter.per_minute)
                orchestrator, workers = meter.cpu_ms
                cpu[name].append(meter.cpu_ms)
                print(f"{name:>14}  repeat {repeat}: {meter.per_minute:8.1f} evaluations/min; "
                      f"CPU per evaluation {orchestrator:6.1f} ms orchestrator, {workers:6.1f} ms "
                      f"workers (load average {busy:.1f} before, {os.getloadavg()[0]:.1f} "
                      f"after, {os.cpu_count()} cores)", flush=True)
    summary = {name: statistics.median(values) for name, values in rates.items()}
    used = config(Path("unused"), args, "local").evaluation
    cores = os.cpu_count() or 1
    bounds = {name: idle_bound(name, args.in_flight, cpu[name], cores) for name in cpu}
    if args.json:
        print(json.dumps({"median_per_minute": summary, "runs": rates, "cpu_ms": cpu,
                          "idle_bound_per_minute": bounds, "budget": args.budget,
                          "train_n": used.train_n, "instances": 20 * used.train_per_class}))
        return
    print(f"\nevaluations per minute (budget {args.budget}, {20 * used.train_per_class} training "
          f"instances of {used.train_n} jobs, {args.in_flight} workers), measured median "
          f"and the bound on {cores} idle cores from the measured CPU per evaluation:")
    for name, value in summary.items():
        print(f"  {name:>14}: {value:8.1f} measured, {bounds[name]:8.1f} idle-core bound")
    if "dask-local:1" in summary and "dask-local:2" in summary:
        print(f"  dask-local:2 / dask-local:1 = "
              f"{summary['dask-local:2'] / summary['dask-local:1']:.2f} measured, "
              f"{bounds['dask-local:2'] / bounds['dask-local:1']:.2f} idle-core bound")


def idle_bound(name: str, in_flight: int, cpu_ms: list[tuple[float, float]],
               cores: int) -> float:
    """Evaluations per minute the CPU costs allow on idle cores.

    The sandboxes of N single-threaded workers use at most N cores (a local
    pool: ``in_flight`` processes), the orchestrator's loop at most one, and
    everything together at most ``cores``.
    """
    orchestrator = statistics.median(o for o, _ in cpu_ms)
    workers = statistics.median(w for _, w in cpu_ms)
    parallel = int(name.split(":")[1]) if name.startswith("dask-local:") else in_flight
    return 60e3 * min(min(parallel, cores) / workers, 1.0 / orchestrator,
                      cores / (orchestrator + workers))


if __name__ == "__main__":
    main()
