"""Tune slots: which parents are tuned (once, when promising), and how the outcome is archived."""

from __future__ import annotations

import datetime as dt

from archive import EdgeRole, Parent, Program, ProgramState
from discover.search.collaborators import TunedProgram
from discover.search.islands import Member
from discover.search.proposer import Candidate
from discover.search.tune_slots import TUNED, UNTUNED, TuneSlots, finding, mark_untuned

CODE = "def schedule(processing_times, due_dates):\n    return [0]\n"


def _member(program_id: int, score: float) -> Member:
    return Member(program_id=program_id, code=CODE, score=score, signature=(score,), cost=0.0,
                  code_size=len(CODE), island=0)


def _tuner(code: str) -> TunedProgram:
    return TunedProgram(code.replace("[0]", "[1]"), f"{TUNED} on the probe set")


SCORES = {1: 0.5, 2: 0.2, 3: 0.9}


def test_only_a_tune_slot_with_a_promising_parent_tunes_it_and_only_once() -> None:
    slots = TuneSlots(_tuner, top=2, proposer="offline")
    assert not slots.should_tune("mutation", [_member(2, 0.2)], SCORES)
    assert not slots.should_tune("tune", [], SCORES)
    assert not slots.should_tune("tune", [_member(3, 0.9)], SCORES)  # two score better
    assert slots.should_tune("tune", [_member(1, 0.5)], SCORES)  # one scores better
    assert not slots.should_tune("tune", [_member(1, 0.5)], SCORES), "tuned twice"
    assert slots.should_tune("tune", [_member(2, 0.2)], SCORES)


def test_without_a_tuner_or_with_top_zero_nothing_is_tuned() -> None:
    assert not TuneSlots(None, top=5, proposer="offline").should_tune(
        "tune", [_member(2, 0.2)], SCORES)
    assert not TuneSlots(_tuner, top=0, proposer="offline").should_tune(
        "tune", [_member(2, 0.2)], SCORES)
    assert TuneSlots(None, top=5, proposer="offline").candidate(_member(2, 0.2)) is None


def test_the_tuned_candidate_names_its_parent_and_the_proposer() -> None:
    cand = TuneSlots(_tuner, top=1, proposer="offline").candidate(_member(7, 0.1))
    assert cand is not None
    assert (cand.operator, cand.parents, cand.model) == ("tune", (7,), "offline")
    assert cand.code == CODE.replace("[0]", "[1]") and (cand.idea or "").startswith(TUNED)


def test_a_fallback_proposal_is_marked_untuned_and_a_tuned_one_is_not() -> None:
    fallback = Candidate(CODE, "tune", (1,), "offline", idea="swap a term")
    assert mark_untuned(fallback).idea == UNTUNED + "swap a term"
    tuned = Candidate(CODE, "tune", (1,), "offline", idea=f"{TUNED}: 1.0 -> 1.2")
    assert mark_untuned(tuned) is tuned
    empty = Candidate(None, "tune", (1,), "offline", failure="no code")
    assert mark_untuned(empty) is empty


def test_resume_counts_the_parents_of_archived_tune_slots_as_tried() -> None:
    def state(pid: int, parent: int, operator: str, idea: str) -> ProgramState:
        program = Program(code=CODE, operator=operator, island=0, generation=pid, idea=idea,
                          code_hash=f"h{pid}")
        return ProgramState(pid, program, (Parent(parent, EdgeRole.MUTATION),), None, {},
                            dt.datetime(2026, 1, 1))

    slots = TuneSlots(_tuner, top=3, proposer="offline")
    slots.restore([state(10, 1, "tune", f"{TUNED}: x"), state(11, 2, "tune", UNTUNED + "y"),
                   state(12, 3, "mutation", f"{TUNED}: z"), state(13, 4, "tune", "other")])
    parents = {pid: [_member(pid, 0.0)] for pid in (1, 2, 3, 4)}
    assert [slots.should_tune("tune", parents[p], {}) for p in (1, 2, 3, 4)] == \
        [False, False, True, True]


def test_a_finding_is_a_tuned_or_restructured_child_that_beat_its_parent() -> None:
    tuned = Candidate(CODE, "tune", (1,), "offline", idea=f"{TUNED}: 1.0 -> 1.2")
    assert finding(9, tuned, 0.4, SCORES) == \
        f"#9 from #1: {TUNED}: 1.0 -> 1.2 — training score 0.500 -> 0.400"
    assert finding(9, tuned, 0.6, SCORES) is None  # worse than its parent
    assert finding(9, tuned, None, SCORES) is None
    moved = Candidate(CODE, "mutation", (2,), "offline", idea="structure: look-ahead")
    assert finding(9, moved, 0.1, SCORES) is not None
    plain = Candidate(CODE, "mutation", (2,), "offline", idea="swap a term")
    assert finding(9, plain, 0.1, SCORES) is None
    orphan = Candidate(CODE, "tune", (), "offline", idea=f"{TUNED}: x")
    assert finding(9, orphan, 0.1, SCORES) is None
