"""Which selection rule would have exported which winner: an offline study of SMTT archives.

For each archive (a finished ``discover run --problem smtt`` with the selection
split) the study takes every program that was among the ``--top`` best training
programs at one of the run's validation checkpoints (every ``validate_every``
training evaluations, and the end) plus every validated program, and scores each
once in the sandbox on instance sets, keeping the per-instance objectives in
``--scores`` (JSON, resumable):

``sel3``
    the run's selection split, rebuilt as the runner does (n = 200, 3 per
    (RDD, TF) class, seed 54321);
``sel10``
    the same generator with 10 per class (200 instances);
``add100``, ``add100h``
    n = 100, 10 (5) per class, seed [54321, 100] (an added smaller-size family);
``n100``
    the paper's ``smtt:n100`` (the validation split: picks the exported winner);
``fresh20``, ``fresh100``, ``fresh200`` (``fresh500`` with ``--fresh500``)
    issue 16's acceptance instances (``acceptance_16.fresh``), optima from
    ``--fresh-cache``. Only the winners some rule picks are scored on them.

The optima of the generated selection sets are solved with the exact B&B and cached in
``--optima`` (JSON), with the seconds each took: the extra reference cost of a rule (the
first solve of a process includes the B&B's compilation, about 8 s).

Then each candidate selection rule is replayed on each archive the way the runner
validates: at every checkpoint the ``--top`` training leaders are ranked by their
aggregate ratio on the rule's split, the best eligible one is validated; at the end
the 5 best eligible are; the exported winner is the validated program with the lowest
``n100`` mean gap. The checkpoints are taken in program-id order of the archived training
evaluations; with the runs' own rule the replay validates exactly the programs the three
issue-16 runs validated. For each rule (``RULES``; ``--rules`` picks some) and archive the
script prints the winner, its figures on the rule's split, its ``n100`` gap and its fresh
figures (mean gap / ΣH/ΣOPT, wins/losses against MDD) against MDDC's; MISS when one of
issue 16's fresh criteria (gap and ratio below MDDC's, more wins than losses) fails.

Example::

    python experiments/offline_engine/selection_study.py run1.sqlite run2.sqlite \\
        --fresh-cache /tmp/acc16-cache --optima /tmp/sel-optima.json \\
        --scores /tmp/sel-scores.json --fresh500
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import GeneratorSpec
from evaluators.registry import get_problem
from evaluators.smtt.exact import solve
from evaluators.smtt.instance import SmttInstance
from sandbox import SandboxPool, evaluate

sys.path.insert(0, str(Path(__file__).resolve().parent))
import acceptance_16 as acc

PROBLEM = get_problem("smtt")
SELECTION_SEED = 54_321
TOP = 20
VALIDATE_EVERY = 200
VALIDATE_TOP = 5
SELECTION_SETS = ("sel3", "sel10", "add100", "add100h")


def generated(n: int, per_class: int, seed: Any) -> list[SmttInstance]:
    """Instances as :func:`discover.splits.datasets.selection_set` draws them."""
    return PROBLEM.generate(GeneratorSpec(n=n, count=per_class, params={}),
                            np.random.default_rng(seed))


def exact_optima(instances: Sequence[SmttInstance], path: Path) -> list[float]:
    """Exact optima by fingerprint, cached in ``path`` with the seconds each took."""
    cache: dict[str, list[float]] = json.loads(path.read_text()) if path.exists() else {}
    fresh = 0
    for inst in instances:
        if inst.fingerprint not in cache:
            start = time.perf_counter()
            ref = solve(inst, "exact")
            if ref.status.value != "optimal":
                raise RuntimeError(f"{inst.name}: {ref.status.value}")
            cache[inst.fingerprint] = [float(ref.objective), time.perf_counter() - start]
            fresh += 1
    if fresh:
        path.write_text(json.dumps(cache))
    return [cache[i.fingerprint][0] for i in instances]


def instance_sets(optima_path: Path, fresh_cache: Path, fresh500: bool
                  ) -> dict[str, tuple[list[SmttInstance], list[float]]]:
    """Every instance set of the study with its optima."""
    sets: dict[str, tuple[list[SmttInstance], list[float]]] = {}
    for name, insts in (("sel3", generated(200, 3, SELECTION_SEED)),
                        ("sel10", generated(200, 10, SELECTION_SEED)),
                        ("add100", generated(100, 10, [SELECTION_SEED, 100])),
                        ("add100h", generated(100, 5, [SELECTION_SEED, 100]))):
        sets[name] = (insts, exact_optima(insts, optima_path))
    bench = PROBLEM.load("smtt:n100")
    sets["n100"] = (bench, [float(PROBLEM.stored_reference(i) or 0.0) for i in bench])
    for n in (20, 100, 200, 500) if fresh500 else (20, 100, 200):
        sets[f"fresh{n}"] = (acc.fresh(n), acc.optima(n, fresh_cache))
    return sets


def checkpoints(db: Path, top: int) -> tuple[list[list[int]], dict[int, float], set[int]]:
    """Training leaders at each validation checkpoint, train scores, validated ids."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("select program_id, score from evaluations where split='train' "
                       "order by program_id").fetchall()
    validated = {r[0] for r in con.execute(
        "select program_id from evaluations where split='validation'")}
    con.close()
    scores: dict[int, float] = {}
    leaders: list[list[int]] = []
    for k, (pid, score) in enumerate(rows, 1):
        if score is not None:
            scores[pid] = float(score)
        if k % VALIDATE_EVERY == 0 or k == len(rows):
            ranked = sorted(scores.items(), key=lambda kv: (kv[1], kv[0]))
            leaders.append([p for p, _ in ranked[:top]])
    return leaders, scores, validated


