"""Acceptance: an offline ``discover run --problem serving`` against FCFS on held-out traces.

Runs discover's loop with the built-in offline engine for ``--minutes`` (training:
1000-request windows of synthetic Gamma bursts and of the conversation trace's first
half, scored against the oracle; the problem's run defaults) — or takes an existing
run with ``--archive URL --run ID`` — and scores the run's best program on the
held-out sets, never seen in training: the conversation trace's second half (3
windows × loads 0.9 and 1.0 of capacity) and the code trace (3 windows × 1 and
2 req/s). The program runs in the sandbox and is scored by discover's replay;
the classic policies run in-process. Acceptance: the program's mean SLO
attainment beats FCFS (vLLM) and chunked-prefill FCFS (Sarathi, 512) on both sets.

Run from the project root::

    python experiments/serving/acceptance.py --minutes 14            # search, then score
    python experiments/serving/acceptance.py --archive sqlite:///runs/discover.sqlite --run 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from archive import Archive, Split
from discover.config import RunConfig
from discover.runner import run
from evaluators.serving.policies import HEURISTICS
from evaluators.serving.problem import ServingProblem

ROOT = Path(__file__).resolve().parents[2]
HELD_OUT = {"conv second half": "serving:conv-second-half", "code": "serving:code-windows"}
BASELINES = ("fcfs", "sarathi", "spf", "srpt_oracle")


def best_program(url: str, run_id: int) -> tuple[int, str, dict[str, Any]]:
    """The run's best program on the validation split (else training) and its scores."""
    with Archive.open(url) as store:
        ranked = store.best(run_id, Split.VALIDATION, top=1) or store.best(run_id, Split.TRAIN,
                                                                           top=1)
        if not ranked:
            raise SystemExit(f"run {run_id} has no evaluated program")
        detail = store.program(ranked[0].summary.id)
        scores = {split.value: ev.score for split, ev in detail.evaluations.items()}
        return detail.id, detail.program.code, scores


def held_out(problem: ServingProblem, code: str) -> dict[str, Any]:
    """Mean SLO attainment per held-out set of the baselines and of ``code`` (sandboxed)."""
    from sandbox import SandboxPool, SandboxWarning, evaluate

    out: dict[str, Any] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        with SandboxPool(workers=1, isolation="auto") as pool:
            for label, path in HELD_OUT.items():
                insts = problem.load(path)
                rows = {name: [problem.metrics(i, HEURISTICS[name](i)).attainment
                               for i in insts] for name in BASELINES}
                result = evaluate(problem, insts, code, pool, 600.0)
                if not result.ok:
                    raise SystemExit(f"the program fails on {label}: {result.message}")
                rows["discovered"] = [1.0 - float(s.objective) / 100.0  # type: ignore[arg-type]
                                      for s in result.scores]
                out[label] = {"windows": [i.name for i in insts], "attainment": rows,
                              "mean": {k: float(np.mean(v)) for k, v in rows.items()}}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=14.0, help="search time (wall)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--archive", default=None, help="SQLAlchemy URL of an existing run")
    parser.add_argument("--run", type=int, default=None, help="id of an existing run")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    url = args.archive
    run_id = args.run
    info: dict[str, Any] = {}
    if run_id is None:
        url = url or f"sqlite:///{tempfile.mkdtemp()}/serving.sqlite"
        config = RunConfig.load(problem="serving").with_overrides(
            time_limit=60 * args.minutes, seed=args.seed, archive=url,
            **{"llm.models": [{"spec": "offline"}]})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = run(config)
        run_id = result.run_id
        info = {"status": result.status, "reason": result.reason,
                "evaluated": result.evaluated, "seconds": result.seconds}
    program_id, code, scores = best_program(url, run_id)
    figures = {"archive": url, "run": run_id, **info, "program": program_id, "scores": scores,
               "code": code, "held_out": held_out(ServingProblem(), code)}
    ok = all(d["mean"]["discovered"] > max(d["mean"]["fcfs"], d["mean"]["sarathi"])
             for d in figures["held_out"].values())
    figures["pass"] = ok
    if args.json:
        print(json.dumps(figures, indent=2))
    else:
        print(f"run {run_id} ({url}) {info.get('reason', '')}: best program #{program_id}, "
              f"scores {scores} (mean gap % to the oracle)\n{code}")
        for label, data in figures["held_out"].items():
            cells = "  ".join(f"{k} {v:.3f}" for k, v in data["mean"].items())
            print(f"held-out {label}, mean SLO attainment over {len(data['windows'])} "
                  f"windows: {cells}")
        print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
