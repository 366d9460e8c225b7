"""What callers write into the archive: enums and frozen, validated dataclasses.

These types are the archive's public vocabulary. The store accepts them and its
queries return them (wrapped in the views of :mod:`archive.views`), so a value
written is read back equal; ORM rows never leave :mod:`archive`.

The archive imports neither the sandbox nor the evaluators (see the package
table in ``docs/architecture.md``), so statuses that originate there are
mirrored here. :class:`EvaluationStatus` is the one vocabulary of a candidate's
verdict (cascade, archive, events); the sandbox's ``OutcomeStatus`` maps onto it
through one table, :data:`discover.search.cascade.SANDBOX_STATUS`. ``ReferenceStatus``
has the values of ``evaluators.base.Status``; tests/test_vocabulary.py keeps
both mirrors in step.
"""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field

from archive.hashing import code_hash as _code_hash
from archive.redact import redact

_INT32_MAX = 2**31 - 1  # INTEGER columns are 32-bit on PostgreSQL
_MAX_TOKENS = 10**12  # far above any call, and sums of many stay within 64 bits
HASH_LENGTH = 128
"""Longest code/behaviour hash or instance fingerprint (indexed columns need a bound)."""
METHOD_LENGTH = 64
"""Longest reference-method name."""


class Split(enum.Enum):
    """Which instance set an evaluation used."""

    TRAIN = "train"
    VALIDATION = "validation"
    TEST = "test"


class EvaluationStatus(enum.Enum):
    """The verdict on a candidate: the vocabulary shared by cascade, archive and events.

    The sandbox's failure kinds keep their names; ``REJECTED`` is the
    pre-check's ``precheck_failed`` and ``TOO_SLOW`` the cascade's own verdict.
    """

    OK = "ok"
    """Scored: a valid output on every instance."""
    INVALID_OUTPUT = "invalid_output"
    """An output could not be sent, was too large, or failed validation."""
    EXCEPTION = "exception"
    """The candidate raised."""
    TIMEOUT = "timeout"
    """The sandbox's wall-clock deadline (or CPU limit) was hit."""
    MEMORY = "memory"
    """The candidate ran out of its memory allowance."""
    CRASHED = "crashed"
    """The child died, or the evaluation failed on the trusted side."""
    FORBIDDEN = "forbidden"
    """The candidate tried something the sandbox refuses."""
    REJECTED = "rejected"
    """Stopped before running by the pre-check (syntax, forbidden import, missing function)."""
    TOO_SLOW = "too_slow"
    """Ran within its deadline but slower than the run's runtime cap (before revision
    0003 these were archived as ``timeout``)."""
    CANCELLED = "cancelled"
    """Cut unfinished when the run stopped (its time limit): says nothing of the candidate.
    (Statuses are stored as text without a CHECK constraint: no revision was needed.)"""


class RunStatus(enum.Enum):
    """Lifecycle of a run. A killed process leaves ``RUNNING`` behind; resume reopens."""

    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    INTERRUPTED = "interrupted"


class EdgeRole(enum.Enum):
    """How a parent took part in producing a child."""

    MUTATION = "mutation"
    """The child is an edit of this single parent."""
    CROSSOVER = "crossover"
    """The child combines this parent with others (order = list order)."""
    INSPIRATION = "inspiration"
    """The parent was shown in the prompt as an example, not edited."""


class ReferenceStatus(enum.Enum):
    """How far a reference solve got: the values of ``evaluators.base.Status``.

    The archive cannot import the evaluators; a test checks the two stay equal.
    """

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    TIMEOUT = "timeout"
    INFEASIBLE = "infeasible"
    UNKNOWN = "unknown"


def _check_finite(name: str, value: float | None) -> None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{name} must be finite or None, got {value!r}")


def _check_count(name: str, value: int | None, limit: int) -> None:
    if value is not None and not 0 <= value <= limit:
        raise ValueError(f"{name} must lie in 0..{limit}, got {value!r}")


def _check_length(name: str, value: str | None, limit: int) -> None:
    if value is not None and len(value) > limit:
        raise ValueError(f"{name} is longer than {limit} characters")


def _check_text(name: str, value: str | None) -> None:
    # PostgreSQL rejects NUL in text columns; SQLite keeps it. Refusing it here
    # keeps an archive portable between backends.
    if value is not None and "\x00" in value:
        raise ValueError(f"{name} must not contain NUL characters")


