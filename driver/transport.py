"""The byte link to an analyzer: any pyserial URL, opened exclusively, reopened after unplugs.

Accepted ports are whatever :func:`serial.serial_for_url` accepts: a device path
(``/dev/ttyUSB0``, ``COM3``, a pty), ``socket://host:port`` (serial-over-TCP bridges and the
simulator), ``rfc2217://host:port``, ``loop://`` (tests) and ``spy://<url>`` to hex-dump the
traffic of any of these for support (``spy:///dev/ttyUSB0?file=trace.txt``).
"""

from __future__ import annotations

import contextlib
import select
import time

import serial

from .errors import BadURLError, LinkError, PortBusyError

_POLL_S = 0.0005
"""Polling interval where the port has no file descriptor to wait on."""


class Transport:
    """One port, opened from a URL.

    Parameters
    ----------
    url
        A pyserial URL or device path.
    baudrate
        Line rate for real serial ports (ignored by sockets); also used to derive timeouts.
    exclusive
        Lock the port so a second program cannot open it (POSIX ``flock``; Windows ports are
        exclusive anyway).
    """

    def __init__(self, url: str, *, baudrate: int = 115200, exclusive: bool = True) -> None:
        if not isinstance(url, str) or not url.strip():
            raise BadURLError(
                f"empty port URL {url!r}; expected a device path (/dev/ttyUSB0, COM3) or a "
                "URL such as socket://host:port, rfc2217://host:port, loop://, spy://<url>"
            )
        self.url = url
        self.baudrate = baudrate
        self.exclusive = exclusive
        self._port: serial.SerialBase | None = None
        self._fd: int | None = None

    @property
    def is_open(self) -> bool:
        """Whether the port is open."""
        return self._port is not None and bool(self._port.is_open)

    def open(self) -> None:
        """Open the port.

        Raises
        ------
        PortBusyError
            Another program holds it.
        BadURLError
            The URL is malformed.
        LinkError
            The port does not exist or cannot be opened.
        """
        if self.is_open:
            return
        # pyserial's RFC 2217 client refuses a write timeout (NotImplementedError at open);
        # its writes go to a TCP socket, which does not block on a stalled device anyway
        write_timeout = None if "rfc2217://" in self.url else 5.0
        try:
            port = serial.serial_for_url(self.url, do_not_open=True, baudrate=self.baudrate,
                                         timeout=0, write_timeout=write_timeout)
        except ValueError as exc:
            raise BadURLError(f"bad port URL {self.url!r}: {exc}") from exc
        except serial.SerialException as exc:
            raise LinkError(f"cannot open {self.url!r}: {exc}") from exc
        if self.exclusive and hasattr(port, "exclusive"):
            with contextlib.suppress(ValueError, serial.SerialException):  # no locking there
                port.exclusive = True
        try:
            port.open()
        except serial.SerialException as exc:
            text = str(exc)
            if "lock" in text.lower() or "busy" in text.lower():
                raise PortBusyError(f"{self.url!r} is in use by another program: {text}") from exc
            if "expected" in text.lower() or "url" in text.lower():
                raise BadURLError(f"bad port URL {self.url!r}: {text}") from exc
            raise LinkError(f"cannot open {self.url!r}: {text}") from exc
        except (OSError, ValueError, NotImplementedError) as exc:
            raise LinkError(f"cannot open {self.url!r}: {exc}") from exc
        self._port = port
        try:
            fd = port.fileno()
            self._fd = fd if isinstance(fd, int) and fd >= 0 else None
        except (AttributeError, NotImplementedError, serial.SerialException, OSError):
            self._fd = None

    def close(self) -> None:
        """Close the port (idempotent)."""
        port, self._port = self._port, None
        self._fd = None
        if port is not None:
            with contextlib.suppress(OSError, serial.SerialException):
                port.close()

    def reopen(self, within_s: float, *, poll_s: float = 0.05) -> None:
        """Close and reopen, retrying until ``within_s`` seconds have passed (USB replug).

        Raises
        ------
        LinkError
            The port did not come back in time.
        """
        self.close()
        deadline = time.monotonic() + within_s
        last: Exception | None = None
        while True:
            try:
                self.open()
                return
            except PortBusyError:
                raise
            except LinkError as exc:
                last = exc
            if time.monotonic() >= deadline:
                raise LinkError(
                    f"{self.url!r} went away and did not come back within {within_s:.1f} s: {last}"
                )
            time.sleep(poll_s)

    def _require(self) -> serial.SerialBase:
        if self._port is None:
            raise LinkError(f"{self.url!r} is not open")
        return self._port

    def write(self, data: bytes) -> None:
        """Send bytes.

        Raises
        ------
        LinkError
            The port went away.
        """
        port = self._require()
        try:
            port.write(data)
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise LinkError(f"write to {self.url!r} failed: {exc}") from exc

    def read_some(self, timeout_s: float) -> bytes:
        """Wait up to ``timeout_s`` for bytes; return what has arrived (``b""`` on timeout).

        Raises
        ------
        LinkError
            The port went away (unplugged, socket closed).
        """
        port = self._require()
        try:
            if self._fd is not None:
                # wait with select: changing a POSIX port's timeout costs a tcsetattr each time
                ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout_s))
                if not ready:
                    return b""
                data = bytes(port.read(max(1, port.in_waiting)))
                if not data:
                    raise serial.SerialException("port readable but returned no data "
                                                 "(disconnected?)")
                return data
            # no descriptor to wait on (rfc2217://, loop://): poll. Setting port.timeout is
            # not an option there: on rfc2217:// every change renegotiates the line settings
            # with the bridge (a network round trip per call; transfers stalled on it)
            deadline = time.monotonic() + max(0.0, timeout_s)
            while True:
                waiting = port.in_waiting
                if waiting:
                    return bytes(port.read(waiting))
                if time.monotonic() >= deadline:
                    return b""
                time.sleep(_POLL_S)
        except (serial.SerialException, OSError) as exc:
            self.close()
            raise LinkError(f"read from {self.url!r} failed: {exc}") from exc

    def discard_input(self) -> None:
        """Drop bytes already received (before a probe)."""
        port = self._require()
        with contextlib.suppress(serial.SerialException, OSError, NotImplementedError):
            port.reset_input_buffer()
