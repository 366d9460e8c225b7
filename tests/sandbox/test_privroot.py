"""The ``unshare`` launcher for an unprivileged orchestrator, and on a kernel that refuses.

Most users run ``discover`` as an ordinary user. Run as root, these tests start the
orchestrator as uid 1000 inside a user namespace (so it is unprivileged and must
create its own user namespace, as on a desktop), once where the kernel allows that
and once where it refuses it (``user.max_user_namespaces=0`` in that namespace): then
``auto`` must say first and once what to install, and ``strict`` must refuse with it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from sandbox import SandboxPool, SandboxUnavailable, SandboxWarning, launch
from tests.sandbox.support import TEST_LIMITS

REPO = Path(__file__).resolve().parents[2]
INSTALL = "apt-get install bubblewrap"
SECRET = "secret-" + uuid.uuid4().hex

# Runs argv as uid/gid 1000 in a new user namespace. Inner 1000 is the caller's own
# uid, so files stay readable; with "refuse", nested user namespaces are not allowed.
AS_USER = """\
import ctypes, os, sys
refuse = sys.argv[1] == "refuse"
libc = ctypes.CDLL(None, use_errno=True)
ready_r, ready_w = os.pipe()
go_r, go_w = os.pipe()
pid = os.fork()
if pid == 0:
    if libc.unshare(0x10000000) != 0:
        os._exit(90)
    os.write(ready_w, b"x")
    os.read(go_r, 1)
    if refuse:
        with open("/proc/sys/user/max_user_namespaces", "w") as fh:
            fh.write("0")
    os.setgroups([])
    os.setresgid(1000, 1000, 1000)
    os.setresuid(1000, 1000, 1000)
    os.execv(sys.argv[2], sys.argv[2:])
os.read(ready_r, 1)
outer = os.getuid()
with open(f"/proc/{pid}/uid_map", "w") as fh:
    fh.write(f"0 100000 1000\\n1000 {outer} 1")
with open(f"/proc/{pid}/gid_map", "w") as fh:
    fh.write(f"0 100000 1000\\n1000 {os.getgid()} 1")
os.write(go_w, b"x")
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status))
"""

ORCHESTRATOR = """\
import ast, json, os, sys, warnings
from sandbox import SandboxPool, SandboxUnavailable
from tests.sandbox.support import HOSTILE_SPEC
mode, launcher, secret_path, walk = sys.argv[1:5]
# The secret, and what other processes in reach hold open (the worker's protocol
# pipes, the spare's job pipe, the worker's log on the host) or carry.
code = ("import os\\ndef schedule(processing_times, due_dates):\\n"
        "    found = {'opened': []}\\n"
        "    try:\\n        found['secret'] = open(%r).read()\\n"
        "    except OSError as exc:\\n        found['secret'] = type(exc).__name__\\n"
        "    for pid in os.listdir('/proc') if %r == 'walk' else ():\\n"
        "        if not pid.isdigit() or int(pid) == os.getpid():\\n            continue\\n"
        "        for name in ('fd/0', 'fd/1', 'fd/2', 'fd/3', 'fd/4', 'environ', 'mem'):\\n"
        "            try:\\n"
        "                os.close(os.open('/proc/' + pid + '/' + name,"
        " os.O_RDONLY | os.O_NONBLOCK))\\n"
        "                found['opened'].append(pid + '/' + name)\\n"
        "            except OSError:\\n                pass\\n"
        "    return list(repr(found).encode())\\n") % (secret_path, walk)
result = {"uid": os.geteuid()}
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        with SandboxPool(workers=1, isolation=mode, launcher=launcher) as pool:
            outcome = pool.run(code, HOSTILE_SPEC, [{"processing_times": [1],
                                                     "due_dates": [1]}], 10.0, check=False)
            result.update(level=pool.isolation_level, status=outcome.status.value,
                          found=ast.literal_eval(bytes(outcome.outputs[0]).decode())
                          if outcome.outputs else outcome.describe())
    except SandboxUnavailable as exc:
        result["refused"] = str(exc)
