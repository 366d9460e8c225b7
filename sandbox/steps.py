"""Steps: a measure of a candidate's work that does not depend on the machine.

CPU time is a measurement: on a shared machine the same program takes more or less
of it from run to run, so a decision such as "at most twice the reference's time"
flips for a program near the limit, and the same seed gives a different search.
A step count depends only on the path the program takes.

Each line the candidate's code executes counts the bytecode instructions that line
compiles to (its *weight*, read once per code object with :mod:`dis`), and each
call, return and exception event counts one. Counting every line as one would be
cheaper to explain but wrong: a rule whose key is one long expression does five
times MDD's work on one line, and measured on 2,000 programs of a search its line
count stayed under 2× MDD's while its CPU time was 5–10×; the weighted count
follows CPU time within about 25 % (docs/offline-engine.md). Work inside C
functions (``sorted``, list slicing, ``min`` over a list) counts only through the
candidate's Python callbacks.

The count is reported by the child, so it is a measure for the search, not a
containment: the wall-clock and CPU limits still apply to a candidate that gets
around it.

A :class:`StepCounter` with a ``limit`` also stops the candidate once its
cumulative count over the batch passes the limit: it calls ``on_limit`` (in the
sandbox child: report and end the process, see :mod:`sandbox.child`) and raises
:class:`StepLimitReached` in the candidate's code, again on every traced event
that follows. CPython removes a trace function that raises, so a candidate that
catches the exception would go on untraced: that is why the child does not rely
on the exception and ends at once instead; in-process callers (tests) can.
"""

from __future__ import annotations

import contextlib
import dis
import sys
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any


def line_weights(code: CodeType) -> dict[int, int]:
    """Bytecode instructions per source line of ``code`` (nested code objects apart)."""
    weights: dict[int, int] = {}
    for instruction in dis.get_instructions(code):
        line = instruction.positions.lineno if instruction.positions is not None else None
        if line is not None:
            weights[line] = weights.get(line, 0) + 1
    return weights


class StepLimitReached(BaseException):
    """The candidate's cumulative step count passed its limit (raised in its code).

    A :class:`BaseException`, like :class:`KeyboardInterrupt`, so that an
    ``except Exception`` in the candidate does not catch it.
    """


def check_step_limit(step_limit: object, count_steps: bool) -> None:
    """Check a ``step_limit`` argument: None, or a positive int with ``count_steps``.

    Raises
    ------
    ValueError
        For a limit that is not a positive integer, or one without ``count_steps``
        (a limit needs counting; asking for both keeps the counts explicit).
    """
    if step_limit is None:
        return
    if type(step_limit) is not int or step_limit < 1:
        raise ValueError(f"step_limit must be a positive integer, got {step_limit!r}")
    if not count_steps:
        raise ValueError("step_limit needs count_steps=True")


def counting_tracer(filename: str) -> tuple[Callable[..., Any], list[int]]:
    """A :func:`sys.settrace` function that counts the steps of code from ``filename``.

    Frames whose code comes from another file (the harness, the standard library)
    are not traced.

    Returns
    -------
    tuple
        The trace function and a one-element list holding the running count.
    """
    count = [0]
    tables: dict[CodeType, dict[int, int]] = {}

    def local(frame: Any, event: str, arg: Any) -> Any:
        if event == "line":
            count[0] += tables[frame.f_code].get(frame.f_lineno, 1)
        else:
            count[0] += 1
        return local

    def start(frame: Any, event: str, arg: Any) -> Any:
        code = frame.f_code
        if code.co_filename != filename:
            return None
        if code not in tables:
            tables[code] = line_weights(code)
        count[0] += 1
        return local

    return start, count


@contextlib.contextmanager
def traced(tracer: Callable[..., Any] | None) -> Iterator[None]:
    """Run the block under ``tracer`` (nothing when None), then restore the previous one."""
    if tracer is None:
        yield
        return
    previous = sys.gettrace()
    sys.settrace(tracer)
    try:
        yield
    finally:
        sys.settrace(previous)


class StepCounter:
    """Steps of the candidate's code per payload, and a limit on their sum over the batch.

    Parameters
    ----------
    filename
        The candidate's file: only frames of code from it are traced.
    limit
        Steps allowed on the whole batch (the sum over payloads), or None for no limit.
    on_limit
        Called once, from the tracer, when the cumulative count first exceeds
        ``limit`` (:attr:`over` is then set); the tracer then raises
        :class:`StepLimitReached`. The sandbox child ends the process here.

    Notes
    -----
    Call :meth:`next_payload` before each payload; :attr:`tracer` goes to
    :func:`traced`. Without a limit the tracer is :func:`counting_tracer`'s.
    """

    def __init__(self, filename: str, limit: int | None = None,
                 on_limit: Callable[[StepCounter], None] | None = None) -> None:
        check_step_limit(limit, True)
        self.limit = limit
        self.over = False
        """Whether the cumulative count has passed :attr:`limit`."""
        self.payload = -1
        """Index of the current payload (-1 before the first)."""
        self._before = 0
        self._on_limit = on_limit
        self.tracer: Callable[..., Any]
        self._read: Callable[[], int]
        self._begin: Callable[[int], None]
        if limit is None:
            self.tracer, cell = counting_tracer(filename)
            self._read = lambda: cell[0]
            self._begin = lambda room: cell.__setitem__(0, 0)
        else:
            self.tracer, self._read, self._begin = self._limited_tracer(filename)

    @property
    def count(self) -> int:
        """Steps of the current payload."""
        return self._read()

    @property
    def total(self) -> int:
        """Steps of the batch so far (the current payload's included)."""
        return self._before + self._read()

    def next_payload(self) -> None:
        """Start counting the next payload (its count from 0; the total carries on)."""
        self._before += self._read()
        self.payload += 1
        self._begin(0 if self.limit is None else self.limit - self._before)

    def _reached(self) -> None:
        if not self.over:
            self.over = True
            if self._on_limit is not None:
                self._on_limit(self)
        raise StepLimitReached(f"more than {self.limit:,} steps")

    def _limited_tracer(self, filename: str) -> tuple[Callable[..., Any], Callable[[], int],
                                                      Callable[[int], None]]:
        """Like :func:`counting_tracer`, calling :meth:`_reached` once the payload's count
        passes its room (what the limit leaves after the earlier payloads).

        Returns the tracer, a reader of the count, and ``begin(room)`` that starts a
        payload. The count and the room are closure cells, not list items: a
        comparison per event then costs nothing measurable.
        """
        count = 0
        room = 0
        tables: dict[CodeType, dict[int, int]] = {}
        reached = self._reached

        def local(frame: Any, event: str, arg: Any) -> Any:
            nonlocal count
            if event == "line":
                count += tables[frame.f_code].get(frame.f_lineno, 1)
            else:
                count += 1
            if count > room:
                reached()
            return local

        def start(frame: Any, event: str, arg: Any) -> Any:
            nonlocal count
            code = frame.f_code
            if code.co_filename != filename:
                return None
            if code not in tables:
                tables[code] = line_weights(code)
            count += 1
            if count > room:
                reached()
            return local

        def read() -> int:
            return count

        def begin(allowed: int) -> None:
            nonlocal count, room
            count, room = 0, allowed

        return start, read, begin
