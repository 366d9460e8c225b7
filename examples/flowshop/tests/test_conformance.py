"""The flow shop passes discover's conformance kit, through its entry point."""

from __future__ import annotations

import pytest

pytest.importorskip("flowshop", reason="the plugin is not installed: pip install --no-deps -e "
                                       "examples/flowshop")

from discover.testing import ProblemConformance


class TestFlowshopConformance(ProblemConformance):
    """Resolved by name: the ``discover.problems`` entry point of the installed package."""

    problem_spec = "flowshop"
