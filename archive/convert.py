"""Conversions between ORM rows and the archive's records (the only place both meet)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from archive.models import EvaluationRow, ModelCallRow, ProgramRow, ReferenceRow, RunRow
from archive.records import (
    CachedReference,
    Evaluation,
    InstanceResult,
    ModelCall,
    Program,
)
from archive.views import RunRecord


def program_values(run_id: int, program: Program, created_at: dt.datetime,
                   duplicate_of: int | None) -> dict[str, Any]:
    """Column values of a new ``programs`` row."""
    return {
        "run_id": run_id,
        "code": program.code,
        "code_hash": program.code_hash,
        "behaviour_hash": program.behaviour_hash,
        "island": program.island,
        "generation": program.generation,
        "operator": program.operator,
        "idea": program.idea,
        "created_at": created_at,
        "duplicate_of": duplicate_of,
    }


def evaluation_values(program_id: int, evaluation: Evaluation,
                      created_at: dt.datetime) -> dict[str, Any]:
    """Column values of a new ``evaluations`` row."""
    return {
        "program_id": program_id,
        "split": evaluation.split,
        "status": evaluation.status,
        "score": evaluation.score,
        "gap": evaluation.gap,
        "seconds": evaluation.seconds,
        "error": evaluation.error,
        "per_instance": [r.to_json() for r in evaluation.per_instance],
        "created_at": created_at,
        "steps": evaluation.steps,
    }


def model_call_values(run_id: int, program_id: int | None, call: ModelCall,
                      created_at: dt.datetime) -> dict[str, Any]:
    """Column values of a new ``model_calls`` row."""
    return {
        "run_id": run_id,
        "program_id": program_id,
        "provider": call.provider,
        "model": call.model,
        "prompt": call.prompt,
        "response": call.response,
        "tokens_in": call.tokens_in,
        "tokens_out": call.tokens_out,
        "cost": call.cost,
        "latency": call.latency,
        "error": call.error,
        "created_at": created_at,
    }


def reference_values(ref: CachedReference, created_at: dt.datetime) -> dict[str, Any]:
    """Column values of a ``reference_cache`` row."""
    return {
        "fingerprint": ref.fingerprint,
        "method": ref.method,
        "objective": ref.objective,
        "lower_bound": ref.lower_bound,
        "status": ref.status,
        "seconds": ref.seconds,
        "created_at": created_at,
    }


def to_run(row: RunRow) -> RunRecord:
    """Run row → :class:`RunRecord`."""
    return RunRecord(
        id=row.id,
        problem=row.problem,
        config=row.config,
        seed=row.seed,
        package_versions=row.package_versions,
        isolation=row.isolation,
        budget=row.budget,
        status=row.status,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def to_program(row: ProgramRow) -> Program:
    """Program row → :class:`Program` (as it was written)."""
    return Program(
        code=row.code,
        operator=row.operator,
        island=row.island,
        generation=row.generation,
        idea=row.idea,
        code_hash=row.code_hash,
        behaviour_hash=row.behaviour_hash,
    )


def to_evaluation(row: EvaluationRow, *, per_instance: bool = True) -> Evaluation:
    """Evaluation row → :class:`Evaluation` (per-instance results optional, for speed)."""
    return Evaluation(
        split=row.split,
        status=row.status,
        score=row.score,
        gap=row.gap,
        seconds=row.seconds,
        error=row.error,
        per_instance=tuple(InstanceResult.from_json(r) for r in row.per_instance)
        if per_instance else (),
        steps=row.steps,
    )


def to_model_call(row: ModelCallRow) -> ModelCall:
    """Model-call row → :class:`ModelCall`."""
    return ModelCall(
        provider=row.provider,
        model=row.model,
        prompt=row.prompt,
        response=row.response,
        tokens_in=row.tokens_in,
        tokens_out=row.tokens_out,
        cost=row.cost,
        latency=row.latency,
        error=row.error,
    )


def to_reference(row: ReferenceRow) -> CachedReference:
    """Reference-cache row → :class:`CachedReference`."""
    return CachedReference(
        fingerprint=row.fingerprint,
        method=row.method,
        objective=row.objective,
        lower_bound=row.lower_bound,
        status=row.status,
        seconds=row.seconds,
    )
