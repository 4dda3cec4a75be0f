"""Cosmic-ray removal: Whitaker-Hayes modified z-scores of the first difference."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from .._model import Spectrum
from .._units import FloatArray
from .._validation import as_float, as_int
from ._step import record

BoolArray = NDArray[np.bool_]

MAD_TO_SIGMA = 0.6745
"""Φ⁻¹(3/4): the median absolute deviation of a normal sample is 0.6745 σ."""


def modified_z(values: FloatArray) -> FloatArray:
    """Iglewicz-Hoaglin modified z-scores, ``0.6745 (v − median) / MAD``.

    When more than half the values equal the median (MAD = 0, e.g. a clipped or
    synthetic flat stretch) the mean absolute deviation scaled to σ is used instead;
    when that is 0 too the values are all equal and every score is 0.
    """
    med = float(np.median(values))
    dev = np.abs(values - med)
    mad = float(np.median(dev))
    if mad > 0:
        return np.asarray(MAD_TO_SIGMA * (values - med) / mad, dtype=np.float64)
    mean_ad = float(np.mean(dev))
    if mean_ad > 0:
        return np.asarray((values - med) / (1.253314 * mean_ad), dtype=np.float64)
    return np.zeros_like(values)


def find_spikes(y: FloatArray, *, threshold: float, max_width: int) -> BoolArray:
    """Boolean mask of the points judged to be spikes (see :func:`despike`)."""
    n = y.size
    mask = np.zeros(n, dtype=bool)
    if n < 3:
        return mask
    d = np.diff(y)
    z = modified_z(d)
    jumps = np.flatnonzero(np.abs(z) > threshold)  # d[j] = y[j+1] - y[j]
    if jumps.size < 2:
        return mask
    # group jumps closer than max_width + 1 into events; an event's interior points are
    # those between its first and last jump
    quiet = threshold / 2
    breaks = np.flatnonzero(np.diff(jumps) > max_width) + 1
    for group in np.split(jumps, breaks):
        first, last = int(group[0]), int(group[-1])
        width = last - first  # points y[first+1 .. last]
        if not 1 <= width <= max_width:
            continue
        signs = np.sign(d[group])
        if not (np.any(signs > 0) and np.any(signs < 0)):
            continue  # a step, not an excursion that comes back
        before = abs(z[first - 1]) if first > 0 else 0.0
        after = abs(z[last + 1]) if last + 1 < z.size else 0.0
        if max(before, after) >= quiet:
            continue  # the rise goes on outside the event: the flank of a real band
        mask[first + 1 : last + 1] = True
    return mask


def despike(spectrum: Spectrum, *, threshold: float = 7.0, max_width: int = 3) -> Spectrum:
    """Replace cosmic-ray spikes by linear interpolation across them.

    A cosmic ray hits one to a few detector pixels: the intensity jumps far up and comes
    straight back down. Following Whitaker and Hayes, the first difference ``Δy`` is scored
    with the modified z-score (median and MAD, so the spikes do not inflate the scale they
    are measured against); differences with ``|z| > threshold`` are jumps. Jumps less than
    ``max_width + 1`` points apart form one event, and an event is a spike only when

    * it spans at most ``max_width`` points, and
    * it holds both an upward and a downward jump (it comes back), and
    * the differences just outside it are quiet (``|z| < threshold / 2``).

    The second rule keeps steps. The first and third keep real Raman bands: a band has a
    line shape, so its intensity rises over several points and the differences next to its
    steepest ones are still large, while a cosmic ray leaps up from the noise in one pixel
    and drops straight back. The spike points are replaced by linear interpolation between
    the nearest unflagged points. A spike on the very first or last point, or one riding on
    the flank of a band, is left alone (the rules err on the side of keeping data).

    Parameters
    ----------
    spectrum
        The input; not changed.
    threshold
        Modified z-score above which a difference is a jump. 7 is Whitaker and Hayes'
        suggestion; lower catches weaker spikes and risks touching sharp real bands.
    max_width
        Widest spike, in points.

    Returns
    -------
    Spectrum
        With spikes replaced; identical intensities when none is found. The step is
        recorded either way.

    Raises
    ------
    SpectrumValidationError
        ``threshold`` not a positive number, ``max_width`` not an integer >= 1.

    References
    ----------
    D. A. Whitaker, K. Hayes, "A simple algorithm for despiking Raman spectra",
    Chemometr. Intell. Lab. Syst. 179 (2018) 82-84.
    """
    thr = as_float("threshold", threshold, positive=True)
    width = as_int("max_width", max_width, minimum=1)
    y = spectrum.y
    spikes = find_spikes(y, threshold=thr, max_width=width)
    out = y
    if np.any(spikes) and not np.all(spikes):
        keep = ~spikes
        out = y.copy()
        out[spikes] = np.interp(spectrum.x[spikes], spectrum.x[keep], y[keep])
    return record(spectrum, "despike", {"threshold": thr, "max_width": width}, y=out)
