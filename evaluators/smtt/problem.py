"""SMTT as a :class:`evaluators.base.Problem`: wires instances, heuristics and solvers."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import CandidateSpec, Failure, GeneratorSpec, Reference, ReferenceRole
from evaluators.bundled import expand
from evaluators.contract import ExportContract
from evaluators.problem_base import ProblemBase
from evaluators.smtt.contract import CONTRACT
from evaluators.smtt.exact import REFERENCE_METHODS, solve
from evaluators.smtt.generate import SmttFamily, generate_classes, generate_instance
from evaluators.smtt.heuristics import HEURISTICS, baseline_source
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.loaders import load_instances
from evaluators.smtt.objective import total_tardiness, validate_order

DESCRIPTION = """\
Single-machine total tardiness scheduling (1||ΣTj). There are n jobs, all available at
time 0, to be processed one at a time without preemption on a single machine. Job j has an
integer processing time p[j] > 0 and an integer due date d[j]. For a processing order, the
completion time C[j] of each job is the sum of the processing times up to and including it,
and its tardiness is T[j] = max(0, C[j] - d[j]). The goal is an order that minimises the
total tardiness ΣT[j]. The problem is NP-hard; good constructive rules (EDD, MDD, PSK)
decide at each step which unscheduled job to append next, using the current time t, the
jobs' processing times and due dates, and aggregate statistics of the remaining jobs.
Heuristics are scored by their gap to the exact optimum; they must stay fast
(roughly O(n^2) for n up to 500).
"""

SIGNATURE = "def schedule(processing_times: list[int], due_dates: list[int]) -> list[int]:"

DOCSTRING = """\
Return a processing order for the single-machine total tardiness problem.

Args:
    processing_times: processing_times[j] is the positive integer processing time of job j.
    due_dates: due_dates[j] is the integer due date of job j.

Returns:
    A permutation of range(n) (n = len(processing_times)) listing the jobs in the order
    they are processed. Every job index must appear exactly once, as a Python int.
