"""The driver's errors: one root, :class:`AnalyzerError`, itself an :class:`IOError`.

Callers that only know ``OSError`` still catch every failure of the link or the device.
"""

from __future__ import annotations


class AnalyzerError(IOError):
    """Root of every error raised by :mod:`driver`."""


class LinkError(AnalyzerError):
    """The port could not be opened, or it went away and did not come back in time."""


class PortBusyError(LinkError):
    """Another program (or another :class:`~driver.Analyzer`) holds the port exclusively."""


class BadURLError(LinkError, ValueError):
    """The port URL is malformed; the message quotes the expected form."""


class AnalyzerTimeoutError(AnalyzerError, TimeoutError):
    """The device did not answer within the timeout derived for the operation."""

    def __init__(self, message: str, *, timeout_s: float) -> None:
        self.timeout_s = timeout_s
        super().__init__(f"{message} (no valid answer within {timeout_s:.2f} s)")


class NotAnAnalyzerError(AnalyzerError):
    """Something answers on the port, but not in a protocol this driver speaks."""


class ProtocolError(AnalyzerError):
    """The device answered in our protocol but broke its rules (after retries)."""


class TransferError(ProtocolError):
    """A chunked transfer could not be completed intact within its retries."""


class DeclaredSizeError(ProtocolError):
    """The device declared a size beyond what it can honestly need; nothing was allocated.

    A blob length, a header length, a value count, a scan duration: each is checked against
    the device's own declared capabilities and the driver's absolute limits before any
    buffer is made or any wait begins.

    Attributes
    ----------
    what
        What the size is of (``"identify document"``, ``"scan blob"``, ``"raman scan"``...).
    declared
        The number the device sent.
    limit
        The largest number accepted, and ``reason`` where that limit comes from.
    unit
        ``"bytes"``, ``"values"`` or ``"ms"``.
    """

    def __init__(self, what: str, declared: int, limit: int, *, unit: str = "bytes",
                 reason: str = "") -> None:
        self.what = what
        self.declared = declared
        self.limit = limit
        self.unit = unit
        why = f" ({reason})" if reason else ""
        super().__init__(f"device declared {declared:,} {unit} for its {what}; the limit is "
                         f"{limit:,} {unit}{why}; refused before use")


class NotSupportedError(AnalyzerError):
    """The device does not have the capability asked for (technique, laser, feature)."""


class DeviceRefusedError(AnalyzerError):
    """The device refused a request and said why.

    Attributes
    ----------
    code
        The device's numeric error code.
    name
        Its symbolic name (``"OUT_OF_RANGE"``...).
    detail
        The device's own message, if it sent one.
    """

    def __init__(self, code: int, name: str, readable: str, detail: str = "") -> None:
        self.code = code
        self.name = name
        self.detail = detail
        text = f"device refused: {readable} (error {code} {name})"
        if detail:
            text += f": {detail}"
        super().__init__(text)


class DeviceBusyError(DeviceRefusedError):
    """The device kept answering BUSY beyond the retry budget."""


class AcquisitionAbortedError(DeviceRefusedError):
    """The scan was aborted (by :meth:`~driver.Analyzer.abort` or on the device)."""


__all__ = [
    "AcquisitionAbortedError",
    "AnalyzerError",
    "AnalyzerTimeoutError",
    "BadURLError",
    "DeclaredSizeError",
    "DeviceBusyError",
    "DeviceRefusedError",
    "LinkError",
    "NotAnAnalyzerError",
    "NotSupportedError",
    "PortBusyError",
    "ProtocolError",
    "TransferError",
]
