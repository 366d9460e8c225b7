"""Fixtures for the sandbox tests: the SMTT problem, honest instances, a strict pool."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from evaluators.base import GeneratorSpec
from evaluators.smtt.instance import SmttInstance
from evaluators.smtt.problem import SmttProblem
from sandbox import SandboxPool
from tests.sandbox.support import TEST_LIMITS
from tests.system_components import require_strict_sandbox


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
