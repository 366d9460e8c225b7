"""Orderings the literature expects, on the Splitwise conversation trace."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.serving.instance import Scenario
from evaluators.serving.metrics import RequestMetrics
from evaluators.serving.policies import HEURISTICS
from evaluators.serving.workloads import read_trace, trace_windows


@pytest.mark.slow
def test_literature_orderings_on_conversations(conv_csv: Path) -> None:
    """Two 2000-request windows at 95 % of capacity (the problem's default server).

    ``fcfs`` is vLLM's default (whole prompts, prefill iterations first), ``sarathi``
    FCFS with 512-token chunks, ``srpt_oracle`` shortest remaining output first with
    the true lengths (on the scenario's 512-token builder).
    """
    trace = read_trace(conv_csv)
    scenario = Scenario()
    for inst in trace_windows(trace, scenario, window=2000, count=2, loads=[0.95]):
        summary = {name: RequestMetrics(HEURISTICS[name](inst).result, scenario).summary()
                   for name in ("fcfs", "sarathi", "srpt_oracle")}
        # Shortest remaining (oracle) beats FCFS on mean latency, and FCFS on its builder.
        assert summary["srpt_oracle"].mean_latency < 0.95 * summary["fcfs"].mean_latency
        assert summary["srpt_oracle"].mean_latency <= summary["sarathi"].mean_latency
        # Chunked prefill removes generation stalls: lower p99 TPOT.
        assert summary["sarathi"].p99_tpot < 0.9 * summary["fcfs"].p99_tpot
        assert all(s.requests == 2000 for s in summary.values())
