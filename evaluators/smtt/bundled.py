"""Bundled SMTT sets (``evaluators/smtt/data``); see each directory's README for provenance."""

from __future__ import annotations

from evaluators.bundled import BundledSet, ReferenceKind

_PAPER = "Cetinkaya et al. 2025"
_OPT, _BEST = ReferenceKind.PROVEN_OPTIMUM, ReferenceKind.BEST_KNOWN

SETS: tuple[BundledSet, ...] = (
    BundledSet("smtt", "n20_uniform", ("cetinkaya2025/n20_uniform.json",),
               f"n=20, p ~ U(1,100), 40 per (RDD, TF) class; {_PAPER} Table 2", 800, _OPT),
    BundledSet("smtt", "n20_normal", ("cetinkaya2025/n20_normal.json",),
               f"n=20, p ~ Normal(60,20): the 675 instances with positive processing times; "
               f"{_PAPER} Table 3", 675, _OPT),
    BundledSet("smtt", "n20_normal_paper", ("cetinkaya2025/original/n20_normal.json",),
               "the published n20_normal file: 125 of its 800 instances have p <= 0, which "
               "the loaders reject (reproduction scripts read it raw)", 800, _OPT),
    BundledSet("smtt", "n100", ("cetinkaya2025/n100.json",),
               f"n=100, p ~ U(1,100), 10 per class; {_PAPER} Table 4", 200, _OPT),
    BundledSet("smtt", "n200", ("cetinkaya2025/n200.json",),
               f"n=200, p ~ U(1,100), 10 per class; {_PAPER} Table 5", 200, _OPT),
    BundledSet("smtt", "n500", ("cetinkaya2025/n500.json",),
               f"n=500, 10 per class; {_PAPER} Table 6, optima proven here by branch and "
               "bound (143 of the paper's values corrected)", 200, _OPT),
    BundledSet("smtt", "n500_paper", ("cetinkaya2025/original/n500.json",),
               "the same n=500 instances with the paper's stored values, as published "
               "(misaligned: not optima)", 200, ReferenceKind.PUBLISHED),
    BundledSet("smtt", "wt40", ("orlib-wt/wt40.txt",),
               "OR-Library weighted tardiness, n=40 (weights); optima, no. 19 best known",
               125, _BEST),
    BundledSet("smtt", "wt50", ("orlib-wt/wt50.txt",),
               "OR-Library weighted tardiness, n=50 (weights); optima, 10 best known",
               125, _BEST),
    BundledSet("smtt", "wt100", ("orlib-wt/wt100.txt",),
               "OR-Library weighted tardiness, n=100 (weights); best known (wtbest100b)",
               125, _BEST),
)
"""Declared sets; the tests check every count against the files."""
