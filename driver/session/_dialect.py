"""What a protocol dialect provides to the Analyzer API.

A dialect is a module-level object with a ``name`` and ``connect(transport, options)``
returning a :class:`DialectSession`. The Analyzer only talks to these two protocols, so a
vendor protocol is added as a new module implementing them, without touching the Analyzer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from ..capabilities import DeviceInfo
from ..models import Configuration, DeviceStatus, Event, RawScan, ScanKindName, Ticket
from ..transport import Transport


@dataclass(frozen=True, slots=True)
class LinkOptions:
    """Timing rules shared by dialects.

    Attributes
    ----------
    latency_s
        Allowance for the device (and the host) to react, added to every line time.
    retries
        Resends of one request after a timeout, a NACK or a corrupted reply. With 1 % of the
        bytes corrupted and 0.1 % dropped, a 32-byte reply is lost about 30 % of the time:
        11 attempts all fail about once in 500,000. Chunked transfers allow 3 x ``retries``
        rounds without progress.
    busy_retries
        Resends after BUSY replies (with ``busy_backoff_s`` between them).
    busy_backoff_s
        Pause before resending after BUSY.
    """

    latency_s: float = 0.3
    retries: int = 10
    busy_retries: int = 10
    busy_backoff_s: float = 0.05


class DialectSession(Protocol):
    """One open conversation with a device in a given dialect."""

    boot_id: int | None

    def identify(self) -> DeviceInfo:
        """Who the device is and what it can do."""
        ...

    def status(self) -> DeviceStatus:
        """Its current state."""
        ...

    def configure(self, config: Configuration) -> None:
        """Set the device's current settings (used by trigger-button scans)."""
        ...

    def start_scan(self, kind: ScanKindName, config: Configuration) -> Ticket:
        """Start a scan."""
        ...

    def wait_scan(self, ticket: Ticket, timeout_s: float,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> None:
        """Block until the scan is complete (raising if it failed or was aborted).

        ``cancel()`` is polled while waiting; when it returns True the scan is aborted.
        """
        ...

    def fetch_scan(self, scan_id: int) -> RawScan:
        """Fetch the data and header of a completed scan."""
        ...

    def abort(self) -> None:
        """Abort the running scan."""
        ...

    def next_event(self, timeout_s: float) -> Event | None:
        """The next unsolicited event, waiting up to ``timeout_s``."""
        ...


class Dialect(Protocol):
    """A protocol dialect: a name and a way to open a session on a transport."""

    name: str

    def connect(self, transport: Transport, options: LinkOptions) -> DialectSession:
        """A session over an open transport (does not talk to the device yet)."""
        ...
