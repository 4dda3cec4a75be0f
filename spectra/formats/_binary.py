"""Bounds-checked reading of binary vendor files, shared by the vendor readers.

Every read names the field it is for; anything that would run past the end of the file,
or a declared count that the file cannot hold, raises :class:`FormatError` with the file,
the byte offset and the field **before** anything is allocated. Arrays are copied out as
float64 (``Spectrum`` copies anyway), so nothing keeps the file's bytes alive.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

from .._errors import FormatError, SpectrumValidationError, UnsupportedContentError
from .._model import Acquisition, Spectrum
from .._units import FloatArray, Technique, XUnit, YUnit

MAX_FILE_BYTES = 1 << 30
"""Vendor files larger than this (1 GiB) are refused before they are read into memory."""


def load(path: Path, *, what: str) -> bytes:
    """The whole file, refused when unreadable or larger than :data:`MAX_FILE_BYTES`.

    Parameters
    ----------
    path
        The file.
    what
        The format's name for the message (e.g. ``"Bruker OPUS"``).

    Raises
    ------
    FormatError
        The file cannot be opened.
    UnsupportedContentError
        The file is larger than :data:`MAX_FILE_BYTES`.
    """
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnsupportedContentError(
                f"{what} file of {size} bytes is larger than the {MAX_FILE_BYTES}-byte limit "
                "of this reader (a map or image series? export the spectra you need)",
                path=path, offset=0, field="file size",
            )
        return path.read_bytes()
    except OSError as exc:
        raise FormatError(f"cannot open: {exc.strerror or exc}", path=path) from exc


@dataclass(frozen=True)
class Bytes:
    """A file's bytes with reads that check their bounds and name their field."""

    data: bytes
    path: Path

    @property
    def size(self) -> int:
        """Length of the file in bytes."""
        return len(self.data)

    def error(self, message: str, offset: int | None, field: str) -> FormatError:
        """A :class:`FormatError` at ``offset`` naming ``field`` (to be raised by the caller)."""
        return FormatError(message, path=self.path, offset=offset, field=field)

    def need(self, offset: int, size: int, field: str) -> None:
        """Refuse unless ``size`` bytes exist at ``offset``."""
        if offset < 0 or size < 0 or offset + size > len(self.data):
            raise self.error(
                f"truncated or out of range: {field} needs {size} byte(s) at offset {offset}, "
                f"but the file has {len(self.data)}",
                max(0, min(offset, len(self.data))), field,
            )

    def unpack(self, fmt: str, offset: int, field: str) -> tuple[Any, ...]:
        """``struct.unpack_from`` after a bounds check."""
        self.need(offset, struct.calcsize(fmt), field)
        return struct.unpack_from(fmt, self.data, offset)

    def one(self, fmt: str, offset: int, field: str) -> Any:
        """The single value of ``fmt`` at ``offset``."""
        return self.unpack(fmt, offset, field)[0]

    def raw(self, offset: int, size: int, field: str) -> bytes:
        """``size`` bytes at ``offset``."""
        self.need(offset, size, field)
        return self.data[offset : offset + size]

    def text(self, offset: int, size: int, field: str, *, encoding: str = "latin-1") -> str:
        """A NUL-terminated (or padded) string of at most ``size`` bytes, stripped."""
        raw = self.raw(offset, size, field).split(b"\x00", 1)[0]
        return raw.decode(encoding, errors="replace").strip()

    def count(self, count: int, itemsize: int, offset: int, field: str, *, at: int) -> int:
        """Check a declared element count against the bytes left from ``offset``.

        ``at`` is where the count itself is stored (the offset the error names).
        """
        if count < 0 or offset < 0 or offset + count * itemsize > len(self.data):
            raise self.error(
                f"declares {count} value(s) of {itemsize} byte(s) at offset {offset}, more than "
                f"the {len(self.data)}-byte file holds",
                at, field,
            )
        return count

    def floats(self, dtype: str, offset: int, count: int, field: str) -> FloatArray:
        """``count`` numbers of ``dtype`` at ``offset``, as a new float64 array."""
        itemsize = np.dtype(dtype).itemsize
        self.need(offset, count * itemsize, field)
        view = np.frombuffer(self.data, dtype=dtype, count=count, offset=offset)
        with np.errstate(invalid="ignore"):  # a signalling NaN is refused by Spectrum later
            return np.asarray(view, dtype=np.float64).copy()


