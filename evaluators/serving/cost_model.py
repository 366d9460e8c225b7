"""Iteration-time cost model of one GPU replica: which terms are measured, which estimated.

One iteration (forward pass) over ``N`` batched tokens takes, in milliseconds::

    max(floor_ms, base_ms + per_token_ms · N)              # non-attention layers
    + decode_attn_ms · Σ (ctx + 1)   over decoding requests  # KV reads
    + prefill_attn_ms · Σ c · (2·k + c)  over prefill chunks  # causal attention FLOPs

where ``ctx`` is a decoding request's KV tokens and a prefill chunk of ``c`` tokens
starts at offset ``k`` (a whole prompt of ``p`` tokens costs ``prefill_attn_ms · p²``,
and its chunks add up to the same). The KV cache holds ``num_blocks`` blocks of
``block_size`` tokens.

Presets (Llama-2-7B, tensor parallelism 1, from the bundled
``serving:cost-llama2-7b``, ``evaluators/serving/data/cost_model_llama2_7b.json``):

==========  =======================================  =========================================
term        A100-80GB                                H100-80GB
==========  =======================================  =========================================
non-attn.   **measured**: fitted to Vidur's profiles  **measured**: same recipe
            (9.3 floor, 2.25 + 0.0641·N ms)           (5.6 floor, 2.91 + 0.0202·N ms)
prefill     *estimate* (file): 1.3e-6·p² ms, a       *estimate* (here): A100 value × 200/633,
attention   roofline at 200 TFLOP/s                  the same 64 % of the 989 TFLOP/s peak
decode      *estimate* (file): 0.26 ms per 1000 KV   *estimate* (here): A100 value × 2.0/3.35,
attention   tokens (0.5 MiB/token at 2 TB/s)          HBM3 at 3.35 TB/s
KV blocks   *estimate* (file): 7609 blocks of 16     *estimate*: same 80 GB, same model → 7609
            (80 GiB, 10 % margin, minus weights)
==========  =======================================  =========================================

The measured terms are re-derived from the raw Vidur CSVs by
:mod:`evaluators.serving.profiling` (and tested against them). A user cost model is
a JSON object with the fields of :class:`CostModel` (``provenance`` optional).
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from evaluators.base import InstanceError
from evaluators.bundled import resolve_file

TERMS = ("floor_ms", "base_ms", "per_token_ms", "prefill_attn_ms", "decode_attn_ms",
         "num_blocks")


class Provenance(enum.Enum):
    """Where a cost term comes from."""

    MEASURED = "measured"
    ESTIMATED = "estimated"
    USER = "user"


@dataclass(frozen=True)
class CostModel:
    """Iteration-time model and KV capacity of one GPU.

    Parameters
    ----------
    name
        Identifier (``"a100"``, ``"h100"`` or the user's).
    floor_ms, base_ms, per_token_ms
        Non-attention time ``max(floor_ms, base_ms + per_token_ms·N)`` for ``N`` tokens.
    prefill_attn_ms
        Prefill attention per unit of ``c·(2k + c)`` (chunk ``c`` at offset ``k``).
    decode_attn_ms
        Decode attention per KV token read.
    num_blocks
        KV-cache blocks.
    block_size
        Tokens per block.
    provenance
        Term name → :class:`Provenance`.
    source
        Where the numbers come from (free text).
    """

    name: str
    floor_ms: float
    base_ms: float
    per_token_ms: float
    prefill_attn_ms: float
    decode_attn_ms: float
    num_blocks: int
    block_size: int = 16
    provenance: Mapping[str, Provenance] = field(default_factory=dict, compare=False,
                                                  hash=False)
    source: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        for term in ("floor_ms", "base_ms", "per_token_ms", "prefill_attn_ms",
                     "decode_attn_ms"):
            value = getattr(self, term)
            if isinstance(value, bool) or not isinstance(value, (int, float)) \
                    or not math.isfinite(value) or value < 0:
                raise ValueError(f"cost model {self.name!r}: {term} must be a finite number "
                                 f">= 0, got {value!r}")
        if self.floor_ms <= 0 and self.per_token_ms <= 0:
            raise ValueError(f"cost model {self.name!r}: iterations must take time "
                             "(floor_ms or per_token_ms > 0)")
        for term in ("num_blocks", "block_size"):
            value = getattr(self, term)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ValueError(f"cost model {self.name!r}: {term} must be a positive integer, "
                                 f"got {value!r}")
        for term, prov in self.provenance.items():
            if term not in TERMS or not isinstance(prov, Provenance):
                raise ValueError(f"cost model {self.name!r}: bad provenance {term!r}: {prov!r}")
        # A private copy (a plain dict: instances travel to worker processes by pickle).
        object.__setattr__(self, "provenance", dict(self.provenance))

    def nonattn_ms(self, tokens: int) -> float:
        """Non-attention time of an iteration over ``tokens`` tokens."""
        return max(self.floor_ms, self.base_ms + self.per_token_ms * tokens)

    def iteration_ms(self, decode_ctx: list[int] | tuple[int, ...] = (),
                     chunks: list[tuple[int, int]] | tuple[tuple[int, int], ...] = ()) -> float:
        """Duration of one iteration (reference formula for tests and reports).

        ``decode_ctx`` lists each decoding request's KV tokens before the step;
        ``chunks`` lists ``(chunk tokens, offset)`` of each prefill chunk.
        """
        tokens = len(decode_ctx) + sum(c for c, _ in chunks)
        return (self.nonattn_ms(tokens) + self.decode_attn_ms * sum(c + 1 for c in decode_ctx)
                + self.prefill_attn_ms * sum(c * (2 * k + c) for c, k in chunks))

    def to_wire(self) -> dict[str, float]:
        """The numbers the simulator needs (plain JSON)."""
        return {"floor_ms": float(self.floor_ms), "base_ms": float(self.base_ms),
                "per_token_ms": float(self.per_token_ms),
                "prefill_attn_ms": float(self.prefill_attn_ms),
                "decode_attn_ms": float(self.decode_attn_ms)}

    def as_dict(self) -> dict[str, Any]:
        """JSON form, readable back by :func:`load_cost_model`."""
        return {"name": self.name, **self.to_wire(), "num_blocks": self.num_blocks,
                "block_size": self.block_size,
                "provenance": {k: v.value for k, v in self.provenance.items()},
                "source": self.source}


_M, _E = Provenance.MEASURED, Provenance.ESTIMATED
_SHARED = "serving:cost-llama2-7b"

# A100 roofline assumptions of the bundled file (prefill at 200 TFLOP/s, decode at
# 2 TB/s) carried over to the H100 SXM at the same efficiency: 64 % of its 989
# TFLOP/s dense BF16 peak (= 633) and its 3.35 TB/s HBM3.
_H100_FLOP_RATIO = 200.0 / (0.64 * 989.0)
_H100_BW_RATIO = 2.0 / 3.35

PRESETS: Mapping[str, CostModel] = MappingProxyType({
    "a100": CostModel(
        "a100", floor_ms=9.3, base_ms=2.25, per_token_ms=0.0641, prefill_attn_ms=1.3e-6,
        decode_attn_ms=0.26e-3, num_blocks=7609, block_size=16,
        provenance={"floor_ms": _M, "base_ms": _M, "per_token_ms": _M,
                    "prefill_attn_ms": _E, "decode_attn_ms": _E, "num_blocks": _E},
        source=f"{_SHARED} llama2_7b_a100_80gb (non-attention fitted to Vidur's A100 "
               "profiles; attention and KV capacity estimated in that file)"),
    "h100": CostModel(
        "h100", floor_ms=5.6, base_ms=2.91, per_token_ms=0.0202,
        prefill_attn_ms=1.3e-6 * _H100_FLOP_RATIO, decode_attn_ms=0.26e-3 * _H100_BW_RATIO,
        num_blocks=7609, block_size=16,
        provenance={"floor_ms": _M, "base_ms": _M, "per_token_ms": _M,
                    "prefill_attn_ms": _E, "decode_attn_ms": _E, "num_blocks": _E},
        source=f"{_SHARED} llama2_7b_h100_80gb (non-attention fitted to Vidur's H100 "
               "profiles); attention scaled here from the A100 roofline by peak FLOP/s and "
               "HBM bandwidth; KV capacity as the A100 (80 GB)"),
})
"""Built-in cost models by name."""


def cost_model(spec: str | Path | CostModel) -> CostModel:
    """A preset by name (``"a100"``, ``"h100"``), a bundled cost model
    (``"serving:cost-llama2-7b"``) or a cost model read from a JSON file."""
    if isinstance(spec, CostModel):
        return spec
    key = str(spec).lower()
    if key in PRESETS:
        return PRESETS[key]
    path = resolve_file(spec, "serving") if isinstance(spec, str) else Path(spec)
    if not path.is_file():
        raise ValueError(f"unknown cost model {spec!r}: not a preset ({', '.join(PRESETS)}) "
                         "nor a JSON file")
    return load_cost_model(path)


def load_cost_model(path: str | Path, key: str | None = None) -> CostModel:
    """Read a cost model from JSON.

    Two layouts are accepted: a flat object with the :class:`CostModel` fields
    (the user format), or the bundled ``serving:cost-llama2-7b`` layout, where ``key`` picks a GPU
    (``"llama2_7b_a100_80gb"``; default: the first GPU entry) and the formula
    strings are parsed (terms the entry lacks raise :class:`InstanceError`).

    Raises
    ------
    InstanceError
        Naming the file (and line, for JSON syntax errors) and the offending field.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InstanceError(path, f"invalid JSON: {exc.msg}", line=exc.lineno) from None
    except OSError as exc:
        raise InstanceError(path, f"cannot read: {exc.strerror or exc}") from None
    if not isinstance(data, dict):
        raise InstanceError(path, "a cost model must be a JSON object")
    if "floor_ms" in data:
        return _flat(path, data)
    gpus = [k for k, v in data.items() if isinstance(v, dict) and any(
        name.startswith("nonattn_iter_ms") for name in v)]
    if not gpus:
        raise InstanceError(path, "neither a flat cost model (floor_ms, ...) nor a file with "
                            "per-GPU entries holding nonattn_iter_ms")
    chosen = key or gpus[0]
    if chosen not in gpus:
        raise InstanceError(path, f"no GPU entry {chosen!r} (entries: {', '.join(gpus)})")
    return _from_shared(path, chosen, data[chosen])


def _flat(path: Path, data: dict[str, Any]) -> CostModel:
    known = {*TERMS, "name", "block_size", "provenance", "source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise InstanceError(path, f"unknown field {unknown[0]!r} "
                            f"(known: {', '.join(sorted(known))})")
    missing = [t for t in TERMS if t not in data]
    if missing:
        raise InstanceError(path, f"missing field {missing[0]!r}")
    try:
        provenance = {k: Provenance(v) for k, v in dict(data.get("provenance", {})).items()}
        return CostModel(
            name=str(data.get("name", path.stem)), **{t: data[t] for t in TERMS},
            block_size=data.get("block_size", 16),
            provenance=provenance or dict.fromkeys(TERMS, Provenance.USER),
            source=str(data.get("source", str(path))))
    except (ValueError, TypeError) as exc:
        raise InstanceError(path, str(exc)) from None


_NONATTN = re.compile(r"max\(\s*([\d.eE+-]+)\s*,\s*([\d.eE+-]+)\s*\+\s*([\d.eE+-]+)\s*\*\s*N\s*\)")
_PREFILL = re.compile(r"([\d.]+e-?\d+)\s*\*\s*p\^2")
_DECODE = re.compile(r"([\d.]+)\s*ms per 1000 KV tokens")


def _from_shared(path: Path, key: str, entry: dict[str, Any]) -> CostModel:
    def find(prefix: str, pattern: re.Pattern[str]) -> re.Match[str]:
        for name, value in entry.items():
            if name.startswith(prefix) and isinstance(value, str):
                match = pattern.search(value)
                if match:
                    return match
        raise InstanceError(path, f"{key}: no parsable {prefix!r} term", instance=key)

    floor, base, slope = (float(v) for v in find("nonattn_iter_ms", _NONATTN).groups())
    prefill = float(find("prefill_attention", _PREFILL).group(1))
    decode = float(find("decode_attention", _DECODE).group(1)) / 1000.0
    blocks = entry.get("kv_blocks_16")
    if not isinstance(blocks, int):
        raise InstanceError(path, f"{key}: no integer kv_blocks_16", instance=key)
    return CostModel(
        name=key, floor_ms=floor, base_ms=base, per_token_ms=slope, prefill_attn_ms=prefill,
        decode_attn_ms=decode, num_blocks=blocks, block_size=16,
        provenance={"floor_ms": _M, "base_ms": _M, "per_token_ms": _M,
                    "prefill_attn_ms": _E, "decode_attn_ms": _E, "num_blocks": _E},
        source=f"{path} {key}")
