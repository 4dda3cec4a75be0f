"""The streaming layer of the delimited-text reader: bytes → decoded lines → numeric columns.

Nothing here holds the whole file. Lines are decoded from 1 MiB reads; data rows are parsed
in batches of about 256 KiB of text, and only the two columns that become the spectrum (and each
row's line number) are kept. So reading a file takes memory a small multiple of the output
arrays plus a constant, whatever the file's size (a 50 MB file used to peak at 1.6 GB).

Limits, each refused with a :class:`~spectra.FormatError` naming the line:

- a line longer than :data:`MAX_LINE_CHARS` (a file without line ends is not a table);
- more than :data:`MAX_HEADER_CHARS` of header (metadata lines kept as text).

Which flavours exist and how columns are chosen is :mod:`spectra.formats.text`'s business.
"""

from __future__ import annotations

import codecs
import math
import re
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np

from .._errors import FormatError
from . import _text_vendors as V

MAX_LINE_CHARS = 1 << 20
"""Longest line read (1 Mi characters). The longest line of any real text file in the shared
tree has 3,919; our own writer's longest header line (all of a file's labels as JSON) 9,380.
Splitting a line into cells can take ~25 bytes a character, so this also bounds that."""

MAX_HEADER_CHARS = 1 << 20
"""Most characters of metadata lines kept from one file (1 Mi)."""

_READ_BYTES = 1 << 20
_BATCH_CHARS = 1 << 18
"""Data rows are converted in batches of about this many characters (256 Ki)."""

_NEWLINE = re.compile(r"\r\n|\r|\n")
"""Line ends: only CR, LF, CRLF (``str.splitlines`` would also split on U+0085, U+2028...)."""

_SNIFF_BYTES = 4096


class NotUtf8(Exception):
    """The file is not UTF-8 after all: the caller reads it again as Latin-1."""


# -- decoding ------------------------------------------------------------------------------


def encoding_of(head: bytes, path: Path | None) -> tuple[str, int]:
    """The codec of a file whose first bytes are ``head``, and how many BOM bytes to skip.

    UTF-8 (with or without BOM); UTF-16 with a BOM, or without one when every other byte of
    the first 4 KiB is NUL and those bytes decode to printable text; UTF-8 otherwise (the
    caller falls back to Latin-1 when it does not decode).

    Raises
    ------
    FormatError
        NUL bytes that are not UTF-16 text: a binary file.
    """
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8", 3
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", 0  # the codec reads the BOM and picks the byte order
    sample = head[:_SNIFF_BYTES]
    nul = sample.find(b"\x00")
    if nul < 0:
        return "utf-8", 0
    even_nul = sample[0::2].count(0)
    odd_nul = sample[1::2].count(0)
    half = len(sample) // 2
    if odd_nul > 0.4 * half and even_nul < 0.05 * half:
        enc = "utf-16-le"
    elif even_nul > 0.4 * half and odd_nul < 0.05 * half:
        enc = "utf-16-be"
    else:
        raise FormatError("binary data (NUL byte), not a text spectrum", path=path,
                          offset=nul, field="encoding")
    decoded = sample[: len(sample) & ~1].decode(enc, errors="replace")
    if any(not (c.isprintable() or c in "\r\n\t") for c in decoded[:2048]):
        raise FormatError("binary data (NUL bytes, and not UTF-16 text either)", path=path,
                          offset=nul, field="encoding")
    return enc, 0


def decode_head(head: bytes) -> str | None:
    """The text of a file's first bytes (for sniffing), or ``None`` when it is not text."""
    try:
        enc, skip = encoding_of(head, None)
    except FormatError:
        return None
    try:
        return head[skip:].decode(enc)
    except UnicodeDecodeError:
        if enc != "utf-8":
            # the sniff window may cut a UTF-16 surrogate pair: judge what decodes
            return head[skip:].decode(enc, errors="ignore")
        return head[skip:].decode("latin-1")


