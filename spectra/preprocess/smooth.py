"""Savitzky-Golay smoothing and derivatives (:func:`scipy.signal.savgol_filter`).

SciPy is imported when a step first runs, not when a pipeline naming it is read.
"""

from __future__ import annotations

import warnings

import numpy as np

from .._errors import ParameterWarning, SpectrumValidationError
from .._model import Spectrum
from .._units import FloatArray
from .._validation import as_int, uniform_step
from ._step import record

LOCAL_SPREAD_WARN = 0.05
"""Smoothing warns when the spacing varies by more than this (max/min − 1) within a window.

Real dispersive instruments have a smoothly varying spacing (a pixel-to-shift calibration
goes from, say, 2.6 to 1.7 cm⁻¹ across the range); within one window that is a fraction
of a per cent, and the filter's even-spacing assumption holds. Jumps (joined segments,
dropped points) are what this catches.
"""


def _savgol(y: FloatArray, window: int, polyorder: int, **kwargs: object) -> FloatArray:
    """:func:`scipy.signal.savgol_filter`, imported on first use."""
    from scipy.signal import savgol_filter

    return np.asarray(savgol_filter(y, window, polyorder, **kwargs), dtype=np.float64)


def _local_spacing_spread(x: FloatArray, window: int) -> float:
    """Largest ``max(dx)/min(dx) − 1`` over runs of ``window − 1`` consecutive spacings."""
    if x.size < 3 or window < 3:
        return 0.0
    from scipy.ndimage import maximum_filter1d, minimum_filter1d

    dx = np.diff(x)
    size = min(window - 1, dx.size)
    hi = maximum_filter1d(dx, size, mode="nearest")
    lo = minimum_filter1d(dx, size, mode="nearest")
    return float(np.max(hi / lo) - 1.0)


def _check_window(n: int, window: object, polyorder: object) -> tuple[int, int]:
    w = as_int("window", window, minimum=1)
    p = as_int("polyorder", polyorder, minimum=0)
    if w % 2 == 0:
        raise SpectrumValidationError(f"must be odd, got {w}", field="window")
    if w > n:
        raise SpectrumValidationError(
            f"window of {w} points is longer than the spectrum ({n} points)", field="window"
        )
    if p >= w:
        raise SpectrumValidationError(
            f"must be less than window ({w}), got {p}", field="polyorder"
        )
    return w, p


def smooth(spectrum: Spectrum, *, window: int = 11, polyorder: int = 3) -> Spectrum:
    """Savitzky-Golay smoothing.

    Parameters
    ----------
    spectrum
        The input; not changed.
    window
        Filter length in points; odd, at most the spectrum's length.
    polyorder
        Degree of the local polynomial, ``< window``.

    Returns
    -------
    Spectrum
        Same axis, smoothed intensities, with ``smooth`` in its provenance.

    Raises
    ------
    SpectrumValidationError
        Even window, window longer than the spectrum, ``polyorder >= window``;
        the error's ``field`` names the parameter.

    Warns
    -----
    ParameterWarning
        If the axis spacing varies by more than 1 %: the filter works in points, so its
        width in x units then varies along the spectrum.

    References
    ----------
    A. Savitzky, M. J. E. Golay, Anal. Chem. 36 (1964) 1627-1639.
    """
    w, p = _check_window(len(spectrum), window, polyorder)
    spread = _local_spacing_spread(spectrum.x, w)
    if spread > LOCAL_SPREAD_WARN:
        warnings.warn(
            f"smooth: the x spacing varies by {spread:.0%} within a {w}-point window; the "
            "filter assumes even spacing there; resample first to avoid this",
            ParameterWarning,
            stacklevel=2,
        )
    y = _savgol(spectrum.y, w, p, mode="interp")
    return record(spectrum, "smooth", {"window": w, "polyorder": p}, y=y)


def _d_index(v: FloatArray, w: int, p: int, order: int) -> FloatArray:
    return np.asarray(_savgol(v, w, p, deriv=order, delta=1.0, mode="interp"))


def derivative(
    spectrum: Spectrum, *, window: int = 11, polyorder: int = 3, order: int = 1
) -> Spectrum:
    """Savitzky-Golay derivative ``dⁿy/dxⁿ`` with respect to the x axis (in x units).

    On a uniform axis this is exactly :func:`scipy.signal.savgol_filter` with
    ``deriv=order`` and ``delta`` the axis step. On a non-uniform axis (a raw
    pixel-to-shift calibration, say) the derivative is taken with respect to the point
    index and converted by the chain rule, ``y' = ẏ/ẋ`` and
    ``y'' = (ÿ ẋ − ẏ ẍ)/ẋ³``, where the dots are Savitzky-Golay derivatives over the index;
    only ``order`` 1 and 2 are offered there.

    Parameters
    ----------
    spectrum
        The input; not changed.
    window, polyorder
        As for :func:`smooth`.
    order
        Derivative order, ``1 <= order <= polyorder``.

    Returns
    -------
    Spectrum
        Same axis and units; intensities are the derivative.

    Raises
    ------
    SpectrumValidationError
        Bad window or polyorder (as :func:`smooth`), ``order`` out of range, or
        ``order > 2`` on a non-uniform axis.
    """
    w, p = _check_window(len(spectrum), window, polyorder)
    k = as_int("order", order, minimum=1)
    if k > p:
        raise SpectrumValidationError(
            f"must be at most polyorder ({p}), got {k}", field="order"
        )
    x, y = spectrum.x, spectrum.y
    step = uniform_step(x)
    if step is not None:
        out = np.asarray(_savgol(y, w, p, deriv=k, delta=step, mode="interp"))
    elif k > 2:
        raise SpectrumValidationError(
            f"order {k} on a non-uniform x axis is not offered; resample the spectrum onto a "
            "uniform axis first",
            field="order",
        )
    else:
        xd = _d_index(x, w, p, 1)
        if np.any(xd <= 0):
            raise SpectrumValidationError(
                "the axis spacing changes too abruptly for a chain-rule derivative; resample "
                "the spectrum onto a uniform axis first",
                field="x",
            )
        yd = _d_index(y, w, p, 1)
        if k == 1:
            out = yd / xd
        else:
            out = (_d_index(y, w, p, 2) * xd - yd * _d_index(x, w, p, 2)) / xd**3
    return record(
        spectrum, "derivative", {"window": w, "polyorder": p, "order": k}, y=out
    )
