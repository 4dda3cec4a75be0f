"""Delimited text spectra (CSV, TSV, whitespace, semicolon; decimal comma), read and write.

Reading takes two or more numeric columns, with or without a column-name row and a
metadata header above it, and recognises these flavours (rules in ``docs/formats/text.md``):

- our own files (``# interdict-spectrum: 1`` header, written by :func:`write`): every field
  comes back exactly, so ``read(write(s))`` has the same arrays, ``content_hash`` and title;
- RRUFF ``##KEY=value`` files (``##NAMES`` is the title, data end at ``##END=``);
- B&W Tek BWSpec/BWRam semicolon exports (x = ``Raman Shift``, y = ``Dark Subtracted #1``,
  pixels without a Raman shift skipped, ``laser_wavelength`` is the excitation);
- vendor exports with a ``key<delim>value`` header (Neegala, LightNovo) and plain x,y files
  (Horiba, Witec, Zolix, Renishaw, Open Specy, handheld CSVs).

An x axis that is not strictly monotonic is never sorted silently: a step-scan export whose
windows repeat or overlap is merged with :func:`spectra.merge_segments`, which records the
merge in the provenance; an axis that is merely unordered is refused, naming the line.
"""

from __future__ import annotations

import codecs
import json
import math
import os
import re
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from .._errors import FormatError, SpectrumValidationError, UnsupportedContentError
from .._model import Acquisition, ProvenanceStep, Spectrum, merge_segments
from .._units import Technique, XUnit, YUnit
from . import _text_vendors as V

NAME = "csv"
EXTENSIONS: tuple[str, ...] = (".csv", ".txt", ".tsv", ".dat", ".prn")

MAGIC = "# interdict-spectrum: 1"
"""First line of the files :func:`write` makes."""

_NEWLINE = re.compile(r"\r\n|\r|\n")
"""Line ends: only CR, LF, CRLF (``str.splitlines`` would also split on U+0085, U+2028...)."""


def _lines(text: str) -> list[str]:
    parts = _NEWLINE.split(text)
    if parts and parts[-1] == "":
        parts.pop()
    return parts


_DELIMS: tuple[str, ...] = (";", "\t", ",", " ")
"""Tried in this order on the first data line; ``" "`` means runs of whitespace."""

_MAX_BREAKS_FRACTION = 50
"""An axis with more than ``max(10, n // 50)`` repeats or reversals is unordered, not step-scan."""


# -- decoding and splitting ----------------------------------------------------------------


