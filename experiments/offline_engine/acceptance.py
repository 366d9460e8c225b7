"""Figures of a run's exported winner on the SMTT benchmark files (issue 5's acceptance).

For the best program of a run on the validation split (what ``discover export``
writes), scored in the sandbox on ``n100.json`` and ``n200.json``: mean gap over
OPT > 0, aggregate ratio ΣH/ΣOPT, wins/losses against MDD, and runtime relative
to the MDD seed program (same sandbox, same instances). MDD and MDDC figures are
printed alongside.

Example::

    python experiments/offline_engine/acceptance.py sqlite:////tmp/e5_1.sqlite 1
"""

from __future__ import annotations

import argparse
import sys

import numpy as np

from archive import Archive, Split
from evaluators.registry import get_problem
from sandbox import SandboxPool, evaluate


def figures(code: str, name: str, pool: SandboxPool) -> dict[str, float]:
    """Gap, ratio, W/L vs MDD and runtime vs MDD of ``code`` on one bundled set."""
    problem = get_problem("smtt")
    instances = problem.load(name)
    opt = [float(problem.stored_reference(i) or 0.0) for i in instances]

    def run(source: str) -> tuple[list[float], float]:
        result = evaluate(problem, instances, source, pool, 600.0, references=opt)
        if not result.ok:
            raise RuntimeError(f"{name}: {result.message}")
        return [float(s.objective or 0.0) for s in result.scores], \
            float(np.mean(result.outcome.seconds))

    values, seconds = run(code)
    _, mdd_seconds = run(problem.seed_programs["mdd"])
    mdd = [problem.objective(i, problem.heuristics["mdd"](i)) for i in instances]
    mddc = [problem.objective(i, problem.heuristics["mddc"](i)) for i in instances]

    def gap(v: list[float]) -> float:
        return float(np.mean([100 * (h - o) / o for h, o in zip(v, opt, strict=True) if o > 0]))

    return {"gap": gap(values), "ratio": sum(values) / sum(opt), "mdd_gap": gap(mdd),
            "mdd_ratio": sum(mdd) / sum(opt), "mddc_gap": gap(mddc),
            "mddc_ratio": sum(mddc) / sum(opt),
            "wins": sum(h < m for h, m in zip(values, mdd, strict=True)),
            "losses": sum(h > m for h, m in zip(values, mdd, strict=True)),
            "runtime_vs_mdd": seconds / mdd_seconds}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("archive", help="archive URL")
    parser.add_argument("run", type=int, help="run id")
    args = parser.parse_args(argv)
    with Archive.open(args.archive) as archive:
        best = archive.best(args.run, Split.VALIDATION, top=1)
        if not best:
            print(f"run {args.run} has no validated program", file=sys.stderr)
            return 1
        program_id, code = best[0].summary.id, archive.program(best[0].summary.id).program.code
    print(f"run {args.run}: best program #{program_id}")
    with SandboxPool(workers=1, isolation="auto") as pool:
        for name in ("smtt:n100", "smtt:n200"):
            f = figures(code, name, pool)
            print(f"  {name}: gap {f['gap']:.3f} % ratio {f['ratio']:.4f} | MDD {f['mdd_gap']:.3f}"
                  f" % {f['mdd_ratio']:.4f} | MDDC {f['mddc_gap']:.3f} % {f['mddc_ratio']:.4f}"
                  f" | W/L vs MDD {f['wins']:.0f}/{f['losses']:.0f} | runtime"
                  f" x{f['runtime_vs_mdd']:.2f} MDD")
    print(code)
    return 0


if __name__ == "__main__":
    sys.exit(main())
