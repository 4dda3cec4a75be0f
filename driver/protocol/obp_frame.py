"""I/O-free framing of Ocean Insight's Ocean Binary Protocol (OBP): bytes in, frames or typed
frame errors out.

Message layout (all integers little-endian), 64 bytes of overhead::

    off  size  field
    0    2     start            C1 C0
    2    2     protocol version 0x1100 (0x1000 on older firmware)
    4    2     flags            bit set of :class:`Flag`
    6    2     error number     0 = success, see ``obp_messages.ErrorCode``
    8    4     message type     0xXXXYYYZZ: category, sub-category, command
    12   4     regarding        host-chosen, echoed in the reply (our sequence number)
    16   6     reserved
    22   1     checksum type    0 none, 1 MD5
    23   1     immediate length 0..16
    24   16    immediate data   operands of at most 16 bytes travel here ...
    40   4     bytes remaining  ... else a payload follows: payload + 16 + 4
    44   n     payload
    44+n 16    checksum         MD5 over bytes 0 .. 44+n-1 (header and payload), or zeros
    60+n 4     footer           C5 C4 C3 C2

Sources: the Ventana data sheet (Ocean Optics 891-00000-200-05-201305, "Header", "Payload",
"Checksum", "Footer"), python-seabreeze ``pyseabreeze/protocol.py`` (``_OBP.HEADER_FMT``,
``FOOTER_FMT``) and SeaBreeze ``OBPMessage.cpp``; see ``docs/protocol.md``.

OBP has no header check: a corrupted *bytes remaining* field announces a wrong length. The
decoder bounds it (``max_payload``, set by the caller to the largest reply it expects) and
checks the header's plausibility (version, checksum type, immediate length, immediate *or*
payload) before waiting for the rest; when the line then goes quiet with a frame still
incomplete, :meth:`FrameDecoder.flush` gives that frame up and rescans what follows it, so a
garbled length never swallows the good frames behind it. After any error the decoder drops
one byte and searches for the next start sequence.

With ``require_checksum`` (the default) a frame without an MD5 checksum is refused: a bit flip
in the checksum-type byte must not switch verification off.
"""

from __future__ import annotations

import enum
import hashlib
import struct
from dataclasses import dataclass

START = b"\xc1\xc0"
FOOTER = b"\xc5\xc4\xc3\xc2"
PROTOCOL_VERSION = 0x1100
"""The version we send: the current one (STS data sheet 030-00000-003-05-201612)."""
VERSIONS = frozenset({0x1000, 0x1100})
"""Versions accepted from a device (0x1000: the initial version, Ventana data sheet)."""
HEADER = struct.Struct("<2sHHHII6sBB16sI")
HEADER_SIZE = HEADER.size  # 44
CHECKSUM_SIZE = 16
TRAILER_SIZE = CHECKSUM_SIZE + len(FOOTER)  # 20
OVERHEAD = HEADER_SIZE + TRAILER_SIZE  # 64
IMMEDIATE_MAX = 16
DEFAULT_MAX_PAYLOAD = 65536
"""Default bound on a payload; sessions lower it to the reply they expect."""


class Flag(enum.IntFlag):
    """Header flags (bytes 4-5), as the Ventana data sheet assigns them."""

    NONE = 0
    RESPONSE = 0x0001
    """Response to an earlier request (set by the device)."""
    ACK = 0x0002
    """Acknowledgement of a request that asked for one (set by the device)."""
    ACK_REQUESTED = 0x0004
    """The host wants an ACK (or NACK) for this message."""
    NACK = 0x0008
    """Negative acknowledgement; the error number says why (set by the device)."""
    EXCEPTION = 0x0010
    """The message was valid but the hardware failed; the result may be invalid."""
    DEPRECATED = 0x0020
    """The protocol version the host used is deprecated."""


class Checksum(enum.IntEnum):
    """Checksum type (byte 22)."""

    NONE = 0
    MD5 = 1


