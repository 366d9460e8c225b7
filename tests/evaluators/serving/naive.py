"""A deliberately naive simulator of the documented serving model, for cross-checking.

It steps one iteration at a time, keeps every request's counters explicitly and
recomputes the free KV blocks from scratch before each use — none of the fast
engine's closed-form runs, decode counter, residue classes or heaps. Both must
agree on every time, preemption and pick.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from evaluators.serving.decisions import Request, State

FUTURE, WAITING, RUNNING, DONE = range(4)


@dataclass
class NaiveRun:
    """What the naive simulator recorded."""

    first: list[float]
    finish: list[float]
    preemptions: list[int]
    iterations: int
    picks: list[int] = field(default_factory=list)
    max_blocks: int = 0
    max_running: int = 0
    max_tokens: int = 0


def naive_simulate(payload: dict[str, Any], priority: Any) -> NaiveRun:
    """Simulate ``payload`` with ``priority`` (larger: admitted first; smaller: preempted first)."""
    srv, cost = payload["server"], payload["server"]["cost"]
    arr, prompt, out = payload["arrival"], payload["prompt"], payload["output"]
    n, bs, total = len(arr), srv["block_size"], srv["num_blocks"]
    wm, cap, chunk = srv["watermark_blocks"], srv["batch_cap"], srv["chunk_size"]
    status = [FUTURE] * n
    need = list(prompt)  # tokens of the current (re)prefill
    done = [0] * n  # of which processed
    ctx = [0] * n  # tokens in the KV cache
    gen = [0] * n
    blocks = [0] * n
    decoding = [False] * n
    run = NaiveRun([math.nan] * n, [math.nan] * n, [0] * n, 0)
    queue: list[int] = []  # waiting, in arrival/re-queue order
    running: list[int] = []
    t = 0.0
    dirty = True

    def free() -> int:
        return total - sum(blocks[r] for r in running)

    def nonattn(tokens: int) -> float:
        return max(cost["floor_ms"], cost["base_ms"] + cost["per_token_ms"] * tokens) / 1e3

    def view(r: int) -> Request:
        return Request(r, t - arr[r], prompt[r], gen[r], decoding[r], run.preemptions[r],
                       blocks[r])

    def ranked(ids: list[int], admission: bool) -> list[int]:
        state = State(t, len(queue), len(running), free(), total)
        keys = [(float(priority(view(r), state)), r) for r in ids]
        if admission:
            keys.sort(key=lambda kv: (-kv[0], kv[1]))
        else:
            keys.sort(key=lambda kv: (kv[0], -kv[1]))
        order = [r for _, r in keys]
        if len(order) > 1:
            run.picks.extend(order[:-1])
        return order

    def reserve() -> int:
        # Blocks the decodes of the coming iteration take (hybrid iterations only).
        if chunk == 0:
            return 0
        return sum(1 for r in running if decoding[r] and ctx[r] % bs == 0)

    def admission_due() -> bool:
        return bool(queue) and len(running) < cap and (dirty or not running) and any(
            -(-need[r] // bs) <= free() - reserve() - wm for r in queue)

    def admit(budget: int, chunked: bool) -> list[tuple[int, int]]:
        nonlocal dirty
        chunks: list[tuple[int, int]] = []
        order = ranked(list(queue), True)
        spoken = reserve()
        taken = 0
        for r in order:
            taken += 1
            b = -(-need[r] // bs)
            if len(running) >= cap or b > free() - spoken - wm:
                dirty = False
                break
            if not chunked and need[r] > budget:
                break
            c = min(need[r], budget)
            queue.remove(r)
            running.append(r)
            status[r] = RUNNING
            blocks[r], done[r], ctx[r] = b, 0, 0
            chunks.append((r, c))
            budget -= c
            if budget == 0:
                break
        else:
            dirty = False
        # Only the picks actually consumed count (as the engine logs them).
        consumed = taken if taken < len(order) else len(order) - 1
        if len(order) > 1:
            del run.picks[len(run.picks) - (len(order) - 1) + consumed:]
        return chunks

    def preempt_for_decodes() -> None:
        nonlocal dirty
        dec = [r for r in running if decoding[r]]
        if sum(1 for r in dec if ctx[r] % bs == 0) <= free():
            return
        order = ranked(list(running), False)
        taken = 0
        for r in order:
            taken += 1
            running.remove(r)
            status[r] = WAITING
            queue.append(r)
            run.preemptions[r] += 1
            blocks[r], ctx[r], done[r], decoding[r] = 0, 0, 0, False
            need[r] = prompt[r] + gen[r]
            dirty = True
            if sum(1 for q in running if decoding[q] and ctx[q] % bs == 0) <= free():
                break
        consumed = taken if taken < len(order) else len(order) - 1
        if len(order) > 1:
            del run.picks[len(run.picks) - (len(order) - 1) + consumed:]

    def iterate(decodes: bool, chunks: list[tuple[int, int]]) -> None:
        nonlocal t, dirty
        dec = [r for r in running if decoding[r]] if decodes else []
        tokens = len(dec) + sum(c for _, c in chunks)
        duration = (nonattn(tokens) + cost["decode_attn_ms"] / 1e3 * sum(ctx[r] + 1 for r in dec)
                    + cost["prefill_attn_ms"] / 1e3 * sum(c * (2 * done[r] + c)
                                                          for r, c in chunks))
        run.max_tokens = max(run.max_tokens, tokens)
        run.max_running = max(run.max_running, len(running))
        t += duration
        run.iterations += 1
        for r in dec:
            ctx[r] += 1
            gen[r] += 1
            blocks[r] = -(-ctx[r] // bs)
        for r, c in chunks:
            done[r] += c
            ctx[r] += c
            if done[r] == need[r]:
                gen[r] += 1
                decoding[r] = True
                if math.isnan(run.first[r]):
                    run.first[r] = t
        run.max_blocks = max(run.max_blocks, total - free())
        for r in list(running):
            if decoding[r] and gen[r] >= out[r]:
                running.remove(r)
                status[r] = DONE
                blocks[r] = 0
                run.finish[r] = t
                dirty = True

    while any(s != DONE for s in status):
        for r in range(n):
            if status[r] == FUTURE and arr[r] <= t:
                status[r] = WAITING
                queue.append(r)
                dirty = True
        if not running and not queue:
            t = max(t, min(arr[r] for r in range(n) if status[r] == FUTURE))
            continue
        if chunk == 0:
            if admission_due():
                chunks = admit(srv["max_batch_tokens"], False)
                if chunks:
                    iterate(False, chunks)
                    continue
            preempt_for_decodes()
            iterate(True, [])
        else:
            if any(decoding[r] for r in running):
                preempt_for_decodes()
            budget = chunk - sum(1 for r in running if decoding[r])
            chunks = [(r, min(need[r] - done[r], budget)) for r in running
                      if not decoding[r]]
            budget -= sum(c for _, c in chunks)
            if budget > 0 and admission_due():
                chunks += admit(budget, True)
            iterate(True, chunks)
    return run
