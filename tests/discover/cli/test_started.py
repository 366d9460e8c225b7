"""``--time-limit`` counts from the process's start: :func:`process_start` reads it."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.slow  # sleeps before reading, on purpose
def test_process_start_includes_the_time_spent_before_it_is_read() -> None:
    # The child sleeps 1.5 s before asking: its start lies at least that far back.
    code = ("import time; time.sleep(1.5); from discover.cli.started import process_start; "
            "print(time.monotonic() - process_start())")
    age = float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                               check=True, timeout=60).stdout)
    assert 1.5 <= age < 30.0, age
