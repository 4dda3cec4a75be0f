"""The library file: one file, versioned, content-hashed, with a memory-mappable matrix.

Layout (all integers little-endian)::

    offset 0   preamble, 64 bytes
               magic          8s   b"\\x89IDLIB\\r\\n"
               format version u32  (a newer version than FORMAT_VERSION is refused)
               flags          u32  (0)
               header length  u64
               header sha256  32s  (of the header bytes)
               file length    u64  (truncation is detected against it)
    offset 64  header: UTF-8 JSON (:class:`FileHeader`): per part its id, technique, x unit,
               axis, pipeline, counts, content hash, and the sections below
    data start = 64 + header length, rounded up to 64; every section offset is relative to
    it and 64-byte aligned. Per part:
               matrix         N×D float32, C order (memory-mapped)
               entry_offsets  (N+1) u64 into ``entries``
               entries        canonical JSON of each entry, back to back
               raw_offsets    (N+1) u64 into ``raw``
               raw            each raw reference spectrum as one zlib stream (may be empty)

Opening checks the magic, version, header checksum, file length and section bounds, and
maps the matrix without reading it; ``verify=True`` also recomputes each part's content hash.
Every raw reference is checked against its entry's spectrum hash when decoded.
"""

from __future__ import annotations

import hashlib
import json
import mmap
import os
import struct
import tempfile
from pathlib import Path
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spectra import Pipeline, Technique, XUnit

from ._entry import LibraryEntry
from ._errors import LibraryFileError, LibraryVersionError
from ._library import Library, entry_line
from ._refs import LazySeq

MAGIC = b"\x89IDLIB\r\n"
FORMAT_VERSION = 1
PREAMBLE = struct.Struct("<8sIIQ32sQ")
ALIGN = 64


def _align(n: int) -> int:
    return (n + ALIGN - 1) // ALIGN * ALIGN


class Section(BaseModel):
    """A byte range relative to the data start."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    offset: int = Field(ge=0)
    length: int = Field(ge=0)


class PartHeader(BaseModel):
    """One library in the file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    technique: Technique
    x_unit: XUnit
    pipeline: Pipeline
    min_coverage: float
    axis: list[float]
    n: int = Field(ge=0)
    d: int = Field(ge=2)
    hash: str = Field(pattern=r"^[0-9a-f]{64}$")
    has_references: bool
    matrix: Section
    entry_offsets: Section
    entries: Section
    raw_offsets: Section
    raw: Section


