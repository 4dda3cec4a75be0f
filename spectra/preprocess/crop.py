"""Crop a spectrum to an x range."""

from __future__ import annotations

import numpy as np

from .._errors import SpectrumValidationError
from .._model import Spectrum
from ._step import record


def crop(spectrum: Spectrum, *, x_min: float | None = None, x_max: float | None = None) -> Spectrum:
    """Keep the points with ``x_min <= x <= x_max`` (either bound may be omitted).

    Raises
    ------
    SpectrumValidationError
        If no point is left.
    """
    lo = -np.inf if x_min is None else float(x_min)
    hi = np.inf if x_max is None else float(x_max)
    keep = (spectrum.x >= lo) & (spectrum.x <= hi)
    if not np.any(keep):
        raise SpectrumValidationError(
            f"crop to [{x_min}, {x_max}] leaves no point of an axis "
            f"{spectrum.x[0]:g}..{spectrum.x[-1]:g}",
            field="x",
        )
    return record(
        spectrum, "crop", {"x_min": x_min, "x_max": x_max},
        x=spectrum.x[keep], y=spectrum.y[keep],
    )
