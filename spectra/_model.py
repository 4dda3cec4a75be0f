"""The spectrum model: an immutable axis + intensities with units, technique and provenance."""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Mapping, Sequence
from typing import Any, Self

import numpy as np
from numpy.typing import ArrayLike
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, JsonValue, field_validator
from pydantic import ValidationError as _PydanticValidationError

from ._canonical import canonical_json
from ._errors import AxisReversedWarning, SpectraError, SpectrumValidationError, UnitError
from ._units import (
    FloatArray,
    Technique,
    XUnit,
    YUnit,
    absorbance_to_transmittance,
    raman_shift_to_wavenumber,
    transmittance_to_absorbance,
    wavenumber_to_raman_shift,
    wavenumber_to_wavelength_nm,
)

HASH_SCHEME = "interdict.spectrum/1"


class Acquisition(BaseModel):
    """How and by whom a spectrum was acquired. Every field is optional: files often say little."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instrument_make: str | None = None
    instrument_model: str | None = None
    instrument_serial: str | None = None
    firmware: str | None = None
    integration_time_ms: float | None = Field(default=None, gt=0)
    accumulations: int | None = Field(default=None, ge=1)
    laser_power_mw: float | None = Field(default=None, ge=0)
    acquired_at: AwareDatetime | None = None
    operator: str | None = None

    def is_empty(self) -> bool:
        """Whether no field is set."""
        return all(v is None for v in self.model_dump().values())


class ProvenanceStep(BaseModel):
    """One processing step applied to a spectrum: its name, its parameters, what did it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    step: str
    params: dict[str, JsonValue] = Field(default_factory=dict)
    software: str = "interdict"

    @field_validator("params")
    @classmethod
    def _finite(cls, v: dict[str, JsonValue]) -> dict[str, JsonValue]:
        def check(value: JsonValue, where: str) -> None:
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(f"parameter {where} must be finite, got {value!r}")
            if isinstance(value, dict):
                for k, item in value.items():
                    check(item, f"{where}.{k}")
            elif isinstance(value, list):
                for n, element in enumerate(value):
                    check(element, f"{where}[{n}]")

        for key, value in v.items():
            check(value, key)
        return v


def _as_readonly_f64(values: ArrayLike, field: str) -> FloatArray:
    try:
        arr = np.array(values, dtype=np.float64, copy=True)
    except (TypeError, ValueError) as exc:
        raise SpectrumValidationError(f"not numeric: {exc}", field=field) from exc
    if arr.ndim != 1:
        raise SpectrumValidationError(f"must be 1-D, got shape {arr.shape}", field=field)
    if arr.size == 0:
        raise SpectrumValidationError("is empty", field=field)
    bad = np.flatnonzero(~np.isfinite(arr))
    if bad.size:
        raise SpectrumValidationError(
            f"{bad.size} non-finite value(s), first at index {bad[0]} ({float(arr[bad[0]])!r})",
            field=field,
        )
    return arr