def lines(
    path: Path, encoding: str, skip: int, *, read_bytes: int = _READ_BYTES
) -> Iterator[tuple[int, str]]:
    """``(line number, text)`` of every line of the file, without its line end, streamed
    (``read_bytes`` at a time).

    Raises
    ------
    NotUtf8
        ``encoding`` is UTF-8 and the bytes are not.
    FormatError
        Undecodable bytes in another encoding (with the byte offset), a line longer than
        :data:`MAX_LINE_CHARS`, or the file cannot be read.
    """
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    lineno = 0
    carry = ""
    offset = skip
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror or exc}", path=path) from exc
    with fh:
        fh.seek(skip)
        while True:
            try:
                raw = fh.read(read_bytes)
            except OSError as exc:
                raise FormatError(f"cannot read: {exc.strerror or exc}", path=path,
                                  offset=offset) from exc
            final = not raw
            buffered = len(decoder.getstate()[0])
            try:
                text = decoder.decode(raw, final=final)
            except UnicodeDecodeError as exc:
                if encoding == "utf-8":
                    raise NotUtf8 from exc
                raise FormatError(
                    f"declares {encoding} but does not decode: {exc.reason}", path=path,
                    offset=offset - buffered + exc.start, field="encoding",
                ) from exc
            offset += len(raw)
            text = carry + text
            tail = ""
            if not final and text.endswith("\r"):
                text, tail = text[:-1], "\r"  # may be the first half of a CRLF
            parts = _NEWLINE.split(text)
            carry = parts.pop() + tail
            for part in parts:
                lineno += 1
                if len(part) > MAX_LINE_CHARS:
                    _too_long(path, lineno)
                yield lineno, part
            if len(carry) > MAX_LINE_CHARS:
                _too_long(path, lineno + 1)
            if final:
                break
    if carry:
        yield lineno + 1, carry


def _too_long(path: Path, lineno: int) -> None:
    raise FormatError(
        f"line longer than {MAX_LINE_CHARS} characters: not a table of numbers", path=path,
        line=lineno, field="line",
    )


class HeaderBudget:
    """Counts the characters of metadata kept, refusing more than :data:`MAX_HEADER_CHARS`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.used = 0

    def take(self, lineno: int, line: str) -> None:
        """Account for one kept header line.

        Raises
        ------
        FormatError
            The header has grown past the limit.
        """
        self.used += len(line)
        if self.used > MAX_HEADER_CHARS:
            raise FormatError(
                f"more than {MAX_HEADER_CHARS} characters of header lines: not a spectrum "
                "table", path=self.path, line=lineno, field="header",
            )


# -- cells and rows ------------------------------------------------------------------------

DELIMS: tuple[str, ...] = (";", "\t", ",", " ")
"""Tried in this order on the first data line; ``" "`` means runs of whitespace."""


def split(line: str, delim: str) -> list[str]:
    """The cells of a line (a trailing delimiter, as B&W Tek writes, makes no cell)."""
    if delim == " ":
        return line.split()
    parts = [p.strip() for p in line.split(delim)]
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return parts


def is_num(cell: str, decimal_comma: bool) -> bool:
    """Whether ``cell`` is one number as documented (decimal comma converted first)."""
    if decimal_comma:
        cell = cell.replace(",", ".")
    return V.NUMBER.fullmatch(cell) is not None


def numeric_layout(line: str) -> tuple[str, bool, int] | None:
    """The (delimiter, decimal comma, columns) under which every cell of ``line`` is a number."""
    s = line.strip()
    if not s or s.startswith("#"):
        return None
    for delim in DELIMS:
        if delim != " " and delim not in s:
            continue
        cells = split(s, delim)
        if len(cells) < 2:
            continue
        for dc in (False, True) if delim != "," else (False,):
            if all(is_num(c, dc) for c in cells):
                return delim, dc, len(cells)
    return None


def count_numeric_fields(line: str) -> int:
    """The most cells of ``line`` that are numbers under any delimiter (for sniffing)."""
    best = 0
    for delim in DELIMS:
        cells = split(line.strip(), delim)
        for dc in (False, True) if delim != "," else (False,):
            best = max(best, sum(1 for c in cells if c and is_num(c, dc)))
    return best


_FAST_CHARSET = re.compile(r"[^0-9eE+\-.\x00]")
"""Anything outside digits, exponent, sign and point sends a batch to the cell-by-cell path."""
_WS_RUN = re.compile(r"[ \t]+")
_PADDED_SEP = re.compile(r"[ \t]*\x00[ \t]*")


def _fast_table(
    rows: Sequence[tuple[int, str]], *, delim: str, dc: bool, ncols: int, allow_blank: bool
) -> np.ndarray | None:
    """The whole batch converted at once, or ``None`` when any row needs a closer look."""
    texts = [line.strip() for _, line in rows]
    if delim == " ":
        if any(len(t.split()) != ncols for t in texts):
            return None
        joined = _WS_RUN.sub("\x00", "\x00".join(texts))
    else:
        texts = [t[:-1] if t.endswith(delim) else t for t in texts]
        if any(t.count(delim) != ncols - 1 for t in texts):
            return None
        joined = "\x00".join(texts).replace(delim, "\x00")
        if " " in joined or "\t" in joined:
            joined = _PADDED_SEP.sub("\x00", joined)
    del texts
    if dc:
        joined = joined.replace(",", ".")
    if _FAST_CHARSET.search(joined):
        return None
    flat = joined.split("\x00")
    del joined
    if allow_blank:
        flat = [c or "nan" for c in flat]
    try:
        return np.array(flat, dtype=np.float64).reshape(len(rows), ncols)
    except ValueError:
        return None  # e.g. "1-2", "1e" or a blank cell: the slow path names it


def parse_rows(
    rows: Sequence[tuple[int, str]], *, delim: str, dc: bool, ncols: int, path: Path,
    names: list[str] | None, missing: frozenset[str] = frozenset(),
) -> np.ndarray:
    """Parse data rows strictly: every cell a number, or one of the ``missing`` markers (NaN).

    A vectorised path converts the batch at once when every row has ``ncols`` cells and only
    number characters; otherwise (or if numpy refuses a cell) the cell-by-cell path finds and
    reports the first bad cell with its line and column.

    Returns
    -------
    numpy.ndarray
        ``(len(rows), ncols)`` float64.

    Raises
    ------
    FormatError
        A row with another number of cells, a cell that is not a number, a number that does
        not fit a double.
    """
    fast = _fast_table(rows, delim=delim, dc=dc, ncols=ncols, allow_blank="" in missing)
    if fast is not None and not np.isinf(fast).any():
        return fast
    values = np.full((len(rows), ncols), np.nan)
    for r, (lineno, line) in enumerate(rows):
        cells = split(line.strip(), delim)
        if len(cells) != ncols:
            raise FormatError(
                f"expected {ncols} columns, found {len(cells)}", path=path, line=lineno,
                field="columns",
            )
        for c, cell in enumerate(cells):
            if cell in missing:
                continue
            text = cell.replace(",", ".") if dc else cell
            if V.NUMBER.fullmatch(text) is None:
                raise FormatError(
                    f"not a number: {cell!r} (column {c + 1})", path=path, line=lineno,
                    field=column_name(names, c),
                )
            value = float(text)
            if not math.isfinite(value):
                raise FormatError(
                    f"number out of range: {cell!r} (column {c + 1})", path=path,
                    line=lineno, field=column_name(names, c),
                )
            values[r, c] = value
    return values


def column_name(names: list[str] | None, c: int) -> str:
    """Column ``c``'s name, or ``column c+1`` when it has none."""
    return names[c] if names and c < len(names) and names[c] else f"column {c + 1}"