class FrameErrorKind(enum.Enum):
    """Why bytes on the line were not a frame."""

    GARBAGE = "garbage"
    """Bytes before a start sequence: skipped."""
    BAD_HEADER = "bad-header"
    """Implausible header: unknown version or checksum type, immediate length above 16,
    immediate data *and* a payload, or a length out of bounds."""
    TOO_LONG = "too-long"
    """A plausible header announcing a longer payload than the caller expects (refused
    unread: declared sizes are bounded before anything is allocated for them)."""
    UNCHECKED = "unchecked"
    """A frame without checksum where one is required (refused unread)."""
    BAD_CHECKSUM = "bad-checksum"
    """The MD5 over header and payload does not match."""
    BAD_FOOTER = "bad-footer"
    """Checksum fine (or none) but the footer bytes are wrong."""
    TRUNCATED = "truncated"
    """The line went quiet before the announced length arrived (:meth:`FrameDecoder.flush`)."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One OBP message, as on the wire.

    ``immediate`` and ``payload`` are exclusive: operands of up to 16 bytes usually travel in
    the header's immediate field, longer ones in the payload (:func:`make_frame` chooses).
    """

    msg_type: int
    regarding: int = 0
    immediate: bytes = b""
    payload: bytes = b""
    flags: Flag = Flag.NONE
    error: int = 0
    checksum: Checksum = Checksum.MD5
    version: int = PROTOCOL_VERSION

    @property
    def data(self) -> bytes:
        """The message's operands, whichever field holds them."""
        return self.immediate or self.payload


@dataclass(frozen=True, slots=True)
class FrameError:
    """Bytes that were skipped, and why.

    Attributes
    ----------
    kind
        The reason.
    skipped
        How many bytes were discarded.
    msg_type, regarding
        From the header of a frame that was refused (not for garbage or a truncated
        header). Unverified: a hint for a prompt resend, never trusted as data.
    detail
        A readable explanation (which header field was implausible).
    """

    kind: FrameErrorKind
    skipped: int
    msg_type: int | None = None
    regarding: int | None = None
    detail: str = ""


def make_frame(msg_type: int, data: bytes = b"", **fields: object) -> Frame:
    """A frame carrying ``data`` in the immediate field if it fits (<= 16 bytes), else in the
    payload; other header fields by keyword (``regarding``, ``flags``, ``error``...)."""
    if len(data) <= IMMEDIATE_MAX:
        return Frame(msg_type, immediate=data, **fields)  # type: ignore[arg-type]
    return Frame(msg_type, payload=data, **fields)  # type: ignore[arg-type]


def encode_frame(frame: Frame) -> bytes:
    """The bytes of ``frame`` on the wire.

    Raises
    ------
    ValueError
        Immediate data above 16 bytes, immediate data and a payload, or a field out of its
        integer range.
    """
    if len(frame.immediate) > IMMEDIATE_MAX:
        raise ValueError(f"immediate data of {len(frame.immediate)} bytes exceeds "
                         f"{IMMEDIATE_MAX}")
    if frame.immediate and frame.payload:
        raise ValueError("immediate data and a payload are exclusive")
    for name, value, hi in (("msg_type", frame.msg_type, 0xFFFFFFFF),
                            ("regarding", frame.regarding, 0xFFFFFFFF),
                            ("error", frame.error, 0xFFFF), ("flags", int(frame.flags), 0xFFFF),
                            ("version", frame.version, 0xFFFF)):
        if not 0 <= value <= hi:
            raise ValueError(f"{name}={value} out of range 0..{hi}")
    head = HEADER.pack(START, frame.version, int(frame.flags), frame.error, frame.msg_type,
                       frame.regarding, bytes(6), int(frame.checksum), len(frame.immediate),
                       frame.immediate.ljust(IMMEDIATE_MAX, b"\0"),
                       len(frame.payload) + TRAILER_SIZE)
    body = head + frame.payload
    digest = hashlib.md5(body).digest() if frame.checksum == Checksum.MD5 \
        else bytes(CHECKSUM_SIZE)
    return body + digest + FOOTER


