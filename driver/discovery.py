"""Find analyzers: list serial ports (pyserial ``list_ports``) and probe them with identify, in
each dialect in turn (``interdict/1``, then Ocean's OBP)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from serial.tools import list_ports as _lp

from .capabilities import DeviceInfo
from .errors import AnalyzerError, LinkError

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
    """What a probe found: ``info`` and the ``dialect`` that answered, else ``problem`` (what
    each dialect's probe met, ``; ``-separated)."""

    url: str
    info: DeviceInfo | None
    problem: str = ""
    dialect: str | None = None


def list_ports() -> list[Port]:
    """The serial ports of this machine, sorted by device name."""
    out = [Port(p.device, p.description or "", p.vid, p.pid, p.serial_number)
           for p in _lp.comports()]
    return sorted(out, key=lambda p: p.device)


def probe(url: str, *, timeout_s: float = 0.5,
          dialects: Sequence[str] | None = None) -> ProbeResult:
    """Open ``url`` and identify in each dialect (default all of ``DIALECTS``, in order) until
    one answers; report which (never raises for the port).

    A port that cannot be opened is not probed again in the next dialect.
    """
    from .analyzer import Analyzer
    from .session import DIALECTS

    problems: list[str] = []
    for name in dialects or list(DIALECTS):
        try:
            with Analyzer(url, latency_s=timeout_s, retries=1, reconnect_s=0.0,
                          dialect=DIALECTS[name]) as dev:
                return ProbeResult(url, dev.identify(), dialect=name)
        except LinkError as exc:
            return ProbeResult(url, None, f"{type(exc).__name__}: {exc}")
        except AnalyzerError as exc:
            problems.append(f"{name}: {type(exc).__name__}: {exc}")
    return ProbeResult(url, None, "; ".join(problems))


__all__ = ["USB_IDS", "Port", "ProbeResult", "list_ports", "probe"]