def _decode(data: bytes, path: Path | None) -> str:
    """Text of a file: UTF-8 (with or without BOM), UTF-16 (BOM, or NUL pattern), else Latin-1."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[3:]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"declares UTF-16 (byte-order mark) but does not decode: {exc.reason}",
                path=path, offset=exc.start, field="encoding",
            ) from exc
    nul = data.find(b"\x00", 0, 4096)
    if nul >= 0:
        sample = data[:4096]
        even_nul = sample[0::2].count(0)
        odd_nul = sample[1::2].count(0)
        half = len(sample) // 2
        if odd_nul > 0.4 * half and even_nul < 0.05 * half:
            enc = "utf-16-le"
        elif even_nul > 0.4 * half and odd_nul < 0.05 * half:
            enc = "utf-16-be"
        else:
            raise FormatError(
                "binary data (NUL byte), not a text spectrum", path=path, offset=nul,
                field="encoding",
            )
        try:
            decoded = data.decode(enc)
        except UnicodeDecodeError as exc:
            raise FormatError(
                f"looks like {enc} without a byte-order mark but does not decode: {exc.reason}",
                path=path, offset=exc.start, field="encoding",
            ) from exc
        control = sum(1 for c in decoded[:2048] if not (c.isprintable() or c in "\r\n\t"))
        if control:
            raise FormatError(
                "binary data (NUL bytes, and not UTF-16 text either)", path=path, offset=nul,
                field="encoding",
            )
        return decoded
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        # numbers are ASCII; header bytes like 0xB5 (µ) come from Windows-1252/Latin-1 tools
        return data.decode("latin-1")


def _split(line: str, delim: str) -> list[str]:
    if delim == " ":
        return line.split()
    parts = [p.strip() for p in line.split(delim)]
    if len(parts) > 1 and parts[-1] == "":
        parts.pop()  # a trailing delimiter (B&W Tek rows end in ';')
    return parts


def _is_num(cell: str, decimal_comma: bool) -> bool:
    if decimal_comma:
        cell = cell.replace(",", ".")
    return V.NUMBER.fullmatch(cell) is not None


def _numeric_layout(line: str) -> tuple[str, bool, int] | None:
    """The (delimiter, decimal comma, columns) under which every cell of ``line`` is a number."""
    s = line.strip()
    if not s or s.startswith("#"):
        return None
    for delim in _DELIMS:
        if delim != " " and delim not in s:
            continue
        cells = _split(s, delim)
        if len(cells) < 2:
            continue
        for dc in (False, True) if delim != "," else (False,):
            if all(_is_num(c, dc) for c in cells):
                return delim, dc, len(cells)
    return None


def _count_numeric_fields(line: str) -> int:
    best = 0
    for delim in _DELIMS:
        cells = _split(line.strip(), delim)
        for dc in (False, True) if delim != "," else (False,):
            best = max(best, sum(1 for c in cells if c and _is_num(c, dc)))
    return best


def sniff(head: bytes) -> bool:
    """Whether ``head`` decodes as text with at least two lines of two or more numbers.

    Parameters
    ----------
    head
        Leading bytes of the file.

    Returns
    -------
    bool
    """
    try:
        text = _decode(head, None)
    except FormatError:
        return False
    if text.startswith(MAGIC):
        return True
    lines = _lines(text)
    if len(lines) > 1 and not text.endswith(("\n", "\r")):
        lines = lines[:-1]  # the last line may be cut by the sniff window
    hits = 0
    for line in lines:
        if _count_numeric_fields(line) >= 2:
            hits += 1
            if hits >= 2:
                return True
    return False


# -- parsed table --------------------------------------------------------------------------


@dataclass
class _Table:
    meta: dict[str, str] = field(default_factory=dict)
    names: list[str] | None = None
    columns: list[np.ndarray] = field(default_factory=list)
    lines: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    delim: str = ","
    decimal_comma: bool = False


_FAST_CHARSET = re.compile(r"[^0-9eE+\-.\x00]")
"""Anything outside digits, exponent, sign and point sends a table to the cell-by-cell path."""


def _fast_table(
    rows: Sequence[tuple[int, str]], *, delim: str, dc: bool, ncols: int, allow_blank: bool
) -> np.ndarray | None:
    """The whole table converted at once, or ``None`` when any row needs a closer look."""
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
    if dc:
        joined = joined.replace(",", ".")
    if _FAST_CHARSET.search(joined):
        return None
    flat = joined.split("\x00")
    if allow_blank:
        flat = [c or "nan" for c in flat]
    try:
        return np.array(flat, dtype=np.float64).reshape(len(rows), ncols)
    except ValueError:
        return None  # e.g. "1-2", "1e" or a blank cell: the slow path names it


_WS_RUN = re.compile(r"[ \t]+")
_PADDED_SEP = re.compile(r"[ \t]*\x00[ \t]*")


def _parse_rows(
    rows: Sequence[tuple[int, str]], *, delim: str, dc: bool, ncols: int, path: Path,
    names: list[str] | None, allow_blank: bool = False,
) -> tuple[list[np.ndarray], np.ndarray]:
    """Parse data rows strictly: every cell numeric (or blank when ``allow_blank``).

    A vectorised path converts the whole table at once when every row has ``ncols`` cells
    and only number characters; otherwise (or if numpy refuses a cell) the cell-by-cell
    path finds and reports the first bad cell with its line and column.
    """
    line_nos = np.fromiter((ln for ln, _ in rows), dtype=np.int64, count=len(rows))
    fast = _fast_table(rows, delim=delim, dc=dc, ncols=ncols, allow_blank=allow_blank)
    if fast is not None and not np.isinf(fast).any():
        return [fast[:, c].copy() for c in range(ncols)], line_nos
    split = [_split(line.strip(), delim) for _, line in rows]
    values = np.full((len(rows), ncols), np.nan)
    for r, (lineno, _) in enumerate(rows):
        cells = split[r]
        if len(cells) != ncols:
            raise FormatError(
                f"expected {ncols} columns, found {len(cells)}", path=path, line=lineno,
                field="columns",
            )
        for c, cell in enumerate(cells):
            text = cell.replace(",", ".") if dc else cell
            if allow_blank and text == "":
                continue
            if V.NUMBER.fullmatch(text) is None:
                col = names[c] if names and c < len(names) and names[c] else f"column {c + 1}"
                raise FormatError(
                    f"not a number: {cell!r} (column {c + 1})", path=path, line=lineno,
                    field=col,
                )
            value = float(text)
            if not math.isfinite(value):
                col = names[c] if names and c < len(names) and names[c] else f"column {c + 1}"
                raise FormatError(
                    f"number out of range: {cell!r} (column {c + 1})", path=path,
                    line=lineno, field=col,
                )
            values[r, c] = value
    return [values[:, c].copy() for c in range(ncols)], line_nos


def _reason(exc: SpectrumValidationError) -> str:
    """The validation message without its ``field: `` prefix (the FormatError adds it)."""
    text = str(exc)
    prefix = f"{exc.field}: " if exc.field else ""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


def _meta_pair(line: str) -> tuple[str, str] | None:
    s = line.strip().lstrip("#").strip()
    if not s:
        return None
    # the earliest separator splits key from value, so "name: a; b" keeps "a; b" whole
    found = [(s.index(sep), sep) for sep in ("\t", ";", "=", ":", ",") if sep in s]
    if found:
        key, _, value = s.partition(min(found)[1])
        return key.strip(), value.strip()
    return s, ""


def _generic_table(lines: list[str], path: Path) -> _Table:
    start = None
    layout: tuple[str, bool, int] | None = None
    for i, line in enumerate(lines):
        layout = _numeric_layout(line)
        if layout is not None:
            start = i
            break
    if start is None or layout is None:
        raise UnsupportedContentError(
            "no line with two or more numeric columns: not a delimited-text spectrum",
            path=path, line=1, field="data",
        )
    delim, dc, ncols = layout
    table = _Table(delim=delim, decimal_comma=dc)
    header = [(i, ln) for i, ln in enumerate(lines[:start]) if ln.strip()]
    if header:
        _, last = header[-1]
        cand = [c.lstrip("#").strip() for c in _split(last.strip(), delim)]
        if delim in ("\t", " "):
            cand = [c for c in cand if c]
        if len(cand) == ncols and not all(_is_num(c, dc) for c in cand):
            table.names = cand
            header = header[:-1]
    for _, ln in header:
        pair = _meta_pair(ln)
        if pair:
            table.meta.setdefault(pair[0], pair[1])
    rows: list[tuple[int, str]] = []
    for i in range(start, len(lines)):
        s = lines[i].strip()
        if not s or s.startswith("#"):
            continue
        rows.append((i + 1, s))
    table.columns, table.lines = _parse_rows(
        rows, delim=delim, dc=dc, ncols=ncols, path=path, names=table.names
    )
    return table


def _rruff_table(lines: list[str], path: Path) -> _Table:
    meta: dict[str, str] = {}
    rows: list[tuple[int, str]] = []
    ended = False
    for i, line in enumerate(lines):
        s = line.strip()
        if not s:
            continue
        if s.startswith("##"):
            key, _, value = s[2:].partition("=")
            if key.strip().upper() == "END":
                ended = True
                break
            meta.setdefault(key.strip(), value.strip())
            continue
        rows.append((i + 1, s))
    if not rows:
        raise FormatError("RRUFF file has no data lines", path=path, line=len(lines),
                          field="data")
    layout = _numeric_layout(rows[0][1])
    if layout is None:
        raise FormatError(f"not a data line: {rows[0][1]!r}", path=path, line=rows[0][0],
                          field="data")
    delim, dc, ncols = layout
    cols, line_nos = _parse_rows(rows, delim=delim, dc=dc, ncols=ncols, path=path, names=None)
    meta["_rruff_end"] = "yes" if ended else "no"
    return _Table(meta=meta, columns=cols, lines=line_nos, delim=delim, decimal_comma=dc)


def _bwtek_table(lines: list[str], path: Path) -> _Table:
    meta: dict[str, str] = {}
    head_at = None
    for i, line in enumerate(lines):
        if line.startswith("Pixel;"):
            head_at = i
            break
        key, _, value = line.partition(";")
        if key.strip():
            meta.setdefault(key.strip(), value.strip())
    if head_at is None:
        raise FormatError("B&W Tek export without the 'Pixel;...' column row", path=path,
                          line=len(lines), field="Pixel")
    names = _split(lines[head_at], ";")
    rows = [(i + 1, ln) for i, ln in enumerate(lines) if i > head_at and ln.strip()]
    cols, line_nos = _parse_rows(
        rows, delim=";", dc=True, ncols=len(names), path=path, names=names, allow_blank=True
    )
    return _Table(meta=meta, names=names, columns=cols, lines=line_nos, delim=";",
                  decimal_comma=True)


# -- column choice and spectrum ------------------------------------------------------------


def _column_index(spec: int | str, names: list[str] | None, ncols: int, path: Path,
                  what: str) -> int:
    if isinstance(spec, int):
        if not 0 <= spec < ncols:
            raise FormatError(f"{what} {spec} out of range (file has {ncols} columns)",
                              path=path, field=what)
        return spec
    if names:
        for i, n in enumerate(names):
            if n == spec or V.norm_key(n) == V.norm_key(spec):
                return i
    raise FormatError(f"{what} {spec!r} not found; columns: {names}", path=path, field=what)


def _choose_columns(
    t: _Table, path: Path, x_column: int | str | None, y_column: int | str | None
) -> tuple[int, int, str]:
    ncols = len(t.columns)
    keys = [V.norm_key(n) for n in t.names] if t.names else None
    if x_column is not None:
        xi = _column_index(x_column, t.names, ncols, path, "x_column")
        rule = "x_column given"
    else:
        xi, rule = 0, "first column"
        if keys and t.names:
            for i, k in enumerate(keys):
                if any(p in k for p in V.X_PREFERRED):
                    xi, rule = i, f"named {t.names[i]!r}"
                    break
    if y_column is not None:
        return xi, _column_index(y_column, t.names, ncols, path, "y_column"), rule
    if keys:
        for pattern in V.Y_PRIORITY:
            for i, k in enumerate(keys):
                if i != xi and (k == pattern or k.startswith(pattern + "_")
                                or (len(pattern) > 1 and pattern in k)):
                    return xi, i, rule
    if ncols == 2:
        return xi, 1 - xi, rule
    raise UnsupportedContentError(
        f"{ncols} numeric columns and none is named as the intensity "
        f"(columns: {t.names or 'unnamed'}); pass y_column= to spectra.formats.text.read",
        path=path, line=int(t.lines[0]) if t.lines.size else None, field="columns",
    )


def _x_unit_from_name(name: str | None) -> XUnit | None:
    if not name:
        return None
    k = V.norm_key(name)
    if "raman" in k or "shift" in k:
        return XUnit.RAMAN_SHIFT
    if "wavelength" in k or k.endswith("_nm") or k == "nm":
        return XUnit.WAVELENGTH_NM
    if "pixel" in k:
        return XUnit.PIXEL
    return None


def _y_unit_from_name(name: str | None) -> YUnit | None:
    if not name:
        return None
    k = V.norm_key(name)
    for token, unit in (("absorbance", YUnit.ABSORBANCE), ("transmittance", YUnit.TRANSMITTANCE),
                        ("counts", YUnit.COUNTS), ("reflectance", YUnit.REFLECTANCE)):
        if token in k:
            return unit
    return None


def _ordered(
    x: np.ndarray, y: np.ndarray, lines: np.ndarray, path: Path, fields: dict[str, Any]
) -> Spectrum:
    """A spectrum from x in file order: reversed if decreasing, merged if step-scan, or refused."""
    extra: dict[str, str] = fields.pop("extra")
    if x.size > 1:
        dx = np.diff(x)
        if np.all(dx < 0):
            x, y = x[::-1], y[::-1]
            extra["csv.axis"] = "decreasing in file, reversed on reading"
        elif not np.all(dx > 0):
            direction = 1.0 if np.count_nonzero(dx > 0) >= np.count_nonzero(dx < 0) else -1.0
            breaks = np.flatnonzero(dx * direction <= 0)
            if breaks.size > max(10, x.size // _MAX_BREAKS_FRACTION):
                k = int(breaks[0])
                raise FormatError(
                    f"x axis is not ordered: {x[k]!r} then {x[k + 1]!r} ({breaks.size} breaks; "
                    "too many for a step-scan export, refusing to sort)",
                    path=path, line=int(lines[k + 1]), field="x",
                )
            extra["csv.axis"] = (
                f"{breaks.size} repeat(s)/reversal(s) in file, first at line "
                f"{int(lines[int(breaks[0]) + 1])}; merged with merge_segments"
            )
            return merge_segments(x, y, extra=extra, **fields)
    return Spectrum(x, y, extra=extra, **fields)


_OWN_FIELDS: dict[str, Any] = {
    "title": str,
    "x_unit": XUnit,
    "y_unit": YUnit,
    "technique": Technique,
    "excitation_nm": TypeAdapter(float | None).validate_python,
    "acquisition": Acquisition.model_validate,
    "provenance": TypeAdapter(list[ProvenanceStep]).validate_python,
    "extra": TypeAdapter(dict[str, str]).validate_python,
}


def _own_format(lines: list[str], path: Path) -> Spectrum:
    """Our own CSV: every ``# key: value`` header is JSON, validated field by field."""
    fields: dict[str, Any] = {}
    i = 0
    for i, line in enumerate(lines):
        if not line.startswith("#"):
            break
        key, sep, value = line[1:].partition(":")
        key = key.strip()
        if not sep:
            raise FormatError(f"header line without 'key: value': {line!r}", path=path,
                              line=i + 1, field="header")
        if key == "interdict-spectrum":
            continue
        if key not in _OWN_FIELDS:
            raise FormatError(f"unknown header key (known: {', '.join(_OWN_FIELDS)})",
                              path=path, line=i + 1, field=key)
        try:
            fields[key] = _OWN_FIELDS[key](json.loads(value))
        except json.JSONDecodeError as exc:
            raise FormatError(f"value is not JSON: {exc.msg}", path=path, line=i + 1,
                              field=key) from exc
        except (ValueError, TypeError, ValidationError) as exc:
            raise FormatError(f"invalid value: {exc}", path=path, line=i + 1,
                              field=key) from exc
    if lines[i].strip().lower() != "x,y":
        raise FormatError(f"expected the column row 'x,y', found {lines[i]!r}", path=path,
                          line=i + 1, field="columns")
    rows = [(j + 1, ln) for j, ln in enumerate(lines) if j > i and ln.strip()]
    if not rows:
        raise FormatError("no data rows", path=path, line=i + 1, field="data")
    (x, y), line_nos = _parse_rows(
        rows, delim=",", dc=False, ncols=2, path=path, names=["x", "y"]
    )
    try:
        return Spectrum(x, y, source=str(path), **fields)
    except SpectrumValidationError as exc:
        raise FormatError(_reason(exc), path=path, line=int(line_nos[0]),
                          field=exc.field) from exc


