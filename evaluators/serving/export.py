"""Standalone modules for serving policies: the simulator, a ``priority`` policy and helpers.

A serving candidate is only ``priority(request, state)``; on its own it serves
nothing. The export contract is therefore one file holding the simulator (copied
verbatim from :mod:`evaluators.serving.engine`; standard library only), the
policy, the server it was tuned for, and helpers to run a trace — so it runs
anywhere without discover::

    python exported.py splitwise_conv.csv --rate 4      # prints SLO attainment and latencies
    >>> import exported; exported.serve(arrival, prompt, output)
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

from evaluators.jssp.export import strip_module_docstring
from evaluators.serving import decisions as _decisions_module
from evaluators.serving import engine as _engine_module

_HELPERS = '''

# ---------------------------------------------------------------------------
# Helpers (the export contract: priority(request, state) above plus serve()).
# ---------------------------------------------------------------------------

SERVER = {server}
"""The replica the policy was scored on (cost model in ms, KV cache, batch builder)."""
SLO = {{"ttft": {ttft!r}, "tpot": {tpot!r}}}


def serve(arrival, prompt, output, server=None):
    """Simulate requests (arrival seconds, prompt and output tokens) under ``priority``.

    Returns a dict of per-request lists: ``ttft``, ``tpot`` and ``latency`` (seconds)
    and ``preemptions``.
    """
    payload = {{"arrival": list(arrival), "prompt": list(prompt), "output": list(output),
               "server": server or SERVER}}
    sim = _serving_simulate(payload, priority)
    ttft = [f - a for f, a in zip(sim.first, sim.arr)]
    tpot = [(e - f) / (d - 1) if d > 1 else 0.0 for e, f, d in zip(sim.finish, sim.first, sim.out)]
    latency = [e - a for e, a in zip(sim.finish, sim.arr)]
    return {{"ttft": ttft, "tpot": tpot, "latency": latency, "preemptions": list(sim.pre)}}


def read_trace(path, rate=None):
    """Read a Vidur-style CSV (arrived_at, num_prefill_tokens, num_decode_tokens).

    With ``rate``, arrivals are shifted to 0 and stretched to that mean rate (req/s).
    Requests are clipped to the server's 4096-token context as discover does.
    """
    import csv

    with open(path, newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    arrival = [float(r["arrived_at"]) for r in rows]
    output = [min(int(float(r["num_decode_tokens"])), 4095) for r in rows]
    prompt = [min(int(float(r["num_prefill_tokens"])), 4096 - d) for r, d in zip(rows, output)]
    t0 = arrival[0]
    arrival = [t - t0 for t in arrival]
    if rate and len(arrival) > 1 and arrival[-1] > 0:
        scale = (len(arrival) - 1) / arrival[-1] / rate
        arrival = [t * scale for t in arrival]
    return arrival, prompt, output


def attainment(metrics, slo=None):
    """Fraction of requests meeting both the TTFT and the TPOT target."""
    slo = slo or SLO
    ok = [a <= slo["ttft"] and b <= slo["tpot"] for a, b in zip(metrics["ttft"], metrics["tpot"])]
    return sum(ok) / len(ok)


if __name__ == "__main__":
    import argparse

    _parser = argparse.ArgumentParser(description="Serve a request trace with this policy.")
    _parser.add_argument("trace")
    _parser.add_argument("--rate", type=float, default=None, help="requests per second")
    _args = _parser.parse_args()
    _m = serve(*read_trace(_args.trace, _args.rate))
    _n = len(_m["ttft"])
    _p99 = lambda v: sorted(v)[min(len(v) - 1, int(0.99 * len(v)))]  # noqa: E731
    print(f"{{_args.trace}}: {{_n}} requests, SLO attainment {{attainment(_m):.4f}}, "
          f"mean TTFT {{sum(_m['ttft']) / _n:.3f}} s, p99 TPOT {{_p99(_m['tpot']):.4f}} s, "
          f"mean latency {{sum(_m['latency']) / _n:.3f}} s, "
          f"preemptions {{sum(_m['preemptions'])}}")
'''


def engine_source() -> str:
    """The simulator as one standard-library source: :mod:`~evaluators.serving.decisions`
    followed by :mod:`~evaluators.serving.engine` without its package imports."""
    # Without the modules' docstrings: developer notes (the sandbox child, the
    # package), not documentation for the exported file's users.
    decisions = strip_module_docstring(
        Path(_decisions_module.__file__).read_text(encoding="utf-8"))
    engine = strip_module_docstring(Path(_engine_module.__file__).read_text(encoding="utf-8"))
    engine = engine.replace("from __future__ import annotations\n", "", 1)
    engine = re.sub(r"from evaluators\.serving\.decisions import \(.*?\)\n", "", engine,
                    count=1, flags=re.DOTALL)
    engine = re.sub(r"__all__ = \[.*?\]\n", "", engine, count=1, flags=re.DOTALL)
    if "evaluators" in "".join(line for line in engine.splitlines()
                               if line.startswith(("import ", "from "))):
        raise RuntimeError("the engine imports from the package; export would not stand alone")
    return decisions.rstrip() + "\n\n\n" + engine


def standalone_source(priority_code: str, server: dict[str, Any], ttft_slo: float,
                      tpot_slo: float, title: str = "discovered serving policy") -> str:
    """A runnable module: simulator + ``priority_code`` + ``serve()`` helpers.

    Parameters
    ----------
    priority_code
        Source defining ``priority(request, state)``.
    server
        The simulator's ``server`` payload (:meth:`ServerConfig.to_wire`).
    ttft_slo, tpot_slo
        SLO targets (seconds) used by the ``attainment`` helper.
    title
        Shown in the header comment.

    Raises
    ------
    ValueError
        If ``priority_code`` does not parse or does not define ``priority``.
    """
    tree = ast.parse(priority_code)
    if not any(isinstance(n, ast.FunctionDef) and n.name == "priority" for n in tree.body):
        raise ValueError("code does not define a top-level priority(request, state) function")
    lines = [ln for ln in priority_code.splitlines()
             if not ln.lstrip().startswith("from __future__ import")]
    header = (f"# LLM-serving scheduling policy exported by discover: {title}.\n"
              "# Simulator (standard library only) + priority policy + helpers.\n")
    return (
        header
        + engine_source().rstrip()
        + "\n\n\n_serving_simulate, _serving_replay, _serving_decision_log = simulate, replay, "
          "decision_log  # private names, in case the policy shadows them\n"
        + "\n# " + "-" * 75 + "\n# The priority policy.\n# " + "-" * 75 + "\n\n"
        + "\n".join(lines).strip() + "\n"
        + _HELPERS.format(server=repr(server), ttft=float(ttft_slo),
                          tpot=float(tpot_slo))
    )


CALL_SOURCE = '''\
def _discover_call(function, payload):
    """Simulate the payload with the policy, as discover's harness does: the decision log."""
    return _serving_decision_log(_serving_simulate(payload, function))
