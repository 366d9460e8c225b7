"""The individual conformance checks (see :mod:`discover.testing`)."""

from __future__ import annotations

import importlib
import math
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from evaluators.base import Failure, FailureReason, GeneratorSpec, Problem

MALFORMED: tuple[object, ...] = (None, "not a schedule", 3.5, float("nan"), {"a": 1}, [],
                                 [-1], ["x"])
"""Outputs no problem may accept (every instance has at least one job)."""


class ConformanceError(AssertionError):
    """A problem breaks the contract; the message says how, in one line."""


def sample_instances(problem: Problem[Any]) -> list[Any]:
    """Small instances for the checks: the export contract's self-check samples."""
    instances = list(problem.export_contract().samples(problem))
    if not instances:
        raise ConformanceError(f"{problem.name}: the export contract yields no samples")
    return instances


def check_protocol(problem: Problem[Any]) -> None:
    """Every member of the protocol is present and consistent."""
    name = problem.name
    if not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ConformanceError(f"problem name {name!r} must be a short identifier "
                               "(letters, digits, _ and -)")
    if not problem.description.strip():
        raise ConformanceError(f"{name}: empty description")
    spec = problem.candidate_spec
    if not problem.heuristics:
        raise ConformanceError(f"{name}: no heuristics (at least one baseline is required)")
    if not problem.reference_methods:
        raise ConformanceError(f"{name}: no reference methods")
    unknown = [h for h in problem.summary_heuristics if h not in problem.heuristics]
    if unknown:
        raise ConformanceError(f"{name}: summary heuristics {unknown} are not heuristics")
    if not isinstance(dict(problem.run_defaults), dict):
        raise ConformanceError(f"{name}: run_defaults is not a mapping")
    rule = problem.run_defaults.get("evaluation.runtime_reference")
    if isinstance(rule, str) and rule in problem.heuristics \
            and problem.reference_heuristic(rule) not in problem.heuristics:
        raise ConformanceError(f"{name}: reference_heuristic({rule!r}) = "
                               f"{problem.reference_heuristic(rule)!r} is not a heuristic")
    harness = importlib.import_module(spec.harness)
    if not callable(vars(harness).get("call")):
        raise ConformanceError(f"{name}: harness {spec.harness} defines no call()")
    for seed_name, code in problem.seed_programs.items():
        if f"def {spec.function_name}(" not in code:
            raise ConformanceError(f"{name}: seed {seed_name!r} does not define "
                                   f"{spec.function_name}()")
    exportable = 0
    for heuristic in problem.heuristics:
        try:
            source = problem.for_heuristic(heuristic).baseline_source(heuristic)
        except KeyError:
            continue  # a reference-only heuristic (an oracle) need not be exportable
        exportable += 1
        if f"def {spec.function_name}(" not in source:
            raise ConformanceError(f"{name}: baseline_source({heuristic!r}) does not define "
                                   f"{spec.function_name}()")
    if not exportable:
        raise ConformanceError(f"{name}: no heuristic has a standalone baseline_source()")
    template = problem.prompt_template()
    if template is not None and not template.strip():
        raise ConformanceError(f"{name}: prompt_template() is empty")
    contract = problem.export_contract()
    if contract.problem != name:
        raise ConformanceError(f"{name}: export contract is for {contract.problem!r}")


def check_generation(problem: Problem[Any], spec: GeneratorSpec | None = None) -> None:
    """The generator is a function of its seed and yields instances of the asked count."""
    spec = spec or GeneratorSpec(n=8, count=2)
    first = problem.generate(spec, np.random.default_rng(7))
    again = problem.generate(spec, np.random.default_rng(7))
    if [i.fingerprint for i in first] != [i.fingerprint for i in again]:
        raise ConformanceError(f"{problem.name}: generate() is not a function of the seed")
    if not first:
        raise ConformanceError(f"{problem.name}: generate() returned no instances")


