"""Which job-shop state features, builder windows and look-aheads help a dispatching rule?

A measurement harness for issue 16 (not the product path): an in-process
Giffler–Thompson builder with a window ``alpha`` between non-delay (0) and active
(1) conflict sets, and a dictionary of features per candidate — the product's
(``p``, ``wr`` = work_remaining, ``t``, ``est``, ...), the next machine's queued work
(``nm_q``, now a product feature, ``next_machine_queue``) and some that were *not*
adopted: one-step look-aheads (``lb``: the makespan lower bound after the choice,
``mdw``: the largest delay the choice imposes on another candidate plus that job's
remaining work, ``delay``: total delay imposed) and load features (``wl``, ``bn``).
Rules are scored by their mean gap to the best known makespans on a *development*
set: 3 Taillard instances per size class (ta03–05, ta13–15, …, ta73–75), none of the
16 test instances (ta01, 02, 11, 12, …, 71, 72). The rules below are hand-written
probes of each feature, never seeds or stored programs of the engine.

Example::

    python experiments/offline_engine/jssp_features.py
"""

from __future__ import annotations

import math
from collections.abc import Callable

from evaluators.jssp.instance import JsspInstance
from evaluators.jssp.problem import JsspProblem

Features = dict[str, float]
Rule = Callable[[Features], float]

TEST16 = frozenset(k + d for k in range(1, 80, 10) for d in (0, 1))


def development_set() -> list[JsspInstance]:
    """ta03-05, ta13-15, ..., ta73-75 (bundled, with best known makespans)."""
    taillard = JsspProblem().load("jssp:ta")
    picked = [taillard[k - 1] for k in range(1, 81)
              if k not in TEST16 and (k - 1) % 10 in (2, 3, 4)]
    assert not {i.name for i in picked} & {f"ta{k:02d}js" for k in TEST16}
    return picked


def build(machines: list[list[int]], durations: list[list[int]], rule: Rule,
          alpha: float = 0.0) -> int:
    """Makespan of the schedule ``rule`` builds; conflict set ``est < t* + alpha (C* - t*)``."""
    n_jobs, n_ops = len(machines), len(machines[0])
    mach, dur = machines, durations
    n_m = 1 + max(max(r) for r in mach)
    nxt, job_ready, work_done = [0] * n_jobs, [0] * n_jobs, [0] * n_jobs
    work_left = [sum(r) for r in dur]
    m_ready, m_work, m_ops = [0] * n_m, [0] * n_m, [0] * n_m
    for j in range(n_jobs):
        for k in range(n_ops):
            m_work[mach[j][k]] += dur[j][k]
            m_ops[mach[j][k]] += 1
    queue: list[list[int]] = [[] for _ in range(n_m)]
    for j in range(n_jobs):
        queue[mach[j][0]].append(j)
    cmax = 0
    for _ in range(n_jobs * n_ops):
        bound, m = math.inf, -1
        for mm in range(n_m):
            for j in queue[mm]:
                c = max(job_ready[j], m_ready[mm]) + dur[j][nxt[j]]
                if c < bound:
                    bound, m = c, mm
        ready = m_ready[m]
        tstar = min(max(job_ready[j], ready) for j in queue[m])
        limit = tstar + alpha * (bound - tstar)
        cands = [(j, max(job_ready[j], ready)) for j in queue[m]]
        cands = [(j, e) for j, e in cands if e == tstar or e < limit]
        t = min(e for _, e in cands)
        best_j, best_v, best_e = -1, math.inf, 0
        for j, e in cands:
            k = nxt[j]
            end = e + dur[j][k]
            nm = mach[j][k + 1] if k + 1 < n_ops else -1
            rest = range(k + 1, n_ops)
            f: Features = dict(
                     p=dur[j][k], est=e, t=t, wd=work_done[j], wr=work_left[j], ops=n_ops - k,
                     mw=m_work[m], mops=m_ops[m], cmax=cmax, mm=n_m,
                     nm_q=sum(dur[i][nxt[i]] for i in queue[nm]) if nm >= 0 else 0,
                     lb=max([e + work_left[j]] + [max(ei, end) + work_left[i]
                                                  for i, ei in cands if i != j]),
                     mdw=max([0] + [max(0, end - ei) + work_left[i] for i, ei in cands if i != j]),
                     delay=sum(max(0, end - ei) for i, ei in cands if i != j),
                     wl=sum(m_work[mach[j][kk]] for kk in rest),
                     bn=max([m_ready[mach[j][kk]] + m_work[mach[j][kk]] for kk in rest] + [0]))
            v = rule(f)
            if best_j < 0 or v < best_v:
                best_j, best_v, best_e = j, v, e
        j, k = best_j, nxt[best_j]
        p = dur[j][k]
        job_ready[j] = m_ready[m] = best_e + p
        work_done[j] += p
        work_left[j] -= p
        m_work[m] -= p
        m_ops[m] -= 1
        cmax = max(cmax, best_e + p)
        queue[m].remove(j)
        nxt[j] = k + 1
        if k + 1 < n_ops:
            queue[mach[j][k + 1]].append(j)
    return cmax


def mean_gap(rule: Rule, instances: list[JsspInstance], alpha: float = 0.0) -> float:
    gaps = [100 * (build([list(r) for r in i.machines], [list(r) for r in i.durations], rule,
                         alpha) / float(i.upper_bound or 1) - 1) for i in instances]
    return sum(gaps) / len(gaps)


def _base(f: Features) -> float:
    # The earlier offline winner's shape, p / (wr - p) / wr.
    return f["p"] / max(f["wr"] - f["p"], 1) / max(f["wr"], 1)


PROBES: dict[str, Rule] = {
    "base": _base,
    "base + WINQ": lambda f: _base(f) * (1 + f["nm_q"] / max(f["wr"], 1)),
    "base, look-ahead lb": lambda f: _base(f) * (1 + 0.3 * max(f["lb"] - f["cmax"], 0)
                                                 / max(f["wr"], 1)),
    "base, look-ahead mdw": lambda f: _base(f) * (1 + f["mdw"] / max(f["wr"], 1)),
    "base, look-ahead delay": lambda f: _base(f) * (1 + f["delay"] / max(f["wr"], 1)),
    "base, remaining load": lambda f: f["p"] / max(f["wr"] - f["p"], 1)
    / max(f["wr"] + 0.3 * f["wl"] / f["mm"], 1),
    "lb alone": lambda f: f["lb"],
    "base, soft window (active)": lambda f: _base(f) * (1 + 10 * (f["est"] - f["t"])
                                                        / max(f["p"], 1)),
}


def main() -> None:
    dev = development_set()
    print(f"{len(dev)} development instances; mean gap % by window alpha")
    print(f"{'rule':30s} {'a=0':>7s} {'a=0.2':>7s} {'a=1':>7s}")
    for name, rule in PROBES.items():
        print(f"{name:30s} " + " ".join(f"{mean_gap(rule, dev, a):7.2f}" for a in (0.0, 0.2, 1.0)),
              flush=True)


if __name__ == "__main__":
    main()
