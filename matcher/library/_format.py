"""The library file: one file, versioned, content-hashed, read into private memory.

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
               matrix         N×D float32, C order
               entry_offsets  (N+1) u64 into ``entries``
               entries        canonical JSON of each entry, back to back
               raw_offsets    (N+1) u64 into ``raw``
               raw            each raw reference spectrum as one zlib stream (may be empty)

Format versions 1 and 2 share this layout; they differ in the definition of the content
hash (:mod:`._hash`: version 1 one SHA-256 stream, version 2 a hash tree). Both are read.

Opening checks the magic, version, header checksum, file length and section bounds; then,
per part, reads the entries and the matrix into private memory (the matrix straight into
its array, with positional reads: no shared mapping a truncated file could turn into
SIGBUS) while recomputing the content hash over exactly those bytes, and refuses the part
(:class:`LibraryIntegrityError`) unless it equals the hash the header records. The library
is built from those bytes, so what was verified is what is used, and the hash a result
records is the hash of what it used. An entry is decoded when first used and must be
stored in canonical form. A raw reference is read when asked for, through the descriptor
opened here (a file replaced since still gives the old bytes), and checked against its
entry's spectrum hash.

Writers replace a file atomically: temporary file, fsync, rename, fsync of the folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
import struct
import tempfile
import threading
import weakref
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from spectra import Pipeline, Technique, XUnit

from ._entry import LibraryEntry, entry_line
from ._errors import LibraryError, LibraryFileError, LibraryIntegrityError, LibraryVersionError
from ._hash import HASH_SCHEME, SCHEMES, content_hash, hash_meta
from ._refs import LazySeq

MAGIC = b"\x89IDLIB\r\n"
FORMAT_VERSION = 2
"""Version 2 differs from 1 only in the content hash: a hash tree (see :mod:`._hash`)."""
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


class PartSource(Protocol):
    """What :func:`write_parts` reads of a library (a :class:`~._library.Library` has it)."""

    id: str
    technique: Technique
    x_unit: XUnit
    pipeline: Pipeline
    min_coverage: float
    axis: NDArray[np.float64]
    matrix: NDArray[np.float32]
    entries: Sequence[LibraryEntry]
    hash_scheme: str

    @property
    def hash(self) -> str:
        """The content hash under :attr:`hash_scheme`."""

    @property
    def has_references(self) -> bool:
        """Whether raw references are stored."""

    def iter_references(self) -> Iterator[tuple[LibraryEntry, bytes]]:
        """Entries with their compressed raw reference (empty bytes when none)."""

    def compute_hash(self, lines: list[bytes], *, scheme: str) -> str:
        """The content hash under ``scheme``, given the entries' canonical JSON."""


@dataclass(frozen=True, slots=True)
class StoredPart:
    """One library as read from a file, verified: what :class:`~._library.Library` is built
    from (the file room knows bytes and headers, not the library object)."""

    path: Path
    id: str
    entries: Sequence[LibraryEntry]
    axis: list[float]
    matrix: NDArray[np.float32]
    pipeline: Pipeline
    technique: Technique
    x_unit: XUnit
    min_coverage: float
    references: Sequence[bytes] | None
    hash: str
    hash_scheme: str


def write_parts(parts: Sequence[PartSource], path: Path) -> Path:
    """Write libraries into one file, atomically.

    The bytes go to a temporary file in the same folder, which is flushed to disk, given
    the mode of the file it replaces, and renamed over ``path`` (the folder is then synced
    too). A reader sees the old file or the new one, never a mix; a process that opened the
    old one keeps what it read.
    """
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
            hash=lib.hash if lib.hash_scheme == HASH_SCHEME
            else lib.compute_hash(lines, scheme=HASH_SCHEME),
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
        with contextlib.suppress(FileNotFoundError):  # a new file keeps mkstemp's 0600
            os.fchmod(fd, stat.S_IMODE(os.stat(path).st_mode))
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
    _fsync_dir(path.parent)
    return path


def _fsync_dir(folder: Path) -> None:
    """Make a rename in ``folder`` durable (where the platform allows opening a folder)."""
    try:
        dfd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass  # some file systems refuse fsync on a folder; the rename itself was atomic
    finally:
        os.close(dfd)


