"""Hypothesis strategies for spectra, shared by every package's tests.

``spectra_strategy()`` draws valid :class:`spectra.Spectrum` objects of random length,
on uniform or uneven increasing axes, with random units, technique, excitation,
acquisition metadata and provenance. Keyword arguments narrow it down for a test that
needs, say, at least 15 points of non-flat Raman data.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spectra import Acquisition, ProvenanceStep, Spectrum, Technique, XUnit, YUnit

finite = {"allow_nan": False, "allow_infinity": False}


AXIS_KINDS = ("uniform", "calibrated", "jittered")
"""``uniform``: constant step. ``calibrated``: a smooth pixel-to-x calibration (quadratic in
the index, spacing changing by up to ±40 % end to end), as raw handheld Raman axes are.
``jittered``: every increment independently 0.3-1.7 times the nominal step (a stress test,
not a real instrument)."""


@st.composite
def axes(
    draw: st.DrawFn,
    n: int,
    *,
    uniform: bool | None = None,
    kinds: tuple[str, ...] = AXIS_KINDS,
    start_range: tuple[float, float] = (-500.0, 4000.0),
    step_range: tuple[float, float] = (0.05, 8.0),
) -> np.ndarray:
    """A strictly increasing axis of ``n`` points.

    ``uniform=True`` forces a uniform axis, ``False`` an uneven one (of the uneven
    ``kinds``), ``None`` draws any of ``kinds``.
    """
    start = draw(st.floats(*start_range, **finite))
    step = draw(st.floats(*step_range, **finite))
    if uniform is True:
        kind = "uniform"
    elif uniform is False:
        kind = draw(st.sampled_from([k for k in kinds if k != "uniform"] or ["jittered"]))
    else:
        kind = draw(st.sampled_from(kinds))
    i = np.arange(n, dtype=np.float64)
    if kind == "uniform" or n < 3:
        return start + step * i
    if kind == "calibrated":
        change = draw(st.floats(-0.4, 0.4, **finite).filter(lambda c: abs(c) > 1e-3))
        # spacing goes linearly from step to step * (1 + change) across the axis
        return start + step * (i + 0.5 * change * i * i / (n - 1))
    jitter = draw(hnp.arrays(np.float64, n - 1, elements=st.floats(0.3, 1.7, **finite)))
    return np.concatenate(([start], start + np.cumsum(step * jitter)))


@st.composite
def intensities(
    draw: st.DrawFn,
    n: int,
    *,
    non_flat: bool = True,
    magnitude: float = 1e5,
) -> np.ndarray:
    """Intensities of ``n`` points: random values, or a peaky realistic shape with noise."""
    if draw(st.booleans()):
        y = draw(
            hnp.arrays(
                np.float64, n,
                elements=st.floats(-magnitude / 100, magnitude, **finite, width=32),
            )
        )
    else:
        seed = draw(st.integers(0, 2**32 - 1))
        rng = np.random.default_rng(seed)
        i = np.arange(n, dtype=np.float64)
        y = 50.0 + 0.02 * i + rng.normal(0.0, 2.0, n)
        for _ in range(int(rng.integers(1, 5))):
            centre, width = rng.uniform(0, n), rng.uniform(1.5, max(2.0, n / 20))
            y += rng.uniform(10, magnitude / 10) * np.exp(-0.5 * ((i - centre) / width) ** 2)
    if non_flat and n > 1 and np.ptp(y) == 0:
        y = y.copy()
        y[0] += 1.0
    return np.asarray(y, dtype=np.float64)


def acquisitions() -> st.SearchStrategy[Acquisition]:
    """Acquisition metadata with any subset of fields set."""
    text = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12)
    return st.builds(
        Acquisition,
        instrument_make=st.none() | text,
        instrument_model=st.none() | text,
        instrument_serial=st.none() | text,
        firmware=st.none() | text,
        integration_time_ms=st.none() | st.floats(0.1, 60_000, **finite),
        accumulations=st.none() | st.integers(1, 1000),
        laser_power_mw=st.none() | st.floats(0, 500, **finite),
        acquired_at=st.none()
        | st.datetimes(datetime(2000, 1, 1), datetime(2040, 1, 1), timezones=st.just(UTC)),
        operator=st.none() | text,
    )


def provenance_steps() -> st.SearchStrategy[ProvenanceStep]:
    """Plausible earlier processing steps (name and small JSON params)."""
    return st.builds(
        ProvenanceStep,
        step=st.sampled_from(["crop", "normalize", "instrument_dark_subtract", "convert_x"]),
        params=st.dictionaries(
            st.sampled_from(["a", "b", "method", "x_min"]),
            st.none() | st.integers(-10, 10) | st.floats(-1e3, 1e3, **finite) | st.text(max_size=5),
            max_size=3,
        ),
    )


@st.composite
def spectra_strategy(
    draw: st.DrawFn,
    *,
    min_size: int = 1,
    max_size: int = 200,
    uniform: bool | None = None,
    axis_kinds: tuple[str, ...] = AXIS_KINDS,
    non_flat: bool = True,
    x_unit: XUnit | None = None,
    y_unit: YUnit | None = None,
    technique: Technique | None = None,
    with_provenance: bool = True,
) -> Spectrum:
    """A valid :class:`Spectrum`.

    Parameters
    ----------
    min_size, max_size
        Point count range.
    uniform
        Force a uniform (``True``) or uneven (``False``) axis; ``None`` draws either.
    axis_kinds
        Which of :data:`AXIS_KINDS` to draw from.
    non_flat
        Make sure the intensities are not all equal (normalisation needs that).
    x_unit, y_unit, technique
        Fix these instead of drawing them.
    with_provenance
        Whether earlier provenance steps may be drawn.
    """
    n = draw(st.integers(min_size, max_size))
    x = draw(axes(n, uniform=uniform, kinds=axis_kinds))
    y = draw(intensities(n, non_flat=non_flat))
    tech = technique if technique is not None else draw(st.sampled_from(list(Technique)))
    excitation = draw(st.none() | st.sampled_from([532.0, 633.0, 785.0, 830.0, 1064.0])
                      | st.floats(200.0, 1100.0, **finite))
    prov = draw(st.lists(provenance_steps(), max_size=2)) if with_provenance else []
    return Spectrum(
        x,
        y,
        x_unit=x_unit if x_unit is not None else draw(st.sampled_from(list(XUnit))),
        y_unit=y_unit if y_unit is not None else draw(st.sampled_from(list(YUnit))),
        technique=tech,
        excitation_nm=excitation,
        acquisition=draw(acquisitions()),
        provenance=prov,
        title=draw(st.text(max_size=10)),
        source=draw(st.none() | st.just("sample.jdx") | st.just("run.spc#2")),
    )


__all__ = [
    "AXIS_KINDS","acquisitions", "axes", "intensities", "provenance_steps", "spectra_strategy"]
