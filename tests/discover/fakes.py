"""Fakes for unit tests of the loop, the cascade and the proposers: no sandbox, no archive.

* :class:`InProcessPool` stands in for :class:`sandbox.SandboxPool`: it runs
  *trusted test code* in this process and reports the seconds per instance the
  test asks for, so the too-slow cap can be tested without timing anything.
* :class:`MemoryRecorder` stands in for the archive: it keeps what the loop
  records as lists and hands out program ids.
* :class:`ScriptedProposer` proposes a fixed sequence of programs.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from archive import Evaluation, ModelCall, Parent, Program
from discover.search.islands import Member
from discover.search.proposer import Candidate
from evaluators.base import CandidateSpec
from evaluators.smtt.generate import SmttFamily, generate_instance
from evaluators.smtt.instance import SmttInstance
from sandbox import ErrorInfo, Outcome, OutcomeStatus
from sandbox.outcome import step_limit_error
from sandbox.payloads import PayloadSet
from sandbox.steps import StepCounter, StepLimitReached, check_step_limit, traced


def smtt_instances(count: int, n: int = 8, seed: int = 0) -> list[SmttInstance]:
    """``count`` small random SMTT instances."""
    rng = np.random.default_rng(seed)
    family = SmttFamily(n=n, tf=0.6, rdd=0.6)
    return [generate_instance(family, rng, name=f"i{k}") for k in range(count)]


@dataclass
class InProcessPool:
    """A sandbox pool that runs trusted test code in-process.

    ``seconds`` gives the per-instance seconds reported for a program (by a
    marker comment in its code, ``# seconds=0.5``; default ``0.001``);
    ``# status=timeout`` makes the run end with that sandbox status.
    """

    isolation_level: str = "none"
    runs: list[str] = field(default_factory=list)

    def run(self, code: str, spec: CandidateSpec, payloads: PayloadSet | Sequence[Any],
            time_limit: float, *, check: bool = True, count_steps: bool = False,
            step_limit: int | None = None) -> Outcome:
        """Run ``spec.function_name`` of ``code`` on every payload (counting its steps
        with the sandbox's own counter when asked, and stopping at ``step_limit`` like
        the sandbox child: a ``timeout`` with the sandbox's step-limit error)."""
        check_step_limit(step_limit, count_steps)
        self.runs.append(code)
        items = json.loads(payloads.blob) if isinstance(payloads, PayloadSet) else list(payloads)
        marks = dict(line.strip()[2:].split("=", 1) for line in code.splitlines()
                     if line.strip().startswith("# ") and "=" in line)
        if "status" in marks:
            status = OutcomeStatus(marks["status"])
            return Outcome(status, error=ErrorInfo(f"{status.value} (fake)"),
                           n_payloads=len(items), total_seconds=0.1)
        namespace: dict[str, Any] = {}
        exec(compile(code, "<test candidate>", "exec"), namespace)  # trusted test code only
        function: Callable[..., Any] = namespace[spec.function_name]
        counter = StepCounter("<test candidate>", step_limit)
        outputs, steps = [], []
        seconds = float(marks.get("seconds", "0.001"))
        for payload in items:
            counter.next_payload()
            try:
                with traced(counter.tracer if count_steps else None):
                    outputs.append(tuple(function(**payload)))
            except StepLimitReached:  # trusted test code does not catch it
                assert step_limit is not None and counter.over
                done = len(outputs)
                return Outcome(OutcomeStatus.TIMEOUT, outputs=tuple(outputs),
                               seconds=(seconds,) * done, total_seconds=seconds * (done + 1),
                               error=step_limit_error(counter.total, step_limit, done),
                               n_payloads=len(items), isolation_level=self.isolation_level,
                               steps=tuple(steps))
            steps.append(counter.count)
        return Outcome(OutcomeStatus.OK, outputs=tuple(outputs), seconds=(seconds,) * len(items),
                       total_seconds=seconds * len(items), n_payloads=len(items),
                       isolation_level=self.isolation_level,
                       steps=tuple(steps) if count_steps else ())


@dataclass(frozen=True)
class Recorded:
    """One candidate as :class:`MemoryRecorder` received it."""

    program_id: int
    program: Program
    parents: tuple[Parent, ...]
    evaluations: tuple[Evaluation, ...]
    duplicate_of: int | None


@dataclass
class MemoryRecorder:
    """Records candidates in memory, numbering programs from ``first_id``."""

    first_id: int = 1
    programs: list[Recorded] = field(default_factory=list)
    model_calls: list[ModelCall] = field(default_factory=list)

    def record_candidate(self, program: Program, parents: Sequence[Parent],
                         evaluations: Sequence[Evaluation], model_calls: Sequence[ModelCall],
                         duplicate_of: int | None) -> int:
        """Keep the candidate; returns its program id."""
        program_id = self.first_id + len(self.programs)
        self.programs.append(Recorded(program_id, program, tuple(parents), tuple(evaluations),
                                      duplicate_of))
        self.model_calls.extend(model_calls)
        return program_id

    def record_model_calls(self, calls: Sequence[ModelCall]) -> None:
        """Keep model calls that produced no program."""
        self.model_calls.extend(calls)


@dataclass
class ScriptedProposer:
    """Proposes ``codes`` in order (``None``: a failed attempt), then repeats the last."""

    codes: Sequence[str | None]
    name: str = "scripted"
    proposed: list[tuple[str, tuple[int, ...]]] = field(default_factory=list)

    def propose(self, operator: str, parents: Sequence[Member],
                rng: np.random.Generator) -> Candidate:
        """The next scripted program, made by ``operator`` from ``parents``."""
        k = min(len(self.proposed), len(self.codes) - 1)
        ids = tuple(p.program_id for p in parents)
        self.proposed.append((operator, ids))
        code = self.codes[k]
        return Candidate(code, operator, ids, "scripted",
                         failure=None if code is not None else "no code (scripted)")

    def side_calls(self) -> list[ModelCall]:
        """No reflections."""
        return []


def sort_key_program(key: str, extra: str = "") -> str:
    """An SMTT program that orders jobs by ``key`` (an expression in ``p``, ``d``, ``j``)."""
    return ("def schedule(processing_times, due_dates):\n"
            f"{extra}"
            "    p, d = processing_times, due_dates\n"
            f"    return sorted(range(len(p)), key=lambda j: ({key}, j))\n")