def spectrum(
    path: Path,
    x: FloatArray,
    y: FloatArray,
    *,
    prefix: str,
    field: str,
    offset: int | None = None,
    line: int | None = None,
    x_unit: XUnit,
    y_unit: YUnit,
    technique: Technique,
    excitation_nm: float | None = None,
    acquisition: Acquisition | None = None,
    title: str = "",
    source: str | None = None,
    extra: Mapping[str, str] | None = None,
) -> Spectrum:
    """A :class:`Spectrum`; a decreasing axis is put in increasing order and noted in ``extra``.

    The note is ``extra["<prefix>.axis"]`` (``prefix`` is the format's name).

    Raises
    ------
    FormatError
        The data do not make a valid spectrum (non-finite values, an axis that is not
        monotonic), at ``offset`` (binary) or ``line`` (text) and naming ``field``.
    """
    notes = dict(extra or {})
    if x.size > 1 and bool(np.all(np.diff(x) < 0)):
        x, y = x[::-1], y[::-1]
        notes[f"{prefix}.axis"] = "decreasing in file, reversed on reading"
    if excitation_nm is not None and not (np.isfinite(excitation_nm) and excitation_nm > 0):
        excitation_nm = None
    try:
        return Spectrum(
            x, y, x_unit=x_unit, y_unit=y_unit, technique=technique,
            excitation_nm=excitation_nm, acquisition=acquisition, title=title,
            source=source, extra=notes,
        )
    except SpectrumValidationError as exc:
        raise FormatError(
            f"not a valid spectrum: {exc}", path=path, offset=offset, line=line,
            field=f"{field} {exc.field or 'data'}",
        ) from exc


def acquisition(
    *,
    make: str | None = None,
    model: str | None = None,
    serial: str | None = None,
    firmware: str | None = None,
    integration_time_ms: float | None = None,
    accumulations: float | None = None,
    laser_power_mw: float | None = None,
    acquired_at: datetime | None = None,
    operator: str | None = None,
) -> Acquisition:
    """An :class:`Acquisition` from file values; a value the model refuses is left out.

    Files say odd things (an exposure of 0, a count of -1 for "not set", a naive date);
    those fields stay ``None`` rather than failing the whole read.
    """

    def txt(v: str | None) -> str | None:
        return v.strip() or None if isinstance(v, str) else None

    def pos(v: float | None, *, zero: bool = False) -> float | None:
        if v is None or not np.isfinite(v):
            return None
        return float(v) if (v >= 0 if zero else v > 0) else None

    n = pos(accumulations)
    return Acquisition(
        instrument_make=txt(make),
        instrument_model=txt(model),
        instrument_serial=txt(serial),
        firmware=txt(firmware),
        integration_time_ms=pos(integration_time_ms),
        accumulations=int(n) if n is not None and n >= 1 and float(n).is_integer() else None,
        laser_power_mw=pos(laser_power_mw, zero=True),
        acquired_at=acquired_at if acquired_at is not None and acquired_at.tzinfo else None,
        operator=txt(operator),
    )


def transmittance_unit(y: FloatArray) -> YUnit:
    """Transmittance as a fraction or a percentage, as the values say (> 2 means percent)."""
    return YUnit.TRANSMITTANCE_PERCENT if float(np.max(y)) > 2.0 else YUnit.TRANSMITTANCE


__all__ = ["MAX_FILE_BYTES", "Bytes", "acquisition", "load", "spectrum", "transmittance_unit"]
