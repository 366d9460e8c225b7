"""The permutation flow shop as a discover problem, built only on discover's public API."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import CandidateSpec, Failure, GeneratorSpec, Reference
from evaluators.bundled import expand
from evaluators.contract import ExportContract
from evaluators.problem_base import ProblemBase
from flowshop import baselines, cpsat
from flowshop.contract import CONTRACT
from flowshop.instance import FlowshopInstance
from flowshop.loaders import load_instances
from flowshop.objective import makespan, validate

DESCRIPTION = """\
Permutation flow-shop scheduling (Fm|prmu|Cmax). There are n jobs and m machines; every job
visits machines 0, 1, ..., m-1 in this order, and job j needs p[j][i] time units on machine
i. All machines process the jobs in the same order (a permutation), one job at a time,
without preemption; a job starts on machine i once it has finished on machine i-1 and the
previous job of the order has left machine i. The goal is the order with the smallest
makespan (completion time of the last job on the last machine). The problem is NP-hard
for m >= 3. Good constructive heuristics (NEH: insert jobs by decreasing total time at
their best position; Palmer's slope index; CDS) run in O(n^2 m) or less; heuristics are
scored by their gap to CP-SAT optima on small shops and must stay fast for n up to 500.
"""

SIGNATURE = "def schedule(processing_times: list[list[int]]) -> list[int]:"

DOCSTRING = """\
Return a job order for the permutation flow shop (minimise the makespan).

Args:
    processing_times: processing_times[j][i] is the non-negative integer time of job j
        on machine i; every job visits machines 0..m-1 in order.

Returns:
    A permutation of range(n) (n = len(processing_times)): the order in which every
    machine processes the jobs. Each job index appears exactly once, as a Python int.
"""

SEED_PROGRAMS: Mapping[str, str] = {
    "lpt_total": '''\
def schedule(processing_times):
    """Jobs by decreasing total processing time (NEH's initial order)."""
    p = processing_times
    return sorted(range(len(p)), key=lambda j: (-sum(p[j]), j))
''',
    "palmer": baselines.PALMER.lstrip(),
    "neh": baselines.NEH.lstrip(),
}

FEATURES = (
    "sum(p[j])",
    "p[j][0]",
    "p[j][-1]",
    "max(p[j])",
    "min(p[j])",
    "sum(p[j][: len(p[j]) // 2])",
    "sum(p[j][len(p[j]) // 2 :])",
)

HEURISTICS: Mapping[str, Callable[[FlowshopInstance], Sequence[int]]] = {
    name: (lambda f: lambda inst: f(inst.jobs_major()))(baselines.compile_baseline(name))
    for name in baselines.SOURCES
}


class FlowshopProblem(ProblemBase):
    """Fm|prmu|Cmax, candidates as ``schedule(processing_times)`` functions."""

    name = "flowshop"
    description = DESCRIPTION
    candidate_spec = CandidateSpec(
        function_name="schedule",
        parameters=("processing_times",),
        signature=SIGNATURE,
        docstring=DOCSTRING,
        harness="flowshop.harness",
        feature_vocabulary=FEATURES,
    )
    seed_programs = SEED_PROGRAMS
    heuristics = HEURISTICS
    reference_methods: tuple[str, ...] = (cpsat.METHOD,)
    summary_heuristics = ("neh", "palmer", "cds")
    data_package = "flowshop"
    prompt_package = "flowshop"
    prompt_file = "prompt.j2"
    run_defaults: Mapping[str, Any] = {
        # Small shops CP-SAT solves to optimality in about a second each; validated on
        # Taillard's 20x5 group against optima proven by the same CP-SAT model.
        "evaluation.train_n": 12,
        "evaluation.train_per_class": 16,
        "evaluation.train_params": {"machines": 5},
        "evaluation.reference": cpsat.METHOD,
        "evaluation.reference_time_limit": 10.0,
        "evaluation.probe_count": 4,
        "evaluation.validation": ("flowshop:ta20x5",),
        "evaluation.runtime_reference": "neh",
        "evaluation.candidate_time_limit": 30.0,
    }

    def load(self, path: str | Path) -> list[FlowshopInstance]:
        """Load a JSON or Taillard text file, a directory, or a bundled set
        (``"flowshop:taillard"``; see ``discover datasets``)."""
        return [inst for p in expand(path, self.name) for inst in load_instances(p)]

    def generate(self, spec: GeneratorSpec, rng: np.random.Generator) -> list[FlowshopInstance]:
        """``spec.count`` shops of ``spec.n`` jobs and ``params["machines"]`` (default 5)
        machines, times uniform in ``params["low"]..params["high"]`` (1..99, Taillard's)."""
        params = dict(spec.params)
        m = int(params.get("machines", 5))
        low, high = int(params.get("low", 1)), int(params.get("high", 99))
        if m < 1 or not 0 <= low <= high:
            raise ValueError(f"bad flow-shop family: machines={m}, times {low}..{high}")
        out = []
        for k in range(spec.count):
            times = rng.integers(low, high + 1, size=(m, spec.n))
            out.append(FlowshopInstance(tuple(tuple(int(v) for v in row) for row in times),
                                        name=f"gen-{spec.n}x{m}-{k}"))
        return out

    def payload(self, instance: FlowshopInstance) -> dict[str, Any]:
        """Job-major times (``processing_times[j][i]``), the candidate's view."""
        return {"processing_times": instance.jobs_major()}

    def validate(self, instance: FlowshopInstance, raw_output: object) -> list[int] | Failure:
        """Accept only a permutation of ``0..n-1`` of ints."""
        return validate(instance, raw_output)

    def objective(self, instance: FlowshopInstance, solution: Sequence[int]) -> float:
        """Makespan."""
        return float(makespan(instance, solution))

    def reference(self, instance: FlowshopInstance, method: str,
                  time_limit: float | None = None) -> Reference:
        """CP-SAT (``"cpsat"``): optimal on small shops, NEH-hinted feasible on large ones."""
        if method != cpsat.METHOD:
            raise ValueError(f"unknown reference method {method!r} (use {cpsat.METHOD})")
        return cpsat.solve_cpsat(instance, time_limit)

    def stored_reference(self, instance: FlowshopInstance) -> float | None:
        """The upper bound stored with the instance (proven when it equals the lower bound)."""
        return None if instance.upper_bound is None else float(instance.upper_bound)

    def baseline_source(self, name: str) -> str:
        """Standalone ``schedule(processing_times)`` source of ``neh``, ``palmer`` or ``cds``."""
        try:
            return baselines.SOURCES[name]
        except KeyError:
            raise KeyError(f"unknown baseline {name!r} (known: "
                           f"{', '.join(baselines.SOURCES)})") from None

    def export_contract(self) -> ExportContract:
        """Call adapter, standalone makespan and self-check samples."""
        return CONTRACT
