"""Discrete-event simulator of one LLM-serving replica with a fixed, trusted batch builder.

Self-contained on purpose (standard library only): it runs inside the sandbox next
to untrusted candidate code, the trusted side replays candidate decisions through
it, and its source is copied verbatim into exported policies.

Model (vLLM-style continuous batching). Requests arrive with a prompt and an
output length (tokens). Time advances one *iteration* (a forward pass) at a
time; an iteration's duration comes from the cost model
``max(floor, base + per_token·N) + decode_attn·Σ(ctx+1) + prefill_attn·Σ c·(2·k + c)``
(seconds; ``N`` batched tokens, ``ctx`` KV tokens of each decoding request, a prefill
chunk of ``c`` tokens at offset ``k``). The KV cache holds ``num_blocks`` blocks of
``block_size`` tokens: a request admitted to prefill ``L`` tokens allocates
``ceil(L / block_size)`` blocks at once (admission needs ``watermark_blocks`` to stay
free); each decode step writes one token and takes a new block when its last one is
full. When decodes need more blocks than are free, running requests are preempted
(lowest priority first) and later *recomputed*: they re-prefill prompt + generated
tokens, which yields their next token (as vLLM's recompute preemption does).

Two builders, selected by ``chunk_size``:

* ``0`` — vLLM (v0) default: whole-prompt prefills of at most ``max_batch_tokens``
  tokens, run in prefill-only iterations that take precedence over decoding.
* ``> 0`` — Sarathi-Serve: stall-free hybrid iterations holding every decode, then
  the unfinished prefill's next chunk, then new prefills, within ``chunk_size`` tokens.

The policy only *orders* requests. An admission phase ranks the waiting queue
(largest priority first) and admits in that order until the next request does not
fit (token budget, free blocks above the watermark, ``batch_cap`` running requests);
the queue is re-ranked at the next iteration while prefills are being admitted,
and after a blocked phase only once a request arrives, finishes or is preempted.
A preemption phase ranks the running requests and preempts from the lowest.

Decisions between two or more requests are *picks*; the list of picks (request
indices in decision order) determines the whole simulation, so the trusted side
verifies a candidate's run by replaying its picks (:class:`Replay`).
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping, Sequence
from typing import Any

from evaluators.serving.decisions import (
    HEADER,
    LOG_FORMAT,
    Chooser,
    Priority,
    Replay,
    ReplayError,
    Request,
    State,
)

__all__ = ["HEADER", "LOG_FORMAT", "Chooser", "Priority", "Replay", "ReplayError", "Request",
           "Simulator", "State", "decision_log", "replay", "simulate"]


class Simulator:
    """One replica; :meth:`run` simulates all requests of a payload.

    Parameters
    ----------
    payload
        ``arrival`` (seconds, non-decreasing), ``prompt`` and ``output`` (tokens, ≥ 1),
        and ``server``: ``block_size``, ``num_blocks``, ``watermark_blocks``,
        ``batch_cap``, ``max_batch_tokens``, ``chunk_size`` and ``cost`` (``floor_ms``,
        ``base_ms``, ``per_token_ms``, ``prefill_attn_ms``, ``decode_attn_ms``).
    chooser
        :class:`Chooser` (a policy) or :class:`Replay` (a decision log).

    Notes
    -----
    Every decoding request advances one token per decode iteration, so with ``D``
    the number of decode iterations so far, a decoding request's KV tokens are
    ``x[r] + D`` and its generated tokens ``y[r] + D``. Sums over the batch, the
    next finish (a heap of ``out − y``) and the blocks the next iterations need
    (requests grouped by ``x mod block_size``) then cost O(1) or O(block_size) per
    event instead of O(batch): runs of decode-only iterations up to the next event
    are simulated in closed form.
    """

    def __init__(self, payload: Mapping[str, Any], chooser: Chooser) -> None:
        server, cost = payload["server"], payload["server"]["cost"]
        self.arr = [float(x) for x in payload["arrival"]]
        self.prompt = [int(x) for x in payload["prompt"]]
        self.out = [int(x) for x in payload["output"]]
        self.n = n = len(self.arr)
        self.bs = int(server["block_size"])
        self.total = int(server["num_blocks"])
        self.watermark = int(server["watermark_blocks"])
        self.cap = int(server["batch_cap"])
        self.max_tokens = int(server["max_batch_tokens"])
        self.chunk = int(server["chunk_size"])
        self.floor = float(cost["floor_ms"]) / 1e3
        self.base = float(cost["base_ms"]) / 1e3
        self.per_token = float(cost["per_token_ms"]) / 1e3
        self.alpha = float(cost["decode_attn_ms"]) / 1e3
        self.beta = float(cost["prefill_attn_ms"]) / 1e3
        _check(self, n)
        self.chooser = chooser
        self.t = 0.0
        self.it = 0  # iterations so far
        self.D = 0  # decode iterations so far
        self.a = 0  # next request to arrive
        self.free = self.total
        self.gen = [0] * n  # output tokens generated (while not decoding)
        self.held = [0] * n  # blocks held (while prefilling)
        self.need = list(self.prompt)  # tokens of the current (re)prefill
        self.done = [0] * n  # tokens of it processed so far
        self.x = [0] * n  # decoding: KV tokens = x + D
        self.y = [0] * n  # decoding: generated tokens = y + D
        self.pre = [0] * n
        self.first = [math.nan] * n
        self.finish = [math.nan] * n
        self.admit_it = [0] * n
        self.prefill_it = [0] * n
        self.join_d = [0] * n
        self.stints: list[tuple[int, ...]] = []
        """(request, admission iteration, prefill tokens, prefill iteration or −1, D when
        it started decoding, D when it stopped, last iteration holding its blocks,
        1 if it finished / 0 if preempted)."""
        self.steps: list[tuple[int, float, float, float, int, int]] = []
        """Runs of iterations: (count, start time, first duration, half the per-iteration
        increase, batched tokens per iteration, 1 if they advanced the decodes)."""
        self.waiting: dict[int, None] = {}
        self.views: dict[int, Request] = {}  # views of waiting requests, reused across rankings
        self.heap: list[tuple[int, int]] = []  # (prefill tokens, request): smallest need
        self.dec: dict[int, None] = {}  # running requests past their prefill
        self.fin_heap: list[tuple[int, int]] = []  # (D at which it finishes, request)
        self.residue = [0] * self.bs  # decoding requests by x mod block_size
        self.kv = 0  # sum of x over decoding requests
        self.partial = -1  # running request with an unfinished chunked prefill
        self.running = 0
        self.dirty = True
        self.finished = 0

    # -- the policy's view -----------------------------------------------------------------
    def rank(self, priority: Priority, ids: list[int], admission: bool) -> list[int]:
        """``ids`` by priority: descending for admission, ascending for preemption.

        Ties go to the earlier request when admitting and to the later one when
        preempting (FCFS order either way).
        """
        t, arr, prompt, pre, dec, big_d = self.t, self.arr, self.prompt, self.pre, self.dec, self.D
        state = State(t, len(self.waiting), self.running, self.free, self.total)
        views = self.views
        keyed = []
        for r in ids:
            if r in dec:
                view = Request(r, t - arr[r], prompt[r], self.y[r] + big_d, True, pre[r],
                               -(-(self.x[r] + big_d) // self.bs))
            elif r in self.waiting:
                # Only the waiting time of a queued request changes: refresh its view.
                cached = views.get(r)
                if cached is None:
                    cached = views[r] = Request(r, 0.0, prompt[r], self.gen[r], False, pre[r], 0)
                cached.waiting_time = t - arr[r]
                view = cached
            else:
                view = Request(r, t - arr[r], prompt[r], self.gen[r], False, pre[r], self.held[r])
            v = float(priority(view, state))
            if v != v:
                raise ValueError(f"priority returned NaN for request {r} at t={t:.6f} s")
            keyed.append((-v, r) if admission else (v, -r))
        keyed.sort()
        return [r for _, r in keyed] if admission else [-r for _, r in keyed]

    def describe(self, r: int) -> str:
        """Where request ``r`` is, for replay error messages."""
        if r >= self.a:
            return f"it arrives at {self.arr[r]:.6f} s"
        if r in self.waiting:
            return "it is waiting"
        if not math.isnan(self.finish[r]):
            return "it has finished"
        return "it is running"

    # -- main loop -------------------------------------------------------------------------
    def run(self) -> Simulator:
        """Simulate until every request has finished; returns ``self``."""
        arr, n = self.arr, self.n
        while self.finished < n:
            while self.a < n and arr[self.a] <= self.t:
                self._enqueue(self.a)
                self.a += 1
            if not self.running and not self.waiting:
                self.t = max(self.t, arr[self.a])
                continue
            if self.chunk:
                self._sarathi_step()
            else:
                self._vllm_step()
        return self

    def _vllm_step(self) -> None:
        if self._admission_due():
            chunks = self._admit(self.max_tokens, chunked=False)
            if chunks:
                self._iterate(False, chunks)
                return
        if not self.dec:
            raise RuntimeError(f"no progress at t={self.t} (a scheduler bug)")
        self._decode_memory()
        self._decode_run()

    def _sarathi_step(self) -> None:
        reserve = 0
        if self.dec:
            self._decode_memory()
            reserve = self.residue[-self.D % self.bs]  # blocks this iteration's decodes take
        budget = self.chunk - len(self.dec)
        chunks: list[tuple[int, int]] = []
        if self.partial >= 0:
            r = self.partial
            c = min(self.need[r] - self.done[r], budget)
            chunks.append((r, c))
            budget -= c
        if budget > 0 and self._admission_due(reserve):
            chunks += self._admit(budget, chunked=True, reserve=reserve)
        if chunks:
            self._iterate(True, chunks)
        elif self.dec:
            self._decode_run()
        else:
            raise RuntimeError(f"no progress at t={self.t} (a scheduler bug)")

    # -- admission and preemption ----------------------------------------------------------
    def _enqueue(self, r: int) -> None:
        self.waiting[r] = None
        heapq.heappush(self.heap, (self.need[r], r))
        self.dirty = True

    def _admission_due(self, reserve: int = 0) -> bool:
        """A waiting request may be admitted now and the queue is due for ranking.

        ``reserve`` blocks are spoken for by the decodes of the coming iteration.
        """
        if not self.waiting or self.running >= self.cap or not (self.dirty or not self.running):
            return False
        heap = self.heap
        while heap[0][1] not in self.waiting or self.need[heap[0][1]] != heap[0][0]:
            heapq.heappop(heap)  # stale: admitted since, or re-queued with a new need
        return -(-heap[0][0] // self.bs) <= self.free - reserve - self.watermark

    def _admit(self, budget: int, chunked: bool, reserve: int = 0) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        bs = self.bs
        for r in self.chooser.picks_of(self, list(self.waiting), True):
            size = self.need[r]
            blocks = -(-size // bs)
            if self.running >= self.cap or blocks > self.free - reserve - self.watermark:
                self.dirty = False  # nothing changes until an arrival, finish or preemption
                break
            if not chunked and size > budget:
                break  # token budget: rank again at the next iteration
            c = min(size, budget)
            del self.waiting[r]
            self.views.pop(r, None)
            self.free -= blocks
            self.held[r] = blocks
            self.done[r] = 0
            self.admit_it[r] = self.it
            self.prefill_it[r] = -1
            self.running += 1
            out.append((r, c))
            budget -= c
            if c < size:
                self.partial = r
            if budget == 0:
                break
        else:
            self.dirty = False  # the queue is empty
        return out

    def _decode_memory(self) -> None:
        """Preempt until every decoding request can write its next token."""
        if self.residue[-self.D % self.bs] <= self.free:
            return
        ids = list(self.dec) + ([self.partial] if self.partial >= 0 else [])
        for r in self.chooser.picks_of(self, ids, False):
            self._preempt(r)
            if self.residue[-self.D % self.bs] <= self.free:
                return
        raise RuntimeError("a single request does not fit the KV cache (instance check missed)")

    def _preempt(self, r: int) -> None:
        if r == self.partial:
            self.partial = -1
            self.free += self.held[r]
            self.stints.append((r, self.admit_it[r], self.need[r], -1, -1, -1, self.it - 1, 0))
        else:
            self._leave(r)
            self.stints.append((r, self.admit_it[r], self.need[r], self.prefill_it[r],
                                self.join_d[r], self.D, self.it - 1, 0))
        self.held[r] = 0
        self.done[r] = 0
        self.running -= 1
        self.pre[r] += 1
        self.need[r] = self.prompt[r] + self.gen[r]
        self._enqueue(r)

    # -- the decoding set ------------------------------------------------------------------
    def _join(self, r: int) -> None:
        """Request ``r`` finished its prefill (KV = need, blocks already held) and decodes."""
        big_d = self.D
        x = self.need[r] - big_d
        self.x[r] = x
        self.y[r] = self.gen[r] - big_d
        self.join_d[r] = big_d
        self.dec[r] = None
        self.residue[x % self.bs] += 1
        self.kv += x
        heapq.heappush(self.fin_heap, (self.out[r] - self.y[r], r))

    def _leave(self, r: int) -> None:
        """Remove ``r`` from the decoding set, materialising its counters and freeing blocks."""
        big_d = self.D
        x = self.x[r]
        del self.dec[r]
        self.residue[x % self.bs] -= 1
        self.kv -= x
        self.gen[r] = self.y[r] + big_d
        self.free += -(-(x + big_d) // self.bs)

    def _finish_due(self) -> None:
        """Finish the decoding requests that generated their last token."""
        heap, big_d = self.fin_heap, self.D
        while heap and heap[0][0] <= big_d:
            _, r = heapq.heappop(heap)
            if r in self.dec and self.out[r] - self.y[r] <= big_d:
                self._leave(r)
                self._finish(r, self.join_d[r])

    def _finish(self, r: int, join_d: int) -> None:
        self.stints.append((r, self.admit_it[r], self.need[r], self.prefill_it[r], join_d,
                            self.D, self.it - 1, 1))
        self.finish[r] = self.t
        self.held[r] = 0
        self.running -= 1
        self.finished += 1
        self.dirty = True

    # -- iterations ------------------------------------------------------------------------
    def _nonattn(self, tokens: int) -> float:
        v = self.base + self.per_token * tokens
        return v if v > self.floor else self.floor

    def _iterate(self, decodes: bool, chunks: list[tuple[int, int]]) -> None:
        """One iteration: every decode (if ``decodes``) plus the prefill ``chunks``."""
        n_dec = len(self.dec) if decodes else 0
        tokens = n_dec
        attn = 0
        for r, c in chunks:
            tokens += c
            attn += c * (2 * self.done[r] + c)
        kv = self.kv + n_dec * (self.D + 1) if n_dec else 0
        duration = self._nonattn(tokens) + self.alpha * kv + self.beta * attn
        self.steps.append((1, self.t, duration, 0.0, tokens, 1 if decodes else 0))
        self.t = end = self.t + duration
        if decodes:
            self.free -= self.residue[-self.D % self.bs]
            self.D += 1
        self.it += 1
        for r, c in chunks:
            self.done[r] += c
            if self.done[r] == self.need[r]:
                if r == self.partial:
                    self.partial = -1
                self.gen[r] += 1
                self.prefill_it[r] = self.it - 1
                if math.isnan(self.first[r]):
                    self.first[r] = end
                if self.gen[r] >= self.out[r]:
                    self.free += self.held[r]
                    self._finish(r, self.D)
                else:
                    self._join(r)
        if decodes:
            self._finish_due()

    def _decode_run(self) -> None:
        """Decode-only iterations up to the next event, computed in closed form."""
        n = len(self.dec)
        heap, out, y = self.fin_heap, self.out, self.y
        while heap[0][1] not in self.dec or out[heap[0][1]] - y[heap[0][1]] != heap[0][0]:
            heapq.heappop(heap)  # stale: finished or preempted since
        big_d, bs, residue = self.D, self.bs, self.residue
        k = heap[0][0] - big_d
        if self._admission_due():
            k = 1
        a_cost = self._nonattn(n) + self.alpha * (self.kv + n * (big_d + 1))
        half = 0.5 * self.alpha * n  # each iteration reads n more KV tokens than the last
        if k > 1 and self.a < self.n:
            k = min(k, _steps_until(self.arr[self.a] - self.t, a_cost, half))
        # Blocks: every request takes one per block_size tokens, so whole cycles cost n.
        cycles = min(k // bs, self.free // n)
        left = self.free - cycles * n
        j = cycles * bs
        while j < k:
            want = residue[-(big_d + j) % bs]
            if want > left:
                break
            left -= want
            j += 1
        k = j
        self.free = left
        self.steps.append((k, self.t, a_cost, half, n, 1))
        self.t = self.t + k * a_cost + half * k * (k - 1)
        self.D += k
        self.it += k
        self._finish_due()


def _steps_until(delta: float, a_cost: float, half: float) -> int:
    """Smallest j ≥ 1 with ``j·a_cost + half·j·(j−1) >= delta`` (iterations until an arrival)."""

    def s(j: int) -> float:
        return j * a_cost + half * j * (j - 1)

    if half > 0:
        b = a_cost - half
        j = math.ceil((-b + math.sqrt(b * b + 4 * half * delta)) / (2 * half))
    else:
        j = math.ceil(delta / a_cost)
    j = max(1, j)
    while j > 1 and s(j - 1) >= delta:
        j -= 1
    while s(j) < delta:
        j += 1
    return j


def _check(sim: Simulator, n: int) -> None:
    if n == 0 or len(sim.prompt) != n or len(sim.out) != n:
        raise ValueError("arrival, prompt and output must list the same, non-zero number of "
                         "requests")
    if any(b < a for a, b in zip(sim.arr, sim.arr[1:], strict=False)) or sim.arr[0] < 0:
        raise ValueError("arrival times must be non-negative and non-decreasing")
    if min(sim.prompt) < 1 or min(sim.out) < 1:
        raise ValueError("every request needs at least one prompt and one output token")
    if sim.bs < 1 or sim.cap < 1 or not 0 <= sim.watermark < sim.total:
        raise ValueError("block_size and batch_cap must be >= 1, 0 <= watermark < num_blocks")
    if sim.chunk and sim.chunk < sim.cap:
        raise ValueError(f"chunk_size {sim.chunk} must be at least batch_cap {sim.cap}")
    longest = max(p + d for p, d in zip(sim.prompt, sim.out, strict=True))
    if -(-(longest - 1) // sim.bs) > sim.total - sim.watermark:
        raise ValueError(f"a request of {longest} tokens does not fit the KV cache "
                         f"({sim.total - sim.watermark} usable blocks of {sim.bs})")
    if not sim.chunk and longest - 1 > sim.max_tokens:
        raise ValueError(f"a request of {longest} tokens cannot be (re)prefilled within "
                         f"max_batch_tokens={sim.max_tokens}; enable chunking or truncate")
    if min(sim.floor, sim.base, sim.per_token, sim.alpha, sim.beta) < 0 or (
            sim.floor <= 0 and sim.per_token <= 0):
        raise ValueError("cost terms must be non-negative and iterations must take time")


def simulate(payload: Mapping[str, Any], priority: Priority) -> Simulator:
    """Run ``payload`` with ``priority`` deciding every pick (recorded in ``.chooser.picks``)."""
    return Simulator(payload, Chooser(priority)).run()


def decision_log(sim: Simulator) -> list[int]:
    """The raw output of a run: header (format, chunk, requests, iterations, picks) + picks."""
    picks = sim.chooser.picks
    return [LOG_FORMAT, sim.chunk, sim.n, sim.it, len(picks), *picks]


def replay(payload: Mapping[str, Any], picks: Sequence[int]) -> Simulator:
    """Re-run ``payload`` taking every pick from ``picks``.

    Raises
    ------
    ReplayError
        When a pick is not eligible at its decision or the log is too short or too long.
    """
    chooser = Replay(picks)
    sim = Simulator(payload, chooser).run()
    if chooser.cursor != len(picks):
        raise ReplayError("long", f"the replay used {chooser.cursor} picks; the log has "
                          f"{len(picks)}")
    return sim