class _Source:
    """An open library file read with positional reads into private memory.

    Never a shared mapping: a file truncated or rewritten after opening cannot pull pages
    from under the process (no SIGBUS); what was read and verified stays as it was. The
    descriptor stays open for the raw references, read one at a time on demand; it is
    closed when the last library using it is gone.
    """

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self._close = weakref.finalize(self, os.close, fd)
        self._seek_lock = threading.Lock()  # where there is no pread (Windows)

    def _pread_into(self, view: memoryview, offset: int) -> int:
        if hasattr(os, "preadv"):
            return os.preadv(self.fd, [view], offset)
        with self._seek_lock, open(self.fd, "rb", buffering=0, closefd=False) as f:
            f.seek(offset)
            return f.readinto(view) or 0

    def close(self) -> None:
        self._close()

    def readinto(self, view: memoryview, offset: int, what: str) -> None:
        """Fill ``view`` from ``offset`` (a short file is a typed error, not a short read)."""
        done = 0
        while done < len(view):
            try:
                got = self._pread_into(view[done:], offset + done)
            except OSError as exc:
                raise LibraryFileError(
                    f"cannot read {what}: {exc.strerror or exc}", path=self.path,
                    offset=offset + done, field=what,
                ) from exc
            if got == 0:
                raise LibraryFileError(
                    "truncated: the file ends inside this section (cut, or rewritten in "
                    "place, after it was opened)",
                    path=self.path, offset=offset + done, field=what,
                )
            done += got

    def read(self, offset: int, length: int, what: str) -> bytearray:
        """``length`` bytes from ``offset``, into a new private buffer."""
        buf = bytearray(length)
        self.readinto(memoryview(buf), offset, what)
        return buf


