"""Offline discovery for the serving problem, then held-out SLO attainment against the baselines.

``discover run --problem serving --model offline`` runs the full loop (training
windows and oracle references, sandbox cascade, archive, islands, validation), but
the built-in offline engine only mutates ``key=`` lambdas and loop assignments;
a policy that is one ``return <expression>`` gives it no site, so the search stalls
after the seeds (job-shop rules are in the same position). Until the engine
handles return-expression sites, this script runs the *same* ``discover.runner.run``
with one substitution: :class:`ExpressionProposer`, a small mutator of the returned
expression (add or drop a weighted feature of the problem's vocabulary, swap a
feature, rescale a term, tune constants, blend two parents). Everything else —
training set, references, sandbox, scoring, archive, validation — is discover's.

Afterwards the best validated program and the classic policies are scored on the
held-out sets: the second half of the conversation trace (3 windows × loads 0.9
and 1.0) and the code trace (3 windows × 1 and 2 req/s), never seen in training.
Acceptance: the program beats FCFS (vLLM) and chunked-prefill FCFS (Sarathi) on
SLO attainment on both.

Run from the project root (about 15 minutes on two shared cores)::

    python experiments/serving/offline_search.py --minutes 15
    python experiments/serving/offline_search.py --minutes 15 --json > out.json
"""

from __future__ import annotations

import argparse
import ast
import json
import sys
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

import discover.runner as runner
from discover.config import RunConfig
from discover.islands import Member
from discover.proposer import Candidate
from evaluators.serving.policies import HEURISTICS
from evaluators.serving.problem import FEATURE_VOCABULARY, ServingProblem

ROOT = Path(__file__).resolve().parents[2]
WORKLOADS = ROOT / "experiments" / "serving" / "workloads"
HELD_OUT = {"conv second half": WORKLOADS / "conv_second_half.json",
            "code": WORKLOADS / "code.json"}
BASELINES = ("fcfs", "sarathi", "spf", "srpt_oracle")
# Numeric features only (prefill_done is a bool; used through a product below).
FEATURES = [f for f in FEATURE_VOCABULARY if f != "request.prefill_done"]


class ExpressionProposer:
    """Mutates the returned expression of ``def priority(request, state): return <expr>``."""

    name = "offline-expr"

    def propose(self, operator: str, parents: Sequence[Member],
                rng: np.random.Generator) -> Candidate:
        """One child of ``parents`` (best first) by ``operator``."""
        ids = tuple(m.program_id for m in parents)
        try:
            exprs = [_returned(m.code) for m in parents]
        except ValueError as exc:
            return Candidate(None, operator, ids, self.name, failure=str(exc))
        for _ in range(50):
            child, idea = self._child(operator, exprs, rng)
            code = _program(child)
            if all(ast.dump(ast.parse(code)) != ast.dump(ast.parse(m.code)) for m in parents):
                used = ids if operator == "crossover" else ids[:1]
                return Candidate(code, operator, used, self.name, idea=idea)
        return Candidate(None, operator, ids, self.name, failure="no new child")

    def side_calls(self) -> list[Any]:
        """No model calls."""
        return []

    def _child(self, op: str, exprs: list[ast.expr], rng: np.random.Generator
               ) -> tuple[ast.expr, str]:
        base = exprs[0]
        if op == "crossover" and len(exprs) > 1:
            w = _coefficient(rng)
            return ast.BinOp(base, ast.Add(), _scaled(exprs[1], w)), f"blend parents (w={w:.3g})"
        if op == "new_idea":
            terms = [_term(rng) for _ in range(int(rng.integers(1, 4)))]
            return _sum([t for t, _ in terms]), "new: " + " + ".join(d for _, d in terms)
        if op == "tune":
            return _tuned(base, rng), "tune constants"
        if op == "simplify":
            parts = _terms(base)
            if len(parts) > 1:
                k = int(rng.integers(len(parts)))
                return _sum(parts[:k] + parts[k + 1:]), "drop a term"
            return _tuned(base, rng), "tune constants"
        move = rng.choice(["add", "swap", "scale"])
        parts = _terms(base)
        if move == "add" or (len(parts) == 1 and move == "swap"):
            term, desc = _term(rng)
            return ast.BinOp(base, ast.Add(), term), f"add {desc}"
        k = int(rng.integers(len(parts)))
        if move == "swap":
            term, desc = _term(rng)
            return _sum([*parts[:k], term, *parts[k + 1:]]), f"swap a term for {desc}"
        w = float(np.exp(rng.normal(0, 1)))
        scaled = [*parts[:k], _scaled(parts[k], w), *parts[k + 1:]]
        return _sum(scaled), f"scale a term ×{w:.3g}"


def _returned(code: str) -> ast.expr:
    tree = ast.parse(code)
    fn = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "priority")
    body = [s for s in fn.body if not (isinstance(s, ast.Expr) and isinstance(s.value,
                                                                               ast.Constant))]
    if len(body) != 1 or not isinstance(body[0], ast.Return) or body[0].value is None:
        raise ValueError("not a single-return priority function")
    return body[0].value