@dataclass(frozen=True)
class Program:
    """A candidate program as the loop produced it.

    Parameters
    ----------
    code
        Python source defining the problem's candidate function.
    operator
        Loop operator that produced it (``"seed"``, ``"modify"``, ``"crossover"``...).
    island, generation
        Population coordinates (non-negative).
    idea
        The model's one-line description of its idea, if any.
    code_hash
        Normalised-code hash used for deduplication. The loop should pass
        :func:`discover.search.duplicates.normalized_hash`; when empty, the archive fills in
        :func:`archive.hashing.code_hash` (formatting- and comment-insensitive).
    behaviour_hash
        Fingerprint of the program's outputs on the probe instances
        (:func:`discover.search.duplicates.behaviour_fingerprint`), when computed.
    """

    code: str
    operator: str
    island: int = 0
    generation: int = 0
    idea: str | None = None
    code_hash: str = ""
    behaviour_hash: str | None = None

    def __post_init__(self) -> None:
        if not self.operator:
            raise ValueError("operator must be a non-empty string")
        for name in ("island", "generation"):
            _check_count(name, getattr(self, name), _INT32_MAX)
        for name in ("code", "operator", "idea", "code_hash", "behaviour_hash"):
            _check_text(name, getattr(self, name))
        if not self.code_hash:
            object.__setattr__(self, "code_hash", _code_hash(self.code))
        for name in ("code_hash", "behaviour_hash"):
            _check_length(name, getattr(self, name), HASH_LENGTH)


@dataclass(frozen=True)
class Parent:
    """A lineage link from an archived program to the one being recorded."""

    program_id: int
    role: EdgeRole

    def __post_init__(self) -> None:
        if not isinstance(self.role, EdgeRole):
            raise TypeError(f"role must be an EdgeRole, got {self.role!r}")
        if self.program_id < 1:
            raise ValueError(f"program_id must be positive, got {self.program_id}")


@dataclass(frozen=True)
class InstanceResult:
    """The result of one candidate on one instance.

    Parameters
    ----------
    instance
        Key of the instance within the run (name, index or fingerprint).
    status
        Outcome on this instance.
    objective
        Objective of the validated solution (``None`` when there is none).
    gap
        Percentage gap to the reference (``None`` when undefined).
    seconds
        Wall time of the call, when measured.
    error
        Short reason when ``status`` is not ``OK``.
    """

    instance: str
    status: EvaluationStatus = EvaluationStatus.OK
    objective: float | None = None
    gap: float | None = None
    seconds: float | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.status, EvaluationStatus):
            raise TypeError(f"status must be an EvaluationStatus, got {self.status!r}")
        for name in ("objective", "gap", "seconds"):
            _check_finite(name, getattr(self, name))
        _check_text("instance", self.instance)
        _check_text("error", self.error)

    def to_json(self) -> dict[str, object]:
        """Compact JSON object (``None`` fields and the default status omitted)."""
        # Straight-line on purpose: this runs for every instance of every evaluation.
        out: dict[str, object] = {"i": self.instance}
        if self.status is not EvaluationStatus.OK:
            out["s"] = self.status.value
        if self.objective is not None:
            out["o"] = self.objective
        if self.gap is not None:
            out["g"] = self.gap
        if self.seconds is not None:
            out["t"] = self.seconds
        if self.error is not None:
            out["e"] = self.error
        return out

    @classmethod
    def from_json(cls, data: dict[str, object]) -> InstanceResult:
        """Inverse of :meth:`to_json`."""

        def num(key: str) -> float | None:
            value = data.get(key)
            return None if value is None else float(value)  # type: ignore[arg-type]

        error = data.get("e")
        return cls(
            instance=str(data["i"]),
            status=EvaluationStatus(data.get("s", "ok")),
            objective=num("o"),
            gap=num("g"),
            seconds=num("t"),
            error=None if error is None else str(error),
        )


