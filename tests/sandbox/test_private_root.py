"""The private root, with bubblewrap and without it (the ``unshare`` launcher).

Hostile candidates, run through the real sandbox with each launcher forced, try to
read a secret planted outside the bound set, list the checkout and the archive's
directory, and lock host files (the archive's SQLite database first) while the
host writes to that database. Each candidate reports what it found as a list of
byte values, and each also proves it could do the same to a file inside the bound
set, so a test cannot pass because the attack never ran. Before the ``unshare``
launcher had its own private root, the secret, the checkout and the lock were all
within reach ("database is locked" on the host).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import Layer, OutcomeStatus, SandboxPool, SandboxWarning, launch
from tests.sandbox.support import HOSTILE_SPEC, TEST_LIMITS, assert_honest_scores_right
from tests.system_components import Component, require

# Every case starts its own sandbox pool (a private root per launcher).
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
BOUND_FILE = REPO / "sandbox" / "__init__.py"
"""Inside the bound set: every candidate must reach it (the control)."""
SECRET = "secret-" + uuid.uuid4().hex
HOLD_SECONDS = 2.0
SPEC = replace(HOSTILE_SPEC, allowed_imports=(*HOSTILE_SPEC.allowed_imports, "json", "fcntl"))
PAYLOADS = [{"processing_times": [1, 2], "due_dates": [1, 2]}]
HEAD = "import os, json, time, fcntl\ndef schedule(processing_times, due_dates):\n"
REPORT = "    return list(json.dumps(found).encode())\n"


@pytest.fixture(scope="module")
def outside() -> Iterator[Path]:
    """A world-readable directory outside every bound path, holding a secret and an archive."""
    path = Path(tempfile.mkdtemp(prefix="discover-outside-", dir="/tmp"))
    path.chmod(0o755)  # readable by the children's uid 65534 too: only the root hides it
    (path / "secret.txt").write_text(SECRET)
    (path / "secret.txt").chmod(0o644)
    with sqlite3.connect(path / "archive.sqlite") as db:
        db.execute("create table evaluations (score real)")
    db.close()
    (path / "archive.sqlite").chmod(0o644)
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module", params=["bwrap", "unshare"])
def rooted_pool(request: pytest.FixtureRequest) -> Iterator[SandboxPool]:
    """A pool started with one launcher, whatever DISCOVER_SANDBOX_LAUNCHER says.

    ``auto`` rather than ``strict``, so that a launcher without a private root
    still starts and the attacks below show what it exposes.
    """
    if request.param == "bwrap":
        require(Component.BUBBLEWRAP)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)
        pool = SandboxPool(workers=1, isolation="auto", launcher=request.param,
                           limits=TEST_LIMITS)
        pool.start()
    with pool:
        yield pool


def _expected_top_level() -> set[str]:
    """What the private root's ``/`` may hold: system directories and the bound paths' tops."""
    tops = {"bin", "dev", "etc", "lib", "lib32", "lib64", "libx32", "proc", "sbin", "tmp", "usr"}
    return tops | {p.parts[1] for p in [*launch.python_roots(), REPO]}


def _expected_under_tmp() -> set[str]:
    """Ancestors of bound paths that live under /tmp (a checkout there, say)."""
    return {p.parts[2] for p in [*launch.python_roots(), REPO]
            if len(p.parts) > 2 and p.parts[1] == "tmp"}


def _hunt(pool: SandboxPool, body: str, time_limit: float = 10.0) -> dict[str, object]:
    outcome = pool.run(HEAD + body + REPORT, SPEC, PAYLOADS, time_limit, check=False)
    assert outcome.status is OutcomeStatus.OK, outcome.describe() + outcome.stdout
    found = json.loads(bytes(outcome.outputs[0]))  # type: ignore[arg-type]
    assert isinstance(found, dict)
    return found


def test_the_report_names_the_launcher_and_its_private_root(rooted_pool: SandboxPool) -> None:
    report = rooted_pool.isolation_report
    assert report.launcher == rooted_pool.launcher
    assert report.private_root
    assert Layer.NAMESPACES in report.active
    level = rooted_pool.isolation_level
    if report.launcher == "bwrap":
        assert level == "full" if os.geteuid() == 0 else level.startswith("partial:namespaces+")
    else:
        assert level == ("full(unshare)" if os.geteuid() == 0
                         else "partial:namespaces(unshare)+seccomp+rlimits")
    assert "private read-only root" in report.summary()


READ = HEAD + """\
    found = {}
    for path in PATHS:
        try:
            with open(path, 'rb') as fh:
                found[path] = 'read:' + fh.read(200).decode('latin-1')
        except OSError as exc:
            found[path] = type(exc).__name__
""" + REPORT


def test_candidate_cannot_read_files_outside_the_bound_set(
        rooted_pool: SandboxPool, outside: Path, smtt: SmttProblem,
        honest_instances: list[SmttInstance]) -> None:
    targets = [outside / "secret.txt", REPO / "pyproject.toml", REPO / "README.md",
               Path("/etc/passwd"), Path("/etc/hostname")]
    targets += sorted((REPO.parent / "shared" / "benchmarks").glob("*/*/*.json"))[:3]
    code = READ.replace("PATHS", repr([str(BOUND_FILE), *map(str, targets)]))
    outcome = rooted_pool.run(code, SPEC, PAYLOADS, 10.0, check=False)
    assert outcome.status is OutcomeStatus.OK, outcome.describe()
    found = json.loads(bytes(outcome.outputs[0]))  # type: ignore[arg-type]
    assert found[str(BOUND_FILE)].startswith('read:"""')  # reading as such works in there
    leaked = {path: text for path, text in found.items()
              if path != str(BOUND_FILE) and text.startswith("read:")}
    assert not leaked, f"read outside the bound set: {leaked}"
    # Not merely unreadable: outside the bound set, the host's files do not exist.
    assert {found[str(path)] for path in targets if "/etc/" not in str(path)} == {
        "FileNotFoundError"}
    assert SECRET not in json.dumps(found)
    assert_honest_scores_right(rooted_pool, smtt, honest_instances)


