"""Princeton Instruments ``.spe``: WinSpec/WinView 2.x and LightField 3.0 (read only).

Both versions start with the same 4100-byte header (``WinView_id`` 0x01234567 at byte
2996, ``lastvalue`` 0x5555 at 4098, the version as float32 at 1992); the frames follow.
Version 2.x describes the frame in the header (``xdim``, ``ydim``, ``datatype``,
``NumFrames``) and calibrates x with a polynomial of the 1-based pixel number; version 3.0
appends an XML footer (offset at byte 678) describing frames, regions, the wavelength of
every sensor column, the devices and the experiment. See ``docs/formats/spe.md``.

Only one-row data are spectra: each frame of each one-row region (a binned strip) gives
one spectrum. Regions more than one row high are detector images: they are skipped when
the file also has spectra (and named in ``extra["spe.skipped_regions"]``), and a file
with images only is refused with :class:`UnsupportedContentError`.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np

from .._errors import UnsupportedContentError, UnsupportedFormatError
from .._model import Acquisition, Spectrum
from .._units import FloatArray, Technique, XUnit, YUnit
from . import _binary

NAME = "spe"
EXTENSIONS: tuple[str, ...] = (".spe",)

_HEADER = 4100
_WINVIEW_ID = 0x01234567
_LAST_VALUE = 0x5555
_DTYPES_2X = {0: "<f4", 1: "<i4", 2: "<i2", 3: "<u2", 5: "<f8", 6: "<u1", 8: "<u4"}
_DTYPES_3 = {
    "MonochromeUnsigned16": "<u2", "MonochromeUnsigned32": "<u4",
    "MonochromeFloating32": "<f4",
}
_MONTHS = {m: i + 1 for i, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"))}
_MAX_XML = 16 << 20  # an XML footer larger than 16 MiB is refused


def sniff(head: bytes) -> bool:
    """Whether ``head`` holds an SPE header: the WinView id at byte 2996 and a version.

    :func:`read` also checks the ``lastvalue`` marker at byte 4098, beyond what
    :data:`spectra.formats.SNIFF_BYTES` shows a sniffer.

    Parameters
    ----------
    head
        Leading bytes of the file (at least 3000).

    Returns
    -------
    bool
    """
    if len(head) < 3000:
        return False
    (version,) = struct.unpack_from("<f", head, 1992)
    (wid,) = struct.unpack_from("<i", head, 2996)
    return wid == _WINVIEW_ID and bool(np.isfinite(version)) and 0.0 < version < 100.0


def _spectrum(
    buf: _binary.Bytes, x: FloatArray, y: FloatArray, *, offset: int, field: str,
    x_unit: XUnit, excitation: float | None, acquisition: Acquisition, title: str,
    source: str, extra: dict[str, str], dtype: str,
) -> Spectrum:
    if np.dtype(dtype).kind == "u":
        full = int(np.count_nonzero(y == np.iinfo(np.dtype(dtype)).max))
        if full:
            extra = dict(extra, **{"spe.saturated_pixels": f"{full} of {y.size}"})
    return _binary.spectrum(
        buf.path, x, y, prefix=NAME,
        offset=offset, field=field, x_unit=x_unit, y_unit=YUnit.COUNTS,
        technique=Technique.RAMAN if excitation else Technique.OTHER,
        excitation_nm=excitation, acquisition=acquisition, title=title, source=source,
        extra=extra,
    )


# -- version 2.x ---------------------------------------------------------------------------


def _read_2x(buf: _binary.Bytes, version: float) -> list[Spectrum]:
    p = buf.path
    xdim = int(buf.one("<H", 42, "xdim"))
    ydim = int(buf.one("<H", 656, "ydim"))
    code = int(buf.one("<h", 108, "datatype"))
    nframes = int(buf.one("<i", 1446, "NumFrames"))
    nroi = int(buf.one("<h", 1510, "NumROI"))
    if code not in _DTYPES_2X:
        raise buf.error(f"data type code {code} is not one of {sorted(_DTYPES_2X)}", 108,
                        "datatype")
    if nroi > 1:
        raise UnsupportedContentError(
            f"{nroi} regions of interest in a version {version:g} file are not read",
            path=p, offset=1510, field="NumROI")
    if xdim < 1 or nframes < 1:
        raise buf.error(f"{xdim} pixels x {nframes} frames", 42, "xdim/NumFrames")
    if ydim > 1:
        raise UnsupportedContentError(
            f"a detector image ({xdim} x {ydim} pixels per frame), not a spectrum: bin it "
            "to one row when acquiring", path=p, offset=656, field="ydim")
    dtype = _DTYPES_2X[code]
    itemsize = np.dtype(dtype).itemsize
    buf.count(nframes * xdim, itemsize, _HEADER, "NumFrames x xdim", at=1446)

    valid, _iu, _pu, order = buf.unpack("<BBBB", 3098, "x calibration")
    coeffs = buf.unpack("<6d", 3263, "x calibration polynom_coeff")
    laser = float(buf.one("<d", 3311, "x calibration laser_position"))
    label = buf.text(3018, 40, "x calibration string")
    pixels = np.arange(1, xdim + 1, dtype=np.float64)  # WinSpec numbers pixels from 1
    if valid and 0 <= order <= 5 and all(np.isfinite(coeffs[: order + 1])):
        x = np.polynomial.polynomial.polyval(pixels, coeffs[: order + 1])
        x_unit = XUnit.WAVELENGTH_NM
    else:
        x, x_unit = pixels, XUnit.PIXEL
    excitation = laser if x_unit is XUnit.WAVELENGTH_NM and 150.0 < laser < 2000.0 else None

    exposure_s = float(buf.one("<f", 10, "exp_sec"))
    accums = float(buf.one("<I", 1422, "NumExpAccums"))
    acquired = _date_2x(buf.text(20, 10, "date"), buf.text(179, 7, "ExperimentTimeUTC"))
    acquisition = _binary.acquisition(
        make="Princeton Instruments", integration_time_ms=exposure_s * 1000.0,
        accumulations=accums, acquired_at=acquired,
    )
    extra = {
        "spe.version": f"{version:g}",
        "spe.software": buf.text(688, 16, "sw_version"),
        "spe.x_calibration_label": label,
        "spe.x_calibration": ", ".join(repr(c) for c in coeffs[: order + 1]) if valid else "",
        "spe.detector_temperature_c": repr(float(buf.one("<f", 36, "DetTemperature"))),
        "spe.date": buf.text(20, 10, "date"),
        "spe.time_local": buf.text(172, 7, "ExperimentTimeLocal"),
    }
    comments = [buf.text(200 + 80 * i, 80, "Comments") for i in range(5)]
    if any(comments):
        extra["spe.comments"] = "\n".join(c for c in comments if c)
    out: list[Spectrum] = []
    for f in range(nframes):
        at = _HEADER + f * xdim * itemsize
        y = buf.floats(dtype, at, xdim, f"frame {f}")
        out.append(_spectrum(
            buf, x, y, offset=at, field=f"frame {f}", x_unit=x_unit, excitation=excitation,
            acquisition=acquisition, title=f"{p.stem} #{f}" if nframes > 1 else p.stem,
            source=f"{p}#{f}" if nframes > 1 else str(p), extra=dict(extra, **{
                "spe.frame": str(f)}), dtype=dtype,
        ))
    return out


def _date_2x(date: str, utc: str) -> datetime | None:
    """``15Mar2017`` and ``172836`` (the header's UTC time) as an aware datetime."""
    m = re.fullmatch(r"(\d{1,2})([A-Za-z]{3})(\d{4})", date)
    t = re.fullmatch(r"(\d{2})(\d{2})(\d{2})", utc)
    if m is None or t is None or m.group(2).title() not in _MONTHS:
        return None
    try:
        return datetime(int(m.group(3)), _MONTHS[m.group(2).title()], int(m.group(1)),
                        int(t.group(1)), int(t.group(2)), int(t.group(3)), tzinfo=UTC)
    except ValueError:
        return None


# -- version 3.0 ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Region:
    index: int
    width: int
    height: int
    size: int
    stride: int
    calibrations: tuple[str, ...]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _find(root: ET.Element, name: str) -> ET.Element | None:
    return next((el for el in root.iter() if _local(el.tag) == name), None)


def _int_attr(buf: _binary.Bytes, el: ET.Element, name: str, where: str, at: int) -> int:
    raw = el.get(name)
    if raw is None or not re.fullmatch(r"\d{1,12}", raw.strip()):
        raise buf.error(f"{where} has no whole-number {name} ({raw!r})", at, f"{where} {name}")
    return int(raw)


def _xml(buf: _binary.Bytes) -> tuple[ET.Element, int]:
    offset = int(buf.one("<Q", 678, "XML footer offset"))
    if offset < _HEADER or offset >= buf.size:
        raise buf.error(f"XML footer offset {offset} is outside the data", 678, "XML offset")
    raw = buf.data[offset:]
    if len(raw) > _MAX_XML:
        raise UnsupportedContentError(f"XML footer of {len(raw)} bytes is larger than "
                                      f"{_MAX_XML}", path=buf.path, offset=offset,
                                      field="XML footer")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise buf.error("XML footer declares a DTD or entities (refused)", offset,
                        "XML footer")
    try:
        return ET.fromstring(raw.rstrip(b"\x00 \r\n\t")), offset
    except ET.ParseError as exc:
        raise buf.error(f"XML footer is not well-formed: {exc}", offset, "XML footer") from exc


def _wavelengths(buf: _binary.Bytes, root: ET.Element, at: int) -> FloatArray | None:
    mapping = _find(root, "WavelengthMapping")
    if mapping is None:
        return None
    el = next((e for e in mapping.iter() if _local(e.tag) == "Wavelength"), None)
    if el is None or not (el.text or "").strip():
        return None
    try:
        values = np.array([float(v) for v in (el.text or "").split(",")], dtype=np.float64)
    except ValueError as exc:
        raise buf.error(f"wavelength list is not numeric: {exc}", at,
                        "Calibrations/WavelengthMapping") from exc
    return values if bool(np.all(np.isfinite(values))) else None


def _region_axis(
    buf: _binary.Bytes, root: ET.Element, region: _Region, wavelengths: FloatArray | None,
    at: int,
) -> tuple[FloatArray, XUnit, str]:
    """The region's x axis: the mean wavelength of the sensor columns each pixel bins."""
    pixels = np.arange(region.width, dtype=np.float64)
    mapping = None
    for cid in region.calibrations:
        el = next((e for e in root.iter() if _local(e.tag) == "SensorMapping"
                   and e.get("id") == cid), None)
        mapping = el if el is not None else mapping
    if wavelengths is None or mapping is None:
        return pixels, XUnit.PIXEL, "no wavelength calibration: pixel index"
    x0 = _int_attr(buf, mapping, "x", "SensorMapping", at)
    xb = _int_attr(buf, mapping, "xBinning", "SensorMapping", at)
    if xb < 1 or x0 + region.width * xb > wavelengths.size:
        raise buf.error(
            f"region {region.index} spans sensor columns {x0}..{x0 + region.width * xb - 1}, "
            f"the wavelength list has {wavelengths.size}", at, "SensorMapping",
        )
    cols = wavelengths[x0 : x0 + region.width * xb].reshape(region.width, xb)
    return cols.mean(axis=1), XUnit.WAVELENGTH_NM, f"sensor columns from {x0}, binning {xb}"


def _setting(root: ET.Element, name: str) -> str | None:
    """The text of an experiment setting, unless LightField marked it not relevant."""
    el = _find(root, name)
    if el is None or el.get("relevance") == "False":
        return None
    return (el.text or "").strip() or None


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _iso(text: str | None) -> datetime | None:
    if not text:
        return None
    m = re.fullmatch(r"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})",
                     text.strip())
    if m is None:
        return None
    frac = (m.group(2) or "0")[:6].ljust(6, "0")
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    try:
        return datetime.fromisoformat(f"{m.group(1)}.{frac}{zone}")
    except ValueError:
        return None


def _read_3(buf: _binary.Bytes) -> list[Spectrum]:
    p = buf.path
    root, xml_at = _xml(buf)
    frame = _find(root, "DataBlock")
    if frame is None or frame.get("type") != "Frame":
        raise buf.error("XML footer has no Frame data block", xml_at, "DataFormat/DataBlock")
    nframes = _int_attr(buf, frame, "count", "Frame", xml_at)
    fsize = _int_attr(buf, frame, "size", "Frame", xml_at)
    fstride = _int_attr(buf, frame, "stride", "Frame", xml_at)
    fmt = frame.get("pixelFormat", "")
    if fmt not in _DTYPES_3:
        raise UnsupportedContentError(f"pixel format {fmt!r} is not read", path=p,
                                      offset=xml_at, field="Frame pixelFormat")
    dtype = _DTYPES_3[fmt]
    itemsize = np.dtype(dtype).itemsize
    if nframes < 1 or fstride < fsize or _HEADER + nframes * fstride > xml_at:
        raise buf.error(
            f"{nframes} frame(s) of stride {fstride} do not fit between the header and the "
            f"XML footer at {xml_at}", xml_at, "Frame count/stride",
        )
    regions: list[_Region] = []
    for k, el in enumerate(e for e in frame if _local(e.tag) == "DataBlock"):
        r = _Region(
            k, _int_attr(buf, el, "width", f"Region {k}", xml_at),
            _int_attr(buf, el, "height", f"Region {k}", xml_at),
            _int_attr(buf, el, "size", f"Region {k}", xml_at),
            _int_attr(buf, el, "stride", f"Region {k}", xml_at),
            tuple((el.get("calibrations") or "").split(",")),
        )
        if r.width < 1 or r.height < 1 or r.width * r.height * itemsize != r.size:
            raise buf.error(f"region {k}: {r.width} x {r.height} pixels of {itemsize} bytes "
                            f"is not its size {r.size}", xml_at, f"Region {k} size")
        regions.append(r)
    if not regions or sum(r.stride for r in regions) > fsize:
        raise buf.error("regions do not fit in the frame", xml_at, "Region stride")
    spectra_regions = [r for r in regions if r.height == 1]
    images = [f"{r.index}: {r.width} x {r.height}" for r in regions if r.height > 1]
    if not spectra_regions:
        raise UnsupportedContentError(
            f"detector image(s) only ({'; '.join(images)} pixels), no one-row spectrum: bin "
            "the region to one row when acquiring", path=p, offset=xml_at,
            field="DataFormat/Region height",
        )
    wavelengths = _wavelengths(buf, root, xml_at)
    mapping = _find(root, "WavelengthMapping")
    laser = _number(mapping.get("laserLine") if mapping is not None else None)
    if laser is None:
        laser = _number(_setting(root, "WavelengthLaserLine"))
    excitation = laser if laser is not None and 150.0 < laser < 2000.0 else None
    camera = next((e for e in root.iter() if _local(e.tag) == "Camera" and e.get("model")),
                  None)
    spectrometer = next((e for e in root.iter() if _local(e.tag) == "Spectrometer"
                         and e.get("model")), None)
    origin = _find(root, "Origin")
    exposure = _number(_setting(root, "ExposureTime"))
    created = _iso(origin.get("created") if origin is not None else None)
    meta_start = _meta_times(buf, root, fsize=fsize, nframes=nframes, fstride=fstride)
    base = {
        "spe.version": "3.0",
        "spe.pixel_format": fmt,
    }
    if origin is not None:
        base["spe.software"] = f"{origin.get('software', '')} {origin.get('softwareVersion', '')}"
        base["spe.created"] = origin.get("created", "")
    if spectrometer is not None:
        base["spe.spectrometer"] = (f"{spectrometer.get('model', '')} "
                                    f"#{spectrometer.get('serialNumber', '')}")
    if images:
        base["spe.skipped_regions"] = "; ".join(f"{i} (image)" for i in images)
    grating = _setting(root, "Selected")
    if grating:
        base["spe.grating"] = grating
    if laser is not None and excitation is None:
        base["spe.laser_line"] = repr(laser)
    unused = _find(root, "WavelengthLaserLine")
    if laser is None and unused is not None and unused.get("relevance") == "False":
        base["spe.laser_line"] = f"{(unused.text or '').strip()} (set, marked not relevant)"
    out: list[Spectrum] = []
    many = nframes * len(spectra_regions) > 1
    for region in spectra_regions:
        x, x_unit, how = _region_axis(buf, root, region, wavelengths, xml_at)
        region_at = sum(r.stride for r in regions[: region.index])
        for f in range(nframes):
            at = _HEADER + f * fstride + region_at
            y = buf.floats(dtype, at, region.width, f"frame {f} region {region.index}")
            acquired = meta_start[f] if meta_start else created
            acq = _binary.acquisition(
                make="Princeton Instruments",
                model=camera.get("model") if camera is not None else None,
                serial=camera.get("serialNumber") if camera is not None else None,
                integration_time_ms=exposure, acquired_at=acquired,
            )
            k = len(out)
            out.append(_spectrum(
                buf, x, y, offset=at, field=f"frame {f} region {region.index}",
                x_unit=x_unit, excitation=excitation, acquisition=acq,
                title=f"{p.stem} #{k}" if many else p.stem,
                source=f"{p}#{k}" if many else str(p),
                extra=dict(base, **{
                    "spe.frame": str(f), "spe.region": str(region.index), "spe.x_axis": how,
                    "spe.time_source": "ExposureStarted metadata" if meta_start
                    else "file creation (Origin created)",
                }), dtype=dtype,
            ))
    return out


def _meta_times(
    buf: _binary.Bytes, root: ET.Element, *, fsize: int, nframes: int, fstride: int,
) -> list[datetime | None]:
    """Per-frame ExposureStarted times, when the frames carry that metadata."""
    meta = _find(root, "MetaBlock")
    if meta is None:
        return []
    pos = fsize
    for el in meta:
        bits = el.get("bitDepth")
        if bits not in ("64",):
            return []
        if _local(el.tag) == "TimeStamp" and el.get("event") == "ExposureStarted":
            t0 = _iso(el.get("absoluteTime"))
            res = _number(el.get("resolution"))
            if t0 is None or not res or res <= 0 or pos + 8 > fstride:
                return []
            out: list[datetime | None] = []
            for f in range(nframes):
                (ticks,) = buf.unpack("<q", _HEADER + f * fstride + pos, f"frame {f} metadata")
                try:
                    out.append(t0 + timedelta(seconds=ticks / res))
                except OverflowError:
                    out.append(None)
            return out
        pos += 8
    return []


def read(path: Path) -> list[Spectrum]:
    """Read every one-row frame of a Princeton ``.spe`` file as a spectrum.

    Parameters
    ----------
    path
        The ``.spe`` file (version 2.x or 3.0).

    Returns
    -------
    list of Spectrum
        One per frame (and per one-row region in 3.0), in file order, in counts, on a
        wavelength axis (nm) when the file is calibrated, else on pixels.

    Raises
    ------
    UnsupportedFormatError
        Not an SPE file.
    UnsupportedContentError
        Images only, several ROIs in a 2.x file, an unknown pixel format.
    FormatError
        Truncated or inconsistent file, naming the byte offset and the field.
    """
    p = Path(path)
    buf = _binary.Bytes(_binary.load(p, what="Princeton SPE"), p)
    if buf.size < _HEADER or not sniff(buf.data[:_HEADER]) or buf.one(
        "<H", 4098, "lastvalue"
    ) != _LAST_VALUE:
        raise UnsupportedFormatError(
            "not an SPE file: no WinView id at byte 2996 or 0x5555 at byte 4098",
            path=p, offset=0, field="header",
        )
    version = float(buf.one("<f", 1992, "file_header_ver"))
    if not np.isfinite(version) or version <= 0:
        raise buf.error(f"header version {version!r}", 1992, "file_header_ver")
    if version >= 3.0:
        return _read_3(buf)
    return _read_2x(buf, version)


__all__ = ["EXTENSIONS", "NAME", "read", "sniff"]
