"""What the search loop knows of its run: counters, dedup indexes, population members.

Rebuilt from the archive on resume through the same calls as a live run
(:meth:`LoopState.index`, :func:`member_of`), so that a resumed run continues
from exactly the state the original run had.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass

from archive import Program
from discover.search.cascade import loop_depth
from discover.search.islands import Member


@dataclass
class LoopState:
    """Counters and dedup indexes rebuilt from the archive on resume."""

    evaluated: int = 0
    slot: int = 0
    """Number of the last slot proposed."""
    best_id: int | None = None
    best_score: float | None = None
    stalled: int = 0
    duplicates: int = 0
    """Candidates recorded as duplicates (same code or same probe behaviour)."""
    redrawn_code: int = 0
    """Proposals drawn again before any evaluation: their code was already known."""
    redrawn_behaviour: int = 0
    """Proposals drawn again after the probe: they behaved like a known program."""

    def __post_init__(self) -> None:
        self.findings: deque[str] = deque(maxlen=5)
        """What tuning and structural moves found lately (for prompts)."""
        self.by_code: dict[str, int] = {}
        self.by_behaviour: dict[str, int] = {}
        self.codes: dict[int, str] = {}
        self.train_scores: dict[int, float] = {}

    def index(self, program_id: int, program: Program, duplicate_of: int | None,
              score: float | None) -> None:
        """Count and index a recorded program (``score``: its training score, if scored)."""
        self.codes[program_id] = program.code
        if duplicate_of is not None:
            self.duplicates += 1
            self.by_code.setdefault(program.code_hash, duplicate_of)
            return
        self.evaluated += 1
        self.by_code.setdefault(program.code_hash, program_id)
        if program.behaviour_hash:
            self.by_behaviour.setdefault(program.behaviour_hash, program_id)
        if score is not None:
            self.train_scores[program_id] = score
            self.note_best(program_id, score)

    def note_best(self, program_id: int, score: float) -> None:
        """Track the best training score (ties keep the older program)."""
        if self.best_score is None or score < self.best_score:
            self.best_id, self.best_score = program_id, score


def cost_proxy(code: str) -> float:
    """The population's deterministic cost axis: ``1e-4 · 4^loop depth``, not seconds.

    Measured seconds jitter between runs and would make parent selection depend
    on machine load; the static loop depth does not.
    """
    return 1e-4 * 4.0 ** loop_depth(code)


def member_of(program_id: int, code: str, operator: str, island: int, score: float,
              signature: Sequence[float], load: float | None = None) -> Member:
    """The population's view of a program evaluated on the training set.

    The one builder for live runs and resume: seed programs belong to every
    island, the cost axis is :func:`cost_proxy`; ``load`` is the program's share
    of the step budget (:func:`load_of`).
    """
    return Member(program_id=program_id, code=code, score=score, signature=tuple(signature),
                  cost=cost_proxy(code), code_size=len(code),
                  island=None if operator == "seed" else island, load=load)


def load_of(steps: int | None, step_limit: int | None) -> float | None:
    """Share of the timing gate's step budget used (``steps / step_limit``), if both known."""
    if steps is None or step_limit is None or step_limit <= 0:
        return None
    return steps / step_limit


__all__ = ["LoopState", "cost_proxy", "load_of", "member_of"]
