"""No candidate can read a secret planted in the orchestrator's environment.

The secret is set in this test process's ``os.environ`` before the pool starts, and a
decoy process (standing in for an orchestrator started with an API key) carries it in
its initial environment. Candidates hunt for it in every place the issue lists and
return whatever they found as a list of byte values; the test asserts the secret is
not among them, and that each hunt did read something (so the test can fail).
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandbox import Layer, OutcomeStatus, SandboxPool, SandboxWarning
from tests.sandbox.support import HOSTILE_SPEC, TEST_LIMITS
from tests.system_components import require_strict_sandbox

SECRET_TAIL = uuid.uuid4().hex
SECRET = "sk-discover-" + SECRET_TAIL
DEF = "import os, gc\ndef schedule(processing_times, due_dates):\n"
FOUND = "    return list(found.encode('utf-8', 'replace')[:500000])\n"

HUNTS = {
    "os_environ": DEF + "    found = repr(dict(os.environ))\n" + FOUND,
    "proc_self_environ": DEF + "    found = open('/proc/self/environ', 'rb').read()"
                               ".decode('latin-1')\n" + FOUND,
    "proc_parent_environ": DEF + "    try:\n"
                                 "        found = open(f'/proc/{os.getppid()}/environ', 'rb')"
                                 ".read().decode('latin-1')\n"
                                 "    except OSError as exc:\n        found = 'PATH ' + repr(exc)\n"
                           + FOUND,
    "every_proc_environ": DEF + "    found = 'PATH'\n"
                                "    for pid in os.listdir('/proc'):\n"
                                "        for name in ('environ', 'cmdline'):\n"
                                "            try:\n"
                                "                found += open(f'/proc/{pid}/{name}', 'rb')"
                                ".read().decode('latin-1')\n"
                                "            except OSError:\n                pass\n" + FOUND,
    "open_descriptors": DEF + "    found = 'PATH'\n    for fd in range(64):\n        try:\n"
                              "            found += os.readlink(f'/proc/self/fd/{fd}')\n"
                              "            found += os.read(fd, 4096).decode('latin-1')\n"
                              "        except OSError:\n            pass\n" + FOUND,
    "gc_scan": DEF + "    gc.unfreeze()  # the worker froze its objects; look at them all\n"
                     "    seen = 0\n    hits = []\n    for obj in gc.get_objects():\n"
                     "        seen += 1\n"
                     "        if obj is hits:\n            continue\n"
                     "        values = obj.values() if isinstance(obj, dict) else obj if "
                     "isinstance(obj, (list, tuple)) else ()\n"
                     "        for v in values:\n"
                     "            if isinstance(v, str) and 'sk-' in v:\n"
                     "                hits.append(v)\n"
                     "    found = ('PATH' if seen > 1000 else '') + repr(hits)\n" + FOUND,
    "memory_scan": DEF + "    pattern = b'sk-' + b'discover-'\n    hits = []\n"
                         "    mem = open('/proc/self/mem', 'rb')\n"
                         "    for line in open('/proc/self/maps'):\n"
                         "        addr, perms = line.split()[:2]\n"
                         "        if not perms.startswith('r'):\n            continue\n"
                         "        lo, hi = (int(x, 16) for x in addr.split('-'))\n"
                         "        try:\n            mem.seek(lo)\n"
                         "            chunk = mem.read(hi - lo)\n"
                         "        except (OSError, OverflowError, ValueError):\n"
                         "            continue\n"
                         "        at = chunk.find(pattern)\n"
                         "        while at >= 0 and len(hits) < 200:\n"
                         "            hits.append(chunk[at:at + 60])\n"
                         "            at = chunk.find(pattern, at + 1)\n"
                         "    found = ('PATH' if hits else '') + repr(hits)\n" + FOUND,
}


def _spawn_decoy(seconds: int) -> subprocess.Popen[bytes]:
    """Start a process carrying the secret and wait until its environment is visible.

    ``Popen`` returns once the close-on-exec pipe closes, which happens inside
    ``execve`` before the kernel records where the new image's environment lies; for
    that moment ``/proc/PID/environ`` reads empty. Polling closes the race.
    """
    decoy = subprocess.Popen(["sleep", str(seconds)],
                             env={"PATH": os.environ["PATH"], "OPENAI_API_KEY": SECRET})
    deadline = time.monotonic() + 10.0
    while SECRET.encode() not in Path(f"/proc/{decoy.pid}/environ").read_bytes():
        if time.monotonic() > deadline:
            decoy.kill()
            decoy.wait()
            raise AssertionError("the decoy's environment never showed the secret")
        time.sleep(0.01)
    return decoy


# The degraded pool's cases are slow (a second pool): the fast loop runs them strict.
@pytest.fixture(scope="module",
                params=["strict", pytest.param("degraded", marks=pytest.mark.slow)])
def secret_pool(request: pytest.FixtureRequest) -> Iterator[SandboxPool]:
    """A pool started after the secret is planted; ``degraded`` has no namespaces or seccomp."""
    if request.param == "strict":
        require_strict_sandbox()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("OPENAI_API_KEY", SECRET)
        mp.setenv("DISCOVER_TEST_SECRET", SECRET)
        decoy = _spawn_decoy(120)
        try:
            if request.param == "strict":
                pool = SandboxPool(workers=1, isolation="strict", limits=TEST_LIMITS)
            else:
                pool = SandboxPool(workers=1, isolation="auto", limits=TEST_LIMITS,
                                   disable=(Layer.NAMESPACES, Layer.SECCOMP))
            with pytest.warns(SandboxWarning) if request.param == "degraded" else _nothing():
                pool.start()
            with pool:
                yield pool
        finally:
            decoy.kill()
            decoy.wait()


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def test_secret_is_planted_where_it_should_be() -> None:
    # Sanity of the setup itself: the orchestrator has it in os.environ during the
    # hunts (checked in the hunt test), the decoy in its initial environment.
    decoy = _spawn_decoy(5)
    try:
        assert SECRET.encode() in Path(f"/proc/{decoy.pid}/environ").read_bytes()
    finally:
        decoy.kill()
        decoy.wait()


@pytest.mark.slow
@pytest.mark.parametrize("hunt", sorted(HUNTS))
def test_candidate_cannot_read_secret(hunt: str, secret_pool: SandboxPool) -> None:
    assert os.environ["OPENAI_API_KEY"] == SECRET
    payloads = [{"processing_times": [1, 2], "due_dates": [1, 2]}]
    outcome = secret_pool.run(HUNTS[hunt], HOSTILE_SPEC, payloads, 30.0, check=False)
    if outcome.status is OutcomeStatus.OK:
        found = bytes(outcome.outputs[0]).decode("utf-8", "replace")
        assert "PATH" in found, f"the hunt read nothing, so it proves nothing: {found[:300]}"
        assert SECRET_TAIL not in found
    else:  # refused by a layer: then it certainly found nothing
        assert outcome.status in (OutcomeStatus.FORBIDDEN, OutcomeStatus.EXCEPTION), \
            outcome.describe()
    assert SECRET_TAIL not in outcome.stdout


def test_worker_environment_is_clean(secret_pool: SandboxPool) -> None:
    for pid in secret_pool.worker_pids():
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"PATH=" in environ
        assert SECRET.encode() not in environ
        assert b"OPENAI_API_KEY" not in environ


@pytest.mark.slow
def test_hunts_would_catch_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    """Control: with a worker environment that leaks the key, the hunts find it."""
    from sandbox import launch

    real_clean_env = launch.clean_env

    def leaky_env(python_path: object) -> dict[str, str]:
        return {**real_clean_env(python_path), "OPENAI_API_KEY": SECRET}  # type: ignore[arg-type]

    monkeypatch.setattr(launch, "clean_env", leaky_env)
    payloads = [{"processing_times": [1], "due_dates": [1]}]
    with SandboxPool(workers=1, isolation="none", limits=TEST_LIMITS) as pool:
        for hunt in ("os_environ", "proc_self_environ", "memory_scan"):
            outcome = pool.run(HUNTS[hunt], HOSTILE_SPEC, payloads, 30.0, check=False)
            assert outcome.ok, outcome.describe()
            assert SECRET_TAIL in bytes(outcome.outputs[0]).decode("utf-8", "replace"), hunt
