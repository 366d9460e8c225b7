"""Dead code: tuple targets, the program's own pure helpers, unreached helpers."""

from __future__ import annotations

import ast
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from discover.offline.deadcode import (
    assigned_names,
    pure_helpers,
    remove_dead_assignments,
    remove_unused_helpers,
)
from discover.offline.shape import find_decision
from discover.offline.sites import find_function
from discover.offline.state import STATE_KINDS, add_state_feature
from discover.offline.structure import add_or_vary_improvement
from evaluators.smtt.problem import COST_SOURCE
from tests.discover.offline.support import INSTANCES, MDD, SPEC, schedule_of

PURE = COST_SOURCE

TRACKED = PURE + """

def schedule(p, d):
    remaining = list(range(len(p)))
    order = []
    t = 0
    _data = _prepare(p, d)
    _track = _initial(_data)
    while remaining:
        best = min(remaining, key=lambda j: (max(t + p[j], d[j]), j))
        remaining.remove(best)
        order.append(best)
        t += p[best]
        _track, _cost = _step(_track, best, _data)
    return order
"""


def _clean(code: str) -> tuple[list[str], str]:
    """Removed names and the cleaned program."""
    tree = ast.parse(textwrap.dedent(code))
    func = find_function(tree, "schedule")
    assert func is not None
    removed = remove_dead_assignments(func, tree)
    return removed, ast.unparse(tree)


def _schedule(body: str, helpers: str = PURE) -> str:
    return helpers + "\n\ndef schedule(p, d):\n" + textwrap.indent(textwrap.dedent(body), "    ")


def test_the_unused_tracked_state_goes_with_its_pure_helpers_calls() -> None:
    removed, code = _clean(TRACKED)
    assert removed == ["_data", "_track", "_cost"]
    assert "_track" not in code and "_data" not in code and "_cost" not in code
    assert "def _step" in code  # the engine keeps helpers: later moves reuse them
    for inst in INSTANCES[:5]:
        p, d = list(inst.processing_times), list(inst.due_dates)
        assert schedule_of(code)(p, d) == schedule_of(TRACKED)(p, d)


def test_the_cost_helpers_and_steps_are_pure_but_the_improvement_pass_is_not() -> None:
    tree = ast.parse(MDD)
    func = find_function(tree, "schedule")
    assert func is not None
    assert add_or_vary_improvement(tree, "schedule", SPEC.parameters, COST_SOURCE,
                                   np.random.default_rng(0)) is not None
    # _improve's ``old += cost`` may extend a list its _step returned: not provably pure.
    assert pure_helpers(tree) == {"_prepare", "_initial", "_step", "_steps"}


def test_a_tuple_target_with_one_name_read_later_stays() -> None:
    removed, code = _clean(_schedule("""\
        _data = _prepare(p, d)
        _track, _cost = _step(_initial(_data), 0, _data)
        return [_cost]
    """))
    assert removed == []
    assert "_track, _cost = _step(" in code


@pytest.mark.parametrize("helper", [
    "def _h(x):\n    print(x)\n    return x\n",
    "def _h(x):\n    return open(x)\n",
    "def _h(x):\n    global COUNT\n    COUNT = 1\n    return x\n",
    "def _h(x):\n    x.append(1)\n    return 0\n",
    "def _h(x):\n    x[0] = 1\n    return 0\n",
    "def _h(x):\n    x += [1]\n    return 0\n",
    "def _h(x):\n    y = x\n    y.sort()\n    return 0\n",
    "def _h(x):\n    x.sort()\n    x = list(x)\n    return x\n",
    "def _h(x):\n    y = [x]\n    y[0].append(1)\n    return 0\n",
    "def _h(x):\n    x.flag = True\n    return 0\n",
    "def _h(x):\n    del x[0]\n    return 0\n",
    "def _h(x):\n    return sorted(x, key=print)\n",
    "def _h(x):\n    return x()\n",
    "def _h(x):\n    f = x\n    return max(x, key=f)\n",
    "def _h(x):\n    return _g(x)\n\ndef _g(x):\n    return _h(print(x))\n",
    "@cache\ndef _h(x):\n    return x\n",
    "def _h(x):\n    return x\n\n_h = print\n",
])
def test_a_helper_with_a_side_effect_is_kept(helper: str) -> None:
    removed, code = _clean(_schedule("_unused = _h(p)\nreturn list(range(len(p)))\n",
                                     helper))
    assert removed == [] and "_unused = _h(p)" in code


@pytest.mark.parametrize("helper", [
    "def _h(x):\n    y = list(x)\n    y.sort()\n    y[0] = 0\n    return y\n",
    "def _h(x):\n    x = [v for v in x]\n    x.append(1)\n    return x\n",
    "def _h(x):\n    total = 0\n    for v in x:\n        total += v\n    return total\n",
    "def _h(x):\n    return x.index(max(x)) if x else len(x)\n",
    # Recursion, and mutual recursion between pure helpers.
    "def _h(x):\n    return 0 if not x else 1 + _h(x[1:])\n",
    "def _h(x):\n    return 0 if not x else _g(x[1:])\n\ndef _g(x):\n    return _h(x)\n",
])
def test_a_pure_helper_call_is_dead_code(helper: str) -> None:
    removed, code = _clean(_schedule("_unused = _h(p)\nreturn list(range(len(p)))\n",
                                     helper))
    assert removed == ["_unused"] and "_h(p)" not in code.split("def schedule")[1]


