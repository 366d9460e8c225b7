"""Degraded isolation: missing layers are warned about, reported, and refused in strict mode;
the layers that remain still turn attacks into typed failures."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import Layer, OutcomeStatus, SandboxPool, SandboxUnavailable, SandboxWarning
from sandbox.scoring import payload_set
from tests.sandbox.support import (
    HOSTILE_SPEC,
    TEST_LIMITS,
    assert_honest_scores_right,
    live_descendants,
)

REPO = Path(__file__).resolve().parents[2]
DEF = "def schedule(processing_times, due_dates):\n"
S = OutcomeStatus


def test_strict_refuses_disabled_layers() -> None:
    with pytest.raises(SandboxUnavailable, match="seccomp"):
        SandboxPool(isolation="strict", disable=(Layer.SECCOMP,))


@pytest.mark.slow
def test_strict_refuses_a_weaker_launcher() -> None:
    pool = SandboxPool(workers=1, isolation="strict", launcher="plain", limits=TEST_LIMITS)
    with pytest.raises(SandboxUnavailable, match="namespaces"):
        pool.start()


@pytest.fixture(scope="module")
def bare_pool() -> Iterator[SandboxPool]:
    """No namespaces and no seccomp: only the unprivileged uid and the rlimits remain."""
    with pytest.warns(SandboxWarning) as caught:
        pool = SandboxPool(workers=1, isolation="auto", limits=TEST_LIMITS,
                           disable=(Layer.NAMESPACES, Layer.SECCOMP))
        pool.start()
    messages = " ".join(str(w.message) for w in caught)
    assert "namespaces" in messages and "seccomp" in messages
    with pool:
        yield pool


@pytest.mark.slow
def test_bare_pool_reports_what_it_runs_with(bare_pool: SandboxPool) -> None:
    report = bare_pool.isolation_report
    assert report.active == frozenset({Layer.UNPRIVILEGED_UID, Layer.RLIMITS})
    assert not report.complete
    assert bare_pool.isolation_level == "partial:unprivileged_uid+rlimits"
    assert report.launcher == "plain"
    missing = {s.layer: s.detail for s in report.missing}
    assert missing[Layer.SECCOMP] == "disabled on request"


BARE_CASES = [
    ("fork_bomb", "import os\n" + DEF + "    while True:\n        os.fork()\n", S.EXCEPTION,
     "BlockingIOError"),
    ("threads", "import threading\n" + DEF + "    threading.Thread(target=print).start()\n",
     S.EXCEPTION, "RuntimeError"),
    ("kill_parent", "import os\n" + DEF + "    os.kill(os.getppid(), 9)\n", S.EXCEPTION,
     "PermissionError"),
    ("write_repo", DEF + "    open('{repo}/{token}', 'w')\n", S.EXCEPTION, "PermissionError"),
    ("delete_repo_file", "import os\n" + DEF + "    os.remove('{repo}/pyproject.toml')\n",
     S.EXCEPTION, "PermissionError"),
    ("infinite_loop", DEF + "    while True:\n        pass\n", S.TIMEOUT, "time limit"),
    ("memory_bomb", DEF + "    return [0] * 10 ** 9\n", S.MEMORY, "memory"),
    ("segfault", "import ctypes\n" + DEF + "    ctypes.string_at(0)\n", S.CRASHED, "SIGSEGV"),
]


@pytest.mark.slow
@pytest.mark.parametrize(("name", "code", "status", "mentions"), BARE_CASES,
                         ids=[c[0] for c in BARE_CASES])
def test_remaining_layers_still_contain(name: str, code: str, status: OutcomeStatus,
                                        mentions: str, bare_pool: SandboxPool,
                                        smtt: SmttProblem,
                                        honest_instances: list[SmttInstance]) -> None:
    token = f"pwned-{uuid.uuid4().hex[:8]}"
    roots = bare_pool.worker_pids()
    outcome = bare_pool.run(code.format(repo=REPO, token=token), HOSTILE_SPEC,
                            payload_set(smtt, honest_instances), 0.5, check=False)
    assert outcome.status is status, outcome.describe()
    assert outcome.error is not None
    assert mentions in f"{outcome.error.message} {outcome.error.signal}"
    assert_honest_scores_right(bare_pool, smtt, honest_instances)
    assert bare_pool.worker_pids() == roots
    assert len(live_descendants(roots)) == 0  # a plain worker has no children between runs
    assert not (REPO / token).exists()
    assert (REPO / "pyproject.toml").exists()


@pytest.mark.slow
def test_unshare_launcher(smtt: SmttProblem, honest_instances: list[SmttInstance]) -> None:
    # Without bubblewrap: the same namespaces and private root, built by sandbox.privroot.
    with SandboxPool(workers=1, isolation="strict", launcher="unshare",
                     limits=TEST_LIMITS) as pool:
        report = pool.isolation_report
        assert report.active == frozenset(Layer)
        assert report.private_root  # confirmed by the probe child's view of /
        assert report.complete
        assert pool.isolation_level == "full(unshare)"
        outcome = pool.run("import socket\n" + DEF + "    socket.socket()\n", HOSTILE_SPEC,
                           payload_set(smtt, honest_instances), 2.0, check=False)
        assert outcome.status is OutcomeStatus.FORBIDDEN
        assert outcome.isolation_level == "full(unshare)"
        assert_honest_scores_right(pool, smtt, honest_instances)


@pytest.mark.slow
def test_isolation_none(smtt: SmttProblem, honest_instances: list[SmttInstance]) -> None:
    with SandboxPool(workers=1, isolation="none", limits=TEST_LIMITS) as pool:
        assert pool.isolation_level == "none"
        assert pool.isolation_report.active == frozenset({Layer.RLIMITS})
        pset = payload_set(smtt, honest_instances)
        assert pool.run(DEF + "    while True:\n        pass\n", HOSTILE_SPEC, pset, 0.3,
                        check=False).status is OutcomeStatus.TIMEOUT
        assert pool.run(DEF + "    return [0] * 10 ** 9\n", HOSTILE_SPEC, pset, 2.0,
                        check=False).status is OutcomeStatus.MEMORY
        assert_honest_scores_right(pool, smtt, honest_instances)
