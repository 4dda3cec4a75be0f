"""Parameter checks shared by the preprocessing steps and the grid: validate once, name it.

Every check raises :class:`~spectra.SpectrumValidationError` whose ``field`` is the
parameter's name, so a bad value in a pipeline's JSON points at the exact key.
"""

from __future__ import annotations

import math
from numbers import Integral, Real

import numpy as np

from ._errors import SpectrumValidationError
from ._units import FloatArray

UNIFORM_RTOL = 1e-6
"""Relative spread of the axis spacing under which an axis counts as uniform."""


def as_int(name: str, value: object, *, minimum: int | None = None) -> int:
    """``value`` as an ``int``, refusing floats with a fraction, bools and non-numbers."""
    if isinstance(value, bool) or not isinstance(value, Integral | Real):
        raise SpectrumValidationError(f"must be an integer, got {value!r}", field=name)
    f = float(value)
    if not (math.isfinite(f) and f.is_integer()):
        raise SpectrumValidationError(f"must be an integer, got {value!r}", field=name)
    out = int(f) if not isinstance(value, Integral) else int(value)
    if minimum is not None and out < minimum:
        raise SpectrumValidationError(f"must be >= {minimum}, got {out}", field=name)
    return out


def as_float(
    name: str, value: object, *, positive: bool = False, minimum: float | None = None
) -> float:
    """``value`` as a finite ``float``; optionally ``> 0`` or ``>= minimum``."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise SpectrumValidationError(f"must be a number, got {value!r}", field=name)
    out = float(value)
    if not math.isfinite(out):
        raise SpectrumValidationError(f"must be finite, got {value!r}", field=name)
    if positive and out <= 0:
        raise SpectrumValidationError(f"must be > 0, got {out!r}", field=name)
    if minimum is not None and out < minimum:
        raise SpectrumValidationError(f"must be >= {minimum}, got {out!r}", field=name)
    return out


def uniform_step(x: FloatArray, rtol: float = UNIFORM_RTOL) -> float | None:
    """The common spacing of ``x`` if it is uniform within ``rtol``, else ``None``."""
    if x.size < 2:
        return None
    dx = np.diff(x)
    mean = float((x[-1] - x[0]) / (x.size - 1))
    if mean > 0 and float(np.max(np.abs(dx - mean))) <= rtol * mean:
        return mean
    return None
