"""Export contracts, looked up through the problem's public API.

The contract type lives in :mod:`evaluators.contract`; each problem returns its
own from :meth:`evaluators.base.Problem.export_contract`. This module keeps the
names export code has always imported.
"""

from __future__ import annotations

from evaluators.contract import CALL_NAME, OBJECTIVE_NAME, ExportContract
from evaluators.registry import get_problem


def contract_for(problem: str) -> ExportContract:
    """The export contract of the problem named (or specified) by ``problem``.

    Raises
    ------
    KeyError
        When no such problem exists.
    """
    return get_problem(problem).export_contract()


__all__ = ["CALL_NAME", "OBJECTIVE_NAME", "ExportContract", "contract_for"]
