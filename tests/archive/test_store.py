"""Writing candidates: atomicity, duplicates, lineage, counters, run lifecycle."""

from __future__ import annotations

import pytest

from archive import (
    Archive,
    EdgeRole,
    EvaluationStatus,
    IntegrityError,
    ModelCall,
    NotFoundError,
    Parent,
    RunStatus,
    Split,
)
from tests.archive.conftest import make_call, make_evaluation, make_program


def _count(archive: Archive, table: str) -> int:
    with archive.engine.connect() as connection:
        return int(connection.exec_driver_sql(f"SELECT count(*) FROM {table}").scalar_one())


def test_candidate_is_written_with_everything(archive: Archive, run_id: int) -> None:
    seed = archive.record_candidate(run_id, make_program(0, operator="seed"),
                                    evaluations=[make_evaluation(Split.TRAIN, 3.0)])
    child = archive.record_candidate(
        run_id, make_program(1, generation=1), parents=[Parent(seed, EdgeRole.MUTATION)],
        evaluations=[make_evaluation(Split.TRAIN, 2.0), make_evaluation(Split.VALIDATION, 2.5)],
        model_calls=[make_call(1), make_call(2)],
    )
    detail = archive.program(child)
    assert detail.parents == (Parent(seed, EdgeRole.MUTATION),)
    assert set(detail.evaluations) == {Split.TRAIN, Split.VALIDATION}
    assert detail.model_calls == (make_call(1), make_call(2))
    assert archive.program(seed).children == (child,)
    assert child > seed


@pytest.mark.parametrize("fast", [True, False])
def test_failed_candidate_leaves_nothing_behind(archive: Archive, run_id: int,
                                                fast: bool) -> None:
    store = Archive(archive.engine, fast_writes=fast)
    store.record_candidate(run_id, make_program(0))
    before = {t: _count(archive, t) for t in ("programs", "lineage_edges", "evaluations",
                                              "model_calls")}
    # The unknown parent fails after the program row was inserted: all of it must roll back.
    with pytest.raises(IntegrityError, match=r"(?i)foreign key"):
        store.record_candidate(run_id, make_program(1), parents=[Parent(999, EdgeRole.MUTATION)],
                               evaluations=[make_evaluation(Split.TRAIN, 1.0)],
                               model_calls=[make_call()])
    with pytest.raises(IntegrityError, match="no program 999"):
        store.record_candidate(run_id, make_program(2), duplicate_of=999)
    after = {t: _count(archive, t) for t in before}
    assert after == before
    # The writer is usable again after a failure.
    assert store.record_candidate(run_id, make_program(3)) > 0


def test_unknown_run_is_rejected(archive: Archive) -> None:
    with pytest.raises(IntegrityError):
        archive.record_candidate(12345, make_program(0))


def test_inconsistent_candidates_are_refused_before_writing(archive: Archive, run_id: int) -> None:
    first = archive.record_candidate(run_id, make_program(0))
    with pytest.raises(ValueError, match="one evaluation per split"):
        archive.record_candidate(run_id, make_program(1), evaluations=[
            make_evaluation(Split.TRAIN, 1.0), make_evaluation(Split.TRAIN, 2.0)])
    with pytest.raises(ValueError, match="not evaluated"):
        archive.record_candidate(run_id, make_program(1), duplicate_of=first,
                                 evaluations=[make_evaluation(Split.TRAIN, 1.0)])
    with pytest.raises(ValueError, match="twice"):
        archive.record_candidate(run_id, make_program(1), parents=[
            Parent(first, EdgeRole.CROSSOVER), Parent(first, EdgeRole.CROSSOVER)])
    assert _count(archive, "programs") == 1


def test_duplicates_point_at_the_original_and_do_not_count(archive: Archive, run_id: int) -> None:
    original = archive.record_candidate(run_id, make_program(0),
                                        evaluations=[make_evaluation(Split.TRAIN, 1.0)])
    dup = archive.record_candidate(run_id, make_program(0), duplicate_of=original,
                                   model_calls=[make_call()])
    dup_of_dup = archive.record_candidate(run_id, make_program(0), duplicate_of=dup)
    assert archive.program(dup).duplicate_of == original
    assert archive.program(dup_of_dup).duplicate_of == original
    counters = archive.run_state(run_id).counters
    assert (counters.evaluated, counters.duplicates) == (1, 2)
    assert archive.find_programs(run_id, code_hash=make_program(0).code_hash) == [
        original, dup, dup_of_dup]
    with pytest.raises(IntegrityError, match="no program"):
        archive.record_candidate(run_id, make_program(5), duplicate_of=777)


def test_second_evaluation_of_a_split_is_refused(archive: Archive, run_id: int) -> None:
    pid = archive.record_candidate(run_id, make_program(0),
                                   evaluations=[make_evaluation(Split.TRAIN, 1.0)])
    archive.add_evaluations(pid, [make_evaluation(Split.TEST, 4.0)])
    with pytest.raises(IntegrityError, match=r"(?i)unique"):
        archive.add_evaluations(pid, [make_evaluation(Split.VALIDATION, 2.0),
                                      make_evaluation(Split.TRAIN, 1.0)])
    # The validation evaluation of the failed batch was rolled back with it.
    assert set(archive.program(pid).evaluations) == {Split.TRAIN, Split.TEST}


def test_calls_without_a_program_are_counted(archive: Archive, run_id: int) -> None:
    failed = ModelCall("anthropic", "claude", "prompt", None, 10, 0, 0.0, 3.0, "timeout")
    ids = archive.record_model_calls(run_id, [failed, make_call(3)])
    assert len(ids) == 2
    archive.record_candidate(run_id, make_program(0), model_calls=[make_call(4)])
    counters = archive.run_state(run_id).counters
    assert counters.model_calls == 3
    assert counters.calls_without_program == 2
    assert counters.calls_with_error == 1
    assert counters.tokens_in == 10 + 103 + 104
    assert counters.tokens_out == 100
    assert counters.cost == pytest.approx(0.002)