class FileHeader(BaseModel):
    """The JSON header of a library file."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    format: Literal["interdict.library"] = "interdict.library"
    format_version: int
    created_by: str = "interdict"
    parts: list[PartHeader]


def write_parts(parts: list[Library], path: Path) -> Path:
    """Write libraries into one file, atomically (a temporary file renamed over ``path``)."""
    path = Path(path)
    plans = []
    pos = 0
    for lib in parts:
        n, d = lib.matrix.shape
        lines = [entry_line(e) for e in lib.entries]
        e_off = np.zeros(n + 1, dtype="<u8")
        e_off[1:] = np.cumsum([len(b) for b in lines], dtype=np.uint64)
        blobs = [b for _, b in lib.iter_references()]
        r_off = np.zeros(n + 1, dtype="<u8")
        r_off[1:] = np.cumsum([len(b) for b in blobs], dtype=np.uint64)
        secs: dict[str, Section] = {}
        for name, length in (
            ("matrix", n * d * 4), ("entry_offsets", (n + 1) * 8),
            ("entries", int(e_off[-1])), ("raw_offsets", (n + 1) * 8), ("raw", int(r_off[-1])),
        ):
            pos = _align(pos)
            secs[name] = Section(offset=pos, length=length)
            pos += length
        header = PartHeader(
            id=lib.id, technique=lib.technique, x_unit=lib.x_unit, pipeline=lib.pipeline,
            min_coverage=lib.min_coverage, axis=[float(v) for v in lib.axis], n=n, d=d,
            hash=lib.compute_hash(lines) if lib._hash is None else lib._hash,
            has_references=lib.has_references, **secs,
        )
        plans.append((lib, header, lines, e_off, blobs, r_off))
    fh = FileHeader(format_version=FORMAT_VERSION, parts=[p[1] for p in plans])
    hbytes = fh.model_dump_json().encode("utf-8")
    data_start = _align(PREAMBLE.size + len(hbytes))
    total = data_start + _align(pos) if plans else data_start
    pre = PREAMBLE.pack(
        MAGIC, FORMAT_VERSION, 0, len(hbytes), hashlib.sha256(hbytes).digest(), total
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(pre)
            out.write(hbytes)
            for lib, header, lines, e_off, blobs, r_off in plans:
                def seek(sec: Section) -> None:
                    out.write(b"\x00" * (data_start + sec.offset - out.tell()))

                seek(header.matrix)
                m = lib.matrix
                step = max(1, (64 << 20) // max(1, m.shape[1] * 4))
                for start in range(0, m.shape[0], step):
                    out.write(np.ascontiguousarray(m[start : start + step], "<f4").tobytes())
                seek(header.entry_offsets)
                out.write(e_off.tobytes())
                seek(header.entries)
                for b in lines:
                    out.write(b)
                seek(header.raw_offsets)
                out.write(r_off.tobytes())
                seek(header.raw)
                for b in blobs:
                    out.write(b)
            out.write(b"\x00" * (total - out.tell()))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read_parts(path: Path, *, verify: bool = False) -> list[Library]:
    """Open every library in the file at ``path`` (see the module docstring for the checks)."""
    try:
        with path.open("rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size < PREAMBLE.size:
                head = f.read(PREAMBLE.size)
                if not head.startswith(MAGIC[: len(head)]) or not head:
                    raise LibraryFileError("not an Interdict library file", path=path, offset=0)
                raise LibraryFileError(
                    f"truncated: {size} bytes, shorter than the 64-byte preamble", path=path,
                    offset=size,
                )
            mm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
    except OSError as exc:
        raise LibraryFileError(f"cannot open: {exc.strerror or exc}", path=path) from exc
    magic, version, _flags, hlen, hsha, total = PREAMBLE.unpack_from(mm, 0)
    if magic != MAGIC:
        raise LibraryFileError(
            "not an Interdict library file (bad magic bytes)", path=path, offset=0
        )
    if version > FORMAT_VERSION:
        raise LibraryVersionError(
            f"written by library format version {version}; this Interdict reads up to "
            f"{FORMAT_VERSION}: upgrade Interdict to open it",
            path=path, offset=8, field="format_version",
        )
    if version < 1:
        raise LibraryFileError(f"invalid format version {version}", path=path, offset=8)
    if total != size:
        raise LibraryFileError(
            f"{'truncated' if size < total else 'trailing data'}: the file is {size} bytes, "
            f"its preamble says {total}",
            path=path, offset=min(size, total),
        )
    if PREAMBLE.size + hlen > size:
        raise LibraryFileError("header runs past the end of the file", path=path, offset=16)
    hbytes = bytes(mm[PREAMBLE.size : PREAMBLE.size + hlen])
    if hashlib.sha256(hbytes).digest() != hsha:
        raise LibraryFileError(
            "header checksum mismatch: the header is corrupt", path=path, offset=PREAMBLE.size,
            field="header",
        )
    try:
        header = FileHeader.model_validate(json.loads(hbytes.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
        raise LibraryFileError(
            f"invalid header: {exc}", path=path, offset=PREAMBLE.size, field="header"
        ) from exc
    data_start = _align(PREAMBLE.size + hlen)
    libs = []
    for p in header.parts:
        libs.append(_open_part(path, mm, p, data_start, size, verify=verify))
    return libs


def _open_part(
    path: Path, mm: mmap.mmap, p: PartHeader, data_start: int, size: int, *, verify: bool
) -> Library:
    where = f"part {p.id!r}"
    expected = {
        "matrix": p.n * p.d * 4, "entry_offsets": (p.n + 1) * 8, "raw_offsets": (p.n + 1) * 8,
    }
    for name in ("matrix", "entry_offsets", "entries", "raw_offsets", "raw"):
        sec: Section = getattr(p, name)
        start = data_start + sec.offset
        if name in expected and sec.length != expected[name]:
            raise LibraryFileError(
                f"{where}: section {name} is {sec.length} bytes, expected {expected[name]}",
                path=path, offset=start, field=name,
            )
        if start % ALIGN or start + sec.length > size:
            raise LibraryFileError(
                f"{where}: section {name} ({sec.length} bytes at {start}) is misaligned or "
                "runs past the end of the file",
                path=path, offset=start, field=name,
            )
    if len(p.axis) != p.d:
        raise LibraryFileError(
            f"{where}: axis has {len(p.axis)} points, d = {p.d}", path=path, field="axis"
        )

    def offsets(sec: Section, limit: int, name: str) -> np.ndarray:
        arr = np.frombuffer(mm, dtype="<u8", count=p.n + 1, offset=data_start + sec.offset)
        if arr[0] != 0 or arr[-1] != limit or np.any(np.diff(arr.astype(np.int64)) < 0):
            raise LibraryFileError(
                f"{where}: {name} are inconsistent", path=path,
                offset=data_start + sec.offset, field=name,
            )
        return arr

    e_off = offsets(p.entry_offsets, p.entries.length, "entry_offsets")
    r_off = offsets(p.raw_offsets, p.raw.length, "raw_offsets")
    e_base = data_start + p.entries.offset
    r_base = data_start + p.raw.offset

    def entry(i: int) -> LibraryEntry:
        a, b = e_base + int(e_off[i]), e_base + int(e_off[i + 1])
        try:
            return LibraryEntry.model_validate_json(mm[a:b])
        except ValidationError as exc:
            raise LibraryFileError(
                f"{where}: entry {i} is invalid: {exc}", path=path, offset=a, field="entries"
            ) from exc

    def raw(i: int) -> bytes:
        return bytes(mm[r_base + int(r_off[i]) : r_base + int(r_off[i + 1])])

    matrix = np.frombuffer(
        mm, dtype="<f4", count=p.n * p.d, offset=data_start + p.matrix.offset
    ).reshape(p.n, p.d)
    try:
        lib = Library(
            library_id=p.id, entries=LazySeq(p.n, entry), axis=np.asarray(p.axis),
            matrix=matrix, pipeline=p.pipeline, technique=p.technique, x_unit=p.x_unit,
            min_coverage=p.min_coverage,
            references=LazySeq(p.n, raw, cache=False) if p.has_references else None,
            content_hash=p.hash, keepalive=mm,
        )
    except ValueError as exc:
        raise LibraryFileError(f"{where}: {exc}", path=path) from exc
    if verify:
        lines = (bytes(mm[e_base + int(e_off[i]) : e_base + int(e_off[i + 1])])
                 for i in range(p.n))
        actual = lib.compute_hash(lines)
        if actual != p.hash:
            raise LibraryFileError(
                f"{where}: content hash mismatch (file says {p.hash[:12]}…, content gives "
                f"{actual[:12]}…): the file is corrupt",
                path=path, field="hash",
            )
    return lib
