"""Message tables of the Interdict wire protocol, dialect ``interdict/1``.

Everything a frame can carry is declared here as data: message types, error codes with
readable messages, and the ``struct`` layout of each small payload. The JSON documents that
travel as chunked blobs are the pydantic models of :mod:`driver.models` (``DeviceInfo`` in
:mod:`driver.capabilities`). Frequent messages are small fixed ``struct``
payloads so that they survive a noisy line; large documents (identify, scan headers) and
spectra travel as *blobs* fetched in chunks (see ``docs/protocol.md``).
"""

from __future__ import annotations

import enum
import struct
from typing import Any, ClassVar, Literal, Self


class MsgType(enum.IntEnum):
    """Message types (frame bytes 4-5)."""

    IDENTIFY = 0x0001
    STATUS = 0x0002
    CONFIGURE = 0x0003
    GET_CONFIG = 0x0004
    ACQUIRE = 0x0010
    GET_SCAN = 0x0011
    FETCH = 0x0012
    ABORT = 0x0013
    NACK = 0x007F
    """Sent by the device in answer to a frame it could not accept (flag NACK)."""
    # simulator-only extension (0x00F0-0x00FF): a real device answers UNKNOWN_MESSAGE
    SIM_SELECT_SAMPLE = 0x00F0
    SIM_PRESS_TRIGGER = 0x00F1
    # unsolicited events (flag EVENT)
    EV_SCAN_STARTED = 0x8001
    EV_PROGRESS = 0x8002
    EV_SCAN_COMPLETE = 0x8003
    EV_LOW_BATTERY = 0x8004
    EV_BOOTED = 0x8005


class ErrorCode(enum.IntEnum):
    """Error codes (frame bytes 8-9); 0 is success."""

    OK = 0
    BAD_CRC = 1
    BAD_FRAME = 2
    UNKNOWN_MESSAGE = 3
    BAD_PAYLOAD = 4
    OUT_OF_RANGE = 5
    BUSY = 6
    NOT_READY = 7
    INTERLOCK_OPEN = 8
    UNSUPPORTED = 9
    ABORTED = 10
    HARDWARE_FAULT = 11
    NO_SUCH_SCAN = 12
    NO_SUCH_BLOB = 13
    NO_SUCH_SAMPLE = 14
    BACKGROUND_REQUIRED = 15
    LOW_BATTERY = 16


ERROR_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.OK: "success",
    ErrorCode.BAD_CRC: "frame failed its CRC-32 check",
    ErrorCode.BAD_FRAME: "malformed frame",
    ErrorCode.UNKNOWN_MESSAGE: "unknown message type",
    ErrorCode.BAD_PAYLOAD: "payload malformed for this message type",
    ErrorCode.OUT_OF_RANGE: "parameter out of the device's range",
    ErrorCode.BUSY: "device busy, try again",
    ErrorCode.NOT_READY: "device not ready (scan still running?)",
    ErrorCode.INTERLOCK_OPEN: "laser interlock open: close the sampling head",
    ErrorCode.UNSUPPORTED: "not supported by this device",
    ErrorCode.ABORTED: "scan aborted",
    ErrorCode.HARDWARE_FAULT: "hardware fault",
    ErrorCode.NO_SUCH_SCAN: "no such scan (expired, or device rebooted)",
    ErrorCode.NO_SUCH_BLOB: "no such blob (expired, or device rebooted)",
    ErrorCode.NO_SUCH_SAMPLE: "no such sample in the simulator's scenario",
    ErrorCode.BACKGROUND_REQUIRED: "FTIR background required before a sample scan",
    ErrorCode.LOW_BATTERY: "battery too low to fire the laser",
}


def describe_error(code: int) -> tuple[str, str]:
    """``(name, readable message)`` for a device error code, known or not."""
    try:
        ec = ErrorCode(code)
    except ValueError:
        return f"E{code}", "unknown error code"
    return ec.name, ERROR_MESSAGES[ec]