def test_counters_by_split_and_generation(archive: Archive, run_id: int) -> None:
    archive.record_candidate(run_id, make_program(0), evaluations=[
        make_evaluation(Split.TRAIN, 1.0), make_evaluation(Split.VALIDATION, 1.0)])
    archive.record_candidate(run_id, make_program(1, generation=4), evaluations=[
        make_evaluation(Split.TRAIN, None, status=EvaluationStatus.TIMEOUT)])
    counters = archive.run_state(run_id).counters
    assert counters.evaluations == {Split.TRAIN: 2, Split.VALIDATION: 1}
    assert counters.failed == {Split.TRAIN: 1, Split.VALIDATION: 0}
    assert counters.max_generation == 4


def test_run_lifecycle(archive: Archive, run_id: int) -> None:
    run = archive.run(run_id)
    assert (run.status, run.finished_at, run.isolation, run.budget) == (
        RunStatus.RUNNING, None, "process", 10)
    assert run.config == {"budget": 10, "seed": 7}
    assert "sqlalchemy" in run.package_versions and "python" in run.package_versions
    archive.finish_run(run_id, RunStatus.INTERRUPTED)
    ended = archive.run(run_id)
    assert ended.status is RunStatus.INTERRUPTED
    assert ended.finished_at is not None and ended.finished_at >= ended.started_at
    assert archive.reopen_run(run_id).status is RunStatus.RUNNING
    with pytest.raises(ValueError):
        archive.finish_run(run_id, RunStatus.RUNNING)
    with pytest.raises(NotFoundError):
        archive.finish_run(999)


def test_config_must_be_json(archive: Archive) -> None:
    with pytest.raises(ValueError, match="JSON"):
        archive.create_run("smtt", {"bad": object()}, seed=1)


def test_run_state_rebuilds_a_run(archive: Archive, run_id: int) -> None:
    a = archive.record_candidate(run_id, make_program(0, operator="seed"),
                                 evaluations=[make_evaluation(Split.TRAIN, 3.0)])
    b = archive.record_candidate(run_id, make_program(1, island=1, generation=1),
                                 parents=[Parent(a, EdgeRole.MUTATION)],
                                 evaluations=[make_evaluation(Split.TRAIN, 2.0)])
    c = archive.record_candidate(run_id, make_program(2, generation=2), parents=[
        Parent(b, EdgeRole.CROSSOVER), Parent(a, EdgeRole.CROSSOVER)],
        evaluations=[make_evaluation(Split.TRAIN, 1.0)])
    other_run = archive.create_run("smtt", {}, seed=8)
    archive.record_candidate(other_run, make_program(3))
    state = archive.run_state(run_id)
    assert [p.id for p in state.programs] == [a, b, c]
    assert state.programs[1].program == make_program(1, island=1, generation=1)
    assert state.programs[2].parents == (Parent(b, EdgeRole.CROSSOVER),
                                         Parent(a, EdgeRole.CROSSOVER))
    assert state.programs[0].evaluations[Split.TRAIN] == make_evaluation(Split.TRAIN, 3.0)
    assert state.run.seed == 7 and state.run.config["budget"] == 10
    assert state.remaining_budget == 7
    light = archive.run_state(run_id, per_instance=False)
    assert light.programs[0].evaluations[Split.TRAIN].per_instance == ()


def test_fast_sqlite_writer_stores_the_same_rows_as_the_core_path(
        sqlite_archive: Archive) -> None:
    archive = sqlite_archive
    core = Archive(archive.engine, fast_writes=False)
    rows = {}
    for name, store in (("fast", archive), ("core", core)):
        run = store.create_run("smtt", {}, seed=1)
        first = store.record_candidate(run, make_program(0),
                                       evaluations=[make_evaluation(Split.TRAIN, 1.0)])
        second = store.record_candidate(
            run, make_program(1, island=2, generation=3),
            parents=[Parent(first, EdgeRole.MUTATION)], model_calls=[make_call(5)],
            evaluations=[make_evaluation(Split.VALIDATION, None, status=EvaluationStatus.MEMORY)])
        store.record_candidate(run, make_program(1), duplicate_of=second)
        with archive.engine.connect() as c:
            rows[name] = [
                c.exec_driver_sql(
                    "SELECT code, code_hash, behaviour_hash, island, generation, operator, idea, "
                    "duplicate_of - ?, typeof(created_at), length(created_at) FROM programs "
                    "WHERE run_id = ? ORDER BY id", (first, run)).fetchall(),
                c.exec_driver_sql(
                    "SELECT e.split, e.status, e.score, e.gap, e.seconds, e.error, e.per_instance "
                    "FROM evaluations e JOIN programs p ON p.id = e.program_id "
                    "WHERE p.run_id = ? ORDER BY e.id", (run,)).fetchall(),
                c.exec_driver_sql(
                    "SELECT provider, model, prompt, response, tokens_in, tokens_out, cost, "
                    "latency, error, program_id - ? FROM model_calls WHERE run_id = ?",
                    (first, run)).fetchall(),
                c.exec_driver_sql(
                    "SELECT l.parent_id - ?, l.child_id - ?, l.role FROM lineage_edges l "
                    "JOIN programs p ON p.id = l.child_id WHERE p.run_id = ?",
                    (first, first, run)).fetchall(),
            ]
    assert rows["fast"] == rows["core"]
    assert rows["fast"][0][2][7] == 1  # the duplicate points at the second program
