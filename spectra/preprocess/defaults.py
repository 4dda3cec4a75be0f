"""Default pipelines for handheld Raman and FTIR spectra.

Functions, not module constants: each call builds a fresh :class:`Pipeline`, so no caller
can alter what another gets. The matcher may tune these; whatever it picks is recorded in
every processed spectrum's provenance anyway.
"""

from __future__ import annotations

from .._errors import SpectrumValidationError
from .._units import Technique
from ._pipeline import Pipeline


def default_raman() -> Pipeline:
    """Despike → arPLS baseline → Savitzky-Golay smoothing → unit L2 norm.

    Tuned for handheld Raman: about 1 cm⁻¹ per point over a 200-3200 cm⁻¹ range, bands
    5-15 points wide, a broad fluorescence background. ``lam=1e6`` follows the background
    without eating bands at that density; the 11-point, cubic smoothing window is about
    the width of the narrowest bands.
    """
    return Pipeline.of(
        ("despike", {"threshold": 7.0, "max_width": 3}),
        ("baseline", {"method": "arpls", "lam": 1e6}),
        ("smooth", {"window": 11, "polyorder": 3}),
        ("normalize", {"method": "vector"}),
    )


def default_ftir() -> Pipeline:
    """arPLS baseline → Savitzky-Golay smoothing → unit L2 norm (no despiking: no cosmic rays).

    For absorbance spectra at 2-4 cm⁻¹ resolution (about 1,000-2,000 points over
    4000-650 cm⁻¹), where bands are broader (an O-H stretch spans 30+ points) and the
    baseline is a gentle tilt or offset: a stiffer ``lam=1e7`` keeps the baseline out of
    broad bands (and converges in fewer iterations).
    """
    return Pipeline.of(
        ("baseline", {"method": "arpls", "lam": 1e7}),
        ("smooth", {"window": 9, "polyorder": 3}),
        ("normalize", {"method": "vector"}),
    )


def default_for(technique: Technique | str) -> Pipeline:
    """The default pipeline for a technique: Raman → :func:`default_raman`, FTIR family →
    :func:`default_ftir`.

    Raises
    ------
    SpectrumValidationError
        For any other technique (there is no sensible default for, say, NMR).
    """
    try:
        tech = Technique(technique)
    except ValueError as exc:
        raise SpectrumValidationError(
            f"unknown technique {technique!r}", field="technique"
        ) from exc
    if tech is Technique.RAMAN:
        return default_raman()
    if tech.is_infrared:
        return default_ftir()
    raise SpectrumValidationError(
        f"no default pipeline for {tech.value}; build one with Pipeline.of(...)",
        field="technique",
    )


DEFAULT_RAMAN = default_raman
"""Alias: ``DEFAULT_RAMAN()`` builds the default Raman pipeline."""
DEFAULT_FTIR = default_ftir
"""Alias: ``DEFAULT_FTIR()`` builds the default FTIR pipeline."""