result["warnings"] = [str(w.message) for w in caught]
print(json.dumps(result))
"""


def _run_as_user(kernel: str, mode: str, launcher: str, tmp_path: Path) -> dict[str, object]:
    if os.geteuid() != 0:
        pytest.skip("needs root to start an unprivileged orchestrator in a user namespace")
    secret = tmp_path / "secret.txt"
    secret.write_text(SECRET)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("DISCOVER_SANDBOX_LAUNCHER", None)
    env.pop("PYTEST_CURRENT_TEST", None)
    done = subprocess.run([sys.executable, "-c", AS_USER, kernel, sys.executable, "-c",
                           ORCHESTRATOR, mode, launcher, str(secret),
                           # Never walk the host's /proc (the refusing kernel runs plain).
                           "walk" if kernel == "allow" else "no"], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=180)
    if done.returncode == 90:
        pytest.skip("this kernel refuses user namespaces even to root")
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert isinstance(result, dict)
    assert result["uid"] == 1000
    return result


@pytest.mark.slow
@pytest.mark.parametrize("launcher", ["auto", "unshare"])
def test_unprivileged_orchestrator_gets_a_private_root(launcher: str, tmp_path: Path) -> None:
    result = _run_as_user("allow", "auto", launcher, tmp_path)
    # The child runs as the orchestrator's uid (no root, no uid change), which owns the
    # secret: only the private root keeps it out of reach.
    expected = {"partial:namespaces(unshare)+seccomp+rlimits"}
    if launcher == "auto" and shutil.which("bwrap"):
        expected = {"partial:namespaces+seccomp+rlimits"}
    assert result["level"] in expected, result
    assert result["status"] == "ok"
    found = result["found"]
    assert isinstance(found, dict), found
    assert found["secret"] == "FileNotFoundError", result
    # The worker and the spare run as the candidate's uid here: none of their descriptors
    # (protocol pipes, the next job, the host log file), environment or memory is in reach.
    assert found["opened"] == [], result
    assert not [w for w in result["warnings"] if INSTALL in w], result  # type: ignore[union-attr]


@pytest.mark.slow
def test_a_kernel_that_refuses_makes_auto_refuse_for_an_unprivileged_user(
        tmp_path: Path) -> None:
    # No private root, and children would keep the user's uid: refused, with what to do.
    result = _run_as_user("refuse", "auto", "auto", tmp_path)
    refused = str(result["refused"])
    assert INSTALL in refused and "your own user" in refused, refused
    assert "the kernel refused new user namespaces" in refused
    assert "DISCOVER_SANDBOX_LAUNCHER=plain" in refused


@pytest.mark.slow
def test_plain_chosen_explicitly_runs_and_says_what_to_install_first(tmp_path: Path) -> None:
    result = _run_as_user("refuse", "auto", "plain", tmp_path)
    warnings = result["warnings"]
    assert isinstance(warnings, list) and warnings
    assert INSTALL in warnings[0] and "read the host" in warnings[0], warnings  # first
    assert sum(INSTALL in w for w in warnings) == 1  # once
    assert result["level"] == "partial:seccomp+rlimits"  # recorded as what ran: no namespaces
    assert result["status"] == "ok"
    # What the warning is about: the host's files are visible.
    assert result["found"]["secret"] == SECRET  # type: ignore[index]


@pytest.mark.slow
def test_as_root_auto_falls_back_to_plain_and_says_what_to_install_first(
        monkeypatch: pytest.MonkeyPatch) -> None:
    if os.geteuid() != 0:
        pytest.skip("as another user, auto refuses instead (tested above)")
    real_which = shutil.which
    monkeypatch.setattr(launch.shutil, "which",
                        lambda name, **kw: None if name == "bwrap" else real_which(name, **kw))
    monkeypatch.setattr(launch, "PRIVROOT_SCRIPT", Path("/nonexistent/privroot.py"))
    monkeypatch.delenv(launch.LAUNCHER_VARIABLE, raising=False)
    with pytest.warns(SandboxWarning) as caught:
        pool = SandboxPool(workers=1, isolation="auto", limits=TEST_LIMITS)
        pool.start()
    with pool:
        messages = [str(w.message) for w in caught]
        assert INSTALL in messages[0] and "read the host" in messages[0], messages
        assert "bwrap: bubblewrap (bwrap) is not installed" in messages[0]
        assert "unshare: " in messages[0]
        assert sum(INSTALL in m and "read the host" in m for m in messages) == 1
        assert pool.isolation_level == "partial:unprivileged_uid+seccomp+rlimits"
        assert pool.isolation_report.launcher == "plain"
        with pytest.raises(SandboxUnavailable, match="no private root could be built"):
            SandboxPool(workers=1, isolation="strict", limits=TEST_LIMITS).start()


@pytest.mark.slow
def test_a_kernel_that_refuses_makes_strict_refuse(tmp_path: Path) -> None:
    result = _run_as_user("refuse", "strict", "auto", tmp_path)
    refused = str(result["refused"])
    assert INSTALL in refused
    assert "the kernel refused new user namespaces" in refused


@pytest.mark.slow
def test_the_private_root_check_without_bubblewrap(monkeypatch: pytest.MonkeyPatch) -> None:
    real_which = shutil.which
    monkeypatch.setattr(launch.shutil, "which",
                        lambda name, **kw: None if name == "bwrap" else real_which(name, **kw))
    assert launch.private_root_problem() is None  # built by sandbox/privroot.py alone


@pytest.mark.slow
def test_the_private_root_check_names_the_refusal() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root to start an unprivileged process in a user namespace")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([sys.executable, "-c", AS_USER, "refuse", sys.executable, "-c",
                           "from sandbox import launch; print(launch.private_root_problem())"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    said = done.stdout.strip()
    assert "unshare: privroot: the kernel refused new user namespaces" in said, said


SHADOWED = r"""
set -e
mount --make-rprivate /
# bwrap would build the root first: hide it, so the unshare launcher is what is tried
if [ -e /usr/bin/bwrap ]; then mount --bind /dev/null /usr/bin/bwrap; fi
mount -t tmpfs none /usr/share
mkdir -p /usr/share/lib
touch /usr/share/lib/tool
mount --bind /dev/null /usr/share/lib/tool
mount -t tmpfs none /usr/share/lib
exec "$PYTHON" -c "from sandbox.launch import private_root_problem as p; print(p() or 'ok')"
"""


@pytest.mark.slow
def test_a_mount_hidden_under_a_later_mount_does_not_stop_the_root() -> None:
    # Seen on a host where a file bind under /usr/lib/chromium was covered by a tmpfs on
    # /usr/lib/chromium: mountinfo lists the hidden point, which the new root cannot reach;
    # the unshare launcher failed on it and auto fell back to no namespaces.
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        pytest.skip("needs root and util-linux unshare to stage the hidden mount")
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHON": sys.executable, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           "PYTHONPATH": str(root)}
    done = subprocess.run(["unshare", "-m", "sh", "-c", SHADOWED], env=env, cwd=root,
                          capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok", done.stdout
