"""Bundled serving data (``evaluators/serving/data``): traces, workloads, cost model, profiles.

Traces are request CSVs (``arrived_at,num_prefill_tokens,num_decode_tokens``);
workloads are JSON descriptions of trace windows (:mod:`evaluators.serving.spec`)
whose references (the oracle policy) are computed when they are loaded.
"""

from __future__ import annotations

from evaluators.bundled import BundledSet, ReferenceKind

_NONE, _COMPUTED = ReferenceKind.NONE, ReferenceKind.COMPUTED
_AZURE = "Azure LLM inference trace 2023 via microsoft/vidur"

SETS: tuple[BundledSet, ...] = (
    BundledSet("serving", "conv", ("vidur/splitwise_conv.csv",),
               f"conversation trace, ~1 h ({_AZURE}); the default training trace", 19366,
               _NONE, "requests"),
    BundledSet("serving", "code", ("vidur/splitwise_code.csv",),
               f"code-completion trace ({_AZURE})", 8819, _NONE, "requests"),
    BundledSet("serving", "conv-first-half", ("workloads/conv_first_half.json",),
               "3 windows of 2000 requests from the conversation trace's first half at "
               "loads 0.9 and 1.0, oracle references", 6, _COMPUTED, "windows"),
    BundledSet("serving", "conv-second-half", ("workloads/conv_second_half.json",),
               "the same from its second half (never trained on): default validation",
               6, _COMPUTED, "windows"),
    BundledSet("serving", "code-windows", ("workloads/code.json",),
               "3 windows of 2000 requests of the code trace at 1 and 2 req/s, oracle "
               "references: default validation", 6, _COMPUTED, "windows"),
    BundledSet("serving", "cost-llama2-7b", ("cost_model_llama2_7b.json",),
               "iteration-time model of Llama-2-7B on A100/H100 (the a100/h100 presets); "
               "use as a scenario's cost", 2, _NONE, "GPUs"),
    BundledSet("serving", "profile-a100", ("vidur/a100_llama2_7b_mlp.csv",),
               "Vidur's per-operator profile of Llama-2-7B on A100 (cost-model fit)", 1044,
               _NONE, "rows"),
    BundledSet("serving", "profile-h100", ("vidur/h100_llama2_7b_mlp.csv",),
               "Vidur's per-operator profile of Llama-2-7B on H100 (cost-model fit)", 1044,
               _NONE, "rows"),
)
"""Declared sets; the tests check every count against the files."""
