"""Bundled sets: declared counts match the files, names resolve, provenance checksums hold."""

from __future__ import annotations

import csv
import hashlib
import json
import re
import warnings
from pathlib import Path

import pytest

from discover.splits.datasets import validation_set
from evaluators.base import InstanceError
from evaluators.bundled import (
    PROBLEM_PACKAGES,
    BundledSet,
    ReferenceKind,
    UnknownDataset,
    bundled_sets,
    data_dir,
    expand,
    find_set,
    is_set_name,
    resolve_file,
)
from evaluators.registry import get_problem
from tests.conftest import ROOT

# The built-in problems' sets (installed plugins declare their own and test them).
BUILTIN_SETS = [s for p in PROBLEM_PACKAGES for s in bundled_sets(p)]
INSTANCE_SETS = [s for s in BUILTIN_SETS if s.unit == "instances"]


def _count(bundled: BundledSet) -> int:
    """What the files hold, counted the way the set's unit says."""
    (path,) = bundled.paths()
    if bundled.unit in ("requests", "rows"):
        with path.open(newline="") as handle:
            return sum(1 for _ in csv.reader(handle)) - 1
    if bundled.unit == "windows":
        sets = json.loads(path.read_text())["sets"]
        return sum(s["windows"] * len(s.get("rates", s.get("loads", []))) for s in sets)
    if bundled.unit == "GPUs":
        return sum(1 for v in json.loads(path.read_text()).values() if isinstance(v, dict))
    raise AssertionError(f"no counter for unit {bundled.unit}")


# Sets the loaders reject as a whole: the published n20_normal holds 125 instances with processing
# times <= 0, refused by every loader and by SmttInstance (one rule; the exact methods
# disagreed on them). The paper's reproduction scripts read the file raw.
REJECTED = {"smtt:n20_normal_paper"}


@pytest.mark.parametrize("bundled", INSTANCE_SETS, ids=lambda s: s.full_name)
def test_instance_sets_load_with_their_declared_count(bundled: BundledSet) -> None:
    problem = get_problem(bundled.problem)
    if bundled.full_name in REJECTED:
        (path,) = bundled.paths()
        assert len(json.loads(path.read_text())) == bundled.count
        with pytest.raises(InstanceError, match=r"\(instance \d+\): processing time must "
                                                r"be positive"):
            problem.load(bundled.full_name)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        instances = problem.load(bundled.full_name)
    assert len(instances) == bundled.count
    refs = [problem.stored_reference(inst) for inst in instances]
    assert all(r is not None for r in refs), "every bundled instance set ships references"
    proven = [bool(getattr(inst, "optimum_is_proven", False)) for inst in instances]
    if bundled.reference is ReferenceKind.PROVEN_OPTIMUM:
        assert all(proven)
    elif bundled.reference is ReferenceKind.BEST_KNOWN:
        assert not all(proven), "all proven: declare it a proven optimum"
    else:
        assert not any(proven)


@pytest.mark.parametrize("bundled", [s for s in BUILTIN_SETS if s.unit != "instances"],
                         ids=lambda s: s.full_name)
def test_other_sets_hold_their_declared_count(bundled: BundledSet) -> None:
    assert _count(bundled) == bundled.count


def test_every_set_has_files_and_a_unique_name() -> None:
    names = [s.full_name for s in bundled_sets()]
    assert len(names) == len(set(names))
    for bundled in bundled_sets():
        assert all(p.exists() for p in bundled.paths()), bundled.full_name
        assert bundled.description


def test_names_resolve_and_paths_pass_through(tmp_path: Path) -> None:
    assert is_set_name("smtt:n100") and is_set_name("jssp:ta51-80")
    for text in ("n100.json", "./smtt:n100", "C:\\data\\x.json", "nope:n100", "smtt:"):
        assert not is_set_name(text)
    assert not is_set_name(Path("smtt:n100"))
    assert expand("smtt:n100") == (data_dir("smtt") / "cetinkaya2025" / "n100.json",)
    assert len(expand("jssp:ta51-80")) == 30
    assert expand(str(tmp_path / "x.json")) == (tmp_path / "x.json",)
    assert resolve_file("serving:conv").name == "splitwise_conv.csv"


def test_unknown_names_are_one_line_errors_listing_the_sets() -> None:
    with pytest.raises(UnknownDataset, match=r"smtt:n1000: no such bundled set \(known: "
                                             r"smtt:n20_uniform, .*smtt:wt100\)"):
        find_set("smtt:n1000")
    with pytest.raises(UnknownDataset, match="a smtt set, not a jssp one"):
        expand("smtt:n100", "jssp")
    with pytest.raises(UnknownDataset, match="several files"):
        resolve_file("jssp:ta")
    assert issubclass(UnknownDataset, InstanceError)
    with pytest.raises(InstanceError, match="no such bundled set"):
        get_problem("smtt").load("smtt:n1000")


