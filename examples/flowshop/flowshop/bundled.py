"""Bundled sets: Taillard's 120 flow-shop instances, regenerated from his seeds.

The files under ``data/taillard`` hold only names, sizes and seeds; the loader
regenerates the processing times with Taillard's generator. No upper bounds are
shipped for the Taillard set (we know of none under a licence we can state);
``ta20x5`` carries optima we proved ourselves with CP-SAT (``flowshop.cpsat``).
"""

from __future__ import annotations

from evaluators.bundled import BundledSet, ReferenceKind

_D = "taillard"
_GROUPS = (("20x5", "001-010"), ("20x10", "011-020"), ("20x20", "021-030"),
           ("50x5", "031-040"), ("50x10", "041-050"), ("50x20", "051-060"),
           ("100x5", "061-070"), ("100x10", "071-080"), ("100x20", "081-090"),
           ("200x10", "091-100"), ("200x20", "101-110"), ("500x20", "111-120"))

SETS: tuple[BundledSet, ...] = (
    BundledSet("flowshop", "taillard", (_D,), "Taillard (1993) ta001-ta120, 20x5 to 500x20, "
               "regenerated from the published seeds", 120, ReferenceKind.NONE),
    *(BundledSet("flowshop", f"ta{size}", (f"{_D}/ta{numbers}_{size}.json",),
                 f"Taillard (1993) ta{numbers.replace('-', '-ta')}, {size}"
                 + (", bounds from our CP-SAT runs (9 of 10 proven)" if size == "20x5" else ""),
                 10, ReferenceKind.BEST_KNOWN if size == "20x5" else ReferenceKind.NONE)
      for size, numbers in _GROUPS),
)
