"""Random instance generation: determinism, ranges, classes."""

from __future__ import annotations

import numpy as np
import pytest

from evaluators.smtt.generate import SmttFamily, generate_classes, generate_instance


def test_same_seed_same_instances() -> None:
    a = generate_classes(20, 2, np.random.default_rng(7))
    b = generate_classes(20, 2, np.random.default_rng(7))
    assert [i.fingerprint for i in a] == [i.fingerprint for i in b]
    c = generate_classes(20, 2, np.random.default_rng(8))
    assert [i.fingerprint for i in a] != [i.fingerprint for i in c]


def test_classes_in_paper_order() -> None:
    instances = generate_classes(10, 3, np.random.default_rng(0))
    assert len(instances) == 60
    assert (instances[0].rdd, instances[0].tf) == (0.2, 0.2)
    assert (instances[3].rdd, instances[3].tf) == (0.2, 0.4)
    assert (instances[-1].rdd, instances[-1].tf) == (1.0, 0.8)


@pytest.mark.parametrize("rdd,tf", [(0.2, 0.2), (1.0, 0.8), (0.6, 0.4)])
def test_due_dates_within_window(rdd: float, tf: float) -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        inst = generate_instance(SmttFamily(50, rdd, tf), rng)
        total = sum(inst.processing_times)
        lo = max(0, total * (1 - tf - rdd / 2))
        hi = total * (1 - tf + rdd / 2)
        assert all(1 <= p <= 100 for p in inst.processing_times)
        assert all(lo - 1 <= d <= hi + 1 for d in inst.due_dates)


def test_normal_variant_and_weights() -> None:
    inst = generate_instance(SmttFamily(500, 0.6, 0.6, "normal", weighted=True),
                             np.random.default_rng(3))
    assert min(inst.processing_times) >= 1
    assert 55 < np.mean(inst.processing_times) < 65
    assert inst.weights is not None and set(inst.weights) <= set(range(1, 11))


def test_family_validation() -> None:
    with pytest.raises(ValueError):
        SmttFamily(0, 0.2, 0.2)
    with pytest.raises(ValueError):
        SmttFamily(5, 0.2, 1.5)
    with pytest.raises(ValueError):
        SmttFamily(5, 0.2, 0.2, "poisson")