@dataclass(frozen=True)
class Evaluation:
    """A program's evaluation on one split.

    Parameters
    ----------
    split
        Instance set used.
    status
        Overall outcome (``OK`` only when every instance gave a valid solution).
    score
        The aggregate the search minimises (lower is better), e.g. mean gap %.
        ``None`` when the evaluation failed.
    gap
        Mean percentage gap to the references (``None`` when undefined).
    seconds
        Wall time of the whole evaluation.
    error
        Error text for failed evaluations.
    per_instance
        One result per instance, in evaluation order.
    steps
        The program's steps on the run's timing instances (the runtime gate at scale,
        :mod:`discover.search.timing`), when the gate ran; ``None`` otherwise. A count
        that does not depend on the machine, so the search may act on it.
    """

    split: Split
    status: EvaluationStatus
    score: float | None = None
    gap: float | None = None
    seconds: float = 0.0
    error: str | None = None
    per_instance: tuple[InstanceResult, ...] = field(default=())
    steps: int | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.split, Split):
            raise TypeError(f"split must be a Split, got {self.split!r}")
        if not isinstance(self.status, EvaluationStatus):
            raise TypeError(f"status must be an EvaluationStatus, got {self.status!r}")
        _check_finite("score", self.score)
        _check_finite("gap", self.gap)
        _check_finite("seconds", self.seconds)
        if self.seconds < 0:
            raise ValueError(f"seconds must be non-negative, got {self.seconds}")
        _check_text("error", self.error)
        if not isinstance(self.per_instance, tuple):
            object.__setattr__(self, "per_instance", tuple(self.per_instance))
        if self.steps is not None and (isinstance(self.steps, bool)
                                       or not isinstance(self.steps, int) or self.steps < 0):
            raise ValueError(f"steps must be a non-negative int or None, got {self.steps!r}")


@dataclass(frozen=True)
class ModelCall:
    """One request to a language model; API keys are scrubbed on construction.

    Parameters
    ----------
    provider, model
        Who answered (``"openai"``, ``"gpt-4.1-mini"``; ``"offline"`` for the engine).
    prompt
        The rendered prompt, as sent.
    response
        The raw response text (``None`` when the call failed).
    tokens_in, tokens_out
        Token counts reported by the provider; for a call cut by the run (time limit,
        Ctrl-C), those received before the cut, ``error`` saying how they were counted
        (often estimated); ``None`` when unknown.
    cost
        Dollars accounted for the call.
    latency
        Seconds from request to response (including retries).
    error
        Error text when the call failed.

    Notes
    -----
    Text that looks like an API key or an authorization header value is
    replaced by ``[redacted]`` (:func:`archive.redact.redact`), so a key echoed
    in an error message never reaches the archive. Redaction is idempotent, so
    a call read back compares equal to the call written.
    """

    provider: str
    model: str
    prompt: str
    response: str | None = None
    tokens_in: int | None = None
    tokens_out: int | None = None
    cost: float | None = None
    latency: float = 0.0
    error: str | None = None

    def __post_init__(self) -> None:
        if not self.provider or not self.model:
            raise ValueError("provider and model must be non-empty")
        _check_count("tokens_in", self.tokens_in, _MAX_TOKENS)
        _check_count("tokens_out", self.tokens_out, _MAX_TOKENS)
        _check_finite("cost", self.cost)
        _check_finite("latency", self.latency)
        if self.latency < 0 or (self.cost is not None and self.cost < 0):
            raise ValueError("latency and cost must be non-negative")
        for name in ("provider", "model", "prompt", "response", "error"):
            value = getattr(self, name)
            _check_text(name, value)
            if value is not None:
                object.__setattr__(self, name, redact(value))


@dataclass(frozen=True)
class CachedReference:
    """An exact (or reference) solve of one instance, shared across runs.

    Keyed by ``(fingerprint, method)``; ``objective`` may be ``inf`` when no
    solution was found.
    """

    fingerprint: str
    method: str
    objective: float
    lower_bound: float
    status: ReferenceStatus
    seconds: float

    def __post_init__(self) -> None:
        if not self.fingerprint or not self.method:
            raise ValueError("fingerprint and method must be non-empty")
        _check_length("fingerprint", self.fingerprint, HASH_LENGTH)
        _check_length("method", self.method, METHOD_LENGTH)
        if not isinstance(self.status, ReferenceStatus):
            raise TypeError(f"status must be a ReferenceStatus, got {self.status!r}")
        if math.isnan(self.objective) or math.isnan(self.lower_bound):
            raise ValueError("objective and lower_bound must not be NaN")
        _check_finite("seconds", self.seconds)
        if self.seconds < 0:
            raise ValueError("seconds must be non-negative")

    @property
    def is_optimal(self) -> bool:
        """True when ``objective`` is a proven optimum."""
        return self.status is ReferenceStatus.OPTIMAL
