"""One switch that cancels everything a run has in flight: its time limit and Ctrl-C.

A :class:`CancelScope` is shared by the model providers and the evaluator of one
run. Work in flight subscribes a callback (shut a socket down, kill a sandbox
worker) for as long as it runs; :meth:`CancelScope.cancel` runs every callback
at once, from whichever thread cancels (the deadline's timer, or the main
thread on Ctrl-C), so that nothing waits for a slow server or candidate.
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

TIME_LIMIT = "the run's time limit was reached"
"""The reason given when the deadline cancels the run's work."""

CTRL_C = "the run was interrupted (Ctrl-C)"
"""The reason given when Ctrl-C cancels the run's work."""


class CancelScope:
    """Cancellation of one run's work in flight, by deadline or on request.

    Parameters
    ----------
    deadline
        ``time.monotonic()`` value at which :meth:`start` makes the scope cancel
        itself (reason :data:`TIME_LIMIT`), or ``None`` for no deadline.

    Notes
    -----
    The first reason wins: a Ctrl-C after the deadline keeps the deadline's
    reason, so the archive says why the work was really cut.
    """

    def __init__(self, deadline: float | None = None) -> None:
        self.deadline = deadline
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._reason: str | None = None
        self._callbacks: dict[int, Callable[[], None]] = {}
        self._ids = itertools.count()
        self._timer: threading.Timer | None = None

    @property
    def cancelled(self) -> bool:
        """Whether the scope was cancelled."""
        return self._event.is_set()

    @property
    def reason(self) -> str | None:
        """Why it was cancelled (:data:`TIME_LIMIT`, :data:`CTRL_C`, …), ``None`` before."""
        return self._reason

    def left(self) -> float | None:
        """Seconds to the deadline (``None``: no deadline)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def wait(self, seconds: float) -> bool:
        """Sleep up to ``seconds``, waking at once on cancellation; True when cancelled."""
        return self._event.wait(max(seconds, 0.0))

    def cancel(self, reason: str) -> None:
        """Cancel (once): every subscribed callback runs now, in this thread."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            callbacks = list(self._callbacks.values())
            self._callbacks.clear()
        self._event.set()
        for callback in callbacks:
            try:
                callback()
            except Exception:  # one failed abort must not keep the others from running
                log.warning("cancelling work in flight failed", exc_info=True)

    def subscribe(self, callback: Callable[[], None]) -> Callable[[], None]:
        """Run ``callback`` on cancellation (at once if already cancelled).

        Returns
        -------
        Callable[[], None]
            Unsubscribes: call it when the work is over.
        """
        with self._lock:
            if self._reason is None:
                key = next(self._ids)
                self._callbacks[key] = callback
                return lambda: self._drop(key)
        callback()
        return lambda: None

    def _drop(self, key: int) -> None:
        with self._lock:
            self._callbacks.pop(key, None)

    def start(self) -> None:
        """Arm the deadline: a daemon timer cancels the scope when it passes."""
        if self.deadline is None or self._timer is not None:
            return
        self._timer = threading.Timer(max(self.deadline - time.monotonic(), 0.0),
                                      self.cancel, args=(TIME_LIMIT,))
        self._timer.daemon = True  # never keeps the process alive
        self._timer.name = "discover-deadline"
        self._timer.start()

    def close(self) -> None:
        """Disarm the deadline's timer (work already cancelled stays cancelled)."""
        if self._timer is not None:
            self._timer.cancel()
