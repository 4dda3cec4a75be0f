"""Device capabilities as data: what an analyzer can do and within which limits.

Each technique an analyzer offers is a :class:`TechniqueCaps`; a device model is a
:class:`Capabilities`. The built-in :data:`PROFILES` (``raman-785``, ``ftir-atr``, ``dual``)
describe Gemini-class handhelds and are what the simulator impersonates. Declarations are
validated when built (pydantic), so an inconsistent profile fails at import, not in the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Literal, Self

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from spectra import Technique

TechniqueName = Literal["raman", "ftir"]
XUnitName = Literal["raman-shift-cm-1", "wavenumber-cm-1", "wavelength-nm"]
"""Values of :class:`spectra.XUnit` an analyzer reports (kept as text so that the simulator
starts without importing the spectrum core). Spectrometers calibrated in wavelength (OBP)
report ``wavelength-nm``; the Analyzer turns Raman spectra into Raman shift."""
YUnitName = Literal["counts", "absorbance"]

MAX_PIXELS = 65536
"""Most values one scan of any technique may have: the driver's absolute limit, whatever a
device declares (a 16-bit pixel index covers every handheld detector)."""
MAX_NAME_CHARS = 256
"""Longest make, model, serial, firmware or protocol name a device may declare."""
MAX_POLYNOMIAL_DEGREE = 5
"""Highest degree of an axis calibration polynomial (6 coefficients)."""

DeclaredName = Annotated[str, Field(max_length=MAX_NAME_CHARS)]
"""A name the device declares about itself (stored with every inspection, printed escaped)."""


class Limits(BaseModel):
    """A closed interval ``[min, max]`` of allowed values."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min: float
    max: float

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.min <= self.max:
            raise ValueError(f"min {self.min} > max {self.max}")
        return self

    def __contains__(self, value: object) -> bool:
        return isinstance(value, int | float) and self.min <= value <= self.max


class TechniqueCaps(BaseModel):
    """One technique of a device: detector, axis calibration, limits."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    technique: TechniqueName
    excitation_nm: float | None = Field(default=None, gt=0)
    pixels: int = Field(gt=1, le=MAX_PIXELS)
    x_unit: XUnitName
    y_unit: YUnitName
    axis_coefficients: tuple[float, ...] = Field(min_length=2,
                                                 max_length=MAX_POLYNOMIAL_DEGREE + 1)
    """Calibration polynomial, x(p) = sum(c[i] * p**i) for pixel p = 0..pixels-1."""
    integration_ms: Limits
    accumulations: Limits
    laser_power_mw: Limits | None = None
    """Settable laser power; ``None`` when the laser is not controlled through this link."""
    adc_max: int | None = Field(default=None, gt=0)
    """Full scale of one read-out (counts); None for processed (absorbance) data."""
    readout_ms: float = Field(default=20.0, ge=0)
    """Fixed overhead per accumulation on top of the integration time."""

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.technique == "raman":
            if self.excitation_nm is None:
                raise ValueError("a Raman technique needs excitation_nm")
            if self.adc_max is None:
                raise ValueError("a Raman detector needs adc_max")
        x = self.axis()
        if not np.all(np.diff(x) > 0):
            raise ValueError("axis_coefficients do not give a strictly increasing axis")
        return self

    def axis(self) -> np.ndarray:
        """The nominal calibrated axis, shape ``(pixels,)``."""
        p = np.arange(self.pixels, dtype=np.float64)
        out: np.ndarray = np.polynomial.polynomial.polyval(p, np.asarray(self.axis_coefficients))
        return out

    @property
    def spectra_technique(self) -> Technique:
        """The :class:`spectra.Technique` of spectra this technique produces."""
        return spectra_technique(self.technique)


def spectra_technique(name: str) -> Technique:
    """The :class:`spectra.Technique` of the spectra a device technique produces: the one
    translation from the names analyzers use on the wire (:data:`TechniqueName`; a handheld
    FTIR is an ATR instrument) to the vocabulary of spectra, libraries and the store.

    >>> spectra_technique("ftir").value
    'ftir-atr'

    Raises
    ------
    ValueError
        Not a :data:`TechniqueName`.
    """
    from spectra import Technique

    if name == "raman":
        return Technique.RAMAN
    if name == "ftir":
        return Technique.FTIR_ATR
    raise ValueError(f"unknown analyzer technique {name!r} (known: raman, ftir)")


class Capabilities(BaseModel):
    """All a device model can do."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    techniques: tuple[TechniqueCaps, ...] = Field(min_length=1)
    self_test_standard: DeclaredName = "polystyrene"
    trigger_button: bool = True
    buffer_capacity: int = Field(default=0, ge=0)
    """Spectra the device can keep in its own buffer (0: no buffer)."""

    @model_validator(mode="after")
    def _unique(self) -> Self:
        names = [t.technique for t in self.techniques]
        if len(set(names)) != len(names):
            raise ValueError(f"technique declared twice: {names}")
        return self

    def technique(self, name: str) -> TechniqueCaps:
        """The capabilities of technique ``name``.

        Raises
        ------
        KeyError
            The device does not offer it (callers turn this into ``NotSupportedError``).
        """
        for t in self.techniques:
            if t.technique == name:
                return t
        raise KeyError(name)

    @property
    def technique_names(self) -> tuple[str, ...]:
        """The names of the techniques offered, default first."""
        return tuple(t.technique for t in self.techniques)


class DeviceInfo(BaseModel):
    """The answer to *identify*."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    make: DeclaredName
    model: DeclaredName
    serial: DeclaredName
    firmware: DeclaredName
    protocol: DeclaredName
    protocol_version: int
    capabilities: Capabilities
    simulated: bool = False


def _linear_axis(x0: float, x1: float, n: int, curvature: float) -> tuple[float, float, float]:
    """Coefficients of a slightly curved axis from x0 at pixel 0 to x1 at pixel n-1."""
    last = n - 1
    c2 = curvature
    c1 = (x1 - x0 - c2 * last * last) / last
    return (x0, c1, c2)


RAMAN_785 = TechniqueCaps(
    technique="raman",
    excitation_nm=785.0,
    pixels=2048,
    x_unit="raman-shift-cm-1",
    y_unit="counts",
    axis_coefficients=_linear_axis(150.0, 2800.0, 2048, -4.0e-5),
    integration_ms=Limits(min=1, max=30000),
    accumulations=Limits(min=1, max=100),
    laser_power_mw=Limits(min=10, max=490),
    adc_max=65535,
    readout_ms=15.0,
)
FTIR_ATR = TechniqueCaps(
    technique="ftir",
    pixels=1738,
    x_unit="wavenumber-cm-1",
    y_unit="absorbance",
    axis_coefficients=(650.0, 1.92845, 0.0),
    integration_ms=Limits(min=100, max=60000),
    accumulations=Limits(min=1, max=256),
    readout_ms=5.0,
)

PROFILES: dict[str, Capabilities] = {
    "raman-785": Capabilities(techniques=(RAMAN_785,)),
    "ftir-atr": Capabilities(techniques=(FTIR_ATR,)),
    "dual": Capabilities(techniques=(RAMAN_785, FTIR_ATR)),
}
"""Built-in device profiles, by the name ``interdict simulate --profile`` takes."""

__all__ = [
    "FTIR_ATR",
    "MAX_NAME_CHARS",
    "MAX_PIXELS",
    "MAX_POLYNOMIAL_DEGREE",
    "PROFILES",
    "RAMAN_785",
    "Capabilities",
    "DeviceInfo",
    "Limits",
    "TechniqueCaps",
    "TechniqueName",
    "spectra_technique",
]