'''
"""``_discover_call`` of the export contract (uses the module's embedded simulator)."""

OBJECTIVE_SOURCE = '''\
def _discover_objective(payload, output):
    """Replay the decision log ``output`` and return the payload's score (lower is better).

    Raises ValueError when the log is malformed or does not replay (an ineligible pick,
    too few or too many picks, a header that does not match the payload).
    """
    output = list(output)
    if len(output) < 5 or any(type(v) is not int for v in output):
        raise ValueError("a decision log is a list of integers with a 5-number header")
    fmt, chunk, n, iterations, count = output[:5]
    picks = output[5:]
    if fmt != LOG_FORMAT or chunk != payload["server"]["chunk_size"] \\
            or n != len(payload["arrival"]) or count != len(picks):
        raise ValueError("the log header does not match the payload")
    sim = _serving_replay(payload, picks)
    if sim.it != iterations:
        raise ValueError("the log's iteration count does not match its replay")
    ttft = [f - a for f, a in zip(sim.first, sim.arr)]
    tpot = [(e - f) / (d - 1) if d > 1 else 0.0
            for e, f, d in zip(sim.finish, sim.first, sim.out)]
    latency = [e - a for e, a in zip(sim.finish, sim.arr)]
    slo = payload["slo"]
    score = slo["score"]

    def p99(values):
        # numpy's default (linear interpolation) percentile.
        v = sorted(values)
        pos = 0.99 * (len(v) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(v) - 1)
        return v[lo] + (v[hi] - v[lo]) * (pos - lo)

    if score == "slo":
        met = sum(1 for a, b in zip(ttft, tpot) if a <= slo["ttft"] and b <= slo["tpot"])
        return 100.0 * (1.0 - met / len(ttft))
    values = {"mean_latency": lambda: sum(latency) / len(latency),
              "p99_latency": lambda: p99(latency), "mean_ttft": lambda: sum(ttft) / len(ttft),
              "p99_ttft": lambda: p99(ttft), "p99_tpot": lambda: p99(tpot)}
    return float(values[score]())
'''
"""``_discover_objective`` of the export contract (standard library + the embedded simulator)."""


def export_samples(problem: Any) -> list[Any]:
    """Three small self-check windows (60 requests, bursty, near capacity; fixed seed)."""
    import numpy as np

    from evaluators.base import GeneratorSpec

    spec = GeneratorSpec(n=60, count=3, params={"source": "bursty", "load": 1.0})
    return list(problem.generate(spec, np.random.default_rng(20251125)))
