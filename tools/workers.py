"""A real `celery worker` process, started the one way the test suite, the throughput benchmark
and the fault-injection workers all start theirs: its own process group (so that stop and kill
reach the prefork children), its own node name, its output appended to a log, ready once the log
says ` ready.`.

Not part of the runtime apps (the services start workers with ops/app.sh).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import IO


def readies(log_path: Path) -> int:
    """How many times a worker logging to `log_path` said it was ready."""
    return log_path.read_bytes().count(b" ready.") if log_path.exists() else 0


class CeleryWorker:
    """`celery -A <app> worker -c <concurrency> -n <name>@%h` (with beat when `beat_schedule` is
    given), logging to `log_path`. `start()` spawns it; `wait_ready()` waits for one more
    ` ready.` in the log than it held before the spawn."""

    process: subprocess.Popen[bytes]  # set by start()

    def __init__(self, log_path: Path, *, name: str, concurrency: int = 2, app: str = "cap01",
                 env: dict[str, str] | None = None, beat_schedule: Path | None = None,
                 prefetch: int | None = None, cwd: Path | str | None = None) -> None:
        self.log_path, self.name, self.concurrency = log_path, name, concurrency
        self.app, self.env, self.beat_schedule = app, env, beat_schedule
        self.prefetch, self.cwd = prefetch, cwd
        self._ready_before = 0
        self._log: IO[bytes] | None = None

    def args(self) -> list[str]:
        args = [sys.executable, "-m", "celery", "-A", self.app, "worker", "-l", "info",
                "-c", str(self.concurrency), "--without-gossip", "--without-mingle",
                "--without-heartbeat", "-n", f"{self.name}@%h"]
        if self.prefetch is not None:
            args += ["--prefetch-multiplier", str(self.prefetch)]
        if self.beat_schedule is not None:
            args += ["-B", "-s", str(self.beat_schedule)]
        return args

    def start(self) -> CeleryWorker:
        self._ready_before = readies(self.log_path)
        log = open(self.log_path, "ab")  # noqa: SIM115 (closed in stop / kill)
        self._log = log
        self.process = subprocess.Popen(self.args(), env=self.env, stdout=log,
                                        stderr=subprocess.STDOUT, start_new_session=True,
                                        cwd=self.cwd)
        return self

    @property
    def alive(self) -> bool:
        process = getattr(self, "process", None)
        return process is not None and process.poll() is None

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while readies(self.log_path) <= self._ready_before:
            if not self.alive:
                tail = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"the Celery worker exited: {tail}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the Celery worker was not ready in {timeout} s: "
                                   f"{self.log_path}")
            time.sleep(0.2)

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to the group (a warm shutdown), SIGKILL if it has not ended in `timeout`."""
        if self.alive:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        self._close()

    def kill(self) -> None:
        """kill -9 the worker and its children, as a crash would."""
        if getattr(self, "process", None) is not None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.process.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
