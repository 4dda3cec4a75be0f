"""Renishaw WiRE ``.wdf`` files (read only): single spectra, series and maps.

A WDF file is a chain of blocks, each with a 16-byte header (4-character id, uid, size
including the header): ``WDF1`` (the 512-byte file header: point and spectrum counts,
accumulations, laser wavenumber, start/end times, user, title), ``DATA`` (float32, one
row of ``npoints`` per spectrum), ``XLST`` (the x axis and its unit), ``YLST``, ``ORGN``
(per-spectrum origins: position, time, flags...) and WiRE's property blocks. See
``docs/formats/wdf.md``.

:func:`read` returns every collected spectrum (a series or a map gives one per point, in
collection order, with its origins in ``extra``). Refused with
:class:`UnsupportedContentError`: detector images (``YLST`` with more than one row),
multitrack and XYXY files (no sample exists to check them against), and files in which no
spectrum was collected.
"""

from __future__ import annotations

import struct
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from .._errors import UnsupportedContentError, UnsupportedFormatError
from .._model import Spectrum
from .._units import Technique, XUnit, YUnit
from . import _binary, _wdf_pset

NAME = "wdf"
EXTENSIONS: tuple[str, ...] = (".wdf",)

MAGIC = b"WDF1"
_BLOCK = 16
_HEADER = 512
_HEADER_FMT = "<IIQQ16s12xIIIQQIIII24s4HIIQQIf48x32s160s"
_ORIGIN_HEADER = 24
_PRIMARY = 0x80000000
_XYXY, _MULTITRACK = 1 << 0, 1 << 3
_FILETIME_EPOCH = datetime(1601, 1, 1, tzinfo=UTC)

_X_UNITS = {1: XUnit.RAMAN_SHIFT, 2: XUnit.WAVENUMBER, 3: XUnit.WAVELENGTH_NM,
            5: XUnit.WAVELENGTH_UM, 16: XUnit.PIXEL}
_Y_UNITS = {0: YUnit.ARBITRARY, 6: YUnit.COUNTS, 17: YUnit.ARBITRARY, 18: YUnit.ARBITRARY}
_ORIGIN_TYPES = {
    3: "X", 4: "Y", 5: "Z", 6: "R", 7: "Theta", 8: "Phi", 9: "Temperature", 10: "Pressure",
    11: "Time", 14: "FocusTrack", 16: "Checksum", 17: "Flags", 18: "ElapsedTime",
    27: "ExposureTime",
}
_TIME_UNIT = 24  # FILETIME
_INT_ORIGINS = {16, 17}  # checksum and flags are integers, not doubles


def sniff(head: bytes) -> bool:
    """Whether ``head`` starts with the WDF magic ``WDF1``.

    Parameters
    ----------
    head
        Leading bytes of the file.

    Returns
    -------
    bool
    """
    return head[:4] == MAGIC


_PROPERTIES = {
    "System Configuration/Laser": "laser", "System Configuration/Grating": "grating",
    "ND Transmission %": "nd_transmission_percent", "Microscope/Objective name": "objective",
    "Serial Numbers/Camera": "camera_serial",
}
"""WiRE properties kept in ``extra`` (property path -> ``wdf.<name>``)."""


