"""A candidate job as the worker handles it: built from a request, handed to a spare, limited.

The orchestrator's ``eval`` request names the candidate, its harness and payload set;
the worker turns it into a :class:`~sandbox.child.CandidateJob` (with the source
rules checked here), or, when a spare child is waiting (:mod:`sandbox.supervision`),
into the header sent down the spare's job pipe, from which the spare rebuilds the
same job out of its own memory. Each child also gets the rlimits of its request.
"""

from __future__ import annotations

import math
import os
import resource
from types import ModuleType
from typing import Any

from sandbox import guard
from sandbox.child import CANDIDATE_FILENAME, CandidateJob
from sandbox.precheck import source_problems


def from_request(header: dict[str, Any], harness: ModuleType,
                 payloads: list[dict[str, Any]], allowed: frozenset[str]) -> CandidateJob:
    """The job of an ``eval`` request, its source rules checked (see :func:`source_refusal`)."""
    return CandidateJob(code=header["code"], function_name=header["function"],
                        harness=harness, payloads=payloads, allowed_imports=allowed,
                        max_items=int(header["limits"]["max_output_items"]),
                        refusal=source_refusal(header["code"], allowed),
                        count_steps=bool(header.get("count_steps", False)),
                        step_limit=step_limit(header))


def spare_header(job: CandidateJob, key: str,
                 rlimits: tuple[tuple[int, int, int], ...]) -> dict[str, Any]:
    """What a spare child is sent: ``job`` by name (payload set ``key``) and its rlimits."""
    return {
        "code": job.code, "function": job.function_name,
        "harness": job.harness.__name__, "payloads": key,
        "allowed_imports": sorted(job.allowed_imports), "max_items": job.max_items,
        "refusal": job.refusal, "count_steps": job.count_steps,
        "step_limit": job.step_limit,
        "rlimits": [list(r) for r in rlimits]}


def from_spare_header(header: dict[str, Any], harness: ModuleType,
                      payloads: list[dict[str, Any]]) -> CandidateJob:
    """In a spare: the job :func:`spare_header` describes, with its harness and payloads."""
    return CandidateJob(code=str(header["code"]), function_name=str(header["function"]),
                        harness=harness, payloads=payloads,
                        allowed_imports=frozenset(header["allowed_imports"]),
                        max_items=int(header["max_items"]), refusal=str(header["refusal"]),
                        count_steps=bool(header.get("count_steps", False)),
                        step_limit=step_limit(header))


def step_limit(header: dict[str, Any]) -> int | None:
    """The job's step limit (absent from a header before step limits: None)."""
    value = header.get("step_limit")
    return None if value is None else int(value)


def source_refusal(code: str, allowed: frozenset[str]) -> str:
    """The child's source rules, checked here (whatever the caller's pre-check did).

    Checked by the worker rather than the child: the worker's ``ast`` is warm, and
    the check costs the candidate none of its measured time.
    """
    if guard.UNGUARDED in allowed:
        return ""
    _, problems = source_problems(code, CANDIDATE_FILENAME)
    return "; ".join(problems)


def child_rlimits(time_limit: float, limits: dict[str, Any], *, enabled: bool,
                  own_uid: bool) -> tuple[tuple[int, int, int], ...]:
    """``(resource, soft, hard)`` for one child, from the request's limits.

    Parameters
    ----------
    time_limit
        The request's wall seconds (the CPU limit adds ``cpu_slack``).
    limits
        The request's limits.
    enabled
        Whether the worker sets rlimits at all (none when off).
    own_uid
        Whether children switch to their own uid: ``RLIMIT_NPROC`` counts per uid.
    """
    rlimits: list[tuple[int, int, int]] = []
    if enabled:
        cpu = max(1, math.ceil(time_limit + float(limits["cpu_slack"])))
        address_space = vm_bytes() + int(limits["memory_mb"]) * 2**20
        rlimits = [
            (resource.RLIMIT_AS, address_space, address_space),
            (resource.RLIMIT_CPU, cpu, cpu + 1),
            (resource.RLIMIT_FSIZE, 0, 0),
            (resource.RLIMIT_NOFILE, int(limits["open_files"]), int(limits["open_files"])),
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_MEMLOCK, 0, 0),
            (resource.RLIMIT_MSGQUEUE, 0, 0),
        ]
        if own_uid:
            # Counted per uid: only meaningful when the child has its own uid.
            rlimits.append((resource.RLIMIT_NPROC, int(limits["threads"]),
                            int(limits["threads"])))
    return tuple(rlimits)


def vm_bytes() -> int:
    """Current virtual size of this process (what a forked child starts with)."""
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
