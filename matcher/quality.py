"""Quality checks on a RAW spectrum, before any match: is there a signal worth identifying?

Four checks, each with a threshold in :class:`QualityConfig`:

* **empty / flat**: too few points, or no variation at all;
* **saturation**: the detector's full-scale value reached over a run of points
  (``QualityConfig.detector_max`` or the spectrum's ``extra["detector_max"]`` when known;
  otherwise a flat-topped plateau of repeated maximum values, or a maximum exactly at a
  common ADC full scale such as 65535);
* **signal-to-noise**: noise σ from the high-frequency residual (median absolute
  deviation of the second difference, scaled for white noise: ``σ = 1.4826·MAD/√6``),
  signal from the tallest peak above a morphological (opening) baseline;
* **fluorescence-dominated**: the broad background (the baseline's span) is more than
  ``max_background_ratio`` times the tallest Raman peak: the peaks are drowned. Only for
  Raman spectra (an infrared absorbance band may legitimately be broad).

A failed check gives an "inconclusive: poor signal" verdict with the reason; it never
forces an identification.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field
from scipy.ndimage import maximum_filter1d, minimum_filter1d, uniform_filter1d

from spectra import Spectrum, Technique

ADC_FULL_SCALES: tuple[int, ...] = (255, 1023, 4095, 16383, 32767, 65535, 262143, 1048575)
"""Full-scale counts of common 8-20 bit detectors: a maximum exactly here is a clipped peak."""


class QualityConfig(BaseModel):
    """Thresholds of the pre-match quality checks (recorded with every result)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_points: int = Field(default=32, ge=3)
    """Fewer points than this: not a spectrum worth matching."""
    min_snr: float = Field(default=10.0, ge=0.0)
    """Tallest peak above baseline ÷ noise σ below this: too noisy."""
    detector_max: float | None = Field(default=None, gt=0)
    """Full-scale value of the detector, when known (else read from ``extra`` or detected)."""
    saturation_run: int = Field(default=3, ge=2)
    """This many consecutive points at the maximum make a clipped (flat-topped) peak."""
    max_background_ratio: float = Field(default=25.0, gt=0.0)
    """Raman only: baseline span ÷ tallest peak above this: fluorescence-dominated."""
    baseline_window_cm: float = Field(default=100.0, gt=0.0)
    """Width (in x units) of the morphological opening used as the broad baseline."""


