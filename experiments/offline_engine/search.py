"""Development harness for the offline engine: a small evolutionary loop, in process.

NOT the product path. ``discover run`` evaluates candidates in the sandbox and
archives everything; this script exists to develop and tune
:class:`discover.offline.OfflineEngine` and :class:`discover.search.population.Population`
before the loop is wired. It executes candidate code with ``exec`` in this very
process — acceptable only because every candidate here is produced by the
engine from the problem's seed programs (trusted code), never by a model.

What it does, per search seed:

1. draws the training set — ``generate_classes(20, per_class, rng)`` with a fixed
   instance seed — and its optima by the Held–Karp DP (cached under ``out/``);
2. registers the seed programs (EDD, SPT, MDD) on every island, then repeats:
   choose an island, an operator, parents; propose; skip duplicates by normalised
   AST hash and by behaviour fingerprint on probe instances (two per class);
   stop children far worse than their parent on the probe set (a score cascade);
   evaluate the rest on the training set; register — until ``--budget``
   evaluations (every distinct program executed counts, probe-rejected or not);
3. scores the best training program on ``n100.json`` (stored optima) and
   optionally ``n200.json``: mean gap over OPT > 0, aggregate ratio ΣH/ΣOPT,
   wins/losses against MDD, runtime relative to MDD.

Score = mean training gap (%) + a runtime penalty: a candidate slower than
``--runtime-cap`` × MDD (same instances, same process) pays
``--runtime-penalty`` points per unit of excess ratio.

Example::

    python experiments/offline_engine/search.py --seeds 1 2 3 --budget 2000
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from discover.offline import EngineError, OfflineEngine, Operator, ParentInfo
from discover.offline.rewrite import node_count
from discover.search.duplicates import behaviour_fingerprint, normalized_hash
from discover.search.population import Member, Population, PopulationConfig
from evaluators.bundled import bundled_file
from evaluators.smtt.exact import solve
from evaluators.smtt.generate import generate_classes
from evaluators.smtt.heuristics import HEURISTICS
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.loaders import load_instances
from evaluators.smtt.objective import total_tardiness
from evaluators.smtt.problem import SEED_PROGRAMS, SmttProblem

ROOT = Path(__file__).resolve().parents[2]
N100, N200 = bundled_file("smtt:n100"), bundled_file("smtt:n200")
OUT = Path(__file__).resolve().parent / "out"

OPERATOR_WEIGHTS = {Operator.NEW_IDEA: 0.15, Operator.CROSSOVER: 0.2, Operator.MODIFY: 0.3,
                    Operator.TUNE: 0.3, Operator.SIMPLIFY: 0.05}


@dataclass(frozen=True)
class Result:
    """Outcome of running a program on a set of instances."""

    ok: bool
    values: tuple[float, ...]
    seconds: float
    error: str = ""


def training_set(per_class: int, seed: int, n: int = 20) -> tuple[list[SmttInstance], list[float]]:
    """Generated instances and their optima (DP up to 22 jobs, else B&B), cached as JSON."""
    return _solved_set("train" if n <= 22 else "select", n, per_class, seed)


def selection_set(n: int, per_class: int, seed: int) -> tuple[list[SmttInstance], list[float]]:
    """Generated instances of another size with exact optima (B&B), cached."""
    return _solved_set("select", n, per_class, seed)


def _solved_set(prefix: str, n: int, per_class: int, seed: int
                ) -> tuple[list[SmttInstance], list[float]]:
    OUT.mkdir(exist_ok=True)
    path = OUT / f"{prefix}_n{n}_pc{per_class}_s{seed}.json"
    instances = generate_classes(n, per_class, np.random.default_rng(seed))
    if path.exists():
        cached = json.loads(path.read_text())
        if cached["fingerprints"] == [i.fingerprint for i in instances]:
            return instances, cached["optima"]
    method = "dp" if prefix == "train" else "exact"
    optima = [solve(inst, method).objective for inst in instances]
    path.write_text(json.dumps({"fingerprints": [i.fingerprint for i in instances],
                                "optima": optima}))
    return instances, optima


def reselect(members: list[Member], instances: list[SmttInstance],
             optima: list[float]) -> tuple[Member, float]:
    """The member with the lowest mean gap on a selection split (not the test files)."""
    scored = []
    for m in members:
        result = run_program(m.code, instances)
        if result.ok:
            scored.append((gaps(result.values, optima)[0], m.score, m.program_id, m))
    gap, _, _, best = min(scored, key=lambda row: row[:3])
    return best, gap


def run_program(code: str, instances: list[SmttInstance]) -> Result:
    """Exec ``code`` (trusted, see module docstring) and run it on every instance."""
    namespace: dict[str, object] = {}
    try:
        exec(compile(code, "<candidate>", "exec"), namespace)
        fn = namespace["schedule"]
        values = []
        start = time.perf_counter()
        for inst in instances:
            order = fn(list(inst.processing_times), list(inst.due_dates))  # type: ignore[operator]
            if sorted(order) != list(range(inst.size)):
                return Result(False, (), 0.0, "not a permutation")
            values.append(float(total_tardiness(inst, order)))
        return Result(True, tuple(values), time.perf_counter() - start)
    except Exception as exc:  # a broken candidate is an outcome, not a crash
        return Result(False, (), 0.0, type(exc).__name__)


def gaps(values: tuple[float, ...], optima: list[float]) -> tuple[float, tuple[float, ...]]:
    """Mean gap (%) over OPT > 0 and the per-instance signature (gap, or H when OPT = 0)."""
    sig = tuple(100 * (h - o) / o if o > 0 else h for h, o in zip(values, optima, strict=True))
    positive = [s for s, o in zip(sig, optima, strict=True) if o > 0]
    return float(np.mean(positive)), sig


def baseline_runtime(instances: list[SmttInstance]) -> float:
    """Median seconds of the MDD seed program on ``instances``."""
    return float(np.median([run_program(SEED_PROGRAMS["mdd"], instances).seconds
                            for _ in range(5)]))


def search(seed: int, args: argparse.Namespace, train: list[SmttInstance],
           optima: list[float]) -> dict[str, object]:
    """One evolutionary run; returns the best program and counters."""
    rng = np.random.default_rng(seed)
    engine = OfflineEngine(SmttProblem.candidate_spec, rng)
    population = Population(PopulationConfig(num_islands=args.islands,
                                             reset_period=args.reset_period), rng)
    # Instances are stored class by class: an even stride covers every class.
    stride = max(1, len(train) // (20 * args.probes_per_class))
    probe_idx = list(range(0, len(train), stride))
    probe = [train[i] for i in probe_idx]
    probe_opt = [optima[i] for i in probe_idx]

    def probe_score(values: tuple[float, ...] | list[float]) -> float:
        if args.score == "ratio":
            return 100 * (sum(values) / sum(probe_opt) - 1)
        return gaps(tuple(values), probe_opt)[0]

    def probe_gap_of(member: Member) -> float:
        sig = [member.signature[i] for i in probe_idx]
        values = [o * (1 + g / 100) if o > 0 else g for g, o in zip(sig, probe_opt, strict=True)]
        return probe_score(values)
    mdd_seconds = baseline_runtime(train)
    hashes: set[str] = set()
    fingerprints: set[str] = set()
    counts: Counter[str] = Counter()
    next_id = 0

    def evaluate(code: str, island: int | None) -> Member | None:
        nonlocal next_id
        result = run_program(code, train)
        if not result.ok:
            counts["failed:" + result.error] += 1
            return None
        mean_gap, signature = gaps(result.values, optima)
        if args.score == "ratio":
            # Aggregate gap 100·(ΣH/ΣOPT − 1): not dominated by tiny optima.
            mean_gap = 100 * (sum(result.values) / sum(optima) - 1)
        ratio = result.seconds / mdd_seconds
        score = mean_gap + args.runtime_penalty * max(0.0, ratio - args.runtime_cap)
        member = Member(next_id, code, score, signature, result.seconds,
                        node_count(ast.parse(code)), island)
        next_id += 1
        population.register(member)
        return member

    for name in ("edd", "spt", "mdd"):
        code = SEED_PROGRAMS[name]
        hashes.add(normalized_hash(code))
        fingerprints.add(behaviour_fingerprint(run_program(code, probe).values))
        evaluate(code, None)
    evaluations = 0
    proposals = 0
    started = time.perf_counter()
    ops = list(OPERATOR_WEIGHTS)
    weights = np.array(list(OPERATOR_WEIGHTS.values()))
    while evaluations < args.budget and proposals < 20 * args.budget:
        proposals += 1
        island = population.choose_island()
        op = ops[int(rng.choice(len(ops), p=weights / weights.sum()))]
        parents = population.sample_parents(island, 2 if op is Operator.CROSSOVER else 1)
        try:
            proposal = engine.propose(op, [ParentInfo(p.code, p.score) for p in parents])
        except EngineError:
            counts["engine_error"] += 1
            continue
        h = normalized_hash(proposal.code)
        if h in hashes:
            counts["dup_hash"] += 1
            continue
        hashes.add(h)
        probe_result = run_program(proposal.code, probe)
        fp = behaviour_fingerprint(list(probe_result.values) if probe_result.ok
                                   else [probe_result.error])
        kind = "+".join(sorted(set(proposal.mutations)))
        if fp in fingerprints:
            counts["dup_behaviour"] += 1
            counts[f"m_dup:{kind}"] += 1
            continue
        fingerprints.add(fp)
        evaluations += 1
        if not probe_result.ok:
            counts["failed:" + probe_result.error] += 1
            continue
        if args.probe_slack > 0:
            # Cascade: a child far worse than its best parent on the probe set stops here.
            limit = min(probe_gap_of(p) for p in parents) * (1 + args.probe_slack) \
                + args.probe_slack
            if probe_score(probe_result.values) > limit:
                counts["probe_rejected"] += 1
                continue
        member = evaluate(proposal.code, island)
        counts[f"op:{op.value}"] += 1
        counts[f"m_eval:{kind}"] += 1
        if member is not None and member.score < parents[0].score:
            counts[f"improved:{op.value}"] += 1
            counts[f"m_better:{kind}"] += 1
        if args.verbose and member is not None and member.program_id == \
                population.best(1)[0].program_id:
            print(f"  [{seed}] eval {evaluations}: {member.score:.4f} {proposal.idea}",
                  flush=True)
    best = population.best(1)[0]
    # The best distinct behaviours, for re-selection on another split.
    top: list[Member] = []
    signatures: set[tuple[float, ...]] = set()
    for m in population.best(len(population)):
        if m.signature not in signatures and len(top) < args.select_top:
            signatures.add(m.signature)
            top.append(m)
    if args.dump:
        args.dump.write_text(json.dumps([m.to_json() for m in population.members]))
    return {"seed": seed, "best": best, "top": top, "evaluations": evaluations,
            "proposals": proposals, "seconds": time.perf_counter() - started,
            "counts": dict(counts), "resets": population.resets}


def validate(code: str, path: Path) -> dict[str, float]:
    """Gap, aggregate ratio, wins/losses vs MDD and runtime ratio on a benchmark file."""
    instances = load_instances(path)
    opt = [float(i.optimum) for i in instances]  # type: ignore[arg-type]
    result = run_program(code, instances)
    if not result.ok:
        return {"error": 1.0}
    mdd = [float(total_tardiness(i, HEURISTICS["mdd"](i))) for i in instances]
    mddc = [float(total_tardiness(i, HEURISTICS["mddc"](i))) for i in instances]
    mdd_time = run_program(SEED_PROGRAMS["mdd"], instances).seconds

    def mean_gap(values: list[float] | tuple[float, ...]) -> float:
        return float(np.mean([100 * (h - o) / o for h, o in zip(values, opt, strict=True)
                              if o > 0]))

    return {"gap": mean_gap(result.values), "mdd_gap": mean_gap(mdd),
            "mddc_gap": mean_gap(mddc), "ratio": sum(result.values) / sum(opt),
            "mdd_ratio": sum(mdd) / sum(opt),
            "wins": sum(h < m for h, m in zip(result.values, mdd, strict=True)),
            "losses": sum(h > m for h, m in zip(result.values, mdd, strict=True)),
            "runtime_vs_mdd": result.seconds / mdd_time}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--budget", type=int, default=2000)
    parser.add_argument("--per-class", type=int, default=10, help="training instances per class")
    parser.add_argument("--train-n", type=int, default=20, help="jobs per training instance")
    parser.add_argument("--train-seed", type=int, default=20250)
    parser.add_argument("--probes-per-class", type=int, default=2)
    parser.add_argument("--probe-slack", type=float, default=0.5,
                        help="reject after the probe set if gap > parent·(1+s) + s (0: off)")
    parser.add_argument("--islands", type=int, default=4)
    parser.add_argument("--reset-period", type=int, default=400)
    parser.add_argument("--runtime-cap", type=float, default=4.0)
    parser.add_argument("--runtime-penalty", type=float, default=0.5)
    parser.add_argument("--extra-n", type=int, default=0,
                        help="also train on generated instances of this size (exact optima)")
    parser.add_argument("--extra-per-class", type=int, default=1)
    parser.add_argument("--select-n", type=int, default=0,
                        help="re-select the winner among the top programs on generated "
                             "instances of this size with exact optima (0: off)")
    parser.add_argument("--select-per-class", type=int, default=5)
    parser.add_argument("--select-top", type=int, default=20)
    parser.add_argument("--score", choices=("gap", "ratio"), default="gap",
                        help="training score: mean gap over OPT > 0, or 100·(ΣH/ΣOPT − 1)")
    parser.add_argument("--n200", action="store_true", help="also validate on n200.json")
    parser.add_argument("--verbose", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--dump", type=Path, help="write every evaluated member here")
    args = parser.parse_args(argv)
    train, optima = training_set(args.per_class, args.train_seed, args.train_n)
    if args.extra_n:
        # Larger generated instances with exact (B&B) optima, appended to the n=20 set.
        extra, extra_opt = selection_set(args.extra_n, args.extra_per_class, args.train_seed + 3)
        train, optima = train + extra, optima + extra_opt
    print(f"training: {len(train)} instances, {sum(o > 0 for o in optima)} with OPT > 0")
    rows = []
    for seed in args.seeds:
        run = search(seed, args, train, optima)
        best = run["best"]
        assert isinstance(best, Member)
        v100 = validate(best.code, N100)
        if args.select_n:
            pool = run["top"]
            assert isinstance(pool, list)
            chosen, sel_gap = reselect(pool, *selection_set(args.select_n, args.select_per_class,
                                                            args.train_seed + 2))
            vsel = validate(chosen.code, N100)
            print(f"  re-selected on generated n={args.select_n} ({sel_gap:.3f}): program "
                  f"{chosen.program_id} train {chosen.score:.3f} | n100 gap {vsel['gap']:.3f} "
                  f"ratio {vsel['ratio']:.4f} W/L {vsel['wins']}/{vsel['losses']} runtime "
                  f"x{vsel['runtime_vs_mdd']:.1f}", flush=True)
            print(chosen.code)
        row = {"seed": seed, "train_score": best.score, "n100": v100,
               **{k: run[k] for k in ("evaluations", "proposals", "seconds", "counts", "resets")},
               "code": best.code}
        if args.n200:
            row["n200"] = validate(best.code, N200)
        rows.append(row)
        print(f"seed {seed}: train {best.score:.3f} | n100 gap {v100.get('gap', float('nan')):.3f}"
              f" (MDD {v100.get('mdd_gap', 0):.2f}, MDDC {v100.get('mddc_gap', 0):.2f})"
              f" ratio {v100.get('ratio', 0):.4f} vs MDD {v100.get('mdd_ratio', 0):.4f}"
              f" W/L {v100.get('wins')}/{v100.get('losses')}"
              f" runtime x{v100.get('runtime_vs_mdd', 0):.1f}"
              f" | {run['evaluations']} evals, {run['proposals']} proposals,"
              f" {run['seconds']:.0f} s", flush=True)
        if "n200" in row:
            v200 = row["n200"]
            assert isinstance(v200, dict)
            print(f"        n200 gap {v200['gap']:.3f} (MDD {v200['mdd_gap']:.2f}) ratio "
                  f"{v200['ratio']:.4f} vs MDD {v200['mdd_ratio']:.4f}")
        print("  ", json.dumps(run["counts"], sort_keys=True))
        print(best.code)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
