"""Delimited text spectra (CSV, TSV, whitespace, semicolon; decimal comma), read and write.

Reading takes two or more numeric columns, with or without a column-name row and a
metadata header above it, and recognises these flavours (rules in ``docs/formats/text.md``):

- our own files (``# interdict-spectrum: 1`` header, written by :func:`write`): every field
  comes back exactly, so ``read(write(s))`` has the same arrays, ``content_hash`` and title;
- RRUFF ``##KEY=value`` files (``##NAMES`` is the title, data end at ``##END=``);
- B&W Tek BWSpec/BWRam semicolon exports (x = ``Raman Shift``, y = ``Dark Subtracted #1``,
  pixels without a Raman shift skipped, ``laser_wavelength`` is the excitation);
- Wasatch Photonics ENLIGHTEN exports (``key,value`` header; x = ``Wavenumber``, the Raman
  shift; y = ``Processed``; rows marked ``NA`` outside the detector's region of interest are
  dropped, and the drop is a provenance step);
- vendor exports with a ``key<delim>value`` header (Neegala, LightNovo, Horiba LabSpec) and
  plain x,y files (Witec, Zolix, Renishaw, Open Specy, handheld CSVs).

The file is streamed (:mod:`._text_stream`): memory is a small multiple of the output arrays.

An x axis that is not strictly monotonic is never sorted silently: a step-scan export whose
windows repeat or overlap is merged with :func:`spectra.merge_segments`, which records the
merge in the provenance; an axis that is merely unordered is refused, naming the line.
"""

from __future__ import annotations

import csv
import json
import os
import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from .._errors import FormatError, SpectrumValidationError, UnsupportedContentError
from .._model import Acquisition, ProvenanceStep, Spectrum, merge_segments
from .._units import Technique, XUnit, YUnit
from . import _text_stream as S
from . import _text_vendors as V
from ._json import loads as json_loads

NAME = "csv"
EXTENSIONS: tuple[str, ...] = (".csv", ".txt", ".tsv", ".dat", ".prn")

MAGIC = "# interdict-spectrum: 1"
"""First line of the files :func:`write` makes."""

_MAX_BREAKS_FRACTION = 50
"""An axis with more than ``max(10, n // 50)`` repeats or reversals is unordered, not step-scan."""

_Lines = Iterator[tuple[int, str]]


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
    text = S.decode_head(head)
    if text is None:
        return False
    if text.startswith(MAGIC):
        return True
    lines = re.split(r"\r\n|\r|\n", text)
    if len(lines) > 1:
        lines = lines[:-1]  # the last line is empty, or may be cut by the sniff window
    hits = 0
    for line in lines:
        if S.count_numeric_fields(line) >= 2:
            hits += 1
            if hits >= 2:
                return True
    return False


# -- the header of each flavour, read up to the first data row -------------------------------


@dataclass
class _Head:
    """What the lines above the data said, and the layout of the data rows."""

    flavour: str
    first: tuple[int, str]
    """The first data row (line number, text): already read from the stream."""
    delim: str
    dc: bool
    ncols: int
    meta: dict[str, str] = field(default_factory=dict)
    names: list[str] | None = None
    missing: frozenset[str] = frozenset()
    make: str | None = None


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


def _generic_head(lines: _Lines, path: Path, budget: S.HeaderBudget) -> _Head:
    header: list[tuple[int, str]] = []
    for lineno, line in lines:
        layout = S.numeric_layout(line)
        if layout is None:
            if line.strip():
                budget.take(lineno, line)
                header.append((lineno, line))
            continue
        delim, dc, ncols = layout
        head = _Head("generic", (lineno, line.strip()), delim, dc, ncols)
        if header:
            _, last = header[-1]
            cand = [c.lstrip("#").strip() for c in S.split(last.strip(), delim)]
            if delim in ("\t", " "):
                cand = [c for c in cand if c]
            if len(cand) == ncols and not all(S.is_num(c, dc) for c in cand):
                head.names = cand
                header = header[:-1]
        for _, ln in header:
            pair = _meta_pair(ln)
            if pair:
                head.meta.setdefault(pair[0], pair[1])
        return head
    raise UnsupportedContentError(
        "no line with two or more numeric columns: not a delimited-text spectrum",
        path=path, line=1, field="data",
    )


