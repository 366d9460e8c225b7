"""Bundled job-shop sets (``evaluators/jssp/data/scheduleopt``, CC BY-SA 4.0).

Reference values are ScheduleOpt's best known upper bounds (``solutions/bks.json``),
proven optimal for closed instances: a set whose instances are all closed is declared
a proven optimum (the tests check the declaration against ``bks.json``).
"""

from __future__ import annotations

from evaluators.bundled import BundledSet, ReferenceKind

_DIR = "scheduleopt/instances"
_BEST, _OPT = ReferenceKind.BEST_KNOWN, ReferenceKind.PROVEN_OPTIMUM


def _family(name: str, folder: str, description: str, count: int,
            reference: ReferenceKind = _OPT) -> BundledSet:
    return BundledSet("jssp", name, (f"{_DIR}/{folder}",), description, count, reference)


SETS: tuple[BundledSet, ...] = (
    _family("ta", "Taillard1993", "Taillard (1993) ta01-ta80, 15x15 to 100x20", 80, _BEST),
    BundledSet("jssp", "ta51-80",
               tuple(f"{_DIR}/Taillard1993/ta{k:02d}js.txt" for k in range(51, 81)),
               "Taillard's largest shops ta51-ta80 (50x15, 50x20, 100x20)", 30, _OPT),
    BundledSet("jssp", "ta-no16",
               tuple(f"{_DIR}/Taillard1993/ta{k:02d}js.txt" for k in range(1, 81)
                     if k % 10 not in (1, 2)),
               "Taillard's ta01-ta80 without the 16 instances SeEvo reports (ta01, 02, 11, "
               "12, ..., 71, 72: two per size class, a test set that must stay unseen): "
               "jssp's default validation split",
               64, _BEST),
    _family("la", "Lawrence1984", "Lawrence (1984) la01-la40, 10x5 to 30x10", 40),
    _family("ft", "FisherThompson1963", "Fisher & Thompson (1963) ft06, ft10, ft20", 3),
    _family("abz", "AdamsBalasZawack1988", "Adams, Balas & Zawack (1988) abz5-abz9", 5),
    _family("orb", "ApplegateCook1991", "Applegate & Cook (1991) orb01-orb10, 10x10", 10),
    _family("swv", "StorerWuVaccari1992", "Storer, Wu & Vaccari (1992) swv01-swv20", 20,
            _BEST),
    _family("yn", "YamadaNakano1992", "Yamada & Nakano (1992) yn1-yn4, 20x20", 4),
    _family("dmu", "DemirkolMehtaUzsoy1998", "Demirkol, Mehta & Uzsoy (1998) dmu01-dmu80",
            80, _BEST),
    BundledSet("jssp", "all", (_DIR,), "every ScheduleOpt instance above (242)", 242, _BEST),
)
"""Declared sets; the tests check every count against the files."""