class Spectrum:
    """An immutable spectrum.

    Parameters
    ----------
    x, y
        Axis and intensities, 1-D, same length, finite. Stored as read-only float64 copies.
        ``x`` must be strictly monotonic; a strictly decreasing axis is reversed (with an
        :class:`AxisReversedWarning`). Anything else is refused: use
        :func:`spectra.merge_segments` to merge overlapping step-scan segments explicitly.
    x_unit, y_unit, technique
        See :class:`XUnit`, :class:`YUnit`, :class:`Technique`.
    excitation_nm
        Laser wavelength for Raman.
    acquisition
        Instrument and acquisition metadata.
    provenance
        Processing steps already applied, oldest first.
    title
        A human label (sample name). Not part of the content hash.
    source
        Where the spectrum came from (``path`` or ``path#index``). Not part of the hash.
    extra
        Raw header fields kept from a file, as text. Not part of the hash.

    Raises
    ------
    SpectrumValidationError
        Lengths differ, empty, non-finite values, non-monotonic axis, bad excitation.

    Warns
    -----
    AxisReversedWarning
        When ``x`` was strictly decreasing.
    """

    __slots__ = (
        "_hash",
        "acquisition",
        "excitation_nm",
        "extra",
        "provenance",
        "source",
        "technique",
        "title",
        "x",
        "x_unit",
        "y",
        "y_unit",
    )

    x: FloatArray
    y: FloatArray
    x_unit: XUnit
    y_unit: YUnit
    technique: Technique
    excitation_nm: float | None
    acquisition: Acquisition
    provenance: tuple[ProvenanceStep, ...]
    title: str
    source: str | None
    extra: Mapping[str, str]
    _hash: str | None

    def __init__(
        self,
        x: ArrayLike,
        y: ArrayLike,
        *,
        x_unit: XUnit | str = XUnit.RAMAN_SHIFT,
        y_unit: YUnit | str = YUnit.ARBITRARY,
        technique: Technique | str = Technique.OTHER,
        excitation_nm: float | None = None,
        acquisition: Acquisition | None = None,
        provenance: Sequence[ProvenanceStep] = (),
        title: str = "",
        source: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        xa = _as_readonly_f64(x, "x")
        ya = _as_readonly_f64(y, "y")
        if xa.shape != ya.shape:
            raise SpectrumValidationError(
                f"x has {xa.size} points but y has {ya.size}", field="y"
            )
        if xa.size > 1:
            dx = np.diff(xa)
            if not np.all(dx > 0):
                if np.all(dx < 0):
                    warnings.warn(
                        f"x axis of {source or title or 'spectrum'} is decreasing; "
                        "reversed to increasing order",
                        AxisReversedWarning,
                        stacklevel=2,
                    )
                    xa = xa[::-1].copy()
                    ya = ya[::-1].copy()
                else:
                    # first step that breaks the direction the axis starts in
                    bad = (dx <= 0) if dx[0] > 0 else (dx >= 0)
                    i = int(np.flatnonzero(bad)[0])
                    raise SpectrumValidationError(
                        f"not strictly monotonic: x[{i}]={float(xa[i])!r}, "
                        f"x[{i + 1}]={float(xa[i + 1])!r} "
                        "(overlapping segments? merge them explicitly with "
                        "spectra.merge_segments)",
                        field="x",
                    )
        if excitation_nm is not None and (
            isinstance(excitation_nm, bool)
            or not isinstance(excitation_nm, int | float | np.floating | np.integer)
            or not (np.isfinite(excitation_nm) and excitation_nm > 0)
        ):
            raise SpectrumValidationError(
                f"must be a positive finite wavelength, got {excitation_nm!r}",
                field="excitation_nm",
            )
        xa.flags.writeable = False
        ya.flags.writeable = False
        set_ = object.__setattr__
        set_(self, "x", xa)
        set_(self, "y", ya)
        set_(self, "x_unit", XUnit(x_unit))
        set_(self, "y_unit", YUnit(y_unit))
        set_(self, "technique", Technique(technique))
        set_(self, "excitation_nm", None if excitation_nm is None else float(excitation_nm))
        set_(self, "acquisition", acquisition if acquisition is not None else Acquisition())
        set_(self, "provenance", tuple(provenance))
        set_(self, "title", str(title))
        set_(self, "source", source)
        set_(self, "extra", dict(extra) if extra else {})
        set_(self, "_hash", None)

    # -- immutability ---------------------------------------------------------------------
    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"Spectrum is immutable (tried to set {name!r}); use replace()")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Spectrum is immutable (tried to delete {name!r})")

    def _fields(self) -> dict[str, Any]:
        return {
            "x_unit": self.x_unit,
            "y_unit": self.y_unit,
            "technique": self.technique,
            "excitation_nm": self.excitation_nm,
            "acquisition": self.acquisition,
            "provenance": self.provenance,
            "title": self.title,
            "source": self.source,
            "extra": self.extra,
        }

    def replace(self, **changes: Any) -> Self:
        """A new spectrum with the given fields changed (``x``, ``y``, or any keyword field)."""
        fields = self._fields()
        x = changes.pop("x", self.x)
        y = changes.pop("y", self.y)
        unknown = set(changes) - set(fields)
        if unknown:
            raise TypeError(f"unknown Spectrum field(s): {sorted(unknown)}")
        fields.update(changes)
        return type(self)(x, y, **fields)

    def with_step(
        self, step: ProvenanceStep, *, x: ArrayLike | None = None, y: ArrayLike | None = None,
        **changes: Any,
    ) -> Self:
        """A new spectrum with ``step`` appended to the provenance (and new data/fields)."""
        return self.replace(
            x=self.x if x is None else x,
            y=self.y if y is None else y,
            provenance=(*self.provenance, step),
            **changes,
        )

    # -- identity -------------------------------------------------------------------------
    def canonical_metadata(self) -> dict[str, JsonValue]:
        """The metadata that enters the content hash, as canonical JSON-ready values."""
        return {
            "scheme": HASH_SCHEME,
            "n": int(self.x.size),
            "x_unit": self.x_unit.value,
            "y_unit": self.y_unit.value,
            "technique": self.technique.value,
            "excitation_nm": self.excitation_nm,
            "acquisition": self.acquisition.model_dump(mode="json", exclude_none=True),
            "provenance": [p.model_dump(mode="json") for p in self.provenance],
        }

    def to_record(self) -> dict[str, JsonValue]:
        """Every field but the arrays, as JSON values: what a file or a store keeps beside x, y.

        The :meth:`canonical_metadata` (less its scheme name) plus title, source and raw header
        fields. :meth:`from_record` is the inverse; :func:`spectra.canonical_json` of it is
        the text to write.

        >>> s = Spectrum([1.0, 2.0], [3.0, 4.0], technique="raman", title="calcite")
        >>> Spectrum.from_record(s.to_record(), s.x, s.y) == s
        True
        """
        record = self.canonical_metadata()
        del record["scheme"]
        record["title"] = self.title
        record["source"] = self.source
        record["extra"] = dict(self.extra)
        return record

    @classmethod
    def from_record(cls, record: Mapping[str, Any], x: ArrayLike, y: ArrayLike) -> Self:
        """The spectrum a :meth:`to_record` record describes, with axis ``x`` and values ``y``.

        Keys a record does not know are ignored (a store may add its own, such as a codec).

        Raises
        ------
        SpectrumValidationError
            A field is missing or invalid, ``n`` is not the number of points, or the arrays
            are not a valid spectrum.
        """
        try:
            spectrum = cls(
                x, y,
                x_unit=record["x_unit"], y_unit=record["y_unit"],
                technique=record["technique"], excitation_nm=record["excitation_nm"],
                acquisition=Acquisition.model_validate(record["acquisition"]),
                provenance=[ProvenanceStep.model_validate(p) for p in record["provenance"]],
                title=record["title"], source=record["source"], extra=record["extra"],
            )
        except SpectraError:
            raise
        except KeyError as exc:
            raise SpectrumValidationError(f"field {exc} is missing", field="record") from exc
        except (TypeError, ValueError, _PydanticValidationError) as exc:
            raise SpectrumValidationError(str(exc), field="record") from exc
        if record.get("n", spectrum.x.size) != spectrum.x.size:
            raise SpectrumValidationError(
                f"says {record['n']!r} points, the arrays have {spectrum.x.size}", field="n"
            )
        return spectrum

    @property
    def content_hash(self) -> str:
        """SHA-256 (hex) over the canonical bytes of axis, values and the metadata that matters.

        Axis and values enter as little-endian float64; metadata as sorted, compact JSON.
        Title, source and raw header fields do not enter: renaming a file does not change
        the evidence id.
        """
        if self._hash is None:
            h = hashlib.sha256()
            h.update(canonical_json(self.canonical_metadata()).encode("ascii"))
            h.update(b"\x00")
            # + 0.0 folds -0.0 into 0.0: equal numbers give equal hashes
            h.update((self.x + 0.0).astype("<f8", copy=False).tobytes())
            h.update((self.y + 0.0).astype("<f8", copy=False).tobytes())
            object.__setattr__(self, "_hash", h.hexdigest())
        assert self._hash is not None  # for the type checker; set just above
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Spectrum):
            return NotImplemented
        return (
            self.content_hash == other.content_hash
            and self.title == other.title
            and dict(self.extra) == dict(other.extra)
        )

    def __hash__(self) -> int:
        return hash(self.content_hash)

    def __len__(self) -> int:
        return int(self.x.size)

    def __repr__(self) -> str:
        ex = f", excitation={self.excitation_nm:g} nm" if self.excitation_nm else ""
        name = f"{self.title!r}, " if self.title else ""
        return (
            f"Spectrum({name}{self.technique.value}, {self.x.size} points, "
            f"x={self.x[0]:g}..{self.x[-1]:g} {self.x_unit.value}, y={self.y_unit.value}{ex}, "
            f"{len(self.provenance)} step(s))"
        )

    # -- conversions ----------------------------------------------------------------------
    def _absolute_wavenumber(self) -> FloatArray:
        if self.x_unit is XUnit.WAVENUMBER:
            return self.x
        if self.x_unit is XUnit.RAMAN_SHIFT:
            return raman_shift_to_wavenumber(self.x, self.excitation_nm)
        if self.x_unit is XUnit.WAVELENGTH_NM:
            return wavenumber_to_wavelength_nm(self.x)
        if self.x_unit is XUnit.WAVELENGTH_UM:
            return wavenumber_to_wavelength_nm(self.x * 1e3)
        raise UnitError(f"cannot convert an x axis in {self.x_unit.value} to a wavenumber")

    def _converted(self, new_x: FloatArray, unit: XUnit) -> Self:
        if unit is self.x_unit:
            return self
        step = ProvenanceStep(
            step="convert_x",
            params={
                "from": self.x_unit.value, "to": unit.value, "excitation_nm": self.excitation_nm
            },
        )
        order = np.argsort(new_x, kind="stable")
        return self.with_step(step, x=new_x[order], y=self.y[order], x_unit=unit)

    def to_raman_shift(self) -> Self:
        """The same spectrum on a Raman-shift axis (needs ``excitation_nm`` unless already)."""
        if self.x_unit is XUnit.RAMAN_SHIFT:
            return self
        return self._converted(
            wavenumber_to_raman_shift(self._absolute_wavenumber(), self.excitation_nm),
            XUnit.RAMAN_SHIFT,
        )

    def to_wavenumber(self) -> Self:
        """The same spectrum on an absolute-wavenumber axis (cm⁻¹)."""
        return self._converted(self._absolute_wavenumber(), XUnit.WAVENUMBER)

    def to_wavelength_nm(self) -> Self:
        """The same spectrum on a wavelength axis (nm)."""
        if self.x_unit is XUnit.WAVELENGTH_NM:
            return self
        return self._converted(
            wavenumber_to_wavelength_nm(self._absolute_wavenumber()), XUnit.WAVELENGTH_NM
        )

    def to_absorbance(self) -> Self:
        """Transmittance → absorbance (``A = −log10 T``)."""
        if self.y_unit is YUnit.ABSORBANCE:
            return self
        if self.y_unit not in (YUnit.TRANSMITTANCE, YUnit.TRANSMITTANCE_PERCENT):
            raise UnitError(f"cannot convert {self.y_unit.value} intensities to absorbance")
        y = transmittance_to_absorbance(
            self.y, percent=self.y_unit is YUnit.TRANSMITTANCE_PERCENT
        )
        step = ProvenanceStep(
            step="convert_y", params={"from": self.y_unit.value, "to": "absorbance"}
        )
        return self.with_step(step, y=y, y_unit=YUnit.ABSORBANCE)

    def to_transmittance(self, *, percent: bool = True) -> Self:
        """Absorbance (or the other transmittance scale) → transmittance (% by default)."""
        target = YUnit.TRANSMITTANCE_PERCENT if percent else YUnit.TRANSMITTANCE
        if self.y_unit is target:
            return self
        if self.y_unit in (YUnit.TRANSMITTANCE, YUnit.TRANSMITTANCE_PERCENT):
            y = self.y * (100.0 if percent else 0.01)
        elif self.y_unit is YUnit.ABSORBANCE:
            y = absorbance_to_transmittance(self.y, percent=percent)
        else:
            raise UnitError(f"cannot convert {self.y_unit.value} intensities to transmittance")
        step = ProvenanceStep(
            step="convert_y", params={"from": self.y_unit.value, "to": target.value}
        )
        return self.with_step(step, y=y, y_unit=target)


