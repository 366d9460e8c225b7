"""SLO attainment against request rate: classic policies and discovered ones (matplotlib).

For a held-out window of each trace (the conversation trace's second half, the code
trace), the window is replayed at a grid of request rates and served by the classic
policies (trusted, in-process) and by each candidate file (untrusted: run in the
sandbox and scored by discover's own replay). Each panel also marks the goodput of
every policy — the highest rate with ≥ 90 % of requests within both SLOs (TTFT ≤ 1 s,
TPOT ≤ 0.1 s on the default A100 scenario).

Run from the project root::

    python experiments/serving/slo_vs_rate.py                                  # baselines
    python experiments/serving/slo_vs_rate.py --candidate best.py --label found
    python experiments/serving/slo_vs_rate.py --out experiments/serving/out/slo.png --json
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.bundled import data_dir
from evaluators.serving.instance import ServingInstance
from evaluators.serving.policies import HEURISTICS
from evaluators.serving.problem import ServingProblem
from evaluators.serving.workloads import at_rate, read_trace, trace_windows

ROOT = Path(__file__).resolve().parents[2]
VIDUR = data_dir("serving") / "vidur"
GRIDS = {"conv": np.round(np.linspace(3.0, 8.0, 11), 2),
         "code": np.round(np.linspace(0.25, 3.0, 12), 2)}
SPANS = {"conv": (0.5, 1.0), "code": (0.0, 1.0)}
BASELINES = ("fcfs", "sarathi", "spf", "las", "srpt_oracle", "srpt_noisy")


def windows(problem: ServingProblem, trace: str) -> list[ServingInstance]:
    """The trace's held-out window at every rate of its grid."""
    data = read_trace(VIDUR / f"splitwise_{trace}.csv")
    (base,) = trace_windows(data, problem.scenario, window=2000, span=SPANS[trace],
                            rates=[1.0])
    arr, prompt, out = base.arrays
    name = base.name.split("@")[0]
    return [at_rate(name, arr, prompt, out, problem.scenario, rate=float(r))
            for r in GRIDS[trace]]


def candidate_curve(problem: ServingProblem, insts: list[ServingInstance], code: str
                    ) -> list[float]:
    """Attainment of an untrusted candidate at each rate (sandboxed; scored by replay)."""
    from sandbox import SandboxPool, SandboxWarning, evaluate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        with SandboxPool(workers=1, isolation="auto") as pool:
            result = evaluate(problem, insts, code, pool, 300.0)
    if not result.ok:
        raise SystemExit(f"candidate failed: {result.message}")
    return [1.0 - float(s.objective) / 100.0 for s in result.scores]  # type: ignore[arg-type]


def goodput_of(rates: np.ndarray, attainment: list[float]) -> float | None:
    """Highest grid rate with attainment ≥ 0.9 before the curve first drops below it."""
    best = None
    for rate, value in zip(rates, attainment, strict=True):
        if value < 0.9:
            break
        best = float(rate)
    return best


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidate", action="append", default=[], metavar="FILE",
                        help="Python file defining priority(request, state) (repeatable)")
    parser.add_argument("--label", action="append", default=[], help="label per candidate")
    parser.add_argument("--out", default=str(ROOT / "experiments" / "serving" / "out"
                                             / "slo_vs_rate.png"))
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    problem = ServingProblem()
    curves: dict[str, dict[str, Any]] = {}
    for trace in GRIDS:
        insts = windows(problem, trace)
        rows: dict[str, list[float]] = {
            name: [problem.metrics(i, HEURISTICS[name](i)).attainment for i in insts]
            for name in BASELINES}
        for k, path in enumerate(args.candidate):
            label = args.label[k] if k < len(args.label) else Path(path).stem
            rows[label] = candidate_curve(problem, insts, Path(path).read_text())
        curves[insts[0].name.split("@")[0]] = {
            "rates": GRIDS[trace].tolist(), "attainment": rows,
            "goodput": {n: goodput_of(GRIDS[trace], v) for n, v in rows.items()}}
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(curves), figsize=(6 * len(curves), 4.2))
    for ax, (window, data) in zip(np.atleast_1d(axes), curves.items(), strict=True):
        for name, values in data["attainment"].items():
            # LAS equals FCFS unless requests were preempted: dash it so both show.
            style = "--" if name == "las" else "-" if name in BASELINES else "-o"
            width = 1.2 if name in BASELINES else 2.4
            ax.plot(data["rates"], values, style, lw=width, ms=4, label=name)
        ax.axhline(0.9, color="grey", ls=":", lw=1)
        ax.set_title(f"{window} (2000 requests, A100, TTFT≤1 s, TPOT≤0.1 s)", fontsize=9)
        ax.set_xlabel("request rate (req/s)")
        ax.set_ylabel("SLO attainment")
        ax.set_ylim(0, 1.02)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    fig.tight_layout()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out, dpi=130)
    if args.json:
        print(json.dumps(curves, indent=2))
        return 0
    for window, data in curves.items():
        print(f"\n{window}: SLO attainment by rate (req/s)")
        print(f"{'policy':12} " + " ".join(f"{r:>5.2f}" for r in data["rates"]) + "  goodput")
        for name, values in data["attainment"].items():
            good = data["goodput"][name]
            print(f"{name:12} " + " ".join(f"{v:5.2f}" for v in values)
                  + f"  {'—' if good is None else f'{good:.2f}'}")
    print(f"\nfigure: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
