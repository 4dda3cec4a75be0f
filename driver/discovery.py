"""Find analyzers: list serial ports (pyserial ``list_ports``) and probe them with identify."""

from __future__ import annotations

from dataclasses import dataclass

from serial.tools import list_ports as _lp

from .capabilities import DeviceInfo
from .errors import AnalyzerError

USB_IDS: dict[tuple[int, int], str] = {
    (0x0403, 0x6001): "FTDI FT232R USB-serial",
    (0x0403, 0x6010): "FTDI FT2232 USB-serial",
    (0x0403, 0x6014): "FTDI FT232H USB-serial",
    (0x0403, 0x6015): "FTDI FT-X USB-serial",
    (0x10C4, 0xEA60): "Silicon Labs CP210x USB-serial",
    (0x067B, 0x2303): "Prolific PL2303 USB-serial",
    (0x1A86, 0x7523): "WCH CH340 USB-serial",
    (0x2341, 0x0043): "Arduino Uno (CDC)",
}
"""USB VID:PID of bridges analyzers commonly sit behind (the analyzer itself answers identify)."""


@dataclass(frozen=True)
class Port:
    """A serial port the OS knows about."""

    device: str
    description: str
    vid: int | None
    pid: int | None
    serial_number: str | None

    def describe(self) -> str:
        """A one-line description with the VID:PID and what the table says it is."""
        if self.vid is None or self.pid is None:
            return self.description or "serial port"
        known = USB_IDS.get((self.vid, self.pid), "unknown USB device")
        return f"{self.vid:04X}:{self.pid:04X} {known} ({self.description})"


@dataclass(frozen=True)
class ProbeResult:
    """What a probe found: ``info`` when an analyzer answered, else ``problem``."""

    url: str
    info: DeviceInfo | None
    problem: str = ""


def list_ports() -> list[Port]:
    """The serial ports of this machine, sorted by device name."""
    out = [Port(p.device, p.description or "", p.vid, p.pid, p.serial_number)
           for p in _lp.comports()]
    return sorted(out, key=lambda p: p.device)


def probe(url: str, *, timeout_s: float = 0.5) -> ProbeResult:
    """Open ``url``, send identify, and report who answered (never raises for the port)."""
    from .analyzer import Analyzer

    try:
        with Analyzer(url, latency_s=timeout_s, retries=1, reconnect_s=0.0) as dev:
            return ProbeResult(url, dev.identify())
    except AnalyzerError as exc:
        return ProbeResult(url, None, f"{type(exc).__name__}: {exc}")


__all__ = ["USB_IDS", "Port", "ProbeResult", "list_ports", "probe"]
