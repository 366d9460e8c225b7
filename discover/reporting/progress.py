"""Ways to watch a run: a live terminal panel, quiet lines, or JSON lines."""

from __future__ import annotations

import json
import sys
import time
from collections import Counter
from typing import IO, Any

from rich.console import Console
from rich.live import Live
from rich.table import Table
from rich.text import Text

from discover.reporting.consoles import OutputConsole
from discover.reporting.events import (
    CandidateEvaluated,
    Event,
    ProviderTrouble,
    RunFinished,
    RunStarted,
    ValidationScored,
    event_to_dict,
)
from sandbox.text import visible


class RunStats:
    """Running totals derived from events (shared by the displays)."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self.budget = 0
        self.evaluated = 0
        self.first_evaluated = 0
        self.best_train: float | None = None
        self.best_validation: float | None = None
        self.statuses: Counter[str] = Counter()
        self.tokens_in = 0
        self.tokens_out = 0
        self.cost = 0.0
        self.run_id: int | None = None
        self.isolation = ""
        self.last_trouble = ""

    def update(self, event: Event) -> None:
        """Fold one event into the totals."""
        if isinstance(event, RunStarted):
            self.run_id, self.budget = event.run_id, event.budget
            self.evaluated = self.first_evaluated = event.evaluated
            self.isolation = event.isolation
        elif isinstance(event, CandidateEvaluated):
            self.evaluated = event.evaluated
            self.best_train = event.best_score
            self.statuses[event.status] += 1
            self.tokens_in += event.tokens_in
            self.tokens_out += event.tokens_out
            self.cost += event.cost
        elif isinstance(event, ValidationScored) and event.score is not None:
            if self.best_validation is None or event.score < self.best_validation:
                self.best_validation = event.score
        elif isinstance(event, ProviderTrouble):
            self.last_trouble = f"{event.model}: {event.message} (x{event.consecutive})"

    @property
    def rate(self) -> float:
        """Evaluations per second since this process started."""
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return (self.evaluated - self.first_evaluated) / elapsed


def _fmt(value: float | None, suffix: str = " %") -> str:
    return "—" if value is None else f"{value:.3f}{suffix}"


class LiveDisplay:
    """A rich panel refreshed in place: progress, rate, best scores, failures, cost."""

    def __init__(self, console: Console | None = None) -> None:
        self.stats = RunStats()
        self.console = console or OutputConsole(stderr=True)
        self._live: Live | None = None

    def _render(self) -> Table:
        s = self.stats
        table = Table.grid(padding=(0, 2))
        table.add_row("run", f"{s.run_id}  (sandbox: {s.isolation})")
        table.add_row("evaluated", f"{s.evaluated}/{s.budget}  ({s.rate:.1f}/s)")
        table.add_row("best train gap", _fmt(s.best_train))
        table.add_row("best validation gap", _fmt(s.best_validation))
        mix = ", ".join(f"{k} {v}" for k, v in s.statuses.most_common())
        table.add_row("outcomes", mix or "—")
        if s.tokens_in or s.tokens_out:
            table.add_row("tokens", f"{s.tokens_in} in / {s.tokens_out} out, ${s.cost:.4f}")
        if s.last_trouble:
            # A server's error text: printed literally, never as markup.
            table.add_row("provider", Text(visible(s.last_trouble)))
        return table

    def on_event(self, event: Event) -> None:
        """Update the totals and redraw."""
        self.stats.update(event)
        if isinstance(event, RunStarted) and self._live is None:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4,
                              transient=False)
            self._live.start()
        if self._live is not None:
            self._live.update(self._render())
        if isinstance(event, RunFinished) and self._live is not None:
            self._live.stop()
            self._live = None


class QuietDisplay:
    """One line at start, every ``every`` evaluations, and at the end."""

    def __init__(self, stream: IO[str] | None = None, every: int = 100) -> None:
        self.stats = RunStats()
        self.stream = stream or sys.stderr
        self.every = every
        self._last = -1

    def on_event(self, event: Event) -> None:
        """Print sparse progress lines."""
        self.stats.update(event)
        s = self.stats
        line = None
        if isinstance(event, RunStarted):
            line = f"run {event.run_id}: {event.problem}, budget {event.budget}, " \
                   f"sandbox {event.isolation}" + (" (resumed)" if event.resumed else "")
        elif isinstance(event, CandidateEvaluated) and event.evaluated % self.every == 0 \
                and event.evaluated != self._last:
            self._last = event.evaluated
            line = f"{s.evaluated}/{s.budget} evaluated, best train {_fmt(s.best_train)}, " \
                   f"{s.rate:.1f}/s"
        elif isinstance(event, RunFinished):
            line = f"run {event.run_id} {event.status}: {event.reason}"
        if line:
            print(line, file=self.stream, flush=True)


class JsonLinesWriter:
    """Every event as one JSON object per line (for scripts)."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream or sys.stdout

    def on_event(self, event: Event) -> None:
        """Write the event."""
        self.stream.write(json.dumps(event_to_dict(event), default=_default) + "\n")
        self.stream.flush()


def _default(value: Any) -> Any:
    return str(value)
