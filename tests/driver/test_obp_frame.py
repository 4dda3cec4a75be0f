"""The I/O-free OBP frame layer: chunking, round trips, corruption, resynchronisation, bounds,
and the byte layout against the published examples."""

from __future__ import annotations

import hashlib
import struct

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.protocol.obp_frame import (
    FOOTER,
    HEADER_SIZE,
    OVERHEAD,
    VERSIONS,
    Checksum,
    Flag,
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorKind,
    encode_frame,
    make_frame,
)

flags = st.sampled_from([Flag.NONE, Flag.ACK_REQUESTED, Flag.RESPONSE,
                         Flag.RESPONSE | Flag.ACK, Flag.RESPONSE | Flag.NACK,
                         Flag.RESPONSE | Flag.EXCEPTION])


MD5_ONLY = st.just(Checksum.MD5)


@st.composite
def frames(draw: st.DrawFn, checksum: st.SearchStrategy[Checksum] = MD5_ONLY) -> Frame:
    in_header = draw(st.booleans())
    data = draw(st.binary(max_size=16) if in_header else st.binary(max_size=400))
    return Frame(msg_type=draw(st.integers(0, 0xFFFFFFFF)),
                 regarding=draw(st.integers(0, 0xFFFFFFFF)),
                 immediate=data if in_header else b"", payload=b"" if in_header else data,
                 flags=draw(flags), error=draw(st.integers(0, 0xFFFF)),
                 checksum=draw(checksum), version=draw(st.sampled_from(sorted(VERSIONS))))


def decoded(items: list[Frame | FrameError]) -> list[Frame]:
    return [i for i in items if isinstance(i, Frame)]


@given(frames(st.sampled_from(Checksum)))
def test_encode_decode_round_trip(frame: Frame) -> None:
    raw = encode_frame(frame)
    assert len(raw) == OVERHEAD + len(frame.payload)
    assert FrameDecoder(require_checksum=False).feed(raw) == [frame]


@given(st.lists(frames(), min_size=1, max_size=5), st.data())
def test_any_chunking_gives_the_same_frames(fs: list[Frame], data: st.DataObject) -> None:
    stream = b"".join(encode_frame(f) for f in fs)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=20)))
    dec = FrameDecoder()
    out: list[Frame | FrameError] = []
    prev = 0
    for c in [*cuts, len(stream)]:
        out += dec.feed(stream[prev:c])
        prev = c
    assert decoded(out) == fs
    assert dec.pending == 0


@given(frames(), st.data())
def test_corruption_is_never_accepted_when_a_checksum_is_required(
        frame: Frame, data: st.DataObject) -> None:
    raw = bytearray(encode_frame(frame))
    positions = data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8,
                                   unique=True))
    for p in positions:
        raw[p] ^= data.draw(st.integers(1, 255))
    dec = FrameDecoder()
    got = decoded(dec.feed(bytes(raw)) + dec.flush())
    assert got == []  # no frame at all, and certainly not one passing as the original


def test_without_a_checksum_corruption_goes_undetected() -> None:
    """The documented limit: a device that does not checksum its replies cannot be trusted
    with data; the decoder only sees structure."""
    frame = make_frame(0x00101100, bytes(range(40)), checksum=Checksum.NONE,
                       flags=Flag.RESPONSE)
    raw = bytearray(encode_frame(frame))
    raw[HEADER_SIZE + 5] ^= 0x10  # one pixel byte
    got = decoded(FrameDecoder(require_checksum=False).feed(bytes(raw)))
    assert len(got) == 1 and got[0].payload != frame.payload
    # with a checksum required, the same frame is refused unread
    refused = FrameDecoder().feed(bytes(raw))
    assert decoded(refused) == []
    assert any(isinstance(i, FrameError) and i.kind is FrameErrorKind.UNCHECKED
               and i.regarding == 0 for i in refused)


def test_a_flipped_checksum_type_does_not_switch_verification_off() -> None:
    frame = make_frame(0x00000100, b"SERIAL-1", flags=Flag.RESPONSE)
    raw = bytearray(encode_frame(frame))
    raw[22] = Checksum.NONE  # checksum type byte
    raw[24] ^= 0x01  # and the data
    assert decoded(FrameDecoder().feed(bytes(raw))) == []


@given(frames(), st.binary(max_size=200), st.binary(max_size=200))
def test_resynchronises_after_garbage(frame: Frame, before: bytes, after: bytes) -> None:
    raw = encode_frame(frame)
    dec = FrameDecoder()
    out = dec.feed(before + raw + after + raw)
    out += dec.flush()
    assert decoded(out)[-1] == frame  # whatever came before, the last frame is found


def test_damaged_frame_does_not_swallow_the_next() -> None:
    a = bytearray(encode_frame(make_frame(1, b"x" * 50, regarding=7)))
    a[60] ^= 0xFF
    b = encode_frame(make_frame(2, b"ok", regarding=8))
    out = FrameDecoder().feed(bytes(a) + b)
    assert decoded(out) == [make_frame(2, b"ok", regarding=8)]
    bad = [i for i in out if isinstance(i, FrameError) and i.kind is FrameErrorKind.BAD_CHECKSUM]
    assert bad and bad[0].regarding == 7  # an unverified hint: "probably our reply"


