"""When this process started, on the monotonic clock: what ``--time-limit`` counts from.

A user who gives ``--time-limit 240`` expects the command to end near 240 s after
they pressed Enter, not 240 s after the interpreter, the imports and the
argument parsing were done (seconds on a loaded machine). Linux records each
process's start in ``/proc/self/stat`` in clock ticks since boot, and
``CLOCK_BOOTTIME`` reads the same clock: their difference is the process's age.
"""

from __future__ import annotations

import gc
import os
import time


def process_start() -> float:
    """``time.monotonic()`` value at which this process started (now, if unknown)."""
    now = time.monotonic()
    try:
        with open("/proc/self/stat", encoding="ascii") as stat:
            # Field 22 (starttime); the command name (field 2) may contain spaces: skip past ")".
            fields = stat.read().rsplit(")", 1)[1].split()
        started = int(fields[19]) / os.sysconf("SC_CLK_TCK")
        # starttime is on the boot clock (suspend included), like CLOCK_BOOTTIME.
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - started
    except (OSError, ValueError, IndexError, AttributeError):
        return now
    return now - age if 0.0 <= age < 600.0 else now  # only a plausible age is believed


def skip_final_collection() -> None:
    """Spare the interpreter its last full garbage collection, once the command's work is done.

    After a run the heap is large (SDKs, SQLAlchemy, OR-Tools, numba), and the
    collection Python makes at exit took 5 s on a loaded machine, after the run's
    results were archived and printed: a command given ``--time-limit`` or
    interrupted with Ctrl-C would end that much later. Frozen objects are skipped
    by that collection; the operating system frees the memory anyway.
    """
    gc.freeze()
