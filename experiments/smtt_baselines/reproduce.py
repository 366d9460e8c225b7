"""Classic SMTT heuristics on the seed paper's instance sets, against its published gaps.

Runs every heuristic of ``evaluators.smtt.heuristics.HEURISTICS`` on every
bundled set of the paper (``smtt:n20_uniform`` ... ``smtt:n500_paper``: each
carries the paper's stored values; for n500 those are the published, misaligned
ones, since the paper's figures were computed against them) and prints,
per file and heuristic: mean gap, max gap, mean seconds per instance, the
number of instances where the heuristic beats the stored "optimum", and the
paper's mean gap with the difference. Gap: ``100·(H − OPT)/OPT`` averaged over
instances with ``OPT > 0`` (the paper's convention). Tolerance: ±0.01, EDD ±0.2
(its tie-break is not stated in the paper).

``n20_normal.json`` holds zero and negative processing times (drawn from
Normal(60, 20)) in 125 of its 800 instances, which :class:`SmttInstance`
rejects; the paper's figures include those instances. When the project
loader rejects a file, the script reads the raw JSON and runs the same core
functions (``run_baseline``) on the plain sequences, evaluating the objective
with the same formula, and says so in the output.

Run from the project root::

    python experiments/smtt_baselines/reproduce.py                 # everything (~10 min)
    python experiments/smtt_baselines/reproduce.py --files n20_uniform n100
    python experiments/smtt_baselines/reproduce.py --methods mdd mddc --json

Exit status: 0 when every figure the paper reports is matched within
tolerance, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from evaluators.base import InstanceError, relative_gap
from evaluators.bundled import bundled_file
from evaluators.smtt.heuristics import BASELINES, HEURISTICS
from evaluators.smtt.heuristics.catalog import run_baseline
from evaluators.smtt.heuristics.paper import PAPER_MEAN_GAPS, PAPER_SECONDS, tolerance
from evaluators.smtt.loaders import load_instances
from evaluators.smtt.objective import total_tardiness

FILES = ("n20_uniform", "n20_normal", "n100", "n200", "n500")
PAPER_SETS = {name: f"smtt:{name}" for name in FILES} | {"n500": "smtt:n500_paper",
                                                          "n20_normal": "smtt:n20_normal_paper"}
"""The bundled set holding each file as the paper used it (its own stored values)."""


def instance_file(file: str, directory: Path | None) -> Path:
    """``directory/<file>.json`` when a directory is given, else the bundled set."""
    return directory / f"{file}.json" if directory else bundled_file(PAPER_SETS[file])


@dataclass(frozen=True)
class Row:
    """One heuristic on one file."""

    file: str
    method: str
    instances: int
    gap_instances: int
    mean_gap: float
    max_gap: float
    mean_seconds: float
    beats_stored: int
    paper: float | None
    diff: float | None
    ok: bool | None


class _Runner:
    """Runs heuristics on one file, through SmttInstance when the loader accepts it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.note = ""
        try:
            self.instances = load_instances(path)
            self.raw: list[tuple[list[int], list[int]]] = []
            self.optima = [inst.optimum for inst in self.instances]
        except InstanceError as exc:
            self.instances = []
            data = json.loads(path.read_text(encoding="utf-8"))
            self.raw = [(item["processing_times"], item["due_dates"]) for item in data]
            self.optima = [item["optimal_solution"] for item in data]
            bad = sum(1 for p, _ in self.raw if min(p) <= 0)
            self.note = (f"loader rejects the file ({exc}); {bad} instances have p <= 0; "
                         "evaluated from the raw JSON with the same core functions")

    def __len__(self) -> int:
        return len(self.optima)

    def run(self, method: str, k: int) -> tuple[int, float]:
        """Objective and seconds of ``method`` on instance ``k``."""
        if self.instances:
            inst = self.instances[k]
            start = time.perf_counter()
            order = HEURISTICS[method](inst)
            seconds = time.perf_counter() - start
            return total_tardiness(inst, order), seconds
        p, d = self.raw[k]
        start = time.perf_counter()
        order = run_baseline(BASELINES[method], p, d)
        seconds = time.perf_counter() - start
        return _plain_tardiness(p, d, order), seconds


def _plain_tardiness(p: Sequence[int], d: Sequence[int], order: Sequence[int]) -> int:
    if sorted(order) != list(range(len(p))):
        raise AssertionError("heuristic returned an invalid permutation")
    time_now = 0
    total = 0
    for j in order:
        time_now += p[j]
        total += max(0, time_now - d[j])
    return total


def evaluate(runner: _Runner, file: str, method: str) -> Row:
    """Gaps and timing of ``method`` on every instance of ``runner``."""
    gaps: list[float] = []
    seconds = 0.0
    beats = 0
    for k, optimum in enumerate(runner.optima):
        value, sec = runner.run(method, k)
        seconds += sec
        if optimum is None:
            continue
        beats += value < optimum
        gap = relative_gap(value, optimum)
        if gap is not None:
            gaps.append(gap)
    mean_gap = sum(gaps) / len(gaps) if gaps else float("nan")
    paper = PAPER_MEAN_GAPS.get(file, {}).get(method)
    diff = None if paper is None else mean_gap - paper
    ok = None if diff is None else abs(diff) <= tolerance(method) + 1e-9
    return Row(file, method, len(runner), len(gaps), mean_gap, max(gaps, default=float("nan")),
               seconds / max(len(runner), 1), beats, paper, diff, ok)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the reproduction; returns the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", type=Path, default=None,
                        help="instance directory (default: the bundled sets)")
    parser.add_argument("--files", nargs="+", default=list(FILES), choices=FILES)
    parser.add_argument("--methods", nargs="+", default=list(HEURISTICS),
                        choices=list(HEURISTICS))
    parser.add_argument("--json", action="store_true", help="print rows as JSON lines")
    args = parser.parse_args(argv)

    rows: list[Row] = []
    for file in args.files:
        runner = _Runner(instance_file(file, args.dir))
        if not args.json:
            print(f"\n{file}.json: {len(runner)} instances")
            if runner.note:
                print(f"  note: {runner.note}")
            if file in PAPER_SECONDS:
                paper_s = ", ".join(f"{k} {v:g} s" for k, v in PAPER_SECONDS[file].items())
                print(f"  paper's mean CPU seconds: {paper_s}")
            print(f"  {'method':<10} {'mean gap':>9} {'max gap':>9} {'mean s':>9} "
                  f"{'<stored':>7} {'paper':>7} {'diff':>7}  status")
        for method in args.methods:
            row = evaluate(runner, file, method)
            rows.append(row)
            if args.json:
                print(json.dumps(asdict(row)), flush=True)
                continue
            paper = "" if row.paper is None else f"{row.paper:.2f}"
            diff = "" if row.diff is None else f"{row.diff:+.4f}"
            status = {None: "", True: "ok", False: "MISMATCH"}[row.ok]
            print(f"  {method:<10} {row.mean_gap:>9.4f} {row.max_gap:>9.2f} "
                  f"{row.mean_seconds:>9.5f} {row.beats_stored:>7} {paper:>7} {diff:>7}  "
                  f"{status}", flush=True)
    misses = [r for r in rows if r.ok is False]
    checked = [r for r in rows if r.ok is not None]
    if not args.json:
        print(f"\n{len(checked) - len(misses)}/{len(checked)} paper figures reproduced"
              + (f"; MISMATCH: {', '.join(f'{r.file}/{r.method}' for r in misses)}"
                 if misses else ""))
    return 1 if misses else 0


if __name__ == "__main__":
    sys.exit(main())
