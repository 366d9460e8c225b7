"""System components some tests need, found in one place so every skip reads the same.

Three groups of tests need something pip cannot install:

========== =========================== ===============================================
component  Debian package              tests
========== =========================== ===============================================
bwrap      ``bubblewrap``              strict sandbox isolation (``tests/sandbox``,
                                       ``discover eval --sandbox strict``) — only where
                                       the kernel also refuses the sandbox's own
                                       ``unshare`` root (:func:`require_strict_sandbox`)
postgres   ``postgresql``              every archive test's PostgreSQL case
                                       (``archive_url``/``postgres_url`` fixtures)
chromium   ``chromium``                the archive browser in a real browser
                                       (``tests/archive/browser/test_e2e_chromium.py``)
========== =========================== ===============================================

A test that needs a component calls :func:`require` (or uses a fixture that does). When the
component is installed the test uses it; PostgreSQL needs no server running: without
``DISCOVER_TEST_POSTGRES_URL`` the ``postgres_server`` fixture starts a throwaway cluster
from the installed server binaries with ``.ci/postgres.sh`` and stops it at session end.
When it is not installed the test is skipped with one line naming the package, e.g.
``needs bubblewrap (apt-get install bubblewrap) for strict sandbox isolation``.
Installed but broken (``bwrap`` without user namespaces, a cluster that does not start)
is a failure, not a skip: the package is there, so its tests must work.

Environment variables
---------------------
``DISCOVER_TEST_REQUIRE_ALL=1``
    Every missing component FAILS the test instead of skipping it. ``.ci/run`` installs
    all the packages and sets this, so CI cannot pass with a component silently missing.
``DISCOVER_TEST_ASSUME_MISSING=bwrap,postgres,chromium``
    Treat the named components as not installed (even a ``DISCOVER_TEST_POSTGRES_URL``
    server), to skip their tests on purpose or to check the skip path on a machine that
    has them (this replaces the former ``DISCOVER_TEST_NO_POSTGRES=1``). An unknown name
    is an error.
``DISCOVER_TEST_POSTGRES_URL``
    Use this PostgreSQL server instead of starting one (see ``tests/postgres_fixtures.py``).
"""

from __future__ import annotations

import enum
import functools
import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

REQUIRE_ALL_ENV = "DISCOVER_TEST_REQUIRE_ALL"
ASSUME_MISSING_ENV = "DISCOVER_TEST_ASSUME_MISSING"
POSTGRES_URL_ENV = "DISCOVER_TEST_POSTGRES_URL"
POSTGRES_LIB = Path("/usr/lib/postgresql")  # Debian: one ``VERSION/bin`` per server version


class Component(enum.Enum):
    """A system component that some tests need."""

    BUBBLEWRAP = "bwrap"
    POSTGRES = "postgres"
    CHROMIUM = "chromium"


@dataclass(frozen=True)
class ComponentInfo:
    """What a component is called, which package provides it and what it is for."""

    package: str
    purpose: str

    def __post_init__(self) -> None:
        if not self.package or not self.purpose:
            raise ValueError("a component needs a package and a purpose")


INFO: dict[Component, ComponentInfo] = {
    Component.BUBBLEWRAP: ComponentInfo("bubblewrap", "strict sandbox isolation"),
    Component.POSTGRES: ComponentInfo("postgresql", "the archive's PostgreSQL backend"),
    Component.CHROMIUM: ComponentInfo("chromium", "the archive browser's end-to-end tests"),
}


@dataclass(frozen=True)
class Availability:
    """Whether a component can be used here, and where it is.

    Attributes
    ----------
    component
        The component looked for.
    path
        The program found (``bwrap``, ``chromium``, PostgreSQL's ``initdb``), or ``None``.
    detail
        Why it is missing (empty when it is available).
    """

    component: Component
    path: Path | None
    detail: str = ""

    def __post_init__(self) -> None:
        if (self.path is None) == (not self.detail):
            raise ValueError("an availability has either a path or a reason it is missing")

    @property
    def available(self) -> bool:
        """Whether the tests that need the component can run."""
        return self.path is not None


def missing_message(component: Component) -> str:
    """The one-line reason a test that needs ``component`` does not run."""
    info = INFO[component]
    return f"needs {info.package} (apt-get install {info.package}) for {info.purpose}"