@pytest.mark.parametrize("value", ["max(p, key=print)", "_h(p, print)"])
def test_a_named_key_is_called_so_it_must_be_pure_too(value: str) -> None:
    helper = "def _h(x, f):\n    return sorted(x, key=f)\n"
    removed, code = _clean(_schedule(f"_unused = {value}\nreturn []\n", helper))
    assert removed == [] and f"_unused = {value}" in code
    assert _clean(_schedule("_unused = max(p, key=abs)\nreturn []\n"))[0] == ["_unused"]


@pytest.mark.parametrize("reader", [
    "return sorted(range(len(p)), key=lambda j: (_a, j))",
    "return [j for j in range(len(p)) if _a >= 0]",
    "def inner():\n    return _a\nreturn list(range(len(p))) if inner() >= 0 else []",
])
def test_a_name_read_in_a_lambda_comprehension_or_nested_function_is_read(reader: str) -> None:
    removed, code = _clean(_schedule(f"_a = _initial(p)\n{reader}\n"))
    assert removed == [] and "_a = _initial(p)" in code


def test_augmented_assignments_go_with_their_name_or_stay_with_it() -> None:
    dead = "_s = 0\nfor j in range(len(p)):\n    _s += p[j]\nreturn list(range(len(p)))\n"
    removed, code = _clean(_schedule(dead))
    assert removed == ["_s"] and "_s =" not in code and "_s +=" not in code
    assert "for j in range(len(p)):\n        pass" in code  # an emptied block stays valid
    removed, code = _clean(_schedule(dead.replace("return list", "return [_s] + list")))
    assert removed == [] and "_s += p[j]" in code


def test_a_chain_of_dead_assignments_goes_whole() -> None:
    removed, code = _clean(_schedule("""\
        _a = _prepare(p, d)
        _b = _initial(_a)
        _c, (_e, *_g) = (_b, _step(_b, 0, _a))
        return list(range(len(p)))
    """))
    assert removed == ["_a", "_b", "_c", "_e", "_g"]
    assert code.split("def schedule(p, d):\n")[1] == "    return list(range(len(p)))"


def test_nothing_goes_where_names_are_reached_by_text_or_declared() -> None:
    assert _clean(_schedule("_a = _initial(p)\nreturn eval('_a')\n"))[0] == []
    assert _clean(_schedule("global _a\n_a = _initial(p)\nreturn []\n"))[0] == []
    assert _clean(_schedule("_a = _initial(p)\ndel _a\nreturn []\n"))[0] == []


def test_a_local_name_shadowing_a_helper_is_not_taken_for_it() -> None:
    removed, code = _clean(_schedule("_step = print\n_a = _step(p)\nreturn []\n"))
    assert removed == [] and "_a = _step(p)" in code  # it calls print: kept, with _step


def test_assigned_names_of_every_target_form() -> None:
    def names(source: str) -> list[str] | None:
        return assigned_names(ast.parse(source).body[0])

    assert names("a = 1") == ["a"] and names("a += 1") == ["a"] and names("a: int = 1") == ["a"]
    assert names("a, (b, *c) = x") == ["a", "b", "c"] and names("a = b = 1") == ["a", "b"]
    assert names("a[0] = 1") is None and names("a, b.c = x") is None and names("f()") is None


def test_unreached_helpers_are_dropped_and_reached_ones_kept() -> None:
    code = PURE + textwrap.dedent("""\

        def _unused(x):
            return _step(x, 0, x)

        def _via_constant(x):
            return x

        TABLE = {'a': _via_constant}

        def _kept(x):
            return _prepare(x, x)

        def schedule(p, d):
            return sorted(range(len(p)), key=lambda j: _kept(j))
    """)
    tree = ast.parse(code)
    assert remove_unused_helpers(tree, "schedule") == ["_initial", "_step", "_unused"]
    names = [s.name for s in tree.body if isinstance(s, ast.FunctionDef)]
    assert names == ["_prepare", "_via_constant", "_kept", "schedule"]
    assert remove_unused_helpers(ast.parse(code), "missing") == []
    assert remove_unused_helpers(ast.parse(code + "\nX = globals()\n"), "schedule") == []


def _dead_state_program(seed: int, improve: bool) -> str:
    """MDD with a state feature whose term is then deleted (its machinery left behind)."""
    tree = ast.parse(MDD)
    func = find_function(tree, "schedule")
    assert func is not None
    rng = np.random.default_rng(seed)
    kind = STATE_KINDS[seed % len(STATE_KINDS)]
    assert add_state_feature(tree, func, SPEC.parameters, COST_SOURCE, rng, kind) is not None
    if improve:
        add_or_vary_improvement(tree, "schedule", SPEC.parameters, COST_SOURCE, rng)
    decision = find_decision(func)
    assert decision is not None and isinstance(decision.key, ast.Tuple)
    first = decision.key.elts[0]
    assert isinstance(first, ast.BinOp)
    decision.key.elts[0] = first.left
    return ast.unparse(tree)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 120)), min_size=1, max_size=12),
       st.integers(0, 11), st.booleans())
def test_removal_never_changes_the_schedule(jobs: list[tuple[int, int]], seed: int,
                                            improve: bool) -> None:
    # Engine-built programs (trusted): run in-process, before and after the removal.
    code = _dead_state_program(seed, improve)
    removed, cleaned = _clean(code)
    assert removed and "_f0" not in cleaned
    assert "_track" not in cleaned and "_s10" not in cleaned
    p, d = [a for a, _ in jobs], [b for _, b in jobs]
    assert schedule_of(cleaned)(list(p), list(d)) == schedule_of(code)(list(p), list(d))