def test_jssp_active_shares_the_jssp_sets() -> None:
    """jssp-active (same data package) uses jssp's sets and lists none of its own."""
    assert bundled_sets("jssp-active") == bundled_sets("jssp")
    assert find_set("jssp:ta-no16", "jssp-active") == find_set("jssp:ta-no16", "jssp")
    assert len(expand("jssp:ta51-80", "jssp-active")) == 30
    with pytest.raises(UnknownDataset, match="a smtt set, not a jssp-active one"):
        expand("smtt:n100", "jssp-active")
    assert not is_set_name("jssp-active:ta")
    problems = {s.problem for s in bundled_sets()}
    assert "jssp" in problems and "jssp-active" not in problems
    split = validation_set(get_problem("jssp-active"), ["jssp:ta51-80"])
    assert len(split.instances) == 30 and None not in split.references


def test_validation_accepts_set_names() -> None:
    problem = get_problem("smtt")
    split = validation_set(problem, ["smtt:n100"])
    assert len(split.instances) == 200 and None not in split.references
    with pytest.raises(InstanceError, match="no such bundled set"):
        validation_set(problem, ["smtt:n1000"])


def test_serving_workloads_and_cost_accept_set_names(tmp_path: Path) -> None:
    from evaluators.serving.cost_model import PRESETS, cost_model
    from evaluators.serving.problem import ServingProblem

    parsed = cost_model("serving:cost-llama2-7b")
    assert parsed.per_token_ms == PRESETS["a100"].per_token_ms
    spec = tmp_path / "w.json"
    spec.write_text(json.dumps({"trace": "serving:code", "window": 200, "windows": 2,
                                "rates": [1.0], "scenario": {"cost": "serving:cost-llama2-7b"}}))
    windows = ServingProblem().load(spec)
    assert len(windows) == 2 and all(w.size == 200 for w in windows)
    spec.write_text(json.dumps({"trace": "serving:nope", "rates": [1.0]}))
    with pytest.raises(InstanceError, match=r"w\.json \(instance 0\): serving:nope: no such"):
        ServingProblem().load(spec)


def _checksums(readme: Path) -> dict[str, str]:
    block = re.search(r"## Checksums \(sha256\)\n```\n(.*?)```", readme.read_text(), re.S)
    assert block, f"{readme} has no checksum block"
    return {name: digest for digest, name in
            (line.split(None, 1) for line in block.group(1).splitlines() if line.strip())}


@pytest.mark.parametrize("readme", ["smtt/cetinkaya2025", "smtt/orlib-wt", "jssp/scheduleopt",
                                    "serving"])
def test_provenance_readme_checksums_cover_every_file(readme: str) -> None:
    problem, _, sub = readme.partition("/")
    root = data_dir(problem) / sub if sub else data_dir(problem)
    listed = _checksums(root / "README.md")
    on_disk = {str(p.relative_to(root)) for p in root.rglob("*")
               if p.is_file() and p.name != "README.md"}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest, name


def test_every_data_file_belongs_to_a_readme() -> None:
    for problem in PROBLEM_PACKAGES:
        root = data_dir(problem)
        readmes = [p.parent for p in root.rglob("README.md")]
        for path in root.rglob("*"):
            if path.is_file():
                assert any(r in path.parents for r in readmes), path


PRODUCT_PACKAGES = ("discover", "evaluators", "sandbox", "archive")


def test_product_code_never_points_beside_the_checkout() -> None:
    """The data belongs to the package: no product code reads ../shared (issue 14)."""
    offenders = []
    for package in PRODUCT_PACKAGES:
        for path in (ROOT / package).rglob("*"):
            if path.is_file() and path.suffix in (".py", ".toml", ".json", ".md", ".j2", ".ini"):
                text = path.read_text(encoding="utf-8", errors="replace")
                if "../shared" in text or "shared/benchmarks" in text:
                    offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def test_archived_outside_paths_find_the_bundled_copy(tmp_path: Path) -> None:
    """A run configured before the data was bundled (old ``../shared/...`` defaults) resumes
    with the same validation files."""
    problem = get_problem("smtt")
    old = "../gone/benchmarks/smtt/cetinkaya2025/n100.json"  # like the old ../shared default
    split = validation_set(problem, [old], base=tmp_path)
    assert len(split.instances) == 200
    assert Path(split.sources[0]) == data_dir("smtt") / "cetinkaya2025" / "n100.json"
    absolute = validation_set(get_problem("jssp"),
                              ["/gone/jssp/scheduleopt/instances/Taillard1993/ta51js.txt"])
    assert [i.name for i in absolute.instances] == ["ta51js"]
    with pytest.warns(UserWarning, match="not found; skipping it"):
        assert validation_set(problem, [str(tmp_path / "missing.json")]).empty
