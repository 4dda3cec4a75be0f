"""Units, techniques, and unit conversions of spectra."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from ._errors import UnitError


class XUnit(StrEnum):
    """Unit of the x axis."""

    RAMAN_SHIFT = "raman-shift-cm-1"
    """Raman shift, cm⁻¹ (relative to the excitation line)."""
    WAVENUMBER = "wavenumber-cm-1"
    """Absolute wavenumber, cm⁻¹ (infrared, or absolute Raman scale)."""
    WAVELENGTH_NM = "wavelength-nm"
    WAVELENGTH_UM = "wavelength-um"
    PIXEL = "pixel"
    HZ = "hz"
    PPM = "ppm"
    MZ = "m/z"
    SECONDS = "s"
    OTHER = "other"


class YUnit(StrEnum):
    """Unit of the intensities."""

    COUNTS = "counts"
    ABSORBANCE = "absorbance"
    TRANSMITTANCE = "transmittance"
    """Transmittance as a fraction, 0-1."""
    TRANSMITTANCE_PERCENT = "transmittance-percent"
    REFLECTANCE = "reflectance"
    KUBELKA_MUNK = "kubelka-munk"
    ARBITRARY = "arbitrary"
    OTHER = "other"


class Technique(StrEnum):
    """How the spectrum was measured."""

    RAMAN = "raman"
    FTIR_ATR = "ftir-atr"
    FTIR_TRANSMISSION = "ftir-transmission"
    INFRARED = "infrared"
    """Infrared of unstated sampling (gas cell, reflectance, library data)."""
    NIR = "nir"
    UV_VIS = "uv-vis"
    NMR = "nmr"
    MASS = "mass"
    OTHER = "other"

    @property
    def is_infrared(self) -> bool:
        """Whether this is a mid-infrared absorption technique (FTIR family)."""
        return self in (Technique.FTIR_ATR, Technique.FTIR_TRANSMISSION, Technique.INFRARED)


FloatArray = NDArray[np.float64]


def _require_excitation(excitation_nm: float | None) -> float:
    if excitation_nm is None:
        raise UnitError("this conversion needs the excitation wavelength (excitation_nm)")
    if not (np.isfinite(excitation_nm) and excitation_nm > 0):
        raise UnitError(f"excitation_nm must be a positive finite number, got {excitation_nm!r}")
    return float(excitation_nm)


def raman_shift_to_wavenumber(shift: FloatArray, excitation_nm: float | None) -> FloatArray:
    """Raman shift (cm⁻¹) → absolute wavenumber (cm⁻¹) of the scattered light.

    ``ν̃_abs = 10⁷/λ_ex − Δν̃`` (Stokes shifts are positive).
    """
    ex = _require_excitation(excitation_nm)
    return np.asarray(1e7 / ex - np.asarray(shift, dtype=np.float64), dtype=np.float64)


def wavenumber_to_raman_shift(wavenumber: FloatArray, excitation_nm: float | None) -> FloatArray:
    """Absolute wavenumber (cm⁻¹) → Raman shift (cm⁻¹)."""
    ex = _require_excitation(excitation_nm)
    return np.asarray(1e7 / ex - np.asarray(wavenumber, dtype=np.float64), dtype=np.float64)


def wavenumber_to_wavelength_nm(wavenumber: FloatArray) -> FloatArray:
    """Absolute wavenumber (cm⁻¹) → wavelength (nm); the relation is its own inverse."""
    w = np.asarray(wavenumber, dtype=np.float64)
    if np.any(w <= 0):
        raise UnitError("wavenumbers must be positive to convert to wavelength")
    return np.asarray(1e7 / w, dtype=np.float64)


wavelength_nm_to_wavenumber = wavenumber_to_wavelength_nm


def transmittance_to_absorbance(t: FloatArray, *, percent: bool) -> FloatArray:
    """Transmittance (fraction or %) → absorbance ``A = −log10(T)``.

    Non-positive transmittance has no absorbance and raises :class:`UnitError`.
    """
    frac = np.asarray(t, dtype=np.float64) / (100.0 if percent else 1.0)
    if np.any(frac <= 0):
        raise UnitError("transmittance must be > 0 everywhere to convert to absorbance")
    return np.asarray(-np.log10(frac), dtype=np.float64)


def absorbance_to_transmittance(a: FloatArray, *, percent: bool) -> FloatArray:
    """Absorbance → transmittance ``T = 10^(−A)`` (fraction, or % when ``percent``)."""
    frac = np.power(10.0, -np.asarray(a, dtype=np.float64))
    return np.asarray(frac * (100.0 if percent else 1.0), dtype=np.float64)
