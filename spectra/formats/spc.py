"""Galactic/Thermo SPC files (read only).

Supported: the new little-endian format (``fversn`` 0x4B) and the old format (0x4D), single
and multifile, evenly spaced X, one shared X array (``TXVALS``) or one X array per subfile
(``TXYXYS``), Y as 16- or 32-bit integers scaled by ``2**(exp-16|32)`` or as IEEE float32
(exponent 0x80). The log block text, memo, axis labels and source are kept in
``Spectrum.extra``; the laser wavelength and instrument fields are parsed from the log where
a vendor writes them (Renishaw WiRE, Horiba LabSpec, Nicolet FT-Raman; see
``docs/formats/spc.md``).

Refused, with a typed error: the big-endian 0x4C variant (no sample exists to test it),
OLE compound documents that carry an ``.spc`` name (Shimadzu UV), truncated or
inconsistent files (byte offset and header field named), and headers declaring more points
than the file holds (checked before anything is allocated).

The file date (``fdate``) carries no time zone; it is taken as UTC (documented).
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import (
    FormatError,
    SpectrumValidationError,
    UnsupportedContentError,
    UnsupportedFormatError,
)
from .._model import Acquisition, Spectrum
from .._units import FloatArray, Technique, XUnit, YUnit
from . import _spc_tables as T

NAME = "spc"
EXTENSIONS: tuple[str, ...] = (".spc",)

_NEW_HEADER = 512
_OLD_HEADER = 256
_SUBHEADER = 32
_LOG_HEADER = 64


def sniff(head: bytes) -> bool:
    """Whether ``head`` (the first bytes of a file) is an SPC file, or an OLE container.

    An OLE compound document is claimed too, so that :func:`read` can refuse it with a
    clear message (Shimadzu writes such files with an ``.spc`` name); no other format of
    ours reads OLE.

    Parameters
    ----------
    head
        Leading bytes of the file (at least 32 for a decision).

    Returns
    -------
    bool
    """
    if head[:8] == T.OLE_MAGIC:
        return True
    if len(head) < 32:
        return False
    version = head[1]
    if version in (T.NEW_LSB, T.NEW_MSB):
        exper, xt, yt = head[2], head[28], head[29]
        return exper <= 13 and (xt in T.X_LABEL) and (yt in T.Y_LABEL)
    if version == T.OLD:
        (onpts,) = struct.unpack_from("<f", head, 4)
        xt, yt = head[16], head[17]
        return (
            np.isfinite(onpts) and 0 < onpts < 2**31 and float(onpts).is_integer()
            and xt in T.X_LABEL and yt in T.Y_LABEL
        )
    return False


# -- low-level reading ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Buf:
    data: bytes
    path: Path

    def need(self, offset: int, size: int, field: str) -> None:
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise FormatError(
                f"truncated: {field} needs {size} byte(s) at offset {offset}, "
                f"but the file has {len(self.data)}",
                path=self.path, offset=offset, field=field,
            )

    def unpack(self, fmt: str, offset: int, field: str) -> tuple[Any, ...]:
        self.need(offset, struct.calcsize(fmt), field)
        return struct.unpack_from(fmt, self.data, offset)

    def array(self, dtype: str, offset: int, count: int, field: str) -> np.ndarray:
        itemsize = np.dtype(dtype).itemsize
        self.need(offset, count * itemsize, field)
        return np.frombuffer(self.data, dtype=dtype, count=count, offset=offset)


def _text(raw: bytes) -> str:
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def _decode_y(
    buf: _Buf, offset: int, n: int, *, exponent: int, is_float: bool, short: bool, old: bool,
    field: str,
) -> tuple[FloatArray, int]:
    """Decode ``n`` Y values at ``offset``; returns the values and the bytes consumed."""
    if is_float:
        return buf.array("<f4", offset, n, field).astype(np.float64), 4 * n
    if short:
        raw16 = buf.array("<i2", offset, n, field).astype(np.float64)
        return raw16 * 2.0 ** (exponent - 16), 2 * n
    if old:
        # the old format stores each 32-bit value as two little-endian 16-bit words,
        # high word first
        words = buf.array("<u2", offset, 2 * n, field).astype(np.uint32)
        ints = ((words[0::2] << np.uint32(16)) | words[1::2]).view(np.int32)
        return ints.astype(np.float64) * 2.0 ** (exponent - 32), 4 * n
    raw32 = buf.array("<i4", offset, n, field).astype(np.float64)
    return raw32 * 2.0 ** (exponent - 32), 4 * n


def _fdate(packed: int) -> datetime | None:
    """Unpack ``fdate`` (year<<20 | month<<16 | day<<11 | hour<<6 | minute), as UTC."""
    if packed == 0:
        return None
    minute = packed & 0x3F
    hour = (packed >> 6) & 0x1F
    day = (packed >> 11) & 0x1F
    month = (packed >> 16) & 0x0F
    year = packed >> 20
    try:
        return datetime(year, month, day, hour, minute, tzinfo=UTC)
    except ValueError:
        return None


# -- log block -----------------------------------------------------------------------------

_LINE_SPLIT = re.compile(r"\r\n|\n\r|\n|\r")
_NM = re.compile(r"(\d+(?:\.\d+)?)\s*nm", re.IGNORECASE)
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")


def parse_log(text: str) -> dict[str, str]:
    """``key=value`` (or ``KEY = value``) lines of an SPC log text, first occurrence wins.

    Parameters
    ----------
    text
        The log text.

    Returns
    -------
    dict of str to str
        Keys and values stripped; lines without ``=`` are skipped.
    """
    fields: dict[str, str] = {}
    for line in _LINE_SPLIT.split(text):
        key, sep, value = line.partition("=")
        key = key.strip()
        if sep and key and not key.startswith("["):
            fields.setdefault(key, value.strip())
    return fields


def _number(text: str) -> float | None:
    m = _NUMBER.search(text)
    return float(m.group(0)) if m else None


def _excitation_from_log(log: dict[str, str]) -> float | None:
    """Laser wavelength (nm) as Renishaw, Horiba or Nicolet FT-Raman write it."""
    upper = {k.upper(): v for k, v in log.items()}
    if "LASER" in upper:  # Renishaw WiRE: "Laser: 532 nm edge", "Laser: 457nm_Raman"
        m = _NM.search(upper["LASER"])
        if m:
            return float(m.group(1))
    for key in ("EXCIT_LINE", "LASER_WAVELENGTH", "LASERWAVELENGTH", "EXCITATION"):
        if key in upper:  # Horiba LabSpec: "EXCIT_LINE = 532.2"
            value = _number(upper[key])
            if value is not None and 150.0 < value < 2000.0:
                return value
    if "RAMANFREQ" in upper:  # Nicolet FT-Raman: laser line in cm-1 ("RAMANFREQ= 9395")
        value = _number(upper["RAMANFREQ"])
        if value is not None and value > 0:
            return 1e7 / value
    return None


def _acquisition_from_log(
    log: dict[str, str], source_app: str, acquired_at: datetime | None, log_text: str = ""
) -> Acquisition:
    upper = {k.upper(): v for k, v in log.items()}
    make: str | None = None
    if source_app.upper().startswith("WIRE") or "[WiRE" in log_text:
        make = "Renishaw"
    elif source_app.upper().startswith("WITEC"):
        make = "WITec"
    model = upper.get("INSTRUMENT") or upper.get("MODEL") or upper.get("INSTRUM") or None
    serial = upper.get("SERIAL_NUMBER") or None
    operator = upper.get("OPERATOR") or None
    integration: float | None = None
    if "EXPOSURE_TIME" in upper:  # Renishaw: "Time: 10s" (seconds) or "Time: 3000" (ms)
        text = upper["EXPOSURE_TIME"]
        value = _number(text.split(":", 1)[-1])
        if value is not None and value > 0:
            integration = value * 1000.0 if re.search(r"\d\s*s\b", text) else value
    elif "TIME" in upper and model is not None:  # Horiba LabSpec: TIME in seconds
        value = _number(upper["TIME"])
        if value is not None and value > 0:
            integration = value * 1000.0
    accumulations: int | None = None
    for key in ("ACCUMULATIONS", "ACCUM", "SCANS"):
        if key in upper:
            value = _number(upper[key].split(":", 1)[-1])
            if value is not None and value >= 1 and float(value).is_integer():
                accumulations = int(value)
                break
    return Acquisition(
        instrument_make=make,
        instrument_model=model,
        instrument_serial=serial,
        integration_time_ms=integration,
        accumulations=accumulations,
        acquired_at=acquired_at,
        operator=operator,
    )


# -- the reader ----------------------------------------------------------------------------


@dataclass
class _Header:
    old: bool
    flags: int
    exponent: int
    npts: int
    first: float
    last: float
    nsub: int
    xtype: int
    ytype: int
    ztype: int
    exper: int
    acquired_at: datetime | None
    memo: str
    source_app: str
    catxt: bytes
    method: str
    logoff: int
    header_size: int


def _read_header(buf: _Buf) -> _Header:
    version = buf.data[1]
    if version == T.NEW_LSB:
        flags, _, exper, exp = buf.unpack("<BBBb", 0, "ftflgs")
        (npts,) = buf.unpack("<I", 4, "fnpts")
        first, last = buf.unpack("<dd", 8, "ffirst/flast")
        (nsub,) = buf.unpack("<I", 24, "fnsub")
        xtype, ytype, ztype = buf.unpack("<BBB", 28, "fxtype")
        (date,) = buf.unpack("<I", 32, "fdate")
        (src,) = buf.unpack("9s", 45, "fsource")
        (memo,) = buf.unpack("130s", 88, "fcmnt")
        (catxt,) = buf.unpack("30s", 218, "fcatxt")
        (logoff,) = buf.unpack("<I", 248, "flogoff")
        (method,) = buf.unpack("48s", 264, "fmethod")
        buf.need(0, _NEW_HEADER, "header")
        return _Header(
            old=False, flags=int(flags), exponent=int(exp), npts=int(npts),
            first=float(first), last=float(last), nsub=int(nsub),
            xtype=int(xtype), ytype=int(ytype), ztype=int(ztype),
            exper=int(exper), acquired_at=_fdate(int(date)),
            memo=_text(memo), source_app=_text(src),
            catxt=bytes(catxt), method=_text(method), logoff=int(logoff),
            header_size=_NEW_HEADER,
        )
    # old format
    buf.need(0, _OLD_HEADER, "header")
    flags, _, exp = struct.unpack_from("<BBh", buf.data, 0)
    onpts, first, last = struct.unpack_from("<fff", buf.data, 4)
    xtype, ytype = struct.unpack_from("<BB", buf.data, 16)
    year, month, day, hour, minute = struct.unpack_from("<HBBBB", buf.data, 18)
    memo = struct.unpack_from("130s", buf.data, 64)[0]
    catxt = struct.unpack_from("30s", buf.data, 194)[0]
    if not (np.isfinite(onpts) and onpts > 0 and float(onpts).is_integer()):
        raise FormatError(
            f"point count is not a positive whole number ({onpts!r})",
            path=buf.path, offset=4, field="onpts",
        )
    acquired: datetime | None = None
    if year:
        try:
            acquired = datetime(year, month, day, hour, minute, tzinfo=UTC)
        except ValueError:
            acquired = None
    # an old-format exponent of 0x80 (128) marks float Y like the new format's -128. The
    # field is an int16, but a scaling exponent means something only within a signed byte's
    # range (what the new format stores): 2**(30000-32) does not fit a double, and
    # 2**(-30000) would silently turn every value into 0.
    if not -127 <= exp <= 128:
        raise FormatError(
            f"Y exponent {exp} is out of range (-127..127, or 128 for float Y)",
            path=buf.path, offset=2, field="oexp",
        )
    exponent = T.FLOAT_EXPONENT if exp == 128 else int(exp)
    return _Header(
        old=True, flags=flags, exponent=exponent, npts=int(onpts), first=float(first),
        last=float(last), nsub=0, xtype=xtype, ytype=ytype, ztype=0, exper=0,
        acquired_at=acquired, memo=_text(memo), source_app="", catxt=catxt, method="",
        logoff=0, header_size=_OLD_HEADER,
    )


def _read_log(buf: _Buf, logoff: int) -> str:
    if logoff == 0:
        return ""
    sizd, _sizm, txto = buf.unpack("<III", logoff, "log block header (flogoff)")
    start = logoff + int(txto)
    end = logoff + int(sizd)
    if int(txto) < _LOG_HEADER or start > len(buf.data):
        raise FormatError(
            f"log text offset {txto} points outside the file",
            path=buf.path, offset=logoff + 8, field="logtxto",
        )
    raw = buf.data[start : min(end, len(buf.data)) if end > start else len(buf.data)]
    return raw.split(b"\x00", 1)[0].decode("latin-1").strip()


def _axis_labels(h: _Header) -> tuple[str, str, str]:
    x = T.X_LABEL.get(h.xtype, f"code {h.xtype}")
    y = T.Y_LABEL.get(h.ytype, f"code {h.ytype}")
    z = T.X_LABEL.get(h.ztype, f"code {h.ztype}")
    if h.flags & T.TALABS or h.xtype == 15:
        parts = [p.decode("latin-1").strip() for p in h.catxt.split(b"\x00")]
        parts += ["", "", ""]
        x, y, z = (parts[0] or x), (parts[1] or y), (parts[2] or z)
    return x, y, z


def _y_unit(code: int, y: FloatArray) -> YUnit:
    if code == 128:  # Transmission: a fraction or a percentage, as the values say
        return YUnit.TRANSMITTANCE_PERCENT if float(np.max(y)) > 2.0 else YUnit.TRANSMITTANCE
    return T.Y_UNIT.get(code, YUnit.OTHER)


def read(path: Path) -> list[Spectrum]:
    """Read every subfile of an SPC file as a spectrum.

    Parameters
    ----------
    path
        The ``.spc`` file.

    Returns
    -------
    list of Spectrum
        One per subfile, in file order; ``source`` is ``path#i`` for multifiles.

    Raises
    ------
    UnsupportedFormatError
        Not an SPC file (an OLE compound document, or no SPC version byte).
    UnsupportedContentError
        The big-endian 0x4C variant.
    FormatError
        Truncated or inconsistent file; the message names the byte offset and the field.
    """
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror or exc}", path=p) from exc
    # a float32 NaN or an exponent on the largest integer becomes NaN/inf quietly and is
    # refused as non-finite where the spectrum is built, not leaked as a numpy warning
    with np.errstate(all="ignore"):
        return _read(p, data)


def _read(p: Path, data: bytes) -> list[Spectrum]:
    buf = _Buf(data, p)
    if data[:8] == T.OLE_MAGIC:
        raise UnsupportedFormatError(
            "not an SPC file (OLE compound document, e.g. a Shimadzu UV .spc); export it "
            "from the instrument software as Galactic SPC, JCAMP-DX or CSV",
            path=p, offset=0, field="magic",
        )
    buf.need(0, 2, "fversn")
    version = data[1]
    if version == T.NEW_MSB:
        raise UnsupportedContentError(
            "big-endian SPC (fversn 0x4C) is not read: no sample file exists to verify it",
            path=p, offset=1, field="fversn",
        )
    if version not in (T.NEW_LSB, T.OLD):
        raise UnsupportedFormatError(
            f"not an SPC file: version byte is {version:#04x}, expected 0x4B or 0x4D",
            path=p, offset=1, field="fversn",
        )
    h = _read_header(buf)
    multi = bool(h.flags & T.TMULTI)
    xyxy = bool(h.flags & T.TXYXYS) and bool(h.flags & T.TXVALS) and not h.old
    shared_x = bool(h.flags & T.TXVALS) and not xyxy and not h.old
    short = bool(h.flags & T.TSPREC)
    ysize = 2 if short else 4
    size = len(data)

    # -- refuse impossible counts before allocating anything ------------------------------
    nsub = h.nsub if (multi and not h.old) else 1
    if multi and not h.old and nsub == 0:
        raise FormatError("multifile declares 0 subfiles", path=p, offset=24, field="fnsub")
    if nsub * _SUBHEADER > size:
        raise FormatError(
            f"declares {nsub} subfiles, more than the {size}-byte file can hold",
            path=p, offset=24, field="fnsub",
        )
    if not xyxy:
        per_sub = _SUBHEADER + h.npts * ysize
        if h.npts == 0 or h.npts * ysize + h.header_size > size:
            raise FormatError(
                f"declares {h.npts} points ({h.npts * ysize} bytes of Y), more than the "
                f"{size}-byte file holds",
                path=p, offset=4, field="fnpts" if not h.old else "onpts",
            )
        if not h.old and nsub * per_sub + h.header_size > size:
            raise FormatError(
                f"declares {nsub} subfiles of {h.npts} points ({nsub * per_sub} bytes), "
                f"more than the {size}-byte file holds",
                path=p, offset=24, field="fnsub",
            )
    if h.old and multi:
        # the old format does not store the subfile count: the first subheader sits at
        # byte 224 inside the header, every subfile takes 32 + npts*ysize bytes
        per_sub = _SUBHEADER + h.npts * ysize
        nsub, rest = divmod(size - (_OLD_HEADER - _SUBHEADER), per_sub)
        if rest or nsub == 0:
            # without a stored count, a partial last subfile cannot be told from trailing
            # junk: refuse rather than return a silently shortened multifile
            raise FormatError(
                f"old-format multifile of {per_sub}-byte subfiles does not divide the "
                f"{size}-byte file ({nsub} whole subfile(s) and {rest} byte(s) left): "
                "truncated or trailing data",
                path=p, offset=size - rest, field="subfile",
            )

    log_text = _read_log(buf, h.logoff) if not h.old else ""
    log = parse_log(log_text)
    excitation = _excitation_from_log(log)
    acquisition = _acquisition_from_log(log, h.source_app, h.acquired_at, log_text)
    x_label, y_label, z_label = _axis_labels(h)
    x_unit = T.X_UNIT.get(h.xtype, XUnit.OTHER)

    base_extra: dict[str, str] = {
        "spc.version": "0x4D (old)" if h.old else "0x4B",
        "spc.experiment": T.EXPERIMENT.get(h.exper, f"code {h.exper}"),
        "spc.x_label": x_label,
        "spc.y_label": y_label,
    }
    if multi:
        base_extra["spc.z_label"] = z_label
        base_extra["spc.subfiles"] = str(nsub)
    for key, value in (
        ("spc.memo", h.memo), ("spc.source", h.source_app), ("spc.method", h.method),
        ("spc.log", log_text),
    ):
        if value:
            base_extra[key] = value

    offset = h.header_size
    x_common: FloatArray | None = None
    if shared_x:
        x_common = buf.array("<f4", offset, h.npts, "X array (TXVALS)").astype(np.float64)
        offset += 4 * h.npts
    elif not xyxy:
        x_common = np.linspace(h.first, h.last, h.npts)

    title_base = h.memo or p.stem
    out: list[Spectrum] = []
    technique: Technique | None = None
    for i in range(nsub):
        field = f"subfile {i}"
        if h.old:
            sub_off = (_OLD_HEADER - _SUBHEADER) if i == 0 else offset
            offset = _OLD_HEADER if i == 0 else offset + _SUBHEADER
        else:
            sub_off = offset
            offset += _SUBHEADER
        _flags, subexp, _indx, ztime, znext, _noise, subnpts = buf.unpack(
            "<BbHfffI", sub_off, f"{field} header"
        )
        if xyxy:
            n = int(subnpts)
            if n == 0 or offset + n * (4 + ysize) > size:
                raise FormatError(
                    f"{field} declares {n} points, more than the rest of the file holds",
                    path=p, offset=sub_off + 16, field="subnpts",
                )
            x = buf.array("<f4", offset, n, f"{field} X").astype(np.float64)
            offset += 4 * n
        else:
            n = h.npts
            assert x_common is not None  # set above for every non-XYXY layout
            x = x_common
        if h.old:
            # old multifiles scale each subfile by its own subexp (the first one equals
            # oexp); a single old file may leave its embedded subheader zeroed
            exponent = int(subexp) if multi else h.exponent
        else:
            exponent = T.FLOAT_EXPONENT if h.exponent == T.FLOAT_EXPONENT else int(subexp)
        y_off = offset
        y, used = _decode_y(
            buf, offset, n, exponent=exponent, is_float=exponent == T.FLOAT_EXPONENT,
            short=short, old=h.old, field=f"{field} Y",
        )
        offset += used
        if technique is None:
            technique = T.infer_technique(
                h.exper, x_unit, h.ytype, float(np.min(x)), float(np.max(x))
            )
        extra = dict(base_extra)
        if multi:
            extra["spc.subfile"] = str(i)
            extra["spc.z"] = repr(float(ztime))
            if znext:
                extra["spc.z_next"] = repr(float(znext))
        if x.size > 1 and np.all(np.diff(x) < 0):
            x, y = x[::-1], y[::-1]
            extra["spc.axis"] = "decreasing in file, reversed on reading"
        try:
            spectrum = Spectrum(
                x, y,
                x_unit=x_unit,
                y_unit=_y_unit(h.ytype, y),
                technique=technique,
                excitation_nm=excitation,
                acquisition=acquisition,
                title=f"{title_base} #{i}" if multi else title_base,
                source=f"{p}#{i}" if multi else str(p),
                extra=extra,
            )
        except SpectrumValidationError as exc:
            raise FormatError(
                f"{field} is not a valid spectrum: {exc}", path=p, offset=y_off,
                field=f"{field} {exc.field or 'data'}",
            ) from exc
        out.append(spectrum)
    return out


__all__ = ["EXTENSIONS", "NAME", "parse_log", "read", "sniff"]
