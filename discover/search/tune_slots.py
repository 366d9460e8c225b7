"""Numeric tuning as a slot of the search, and the findings it (and structure) leaves.

A ``tune`` slot whose first parent is among the ``search.tune_top`` best and
was never tuned hands that parent to the :class:`~discover.search.collaborators.Tuner`;
the child is evaluated like any other. Which parents were tried is archived
in the ideas (:data:`TUNED`, :data:`UNTUNED`), so a resumed run makes the same
decisions. Tuned or structurally changed programs that beat their parent
become *findings*, shown in prompts.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

from archive import ProgramState
from discover.search.collaborators import Tuner
from discover.search.islands import Member
from discover.search.proposer import Candidate

TUNED = "tune: Nelder-Mead"
"""How the idea of a numerically tuned program starts."""
UNTUNED = "numeric tuning found nothing; "
"""Prefix of the idea of a tune slot's fallback proposal (the parent was tried)."""


class TuneSlots:
    """Decides which ``tune`` slots tune their parent, and tunes it.

    Parameters
    ----------
    tuner
        Tunes a parent's literals; ``None``: ``tune`` slots only propose.
    top
        A parent is tuned when fewer than this many programs score better
        (``search.tune_top``; 0: never).
    proposer
        Name the tuned candidates are recorded under (the proposer's).
    """

    def __init__(self, tuner: Tuner | None, top: int, proposer: str) -> None:
        self.tuner = tuner
        self.top = top if tuner is not None else 0
        self.proposer = proposer
        self._tried: set[int] = set()

    def should_tune(self, operator: str, parents: Sequence[Member],
                    train_scores: Mapping[int, float]) -> bool:
        """Whether a slot of ``operator`` tunes ``parents[0]`` (then it counts as tried).

        Decided when the slot is proposed, from the records before it (determinism).
        """
        if operator != "tune" or not parents or self.top <= 0:
            return False
        parent = parents[0]
        if parent.program_id in self._tried:
            return False
        better = sum(1 for s in train_scores.values() if s < parent.score)
        if better >= self.top:
            return False
        self._tried.add(parent.program_id)
        return True

    def candidate(self, parent: Member) -> Candidate | None:
        """The parent with its literals optimised on the probe set, or None."""
        if self.tuner is None:
            return None
        tuned = self.tuner(parent.code)
        if tuned is None:
            return None
        return Candidate(tuned.code, "tune", (parent.program_id,), self.proposer,
                         idea=tuned.idea)

    def restore(self, programs: Sequence[ProgramState]) -> None:
        """Count the parents of archived tune slots as tried (resume).

        Every archived slot was proposed before any slot still to be proposed, so
        all of them count (recorded ones may follow slots that were in flight).
        """
        for ps in programs:
            idea = ps.program.idea or ""
            if ps.program.operator == "tune" and ps.parents and idea.startswith((TUNED,
                                                                                UNTUNED)):
                self._tried.add(ps.parents[0].program_id)


def mark_untuned(candidate: Candidate) -> Candidate:
    """A tune slot's candidate, its idea marked when tuning found nothing.

    Archived, so a resumed run knows the parent was tried already.
    """
    if candidate.code is None or (candidate.idea or "").startswith(TUNED):
        return candidate
    return dataclasses.replace(candidate, idea=UNTUNED + (candidate.idea or ""))


def finding(program_id: int, candidate: Candidate, score: float | None,
            train_scores: Mapping[int, float]) -> str | None:
    """One line for a tuned or structurally changed program that beat its parent, else None."""
    idea = candidate.idea or ""
    if not (idea.startswith(TUNED) or "structure:" in idea) or not candidate.parents:
        return None
    parent = candidate.parents[0]
    before = train_scores.get(parent)
    if before is None or score is None or score >= before:
        return None
    return f"#{program_id} from #{parent}: {idea} — training score {before:.3f} -> {score:.3f}"


__all__ = ["TUNED", "UNTUNED", "TuneSlots", "finding", "mark_untuned"]