def test_garbled_length_is_recovered_when_the_line_goes_quiet() -> None:
    """OBP has no header check: a length made larger (within bounds) holds the decoder until
    the caller, seeing the line quiet, flushes; the frame behind is then found."""
    a = bytearray(encode_frame(make_frame(1, b"y" * 100, regarding=1)))
    a[41] ^= 0x04  # bytes remaining + 1024
    b = encode_frame(make_frame(2, b"next", regarding=2))
    dec = FrameDecoder()
    assert decoded(dec.feed(bytes(a) + b)) == []
    assert dec.pending == len(a) + len(b)
    out = dec.flush()
    assert decoded(out) == [make_frame(2, b"next", regarding=2)]
    assert any(isinstance(i, FrameError) and i.kind is FrameErrorKind.TRUNCATED for i in out)
    assert dec.pending == 0


def test_a_declared_4_gib_payload_is_refused_at_once() -> None:
    raw = bytearray(encode_frame(make_frame(0x00100928, b"", regarding=3)))
    raw[40:44] = struct.pack("<I", 0xFFFFFFFF)
    dec = FrameDecoder(max_payload=8224)
    out = dec.feed(bytes(raw))
    assert any(isinstance(i, FrameError) and i.kind is FrameErrorKind.TOO_LONG
               and i.regarding == 3 and "more than the 8224 expected" in i.detail for i in out)
    assert dec.pending < HEADER_SIZE  # nothing held waiting for 4 GiB


@pytest.mark.parametrize(("offset", "value", "why"), [
    (2, b"\x00\x20", "protocol version 0x2000"),
    (22, b"\x07", "checksum type 7"),
    (23, b"\x11", "immediate length 17"),
    (40, b"\x13\x00\x00\x00", "bytes remaining 19"),
])
def test_implausible_headers_are_named(offset: int, value: bytes, why: str) -> None:
    raw = bytearray(encode_frame(make_frame(5, b"", regarding=1)))
    raw[offset:offset + len(value)] = value
    out = FrameDecoder(require_checksum=False).feed(bytes(raw))
    assert any(isinstance(i, FrameError) and i.kind is FrameErrorKind.BAD_HEADER
               and why in i.detail for i in out)


def test_immediate_data_and_payload_together_are_refused() -> None:
    raw = bytearray(encode_frame(make_frame(5, b"z" * 20)))
    raw[23] = 2  # now claims immediate data as well
    out = FrameDecoder(require_checksum=False).feed(bytes(raw))
    assert any(isinstance(i, FrameError) and "immediate data and a payload" in i.detail
               for i in out)


def test_encode_refuses_bad_fields() -> None:
    with pytest.raises(ValueError, match="exceeds 16"):
        encode_frame(Frame(1, immediate=b"x" * 17))
    with pytest.raises(ValueError, match="exclusive"):
        encode_frame(Frame(1, immediate=b"x", payload=b"y"))
    with pytest.raises(ValueError, match="regarding=4294967296"):
        encode_frame(Frame(1, regarding=2**32))


def test_pure_garbage_yields_errors_only() -> None:
    dec = FrameDecoder()
    out = dec.feed(b"hello, I am a modem\r\nOK\r\n\xc1") + dec.flush()
    assert out and all(isinstance(i, FrameError) for i in out)
    assert dec.pending == 0


def test_layout_matches_the_ventana_data_sheet_examples() -> None:
    """Byte-for-byte the two examples of the Ventana data sheet (891-00000-200-05-201305,
    p. 12-13, protocol version 0x1000, no checksum): Set Integration Time with 4 bytes of
    immediate data, and Get And Send Corrected Spectrum Immediately."""
    itime = encode_frame(Frame(0x00110010, immediate=struct.pack("<I", 0x00ABCDEF),
                               flags=Flag.ACK_REQUESTED, checksum=Checksum.NONE,
                               version=0x1000))
    assert itime[:2] == b"\xc1\xc0" and itime[2:4] == b"\x00\x10"
    assert itime[8:12] == b"\x10\x00\x11\x00"  # message type 0x00110010, LSB first
    assert itime[22] == 0x00 and itime[23] == 0x04  # checksum type, immediate length
    assert itime[24:28] == b"\xef\xcd\xab\x00" and itime[28:40] == bytes(12)
    assert itime[40:44] == b"\x14\x00\x00\x00"  # bytes remaining: checksum + footer
    assert itime[60:64] == b"\xc5\xc4\xc3\xc2" == FOOTER and len(itime) == 64
    spectrum = encode_frame(Frame(0x00101000, checksum=Checksum.NONE, version=0x1000))
    assert spectrum[:12] == b"\xc1\xc0\x00\x10\x00\x00\x00\x00\x00\x10\x10\x00"


def test_md5_covers_header_and_payload_as_documented() -> None:
    """Ventana data sheet: "computed starting with the start byte of the header and
    continuing through the last byte of the payload"; python-seabreeze checks
    ``md5(response[:-20])``: the same bytes."""
    raw = encode_frame(make_frame(0x00100928, b"p" * 100, flags=Flag.RESPONSE))
    assert raw[-20:-4] == hashlib.md5(raw[:-20]).digest()
    # python-seabreeze's HEADER_FMT describes the same 44 bytes
    assert struct.calcsize("<HHHHLL6sBB16sL") == HEADER_SIZE