def _open(path: Path) -> tuple[_Source, int, FileHeader, int]:
    """Open ``path`` and check its preamble and header: ``(source, size, header, data start)``.

    The header's format version is the preamble's (checked here).
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except OSError as exc:
        raise LibraryFileError(f"cannot open: {exc.strerror or exc}", path=path) from exc
    src = _Source(path, fd)
    try:
        size = os.fstat(fd).st_size
        head = bytes(src.read(0, min(size, PREAMBLE.size), "preamble"))
        if not head or not head.startswith(MAGIC[: len(head)]):
            raise LibraryFileError(
                "not an Interdict library file (bad magic bytes)", path=path, offset=0
            )
        if size < PREAMBLE.size:
            raise LibraryFileError(
                f"truncated: {size} bytes, shorter than the 64-byte preamble", path=path,
                offset=size,
            )
        _magic, version, _flags, hlen, hsha, total = PREAMBLE.unpack(head)
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
                f"{'truncated' if size < total else 'trailing data'}: the file is {size} "
                f"bytes, its preamble says {total}",
                path=path, offset=min(size, total),
            )
        if PREAMBLE.size + hlen > size:
            raise LibraryFileError("header runs past the end of the file", path=path, offset=16)
        hbytes = bytes(src.read(PREAMBLE.size, hlen, "header"))
        if hashlib.sha256(hbytes).digest() != hsha:
            raise LibraryFileError(
                "header checksum mismatch: the header is corrupt", path=path,
                offset=PREAMBLE.size, field="header",
            )
        try:
            header = FileHeader.model_validate(json.loads(hbytes.decode("utf-8")))
        except (UnicodeDecodeError, json.JSONDecodeError, ValidationError) as exc:
            raise LibraryFileError(
                f"invalid header: {exc}", path=path, offset=PREAMBLE.size, field="header"
            ) from exc
        if header.format_version != version:
            raise LibraryFileError(
                f"invalid header: format version {header.format_version}, the preamble says "
                f"{version}", path=path, offset=PREAMBLE.size, field="header",
            )
        ids = [p.id for p in header.parts]
        if len(set(ids)) != len(ids):
            raise LibraryFileError(
                f"invalid header: library ids repeat ({', '.join(ids)})", path=path,
                offset=PREAMBLE.size, field="header",
            )
    except BaseException:
        src.close()
        raise
    return src, size, header, _align(PREAMBLE.size + hlen)


def read_parts(path: Path, *, part: str | None = None, one: bool = False) -> list[StoredPart]:
    """Open the libraries in the file at ``path``, each verified against its content hash.

    Parameters
    ----------
    path
        The library file.
    part
        Read only the library with this id (default: every library in the file).
    one
        Without ``part``, the file must hold exactly one library.

    Returns
    -------
    list of StoredPart
        Each built from private copies of the bytes that were hashed (see the module docstring).

    Raises
    ------
    LibraryFileError
        Cannot be opened or read; not a library file; truncated; corrupt header; a section
        out of bounds; an entry offset table inconsistent.
    LibraryIntegrityError
        A library's content does not give the content hash its header records.
    LibraryVersionError
        Written by a newer format version.
    LibraryError
        No library ``part`` in the file; several and ``one`` without ``part``.
    """
    path = Path(path)
    src, size, header, data_start = _open(path)
    try:
        ids = [p.id for p in header.parts]
        if one and part is None and len(ids) != 1:
            raise LibraryError(
                f"{path}: the file holds {len(ids)} libraries ({', '.join(ids)}); say which"
            )
        chosen = [p for p in header.parts if part is None or p.id == part]
        if not chosen:
            raise LibraryError(
                f"{path}: no library {part!r}; parts: "
                f"{', '.join(p.id for p in header.parts)}"
            )
        scheme = SCHEMES[header.format_version]
        libs = [_read_part(src, p, data_start, size, scheme) for p in chosen]
    except BaseException:
        src.close()
        raise
    if not any(lib.references is not None for lib in libs):
        src.close()  # else the raw references keep it open until their library is gone
    return libs


def _read_part(
    src: _Source, p: PartHeader, data_start: int, size: int, scheme: str
) -> StoredPart:
    path = src.path
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

    def offsets(sec: Section, limit: int, name: str) -> NDArray[np.uint64]:
        at = data_start + sec.offset
        arr = np.frombuffer(src.read(at, sec.length, name), dtype="<u8")
        if arr[0] != 0 or arr[-1] != limit or np.any(arr[1:] < arr[:-1]):
            raise LibraryFileError(
                f"{where}: {name} are inconsistent", path=path, offset=at, field=name
            )
        return arr

    e_off = offsets(p.entry_offsets, p.entries.length, "entry_offsets")
    r_off = offsets(p.raw_offsets, p.raw.length, "raw_offsets")
    e_base = data_start + p.entries.offset
    r_base = data_start + p.raw.offset
    entries = memoryview(src.read(e_base, p.entries.length, "entries"))
    bounds = e_off.tolist()

    def entry(i: int) -> LibraryEntry:
        stored = bytes(entries[bounds[i] : bounds[i + 1]])
        try:
            e = LibraryEntry.model_validate_json(stored)
        except ValidationError as exc:
            raise LibraryFileError(
                f"{where}: entry {i} is invalid: {exc}", path=path, offset=e_base + bounds[i],
                field="entries",
            ) from exc
        if entry_line(e) != stored:
            # the content hash covers the stored bytes, which are defined as the canonical
            # form: any other spelling would let one hash stand for entries it does not name
            raise LibraryFileError(
                f"{where}: entry {i} is not in canonical form (not as Interdict writes it)",
                path=path, offset=e_base + bounds[i], field="entries",
            )
        return e

    def raw(i: int) -> bytes:
        a, b = int(r_off[i]), int(r_off[i + 1])
        return bytes(src.read(r_base + a, b - a, f"{where} raw reference {i}"))

    # The matrix is read straight into its array while it is hashed (one copy, ours alone);
    # the hash, by the file version's one definition, is over exactly the bytes kept.
    matrix = np.empty((p.n, p.d), dtype="<f4")
    view = matrix.reshape(-1).data.cast("B")
    m_base = data_start + p.matrix.offset

    def fill(a: int, b: int) -> None:
        src.readinto(view[a:b], m_base + a, "matrix")

    meta = hash_meta(
        scheme=scheme, library_id=p.id, technique=p.technique, x_unit=p.x_unit,
        pipeline=p.pipeline, min_coverage=p.min_coverage, n=p.n, d=p.d,
    )
    lines = (entries[bounds[i] : bounds[i + 1]] for i in range(p.n))
    actual = content_hash(scheme, meta, axis=np.asarray(p.axis, dtype=np.float64),
                          lines=lines, matrix=view, fill=fill)
    if actual != p.hash:
        raise LibraryIntegrityError(path=path, part=p.id, recorded=p.hash, actual=actual)
    matrix.flags.writeable = False  # ours alone: the Library keeps it without a copy
    return StoredPart(
        path=path, id=p.id, entries=LazySeq(p.n, entry), axis=p.axis, matrix=matrix,
        pipeline=p.pipeline, technique=p.technique, x_unit=p.x_unit,
        min_coverage=p.min_coverage,
        references=LazySeq(p.n, raw, cache=False) if p.has_references else None,
        hash=actual, hash_scheme=scheme,
    )
