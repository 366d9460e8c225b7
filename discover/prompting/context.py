"""What a prompt template sees: operators, problem and program views, the context.

Plain frozen dataclasses, so that the loop can build a context from archive rows
and tests can build one by hand; :mod:`discover.prompting.render` renders them.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from evaluators.base import Problem


class Operator(enum.Enum):
    """A prompt strategy; the value is the template's base name."""

    I1 = "i1"
    E1 = "e1"
    E2 = "e2"
    CROSSOVER = "crossover"
    M1 = "m1"
    M2 = "m2"
    SIMPLIFY = "simplify"
    REFLECT_SHORT = "reflect_short"
    REFLECT_LONG = "reflect_long"

    @property
    def template(self) -> str:
        """File name of the operator's template."""
        return f"{self.value}.j2"

    @property
    def parent_range(self) -> tuple[int, int | None]:
        """Minimum and maximum number of parents (``None``: no maximum)."""
        return _PARENTS[self]

    @property
    def supports_diff(self) -> bool:
        """Whether the operator edits one parent and can ask for SEARCH/REPLACE blocks."""
        return self in (Operator.M1, Operator.M2, Operator.SIMPLIFY)

    @property
    def is_reflection(self) -> bool:
        """Whether the answer is a reflection (text) rather than a program."""
        return self in (Operator.REFLECT_SHORT, Operator.REFLECT_LONG)


_PARENTS: dict[Operator, tuple[int, int | None]] = {
    Operator.I1: (0, 0),
    Operator.E1: (1, None),
    Operator.E2: (2, None),
    Operator.CROSSOVER: (2, 2),
    Operator.M1: (1, 1),
    Operator.M2: (1, 1),
    Operator.SIMPLIFY: (1, 1),
    Operator.REFLECT_SHORT: (2, 2),
    Operator.REFLECT_LONG: (0, 0),
}


@dataclass(frozen=True)
class ProblemView:
    """What templates may show about a problem.

    Parameters
    ----------
    name, description
        From :class:`evaluators.base.Problem`.
    function_name, signature, docstring, allowed_imports
        From its :class:`evaluators.base.CandidateSpec`.
    """

    name: str
    description: str
    function_name: str
    signature: str
    docstring: str
    allowed_imports: tuple[str, ...]

    def __post_init__(self) -> None:
        if not self.name or not self.function_name.isidentifier():
            raise ValueError("a problem view needs a name and an identifier function_name")

    @classmethod
    def from_problem(cls, problem: Problem[Any]) -> ProblemView:
        """Take the fields from a registered problem."""
        spec = problem.candidate_spec
        return cls(
            problem.name,
            problem.description,
            spec.function_name,
            spec.signature,
            spec.docstring,
            tuple(spec.allowed_imports),
        )


@dataclass(frozen=True)
class ProgramView:
    """A program shown in a prompt, with its scores.

    Parameters
    ----------
    code
        Its source.
    gap
        Mean relative gap to the optimum on the training split, in percent.
    runtime
        Mean seconds per instance.
    ratio
        Aggregate ratio ΣH/ΣOPT on the training split.
    idea
        Its one-line idea, when known.
    label
        A short name (``"#412"``, ``"MDD"``).
    failure
        Why it failed, for programs shown as negative examples.
    class_gaps
        ``(instance class, mean gap %)`` on the training split, worst first: where
        the program loses, so a model can aim its change.
    load
        Share of the work the runtime gate at scale allows that the program uses (its
        steps on the large timing instances over the gate's limit), when the run has
        the gate: near 1, a change that adds work is rejected as too slow.
    """

    code: str
    gap: float | None = None
    runtime: float | None = None
    ratio: float | None = None
    idea: str | None = None
    label: str = ""
    failure: str | None = None
    class_gaps: tuple[tuple[str, float], ...] = ()
    load: float | None = None

    def __post_init__(self) -> None:
        for name in ("gap", "runtime", "ratio", "load"):
            value = getattr(self, name)
            if value is not None and not math.isfinite(value):
                raise ValueError(f"{name} must be finite or None, got {value}")
        if self.runtime is not None and self.runtime < 0:
            raise ValueError("runtime must be non-negative")
        if self.load is not None and self.load < 0:
            raise ValueError("load must be non-negative")


@dataclass(frozen=True)
class BaselineView:
    """A classic heuristic's scores, shown for comparison."""

    name: str
    gap: float | None = None
    runtime: float | None = None
    ratio: float | None = None
    failure: str | None = None


@dataclass(frozen=True)
class PromptContext:
    """Everything an operator template may use.

    Parameters
    ----------
    problem
        The problem and the function to write.
    parents
        Parent programs (count checked against :attr:`Operator.parent_range`).
        Two-parent operators see them as ``better`` and ``worse``, ordered by gap
        when both have one, else in the order given.
    long_reflection
        The run's accumulated long-term reflection.
    short_reflections
        Recent short-term reflections.
    baselines
        Classic heuristics' scores on the training split.
    diff
        Ask for SEARCH/REPLACE blocks instead of a full program.
    extra
        Free-form values for user templates (``extra.short_words`` etc.).
    best
        The best program of the run so far (when it is not a parent).
    findings
        One line each: what numeric tuning and structural moves found lately
        (constants before → after, improvement passes) and how they scored.
    """

    problem: ProblemView
    parents: tuple[ProgramView, ...] = ()
    long_reflection: str | None = None
    short_reflections: tuple[str, ...] = ()
    baselines: tuple[BaselineView, ...] = ()
    diff: bool = False
    extra: Mapping[str, Any] = field(default_factory=dict)
    best: ProgramView | None = None
    findings: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "findings", tuple(self.findings))
        object.__setattr__(self, "parents", tuple(self.parents))
        object.__setattr__(self, "short_reflections", tuple(self.short_reflections))
        object.__setattr__(self, "baselines", tuple(self.baselines))


@dataclass(frozen=True)
class RenderedPrompt:
    """A rendered prompt and where its operator template came from."""

    system: str
    user: str
    operator: Operator
    origin: str
