# ruff: noqa: E501  (the embedded program is stored as the engine wrote it)
"""Does a look-ahead fit the runtime gate? Load and ``smtt:n100`` gap of look-ahead variants.

Before ``sorted`` was charged (docs/sandbox.md), seed 1 (budget 2000) exported a look-ahead
over the 5 best jobs by ``max(t + 2.65·p, d)`` followed by an exchange pass, at 0.772 % on
``smtt:n100`` but 11.08× MDDC's time per instance at n = 500 (issue 16 allows 10×). Its code
is ``F1_WINNER`` below, as the engine wrote it (archive of that run, program exported). This
script measures, in the sandbox, its *load* (steps on the runtime gate's three n = 300 timing
instances over the gate's limit, 2 × MDD's steps; above 1 the gate rejects it) and its
``smtt:n100`` mean gap, for the winner and edits that make it cheaper: no pass, fewer sweeps,
a narrower window, a shorter short-list, a plain look-ahead key.

Example::

    python experiments/offline_engine/lookahead_budget.py
"""

from __future__ import annotations

from discover.search.timing import build_gate
from evaluators.registry import get_problem
from sandbox import SandboxPool, evaluate

F1_WINNER = '''\
def _prepare(processing_times, due_dates):
    return (processing_times, due_dates)

def _initial(data):
    return 0

def _step(state, job, data):
    processing_times, due_dates = data
    t = state + processing_times[job]
    return (t, max(0, t - due_dates[job]))

def _steps(state, jobs, data):
    """Run _step() over ``jobs`` from ``state``: (final state, summed cost)."""
    total = 0
    for job in jobs:
        state, cost = _step(state, job, data)
        total += cost
    return (state, total)

def _improve(order, processing_times, due_dates, passes, span, insert):
    """Bounded improvement pass: exchanges (or reinsertions) kept when the objective drops.

    The old cost of a window grows with it one step at a time; only the moved window
    is re-costed when it leaves the state after it unchanged; a position whose
    start state and window are as when it last found nothing is not tried again.
    """
    data = _prepare(processing_times, due_dates)
    order = [int(j) for j in order]
    n = len(order)
    span = int(span)
    settled = [None] * n
    for _ in range(int(passes)):
        improved = False
        state = _initial(data)
        for i in range(n - 1):
            window = (state, order[i:i + span + 1])
            if settled[i] != window:
                local = True
                found = False
                end, old = _step(state, order[i], data)
                shifted_end, shifted = (state, 0)
                for k in range(i + 1, min(i + 1 + span, n)):
                    end, cost = _step(end, order[k], data)
                    old += cost
                    if insert:
                        shifted_end, cost = _step(shifted_end, order[k], data)
                        shifted += cost
                        new_end, new = _step(shifted_end, order[i], data)
                        new += shifted
                        trial = None
                    else:
                        segment = order[i:k + 1]
                        trial = [segment[-1]] + segment[1:-1] + [segment[0]]
                        new_end, new = _steps(state, trial, data)
                    if new_end != end:
                        local = False
                        tail = order[k + 1:]
                        better = new + _steps(new_end, tail, data)[1] < old + _steps(end, tail, data)[1]
                    else:
                        better = new < old
                    if better:
                        if trial is None:
                            trial = order[i + 1:k + 1] + [order[i]]
                        order[i:k + 1] = trial
                        end, old = (new_end, new)
                        found = True
                        if insert:
                            shifted_end, shifted = _steps(state, order[i + 1:k + 1], data)
                improved = improved or found
                settled[i] = window if local and (not found) else None
            state = _step(state, order[i], data)[0]
        if not improved:
            break
    return order

def schedule(processing_times, due_dates):
    n = len(processing_times)
    remaining = list(range(n))
    order = []
    t = 0
    while remaining:
        _top = sorted(remaining, key=lambda j: (max(t + 2.65 * processing_times[j], due_dates[j]), j))[:5]
        best = min(_top, key=lambda j: ((max(max(t, due_dates[j]), max(t + processing_times[j], due_dates[j])) + min((max(t + processing_times[j] + 0.937 * processing_times[_i], due_dates[_i]) for _i in _top if _i != j), default=0.094)) * (0.941 + 0.04 * (processing_times[j] / max(max(t + 2.65 * processing_times[j] + processing_times[j], due_dates[j]), 1))), j))
        remaining.remove(best)
        order.append(best)
        t += processing_times[best]
    return _improve(order, processing_times, due_dates, 2, 2, False)
'''

PASS = "return _improve(order, processing_times, due_dates, 2, 2, False)"
KEY = ("best = min(_top, key=lambda j: ((max(max(t, due_dates[j]), max(t + processing_times[j], "
       "due_dates[j])) + min((max(t + processing_times[j] + 0.937 * processing_times[_i], "
       "due_dates[_i]) for _i in _top if _i != j), default=0.094)) * (0.941 + 0.04 * "
       "(processing_times[j] / max(max(t + 2.65 * processing_times[j] + processing_times[j], "
       "due_dates[j]), 1))), j))")
PLAIN = ("best = min(_top, key=lambda j: (max(t + processing_times[j], due_dates[j]) + "
         "min((max(t + processing_times[j] + processing_times[_i], due_dates[_i]) "
         "for _i in _top if _i != j), default=0), j))")


def variants() -> dict[str, str]:
    """The winner and cheaper edits of it (each one change, or two where named)."""
    assert PASS in F1_WINNER and KEY in F1_WINNER
    plain = F1_WINNER.replace(KEY, PLAIN)
    return {
        "winner": F1_WINNER,
        "no pass": F1_WINNER.replace(PASS, "return order"),
        "1 sweep": F1_WINNER.replace("2, 2, False)", "1, 2, False)"),
        "span 1": F1_WINNER.replace("2, 2, False)", "2, 1, False)"),
        "top 3": F1_WINNER.replace("[:5]", "[:3]"),
        "top 2": F1_WINNER.replace("[:5]", "[:2]"),
        "plain key": plain,
        "plain key, top 4": plain.replace("[:5]", "[:4]"),
        "plain key, top 3": plain.replace("[:5]", "[:3]"),
        "plain key, insertions within 3": plain.replace("2, 2, False)", "2, 3, True)"),
    }


def main() -> None:
    problem = get_problem("smtt")
    pool = SandboxPool(workers=1)
    try:
        gate = build_gate(problem, problem.seed_programs["mdd"], 300, 3, 2.0, pool)
        assert gate is not None
        n100 = problem.load("smtt:n100")
        refs = [float(i.optimum) for i in n100]
        print(f"{'variant':32s} {'load':>6s} {'n100 gap':>9s}")
        for name, code in variants().items():
            timed = gate.run(problem, code, pool, stop_at_limit=False)
            steps = timed.outcome.total_steps
            scored = evaluate(problem, n100, code, pool, 600.0, references=refs, check=False)
            load = f"{steps / gate.limit:6.3f}" if steps else "   n/a"
            print(f"{name:32s} {load} {scored.mean_gap:8.3f} %", flush=True)
    finally:
        pool.close()


if __name__ == "__main__":
    main()
