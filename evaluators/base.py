"""The problem interface every scheduling problem implements.

A *problem* bundles everything the rest of discover needs to know about one
scheduling problem: how to load and generate instances, which function a
candidate heuristic must define, how to turn the candidate's raw output into
a validated solution, how to score it, which classic heuristics and exact
(or reference) solvers exist, and which seed programs start a search.

The core (loop, sandbox, archive, references, export, prompts, browser) only
talks to :class:`Problem`, and reads no member outside it. A problem may live
in any installed package: :mod:`evaluators.registry` finds it by name (built-in
or the ``discover.problems`` entry-point group), by ``package.module:factory``
or by a path to a ``.py`` file; :class:`evaluators.problem_base.ProblemBase`
supplies defaults for the optional members. See ``docs/problems.md``.

Two shapes of candidate fit this interface:

* *whole-solution* functions (SMTT: ``schedule(p, d) -> list[int]``), where the
  candidate returns a job order directly;
* *policy* functions plugged into a simulator or schedule builder (job shop:
  ``priority(...)`` inside Giffler–Thompson; serving: ``priority(request, state)``).
  The simulator then runs next to the candidate inside the sandbox and the raw
  output is the resulting schedule, which the trusted side validates and scores
  itself.

Either way the sandbox imports the problem's *harness module*
(:attr:`CandidateSpec.harness`), which turns an instance payload into the
candidate's arguments and the candidate's return value into a flat list of
numbers. Nothing else crosses the trust boundary.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import numpy as np

if TYPE_CHECKING:
    from evaluators.contract import ExportContract


class Status(enum.Enum):
    """Outcome of an exact or reference solve (the same meaning for every problem)."""

    OPTIMAL = "optimal"
    """``objective`` is proven optimal."""
    FEASIBLE = "feasible"
    """A solution without a proof, stopped by something other than time (a state
    limit) or produced by a heuristic reference."""
    TIMEOUT = "timeout"
    """The time limit stopped the search before a proof: ``objective`` is the best
    solution found (``inf`` when none), ``lower_bound`` the best proven bound."""
    INFEASIBLE = "infeasible"
    """The solver proved there is no solution."""
    UNKNOWN = "unknown"
    """Stopped without a solution, a proof or a time-out."""


@dataclass(frozen=True)
class Reference:
    """Result of an exact (or reference) solver on one instance.

    Parameters
    ----------
    objective
        Best objective value found (``math.inf`` when none was found).
    lower_bound
        Proven lower bound; equals ``objective`` when the status is optimal.
    status
        How far the solver got.
    method
        Name of the method that produced this result (``"dp"``, ``"mip"``, ...).
    seconds
        Wall-clock time spent.
    nodes
        Search nodes, states or iterations explored, when the method counts them.
    solution
        The job order (or other solution encoding) achieving ``objective``.
    """

    objective: float
    lower_bound: float
    status: Status
    method: str
    seconds: float
    nodes: int | None = None
    solution: tuple[int, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, Status):
            raise TypeError(f"status must be a Status, got {self.status!r}")
        if self.seconds < 0:
            raise ValueError("seconds must be non-negative")
        if (
            self.status is Status.OPTIMAL
            and math.isfinite(self.objective)
            and self.lower_bound > self.objective + 1e-6
        ):
            raise ValueError(
                f"lower bound {self.lower_bound} exceeds objective {self.objective}"
            )

    @property
    def is_optimal(self) -> bool:
        """True when ``objective`` is a proven optimum."""
        return self.status is Status.OPTIMAL


class ReferenceRole(enum.Enum):
    """What a problem's reference values are, which decides how results are labelled.

    (Not :class:`evaluators.bundled.ReferenceKind`, which says how far a bundled
    file's stored values are proven.)

    ``OPTIMUM``: exact optima, or best-known values and bounds of the optimum (SMTT,
    job shop). Results are reported as a *gap* ``100·(H − OPT)/OPT``, and a result
    below a reference is a finding worth flagging (the reference was no optimum).

    ``SCORE``: the score of a reference policy that other policies may beat (serving's
    oracle SRPT). Results are reported as a *ratio* to the *reference score*, never
    as a gap to an optimum.
    """

    OPTIMUM = "optimum"
    SCORE = "score"


def reference_role(problem: Problem[Any]) -> ReferenceRole:
    """``problem.reference_role`` (a protocol member; ``ProblemBase`` defaults it to
    ``OPTIMUM``), accepting its string value too."""
    kind = problem.reference_role
    return kind if isinstance(kind, ReferenceRole) else ReferenceRole(kind)


class FailureReason(enum.Enum):
    """Why a candidate's raw output is not a valid solution."""

    NOT_A_SEQUENCE = "not_a_sequence"
    WRONG_LENGTH = "wrong_length"
    NON_INTEGER = "non_integer"
    NOT_FINITE = "not_finite"
    OUT_OF_RANGE = "out_of_range"
    DUPLICATE = "duplicate"
    MISSING = "missing"
    INFEASIBLE = "infeasible"


@dataclass(frozen=True)
class Failure:
    """A typed rejection of a candidate's raw output."""

    reason: FailureReason
    detail: str

    def __str__(self) -> str:
        return f"{self.reason.value}: {self.detail}"


@dataclass(frozen=True)
class CandidateSpec:
    """What a candidate program must define, for prompts, pre-checks and export.

    Parameters
    ----------
    function_name
        Name of the function the candidate defines (``"schedule"``).
    parameters
        Its parameter names, in order; the pre-check enforces them.
    signature
        The full ``def`` line shown to language models.
    docstring
        The contract: arguments, return value, constraints.
    harness
        Importable module (trusted code) that the sandbox child uses to call the
        candidate; it defines ``call(function, payload) -> list[float]``.
    feature_vocabulary
        Expressions the offline engine may substitute into candidate code, e.g.
        ``("p[j]", "d[j]", "t")`` for SMTT priority expressions.
    allowed_imports
        Modules a candidate may import.
    policy
        True when the function scores one decision inside a simulator or schedule
        builder (job shop's ``priority(...)``) rather than returning a whole
        solution; the offline engine then mutates the returned expression.
    """

    function_name: str
    parameters: tuple[str, ...]
    signature: str
    docstring: str
    harness: str
    feature_vocabulary: tuple[str, ...] = ()
    allowed_imports: tuple[str, ...] = (
        "math",
        "itertools",
        "functools",
        "heapq",
        "bisect",
        "collections",
        "random",
        "fractions",
        "operator",
        "statistics",
        "numpy",
    )
    policy: bool = False
    cost_source: str = ""
    """The objective of a sequence output, stated step by step: source defining
    ``_prepare(*parameters) -> data``, ``_initial(data) -> state`` and
    ``_step(state, job, data) -> (state, cost)``; the objective (lower is better) is
    the sum of the step costs. The problem's definition, not a heuristic: the offline
    engine's structural moves use it for improvement passes. Empty: no such moves."""

    @property
    def harness_package(self) -> str:
        """Top-level package of :attr:`harness`: what the sandbox binds read-only."""
        return self.harness.split(".", 1)[0]

    @property
    def sandbox_packages(self) -> tuple[str, ...]:
        """Top-level packages a sandbox worker for this spec imports: ``evaluators``
        (the worker's own imports need it) and the harness package."""
        return tuple(dict.fromkeys(("evaluators", self.harness_package)))

    def __post_init__(self) -> None:
        if not self.harness or not all(p.isidentifier() for p in self.harness.split(".")):
            raise ValueError(f"harness {self.harness!r} is not a dotted module name")
        if not self.function_name.isidentifier():
            raise ValueError(f"function_name {self.function_name!r} is not an identifier")
        if not all(p.isidentifier() for p in self.parameters):
            raise ValueError(f"parameters {self.parameters!r} must be identifiers")


@dataclass(frozen=True)
class GeneratorSpec:
    """Parameters of a random instance family (interpreted by each problem)."""

    n: int
    count: int = 1
    params: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.n < 1:
            raise ValueError(f"n must be >= 1, got {self.n}")
        if self.count < 1:
            raise ValueError(f"count must be >= 1, got {self.count}")


class InstanceError(ValueError):
    """A problem instance file could not be read.

    The message names the file, the instance (when known) and the line.
    """

    def __init__(
        self,
        path: str | Path,
        message: str,
        *,
        instance: int | str | None = None,
        line: int | None = None,
    ) -> None:
        self.path = str(path)
        self.instance = instance
        self.line = line
        where = self.path
        if line is not None:
            where += f":{line}"
        if instance is not None:
            where += f" (instance {instance})"
        super().__init__(f"{where}: {message}")


InstanceT = TypeVar("InstanceT")

class Problem(Protocol, Generic[InstanceT]):
    """A scheduling problem as the discover core sees it."""

    name: str
    """Short identifier used on the command line (``"smtt"``)."""

    description: str
    """A few sentences for prompts: the problem, the objective, what matters."""

    candidate_spec: CandidateSpec
    seed_programs: Mapping[str, str]
    """Name → source code of programs that start a search."""

    heuristics: Mapping[str, Callable[[InstanceT], Sequence[int]]]
    """Classic heuristics by name (trusted, in-process)."""

    reference_methods: tuple[str, ...]
    """Exact or reference methods accepted by :meth:`reference`."""

    summary_heuristics: tuple[str, ...]
    """Heuristics shown beside discovered programs at the end of a run (empty: all)."""

    run_defaults: Mapping[str, Any]
    """Run-configuration defaults for this problem, as dotted keys
    (``{"evaluation.reference": "cpsat"}``); a configuration file still wins."""

    data_package: str | None
    """Importable package holding a ``bundled`` module (``SETS``, a tuple of
    :class:`evaluators.bundled.BundledSet`) and a ``data/`` directory, or None."""

    reference_role: ReferenceRole
    """Whether references are optima/bounds (gaps) or reference scores (ratios)."""

    config_docs: Mapping[str, str]
    """What run-configuration keys mean for this problem (``discover config``)."""

    def load(self, path: str | Path) -> list[InstanceT]:
        """Read instances from a file, raising :class:`InstanceError` on bad input."""
        ...

    def generate(self, spec: GeneratorSpec, rng: np.random.Generator) -> list[InstanceT]:
        """Draw random instances from a family."""
        ...

    def payload(self, instance: InstanceT) -> dict[str, Any]:
        """JSON-serialisable data the harness turns into the candidate's arguments."""
        ...

    def validate(self, instance: InstanceT, raw_output: object) -> Sequence[int] | Failure:
        """Turn a candidate's raw output into a solution, or explain why not."""
        ...

    def objective(self, instance: InstanceT, solution: Sequence[int]) -> float:
        """Objective value of a validated solution (lower is better)."""
        ...

    def reference(
        self, instance: InstanceT, method: str, time_limit: float | None = None
    ) -> Reference:
        """Solve an instance exactly (or by a reference method)."""
        ...

    def stored_reference(self, instance: InstanceT) -> float | None:
        """Reference value shipped with the instance file, if any."""
        ...

    def baseline_source(self, name: str) -> str:
        """Standalone source (stdlib + numpy only) of a classic heuristic.

        The module defines the candidate function (``candidate_spec``), so an
        exported baseline honours the same contract as a discovered program.
        """
        ...

    def for_heuristic(self, name: str) -> Problem[InstanceT]:
        """This problem configured the way classic heuristic ``name`` needs it
        (a job-shop rule that builds active schedules); usually ``self``."""
        ...

    def reference_heuristic(self, rule: str) -> str:
        """The classic heuristic (a key of :attr:`heuristics`) that discovered programs are
        compared against when the run configuration names reference rule ``rule``
        (``evaluation.runtime_reference``, a seed program's name): the selection split's
        bar, the validation wins/losses and the run summary use it. Usually ``rule``
        itself; a problem whose candidates run differently from the heuristic of the same
        name maps it (``jssp-active``: ``"mwkr"`` → ``"mwkr_active"``, the same rule in
        the active builder its candidates use)."""
        ...

    def standalone_source(self, code: str) -> str:
        """A module that runs candidate ``code`` on its own (``code`` itself for a
        whole-solution function; the simulator plus the policy for a policy)."""
        ...

    def export_contract(self) -> ExportContract:
        """Call adapter, standalone objective and samples for exported modules."""
        ...

    def prompt_template(self) -> str | None:
        """Jinja source of the problem block of every prompt (see
        ``prompts/problems/generic.j2``), or None for the generic block."""
        ...


def relative_gap(value: float, optimum: float) -> float | None:
    """Percentage gap ``100·(value − optimum)/optimum``; ``None`` when optimum ≤ 0.

    The SMTT literature (and the seed paper) averages this only over instances
    with a positive optimum, so a zero optimum yields ``None`` rather than a
    division by zero or an infinite gap.
    """
    if optimum <= 0:
        return None
    return 100.0 * (value - optimum) / optimum
