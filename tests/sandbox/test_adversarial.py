"""Hostile candidates against a strict pool: each must end in a typed failure, with the
orchestrator alive, no file created, no process left behind, and the next honest
candidate scored exactly right.

The candidates run with an import list that allows everything (``HOSTILE_SPEC``) and
without the static pre-check, so what stops them is the operating-system layers.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import OutcomeStatus, SandboxPool
from sandbox.scoring import payload_set
from tests.sandbox.support import (
    HOSTILE_SPEC,
    assert_honest_scores_right,
    describe_processes,
    live_descendants,
)

REPO = Path(__file__).resolve().parents[2]
TOKEN = f"pwned-{uuid.uuid4().hex[:12]}"
DEF = "def schedule(processing_times, due_dates):\n"
S = OutcomeStatus


@dataclass(frozen=True)
class Hostile:
    """One attack: source (with {victim}/{token} placeholders) and the expected status."""

    name: str
    code: str
    status: OutcomeStatus
    time_limit: float = 2.0
    mentions: str = ""  # text expected in the error message or refusal


CASES = [
    # hangs
    Hostile("infinite_loop", DEF + "    while True:\n        pass\n", S.TIMEOUT, 0.4),
    Hostile("infinite_loop_at_import", "while True:\n    pass\n" + DEF + "    return []\n",
            S.TIMEOUT, 0.4),
    Hostile("sleep", "import time\n" + DEF + "    time.sleep(60)\n", S.TIMEOUT, 0.4),
    Hostile("blocking_pipe_read", "import os\n" + DEF + "    r, w = os.pipe()\n"
            "    os.read(r, 1)\n", S.TIMEOUT, 0.4),
    Hostile("stdin_read", "import sys\n" + DEF + "    sys.stdin.read()\n    input()\n",
            S.EXCEPTION, mentions="EOFError"),
    Hostile("sigxcpu_ignored", "import signal\n" + DEF
            + "    signal.signal(signal.SIGXCPU, signal.SIG_IGN)\n    while True:\n"
              "        pass\n", S.TIMEOUT, 0.4),
    # memory
    Hostile("memory_bomb_list", DEF + "    return [0] * (10 ** 9)\n", S.MEMORY),
    Hostile("memory_bomb_growing", DEF + "    hog = []\n    while True:\n"
            "        hog.append(bytearray(2 ** 23))\n", S.MEMORY, 4.0),
    Hostile("memory_bomb_numpy", "import numpy as np\n" + DEF
            + "    return np.ones((50000, 50000))\n", S.MEMORY),
    # processes
    Hostile("fork_bomb", "import os\n" + DEF + "    while True:\n        os.fork()\n",
            S.FORBIDDEN, mentions="os.fork()"),
    Hostile("multiprocessing", "import multiprocessing\n" + DEF
            + "    p = multiprocessing.Process(target=print)\n    p.start()\n    p.join()\n",
            S.FORBIDDEN),
    Hostile("subprocess", "import subprocess\n" + DEF
            + "    subprocess.run(['touch', '/tmp/{token}'])\n", S.FORBIDDEN),
    Hostile("os_system", "import os\n" + DEF + "    os.system('touch /tmp/{token}')\n",
            S.FORBIDDEN),
    Hostile("execv", "import os\n" + DEF + "    os.execv('/bin/sh', ['sh', '-c', 'true'])\n",
            S.FORBIDDEN, mentions="execv"),
    Hostile("double_forked_daemon", "import os\n" + DEF
            + "    if os.fork() == 0:\n        os.setsid()\n        if os.fork() == 0:\n"
              "            import time\n            time.sleep(600)\n    return []\n",
            S.FORBIDDEN),
    Hostile("cpu_burning_threads", "import threading\n" + DEF
            + "    for _ in range(8):\n        threading.Thread(target=lambda: [0 for _ in "
              "iter(int, 1)], daemon=True).start()\n    return sorted(range(len(due_dates)))\n",
            S.FORBIDDEN),
    # network
    Hostile("socket_connect", "import socket\n" + DEF
            + "    socket.create_connection(('1.1.1.1', 80), timeout=1)\n", S.FORBIDDEN,
            mentions="create_connection"),
    Hostile("dns_lookup", "import socket\n" + DEF + "    socket.getaddrinfo('example.com', 80)\n",
            S.FORBIDDEN),
    # files
    Hostile("open_write", DEF + "    open('{victim}/{token}', 'w').write('x')\n", S.FORBIDDEN),
    Hostile("open_write_tmp", DEF + "    open('/tmp/{token}', 'w').write('x')\n", S.FORBIDDEN),
    Hostile("pathlib_write", "import pathlib\n" + DEF
            + "    pathlib.Path('{victim}', '{token}').write_text('x')\n", S.FORBIDDEN),
    Hostile("delete_file", "import os\n" + DEF + "    os.remove('{victim}/keep.txt')\n",
            S.FORBIDDEN),
    Hostile("mkdir", "import os\n" + DEF + "    os.mkdir('/tmp/{token}')\n", S.FORBIDDEN),
    Hostile("ctypes_open_creat", "import ctypes\n" + DEF
            + "    ctypes.CDLL(None).open(b'{victim}/{token}', 0o101, 0o644)\n", S.FORBIDDEN),
    Hostile("ctypes_unlink", "import ctypes\n" + DEF
            + "    ctypes.CDLL(None).unlink(b'{victim}/keep.txt')\n", S.FORBIDDEN),
    Hostile("io_uring_setup", "import ctypes\n" + DEF
            + "    ctypes.CDLL(None).syscall(425, 8, ctypes.create_string_buffer(120))\n",
            S.FORBIDDEN),
    # crashes
    Hostile("ctypes_segfault", "import ctypes\n" + DEF + "    ctypes.string_at(0)\n",
            S.CRASHED, mentions="SIGSEGV"),
    Hostile("abort", "import os\n" + DEF + "    os.abort()\n", S.CRASHED, mentions="SIGABRT"),
    Hostile("runaway_recursion", DEF + "    return schedule(processing_times, due_dates)\n",
            S.EXCEPTION, mentions="RecursionError"),
    Hostile("c_stack_overflow", DEF  # tuple hashing recurses in C without a depth check
            + "    nest = ()\n    for _ in range(3 * 10 ** 5):\n        nest = (nest,)\n"
              "    return hash(nest)\n", S.CRASHED, mentions="SIGSEGV"),
    Hostile("hard_exit", "import os\n" + DEF + "    os._exit(0)\n", S.CRASHED),
    Hostile("sys_exit", "import sys\n" + DEF + "    sys.exit(0)\n", S.EXCEPTION,
            mentions="SystemExit"),
    Hostile("unprintable_exception", DEF + "    class Evil(Exception):\n"
            "        def __str__(self):\n            raise RuntimeError('no')\n"
            "    raise Evil()\n", S.EXCEPTION, mentions="Evil"),
    # output floods
    Hostile("stdout_flood_200mb", DEF + "    for _ in range(200):\n        print('x' * 2 ** 20)\n",
            S.FORBIDDEN, mentions="stdout"),
    Hostile("output_flood_200mb", DEF + "    return [0] * (25 * 10 ** 6)\n", S.INVALID_OUTPUT,
            mentions="allowed"),
    # score forging and channel tampering
    Hostile("forged_end_marker", "import os\n" + DEF
            + "    os.write(3, b'D\\x00\\x00\\x00\\x00')\n    os._exit(0)\n", S.INVALID_OUTPUT,
            mentions="corrupted"),
    Hostile("junk_on_inherited_fds", "import os\n" + DEF
            + "    for fd in range(64):\n        try:\n            os.write(fd, b'junk')\n"
              "        except OSError:\n            pass\n"
              "    return sorted(range(len(due_dates)))\n", S.INVALID_OUTPUT),
    Hostile("pickle_on_channel", "import os\n" + DEF  # a classic code-running pickle
            + "    os.write(3, b\"cos\\nsystem\\n(S'touch /tmp/{token}'\\ntR.\")\n"
              "    return []\n", S.INVALID_OUTPUT, mentions="corrupted"),
    Hostile("pickle_payload_return", "import os\n" + DEF
            + "    class Boom:\n        def __reduce__(self):\n"
              "            return (os.system, ('touch /tmp/{token}',))\n    return [Boom()]\n",
            S.INVALID_OUTPUT, mentions="Boom"),
    # the supervisor
    Hostile("kill_parent", "import os\n" + DEF + "    os.kill(os.getppid(), 9)\n", S.FORBIDDEN,
            mentions="os.kill"),
    Hostile("killpg_zero", "import os\n" + DEF + "    os.killpg(0, 9)\n", S.FORBIDDEN),
    Hostile("kill_everyone", "import os\n" + DEF + "    os.kill(-1, 9)\n", S.FORBIDDEN),
    Hostile("ptrace_parent", "import ctypes, os\n" + DEF
            + "    ctypes.CDLL(None).ptrace(16, os.getppid(), 0, 0)\n", S.FORBIDDEN),
    Hostile("read_parent_memory", "import os\n" + DEF
            + "    open(f'/proc/{{os.getppid()}}/mem', 'rb').read(1)\n", S.EXCEPTION,
            mentions="PermissionError"),
    Hostile("forbidden_import_at_runtime", DEF + "    __import__('os')\n", S.FORBIDDEN),
]


@pytest.fixture(scope="module")
def victim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A world-writable directory with one file the candidates try to delete."""
    path = tmp_path_factory.mktemp("victim")
    path.chmod(0o777)
    keep = path / "keep.txt"
    keep.write_text("keep me")
    keep.chmod(0o666)
    return path


