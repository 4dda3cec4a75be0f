"""Message tables of the Ocean Binary Protocol (OBP) as our dialect uses them.

Every message number, operand layout and error code is declared here as data, with where it
was checked (the sources and our assumptions are tabulated in ``docs/protocol.md``, section
"OBP"). Operands are little-endian ("All multi-byte integer types will be returned in
little-endian format", Ventana data sheet); floats are IEEE single precision.

The facts a Raman set-up needs and OBP does not carry (excitation wavelength, rated laser
power) are in :data:`KNOWN_MODULES`, keyed by the device string the spectrometer reports, or
given to :class:`~driver.session.obp.ObpDialect` for a module not listed.
"""

from __future__ import annotations

import enum
import math
import struct
from dataclasses import dataclass


class MsgType(enum.IntEnum):
    """OBP message types (0xXXXYYYZZ: category, sub-category, command)."""

    # general device characteristics (category 0x000)
    SET_CHECKSUM_TYPE = 0x00000010
    GET_FIRMWARE_REVISION = 0x00000090
    GET_SERIAL_NUMBER = 0x00000100
    GET_MANUFACTURER_STRING = 0x00000E40
    GET_DEVICE_STRING = 0x00000E41
    # spectrometer: buffering and spectra (category 0x001)
    ABORT_ACQUISITION = 0x00100000
    GET_BUFFER_SIZE_MAX = 0x00100820
    CLEAR_BUFFER_ALL = 0x00100830
    GET_BUFFERED_SPEC_COUNT = 0x00100900
    ACQUIRE_SPECTRA_INTO_BUFFER = 0x00100902
    GET_BUF_SPEC32_META = 0x00100928
    GET_MAXIMUM_ADC_COUNTS = 0x00101010
    GET_RAW_SPECTRUM_NOW = 0x00101100
    # spectrometer: acquisition settings
    GET_INTEGRATION_TIME_US = 0x00110000
    GET_MINIMUM_INTEGRATION_TIME_US = 0x00110001
    GET_MAXIMUM_INTEGRATION_TIME_US = 0x00110002
    SET_ITIME_USEC = 0x00110010
    SET_TRIG_MODE = 0x00110110
    GET_NUMBER_OF_PIXELS = 0x00110220
    GET_SCANS_TO_AVERAGE = 0x00120000
    SET_SCANS_TO_AVERAGE = 0x00120010
    # spectral calibration
    GET_WL_COEFF_COUNT = 0x00180100
    GET_WL_COEFF = 0x00180101
    # light source (laser) control
    GET_LIGHT_SOURCE_ENABLE = 0x00810021
    SET_LIGHT_SOURCE_ENABLE = 0x00810031
    SET_LIGHT_SOURCE_INTENSITY = 0x00810051
    # simulator-only extension (category 0xFFF, unused by Ocean): a real device NACKs it
    SIM_SELECT_SAMPLE = 0xFFF00001


def msg_name(msg_type: int) -> str:
    """The symbolic name of a message type, or its number."""
    try:
        return MsgType(msg_type).name
    except ValueError:
        return f"message 0x{msg_type:08x}"


class ErrorCode(enum.IntEnum):
    """OBP error numbers (header bytes 6-7), Ventana data sheet p. 10."""

    SUCCESS = 0
    BAD_PROTOCOL = 1
    UNKNOWN_MESSAGE = 2
    BAD_CHECKSUM = 3
    MESSAGE_TOO_LARGE = 4
    PAYLOAD_LENGTH = 5
    PAYLOAD_INVALID = 6
    NOT_READY = 7
    UNKNOWN_CHECKSUM_TYPE = 8
    DEVICE_RESET = 9
    TOO_MANY_BUSES = 10
    OUT_OF_MEMORY = 11
    NO_SUCH_INFORMATION = 12
    DEVICE_ERROR = 13
    DECRYPT = 100
    FIRMWARE_LAYOUT = 101
    PACKET_SIZE = 102
    HARDWARE_REVISION = 103
    FLASH_MAP = 104
    DEFERRED = 255


