"""The discovery loop: propose, deduplicate, evaluate in the sandbox, archive, select.

Candidates are numbered *slots*, several in flight at once (see
:class:`SearchLoop`). Each slot has its own generator, derived from ``(seed,
slot)``, and results are recorded in slot order, so a run is a pure function of
its seed and configuration whatever the evaluation timing — and a resumed run
replays the archive to the exact state it stopped in. Every candidate (program,
lineage, evaluation, model calls) is committed in one transaction.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass

import numpy as np

from archive import (
    Archive,
    EdgeRole,
    ModelCall,
    Parent,
    Program,
    ProgramState,
    Split,
)
from discover.cascade import (
    CascadeResult,
    TrainingSet,
    evaluation_failed,
    loop_depth,
    run_cascade,
)
from discover.config import RunConfig
from discover.dedup import normalized_hash
from discover.events import CandidateEvaluated, Event, ProviderTrouble
from discover.executors import ExecutorLost
from discover.islands import Member
from discover.population import Population
from discover.proposer import PARENTS_NEEDED, Candidate, Proposer
from evaluators.base import Problem
from sandbox import SandboxError, SandboxPool
from sandbox.text import storable

log = logging.getLogger(__name__)

SALVAGE_SECONDS = 30.0
"""How long a run stopping on an error waits for the model calls still in flight."""
MAX_STALLED = 500
"""Consecutive proposals without a new program before the run stops as stalled."""


class StopRun(Exception):
    """The loop cannot go on (stalled search, provider down); the message says why."""


@dataclass(frozen=True)
class Outcome:
    """One candidate after dedup and evaluation, ready to archive."""

    candidate: Candidate
    code_hash: str | None
    duplicate_of: int | None
    result: CascadeResult | None
    behaviour_hash: str | None = None


@dataclass
class LoopState:
    """Counters and dedup indexes rebuilt from the archive on resume."""

    evaluated: int = 0
    slot: int = 0
    """Number of the last slot proposed."""
    best_id: int | None = None
    best_score: float | None = None
    stalled: int = 0

    def __post_init__(self) -> None:
        self.by_code: dict[str, int] = {}
        self.by_behaviour: dict[str, int] = {}
        self.codes: dict[int, str] = {}
        self.train_scores: dict[int, float] = {}

    def note_best(self, program_id: int, score: float) -> None:
        """Track the best training score (ties keep the older program)."""
        if self.best_score is None or score < self.best_score:
            self.best_id, self.best_score = program_id, score


def slot_rng(seed: int, slot: int, stream: int | None = None) -> np.random.Generator:
    """The generator of one slot (parent selection), or of one stream of it (the proposal)."""
    key = [seed, slot] if stream is None else [seed, slot, stream]
    return np.random.default_rng(key)


def member_of(program_id: int, code: str, result: CascadeResult, island: int | None) -> Member:
    """The population's view of an evaluated program.

    The runtime axis of the diversity cells is the static loop depth, not the
    measured seconds, which would make selection depend on machine load.
    """
    return Member(program_id=program_id, code=code, score=float(result.score or 0.0),
                  signature=result.signature, runtime=1e-4 * 4.0 ** loop_depth(code),
                  code_size=len(code), island=island)


@dataclass(frozen=True)
class _Work:
    """What a slot's thread produced: the candidate, its code hash and the cascade's verdict.

    ``result`` is ``None`` when the code was not evaluated (no code, or the same
    code as a recorded program or an earlier slot), a behaviour fingerprint when
    the probe matched a known behaviour, else the cascade result.
    """

    candidate: Candidate
    code_hash: str | None
    result: CascadeResult | str | None


@dataclass
class _Slot:
    """A proposal in flight: its sequence number, island and pending work."""

    index: int
    island: int
    work: Future[_Work] | None
    """``None`` for slots replayed from the archive on resume."""


class SearchLoop:
    """A pipeline of proposals and evaluations, recorded strictly in proposal order.

    Up to ``in_flight`` candidates are proposed and evaluated concurrently. Slot
    ``i`` is proposed right after slot ``i - in_flight`` is recorded, from the
    population as it stands then, with a generator derived from ``(seed, i)``;
    results are recorded in slot order. Every decision therefore depends only
    on the records before it, never on timing: the same seed gives the same
    programs, and a resumed run replays the archive through the same proposal
    points. Workers stay busy while the orchestrator records and proposes, and
    a slow candidate holds up recording but not the other slots in flight.
    """

    def __init__(self, problem: Problem[object], config: RunConfig, archive: Archive,
                 run_id: int, pool: SandboxPool, proposer: Proposer, population: Population,
                 training: TrainingSet, emit: Callable[[Event], None],
                 runtime_limit: float | None, *, deadline: float | None = None) -> None:
        self.problem = problem
        self.config = config
        self.archive = archive
        self.run_id = run_id
        self.pool = pool
        self.proposer = proposer
        self.population = population
        self.training = training
        self.emit = emit
        self.runtime_limit = runtime_limit
        self.deadline = deadline
        """``time.monotonic()`` of the run's time limit: no slot is proposed after it."""
        self.state = LoopState()
        weights = config.search.operators
        self.operators = [op for op, w in weights.items() if w > 0]
        total = sum(weights[op] for op in self.operators)
        self.op_probs = [weights[op] / total for op in self.operators]
        self.in_flight = in_flight(config)
        self._pending: deque[_Slot] = deque()
        self._claims: dict[str, int] = {}
        self._claims_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(max_workers=self.in_flight,
                                            thread_name_prefix="discover-slot")

    def close(self) -> None:
        """Stop the slot threads (work still in flight is abandoned)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- evaluation ---------------------------------------------------------------------------
    def _evaluate(self, code: str) -> CascadeResult | str:
        return run_cascade(self.problem, code, self.training, self.pool,
                           time_limit=self.config.evaluation.candidate_time_limit,
                           runtime_limit=self.runtime_limit,
                           is_known_behaviour=lambda h: h in self.state.by_behaviour)

    def _work(self, index: int, candidate: Candidate | None, operator: str,
              parents: Sequence[Member], rng: np.random.Generator | None) -> _Work:
        """Propose (unless given) and evaluate one slot; runs in a slot thread."""
        if candidate is None:
            assert rng is not None
            candidate = self.proposer.propose(operator, parents, rng)
        if candidate.code is None:
            return _Work(candidate, None, None)
        code_hash = _safe_hash(candidate.code)
        with self._claims_lock:
            owner = self._claims.setdefault(code_hash, index)
        # Evaluating the same code twice is wasted: an earlier slot or a recorded
        # program has it. (Recording decides duplicates again, in slot order.)
        if owner < index or code_hash in self.state.by_code:
            return _Work(candidate, code_hash, None)
        return _Work(candidate, code_hash, self._contained(candidate.code))

    def _contained(self, code: str) -> CascadeResult | str:
        """Evaluate ``code``; a failure of the evaluation itself is this candidate's alone.

        Whatever a candidate makes the trusted side raise (a malformed reply, a
        scoring bug it triggers) is recorded as its ``crashed`` evaluation and the
        run goes on: no single candidate may end a run. Ctrl-C, a lost executor
        and a sandbox that cannot run anything (no worker starts) still stop it:
        going on would only spend the budget on candidates nobody can evaluate.
        """
        try:
            return self._evaluate(code)
        except (ExecutorLost, SandboxError):
            raise
        except Exception as exc:
            log.warning("evaluating a candidate failed on the trusted side", exc_info=True)
            return evaluation_failed(exc)

    # -- recording ----------------------------------------------------------------------------
    def _classify(self, work: _Work) -> Outcome:
        """Decide, in slot order, whether a slot's candidate is new or a duplicate."""
        cand, code_hash, result = work.candidate, work.code_hash, work.result
        if cand.code is None:
            return Outcome(cand, None, None, None)
        assert code_hash is not None
        original = self.state.by_code.get(code_hash)
        if original is not None:
            return Outcome(cand, code_hash, original, None)
        if result is None:  # skipped for a slot that was then recorded under another hash
            result = self._contained(cand.code)
        behaviour = result if isinstance(result, str) else result.behaviour_hash
        if behaviour is not None and behaviour in self.state.by_behaviour:
            return Outcome(cand, code_hash, self.state.by_behaviour[behaviour], None,
                           behaviour_hash=behaviour)
        assert not isinstance(result, str)
        return Outcome(cand, code_hash, None, result)

    def record(self, outcome: Outcome, island: int, generation: int) -> int | None:
        """Commit one candidate (and register it); returns its program id."""
        cand = outcome.candidate
        if cand.code is None:
            if cand.model_calls:
                self.archive.record_model_calls(self.run_id, cand.model_calls)
            return None
        roles = {"crossover": EdgeRole.CROSSOVER, "new_idea": EdgeRole.INSPIRATION}
        role = roles.get(cand.operator, EdgeRole.MUTATION)
        parents = [Parent(pid, role) for pid in dict.fromkeys(cand.parents)]
        result = outcome.result
        behaviour = result.behaviour_hash if result is not None else outcome.behaviour_hash
        # Model-written text: storable (no lone surrogate or NUL), or the write fails.
        program = Program(code=storable(cand.code), operator=cand.operator, island=island,
                          generation=generation,
                          idea=None if cand.idea is None else storable(cand.idea),
                          code_hash=outcome.code_hash or "", behaviour_hash=behaviour)
        evaluations = [result.evaluation] if result is not None else []
        program_id = self.archive.record_candidate(
            self.run_id, program, parents=parents, evaluations=evaluations,
            model_calls=cand.model_calls, duplicate_of=outcome.duplicate_of)
        self._index(program_id, program, outcome.duplicate_of, result)
        if result is not None and result.ok:
            self.population.register(member_of(program_id, cand.code, result,
                                               None if cand.operator == "seed" else island))
        return program_id

    def _index(self, program_id: int, program: Program, duplicate_of: int | None,
               result: CascadeResult | None) -> None:
        s = self.state
        s.codes[program_id] = program.code
        if duplicate_of is not None:
            s.by_code.setdefault(program.code_hash, duplicate_of)
            return
        s.evaluated += 1
        s.by_code.setdefault(program.code_hash, program_id)
        if program.behaviour_hash:
            s.by_behaviour.setdefault(program.behaviour_hash, program_id)
        if result is not None and result.ok and result.score is not None:
            s.train_scores[program_id] = result.score
            s.note_best(program_id, result.score)

    def _release(self, work: _Work, index: int) -> None:
        if work.code_hash is not None:
            with self._claims_lock:
                if self._claims.get(work.code_hash) == index:
                    del self._claims[work.code_hash]

    # -- the pipeline ---------------------------------------------------------------------------
    def _fill(self, budget: int, replayed_up_to: int = 0) -> None:
        """Propose slots while there is room in flight and budget left.

        Slots up to ``replayed_up_to`` are already in the archive (resume): they
        take their place in the pipeline without being proposed again.
        """
        if self.deadline is not None and time.monotonic() >= self.deadline:
            budget = 0  # the run is stopping at its time limit: propose nothing more
        while (len(self._pending) < self.in_flight
               and self.state.evaluated + len(self._pending) < budget):
            self.state.slot += 1
            index = self.state.slot
            if index <= replayed_up_to:
                self._pending.append(_Slot(index, -1, None))
                continue
            rng = slot_rng(self.config.seed, index)
            self.population.rng = rng
            island = self.population.choose_island()
            op = self.operators[int(rng.choice(len(self.operators), p=self.op_probs))]
            parents = self.population.sample_parents(island, PARENTS_NEEDED[op])
            future = self._executor.submit(self._work, index, None, op, parents,
                                           slot_rng(self.config.seed, index, 0))
            self._pending.append(_Slot(index, island, future))

    def advance(self, budget: int) -> bool:
        """Record the next slot in order, proposing as room frees up.

        Returns
        -------
        bool
            False when nothing is left to record (the budget is met).
        """
        self._fill(budget)
        if not self._pending:
            return False
        slot = self._pending.popleft()
        assert slot.work is not None
        try:
            work = slot.work.result()
        except Exception:  # not Ctrl-C: that stops at once
            self._salvage_model_calls()
            raise
        side = self.proposer.side_calls()
        if side:
            self.archive.record_model_calls(self.run_id, side)
        outcome = self._classify(work)
        program_id = self.record(outcome, slot.island, slot.index)
        self._release(work, slot.index)
        self._report(outcome, program_id)
        # Proposals follow the record immediately: the next slot sees exactly the
        # records before it, whatever the timing.
        self._fill(budget)
        return True

    def _salvage_model_calls(self) -> None:
        """The run is stopping on an error: archive the model calls other slots paid for.

        Their programs are abandoned like any work in flight, but every call made
        (tokens, cost, error) stays on record. Waits a bounded time for them.
        """
        futures = [s.work for s in self._pending if s.work is not None]
        done, _ = wait(futures, timeout=SALVAGE_SECONDS)
        calls = [call for f in futures if f in done and f.exception() is None
                 for call in f.result().candidate.model_calls]
        self._pending.clear()
        if calls:
            self.archive.record_model_calls(self.run_id, calls)

    def drain(self) -> None:
        """Record every slot still in flight (when the run stops early, e.g. on its time limit)."""
        while self._pending:
            self.advance(0)

    def restore(self, programs: Sequence[ProgramState], budget: int) -> None:
        """Rebuild counters, dedup indexes, population and pipeline from archived programs.

        The archive is replayed in record order through the same proposal points
        as the original run, so the slots that were in flight when it stopped
        are proposed again from the very population they were proposed from.
        """
        ordered = sorted(programs, key=lambda ps: ps.id)
        last = max((ps.program.generation for ps in ordered), default=0)
        filled = False
        for ps in ordered:
            generation = ps.program.generation
            if generation > 0 and not filled:
                self._fill(budget, replayed_up_to=last)
                filled = True
            while self._pending and self._pending[0].index <= generation:
                self._pending.popleft()  # recorded now, or a slot that produced no code
            self._restore_one(ps)
            if filled:
                self._fill(budget, replayed_up_to=last)
        if not filled:
            self._fill(budget, replayed_up_to=last)

    def _restore_one(self, ps: ProgramState) -> None:
        ev = ps.evaluations.get(Split.TRAIN)
        self.state.codes[ps.id] = ps.program.code
        if ps.duplicate_of is not None:
            self.state.by_code.setdefault(ps.program.code_hash, ps.duplicate_of)
            return
        self.state.evaluated += 1
        self.state.by_code.setdefault(ps.program.code_hash, ps.id)
        if ps.program.behaviour_hash:
            self.state.by_behaviour.setdefault(ps.program.behaviour_hash, ps.id)
        if ev is not None and ev.status.value == "ok" and ev.score is not None:
            self.state.train_scores[ps.id] = ev.score
            self.state.note_best(ps.id, ev.score)
            signature = tuple(r.gap if r.gap is not None else 0.0 for r in ev.per_instance)
            island = None if ps.program.operator == "seed" else ps.program.island
            self.population.register(Member(
                program_id=ps.id, code=ps.program.code, score=ev.score,
                signature=signature, runtime=1e-4 * 4.0 ** loop_depth(ps.program.code),
                code_size=len(ps.program.code), island=island))

    def _report(self, outcome: Outcome, program_id: int | None) -> None:
        cand = outcome.candidate
        if program_id is None:
            status = "no_code"
        elif outcome.duplicate_of is not None or (outcome.result is None):
            status = "duplicate"
        else:
            assert outcome.result is not None
            status = outcome.result.status
        if status in ("ok",):
            self.state.stalled = 0
        else:
            self.state.stalled += 1
        if cand.failure and program_id is None:
            self.emit(ProviderTrouble(cand.model, cand.failure, self.state.stalled))
        self.emit(CandidateEvaluated(
            program_id=program_id or 0, evaluated=self.state.evaluated, status=status,
            score=outcome.result.score if outcome.result is not None else None,
            best_score=self.state.best_score, operator=cand.operator, model=cand.model,
            seconds=outcome.result.evaluation.seconds if outcome.result is not None else 0.0,
            tokens_in=cand.tokens_in, tokens_out=cand.tokens_out, cost=cand.cost))
        if self.state.stalled >= MAX_STALLED:
            raise StopRun(f"search stalled: {MAX_STALLED} proposals in a row produced no new "
                          "working program (duplicates, failures or no code)")

    def record_seeds(self, seeds: dict[str, str]) -> None:
        """Evaluate (concurrently) and record the problem's seed programs (generation 0)."""
        cands = [Candidate(code, "seed", (), "seed", idea=f"seed program: {name}")
                 for name, code in seeds.items()]
        futures = [self._executor.submit(self._work, -len(cands) + k, cand, "seed", (), None)
                   for k, cand in enumerate(cands)]
        for k, future in enumerate(futures):
            work = future.result()
            outcome = self._classify(work)
            program_id = self.record(outcome, 0, 0)
            self._release(work, -len(cands) + k)
            self._report(outcome, program_id)


def in_flight(config: RunConfig) -> int:
    """Candidates proposed and evaluated at once (``search.in_flight``, 0: automatic).

    Automatic: twice the workers, so workers stay busy while the orchestrator
    records and proposes; with language models at least the request concurrency.
    """
    if config.search.in_flight > 0:
        return config.search.in_flight
    depth = 2 * max(config.workers, 1)
    return depth if config.llm.offline else max(depth, config.llm.concurrency)


def _safe_hash(code: str) -> str:
    try:
        return normalized_hash(code)
    except (SyntaxError, ValueError, RecursionError):
        # Unparseable code still gets a (textual) identity so it is recorded once.
        import hashlib

        return "raw:" + hashlib.sha256(code.encode("utf-8", "surrogatepass")).hexdigest()


__all__ = [
    "MAX_STALLED",
    "LoopState",
    "ModelCall",
    "SearchLoop",
    "StopRun",
    "in_flight",
    "slot_rng",
]
