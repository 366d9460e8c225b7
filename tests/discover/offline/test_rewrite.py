"""Sign clean-up of engine-written expressions (``rewrite.absorb_negations``)."""

from __future__ import annotations

import ast
import itertools
import math
import struct

import pytest

from discover.offline.rewrite import absorb_negations

VALUES = (0.0, -0.0, 0, 3, -7, 0.507, -2.5, 1e308, -1e-300, math.inf, -math.inf)
"""Operands for the exactness checks: signed zeros, an int zero, overflow, infinities."""


def _absorbed(source: str) -> str:
    return ast.unparse(absorb_negations(ast.parse(source, mode="eval").body))


def _outcome(source: str, a: object, x: object, y: object) -> object:
    """The value of ``source`` (bit pattern for floats, so that -0.0 != 0.0), or the error."""
    try:
        value = eval(source, {"max": max}, {"a": a, "x": x, "y": y})
    except (ArithmeticError, TypeError) as exc:
        return type(exc)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else struct.pack("<d", value)
    return (type(value), value)


@pytest.mark.parametrize(("source", "expected"), [
    ("a + x - -0.507 * x", "a + x + 0.507 * x"),  # t + p[j] - -0.507 * p[j], seen
    ("a + -0.5 * x", "a - 0.5 * x"),
    ("a - -2.0", "a + 2.0"),
    ("a + -2.0", "a - 2.0"),
    ("a - -3", "a + 3"),
    ("a - -0.0", "a + 0.0"),
    ("a - -0.5 * x / y", "a + 0.5 * x / y"),
    ("a + -0.5 * x * y", "a - 0.5 * x * y"),
    ("a - -0.5 / x", "a + 0.5 / x"),
    ("max(a - -1.5 * x, y + -0.25)", "max(a + 1.5 * x, y - 0.25)"),
    ("a - -1.5 * (x - -2.0)", "a + 1.5 * (x + 2.0)"),
])
def test_a_leading_minus_is_absorbed_exactly(source: str, expected: str) -> None:
    assert _absorbed(source) == expected
    for a, x, y in itertools.product(VALUES, repeat=3):
        assert _outcome(source, a, x, y) == _outcome(expected, a, x, y), (source, a, x, y)


@pytest.mark.parametrize("source", [
    "a - -3 * x",  # an int product: -0.0 - (-3 * 0) is -0.0, -0.0 + 3 * 0 is 0.0
    "a - -0",  # an int zero has no sign either
    "a - -x",  # not a literal
    "a - x * -0.5",  # the literal does not lead the operand
    "a - -0.5 // x",  # floor division rounds down, not symmetrically
    "a - (-0.5 + x)",
    "-0.5 * x + a",  # a left operand reads fine
    "a * -0.5",
    "(a, -0.5)",
])
def test_other_negations_are_left_alone(source: str) -> None:
    assert _absorbed(source) == source


def test_int_products_would_not_be_exact() -> None:
    # Why int literals inside products are left alone: the sign of zero would change.
    assert _outcome("a - -3 * x", -0.0, 0, 0) != _outcome("a + 3 * x", -0.0, 0, 0)


def test_a_literal_holding_a_negative_value_is_absorbed() -> None:
    # State features write their coefficient as number(-0.23), printed "-0.23" too.
    term = ast.BinOp(ast.BinOp(ast.Constant(-0.23), ast.Mult(), ast.Name("f", ast.Load())),
                     ast.Mult(), ast.Name("x", ast.Load()))
    node = ast.BinOp(ast.Name("a", ast.Load()), ast.Add(), term)
    assert ast.unparse(node) == "a + -0.23 * f * x"
    assert ast.unparse(absorb_negations(node)) == "a - 0.23 * f * x"
