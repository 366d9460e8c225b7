"""Refused system calls are unignorable and recorded (issue 18, findings 6 and 7).

Each candidate survives a refused call on the old filter (``SECCOMP_RET_TRAP``):
with its own ``SIGSYS`` handler, or with a second, stacked filter that stops
the fault handler from re-raising, the trapped call just failed with ``ENOSYS``
and the candidate finished ``ok``. AIO (``io_setup``) was not refused at all,
and one candidate could take the host's whole AIO event pool. Now every refused
call kills the child and the outcome is ``forbidden``, naming the line.
"""

from __future__ import annotations

import platform

import pytest

from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import OutcomeStatus, SandboxPool
from sandbox.scoring import payload_set
from tests.sandbox.support import HOSTILE_SPEC, assert_honest_scores_right

DEF = "def schedule(processing_times, due_dates):\n"
RETURN = "    return sorted(range(len(due_dates)))\n"
x86_64 = pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"),
                            reason="syscall numbers of x86-64")

SIGSYS_HANDLER = ("import signal, socket\n" + DEF
                  + "    signal.signal(signal.SIGSYS, lambda *args: None)\n"
                    "    try:\n        socket.socket()\n    except OSError:\n        pass\n"
                  + RETURN)

# A second filter (allowed by no_new_privs) that makes rt_sigaction, kill, tkill
# and tgkill fail with EPERM: the old fault handler could then neither restore
# the default action nor re-raise SIGSYS, and the trapped socket() returned.
STACKED_FILTER = """\
import ctypes, socket

class Insn(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]

class Prog(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(Insn))]

def schedule(processing_times, due_dates):
    errno_eperm = 0x00050000 | 1
    insns = [(0x20, 0, 0, 0)]
    for nr in (13, 62, 200, 234):
        insns += [(0x15, 0, 1, nr), (0x06, 0, 0, errno_eperm)]
    insns += [(0x06, 0, 0, 0x7FFF0000)]
    array = (Insn * len(insns))(*[Insn(*i) for i in insns])
    prog = Prog(len(insns), array)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(22, 2, ctypes.byref(prog), 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_SECCOMP) failed")
    try:
        socket.socket()
    except OSError:
        pass
    return sorted(range(len(due_dates)))
"""

SECCOMP_SYSCALL = ("import ctypes\n" + DEF
                   + "    ctypes.CDLL(None).syscall(317, 0, 0, 0)\n" + RETURN)

IO_SETUP = ("import ctypes\n" + DEF
            + "    ctx = ctypes.c_ulong(0)\n"
              "    ctypes.CDLL(None).syscall(206, 1, ctypes.byref(ctx))\n" + RETURN)


@x86_64
@pytest.mark.parametrize(("code", "line"), [
    pytest.param(SIGSYS_HANDLER, 5, id="sigsys_handler"),
    pytest.param(STACKED_FILTER, 19, id="stacked_filter"),
    pytest.param(SECCOMP_SYSCALL, 3, id="seccomp_syscall"),
    pytest.param(IO_SETUP, 4, id="io_setup"),
])
def test_refused_call_is_recorded(code: str, line: int, mode_pool: SandboxPool,
                                  smtt: SmttProblem,
                                  honest_instances: list[SmttInstance]) -> None:
    outcome = mode_pool.run(code, HOSTILE_SPEC, payload_set(smtt, honest_instances), 5.0,
                            check=False)
    assert outcome.status is OutcomeStatus.FORBIDDEN, outcome.describe()
    assert outcome.error is not None and outcome.error.signal == "SIGSYS"
    assert f"candidate line {line}:" in (outcome.error.refused or ""), outcome.error
    assert_honest_scores_right(mode_pool, smtt, honest_instances)
