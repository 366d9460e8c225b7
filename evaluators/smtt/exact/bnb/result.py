"""Rebuilding the optimal sequence from the memo, and the solver's result record."""

from __future__ import annotations

import enum
from dataclasses import dataclass

import numpy as np

from evaluators.smtt.exact.bnb.memo import EMPTY, state_index
from evaluators.smtt.exact.bnb.search import (
    HI,
    LINEAR_FORM,
    LO,
    MAX_RANK,
    STATE_CNT,
    STATE_OFF,
    ZERO_FORM,
)


class Outcome(enum.Enum):
    """How a solve ended."""

    PROVEN = "proven"
    """The decomposition was exhausted: the objective is optimal."""
    BOUNDS_MEET = "bounds_meet"
    """The root lower and upper bounds are equal: optimal without search."""
    TIME_LIMIT = "time_limit"
    """Stopped by the time limit: best known order and a lower bound."""
    STATE_LIMIT = "state_limit"
    """Stopped because the memo outgrew its state budget."""


@dataclass(frozen=True)
class SearchStats:
    """Size of the search: distinct job sets, (set, start time) states, positions."""

    sets: int
    states: int
    candidates: int

    def __post_init__(self) -> None:
        if min(self.sets, self.states, self.candidates) < 0:
            raise ValueError("search statistics must be non-negative")


@dataclass(frozen=True)
class Memo:
    """The arrays of a finished search, enough to rebuild an optimal sequence.

    Parameters
    ----------
    edd
        Job at each EDD position.
    p_edd, d_edd, rank_edd, by_rank
        Processing times, due dates and ranks in EDD order (see
        :func:`.decomposition.edd_ranks`).
    tab, state_t, state_c, cand
        Set table, state start times, winning choices and decomposition
        positions as produced by :mod:`.search`.
    """

    edd: np.ndarray
    p_edd: np.ndarray
    d_edd: np.ndarray
    rank_edd: np.ndarray
    by_rank: np.ndarray
    tab: np.ndarray
    state_t: np.ndarray
    state_c: np.ndarray
    cand: np.ndarray

    def __post_init__(self) -> None:
        if self.state_t.shape != self.state_c.shape:
            raise ValueError("state_t and state_c must have the same shape")

    def members(self, sid: int) -> np.ndarray:
        """EDD positions of set ``sid``, in EDD order."""
        lo, hi, max_rank = self.tab[sid, LO], self.tab[sid, HI], self.tab[sid, MAX_RANK]
        span = np.arange(lo, hi + 1)
        result: np.ndarray = span[self.rank_edd[span] <= max_rank]
        return result

    def sequence(self, root: int, t0: int) -> list[int]:
        """Optimal job order (original job indices) of set ``root`` started at ``t0``."""
        out: list[int] = []
        # Explicit stack: items are (child code, start time) or ("job", EDD position).
        stack: list[tuple[int, int, bool]] = [(root, t0, False)]
        while stack:
            code, t, is_job = stack.pop()
            if is_job:
                out.append(code)
                continue
            if code == EMPTY:
                continue
            if code < EMPTY:
                out.append(-2 - code)
                continue
            members = self.members(code)
            idx = state_index(self.state_t, self.tab[code, STATE_OFF],
                              self.tab[code, STATE_CNT], t)
            if idx < 0:
                raise AssertionError(f"state (set {code}, t={t}) missing from the memo")
            choice = int(self.state_c[idx])
            if choice == ZERO_FORM:
                out.extend(int(e) for e in members)
            elif choice == LINEAR_FORM:
                out.extend(int(e) for e in members[np.argsort(self.rank_edd[members])])
            elif choice >= 0:
                r, before, after = (int(x) for x in self.cand[choice])
                kappa = int(np.argmax(self.rank_edd[members]))
                done = t + int(self.p_edd[members[: r + 1]].sum())
                stack.append((after, done, False))
                stack.append((int(members[kappa]), 0, True))
                stack.append((before, t, False))
            else:
                raise AssertionError(f"state (set {code}, t={t}) was never evaluated")
        return [int(self.edd[e]) for e in out]
