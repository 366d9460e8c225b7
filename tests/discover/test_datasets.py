"""Reference-method resolution and validation-file lookup."""

from __future__ import annotations

import pytest

from discover.datasets import resolve_method
from evaluators.registry import get_problem


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
