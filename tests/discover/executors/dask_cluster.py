"""A real Dask cluster for tests: scheduler and workers as separate processes on 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

START_TIMEOUT = 120.0


class DaskProcesses:
    """Starts ``python -m distributed.cli.dask_scheduler`` / ``dask_worker`` and kills them.

    Workers run without a nanny, so killing one removes it for good (a nanny
    would restart it), and with one thread each, like ``dask-local:N``.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.scheduler: subprocess.Popen[bytes] | None = None
        self.address = ""
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self._count = 0
        self._frozen: list[int] = []

    def start_scheduler(self) -> str:
        """Start a scheduler on a free port; return its ``tcp://`` address."""
        self._count += 1
        info = self.directory / f"scheduler-{self._count}.json"
        self.scheduler = self._spawn(
            ["distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", "0",
             "--no-dashboard", "--scheduler-file", str(info)], f"scheduler-{self._count}")
        deadline = time.monotonic() + START_TIMEOUT
        while not info.exists() or not info.read_text().strip():
            if self.scheduler.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the scheduler did not start: "
                                   + self._log(f"scheduler-{self._count}"))
            time.sleep(0.1)
        time.sleep(0.2)  # the file is written before the JSON is complete on slow machines
        self.address = str(json.loads(info.read_text())["address"])
        return self.address

    def start_cluster(self, *names: str) -> str:
        """Start a scheduler and the named workers, and wait until every worker has joined."""
        from distributed import Client

        self.start_scheduler()
        for name in names:
            self.add_worker(name)
        with Client(self.address, timeout=60, set_as_default=False) as client:
            client.wait_for_workers(len(names), timeout=120)
        return self.address

    def add_worker(self, name: str) -> subprocess.Popen[bytes]:
        """Start one single-threaded worker connected to the current scheduler."""
        proc = self._spawn(
            ["distributed.cli.dask_worker", self.address, "--nthreads", "1", "--no-nanny",
             "--no-dashboard", "--name", name, "--death-timeout", "60",
             "--local-directory", str(self.directory / name)], name)
        self.workers[name] = proc
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a process and its whole session (its sandbox workers too)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()

    def freeze(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGSTOP a process: alive and connected, but it neither works nor heartbeats."""
        os.kill(proc.pid, signal.SIGSTOP)
        self._frozen.append(proc.pid)

    def thaw(self) -> None:
        """SIGCONT every frozen process (a client's close talks to every worker)."""
        while self._frozen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self._frozen.pop(), signal.SIGCONT)

    def close(self) -> None:
        """Thaw, then kill everything still running."""
        self.thaw()
        for proc in [*self.workers.values(), *([self.scheduler] if self.scheduler else [])]:
            self.kill(proc)

    def _spawn(self, args: list[str], name: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
        log = open(self.directory / f"{name}.log", "wb")  # noqa: SIM115 - kept by the child
        try:
            return subprocess.Popen([sys.executable, "-m", *args], stdout=log, stderr=log,
                                    env=env, start_new_session=True, cwd=self.directory)
        finally:
            log.close()

    def _log(self, name: str) -> str:
        path = self.directory / f"{name}.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""
