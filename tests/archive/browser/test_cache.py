"""Cached pages follow a run that is still being written."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sqlalchemy.orm import Session

from archive import (
    Archive,
    EdgeRole,
    Evaluation,
    EvaluationStatus,
    InstanceResult,
    Parent,
    Program,
    RunStatus,
    Split,
)
from archive.browser import BrowserApp, open_readonly
from tests.archive.browser.synthetic import SyntheticSpec, build_run


def test_pages_follow_a_run_being_written(tmp_path: Path) -> None:
    path = tmp_path / "live.sqlite"
    with Archive.open(path) as writer:
        run = build_run(writer, SyntheticSpec(programs=30, train_instances=5,
                                              validation_instances=3),
                        np.random.default_rng(3), status=RunStatus.RUNNING)
        app = BrowserApp(open_readonly(path))
        first = app.handle("GET", f"/run/{run.run_id}").text
        assert app.handle("GET", f"/run/{run.run_id}").text == first  # cached
        with Session(app.archive.engine) as session:
            before = app.cache.run_view(session, run.run_id)
        assert before.digest.programs == 30

        code = "def schedule(processing_times, due_dates):\n    return [0]  # new best\n"
        evaluation = Evaluation(Split.TRAIN, EvaluationStatus.OK, score=0.001, gap=0.001,
                                seconds=0.2, per_instance=(
                                    InstanceResult("x", objective=1.0, gap=0.001, seconds=0.25),
                                    InstanceResult("y", objective=2.0, gap=0.001, seconds=0.75)))
        new = writer.record_candidate(run.run_id, Program(code, "modify", 1, 99),
                                      parents=[Parent(run.program_ids[-1], EdgeRole.MUTATION)],
                                      evaluations=[evaluation])
        page = app.handle("GET", f"/run/{run.run_id}").text
        assert page != first and f'href="/program/{new}"' in page
        with Session(app.archive.engine) as session:
            after = app.cache.run_view(session, run.run_id)
        assert after.digest.programs == 31
        assert after.digest.train_best[-1].program_id == new
        assert after.digest.front[-1].program_id == new  # the lowest gap ends the front
        assert {p.program_id: p.runtime for p in after.digest.points}[new] == 0.5
        assert "running" in app.handle("GET", "/").text
        writer.finish_run(run.run_id)
        assert "finished" in app.handle("GET", "/").text
        assert "finished" in app.handle("GET", f"/run/{run.run_id}").text
        app.archive.close()


def test_incremental_timeline_equals_a_fresh_read(tmp_path: Path) -> None:
    from archive import ModelCall
    from archive.browser.run_digest import build_digest
    from archive.browser.timeline import RunTimeline

    path = tmp_path / "grow.sqlite"
    with Archive.open(path) as writer:
        run = build_run(writer, SyntheticSpec(programs=25, train_instances=4,
                                              validation_instances=2),
                        np.random.default_rng(5), status=RunStatus.RUNNING)
        other = build_run(writer, SyntheticSpec(programs=5, train_instances=2,
                                                validation_instances=2),
                          np.random.default_rng(6))
        reader = open_readonly(path)
        kept = RunTimeline(run.run_id)

        def digests():  # type: ignore[no-untyped-def]
            with Session(reader.engine) as session:
                changed = kept.refresh(session)
                fresh = RunTimeline(run.run_id)
                fresh.refresh(session)
                record = writer.run(run.run_id)
                return changed, build_digest(record, kept, {}), build_digest(record, fresh, {})

        assert digests()[0]
        changed, a, b = digests()
        assert not changed and a == b
        code = "def schedule(processing_times, due_dates):\n    return [1, 0]\n"
        unevaluated = writer.record_candidate(run.run_id, Program(code, "modify", 2, 50))
        writer.add_evaluations(run.program_ids[7], [Evaluation(
            Split.VALIDATION, EvaluationStatus.OK, score=0.5, gap=0.5)])
        writer.record_model_calls(run.run_id, [ModelCall("openai", "m", "p", None,
                                                         error="timeout")])
        writer.record_candidate(other.run_id, Program(code + "# other\n", "modify"))
        changed, a, b = digests()
        assert changed and a == b and a.counters.calls_with_error == b.counters.calls_with_error
        assert a.programs == 26
        # a train evaluation added to an old program cannot be appended: full re-read
        writer.add_evaluations(unevaluated, [Evaluation(Split.TRAIN, EvaluationStatus.OK,
                                                        score=0.25, gap=0.25)])
        changed, a, b = digests()
        assert changed and a == b and a.train_best[-1].program_id == unevaluated
        assert not digests()[0]
        reader.close()
