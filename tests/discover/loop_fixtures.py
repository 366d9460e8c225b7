"""Small, fast run configurations and archive checks shared by the loop tests."""

from __future__ import annotations

import json
from pathlib import Path

from archive import Archive, RunState, Split
from discover.config import EvaluationConfig, LlmConfig, ModelSpec, RunConfig, SearchConfig
from evaluators.bundled import bundled_file

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SMTT_N20 = bundled_file("smtt:n20_uniform")


def validation_file(tmp_path: Path, count: int = 20) -> Path:
    """Every 40th instance of n20_uniform.json (one per class), with stored optima."""
    data = json.loads(SMTT_N20.read_text())
    path = tmp_path / "validation.json"
    path.write_text(json.dumps(data[::40][:count]))
    return path


def small_config(tmp_path: Path, *, budget: int = 25, seed: int = 1, workers: int = 1,
                 models: tuple[ModelSpec, ...] = (ModelSpec("offline"),),
                 llm: dict[str, object] | None = None) -> RunConfig:
    """A run that finishes in seconds: 20 training instances of 8 jobs."""
    evaluation = EvaluationConfig(train_n=8, train_per_class=1, probe_count=5,
                                  validation=(str(validation_file(tmp_path)),),
                                  validate_top=2, validate_every=0,
                                  candidate_time_limit=10.0)
    return RunConfig(
        budget=budget, seed=seed, workers=workers,
        archive=f"sqlite:///{tmp_path / 'archive.sqlite'}",
        llm=LlmConfig(models=models, **(llm or {})),  # type: ignore[arg-type]
        evaluation=evaluation,
        search=SearchConfig(islands=2, reset_interval=50),
    )


def history(archive_url: str, run_id: int) -> list[tuple[str, float | None, int | None]]:
    """(code, training score, duplicate_of) of every program, in insertion order."""
    with Archive.open(archive_url) as archive:
        state = archive.run_state(run_id)
    return [(ps.program.code,
             ps.evaluations[Split.TRAIN].score if Split.TRAIN in ps.evaluations else None,
             ps.duplicate_of)
            for ps in state.programs]


def assert_consistent(state: RunState, budget: int) -> None:
    """Budget met exactly, nothing evaluated twice, every evaluated program has its train row."""
    originals = [ps for ps in state.programs if ps.duplicate_of is None]
    assert state.counters.evaluated == budget == len(originals)
    hashes = [ps.program.code_hash for ps in originals]
    assert len(hashes) == len(set(hashes)), "a program was evaluated twice"
    for ps in originals:
        assert Split.TRAIN in ps.evaluations, f"program {ps.id} has no training evaluation"
    for ps in state.programs:
        if ps.duplicate_of is not None:
            assert not ps.evaluations
