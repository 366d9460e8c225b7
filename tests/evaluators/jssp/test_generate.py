"""Taillard-style generators: the Lehmer version reproduces ta01/ta02, the numpy one its law."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from evaluators.jssp.generate import (
    TaillardFamily,
    generate_instance,
    generate_set,
    taillard_instance,
)
from evaluators.jssp.loaders import load_file


@pytest.mark.parametrize(
    ("name", "time_seed", "machine_seed"),
    [("ta01js", 840612802, 398197754), ("ta02js", 1314640371, 386720536)],
)
def test_lehmer_generator_reproduces_taillard(
    taillard_dir: Path, name: str, time_seed: int, machine_seed: int
) -> None:
    published = load_file(taillard_dir / f"{name}.txt")
    regenerated = taillard_instance(time_seed, machine_seed, 15, 15)
    assert regenerated.machines == published.machines
    assert regenerated.durations == published.durations


def test_numpy_family_shape_and_ranges() -> None:
    rng = np.random.default_rng(3)
    inst = generate_instance(TaillardFamily(30, 20), rng, "x")
    assert (inst.n_jobs, inst.n_ops, inst.n_machines) == (30, 20, 20)
    d = inst.duration_array
    assert d.min() >= 1 and d.max() <= 99
    for row in inst.machines:
        assert sorted(row) == list(range(20))


def test_numpy_family_matches_taillard_law() -> None:
    # Durations U{1..99}: mean 50; machine orders uniform: each machine first ~1/m of the time.
    insts = generate_set(TaillardFamily(50, 10), 40, np.random.default_rng(11))
    d = np.concatenate([i.duration_array.ravel() for i in insts])
    assert abs(d.mean() - 50) < 1.0
    assert set(np.unique(d)) == set(range(1, 100))
    first = np.bincount(np.concatenate([i.machine_array[:, 0] for i in insts]), minlength=10)
    assert first.min() > 150 and first.max() < 250  # 2000 draws, expected 200 each


def test_seeded_and_named() -> None:
    fam = TaillardFamily(5, 4, low=10, high=20)
    a = generate_set(fam, 3, np.random.default_rng(1), prefix="train")
    b = generate_set(fam, 3, np.random.default_rng(1), prefix="train")
    c = generate_set(fam, 3, np.random.default_rng(2), prefix="train")
    assert [i.fingerprint for i in a] == [i.fingerprint for i in b]
    assert [i.fingerprint for i in a] != [i.fingerprint for i in c]
    assert [i.name for i in a] == ["train-5x4-0", "train-5x4-1", "train-5x4-2"]
    assert all(10 <= x <= 20 for i in a for row in i.durations for x in row)


@pytest.mark.parametrize(("args", "kwargs"), [((0, 3), {}), ((3, 3), {"low": 5, "high": 4}),
                                              ((3, 3), {"low": -1})])
def test_family_validation(args: tuple[int, int], kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        TaillardFamily(*args, **kwargs)


def test_lehmer_rejects_bad_seed() -> None:
    with pytest.raises(ValueError):
        taillard_instance(0, 1, 2, 2)
