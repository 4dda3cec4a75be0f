"""Intensity normalisation: vector (L2), SNV, min-max, area."""

from __future__ import annotations

from typing import Literal

import numpy as np

from .._errors import SpectrumValidationError
from .._model import Spectrum
from ._step import record

NormalizeMethod = Literal["vector", "snv", "minmax", "area"]


def normalize(spectrum: Spectrum, *, method: NormalizeMethod = "vector") -> Spectrum:
    """Scale intensities.

    Parameters
    ----------
    method
        ``"vector"``: unit L2 norm; ``"snv"``: zero mean, unit standard deviation;
        ``"minmax"``: 0 to 1; ``"area"``: unit trapezoidal area of ``|y|`` over x.

    Raises
    ------
    SpectrumValidationError
        If the spectrum is flat (nothing to scale by).
    """
    y = spectrum.y
    if method == "vector":
        scale = float(np.linalg.norm(y))
        out = y / scale if scale > 0 else None
    elif method == "snv":
        sd = float(np.std(y))
        out = (y - np.mean(y)) / sd if sd > 0 else None
    elif method == "minmax":
        lo, hi = float(np.min(y)), float(np.max(y))
        out = (y - lo) / (hi - lo) if hi > lo else None
    elif method == "area":
        area = float(np.trapezoid(np.abs(y), spectrum.x))
        out = y / area if area > 0 else None
    else:
        raise SpectrumValidationError(
            f"unknown method {method!r}; use vector, snv, minmax or area", field="method"
        )
    if out is None:
        raise SpectrumValidationError(f"cannot {method}-normalise a flat spectrum", field="y")
    return record(spectrum, "normalize", {"method": method}, y=out)
