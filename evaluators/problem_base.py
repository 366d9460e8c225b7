"""A documented base class with the optional members of :class:`evaluators.base.Problem`.

A problem class that derives from :class:`ProblemBase` only writes what is
specific to it: name, description, candidate spec, seeds, heuristics, load,
generate, payload, validate, objective, reference, baseline source and export
contract. Everything else has a default here, so the core never has to ask
whether a member exists.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Self

from evaluators.base import ReferenceRole

if TYPE_CHECKING:
    from evaluators.contract import ExportContract


class ProblemBase:
    """Defaults for the optional members of the problem protocol.

    Attributes
    ----------
    summary_heuristics
        Empty: every heuristic is shown at the end of a run.
    run_defaults
        Empty: the framework's defaults apply.
    data_package
        None: no bundled instance sets.
    reference_role
        ``OPTIMUM``: references are optima or bounds, results are gaps.
    config_docs
        Empty: the framework's descriptions of the configuration keys apply.
    prompt_package
        When set, :meth:`prompt_template` reads ``prompt_file`` from this package.
    prompt_file
        File name of the prompt template inside ``prompt_package``.
    """

    name: str
    summary_heuristics: tuple[str, ...] = ()
    run_defaults: Mapping[str, Any] = {}
    data_package: str | None = None
    reference_role: ReferenceRole = ReferenceRole.OPTIMUM
    config_docs: Mapping[str, str] = {}
    prompt_package: str | None = None
    prompt_file: str = "prompt.j2"

    def for_heuristic(self, name: str) -> Self:
        """``self``: one configuration serves every heuristic."""
        return self

    def reference_heuristic(self, rule: str) -> str:
        """``rule`` itself: the heuristic of the configured reference rule's name.

        Parameters
        ----------
        rule
            The run configuration's reference rule (``evaluation.runtime_reference``).

        Returns
        -------
        str
            The name of the heuristic (a key of ``heuristics``) that discovered programs
            are compared against: the selection bar, the wins/losses, the run summary.
        """
        return rule

    def standalone_source(self, code: str) -> str:
        """``code`` itself: a whole-solution function runs on its own."""
        return code

    def export_contract(self) -> ExportContract:
        """No contract by default: export refuses the problem with this message."""
        raise KeyError(f"problem {self.name!r} defines no export contract")

    def prompt_template(self) -> str | None:
        """``prompt_file`` of ``prompt_package`` when set, else None (the generic block)."""
        if self.prompt_package is None:
            return None
        resource = importlib.resources.files(self.prompt_package) / self.prompt_file
        return resource.read_text(encoding="utf-8")
