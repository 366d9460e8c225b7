"""A pytest base class running every conformance check on one problem."""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

import pytest

from discover.testing import checks
from evaluators.base import GeneratorSpec, Problem


class ProblemConformance:
    """Inherit, set :attr:`problem_spec`, and pytest runs the conformance checks.

    Attributes
    ----------
    problem_spec
        The ``--problem`` text: a name, ``package.module:factory`` or a ``.py`` path.
    generator
        The family :func:`checks.check_generation` draws from.
    reference_time_limit
        Seconds per reference solve on the samples.
    reference_method
        The reference method that must be no worse than every heuristic (default:
        the problem's first); a problem whose first method is itself a heuristic
        reference (serving's oracle) names its best-known one here.
    invalid_outputs
        Problem-specific outputs that must be rejected, beyond :data:`checks.MALFORMED`.
    export_heuristic
        The baseline the export check exports (default: the first summary heuristic).
    sandbox_isolation
        ``"strict"`` (the default: what the acceptance asks for) or ``"auto"``.
    """

    problem_spec: ClassVar[str] = ""
    generator: ClassVar[GeneratorSpec] = GeneratorSpec(n=8, count=2)
    reference_time_limit: ClassVar[float] = 10.0
    reference_method: ClassVar[str | None] = None
    invalid_outputs: ClassVar[tuple[object, ...]] = ()
    export_heuristic: ClassVar[str | None] = None
    sandbox_isolation: ClassVar[str] = "strict"

    # Class-scoped fixtures are classmethods: they run once per class, before any
    # instance exists (pytest deprecates instance-method class fixtures).
    @pytest.fixture(scope="class")
    @classmethod
    def problem(cls) -> Problem[Any]:
        """The problem under test, resolved like the command line does."""
        from evaluators.registry import get_problem

        if not cls.problem_spec:
            pytest.fail(f"{cls.__name__}.problem_spec is not set")
        return get_problem(cls.problem_spec)

    @pytest.fixture(scope="class")
    @classmethod
    def samples(cls, problem: Problem[Any]) -> list[Any]:
        """The export contract's self-check instances."""
        return checks.sample_instances(problem)

    def test_protocol(self, problem: Problem[Any]) -> None:
        """Every protocol member is present and consistent."""
        checks.check_protocol(problem)

    def test_generation_is_seeded(self, problem: Problem[Any]) -> None:
        """The generator is a function of its seed."""
        checks.check_generation(problem, self.generator)

    def test_valid_outputs_accepted(self, problem: Problem[Any], samples: list[Any]) -> None:
        """Every heuristic's output validates."""
        checks.check_valid_outputs(problem, samples)

    def test_invalid_outputs_rejected(self, problem: Problem[Any], samples: list[Any]) -> None:
        """Malformed outputs are rejected with reasons."""
        checks.check_invalid_outputs_rejected(problem, samples, self.invalid_outputs)

    def test_references_not_worse_than_baselines(self, problem: Problem[Any],
                                                 samples: list[Any]) -> None:
        """References are no worse than any heuristic."""
        checks.check_references(problem, samples, self.reference_time_limit,
                                self.reference_method)

    def test_harness_runs_in_sandbox(self, problem: Problem[Any], samples: list[Any]) -> None:
        """Seed programs run in the (strict) sandbox and their outputs validate."""
        if self.sandbox_isolation == "strict":
            from sandbox.launch import private_root_problem

            reason = private_root_problem(problem.candidate_spec.sandbox_packages)
            if reason is not None:
                pytest.skip(f"strict sandbox unavailable here: {reason}")
        checks.check_sandbox(problem, samples, self.sandbox_isolation)

    def test_export_self_check(self, tmp_path: Path) -> None:
        """A baseline exports and its standalone self-check passes."""
        checks.check_export(self.problem_spec, tmp_path, self.export_heuristic)