class Columns:
    """Data rows, parsed a batch at a time; keeps columns ``xi`` and ``yi`` and each row's line.

    Parameters
    ----------
    path
        For error messages.
    delim, dc, ncols
        The layout every row must have.
    names
        Column names, for error messages.
    xi, yi
        The columns kept.
    missing
        Cell texts that stand for a missing value (kept as NaN).
    """

    def __init__(
        self, path: Path, *, delim: str, dc: bool, ncols: int, names: list[str] | None,
        xi: int, yi: int, missing: frozenset[str] = frozenset(),
    ) -> None:
        self._path = path
        self._layout = {"delim": delim, "dc": dc, "ncols": ncols, "names": names,
                        "missing": missing}
        self._keep = (xi, yi)
        self._rows: list[tuple[int, str]] = []
        self._chars = 0
        self._x: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._lines: list[np.ndarray] = []

    def add(self, lineno: int, line: str) -> None:
        """One data row (parsed when the batch is full)."""
        self._rows.append((lineno, line))
        self._chars += len(line) + 8
        if self._chars >= _BATCH_CHARS:
            self._flush()

    def _flush(self) -> None:
        if not self._rows:
            return
        values = parse_rows(self._rows, path=self._path, **self._layout)  # type: ignore[arg-type]
        xi, yi = self._keep
        self._x.append(values[:, xi].copy())
        self._y.append(values[:, yi].copy())
        # a line number fits int32 while the file has fewer than 2**31 lines
        dtype = np.int32 if self._rows[-1][0] < 2**31 else np.int64
        self._lines.append(np.fromiter((n for n, _ in self._rows), dtype=dtype,
                                       count=len(self._rows)))
        self._rows = []
        self._chars = 0

    def finish(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """x, y and the line of each row (int32, or int64 past 2**31 lines), in file order;
        each is joined, then its batches freed."""
        self._flush()
        out = []
        for parts in (self._x, self._y, self._lines):
            out.append(np.concatenate(parts) if parts else np.zeros(0))
            parts.clear()
        return out[0], out[1], out[2]


__all__ = [
    "DELIMS",
    "MAX_HEADER_CHARS",
    "MAX_LINE_CHARS",
    "Columns",
    "HeaderBudget",
    "NotUtf8",
    "column_name",
    "count_numeric_fields",
    "decode_head",
    "encoding_of",
    "is_num",
    "lines",
    "numeric_layout",
    "parse_rows",
    "split",
]
