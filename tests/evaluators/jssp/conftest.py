"""Fixtures for the job-shop tests: the ScheduleOpt benchmark files and tiny instances."""

from __future__ import annotations

from pathlib import Path

import pytest

from evaluators.bundled import data_dir
from evaluators.jssp.instance import JsspInstance
from evaluators.jssp.loaders import load_file


@pytest.fixture(scope="session")
def scheduleopt_dir() -> Path:
    """The bundled ScheduleOpt files (``evaluators/jssp/data/scheduleopt``)."""
    return data_dir("jssp") / "scheduleopt"


@pytest.fixture(scope="session")
def taillard_dir(scheduleopt_dir: Path) -> Path:
    """The Taillard (1993) instance files."""
    return scheduleopt_dir / "instances" / "Taillard1993"


@pytest.fixture(scope="session")
def ft06(scheduleopt_dir: Path) -> JsspInstance:
    """Fisher & Thompson's 6x6 instance (optimum 55)."""
    return load_file(scheduleopt_dir / "instances" / "FisherThompson1963" / "ft06.txt")


@pytest.fixture()
def tiny() -> JsspInstance:
    """3 jobs x 2 machines, small enough to check schedules by hand."""
    return JsspInstance(
        machines=((0, 1), (1, 0), (0, 1)),
        durations=((3, 2), (2, 4), (1, 1)),
        name="tiny",
    )
