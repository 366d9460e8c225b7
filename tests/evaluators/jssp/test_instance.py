"""JsspInstance: validation in __post_init__, derived sizes, fingerprint, bounds."""

from __future__ import annotations

import pytest

from evaluators.jssp.instance import BoundStatus, JsspInstance


def test_sizes_and_label(tiny: JsspInstance) -> None:
    assert tiny.size == tiny.n_jobs == 3
    assert tiny.n_ops == 2 and tiny.n_machines == 2
    assert tiny.class_label == "3x2"
    assert tiny.duration_array.shape == (3, 2)
    assert not tiny.duration_array.flags.writeable


def test_trivial_lower_bound(tiny: JsspInstance) -> None:
    # Job loads 5, 6, 2; machine 0 load 3+4+1 = 8, machine 1 load 2+2+1 = 5.
    assert tiny.trivial_lower_bound == 8


def test_fingerprint_depends_on_data_not_name(tiny: JsspInstance) -> None:
    renamed = JsspInstance(tiny.machines, tiny.durations, name="other", upper_bound=9)
    changed = JsspInstance(tiny.machines, ((3, 2), (2, 4), (1, 2)))
    assert renamed.fingerprint == tiny.fingerprint
    assert changed.fingerprint != tiny.fingerprint
    assert len(tiny.fingerprint) == 64


def test_optimum_is_proven_only_when_closed() -> None:
    m, d = ((0,),), ((5,),)
    assert JsspInstance(m, d, upper_bound=5, lower_bound=5,
                        bound_status=BoundStatus.CLOSED).optimum_is_proven
    assert not JsspInstance(m, d, upper_bound=7, lower_bound=5,
                            bound_status=BoundStatus.OPEN).optimum_is_proven
    assert not JsspInstance(m, d).optimum_is_proven


@pytest.mark.parametrize(
    ("machines", "durations", "error"),
    [
        ((), (), ValueError),
        (((0, 1),), ((1, 2), (3, 4)), ValueError),
        (((0, 1), (1,)), ((1, 2), (3,)), ValueError),
        (((0, -1),), ((1, 2),), ValueError),
        (((0, 1),), ((1, -2),), ValueError),
        (((0, 1),), ((1, 2.0),), TypeError),
        (((0, True),), ((1, 2),), TypeError),
        (((),), ((),), ValueError),
    ],
)
def test_rejects_malformed(machines: tuple, durations: tuple, error: type) -> None:
    with pytest.raises(error):
        JsspInstance(machines, durations)


def test_rejects_crossed_bounds_and_bad_status() -> None:
    with pytest.raises(ValueError, match="exceeds"):
        JsspInstance(((0,),), ((5,),), upper_bound=5, lower_bound=6)
    with pytest.raises(TypeError):
        JsspInstance(((0,),), ((5,),), bound_status="closed")  # type: ignore[arg-type]
