"""Re-derive the measured cost terms from Vidur's per-operator profiles.

Vidur (microsoft/vidur, MIT) profiles every operator of a transformer layer for a
range of batched-token counts. The non-attention time of one Llama-2-7B forward
pass is the embedding once plus, per layer (32), the medians of the other
non-attention operators (layer norms, QKV/output projections, rotary embedding,
MLP, residual add) — the recipe of ``cost_model_llama2_7b.json``. Fitting
``base + per_token·N`` for ``N ≥ 256`` and taking the ``N = 1`` time as the floor
reproduces that file's numbers (see ``tests/evaluators/serving/test_cost_model.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from evaluators.base import InstanceError

LAYERS = 32
"""Decoder layers of Llama-2-7B."""


@dataclass(frozen=True)
class NonAttentionFit:
    """``max(floor_ms, base_ms + per_token_ms·N)`` fitted to a profile.

    ``median_rel_error`` and ``max_rel_error`` compare the fit with every profiled
    token count (the largest errors sit at GEMM tile boundaries around N≈136).
    """

    floor_ms: float
    base_ms: float
    per_token_ms: float
    median_rel_error: float
    max_rel_error: float


def nonattn_profile(path: str | Path, tensor_parallel: int = 1) -> dict[int, float]:
    """Token count → non-attention milliseconds of one forward pass.

    Raises
    ------
    InstanceError
        When a column is missing or a value is not a number (file and line named).
    """
    path = Path(path)
    samples: dict[int, list[float]] = {}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            fields = reader.fieldnames or []
            ops = [f[len("time_stats."):-len(".median")] for f in fields
                   if f.startswith("time_stats.") and f.endswith(".median")]
            for needed in ("num_tokens", "num_tensor_parallel_workers", "time_stats.emb.median"):
                if needed not in fields:
                    raise InstanceError(path, f"missing column {needed!r}", line=1)
            for line, row in enumerate(reader, start=2):
                try:
                    if int(row["num_tensor_parallel_workers"]) != tensor_parallel:
                        continue
                    per_layer = sum(float(row[f"time_stats.{op}.median"]) for op in ops
                                    if op != "emb")
                    ms = float(row["time_stats.emb.median"]) + LAYERS * per_layer
                    samples.setdefault(int(row["num_tokens"]), []).append(ms)
                except (TypeError, ValueError) as exc:
                    raise InstanceError(path, f"bad value: {exc}", line=line) from None
    except OSError as exc:
        raise InstanceError(path, f"cannot read: {exc.strerror or exc}") from None
    if not samples:
        raise InstanceError(path, f"no rows with tensor parallelism {tensor_parallel}")
    return {n: float(np.median(v)) for n, v in sorted(samples.items())}


def fit_nonattn(profile: dict[int, float], min_tokens: int = 256) -> NonAttentionFit:
    """Least-squares line over token counts ``≥ min_tokens``; floor = the smallest count's time."""
    tokens = np.array(sorted(profile), dtype=float)
    ms = np.array([profile[int(n)] for n in tokens])
    mask = tokens >= min_tokens
    if mask.sum() < 2:
        raise ValueError(f"need at least two profiled token counts >= {min_tokens}")
    design = np.vstack([np.ones(int(mask.sum())), tokens[mask]]).T
    base, slope = np.linalg.lstsq(design, ms[mask], rcond=None)[0]
    floor = float(ms[0])
    err = np.abs(np.maximum(floor, base + slope * tokens) - ms) / ms
    return NonAttentionFit(floor, float(base), float(slope), float(np.median(err)),
                           float(err.max()))
