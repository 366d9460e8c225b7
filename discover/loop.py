"""The discovery loop: propose, deduplicate, evaluate in the sandbox, archive, select.

Work proceeds in *batches* of candidates. Each batch has its own generator,
derived from ``(seed, batch index, slot)``, and its results are registered in
slot order, so a run is a pure function of its seed and configuration whatever
the evaluation timing — and a resumed run replays the archive to the exact
state it stopped in. Every candidate (program, lineage, evaluation, model
calls) is committed in one transaction before the next batch starts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
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
from discover.cascade import CascadeResult, TrainingSet, loop_depth, run_cascade
from discover.config import RunConfig
from discover.dedup import normalized_hash
from discover.events import CandidateEvaluated, Event, ProviderTrouble
from discover.islands import Member
from discover.population import Population
from discover.proposer import PARENTS_NEEDED, Candidate, Proposer
from evaluators.base import Problem
from sandbox import SandboxPool

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
    batch: int = 0
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


def batch_rng(seed: int, batch: int, slot: int | None = None) -> np.random.Generator:
    """The generator of one batch (or of one slot within it)."""
    key = [seed, batch] if slot is None else [seed, batch, slot]
    return np.random.default_rng(key)


def member_of(program_id: int, code: str, result: CascadeResult, island: int | None) -> Member:
    """The population's view of an evaluated program.

    The runtime axis of the diversity cells is the static loop depth, not the
    measured seconds, which would make selection depend on machine load.
    """
    return Member(program_id=program_id, code=code, score=float(result.score or 0.0),
                  signature=result.signature, runtime=1e-4 * 4.0 ** loop_depth(code),
                  code_size=len(code), island=island)


class SearchLoop:
    """Runs batches until the budget, the time limit or an error stops it."""

    def __init__(self, problem: Problem[object], config: RunConfig, archive: Archive,
                 run_id: int, pool: SandboxPool, proposer: Proposer, population: Population,
                 training: TrainingSet, emit: Callable[[Event], None],
                 runtime_limit: float | None) -> None:
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
        self.state = LoopState()
        weights = config.search.operators
        self.operators = [op for op, w in weights.items() if w > 0]
        total = sum(weights[op] for op in self.operators)
        self.op_probs = [weights[op] / total for op in self.operators]
        self.batch_size = config.workers if config.llm.offline else max(
            config.workers, config.llm.concurrency)
        self._executor = ThreadPoolExecutor(max_workers=max(self.batch_size, 1),
                                            thread_name_prefix="discover-eval")

    def close(self) -> None:
        """Stop the evaluation threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- evaluation ---------------------------------------------------------------------------
    def _evaluate(self, code: str) -> CascadeResult | str:
        return run_cascade(self.problem, code, self.training, self.pool,
                           time_limit=self.config.evaluation.candidate_time_limit,
                           runtime_limit=self.runtime_limit,
                           is_known_behaviour=lambda h: h in self.state.by_behaviour)

    def evaluate_many(self, codes: Sequence[str | None]) -> list[CascadeResult | str | None]:
        """Run the cascade on several programs at once (results in input order)."""
        futures = [self._executor.submit(self._evaluate, c) if c is not None else None
                   for c in codes]
        return [f.result() if f is not None else None for f in futures]

    # -- recording ----------------------------------------------------------------------------
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
        duplicate_of = outcome.duplicate_of
        if duplicate_of is None and result is None and outcome.behaviour_hash is None:
            # Same code as an earlier slot of this batch, which is recorded by now.
            duplicate_of = self._original_of(outcome.code_hash)
        behaviour = result.behaviour_hash if result is not None else outcome.behaviour_hash
        program = Program(code=cand.code, operator=cand.operator, island=island,
                          generation=generation, idea=cand.idea,
                          code_hash=outcome.code_hash or "", behaviour_hash=behaviour)
        evaluations = [result.evaluation] if result is not None else []
        program_id = self.archive.record_candidate(
            self.run_id, program, parents=parents, evaluations=evaluations,
            model_calls=cand.model_calls, duplicate_of=duplicate_of)
        self._index(program_id, program, duplicate_of, result)
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

    def restore(self, programs: Sequence[ProgramState]) -> None:
        """Rebuild counters, dedup indexes and the population from archived programs."""
        for ps in programs:
            ev = ps.evaluations.get(Split.TRAIN)
            self.state.codes[ps.id] = ps.program.code
            if ps.duplicate_of is not None:
                self.state.by_code.setdefault(ps.program.code_hash, ps.duplicate_of)
                continue
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
        gens = [ps.program.generation for ps in programs]
        self.state.batch = max(gens, default=0)

    # -- one batch ----------------------------------------------------------------------------
    def run_batch(self, remaining: int) -> None:
        """Propose, dedup, evaluate and record one batch of at most ``remaining`` programs."""
        self.state.batch += 1
        b = self.state.batch
        rng = batch_rng(self.config.seed, b)
        self.population.rng = rng
        size = min(self.batch_size, remaining)
        plans = []
        for _ in range(size):
            island = self.population.choose_island()
            op = self.operators[int(rng.choice(len(self.operators), p=self.op_probs))]
            parents = self.population.sample_parents(island, PARENTS_NEEDED[op])
            plans.append((island, op, parents))
        futures = [self._executor.submit(self.proposer.propose, op, parents,
                                         batch_rng(self.config.seed, b, slot))
                   for slot, (_, op, parents) in enumerate(plans)]
        candidates = [f.result() for f in futures]
        side = self.proposer.side_calls()
        if side:
            self.archive.record_model_calls(self.run_id, side)
        outcomes = self._dedup_and_evaluate(candidates)
        for (island, _, _), outcome in zip(plans, outcomes, strict=True):
            program_id = self.record(outcome, island, b)
            self._report(outcome, program_id)

    def _dedup_and_evaluate(self, candidates: Sequence[Candidate]) -> list[Outcome]:
        hashes: list[str | None] = []
        todo: list[str | None] = []
        seen_in_batch: dict[str, int] = {}
        for k, cand in enumerate(candidates):
            h = _safe_hash(cand.code) if cand.code is not None else None
            hashes.append(h)
            fresh = h is not None and h not in self.state.by_code and h not in seen_in_batch
            if fresh and h is not None:
                seen_in_batch[h] = k
            todo.append(cand.code if fresh else None)
        results = self.evaluate_many(todo)
        outcomes = []
        for cand, h, result in zip(candidates, hashes, results, strict=True):
            if cand.code is None:
                outcomes.append(Outcome(cand, None, None, None))
            elif result is None:
                # Same normalised code as an archived program (or an earlier slot).
                outcomes.append(Outcome(cand, h, self._original_of(h), None))
            elif isinstance(result, str):
                outcomes.append(Outcome(cand, h, self.state.by_behaviour.get(result), None,
                                        behaviour_hash=result))
            else:
                outcomes.append(Outcome(cand, h, None, result))
        return outcomes

    def _original_of(self, code_hash: str | None) -> int | None:
        if code_hash is None:
            return None
        # An earlier slot of this batch has been recorded by the time this one is.
        return self.state.by_code.get(code_hash)

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
        """Evaluate and record the problem's seed programs (generation 0)."""
        names = list(seeds)
        cands = [Candidate(seeds[n], "seed", (), "seed", idea=f"seed program: {n}")
                 for n in names]
        outcomes = self._dedup_and_evaluate(cands)
        for outcome in outcomes:
            program_id = self.record(outcome, 0, 0)
            self._report(outcome, program_id)


def _safe_hash(code: str) -> str | None:
    try:
        return normalized_hash(code)
    except (SyntaxError, ValueError, RecursionError):
        # Unparseable code still gets a (textual) identity so it is recorded once.
        import hashlib

        return "raw:" + hashlib.sha256(code.encode()).hexdigest()


def elapsed_since(start: float) -> float:
    """Seconds since a ``time.monotonic()`` reading."""
    return time.monotonic() - start


__all__ = ["MAX_STALLED", "LoopState", "ModelCall", "SearchLoop", "StopRun", "batch_rng"]
