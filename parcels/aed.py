"""Import of advance electronic data (AED) batches: JSON lines, or a flat CSV form.

JSON lines: one parcel object per line, in the shape of :class:`parcels.records.Parcel`
(extra fields are kept). Flat CSV: one parcel per row, columns named by the dotted path of
each field (``sender.name``, ``declaration.items.0.description``, ``hold.reason``); empty
cells are absent fields.

Every row is validated on its own: a bad row is rejected with its line number and the reason
(which field, what is wrong, what was received) while the good rows import. Import is
idempotent: the store keeps a row identical to a stored record as "unchanged" and refuses a
different record under a stored id as a conflict.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from .records import Parcel
from .store.base import RowStatus, Store

Format = Literal["jsonl", "csv"]


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

    @property
    def ok(self) -> bool:
        """No row was rejected."""
        return not self.rejected

    def message(self) -> str:
        """The one-line summary a human reads."""
        return (f"{self.source}: {self.rows} rows: {self.inserted} imported, "
                f"{self.unchanged} unchanged, {len(self.rejected)} rejected; "
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


def unflatten(row: dict[str, str]) -> dict[str, Any]:
    """Dotted CSV columns → nested dict; numeric segments index lists; empty cells dropped."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None or value is None or value.strip() == "":
            continue
        parts = key.strip().split(".")
        node: Any = out
        for i, part in enumerate(parts):
            last = i == len(parts) - 1
            nxt: Any = value.strip() if last else ([] if parts[i + 1].isdigit() else {})
            if isinstance(node, list):
                idx = int(part)
                while len(node) <= idx:
                    node.append(None)
                if node[idx] is None or last:
                    node[idx] = nxt
                node = node[idx]
            else:
                if part not in node or last:
                    node[part] = nxt
                node = node[part]
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


def _jsonl_rows(data: bytes) -> Iterator[tuple[int, Parcel | RowError]]:
    for n, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            text = raw.decode("utf-8-sig" if n == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield n, RowError(line=n, item_id=None,
                              reason=f"not UTF-8 at byte {exc.start}")
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            yield n, RowError(line=n, item_id=None,
                              reason=f"not valid JSON: {exc.msg} (column {exc.colno})")
            continue
        yield n, _validate(n, obj)


def _csv_rows(data: bytes) -> Iterator[tuple[int, Parcel | RowError]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        yield line, RowError(line=line, item_id=None,
                             reason=f"not UTF-8 at byte {exc.start}; the file was not read")
        return
    reader = csv.DictReader(io.StringIO(text, newline=""))
    start = 2
    for row in reader:
        line = start
        start = reader.line_num + 1
        if None in row:
            yield line, RowError(line=line, item_id=row.get("item_id"),
                                 reason=f"{len(row[None])} more cell(s) than header columns")  # type: ignore[index]
            continue
        if not any((v or "").strip() for v in row.values()):
            continue
        obj = unflatten(row)
        obj.setdefault("hold", None)
        yield line, _validate(line, obj)


def sniff_format(path: Path, head: bytes) -> Format:
    """``jsonl`` or ``csv``: by extension, else by the first non-blank byte."""
    ext = path.suffix.lower()
    if ext in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    if ext == ".csv":
        return "csv"
    return "jsonl" if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{" else "csv"


def read_batch(
    path: str | Path, *, format: Format | None = None
) -> tuple[Format, list[tuple[int, Parcel | RowError]]]:
    """Read and validate every row of an AED batch file.

    Parameters
    ----------
    path
        The batch file.
    format
        ``"jsonl"`` or ``"csv"``; guessed from the extension or content when None.

    Returns
    -------
    format, rows
        The format read, and ``(line, Parcel or RowError)`` for every non-blank row.

    Raises
    ------
    OSError
        If the file cannot be read.
    """
    p = Path(path)
    data = p.read_bytes()
    fmt = format or sniff_format(p, data[:64])
    return fmt, parse_rows(data, fmt)


def parse_rows(data: bytes, fmt: Format) -> list[tuple[int, Parcel | RowError]]:
    """Validate every row of an AED batch held in memory (a file's bytes, a request body).

    Returns
    -------
    list of (line, Parcel or RowError)
        One per non-blank row.
    """
    return list(_jsonl_rows(data) if fmt == "jsonl" else _csv_rows(data))


def import_batch(
    store: Store, path: str | Path, *, actor: str, format: Format | None = None
) -> ImportSummary:
    """Import an AED batch: good rows go in, bad rows are reported, nothing stored changes.

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

    Returns
    -------
    ImportSummary
        Counts, and each rejected row with its line number and reason (invalid rows and
        conflicts with stored records).
    """
    p = Path(path)
    fmt, rows = read_batch(p, format=format)
    return import_rows(store, rows, actor=actor, source=str(p), fmt=fmt, name=p.name)


def import_rows(
    store: Store, rows: list[tuple[int, Parcel | RowError]], *, actor: str, source: str,
    fmt: Format, name: str | None = None,
) -> ImportSummary:
    """Import rows from :func:`parse_rows`: good rows go in, bad rows are reported.

    Parameters
    ----------
    store
        Where to import.
    rows
        Validated rows (and rejected ones, which are reported as they are).
    actor
        Who imports (audit log).
    source
        Where the rows came from (the summary's ``source``).
    fmt
        The format they were read in.
    name
        Name of the batch in the audit log (``source`` when None).
    """
    good = [(line, r) for line, r in rows if isinstance(r, Parcel)]
    rejected = [r for _, r in rows if isinstance(r, RowError)]
    outcomes = store.import_parcels(good, actor=actor, source=name or source)
    for o in outcomes:
        if o.status is RowStatus.CONFLICT:
            rejected.append(RowError(line=o.line, item_id=o.item_id, reason=o.reason or
                                     "conflicts with the stored record"))
    rejected.sort(key=lambda r: r.line)
    return ImportSummary(
        source=source, format=fmt, rows=len(rows),
        inserted=sum(o.status is RowStatus.INSERTED for o in outcomes),
        unchanged=sum(o.status is RowStatus.UNCHANGED for o in outcomes),
        holds_requested=sum(o.hold_requested for o in outcomes),
        rejected=tuple(rejected),
    )


__all__ = [
    "ImportSummary",
    "RowError",
    "flatten",
    "format_validation_error",
    "import_batch",
    "import_rows",
    "parse_rows",
    "read_batch",
    "sniff_format",
    "unflatten",
]
