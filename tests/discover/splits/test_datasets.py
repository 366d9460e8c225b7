"""Reference-method resolution, validation-file lookup, training families, selection split."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from archive import Archive
from discover.config import ConfigError, EvaluationConfig, RunConfig
from discover.splits.datasets import resolve_method, selection_set, training_set
from evaluators.base import GeneratorSpec
from evaluators.registry import get_problem
from evaluators.smtt.exact import solve

SMTT = get_problem("smtt")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive.open(f"sqlite:///{tmp_path / 'a.sqlite'}") as opened:
        yield opened


def small_selection(n: int = 10) -> EvaluationConfig:
    """One instance per class of ``n`` jobs (20 instances)."""
    return EvaluationConfig(selection_n=n, selection_per_class=1, selection_seed=7)


@pytest.mark.parametrize(("n", "weighted", "expected"),
                         [(12, False, "dp"), (20, True, "dp"), (100, False, "exact"),
                          (100, True, "cpsat")])
def test_auto_reference(n: int, weighted: bool, expected: str) -> None:
    assert resolve_method(get_problem("smtt"), "auto", n, weighted=weighted) == expected


def test_explicit_reference_is_checked() -> None:
    assert resolve_method(get_problem("smtt"), "mip", 10) == "mip"
    with pytest.raises(ValueError, match="unknown reference method"):
        resolve_method(get_problem("smtt"), "magic", 10)
    assert resolve_method(get_problem("jssp"), "auto", 10) == "cpsat"


def test_no_selection_split_by_default(archive: Archive) -> None:
    assert selection_set(SMTT, EvaluationConfig(), archive, workers=1).empty


@pytest.mark.slow
def test_selection_references_are_optimal_and_cached(archive: Archive) -> None:
    split = selection_set(SMTT, small_selection(), archive, workers=1)
    assert len(split.instances) == 20 and all(i.size == 10 for i in split.instances)
    # Independent truth: CP-SAT (the split's references come from the DP at this size).
    assert list(split.references) == [solve(i, "cpsat").objective for i in split.instances]
    assert all(archive.get_reference(i.fingerprint, "dp") is not None for i in split.instances)
    again = selection_set(SMTT, small_selection(), archive, workers=1)
    assert again.instances == split.instances and again.references == split.references


def test_selection_split_with_a_second_family(archive: Archive) -> None:
    # Issue 16, seed 3: 3 instances per class at the selection size missed the rare
    # instances with tiny optima; a second, smaller family adds more of each class.
    config = small_selection()
    both = EvaluationConfig(selection_n=10, selection_per_class=1, selection_seed=7,
                            selection_extra_n=12, selection_extra_per_class=2)
    first = selection_set(SMTT, config, archive, workers=1)
    split = selection_set(SMTT, both, archive, workers=1)
    assert [i.size for i in split.instances] == [10] * 20 + [12] * 40
    # The first family is the same with or without the second.
    assert split.instances[:20] == first.instances
    assert split.references[:20] == first.references
    assert len(split.sources) == 2 and "n=12 (seed [7, 12], 40 instances" in split.sources[1]
    # Independent truth: the B&B (the references come from the DP at these sizes).
    assert list(split.references[20:]) == [solve(i, "exact").objective
                                           for i in split.instances[20:]]
    assert all(archive.get_reference(i.fingerprint, "dp") is not None
               for i in split.instances)


def test_config_rejects_bad_second_selection_family() -> None:
    with pytest.raises(ConfigError, match="selection_extra_n"):
        EvaluationConfig(selection_extra_n=-1)
    with pytest.raises(ConfigError, match="selection_extra_per_class"):
        EvaluationConfig(selection_extra_per_class=0)


def test_selection_seed_is_not_the_training_seed(archive: Archive) -> None:
    config = small_selection()
    split = selection_set(SMTT, config, archive, workers=1)
    training = SMTT.generate(GeneratorSpec(n=10, count=1), np.random.default_rng(config.train_seed))
    assert [i.fingerprint for i in training] != [i.fingerprint for i in split.instances]


@pytest.mark.slow
def test_training_set_with_a_larger_family(archive: Archive) -> None:
    base = EvaluationConfig(train_n=8, train_per_class=1, probe_count=5)
    mixed = EvaluationConfig(train_n=8, train_per_class=1, probe_count=5, train_extra_n=11,
                             train_extra_per_class=1)
    small = training_set(SMTT, base, archive, workers=1)
    both = training_set(SMTT, mixed, archive, workers=1)
    sizes = sorted(i.size for i in both.instances)
    assert sizes == [8] * 20 + [11] * 20
    # The small family is unchanged by adding the larger one.
    assert {i.fingerprint for i in small.instances} < {i.fingerprint for i in both.instances}
    # Independent truth for every reference, both sizes.
    assert list(both.references) == [solve(i, "cpsat").objective for i in both.instances]
    # The probe set spans both families.
    assert {i.size for i in both.instances[: both.probe]} == {8, 11}
    with pytest.raises(ConfigError, match="train_extra"):
        EvaluationConfig(train_extra_n=-1)


def test_smtt_selects_on_two_sizes() -> None:
    # 3 per class at n = 200 and 10 per class at n = 100 (issue 16, seed 3: the 60 at
    # n = 200 alone exported a winner that lost to MDDC's mean gap on fresh instances).
    ev = RunConfig.for_problem("smtt").evaluation
    assert (ev.selection_n, ev.selection_per_class) == (200, 3)
    assert (ev.selection_extra_n, ev.selection_extra_per_class) == (100, 10)
    assert RunConfig.for_problem("jssp").evaluation.selection_extra_n == 0
