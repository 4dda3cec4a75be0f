r"""Import of advance electronic data (AED) batches: JSON lines, or a flat CSV form.

JSON lines: one parcel object per line, in the shape of :class:`parcels.records.Parcel`
(extra fields are kept). Flat CSV: one parcel per row, columns named by the dotted path of
each field (``sender.name``, ``declaration.items.0.description``, ``hold.reason``); empty
cells are absent fields. A cell as :mod:`parcels.export` neutralised it against spreadsheet
formulas (``'=...``, ``''...``) is read back as it was (:func:`parcels.text.restore_formula`).

Every row is validated on its own: a bad row is rejected with its line number and the reason
(which field, what is wrong, what was received) while the good rows import. Import is
idempotent: the store keeps a row identical to a stored record as "unchanged" and refuses a
different record under a stored id as a conflict.

A batch comes from outside, so it is read under bounds, in memory independent of the file's
size: the file is streamed line by line; a line longer than :data:`MAX_LINE_BYTES` is skipped
in bounded chunks (never held whole) and rejected; a JSON row nested deeper than
:data:`MAX_DEPTH`, with a number token longer than :data:`MAX_NUMBER_CHARS` (Python's own
int parser gives up at 4,300 digits, deep inside :mod:`json`), a non-finite number or
``NaN``/``Infinity`` is rejected alone; a CSV header whose columns cannot name a record
(deeper than :data:`MAX_DEPTH`, a list index above :data:`MAX_LIST_INDEX`) refuses the file at
line 1. Line numbers count ``\n`` line breaks (a ``\r\n`` is one break).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from spectra.parallel import ordered_map, usable_cores

from .records import Parcel
from .store.base import IMPORT_CHUNK, ParcelRow, RowStatus, Store
from .text import restore_formula

if TYPE_CHECKING:
    from spectra import Progress

PROGRESS_EVERY = 1000
"""Rows between two progress reports of an import."""

Format = Literal["jsonl", "csv"]

MAX_LINE_BYTES = 1 << 20
"""Longest line read (1 MiB). An AED row is about 1 kB; a declaration of 1,000 articles
stays under 300 kB. A longer line is skipped without being held in memory."""
MAX_DEPTH = 32
"""Deepest nesting of a row: the record's own shape is 4 levels (parcel, declaration, items,
item); the rest is room for carriers' extra fields, far below Python's recursion limit."""
MAX_NUMBER_CHARS = 32
"""Longest number token in a JSON row: a 64-bit integer takes 20 characters, the longest
``repr`` of a double 24."""
MAX_LIST_INDEX = 999
"""Highest list index a CSV column may name (``declaration.items.999.description``)."""
BLOCK_BYTES = 4 << 20
"""About the most bytes of the file in one block (one transaction), whatever the rows'
length (2,000 rows of the longest allowed line would be 2 GB): a block ends at the first
multiple of 64 rows past this size."""
PARALLEL_MIN_ROWS = 20_000
"""From this many rows (estimated from the first block's bytes per row) :func:`import_batch`
validates in worker processes by default; below, starting them costs about what they save."""
MAX_REJECTED_KEPT = 10_000
"""Rejected rows an :class:`ImportSummary` lists (a file of bad rows must not fill the
memory); beyond this they are counted, and passed to ``on_rejected``."""

_CHUNK = 1 << 16
_STRING = re.compile(rb'"(?:[^"\\]|\\[\s\S]?)*(?:"|\Z)')
"""A JSON string, or an unterminated one up to the end: never fails, so a scan with it is
linear (a pattern that could fail inside a string would rescan from every quote)."""
_OPEN = np.frombuffer(b"[{", dtype=np.uint8)
_CLOSE = np.frombuffer(b"]}", dtype=np.uint8)


class RowError(BaseModel):
    """A rejected row: where it is and why."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    """1-based line number in the file (for CSV, the line the row starts on)."""
    item_id: str | None
    reason: str

    def __str__(self) -> str:
        who = f" ({self.item_id})" if self.item_id else ""
        return f"line {self.line}{who}: {self.reason}"


class ImportSummary(BaseModel):
    """What an import did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: str
    format: Format
    rows: int
    inserted: int
    unchanged: int
    holds_requested: int
    rejected: tuple[RowError, ...]
    """The rejected rows in line order: all of them, or the first
    :data:`MAX_REJECTED_KEPT` when there were more (``rejected_rows`` counts them all;
    :func:`import_batch`'s ``on_rejected`` receives every one)."""
    rejected_rows: int
    """How many rows were rejected (``len(rejected)`` when not given)."""

    @model_validator(mode="before")
    @classmethod
    def _count(cls, data: Any) -> Any:
        if isinstance(data, dict) and "rejected_rows" not in data:
            return {**data, "rejected_rows": len(data.get("rejected", ()))}
        return data

    @model_validator(mode="after")
    def _listed(self) -> ImportSummary:
        if self.rejected_rows < len(self.rejected):
            raise ValueError(f"rejected_rows {self.rejected_rows} is less than the "
                             f"{len(self.rejected)} rows listed")
        return self

    @property
    def ok(self) -> bool:
        """No row was rejected."""
        return self.rejected_rows == 0

    def message(self) -> str:
        """The one-line summary a human reads."""
        listed = (f" (the first {len(self.rejected):,} listed)"
                  if self.rejected_rows > len(self.rejected) else "")
        return (f"{self.source}: {self.rows} rows: {self.inserted} imported, "
                f"{self.unchanged} unchanged, {self.rejected_rows} rejected{listed}; "
                f"{self.holds_requested} hold request(s) recorded")


def format_validation_error(exc: ValidationError) -> str:
    """``field.path: what is wrong (got …)`` for every error, joined by ``; ``."""
    parts = []
    for e in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"]) or "record"
        msg = str(e["msg"]).removeprefix("Value error, ")
        got = e.get("input")
        shown = "" if isinstance(got, dict | list) or e["type"] == "missing" else \
            f" (got {got!r:.60})"
        parts.append(f"{loc}: {msg}{shown}")
    return "; ".join(parts)


def key_path(key: str) -> list[str | int]:
    """The path a dotted CSV column names: ``"declaration.items.0.value"`` →
    ``["declaration", "items", 0, "value"]`` (ASCII-digit segments index lists).

    Raises
    ------
    ValueError
        Deeper than :data:`MAX_DEPTH`, or a list index above :data:`MAX_LIST_INDEX`; the
        message quotes the column.
    """
    parts = key.strip().split(".")
    shown = f"{key[:60]!r}" + ("…" if len(key) > 60 else "")
    if len(parts) > MAX_DEPTH:
        raise ValueError(f"column {shown}: {len(parts)} levels, at most {MAX_DEPTH}")
    path: list[str | int] = []
    for part in parts:
        if part.isascii() and part.isdigit():
            if len(part) > len(str(MAX_LIST_INDEX)) or int(part) > MAX_LIST_INDEX:
                raise ValueError(f"column {shown}: list index {part[:20]} above "
                                 f"{MAX_LIST_INDEX}")
            path.append(int(part))
        else:
            path.append(part)
    return path


def unflatten(row: dict[str, str]) -> dict[str, Any]:
    """Dotted CSV columns → nested dict; numeric segments index lists; empty cells dropped.

    Raises
    ------
    ValueError
        A column that :func:`key_path` refuses.
    """
    return _unflatten({key: key_path(key) for key in row if key is not None}, row)


def _unflatten(paths: dict[str, list[str | int]], row: Mapping[str, str | None]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, parts in paths.items():
        value = row.get(key)
        if value is None or value.strip() == "":
            continue
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value.strip() if last else ([] if isinstance(parts[i + 1], int) else {})
            if isinstance(node, list) and isinstance(part, int):
                while len(node) <= part:
                    node.append(None)
                if node[part] is None or last:
                    node[part] = nxt
                node = node[part]
            elif isinstance(node, dict):
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
            else:  # a column indexes what another column made a value or the other container
                raise ValueError(f"column {key!r} does not fit the other columns' shape")
    return out


def flatten(value: Any, prefix: str = "") -> dict[str, Any]:
    """Nested dict/list → dotted keys (the inverse of :func:`unflatten`, for CSV export)."""
    out: dict[str, Any] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            out.update(flatten(v, f"{prefix}{k}."))
    elif isinstance(value, list | tuple):
        for i, v in enumerate(value):
            out.update(flatten(v, f"{prefix}{i}."))
    else:
        out[prefix[:-1]] = value
    return out


def _validate(line: int, obj: Any) -> Parcel | RowError:
    if not isinstance(obj, dict):
        return RowError(line=line, item_id=None,
                        reason=f"expected a JSON object, got {type(obj).__name__}")
    raw_id = obj.get("item_id")
    try:
        return Parcel.model_validate(obj)
    except ValidationError as exc:
        return RowError(line=line, item_id=raw_id if isinstance(raw_id, str) else None,
                        reason=format_validation_error(exc))


# -- bounded reading ------------------------------------------------------------------------
class _Refused(ValueError):
    """A bound was hit while parsing a row (the reason is the message)."""


def _lines(fh: BinaryIO) -> Iterator[tuple[int, bytes | None]]:
    """``(number, line)`` for each line with its line break; ``None`` for a line longer than
    :data:`MAX_LINE_BYTES`, whose bytes are read past in chunks and never held whole."""
    n = 0
    while raw := fh.readline(MAX_LINE_BYTES + 2):  # room for the line break
        n += 1
        body = len(raw) - (raw.endswith(b"\n") + raw.endswith(b"\r\n"))
        if body <= MAX_LINE_BYTES:
            yield n, raw
            continue
        while not raw.endswith(b"\n") and (raw := fh.readline(_CHUNK)):
            pass
        yield n, None


def _too_long(line: int) -> RowError:
    return RowError(line=line, item_id=None,
                    reason=f"line longer than {MAX_LINE_BYTES:,} bytes; not read")


def _depth(raw: bytes) -> int:
    """Deepest nesting of ``[``/``{`` outside JSON strings (linear time, at most a few
    bytes of memory per byte of the line)."""
    if raw.count(b"[") + raw.count(b"{") <= MAX_DEPTH:
        return 0  # the common case: too few brackets to matter
    bare = np.frombuffer(_STRING.sub(b"", raw), dtype=np.uint8)
    step = np.isin(bare, _OPEN).astype(np.int32) - np.isin(bare, _CLOSE)
    return int(np.cumsum(step).max(initial=0))


def _number(text: str) -> str:
    if len(text) > MAX_NUMBER_CHARS:
        raise _Refused(f"a number of {len(text)} characters (at most {MAX_NUMBER_CHARS}): "
                       f"{text[:20]}…")
    return text


def _int(text: str) -> int:
    return int(_number(text))


def _float(text: str) -> float:
    value = float(_number(text))
    if value in (float("inf"), float("-inf")):
        raise _Refused(f"{text} is not a finite number")
    return value


def _constant(text: str) -> float:
    raise _Refused(f"{text} is not JSON (nor a finite number)")


def parse_json_row(raw: bytes, line: int = 1) -> Parcel | RowError:
    """Parse and validate one JSON-lines row under the module's bounds.

    This is the whole per-row path of a JSON-lines import, for tests and fuzzers.

    Parameters
    ----------
    raw
        The row's bytes (a trailing line break is ignored; a UTF-8 BOM is allowed on line 1).
    line
        Its 1-based line number (for the error).

    Returns
    -------
    Parcel or RowError
        The record, or why it was rejected: not UTF-8, longer than :data:`MAX_LINE_BYTES`,
        nested deeper than :data:`MAX_DEPTH`, a number token longer than
        :data:`MAX_NUMBER_CHARS`, a non-finite number, not JSON, not an object, or invalid
        (each field that is wrong, with what was received). It never raises for any bytes.
    """
    if len(raw.rstrip(b"\r\n")) > MAX_LINE_BYTES:
        return _too_long(line)
    try:
        text = raw.decode("utf-8-sig" if line == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        return RowError(line=line, item_id=None, reason=f"not UTF-8 at byte {exc.start}")
    if _depth(raw) > MAX_DEPTH:
        return RowError(line=line, item_id=None,
                        reason=f"nested deeper than {MAX_DEPTH} levels; not read")
    try:
        obj = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        return RowError(line=line, item_id=None,
                        reason=f"not valid JSON: {exc.msg} (column {exc.colno})")
    except _Refused as exc:
        return RowError(line=line, item_id=None, reason=str(exc))
    return _validate(line, obj)


# A row as the sequential part of reading leaves it (a JSON line's bytes, a CSV row's nested
# dict, or why it cannot be read); :func:`_settle` validates it, in any process.
_Unit = tuple[int, "bytes | dict[str, Any] | RowError"]


def _settle(line: int, unit: bytes | dict[str, Any] | RowError) -> Parcel | RowError:
    if isinstance(unit, RowError):
        return unit
    if isinstance(unit, bytes):
        return parse_json_row(unit, line)
    return _validate(line, unit)


def _jsonl_units(fh: BinaryIO) -> Iterator[_Unit]:
    for n, raw in _lines(fh):
        if raw is None:
            yield n, _too_long(n)
        elif raw.strip():
            yield n, raw


class _CsvLines:
    """Decoded lines for :func:`csv.reader`; a line that cannot be read raises
    :class:`_Refused` from ``__next__`` and the next call goes on with the next line."""

    def __init__(self, fh: BinaryIO) -> None:
        self._lines = _lines(fh)
        self.line = 0

    def __iter__(self) -> _CsvLines:
        return self

    def __next__(self) -> str:
        self.line, raw = next(self._lines)
        if raw is None:
            raise _Refused(f"line longer than {MAX_LINE_BYTES:,} bytes; not read")
        try:
            return raw.decode("utf-8-sig" if self.line == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise _Refused(f"not UTF-8 at byte {exc.start}") from None


def _csv_units(fh: BinaryIO) -> Iterator[_Unit]:
    lines = _CsvLines(fh)
    reader = csv.reader(lines)
    header: list[str] = []
    try:
        while not header:
            header = next(reader)
        header = [restore_formula(c) for c in header]  # as parcels.export wrote them
        paths = {key: key_path(key) for key in header}
    except StopIteration:
        return
    except (_Refused, csv.Error, ValueError) as exc:
        yield lines.line, RowError(line=lines.line, item_id=None,
                                   reason=f"header: {exc}; the file was not read")
        return
    while True:
        start = lines.line + 1
        try:
            cells = next(reader)
        except StopIteration:
            return
        except _Refused as exc:  # the line's bytes were passed over; go on after it
            yield lines.line, RowError(line=lines.line, item_id=None, reason=str(exc))
            continue
        except csv.Error as exc:
            yield start, RowError(line=start, item_id=None, reason=f"not valid CSV: {exc}")
            continue
        if not any(c.strip() for c in cells):
            continue
        row = dict(zip(header, map(restore_formula, cells), strict=False))
        if len(cells) > len(header):
            yield start, RowError(line=start, item_id=row.get("item_id"),
                                  reason=f"{len(cells) - len(header)} more cell(s) than "
                                         "header columns")
            continue
        try:
            obj = _unflatten(paths, row)
        except ValueError as exc:
            yield start, RowError(line=start, item_id=row.get("item_id"), reason=str(exc))
            continue
        obj.setdefault("hold", None)
        yield start, obj


def _units(fh: BinaryIO, fmt: Format) -> Iterator[_Unit]:
    return _jsonl_units(fh) if fmt == "jsonl" else _csv_units(fh)


def sniff_format(path: Path, head: bytes) -> Format:
    """``jsonl`` or ``csv``: by extension, else by the first non-blank byte."""
    ext = path.suffix.lower()
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext == ".csv":
        return "csv"
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else "csv"


def _format_of(path: Path, format: Format | None) -> Format:
    """``format``, or the one :func:`sniff_format` finds; opening the file either way (an
    unreadable file raises ``OSError`` here, before any row is read)."""
    with path.open("rb") as fh:
        head = fh.read(64)
    return format or sniff_format(path, head)


def iter_batch(
    path: str | Path, *, format: Format | None = None, progress: Progress | None = None
) -> tuple[Format, Iterator[tuple[int, Parcel | RowError]]]:
    """Open an AED batch and validate its rows one at a time, as they are read.

    Parameters
    ----------
    path
        The batch file.
    format
        ``"jsonl"`` or ``"csv"``; guessed from the extension or content when None.
    progress
        Told the bytes read of the file's size every :data:`PROGRESS_EVERY` rows and at
        the end.

    Returns
    -------
    format, rows
        The format read, and an iterator of ``(line, Parcel or RowError)`` for every
        non-blank row; memory does not grow with the file.

    Raises
    ------
    OSError
        If the file cannot be opened (later read errors surface from the iterator).
    """
    p = Path(path)
    fmt = _format_of(p, format)

    def rows() -> Iterator[tuple[int, Parcel | RowError]]:
        with p.open("rb") as fh:
            if progress is None:
                yield from read_rows(fh, fmt)
                return
            size = p.stat().st_size
            for k, row in enumerate(read_rows(fh, fmt), 1):
                yield row
                if k % PROGRESS_EVERY == 0:
                    progress(min(fh.tell(), size), size)
            progress(size, size)

    return fmt, rows()


def read_rows(fh: BinaryIO, fmt: Format) -> Iterator[tuple[int, Parcel | RowError]]:
    """Validate the rows of an open binary stream, one at a time, as they are read.

    The whole per-file path of an import without the file: for tests and fuzzers
    (``read_rows(io.BytesIO(data), "csv")``).

    Returns
    -------
    iterator of (line, Parcel or RowError)
        One item per non-blank row. Any bytes give rows or row errors; only the stream's
        own read errors (``OSError``) propagate.
    """
    return ((n, _settle(n, unit)) for n, unit in _units(fh, fmt))


def read_batch(
    path: str | Path, *, format: Format | None = None
) -> tuple[Format, list[tuple[int, Parcel | RowError]]]:
    """Read and validate every row of an AED batch file (see :func:`iter_batch`).

    Returns
    -------
    format, rows
        The format read, and ``(line, Parcel or RowError)`` for every non-blank row.

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    fmt, rows = iter_batch(path, format=format)
    return fmt, list(rows)


def import_batch(
    store: Store, path: str | Path, *, actor: str, format: Format | None = None,
    chunk: int = IMPORT_CHUNK, on_rejected: Callable[[RowError], None] | None = None,
    workers: int | None = None, progress: Progress | None = None,
) -> ImportSummary:
    """Import an AED batch: good rows go in, bad rows are reported, nothing stored changes.

    The file is streamed in memory independent of its size: rows are read in blocks of
    ``chunk`` rows (and at most :data:`BLOCK_BYTES` of the file), validated, and each
    block's good rows are handed to the store in one transaction (committed whole or, if
    the process dies, not at all; a re-import finds the committed rows unchanged); its
    rejected rows (invalid, or in conflict with a stored record) are reported in line order.

    Parameters
    ----------
    store
        Where to import.
    path
        The batch file (JSON lines or flat CSV).
    actor
        Who imports (audit log).
    format
        Forced format; guessed when None.
    chunk
        Rows read per block, committed in one transaction
        (:data:`parcels.store.IMPORT_CHUNK`; a store commits at most that many at once).
    on_rejected
        Called with every rejected row, in line order, once its block is committed (the
        summary lists at most :data:`MAX_REJECTED_KEPT`).
    workers
        Processes that validate rows while this one writes: 1 validates here; None (the
        default) uses every usable core (:func:`spectra.parallel.usable_cores`) when the
        file holds at least :data:`PARALLEL_MIN_ROWS` rows, estimated from its first block,
        and 1 below. The first block is always validated here. The result is the same for
        any number: rows are committed in file order, in the same blocks.
    progress
        Called as ``progress(bytes_read, file_size)`` after each block is committed, and
        once at the end with both equal.

    Returns
    -------
    ImportSummary
        Counts, and the rejected rows with their line numbers and reasons (invalid rows
        and conflicts with stored records).

    Raises
    ------
    OSError
        If the file cannot be opened or read.
    ValueError
        If ``chunk`` or ``workers`` is below 1.
    """
    if chunk < 1:
        raise ValueError(f"chunk must be at least 1, got {chunk}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    p = Path(path)
    fmt = _format_of(p, format)
    size = p.stat().st_size
    tally = _Tally(store, actor=actor, source=p.name, on_rejected=on_rejected)
    with p.open("rb") as fh:
        blocks = _blocks(fh, fmt, chunk)
        for block in blocks:  # the first block here, and from it the rows still to come
            tally.commit(_prepare(block))
            if progress is not None:
                progress(min(fh.tell(), size), size)
            if workers is None:
                left = (size - fh.tell()) * len(block) / max(fh.tell(), 1)
                workers = usable_cores() if left >= PARALLEL_MIN_ROWS else 1
            break
        with closing(ordered_map(_prepare, blocks, workers=workers or 1, ahead=1)) as done:
            for prepared in done:  # closing: a failed commit stops the workers at once
                tally.commit(prepared)
                if progress is not None:
                    progress(min(fh.tell(), size), size)
    if progress is not None:
        progress(size, size)
    return ImportSummary(
        source=str(p), format=fmt, rows=tally.rows, inserted=tally.inserted,
        unchanged=tally.unchanged, holds_requested=tally.holds,
        rejected=tuple(tally.kept), rejected_rows=tally.rejected,
    )


def import_rows(
    store: Store, rows: Iterable[tuple[int, Parcel | RowError]], *, actor: str, source: str,
    fmt: Format, name: str | None = None,
) -> ImportSummary:
    """Import validated rows (from :func:`read_rows`): good rows go in, bad rows are reported.

    The rows are consumed as they come and committed :data:`parcels.store.IMPORT_CHUNK` at
    a time (as :func:`import_batch` commits a file's blocks), so a stream of any length is
    imported in bounded memory.

    Parameters
    ----------
    store
        Where to import.
    rows
        ``(line, Parcel or RowError)``; rejected rows are reported as they are.
    actor
        Who imports (audit log).
    source
        Where the rows came from (the summary's ``source``).
    fmt
        The format they were read in.
    name
        Name of the batch in the audit log (``source`` when None).
    """
    tally = _Tally(store, actor=actor, source=name or source, on_rejected=None)
    block: list[ParcelRow | RowError] = []
    for line, r in rows:
        block.append(ParcelRow.of(line, r) if isinstance(r, Parcel) else r)
        if len(block) >= IMPORT_CHUNK:
            tally.commit(block)
            block = []
    if block:
        tally.commit(block)
    return ImportSummary(
        source=source, format=fmt, rows=tally.rows, inserted=tally.inserted,
        unchanged=tally.unchanged, holds_requested=tally.holds,
        rejected=tuple(tally.kept), rejected_rows=tally.rejected,
    )


def _blocks(fh: BinaryIO, fmt: Format, chunk: int) -> Iterator[list[_Unit]]:
    """The file's rows in blocks of at most ``chunk`` rows and about :data:`BLOCK_BYTES`."""
    block: list[_Unit] = []
    start = fh.tell()
    for unit in _units(fh, fmt):
        block.append(unit)
        # the position is asked for every 64 rows only: each ask is a system call
        if len(block) >= chunk or (len(block) % 64 == 0 and fh.tell() - start >= BLOCK_BYTES):
            yield block
            block, start = [], fh.tell()
    if block:
        yield block


def _prepare(block: list[_Unit]) -> list[ParcelRow | RowError]:
    """Validate a block and put its good rows in stored form (runs in worker processes)."""
    out: list[ParcelRow | RowError] = []
    for line, unit in block:
        row = _settle(line, unit)
        out.append(ParcelRow.of(line, row) if isinstance(row, Parcel) else row)
    return out


class _Tally:
    """The running counts of an import; commits one prepared block at a time."""

    def __init__(self, store: Store, *, actor: str, source: str,
                 on_rejected: Callable[[RowError], None] | None) -> None:
        self.store, self.actor, self.source = store, actor, source
        self.on_rejected = on_rejected
        self.rows = self.inserted = self.unchanged = self.holds = self.rejected = 0
        self.kept: list[RowError] = []

    def commit(self, block: list[ParcelRow | RowError]) -> None:
        self.rows += len(block)
        good = [r for r in block if isinstance(r, ParcelRow)]
        bad = [r for r in block if isinstance(r, RowError)]
        outcomes = (self.store.import_parcel_rows(good, actor=self.actor, source=self.source)
                    if good else [])
        for o in outcomes:
            if o.status is RowStatus.INSERTED:
                self.inserted += 1
                self.holds += o.hold_requested
            elif o.status is RowStatus.UNCHANGED:
                self.unchanged += 1
            else:
                bad.append(RowError(line=o.line, item_id=o.item_id, reason=o.reason or
                                    "conflicts with the stored record"))
        bad.sort(key=lambda r: r.line)
        for r in bad:
            self.rejected += 1
            if len(self.kept) < MAX_REJECTED_KEPT:
                self.kept.append(r)
            if self.on_rejected is not None:
                self.on_rejected(r)


__all__ = [
    "BLOCK_BYTES",
    "MAX_DEPTH",
    "MAX_LINE_BYTES",
    "MAX_LIST_INDEX",
    "MAX_NUMBER_CHARS",
    "MAX_REJECTED_KEPT",
    "PARALLEL_MIN_ROWS",
    "ImportSummary",
    "RowError",
    "flatten",
    "format_validation_error",
    "import_batch",
    "import_rows",
    "iter_batch",
    "key_path",
    "parse_json_row",
    "read_batch",
    "read_rows",
    "sniff_format",
    "unflatten",
]