class QualityReport(BaseModel):
    """What the quality checks found; ``ok`` is False when any check failed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    snr: float
    """Tallest peak above baseline ÷ noise σ (0 for a flat spectrum)."""
    saturated: bool
    background_ratio: float
    """Baseline span ÷ tallest peak above the baseline."""
    problems: tuple[str, ...] = ()

    @property
    def reason(self) -> str | None:
        """``"poor signal: ..."`` naming every failed check, or None when all passed."""
        return "poor signal: " + "; ".join(self.problems) if self.problems else None


def noise_sigma(y: NDArray[np.float64]) -> float:
    """Noise σ of white noise on ``y``, from the MAD of its second difference.

    For white noise of σ the second difference has σ·√6; the MAD (×1.4826) is robust to
    the peaks, which occupy few points.

    Parameters
    ----------
    y : (n,) array
        Intensities on a (roughly) uniform axis.

    Returns
    -------
    float
        The noise estimate (0 for fewer than 3 points or a noiseless signal).
    """
    if y.size < 3:
        return 0.0
    d2 = np.diff(y, n=2)
    mad = float(np.median(np.abs(d2 - np.median(d2))))
    return float(1.4826 * mad / np.sqrt(6.0))


def opening_baseline(y: NDArray[np.float64], window: int) -> NDArray[np.float64]:
    """Morphological opening (min then max filter), smoothed by a moving mean.

    Parameters
    ----------
    y : (n,) array
    window : int
        Filter width in points (≥ 1).

    Returns
    -------
    (n,) array
        A baseline that stays under peaks narrower than ``window``.
    """
    w = max(1, int(window))
    b = maximum_filter1d(minimum_filter1d(y, w, mode="nearest"), w, mode="nearest")
    return np.asarray(uniform_filter1d(b, w, mode="nearest"), dtype=np.float64)


def _longest_run(mask: NDArray[np.bool_]) -> int:
    if not mask.any():
        return 0
    padded = np.concatenate(([0], mask.astype(np.int8), [0]))
    edges = np.flatnonzero(np.diff(padded))
    return int(np.max(edges[1::2] - edges[::2]))


def _detector_max(spectrum: Spectrum, config: QualityConfig) -> float | None:
    if config.detector_max is not None:
        return config.detector_max
    raw = spectrum.extra.get("detector_max")
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if np.isfinite(value) and value > 0 else None


def _saturated(y: NDArray[np.float64], spectrum: Spectrum, config: QualityConfig) -> str | None:
    top = float(np.max(y))
    full = _detector_max(spectrum, config)
    if full is not None:
        run = _longest_run(y >= full * (1 - 1e-9))
        if run >= 1:
            return f"saturated detector ({run} point(s) at full scale {full:g})"
        return None
    if top in ADC_FULL_SCALES:
        return f"saturated detector (maximum {top:g} is a detector full scale)"
    run = _longest_run(y == top)
    if run >= config.saturation_run and top > float(np.min(y)):
        return f"saturated detector (flat-topped peak: {run} points at the maximum {top:g})"
    return None


def assess(spectrum: Spectrum, config: QualityConfig | None = None) -> QualityReport:
    """Check a RAW spectrum (before any preprocessing) for a signal worth identifying.

    Parameters
    ----------
    spectrum
        The measured spectrum, as read from the instrument or file.
    config
        Thresholds; defaults to :class:`QualityConfig()`.

    Returns
    -------
    QualityReport
        ``ok`` and the measured figures; ``reason`` names every failed check.
    """
    cfg = config if config is not None else QualityConfig()
    y = np.asarray(spectrum.y, dtype=np.float64)
    problems: list[str] = []
    if y.size < cfg.min_points:
        problems.append(f"empty signal ({y.size} points, need {cfg.min_points})")
        return QualityReport(ok=False, snr=0.0, saturated=False, background_ratio=0.0,
                             problems=tuple(problems))
    span = float(np.ptp(y))
    if span <= 1e-12 * max(1.0, float(np.max(np.abs(y)))):
        problems.append("flat signal (no variation)")
        return QualityReport(ok=False, snr=0.0, saturated=False, background_ratio=0.0,
                             problems=tuple(problems))

    sat = _saturated(y, spectrum, cfg)
    if sat:
        problems.append(sat)

    step = float(np.median(np.diff(spectrum.x))) if spectrum.x.size > 1 else 1.0
    window = round(cfg.baseline_window_cm / step) if step > 0 else 1
    window = min(max(window, 3), y.size)
    base = opening_baseline(y, window)
    peak = float(np.max(y - base))
    sigma = noise_sigma(y)
    # noiseless (synthetic or heavily processed): the peak is all signal
    snr = peak / sigma if sigma > 0 else (float("inf") if peak > 0 else 0.0)
    if snr < cfg.min_snr:
        problems.append(f"signal-to-noise {snr:.1f} below {cfg.min_snr:g}")
    background = float(np.max(base) - np.min(base))
    ratio = background / peak if peak > 0 else float("inf")
    if spectrum.technique is Technique.RAMAN and ratio > cfg.max_background_ratio:
        problems.append(
            f"fluorescence-dominated (background {ratio:.0f}× the tallest peak, "
            f"limit {cfg.max_background_ratio:g}×)"
        )
    return QualityReport(
        ok=not problems,
        snr=min(snr, 1e9),
        saturated=sat is not None,
        background_ratio=min(ratio, 1e9),
        problems=tuple(problems),
    )


__all__ = ["ADC_FULL_SCALES", "QualityConfig", "QualityReport", "assess", "noise_sigma",
           "opening_baseline"]
