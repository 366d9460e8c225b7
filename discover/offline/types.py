"""Value types of the offline engine: operators, parents, proposals, errors."""

from __future__ import annotations

import enum
import math
from dataclasses import dataclass, field


class Operator(enum.StrEnum):
    """Search operators, named as the loop's prompt strategies (EoH style).

    Being a ``StrEnum``, each member compares equal to its string value, so the
    loop may pass either ``Operator.TUNE`` or ``"tune"``.
    """

    NEW_IDEA = "new_idea"
    CROSSOVER = "crossover"
    MODIFY = "modify"
    TUNE = "tune"
    SIMPLIFY = "simplify"


@dataclass(frozen=True)
class ParentInfo:
    """A parent program handed to the engine.

    Parameters
    ----------
    code
        Source of the parent; it must parse and define the candidate function.
    score
        Its score (lower is better); ``math.inf`` for an unscored parent.
    load
        Share of the run's step budget it uses on the timing instances (0 to 1;
        ``None`` when unknown or the run has no timing gate): near 1, most children
        that do more work would be rejected as too slow (see :mod:`.budget`).
    """

    code: str
    score: float = math.inf
    load: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.code, str) or not self.code.strip():
            raise ValueError("parent code must be a non-empty string")
        if math.isnan(self.score):
            raise ValueError("parent score must not be NaN")
        if self.load is not None and not (math.isfinite(self.load) and self.load >= 0):
            raise ValueError(f"parent load must be finite and >= 0, got {self.load}")


@dataclass(frozen=True)
class Proposal:
    """A new candidate program produced by the engine.

    Parameters
    ----------
    code
        Source of the child; it parses and defines the candidate function with
        the specified parameters, and differs from every parent after
        normalisation (:func:`discover.search.duplicates.normalized_hash`).
    idea
        One line saying what was changed, for the archive and the progress view.
    operator
        The loop-level operator that was asked for.
    mutations
        The AST-level edits applied, in order (e.g. ``("wrap", "perturb_constant")``).
    """

    code: str
    idea: str
    operator: Operator
    mutations: tuple[str, ...] = field(default=())

    def __post_init__(self) -> None:
        if not isinstance(self.operator, Operator):
            raise TypeError(f"operator must be an Operator, got {self.operator!r}")
        if "\n" in self.idea:
            raise ValueError("idea must be a single line")


class EngineError(RuntimeError):
    """The engine could not produce a valid, new child from the given parents."""
