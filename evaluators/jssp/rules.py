"""Classic dispatching rules as ``priority(...)`` functions, and heuristics built from them.

Each rule is kept as *source code* in the candidate's own contract (smallest
value wins, ties to the lowest job index) and compiled from that source, so
the trusted heuristic, the seed program shown to a language model and the
exported baseline are literally the same function.

Conventions (the ones that reproduce the published Taillard figures):
MWKR/LWKR use the job's remaining work *including* the operation at hand;
MOPNR counts remaining operations including it; FDD/MWKR is
(work done on the job + p) / (remaining work including p), smallest first;
FIFO serves the operation that has waited longest (earliest ``job_ready``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import partial
from types import MappingProxyType

import numpy as np

from evaluators.jssp.builder import ACTIVE, FEATURES, NON_DELAY, Priority, build
from evaluators.jssp.instance import JsspInstance

SIGNATURE = f"def priority({', '.join(FEATURES)}):"

_RULES: dict[str, tuple[str, str]] = {
    # name: (docstring, body)
    "spt": ("Shortest processing time first.", "return p"),
    "lpt": ("Longest processing time first.", "return -p"),
    "mwkr": ("Most work remaining (including this operation) first.", "return -work_remaining"),
    "lwkr": ("Least work remaining (including this operation) first.", "return work_remaining"),
    "mopnr": ("Most operations remaining (including this one) first.", "return -ops_remaining"),
    "fdd_mwkr": (
        "Flow due date over most work remaining: (work done + p) / remaining work, smallest first.",
        # max(…, 1) only matters for a zero-length last operation (orb07 has one).
        "return (work_done + p) / max(work_remaining, 1)",
    ),
    "fifo": ("First in, first out: the operation that joined the queue earliest.",
             "return job_ready"),
}

_RANDOM_SOURCE = f'''\
import random

_RNG = random.Random(0)


{SIGNATURE}
    """Random dispatching (seeded): a uniform random priority per decision."""
    return _RNG.random()
'''


def _source(doc: str, body: str) -> str:
    return f'{SIGNATURE}\n    """{doc}"""\n    {body}\n'


RULE_SOURCES: Mapping[str, str] = MappingProxyType(
    {**{name: _source(doc, body) for name, (doc, body) in _RULES.items()},
     "random": _RANDOM_SOURCE}
)
"""Rule name → standalone source defining ``priority(...)``."""

RULE_NAMES: tuple[str, ...] = tuple(RULE_SOURCES)


def compile_priority(source: str) -> Priority:
    """Execute trusted rule source in a fresh namespace and return its ``priority``."""
    namespace: dict[str, object] = {"__name__": "jssp_rule"}
    exec(compile(source, "<jssp-rule>", "exec"), namespace)
    fn = namespace.get("priority")
    if not callable(fn):
        raise ValueError("rule source does not define priority(...)")
    return fn


_COMPILED: dict[str, Priority] = {
    name: compile_priority(src) for name, src in RULE_SOURCES.items() if name != "random"
}


def rule(name: str) -> Priority:
    """The compiled priority function of a rule (a fresh seeded one for ``random``)."""
    if name == "random":
        # Fresh module state per call: the same instance always gets the same schedule.
        return compile_priority(RULE_SOURCES["random"])
    try:
        return _COMPILED[name]
    except KeyError:
        raise KeyError(f"unknown rule {name!r} (known: {', '.join(RULE_NAMES)})") from None


def random_priority(rng: np.random.Generator) -> Priority:
    """A priority function returning uniform draws from ``rng`` (for tests and baselines)."""

    def priority(*_features: int) -> float:
        return float(rng.random())

    return priority


def schedule_with(instance: JsspInstance, priority: Priority, variant: str = NON_DELAY
                  ) -> list[int]:
    """Start times (flat, job-major) of ``instance`` built with ``priority``."""
    return build(instance.machines, instance.durations, priority, variant)


def _heuristic(name: str, variant: str, instance: JsspInstance) -> Sequence[int]:
    return schedule_with(instance, rule(name), variant)


def heuristic_name(rule_name: str, variant: str) -> str:
    """``"spt"`` for the non-delay builder, ``"spt_active"`` for the active one."""
    return rule_name if variant == NON_DELAY else f"{rule_name}_{variant}"


HEURISTICS: Mapping[str, Callable[[JsspInstance], Sequence[int]]] = MappingProxyType({
    heuristic_name(name, variant): partial(_heuristic, name, variant)
    for variant in (NON_DELAY, ACTIVE)
    for name in RULE_NAMES
})
"""Heuristic name → ``callable(instance) -> start times``; 8 rules × {non-delay, active}."""


def split_heuristic_name(name: str) -> tuple[str, str]:
    """Inverse of :func:`heuristic_name`: ``"mwkr_active"`` → ``("mwkr", "active")``."""
    if name in RULE_SOURCES:
        return name, NON_DELAY
    suffix = f"_{ACTIVE}"
    if name.endswith(suffix) and name[: -len(suffix)] in RULE_SOURCES:
        return name[: -len(suffix)], ACTIVE
    raise KeyError(f"unknown heuristic {name!r} (known: {', '.join(HEURISTICS)})")
