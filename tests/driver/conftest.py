"""Fixtures: the simulated analyzer as a separate process, on a pty or on TCP loopback."""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@dataclass
class Sim:
    url: str
    proc: subprocess.Popen[str]

    def trigger(self) -> None:
        """Press the trigger button (SIGUSR1)."""
        self.proc.send_signal(signal.SIGUSR1)


def start_sim(*args: str, tcp: bool = False) -> Sim:
    cmd = [sys.executable, "-m", "driver.simulator", *(["--tcp", "0"] if tcp else ["--pty"]),
           *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT)
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], 20)
    line = proc.stdout.readline() if ready else ""
    if not line.startswith("device: "):
        proc.kill()
        err = proc.stderr.read() if proc.stderr else ""
        raise RuntimeError(f"simulator did not start: {line!r} {err}")
    return Sim(line.split(": ", 1)[1].strip(), proc)


def stop_sim(sim: Sim) -> None:
    sim.proc.terminate()
    try:
        sim.proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        sim.proc.kill()
        sim.proc.wait()


@pytest.fixture
def simulator() -> Iterator[Callable[..., Sim]]:
    """Factory: ``simulator("--faults", "corrupt=0.01", tcp=False) -> Sim``; stopped after."""
    started: list[Sim] = []

    def make(*args: str, tcp: bool = False) -> Sim:
        sim = start_sim(*args, tcp=tcp)
        started.append(sim)
        return sim

    yield make
    for sim in started:
        stop_sim(sim)


@pytest.fixture(scope="module")
def shared_sim() -> Iterator[Sim]:
    """One fault-free pty simulator shared by a module's tests."""
    sim = start_sim("--seed", "3")
    yield sim
    stop_sim(sim)


def within(seconds: float) -> Callable[[], bool]:
    """A clock check for bounded-recovery assertions."""
    end = time.monotonic() + seconds
    return lambda: time.monotonic() <= end
