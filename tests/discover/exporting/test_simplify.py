"""Readable winners: meaning-preserving simplification and the key's formula."""

from __future__ import annotations

import ast
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from archive import Archive, Program
from discover.exporting.simplify import simplify
from discover.exporting.standalone import export_program
from evaluators.smtt.generate import generate_classes
from evaluators.smtt.problem import COST_SOURCE, SEED_PROGRAMS

MESSY = """\
def schedule(processing_times, due_dates):
    remaining = list(range(len(processing_times)))
    order = []
    t = 0
    while remaining:
        best = min(remaining, key=lambda j: (max(max(t + processing_times[j] * 1.0,
                                                   due_dates[j]), due_dates[j])
                                             + 0 * processing_times[j] + (2 * 0.25)
                                             * processing_times[j] / max(t, 1), j))
        remaining.remove(best)
        order.append(best)
        t += processing_times[best]
    return order
"""
SHORT = {"processing_times": "p", "due_dates": "d"}


def _run(code: str, p: list[int], d: list[int]) -> list[int]:
    namespace: dict[str, object] = {}
    exec(compile(code, "<program>", "exec"), namespace)
    return namespace["schedule"](list(p), list(d))  # type: ignore[operator, no-any-return]


def test_simplify_folds_flattens_drops_and_names() -> None:
    result = simplify(MESSY, "schedule", SHORT)
    assert result.changed
    assert result.formula == "key(j) = (max(t + p[j], d[j]) + 0.5 * p[j] / max(t, 1), j)"
    code = result.code
    assert "1.0" not in code and "0 *" not in code and "2 * 0.25" not in code
    assert "max(max(" not in code
    # The repeated processing_times[j] is named once, inside a local key function.
    assert "p_j = processing_times[j]" in code and "key=priority" in code
    for inst in generate_classes(15, 1, np.random.default_rng(3)):
        p, d = list(inst.processing_times), list(inst.due_dates)
        assert _run(code, p, d) == _run(MESSY, p, d)


def test_simplify_leaves_clean_code_alone() -> None:
    clean = ast.unparse(ast.parse(MESSY.replace("key=lambda j: (max(max(", "key=lambda j: (max(("))
                        ) + "\n"
    plain = ("def schedule(processing_times, due_dates):\n"
             "    return sorted(range(len(due_dates)), key=lambda j: (due_dates[j], j))\n")
    result = simplify(plain, "schedule", SHORT)
    assert not result.changed and result.formula == "key(j) = (d[j], j)"
    assert simplify(clean, "nothing_here").changed is False


def test_the_formula_states_the_weights_computed_once() -> None:
    """An engine-emitted key reads ``_inst1``; the formula says what it is, in the order
    the program computes it, and leaves out what the key does not read."""
    code = SEED_PROGRAMS["mdd"].replace(
        "    n = len(processing_times)\n",
        "    p_total_all = sum(processing_times)\n"
        "    d_mean_all = sum(due_dates) / max(len(due_dates), 1)\n"
        "    _inst0 = 1 - d_mean_all / max(p_total_all, 1)\n"
        "    _inst1 = 1.85 * (1.02 + 0.15 * _inst0)\n"
        "    _inst2 = 3 * _inst0\n"
        "    n = len(processing_times)\n", 1).replace(
        "max(t + processing_times[j], due_dates[j])",
        "max(t + _inst1 * processing_times[j], due_dates[j])")
    result = simplify(code, "schedule", SHORT)
    assert result.formula == (
        "key(j) = (max(t + _inst1 * p[j], d[j]), j) where "
        "_inst0 = 1 - d_mean_all / max(p_total_all, 1), _inst1 = 1.85 * (1.02 + 0.15 * _inst0)")


