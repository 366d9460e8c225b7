"""discover: evolutionary search for scheduling heuristics, scored against exact optima.

The command line is a thin layer over this API, which notebooks and scripts
use directly::

    import discover
    from discover.config import RunConfig

    result = discover.run(RunConfig.for_problem("smtt").with_overrides(budget=500, seed=1))
    report = discover.baselines("smtt", "n100.json", methods=["mdd", "mddc"])
    with discover.open_archive() as archive:
        discover.export(archive, f"r{result.run_id}", "best.py")  # a run's best program
        discover.export(archive, 42, "p42.py")                      # program 42

Names are imported lazily so that ``import discover`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:  # pragma: no cover
    from archive import Archive
    from discover.config import RunConfig
    from discover.exporting.standalone import ExportResult
    from discover.exporting.target import ExportTarget
    from discover.reporting.baselines import BaselineReport
    from discover.runner import RunResult

__all__ = ["__version__", "baselines", "export", "open_archive", "run"]


def run(config: RunConfig, **options: Any) -> RunResult:
    """Run (or, with ``resume=RUN_ID``, resume) a discovery; see :func:`discover.runner.run`."""
    from discover.runner import run as _run

    return _run(config, **options)


def baselines(problem: str, *paths: str, methods: list[str] | None = None,
              reference: str = "stored", time_limit: float | None = None,
              by_class: bool = False) -> BaselineReport:
    """Score classic heuristics on instance files.

    See :func:`discover.reporting.baselines.run_baselines` for the report's contents.
    """
    from discover.reporting.baselines import run_baselines
    from evaluators.registry import get_problem

    prob = get_problem(problem)
    instances = [inst for path in paths for inst in prob.load(path)]
    return run_baselines(prob, instances, methods, reference=reference,
                         time_limit=time_limit, by_class=by_class)


def open_archive(url: str | None = None) -> Archive:
    """Open (creating or upgrading) an archive; default ``sqlite:///runs/discover.sqlite``."""
    from archive import Archive

    return Archive.open(url)


def export(archive: Archive, target: int | str | ExportTarget, path: str) -> ExportResult:
    """Write the standalone module of a program or of a run's best program.

    ``target`` means what ``discover export TARGET`` means: a bare number (``42``,
    ``"p42"``) is a program id, a run is marked (``"r3"``, ``"run:3"``,
    ``ExportTarget.run(3)``); see :mod:`discover.exporting.target`.
    """
    from discover.exporting.target import export_target

    return export_target(archive, target, path)
