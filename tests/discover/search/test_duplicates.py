"""Tests of the normalised-AST hash and the behaviour fingerprint."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from discover.search.duplicates import behaviour_fingerprint, canonical_tree, normalized_hash
from evaluators.smtt.problem import SEED_PROGRAMS

EDD = '''\
def schedule(processing_times, due_dates):
    """Earliest due date first."""
    n = len(processing_times)
    return sorted(range(n), key=lambda j: (due_dates[j], j))
'''


def run(code: str, p: list[int], d: list[int]) -> object:
    namespace: dict[str, object] = {}
    exec(code, namespace)
    return namespace["schedule"](p, d)  # type: ignore[operator]


# -- normalized_hash -------------------------------------------------------------------------
def test_formatting_comments_docstring_and_annotations_are_ignored() -> None:
    other = '''
def schedule(processing_times: list[int], due_dates: list[int]) -> list[int]:
    # comment
    n = len( processing_times )   # trailing comment
    return sorted(range(n),
                  key=lambda j: (due_dates[j], j))
'''
    assert normalized_hash(EDD) == normalized_hash(other)


def test_local_names_are_canonicalised() -> None:
    renamed = EDD.replace("n =", "count =").replace("range(n)", "range(count)") \
                 .replace("lambda j: (due_dates[j], j)", "lambda k: (due_dates[k], k)")
    assert normalized_hash(EDD) == normalized_hash(renamed)


def test_parameters_of_the_candidate_function_are_kept() -> None:
    # The contract fixes parameter names: renaming them is a different program.
    renamed = EDD.replace("processing_times", "p").replace("due_dates", "d")
    assert normalized_hash(EDD) != normalized_hash(renamed)


def test_behavioural_changes_change_the_hash() -> None:
    base = normalized_hash(EDD)
    assert base != normalized_hash(EDD.replace("(due_dates[j], j)", "(due_dates[j], -j)"))
    assert base != normalized_hash(EDD.replace("due_dates[j]", "processing_times[j]"))
    assert base != normalized_hash(EDD + "\nX = 1\n")


def test_int_and_float_literals_differ() -> None:
    assert normalized_hash("def f(x):\n    return x * 1\n") != \
        normalized_hash("def f(x):\n    return x * 1.0\n")


def test_globals_builtins_and_attributes_are_not_renamed() -> None:
    a = "import math\nK = 2\ndef f(x):\n    y = math.sqrt(x)\n    return max(y, K)\n"
    b = "import math\nK = 2\ndef f(x):\n    z = math.sqrt(x)\n    return max(z, K)\n"
    c = "import math\nK = 2\ndef f(x):\n    z = math.sqrt(x)\n    return min(z, K)\n"
    assert normalized_hash(a) == normalized_hash(b) != normalized_hash(c)
    tree = canonical_tree(a)
    dumped = __import__("ast").unparse(tree)
    assert "math.sqrt" in dumped and "max(" in dumped and "K" in dumped


def test_shadowing_and_nested_scopes_keep_distinct_names_distinct() -> None:
    # a: the lambda reads the outer x; b: it reads its own parameter. Different programs.
    a = "def f(v):\n    x = 1\n    g = lambda y: x + y\n    return g(v)\n"
    b = "def f(v):\n    x = 1\n    g = lambda x: x + x\n    return g(v)\n"
    assert normalized_hash(a) != normalized_hash(b)
    # Renaming consistently across nested scopes is the same program.
    c = "def f(v):\n    w = 1\n    g = lambda u: w + u\n    return g(v)\n"
    assert normalized_hash(a) == normalized_hash(c)


def test_nested_function_and_comprehension_variables() -> None:
    a = ("def f(xs):\n    def sq(a):\n        return a * a\n"
         "    return [sq(x) for x in xs if x > 0]\n")
    b = ("def f(xs):\n    def square(b):\n        return b * b\n"
         "    return [square(y) for y in xs if y > 0]\n")
    assert normalized_hash(a) == normalized_hash(b)


def test_global_statement_names_are_not_renamed() -> None:
    a = "C = 0\ndef f(x):\n    global C\n    C = x\n    return C\n"
    b = "C = 0\ndef f(x):\n    global C\n    D = x\n    return D\n"
    assert normalized_hash(a) != normalized_hash(b)


def test_docstring_only_function_still_hashes() -> None:
    assert normalized_hash('def f():\n    """doc"""\n') == normalized_hash("def f():\n    pass\n")


def test_syntax_error_is_raised() -> None:
    with pytest.raises(SyntaxError):
        normalized_hash("def f(:\n")


def test_canonical_tree_preserves_behaviour() -> None:
    # The canonical form is runnable and does the same thing as the original.
    rng = np.random.default_rng(3)
    p = [int(x) for x in rng.integers(1, 100, 12)]
    d = [int(x) for x in rng.integers(0, 600, 12)]
    for code in SEED_PROGRAMS.values():
        canon = __import__("ast").unparse(canonical_tree(code))
        assert run(canon, p, d) == run(code, p, d)


@given(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=6))
def test_any_consistent_renaming_gives_the_same_hash(names: list[str]) -> None:
    body = "\n".join(f"    {n}{k} = x + {k}" for k, n in enumerate(names))
    total = " + ".join(f"{n}{k}" for k, n in enumerate(names))
    code = f"def f(x):\n{body}\n    return {total}\n"
    renamed = code
    for k, n in enumerate(names):
        renamed = renamed.replace(f"{n}{k}", f"zz{len(names) - k}_")
    assert normalized_hash(code) == normalized_hash(renamed)


# -- behaviour_fingerprint -------------------------------------------------------------------
def test_fingerprint_is_order_and_structure_sensitive() -> None:
    assert behaviour_fingerprint([[0, 1], [1, 0]]) != behaviour_fingerprint([[1, 0], [0, 1]])
    assert behaviour_fingerprint([[1], [2]]) != behaviour_fingerprint([[1, 2]])
    assert behaviour_fingerprint([[1, 2]]) != behaviour_fingerprint([[12]])
    assert behaviour_fingerprint([["1", "2"]]) != behaviour_fingerprint([["12"]])


def test_fingerprint_types_are_tagged() -> None:
    assert behaviour_fingerprint([[1, 2]]) != behaviour_fingerprint([[1.0, 2.0]])
    assert behaviour_fingerprint([True]) != behaviour_fingerprint([1])
    assert behaviour_fingerprint([None]) != behaviour_fingerprint(["None"])


def test_fingerprint_accepts_numpy_and_tuples() -> None:
    assert behaviour_fingerprint([np.array([2, 0, 1])]) == behaviour_fingerprint([[2, 0, 1]])
    assert behaviour_fingerprint([(2, 0, 1)]) == behaviour_fingerprint([[2, 0, 1]])
    assert behaviour_fingerprint([np.int64(3)]) == behaviour_fingerprint([3])


def test_fingerprint_float_corner_cases() -> None:
    assert behaviour_fingerprint([-0.0]) == behaviour_fingerprint([0.0])
    assert behaviour_fingerprint([math.nan]) == behaviour_fingerprint([float("nan")])
    assert behaviour_fingerprint([math.inf]) != behaviour_fingerprint([-math.inf])
    assert behaviour_fingerprint([0.1 + 0.2]) != behaviour_fingerprint([0.3])


def test_fingerprint_dicts_ignore_key_order() -> None:
    assert behaviour_fingerprint([{"a": 1, "b": 2}]) == behaviour_fingerprint([{"b": 2, "a": 1}])


def test_fingerprint_rejects_unknown_types() -> None:
    with pytest.raises(TypeError):
        behaviour_fingerprint([object()])


@given(st.lists(st.lists(st.integers(-5, 5), max_size=5), max_size=4),
       st.lists(st.lists(st.integers(-5, 5), max_size=5), max_size=4))
def test_fingerprint_equal_iff_outputs_equal(a: list[list[int]], b: list[list[int]]) -> None:
    assert (behaviour_fingerprint(a) == behaviour_fingerprint(b)) == (a == b)
