"""The discovery loop: propose, deduplicate, evaluate in the sandbox, archive, select.

Candidates are numbered *slots*, several in flight at once (see
:class:`SearchLoop`). Each slot has its own generator, derived from ``(seed,
slot)``, and results are recorded in slot order, so a run is a pure function of
its seed and configuration whatever the evaluation timing — and a resumed run
replays the archive to the exact state it stopped in. Every candidate (program,
lineage, evaluation, model calls) is committed in one transaction. A slot's values
are in :mod:`discover.search.slots`, what is recorded of it in
:mod:`discover.search.recording`.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait

import numpy as np

from archive import EvaluationStatus, ModelCall, Program, ProgramState
from discover.executors import ExecutorLost, PoolClosed
from discover.reporting.events import CandidateEvaluated, Event, ProviderTrouble
from discover.search.cascade import CascadeResult, evaluation_failed
from discover.search.collaborators import (
    ArchiveRecorder,
    CascadeEvaluator,
    Evaluator,
    LoopSettings,
    Recorder,
    SlotGenerators,
    Tuner,
    in_flight,
    slot_rng,
)
from discover.search.islands import Member
from discover.search.loop_state import LoopState, load_of, member_of
from discover.search.novelty import (
    KnownPrograms,
    RedrawCounts,
    SearchEfficiency,
    code_identity,
    redraw,
)
from discover.search.population import Population
from discover.search.proposer import PARENTS_NEEDED, Candidate, Proposer, SearchNotes
from discover.search.recording import (
    ClassifiedCandidate,
    archived_program,
    classify,
    outcome_status,
    train_figures,
)
from discover.search.slots import CodeClaims, Slot, SlotPlan, SlotWork
from discover.search.stopping import SearchProgress
from discover.search.tune_slots import TuneSlots, finding, mark_untuned
from sandbox import SandboxError

log = logging.getLogger(__name__)

SALVAGE_SECONDS = 30.0
"""How long a run stopping on an error waits for the model calls still in flight."""


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

    def __init__(self, proposer: Proposer, evaluator: Evaluator, recorder: Recorder,
                 population: Population, generators: SlotGenerators, settings: LoopSettings,
                 emit: Callable[[Event], None], tuner: Tuner | None = None) -> None:
        self.proposer = proposer
        self.evaluator = evaluator
        self.recorder = recorder
        self.population = population
        self.generators = generators
        self.emit = emit
        self.deadline = settings.deadline
        """``time.monotonic()`` of the run's time limit: no slot is proposed after it."""
        self.state = LoopState()
        weights = settings.operators
        self.operators = [op for op, w in weights.items() if w > 0]
        total = sum(weights[op] for op in self.operators)
        self.op_probs = [weights[op] / total for op in self.operators]
        self.in_flight = settings.in_flight
        self.step_limit = settings.step_limit
        self.tune_slots = TuneSlots(tuner, settings.tune_top, proposer.name)
        self._pending: deque[Slot] = deque()
        self._claims = CodeClaims()
        self._executor = ThreadPoolExecutor(max_workers=self.in_flight,
                                            thread_name_prefix="discover-slot")

    def close(self) -> None:
        """Stop the slot threads (work still in flight is abandoned)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    # -- evaluation ---------------------------------------------------------------------------
    def _evaluate(self, code: str, known: dict[str, int] | None = None
                  ) -> CascadeResult | str:
        behaviours = self.state.by_behaviour if known is None else known
        return self.evaluator(code, lambda h: h in behaviours)

    def _work(self, index: int, candidate: Candidate | None, operator: str,
              parents: Sequence[Member], rng: np.random.Generator | None,
              plan: SlotPlan | None = None) -> SlotWork:
        """Propose (unless given) and evaluate one slot; runs in a slot thread.

        Novelty before cost: a proposal that repeats a program known when the slot
        was proposed is drawn again (:func:`discover.search.novelty.redraw`).
        """
        counts = RedrawCounts()
        if candidate is None and plan is not None and plan.tune:
            candidate = self.tune_slots.candidate(parents[0])
        if candidate is None:
            assert rng is not None
            if plan is not None and plan.notes is not None:
                candidate = self.proposer.propose(operator, parents, rng, notes=plan.notes)
            else:
                candidate = self.proposer.propose(operator, parents, rng)
            if plan is not None:
                redrawn = redraw(self.proposer, candidate, operator, parents, rng, plan.known,
                                 self._contained, counts)
                candidate = redrawn.candidate
                if redrawn.result is not None:
                    return SlotWork(candidate, redrawn.code_hash, redrawn.result, counts.code,
                                    counts.behaviour)
        if candidate.code is None:
            return SlotWork(candidate, None, None, counts.code, counts.behaviour)
        code_hash = code_identity(candidate.code)
        owner = self._claims.claim(code_hash, index)
        # Evaluating the same code twice is wasted: an earlier slot or a recorded
        # program has it. (Recording decides duplicates again, in slot order.)
        if owner < index or code_hash in self.state.by_code:
            return SlotWork(candidate, code_hash, None, counts.code, counts.behaviour)
        return SlotWork(candidate, code_hash, self._contained(candidate.code), counts.code,
                        counts.behaviour)

    def _contained(self, code: str, known: dict[str, int] | None = None
                   ) -> CascadeResult | str:
        """Evaluate ``code``; a failure of the evaluation itself is this candidate's alone.

        Whatever a candidate makes the trusted side raise (a malformed reply, a
        scoring bug it triggers) is recorded as its ``crashed`` evaluation and the
        run goes on: no single candidate may end a run. Ctrl-C, a lost executor
        and a sandbox that cannot run anything (no worker starts) still stop it:
        going on would only spend the budget on candidates nobody can evaluate.
        A pool closed under the evaluation (the run is already stopping) is not
        the candidate's either.
        """
        try:
            return self._evaluate(code, known)
        except (ExecutorLost, PoolClosed, SandboxError):
            raise
        except Exception as exc:
            log.warning("evaluating a candidate failed on the trusted side", exc_info=True)
            return evaluation_failed(exc)

    # -- recording ----------------------------------------------------------------------------
    def record(self, outcome: ClassifiedCandidate, island: int, generation: int) -> int | None:
        """Commit one candidate (and register it); returns its program id."""
        cand = outcome.candidate
        if cand.code is None:
            if cand.model_calls:
                self.recorder.record_model_calls(cand.model_calls)
            return None
        program, parents = archived_program(outcome, island, generation)
        result = outcome.result
        evaluations = [result.evaluation] if result is not None else []
        program_id = self.recorder.record_candidate(
            program, parents, evaluations, cand.model_calls, outcome.duplicate_of)
        ok = result is not None and result.ok
        self._admit(program_id, program, outcome.duplicate_of, cand.code,
                    result.score if ok and result is not None else None,
                    result.signature if ok and result is not None else (),
                    result.evaluation.steps if result is not None else None)
        if ok and result is not None:
            found = finding(program_id, cand, result.score, self.state.train_scores)
            if found is not None:
                self.state.findings.append(found)
        return program_id

    def efficiency(self, seconds: float) -> SearchEfficiency:
        """Novelty figures of the run so far (redraws are not archived: this session's)."""
        s = self.state
        return SearchEfficiency(s.evaluated, s.duplicates, s.redrawn_code, s.redrawn_behaviour,
                                seconds)

    def _admit(self, program_id: int, program: Program, duplicate_of: int | None, code: str,
               score: float | None, signature: Sequence[float], steps: int | None) -> None:
        """Index a recorded program and register it in the population when it scored.

        The one place shared by live recording and resume, so that a resumed run
        rebuilds exactly the state the original run had. ``score`` is the
        training score of a program evaluated ``ok``, else ``None``.
        """
        self.state.index(program_id, program, duplicate_of, score)
        if duplicate_of is None and score is not None:
            self.population.register(member_of(program_id, code, program.operator,
                                               program.island, score, signature,
                                               load_of(steps, self.step_limit)))

    def _release(self, work: SlotWork, index: int) -> None:
        if work.code_hash is not None:
            self._claims.release(work.code_hash, index)

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
                self._pending.append(Slot(index, -1, None))
                continue
            rng = self.generators.selection(index)
            self.population.rng = rng
            island = self.population.choose_island()
            op = self.operators[int(rng.choice(len(self.operators), p=self.op_probs))]
            parents = self.population.sample_parents(island, PARENTS_NEEDED[op])
            notes = None
            if getattr(self.proposer, "wants_notes", False):
                best = self.population.best(1)
                notes = SearchNotes(best[0] if best else None, tuple(self.state.findings))
            known = KnownPrograms(dict(self.state.by_code), dict(self.state.by_behaviour))
            plan = SlotPlan(known,
                            self.tune_slots.should_tune(op, parents, self.state.train_scores),
                            notes)
            future = self._executor.submit(self._work, index, None, op, parents,
                                           self.generators.proposal(index), plan)
            self._pending.append(Slot(index, island, future, plan.tune))

    def record_next(self, budget: int) -> bool:
        """Record the next slot in order (proposing first while there is room).

        Call :meth:`propose` after it (unless the run stops): proposals follow
        each record, so the next slot sees exactly the records before it,
        whatever the timing.

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
        except KeyboardInterrupt:
            self._pending.appendleft(slot)  # still in flight: abandon() archives its calls
            raise
        except Exception:  # not Ctrl-C: that stops at once
            self._salvage_model_calls()
            raise
        side = self.proposer.side_calls()
        if side:
            self.recorder.record_model_calls(side)
        if slot.tune:
            work = dataclasses.replace(work, candidate=mark_untuned(work.candidate))
        outcome = classify(work, self.state, self._contained)
        program_id = self.record(outcome, slot.island, slot.index)
        self.state.redrawn_code += work.redrawn_code
        self.state.redrawn_behaviour += work.redrawn_behaviour
        self._release(work, slot.index)
        self._report(outcome, program_id)
        return True

    def propose(self, budget: int) -> None:
        """Propose slots while there is room in flight and budget left."""
        self._fill(budget)

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
            self.recorder.record_model_calls(calls)

    def abandon(self) -> None:
        """Ctrl-C: archive the model calls of the slots in flight and drop the slots.

        Their work is being cancelled, so it ends at once; a resumed run proposes
        the dropped slots again, exactly as the uninterrupted run would have.
        """
        self._salvage_model_calls()

    @property
    def in_flight_slots(self) -> int:
        """Slots proposed and not yet recorded."""
        return len(self._pending)

    def progress(self, seconds: float, provider_error: Exception | None = None
                 ) -> SearchProgress:
        """What the stop criteria see: counts so far, ``seconds`` since the run started."""
        return SearchProgress(self.state.evaluated, seconds, self.state.stalled, provider_error)

    @property
    def evaluated(self) -> int:
        """New programs evaluated so far (what the budget counts)."""
        return self.state.evaluated

    @property
    def best(self) -> tuple[int | None, float | None]:
        """Id and training score of the best program so far."""
        return self.state.best_id, self.state.best_score

    def train_scores(self) -> dict[int, float]:
        """Training score of every scored program, by id (a copy)."""
        return dict(self.state.train_scores)

    def code(self, program_id: int) -> str:
        """Source of a recorded program."""
        return self.state.codes[program_id]

    def codes(self) -> dict[int, str]:
        """Source of every recorded program, by id (a copy)."""
        return dict(self.state.codes)

    def restore(self, programs: Sequence[ProgramState], budget: int) -> None:
        """Rebuild counters, dedup indexes, population and pipeline from archived programs.

        The archive is replayed in record order through the same proposal points
        as the original run, so the slots that were in flight when it stopped
        are proposed again from the very population they were proposed from.
        """
        ordered = sorted(programs, key=lambda ps: ps.id)
        last = max((ps.program.generation for ps in ordered), default=0)
        self.tune_slots.restore(ordered)
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
        score, signature, steps = train_figures(ps)
        self._admit(ps.id, ps.program, ps.duplicate_of, ps.program.code, score, signature, steps)

    def _report(self, outcome: ClassifiedCandidate, program_id: int | None) -> None:
        cand = outcome.candidate
        status = outcome_status(outcome, program_id)
        if status == EvaluationStatus.OK.value:
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

    def record_seeds(self, seeds: dict[str, str]) -> None:
        """Evaluate (concurrently) and record the problem's seed programs (generation 0)."""
        cands = [Candidate(code, "seed", (), "seed", idea=f"seed program: {name}")
                 for name, code in seeds.items()]
        futures = [self._executor.submit(self._work, -len(cands) + k, cand, "seed", (), None)
                   for k, cand in enumerate(cands)]
        for k, future in enumerate(futures):
            work = future.result()
            outcome = classify(work, self.state, self._contained)
            program_id = self.record(outcome, 0, 0)
            self._release(work, -len(cands) + k)
            self._report(outcome, program_id)


__all__ = [
    "ArchiveRecorder",
    "CascadeEvaluator",
    "Evaluator",
    "LoopSettings",
    "LoopState",
    "ModelCall",
    "Recorder",
    "SearchEfficiency",
    "SearchLoop",
    "SlotGenerators",
    "in_flight",
    "slot_rng",
]
