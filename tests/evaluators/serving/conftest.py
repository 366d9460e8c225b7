"""Fixtures for the serving tests: trace paths, small servers, payload builders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from evaluators.bundled import data_dir
from evaluators.serving.cost_model import CostModel
from evaluators.serving.instance import Scenario, ServerConfig, ServingInstance


@pytest.fixture(scope="session")
def serving_dir() -> Path:
    """The bundled serving data (``evaluators/serving/data``)."""
    return data_dir("serving")


@pytest.fixture(scope="session")
def conv_csv(serving_dir: Path) -> Path:
    """The Splitwise conversation trace."""
    return serving_dir / "vidur" / "splitwise_conv.csv"


@pytest.fixture(scope="session")
def code_csv(serving_dir: Path) -> Path:
    """The Splitwise code trace."""
    return serving_dir / "vidur" / "splitwise_code.csv"


HAND_REQUESTS = [(0.000, 20, 3), (0.005, 30, 2), (0.010, 5, 2)]
"""Three requests (arrival s, prompt, output) whose timelines are worked out by hand."""


def toy_cost(num_blocks: int = 100, block_size: int = 4, **terms: float) -> CostModel:
    """Iterations of ``max(10, N)`` ms, no attention (numbers easy to follow by hand)."""
    values: dict[str, Any] = {"floor_ms": 10.0, "base_ms": 0.0, "per_token_ms": 1.0,
                              "prefill_attn_ms": 0.0, "decode_attn_ms": 0.0}
    values.update(terms)
    return CostModel("toy", num_blocks=num_blocks, block_size=block_size, **values)


def toy_instance(requests: list[tuple[float, int, int]], *, chunk: int = 0, cap: int = 8,
                 cost: CostModel | None = None, max_batch_tokens: int = 100,
                 watermark: float = 0.0) -> ServingInstance:
    """An instance of ``(arrival s, prompt, output)`` triples on a toy server."""
    cost = cost or toy_cost()
    usable = (cost.num_blocks - int(watermark * cost.num_blocks)) * cost.block_size
    limit = min(usable, max_batch_tokens + 1) if not chunk else usable
    server = ServerConfig(cost, chunk_size=chunk, batch_cap=cap,
                          max_batch_tokens=max_batch_tokens, watermark=watermark,
                          max_request_tokens=limit)
    arr, prompt, out = zip(*requests, strict=True)
    return ServingInstance(tuple(arr), tuple(prompt), tuple(out), Scenario(server), "toy")