def _program(expr: ast.expr) -> str:
    text = ast.unparse(ast.fix_missing_locations(expr))
    return f"import math\n\n\ndef priority(request, state):\n    return {text}\n"


def _coefficient(rng: np.random.Generator) -> float:
    return float(rng.choice([-1, 1]) * 10 ** rng.uniform(-3, 2))


def _term(rng: np.random.Generator) -> tuple[ast.expr, str]:
    feature = FEATURES[int(rng.integers(len(FEATURES)))]
    if rng.random() < 0.15:
        feature = f"({feature}) * (1.0 - request.prefill_done)"
    w = _coefficient(rng)
    return ast.parse(f"{w!r} * ({feature})", mode="eval").body, f"{w:.3g}·{feature}"


def _terms(expr: ast.expr) -> list[ast.expr]:
    if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
        return _terms(expr.left) + _terms(expr.right)
    return [expr]


def _sum(parts: list[ast.expr]) -> ast.expr:
    out = parts[0]
    for p in parts[1:]:
        out = ast.BinOp(out, ast.Add(), p)
    return out


def _scaled(expr: ast.expr, w: float) -> ast.expr:
    return ast.BinOp(ast.Constant(w), ast.Mult(), expr)


def _tuned(expr: ast.expr, rng: np.random.Generator) -> ast.expr:
    tree = ast.parse(ast.unparse(expr), mode="eval").body
    consts = [n for n in ast.walk(tree) if isinstance(n, ast.Constant)
              and isinstance(n.value, float)]
    if not consts:
        return _scaled(tree, float(np.exp(rng.normal(0, 0.5))))
    node = consts[int(rng.integers(len(consts)))]
    node.value = float(node.value * np.exp(rng.normal(0, 0.5)))
    return tree


def held_out(problem: ServingProblem, best: str | None) -> dict[str, Any]:
    """Mean SLO attainment per held-out set (and per window) of the baselines and ``best``."""
    from evaluators.serving.policies import compile_priority
    from evaluators.serving.replay import run_policy

    out: dict[str, Any] = {}
    policy = compile_priority(best) if best else None
    for label, path in HELD_OUT.items():
        insts = problem.load(path)
        rows: dict[str, list[float]] = {name: [] for name in (*BASELINES, "discovered")}
        for inst in insts:
            for name in BASELINES:
                rows[name].append(problem.metrics(inst, HEURISTICS[name](inst)).attainment)
            if policy is not None:
                rows["discovered"].append(
                    problem.metrics(inst, run_policy(inst, policy)).attainment)
        out[label] = {"windows": [i.name for i in insts],
                      "attainment": {k: v for k, v in rows.items() if v},
                      "mean": {k: float(np.mean(v)) for k, v in rows.items() if v}}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=15.0)
    parser.add_argument("--budget", type=int, default=100000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--archive", default=None, help="SQLAlchemy URL (default: a temp file)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    archive = args.archive or f"sqlite:///{tempfile.mkdtemp()}/serving.sqlite"
    config = RunConfig.load(problem="serving").with_overrides(
        budget=args.budget, time_limit=60 * args.minutes, seed=args.seed, workers=args.workers,
        archive=archive, **{"llm.models": [{"spec": "offline"}]})
    runner._proposer = lambda *a, **k: ExpressionProposer()  # type: ignore[assignment]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = runner.run(config)
    from archive import Archive

    with Archive.open(archive) as store:
        best = result.best[0] if result.best else None
        code = store.program(best.program_id).program.code if best else None
    figures = {"run": {"id": result.run_id, "status": result.status, "reason": result.reason,
                       "evaluated": result.evaluated, "seconds": result.seconds,
                       "archive": archive},
               "best": None if best is None else {
                   "program": best.program_id, "train_gap": best.train_gap,
                   "validation_gap": best.validation_gap, "code": code},
               "held_out": held_out(ServingProblem(), code)}
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        run = figures["run"]
        print(f"run {run['id']} {run['status']} ({run['reason']}): {run['evaluated']} "
              f"evaluated in {run['seconds']:.0f} s; archive {archive}")
        if best is not None:
            print(f"best program #{best.program_id}: train gap {best.train_gap:.2f} %, "
                  f"validation gap {best.validation_gap} % (vs the oracle)\n{code}")
        for label, data in figures["held_out"].items():
            cells = "  ".join(f"{k} {v:.3f}" for k, v in data["mean"].items())
            print(f"held-out {label} (mean SLO attainment over {len(data['windows'])} "
                  f"windows): {cells}")
    held = figures["held_out"]
    ok = best is not None and all(
        d["mean"]["discovered"] > max(d["mean"]["fcfs"], d["mean"]["sarathi"])
        for d in held.values())
    print("PASS" if ok else "FAIL", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
