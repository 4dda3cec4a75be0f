"""What the demos share (``interdict demo`` and its ``--fleet``): the simulated analyzer they
start on a pty, and their numbered steps."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from station.errors import StationError

if TYPE_CHECKING:
    import subprocess


def step(n: int, text: str) -> None:
    """A numbered step of a demo's transcript."""
    print(f"\n[{n}] {text}", flush=True)


def start_simulator(out: Path, *, profile: str = "raman-785", timeout_s: float = 20.0,
                    scenario: Path | None = None) -> tuple[subprocess.Popen[str], str]:
    """Start ``python -m driver.simulator`` on a pty linked at ``out/ttySIM0``.

    Its references are the fixture spectra (Raman, SYNTHETIC, FTIR) plus the driver's
    polystyrene standard for the self-test; its scenario is ``scenario`` (default
    ``fixtures/scenario.json``).

    Returns
    -------
    (process, device URL)
    """
    import subprocess

    from driver.simulator import synth
    from station.workflows.library import (
        DEFAULT_LIBRARY_DIR,
        FIXTURES,
        FTIR_LIBRARY_DIR,
        SYNTHETIC_LIBRARY_DIR,
    )

    refs = [f for d in (DEFAULT_LIBRARY_DIR, SYNTHETIC_LIBRARY_DIR, FTIR_LIBRARY_DIR)
            for f in sorted(d.glob("*.csv")) if f.name != "index.csv"]
    standard = synth.REFERENCES_DIR / "raman_polystyrene.csv"  # the self-test standard
    link = out / "ttySIM0"
    cmd = [sys.executable, "-m", "driver.simulator", "--pty", "--link", str(link),
           "--profile", profile,
           "--scenario", str(scenario or FIXTURES / "scenario.json"),
           "--references", str(standard)]
    for f in refs:
        cmd += ["--references", str(f)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + timeout_s
    assert proc.stdout is not None
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("device: "):
            return proc, line.split(": ", 1)[1].strip()
        if not line and proc.poll() is not None:
            break
    proc.kill()
    proc.wait()
    _remove_link(link)
    err = proc.stderr.read() if proc.stderr else ""
    raise StationError(f"the simulator did not start: {err.strip() or 'no device line'}")


def stop_simulator(proc: subprocess.Popen[str], device: str | None = None) -> None:
    """Stop a simulator started by :func:`start_simulator` (SIGTERM, then SIGKILL), and
    remove its link ``device`` (the URL :func:`start_simulator` returned) if it is left: a
    simulator killed cannot remove it, and the kernel gives its pty's number to the next
    pty opened, so a stale link would lead a driver to somebody else's device
    (docs/protocol.md)."""
    import subprocess

    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    if device is not None:
        _remove_link(Path(device))


def _remove_link(link: Path) -> None:
    if link.is_symlink():
        link.unlink(missing_ok=True)


__all__ = ["start_simulator", "step", "stop_simulator"]