def _exported(tmp_path: Path, code: str) -> tuple[str, str]:
    """Export ``code`` as the one program of a new archive: (docstring, file text)."""
    with Archive.open(f"sqlite:///{tmp_path / 'a.sqlite'}") as archive:
        run = archive.create_run("smtt", {"budget": 5}, seed=1, budget=5)
        pid = archive.record_candidate(run, Program(code, "modify"))
        export_program(archive, pid, tmp_path / "out.py")
    text = (tmp_path / "out.py").read_text()
    return ast.get_docstring(ast.parse(text)) or "", text


@pytest.mark.slow
def test_export_writes_the_simplified_program_when_it_behaves_the_same(tmp_path: Path) -> None:
    doc, text = _exported(tmp_path, MESSY)
    assert "formula     key(j) = (max(t + p[j], d[j]) + 0.5 * p[j] / max(t, 1), j)" in doc
    # Checked on the self-check samples, the regenerated training set and n100.json.
    assert "simplified  same output on all" in doc
    assert "p_j = processing_times[j]" in text and "max(max(" not in text


TRACKED = COST_SOURCE + '''

def schedule(processing_times, due_dates):
    remaining = list(range(len(processing_times)))
    order = []
    t = 0
    _data = _prepare(processing_times, due_dates)
    _track = _initial(_data)
    while remaining:
        best = min(remaining, key=lambda j: (max(t + processing_times[j], due_dates[j])
                                             + 0 * _track, j))
        remaining.remove(best)
        order.append(best)
        t += processing_times[best]
        _track, _cost = _step(_track, best, _data)
    return order
'''


def test_simplify_drops_dead_state_and_the_helpers_only_it_used() -> None:
    # ``0 * _track`` folds away; then nothing reads the tracked state or its helpers.
    result = simplify(TRACKED, "schedule", SHORT)
    assert result.changed and result.formula == "key(j) = (max(t + p[j], d[j]), j)"
    code = result.code
    for gone in ("_track", "_data", "_cost", "def _prepare", "def _initial", "def _step"):
        assert gone not in code
    for inst in generate_classes(15, 1, np.random.default_rng(3)):
        p, d = list(inst.processing_times), list(inst.due_dates)
        assert _run(code, p, d) == _run(TRACKED, p, d)


@pytest.mark.parametrize(("expression", "expected"), [
    ("1.52 * (1.14 * p[j])", "1.7328 * p[j]"),
    ("(1.52 * x) * 1.14", "1.7328 * x"),
    ("1.52 * (x * 1.14)", "1.7328 * x"),
    ("1.1 * (1.1 * x)", "1.21 * x"),  # the literals' decimal product, not 1.2100000000000002
    ("3 * (2 * x)", "6 * x"),  # integers stay integers
    ("-1.5 * (2 * x)", "-3.0 * x"),
    ("x * 2 / 4", "0.5 * x"),  # division by a power of two joins the chain
    ("2 * (p[j] / 4)", "0.5 * p[j]"),
    ("x / 4 / 2", "0.125 * x"),
    ("2 * (0.5 * x)", "x"),
    ("1.5 * (2 * x) + 0.3 * (2 * y)", "3.0 * x + 0.6 * y"),
])
def test_products_of_literals_fold_across_parentheses(expression: str, expected: str) -> None:
    result = simplify(f"def f(x, y, p, j):\n    return {expression}\n", "f")
    assert result.code == f"def f(x, y, p, j):\n    return {expected}\n"
    assert result.reassociated


@pytest.mark.parametrize("expression", [
    "x * 3 / 7",  # not a power of two: x * (3 / 7) would not be exact
    "x / 4",  # a single literal
    "2 * (x * y)",  # two factors that are not literals
    "0.5 * (p[j] / max(x, 1))",
    "1e+300 * (1e+300 * x)",  # the product would overflow
])
def test_products_that_do_not_fold_are_left_alone(expression: str) -> None:
    code = f"def f(x, y, p, j):\n    return {expression}\n"
    result = simplify(code, "f")
    assert result.code == code and not result.changed and not result.reassociated