def _rruff_head(lines: _Lines, path: Path, budget: S.HeaderBudget) -> _Head:
    meta: dict[str, str] = {}
    lineno = 0
    for lineno, line in lines:
        s = line.strip()
        if not s:
            continue
        if s.startswith("##"):
            if _rruff_meta(s, meta, budget, lineno):
                break
            continue
        layout = S.numeric_layout(s)
        if layout is None:
            raise FormatError(f"not a data line: {s!r}", path=path, line=lineno, field="data")
        delim, dc, ncols = layout
        return _Head("rruff", (lineno, s), delim, dc, ncols, meta=meta)
    raise FormatError("RRUFF file has no data lines", path=path, line=lineno, field="data")


def _rruff_meta(s: str, meta: dict[str, str], budget: S.HeaderBudget, lineno: int) -> bool:
    """Keep one ``##KEY=value`` line; ``True`` at ``##END=`` (the data end there)."""
    key, _, value = s[2:].partition("=")
    if key.strip().upper() == "END":
        return True
    budget.take(lineno, s)
    meta.setdefault(key.strip(), value.strip())
    return False


def _bwtek_head(lines: _Lines, path: Path, budget: S.HeaderBudget) -> _Head:
    meta: dict[str, str] = {}
    lineno = 0
    for lineno, line in lines:
        if line.startswith("Pixel;"):
            names = S.split(line, ";")
            first = next(((n, ln) for n, ln in lines if ln.strip()), None)
            if first is None:
                raise UnsupportedContentError("no row has a value in the x column", path=path,
                                              line=lineno, field="Raman Shift")
            return _Head("bwtek", first, ";", True, len(names), meta=meta, names=names,
                         missing=frozenset({""}), make="B&W Tek")
        key, _, value = line.partition(";")
        if key.strip():
            budget.take(lineno, line)
            meta.setdefault(key.strip(), value.strip())
    raise FormatError("B&W Tek export without the 'Pixel;...' column row", path=path,
                      line=lineno, field="Pixel")


_ENLIGHTEN_AXES = ("Pixel", "Wavelength", "Wavenumber")
"""A line whose first cell is one of these is the column row of an ENLIGHTEN export."""


def _enlighten_head(lines: _Lines, path: Path, budget: S.HeaderBudget) -> _Head:
    meta: dict[str, str] = {}
    lineno = 0
    for lineno, line in lines:
        if not line.strip():
            continue
        cells = next(csv.reader([line]), [])
        if cells and cells[0].strip() in _ENLIGHTEN_AXES:
            names = S.split(line, ",")
            if sum(V.norm_key(n) == "processed" for n in names) > 1:
                raise UnsupportedContentError(
                    "ENLIGHTEN export of several measurements (several 'Processed' columns) "
                    "is not read: save each measurement on its own", path=path, line=lineno,
                    field="columns",
                )
            first = next(((n, ln) for n, ln in lines if ln.strip()), None)
            if first is None:
                raise FormatError("no data rows", path=path, line=lineno, field="data")
            return _Head("enlighten", first, ",", False, len(names), meta=meta, names=names,
                         missing=frozenset({"", "NA"}), make="Wasatch Photonics")
        if S.numeric_layout(line) is not None:
            raise FormatError(
                "ENLIGHTEN export: a data row before the column row (Pixel, Wavelength, "
                "Wavenumber, ...)", path=path, line=lineno, field="columns",
            )
        budget.take(lineno, line)
        key = cells[0].strip() if cells else ""
        values = [c.strip() for c in cells[1:] if c.strip()]
        if len(values) > 1:
            raise UnsupportedContentError(
                f"ENLIGHTEN export of several measurements ({len(values)} values) is not "
                "read: save each measurement on its own", path=path, line=lineno, field=key,
            )
        if key:
            meta.setdefault(key, values[0] if values else "")
    raise FormatError(
        "ENLIGHTEN export without its column row (Pixel, Wavelength, Wavenumber, ...)",
        path=path, line=lineno, field="columns",
    )


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


def _named(keys: list[str], wanted: tuple[str, ...], skip: int = -1) -> int | None:
    """The first column whose normalised name is one of ``wanted``, in ``wanted``'s order."""
    for w in wanted:
        for i, k in enumerate(keys):
            if i != skip and k == w:
                return i
    return None