def code_of(db: Path, pid: int) -> str:
    """A program's source."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    code = con.execute("select code from programs where id=?", (pid,)).fetchone()[0]
    con.close()
    return str(code)


def score(code: str, instances: list[SmttInstance], opt: list[float], pool: SandboxPool
          ) -> list[float] | None:
    """Per-instance objectives in the sandbox (None when the program fails)."""
    result = evaluate(PROBLEM, instances, code, pool, 3600.0, references=opt)
    if not result.ok:
        return None
    return [float(s.objective or 0.0) for s in result.scores]


def rule_values(rule: str, instances: list[SmttInstance]) -> list[float]:
    """A classic rule's objectives (trusted, in-process)."""
    h = PROBLEM.heuristics[rule]
    return [float(PROBLEM.objective(i, h(i))) for i in instances]


# --- figures and rules -------------------------------------------------------------------

def gaps(values: Sequence[float], opt: Sequence[float]) -> np.ndarray:
    """Per-instance relative gaps in %, NaN where the optimum is 0 (the product's
    :func:`evaluators.base.relative_gap` and acceptance_16 leave those out)."""
    return np.array([100 * (h - o) / o if o > 0 else np.nan
                     for h, o in zip(values, opt, strict=True)])


def groups(instances: Sequence[SmttInstance], key: str) -> list[Any]:
    """Each instance's group: its class ``(rdd, tf)``, its ``tf`` or ``rdd``."""
    if key == "class":
        return [(i.rdd, i.tf) for i in instances]
    return [getattr(i, key) for i in instances]


def group_excess(h: np.ndarray, m: np.ndarray, labels: Sequence[Any]) -> float:
    """Largest mean-gap excess (points) of ``h`` over ``m`` within one group."""
    out = -np.inf
    for g in set(labels):
        idx = [k for k, lab in enumerate(labels) if lab == g and not np.isnan(h[k])]
        if idx:
            out = max(out, float(h[idx].mean() - m[idx].mean()))
    return out


Rule = Callable[[dict[str, Any]], bool]


def bar(f: dict[str, Any]) -> bool:
    """The current bar: mean gap and ratio no worse than MDD's."""
    return bool(f["gap"] <= f["mdd_gap"] and f["ratio"] <= f["mdd_ratio"])


def tail(f: dict[str, Any]) -> bool:
    """No more instances much worse than MDD (gap above MDD's by > 10 points) than much better."""
    return bool(f["bad"] <= f["good"])


