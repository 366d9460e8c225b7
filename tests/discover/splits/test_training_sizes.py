"""Training across sizes: balanced families, probe spread over sizes, the robust score."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import pytest

from archive import Archive
from discover.config import ConfigError, EvaluationConfig
from discover.reporting.summary import score_baselines
from discover.search.cascade import TrainingSet, training_score
from discover.splits.datasets import ValidationSet, training_set
from evaluators.registry import get_problem
from evaluators.smtt.exact import solve

SMTT = get_problem("smtt")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(f"sqlite:///{tmp_path / 'a.sqlite'}") as opened:
        yield opened


@pytest.mark.slow
def test_training_sizes_are_balanced_and_probed(archive: Archive) -> None:
    config = EvaluationConfig(train_n=8, train_per_class=1, probe_count=6,
                              train_sizes=(10, 12), train_sizes_per_class=2)
    ts = training_set(SMTT, config, archive, workers=1)
    assert Counter(i.size for i in ts.instances) == {8: 20, 10: 40, 12: 40}
    assert ts.groups == tuple(i.size for i in ts.instances)
    # Every class (RDD, TF) appears equally often within each size.
    for n, per_class in ((10, 2), (12, 2)):
        classes = Counter((round(i.rdd, 2), round(i.tf, 2))  # type: ignore[attr-defined]
                          for i in ts.instances if i.size == n)
        assert set(classes.values()) == {per_class} and len(classes) == 20
    # The probe takes every size in turn (the largest sets the runtime cap).
    assert Counter(i.size for i in ts.instances[: ts.probe]) == {8: 2, 10: 2, 12: 2}
    assert list(ts.references) == [solve(i, "cpsat").objective for i in ts.instances]
    with pytest.raises(ConfigError, match=r"evaluation\.score"):
        EvaluationConfig(score="median")
    with pytest.raises(ConfigError, match="train_sizes"):
        EvaluationConfig(train_sizes=(0,))


def _result(objectives: list[float], gap: float) -> Any:
    scores = [SimpleNamespace(objective=o) for o in objectives]
    return SimpleNamespace(scores=scores, mean_gap=gap)


def test_ratio_score_averages_the_aggregate_gap_over_sizes() -> None:
    # Size 20: ΣH/ΣOPT = 12/10 (+20 %); size 100: 1010/1000 (+1 %). Pooled, the large
    # size would swamp the small one (+1.2 %); averaged per size it is +10.5 %.
    training = TrainingSet(tuple(range(4)), (4.0, 6.0, 400.0, 600.0), 1, (20, 20, 100, 100))
    result = cast(Any, _result([5.0, 7.0, 404.0, 606.0], gap=13.0))
    assert training_score(result, training, "ratio") == pytest.approx(10.5)
    assert training_score(result, training, "gap") == 13.0
    assert training_score(result, training, "mix") == pytest.approx(0.5 * (13.0 + 10.5))
    # One size: the plain aggregate gap (24/20); a size with ΣOPT = 0 is left out.
    one = TrainingSet(tuple(range(3)), (0.0, 10.0, 10.0), 1)
    assert training_score(cast(Any, _result([3.0, 11.0, 10.0], 5.0)), one, "ratio") == \
        pytest.approx(20.0)
    zero = TrainingSet(tuple(range(2)), (0.0, 10.0), 1, (5, 9))
    assert training_score(cast(Any, _result([2.0, 12.0], 20.0)), zero, "ratio") == \
        pytest.approx(20.0)


def test_balanced_score_weighs_each_size_once_in_the_mean_gap_too() -> None:
    # Three instances of size 20 (gaps 25 %, 16.7 %, and one optimum of 0, which has no
    # gap) and two of size 100 (1 %, 1 %). Pooled, the mean gap would be 10.9 % with
    # equal counts; with ten times more small instances it would be the small one's.
    training = TrainingSet(tuple(range(5)), (4.0, 6.0, 0.0, 400.0, 600.0), 1,
                           (20, 20, 20, 100, 100))
    result = cast(Any, _result([5.0, 7.0, 3.0, 404.0, 606.0], gap=99.0))
    small = (25.0 + 100 / 6) / 2
    ratio = 0.5 * (100 * (15 / 10 - 1) + 1.0)
    assert training_score(result, training, "ratio") == pytest.approx(ratio)
    assert training_score(result, training, "balanced") == \
        pytest.approx(0.5 * ((small + 1.0) / 2 + ratio))
    # The pooled mean gap (given) plays no part, unlike in "mix".
    assert training_score(result, training, "mix") == pytest.approx(0.5 * (99.0 + ratio))
    with pytest.raises(ConfigError, match="balanced"):
        EvaluationConfig(score="balance")


def test_baselines_report_the_run_score(archive: Archive) -> None:
    config = EvaluationConfig(train_n=8, train_per_class=1, probe_count=4,
                              train_sizes=(12,), train_sizes_per_class=1)
    ts = training_set(SMTT, config, archive, workers=1)
    empty = ValidationSet((), (), ())
    gap = score_baselines(SMTT, ts, empty, ("mdd",), "gap")[0].train_gap
    ratio = score_baselines(SMTT, ts, empty, ("mdd",), "ratio")[0].train_gap
    values = [SMTT.objective(i, SMTT.heuristics["mdd"](i)) for i in ts.instances]
    per_size = []
    for n in (8, 12):
        h = sum(v for v, i in zip(values, ts.instances, strict=True) if i.size == n)
        o = sum(r for r, i in zip(ts.references, ts.instances, strict=True) if i.size == n)
        per_size.append(100 * (h / o - 1))
    assert ratio == pytest.approx(sum(per_size) / 2)
    assert gap is not None and ratio != pytest.approx(gap)
