"""Helpers shared by the sandbox tests: specs, the honest control, process-tree checks."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from evaluators.base import CandidateSpec
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import Limits, SandboxPool, evaluate
from sandbox.child import SPARE_NAME
from sandbox.launch import LAUNCHER_VARIABLE

# Everything importable: hostile candidates must be stopped by the operating-system
# layers, not by the import list or the static pre-check.
HOSTILE_SPEC = CandidateSpec(
    function_name="schedule",
    parameters=("processing_times", "due_dates"),
    signature="def schedule(processing_times, due_dates):",
    docstring="",
    harness="evaluators.smtt.harness",
    allowed_imports=("os", "sys", "ctypes", "socket", "subprocess", "multiprocessing", "signal",
                     "threading", "gc", "pathlib", "pickle", "builtins", "time", "numpy", "math",
                     "resource", "shutil", "io", "mmap", "importlib", "evaluators", "bisect",
                     "collections", "functools", "heapq", "itertools", "random", "fractions",
                     "operator", "statistics"),
)


class PermissiveSmtt(SmttProblem):
    """SMTT with every import allowed, for attacks that go through ``evaluate``."""

    candidate_spec = HOSTILE_SPEC

EDD = """\
def schedule(processing_times, due_dates):
    return sorted(range(len(due_dates)), key=lambda j: (due_dates[j], j))
"""

TEST_LIMITS = Limits(memory_mb=256, kill_grace=5.0)


def edd_objectives(problem: SmttProblem, instances: list[SmttInstance]) -> list[float]:
    """Independent truth: EDD computed in-process by the trusted side."""
    return [problem.objective(i, sorted(range(i.size), key=lambda j: (i.due_dates[j], j)))
            for i in instances]


def assert_honest_scores_right(pool: SandboxPool, problem: SmttProblem,
                               instances: list[SmttInstance]) -> None:
    """The next honest candidate gets exactly the right objectives."""
    result = evaluate(problem, instances, EDD, pool, time_limit=10.0)
    assert result.ok, result.message
    assert list(result.objectives) == edd_objectives(problem, instances)


def process_tree() -> dict[int, int]:
    """pid -> ppid of every process on the host."""
    tree = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        tree[int(entry)] = int(stat.rpartition(")")[2].split()[1])
    return tree


def descendants(roots: list[int]) -> set[int]:
    """All live descendants of ``roots`` (not including them)."""
    tree = process_tree()
    children: dict[int, list[int]] = {}
    for pid, ppid in tree.items():
        children.setdefault(ppid, []).append(pid)
    found: set[int] = set()
    stack = list(roots)
    while stack:
        for child in children.get(stack.pop(), []):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def live_descendants(roots: list[int]) -> set[int]:
    """Descendants that are not zombies, except the workers' spare children.

    A worker forks the next candidate's child ahead of the request (a *spare*,
    named ``discover-spare``, waiting for its job as the worker's own uid); it
    is replaced after every evaluation, so it is not a process left behind. A
    candidate's processes run as the sandbox's unprivileged uid and cannot pass
    for one.
    """
    live = set()
    for pid in descendants(roots):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
        except OSError:
            continue
        if fields[0] != "Z" and not _is_spare(pid, int(fields[1])):
            live.add(pid)
    return live


def _is_spare(pid: int, parent: int) -> bool:
    try:
        name = Path(f"/proc/{pid}/comm").read_text().strip()
        status = Path(f"/proc/{pid}/status").read_text()
        parent_cmd = Path(f"/proc/{parent}/cmdline").read_bytes()
    except OSError:
        return False
    uid = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("Uid:"))
    # The parent must be the worker itself (``python -m sandbox.worker``), not its
    # launcher: the worker carries the spare's name for an instant while it forks.
    program, _, args = parent_cmd.partition(b"\0")
    return (name == SPARE_NAME and uid == os.getuid() and b"bwrap" not in program
            and b"sandbox.worker" in args and b"privroot.py" not in args)


def strict_expectation() -> tuple[str, str]:
    """``(launcher, level)`` of a strict pool as root: bubblewrap's ``full`` unless
    ``DISCOVER_SANDBOX_LAUNCHER`` forces the ``unshare`` launcher (or bwrap is missing)."""
    launcher = os.environ.get(LAUNCHER_VARIABLE, "").strip() or (
        "bwrap" if shutil.which("bwrap") else "unshare")
    return launcher, "full" if launcher == "bwrap" else f"full({launcher})"


def describe_processes(pids: set[int]) -> str:
    """Name, state, uid and parent of each process (for assertion messages)."""
    lines = []
    for pid in sorted(pids):
        try:
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            lines.append(f"{pid}: gone")
            continue
        keep = [line for line in status if line.startswith(("Name", "State", "Uid", "PPid"))]
        lines.append(f"{pid}: " + "; ".join(keep))
    return "\n".join(lines)