def read(
    path: Path,
    *,
    x_column: int | str | None = None,
    y_column: int | str | None = None,
    x_unit: XUnit | str | None = None,
    y_unit: YUnit | str | None = None,
    technique: Technique | str | None = None,
    excitation_nm: float | None = None,
) -> list[Spectrum]:
    """Read the spectrum in a delimited-text file.

    Parameters
    ----------
    path
        The file.
    x_column, y_column
        Force the columns (0-based index or column name) instead of the documented rule.
    x_unit, y_unit, technique, excitation_nm
        What the caller knows and the file does not say (a plain two-column file states no
        unit). They override what the file says.

    Returns
    -------
    list of Spectrum
        One spectrum.

    Raises
    ------
    FormatError
        Unreadable, non-numeric cell (line and column named), ragged rows, unordered axis.
    UnsupportedContentError
        No numeric table, or several unnamed intensity columns.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror or exc}", path=p) from exc
    if not data.strip():
        raise FormatError("file is empty", path=p, line=1, field="data")
    lines = _lines(_decode(data, p))
    if lines and lines[0].strip() == MAGIC:
        return [_own_format(lines, p)]

    first = next((ln.strip() for ln in lines if ln.strip()), "")
    flavour = "generic"
    make: str | None = None
    if first.startswith("##"):
        flavour = "rruff"
        table = _rruff_table(lines, p)
    elif first.startswith("File Version;BW"):
        flavour, make = "bwtek", "B&W Tek"
        table = _bwtek_table(lines, p)
    else:
        table = _generic_table(lines, p)

    xi, yi, rule = _choose_columns(table, p, x_column, y_column)
    x, y, line_nos = table.columns[xi], table.columns[yi], table.lines
    extra: dict[str, str] = {"csv.flavour": flavour, "csv.columns": rule}
    if table.names:
        extra["csv.x_label"] = table.names[xi]
        extra["csv.y_label"] = table.names[yi]
    keep = ~np.isnan(x)
    if not np.all(keep):  # only B&W Tek allows blank cells: pixels without a Raman shift
        x_name = table.names[xi] if table.names else "x"
        extra["csv.skipped_rows"] = f"{int(np.count_nonzero(~keep))} without {x_name!r}"
        x, y, line_nos = x[keep], y[keep], line_nos[keep]
    if x.size == 0:
        raise UnsupportedContentError("no row has a value in the x column", path=p,
                                      field=table.names[xi] if table.names else "x")
    blank_y = np.flatnonzero(np.isnan(y))
    if blank_y.size:
        raise FormatError("blank intensity cell", path=p, line=int(line_nos[blank_y[0]]),
                          field=table.names[yi] if table.names else "y")
    for key, value in table.meta.items():
        if not key.startswith("_"):
            extra[f"header.{key}"] = value

    # what the file says
    ex = V.excitation_from(table.meta)
    tech = Technique.OTHER
    xu = _x_unit_from_name(table.names[xi] if table.names else None)
    yu = _y_unit_from_name(table.names[yi] if table.names else None) or YUnit.ARBITRARY
    title = ""
    if flavour == "rruff":
        title = table.meta.get("NAMES", "")
        m = re.search(r"__(Raman|Infrared)__(?:(\d+(?:\.\d+)?)__)?", p.name)
        if m and m.group(1) == "Raman":
            tech, xu = Technique.RAMAN, XUnit.RAMAN_SHIFT
            if m.group(2):
                ex = ex or float(m.group(2))
                extra["csv.excitation_from"] = "RRUFF file name"
        elif m:
            tech, xu = Technique.INFRARED, XUnit.WAVENUMBER
    if xu is XUnit.RAMAN_SHIFT or (ex is not None and flavour != "rruff"):
        tech = Technique.RAMAN
        if xu is None:
            xu = XUnit.RAMAN_SHIFT  # a Raman export stating its laser: the axis is the shift
    if flavour == "generic" and "name" in table.meta:
        title = table.meta["name"]
    if flavour == "generic":
        # a plain x,y table whose "# key: value" header states units or technique in our own
        # vocabulary (hand-made reference files do): believe it, and record that we did
        for key, enum in (("x_unit", XUnit), ("y_unit", YUnit), ("technique", Technique)):
            stated = table.meta.get(key)
            if stated is None:
                continue
            try:
                value = enum(stated)
            except ValueError:
                # a vendor's own word ("FTIR", "Absorbance"): kept as header.* in extra,
                # not guessed at
                continue
            if key == "x_unit":
                xu = XUnit(value)
            elif key == "y_unit":
                yu = YUnit(value)
            else:
                tech = Technique(value)
            extra[f"csv.{key}_from"] = "header"
    if xu is None:
        extra["csv.x_unit"] = "not stated in the file"
    acquisition = V.acquisition_from(table.meta, make) if flavour != "rruff" else Acquisition()
    fields: dict[str, Any] = {
        "x_unit": XUnit(x_unit) if x_unit is not None else (xu or XUnit.OTHER),
        "y_unit": YUnit(y_unit) if y_unit is not None else yu,
        "technique": Technique(technique) if technique is not None else tech,
        "excitation_nm": excitation_nm if excitation_nm is not None else ex,
        "acquisition": acquisition,
        "title": title or p.stem,
        "source": str(p),
        "extra": extra,
    }
    try:
        return [_ordered(x, y, line_nos, p, fields)]
    except SpectrumValidationError as exc:
        raise FormatError(_reason(exc), path=p, line=int(line_nos[0]), field=exc.field) from exc


def write(spectrum: Spectrum, path: Path) -> None:
    """Write a spectrum as CSV: ``# key: value`` JSON metadata lines, then ``x,y`` rows.

    Floats are written with ``repr``, so :func:`read` gives back identical arrays, the same
    ``content_hash``, title and ``extra``. The file is written to a temporary name in the
    same folder and renamed, so an existing file is never left half-written.

    Parameters
    ----------
    spectrum
        The spectrum.
    path
        Where to write (UTF-8).

    Raises
    ------
    FormatError
        The file cannot be written.
    """
    p = Path(path)
    s = spectrum

    def dump(v: Any) -> str:
        return json.dumps(v, ensure_ascii=True, sort_keys=True, allow_nan=False)

    head = [
        MAGIC,
        f"# title: {dump(s.title)}",
        f"# x_unit: {dump(s.x_unit.value)}",
        f"# y_unit: {dump(s.y_unit.value)}",
        f"# technique: {dump(s.technique.value)}",
        f"# excitation_nm: {dump(s.excitation_nm)}",
        f"# acquisition: {dump(s.acquisition.model_dump(mode='json', exclude_none=True))}",
        f"# provenance: {dump([st.model_dump(mode='json') for st in s.provenance])}",
        f"# extra: {dump(dict(s.extra))}",
        "x,y",
    ]
    body = "\n".join(f"{a!r},{b!r}" for a, b in zip(s.x.tolist(), s.y.tolist(), strict=True))
    text = "\n".join(head) + "\n" + body + "\n"
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent or ".")
        try:
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            os.replace(tmp, p)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise FormatError(f"cannot write: {exc.strerror or exc}", path=p) from exc


__all__ = ["EXTENSIONS", "MAGIC", "NAME", "read", "sniff", "write"]
