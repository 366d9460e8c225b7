"""Loaders: the ScheduleOpt files load with their bounds; bad files name file and line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.base import InstanceError
from evaluators.jssp.instance import BoundStatus
from evaluators.jssp.loaders import load_file, load_files, load_instances, read_bks


def test_taillard_file_with_bounds(taillard_dir: Path) -> None:
    (inst,) = load_instances(taillard_dir / "ta01js.txt")
    assert inst.name == "ta01js" and inst.n_jobs == 15 and inst.n_machines == 15
    assert inst.machines[0][:3] == (6, 12, 4) and inst.durations[0][:3] == (94, 66, 10)
    assert inst.upper_bound == inst.lower_bound == 1231
    assert inst.bound_status is BoundStatus.CLOSED and inst.optimum_is_proven


def test_open_instance_keeps_both_bounds(taillard_dir: Path) -> None:
    inst = load_file(taillard_dir / "ta41js.txt")
    assert (inst.lower_bound, inst.upper_bound) == (1926, 2005)
    assert inst.bound_status is BoundStatus.OPEN and not inst.optimum_is_proven


def test_directory_loads_everything_sorted(scheduleopt_dir: Path) -> None:
    instances = load_instances(scheduleopt_dir / "instances")
    assert len(instances) == 242
    assert all(i.upper_bound is not None for i in instances)
    ta = load_instances(scheduleopt_dir / "instances" / "Taillard1993")
    assert [i.name for i in ta[:3]] == ["ta01js", "ta02js", "ta03js"] and len(ta) == 80


def test_list_of_files_keeps_order(taillard_dir: Path, scheduleopt_dir: Path) -> None:
    ft06 = scheduleopt_dir / "instances" / "FisherThompson1963" / "ft06.txt"
    names = [i.name for i in load_files([taillard_dir / "ta02js.txt", ft06])]
    assert names == ["ta02js", "ft06"]


def test_file_outside_benchmark_tree_has_no_bounds(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("# two jobs, two machines\n2 2\n\n0 3 1 2  # job 0\n1 4 0 1\n")
    inst = load_file(path)
    assert inst.machines == ((0, 1), (1, 0)) and inst.durations == ((3, 2), (4, 1))
    assert inst.upper_bound is None and inst.bound_status is BoundStatus.UNKNOWN


def test_explicit_bks_file(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("1 1\n0 7\n")
    bks = tmp_path / "b.json"
    bks.write_text(json.dumps([{"instance": "mine", "upper_bound": 7, "lower_bound": 7,
                                "status": "closed"}]))
    inst = load_file(path, bks=bks)
    assert inst.upper_bound == 7 and inst.optimum_is_proven
    assert read_bks(bks)["mine"].status is BoundStatus.CLOSED


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        ("", 1, "empty file"),
        ("2\n0 1\n", 1, "header"),
        ("2 x\n0 1\n", 1, "not an integer"),
        ("2 2\n0 3 1 2\n1 4 0\n", 3, "expected 2"),
        ("2 2\n0 3 1 2\n1 4 0 z\n", 3, "not an integer"),
        ("2 2\n0 3 2 2\n1 4 0 1\n", 2, "machine 2 not in 0..1"),
        ("2 2\n0 3 1 -2\n1 4 0 1\n", 2, "negative duration"),
        ("2 2\n0 3 1 2\n", 2, "found 1 job lines"),
        ("1 2\n0 3 1 2\n\n1 4 0 1\n", 4, "found 2 job lines"),
        ("0 2\n", 1, "positive"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, text: str, line: int, fragment: str) -> None:
    path = tmp_path / "bad.txt"
    path.write_text(text)
    with pytest.raises(InstanceError) as info:
        load_instances(path)
    assert info.value.line == line
    assert str(info.value).startswith(f"{path}:{line}")
    assert fragment in str(info.value)


def test_missing_path_and_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(InstanceError, match="no such file"):
        load_instances(tmp_path / "nope.txt")
    with pytest.raises(InstanceError, match="no instance files"):
        load_instances(tmp_path)


def test_bad_bks_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "mine.txt"
    path.write_text("1 1\n0 7\n")
    bks = tmp_path / "b.json"
    bks.write_text("{not json")
    with pytest.raises(InstanceError, match=r"b\.json:1.*invalid JSON"):
        load_file(path, bks=bks)