def check_valid_outputs(problem: Problem[Any], instances: Sequence[Any]) -> None:
    """Every heuristic's solution has a finite objective; for whole-solution problems
    (not :attr:`CandidateSpec.policy`) it is also accepted as a candidate's raw output.

    (A policy problem's raw output is the simulator's log, which the seed programs
    produce in :func:`check_sandbox`; its heuristics return solutions directly.)
    """
    whole = not problem.candidate_spec.policy
    for heuristic, function in problem.heuristics.items():
        for k, inst in enumerate(instances):
            solution = function(inst)
            if whole:
                checked = problem.validate(inst, solution)
                if isinstance(checked, Failure):
                    raise ConformanceError(f"{problem.name}: heuristic {heuristic} rejected "
                                           f"on sample {k}: {checked}")
                solution = checked
            value = problem.objective(inst, solution)
            if not math.isfinite(value):
                raise ConformanceError(f"{problem.name}: heuristic {heuristic} has objective "
                                       f"{value} on sample {k}")


def check_invalid_outputs_rejected(problem: Problem[Any], instances: Sequence[Any],
                                   extra: Sequence[object] = ()) -> None:
    """Malformed outputs are rejected with a typed, explained :class:`Failure`."""
    for k, inst in enumerate(instances):
        for raw in (*MALFORMED, *extra):
            try:
                result = problem.validate(inst, raw)
            except Exception as exc:  # validation must explain, never crash
                raise ConformanceError(f"{problem.name}: validate() raised "
                                       f"{type(exc).__name__} on {raw!r} (sample {k}); "
                                       "return a Failure instead") from None
            if not isinstance(result, Failure):
                raise ConformanceError(f"{problem.name}: validate() accepted {raw!r} "
                                       f"(sample {k})")
            if not isinstance(result.reason, FailureReason) or not result.detail.strip():
                raise ConformanceError(f"{problem.name}: rejection of {raw!r} has no reason")


def check_references(problem: Problem[Any], instances: Sequence[Any],
                     time_limit: float = 10.0, method: str | None = None) -> None:
    """Reference ``method`` (default: the first) is no worse than any heuristic
    (minimisation)."""
    method = method or problem.reference_methods[0]
    if method not in problem.reference_methods:
        raise ConformanceError(f"{problem.name}: {method!r} is not a reference method")
    for k, inst in enumerate(instances):
        ref = problem.reference(inst, method, time_limit)
        if not math.isfinite(ref.objective):
            continue  # no solution within the limit: nothing to compare
        for heuristic, function in problem.heuristics.items():
            value = problem.objective(inst, function(inst))
            if ref.objective > value + 1e-6 * max(1.0, abs(value)):
                raise ConformanceError(f"{problem.name}: reference {method} "
                                       f"({ref.objective}) is worse than {heuristic} ({value}) "
                                       f"on sample {k}")


def check_sandbox(problem: Problem[Any], instances: Sequence[Any],
                  isolation: str = "strict", time_limit: float = 30.0) -> None:
    """Every seed program runs in the sandbox (strict by default) and its output validates."""
    from sandbox import OutcomeStatus, SandboxPool

    spec = problem.candidate_spec
    payloads = [problem.payload(i) for i in instances]
    with SandboxPool(workers=1, isolation=isolation,  # type: ignore[arg-type]
                     harness_packages=spec.sandbox_packages) as pool:
        for seed_name, code in problem.seed_programs.items():
            outcome = pool.run(code, spec, payloads, time_limit)
            if outcome.status is not OutcomeStatus.OK:
                raise ConformanceError(f"{problem.name}: seed {seed_name!r} did not run in the "
                                       f"{isolation} sandbox: {outcome.status.value} "
                                       f"{outcome.error}")
            for k, (inst, raw) in enumerate(zip(instances, outcome.outputs, strict=True)):
                if isinstance(problem.validate(inst, raw), Failure):
                    raise ConformanceError(f"{problem.name}: seed {seed_name!r} output from "
                                           f"the sandbox rejected on sample {k}")


def check_export(problem_spec: str, directory: Path, heuristic: str | None = None) -> Path:
    """A baseline exports, and the exported module's self-check passes under plain python."""
    from discover.exporting.standalone import export_baseline
    from evaluators.registry import get_problem

    problem = get_problem(problem_spec)
    name = heuristic or (problem.summary_heuristics or tuple(problem.heuristics))[0]
    path = Path(directory) / f"{problem.name}_{name}.py"
    export_baseline(problem_spec, name, path)
    done = subprocess.run([sys.executable, "-I", str(path)], capture_output=True, text=True,
                          timeout=300, cwd=directory)
    if done.returncode != 0 or "self-check passed" not in done.stdout:
        raise ConformanceError(f"{problem.name}: exported {name} fails its self-check: "
                               f"{(done.stdout + done.stderr).strip()[-300:]}")
    return path
