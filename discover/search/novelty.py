"""Novelty before cost: a slot's proposal is drawn again while it repeats a known program.

A proposal whose normalised code, or whose behaviour on the probe instances,
matches a program known when its slot was proposed goes back to the proposer
(:meth:`Proposer.follow_up`: the offline engine draws again, a model is told
which program it repeated), up to the proposer's ``max_follow_ups`` times, so
that nearly every sandbox evaluation is of a new program. Only the last
proposal is recorded; :class:`SearchEfficiency` reports what was saved.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from discover.search.cascade import CascadeResult
from discover.search.duplicates import normalized_hash
from discover.search.islands import Member
from discover.search.proposer import Candidate, Proposer

Evaluate = Callable[[str, dict[str, int]], CascadeResult | str]
"""Evaluates code, or names the fingerprint of the known behaviour (among the given
fingerprints) it matched on the probe (the loop's contained cascade)."""


def code_identity(code: str) -> str:
    """The normalised hash of ``code``, or a textual one when it does not parse."""
    try:
        return normalized_hash(code)
    except (SyntaxError, ValueError, RecursionError):
        # Unparseable code still gets a (textual) identity so it is recorded once.
        return "raw:" + hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class KnownPrograms:
    """What a slot may treat as already known when it decides to draw again.

    A snapshot taken when the slot is proposed (in slot order), so whether a
    proposal is redrawn never depends on how far other slots have got.
    """

    codes: dict[str, int]
    """Program id by normalised code hash."""
    behaviours: dict[str, int]
    """Program id by probe behaviour fingerprint."""


@dataclass
class RedrawCounts:
    """Proposals one slot sent back, by what they repeated."""

    code: int = 0
    """Same normalised code as a known program (no sandbox run)."""
    behaviour: int = 0
    """Same behaviour on the probe as a known program (one probe run)."""


@dataclass(frozen=True)
class Redrawn:
    """The proposal a slot goes on with after redrawing.

    ``result`` is its full evaluation when it proved new on the probe and was
    evaluated in full on the way (``code_hash`` is then its hash), else ``None``:
    the slot evaluates it as usual.
    """

    candidate: Candidate
    result: CascadeResult | None = None
    code_hash: str | None = None


def redraw(proposer: Proposer, candidate: Candidate, operator: str,
           parents: Sequence[Member], rng: np.random.Generator, known: KnownPrograms,
           evaluate: Evaluate, counts: RedrawCounts) -> Redrawn:
    """Ask ``proposer`` for another proposal while ``candidate`` repeats a known program.

    Parameters
    ----------
    proposer, operator, parents, rng
        What the slot proposed with (the follow-up draws from the same ``rng``).
    known
        The programs known when the slot was proposed.
    evaluate
        Runs the cascade with ``known.behaviours`` as the known fingerprints.
    counts
        Incremented for each proposal sent back.

    Returns
    -------
    Redrawn
        The candidate to go on with, and its evaluation if one was run in full.
    """
    follow_up = getattr(proposer, "follow_up", None)
    tries = int(getattr(proposer, "max_follow_ups", 0))
    for _ in range(tries):
        code = candidate.code
        if code is None or follow_up is None:
            break
        code_hash = code_identity(code)
        same_code = known.codes.get(code_hash)
        if same_code is not None:
            counts.code += 1
            candidate = follow_up(operator, parents, rng, candidate, same_code, "code")
            continue
        result = evaluate(code, known.behaviours)
        if not isinstance(result, str):
            return Redrawn(candidate, result, code_hash)
        counts.behaviour += 1
        candidate = follow_up(operator, parents, rng, candidate,
                              known.behaviours[result], "behaviour")
    return Redrawn(candidate)


@dataclass(frozen=True)
class SearchEfficiency:
    """How much of a run's sandbox time went to new programs.

    Parameters
    ----------
    evaluated
        New programs evaluated (the budget counts these).
    duplicates
        Candidates recorded as duplicates of an earlier program.
    redrawn_code, redrawn_behaviour
        Proposals sent back before being recorded: same normalised code (no
        sandbox run), or same behaviour on the probe instances (one probe run).
    seconds
        Wall seconds of the search.
    """

    evaluated: int
    duplicates: int
    redrawn_code: int
    redrawn_behaviour: int
    seconds: float

    @property
    def duplicate_share(self) -> float:
        """Recorded duplicates per recorded candidate."""
        total = self.evaluated + self.duplicates
        return self.duplicates / total if total else 0.0

    @property
    def useful_per_minute(self) -> float:
        """New programs evaluated per wall minute."""
        return 60.0 * self.evaluated / self.seconds if self.seconds > 0 else 0.0

    def describe(self) -> str:
        """One line for the run summary."""
        return (f"{self.evaluated} new programs in {self.seconds / 60:.1f} min "
                f"({self.useful_per_minute:.0f} useful evaluations per minute); "
                f"{self.duplicates} duplicates recorded ({100 * self.duplicate_share:.1f} %); "
                f"{self.redrawn_code + self.redrawn_behaviour} proposals redrawn "
                f"({self.redrawn_code} same code, {self.redrawn_behaviour} same probe behaviour)")


__all__ = [
    "Evaluate",
    "KnownPrograms",
    "RedrawCounts",
    "Redrawn",
    "SearchEfficiency",
    "code_identity",
    "redraw",
]
