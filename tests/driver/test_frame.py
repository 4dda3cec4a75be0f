"""The I/O-free frame layer: chunking, round trips, corruption, resynchronisation."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from driver.protocol import (
    MAX_PAYLOAD,
    OVERHEAD,
    Flag,
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorKind,
    encode_frame,
)

frames = st.builds(
    Frame,
    msg_type=st.integers(0, 0xFFFF),
    seq=st.integers(0, 0xFFFF),
    payload=st.binary(max_size=300),
    flags=st.sampled_from([Flag.NONE, Flag.REPLY, Flag.EVENT, Flag.REPLY | Flag.MORE,
                           Flag.NACK]),
    error=st.integers(0, 0xFFFF),
)


def decoded(items: list[Frame | FrameError]) -> list[Frame]:
    return [i for i in items if isinstance(i, Frame)]


@given(frames)
def test_encode_decode_round_trip(frame: Frame) -> None:
    raw = encode_frame(frame)
    assert len(raw) == OVERHEAD + len(frame.payload)
    assert FrameDecoder().feed(raw) == [frame]


@given(st.lists(frames, min_size=1, max_size=6), st.data())
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


@given(frames, st.data())
def test_corruption_is_never_accepted(frame: Frame, data: st.DataObject) -> None:
    raw = bytearray(encode_frame(frame))
    positions = data.draw(st.lists(st.integers(0, len(raw) - 1), min_size=1, max_size=8,
                                   unique=True))
    for p in positions:
        raw[p] ^= data.draw(st.integers(1, 255))
    got = decoded(FrameDecoder().feed(bytes(raw)))
    # no frame at all, and certainly not one passing as the original
    assert got == []


@given(frames, st.binary(max_size=200), st.binary(max_size=200))
def test_resynchronises_after_garbage(frame: Frame, before: bytes, after: bytes) -> None:
    raw = encode_frame(frame)
    out = FrameDecoder().feed(before + raw + after + raw)
    assert decoded(out)[-1] == frame  # whatever came before, the last frame is found


def test_damaged_frame_does_not_swallow_the_next() -> None:
    a = bytearray(encode_frame(Frame(1, 7, b"x" * 50)))
    a[30] ^= 0xFF
    b = encode_frame(Frame(2, 8, b"ok"))
    out = FrameDecoder().feed(bytes(a) + b)
    assert decoded(out) == [Frame(2, 8, b"ok")]
    crc_errors = [i for i in out if isinstance(i, FrameError) and i.kind is FrameErrorKind.BAD_CRC]
    assert crc_errors and crc_errors[0].seq == 7  # the intact header names the frame


def test_garbled_length_is_rejected_at_once() -> None:
    raw = bytearray(encode_frame(Frame(1, 1, b"abc")))
    raw[12] ^= 0x40  # length field: without the header check we would wait for 4 MB
    out = FrameDecoder().feed(bytes(raw))
    assert any(isinstance(i, FrameError) and i.kind is FrameErrorKind.BAD_HEADER for i in out)


def test_encode_refuses_bad_fields() -> None:
    with pytest.raises(ValueError, match="exceeds the maximum"):
        encode_frame(Frame(1, 1, b"\0" * (MAX_PAYLOAD + 1)))
    with pytest.raises(ValueError, match="seq=70000"):
        encode_frame(Frame(1, 70000))


def test_pure_garbage_yields_errors_only() -> None:
    out = FrameDecoder().feed(b"hello, I am a modem\r\nOK\r\n")
    assert out and all(isinstance(i, FrameError) for i in out)


def test_every_struct_payload_round_trips_and_checks_its_length() -> None:
    from driver.protocol import messages as m

    classes = [c for c in vars(m).values()
               if isinstance(c, type) and issubclass(c, m._Packed) and c is not m._Packed]
    assert len(classes) >= 12
    for cls in classes:
        values = {f: (1.5 if code == "f" else 1) for f, code in
                  zip(cls.FIELDS, cls.FMT.format.lstrip("<"), strict=True)}
        obj = cls(**values)
        assert cls.unpack(obj.pack()) == obj
        with pytest.raises(ValueError, match=f"{cls.__name__} payload must be"):
            cls.unpack(obj.pack() + b"\0")
    assert m.describe_error(5) == ("OUT_OF_RANGE", "parameter out of the device's range")
    assert m.describe_error(999)[0] == "E999"
    assert set(m.ERROR_MESSAGES) == set(m.ErrorCode)