RULES: dict[str, tuple[str, str, Rule]] = {
    "current (sel3 bar)": ("sel3", "sel3", bar),
    "sel10 bar": ("sel10", "sel10", bar),
    "sel3+add100 bar": ("sel3+add100", "sel3+add100", bar),
    "sel3+add100h bar": ("sel3+add100h", "sel3+add100h", bar),
    "sel3 bar + per-TF": ("sel3", "sel3", lambda f: bar(f) and f["tf_excess"] <= 0),
    "sel10 bar + per-TF": ("sel10", "sel10", lambda f: bar(f) and f["tf_excess"] <= 0),
    "sel3 bar + per-class<=1pt": ("sel3", "sel3", lambda f: bar(f) and f["class_excess"] <= 1.0),
    "sel10 bar + per-class<=1pt": ("sel10", "sel10",
                                   lambda f: bar(f) and f["class_excess"] <= 1.0),
    "sel3 bar + tail": ("sel3", "sel3", lambda f: bar(f) and tail(f)),
    "sel10 bar + tail": ("sel10", "sel10", lambda f: bar(f) and tail(f)),
    "sel3+add100 bar + per-TF": ("sel3+add100", "sel3+add100",
                                 lambda f: bar(f) and f["tf_excess"] <= 0),
    "sel3+add100 bar + tail": ("sel3+add100", "sel3+add100", lambda f: bar(f) and tail(f)),
    "sel3+add100 bar + per-class<=1pt": ("sel3+add100", "sel3+add100",
                                         lambda f: bar(f) and f["class_excess"] <= 1.0),
    "rank sel3, check sel10 bar + tail": ("sel3", "sel10", lambda f: bar(f) and tail(f)),
    "rank sel3, check sel10 bar + per-TF": ("sel3", "sel10",
                                            lambda f: bar(f) and f["tf_excess"] <= 0),
    "rank sel3, check sel10 bar": ("sel3", "sel10", bar),
    "rank sel3, check sel10 bar + tail5": ("sel3", "sel10",
                                           lambda f: bar(f) and f["bad5"] <= f["good5"]),
    "rank sel3, check sel10 bar + tail20": ("sel3", "sel10",
                                            lambda f: bar(f) and f["bad20"] <= f["good20"]),
    "rank sel3, check sel10 bar + per-class<=1pt": ("sel3", "sel10",
                                                    lambda f: bar(f)
                                                    and f["class_excess"] <= 1.0),
    "rank sel3, check add100 bar + tail": ("sel3", "add100", lambda f: bar(f) and tail(f)),
}
"""Rule name → (split that ranks, split that decides eligibility, eligibility). With two
splits a program must also pass :func:`bar` on the ranking split. ``bad``: instances
where the program's gap exceeds MDD's by more than 10 points; ``good``: the reverse."""


def split_figures(values: Sequence[float], mdd: Sequence[float], opt: Sequence[float],
                  instances: Sequence[SmttInstance]) -> dict[str, Any]:
    """Everything a rule looks at on one split."""
    h, m = gaps(values, opt), gaps(mdd, opt)
    return {"gap": float(np.nanmean(h)), "ratio": sum(values) / sum(opt),
            "mdd_gap": float(np.nanmean(m)), "mdd_ratio": sum(mdd) / sum(opt),
            "tf_excess": group_excess(h, m, groups(instances, "tf")),
            "class_excess": group_excess(h, m, groups(instances, "class")),
            "bad": int(np.nansum(h - m > 10)), "good": int(np.nansum(m - h > 10)),
            **{f"bad{t}": int(np.nansum(h - m > t)) for t in (5, 20)},
            **{f"good{t}": int(np.nansum(m - h > t)) for t in (5, 20)}}


# --- the study -----------------------------------------------------------------------------

def load_scores(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text()) if path.exists() else {}


def ensure(store: dict[str, Any], path: Path, db: Path, pid: int, name: str,
           sets: dict[str, tuple[list[SmttInstance], list[float]]], pool: SandboxPool) -> Any:
    """The program's per-instance objectives on set ``name`` (scored once, saved)."""
    key = f"{db.name}:{pid}"
    entry = store.setdefault(key, {})
    if name not in entry:
        insts, opt = sets[name]
        entry[name] = score(code_of(db, pid), insts, opt, pool)
        path.write_text(json.dumps(store))
    return entry[name]


def combined(store_entry: dict[str, Any], split: str) -> list[float] | None:
    parts = [store_entry.get(p) for p in split.split("+")]
    if any(p is None for p in parts):
        return None
    return [v for p in parts for v in p]


