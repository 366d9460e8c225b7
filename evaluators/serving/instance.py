"""Serving instances: a window of requests plus the server, SLOs and score it is judged by.

Everything that changes a simulation's outcome or its score lives in the instance
and in its fingerprint (the key of the reference cache): the requests, the
server (cost model, KV cache, batch builder) and the scenario (SLO targets,
score metric).
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from evaluators.serving.cost_model import PRESETS, CostModel

SARATHI_CHUNK = 512
"""Sarathi-Serve's token budget per iteration (Vidur's default chunk size)."""


@dataclass(frozen=True)
class ServerConfig:
    """One replica: cost model, KV cache and batch builder.

    Parameters
    ----------
    cost
        Iteration-time model and KV capacity (default: the A100 preset).
    chunk_size
        Batch-builder token budget with chunked prefill (Sarathi-Serve, stall-free
        hybrid batches); ``0`` for vLLM's default builder (whole prompts,
        prefill-only iterations first). Must be ``0`` or at least ``batch_cap``.
    batch_cap
        Most requests running at once (Vidur's default 128).
    max_batch_tokens
        Token budget of a prefill iteration without chunking (vLLM's 4096).
    watermark
        Fraction of KV blocks admission keeps free (vLLM's 0.01).
    max_request_tokens
        Context limit: longer requests have their prompt truncated when loaded
        (Llama-2's 4096).
    """

    cost: CostModel = PRESETS["a100"]
    chunk_size: int = SARATHI_CHUNK
    batch_cap: int = 128
    max_batch_tokens: int = 4096
    watermark: float = 0.01
    max_request_tokens: int = 4096

    def __post_init__(self) -> None:
        for name in ("chunk_size", "batch_cap", "max_batch_tokens", "max_request_tokens"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"{name} must be a non-negative integer, got {value!r}")
        if self.batch_cap < 1 or self.max_batch_tokens < 1 or self.max_request_tokens < 2:
            raise ValueError("batch_cap and max_batch_tokens must be >= 1, "
                             "max_request_tokens >= 2")
        if self.chunk_size and self.chunk_size < self.batch_cap:
            raise ValueError(f"chunk_size {self.chunk_size} must be 0 or >= batch_cap "
                             f"{self.batch_cap} (every decode fits an iteration)")
        if not 0 <= self.watermark < 1:
            raise ValueError(f"watermark must lie in [0, 1), got {self.watermark}")
        if not self.chunk_size and self.max_request_tokens > self.max_batch_tokens + 1:
            raise ValueError("without chunking, max_request_tokens must not exceed "
                             "max_batch_tokens + 1 (a preempted request re-prefills all "
                             "but its last token in one iteration)")
        if self.usable_blocks * self.cost.block_size < self.max_request_tokens:
            raise ValueError("the KV cache cannot hold one request of max_request_tokens")

    @property
    def watermark_blocks(self) -> int:
        """Blocks admission leaves free."""
        return int(self.watermark * self.cost.num_blocks)

    @property
    def usable_blocks(self) -> int:
        """Blocks one request may fill."""
        return self.cost.num_blocks - self.watermark_blocks

    @property
    def builder(self) -> str:
        """``"sarathi"`` with chunked prefill, else ``"vllm"``."""
        return "sarathi" if self.chunk_size else "vllm"

    def with_chunk(self, chunk_size: int) -> ServerConfig:
        """The same server with another batch builder."""
        return ServerConfig(self.cost, chunk_size, self.batch_cap, self.max_batch_tokens,
                            self.watermark, self.max_request_tokens)

    def to_wire(self) -> dict[str, Any]:
        """The simulator's ``server`` payload."""
        return {"block_size": self.cost.block_size, "num_blocks": self.cost.num_blocks,
                "watermark_blocks": self.watermark_blocks, "batch_cap": self.batch_cap,
                "max_batch_tokens": self.max_batch_tokens, "chunk_size": self.chunk_size,
                "cost": self.cost.to_wire()}


class Score(enum.Enum):
    """Which metric is the objective (all lower-is-better)."""

    SLO = "slo"
    """Percentage of requests missing their TTFT or TPOT target (100 − attainment %)."""
    MEAN_LATENCY = "mean_latency"
    P99_LATENCY = "p99_latency"
    MEAN_TTFT = "mean_ttft"
    P99_TTFT = "p99_ttft"
    P99_TPOT = "p99_tpot"


@dataclass(frozen=True)
class Scenario:
    """How a window is served and judged.

    Parameters
    ----------
    server
        The replica.
    ttft_slo, tpot_slo
        Targets in seconds: time to first token, and time per output token after
        the first (``(finish − first token) / (output − 1)``).
    score
        The objective.
    """

    server: ServerConfig = field(default_factory=ServerConfig)
    ttft_slo: float = 1.0
    tpot_slo: float = 0.1
    score: Score = Score.SLO

    def __post_init__(self) -> None:
        if not isinstance(self.score, Score):
            raise TypeError(f"score must be a Score, got {self.score!r}")
        for name in ("ttft_slo", "tpot_slo"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")

    def with_server(self, server: ServerConfig) -> Scenario:
        """The same scenario on another server."""
        return Scenario(server, self.ttft_slo, self.tpot_slo, self.score)

    def describe(self) -> dict[str, Any]:
        """Plain data identifying the scenario (hashed into fingerprints)."""
        return {"server": self.server.to_wire(), "max_request_tokens":
                self.server.max_request_tokens, "ttft_slo": self.ttft_slo,
                "tpot_slo": self.tpot_slo, "score": self.score.value}


@dataclass(frozen=True)
class ServingInstance:
    """A window of requests, sorted by arrival, and its scenario.

    Parameters
    ----------
    arrival
        Arrival times in seconds from the window's start (non-decreasing, ≥ 0).
    prompt, output
        Prompt and output lengths in tokens (≥ 1; ``prompt + output`` within the
        server's ``max_request_tokens``).
    scenario
        Server, SLOs and score.
    name
        Identifier, e.g. ``"conv[0:2000]@4rps"``.
    meta
        Provenance (trace file, window, rate, seed); not hashed.
    """

    arrival: tuple[float, ...]
    prompt: tuple[int, ...]
    output: tuple[int, ...]
    scenario: Scenario = field(default_factory=Scenario)
    name: str = ""
    meta: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        n = len(self.arrival)
        if n == 0 or len(self.prompt) != n or len(self.output) != n:
            raise ValueError(f"{self.name or 'instance'}: arrival, prompt and output must have "
                             "the same, non-zero length")
        arr = np.asarray(self.arrival, dtype=float)
        if not np.all(np.isfinite(arr)) or arr[0] < 0 or np.any(np.diff(arr) < 0):
            raise ValueError(f"{self.name or 'instance'}: arrival times must be finite, "
                             "non-negative and non-decreasing")
        for label, values in (("prompt", self.prompt), ("output", self.output)):
            if any(type(v) is not int for v in values) or min(values) < 1:
                raise ValueError(f"{self.name or 'instance'}: {label} lengths must be ints >= 1")
        limit = self.scenario.server.max_request_tokens
        longest = max(p + d for p, d in zip(self.prompt, self.output, strict=True))
        if longest > limit:
            raise ValueError(f"{self.name or 'instance'}: a request of {longest} tokens exceeds "
                             f"max_request_tokens={limit}")

    @property
    def size(self) -> int:
        """Number of requests."""
        return len(self.arrival)

    @property
    def class_label(self) -> str:
        """Source and rate for per-class reports, e.g. ``"conv@4rps"``."""
        return str(self.meta.get("class", self.name.split("[")[0] or "window"))

    @cached_property
    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``(arrival, prompt, output)`` as read-only numpy arrays."""
        out = (np.asarray(self.arrival, dtype=float), np.asarray(self.prompt, dtype=np.int64),
               np.asarray(self.output, dtype=np.int64))
        for a in out:
            a.setflags(write=False)
        return out

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 of the requests and the scenario."""
        h = hashlib.sha256(b"serving/v1")
        arr, prompt, output = self.arrays
        h.update(np.asarray(arr.size, dtype=np.int64).tobytes())
        h.update(arr.tobytes())
        h.update(prompt.tobytes())
        h.update(output.tobytes())
        h.update(json.dumps(self.scenario.describe(), sort_keys=True).encode())
        return h.hexdigest()

    def payload(self, server: ServerConfig | None = None) -> dict[str, Any]:
        """The simulator's input (plain JSON), on the scenario's server or ``server``.

        ``slo`` (targets and score) is not read by the simulator; it lets a standalone
        module score a run the way discover does.
        """
        s = self.scenario
        return {"arrival": list(self.arrival), "prompt": list(self.prompt),
                "output": list(self.output),
                "server": (server or s.server).to_wire(),
                "slo": {"ttft": s.ttft_slo, "tpot": s.tpot_slo, "score": s.score.value}}

    def with_scenario(self, scenario: Scenario) -> ServingInstance:
        """The same requests judged under another scenario."""
        return ServingInstance(self.arrival, self.prompt, self.output, scenario, self.name,
                               dict(self.meta))
