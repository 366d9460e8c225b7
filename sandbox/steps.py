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

Tracing every line costs: the trace function is Python code called for every
event. A key function such as ``lambda j: (max(t + p[j], d[j]), j)``, called
n times per decision, has no branch: each call runs the same lines, so after its
first complete call its count is known and later calls add it at once, untraced
(:func:`straight_line`; 24-27 % less tracing time measured on 230 programs of
searches, with identical counts). The one difference from tracing it line by line:
a call that raises part-way counts as a complete one.

The count is reported by the child, so it is a measure for the search, not a
containment: the wall-clock and CPU limits still apply to a candidate that gets
around it.

A :class:`StepCounter` with a ``limit`` also stops the candidate once its
cumulative count over the batch passes the limit: it calls ``on_limit`` (in the
sandbox child: report and end the process, see :mod:`sandbox.child`) and raises
:class:`StepLimitReached` in the candidate's code. CPython removes a trace
function that raises, so a candidate that catches the exception would go on
untraced: that is why the child does not rely on the exception and ends at once
instead; in-process callers (tests) can.
"""

from __future__ import annotations

import contextlib
import dis
import inspect
import sys
from collections.abc import Callable, Iterator
from types import CodeType
from typing import Any

#: Code whose frames suspend and resume (generators, coroutines): a call does not run
#: the body from its start to its end.
_SUSPENDING = (inspect.CO_GENERATOR | inspect.CO_COROUTINE | inspect.CO_ITERABLE_COROUTINE
               | inspect.CO_ASYNC_GENERATOR)
_JUMPS = frozenset(dis.hasjrel) | frozenset(dis.hasjabs)
#: How the tracer treats a code object: another file's, traced by line, learning
#: its fixed count (straight-line code on its first complete call), counted at once.
_OTHER, _LINES, _LEARN, _FIXED = range(4)
#: The room of a counter without a limit (no count reaches it).
_UNLIMITED = 1 << 62


def line_weights(code: CodeType) -> dict[int, int]:
    """Bytecode instructions per source line of ``code`` (nested code objects apart)."""
    weights: dict[int, int] = {}
    for instruction in dis.get_instructions(code):
        line = instruction.positions.lineno if instruction.positions is not None else None
        if line is not None:
            weights[line] = weights.get(line, 0) + 1
    return weights


def straight_line(code: CodeType) -> bool:
    """Whether every complete call of ``code`` runs the same instructions in order.

    True for code without jumps (no loop, ``if``, conditional expression, ``and``/``or``
    or comprehension of its own), without exception handlers and that does not
    suspend (generators, coroutines). Its line events are then the same on every
    call that returns normally.
    """
    if code.co_flags & _SUSPENDING or code.co_exceptiontable:
        return False
    return not any(i.opcode in _JUMPS for i in dis.get_instructions(code))


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
    :func:`traced`.
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
        self.tracer, self._read, self._begin, self._charge = self._make_tracer(filename)
        self._begin(self._room())

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
        self._begin(self._room())

    def counted_sorted(self) -> Callable[..., list[Any]]:
        """``sorted`` for the candidate, charged ``n·⌈log2 n⌉`` steps for ``n`` items.

        The comparisons of a sort run in C, where the line tracer cannot see
        them; at n = 500 a short-list that sorts the pool at every decision ran
        at 11× MDDC's time while its traced steps stayed within the gate. One C
        comparison of key tuples costs about one step (0.86 of a bytecode of a
        key, measured). The key function's own calls are traced as usual.
        ``list.sort`` is not charged (its method cannot be replaced).
        """
        charge = self._charge
        real_sorted = sorted

        def counted(iterable: Any, /, *, key: Any = None, reverse: bool = False) -> list[Any]:
            items = list(iterable)
            if len(items) > 1:
                charge(len(items) * len(items).bit_length())
            return real_sorted(items, key=key, reverse=reverse)

        counted.__name__ = counted.__qualname__ = "sorted"
        return counted

    def _room(self) -> int:
        """Steps the current payload may take before the limit is passed."""
        return _UNLIMITED if self.limit is None else self.limit - self._before

    def _reached(self) -> None:
        if not self.over:
            self.over = True
            if self._on_limit is not None:
                self._on_limit(self)
        raise StepLimitReached(f"more than {self.limit:,} steps")

    def _make_tracer(self, filename: str) -> tuple[Callable[..., Any], Callable[[], int],
                                                   Callable[[int], None], Callable[[int], None]]:
        """The trace function, a reader of the payload's count, ``begin(room)`` and
        ``charge(steps)`` (work the tracer cannot see: :meth:`counted_sorted`).

        Frames of code from other files are not traced. A frame of
        :func:`straight_line` code is traced line by line on its first complete
        call; later calls add that call's count at once and run untraced (see the
        module docstring). The count and the room are closure cells, not list
        items: the comparison made at every event then costs nothing measurable.
        """
        count = 0
        room = 0
        reached = self._reached
        # id(code) -> (code, kind, detail); the code is kept so that its id is not reused.
        known: dict[int, tuple[CodeType, int, Any]] = {}

        def by_line(get: Callable[[int, int], int]) -> Callable[..., Any]:
            def local(frame: Any, event: str, arg: Any) -> Any:
                nonlocal count
                count += get(frame.f_lineno, 1) if event == "line" else 1
                if count > room:
                    reached()
                return local
            return local

        def learning(code: CodeType, get: Callable[[int, int], int]) -> Callable[..., Any]:
            own = 1  # the call event
            raised = False

            def local(frame: Any, event: str, arg: Any) -> Any:
                nonlocal count, own, raised
                weight = get(frame.f_lineno, 1) if event == "line" else 1
                count += weight
                own += weight
                if event == "exception":
                    raised = True  # left early: not the count of a complete call
                elif event == "return" and not raised:
                    known[id(code)] = (code, _FIXED, own)
                if count > room:
                    reached()
                return local
            return local

        def start(frame: Any, event: str, arg: Any) -> Any:
            nonlocal count
            code = frame.f_code
            entry: tuple[CodeType, int, Any] | None = known.get(id(code))
            if entry is None or entry[0] is not code:
                if code.co_filename != filename:
                    entry = (code, _OTHER, None)
                elif straight_line(code):
                    entry = (code, _LEARN, line_weights(code).get)
                else:
                    entry = (code, _LINES, by_line(line_weights(code).get))
                known[id(code)] = entry
            kind = entry[1]
            detail: Any = entry[2]
            if kind == _OTHER:
                return None
            if kind == _FIXED:
                count += detail
                if count > room:
                    reached()
                return None
            count += 1
            if count > room:
                reached()
            return detail if kind == _LINES else learning(code, detail)

        def read() -> int:
            return count

        def begin(allowed: int) -> None:
            nonlocal count, room
            count, room = 0, allowed

        def charge(steps: int) -> None:
            nonlocal count
            count += max(0, steps)
            if count > room:
                reached()

        return start, read, begin, charge
