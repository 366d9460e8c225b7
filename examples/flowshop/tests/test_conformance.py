"""The flow shop passes discover's conformance kit, through its entry point."""

from __future__ import annotations

from discover.testing import ProblemConformance


class TestFlowshopConformance(ProblemConformance):
    """Resolved by name: the ``discover.problems`` entry point of the installed package."""

    problem_spec = "flowshop"
