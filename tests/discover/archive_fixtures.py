"""An archive holding a small real SMTT run, for the export and ``discover archive`` tests.

Programs are scored in-process here (the test is the trusted side) on real
instances from the seed paper's n20 files, against their stored optima, so the
archived per-instance objectives are independent truth for the export tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from archive import (
    Archive,
    EdgeRole,
    Evaluation,
    EvaluationStatus,
    InstanceResult,
    ModelCall,
    Parent,
    Program,
    Split,
)
from evaluators.base import Failure, relative_gap
from evaluators.registry import get_problem
from evaluators.smtt.instance import SmttInstance

# An LLM-style answer: module docstring, __future__ import, numpy, its own main block.
FANCY = '''\
"""Slack-aware MDD variant proposed by the model."""
from __future__ import annotations

import numpy as np


def schedule(processing_times: list[int], due_dates: list[int]) -> list[int]:
    """Pick the job with the smallest max(t + p, d), ties by shorter p."""
    p = np.asarray(processing_times, dtype=np.int64)
    d = np.asarray(due_dates, dtype=np.int64)
    left = list(range(len(p)))
    order = []
    t = 0
    while left:
        j = min(left, key=lambda k: (max(t + int(p[k]), int(d[k])), int(p[k]), k))
        left.remove(j)
        order.append(j)
        t += int(p[j])
    return order


if __name__ == "__main__":
    print(schedule([3, 1, 2], [2, 1, 5]))
'''


def run_program(code: str, instances: Sequence[SmttInstance]) -> list[list[int]]:
    """Execute trusted test code in-process and return its orders."""
    namespace: dict[str, Any] = {"__name__": "candidate"}
    exec(compile(code, "<candidate>", "exec"), namespace)
    problem = get_problem("smtt")
    return [namespace["schedule"](**problem.payload(i)) for i in instances]


def evaluate(code: str, instances: Sequence[SmttInstance], split: Split) -> Evaluation:
    """Score ``code`` like the loop does: per-instance objective and gap to the optimum."""
    problem = get_problem("smtt")
    results = []
    for instance, output in zip(instances, run_program(code, instances), strict=True):
        solution = problem.validate(instance, output)
        assert not isinstance(solution, Failure), solution
        value = problem.objective(instance, solution)
        assert instance.optimum is not None
        results.append(InstanceResult(instance.name, objective=value,
                                      gap=relative_gap(value, instance.optimum)))
    gaps = [r.gap for r in results if r.gap is not None]
    mean_gap = sum(gaps) / len(gaps)
    return Evaluation(split, EvaluationStatus.OK, score=mean_gap, gap=mean_gap, seconds=0.1,
                      per_instance=tuple(results))


def _paper_slice(source: Path, picks: range, target: Path) -> list[SmttInstance]:
    # Copy only the picked instances into a small file and load that through the
    # problem's loader (loading all 800 takes tens of seconds on a busy machine).
    items = json.loads(source.read_text(encoding="utf-8"))
    target.write_text(json.dumps([items[k] for k in picks]), encoding="utf-8")
    return get_problem("smtt").load(target)


@pytest.fixture(scope="session")
def smtt_train(smtt_paper_dir: Path, tmp_path_factory: pytest.TempPathFactory
               ) -> list[SmttInstance]:
    """30 instances of n20_uniform across its (RDD, TF) classes."""
    return _paper_slice(smtt_paper_dir / "n20_uniform.json", range(0, 800, 27),
                        tmp_path_factory.mktemp("smtt") / "train.json")


@pytest.fixture(scope="session")
def smtt_validation(smtt_paper_dir: Path, tmp_path_factory: pytest.TempPathFactory
                    ) -> list[SmttInstance]:
    """20 other instances of n20_uniform."""
    return _paper_slice(smtt_paper_dir / "n20_uniform.json", range(13, 800, 40),
                        tmp_path_factory.mktemp("smtt") / "validation.json")


@pytest.fixture
def smtt_run(tmp_path: Path, smtt_train: list[SmttInstance],
             smtt_validation: list[SmttInstance]) -> Iterator[tuple[Archive, dict[str, int]]]:
    """Run 1: seeds EDD and MDD, FANCY (child of MDD, validated), a crossover child,
    a duplicate; run 2: one program evaluated on train only."""
    seeds = get_problem("smtt").seed_programs
    with Archive.open(f"sqlite:///{tmp_path / 'runs.sqlite'}") as archive:
        run = archive.create_run("smtt", {"budget": 5}, seed=3, budget=5)
        ids: dict[str, int] = {"run": run}
        for name in ("edd", "mdd"):
            ids[name] = archive.record_candidate(
                run, Program(seeds[name], "seed"),
                evaluations=[evaluate(seeds[name], smtt_train, Split.TRAIN)])
        call = ModelCall("openai", "gpt-4.1-mini", "Improve MDD", FANCY, 1200, 400, 0.0012, 2.5)
        ids["fancy"] = archive.record_candidate(
            run, Program(FANCY, "modify", island=1, generation=1, idea="MDD with SPT ties"),
            parents=[Parent(ids["mdd"], EdgeRole.MUTATION)], model_calls=[call],
            evaluations=[evaluate(FANCY, smtt_train, Split.TRAIN),
                         evaluate(FANCY, smtt_validation, Split.VALIDATION)])
        ids["cross"] = archive.record_candidate(
            run, Program(seeds["edd"].replace("Earliest", "Crossed earliest"), "crossover",
                         generation=2),
            parents=[Parent(ids["fancy"], EdgeRole.CROSSOVER),
                     Parent(ids["edd"], EdgeRole.CROSSOVER)],
            evaluations=[evaluate(seeds["edd"], smtt_train, Split.TRAIN),
                         evaluate(seeds["edd"], smtt_validation, Split.VALIDATION)])
        ids["dup"] = archive.record_candidate(run, Program(FANCY, "modify", generation=2),
                                              parents=[Parent(ids["fancy"], EdgeRole.MUTATION)],
                                              duplicate_of=ids["fancy"])
        ids["run2"] = archive.create_run("smtt", {"budget": 1}, seed=4, budget=1)
        ids["solo"] = archive.record_candidate(
            ids["run2"], Program(seeds["spt"], "seed"),
            evaluations=[evaluate(seeds["spt"], smtt_train, Split.TRAIN)])
        ids["run3"] = archive.create_run("smtt", {}, seed=5)
        yield archive, ids
