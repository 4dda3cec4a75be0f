"""The one rule that turns ``start, stop, step`` into an axis.

>>> grid(150.0, 153.0, 1.0)
array([150., 151., 152., 153.])
>>> grid(200.0, 210.0, 3.0)  # never past stop
array([200., 203., 206., 209.])

The library axes (``matcher.defaults``, the station's embedded FTIR range, ``interdict
library build --axis``), the ``resample`` step and the learned model's input length all
take their axis from here, so a grid described by the same three numbers is the same array
everywhere.
"""

from __future__ import annotations

import math

import numpy as np

from ._errors import SpectrumValidationError
from ._units import FloatArray
from ._validation import as_float

MAX_GRID_POINTS = 10_000_000
"""Refuse a start/stop/step axis longer than this (a typo in ``step``, most likely)."""


def grid(start: float, stop: float, step: float) -> FloatArray:
    """``start, start + step, …`` up to ``stop``: included when it lies on the grid (to
    rounding), never passed.

    Parameters
    ----------
    start, stop, step
        Finite numbers, ``stop >= start``, ``step > 0``.

    Returns
    -------
    numpy.ndarray
        ``(n,)`` float64, ``x[i] = start + i·step``.

    Raises
    ------
    SpectrumValidationError
        A value not finite, ``step <= 0``, ``stop < start``, or more than
        :data:`MAX_GRID_POINTS` points (``field`` names the parameter).
    """
    a = as_float("start", start)
    b = as_float("stop", stop)
    d = as_float("step", step, positive=True)
    if b < a:
        raise SpectrumValidationError(f"must be >= start ({a!r}), got {b!r}", field="stop")
    n = math.floor((b - a) / d * (1 + 1e-12) + 1e-9) + 1
    if n > MAX_GRID_POINTS:
        raise SpectrumValidationError(
            f"start={a!r}, stop={b!r}, step={d!r} makes {n} points (> {MAX_GRID_POINTS})",
            field="step",
        )
    return a + d * np.arange(n, dtype=np.float64)


__all__ = ["MAX_GRID_POINTS", "grid"]
