"""Traces, windows, rate rescaling, workload files and the synthetic generator."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from evaluators.base import InstanceError
from evaluators.serving.generate import BurstyFamily, generate_set
from evaluators.serving.instance import Scenario, Score, ServerConfig
from evaluators.serving.spec import load_spec
from evaluators.serving.workloads import (
    capacity,
    read_trace,
    rescale,
    trace_windows,
    truncate,
    window_starts,
)


def test_splitwise_traces_load(conv_csv: Path, code_csv: Path) -> None:
    conv, code = read_trace(conv_csv), read_trace(code_csv)
    assert (conv.size, code.size) == (19366, 8819)
    assert conv.arrival[0] == 0.0 and np.all(np.diff(conv.arrival) >= 0)
    assert (conv.prompt[0], conv.output[0]) == (374, 44)
    assert int(conv.prompt.max()) == 14050  # longer than Llama-2's context: truncated later


@pytest.mark.parametrize(("text", "line", "message"), [
    ("arrived_at,num_prefill_tokens\n0,5\n", 1, "missing column 'num_decode_tokens'"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,3\n0.5,x,3\n", 3, "could not convert"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,3\n1,5,0\n", 3, "whole number >= 1"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,3\n1,5.5,2\n", 3, "whole number"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n1,5,3\n0.5,5,2\n", 3, "before the previous"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5,3\n-1,5,2\n", 3, ">= 0"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\n0,5\n", 2, "expected 3 fields"),
    ("arrived_at,num_prefill_tokens,num_decode_tokens\nnan,5,3\n", 2, "finite"),
    ("", 1, "empty file"),
])
def test_trace_errors_name_file_and_line(tmp_path: Path, text: str, line: int,
                                         message: str) -> None:
    path = tmp_path / "trace.csv"
    path.write_text(text)
    with pytest.raises(InstanceError, match=message) as info:
        read_trace(path)
    assert info.value.line == line and str(info.value).startswith(f"{path}:{line}")


def test_rescale_keeps_shape_and_sets_the_rate() -> None:
    arrival = np.array([3.0, 3.5, 3.5, 7.0, 11.0])
    out = rescale(arrival, rate=2.0)
    assert out[0] == 0.0 and (len(out) - 1) / out[-1] == pytest.approx(2.0)
    assert np.allclose(np.diff(out) / np.diff(out).sum(), np.diff(arrival) / 8.0)


def test_truncate_to_the_context() -> None:
    prompt, output = np.array([100, 5000, 10, 3000]), np.array([10, 10, 5000, 1500])
    p, d, changed = truncate(prompt, output, 4096)
    assert (p + d).max() <= 4096 and changed == 3
    assert p.tolist() == [100, 4086, 1, 2596] and d.tolist() == [10, 10, 4095, 1500]


def test_windows_rates_and_loads(conv_csv: Path) -> None:
    trace = read_trace(conv_csv)
    assert window_starts(trace.size, 1000, 3, (0.5, 1.0)) == [9683, 14024, 18366]
    with pytest.raises(ValueError, match="fewer than a window"):
        window_starts(100, 200, 1)
    scenario = Scenario()
    insts = trace_windows(trace, scenario, window=1000, count=2, span=(0.5, 1.0),
                          rates=[3.0], loads=[0.8])
    assert [i.meta["start"] for i in insts] == [9683, 9683, 18366, 18366]
    by_rate = insts[0]
    assert by_rate.size == 1000 and by_rate.meta["rate"] == 3.0
    assert (by_rate.size - 1) / by_rate.arrival[-1] == pytest.approx(3.0)
    by_load = insts[1]
    assert by_load.meta["rate"] == pytest.approx(0.8 * by_load.meta["capacity"])
    assert max(p + d for p, d in zip(by_load.prompt, by_load.output, strict=True)) <= 4096
    assert by_load.fingerprint != by_rate.fingerprint


def test_capacity_is_the_saturation_throughput(conv_csv: Path) -> None:
    trace = read_trace(conv_csv)
    (inst,) = trace_windows(trace, Scenario(), window=500, rates=[1.0])
    cap = capacity(inst)
    # Far above the rate the window can be served at without queues, far below the
    # 4096-token prefill bound alone.
    assert 3.0 < cap < 4096 / (inst.arrays[1].mean() * 0.0641e-3)


def test_workload_file(tmp_path: Path, conv_csv: Path) -> None:
    spec = {"sets": [
        {"name": "held-out", "trace": str(conv_csv), "span": [0.5, 1.0], "window": 500,
         "windows": 2, "rates": [3.0, 4.0],
         "scenario": {"cost": "h100", "chunk_size": 256, "ttft_slo": 0.5,
                      "score": "p99_ttft"}},
        {"synthetic": {"requests": 200, "cv": 4.0, "seed": 3}, "windows": 2, "rate": 2.0}]}
    path = tmp_path / "work.json"
    path.write_text(json.dumps(spec))
    insts = load_spec(path, Scenario())
    assert len(insts) == 6
    held = insts[0].scenario
    assert held.server.cost.name == "h100" and held.server.chunk_size == 256
    assert held.ttft_slo == 0.5 and held.tpot_slo == 0.1 and held.score is Score.P99_TTFT
    assert insts[4].size == 200 and insts[4].scenario == Scenario()
    again = load_spec(path, Scenario())
    assert [i.fingerprint for i in again] == [i.fingerprint for i in insts]  # seeded


@pytest.mark.parametrize(("spec", "message"), [
    ({"trace": "nowhere.csv", "rate": 1}, "not found"),
    ({"synthetic": {"requests": 50}, "rate": 1, "load": 0.5}, "not both"),
    ({"synthetic": {"requests": 50}}, "give rates"),
    ({"synthetic": {"requests": 50}, "rate": 1, "scenario": {"chunk": 5}}, "unknown key 'chunk'"),
    ({"synthetic": {"requests": 50}, "rate": 1, "colour": 1}, "unknown key 'colour'"),
    ({"synthetic": {"requests": 50}, "rates": [-1]}, "positive"),
])
def test_workload_file_errors(tmp_path: Path, spec: dict[str, object], message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(spec))
    with pytest.raises(InstanceError, match=message) as info:
        load_spec(path, Scenario())
    assert str(info.value).startswith(str(path))
    path.write_text('{"trace": "a.csv",\n\n "rate": }')
    with pytest.raises(InstanceError, match=r"bad.json:3"):
        load_spec(path, Scenario())


def test_bursty_generator_statistics() -> None:
    family = BurstyFamily(requests=20000, rate=5.0, load=None, cv=3.0)
    (inst,) = generate_set(family, Scenario(), 1, np.random.default_rng(0))
    gaps = np.diff(inst.arrays[0])
    assert gaps.mean() == pytest.approx(0.2, rel=1e-9)  # rescaled to the exact rate
    assert gaps.std() / gaps.mean() == pytest.approx(3.0, rel=0.1)
    # Medians follow the conversation fit (before clipping to the context).
    assert np.median(inst.arrays[1]) == pytest.approx(760, rel=0.05)
    assert np.median(inst.arrays[2]) == pytest.approx(151, rel=0.05)
    a = generate_set(family, Scenario(), 2, np.random.default_rng(1))
    b = generate_set(family, Scenario(), 2, np.random.default_rng(1))
    assert [i.fingerprint for i in a] == [i.fingerprint for i in b]
    with pytest.raises(ValueError, match="exactly one"):
        BurstyFamily(rate=1.0)


def test_server_config_checks() -> None:
    with pytest.raises(ValueError, match=r">= batch_cap"):
        ServerConfig(chunk_size=64, batch_cap=128)
    with pytest.raises(ValueError, match="max_request_tokens"):
        ServerConfig(chunk_size=0, max_batch_tokens=2048)
    assert ServerConfig().watermark_blocks == 76 and ServerConfig().builder == "sarathi"
