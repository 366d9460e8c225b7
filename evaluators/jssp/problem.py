"""Job shop as a :class:`evaluators.base.Problem`: candidates are dispatching rules.

A candidate defines ``priority(...)``; the Giffler–Thompson builder
(:mod:`evaluators.jssp.builder`) runs it inside the sandbox and returns start
times, which the trusted side validates and scores by makespan.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import CandidateSpec, Failure, GeneratorSpec, Reference, ReferenceRole
from evaluators.bundled import expand
from evaluators.contract import ExportContract
from evaluators.jssp.builder import ACTIVE, FEATURES, NON_DELAY, VARIANTS
from evaluators.jssp.contract import CONTRACT
from evaluators.jssp.export import standalone_source
from evaluators.jssp.generate import TaillardFamily, generate_set
from evaluators.jssp.instance import JsspInstance
from evaluators.jssp.loaders import load_instances
from evaluators.jssp.objective import makespan, validate_schedule
from evaluators.jssp.rules import (
    HEURISTICS,
    RULE_SOURCES,
    SIGNATURE,
    heuristic_name,
    split_heuristic_name,
)
from evaluators.problem_base import ProblemBase

DESCRIPTION = """\
Job-shop scheduling (J||Cmax). There are n jobs and m machines; each job is a chain of m
operations that must run in a fixed order, each on a given machine for a given integer
processing time, one operation at a time per machine, without preemption. The goal is to
minimise the makespan (the time the last operation finishes). The problem is strongly
NP-hard. Schedules are built by the Giffler-Thompson procedure: at every step the builder
finds the operations that compete for the next free machine (the conflict set) and asks a
priority rule to pick one; the smallest priority value wins, ties go to the lowest job
index. A good rule balances the job's remaining work (to avoid a long tail), the
operation's own length and the load of the machine. Rules are scored by the makespan's
gap to the best known value on benchmark-sized instances (15x15 to 100x20); they are
called millions of times, so they must be cheap (no loops over jobs).
"""

DOCSTRING = """\
Return the priority of one operation competing for a machine; the SMALLEST value is
scheduled next (ties go to the lowest job index). All arguments are ints describing the
partial schedule before this decision.

