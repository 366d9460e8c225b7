"""What a simulation recorded, per request and per iteration (trusted side).

The engine keeps compact records — per request its first-token and finish times
and its *stints* (admission to finish or preemption), and runs of iterations in
closed form — from which every token time and the KV occupancy of every
iteration are reconstructed here.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from evaluators.serving.engine import Simulator

STINT_FIELDS = ("request", "admit_iter", "prefill_tokens", "prefill_iter", "join_decode",
                "leave_decode", "end_iter", "finished")


@dataclass(frozen=True, eq=False)
class SimulationResult:
    """One simulated window.

    Parameters
    ----------
    arrival, first_token, finish
        Seconds, per request.
    output
        Output tokens per request.
    preemptions
        Times each request was preempted.
    stints
        ``(m, 8)`` int array, one row per stint, columns :data:`STINT_FIELDS`;
        ``prefill_iter`` (and ``join_decode``, ``leave_decode``) is −1 when the stint
        was preempted before its prefill finished; ``join_decode``/``leave_decode``
        count decode iterations; ``end_iter`` is the last iteration holding blocks.
    steps
        ``(s, 6)`` float array of runs of iterations: count, start time, first
        duration, half the per-iteration increase, tokens per iteration, whether
        they advanced the decodes.
    picks
        Number of policy decisions (the length of the decision log).
    block_size, num_blocks
        KV cache geometry.
    """

    arrival: np.ndarray
    first_token: np.ndarray
    finish: np.ndarray
    output: np.ndarray
    preemptions: np.ndarray
    stints: np.ndarray
    steps: np.ndarray
    picks: int
    block_size: int
    num_blocks: int

    @classmethod
    def from_simulator(cls, sim: Simulator) -> SimulationResult:
        """Freeze a finished :class:`~evaluators.serving.engine.Simulator`."""
        arrays = {"arrival": np.asarray(sim.arr, dtype=float),
                  "first_token": np.asarray(sim.first, dtype=float),
                  "finish": np.asarray(sim.finish, dtype=float),
                  "output": np.asarray(sim.out, dtype=np.int64),
                  "preemptions": np.asarray(sim.pre, dtype=np.int64),
                  "stints": np.asarray(sim.stints, dtype=np.int64).reshape(-1, len(STINT_FIELDS)),
                  "steps": np.asarray(sim.steps, dtype=float).reshape(-1, 6)}
        for a in arrays.values():
            a.setflags(write=False)
        return cls(**arrays, picks=sim.chooser.decisions, block_size=sim.bs,
                   num_blocks=sim.total)

    @property
    def size(self) -> int:
        """Number of requests."""
        return int(self.arrival.size)

    @property
    def iterations(self) -> int:
        """Number of iterations (forward passes)."""
        return int(self.steps[:, 0].sum())

    @cached_property
    def iteration_end(self) -> np.ndarray:
        """End time of every iteration (the engine's closed form, expanded)."""
        counts = self.steps[:, 0].astype(np.int64)
        j = (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts) + 1
             ).astype(float)
        t0, a, half = (np.repeat(self.steps[:, c], counts) for c in (1, 2, 3))
        return t0 + j * a + half * j * (j - 1)

    @cached_property
    def iteration_start(self) -> np.ndarray:
        """Start time of every iteration."""
        counts = self.steps[:, 0].astype(np.int64)
        j = (np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts)
             ).astype(float)
        t0, a, half = (np.repeat(self.steps[:, c], counts) for c in (1, 2, 3))
        return t0 + j * a + half * j * (j - 1)

    @cached_property
    def iteration_tokens(self) -> np.ndarray:
        """Batched tokens of every iteration."""
        return np.repeat(self.steps[:, 4], self.steps[:, 0].astype(np.int64)).astype(np.int64)

    @cached_property
    def decode_iterations(self) -> np.ndarray:
        """Indices of the iterations that advanced the decodes (the D-th one at index D−1)."""
        flags = np.repeat(self.steps[:, 5], self.steps[:, 0].astype(np.int64)) > 0
        return np.flatnonzero(flags)

    def token_times(self, request: int) -> np.ndarray:
        """Time of every output token of ``request``, in order (length = its output tokens)."""
        ends, dec = self.iteration_end, self.decode_iterations
        times: list[np.ndarray] = []
        for row in self.stints[self.stints[:, 0] == request]:
            _, _, _, prefill_iter, join, leave, _, _ = (int(v) for v in row)
            if prefill_iter < 0:
                continue
            times.append(ends[[prefill_iter]])
            times.append(ends[dec[join:leave]])
        return np.concatenate(times) if times else np.empty(0)

    def blocks_in_use(self) -> np.ndarray:
        """KV blocks held during every iteration, rebuilt from the stints alone.

        A stint holds ``ceil(prefill_tokens / block_size)`` blocks from its admission
        on, ``ceil((prefill_tokens + m) / block_size)`` from its m-th decode iteration
        on, and releases them after ``end_iter``.
        """
        n_iter = self.iterations
        dec = self.decode_iterations
        bs = self.block_size
        delta = np.zeros(n_iter + 1, dtype=np.int64)
        for _, admit, tokens, _, join, leave, end, _ in self.stints.tolist():
            held = -(-tokens // bs)
            delta[admit] += held
            if leave > join >= 0:
                blocks = -(-(tokens + np.arange(1, leave - join + 1)) // bs)
                np.add.at(delta, dec[join:leave], np.diff(blocks, prepend=held))
                held = int(blocks[-1])
            delta[end + 1] -= held
        return np.cumsum(delta)[:n_iter]