def test_candidate_cannot_list_the_checkout_or_the_archive(
        rooted_pool: SandboxPool, outside: Path, smtt: SmttProblem,
        honest_instances: list[SmttInstance]) -> None:
    places = [str(REPO), str(REPO.parent), str(outside), "/", "/tmp", "/root", "/home"]
    found = _hunt(rooted_pool, "    found = {}\n    for place in " + repr(places) + ":\n"
                  "        try:\n            found[place] = sorted(os.listdir(place))\n"
                  "        except OSError as exc:\n            found[place] = type(exc).__name__\n")
    # The checkout shows only the bound package directories, never its files (and the
    # Python installation when it lives inside the checkout, e.g. a virtualenv in the clone).
    installed = {Path(p).resolve().relative_to(REPO).parts[0]
                 for p in (sys.prefix, sys.base_prefix) if Path(p).resolve().is_relative_to(REPO)}
    assert set(found[str(REPO)]) <= {"sandbox", "evaluators", *installed}, found[str(REPO)]
    assert "sandbox" in found[str(REPO)]
    assert found[str(outside)] == "FileNotFoundError"
    assert set(found["/"]) <= _expected_top_level(), found["/"]
    assert found["/home"] == "FileNotFoundError"
    assert set(found["/tmp"]) <= {"scratch"} | _expected_under_tmp(), found["/tmp"]
    assert_honest_scores_right(rooted_pool, smtt, honest_instances)


LOCKER = HEAD + """\
    found = {'locked': [], 'refused': 0}
    held = []

    def grab(path, patience):
        # Both kinds of lock, shared (a read-only descriptor allows them), retried while
        # the host holds a conflicting one: SQLite's own locks are the fcntl kind.
        if len(held) >= 20:
            return
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
        except OSError:
            found['refused'] += 1
            return
        kinds = []
        until = time.time() + patience
        for kind, take in (('flock', lambda: fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)),
                           ('lockf', lambda: fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB))):
            while True:
                try:
                    take()
                    kinds.append(kind)
                    break
                except OSError:
                    if time.time() > until:
                        break
                    time.sleep(0.001)
        if kinds:
            held.append(fd)
            found['locked'].append(path + ':' + '+'.join(kinds))
        else:
            os.close(fd)

    for path in TARGETS:
        grab(path, 3.0)
    for top in ('/tmp', '/work', '/root', '/home', '/var', '/'):
        for here, dirs, files in os.walk(top):
            dirs[:] = [d for d in dirs if os.path.join(here, d) not in ('/proc', '/sys', '/dev')]
            for name in files:
                grab(os.path.join(here, name), 0.0)
            if len(held) >= 20:
                break
    found['start'] = time.time()
    while time.time() - found['start'] < HOLD:
        time.sleep(0.02)
    found['end'] = time.time()
""" + REPORT


def test_candidate_locks_cannot_block_a_host_sqlite_write(
        rooted_pool: SandboxPool, outside: Path, smtt: SmttProblem,
        honest_instances: list[SmttInstance]) -> None:
    database = outside / "archive.sqlite"
    targets = [str(database), str(database) + "-journal", str(BOUND_FILE)]
    code = LOCKER.replace("TARGETS", repr(targets)).replace("HOLD", repr(HOLD_SECONDS))
    future = rooted_pool.submit(code, SPEC, PAYLOADS, HOLD_SECONDS + 20.0, check=False)
    attempts: list[tuple[float, float, str]] = []
    while not future.done():
        begun = time.time()
        try:
            with sqlite3.connect(database, timeout=0) as db:
                db.execute("insert into evaluations values (1.0)")
            db.close()
            result = "ok"
        except sqlite3.OperationalError as exc:
            result = str(exc)
        attempts.append((begun, time.time(), result))
        time.sleep(0.02)
    outcome = future.result()
    assert outcome.status is OutcomeStatus.OK, outcome.describe() + outcome.stdout
    found = json.loads(bytes(outcome.outputs[0]))  # type: ignore[arg-type]
    # The attack ran: it locked what it could reach (the bound files) and held the locks
    # while the host wrote.
    assert f"{BOUND_FILE}:flock+lockf" in found["locked"], found
    while_held = [a for a in attempts if a[0] >= found["start"] and a[1] <= found["end"]]
    assert while_held, "no host write happened while the candidate held its locks"
    failed = [a for a in attempts if a[2] != "ok"]
    assert not failed, f"host writes failed: {failed[:3]}; candidate locked {found['locked']}"
    assert not [lock for lock in found["locked"] if lock.startswith(str(database))]
    assert_honest_scores_right(rooted_pool, smtt, honest_instances)


def test_a_nested_harness_package_gets_its_own_import_root(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """A plugin package inside another import root (examples/flowshop/flowshop under the
    checkout) is importable only from its own parent: the worker's path must list it."""
    import sys

    root = Path(launch.package_dirs(["evaluators"])[0]).parent
    nested = Path(tempfile.mkdtemp(prefix="nested-plugin-", dir=root))
    try:
        package = nested / "nested_plugin_pkg"
        package.mkdir()
        (package / "__init__.py").write_text("")
        monkeypatch.setattr(sys, "path", [str(nested), *sys.path])
        plan = launch.plan("plain", ["evaluators", "nested_plugin_pkg"], str(tmp_path))
        assert str(nested) in plan.env["PYTHONPATH"].split(os.pathsep)
    finally:
        shutil.rmtree(nested)
