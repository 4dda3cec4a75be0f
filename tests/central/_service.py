"""A real ``interdict serve`` process on a loopback port, for the tests and the benchmark.

Started as a subprocess; :meth:`Service.start` returns once the process printed its
"listening on" line (no sleep, a deadline). Stopped with SIGTERM, or killed with SIGKILL.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[2]
READY = re.compile(r"listening on (https?://\S+)")


def _pump(stream: IO[str], lines: queue.Queue[str | None], log: list[str]) -> None:
    for line in stream:
        log.append(line)
        lines.put(line)
    lines.put(None)


class Service:
    """``interdict serve --db URL --listen 127.0.0.1:PORT`` as a child process."""

    def __init__(self, db: str, *, port: int = 0, extra: tuple[str, ...] = ()) -> None:
        self.db = db
        self.port = port
        self.extra = extra
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""
        self.output: list[str] = []

    def start(self, timeout_s: float = 60.0) -> str:
        """Start and wait for the ready line; returns the base URL."""
        env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "station.cli", "serve", "--db", self.db,
             "--listen", f"127.0.0.1:{self.port}", *self.extra],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        lines: queue.Queue[str | None] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=_pump, args=(self.proc.stdout, lines, self.output),
                         daemon=True).start()
        while True:
            try:
                line = lines.get(timeout=timeout_s)
            except queue.Empty:
                self.kill()
                raise RuntimeError("interdict serve did not get ready in time:\n"
                                   + "".join(self.output)) from None
            if line is None:
                raise RuntimeError("interdict serve exited:\n" + "".join(self.output))
            m = READY.search(line)
            if m:
                self.url = m.group(1)
                self.port = int(self.url.rsplit(":", 1)[1])
                return self.url

    def stop(self) -> int:
        """SIGTERM and wait; the exit code."""
        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=60)
        self.proc = None
        return code

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=60)
        self.proc = None

    def __enter__(self) -> Service:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.kill() if exc[0] is not None else self.stop()


__all__ = ["Service"]
