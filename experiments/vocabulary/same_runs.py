"""Issue 17 acceptance: a refactoring that must not change behaviour leaves runs unchanged.

Runs ``discover run --problem smtt --model offline --budget B --seed S`` for each
seed with two source trees (``--before``: the branch base, e.g. a ``git worktree
add`` of it; ``--after``: this checkout) and compares the two archives program by
program: the normalised code hash, the operator, the duplicate link and the
training score of every program in record order, and the evaluation status —
with ``timeout`` archived *for a too-slow candidate* by the old code counted as
the new ``too_slow`` (the one intended difference). Reads the SQLite files with
:mod:`sqlite3` so that neither tree's archive code is trusted to compare.

Usage::

    python experiments/vocabulary/same_runs.py --before /tmp/base --after . \
        --out /tmp/same_runs --seeds 1 2 3 --budget 300
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path


def run(tree: Path, archive: Path, seed: int, budget: int, workers: int,
        config: Path | None = None) -> float:
    """One offline run of ``tree``'s code into ``archive``; returns wall seconds."""
    if archive.exists():
        return 0.0
    env = {**os.environ, "PYTHONPATH": str(tree)}
    for key in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        env.pop(key, None)
    start = time.monotonic()
    cmd = [sys.executable, "-c", "from discover.cli import main; main()", "run",
           "--problem", "smtt", "--model", "offline", "--budget", str(budget),
           "--seed", str(seed), "--workers", str(workers), "--progress", "quiet",
           "--archive", f"sqlite:///{archive}"]
    if config is not None:
        cmd += ["--config", str(config)]
    done = subprocess.run(cmd, env=env, cwd=tree, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree} seed {seed} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return time.monotonic() - start


def programs(archive: Path) -> list[tuple[object, ...]]:
    """Every program in record order, then the validation scores and the run's status.

    Programs are (code_hash, operator, generation, duplicate index, train status,
    train score); validations (program index, status, score) in program order.
    """
    con = sqlite3.connect(archive)
    validations = con.execute(
        "SELECT e.program_id - (SELECT MIN(id) FROM programs), e.status, ROUND(e.score, 12)"
        " FROM evaluations e WHERE e.split = 'validation' ORDER BY e.program_id").fetchall()
    run = con.execute("SELECT status, budget FROM runs").fetchall()
    rows = con.execute(
        "SELECT p.id, p.code_hash, p.operator, p.generation, p.duplicate_of, e.status, e.score,"
        " e.error FROM programs p LEFT JOIN evaluations e"
        " ON e.program_id = p.id AND e.split = 'train' ORDER BY p.id").fetchall()
    con.close()
    first = rows[0][0] if rows else 0
    out = []
    for _pid, code_hash, op, gen, dup, status, score, error in rows:
        if status == "timeout" and (error or "").startswith("too slow:"):
            status = "too_slow"  # the old code archived a too-slow candidate as timeout
        out.append((code_hash, op, gen, None if dup is None else dup - first, status,
                    None if score is None else round(score, 12)))
    out.extend(("validation", *v) for v in validations)
    out.extend(("run", *r) for r in run)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True)
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parents[2])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--budget", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--only", choices=["before", "after"], help="run one side only")
    parser.add_argument("--config", type=Path, help="a run config (TOML) both sides use, e.g. "
                        "one that switches the CPU-timed runtime gate off (timing_n = 0)")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    report: dict[str, object] = {}
    same_all = True
    for seed in args.seeds:
        paths = {side: args.out / f"{side}-seed{seed}.sqlite" for side in ("before", "after")}
        seconds = {}
        for side in ("before", "after"):
            if args.only in (None, side):
                tree = args.before if side == "before" else args.after
                seconds[side] = run(tree.resolve(), paths[side], seed, args.budget, args.workers,
                                    None if args.config is None else args.config.resolve())
        if args.only is not None:
            continue
        before, after = programs(paths["before"]), programs(paths["after"])
        diff = [i for i, (b, a) in enumerate(zip(before, after, strict=False)) if b != a]
        same = not diff and len(before) == len(after)
        same_all &= same
        report[f"seed {seed}"] = {
            "programs": [len(before), len(after)], "same": same, "first differences": diff[:5],
            "scored": sum(1 for p in after if p[0] != "validation" and p[0] != "run"
                          and p[5] is not None),
            "validated": sum(1 for p in after if p[0] == "validation"),
            "statuses": sorted({str(p[4]) for p in after if p[0] not in ("validation", "run")}),
            "seconds": seconds}
        if diff:
            i = diff[0]
            report[f"seed {seed}"]["example"] = {"before": before[i], "after": after[i]}  # type: ignore[index]
    print(json.dumps(report, indent=2, default=str))
    if args.only is None and not same_all:
        raise SystemExit("the archives differ")


if __name__ == "__main__":
    main()