def _choose_columns(
    h: _Head, path: Path, x_column: int | str | None, y_column: int | str | None
) -> tuple[int, int, str]:
    ncols, names = h.ncols, h.names
    keys = [V.norm_key(n) for n in names] if names else None
    xi: int | None
    if x_column is not None:
        xi = _column_index(x_column, names, ncols, path, "x_column")
        rule = "x_column given"
    elif h.flavour == "enlighten" and keys and names:
        xi = _named(keys, V.ENLIGHTEN_X)
        if xi is None:
            raise UnsupportedContentError(
                f"ENLIGHTEN export without a Wavenumber, Wavelength or Pixel column "
                f"(columns: {names})", path=path, line=h.first[0], field="columns")
        rule = f"ENLIGHTEN: named {names[xi]!r}"
    else:
        xi, rule = 0, "first column"
        if keys and names:
            for i, k in enumerate(keys):
                if any(p in k for p in V.X_PREFERRED):
                    xi, rule = i, f"named {names[i]!r}"
                    break
    if y_column is not None:
        return xi, _column_index(y_column, names, ncols, path, "y_column"), rule
    if h.flavour == "enlighten" and keys and names:
        yi = _named(keys, V.ENLIGHTEN_Y, skip=xi)
        if yi is None:
            raise UnsupportedContentError(
                f"ENLIGHTEN export without a Processed or Raw column (columns: {names}); pass "
                "y_column= to spectra.formats.text.read", path=path, line=h.first[0],
                field="columns")
        return xi, yi, rule
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
        f"(columns: {names or 'unnamed'}); pass y_column= to spectra.formats.text.read",
        path=path, line=h.first[0], field="columns",
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


def _reason(exc: SpectrumValidationError) -> str:
    """The validation message without its ``field: `` prefix (the FormatError adds it)."""
    text = str(exc)
    prefix = f"{exc.field}: " if exc.field else ""
    return text[len(prefix):] if prefix and text.startswith(prefix) else text


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
        del dx  # freed before Spectrum makes its own copies
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


def _own_format(lines: _Lines, path: Path, budget: S.HeaderBudget) -> Spectrum:
    """Our own CSV: every ``# key: value`` header is JSON, validated field by field."""
    fields: dict[str, Any] = {}
    lineno, line = 1, MAGIC
    for lineno, line in lines:
        if not line.startswith("#"):
            break
        budget.take(lineno, line)
        key, sep, value = line[1:].partition(":")
        key = key.strip()
        if not sep:
            raise FormatError(f"header line without 'key: value': {line!r}", path=path,
                              line=lineno, field="header")
        if key == "interdict-spectrum":
            continue
        if key not in _OWN_FIELDS:
            raise FormatError(f"unknown header key (known: {', '.join(_OWN_FIELDS)})",
                              path=path, line=lineno, field=key)
        try:
            fields[key] = _OWN_FIELDS[key](json_loads(value))
        except json.JSONDecodeError as exc:
            raise FormatError(f"value is not JSON: {exc.msg}", path=path, line=lineno,
                              field=key) from exc
        except (ValueError, TypeError, ValidationError) as exc:
            raise FormatError(f"invalid value: {exc}", path=path, line=lineno,
                              field=key) from exc
    if line.strip().lower() != "x,y":
        raise FormatError(f"expected the column row 'x,y', found {line!r}", path=path,
                          line=lineno, field="columns")
    cols = S.Columns(path, delim=",", dc=False, ncols=2, names=["x", "y"], xi=0, yi=1)
    for n, row in lines:
        if row.strip():
            cols.add(n, row.strip())
    x, y, line_nos = cols.finish()
    if not x.size:
        raise FormatError("no data rows", path=path, line=lineno, field="data")
    try:
        return Spectrum(x, y, source=str(path), **fields)
    except SpectrumValidationError as exc:
        raise FormatError(_reason(exc), path=path, line=int(line_nos[0]),
                          field=exc.field) from exc


