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
    """A strict pool shared by the sandbox tests (CI installs bubblewrap for it)."""
    with SandboxPool(workers=2, isolation="strict", limits=TEST_LIMITS) as pool:
        yield pool


@pytest.fixture(scope="session", params=["bwrap", "unshare"])
def mode_pool(request: pytest.FixtureRequest) -> Iterator[SandboxPool]:
    """One worker in each isolation mode: bubblewrap (strict) and the ``unshare`` fallback.

    One worker, so that consecutive requests meet the same worker (and its spare child).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SandboxWarning)  # the fallback warns what it lacks
        if request.param == "bwrap":
            pool = SandboxPool(workers=1, isolation="strict", limits=TEST_LIMITS)
        else:
            pool = SandboxPool(workers=1, isolation="auto", launcher="unshare",
                               limits=TEST_LIMITS)
        pool.start()
    assert pool.isolation_report.launcher == request.param
    with pool:
        yield pool
