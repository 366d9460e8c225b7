"""Standalone modules for serving policies: the simulator, a ``priority`` policy and helpers.

A serving candidate is only ``priority(request, state)``; on its own it serves
nothing. The export contract is therefore one file holding the simulator (copied
verbatim from :mod:`evaluators.serving.engine`; standard library + numpy), the
policy, the server it was tuned for, and helpers to run a trace — so it runs
anywhere without discover::

    python exported.py splitwise_conv.csv --rate 4      # prints SLO attainment and latencies
    >>> import exported; exported.serve(arrival, prompt, output)
"""

from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Any

from evaluators.serving import engine as _engine_module

_HELPERS = '''

# ---------------------------------------------------------------------------
# Helpers (the export contract: priority(request, state) above plus serve()).
# ---------------------------------------------------------------------------

SERVER = json.loads({server!r})
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
    """Source text of :mod:`evaluators.serving.engine`."""
    return Path(_engine_module.__file__).read_text(encoding="utf-8")


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
              "# Simulator (standard library + numpy) + priority policy + helpers.\n")
    return (
        header
        + engine_source().rstrip()
        + "\n\n\nimport json  # noqa: E402  (helpers below)\n\n"
        + "_serving_simulate = simulate  # kept under a private name in case the policy "
          "shadows it\n"
        + "\n# " + "-" * 75 + "\n# The priority policy.\n# " + "-" * 75 + "\n\n"
        + "\n".join(lines).strip() + "\n"
        + _HELPERS.format(server=json.dumps(server, sort_keys=True), ttft=float(ttft_slo),
                          tpot=float(tpot_slo))
    )