def test_suite_is_large_enough() -> None:
    assert len(CASES) >= 25
    assert len({c.name for c in CASES}) == len(CASES)


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_hostile_candidate_is_contained(case: Hostile, strict_pool: SandboxPool,
                                        smtt: SmttProblem, honest_instances: list[SmttInstance],
                                        victim: Path) -> None:
    roots = strict_pool.worker_pids()
    before = live_descendants(roots)
    code = case.code.format(victim=victim, token=TOKEN)
    spec = HOSTILE_SPEC
    if case.name == "forbidden_import_at_runtime":
        spec = smtt.candidate_spec  # the runtime import guard follows the problem's list
    outcome = strict_pool.run(code, spec, payload_set(smtt, honest_instances), case.time_limit,
                              check=False)

    assert outcome.status is case.status, outcome.describe() + "\n" + outcome.stdout[-2000:]
    assert outcome.error is not None
    text = " ".join(filter(None, (outcome.error.message, outcome.error.refused,
                                  outcome.error.signal, *outcome.error.traceback)))
    assert case.mentions in text, text
    assert outcome.total_seconds < case.time_limit + 1.0

    # The orchestrator and its workers are alive and score the next candidate exactly.
    assert_honest_scores_right(strict_pool, smtt, honest_instances)
    # No process left behind (the workers' process trees are as before).
    assert strict_pool.worker_pids() == roots
    after = live_descendants(roots)
    assert after == before, describe_processes(after ^ before)
    # No file created or deleted outside the scratch space.
    assert sorted(p.name for p in victim.iterdir()) == ["keep.txt"]
    assert (victim / "keep.txt").read_text() == "keep me"
    for place in (Path("/tmp"), Path.cwd(), REPO):
        assert not [p for p in place.iterdir() if TOKEN in p.name]
