"""The search loop's slots: what a slot is proposed with, and what its thread produced.

A slot is one numbered proposal of :class:`~discover.search.loop.SearchLoop`.
Its :class:`SlotPlan` is fixed in slot order when the slot is proposed; its
thread then proposes and evaluates it into a :class:`SlotWork`, which the loop
records in slot order. These are plain values: nothing here depends on timing,
except :class:`CodeClaims`, which only saves evaluating the same code twice.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from dataclasses import dataclass

from discover.search.cascade import CascadeResult
from discover.search.novelty import KnownPrograms
from discover.search.proposer import Candidate, SearchNotes


@dataclass(frozen=True)
class SlotPlan:
    """What a slot is proposed with, fixed in slot order (never by timing)."""

    known: KnownPrograms
    """Programs a proposal may not repeat (:mod:`discover.search.novelty`)."""
    tune: bool = False
    """Tune the first parent's literals numerically (a promising parent, first time)."""
    notes: SearchNotes | None = None
    """Best program and findings, for proposers that show them (prompts)."""


@dataclass(frozen=True)
class SlotWork:
    """What a slot's thread produced: the candidate, its code hash and the cascade's verdict.

    ``result`` is ``None`` when the code was not evaluated (no code, or the same
    code as a recorded program or an earlier slot), a behaviour fingerprint when
    the probe matched a known behaviour, else the cascade result.
    """

    candidate: Candidate
    code_hash: str | None
    result: CascadeResult | str | None
    redrawn_code: int = 0
    redrawn_behaviour: int = 0


@dataclass
class Slot:
    """A proposal in flight: its sequence number, island and pending work."""

    index: int
    island: int
    work: Future[SlotWork] | None
    """``None`` for slots replayed from the archive on resume."""
    tune: bool = False
    """The slot tunes its parent's literals numerically."""


class CodeClaims:
    """Which slot evaluates a code: the first slot to claim its hash, until it is recorded.

    Slot threads claim concurrently. Evaluating the same code twice is wasted, so
    a later slot with the same code skips its evaluation; recording decides
    duplicates again, in slot order, so timing never changes what is recorded.
    """

    def __init__(self) -> None:
        self._owners: dict[str, int] = {}
        self._lock = threading.Lock()

    def claim(self, code_hash: str, index: int) -> int:
        """Claim ``code_hash`` for slot ``index``; returns the slot that owns it now."""
        with self._lock:
            return self._owners.setdefault(code_hash, index)

    def release(self, code_hash: str, index: int) -> None:
        """Slot ``index`` is recorded: its claim ends (a claim it does not own stays)."""
        with self._lock:
            if self._owners.get(code_hash) == index:
                del self._owners[code_hash]