class FrameDecoder:
    """Incremental decoder: feed it bytes in any chunking, get frames and frame errors.

    Parameters
    ----------
    max_payload
        Refuse headers announcing a longer payload (the caller's bound on what it expects).
    require_checksum
        Refuse frames that carry no MD5 checksum.
    """

    def __init__(self, max_payload: int = DEFAULT_MAX_PAYLOAD, *,
                 require_checksum: bool = True) -> None:
        self._buf = bytearray()
        self.max_payload = max_payload
        self.require_checksum = require_checksum

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect)."""
        self._buf.clear()

    def _implausible(self, version: int, checksum: int, immediate_len: int,
                     remaining: int) -> str:
        if version not in VERSIONS:
            return f"protocol version 0x{version:04x} unknown"
        if checksum not in (Checksum.NONE, Checksum.MD5):
            return f"checksum type {checksum} unknown"
        if immediate_len > IMMEDIATE_MAX:
            return f"immediate length {immediate_len} > {IMMEDIATE_MAX}"
        if remaining < TRAILER_SIZE:
            return f"bytes remaining {remaining} < {TRAILER_SIZE}"
        if immediate_len and remaining != TRAILER_SIZE:
            return "immediate data and a payload"
        return ""

    def feed(self, data: bytes) -> list[Frame | FrameError]:
        """Add bytes; return what they completed, in line order.

        Parameters
        ----------
        data
            Any number of bytes, including none.

        Returns
        -------
        list of Frame or FrameError
        """
        self._buf += data
        return self._scan(flush=False)

    def flush(self) -> list[Frame | FrameError]:
        """The line went quiet: give up the incomplete frame at the front (its length field
        was probably garbled) and rescan the bytes held behind it.

        Returns
        -------
        list of Frame or FrameError
            A ``TRUNCATED`` error, then whatever the held bytes contain.
        """
        return self._scan(flush=True)

    def _scan(self, *, flush: bool) -> list[Frame | FrameError]:
        out: list[Frame | FrameError] = []
        buf = self._buf
        while True:
            i = buf.find(START)
            if i < 0:
                # keep a trailing first start byte: it may begin a frame
                keep = 1 if buf[-1:] == START[:1] and not flush else 0
                if len(buf) - keep > 0:
                    out.append(FrameError(FrameErrorKind.GARBAGE, len(buf) - keep))
                    del buf[: len(buf) - keep]
                break
            if i > 0:
                out.append(FrameError(FrameErrorKind.GARBAGE, i))
                del buf[:i]
            if len(buf) < HEADER_SIZE:
                if flush:
                    out.append(FrameError(FrameErrorKind.TRUNCATED, 1,
                                          detail=f"{len(buf)} of {HEADER_SIZE} header bytes"))
                    del buf[:1]
                    continue
                break
            (_, version, flags, error, msg_type, regarding, _, checksum, immediate_len,
             immediate, remaining) = HEADER.unpack_from(buf)
            problem = self._implausible(version, checksum, immediate_len, remaining)
            if problem:
                out.append(FrameError(FrameErrorKind.BAD_HEADER, 1, msg_type, regarding,
                                      problem))
                del buf[:1]
                continue
            if remaining - TRAILER_SIZE > self.max_payload:
                out.append(FrameError(FrameErrorKind.TOO_LONG, 1, msg_type, regarding,
                                      f"payload of {remaining - TRAILER_SIZE} bytes announced, "
                                      f"more than the {self.max_payload} expected"))
                del buf[:1]
                continue
            if self.require_checksum and checksum != Checksum.MD5:
                out.append(FrameError(FrameErrorKind.UNCHECKED, 1, msg_type, regarding,
                                      "no checksum, and one is required"))
                del buf[:1]
                continue
            total = HEADER_SIZE + remaining
            if len(buf) < total:
                if flush:
                    out.append(FrameError(FrameErrorKind.TRUNCATED, 1, msg_type, regarding,
                                          f"{len(buf)} of {total} bytes"))
                    del buf[:1]
                    flush = False  # only the front frame is given up
                    continue
                break
            body_end = total - TRAILER_SIZE
            if checksum == Checksum.MD5 and hashlib.md5(memoryview(buf)[:body_end]).digest() \
                    != bytes(buf[body_end:body_end + CHECKSUM_SIZE]):
                out.append(FrameError(FrameErrorKind.BAD_CHECKSUM, 1, msg_type, regarding))
                del buf[:1]
                continue
            if bytes(buf[total - len(FOOTER):total]) != FOOTER:
                out.append(FrameError(FrameErrorKind.BAD_FOOTER, 1, msg_type, regarding))
                del buf[:1]
                continue
            out.append(Frame(msg_type=msg_type, regarding=regarding,
                             immediate=bytes(immediate[:immediate_len]),
                             payload=bytes(buf[HEADER_SIZE:body_end]), flags=Flag(flags),
                             error=error, checksum=Checksum(checksum), version=version))
            del buf[:total]
        return out


__all__ = [
    "CHECKSUM_SIZE",
    "DEFAULT_MAX_PAYLOAD",
    "FOOTER",
    "HEADER_SIZE",
    "IMMEDIATE_MAX",
    "OVERHEAD",
    "PROTOCOL_VERSION",
    "START",
    "TRAILER_SIZE",
    "VERSIONS",
    "Checksum",
    "Flag",
    "Frame",
    "FrameDecoder",
    "FrameError",
    "FrameErrorKind",
    "encode_frame",
    "make_frame",
]