def _rows(h: _Head, lines: _Lines, path: Path, budget: S.HeaderBudget, *,
          xi: int, yi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every data row from the first on, streamed into the x and y columns."""
    cols = S.Columns(path, delim=h.delim, dc=h.dc, ncols=h.ncols, names=h.names, xi=xi, yi=yi,
                     missing=h.missing)
    cols.add(*h.first)
    lineno = h.first[0]
    for lineno, line in lines:
        s = line.strip()
        if not s:
            continue
        if h.flavour == "rruff" and s.startswith("##"):
            if _rruff_meta(s, h.meta, budget, lineno):
                break
            continue
        if h.flavour == "generic" and s.startswith("#"):
            continue
        cols.add(lineno, s)
    return cols.finish()


def _drop_missing(
    h: _Head, x: np.ndarray, y: np.ndarray, line_nos: np.ndarray, *, xi: int, yi: int,
    extra: dict[str, str], path: Path,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[ProvenanceStep]]:
    """Rows with a missing cell: B&W Tek pixels without a Raman shift are skipped (an
    intensity is never missing there); ENLIGHTEN ``NA`` rows are dropped as a provenance step."""
    x_name = h.names[xi] if h.names else "x"
    y_name = h.names[yi] if h.names else "y"
    gone = np.isnan(x) | np.isnan(y) if h.flavour == "enlighten" else np.isnan(x)
    steps: list[ProvenanceStep] = []
    if np.any(gone):
        dropped = line_nos[gone]
        count = int(dropped.size)
        if h.flavour == "enlighten":
            extra["csv.skipped_rows"] = (f"{count} with 'NA' in {x_name!r} or {y_name!r} "
                                         f"(lines {int(dropped[0])}-{int(dropped[-1])})")
            steps.append(ProvenanceStep(step="drop_missing_rows", params={
                "rows_dropped": count, "marker": "NA", "x_column": x_name,
                "y_column": y_name, "first_line": int(dropped[0]),
                "last_line": int(dropped[-1]),
            }))
        else:
            extra["csv.skipped_rows"] = f"{count} without {x_name!r}"
        keep = ~gone
        x, y, line_nos = x[keep], y[keep], line_nos[keep]
    if x.size == 0:
        raise UnsupportedContentError("no row has a value in the x column", path=path,
                                      field=x_name)
    blank_y = np.flatnonzero(np.isnan(y))
    if blank_y.size:
        raise FormatError("blank intensity cell", path=path, line=int(line_nos[blank_y[0]]),
                          field=y_name)
    return x, y, line_nos, steps


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

    The file is streamed: memory is a small multiple of the output arrays, whatever its size.

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
        Unreadable, non-numeric cell (line and column named), ragged rows, unordered axis,
        a line longer than 1 Mi characters, more than 1 Mi characters of header.
    UnsupportedContentError
        No numeric table, several unnamed intensity columns, or an ENLIGHTEN export of
        several measurements.
    """
    p = Path(path)
    try:
        with p.open("rb") as fh:
            head = fh.read(4096)
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror or exc}", path=p) from exc
    encoding, skip = S.encoding_of(head, p)
    options: dict[str, Any] = {
        "x_column": x_column, "y_column": y_column, "x_unit": x_unit, "y_unit": y_unit,
        "technique": technique, "excitation_nm": excitation_nm,
    }
    # x spanning ±1e308 overflows np.diff: quietly inf, then refused where the spectrum is
    # built, not leaked as a numpy warning
    with np.errstate(all="ignore"):
        try:
            return [_read(p, encoding, skip, **options)]
        except S.NotUtf8:
            # numbers are ASCII; header bytes like 0xB5 (µ) come from Windows-1252/Latin-1
            return [_read(p, "latin-1", skip, **options)]