TECHNIQUE_CODES: dict[str, int] = {"raman": 1, "ftir": 2}
TECHNIQUE_NAMES: dict[int, str] = {v: k for k, v in TECHNIQUE_CODES.items()}


class ScanKind(enum.IntEnum):
    """What an ACQUIRE asks for."""

    SAMPLE = 0
    DARK = 1
    """Raman: detector read with the laser off (dark current + bias)."""
    BACKGROUND = 2
    """FTIR: single-beam background with a clean crystal; needed before sample scans."""
    SELF_TEST = 3
    """Measure the built-in reference standard (polystyrene) and check its peak positions."""


class ScanSource(enum.IntEnum):
    """Who started a scan."""

    HOST = 0
    BUTTON = 1


class DeviceState(enum.IntEnum):
    """The device's state in STATUS."""

    READY = 0
    ACQUIRING = 1
    FAULT = 2


# -- struct payloads ------------------------------------------------------------------------
class _Packed:
    """A fixed-layout payload: ``FMT`` struct, fields in order."""

    FMT: ClassVar[struct.Struct]
    FIELDS: ClassVar[tuple[str, ...]]

    def pack(self) -> bytes:
        """The payload bytes."""
        return self.FMT.pack(*(getattr(self, f) for f in self.FIELDS))

    @classmethod
    def unpack(cls, payload: bytes) -> Self:
        """Parse a payload.

        Raises
        ------
        ValueError
            Wrong length for this message.
        """
        if len(payload) != cls.FMT.size:
            raise ValueError(
                f"{cls.__name__} payload must be {cls.FMT.size} bytes, got {len(payload)}"
            )
        obj = cls.__new__(cls)
        for f, v in zip(cls.FIELDS, cls.FMT.unpack(payload), strict=True):
            object.__setattr__(obj, f, v)
        return obj

    def __init__(self, **kw: Any) -> None:
        missing = set(self.FIELDS) - set(kw)
        if missing or set(kw) - set(self.FIELDS):
            raise TypeError(f"{type(self).__name__} needs exactly {self.FIELDS}")
        for f in self.FIELDS:
            object.__setattr__(self, f, kw[f])

    def __repr__(self) -> str:
        inner = ", ".join(f"{f}={getattr(self, f)!r}" for f in self.FIELDS)
        return f"{type(self).__name__}({inner})"

    def __eq__(self, other: object) -> bool:
        return type(other) is type(self) and self.pack() == other.pack()  # type: ignore[attr-defined]

    __hash__ = None  # type: ignore[assignment]


class BlobRef(_Packed):
    """Reply to IDENTIFY and GET_SCAN: a document to fetch in chunks."""

    FMT = struct.Struct("<HII")
    FIELDS = ("blob_id", "size", "crc32")
    blob_id: int
    size: int
    crc32: int


class StatusPayload(_Packed):
    """Reply to STATUS."""

    FMT = struct.Struct("<BBhBHIBB")
    FIELDS = ("state", "battery_pct", "detector_temp_centi_c", "interlock_closed", "boot_id",
              "last_scan_id", "last_scan_source", "technique")
    state: int
    battery_pct: int
    detector_temp_centi_c: int
    interlock_closed: int
    boot_id: int
    last_scan_id: int
    last_scan_source: int
    technique: int


class ConfigPayload(_Packed):
    """CONFIGURE request and GET_CONFIG reply."""

    FMT = struct.Struct("<BfHf")
    FIELDS = ("technique", "integration_ms", "accumulations", "laser_power_mw")
    technique: int
    integration_ms: float
    accumulations: int
    laser_power_mw: float


class AcquirePayload(_Packed):
    """ACQUIRE request: the kind of scan and the full settings for it (stateless)."""

    FMT = struct.Struct("<BBfHf")
    FIELDS = ("kind", "technique", "integration_ms", "accumulations", "laser_power_mw")
    kind: int
    technique: int
    integration_ms: float
    accumulations: int
    laser_power_mw: float


