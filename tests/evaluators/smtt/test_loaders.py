"""Instance loaders: the bundled files load, bad files give file/instance/line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.base import InstanceError
from evaluators.smtt.loaders import load_instances
from tests.conftest import ROOT


def test_paper_json_loads_with_classes(smtt_paper_dir: Path) -> None:
    instances = load_instances(smtt_paper_dir / "n20_uniform.json")
    assert len(instances) == 800
    first, last = instances[0], instances[-1]
    assert first.size == 20 and first.optimum == 256
    assert (first.rdd, first.tf) == (0.2, 0.2)
    assert (instances[40].rdd, instances[40].tf) == (0.2, 0.4)
    assert (last.rdd, last.tf) == (1.0, 0.8)
    assert first.optimum_is_proven


def test_paper_n500_values_not_marked_proven(smtt_paper_dir: Path) -> None:
    instances = load_instances(smtt_paper_dir / "original" / "n500.json")
    assert len(instances) == 200
    assert not any(inst.optimum_is_proven for inst in instances)


def test_bundled_n500_carries_the_proven_optima(smtt_paper_dir: Path) -> None:
    """smtt:n500 holds the branch-and-bound optima; smtt:n500_paper the published values."""
    proven = load_instances(smtt_paper_dir / "n500.json")
    paper = load_instances(smtt_paper_dir / "original" / "n500.json")
    record = json.loads((ROOT / "experiments" / "smtt_exact" / "n500_optima.json").read_text())
    rows = record["instances"]
    assert all(inst.optimum_is_proven for inst in proven)
    assert [inst.optimum for inst in proven] == [r["optimum"] for r in rows]
    assert [inst.optimum for inst in paper] == [r["stored"] for r in rows]
    assert [(i.processing_times, i.due_dates) for i in proven] == \
        [(i.processing_times, i.due_dates) for i in paper]
    differs = [k for k, (a, b) in enumerate(zip(proven, paper, strict=True))
               if a.optimum != b.optimum]
    assert differs == record["stored_differs_from_optimum"] and len(differs) == 143


def test_orlib_loads_weights_and_optima(orlib_wt_dir: Path) -> None:
    instances = load_instances(orlib_wt_dir / "wt40.txt")
    assert len(instances) == 125
    first = instances[0]
    assert first.size == 40 and first.is_weighted
    assert first.processing_times[:3] == (26, 24, 79)
    assert first.weights is not None and first.weights[:3] == (1, 10, 9)
    assert first.due_dates[:3] == (1588, 1620, 1731)
    assert first.optimum == 913


def test_plain_text(tmp_path: Path) -> None:
    path = tmp_path / "jobs.txt"
    path.write_text("# p d\n3 5\n\n2 1  # late job\n4 9\n")
    (inst,) = load_instances(path)
    assert inst.processing_times == (3, 2, 4)
    assert inst.due_dates == (5, 1, 9)
    assert inst.weights is None


@pytest.mark.parametrize(
    ("content", "line", "needle"),
    [
        ("3 5\n2 x\n", 2, "not an integer"),
        ("3 5\n2\n", 2, "expected 'p d'"),
        ("3 5 1\n2 4\n", 2, "mixed"),
        ("0 5\n", 1, "positive"),
        ("3 5 0\n", 1, "weight"),
    ],
)
def test_plain_text_errors_name_file_and_line(
    tmp_path: Path, content: str, line: int, needle: str
) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(content)
    with pytest.raises(InstanceError) as info:
        load_instances(path)
    assert info.value.line == line
    assert str(path) in str(info.value) and f":{line}" in str(info.value)
    assert needle in str(info.value)


def test_json_errors_name_instance_and_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.json"
    path.write_text(
        '[\n {"processing_times": [1, 2], "due_dates": [3, 4]},\n'
        ' {"processing_times": [1, 2], "due_dates": [3]}\n]\n'
    )
    with pytest.raises(InstanceError) as info:
        load_instances(path)
    assert info.value.instance == 1 and info.value.line == 3


def test_json_syntax_error_has_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('[\n {"processing_times": [1, 2],\n "due_dates": [3, 4}\n]')
    with pytest.raises(InstanceError) as info:
        load_instances(path)
    assert info.value.line == 3


def test_orlib_truncated(tmp_path: Path) -> None:
    path = tmp_path / "wt3.txt"
    path.write_text("1 2 3\n1 1 1\n5 6\n")
    with pytest.raises(InstanceError, match="multiple of"):
        load_instances(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="no such file"):
        load_instances(tmp_path / "nope.json")


def test_integral_floats_accepted_fractions_rejected(tmp_path: Path) -> None:
    good = tmp_path / "floats.json"
    good.write_text('[{"processing_times": [2.0, 3.0], "due_dates": [1.0, 4.0], '
                    '"optimal_solution": 2.0}]')
    (inst,) = load_instances(good)
    assert inst.processing_times == (2, 3) and inst.optimum == 2
    bad = tmp_path / "fraction.json"
    bad.write_text('[{"processing_times": [2.5, 3.0], "due_dates": [1.0, 4.0]}]')
    with pytest.raises(InstanceError, match="integers"):
        load_instances(bad)