ERROR_MESSAGES: dict[ErrorCode, str] = {
    ErrorCode.SUCCESS: "success",
    ErrorCode.BAD_PROTOCOL: "invalid or unsupported protocol",
    ErrorCode.UNKNOWN_MESSAGE: "unknown message type",
    ErrorCode.BAD_CHECKSUM: "bad checksum",
    ErrorCode.MESSAGE_TOO_LARGE: "message too large",
    ErrorCode.PAYLOAD_LENGTH: "payload length does not match message type",
    ErrorCode.PAYLOAD_INVALID: "payload data invalid",
    ErrorCode.NOT_READY: "device not ready for this message type",
    ErrorCode.UNKNOWN_CHECKSUM_TYPE: "unknown checksum type",
    ErrorCode.DEVICE_RESET: "device reset unexpectedly",
    ErrorCode.TOO_MANY_BUSES: "commands came from too many bus interfaces",
    ErrorCode.OUT_OF_MEMORY: "out of memory",
    ErrorCode.NO_SUCH_INFORMATION: "command valid, but the information does not exist",
    ErrorCode.DEVICE_ERROR: "internal device error, may be unrecoverable",
    ErrorCode.DECRYPT: "could not decrypt",
    ErrorCode.FIRMWARE_LAYOUT: "firmware layout invalid",
    ErrorCode.PACKET_SIZE: "data packet was the wrong size",
    ErrorCode.HARDWARE_REVISION: "hardware revision not compatible with the firmware",
    ErrorCode.FLASH_MAP: "flash map not compatible with the firmware",
    ErrorCode.DEFERRED: "operation deferred: it will take some time",
}

ABSENT = frozenset({ErrorCode.UNKNOWN_MESSAGE, ErrorCode.NO_SUCH_INFORMATION})
"""Errors meaning "this device does not have that": an optional query answered so is a
capability the device lacks, not a failure."""


def describe_error(code: int) -> tuple[str, str]:
    """``(name, readable message)`` for an OBP error number, known or not."""
    try:
        ec = ErrorCode(code)
    except ValueError:
        return f"E{code}", "unknown error number"
    return ec.name, ERROR_MESSAGES[ec]


# -- operands ---------------------------------------------------------------------------------
U8 = struct.Struct("<B")
U16 = struct.Struct("<H")
U32 = struct.Struct("<I")
F32 = struct.Struct("<f")
LIGHT_SOURCE = struct.Struct("<BB")
"""Module index, light-source index (SeaBreeze ``OBPLightSourceEnableCommand``)."""
LIGHT_SOURCE_ENABLE = struct.Struct("<BBB")
LIGHT_SOURCE_INTENSITY = struct.Struct("<BBf")
"""Intensity as a fraction 0..1 of the source's maximum (SeaBreeze
``OBPLightSourceProtocol_Ventana``: minimum 0.0, maximum 1.0)."""
METADATA_SIZE = 32
"""Bytes of metadata before the u32 pixels of ``GET_BUF_SPEC32_META`` (python-seabreeze
``SeaBreezeSpectrometerFeatureQEPRO``, SeaBreeze ``OBPReadRawSpectrum32AndMetadataExchange``)."""
METADATA_HEAD = struct.Struct("<IQI")
"""Our assumption for the metadata's first 16 bytes: spectrum count, tick count (µs),
integration time (µs); the rest is kept unread."""

MAX_TEXT = 64
"""Longest identity string (serial number, device string) we accept."""
MAX_COEFFICIENTS = 6
"""Most wavelength coefficients we accept (polynomial order 5; devices report 4)."""
MAX_PIXELS = 65536
"""Most pixels we accept from a device (the bound of :class:`~driver.TechniqueCaps`)."""
TRIGGER_NORMAL = 0
"""Trigger mode 0: integration begins as soon as possible after the request."""


