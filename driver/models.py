"""Dialect-neutral records the Analyzer API exchanges with any protocol dialect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from .capabilities import MAX_POLYNOMIAL_DEGREE, TechniqueName

ScanKindName = Literal["sample", "dark", "background", "self-test"]


class Configuration(BaseModel):
    """Acquisition settings. ``laser_power_mw`` is ignored by techniques without a laser."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    technique: TechniqueName
    integration_ms: float = Field(gt=0)
    accumulations: int = Field(ge=1)
    laser_power_mw: float = Field(default=0.0, ge=0)


class DeviceStatus(BaseModel):
    """The answer to *status*."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    state: Literal["ready", "acquiring", "fault"]
    battery_pct: int | None = Field(ge=0, le=100)
    """``None``: the device has no battery (or does not report it), as OBP spectrometers."""
    detector_temp_c: float | None
    laser_interlock_closed: bool | None
    boot_id: int
    last_scan_id: int
    last_scan_source: Literal["host", "button"]
    technique: str

    @property
    def ready(self) -> bool:
        """Whether the device can start a scan now."""
        return self.state == "ready"


class AxisPolynomial(BaseModel):
    """A calibrated axis as a polynomial of the pixel index."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["polynomial"] = "polynomial"
    coefficients: list[float] = Field(min_length=2, max_length=MAX_POLYNOMIAL_DEGREE + 1)


class SelfTestPeak(BaseModel):
    """One reference peak of the self-test standard."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    expected: float
    found: float | None
    tolerance: float

    @property
    def ok(self) -> bool:
        """Whether the peak was found within tolerance."""
        return self.found is not None and abs(self.found - self.expected) <= self.tolerance


class SelfTestReport(BaseModel):
    """The device's verdict on its reference standard."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    standard: str
    technique: str
    peaks: list[SelfTestPeak]
    passed: bool


class ScanHeader(BaseModel):
    """Everything known about one scan except its data."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scan_id: int
    kind: ScanKindName
    source: Literal["host", "button"]
    technique: TechniqueName
    """Parsed here, where the device's header is read: a name without a
    :class:`spectra.Technique` (:func:`driver.capabilities.spectra_technique`) is refused."""
    x_unit: str
    y_unit: str
    dtype: Literal["<u2", "<u4", "<f4"]
    n: int = Field(gt=0)
    axis: AxisPolynomial
    excitation_nm: float | None = None
    integration_ms: float
    accumulations: int
    laser_power_mw: float | None = None
    acquired_at: datetime
    detector_temp_c: float | None
    saturated_pixels: int = 0
    self_test: SelfTestReport | None = None
    extra: dict[str, JsonValue] = Field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Ticket:
    """A scan the device accepted."""

    scan_id: int
    boot_id: int
    expected_ms: int
    source: Literal["host", "button"] = "host"


@dataclass(frozen=True, slots=True)
class RawScan:
    """A scan as fetched: header and values (counts or absorbance), shape ``(n,)``."""

    header: ScanHeader
    values: NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Accumulation ``done`` of ``total`` finished for scan ``scan_id``."""

    scan_id: int
    done: int
    total: int


@dataclass(frozen=True, slots=True)
class ScanStarted:
    """A scan started (``source="button"``: the officer pressed the trigger)."""

    scan_id: int
    source: Literal["host", "button"]
    expected_ms: int


@dataclass(frozen=True, slots=True)
class ScanComplete:
    """A scan ended; ``error`` is 0 when its data can be fetched."""

    scan_id: int
    source: Literal["host", "button"]
    error: int


@dataclass(frozen=True, slots=True)
class LowBattery:
    """The device warned of a low battery."""

    battery_pct: int


@dataclass(frozen=True, slots=True)
class Booted:
    """The device (re)started."""

    boot_id: int


Event = ProgressEvent | ScanStarted | ScanComplete | LowBattery | Booted
JsonDict = dict[str, JsonValue]
