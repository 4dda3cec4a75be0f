"""Ocean Optics / Ocean Insight text exports: OOIBase32, SpectraSuite and OceanView.

A banner line (``OOIBase32 Version ... Data File``, ``SpectraSuite Data File``, or
OceanView's ``Data from ... Node``), ``Key: value`` header lines, then the two columns
(wavelength, intensity) between ``>>>>>Begin ... Spectral Data<<<<<`` and
``>>>>>End ... Spectral Data<<<<<``. SpectraSuite writes decimal commas where the
computer's locale does. See ``docs/formats/ocean.md``.

The end marker is required: a file cut before it is refused as truncated, never read
short. The header's pixel count, when given, must match the rows.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from .._errors import FormatError, UnsupportedFormatError
from .._model import Spectrum
from .._units import Technique, XUnit, YUnit
from . import _binary

NAME = "ocean"
EXTENSIONS: tuple[str, ...] = (".scope", ".txt")

_BANNERS = (b"OOIBase32", b"SpectraSuite Data File", b"Data from ")
_BEGIN = re.compile(r">>>>>Begin( Processed)? Spectral Data<<<<<")
_END = re.compile(r">>>>>End( Processed)? Spectral Data<<<<<")
_MAX_ROWS = 1_000_000
_ZONES = {"UTC": 0, "GMT": 0, "EST": -5, "EDT": -4, "CST": -6, "CDT": -5, "MST": -7,
          "MDT": -6, "PST": -8, "PDT": -7, "CET": 1, "CEST": 2}
"""Zone abbreviations Ocean's Java software writes in ``Date:`` (others give no date)."""


def sniff(head: bytes) -> bool:
    """Whether ``head`` is an Ocean text export: a known banner and the begin marker.

    Parameters
    ----------
    head
        Leading bytes of the file.

    Returns
    -------
    bool
    """
    return head.lstrip(b"\xef\xbb\xbf").startswith(_BANNERS) and b">>>>>Begin" in head


def _number(text: str, decimal_comma: bool) -> float:
    return float(text.replace(",", ".") if decimal_comma else text)


def _date(text: str) -> datetime | None:
    """``Fri Aug 19 13:19:52 CDT 2016`` (SpectraSuite, OceanView); no known zone, no date."""
    m = re.fullmatch(r"\w{3} (\w{3}) +(\d{1,2}) (\d{2}):(\d{2}):(\d{2}) ([A-Z]{3,4}) (\d{4})",
                     text.strip())
    if m is None or m.group(6) not in _ZONES:
        return None
    try:
        month = datetime.strptime(m.group(1), "%b").month
        return datetime(int(m.group(7)), month, int(m.group(2)), int(m.group(3)),
                        int(m.group(4)), int(m.group(5)),
                        tzinfo=timezone(timedelta(hours=_ZONES[m.group(6)])))
    except ValueError:
        return None


def read(path: Path) -> list[Spectrum]:
    """Read the spectrum of an Ocean text export.

    Parameters
    ----------
    path
        The export (``.scope``, ``.txt``, ...).

    Returns
    -------
    list of Spectrum
        One spectrum, wavelength in nm; counts for a raw (scope) export, ``OTHER`` for a
        processed one (dark/reference applied: the header does not say which quantity).

    Raises
    ------
    UnsupportedFormatError
        No Ocean banner or begin marker.
    FormatError
        No end marker (truncated), a row that is not two numbers, or a row count that
        disagrees with the header; the message names the line.
    """
    p = Path(path)
    data = _binary.load(p, what="Ocean text")
    text = data.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if not sniff(data[:4096]):
        raise UnsupportedFormatError("not an Ocean export: no banner and begin marker",
                                     path=p, line=1)
    begin = next((i for i, line in enumerate(lines) if _BEGIN.fullmatch(line.strip())), None)
    if begin is None:
        raise FormatError("no '>>>>>Begin Spectral Data<<<<<' line", path=p, line=1,
                          field="begin marker")
    end = next((i for i in range(begin + 1, len(lines)) if _END.fullmatch(lines[i].strip())),
               None)
    if end is None:
        raise FormatError("no '>>>>>End Spectral Data<<<<<' line: the file is truncated",
                          path=p, line=len(lines), field="end marker")
    if end - begin - 1 > _MAX_ROWS:
        raise FormatError(f"{end - begin - 1} rows, more than {_MAX_ROWS}", path=p,
                          line=begin + 1, field="rows")
    header: dict[str, str] = {}
    for line in lines[1:begin]:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            header.setdefault(key.strip(), value.strip())
    rows = [line.split() for line in lines[begin + 1 : end] if line.strip()]
    decimal_comma = bool(rows) and "," in rows[0][0] and "." not in rows[0][0]
    x = np.empty(len(rows))
    y = np.empty(len(rows))
    for k, row in enumerate(rows):
        where = begin + 2 + k
        if len(row) != 2:
            raise FormatError(f"expected 2 columns, found {len(row)}", path=p, line=where,
                              field="columns")
        try:
            x[k], y[k] = _number(row[0], decimal_comma), _number(row[1], decimal_comma)
        except ValueError as exc:
            raise FormatError(f"not a number: {exc}", path=p, line=where,
                              field="columns") from exc
    declared = header.get("Number of Pixels in Processed Spectrum")
    if declared is not None and declared.isdigit() and int(declared) != len(rows):
        raise FormatError(f"header declares {declared} pixels, the data have {len(rows)}",
                          path=p, line=begin, field="Number of Pixels in Processed Spectrum")
    if not rows:
        raise FormatError("no data between the markers", path=p, line=begin + 1,
                          field="rows")
    processed = "Processed" in lines[begin]
    integration = None
    for key, scale in (("Integration Time (msec)", 1.0), ("Integration Time (usec)", 1e-3),
                       ("Integration Time (sec)", 1e3)):
        if key in header:
            m = re.match(r"[\d.]+", header[key])
            integration = float(m.group(0)) * scale if m else None
    averaged = re.match(r"\d+", header.get("Spectra Averaged", ""))
    serial = header.get("Spectrometer Serial Number") or (
        header.get("Spectrometers", "").split()[0] if header.get("Spectrometers") else None)
    extra = {f"ocean.{k}": v for k, v in header.items()}
    extra["ocean.banner"] = lines[0].strip()
    acquisition = _binary.acquisition(
        make="Ocean Optics", serial=serial, integration_time_ms=integration,
        accumulations=float(averaged.group(0)) if averaged else None,
        acquired_at=_date(header.get("Date", "")), operator=header.get("User"),
    )
    return [_binary.spectrum(
        p, x, y, prefix=NAME, field="rows", line=begin + 2, x_unit=XUnit.WAVELENGTH_NM,
        y_unit=YUnit.OTHER if processed else YUnit.COUNTS, technique=Technique.OTHER,
        acquisition=acquisition, title=p.stem, source=str(p), extra=extra,
    )]


__all__ = ["EXTENSIONS", "NAME", "read", "sniff"]
