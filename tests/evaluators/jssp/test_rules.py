"""Classic rules: a slice of the Taillard table, naming, seeding and standalone exports.

The full ta01–ta80 table (means matching the benchmark README to ±0.5) is checked by
``experiments/jssp/dispatching_rules.py``; the makespans below were produced by that
script and agree with the naive oracles of ``test_builder.py`` (checked for SPT, MWKR
and FDD/MWKR on ta01 and ta11, both builders).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from evaluators.base import Failure
from evaluators.jssp.builder import ACTIVE, NON_DELAY, makespan
from evaluators.jssp.export import standalone_source
from evaluators.jssp.loaders import load_file
from evaluators.jssp.objective import validate_schedule
from evaluators.jssp.rules import (
    HEURISTICS,
    RULE_NAMES,
    RULE_SOURCES,
    heuristic_name,
    rule,
    split_heuristic_name,
)

SLICE = ("ta01js", "ta02js", "ta11js", "ta51js")
EXPECTED: dict[str, tuple[int, ...]] = {
    "spt": (1462, 1446, 1865, 3856),
    "lpt": (1701, 1755, 2046, 3880),
    "mwkr": (1491, 1440, 1685, 3435),
    "lwkr": (1710, 2024, 1977, 3764),
    "mopnr": (1438, 1452, 1665, 3567),
    "fdd_mwkr": (1433, 1413, 1663, 3486),
    "fifo": (1486, 1486, 1701, 3590),
    "random": (1507, 1478, 1755, 3327),
    "spt_active": (1966, 1891, 2106, 4781),
    "lpt_active": (1915, 1800, 2046, 3951),
    "mwkr_active": (1589, 1580, 1796, 3670),
    "lwkr_active": (2162, 2210, 2537, 4717),
    "mopnr_active": (1503, 1539, 1828, 3650),
    "fdd_mwkr_active": (1546, 1539, 1770, 3610),
    "fifo_active": (1486, 1486, 1701, 3590),
    "random_active": (1977, 1654, 1959, 3757),
}


def test_heuristic_names() -> None:
    assert set(HEURISTICS) == set(EXPECTED)
    assert RULE_NAMES == ("spt", "lpt", "mwkr", "lwkr", "mopnr", "fdd_mwkr", "fifo", "random")
    for name in HEURISTICS:
        r, v = split_heuristic_name(name)
        assert heuristic_name(r, v) == name
    assert split_heuristic_name("mwkr_active") == ("mwkr", ACTIVE)
    with pytest.raises(KeyError):
        split_heuristic_name("edd")
    with pytest.raises(KeyError):
        rule("edd")


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_taillard_slice(taillard_dir: Path, name: str) -> None:
    spans = []
    for inst_name in SLICE:
        inst = load_file(taillard_dir / f"{inst_name}.txt")
        start = HEURISTICS[name](inst)
        checked = validate_schedule(inst, start)
        assert not isinstance(checked, Failure), checked
        spans.append(makespan(inst.durations, checked))
    assert tuple(spans) == EXPECTED[name]


def test_rule_formulas() -> None:
    # (p, est, t, job_ready, work_done, work_remaining, ops_remaining, next_p, machine_ready,
    #  machine_work_remaining, machine_ops_remaining, cmax, n_jobs, n_machines,
    #  next_machine_ready, next_machine_queue)
    f = (7, 10, 10, 4, 20, 30, 3, 5, 10, 90, 6, 40, 5, 5, 12, 9)
    assert rule("spt")(*f) == 7 and rule("lpt")(*f) == -7
    assert rule("mwkr")(*f) == -30 and rule("lwkr")(*f) == 30
    assert rule("mopnr")(*f) == -3 and rule("fifo")(*f) == 4
    assert rule("fdd_mwkr")(*f) == pytest.approx(27 / 30)


def test_random_rule_is_seeded_per_call(taillard_dir: Path) -> None:
    inst = load_file(taillard_dir / "ta01js.txt")
    assert HEURISTICS["random"](inst) == HEURISTICS["random"](inst)
    assert HEURISTICS["random"](inst) != HEURISTICS["spt"](inst)


def _imports(source: str) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("name", ["fdd_mwkr", "mwkr_active", "random"])
def test_standalone_export_runs_without_discover(tmp_path: Path, taillard_dir: Path,
                                                 name: str) -> None:
    from evaluators.jssp.problem import JsspProblem

    source = JsspProblem().baseline_source(name)
    assert _imports(source) <= set(sys.stdlib_module_names)
    path = tmp_path / "exported.py"
    path.write_text(source)
    ta01 = taillard_dir / "ta01js.txt"
    # -I -S: no site-packages, so neither discover nor numpy can be imported.
    out = subprocess.run([sys.executable, "-I", "-S", str(path), str(ta01)],
                         capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.strip() == f"{ta01}: makespan {EXPECTED[name][0]}"


def test_standalone_helper_returns_per_job_starts(taillard_dir: Path) -> None:
    inst = load_file(taillard_dir / "ta02js.txt")
    namespace: dict[str, object] = {"__name__": "exported"}
    exec(standalone_source(RULE_SOURCES["mwkr"], NON_DELAY), namespace)
    schedule = namespace["schedule"]
    assert callable(schedule)
    for arg in (inst, {"machines": inst.machines, "durations": inst.durations},
                (inst.machines, inst.durations)):
        starts = schedule(arg)
        assert len(starts) == inst.n_jobs and all(len(r) == inst.n_ops for r in starts)
        flat = [s for row in starts for s in row]
        assert makespan(inst.durations, flat) == EXPECTED["mwkr"][1]


def test_standalone_source_rejects_bad_code() -> None:
    with pytest.raises(ValueError, match="priority"):
        standalone_source("def schedule(x):\n    return x\n")
    with pytest.raises(ValueError, match="variant"):
        standalone_source(RULE_SOURCES["spt"], "semi")
    with pytest.raises(SyntaxError):
        standalone_source("def priority(:\n")
