"""What ``discover export TARGET`` and :func:`discover.export` mean by a target.

One meaning everywhere, the same as the ``discover archive`` commands: a bare
number is a **program** id (``42``, ``"42"``, ``"p42"``, ``"program:42"``); a run
is always marked (``"r3"``, ``"run:3"``, or ``ExportTarget.run(3)``). A run's
target is its best program on the validation split (train when it has none).
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from archive import Archive
    from discover.exporting.standalone import ExportResult

# Parsing a target must stay cheap (``discover archive`` uses it), so the export
# machinery (sandbox, problems) is imported only when something is exported.

_RUN = re.compile(r"^(?:r|run[:#-]?)(\d+)$", re.IGNORECASE)
_PROGRAM = re.compile(r"^(?:p|program[:#-]?)?(\d+)$", re.IGNORECASE)


class TargetKind(enum.Enum):
    """Whether a target names one program or a run (its best program)."""

    PROGRAM = "program"
    RUN = "run"


@dataclass(frozen=True)
class ExportTarget:
    """A program or a run to export.

    Parameters
    ----------
    kind
        Program or run.
    id
        The program's or the run's id (positive).
    """

    kind: TargetKind
    id: int

    def __post_init__(self) -> None:
        if not isinstance(self.kind, TargetKind):
            raise TypeError(f"kind must be a TargetKind, got {self.kind!r}")
        if isinstance(self.id, bool) or not isinstance(self.id, int) or self.id < 1:
            raise ValueError(f"id must be a positive integer, got {self.id!r}")

    @classmethod
    def program(cls, program_id: int) -> ExportTarget:
        """Program ``program_id``."""
        return cls(TargetKind.PROGRAM, program_id)

    @classmethod
    def run(cls, run_id: int) -> ExportTarget:
        """The best program of run ``run_id``."""
        return cls(TargetKind.RUN, run_id)

    @classmethod
    def parse(cls, text: int | str | ExportTarget) -> ExportTarget:
        """``42``/``"p42"`` → program 42; ``"r3"``/``"run:3"`` → run 3.

        Raises
        ------
        ValueError
            If ``text`` is neither form.
        """
        if isinstance(text, ExportTarget):
            return text
        if isinstance(text, int) and not isinstance(text, bool):
            return cls.program(text)
        if not isinstance(text, str):
            raise ValueError(f"{text!r} is not a program id (42, p42) or run id (r3, run:3)")
        stripped = text.strip()
        match = _RUN.match(stripped)
        if match:
            return cls.run(int(match.group(1)))
        match = _PROGRAM.match(stripped)
        if match:
            return cls.program(int(match.group(1)))
        raise ValueError(f"{text!r} is not a program id (42, p42) or run id (r3, run:3)")

    def __str__(self) -> str:
        return f"r{self.id}" if self.kind is TargetKind.RUN else f"p{self.id}"


def export_target(archive: Archive, target: int | str | ExportTarget, path: str | Path, *,
                  timeout: float | None = None) -> ExportResult:
    """Export a program, or a run's best program, to ``path`` (see the module docstring).

    Raises
    ------
    ValueError
        If ``target`` is not a program or run id.
    ExportError
        If the program cannot be exported or fails its self-check.
    """
    from discover.exporting.standalone import DEFAULT_TIMEOUT, export_program, export_run

    parsed = ExportTarget.parse(target)
    seconds = DEFAULT_TIMEOUT if timeout is None else timeout
    if parsed.kind is TargetKind.RUN:
        return export_run(archive, parsed.id, path, timeout=seconds)
    return export_program(archive, parsed.id, path, timeout=seconds)
