"""Serve a :class:`~driver.simulator.device.SimulatedDevice` on a pty or a TCP port.

The pty server creates a pseudo-terminal pair, puts the slave in raw mode, and publishes a
stable symlink to it (the URL a driver opens). A ``disconnect`` fault closes the pair and
removes the link, like a USB cable pulled out; after ``reconnect-ms`` a new pair appears
behind the same link, like the cable plugged back in. The TCP server listens on 127.0.0.1
and serves one client at a time; a ``disconnect`` closes that client's socket.

Output is paced to the configured baud rate (10 bits per byte, 8N1) so link benchmarks on a
pty measure what a real serial line would give.
"""

from __future__ import annotations

import contextlib
import os
import select
import signal
import socket
import tempfile
import time
import tty
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Protocol

from .device import Disconnect
from .faults import FaultSpec

CATCH_UP_S = 0.002


class ServedDevice(Protocol):
    """What the servers pump: an I/O-free device of either dialect."""

    faults: FaultSpec

    def receive(self, data: bytes) -> None:
        """Bytes from the host."""

    def tick(self, now: float) -> None:
        """Advance time."""

    def outgoing(self, now: float) -> bytes:
        """Bytes due on the line now (raises :class:`Disconnect`)."""
        ...

    def next_wakeup(self) -> float | None:
        """When there is next something to do."""
        ...

    def press_trigger(self) -> bool:
        """The trigger button (SIGUSR1)."""
        ...

    def on_disconnect(self) -> None:
        """The link dropped."""


class _Pacer:
    """Holds writes back so that bytes leave no faster than ``baud / 10`` per second."""

    def __init__(self, baud: int) -> None:
        self.baud = baud
        self.free_at = 0.0

    def wait_s(self, now: float) -> float:
        return 0.0 if self.baud <= 0 else max(0.0, self.free_at - now)

    def sent(self, n: int, now: float) -> None:
        # a late write (scheduling jitter) may catch up by at most CATCH_UP_S, so the
        # average rate never exceeds the line rate and jitter does not lower it either
        if self.baud > 0:
            # slightly late (busy line): keep the schedule; idle line: start from now
            start = self.free_at if now - self.free_at <= CATCH_UP_S else now
            self.free_at = start + n * 10.0 / self.baud


class _Stop:
    def __init__(self) -> None:
        self.stop = False
        self.trigger = False


def _install_signals(flags: _Stop) -> None:
    def on_stop(signum: int, frame: FrameType | None) -> None:
        flags.stop = True

    def on_trigger(signum: int, frame: FrameType | None) -> None:
        flags.trigger = True

    signal.signal(signal.SIGINT, on_stop)
    signal.signal(signal.SIGTERM, on_stop)
    signal.signal(signal.SIGUSR1, on_trigger)


def _pump(device: ServedDevice, fd: int, pacer: _Pacer, flags: _Stop) -> None:
    """Run the device over ``fd`` until stop, or raise :class:`Disconnect` / ``OSError``."""
    pending = b""
    slice_bytes = max(16, pacer.baud // 10 // 200) if pacer.baud > 0 else 65536
    while not flags.stop:
        now = time.monotonic()
        if flags.trigger:
            flags.trigger = False
            device.press_trigger()
        device.tick(now)
        if not pending:
            pending = device.outgoing(now)
        wake = device.next_wakeup()
        timeout = 0.05
        want_write = False
        if pending:
            w = pacer.wait_s(now)
            if w <= 0:
                want_write = True
                timeout = 0.05
            else:
                timeout = min(timeout, w)
        elif wake is not None:
            timeout = min(timeout, max(0.0, wake - now))
        r, wr, _ = select.select([fd], [fd] if want_write else [], [], timeout)
        if r:
            data = os.read(fd, 65536)
            if not data:
                raise OSError("peer closed")
            device.receive(data)
        if wr and pending:
            n = os.write(fd, pending[:slice_bytes])
            pacer.sent(n, time.monotonic())
            pending = pending[n:]


def serve_pty(device: ServedDevice, *, baud: int = 0, link: Path | None = None,
              announce: Callable[[str], None] = print) -> None:
    """Serve on a pty; ``announce`` gets the device URL once it is ready."""
    flags = _Stop()
    _install_signals(flags)
    tmp = None
    if link is None:
        tmp = tempfile.mkdtemp(prefix="interdict-sim-")
        link = Path(tmp) / "ttySIM0"
    announced = False
    try:
        while not flags.stop:
            master, slave = os.openpty()
            tty.setraw(slave)
            with contextlib.suppress(FileNotFoundError):
                link.unlink()
            link.symlink_to(os.ttyname(slave))
            if not announced:
                announce(f"device: {link}")
                announced = True
            try:
                _pump(device, master, _Pacer(baud), flags)
            except Disconnect:
                pass
            except OSError:
                pass
            finally:
                with contextlib.suppress(FileNotFoundError):
                    link.unlink()
                os.close(master)
                os.close(slave)
            device.on_disconnect()
            if flags.stop:
                break
            _sleep_unless(flags, device.faults.reconnect_ms / 1000.0)
    finally:
        with contextlib.suppress(FileNotFoundError):
            link.unlink()
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.rmdir(tmp)


def serve_tcp(device: ServedDevice, *, port: int = 0, baud: int = 0,
              announce: Callable[[str], None] = print) -> None:
    """Serve on ``127.0.0.1:port`` (0 = any free port), one client at a time."""
    flags = _Stop()
    _install_signals(flags)
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen(1)
    srv.settimeout(0.1)
    announce(f"device: socket://127.0.0.1:{srv.getsockname()[1]}")
    try:
        while not flags.stop:
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except InterruptedError:
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            disconnected = False
            try:
                _pump(device, conn.fileno(), _Pacer(baud), flags)
            except Disconnect:
                disconnected = True
            except OSError:
                pass
            finally:
                conn.close()
            device.on_disconnect()
            if disconnected:
                _sleep_unless(flags, device.faults.reconnect_ms / 1000.0)
    finally:
        srv.close()


def _sleep_unless(flags: _Stop, seconds: float) -> None:
    end = time.monotonic() + seconds
    while not flags.stop and time.monotonic() < end:
        time.sleep(min(0.02, max(0.0, end - time.monotonic())))
