"""The DEFAULT identification pipeline, chosen for accuracy on real data (``bench/accuracy.py``).

Library builder, station and benchmark all take their defaults from here, so what is
measured is what is used. How they were chosen, and the figures, are in
``docs/accuracy.md``.

Raman (RRUFF benchmark, 2,260 queries of other specimens): resample onto a 1 cm⁻¹ grid
(edge values held outside the data, so windows mean the same cm⁻¹ on every instrument) →
despike → Savitzky-Golay smoothing (7 points, quadratic) → morphological rolling-ball
baseline (half-window 20 cm⁻¹: narrower than the common 50 cm⁻¹ choices, which leave broad
humps under mineral bands) → unit-vector normalisation (NOT min-max: min-max lifts the
negative dips a baseline leaves, which cost 2 points of top-1); ranked by :class:`Representation`
(square-root intensities, Pearson r on the HQI scale).

Functions, not module constants: each call builds fresh objects, so no caller can alter
what another gets.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from spectra import Pipeline, SpectrumValidationError, Technique, grid

from .mixture import MixtureConfig
from .representation import Representation
from .verdict import Thresholds

RAMAN_RANGE: tuple[float, float, float] = (150.0, 1800.0, 1.0)
"""Raman library axis: start, stop, step (cm⁻¹ Raman shift)."""
FTIR_RANGE: tuple[float, float, float] = (450.0, 1800.0, 2.0)
"""FTIR library axis: start, stop, step (cm⁻¹): the fingerprint region."""


def raman_pipeline() -> Pipeline:
    """The default Raman identification pipeline (see the module notes)."""
    start, stop, step = RAMAN_RANGE
    return Pipeline.of(
        ("resample", {"start": start, "stop": stop, "step": step, "fill": "edge"}),
        ("despike", {"threshold": 7.0, "max_width": 3}),
        ("smooth", {"window": 7, "polyorder": 2}),
        ("baseline", {"method": "rolling_ball", "half_window": 20, "smooth_half_window": 20}),
        ("normalize", {"method": "vector"}),
    )


def ftir_pipeline() -> Pipeline:
    """The default FTIR (absorbance) identification pipeline.

    The same shape as Raman on a 2 cm⁻¹ grid, smoothed a little more (9 points) and with a
    rolling-ball half-window of 10 points (20 cm⁻¹), chosen on the tune half of the RRUFF
    infrared queries among 10-25 point half-windows (wider ones lost 1-3 points of top-1).
    """
    start, stop, step = FTIR_RANGE
    return Pipeline.of(
        ("resample", {"start": start, "stop": stop, "step": step, "fill": "edge"}),
        ("smooth", {"window": 9, "polyorder": 2}),
        ("baseline", {"method": "rolling_ball", "half_window": 10, "smooth_half_window": 10}),
        ("normalize", {"method": "vector"}),
    )


def pipeline_for(technique: Technique | str) -> Pipeline:
    """The default identification pipeline of a technique.

    Raises
    ------
    SpectrumValidationError
        For a technique that is neither Raman nor infrared.
    """
    tech = Technique(technique)
    if tech is Technique.RAMAN:
        return raman_pipeline()
    if tech.is_infrared:
        return ftir_pipeline()
    raise SpectrumValidationError(
        f"no default identification pipeline for {tech.value}", field="technique"
    )


def axis_for(technique: Technique | str) -> NDArray[np.float64]:
    """The default library axis of a technique (the pipeline's resample grid)."""
    tech = Technique(technique)
    start, stop, step = RAMAN_RANGE if tech is Technique.RAMAN else FTIR_RANGE
    if tech is not Technique.RAMAN and not tech.is_infrared:
        raise SpectrumValidationError(f"no default axis for {tech.value}", field="technique")
    return grid(start, stop, step)


def representation() -> Representation:
    """The default ranking representation."""
    return Representation()


def thresholds(technique: Technique | str | None = None) -> Thresholds:
    """The default verdict thresholds (of a technique, when given).

    Infrared gets no axis-offset search (``max_shift_cm=0``): an FTIR interferometer's
    wavenumber axis is referenced to its HeNe laser, so it does not drift by cm⁻¹ as a
    dispersive handheld Raman's does (on the RRUFF infrared queries the search cost a
    point of top-1 and found nothing real).
    """
    if technique is not None and Technique(technique).is_infrared:
        return Thresholds(max_shift_cm=0.0)
    return Thresholds()


def matcher() -> str:
    """The default matcher (``classic``, ``learned`` or ``fused``; see docs/accuracy.md for
    the measurements that chose it)."""
    return "classic"


def fusion_weight() -> float:
    """Weight ``w`` of the embedding in the fused ranking ``r + w·c`` (chosen on the
    validation quarter of the tune half, docs/accuracy.md)."""
    return 0.5


def mixture_config() -> MixtureConfig:
    """The default mixture rules."""
    return MixtureConfig()


__all__ = [
    "FTIR_RANGE",
    "RAMAN_RANGE",
    "axis_for",
    "ftir_pipeline",
    "fusion_weight",
    "matcher",
    "mixture_config",
    "pipeline_for",
    "raman_pipeline",
    "representation",
    "thresholds",
]