def unpack_uint(data: bytes, what: str, sizes: tuple[int, ...] = (1, 2, 4)) -> int:
    """An unsigned little-endian integer of one of ``sizes`` bytes.

    Raises
    ------
    ValueError
        Another length (the message names ``what``).
    """
    if len(data) not in sizes:
        raise ValueError(f"{what}: {len(data)} bytes, expected {' or '.join(map(str, sizes))}")
    return int.from_bytes(data, "little")


def unpack_f32(data: bytes, what: str) -> float:
    """One finite IEEE single.

    Raises
    ------
    ValueError
        Not 4 bytes, or not finite.
    """
    if len(data) != F32.size:
        raise ValueError(f"{what}: {len(data)} bytes, expected {F32.size}")
    (value,) = F32.unpack(data)
    if not math.isfinite(value):
        raise ValueError(f"{what}: {value!r} is not finite")
    return float(value)


def unpack_text(data: bytes, what: str) -> str:
    """A printable ASCII string, NUL padding removed.

    Raises
    ------
    ValueError
        Longer than :data:`MAX_TEXT`, empty, or not printable ASCII.
    """
    if len(data) > MAX_TEXT:
        raise ValueError(f"{what}: {len(data)} bytes, at most {MAX_TEXT} accepted")
    text = data.split(b"\0", 1)[0]
    if not text or not all(0x20 <= b < 0x7F for b in text):
        raise ValueError(f"{what}: {data[:MAX_TEXT]!r} is not a printable ASCII string")
    return text.decode("ascii")


# -- what OBP does not tell --------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RamanModule:
    """Facts about a Raman set-up that the OBP messages do not carry.

    Attributes
    ----------
    excitation_nm
        Laser wavelength: needed to turn the wavelength axis into Raman shift.
    laser_max_mw
        Power at light-source intensity 1.0, or ``None`` when the laser is not controlled
        through this spectrometer (laser power requests are then refused as not supported).
    readout_ms
        Overhead per scan on top of the integration time (for the derived timeouts).
    max_scans_to_average
        Upper limit of *scans to average* (the message carries a u16).
    adc_max
        Full scale of one read-out, when the device does not report it.
    integration_us
        Integration-time limits (µs), when the device does not report them.
    simulated
        The module is Interdict's simulator.
    """

    excitation_nm: float
    laser_max_mw: float | None = None
    readout_ms: float = 10.0
    max_scans_to_average: int = 1000
    adc_max: int = 65535
    integration_us: tuple[int, int] = (1000, 10_000_000)
    simulated: bool = False


KNOWN_MODULES: dict[str, RamanModule] = {
    "OBP-RAMAN-785-SIM": RamanModule(excitation_nm=785.0, laser_max_mw=450.0, simulated=True),
    "OBP-SPEC-785-SIM": RamanModule(excitation_nm=785.0, laser_max_mw=None, simulated=True),
}
"""Raman modules by the device string they report (``GET_DEVICE_STRING``). Only the
simulator's are listed: a real module's values are read off its documentation and added here,
or passed as ``ObpDialect(module=RamanModule(...))``."""


__all__ = [
    "ABSENT",
    "ERROR_MESSAGES",
    "F32",
    "KNOWN_MODULES",
    "LIGHT_SOURCE",
    "LIGHT_SOURCE_ENABLE",
    "LIGHT_SOURCE_INTENSITY",
    "MAX_COEFFICIENTS",
    "MAX_PIXELS",
    "MAX_TEXT",
    "METADATA_HEAD",
    "METADATA_SIZE",
    "TRIGGER_NORMAL",
    "U8",
    "U16",
    "U32",
    "ErrorCode",
    "MsgType",
    "RamanModule",
    "describe_error",
    "msg_name",
    "unpack_f32",
    "unpack_text",
    "unpack_uint",
]
