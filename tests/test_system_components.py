"""The detection of optional system components, and the skips and failures it gives tests."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests import system_components
from tests.conftest import ROOT
from tests.system_components import (
    ASSUME_MISSING_ENV,
    INFO,
    REQUIRE_ALL_ENV,
    Availability,
    Component,
    assumed_missing,
    find,
    hidden,
    missing_message,
    postgres_bindir,
    require,
    require_all,
)


def _executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(0o755)
    return path


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """No component variables from the caller's environment."""
    for name in (REQUIRE_ALL_ENV, ASSUME_MISSING_ENV):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("component", list(Component))
def test_missing_message_is_one_line_naming_the_debian_package(component: Component) -> None:
    message = missing_message(component)
    package = INFO[component].package
    assert message.startswith(f"needs {package} (apt-get install {package}) for ")
    assert "\n" not in message


def test_messages_name_the_packages_ci_installs() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    packages = re.search(r"APT_PACKAGES=\(([^)]*)\)", ci)
    assert packages is not None
    assert {info.package for info in INFO.values()} <= set(packages.group(1).split())
    assert f"export {REQUIRE_ALL_ENV}=1" in ci


def test_programs_are_found_on_path(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PATH", str(tmp_path))
    assert not find(Component.BUBBLEWRAP).available
    assert not find(Component.CHROMIUM).available
    bwrap = _executable(tmp_path / "bwrap")
    chromium = _executable(tmp_path / "chromium")
    assert find(Component.BUBBLEWRAP).path == bwrap
    assert find(Component.CHROMIUM).path == chromium
    bwrap.chmod(0o644)  # present but not executable: not usable
    assert not find(Component.BUBBLEWRAP).available


def test_postgres_server_programs(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "lib" / "postgresql"
    clean_env.setattr(system_components, "POSTGRES_LIB", lib)
    clean_env.setenv("PATH", str(tmp_path / "bin"))
    assert postgres_bindir() is None
    assert find(Component.POSTGRES).detail.startswith("no initdb and pg_ctl")
    for version in ("9.6", "15", "16"):
        _executable(lib / version / "bin" / "initdb")
        _executable(lib / version / "bin" / "pg_ctl")
    (lib / "16" / "bin" / "pg_ctl").unlink()  # an incomplete newer server is passed over
    assert postgres_bindir() == lib / "15" / "bin"
    (lib / "15" / "bin" / "initdb").unlink()
    assert postgres_bindir() == lib / "9.6" / "bin"
    for version in ("9.6", "15", "16"):
        for tool in (lib / version / "bin").iterdir():
            tool.unlink()
    _executable(tmp_path / "bin" / "initdb")  # a server on PATH (not Debian's layout)
    _executable(tmp_path / "bin" / "pg_ctl")
    assert postgres_bindir() == tmp_path / "bin"


def test_root_needs_the_postgres_user(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    lib = tmp_path / "postgresql"
    for tool in ("initdb", "pg_ctl"):
        _executable(lib / "15" / "bin" / tool)
    clean_env.setattr(system_components, "POSTGRES_LIB", lib)
    clean_env.setattr(os, "geteuid", lambda: 0)

    def no_user(name: str) -> None:
        raise KeyError(name)

    clean_env.setattr(system_components.pwd, "getpwnam", no_user)
    found = find(Component.POSTGRES)
    assert not found.available and "no postgres user" in found.detail
    clean_env.setattr(os, "geteuid", lambda: 1000)  # not root: runs as the caller
    assert find(Component.POSTGRES).path == lib / "15" / "bin" / "initdb"


def test_assume_missing_hides_installed_components(tmp_path: Path,
                                                   clean_env: pytest.MonkeyPatch) -> None:
    _executable(tmp_path / "bwrap")
    _executable(tmp_path / "chromium")
    clean_env.setenv("PATH", str(tmp_path))
    clean_env.setenv(ASSUME_MISSING_ENV, " bwrap, postgres ")
    assert assumed_missing() == {Component.BUBBLEWRAP, Component.POSTGRES}
    assert not find(Component.BUBBLEWRAP).available
    assert ASSUME_MISSING_ENV in find(Component.BUBBLEWRAP).detail
    assert not find(Component.POSTGRES).available
    assert find(Component.CHROMIUM).available


def test_bad_variables_are_errors(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv(ASSUME_MISSING_ENV, "bwrap,chrome")
    with pytest.raises(ValueError, match=r"unknown component\(s\) chrome; known: bwrap, "):
        assumed_missing()
    with pytest.raises(pytest.fail.Exception, match="unknown component"):
        hidden(Component.POSTGRES)  # in a test: one line, no traceback
    with pytest.raises(pytest.fail.Exception, match="unknown component"):
        require(Component.CHROMIUM)
    clean_env.delenv(ASSUME_MISSING_ENV)
    clean_env.setenv(REQUIRE_ALL_ENV, "yes")
    with pytest.raises(ValueError, match="must be 0 or 1"):
        require_all()
    with pytest.raises(pytest.fail.Exception, match="must be 0 or 1"):
        require(Component.CHROMIUM)


def test_require_skips_or_fails(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("PATH", str(tmp_path))
    with pytest.raises(pytest.skip.Exception, match=re.escape(
            "needs bubblewrap (apt-get install bubblewrap) for strict sandbox isolation")):
        require(Component.BUBBLEWRAP)
    clean_env.setenv(REQUIRE_ALL_ENV, "0")
    with pytest.raises(pytest.skip.Exception):
        require(Component.BUBBLEWRAP)
    clean_env.setenv(REQUIRE_ALL_ENV, "1")
    with pytest.raises(pytest.fail.Exception,
                       match=r"needs bubblewrap .*DISCOVER_TEST_REQUIRE_ALL=1.*not on PATH"):
        require(Component.BUBBLEWRAP)
    bwrap = _executable(tmp_path / "bwrap")
    assert require(Component.BUBBLEWRAP) == bwrap


def test_availability_is_validated() -> None:
    with pytest.raises(ValueError):
        Availability(Component.CHROMIUM, None)
    with pytest.raises(ValueError):
        Availability(Component.CHROMIUM, Path("/usr/bin/chromium"), "missing")


# One real test per component, run by pytest in a subprocess as it would on a machine
# without the component: the skip reason, and the failure under REQUIRE_ALL.
NEEDY_TESTS = [
    "tests/sandbox/test_private_root.py::test_the_report_names_the_launcher_and_its_private_root[bwrap]",
    "tests/archive/test_store.py::test_unknown_run_is_rejected[postgresql]",
    "tests/archive/browser/test_e2e_chromium.py::test_runs_list",
]


def _pytest(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items()
               if k not in (REQUIRE_ALL_ENV, ASSUME_MISSING_ENV, "PYTEST_ADDOPTS")}
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q",
                           "-rsfE", *args], cwd=ROOT, env={**environ, **env},
                          capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_missing_components_skip_in_one_line_or_fail_under_require_all() -> None:
    hidden = {ASSUME_MISSING_ENV: "bwrap,postgres,chromium"}
    skipped = _pytest(*NEEDY_TESTS, **hidden)
    assert skipped.returncode == 0, skipped.stdout + skipped.stderr
    assert "3 skipped" in skipped.stdout
    lines = [line for line in skipped.stdout.splitlines() if line.startswith("SKIPPED")]
    for component in Component:
        assert sum(line.endswith(missing_message(component)) for line in lines) == 1, lines
    failed = _pytest(*NEEDY_TESTS, **hidden, **{REQUIRE_ALL_ENV: "1"})
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "skipped" not in failed.stdout.splitlines()[-1]
    for component in Component:
        assert f"{missing_message(component)} [{REQUIRE_ALL_ENV}=1" in failed.stdout
