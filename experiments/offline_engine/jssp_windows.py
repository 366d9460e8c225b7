"""Hand-written probe rules in the product's builder, non-delay and active (issue 16).

A measurement, not the product path: it shows what the active builder (``--problem
jssp-active``) makes reachable for a single-pass rule. Rule C waits for an operation
(``est - t`` > 0, only possible in the active builder) at a price and weighs the work
queued on the job's next machine (WINQ) heavily; its weights (8 and 30) were chosen on
the 64 Taillard instances outside the 16 test instances (a grid over WINQ weight, a
look-ahead bound and windows between non-delay and active: 11.4-12.2 % there), and the
16 were evaluated once. Sets: DEV = ta03-05, 13-15, ..., 73-75; VAL = the other 40
non-test instances; TEST = ta01, 02, 11, 12, ..., 71, 72.

Example::

    python experiments/offline_engine/jssp_windows.py
"""

from __future__ import annotations

from collections.abc import Callable

from evaluators.jssp.builder import ACTIVE, NON_DELAY, build
from evaluators.jssp.objective import makespan
from evaluators.jssp.problem import JsspProblem

TEST = [k + d for k in range(1, 80, 10) for d in (0, 1)]
DEV = [k for k in range(1, 81) if k not in TEST and (k - 1) % 10 in (2, 3, 4)]
VAL = [k for k in range(1, 81) if k not in TEST and k not in DEV]


def base(p: int, est: int, t: int, job_ready: int, work_done: int, wr: int, *rest: int) -> float:
    return p / max(wr - p, 1) / max(wr, 1)


def winq(p: int, est: int, t: int, job_ready: int, work_done: int, wr: int, *rest: int) -> float:
    return base(p, est, t, job_ready, work_done, wr) * (1 + rest[-1] / max(wr, 1))


def rule_c(p: int, est: int, t: int, job_ready: int, work_done: int, wr: int,
           *rest: int) -> float:
    w = max(wr, 1)
    return p / max(wr - p, 1) / w * (1 + 8 * rest[-1] / w) * (1 + 30 * (est - t) / max(p, 1))


RULES: dict[str, Callable[..., float]] = {"base": base, "base · WINQ": winq, "C": rule_c}


def main() -> None:
    taillard = JsspProblem().load("jssp:ta")
    print(f"{'rule':12s} {'builder':10s} {'DEV 24':>7s} {'VAL 40':>7s} {'TEST 16':>8s}")
    for name, rule in RULES.items():
        for variant in (NON_DELAY, ACTIVE):
            means = []
            for keys in (DEV, VAL, TEST):
                gaps = []
                for k in keys:
                    inst = taillard[k - 1]
                    start = build(inst.machines, inst.durations, rule, variant)
                    gaps.append(100 * (makespan(inst, start) / float(inst.upper_bound or 1) - 1))
                means.append(sum(gaps) / len(gaps))
            print(f"{name:12s} {variant:10s} " + " ".join(f"{m:7.2f}" for m in means), flush=True)


if __name__ == "__main__":
    main()