def replay(rank_split: str, check_split: str, rule: Rule, leaders: list[list[int]],
           scores: dict[int, float], entry: Callable[[int], dict[str, Any]],
           ref: dict[str, Any]) -> tuple[list[int], dict]:
    """Validated programs under a rule (the runner's order), and each one's figures
    (``rank`` and ``check`` split)."""
    def figures(split: str) -> dict[int, dict[str, Any] | None]:
        insts = [i for p in split.split("+") for i in ref[p][0]]
        opt = [o for p in split.split("+") for o in ref[p][1]]
        mdd = [v for p in split.split("+") for v in ref[p][2]]
        out: dict[int, dict[str, Any] | None] = {}
        for pid in {p for top in leaders for p in top}:
            values = combined(entry(pid), split)
            out[pid] = None if values is None else split_figures(values, mdd, opt, insts)
        return out

    rank, check = figures(rank_split), figures(check_split)

    def eligible(p: int) -> bool:
        f, c = rank[p], check[p]
        return f is not None and c is not None and bar(f) and rule(c)

    validated: list[int] = []
    for k, top in enumerate(leaders):
        ranked = sorted((p for p in top if rank[p] is not None),
                        key=lambda p: (rank[p]["ratio"], rank[p]["gap"], scores[p], p))
        picks = [p for p in ranked if eligible(p)]
        if not picks and not validated:
            picks = ranked[:1]
        for p in picks[: VALIDATE_TOP if k == len(leaders) - 1 else 1]:
            if p not in validated:
                validated.append(p)
    return validated, check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archives", type=Path, nargs="+", help="SQLite archive files (run 1)")
    parser.add_argument("--fresh-cache", type=Path, required=True,
                        help="acceptance_16's cache of fresh optima")
    parser.add_argument("--optima", type=Path, required=True,
                        help="JSON cache of the generated sets' optima")
    parser.add_argument("--scores", type=Path, required=True,
                        help="JSON store of per-instance objectives")
    parser.add_argument("--top", type=int, default=TOP)
    parser.add_argument("--fresh500", action="store_true", help="also score winners at n = 500")
    parser.add_argument("--rules", nargs="*", help="only these rule names")
    parser.add_argument("--verbose", action="store_true", help="every validated program")
    args = parser.parse_args(argv)
    sets = instance_sets(args.optima, args.fresh_cache, args.fresh500)
    cost = json.loads(args.optima.read_text())
    for name in SELECTION_SETS:
        secs = [cost[i.fingerprint][1] for i in sets[name][0]]
        print(f"{name}: {len(secs)} instances, B&B {sum(secs):.1f} s "
              f"(max {max(secs):.2f} s)")
    ref = {name: (insts, opt, rule_values("mdd", insts)) for name, (insts, opt) in sets.items()}
    mddc = {name: rule_values("mddc", insts) for name, (insts, _) in sets.items()}
    store = load_scores(args.scores)
    rules = {k: v for k, v in RULES.items() if not args.rules or k in args.rules}
    with SandboxPool(workers=1, isolation="auto") as pool:
        for db in args.archives:
            leaders, train, validated = checkpoints(db, args.top)
            pool_ids = sorted({p for top in leaders for p in top} | validated)
            start = time.monotonic()
            for pid in pool_ids:
                for name in SELECTION_SETS:
                    ensure(store, args.scores, db, pid, name, sets, pool)
            print(f"\n== {db.name}: {len(pool_ids)} programs scored on the selection sets "
                  f"({time.monotonic() - start:.0f} s)")

            def entry(pid: int, db: Path = db) -> dict[str, Any]:
                return store[f"{db.name}:{pid}"]

            for rname, (rank_split, split, rule) in rules.items():
                chosen, figs = replay(rank_split, split, rule, leaders, train, entry, ref)
                n100 = {p: ensure(store, args.scores, db, p, "n100", sets, pool)
                        for p in chosen}
                ok = [p for p in chosen if n100[p] is not None]
                win = min(ok, key=lambda p: (float(np.nanmean(gaps(n100[p], sets["n100"][1]))), p))
                f = figs[win]
                line = (f"{rname:28s} #{win:<5d} {split}: gap {f['gap']:.3f} ratio "
                        f"{f['ratio']:.4f} (MDD {f['mdd_gap']:.3f} {f['mdd_ratio']:.4f}) "
                        f"tf+ {f['tf_excess']:.2f} cls+ {f['class_excess']:.2f} "
                        f"bad/good {f['bad']}/{f['good']} | n100 "
                        f"{float(np.nanmean(gaps(n100[win], sets['n100'][1]))):.3f}")
                for name in (s for s in sets if s.startswith("fresh")):
                    values = ensure(store, args.scores, db, win, name, sets, pool)
                    opt = sets[name][1]
                    g, r = float(np.nanmean(gaps(values, opt))), sum(values) / sum(opt)
                    cg = float(np.nanmean(gaps(mddc[name], opt)))
                    cr = sum(mddc[name]) / sum(opt)
                    w = sum(a < b for a, b in zip(values, ref[name][2], strict=True))
                    losses = sum(a > b for a, b in zip(values, ref[name][2], strict=True))
                    good = g < cg and r < cr and w > losses
                    line += (f" | {name[5:]}: {g:.3f}/{r:.4f} vs {cg:.3f}/{cr:.4f} "
                             f"{w}/{losses}{'' if good else ' MISS'}")
                print(line + f" | validated {chosen}", flush=True)
                if args.verbose:
                    for p in chosen:
                        g = float(np.nanmean(gaps(n100[p], sets["n100"][1]))) \
                            if n100[p] is not None else float("nan")
                        print(f"    #{p}: n100 {g:.3f} {figs[p]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