def _read(
    p: Path, encoding: str, skip: int, *, x_column: int | str | None,
    y_column: int | str | None, x_unit: XUnit | str | None, y_unit: YUnit | str | None,
    technique: Technique | str | None, excitation_nm: float | None,
) -> Spectrum:
    lines = S.lines(p, encoding, skip)
    budget = S.HeaderBudget(p)
    start = next(lines, None)
    if start is not None and start[1].strip() == MAGIC:
        return _own_format(lines, p, budget)
    while start is not None and not start[1].strip():
        start = next(lines, None)
    if start is None:
        raise FormatError("file is empty", path=p, line=1, field="data")
    first = start[1].strip()
    rest = chain([start], lines)
    if first.startswith("##"):
        h = _rruff_head(rest, p, budget)
    elif first.startswith("File Version;BW"):
        h = _bwtek_head(rest, p, budget)
    elif first.startswith("ENLIGHTEN Version"):
        h = _enlighten_head(rest, p, budget)
    else:
        h = _generic_head(rest, p, budget)
    xi, yi, rule = _choose_columns(h, p, x_column, y_column)
    x, y, line_nos = _rows(h, lines, p, budget, xi=xi, yi=yi)

    flavour, meta, names = h.flavour, h.meta, h.names
    extra: dict[str, str] = {"csv.flavour": flavour, "csv.columns": rule}
    if names:
        extra["csv.x_label"] = names[xi]
        extra["csv.y_label"] = names[yi]
    x, y, line_nos, steps = _drop_missing(h, x, y, line_nos, xi=xi, yi=yi, extra=extra,
                                          path=p)
    for key, value in meta.items():
        extra[f"header.{key}"] = value

    # what the file says
    ex = V.excitation_from(meta)
    tech = Technique.OTHER
    xu = _x_unit_from_name(names[xi] if names else None)
    yu = _y_unit_from_name(names[yi] if names else None) or YUnit.ARBITRARY
    if xu is XUnit.PIXEL and not np.array_equal(x, np.round(x)):
        xu = None
        extra["csv.x_unit"] = (f"column {names[xi] if names else 'x'!r} holds non-integer "
                               "values, so not pixel indices: unit not stated in the file")
    title = ""
    if flavour == "rruff":
        title = meta.get("NAMES", "")
        m = re.search(r"__(Raman|Infrared)__(?:(\d+(?:\.\d+)?)__)?", p.name)
        if m and m.group(1) == "Raman":
            tech, xu = Technique.RAMAN, XUnit.RAMAN_SHIFT
            if m.group(2):
                ex = ex or float(m.group(2))
                extra["csv.excitation_from"] = "RRUFF file name"
        elif m:
            tech, xu = Technique.INFRARED, XUnit.WAVENUMBER
    if flavour == "enlighten":
        title = meta.get("Label", "")
        if names and V.norm_key(names[xi]) == "wavenumber":
            xu = XUnit.RAMAN_SHIFT  # ENLIGHTEN's Wavenumber is 1e7/laser - 1e7/wavelength
        if V.norm_key(meta.get("Technique", "")) == "raman":
            tech = Technique.RAMAN
    if xu is XUnit.RAMAN_SHIFT or (ex is not None and flavour != "rruff"):
        tech = Technique.RAMAN
        if xu is None and "csv.x_unit" not in extra:
            xu = XUnit.RAMAN_SHIFT  # a Raman export stating its laser: the axis is the shift
    if flavour == "generic" and "name" in meta:
        title = meta["name"]
    if flavour == "generic":
        # a plain x,y table whose "# key: value" header states units or technique in our own
        # vocabulary (hand-made reference files do): believe it, and record that we did
        for key, enum in (("x_unit", XUnit), ("y_unit", YUnit), ("technique", Technique)):
            stated = meta.get(key)
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
        extra.setdefault("csv.x_unit", "not stated in the file")
    acquisition = V.acquisition_from(meta, h.make) if flavour != "rruff" else Acquisition()
    fields: dict[str, Any] = {
        "x_unit": XUnit(x_unit) if x_unit is not None else (xu or XUnit.OTHER),
        "y_unit": YUnit(y_unit) if y_unit is not None else yu,
        "technique": Technique(technique) if technique is not None else tech,
        "excitation_nm": excitation_nm if excitation_nm is not None else ex,
        "acquisition": acquisition,
        "provenance": steps,
        "title": title or p.stem,
        "source": str(p),
        "extra": extra,
    }
    try:
        return _ordered(x, y, line_nos, p, fields)
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

    record = s.to_record()  # the spectrum's own JSON values of its fields
    head = [
        MAGIC,
        *(f"# {key}: {dump(record[key])}" for key in (
            "title", "x_unit", "y_unit", "technique", "excitation_nm", "acquisition",
            "provenance", "extra")),
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
