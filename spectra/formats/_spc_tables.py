"""Code tables of the Galactic/Thermo SPC format (from the Galactic ``SPC.H`` header).

Each table maps a header code to the label Galactic software shows; the unit tables also
map to our :class:`~spectra.XUnit` / :class:`~spectra.YUnit` where one fits. A code we do
not know is kept as its number in ``Spectrum.extra`` and maps to ``OTHER``.
"""

from __future__ import annotations

from .._units import Technique, XUnit, YUnit

# ftflgs bits
TSPREC = 0x01
"""Y data are 16-bit integers (instead of 32-bit)."""
TCGRAM = 0x02
TMULTI = 0x04
"""The file holds several subfiles."""
TRANDM = 0x08
TORDRD = 0x10
TALABS = 0x20
"""Axis labels are stored as text in ``fcatxt``."""
TXYXYS = 0x40
"""Each subfile has its own X array (with ``TXVALS``)."""
TXVALS = 0x80
"""An X array (float32) is stored instead of an evenly spaced axis."""

FLOAT_EXPONENT = -128
"""``fexp``/``subexp`` value (0x80 as a signed byte) that marks IEEE float32 Y values."""

NEW_LSB = 0x4B
NEW_MSB = 0x4C
OLD = 0x4D
OLE_MAGIC = bytes.fromhex("D0CF11E0A1B11AE1")

EXPERIMENT: dict[int, str] = {
    0: "General SPC",
    1: "Gas Chromatogram",
    2: "General Chromatogram",
    3: "HPLC Chromatogram",
    4: "FT-IR, FT-NIR, FT-Raman Spectrum or Igram",
    5: "NIR Spectrum",
    6: "UV-VIS Spectrum",
    7: "X-ray Diffraction Spectrum",
    8: "Mass Spectrum",
    9: "NMR Spectrum or FID",
    10: "Raman Spectrum",
    11: "Fluorescence Spectrum",
    12: "Atomic Spectrum",
    13: "Chromatography Diode Array Spectra",
}

X_LABEL: dict[int, str] = {
    0: "Arbitrary",
    1: "Wavenumber (cm-1)",
    2: "Micrometers (um)",
    3: "Nanometers (nm)",
    4: "Seconds",
    5: "Minutes",
    6: "Hertz (Hz)",
    7: "Kilohertz (KHz)",
    8: "Megahertz (MHz)",
    9: "Mass (M/z)",
    10: "Parts per million (PPM)",
    11: "Days",
    12: "Years",
    13: "Raman Shift (cm-1)",
    14: "eV",
    15: "XYZ text labels in fcatxt",
    16: "Diode Number",
    17: "Channel",
    18: "Degrees",
    19: "Temperature (F)",
    20: "Temperature (C)",
    21: "Temperature (K)",
    22: "Data Points",
    23: "Milliseconds (mSec)",
    24: "Microseconds (uSec)",
    25: "Nanoseconds (nSec)",
    26: "Gigahertz (GHz)",
    27: "Centimeters (cm)",
    28: "Meters (m)",
    29: "Millimeters (mm)",
    30: "Hours",
    255: "Double interferogram",
}

X_UNIT: dict[int, XUnit] = {
    1: XUnit.WAVENUMBER,
    2: XUnit.WAVELENGTH_UM,
    3: XUnit.WAVELENGTH_NM,
    4: XUnit.SECONDS,
    6: XUnit.HZ,
    9: XUnit.MZ,
    10: XUnit.PPM,
    13: XUnit.RAMAN_SHIFT,
    16: XUnit.PIXEL,
    17: XUnit.PIXEL,
    22: XUnit.PIXEL,
}

Y_LABEL: dict[int, str] = {
    0: "Arbitrary Intensity",
    1: "Interferogram",
    2: "Absorbance",
    3: "Kubelka-Munk",
    4: "Counts",
    5: "Volts",
    6: "Degrees",
    7: "Milliamps",
    8: "Millimeters",
    9: "Millivolts",
    10: "Log(1/R)",
    11: "Percent",
    12: "Intensity",
    13: "Relative Intensity",
    14: "Energy",
    16: "Decibel",
    19: "Temperature (F)",
    20: "Temperature (C)",
    21: "Temperature (K)",
    22: "Index of Refraction [N]",
    23: "Extinction Coeff. [K]",
    24: "Real",
    25: "Imaginary",
    26: "Complex",
    128: "Transmission",
    129: "Reflectance",
    130: "Arbitrary or Single Beam with Valley Peaks",
    131: "Emission",
}

Y_UNIT: dict[int, YUnit] = {
    0: YUnit.ARBITRARY,
    2: YUnit.ABSORBANCE,
    3: YUnit.KUBELKA_MUNK,
    4: YUnit.COUNTS,
    12: YUnit.ARBITRARY,
    13: YUnit.ARBITRARY,
    129: YUnit.REFLECTANCE,
    # 128 (Transmission) is decided from the values: fraction or percent, see spc.py
}


def infer_technique(fexper: int, x_unit: XUnit, y_code: int, x_lo: float, x_hi: float) -> Technique:
    """The technique, from the experiment type first and the axis units second.

    Parameters
    ----------
    fexper
        The ``fexper`` code.
    x_unit
        The x unit already mapped from ``fxtype``.
    y_code
        The raw ``fytype`` code.
    x_lo, x_hi
        The x range of the first subfile.

    Returns
    -------
    Technique
        ``OTHER`` when neither says anything we can trust.
    """
    absorption_y = y_code in (2, 3, 10, 128, 129)
    if x_unit is XUnit.RAMAN_SHIFT or fexper == 10:
        return Technique.RAMAN
    if fexper == 4:  # FT-IR, FT-NIR, FT-Raman or interferogram
        if y_code == 1:
            return Technique.OTHER  # an interferogram is not a spectrum to identify
        if x_unit is XUnit.WAVENUMBER and x_lo >= 4000.0:
            return Technique.NIR
        return Technique.INFRARED
    if fexper == 5:
        return Technique.NIR
    if fexper == 6:
        return Technique.UV_VIS
    if fexper == 8 or x_unit is XUnit.MZ:
        return Technique.MASS
    if fexper == 9 or x_unit is XUnit.PPM:
        return Technique.NMR
    if fexper == 0 and absorption_y:
        if x_unit is XUnit.WAVENUMBER:
            return Technique.NIR if x_lo >= 4000.0 else Technique.INFRARED
        if x_unit is XUnit.WAVELENGTH_UM:
            return Technique.NIR if x_hi <= 2.6 else Technique.INFRARED
        if x_unit is XUnit.WAVELENGTH_NM:
            return Technique.UV_VIS if x_hi <= 1000.0 else Technique.NIR
    return Technique.OTHER