Args:
    p: processing time of this operation.
    est: earliest time it can start (max of job_ready and machine_ready).
    t: decision time, the smallest est among the competing operations.
    job_ready: time the job's previous operation finishes (0 for its first operation).
    work_done: total processing time of the job's operations already scheduled.
    work_remaining: processing time of the job's unscheduled operations, including p.
    ops_remaining: number of the job's unscheduled operations, including this one.
    next_p: processing time of the job's next operation after this one (0 if last).
    machine_ready: time the machine finishes its last scheduled operation.
    machine_work_remaining: unscheduled processing time on this machine, including p.
    machine_ops_remaining: unscheduled operations on this machine, including this one.
    cmax: makespan of the partial schedule so far.
    n_jobs: number of jobs in the instance.
    n_machines: number of machines.
    next_machine_ready: time the machine of the job's next operation finishes its last
        scheduled operation (0 if this is the job's last operation).
    next_machine_queue: processing time of the operations waiting in that machine's queue
        now (0 if this is the job's last operation).

Returns:
    A number (int or float, not NaN). Smaller means scheduled earlier.
"""

SEED_RULES = ("spt", "mwkr", "mopnr", "fdd_mwkr")
SEED_PROGRAMS: Mapping[str, str] = {name: RULE_SOURCES[name] for name in SEED_RULES}

# Terms the offline engine may substitute into priority expressions.
FEATURE_VOCABULARY = (
    *FEATURES,
    "-work_remaining",
    "-ops_remaining",
    "work_done + p",
    "(work_done + p) / max(work_remaining, 1)",
    "p / max(work_remaining, 1)",
    "est - t",
    "machine_work_remaining / max(machine_ops_remaining, 1)",
    "work_remaining - p",
    "p + next_p",
    "next_machine_queue / max(work_remaining, 1)",
    "(est - t) / max(p, 1)",
    "next_machine_ready - t",
)

DEFAULT_MACHINES = 15
# Equal to evaluators.jssp.cpsat.METHOD; that module is imported only when used,
# because OR-Tools takes about a second to import (felt by every CLI start).
CPSAT = "cpsat"
CPSAT_DET = "cpsat_det"  # evaluators.jssp.cpsat.DETERMINISTIC_METHOD


class JsspProblem(ProblemBase):
    """Job shop with makespan objective; candidates are ``priority(...)`` rules.

    Parameters
    ----------
    variant
        Giffler–Thompson variant the sandbox builder uses for candidates:
        ``"non_delay"`` (default) or ``"active"``.
    """

    name = "jssp"
    description = DESCRIPTION
    candidate_spec = CandidateSpec(
        function_name="priority",
        parameters=FEATURES,
        signature=SIGNATURE,
        docstring=DOCSTRING,
        harness="evaluators.jssp.harness",
        feature_vocabulary=FEATURE_VOCABULARY,
        policy=True,
    )
    seed_programs = SEED_PROGRAMS
    heuristics: Mapping[str, Callable[[JsspInstance], Sequence[int]]] = HEURISTICS
    reference_role = ReferenceRole.OPTIMUM
    reference_methods: tuple[str, ...] = (CPSAT, CPSAT_DET)
    summary_heuristics = ("spt", "mwkr", "mopnr", "fdd_mwkr", "mwkr_active", "fdd_mwkr_active")
    """Classic rules shown beside discovered ones at the end of a run."""
    data_package = "evaluators.jssp"
    config_docs: Mapping[str, str] = {
        # What the run configuration's keys mean for the job shop (``discover config``).
        "evaluation.train_n": "Jobs per generated training instance (machines: "
                              "train_params.machines).",
        "evaluation.train_per_class": "Generated training instances in all (the job shop "
                                      "has no instance classes).",
        "evaluation.train_extra_n": "Jobs per instance of a second, larger training family "
                                    "(0: none).",
        "evaluation.train_extra_per_class": "Instances of the larger family (drawn from their "
                                            "own seed).",
        "evaluation.reference": "Reference method for training (cpsat: proven optima, or "
                                "bounds when reference_time_limit stops it; cpsat_det: the "
                                "limit in CP-SAT's deterministic seconds with one worker, so "
                                "a bound does not depend on the machine's load).",
        "evaluation.validation": "Instance files of the validation split (best-known bounds "
                                 "from bks.json).",
        "evaluation.selection_per_class": "Selection instances in all (no instance classes).",
        "evaluation.selection_extra_per_class": "Instances of the second selection family in "
                                                "all (no instance classes).",
        "evaluation.selection_metric": "What ranks them there: ``ratio`` (ΣH/Σref, ties by "
                                       "mean gap) or ``gap`` (mean gap to the optima or "
                                       "bounds).",
    }
    run_defaults: Mapping[str, Any] = {
        # Small training shops that CP-SAT solves to optimality in well under a second,
        # validated on Taillard's 80 instances against their best-known upper bounds.
        "evaluation.train_n": 10,
        "evaluation.train_per_class": 24,
        "evaluation.train_params": {"machines": 10},
        "evaluation.reference": CPSAT,
        "evaluation.reference_time_limit": 10.0,
        "evaluation.probe_count": 4,
        # Taillard's largest shops (50x15, 50x20, 100x20), never seen in training.
        "evaluation.validation": ("jssp:ta-no16",),
        "evaluation.runtime_reference": "mwkr",
        "evaluation.candidate_time_limit": 30.0,
    }

    def __init__(self, variant: str = NON_DELAY) -> None:
        if variant not in VARIANTS:
            raise ValueError(f"unknown builder variant {variant!r} (use {' or '.join(VARIANTS)})")
        self.variant = variant

    def load(self, path: str | Path) -> list[JsspInstance]:
        """Load a standard-format file, every instance file under a directory, or a
        bundled set (``"jssp:ta"``; see ``discover datasets``).

        Bounds are attached from ``solutions/bks.json`` in an ancestor directory.
        """
        return [inst for p in expand(path, self.name) for inst in load_instances(p)]

    def generate(self, spec: GeneratorSpec, rng: np.random.Generator) -> list[JsspInstance]:
        """Taillard-style instances: ``spec.n`` jobs, ``spec.count`` instances.

        ``spec.params`` may set ``machines`` (default ``min(n, 15)``), ``low`` and
        ``high`` (processing-time range, default 1..99).
        """
        params = dict(spec.params)
        family = TaillardFamily(
            n_jobs=spec.n,
            n_machines=int(params.get("machines", min(spec.n, DEFAULT_MACHINES))),
            low=int(params.get("low", 1)),
            high=int(params.get("high", 99)),
        )
        return generate_set(family, spec.count, rng)

    def payload(self, instance: JsspInstance) -> dict[str, Any]:
        """Machine orders, durations and the builder variant for the harness."""
        return {
            "machines": [list(row) for row in instance.machines],
            "durations": [list(row) for row in instance.durations],
            "variant": self.variant,
        }

    def validate(self, instance: JsspInstance, raw_output: object) -> list[int] | Failure:
        """Accept only feasible start times (precedence and machine capacity)."""
        return validate_schedule(instance, raw_output)

    def objective(self, instance: JsspInstance, solution: Sequence[int]) -> float:
        """Makespan of a validated schedule."""
        return float(makespan(instance, solution))

    def reference(
        self, instance: JsspInstance, method: str, time_limit: float | None = None
    ) -> Reference:
        """CP-SAT: ``"cpsat"`` (2 workers, wall-clock limit, default 10 s) or
        ``"cpsat_det"`` (1 worker, deterministic-time limit: the same reference under any
        load, so a run's scores do not depend on the machine when optimality is not
        proven within the limit).
        """
        if method not in self.reference_methods:
            raise KeyError(f"unknown reference method {method!r} "
                           f"(known: {', '.join(self.reference_methods)})")
        from evaluators.jssp.cpsat import solve_cpsat

        return solve_cpsat(instance, time_limit, deterministic=method == CPSAT_DET)

    def stored_reference(self, instance: JsspInstance) -> float | None:
        """Best known makespan (``upper_bound`` in ``bks.json``), if any."""
        return None if instance.upper_bound is None else float(instance.upper_bound)

    def baseline_source(self, name: str) -> str:
        """Standalone module (builder + rule + ``schedule``) of a classic heuristic.

        ``name`` is a heuristic name: ``"mwkr"`` (non-delay) or ``"mwkr_active"``.
        """
        rule_name, variant = split_heuristic_name(name)
        return standalone_source(RULE_SOURCES[rule_name], variant, title=name)

    def for_heuristic(self, name: str) -> JsspProblem:
        """This problem with the builder variant heuristic ``name`` uses."""
        _, variant = split_heuristic_name(name)
        return self if variant == self.variant else JsspProblem(variant)

    def reference_heuristic(self, rule: str) -> str:
        """The classic rule ``rule`` in this problem's builder variant.

        Parameters
        ----------
        rule
            The configured reference rule (``evaluation.runtime_reference``): a rule name
            such as ``"mwkr"``, which is also the seed program the runtime cap times in
            the candidates' builder.

        Returns
        -------
        str
            ``rule`` for the non-delay builder, ``rule + "_active"`` for the active one
            (``"mwkr_active"``), so that candidates are compared with the rule built the
            way they are; a name that is not a bare rule (``"mwkr_active"`` itself, or
            unknown) is returned unchanged.
        """
        return heuristic_name(rule, self.variant) if rule in RULE_SOURCES else rule

    def standalone_source(self, code: str) -> str:
        """Standalone module for a discovered ``priority`` program (export contract)."""
        return standalone_source(code, self.variant)

    def export_contract(self) -> ExportContract:
        """Call adapter (the Giffler-Thompson builder), makespan check, samples."""
        return CONTRACT


ACTIVE_NOTE = """\
This is the ACTIVE variant of the builder: at every step it finds the operation with the
earliest possible completion time C* and its machine; the conflict set is every operation
on that machine that can start before C*, including ones whose job is still busy elsewhere.
A rule may therefore leave the machine idle for a better operation that arrives soon:
``t`` is the earliest start in the conflict set and ``est - t`` is how long the machine
would stay idle if this operation were chosen (0 for an operation that can start now).
A rule that always prefers ``est == t`` never waits; one that penalises ``est - t`` only
lightly can wait for a critical operation instead.
"""

ACTIVE_DESCRIPTION = DESCRIPTION + ACTIVE_NOTE

ACTIVE_DOCSTRING = DOCSTRING.replace(
    "    t: decision time, the smallest est among the competing operations.\n",
    "    t: decision time, the smallest est among the competing operations; est - t is how\n"
    "        long the machine would stay idle if this operation were chosen (the active\n"
    "        builder offers operations that can start before the earliest completion on\n"
    "        the machine, so est - t may be positive).\n",
)

ACTIVE_CONTRACT = dataclasses.replace(
    CONTRACT, problem="jssp-active",
    title="job-shop scheduling (J||Cmax), a priority rule in an active Giffler-Thompson "
          "builder")


class ActiveJsspProblem(JsspProblem):
    """The job shop with the active Giffler–Thompson builder (``--problem jssp-active``).

    The conflict set holds every operation that can start before the earliest completion
    time on the machine, so a rule can leave the machine idle (``est - t``) for a better
    operation; the non-delay builder of ``jssp`` never does. Instances, bundled sets
    (``jssp:...``), references and heuristics are those of ``jssp``; the reference rule
    programs are compared with is the configured one in the active builder
    (:meth:`JsspProblem.reference_heuristic`: ``mwkr`` → ``mwkr_active``).
    """

    name = "jssp-active"
    description = ACTIVE_DESCRIPTION
    candidate_spec = dataclasses.replace(JsspProblem.candidate_spec, docstring=ACTIVE_DOCSTRING)
    summary_heuristics = ("spt_active", "mwkr_active", "mopnr_active", "fdd_mwkr_active",
                          "mwkr", "fdd_mwkr")
    """The classic rules under the active builder, then non-delay mwkr and fdd_mwkr to
    compare with (what a ``jssp`` run shows)."""

    def __init__(self) -> None:
        super().__init__(ACTIVE)

    def export_contract(self) -> ExportContract:
        """The job shop's contract under this problem's name (the builder is the module's
        own ``VARIANT``, "active" in a module exported from this problem)."""
        return ACTIVE_CONTRACT
