"""Novelty before cost: repeated proposals are sent back before they cost an evaluation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from archive import Archive
from discover.config import ModelSpec
from discover.runner import run
from discover.search.proposer import OfflineProposer
from evaluators.smtt.problem import SEED_PROGRAMS
from tests.discover.loop_fixtures import assert_consistent, history, small_config
from tests.discover.providers.fake_server import FakeServer, Step
from tests.discover.search.test_loop_llm import _answer

pytestmark = pytest.mark.slow


def _dir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def test_offline_run_redraws_known_programs(tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    # On 8-job instances most edits change nothing the probe can see.
    config = small_config(_dir(tmp_path / "redraw"), budget=60, workers=2)
    result = run(config)
    assert result.status == "finished", result.reason
    eff = result.efficiency
    assert eff is not None and eff.evaluated == 60
    assert eff.redrawn_code > 0 and eff.redrawn_behaviour > 0
    assert eff.useful_per_minute > 0
    monkeypatch.setattr(OfflineProposer, "max_follow_ups", 0)
    plain = run(small_config(_dir(tmp_path / "plain"), budget=60, workers=2)).efficiency
    assert plain is not None and plain.redrawn_code == plain.redrawn_behaviour == 0
    # Without redrawing, several times as many recorded candidates are duplicates.
    assert eff.duplicate_share < 0.5 * plain.duplicate_share, (eff.describe(), plain.describe())
    with Archive.open(config.archive) as archive:
        state = archive.run_state(result.run_id)
        assert_consistent(state, 60)
        assert state.counters.duplicates == eff.duplicates


def test_redrawing_keeps_same_seed_same_programs(tmp_path: Path) -> None:
    a = run(small_config(_dir(tmp_path / "a"), budget=40, workers=2))
    b = run(small_config(_dir(tmp_path / "b"), budget=40, workers=2))
    assert history(small_config(_dir(tmp_path / "a")).archive, a.run_id) == \
        history(small_config(_dir(tmp_path / "b")).archive, b.run_id)


def _mdd_answer() -> Step:
    return Step(text="IDEA: plain modified due date.\n```python\n" + SEED_PROGRAMS["mdd"]
                + "```\n")


def test_llm_repeat_gets_one_follow_up_naming_the_program(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    with FakeServer(default=_answer(999)) as server:
        # First proposal repeats the MDD seed, twice: one follow-up only, then recorded.
        server.push(_mdd_answer(), _answer(1), _mdd_answer(), _mdd_answer(),
                    *(_answer(k) for k in range(2, 12)))
        config = small_config(tmp_path, budget=6, workers=1,
                              models=(ModelSpec("openai:gpt-test", 1.0, server.openai_url),),
                              llm={"concurrency": 1})
        config = config.with_overrides(**{"search.reflection_every": 0,
                                              "search.in_flight": 1})
        result = run(config)
        bodies = [json.dumps(r.body) for r in server.received]
    assert result.status == "finished", result.reason
    with Archive.open(config.archive) as archive:
        state = archive.run_state(result.run_id)
        mdd = next(ps.id for ps in state.programs if ps.program.code == SEED_PROGRAMS["mdd"])
        # The second request continues the first conversation and names the repeat.
        assert f"program #{mdd}" in bodies[1] and "already in the archive" in bodies[1]
        assert "plain modified due date" in bodies[1]
        assert "already in the archive" not in bodies[0]
        # Prompts teach: the parent's worst instance classes are shown.
        assert "Mean gap by instance class, worst first: RDD=" in bodies[0]
        # The third proposal repeats MDD, its one follow-up too: recorded as a duplicate.
        assert "already in the archive" in bodies[3]
        assert any(ps.duplicate_of == mdd for ps in state.programs)
        calls = state.counters.model_calls
        assert calls == len(server.received)