def merge_segments(
    x: ArrayLike, y: ArrayLike, *, tolerance: float | None = None, **spectrum_fields: Any
) -> Spectrum:
    """Build a spectrum from a step-scan export whose x axis has overlapping segments.

    Step-scan instruments (e.g. Renishaw InVia "extended" scans) stitch several detector
    windows; in the export the windows overlap, so x repeats or interleaves where they meet,
    or the axis turns back. This merges them *explicitly*: every point is put in x order,
    and points closer than ``tolerance`` to their neighbour (an overlap pair, or an exact
    repeat) are averaged into one. The merge is appended to the provenance (segments found,
    points merged, tolerance), so it is never silent.

    Parameters
    ----------
    x, y
        The data as exported.
    tolerance
        Points whose x differ by less than this are one point. Default: half the median
        spacing of the data.
    **spectrum_fields
        Passed to :class:`Spectrum` (units, technique, title, ...).

    Raises
    ------
    SpectrumValidationError
        Empty, non-finite, or lengths differ.
    """
    xa = _as_readonly_f64(x, "x")
    ya = _as_readonly_f64(y, "y")
    if xa.shape != ya.shape:
        raise SpectrumValidationError(f"x has {xa.size} points but y has {ya.size}", field="y")
    dx = np.diff(xa)
    # a segment boundary is where the axis turns back on its own direction
    turns = int(np.count_nonzero(np.diff(np.sign(dx[dx != 0])) != 0)) if dx.size > 1 else 0
    order = np.argsort(xa, kind="stable")
    xs, ys = xa[order], ya[order]
    gaps = np.diff(xs)
    positive = gaps[gaps > 0]
    if tolerance is None:
        tolerance = 0.5 * float(np.median(positive)) if positive.size else 0.0
    # start a new merged point wherever the gap to the previous one is >= tolerance
    starts = np.concatenate(([True], gaps >= tolerance)) if xs.size > 1 else np.array([True])
    group = np.cumsum(starts) - 1
    counts = np.bincount(group).astype(np.float64)
    mx = np.bincount(group, weights=xs) / counts
    my = np.bincount(group, weights=ys) / counts
    step = ProvenanceStep(
        step="merge_segments",
        params={
            "input_points": int(xa.size),
            "output_points": int(mx.size),
            "points_merged": int(xa.size - mx.size),
            "direction_changes": turns,
            "tolerance": float(tolerance),
        },
    )
    prov = (*spectrum_fields.pop("provenance", ()), step)
    return Spectrum(mx, my, provenance=prov, **spectrum_fields)


__all__ = [
    "HASH_SCHEME",
    "Acquisition",
    "ProvenanceStep",
    "Spectrum",
    "merge_segments",
]
