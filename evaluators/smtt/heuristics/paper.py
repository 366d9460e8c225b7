"""The seed paper's published baseline figures, for reproduction checks.

Mean gaps (%) from Çetinkaya, Büyüktahtakın, Shojaee & Reddy, "Discovering
Heuristics with Large Language Models (LLMs) for Mixed-Integer Programs:
Single-Machine Scheduling" (arXiv 2510.24013), Tables 2–6, as collected in
``benchmarks/README.md``. Gap convention: mean of ``100·(H − OPT)/OPT`` over
instances with ``OPT > 0``, against the optima stored in the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Keys: file stem in benchmarks/smtt/cetinkaya2025; method names as in HEURISTICS.
PAPER_MEAN_GAPS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "n20_uniform": MappingProxyType({
        "edd": 46.61, "eddc": 12.83, "mdd": 1.86, "mddc": 1.70, "psk": 1.77,
        "aug_mdd": 1.21, "aug_mddc": 0.79,
    }),
    "n20_normal": MappingProxyType({
        "edd": 31.94, "eddc": 11.30, "mdd": 2.51, "mddc": 1.71, "psk": 2.41,
    }),
    "n100": MappingProxyType({
        "edd": 59.57, "eddc": 28.12, "mdd": 1.81, "mddc": 1.52, "psk": 1.79,
        "aug_mdd": 1.27, "aug_mddc": 1.08,
    }),
    "n200": MappingProxyType({
        "edd": 62.98, "eddc": 52.02, "mdd": 2.07, "mddc": 2.00, "psk": 1.99,
        "aug_mdd": 1.53, "aug_mddc": 1.44,
    }),
    # The stored n500 values are not optimal (63 of 200 are beaten by MDD); the
    # paper's gaps against them are still reproducible and listed for that.
    "n500": MappingProxyType({
        "edd": 127.50, "eddc": 271.75, "mdd": 48.75, "mddc": 48.40, "psk": 48.74,
        "aug_mdd": 48.15, "aug_mddc": 47.70,
    }),
})

# Paper's mean CPU seconds per instance (MDDC; Branch & Memorize for comparison).
PAPER_SECONDS: Mapping[str, Mapping[str, float]] = MappingProxyType({
    "n200": MappingProxyType({"mddc": 0.00013, "branch_and_memorize": 0.0204}),
    "n500": MappingProxyType({"mddc": 0.00081, "branch_and_memorize": 1.129}),
})

# The paper prints two decimals; issue 2 accepts ±0.01. EDD's tie-break is not
# stated in the paper; ties by job index land within 0.2 of its figures.
GAP_TOLERANCE = 0.01
EDD_GAP_TOLERANCE = 0.2


def tolerance(method: str) -> float:
    """Allowed absolute difference (percentage points) from the paper's mean gap."""
    return EDD_GAP_TOLERANCE if method == "edd" else GAP_TOLERANCE