def _float(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _filetime(value: int) -> datetime | None:
    """A Windows FILETIME (100-ns ticks since 1601-01-01 UTC) as an aware datetime."""
    if value <= 0:
        return None
    try:
        return _FILETIME_EPOCH + timedelta(microseconds=value // 10)
    except OverflowError:
        return None


def _blocks(buf: _binary.Bytes) -> dict[bytes, tuple[int, int]]:
    """The first block of each id: (offset of its data, size of its data)."""
    out: dict[bytes, tuple[int, int]] = {}
    pos = 0
    while pos < buf.size:
        ident, _uid, size = buf.unpack("<4sIQ", pos, f"block header at {pos}")
        if size < _BLOCK:
            raise buf.error(f"block {ident!r} declares {size} byte(s), less than its header",
                            pos + 8, f"block {ident!r} size")
        if pos + size > buf.size:
            raise buf.error(
                f"block {ident!r} of {size} byte(s) at {pos} runs past the end of the "
                f"{buf.size}-byte file", pos + 8, f"block {ident!r} size",
            )
        out.setdefault(bytes(ident), (pos + _BLOCK, size - _BLOCK))
        pos += size
    return out


def _origins(
    buf: _binary.Bytes, block: tuple[int, int] | None, nspectra: int
) -> list[tuple[str, list[str]]]:
    """(label, one text value per spectrum) for each data origin."""
    if block is None:
        return []
    start, size = block
    count = int(buf.one("<I", start, "ORGN count"))
    per = _ORIGIN_HEADER + 8 * nspectra
    if count * per + 4 > size:
        raise buf.error(f"declares {count} origin(s) of {nspectra} value(s), more than its "
                        f"{size}-byte block holds", start, "ORGN count")
    out: list[tuple[str, list[str]]] = []
    for k in range(count):
        at = start + 4 + k * per
        dtype, unit = buf.unpack("<II", at, f"ORGN origin {k}")
        label = buf.text(at + 8, 16, f"ORGN origin {k} label", encoding="utf-8")
        kind = dtype & ~_PRIMARY
        name = label or _ORIGIN_TYPES.get(kind, f"origin{kind}")
        values_at = at + _ORIGIN_HEADER
        if unit == _TIME_UNIT:
            ticks = np.frombuffer(buf.raw(values_at, 8 * nspectra, name), "<u8")
            texts = [(t.isoformat() if (t := _filetime(int(v))) else "") for v in ticks]
        elif kind in _INT_ORIGINS:
            texts = [str(int(v)) for v in np.frombuffer(buf.raw(values_at, 8 * nspectra, name),
                                                        "<u8")]
        else:
            texts = [repr(float(v)) for v in buf.floats("<f8", values_at, nspectra, name)]
        out.append((name, texts))
    return out


def read(path: Path) -> list[Spectrum]:
    """Read every collected spectrum of a WiRE ``.wdf`` file.

    Parameters
    ----------
    path
        The ``.wdf`` file.

    Returns
    -------
    list of Spectrum
        One per collected spectrum, in collection order; a single measurement gives one.
        Series and maps give ``source = path#i`` and, in ``extra["wdf.origin.<label>"]``,
        the spectrum's origins (stage X/Y/Z, time, flags...).

    Raises
    ------
    UnsupportedFormatError
        Not a WDF file.
    UnsupportedContentError
        An image, a multitrack or XYXY file, or no spectrum collected.
    FormatError
        Truncated or inconsistent file, with the byte offset and the block or field.
    """
    p = Path(path)
    buf = _binary.Bytes(_binary.load(p, what="Renishaw WDF"), p)
    if buf.data[:4] != MAGIC:
        raise UnsupportedFormatError("not a WDF file: no WDF1 magic", path=p, offset=0,
                                     field="magic")
    buf.need(0, _HEADER, "WDF1 header")
    (_sig, _ver, hsize, flags, _uuid, _ntracks, _status, npoints, nspectra, ncollected,
     naccum, ylistcount, xlistcount, _norigins, appname, v1, v2, v3, v4, scantype, mtype,
     t_start, _t_end, units, laser, user, title) = struct.unpack_from(_HEADER_FMT, buf.data, 0)
    if hsize != _HEADER:
        raise buf.error(f"header block size is {hsize}, expected {_HEADER}", 8, "WDF1 size")
    if flags & (_XYXY | _MULTITRACK):
        raise UnsupportedContentError(
            "multitrack / XYXY WDF files are not read (no sample file exists to verify them)",
            path=p, offset=16, field="flags",
        )
    if ylistcount > 1:
        raise UnsupportedContentError(
            f"a detector image ({ylistcount} rows), not spectra", path=p, offset=84,
            field="ylistcount",
        )
    if ncollected > nspectra:
        raise buf.error(f"{ncollected} spectra collected but {nspectra} declared", 72,
                        "ncollected")
    if ncollected == 0 or npoints == 0:
        raise UnsupportedContentError(
            f"no spectrum collected ({ncollected} of {nspectra}, {npoints} points)",
            path=p, offset=72, field="ncollected",
        )
    if xlistcount != npoints:
        raise buf.error(f"x list has {xlistcount} values for {npoints} points", 88,
                        "xlistcount")
    blocks = _blocks(buf)
    for ident in (b"DATA", b"XLST"):
        if ident not in blocks:
            raise buf.error(f"no {ident.decode()} block", _HEADER, ident.decode())
    data_at, data_size = blocks[b"DATA"]
    if npoints * nspectra * 4 > data_size:
        raise buf.error(
            f"{nspectra} spectra of {npoints} points need {npoints * nspectra * 4} bytes, the "
            f"DATA block holds {data_size}", 60, "npoints/nspectra",
        )
    x_at, _x_size = blocks[b"XLST"]
    _xtype, xunit = buf.unpack("<II", x_at, "XLST")
    x = buf.floats("<f4", x_at + 8, npoints, "XLST values")
    origins = _origins(buf, blocks.get(b"ORGN"), nspectra)
    x_unit = _X_UNITS.get(xunit, XUnit.OTHER)
    y_unit = _Y_UNITS.get(units, YUnit.OTHER)
    excitation = 1e7 / laser if np.isfinite(laser) and laser > 0 else None
    text = buf.text(blocks[b"TEXT"][0], blocks[b"TEXT"][1], "TEXT",
                    encoding="utf-8") if b"TEXT" in blocks else ""
    name = title.split(b"\x00", 1)[0].decode("utf-8", errors="replace").strip() or p.stem
    software = appname.split(b"\x00", 1)[0].decode("latin-1").strip()
    props: dict[str, str] = {}
    for ident in (b"WXIS", b"WXDM"):
        if ident in blocks:
            props.update(_wdf_pset.walk(buf, *blocks[ident]))
    exposure = props.get("NamedItems/Scan/Exposure Time")
    acquisition = _binary.acquisition(
        make="Renishaw", model=props.get("Instrument type"),
        serial=props.get("Serial Numbers/Instrument"),
        integration_time_ms=_float(exposure), accumulations=float(naccum),
        acquired_at=_filetime(int(t_start)),
        operator=user.split(b"\x00", 1)[0].decode("utf-8", errors="replace"),
    )
    base = {
        "wdf.software": f"{software} {v1}.{v2}.{v3}.{v4}",
        "wdf.measurement": {1: "single", 2: "series", 3: "map"}.get(mtype, f"type {mtype}"),
        "wdf.scan_type": str(scantype),
        "wdf.spectra": f"{ncollected} collected of {nspectra}",
        "wdf.laser_wavenumber": repr(float(laser)),
    }
    if text:
        base["wdf.comment"] = text
    for key, label in _PROPERTIES.items():
        if props.get(key):
            base[f"wdf.{label}"] = props[key]
    many = ncollected > 1 or mtype in (2, 3)
    out: list[Spectrum] = []
    for i in range(ncollected):
        row_at = data_at + 4 * npoints * i
        y = buf.floats("<f4", row_at, npoints, f"DATA spectrum {i}")
        extra = dict(base)
        for label, values in origins:
            extra[f"wdf.origin.{label}"] = values[i]
        out.append(_binary.spectrum(
            buf.path, x, y, prefix=NAME,
            offset=row_at, field=f"DATA spectrum {i}", x_unit=x_unit,
            y_unit=y_unit,
            technique=Technique.RAMAN if x_unit is XUnit.RAMAN_SHIFT else Technique.OTHER,
            excitation_nm=excitation, acquisition=acquisition,
            title=f"{name} #{i}" if many else name,
            source=f"{p}#{i}" if many else str(p), extra=extra,
        ))
    return out


__all__ = ["EXTENSIONS", "MAGIC", "NAME", "read", "sniff"]
