"""How scheduling decisions are made and recorded: the policy's view, choosers, the log.

Self-contained (standard library only), like :mod:`evaluators.serving.engine`, which
uses it: both run in the sandbox child and are copied into exported policies.

A *pick* is a decision between two or more requests — which waiting request an
admission phase takes next, or which running request a preemption phase evicts
next. A :class:`Chooser` answers picks with a priority function and records them;
a :class:`Replay` answers them from a recorded log and refuses a pick that is not
eligible. The raw output of a run is the log: a header of :data:`HEADER` numbers
(format, chunk size, requests, iterations, picks) followed by the picks.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

LOG_FORMAT = 1
"""Version tag opening every raw output (decision log)."""
HEADER = 5
"""Log header: format, chunk size, requests, iterations, picks."""


class Request:
    """What a priority function sees of one request.

    A queued request keeps its view while it waits (only ``waiting_time`` is
    refreshed); the simulator never reads views back, so changing one changes nothing.
    """

    __slots__ = ("generated_tokens", "id", "kv_blocks", "preemptions", "prefill_done",
                 "prompt_tokens", "waiting_time")

    def __init__(self, id: int, waiting_time: float, prompt_tokens: int,
                 generated_tokens: int, prefill_done: bool, preemptions: int,
                 kv_blocks: int) -> None:
        self.id = id
        self.waiting_time = waiting_time
        self.prompt_tokens = prompt_tokens
        self.generated_tokens = generated_tokens
        self.prefill_done = prefill_done
        self.preemptions = preemptions
        self.kv_blocks = kv_blocks

    def __repr__(self) -> str:
        return "Request(" + ", ".join(f"{s}={getattr(self, s)!r}" for s in self.__slots__) + ")"


class State:
    """What a priority function sees of the server at a decision."""

    __slots__ = ("free_blocks", "running", "time", "total_blocks", "waiting")

    def __init__(self, time: float, waiting: int, running: int, free_blocks: int,
                 total_blocks: int) -> None:
        self.time = time
        self.waiting = waiting
        self.running = running
        self.free_blocks = free_blocks
        self.total_blocks = total_blocks

    def __repr__(self) -> str:
        return "State(" + ", ".join(f"{s}={getattr(self, s)!r}" for s in self.__slots__) + ")"


Priority = Callable[[Request, State], Any]


class Context(Protocol):
    """What a chooser needs from the simulator at a pick."""

    t: float
    it: int
    n: int

    def rank(self, priority: Priority, ids: list[int], admission: bool) -> list[int]:
        """``ids`` in pick order under ``priority``."""
        ...

    def describe(self, r: int) -> str:
        """Where request ``r`` is (for error messages)."""
        ...



class ReplayError(ValueError):
    """A decision log does not replay: ``kind`` is ``"range"``, ``"ineligible"``,
    ``"duplicate"``, ``"short"`` or ``"long"``."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class Chooser:
    """Orders the requests at each pick (base class: the policy decides)."""

    def __init__(self, priority: Priority) -> None:
        self.priority = priority
        self.picks: list[int] = []

    @property
    def decisions(self) -> int:
        """Number of unforced picks so far."""
        return len(self.picks)

    def picks_of(self, sim: Context, ids: list[int], admission: bool) -> Iterator[int]:
        """Yield ``ids`` in pick order; unforced picks are recorded in :attr:`picks`."""
        if len(ids) == 1:
            yield ids[0]
            return
        order = sim.rank(self.priority, ids, admission)
        for k, r in enumerate(order):
            if k < len(order) - 1:
                self.picks.append(r)
            yield r


class Replay(Chooser):
    """Reads the picks from a decision log, checking each against the eligible set."""

    def __init__(self, picks: Sequence[int]) -> None:
        super().__init__(lambda r, s: 0.0)
        self.log = picks
        self.cursor = 0

    @property
    def decisions(self) -> int:
        """Number of picks read so far."""
        return self.cursor

    def picks_of(self, sim: Context, ids: list[int], admission: bool) -> Iterator[int]:
        remaining = set(ids)
        while len(remaining) > 1:
            if self.cursor >= len(self.log):
                raise ReplayError("short", f"the log ends after {self.cursor} picks but the "
                                  f"replay needs another at iteration {sim.it} (t={sim.t:.6f} s)")
            r = self.log[self.cursor]
            self.cursor += 1
            if r not in remaining:
                what = "admission" if admission else "preemption"
                if not 0 <= r < sim.n:
                    raise ReplayError("range", f"pick {self.cursor - 1}: request {r} does not "
                                      f"exist (0..{sim.n - 1})")
                kind = "duplicate" if r in ids else "ineligible"
                why = sim.describe(r) if kind == "ineligible" else "already picked"
                raise ReplayError(kind, f"pick {self.cursor - 1} ({what} at iteration {sim.it}, "
                                  f"t={sim.t:.6f} s): request {r} is not eligible: {why}")
            remaining.discard(r)
            yield r
        if remaining:
            yield remaining.pop()
