"""The browser on every backend: SQLite, and PostgreSQL (the test server of
``tests/postgres_fixtures.py``; skipped without PostgreSQL installed)."""

from __future__ import annotations

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive import Archive, EvaluationStatus, Split
from archive.browser import BrowserApp, open_readonly
from tests.archive.browser.synthetic import SyntheticSpec, build_run
from tests.archive.conftest import database_url

__all__ = ["database_url"]  # the fixture: a fresh database per backend


def test_pages_and_read_only_on_each_backend(database_url: str) -> None:
    with Archive.open(database_url) as store:
        run = build_run(store, SyntheticSpec(programs=40, train_instances=6,
                                             validation_instances=3, hostile=True),
                        np.random.default_rng(11))
        readonly = open_readonly(database_url)
        assert readonly.enforced
        app = BrowserApp(readonly)
        pid = run.program_ids[20]
        for path in ("/", f"/run/{run.run_id}", f"/run/{run.run_id}/programs?sort=train",
                     f"/program/{pid}", f"/program/{run.hostile_id}", f"/program/{pid}/lineage",
                     f"/compare?a={pid}&b={run.hostile_id}"):
            response = app.handle("GET", path)
            assert response.status == 200, (path, response.text[:300])
        with Session(readonly.engine) as session:
            digest = app.cache.run_view(session, run.run_id).digest
        state = store.run_state(run.run_id)
        assert digest.counters == state.counters
        train = [ps.evaluations.get(Split.TRAIN) for ps in state.programs]
        assert len(digest.points) == sum(
            1 for ev in train if ev is not None and ev.status is EvaluationStatus.OK)
        with Session(readonly.engine) as session, pytest.raises(sa.exc.DBAPIError,
                                                                match=r"(?i)read.?only"):
            session.connection().exec_driver_sql("DELETE FROM lineage_edges")
        readonly.close()
