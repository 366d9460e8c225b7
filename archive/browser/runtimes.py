"""Mean seconds per instance of a run's programs, read once and kept.

The runtime that matters for the gap-vs-runtime front is the sandbox-measured
time per instance, which lives inside each evaluation's per-instance JSON
(``"t"``); an evaluation's ``seconds`` column is the whole cascade's wall time,
overheads included. Parsing ten thousand per-instance arrays takes far longer
than a page may, so this cache parses each evaluation once: evaluations are
never changed after they are written and their ids grow, so a run's cache is
brought up to date by reading only evaluations with a larger id than the last
one seen. The browser fills it at start-up (:meth:`archive.browser.BrowserApp.warm`).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from archive.browser.run_digest import FrontPoint
from archive.models import EvaluationRow, ProgramRow
from archive.records import EvaluationStatus, Split

# In JSON text every quote inside a string is escaped (\"), so `"t":` can only be
# an object key: the regex reads exactly the "t" members without parsing the
# rest, about three times faster than json.loads on these arrays.
_SECONDS = re.compile(r'"t"\s*:\s*(-?[0-9][0-9.eE+-]*)')


def mean_seconds(per_instance: str | Sequence[Mapping[str, Any]] | None) -> float | None:
    """Mean of the ``"t"`` values of stored per-instance results (``None`` if none).

    Accepts the column's JSON text (SQLite) or the already decoded list (drivers
    that decode JSON columns themselves).
    """
    if per_instance is None:
        return None
    if isinstance(per_instance, str):
        times = [float(t) for t in _SECONDS.findall(per_instance)]
    else:
        times = [float(r["t"]) for r in per_instance
                 if isinstance(r, Mapping) and r.get("t") is not None]
    return sum(times) / len(times) if times else None


@dataclass
class _RunEntry:
    last_id: int = 0
    points: dict[int, FrontPoint] = field(default_factory=dict)
    """Program id → its gap and mean seconds per instance (OK train evaluation)."""


class RuntimeCache:
    """Per run: every OK train evaluation as a point on the gap-vs-runtime plane.

    The points are built once per evaluation and handed out again, so the run
    page does not rebuild ten thousand of them whenever the run changes.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._runs: dict[int, _RunEntry] = {}

    def points(self, session: Session, run_id: int) -> dict[int, FrontPoint]:
        """The run's points by program id, reading only evaluations not seen before."""
        with self._lock:
            entry = self._runs.setdefault(run_id, _RunEntry())
            # A range of evaluation ids, each checked against its program by a
            # correlated EXISTS, so a refresh with nothing new does not walk the run.
            member = sa.exists().where(ProgramRow.id == EvaluationRow.program_id,
                                       ProgramRow.run_id == run_id)
            rows = session.connection().execute(
                sa.select(EvaluationRow.id, EvaluationRow.program_id, EvaluationRow.gap,
                          sa.type_coerce(EvaluationRow.per_instance, sa.Text))
                .where(EvaluationRow.id > entry.last_id, member,
                       EvaluationRow.split == Split.TRAIN,
                       EvaluationRow.status == EvaluationStatus.OK)
                .order_by(EvaluationRow.id)
            )
            for eval_id, program_id, gap, per_instance in rows:
                value = mean_seconds(per_instance)
                if value is not None and gap is not None:
                    entry.points[program_id] = FrontPoint(program_id, float(gap), value)
                entry.last_id = max(entry.last_id, eval_id)
            return dict(entry.points)
