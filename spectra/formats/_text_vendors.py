"""Vendor knowledge for delimited-text exports: metadata keys, column names, header flavours.

Kept apart from the parser so the rules read as data (see ``docs/formats/text.md``).
"""

from __future__ import annotations

import re

from .._model import Acquisition

NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
"""One number as it appears in a cell (decimal point; decimal commas are converted first)."""

_SEARCH_NUMBER = re.compile(r"[+-]?(?:\d+(?:[.,]\d*)?|[.,]\d+)(?:[eE][+-]?\d+)?")

EXCITATION_KEYS = frozenset({
    "laser_wavelength",        # B&W Tek BWSpec/BWRam: "laser_wavelength;784,82"
    "laserwavelength_nm",      # LightNovo: "LaserWavelength_nm\t785"
    "laserwavelength",
    "laser_wavelength_nm",
    "wl",                      # Neegala: "wl,532nm"
    "excitation",
    "excitation_nm",
    "excitation_wavelength",
    "laser",
    "laser_nm",                # Horiba LabSpec: "#Laser (nm)=\t785"
})

ENLIGHTEN_X = ("wavenumber", "wavelength", "pixel")
"""Wasatch ENLIGHTEN exports: x is the first of these columns present (``Wavenumber`` is the
Raman shift ENLIGHTEN computes from the laser line: 1e7/laser − 1e7/wavelength)."""

ENLIGHTEN_Y = ("processed", "raw")
"""Wasatch ENLIGHTEN exports: y is the first of these columns present."""

X_PREFERRED = ("raman_shift", "ramanshift")
"""Column names chosen as x before the first column (Neegala, B&W Tek have a pixel column first)."""

Y_PRIORITY = (
    "dark_subtracted",  # B&W Tek: "Dark Subtracted #1" (raw minus dark)
    "processed",        # Neegala: "Processed_Data" (raw minus background)
    "intensity",
    "counts",
    "absorbance",
    "transmittance",
    "signal",
    "y",
)
"""Column names chosen as y, in this order of preference; first match wins."""


def norm_key(text: str) -> str:
    """A header key or column name lower-cased, with runs of non-alphanumerics as ``_``."""
    return re.sub(r"[^0-9a-z]+", "_", text.lower()).strip("_")


def number_in(text: str) -> float | None:
    """The first number in ``text`` (decimal point or comma), or ``None``."""
    m = _SEARCH_NUMBER.search(text)
    if not m:
        return None
    try:
        return float(m.group(0).replace(",", "."))
    except ValueError:
        return None


def excitation_from(meta: dict[str, str]) -> float | None:
    """Laser wavelength (nm) from header key/value pairs, if one is stated plausibly."""
    for key, value in meta.items():
        if norm_key(key) in EXCITATION_KEYS:
            nm = number_in(value)
            if nm is not None and 150.0 < nm < 2000.0:
                return nm
    return None


def acquisition_from(meta: dict[str, str], make: str | None) -> Acquisition:
    """Instrument fields from header key/value pairs (B&W Tek, Neegala, LightNovo, Horiba
    LabSpec, Wasatch ENLIGHTEN and Ocean Optics names)."""
    n = {norm_key(k): v.strip() for k, v in meta.items()}

    def num(*keys: str) -> float | None:
        for k in keys:
            if k in n:
                value = number_in(n[k])
                if value is not None:
                    return value
        return None

    integration = num("intigration_times_ms", "integration_times_ms", "exposure_ms",
                      "integration_time_ms")
    if integration is None and make == "Wasatch Photonics":
        integration = num("integration_time")  # ENLIGHTEN writes milliseconds, unlabelled
    if integration is None:
        integration = num("integration_time_msec")  # Ocean Optics OOIBase32
    if integration is None:
        micro = num("integration_time_usec")  # Ocean Optics SpectraSuite
        integration = micro / 1000.0 if micro is not None else None
    if integration is None:
        seconds = num("acq_time_s")  # Horiba LabSpec: "#Acq. time (s)=\t10"
        integration = seconds * 1000.0 if seconds is not None else None
    if integration is None and "integ_time" in n:  # Neegala: integ_time + integ_unit
        value = number_in(n["integ_time"])
        unit = n.get("integ_unit", "ms").lower()
        if value is not None:
            integration = value * {"s": 1000.0, "ms": 1.0, "us": 1e-3}.get(unit, 1.0)
    accum = num("average_number", "averages", "repetitioncount", "accumulations",
                "scan_averaging", "spectra_averaged")
    power = num("laserpower_mw", "laser_power_mw")
    model = n.get("model") or n.get("spectrometer") or None
    serial = (n.get("devicesn") or n.get("serial_number")
              or n.get("spectrometer_serial_number") or n.get("device") or None)
    operator = n.get("operator") or n.get("user") or None
    return Acquisition(
        instrument_make=make,
        instrument_model=model or None,
        instrument_serial=serial or None,
        firmware=n.get("fw_version") or None,
        integration_time_ms=integration if integration and integration > 0 else None,
        accumulations=int(accum) if accum and accum >= 1 and float(accum).is_integer() else None,
        laser_power_mw=power if power is not None and power >= 0 else None,
        operator=operator or None,
    )
