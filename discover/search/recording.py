"""What the search loop records of a slot: its verdict, the archived program, the status.

In slot order, a slot's work becomes a :class:`ClassifiedCandidate` (no code, a
duplicate of an archived program, or a new program with its cascade result);
:func:`archived_program` is what the archive keeps of it, :func:`outcome_status`
what the run reports, and :func:`train_figures` what resume reads back. The
:class:`~discover.search.loop.SearchLoop` owns the state these read and update.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from archive import EdgeRole, EvaluationStatus, Parent, Program, ProgramState, Split
from discover.search.cascade import CascadeResult
from discover.search.loop_state import LoopState
from discover.search.proposer import Candidate
from discover.search.slots import SlotWork
from sandbox.text import storable

_ROLES = {"crossover": EdgeRole.CROSSOVER, "new_idea": EdgeRole.INSPIRATION}
"""Lineage role of a program's parents, by operator (any other operator: mutation)."""


@dataclass(frozen=True)
class ClassifiedCandidate:
    """One candidate after dedup and evaluation, ready to archive.

    What :func:`classify` decides in slot order: a candidate with no code; a
    duplicate (``duplicate_of`` an archived program, by code or by behaviour);
    or a new program with its cascade ``result``.
    """

    candidate: Candidate
    code_hash: str | None
    duplicate_of: int | None
    result: CascadeResult | None
    behaviour_hash: str | None = None


def classify(work: SlotWork, state: LoopState,
             evaluate: Callable[[str], CascadeResult | str]) -> ClassifiedCandidate:
    """Decide, in slot order, whether a slot's candidate is new or a duplicate.

    ``evaluate`` scores code the slot's thread skipped: it was left to an
    earlier slot that was then recorded under another hash.
    """
    cand, code_hash, result = work.candidate, work.code_hash, work.result
    if cand.code is None:
        return ClassifiedCandidate(cand, None, None, None)
    assert code_hash is not None
    original = state.by_code.get(code_hash)
    if original is not None:
        return ClassifiedCandidate(cand, code_hash, original, None)
    if result is None:  # skipped for a slot that was then recorded under another hash
        result = evaluate(cand.code)
    behaviour = result if isinstance(result, str) else result.behaviour_hash
    if behaviour is not None and behaviour in state.by_behaviour:
        return ClassifiedCandidate(cand, code_hash, state.by_behaviour[behaviour],
                                   None, behaviour_hash=behaviour)
    assert not isinstance(result, str)
    return ClassifiedCandidate(cand, code_hash, None, result)


def archived_program(outcome: ClassifiedCandidate, island: int, generation: int
                     ) -> tuple[Program, list[Parent]]:
    """The program and lineage the archive keeps of a candidate that has code."""
    cand = outcome.candidate
    assert cand.code is not None
    role = _ROLES.get(cand.operator, EdgeRole.MUTATION)
    parents = [Parent(pid, role) for pid in dict.fromkeys(cand.parents)]
    result = outcome.result
    behaviour = result.behaviour_hash if result is not None else outcome.behaviour_hash
    # Model-written text: storable (no lone surrogate or NUL), or the write fails.
    program = Program(code=storable(cand.code), operator=cand.operator, island=island,
                      generation=generation,
                      idea=None if cand.idea is None else storable(cand.idea),
                      code_hash=outcome.code_hash or "", behaviour_hash=behaviour)
    return program, parents


def outcome_status(outcome: ClassifiedCandidate, program_id: int | None) -> str:
    """The status a recorded candidate is reported with (``CandidateEvaluated.status``)."""
    if program_id is None:
        return "no_code"
    if outcome.duplicate_of is not None or (outcome.result is None):
        return "duplicate"
    assert outcome.result is not None
    return outcome.result.status.value


def train_figures(ps: ProgramState) -> tuple[float | None, tuple[float, ...], int | None]:
    """Training score, score signature and steps of an archived program, as recorded live.

    The score and signature are those of a program evaluated ``ok`` (else
    ``None`` and ``()``), so that resume rebuilds the population exactly.
    """
    ev = ps.evaluations.get(Split.TRAIN)
    ok = ev is not None and ev.status is EvaluationStatus.OK
    score = ev.score if ok and ev is not None else None
    signature = tuple(r.gap if r.gap is not None else 0.0 for r in ev.per_instance) \
        if ok and ev is not None else ()
    return score, signature, ev.steps if ev is not None else None
