"""Bruker OPUS binary files (read only).

An OPUS file is a 24-byte header (magic ``0A 0A FE FE``, version, directory offset, block
counts), a directory of 12-byte entries (block type, length in 32-bit words, offset), and
blocks: parameter blocks (3-letter keys with typed values) and data blocks (float32), each
data block described by the *data status* parameter block whose type is the data block's
type with bit 4 set. See ``docs/formats/opus.md`` for the layout and the sources checked.

:func:`read` returns the file's **result** spectra — absorbance, transmittance,
reflectance, Kubelka-Munk, ATR, Raman, emission... (the blocks OPUS computes from the
single channels) — one per block. :func:`read_blocks` returns every data block, including
the single channels, interferograms and phases, for whoever needs them. A file with no
result block (e.g. interferograms only) is refused with :class:`UnsupportedContentError`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

from .._errors import UnsupportedContentError, UnsupportedFormatError
from .._model import Acquisition, Spectrum
from .._units import FloatArray, Technique, XUnit, YUnit
from . import _binary

NAME = "opus"
EXTENSIONS: tuple[str, ...] = (".0",)

MAGIC = b"\x0a\x0a\xfe\xfe"
_HEADER = 24
_ENTRY = 12
_STATUS_BIT = 0x10  # a data status block's type is its data block's type | this

# block type bit fields (directory ``type``): what the data are, which channel
_DATA_TYPES = {
    1: "Sc", 2: "Ig", 3: "Ph", 4: "AB", 5: "TR", 6: "KM", 7: "TRC", 8: "GCIG", 9: "GCSC",
    10: "RAM", 11: "EMI", 12: "REFL", 14: "POW", 15: "LRF", 16: "ATR", 17: "PAS",
    18: "ARIT", 19: "ARIA", 22: "MATCH",
}
_CHANNELS = {1: "Sm", 2: "Rf"}
_RESULTS = {4, 5, 6, 10, 11, 12, 14, 15, 16, 17, 18, 19}
"""Data types that are a measurement result (what :func:`read` returns)."""
_Y_UNITS = {
    4: YUnit.ABSORBANCE, 6: YUnit.KUBELKA_MUNK, 10: YUnit.ARBITRARY, 11: YUnit.ARBITRARY,
    12: YUnit.REFLECTANCE, 16: YUnit.ABSORBANCE, 17: YUnit.ARBITRARY, 19: YUnit.ABSORBANCE,
    1: YUnit.ARBITRARY, 2: YUnit.ARBITRARY,
}
_X_UNITS = {"WN": XUnit.WAVENUMBER, "MI": XUnit.WAVELENGTH_UM}
_PARAM_KINDS = {
    2: "instrument", 3: "acquisition", 4: "fourier", 6: "optics", 10: "sample", 11: "lab",
}


def sniff(head: bytes) -> bool:
    """Whether ``head`` starts with the OPUS magic ``0A 0A FE FE``.

    Parameters
    ----------
    head
        Leading bytes of the file.

    Returns
    -------
    bool
    """
    return head[:4] == MAGIC


# -- structure -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Block:
    index: int
    type: int
    offset: int
    length: int

    @property
    def complex_part(self) -> int:
        return self.type & 0x3

    @property
    def channel(self) -> int:
        return (self.type >> 2) & 0x3

    @property
    def param_kind(self) -> int:
        return (self.type >> 4) & 0x3F

    @property
    def data_type(self) -> int:
        return (self.type >> 10) & 0x7F

    @property
    def derivative(self) -> int:
        return (self.type >> 17) & 0x3

    @property
    def extended(self) -> int:
        return (self.type >> 19) & 0x7

    @property
    def label(self) -> str:
        name = _DATA_TYPES.get(self.data_type, f"type{self.data_type}")
        if self.data_type in (1, 2, 3):
            name += _CHANNELS.get(self.channel, "")
        if self.derivative:
            name += f"-d{self.derivative}"
        return name

    def where(self) -> str:
        return f"block {self.index} (type {self.type:#x})"


@dataclass
class _File:
    buf: _binary.Bytes
    version: float
    blocks: list[_Block]
    params: dict[int, dict[str, str | int | float]] = field(default_factory=dict)


def _directory(buf: _binary.Bytes) -> _File:
    buf.need(0, _HEADER, "header")
    if buf.data[:4] != MAGIC:
        raise UnsupportedFormatError(
            "not a Bruker OPUS file: magic is not 0A 0A FE FE", path=buf.path, offset=0,
            field="magic",
        )
    version, dir_start, max_blocks, nblocks = buf.unpack("<diii", 4, "header")
    if dir_start < _HEADER:
        raise buf.error(f"directory offset {dir_start} lies inside the header", 12,
                        "directory offset")
    if nblocks < 1 or nblocks > max_blocks:
        raise buf.error(
            f"declares {nblocks} block(s) with room for {max_blocks}", 20, "block count"
        )
    buf.count(nblocks, _ENTRY, dir_start, "directory", at=20)
    blocks: list[_Block] = []
    for i in range(nblocks):
        at = dir_start + i * _ENTRY
        btype, words, offset = buf.unpack("<Iii", at, f"directory entry {i}")
        if offset <= 0 and words <= 0:
            continue  # an unused slot
        if words < 0 or offset < 0 or offset + 4 * words > buf.size:
            raise buf.error(
                f"block of {words} word(s) at offset {offset} does not fit in the "
                f"{buf.size}-byte file", at, f"directory entry {i}",
            )
        blocks.append(_Block(i, btype, offset, 4 * words))
    return _File(buf, float(version), blocks)


def _params(buf: _binary.Bytes, block: _Block) -> dict[str, str | int | float]:
    """The ``KEY=value`` entries of a parameter block (first occurrence of a key wins)."""
    out: dict[str, str | int | float] = {}
    pos, end = block.offset, block.offset + block.length
    while pos + 8 <= end:
        raw_key = buf.data[pos : pos + 3]
        if raw_key == b"END":
            break
        kind, words = buf.unpack("<HH", pos + 4, f"{block.where()} parameter header")
        value_at, size = pos + 8, 2 * words
        if value_at + size > end:
            raise buf.error(
                f"parameter {raw_key.decode('latin-1')!r} of {size} byte(s) runs past the end "
                f"of its {block.length}-byte block", pos + 6, f"{block.where()} parameter size",
            )
        key = raw_key.decode("latin-1")
        if not re.fullmatch(r"[A-Z0-9_]{3}", key):
            raise buf.error(f"parameter name {raw_key!r} is not 3 letters or digits", pos,
                            f"{block.where()} parameter name")
        value: str | int | float
        if kind == 0:
            if size < 4:
                raise buf.error(f"integer parameter {key} has {size} byte(s)", pos + 6, key)
            value = int(buf.one("<i", value_at, key))
        elif kind == 1:
            if size < 8:
                raise buf.error(f"real parameter {key} has {size} byte(s)", pos + 6, key)
            value = float(buf.one("<d", value_at, key))
        else:  # 2 string, 3 enum, 4 senum; anything else kept as text too
            value = buf.text(value_at, size, key)
        out.setdefault(key, value)
        pos = value_at + size
    return out


def _parse(path: Path) -> _File:
    buf = _binary.Bytes(_binary.load(path, what="Bruker OPUS"), path)
    f = _directory(buf)
    for b in f.blocks:
        if (b.param_kind != 0 and b.data_type == 0) or b.param_kind == 1:
            f.params[b.type] = _params(buf, b)
    return f


# -- data blocks ---------------------------------------------------------------------------


def _number(status: dict[str, str | int | float], key: str, block: _Block,
            buf: _binary.Bytes) -> float:
    value = status.get(key)
    if not isinstance(value, int | float) or not np.isfinite(value):
        raise buf.error(f"data status has no numeric {key} ({value!r})", block.offset,
                        f"{block.where()} {key}")
    return float(value)


def _values(f: _File, block: _Block) -> tuple[FloatArray, FloatArray, dict[str, str | int | float]]:
    buf = f.buf
    status_type = block.type | _STATUS_BIT
    status = f.params.get(status_type)
    if status is None:
        raise buf.error(f"no data status block (type {status_type:#x}) describes it",
                        block.offset, block.where())
    npt_f = _number(status, "NPT", block, buf)
    npt = int(npt_f)
    if npt < 1 or npt != npt_f or 4 * npt > block.length:
        raise buf.error(
            f"NPT={npt_f!r} points do not fit in the {block.length}-byte data block",
            block.offset, f"{block.where()} NPT",
        )
    fxv = _number(status, "FXV", block, buf)
    lxv = _number(status, "LXV", block, buf)
    dpf = status.get("DPF", 1)
    if dpf == 1:
        y = buf.floats("<f4", block.offset, npt, f"{block.where()} data")
    elif dpf == 2:
        y = buf.floats("<i4", block.offset, npt, f"{block.where()} data")
    else:
        raise buf.error(f"data point format DPF={dpf!r} is not 1 (float) or 2 (integer)",
                        block.offset, f"{block.where()} DPF")
    csf = status.get("CSF", 1.0)
    if isinstance(csf, int | float) and np.isfinite(csf) and csf not in (0, 1):
        y = y * float(csf)
    x = np.linspace(fxv, lxv, npt) if npt > 1 else np.array([fxv])
    return x, y, status


_TIM = re.compile(
    r"(\d{1,2}):(\d{2}):(\d{2})(?:\.(\d+))?\s*(?:\(GMT\s*([+-]\d{1,2})(?::?(\d{2}))?\))?"
)
_DAT = re.compile(r"(\d{1,4})/(\d{1,2})/(\d{1,4})")


def _acquired_at(status: dict[str, str | int | float]) -> datetime | None:
    """DAT (dd/mm/yyyy) and TIM (``hh:mm:ss.sss (GMT+h)``), with the stated offset.

    Without a GMT offset the time is not taken (no zone would be a guess).
    """
    dat, tim = status.get("DAT"), status.get("TIM")
    if not isinstance(dat, str) or not isinstance(tim, str):
        return None
    d, t = _DAT.fullmatch(dat.strip()), _TIM.match(tim.strip())
    if d is None or t is None or t.group(5) is None:
        return None
    a, month, b = (int(g) for g in d.groups())
    day, year = (a, b) if b > 31 else (b, a)  # dd/mm/yyyy, or yyyy/mm/dd
    hours = int(t.group(5))
    minutes = int(t.group(6) or 0) * (1 if hours >= 0 else -1)
    frac = (t.group(4) or "0")[:6].ljust(6, "0")
    try:
        return datetime(
            year, month, day, int(t.group(1)), int(t.group(2)), int(t.group(3)), int(frac),
            tzinfo=timezone(timedelta(hours=hours, minutes=minutes)),
        )
    except ValueError:
        return None


def _channel_params(f: _File) -> dict[str, str | int | float]:
    """Parameters of the sample channel (instrument, acquisition, optics, FT, sample, lab)."""
    merged: dict[str, str | int | float] = {}
    for b in f.blocks:
        if b.data_type == 0 and b.param_kind in _PARAM_KINDS and b.channel in (0, 1):
            for k, v in f.params.get(b.type, {}).items():
                merged.setdefault(k, v)
    return merged


def _text(p: dict[str, str | int | float], key: str) -> str | None:
    v = p.get(key)
    return v if isinstance(v, str) and v.strip() else None


def _real(p: dict[str, str | int | float], key: str) -> float | None:
    """A numeric parameter; OPUS stores some numbers as text (``SRL='200'``)."""
    v = p.get(key)
    if isinstance(v, str):
        try:
            v = float(v)
        except ValueError:
            return None
    return float(v) if isinstance(v, int | float) and np.isfinite(v) else None


def _technique(block: _Block, x: FloatArray, p: dict[str, str | int | float]) -> Technique:
    if block.data_type == 10:
        return Technique.RAMAN
    source = (_text(p, "SRC") or "").upper()
    near = source.startswith("NIR") if source else float(np.min(x)) >= 3500.0
    if near:
        return Technique.NIR
    setup = " ".join(filter(None, (_text(p, "ACC"), _text(p, "EXP")))).upper()
    if block.data_type == 16 or "ATR" in setup:
        return Technique.FTIR_ATR
    if block.data_type in (4, 5, 18, 19) and (_text(p, "ACC") or "").upper().startswith("TRANS"):
        return Technique.FTIR_TRANSMISSION
    return Technique.INFRARED


def _spectrum(f: _File, block: _Block, p: dict[str, str | int | float],
              acq: Acquisition, *, many: bool) -> Spectrum:
    x, y, status = _values(f, block)
    dxu = status.get("DXU")
    extra = {
        "opus.block": block.label,
        "opus.block_type": f"{block.type:#x}",
        "opus.version": repr(f.version),
    }
    if dxu is None:
        extra["opus.DXU"] = "absent: wavenumber assumed"
        dxu = "WN"
    x_unit = _X_UNITS.get(str(dxu), XUnit.OTHER)
    excitation: float | None = None
    if block.data_type == 10 and x_unit is XUnit.WAVENUMBER:
        x_unit = XUnit.RAMAN_SHIFT  # OPUS Raman blocks hold the shift from the laser line
        laser = _real(p, "RLW")
        excitation = 1e7 / laser if laser else None
    if x_unit is XUnit.OTHER:
        extra["opus.x_unit"] = str(dxu)
    y_unit = _Y_UNITS.get(block.data_type, YUnit.OTHER)
    if block.data_type in (5, 18):
        y_unit = _binary.transmittance_unit(y)
    for k, v in (*status.items(), *p.items()):
        extra.setdefault(f"opus.{k}", str(v))
    stem = _text(p, "SNM") or f.buf.path.stem
    return _binary.spectrum(
        f.buf.path, x, y, prefix=NAME,
        offset=block.offset, field=block.where(), x_unit=x_unit, y_unit=y_unit,
        technique=_technique(block, x, p), excitation_nm=excitation,
        acquisition=acq.model_copy(update={"acquired_at": _acquired_at(status)}),
        title=f"{stem} {block.label}" if many else stem,
        source=f"{f.buf.path}#{block.label}" if many else str(f.buf.path),
        extra=extra,
    )


def _acquisition(p: dict[str, str | int | float]) -> Acquisition:
    return _binary.acquisition(
        make="Bruker", model=_text(p, "INS"), serial=_text(p, "SRN"), firmware=_text(p, "VSN"),
        # SRL is the laser power set for the measurement (RLP, the laser's rating, is not)
        accumulations=_real(p, "NSS"), laser_power_mw=_real(p, "SRL"),
        operator=_text(p, "CNM"),
    )


def _data_blocks(f: _File) -> list[_Block]:
    return [
        b for b in f.blocks
        if b.param_kind == 0 and b.data_type in _DATA_TYPES and b.extended == 0
        and (b.type | _STATUS_BIT) in f.params
    ]


def read(path: Path) -> list[Spectrum]:
    """Read the result spectra of an OPUS file (absorbance, transmittance, Raman...).

    Parameters
    ----------
    path
        The OPUS file (any extension: ``.0``, ``.1``, ``.001``...).

    Returns
    -------
    list of Spectrum
        One per result block, in directory order (usually one). ``extra["opus.block"]``
        names the block (``AB``, ``TR``, ``REFL``, ``RAM``...); every parameter of its data
        status block and of the sample channel's parameter blocks is kept as
        ``extra["opus.<KEY>"]``.

    Raises
    ------
    UnsupportedFormatError
        Not an OPUS file.
    UnsupportedContentError
        No result block: only single channels, interferograms or phases (use
        :func:`read_blocks`).
    FormatError
        Truncated or inconsistent file, with the byte offset and the block or parameter.
    """
    p = Path(path)
    f = _parse(p)
    params = _channel_params(f)
    blocks = _data_blocks(f)
    results = [b for b in blocks if b.data_type in _RESULTS and b.derivative == 0]
    if not results:
        held = ", ".join(b.label for b in blocks) or "no data block with a status block"
        raise UnsupportedContentError(
            f"no result spectrum (absorbance, transmittance, reflectance, Raman...): the file "
            f"holds {held}; spectra.formats.opus.read_blocks reads every block",
            path=p, offset=0, field="data blocks",
        )
    acq = _acquisition(params)
    return [_spectrum(f, b, params, acq, many=len(results) > 1) for b in results]


def read_blocks(path: str | Path) -> list[Spectrum]:
    """Every data block that has a data status block, as a spectrum, in directory order.

    Single channels (``ScSm``, ``ScRf``), interferograms (``IgSm``, ``IgRf``, x = point
    index, ``x_unit`` OTHER), phases, match and derivative blocks as well as the results.

    Raises
    ------
    FormatError
        As :func:`read`.
    """
    p = Path(path)
    f = _parse(p)
    params = _channel_params(f)
    acq = _acquisition(params)
    return [_spectrum(f, b, params, acq, many=True) for b in _data_blocks(f)]


__all__ = ["EXTENSIONS", "MAGIC", "NAME", "read", "read_blocks", "sniff"]
