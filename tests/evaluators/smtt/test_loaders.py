"""Instance loaders: the bundled files load, bad files give file/instance/line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evaluators.base import InstanceError
from evaluators.smtt.instance import SmttInstance
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


def test_orlib_content_under_another_name_is_recognised(orlib_wt_dir: Path,
                                                        tmp_path: Path) -> None:
    """Before: the format came from the name only; wt40 data as jobs.txt failed
    with "expected 'p d' or 'p d w', got 20 fields"."""
    for n in (40, 50, 100):
        renamed = tmp_path / f"renamed{n}.txt"
        renamed.write_bytes((orlib_wt_dir / f"wt{n}.txt").read_bytes())
        by_content = load_instances(renamed)
        by_name = load_instances(orlib_wt_dir / f"wt{n}.txt")
        assert len(by_content) == 125 and by_content[0].size == n
        assert [i.fingerprint for i in by_content] == [i.fingerprint for i in by_name]
        # The wtoptN.txt optima belong to the wtN.txt name, not to a renamed copy.
        assert all(i.optimum is None for i in by_content)


def _orlib_block(n: int, seed: int) -> list[int]:
    p = [(7 * k + seed) % 100 + 1 for k in range(n)]
    w = [(3 * k + seed) % 10 + 1 for k in range(n)]
    d = [200 + (11 * k + seed) % 300 for k in range(n)]
    return p + w + d


def test_orlib_jobs_told_from_the_line_layout_and_weights(tmp_path: Path) -> None:
    values = _orlib_block(7, 1) + _orlib_block(7, 2)
    path = tmp_path / "two.dat.txt"
    # Seven numbers per line: each block of n = 7 starts on its own line.
    path.write_text("\n".join(" ".join(map(str, values[k:k + 7]))
                              for k in range(0, len(values), 7)) + "\n")
    first, second = load_instances(path)
    assert first.size == second.size == 7
    assert first.processing_times == tuple(values[:7])
    assert first.weights == tuple(values[7:14])
    assert second.due_dates == tuple(values[35:42])


def test_orlib_ambiguous_jobs_per_instance_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "small.txt"
    # Six lines of ten numbers in 1..10: n = 10 and n = 20 both fit.
    path.write_text("\n".join(" ".join(str((k + j) % 10 + 1) for j in range(10))
                              for k in range(6)) + "\n")
    with pytest.raises(InstanceError, match=r"ambiguous \(n = 10, 20\); name the file wtN.txt"):
        load_instances(path)
    path.write_text("1 2 3 4 5\n6 7 8 9\n")
    with pytest.raises(InstanceError, match="neither one job per line"):
        load_instances(path)


def test_a_directory_loads_every_instance_file_in_it(tmp_path: Path) -> None:
    """Before: --instances DIR said "no such file" though help says file or directory."""
    (tmp_path / "b.txt").write_text("3 5\n2 1\n")
    (tmp_path / "a.json").write_text('[{"processing_times": [1, 2], "due_dates": [3, 4]}]')
    (tmp_path / "wtopt2.txt").write_text("5\n")  # an OR-Library optima file: not data
    (tmp_path / "notes.md").write_text("not an instance\n")
    names = [i.name for i in load_instances(tmp_path)]
    assert names == ["a#0", "b"]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InstanceError, match="holds no instance files"):
        load_instances(empty)


def test_orlib_directory(orlib_wt_dir: Path) -> None:
    instances = load_instances(orlib_wt_dir)
    assert [i.size for i in instances[::125]] == [100, 40, 50]
    assert instances[125].optimum == 913


@pytest.mark.parametrize("bad", [0, -1])
def test_nonpositive_processing_times_rejected_in_every_format(tmp_path: Path, bad: int) -> None:
    """One rule: before, JSON accepted them with a warning (text files rejected them),
    after which the exact methods disagreed (dp and mip 0, cpsat inf, exact an error)."""
    json_file = tmp_path / "bad.json"
    json_file.write_text('[\n {"processing_times": [3, 1], "due_dates": [2, 1]},\n'
                         f' {{"processing_times": [3, {bad}, 2], "due_dates": [2, 1, 4]}}\n]\n')
    with pytest.raises(InstanceError) as info:
        load_instances(json_file)
    assert (info.value.instance, info.value.line) == (1, 3)
    assert f"processing time must be positive (job 1 has {bad})" in str(info.value)

    plain = tmp_path / "bad.txt"
    plain.write_text(f"3 5\n{bad} 4\n")
    with pytest.raises(InstanceError) as info:
        load_instances(plain)
    assert info.value.line == 2 and f"(job 1 has {bad})" in str(info.value)

    orlib = tmp_path / "wt2.txt"
    orlib.write_text(f"4 5\n1 1\n9 9\n3 {bad}\n1 1\n9 9\n")
    with pytest.raises(InstanceError) as info:
        load_instances(orlib)
    assert (info.value.instance, info.value.line) == (1, 4)
    assert f"(job 1 has {bad})" in str(info.value)

    with pytest.raises(ValueError, match="processing time must be positive"):
        SmttInstance((3, bad, 2), (2, 1, 4))


def test_filtered_file_states_class_and_source_index(smtt_paper_dir: Path,
                                                      tmp_path: Path) -> None:
    published = json.loads((smtt_paper_dir / "original" / "n20_normal.json").read_text())
    kept = load_instances(smtt_paper_dir / "n20_normal.json")
    assert len(kept) == 675 == sum(min(i["processing_times"]) > 0 for i in published)
    for inst in kept[::50]:
        k = int(inst.name.split("#")[1])
        assert list(inst.processing_times) == published[k]["processing_times"]
        assert inst.optimum == published[k]["optimal_solution"]
        assert (inst.rdd, inst.tf) == ((0.2, 0.4, 0.6, 0.8, 1.0)[k // 160],
                                       (0.2, 0.4, 0.6, 0.8)[k // 40 % 4])
    bad = tmp_path / "bad.json"
    bad.write_text('[{"processing_times": [1], "due_dates": [1], "rdd": 0.2}]')
    with pytest.raises(InstanceError, match=r"'rdd' and 'tf' must both be numbers"):
        load_instances(bad)
