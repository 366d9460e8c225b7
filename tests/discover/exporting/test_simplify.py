"""Readable winners: meaning-preserving simplification and the key's formula."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from archive import Archive, Program
from discover.exporting.simplify import simplify
from discover.exporting.standalone import export_program
from evaluators.smtt.generate import generate_classes
from evaluators.smtt.problem import COST_SOURCE

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


@pytest.mark.slow
def test_export_writes_the_simplified_program_when_it_behaves_the_same(tmp_path: Path) -> None:
    with Archive.open(f"sqlite:///{tmp_path / 'a.sqlite'}") as archive:
        run = archive.create_run("smtt", {"budget": 5}, seed=1, budget=5)
        pid = archive.record_candidate(run, Program(MESSY, "modify"))
        export_program(archive, pid, tmp_path / "out.py")
    doc = ast.get_docstring(ast.parse((tmp_path / "out.py").read_text())) or ""
    assert "formula     key(j) = (max(t + p[j], d[j]) + 0.5 * p[j] / max(t, 1), j)" in doc
    # Checked on the self-check samples, the regenerated training set and n100.json.
    assert "simplified  same output on all" in doc
    text = (tmp_path / "out.py").read_text()
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
