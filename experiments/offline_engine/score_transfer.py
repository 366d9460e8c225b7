"""Which training score ranks good SMTT programs as larger instances do?

For each archive (a finished ``discover run --problem smtt``), the ``--top`` best training
programs with distinct probe behaviour are scored once in the sandbox on three sets:
``smtt:n100`` (the paper's file) and two generated sets used by this study only
(n = 100, 5 per class, and n = 200, 2 per class, seed 777, optima from the exact
solver, cached in ``--cache``). Each candidate score is recomputed from the archived
per-instance training results, and the script prints, per score, the Spearman
correlation with the gap on each set (per archive and averaged over them) and the gap
of the program each score would put first.

Scores compared: ``mix`` as archived (for runs made with it), the n = 20 mean gap alone,
``ratio`` (aggregate gap per size, averaged), ``balanced`` (mean of ``ratio`` and the
per-size mean gaps averaged over sizes; see ``discover.search.cascade.training_score``).
docs/offline-engine.md (*Why ``balanced``*) reports the figures for five archives.

Example::

    python experiments/offline_engine/score_transfer.py run1.sqlite run2.sqlite --top 40
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import spearmanr

from discover.search.cascade import TrainingSet, score_from
from evaluators.registry import get_problem
from evaluators.smtt.exact import solve
from evaluators.smtt.generate import generate_classes
from sandbox import SandboxPool, evaluate

SMALLEST = 20
"""The most numerous training size of the SMTT defaults (400 of 480 instances)."""
STUDY = ((100, 5), (200, 2))
STUDY_SEED = 777
Row = dict[str, Any]
SCORES = ("archived score", "n = 20 mean gap", "ratio", "balanced")


def _scores(per_instance: list[dict[str, Any]]) -> dict[str, float]:
    """The candidate scores of one program, from its archived per-instance training results.

    ``ratio`` and ``balanced`` are the product's own (:func:`score_from`), on the training
    set rebuilt from the archive: each instance's reference is its objective over one plus
    its gap (0 where the gap is undefined, an optimum of 0), its group its size.
    """
    sizes = [int(r["i"].split("-")[1][1:]) for r in per_instance]  # "gen-n20-..." -> 20
    references = tuple(r["o"] / (1 + r["g"] / 100) if r.get("g") is not None else 0.0
                       for r in per_instance)
    training = TrainingSet(tuple(per_instance), references, 1, tuple(sizes))
    objectives: list[float | None] = [float(r["o"]) for r in per_instance]
    gaps = [r["g"] for r in per_instance if r.get("g") is not None]
    small = [r["g"] for r, n in zip(per_instance, sizes, strict=True)
             if n == SMALLEST and r.get("g") is not None]
    pooled = float(np.mean(gaps)) if gaps else 0.0
    return {"n = 20 mean gap": float(np.mean(small)) if small else 0.0,
            **{mode: score_from(pooled, objectives, training, mode)
               for mode in ("ratio", "balanced")}}


def _study_sets(cache: Path) -> dict[str, tuple[list[Any], list[float]]]:
    problem = get_problem("smtt")
    n100 = problem.load("smtt:n100")
    sets = {"n100.json": (n100, [float(i.optimum) for i in n100])}
    for n, per_class in STUDY:
        insts = generate_classes(n, per_class, np.random.default_rng([STUDY_SEED, n]))
        path = cache / f"study_optima_n{n}.json"
        if path.exists():
            optima = [float(v) for v in json.loads(path.read_text())]
        else:
            optima = [float(solve(i, "exact").objective) for i in insts]
            cache.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(optima))
        sets[f"generated n={n}"] = (insts, optima)
    return sets


def _rows(archives: list[str], top: int, cache: Path) -> list[Row]:
    problem = get_problem("smtt")
    sets = _study_sets(cache)
    scored_path = cache / "study_scores.json"
    scored: dict[str, dict[str, float]] = (json.loads(scored_path.read_text())
                                           if scored_path.exists() else {})
    rows: list[Row] = []
    pool = SandboxPool(workers=2)
    try:
        for archive in archives:
            db = sqlite3.connect(archive)
            query = db.execute(
                "select p.id, p.code, e.score, e.per_instance, p.behaviour_hash "
                "from evaluations e join programs p on p.id = e.program_id "
                "where e.split = 'train' and e.status = 'ok' order by e.score, p.id")
            seen: set[str] = set()
            for pid, code, score, per_instance, behaviour in query:
                if behaviour in seen:
                    continue
                seen.add(behaviour)
                if len(seen) > top:
                    break
                key = f"{Path(archive).resolve()}:{pid}"
                if key not in scored:
                    scored[key] = {}
                    for name, (insts, refs) in sets.items():
                        gap = evaluate(problem, insts, code, pool, 600.0, references=refs,
                                       check=False).mean_gap
                        scored[key][name] = float("nan") if gap is None else gap
                    scored_path.write_text(json.dumps(scored))
                rows.append({"archive": archive, "pid": pid, "archived score": score,
                             **_scores(json.loads(per_instance)), **scored[key]})
    finally:
        pool.close()
    return rows


def report(rows: list[Row], targets: list[str]) -> None:
    """Print, per target set and score, the Spearman correlations and the first pick's gap."""
    archives = sorted({r["archive"] for r in rows})
    for target in targets:
        print(f"== gap on {target}: Spearman rho per archive (mean) | gap of the first pick")
        for name in SCORES:
            rhos, picks = [], []
            for archive in archives:
                group = [r for r in rows if r["archive"] == archive]
                rhos.append(spearmanr([r[name] for r in group],
                                      [r[target] for r in group]).statistic)
                picks.append(min(group, key=lambda r: r[name])[target])
            print(f"  {name:16s} " + " ".join(f"{x:+.2f}" for x in rhos)
                  + f" ({np.mean(rhos):+.2f}) | " + " ".join(f"{x:.3f}" for x in picks))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archives", nargs="+", help="SQLite files of finished smtt runs")
    parser.add_argument("--top", type=int, default=40,
                        help="best training programs (distinct behaviour) per archive")
    parser.add_argument("--cache", type=Path, default=Path("score-transfer-cache"),
                        help="folder for the study sets' optima and the programs' gaps")
    args = parser.parse_args(argv)
    rows = _rows(args.archives, args.top, args.cache)
    report(rows, ["n100.json", *(f"generated n={n}" for n, _ in STUDY)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
