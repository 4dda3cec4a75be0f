"""The fuzz targets: the spectrum readers, the AED batch row parser, the wire frame decoder.

Each target states the error types its code documents and a memory bound relative to the
input (``floor + factor × input size``); the factors follow from each reader's documented
limits:

* JCAMP-DX may hold up to 16 points per byte (``MAX_POINTS_PER_BYTE``, DUP compression), and
  decoding keeps a Python number per point until the arrays are built: ~80 bytes a point,
  so 16 × 80 ≈ 1,300 bytes per input byte (the densest real file holds 0.81 points a byte);
* SPC: every subfile becomes a ``Spectrum`` (arrays, a copy of the axis, its header fields):
  a 38-byte one-point XYXY subfile costs ~2 kB;
* delimited text streams: ~2.6× its output arrays (at most 16 bytes per 4-byte row) plus
  batches; the floor covers the batch;
* an AED row is parsed into pydantic models (~100× a small JSON object);
* the frame decoder holds at most one frame (22 + 8,192 bytes).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

from spectra import AxisReversedWarning, FormatError, ParameterWarning, Spectrum

from .engine import MiB, Seed, Target

SPECTRA_WARNINGS: tuple[type[Warning], ...] = (ParameterWarning, AxisReversedWarning)


def _seeds(paths: list[Path], root: Path, max_bytes: int | None) -> list[Seed]:
    out = []
    for p in sorted(paths):
        if not p.is_file() or (max_bytes is not None and p.stat().st_size > max_bytes):
            continue
        out.append(Seed(str(p.relative_to(root)), p.read_bytes()))
    return out


def _spectra_check(result: object, _data: bytes) -> None:
    assert isinstance(result, list) and result, "a reader returns a non-empty list"
    for s in result:
        assert isinstance(s, Spectrum), type(s)
        # Spectrum guarantees finite values and a strictly increasing axis; a reader must
        # not hand out anything else
        assert s.x.size == s.y.size and s.x.size > 0


def _reader(read: Callable[[Path], object], suffix: str) -> Callable[[bytes, Path], object]:
    def call(data: bytes, scratch: Path) -> object:
        p = scratch / f"input{suffix}"
        p.write_bytes(data)
        return read(p)

    return call


# text-export seeds outside formats/: one per vendor flavour the text reader knows
VENDOR_TEXT = (
    "raman/acetonitrile_multi_instrument_arcadia/data/Wasatch_WP785X/acetonitrile.csv",
    "raman/acetonitrile_multi_instrument_arcadia/data/Horiba_MacroRAM/acetonitrile.txt",
    "raman/acetonitrile_multi_instrument_arcadia/data/Renishaw_Qontor/glass_slide_background.txt",
    "raman/polystyrene_multi_instrument_charisma/Neegala/PST_532_SEX139.txt",
    "raman/polystyrene_multi_instrument_charisma/LightNovo/polystyrene_aritficially_worsened.tsv",
    "raman/polystyrene_multi_instrument_charisma/BWTEK/lamp Ne 10ms 0%.txt",
    "raman/portable_reagents_drugs_whenfung/pure/acetone.txt",
    "raman/rruff_excellent_unoriented/original_files/"
    "Calcite__R040070__Raman__532__0__unoriented__Raman_Data_Processed__15330.txt",
)


OWN_FROM = (
    "formats/spc/charisma_ramanchada2/Renishaw/nCal_Qontor785_z005H12_100_1x3s.spc",
    "raman/acetonitrile_multi_instrument_arcadia/data/Wasatch_WP785X/acetonitrile.csv",
)
"""Real spectra written back in our own JCAMP-DX and CSV: seeds for the JSON-carrying headers
(``##$INTERDICT …``, ``# key: JSON``) that no third-party file has."""


def _own_format_seeds(shared: Path) -> tuple[list[Seed], list[Seed]]:
    import tempfile

    import spectra
    from spectra.formats import jcamp, text

    jdx, csvs = [], []
    for rel in OWN_FROM:
        if not (shared / rel).is_file():
            continue
        s = spectra.read(shared / rel)[0]
        jdx.append(Seed(f"{rel} as our JCAMP-DX", jcamp.dumps(s).encode()))
        with tempfile.TemporaryDirectory() as d:
            p = Path(d) / "own.csv"
            text.write(s, p)
            csvs.append(Seed(f"{rel} as our CSV", p.read_bytes()))
    return jdx, csvs


SPECTRA_TARGETS = ("spectra.read", "jcamp", "spc", "text")


def spectra_targets(shared: Path, *, max_seed_bytes: int | None = None,
                    names: tuple[str, ...] = SPECTRA_TARGETS) -> list[Target]:
    """``spectra.read`` over every file in ``formats/``, and each format's own reader over its
    files (``max_seed_bytes`` leaves out larger seeds, for a quick run), plus real spectra
    written back in our own formats; only those in ``names``."""
    import spectra
    from spectra.formats import jcamp, spc, text

    own_jdx, own_csv = (_own_format_seeds(shared) if {"spectra.read", "jcamp", "text"} & set(names)
                        else ([], []))
    formats = shared / "formats"
    every = [p for p in formats.rglob("*") if p.is_file()]
    text_paths = [p for p in every if p.suffix.lower() in (".txt", ".csv", ".tsv", ".scope")
                  and p.name != "INDEX.csv" and "jcamp" not in p.parts]
    text_paths += [shared / rel for rel in VENDOR_TEXT if (shared / rel).is_file()]
    common = {"documented": (FormatError,), "check": _spectra_check,
              "allowed_warnings": SPECTRA_WARNINGS}

    def build(name: str) -> Target:
        if name == "spectra.read":
            return Target("spectra.read", _reader(spectra.read, ".dat"),
                          seeds=_seeds(every, shared, max_seed_bytes) + own_jdx + own_csv,
                          memory_factor=1536, **common)  # type: ignore[arg-type]
        if name == "jcamp":
            return Target("jcamp", _reader(jcamp.read, ".jdx"),
                          seeds=_seeds([p for p in every if "jcamp" in p.parts], shared,
                                       max_seed_bytes) + own_jdx,
                          memory_factor=1536, **common)  # type: ignore[arg-type]
        if name == "spc":
            return Target("spc", _reader(spc.read, ".spc"),
                          seeds=_seeds([p for p in every if p.suffix.lower() == ".spc"], shared,
                                       max_seed_bytes),
                          binary=True, memory_factor=128, **common)  # type: ignore[arg-type]
        return Target("text", _reader(text.read, ".txt"),
                      seeds=_seeds(text_paths, shared, max_seed_bytes) + own_csv,
                      memory_factor=64, **common)  # type: ignore[arg-type]

    return [build(n) for n in names]


# -- AED batches ---------------------------------------------------------------------------


def _aed_seeds(root: Path) -> list[Seed]:
    from parcels.aed import flatten

    jsonl = (root / "fixtures" / "aed" / "sample_batch.jsonl").read_bytes()
    rows = [json.loads(line) for line in jsonl.splitlines() if line.strip()]
    flat = [flatten(r) for r in rows]
    columns = sorted({k for f in flat for k in f})
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(flat)
    return [Seed("fixtures/aed/sample_batch.jsonl", jsonl),
            Seed("fixtures/aed/sample_batch.jsonl as flat CSV", buf.getvalue().encode())]


def _aed_call(data: bytes, scratch: Path) -> object:
    from parcels.aed import read_batch

    p = scratch / "batch.aed"  # no telling extension: the format is sniffed from the content
    p.write_bytes(data)
    return read_batch(p)


def _aed_check(result: object, _data: bytes) -> None:
    from parcels.aed import RowError
    from parcels.records import Parcel

    fmt, rows = result  # type: ignore[misc]
    assert fmt in ("jsonl", "csv")
    lines = [line for line, _ in rows]
    assert lines == sorted(lines), "rows come back in file order"
    for line, row in rows:
        assert isinstance(row, Parcel | RowError), type(row)
        if isinstance(row, RowError):
            assert row.line == line


def aed_target(root: Path) -> Target:
    """The AED batch reader: every row becomes a ``Parcel`` or a ``RowError``; it documents
    no exception for bad content (``OSError`` only, for a file it cannot read)."""
    return Target("aed", _aed_call, documented=(OSError,), seeds=_aed_seeds(root),
                  check=_aed_check, memory_factor=256, line_dup_most=200,
                  nest_openers=(b"[", b'{"a":'))


# -- wire frames ---------------------------------------------------------------------------


def _frame_seeds(root: Path) -> list[Seed]:
    from driver.protocol import Flag, Frame, encode_frame
    from driver.protocol.messages import MsgType

    blob = (root / "fixtures" / "aed" / "sample_batch.jsonl").read_bytes()
    types = [int(t) for t in MsgType]
    frames = [
        Frame(msg_type=types[0], seq=1),
        Frame(msg_type=types[1 % len(types)], seq=2, payload=b'{"state": "idle"}',
              flags=Flag.REPLY),
        Frame(msg_type=types[2 % len(types)], seq=3, payload=blob[:8192],
              flags=Flag.REPLY | Flag.MORE),
        Frame(msg_type=types[-1], seq=65535, payload=b"\x00\xff" * 40, flags=Flag.EVENT,
              error=7),
    ]
    stream = b"".join(encode_frame(f) for f in frames)
    return [Seed("four frames", stream), Seed("one frame", encode_frame(frames[1])),
            Seed("garbage then frames", b"\x1d\xe1\xc1noise" + stream)]


_CHUNKS = (1, 7, 64, 1000, 3, 8214)


def _frame_call(data: bytes, _scratch: Path) -> object:
    from driver.protocol import MAX_PAYLOAD, OVERHEAD, FrameDecoder

    dec = FrameDecoder()
    out: list[object] = []
    i = k = most = 0
    while i < len(data):
        size = _CHUNKS[k % len(_CHUNKS)]
        out += dec.feed(data[i:i + size])
        most = max(most, dec.pending)
        i += size
        k += 1
    return out, dec.pending, most, OVERHEAD + MAX_PAYLOAD


def _frame_check(result: object, data: bytes) -> None:
    from driver.protocol import Frame, FrameError, encode_frame

    items, pending, most, one_frame = result  # type: ignore[misc]
    assert most <= one_frame, f"held {most} bytes waiting, more than one frame ({one_frame})"
    consumed = 0
    for item in items:
        assert isinstance(item, Frame | FrameError), type(item)
        if isinstance(item, Frame):
            raw = encode_frame(item)
            assert raw in data, "a decoded frame must be bytes that were on the line"
            consumed += len(raw)
        else:
            consumed += item.skipped
    assert consumed + pending == len(data), (
        f"{len(data)} bytes in, {consumed} accounted for and {pending} pending")


def frame_target(root: Path) -> Target:
    """The wire frame decoder fed mutated valid frames in odd chunks: it returns frames and
    ``FrameError`` values, never raises, never holds more than one frame, and accounts for
    every byte."""
    return Target("frame", _frame_call, documented=(), seeds=_frame_seeds(root), binary=True,
                  check=_frame_check, memory_floor=4 * MiB, memory_factor=4)


def target(name: str, shared: Path, root: Path, *, max_seed_bytes: int | None = None
           ) -> Target:
    """One target by name (``spectra.read``, ``jcamp``, ``spc``, ``text``, ``aed``, ``frame``).

    Raises
    ------
    KeyError
        Unknown name, or a spectrum reader without the shared data.
    """
    if name == "aed":
        return aed_target(root)
    if name == "frame":
        return frame_target(root)
    if name not in SPECTRA_TARGETS or not (shared / "formats").is_dir():
        raise KeyError(name)
    (found,) = spectra_targets(shared, max_seed_bytes=max_seed_bytes, names=(name,))
    return found


__all__ = [
    "SPECTRA_TARGETS", "VENDOR_TEXT", "aed_target", "frame_target", "spectra_targets", "target",
]
