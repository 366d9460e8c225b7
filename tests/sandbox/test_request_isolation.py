"""Nothing of an earlier request is reachable from a candidate child (issue 18, finding 2).

A worker forks the next candidate's child (the spare) while the previous candidate
runs, deep inside the handling of that request. A snooping candidate walks every
frame above its own and every object the garbage collector knows (frozen ones
included) for two markers: a string planted in the previous candidate's source,
and a number that only occurs in another batch's payloads (a held-out set). Before
the fix it found both; now it must find neither, in both isolation modes.
"""

from __future__ import annotations

import uuid

from sandbox import OutcomeStatus, SandboxPool
from tests.sandbox.support import HOSTILE_SPEC

HELD_OUT_MARK = 987_654_321
"""Occurs only in the held-out batch's payloads."""
SOURCE_MARK = f"prev-src-{uuid.uuid4().hex[:12]}"
"""Occurs only in the previous candidate's source."""

PREVIOUS = f"""\
SECRET = "{SOURCE_MARK}"
def schedule(processing_times, due_dates):
    return sorted(range(len(due_dates)), key=lambda j: (due_dates[j], j))
"""

# The snooper never holds the markers as constants (it would find itself): it
# builds them from their reversed text, and ignores the one string it built.
SNOOPER = """\
import gc, sys

REV_SOURCE = {rev_source!r}
REV_NUMBER = {rev_number!r}

marker = "".join(reversed(REV_SOURCE))
raw = marker.encode()
number = int("".join(reversed(REV_NUMBER)))
raw_number = str(number).encode()
found = []
calls = []


def look(value, where, number, raw_number, depth=0):
    if isinstance(value, str):
        if value is not marker and marker in value:
            found.append("source in " + where)
    elif isinstance(value, (bytes, bytearray)):
        if value is not raw and value is not raw_number and (raw in value
                                                             or raw_number in value):
            found.append("bytes in " + where)
    elif type(value) in (list, tuple) and depth < 4:  # exact: no lazy subclasses
        if any(type(x) is int and x == number for x in value):
            found.append("payload in " + where)
        for x in value:
            if isinstance(x, (str, bytes, bytearray, list, tuple, dict)):
                look(x, where, number, raw_number, depth + 1)
    elif type(value) is dict and depth < 4:
        for k, v in list(value.items()):
            look(k, where, number, raw_number, depth + 1)
            look(v, where, number, raw_number, depth + 1)


def schedule(processing_times, due_dates):
    if calls:  # one search per child: later calls would meet the first one's garbage
        return sorted(range(len(due_dates)))
    calls.append(1)
    frame = sys._getframe()
    while frame is not None:
        look(dict(frame.f_locals), "frame " + frame.f_code.co_name, number, raw_number)
        frame = frame.f_back
    gc.unfreeze()
    for obj in gc.get_objects():
        if obj is found or obj is calls:
            continue
        look(obj, "gc " + type(obj).__name__, number, raw_number, 3)
        for ref in gc.get_referents(obj):
            if isinstance(ref, (str, bytes, bytearray)):
                look(ref, "gc ref of " + type(obj).__name__, number, raw_number)
    if found:
        raise RuntimeError("LEAK " + "; ".join(sorted(set(found))[:10]))
    return sorted(range(len(due_dates)))
"""


def _payloads(count: int, due_extra: int | None = None) -> list[dict[str, list[int]]]:
    payloads = []
    for k in range(count):
        due = [10 + k, 20, 30, 40]
        if due_extra is not None:
            due[0] = due_extra
        payloads.append({"processing_times": [3, 4, 5, 6 + k], "due_dates": due})
    return payloads


def test_no_earlier_request_is_reachable(mode_pool: SandboxPool) -> None:
    own = _payloads(3)
    held_out = _payloads(4, due_extra=HELD_OUT_MARK)
    snooper = SNOOPER.format(rev_source=SOURCE_MARK[::-1], rev_number=str(HELD_OUT_MARK)[::-1])
    # The snooper works: it finds what is really in its reach (its own batch's numbers
    # pass through the same search), so a clean result means nothing is there.
    control = snooper.replace("int(\"\".join(reversed(REV_NUMBER)))", "20")
    outcome = mode_pool.run(control, HOSTILE_SPEC, own, 20.0, check=False)
    assert outcome.status is OutcomeStatus.EXCEPTION, outcome.describe()
    assert "LEAK" in outcome.error.message and "payload in" in outcome.error.message

    for _ in range(2):  # the second round meets a spare forked during a held-out request
        first = mode_pool.run(PREVIOUS, HOSTILE_SPEC, own, 10.0, check=False)
        assert first.status is OutcomeStatus.OK, first.describe()
        held = mode_pool.run(PREVIOUS, HOSTILE_SPEC, held_out, 10.0, check=False)
        assert held.status is OutcomeStatus.OK, held.describe()
        outcome = mode_pool.run(snooper, HOSTILE_SPEC, own, 20.0, check=False)
        assert outcome.status is OutcomeStatus.OK, outcome.describe()
