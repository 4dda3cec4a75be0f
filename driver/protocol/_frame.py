"""I/O-free framing of the Interdict wire protocol: bytes in, frames or typed frame errors out.

Frame layout (all integers little-endian), 22 bytes of overhead::

    off  size  field
    0    2     start      b"\\xc1\\x1d"
    2    1     version    protocol version (1)
    3    1     flags      bit set of :class:`Flag`
    4    2     msg_type   see ``messages.MsgType``
    6    2     seq        sequence number (requests: host counter; events: device counter)
    8    2     error      error code (0 = OK), see ``messages.ErrorCode``
    10   4     length     payload length in bytes, at most :data:`MAX_PAYLOAD`
    14   2     hcheck     low 16 bits of CRC-32 over bytes 0..13 (lets a receiver reject a
                          garbled length at once instead of waiting for bytes that never come)
    16   n     payload
    16+n 4     crc        CRC-32 (zlib) over bytes 0..16+n-1: header and payload
    20+n 2     end        b"\\x1d\\xe1"

The decoder never touches a port: :meth:`FrameDecoder.feed` takes any chunk of bytes and
returns the frames completed by it, interleaved with :class:`FrameError` values for the
garbage and damaged frames it skipped. After any error it resynchronises on the next start
sequence, one byte past where the bad frame began, so one damaged frame never swallows the
next good one.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass

START = b"\xc1\x1d"
END = b"\x1d\xe1"
VERSION = 1
HEADER = struct.Struct("<2sBBHHHIH")  # start, version, flags, type, seq, error, length, hcheck
HEADER_SIZE = HEADER.size  # 16
TRAILER = struct.Struct("<I2s")  # crc, end
OVERHEAD = HEADER_SIZE + TRAILER.size  # 22
MAX_PAYLOAD = 8192
"""Largest payload a frame may carry; a header announcing more is rejected at once."""


class Flag(enum.IntFlag):
    """Frame flags (byte 3)."""

    NONE = 0
    REPLY = 0x01
    """A reply to the request with the same sequence number (an ACK when ``error`` is 0)."""
    NACK = 0x02
    """The request was not accepted at frame level (bad CRC, bad frame): send it again."""
    EVENT = 0x04
    """Unsolicited message from the device; ``seq`` is the device's event counter."""
    MORE = 0x08
    """More data frames follow for the same request."""


class FrameErrorKind(enum.Enum):
    """Why bytes on the line were not a frame."""

    GARBAGE = "garbage"
    """Bytes before a start sequence: skipped."""
    BAD_HEADER = "bad-header"
    """Header check failed (or length above the maximum, or unknown version)."""
    BAD_CRC = "bad-crc"
    """Header fine, CRC-32 over header and payload wrong."""
    BAD_END = "bad-end"
    """CRC fine but the end bytes are wrong."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded (or to-be-encoded) frame."""

    msg_type: int
    seq: int
    payload: bytes = b""
    flags: Flag = Flag.NONE
    error: int = 0
    version: int = VERSION


@dataclass(frozen=True, slots=True)
class FrameError:
    """Bytes that were skipped, and why.

    Attributes
    ----------
    kind
        The reason.
    skipped
        How many bytes were discarded.
    seq, msg_type
        From the header when it was intact (``BAD_CRC``/``BAD_END``), else ``None``.
    """

    kind: FrameErrorKind
    skipped: int
    seq: int | None = None
    msg_type: int | None = None


def _hcheck(head14: bytes) -> int:
    return zlib.crc32(head14) & 0xFFFF


def encode_frame(frame: Frame) -> bytes:
    """The bytes of ``frame`` on the wire.

    Raises
    ------
    ValueError
        Payload longer than :data:`MAX_PAYLOAD`, or a field out of its integer range.
    """
    n = len(frame.payload)
    if n > MAX_PAYLOAD:
        raise ValueError(f"payload of {n} bytes exceeds the maximum of {MAX_PAYLOAD}")
    for name, value, hi in (("msg_type", frame.msg_type, 0xFFFF), ("seq", frame.seq, 0xFFFF),
                            ("error", frame.error, 0xFFFF), ("version", frame.version, 0xFF)):
        if not 0 <= value <= hi:
            raise ValueError(f"{name}={value} out of range 0..{hi}")
    head14 = struct.pack("<2sBBHHHI", START, frame.version, int(frame.flags), frame.msg_type,
                         frame.seq, frame.error, n)
    head = head14 + struct.pack("<H", _hcheck(head14))
    body = head + frame.payload
    return body + TRAILER.pack(zlib.crc32(body), END)


class FrameDecoder:
    """Incremental decoder: feed it bytes in any chunking, get frames and frame errors.

    Parameters
    ----------
    max_payload
        Reject headers announcing more than this.
    """

    def __init__(self, max_payload: int = MAX_PAYLOAD) -> None:
        self._buf = bytearray()
        self._max = max_payload

    @property
    def pending(self) -> int:
        """Bytes held waiting for the rest of a frame."""
        return len(self._buf)

    def reset(self) -> None:
        """Forget any partial frame (after a reconnect)."""
        self._buf.clear()

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
        out: list[Frame | FrameError] = []
        buf = self._buf
        while True:
            i = buf.find(START)
            if i < 0:
                # keep a trailing first start byte: it may begin a frame
                keep = 1 if buf[-1:] == START[:1] else 0
                if len(buf) - keep > 0:
                    out.append(FrameError(FrameErrorKind.GARBAGE, len(buf) - keep))
                    del buf[: len(buf) - keep]
                break
            if i > 0:
                out.append(FrameError(FrameErrorKind.GARBAGE, i))
                del buf[:i]
            if len(buf) < HEADER_SIZE:
                break
            _, version, flags, mtype, seq, err, length, hcheck = HEADER.unpack_from(buf)
            if (hcheck != _hcheck(bytes(buf[:14])) or length > self._max
                    or version != VERSION):
                out.append(FrameError(FrameErrorKind.BAD_HEADER, 1))
                del buf[:1]
                continue
            total = HEADER_SIZE + length + TRAILER.size
            if len(buf) < total:
                break
            body_end = HEADER_SIZE + length
            crc, end = TRAILER.unpack_from(buf, body_end)
            if crc != zlib.crc32(memoryview(buf)[:body_end]):
                out.append(FrameError(FrameErrorKind.BAD_CRC, 1, seq, mtype))
                del buf[:1]
                continue
            if end != END:
                out.append(FrameError(FrameErrorKind.BAD_END, 1, seq, mtype))
                del buf[:1]
                continue
            out.append(Frame(msg_type=mtype, seq=seq, payload=bytes(buf[HEADER_SIZE:body_end]),
                             flags=Flag(flags), error=err, version=version))
            del buf[:total]
        return out
