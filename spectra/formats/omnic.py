"""Thermo OMNIC spectra ``.spa`` and spectral groups ``.spg`` (read only).

Both start with the text ``Spectral Data File``; a table of 16-byte records at byte 304
(their count at byte 294) points to typed blocks: 2 the spectrum header (point count, axis
and intensity unit codes, first and last x, scans...), 3 the intensities (float32),
27 the collection history text, 107 (``.spg``) each spectrum's name and date. A ``.spa``
holds one spectrum, a ``.spg`` one per header record. See ``docs/formats/omnic.md``.

Refused with :class:`UnsupportedContentError`: interferograms (x in data points), OMNIC
series files (``Spectral Exte File``, ``.srs``).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from .._errors import UnsupportedContentError, UnsupportedFormatError
from .._model import Spectrum
from .._units import Technique, XUnit, YUnit
from . import _binary

NAME = "omnic"
EXTENSIONS: tuple[str, ...] = (".spa", ".spg")

MAGIC = b"Spectral Data File"
SERIES_MAGIC = b"Spectral Exte File"
_COUNT_AT = 294
_DATE_AT = 296
_TABLE_AT = 304
_RECORD = 16
_EPOCH = datetime(1899, 12, 31, tzinfo=UTC)
_HEADER_SIZE = 100  # bytes of the key-2 header read here (the block is 140 in real files)

_X_UNITS = {1: XUnit.WAVENUMBER, 3: XUnit.WAVELENGTH_NM, 4: XUnit.WAVELENGTH_UM,
            32: XUnit.RAMAN_SHIFT}
_Y_UNITS = {
    17: (YUnit.ABSORBANCE, "Absorbance"), 16: (YUnit.TRANSMITTANCE_PERCENT, "%Transmittance"),
    11: (YUnit.REFLECTANCE, "%Reflectance"), 12: (YUnit.OTHER, "Log(1/R)"),
    15: (YUnit.ARBITRARY, "Single beam"), 20: (YUnit.KUBELKA_MUNK, "Kubelka-Munk"),
    21: (YUnit.REFLECTANCE, "Reflectance"), 22: (YUnit.OTHER, "Volts"),
    26: (YUnit.ARBITRARY, "Photoacoustic"), 31: (YUnit.ARBITRARY, "Raman intensity"),
}
_SERIAL = re.compile(r"Bench Serial Number:\s*(\S+)")


def sniff(head: bytes) -> bool:
    """Whether ``head`` starts like an OMNIC ``.spa``/``.spg`` (or ``.srs``, to refuse it).

    Parameters
    ----------
    head
        Leading bytes of the file.

    Returns
    -------
    bool
    """
    return head[:18] in (MAGIC, SERIES_MAGIC)


def _records(buf: _binary.Bytes) -> list[tuple[int, int, int, int]]:
    """(key, position, length, where) of every record of the table."""
    n = int(buf.one("<H", _COUNT_AT, "record count"))
    buf.count(n, _RECORD, _TABLE_AT, "record table", at=_COUNT_AT)
    out = []
    for i in range(n):
        at = _TABLE_AT + i * _RECORD
        key = buf.data[at]
        pos, length = buf.unpack("<II", at + 2, f"record {i}")
        if key in (2, 3, 27, 107) and pos + length > buf.size:
            raise buf.error(
                f"record {i} (key {key}) of {length} byte(s) at {pos} runs past the end of the "
                f"{buf.size}-byte file", at + 2, f"record {i}",
            )
        out.append((key, int(pos), int(length), at))
    return out


def _date(buf: _binary.Bytes, at: int) -> datetime | None:
    seconds = int(buf.one("<I", at, "date"))
    return _EPOCH + timedelta(seconds=seconds) if seconds else None


def read(path: Path) -> list[Spectrum]:
    """Read the spectrum of a ``.spa`` or every spectrum of a ``.spg``.

    Parameters
    ----------
    path
        The OMNIC file.

    Returns
    -------
    list of Spectrum
        One per header record, in file order. The collection history is kept in
        ``extra["omnic.history"]``; the bench serial number it names becomes
        ``acquisition.instrument_serial``; the collection date (seconds since 1899-12-31
        UTC) ``acquisition.acquired_at``.

    Raises
    ------
    UnsupportedFormatError
        Not an OMNIC file.
    UnsupportedContentError
        An interferogram, or an OMNIC series file.
    FormatError
        Truncated or inconsistent file, naming the byte offset and the record.
    """
    p = Path(path)
    buf = _binary.Bytes(_binary.load(p, what="Thermo OMNIC"), p)
    head = buf.raw(0, 18, "magic") if buf.size >= 18 else buf.data
    if head == SERIES_MAGIC:
        raise UnsupportedContentError(
            "OMNIC series file (.srs) is not read: export the spectra as .spa or .spg",
            path=p, offset=0, field="magic",
        )
    if head != MAGIC:
        raise UnsupportedFormatError("not an OMNIC file: no 'Spectral Data File' magic",
                                     path=p, offset=0, field="magic")
    records = _records(buf)
    # a spectrum's records run from its header record (key 2) to the next one
    groups: list[dict[int, tuple[int, int, int, int]]] = []
    for rec in records:
        if rec[0] == 2:
            groups.append({})
        if groups:
            groups[-1].setdefault(rec[0], rec)
    if not groups:
        raise buf.error("no spectrum header record (key 2)", _COUNT_AT, "record table")
    group = len(groups) > 1 or any(107 in g for g in groups)
    file_title = buf.text(30, 256, "title")
    library = any(r[0] == 0x53 for r in records)  # library entries carry no real date
    out: list[Spectrum] = []
    for i, g in enumerate(groups):
        hdr = g[2]
        dat = g.get(3)
        if dat is None:
            raise buf.error(f"spectrum {i} has no data record (key 3)", hdr[3],
                            f"spectrum {i} records")
        where = f"spectrum {i} header (key 2)"
        h = hdr[1]
        buf.need(h, _HEADER_SIZE, where)
        npts = int(buf.one("<I", h + 4, where))
        xcode, ycode = buf.data[h + 8], buf.data[h + 12]
        first, last = buf.unpack("<ff", h + 16, where)
        scans = int(buf.one("<I", h + 36, where))
        background_scans = int(buf.one("<I", h + 52, where))
        collect = int(buf.one("<I", h + 68, where))
        if npts < 1 or 4 * npts > dat[2]:
            raise buf.error(
                f"declares {npts} point(s), but its data record holds {dat[2]} byte(s)",
                h + 4, f"{where} point count",
            )
        if xcode == 2:
            raise UnsupportedContentError(
                "an interferogram (x in data points), not a spectrum", path=p, offset=h + 8,
                field=f"{where} x unit",
            )
        if not (np.isfinite(first) and np.isfinite(last)):
            raise buf.error(f"first/last x are not finite ({first!r}, {last!r})", h + 16,
                            f"{where} first/last x")
        y = buf.floats("<f4", dat[1], npts, f"spectrum {i} data (key 3)")
        x = np.linspace(float(first), float(last), npts) if npts > 1 else np.array([first])
        history = ""
        if 27 in g:
            history = buf.text(g[27][1], g[27][2], f"spectrum {i} history (key 27)")
        if 107 in g:
            title = buf.text(g[107][1], 256, f"spectrum {i} name (key 107)")
            acquired = _date(buf, g[107][1] + 256)
        else:
            title = file_title
            acquired = _date(buf, _DATE_AT)
        x_unit = _X_UNITS.get(xcode, XUnit.OTHER)
        y_unit, y_label = _Y_UNITS.get(ycode, (YUnit.OTHER, f"code {ycode}"))
        raman = x_unit is XUnit.RAMAN_SHIFT or ycode == 31
        excitation: float | None = None
        if raman:
            laser = float(buf.one("<f", h + 96, f"{where} laser frequency"))
            excitation = 1e7 / laser if np.isfinite(laser) and 1e3 < laser < 1e5 else None
        technique = Technique.RAMAN if raman else (
            Technique.INFRARED if x_unit is XUnit.WAVENUMBER and float(np.min(x)) < 3500.0
            else Technique.NIR if x_unit is XUnit.WAVENUMBER
            else Technique.UV_VIS if x_unit is XUnit.WAVELENGTH_NM and float(np.max(x)) <= 1000
            else Technique.OTHER
        )
        serial = _SERIAL.search(history)
        extra = {
            "omnic.y_label": y_label,
            "omnic.x_code": str(xcode),
            "omnic.y_code": str(ycode),
            "omnic.scans": str(scans),
            "omnic.background_scans": str(background_scans),
            "omnic.collection_time_s": f"{collect / 100:g}",
        }
        if history:
            extra["omnic.history"] = history
        if file_title and group:
            extra["omnic.group"] = file_title
        out.append(_binary.spectrum(
            buf.path, x, y, prefix=NAME,
            offset=dat[1], field=f"spectrum {i}", x_unit=x_unit, y_unit=y_unit,
            technique=technique, excitation_nm=excitation,
            acquisition=_binary.acquisition(
                make="Thermo Nicolet", serial=serial.group(1) if serial else None,
                accumulations=float(scans),
                acquired_at=None if library else acquired,
            ),
            title=title or p.stem,
            source=f"{p}#{i}" if group else str(p),
            extra=extra,
        ))
    return out


__all__ = ["EXTENSIONS", "MAGIC", "NAME", "read", "sniff"]