"""

SEED_PROGRAMS: Mapping[str, str] = {
    "edd": '''\
def schedule(processing_times, due_dates):
    """Earliest due date first (ties by job index)."""
    n = len(processing_times)
    return sorted(range(n), key=lambda j: (due_dates[j], j))
''',
    "spt": '''\
def schedule(processing_times, due_dates):
    """Shortest processing time first (ties by due date)."""
    n = len(processing_times)
    return sorted(range(n), key=lambda j: (processing_times[j], due_dates[j], j))
''',
    "mdd": '''\
def schedule(processing_times, due_dates):
    """Modified due date: repeatedly append the job with the smallest max(t + p, d)."""
    n = len(processing_times)
    remaining = list(range(n))
    order = []
    t = 0
    while remaining:
        best = min(remaining, key=lambda j: (max(t + processing_times[j], due_dates[j]), j))
        remaining.remove(best)
        order.append(best)
        t += processing_times[best]
    return order
''',
}

#: The objective (total tardiness: each job's tardiness as the clock advances), for the
#: offline engine's improvement passes: the problem's definition, not a heuristic.
COST_SOURCE = '''\
def _prepare(processing_times, due_dates):
    return processing_times, due_dates


def _initial(data):
    return 0


def _step(state, job, data):
    processing_times, due_dates = data
    t = state + processing_times[job]
    return t, max(0, t - due_dates[job])
'''

FEATURES = (
    "t",                      # current time (sum of scheduled processing times)
    "p[j]",                   # processing time of the job considered
    "d[j]",                   # due date of the job considered
    "max(t + p[j], d[j])",    # modified due date
    "max(0, d[j] - t)",       # time to due date
    "max(0, d[j] - t - p[j])",  # slack
    "p_max",                  # largest remaining processing time
    "p_mean",                 # mean remaining processing time
    "p_total",                # total remaining processing time
    "n_left",                 # jobs remaining
    # Descriptors of the whole instance, computed once per run of the rule: the
    # tardiness factor and the relative range of due dates (Potts & Van Wassenhove's
    # TF and RDD, estimated from the data).
    "1 - d_mean_all / p_total_all",
    "(d_max_all - d_min_all) / p_total_all",
)


class SmttProblem(ProblemBase):
    """Single-machine total tardiness, candidates as ``schedule(p, d)`` functions."""

    name = "smtt"
    description = DESCRIPTION
    candidate_spec = CandidateSpec(
        function_name="schedule",
        parameters=("processing_times", "due_dates"),
        signature=SIGNATURE,
        docstring=DOCSTRING,
        harness="evaluators.smtt.harness",
        feature_vocabulary=FEATURES,
        cost_source=COST_SOURCE,
    )
    seed_programs = SEED_PROGRAMS
    heuristics: Mapping[str, Callable[[SmttInstance], Sequence[int]]] = HEURISTICS
    reference_role = ReferenceRole.OPTIMUM
    reference_methods = REFERENCE_METHODS
    summary_heuristics = ("edd", "mdd", "psk", "eddc", "mddc", "aug_mddc")
    """Classic rules shown beside discovered ones at the end of a run."""
    data_package = "evaluators.smtt"
    prompt_package = "prompts"
    prompt_file = "problems/smtt.j2"
    run_defaults: Mapping[str, Any] = {
        # 400 training instances of n = 20: with 100, the search fits their few tiny
        # optima (0.83 % training gap, 1.74-1.80 % on n100.json for the 30 best).
        # Branch and bound proves their optima faster than the DP does.
        "evaluation.train_per_class": 20,
        "evaluation.reference": "exact",
        # Training across sizes (B&B optima, milliseconds each, cached): a rule tuned to
        # n = 20 only scored 0.86 % there and 1.78 % on n100.json. Classes stay balanced
        # within each size; the score mixes the mean gap with the aggregate gap, each
        # taken per size and averaged over the sizes (the mean gap alone is dominated by
        # tiny optima at n = 20). Pooled over the 480 instances ("mix"), the mean gap is
        # the n = 20 one: among the 40 best training programs of each of five budget-2000
        # runs, the n = 20 mean gap ranks them against their gaps on generated n = 100/200
        # sets (Spearman -0.23/-0.19 on average), "mix" barely (-0.03/+0.29), "balanced"
        # with them (+0.30/+0.62). Study: docs/offline-engine.md, *the score*.
        "evaluation.train_sizes": (50, 100),
        "evaluation.train_sizes_per_class": 2,
        "evaluation.score": "balanced",
        # Ten probe instances per size: a sharper behavioural fingerprint (fewer
        # programs wrongly taken for duplicates) and the numeric tuner's objective.
        "evaluation.probe_count": 30,
        # Which of the best training programs are validated and exported is decided on
        # generated instances larger than any training one (n = 200), exact optima:
        # the training ranking does not fully carry over. Never the validation files.
        # Plus 10 per class at n = 100 (B&B: 0.4 s for all 200): 3 per class at n = 200
        # miss the rare low-tardiness instances with tiny optima that decide the mean
        # gap of fresh sets (issue 16, seed 3: the winner lost to MDDC's mean gap at
        # n = 100-500; replayed with this split, seeds 1-3 export winners that beat it).
        "evaluation.selection_n": 200,
        "evaluation.selection_per_class": 3,
        "evaluation.selection_extra_n": 100,
        "evaluation.selection_extra_per_class": 10,
        "evaluation.selection_top": 20,
        # The runtime gate at scale: at most twice MDD's steps on three n = 300
        # instances. The training set's time is dominated by n = 20 and start-up, and
        # let through winners at 18-33x MDDC's time per instance at n = 500 (wide
        # improvement passes, pool sums recomputed for every decision). Steps (bytecode
        # instructions per line run) come to about 0.75 of the CPU-time ratio. Seed 1 at
        # budget 2000: cap 1.5 rejected 56 % of the evaluations and its winner scored
        # 1.10 % on n100.json; cap 2.0 rejected 30 %, 0.85 %, at 9.8x MDDC's time at n = 500.
        "evaluation.timing_n": 300,
        "evaluation.timing_count": 3,
        "evaluation.timing_cap": 2.0,
    }

    def load(self, path: str | Path) -> list[SmttInstance]:
        """Load instances from a JSON, OR-Library or plain-text file, or a bundled set
        (``"smtt:n100"``; see ``discover datasets``)."""
        return [inst for p in expand(path, self.name) for inst in load_instances(p)]

    def generate(self, spec: GeneratorSpec, rng: np.random.Generator) -> list[SmttInstance]:
        """Draw instances; ``spec.params`` may set ``rdd``/``tf`` or ``classes=True``.

        With ``classes=True`` (the default when neither ``rdd`` nor ``tf`` is given),
        ``spec.count`` instances are drawn for each of the 20 (RDD, TF) classes.
        """
        params = dict(spec.params)
        distribution = str(params.get("distribution", "uniform"))
        weighted = bool(params.get("weighted", False))
        if "rdd" in params or "tf" in params:
            family = SmttFamily(spec.n, float(params.get("rdd", 0.6)),
                                float(params.get("tf", 0.6)), distribution, weighted)
            return [generate_instance(family, rng, f"gen-n{spec.n}-{k}")
                    for k in range(spec.count)]
        return generate_classes(spec.n, spec.count, rng, distribution=distribution,
                                weighted=weighted)

    def payload(self, instance: SmttInstance) -> dict[str, Any]:
        """Plain lists for the harness (weights are not part of the contract)."""
        return {
            "processing_times": list(instance.processing_times),
            "due_dates": list(instance.due_dates),
        }

    def validate(self, instance: SmttInstance, raw_output: object) -> list[int] | Failure:
        """Accept only a permutation of ``0..n-1`` of integers."""
        return validate_order(instance.size, raw_output)

    def objective(self, instance: SmttInstance, solution: Sequence[int]) -> float:
        """Total (weighted) tardiness."""
        return float(total_tardiness(instance, solution))

    def reference(
        self, instance: SmttInstance, method: str, time_limit: float | None = None
    ) -> Reference:
        """Solve exactly with ``method`` (see :data:`REFERENCE_METHODS`)."""
        return solve(instance, method, time_limit=time_limit)

    def baseline_source(self, name: str) -> str:
        """Standalone ``schedule(processing_times, due_dates)`` source of a heuristic."""
        return baseline_source(name)

    def stored_reference(self, instance: SmttInstance) -> float | None:
        """The optimum stored in the instance file, if any."""
        return None if instance.optimum is None else float(instance.optimum)

    def export_contract(self) -> ExportContract:
        """Call adapter, standalone total-tardiness objective and self-check samples."""
        return CONTRACT