class ScanTicket(_Packed):
    """ACQUIRE reply: the scan's id, the device's boot id, the expected duration."""

    FMT = struct.Struct("<IHI")
    FIELDS = ("scan_id", "boot_id", "expected_ms")
    scan_id: int
    boot_id: int
    expected_ms: int


class ScanId(_Packed):
    """GET_SCAN request."""

    FMT = struct.Struct("<I")
    FIELDS = ("scan_id",)
    scan_id: int


class FetchPayload(_Packed):
    """FETCH request: ``length`` bytes of a blob from ``offset``, in chunks of ``chunk``."""

    FMT = struct.Struct("<HIIH")
    FIELDS = ("blob_id", "offset", "length", "chunk")
    blob_id: int
    offset: int
    length: int
    chunk: int


DATA_HEAD = struct.Struct("<HI")
"""Head of each FETCH reply frame: blob id, offset; the chunk's bytes follow."""


class ScanStartedEvent(_Packed):
    """EV_SCAN_STARTED: a scan began (on request or by the trigger button)."""

    FMT = struct.Struct("<IBI")
    FIELDS = ("scan_id", "source", "expected_ms")
    scan_id: int
    source: int
    expected_ms: int


class ProgressEvent(_Packed):
    """EV_PROGRESS: accumulation ``done`` of ``total`` finished."""

    FMT = struct.Struct("<IHH")
    FIELDS = ("scan_id", "done", "total")
    scan_id: int
    done: int
    total: int


class ScanCompleteEvent(_Packed):
    """EV_SCAN_COMPLETE: the scan ended; ``error`` 0 means its data can be fetched."""

    FMT = struct.Struct("<IBH")
    FIELDS = ("scan_id", "source", "error")
    scan_id: int
    source: int
    error: int


class LowBatteryEvent(_Packed):
    """EV_LOW_BATTERY."""

    FMT = struct.Struct("<B")
    FIELDS = ("battery_pct",)
    battery_pct: int


class BootedEvent(_Packed):
    """EV_BOOTED: sent once after power-up or reboot."""

    FMT = struct.Struct("<H")
    FIELDS = ("boot_id",)
    boot_id: int


EVENT_PAYLOADS: dict[int, type[_Packed]] = {
    MsgType.EV_SCAN_STARTED: ScanStartedEvent,
    MsgType.EV_PROGRESS: ProgressEvent,
    MsgType.EV_SCAN_COMPLETE: ScanCompleteEvent,
    MsgType.EV_LOW_BATTERY: LowBatteryEvent,
    MsgType.EV_BOOTED: BootedEvent,
}


# -- JSON documents (blobs): dialect-neutral models, see driver.models ------------------
SCAN_KIND_NAMES: dict[int, Literal["sample", "dark", "background", "self-test"]] = {
    ScanKind.SAMPLE: "sample",
    ScanKind.DARK: "dark",
    ScanKind.BACKGROUND: "background",
    ScanKind.SELF_TEST: "self-test",
}

BLOB_HEAD = struct.Struct("<I")
"""A scan blob is: u32 length of the JSON header, the header (UTF-8), then the data."""

# -- bounds on what a device declares (checked before anything is allocated) ------------------
MAX_IDENTIFY_BYTES = 64 * 1024
"""Longest identify document accepted. The simulator's is 0.5-0.9 kB; a device with many
techniques and long names stays far below. A BlobRef may declare up to 4 GiB (u32)."""
MAX_SCAN_HEADER_BYTES = 64 * 1024
"""Longest JSON header of a scan blob (the simulator's: ~0.5 kB, ~1 kB with a self-test
report). A scan blob may hold this plus ``VALUE_BYTES`` per pixel of the declared detector."""
VALUE_BYTES = 4
"""Bytes per value of a scan (both ``<u4`` counts and ``<f4`` absorbance)."""