def require_all() -> bool:
    """Whether ``DISCOVER_TEST_REQUIRE_ALL=1`` turns skips for missing components into failures."""
    value = os.environ.get(REQUIRE_ALL_ENV, "")
    if value not in ("", "0", "1"):
        raise ValueError(f"{REQUIRE_ALL_ENV} must be 0 or 1, not {value!r}")
    return value == "1"


def assumed_missing() -> frozenset[Component]:
    """The components ``DISCOVER_TEST_ASSUME_MISSING`` (comma-separated) hides."""
    names = [n.strip() for n in os.environ.get(ASSUME_MISSING_ENV, "").split(",") if n.strip()]
    known = {c.value: c for c in Component}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"{ASSUME_MISSING_ENV}: unknown component(s) {', '.join(unknown)}; "
                         f"known: {', '.join(known)}")
    return frozenset(known[n] for n in names)


def postgres_bindir() -> Path | None:
    """The newest PostgreSQL server ``bin`` directory with ``initdb`` and ``pg_ctl``.

    The same search as ``.ci/postgres.sh``: ``/usr/lib/postgresql/*/bin`` (Debian puts the
    server programs there, off ``PATH``), newest version first, then ``initdb`` on ``PATH``.
    """
    def version(bindir: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in bindir.parent.name.split(".") if part.isdigit())

    candidates = sorted(POSTGRES_LIB.glob("*/bin"), key=version, reverse=True)
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append(Path(on_path).parent)
    for bindir in candidates:
        if all(os.access(bindir / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return bindir
    return None


def find(component: Component) -> Availability:
    """Look for ``component`` on this machine (honouring ``DISCOVER_TEST_ASSUME_MISSING``).

    PostgreSQL counts as installed when its server programs are (``DISCOVER_TEST_POSTGRES_URL``
    is the ``postgres_server`` fixture's business, not this function's).
    """
    if component in assumed_missing():
        return Availability(component, None, f"{ASSUME_MISSING_ENV} names it")
    if component is Component.BUBBLEWRAP:
        # The sandbox itself looks bwrap up on PATH (sandbox/launch.py).
        tool = shutil.which("bwrap")
        return Availability(component, Path(tool) if tool else None,
                            "" if tool else "bwrap is not on PATH")
    if component is Component.CHROMIUM:
        tool = shutil.which("chromium")
        return Availability(component, Path(tool) if tool else None,
                            "" if tool else "chromium is not on PATH")
    bindir = postgres_bindir()
    if bindir is None:
        return Availability(component, None, "no initdb and pg_ctl in /usr/lib/postgresql/*/bin "
                            "or on PATH")
    if os.geteuid() == 0:
        # initdb refuses root, so .ci/postgres.sh runs the cluster as `postgres`.
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return Availability(component, None, "running as root and there is no postgres user")
    return Availability(component, bindir / "initdb")


def _settings_error(exc: ValueError) -> NoReturn:
    pytest.fail(str(exc), pytrace=False)  # a bad variable: one line, not a traceback


def hidden(component: Component) -> bool:
    """Whether ``DISCOVER_TEST_ASSUME_MISSING`` names ``component`` (a bad value fails)."""
    try:
        return component in assumed_missing()
    except ValueError as exc:
        _settings_error(exc)


def require(component: Component) -> Path:
    """The component's program, or skip the test with one line (fail under REQUIRE_ALL).

    Returns
    -------
    Path
        ``bwrap``, ``chromium``, or PostgreSQL's ``initdb`` (whose directory
        ``.ci/postgres.sh`` starts a cluster from).
    """
    try:
        found, strict = find(component), require_all()
    except ValueError as exc:
        _settings_error(exc)
    if found.path is not None:
        return found.path
    message = missing_message(component)
    if strict:
        pytest.fail(f"{message} [{REQUIRE_ALL_ENV}=1: nothing may be skipped; {found.detail}]",
                    pytrace=False)
    pytest.skip(message)


@functools.cache
def _private_root_problem() -> str | None:
    from sandbox.launch import private_root_problem

    return private_root_problem()


def require_strict_sandbox() -> None:
    """Skip (fail under REQUIRE_ALL) unless ``isolation="strict"`` can start here.

    Strict isolation needs a private read-only root: bubblewrap's, or the sandbox's own
    ``unshare`` launcher (``sandbox/privroot.py``) where the kernel allows unprivileged
    user namespaces. Only when neither works is bubblewrap what is missing.
    """
    if find(Component.BUBBLEWRAP).available:
        return
    if _private_root_problem() is None:
        return
    require(Component.BUBBLEWRAP)