def test_reassociation_can_be_switched_off() -> None:
    code = "def f(x):\n    return 1.52 * (1.14 * x) * 1.0\n"
    result = simplify(code, "f", reassociate=False)
    assert result.code == "def f(x):\n    return 1.52 * (1.14 * x)\n"
    assert result.changed and not result.reassociated


_ENGINE_LITERALS = st.floats(0.001, 1000.0).map(lambda v: float(f"{v:.3g}")).filter(bool)
"""Literals as the engine writes them: three significant digits."""


@st.composite
def _chains(draw: st.DrawFn) -> tuple[str, bool]:
    """A product of literals, ``x`` and divisions by powers of two, nested at random;
    and whether every literal is a power of two (then folding is exact)."""
    expression = "x"
    exact = True
    for _ in range(draw(st.integers(2, 4))):
        if draw(st.booleans()):
            expression = f"{expression} / {2.0 ** draw(st.integers(-3, 6))!r}"
            continue
        literal = draw(st.one_of(_ENGINE_LITERALS, st.integers(-50, 50).filter(bool),
                                 st.integers(-3, 6).map(lambda k: 2.0 ** k)))
        exact = exact and math.frexp(abs(literal))[0] == 0.5
        expression = (f"({literal!r} * {expression})" if draw(st.booleans())
                      else f"({expression} * {literal!r})")
    return expression, exact


@settings(max_examples=300, deadline=None)
# Away from subnormals, where halving is not exact (no key is that small).
@given(chain=_chains(), x=st.floats(-1e6, 1e6).filter(lambda v: v == 0 or abs(v) > 1e-290))
def test_a_folded_product_is_the_product_to_the_last_bits(chain: tuple[str, bool],
                                                          x: float) -> None:
    expression, exact = chain
    code = f"def f(x):\n    return {expression}\n"
    result = simplify(code, "f")
    returned = ast.parse(result.code).body[0].body[0]  # type: ignore[attr-defined]
    # One literal at most is left (none when the product is one).
    assert sum(isinstance(n, ast.Constant) for n in ast.walk(returned)) <= 1
    original, folded = _value(code, x), _value(result.code, x)
    if exact:  # powers of two: re-association changes no bit
        assert folded == original
    else:
        assert folded == pytest.approx(original, rel=1e-13, abs=1e-300)


def _value(code: str, x: float) -> float:
    namespace: dict[str, object] = {}
    exec(compile(code, "<program>", "exec"), namespace)
    return namespace["f"](x)  # type: ignore[operator, no-any-return]


# The folded key is 0.0 for every job (0.3·p − 0.3·p) and orders by index; the original's
# is a last-bit residue of 0.1·(3·p) − 0.3·p that orders otherwise. The dead term remains
# a simplification that holds.
REASSOCIATION_FLIPS = """\
def schedule(processing_times, due_dates):
    return sorted(range(len(processing_times)),
                  key=lambda j: (0.1 * (3 * processing_times[j]) - 0.3 * processing_times[j]
                                 + 0 * due_dates[j], j))
"""


def test_the_flipping_example_flips() -> None:
    p, d = [1, 2, 3, 7, 10, 13], [5] * 6
    folded = simplify(REASSOCIATION_FLIPS, "schedule", SHORT)
    plain = simplify(REASSOCIATION_FLIPS, "schedule", SHORT, reassociate=False)
    assert folded.reassociated and plain.changed
    assert _run(folded.code, p, d) != _run(REASSOCIATION_FLIPS, p, d)
    assert _run(plain.code, p, d) == _run(REASSOCIATION_FLIPS, p, d)


@pytest.mark.slow
def test_export_keeps_the_other_rewrites_when_a_folded_product_flips_a_tie(
        tmp_path: Path) -> None:
    doc, text = _exported(tmp_path, REASSOCIATION_FLIPS)
    assert "simplified  products of literals kept as written" in doc
    assert "simplified  same output on all" in doc
    assert "0.1 * (3 * p_j) - 0.3 * p_j" in text and "0 * due_dates" not in text
