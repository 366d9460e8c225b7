"""Fixtures for the sandbox tests: the SMTT problem, honest instances, a strict pool."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import numpy as np
import pytest

from evaluators.base import GeneratorSpec
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import SandboxPool, SandboxWarning
from tests.sandbox.support import TEST_LIMITS
from tests.system_components import Component, require, require_strict_sandbox


@pytest.fixture(scope="session")
def smtt() -> SmttProblem:
    """The SMTT problem."""
    return SmttProblem()


@pytest.fixture(scope="session")
def honest_instances(smtt: SmttProblem) -> list[SmttInstance]:
    """A few generated instances for the honest control candidate."""
    return smtt.generate(GeneratorSpec(n=25, count=6, params={"rdd": 0.6, "tf": 0.6}),
                         np.random.default_rng(42))


@pytest.fixture(scope="session")
def strict_pool() -> Iterator[SandboxPool]:
    """A strict pool shared by the sandbox tests (skipped without bubblewrap; CI installs it)."""
    require_strict_sandbox()
    with SandboxPool(workers=2, isolation="strict", limits=TEST_LIMITS) as pool:
        yield pool


# The unshare launcher's cases are slow: the fast loop meets each case once, with bubblewrap
# (CI runs them all, and the sandbox suite once more with unshare as the default launcher).
@pytest.fixture(scope="session",
                params=["bwrap", pytest.param("unshare", marks=pytest.mark.slow)])
def mode_pool(request: pytest.FixtureRequest) -> Iterator[SandboxPool]:
    """One worker with each launcher: bubblewrap and the sandbox's own ``unshare`` root.

    One worker, so that consecutive requests meet the same worker (and its spare child).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)  # the fallback warns what it lacks
        if request.param == "bwrap":
            require(Component.BUBBLEWRAP)
            pool = SandboxPool(workers=1, isolation="strict", launcher="bwrap",
                               limits=TEST_LIMITS)
        else:
            pool = SandboxPool(workers=1, isolation="auto", launcher="unshare",
                               limits=TEST_LIMITS)
        pool.start()
    assert pool.isolation_report.launcher == request.param
    with pool:
        yield pool
