"""How a parent's share of the step budget decides whether its children are too slow.

For each archive of a ``discover run --problem smtt`` (with the runtime gate at scale,
``evaluation.timing_n``) the study takes every parent with at least ``--min-children``
mutation children evaluated on the training set, finds its *load* (its steps on the
timing instances over the gate's limit) and tabulates, by load band, the share of its
children rejected as too slow. Archives written since revision 0004 hold the steps
(``evaluations.steps``); for older ones the gate is rebuilt exactly as the runner builds
it (same instances, same reference, same cap) and each parent is run on it once in the
sandbox (about 1 s per parent on this machine).

It also prints the whole run's status counts and, for archives that record steps, the
distribution of child-to-parent step ratios: how much more work children do. With
``--lineage PID`` it follows program PID's first parents back to the seed and prints each
ancestor's training score, load and idea: at which loads a good lineage made its gains.

This is the measurement behind :mod:`discover.offline.budget` (its thresholds ``LOW``
and ``HIGH``).

Example::

    python experiments/offline_engine/load_study.py run1.sqlite run2.sqlite --min-children 4
    python experiments/offline_engine/load_study.py run3.sqlite --lineage 1988
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from discover.config import RunConfig
from discover.search.timing import TimingGate, build_gate
from evaluators.base import Problem
from evaluators.registry import get_problem
from sandbox import SandboxPool

BANDS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.8), (0.8, 0.85), (0.85, 0.9), (0.9, 0.95),
         (0.95, 1.01))

CHILDREN = """
SELECT l.parent_id, e.status, {steps}
FROM lineage_edges l
JOIN evaluations e ON e.program_id = l.child_id AND e.split = 'train'
WHERE l.role = 'mutation'
"""


@dataclass(frozen=True)
class _Replay:
    """One archive's run as the study needs it: its rebuilt gate, its problem, and whether
    the archive records steps (read once, not per program)."""

    db: sqlite3.Connection
    gate: TimingGate
    problem: Problem[Any]
    has_steps: bool

    @classmethod
    def open(cls, path: Path, pool: SandboxPool) -> _Replay:
        """The archive at ``path``, its gate rebuilt from the run's configuration snapshot
        as the runner builds it (same instances, reference and cap)."""
        db = sqlite3.connect(path)
        problem_name, snapshot = db.execute("SELECT problem, config FROM runs LIMIT 1").fetchone()
        config = RunConfig.from_dict({k: v for k, v in json.loads(snapshot).items()
                                      if k not in ("archive", "baselines")})
        problem = get_problem(problem_name)
        ev = config.evaluation
        if ev.timing_n <= 0:
            sys.exit(f"{problem_name}: this run had no timing gate (evaluation.timing_n = 0)")
        gate = build_gate(problem, problem.seed_programs[ev.runtime_reference], ev.timing_n,
                          ev.timing_count, ev.timing_cap, pool, params=dict(ev.train_params))
        if gate is None:
            sys.exit("the reference program failed on the timing instances")
        # Schema revision 0004 and later record the steps.
        has_steps = any(row[1] == "steps"
                        for row in db.execute("PRAGMA table_info(evaluations)"))
        return cls(db, gate, problem, has_steps)

    def steps(self, pid: int, pool: SandboxPool) -> int | None:
        """Program ``pid``'s steps on the timing instances: archived, or run once."""
        if self.has_steps:
            row = self.db.execute("SELECT steps FROM evaluations WHERE program_id = ? "
                                  "AND split = 'train'", (pid,)).fetchone()
            if row is not None and row[0] is not None:
                return int(row[0])
        code = self.db.execute("SELECT code FROM programs WHERE id = ?", (pid,)).fetchone()[0]
        result = self.gate.run(self.problem, code, pool, stop_at_limit=False)
        return result.outcome.total_steps if result.ok else None


def study(path: Path, min_children: int, pool: SandboxPool) -> None:
    replay = _Replay.open(path, pool)
    db = replay.db
    print(f"== {path}")
    statuses = dict(db.execute("SELECT status, count(*) FROM evaluations WHERE split = 'train' "
                               "GROUP BY status").fetchall())
    total = sum(statuses.values())
    print("   training evaluations: " + ", ".join(
        f"{k} {v} ({100 * v / total:.0f} %)" for k, v in sorted(statuses.items())))
    by_parent: dict[int, list[tuple[str, int | None]]] = {}
    query = CHILDREN.format(steps="e.steps" if replay.has_steps else "NULL")
    for pid, status, steps in db.execute(query):
        by_parent.setdefault(pid, []).append((status, steps))
    loads: list[tuple[float, int, int]] = []  # (load, children, too slow)
    ratios: list[float] = []
    for pid, children in sorted(by_parent.items()):
        if len(children) < min_children:
            continue
        steps = replay.steps(pid, pool)
        if steps is None:
            continue
        slow = sum(status == "too_slow" for status, _ in children)
        loads.append((steps / replay.gate.limit, len(children), slow))
        ratios += [s / steps for status, s in children if s is not None and status == "ok"]
    print(f"   parents with >= {min_children} mutation children: {len(loads)}")
    for lo, hi in BANDS:
        band = [(n, s) for load, n, s in loads if lo <= load < hi]
        if band:
            n = sum(c for c, _ in band)
            print(f"   load {lo:.2f}-{min(hi, 1.0):.2f}: {len(band):3d} parents, {n:4d} children, "
                  f"{100 * sum(s for _, s in band) / n:3.0f} % too slow")
    if ratios:
        q = np.percentile(ratios, [10, 50, 90])
        print(f"   steps of accepted children / parent's: 10 % {q[0]:.2f}, median {q[1]:.2f}, "
              f"90 % {q[2]:.2f} ({len(ratios)} children)")


def lineage(path: Path, pid: int, pool: SandboxPool) -> None:
    """Print ``pid`` and its ancestors (first parent first): score, load, idea."""
    replay = _Replay.open(path, pool)
    db = replay.db
    current: int | None = pid
    while current is not None:
        row = db.execute("SELECT idea FROM programs WHERE id = ?", (current,)).fetchone()
        if row is None:
            sys.exit(f"{path}: no program {current}")
        score = db.execute("SELECT score FROM evaluations WHERE program_id = ? "
                           "AND split = 'train'", (current,)).fetchone()
        steps = replay.steps(current, pool)
        shown = "-" if score is None or score[0] is None else f"{score[0]:.3f}"
        load = "-" if steps is None else f"{steps / replay.gate.limit:.3f}"
        print(f"   #{current}: train {shown}, load {load}, {(row[0] or '')[:100]}")
        parent = db.execute(
            "SELECT parent_id FROM lineage_edges WHERE child_id = ? ORDER BY "
            "role = 'mutation' DESC, role = 'crossover' DESC, parent_id LIMIT 1",
            (current,)).fetchone()
        current = None if parent is None else int(parent[0])


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archives", nargs="+", type=Path, help="SQLite archives of SMTT runs")
    parser.add_argument("--min-children", type=int, default=4,
                        help="only parents with at least this many mutation children")
    parser.add_argument("--lineage", type=int, metavar="PID",
                        help="print this program's ancestors with their loads instead")
    args = parser.parse_args(argv)
    missing = [str(p) for p in args.archives if not p.is_file()]
    if missing:
        parser.error(f"no such archive: {', '.join(missing)}")
    pool = SandboxPool(workers=2)
    try:
        for path in args.archives:
            if args.lineage is not None:
                lineage(path, args.lineage, pool)
            else:
                study(path, args.min_children, pool)
    finally:
        pool.close()


if __name__ == "__main__":
    main()
