"""Each preprocessing step against what it promises: reference answers and properties."""

from __future__ import annotations

import hashlib
import itertools
import warnings

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.signal import savgol_filter

from spectra import ParameterWarning, Spectrum, SpectrumValidationError
from spectra.preprocess import (
    baseline,
    crop,
    derivative,
    despike,
    normalize,
    resample,
    smooth,
)
from spectra.preprocess.baseline import METHODS, method_parameters
from spectra.preprocess.despike import modified_z
from tests.strategies import spectra_strategy

finite = {"allow_nan": False, "allow_infinity": False}


def gaussian(x: np.ndarray, centre: float, height: float, sigma: float) -> np.ndarray:
    return height * np.exp(-0.5 * ((x - centre) / sigma) ** 2)


# -- resample ------------------------------------------------------------------------------
@given(spectra_strategy(min_size=2, uniform=True))
def test_resampling_a_uniform_axis_onto_itself_is_the_identity(s: Spectrum) -> None:
    same = resample(s, axis=s.x.tolist())
    np.testing.assert_array_equal(same.x, s.x)
    np.testing.assert_array_equal(same.y, s.y)
    assert same.provenance[-1].params["mode"] == "interpolate"
    step = (s.x[-1] - s.x[0]) / (len(s) - 1)
    ranged = resample(s, start=float(s.x[0]), stop=float(s.x[-1]), step=float(step))
    assert len(ranged) == len(s)
    np.testing.assert_allclose(ranged.x, s.x, rtol=0, atol=1e-9 * max(1.0, np.abs(s.x).max()))
    scale = max(1.0, float(np.abs(s.y).max()))
    np.testing.assert_allclose(ranged.y, s.y, rtol=0, atol=1e-6 * scale)


@given(
    st.floats(-1e4, 1e4, **finite),
    st.integers(20, 400),
    st.floats(1.01, 20.0, **finite),
    st.booleans(),
)
def test_downsampling_a_constant_gives_the_constant(
    value: float, n: int, factor: float, uneven: bool
) -> None:
    i = np.arange(n, dtype=float)
    x = 100.0 + (i + 0.3 * np.sin(i) if uneven else i)
    s = Spectrum(x, np.full(n, value))
    out = resample(s, start=float(x[0]), stop=float(x[-1]), step=factor * 1.2)
    assert out.provenance[-1].params["mode"] == "average"
    np.testing.assert_allclose(out.y, value, rtol=1e-12, atol=1e-12)


def brute_force_bin_means(x: np.ndarray, y: np.ndarray, t: np.ndarray) -> np.ndarray:
    """The mean of the linear interpolant over each bin, by dense sampling."""
    mid = 0.5 * (t[1:] + t[:-1])
    edges = np.concatenate(([t[0] - (mid[0] - t[0])], mid, [t[-1] + (t[-1] - mid[-1])]))
    edges = np.clip(edges, x[0], x[-1])
    means = []
    for lo, hi in itertools.pairwise(edges):
        fine = np.linspace(lo, hi, 20001)
        means.append(np.trapezoid(np.interp(fine, x, y), fine) / (hi - lo))
    return np.array(means)


@settings(max_examples=30)
@given(spectra_strategy(min_size=30, max_size=200), st.integers(3, 12))
def test_averaging_bins_match_a_brute_force_reference(s: Spectrum, m: int) -> None:
    t = np.linspace(s.x[0], s.x[-1], m)
    assume(np.median(np.diff(t)) > np.median(np.diff(s.x)))
    out = resample(s, axis=t.tolist())
    assert out.provenance[-1].params["mode"] == "average"
    ref = brute_force_bin_means(s.x, s.y, t)
    scale = max(1.0, float(np.abs(s.y).max()))
    np.testing.assert_allclose(out.y, ref, rtol=0, atol=1e-6 * scale)


def test_averaging_bins_a_step_function_exactly() -> None:
    x = np.arange(100.0)  # 0..99
    y = (x >= 50).astype(float)  # interpolant rises from 0 at 49 to 1 at 50
    out = resample(Spectrum(x, y), start=0.0, stop=90.0, step=10.0)
    # bins: [0,5], [5,15], ..., [45,55], ..., [85,95]
    expected = [0, 0, 0, 0, 0, 5.5 / 10, 1, 1, 1, 1]
    np.testing.assert_allclose(out.y, expected, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(out.x, np.arange(0.0, 91.0, 10.0))


@given(spectra_strategy(min_size=10, max_size=200), st.integers(2, 9))
def test_averaging_preserves_the_area(s: Spectrum, m: int) -> None:
    """Bins tile the data's range, so the binned area equals the trapezoidal area."""
    t = np.linspace(s.x[0], s.x[-1], m)
    out = resample(s, axis=t.tolist(), mode="average")
    mid = 0.5 * (t[1:] + t[:-1])
    widths = np.diff(np.concatenate(([t[0]], mid, [t[-1]])))
    area = float(np.trapezoid(s.y, s.x))
    scale = float(np.trapezoid(np.abs(s.y), s.x)) + 1e-300
    assert abs(float(np.sum(out.y * widths)) - area) <= 1e-9 * scale


def test_averaging_reduces_noise_interpolation_does_not() -> None:
    rng = np.random.default_rng(5)
    x = np.arange(0.0, 2000.0, 0.5)
    s = Spectrum(x, rng.normal(0.0, 1.0, x.size))
    avg = resample(s, start=10.0, stop=1990.0, step=8.0)
    interp = resample(s, start=10.0, stop=1990.0, step=8.0, mode="interpolate")
    assert np.std(avg.y) < 0.35  # about 16 points per bin: σ/4
    assert np.std(interp.y) > 0.8


def test_upsampling_interpolates_linearly() -> None:
    s = Spectrum([0.0, 1.0, 2.0, 3.0], [0.0, 10.0, 0.0, 5.0])
    out = resample(s, start=0.0, stop=3.0, step=0.5)
    np.testing.assert_allclose(out.y, [0, 5, 10, 5, 0, 2.5, 5])
    assert out.provenance[-1].params == {
        "start": 0.0, "stop": 3.0, "step": 0.5, "mode": "interpolate", "fill": None,
    }


def test_target_outside_the_data_is_refused_unless_fill_says_what_to_do() -> None:
    s = Spectrum([10.0, 11.0, 12.0, 13.0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(SpectrumValidationError) as info:
        resample(s, start=8.0, stop=13.0, step=1.0)
    assert info.value.field == "axis"
    assert "outside the data" in str(info.value)
    assert "2 point(s)" in str(info.value)
    edge = resample(s, start=8.0, stop=14.0, step=0.5, fill="edge")
    assert edge.y[0] == 1.0
    assert edge.y[-1] == 4.0
    zero = resample(s, axis=[8.0, 9.0, 10.5, 14.0], fill=0.0, mode="interpolate")
    np.testing.assert_allclose(zero.y, [0.0, 0.0, 1.5, 0.0])
    # averaged: the bin of 10.5 is [9.5, 12.25], clipped to the data [10, 12.25]
    zero_avg = resample(s, axis=[8.0, 9.0, 10.5, 14.0], fill=0.0)
    np.testing.assert_allclose(zero_avg.y, [0.0, 0.0, 2.125, 0.0])
    assert zero.provenance[-1].params["fill"] == 0.0


def test_uniform_axis_recorded_as_range_and_rerunnable() -> None:
    x = np.linspace(0.0, 100.0, 1001)
    s = Spectrum(x, np.sin(x / 7.0))
    out = resample(s, axis=np.arange(2.0, 98.0, 0.25).tolist())
    params = out.provenance[-1].params
    assert set(params) == {"start", "stop", "step", "mode", "fill"}
    again = resample(s, **params)  # type: ignore[arg-type]
    np.testing.assert_allclose(again.y, out.y, rtol=0, atol=1e-12)


def test_uneven_axis_recorded_by_hash_and_length() -> None:
    s = Spectrum(np.arange(100.0), np.arange(100.0) ** 0.5)
    t = [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0]
    params = resample(s, axis=t).provenance[-1].params
    assert params["n"] == 7
    assert params["axis_sha256"] == hashlib.sha256(
        np.array(t, dtype="<f8").tobytes()
    ).hexdigest()
    assert "axis" not in params


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"axis": [1.0, 2.0], "start": 1.0}, "axis", "not both"),
        ({"start": 1.0, "stop": 5.0}, "axis", "missing ['step']"),
        ({}, "axis", "no target axis"),
        ({"start": 1.0, "stop": 5.0, "step": 0.0}, "step", "> 0"),
        ({"start": 5.0, "stop": 1.0, "step": 1.0}, "stop", ">= start"),
        ({"start": 1.0, "stop": 5.0, "step": "fast"}, "step", "number"),
        ({"axis": [3.0, 2.0]}, "axis", "strictly increasing"),
        ({"axis": [1.0, float("nan")]}, "axis", "non-finite"),
        ({"axis": []}, "axis", "non-empty"),
        ({"axis": [1.0, 2.0], "mode": "cubic"}, "mode", "unknown mode"),
        ({"axis": [1.0, 2.0], "fill": "zero"}, "fill", "number"),
        ({"start": 0.0, "stop": 1e9, "step": 1e-3}, "step", "points"),
    ],
)
def test_resample_bad_parameters_are_named(kwargs: dict, field: str, words: str) -> None:
    s = Spectrum(np.arange(10.0), np.arange(10.0))
    with pytest.raises(SpectrumValidationError) as info:
        resample(s, **kwargs)
    assert info.value.field == field
    assert words in str(info.value)


# -- despike -------------------------------------------------------------------------------
def raman_like(seed: int, n: int = 1500) -> tuple[np.ndarray, np.ndarray]:
    """Bands 4-15 points wide on a fluorescence background, with unit-σ noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(200.0, 1700.0, n)
    clean = 400 * np.exp(-(((x - 900) / 700) ** 2)) + 0.05 * x
    for centre, height, sigma in [(520, 300, 2.0), (1001, 2000, 1.8), (1450, 120, 6.0)]:
        clean = clean + gaussian(x, centre, height, sigma)
    return x, clean + rng.normal(0.0, 1.0, n)


@pytest.mark.parametrize("width", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_despike_removes_an_injected_spike_and_nothing_else(width: int, seed: int) -> None:
    x, y = raman_like(seed)
    k = 700
    spiked = y.copy()
    spiked[k : k + width] += 800.0
    out = despike(Spectrum(x, spiked)).y
    changed = np.flatnonzero(out != spiked)
    np.testing.assert_array_equal(changed, np.arange(k, k + width))
    # replaced by a line between the neighbours: within the noise of the real value
    assert np.all(np.abs(out[k : k + width] - y[k : k + width]) < 6.0)


@settings(max_examples=60)
@given(
    sigma=st.floats(1.5, 8.0),
    height=st.floats(5.0, 20000.0),
    centre=st.floats(300.0, 1600.0),
    seed=st.integers(0, 2**32 - 1),
)
def test_despike_never_moves_real_narrow_bands(
    sigma: float, height: float, centre: float, seed: int
) -> None:
    """Bands down to 1.5 points σ (3.5 points FWHM), at any SNR, are not spikes."""
    x = np.arange(0.0, 1800.0)  # 1 point per cm⁻¹
    rng = np.random.default_rng(seed)
    y = 100 + 0.02 * x + gaussian(x, centre, height, sigma) + rng.normal(0, 1, x.size)
    s = Spectrum(x, y)
    np.testing.assert_array_equal(despike(s).y, y)


@settings(max_examples=40)
@given(
    sigma=st.floats(1.5, 8.0),
    height=st.floats(5.0, 20000.0),
    spike=st.floats(30.0, 5000.0),
    where=st.integers(50, 1700),
    seed=st.integers(0, 2**32 - 1),
)
def test_despike_removes_a_spike_next_to_a_real_band(
    sigma: float, height: float, spike: float, where: int, seed: int
) -> None:
    x = np.arange(0.0, 1800.0)
    centre = 900.0
    assume(abs(where - centre) > 6 * sigma + 3)
    rng = np.random.default_rng(seed)
    y = 100 + gaussian(x, centre, height, sigma) + rng.normal(0, 1, x.size)
    spiked = y.copy()
    spiked[where] += spike
    # the documented rule: a spike's neighbouring differences must be quiet (|z| < threshold/2
    # = 3.5); a 4σ noise step beside it (seed 1640734) rightly keeps it from being cut
    z = modified_z(np.diff(spiked))
    assume(abs(z[where - 2]) < 3.5 and abs(z[where + 1]) < 3.5)
    out = despike(Spectrum(x, spiked)).y
    np.testing.assert_array_equal(np.flatnonzero(out != spiked), [where])
    band = np.abs(x - centre) < 6 * sigma
    np.testing.assert_array_equal(out[band], y[band])


def test_despike_leaves_steps_alone() -> None:
    x = np.arange(200.0)
    y = np.where(x < 100, 0.0, 500.0) + np.random.default_rng(3).normal(0, 1, 200)
    np.testing.assert_array_equal(despike(Spectrum(x, y)).y, y)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"threshold": 0}, "threshold"), ({"threshold": "high"}, "threshold"),
     ({"max_width": 0}, "max_width"), ({"max_width": 2.5}, "max_width"),
     ({"max_width": True}, "max_width")],
)
def test_despike_bad_parameters_are_named(kwargs: dict, field: str) -> None:
    with pytest.raises(SpectrumValidationError) as info:
        despike(Spectrum(np.arange(10.0), np.arange(10.0)), **kwargs)
    assert info.value.field == field


# -- baseline ------------------------------------------------------------------------------
BASELINE_CASES = {
    # method params, tolerance on the recovered baseline as a fraction of its 500-count
    # amplitude. The asymmetric least-squares family sits a little under the noise
    # (σ = 5 here), hence their few per cent.
    "arpls": ({"lam": 1e6}, 0.03),
    "asls": ({"lam": 1e5, "p": 0.01}, 0.10),
    "snip": ({"max_half_window": 40, "filter_order": 4}, 0.06),
    "imodpoly": ({"poly_order": 3}, 0.01),
}


@pytest.mark.parametrize("method", sorted(BASELINE_CASES))
@settings(max_examples=15)
@given(
    coef=st.lists(st.floats(-1.0, 1.0, **finite), min_size=2, max_size=4).filter(
        lambda c: max(abs(v) for v in c[1:]) > 0.05
    ),
    bands=st.lists(
        st.tuples(st.floats(300.0, 1900.0), st.floats(50.0, 2000.0), st.floats(3.0, 8.0)),
        min_size=1, max_size=5,
    ),
    seed=st.integers(0, 2**32 - 1),
)
def test_polynomial_baseline_is_removed(
    method: str, coef: list[float], bands: list[tuple[float, float, float]], seed: int
) -> None:
    x = np.linspace(200.0, 2000.0, 1800)
    t = (x - 1100.0) / 900.0
    base = np.polynomial.polynomial.polyval(t, coef)
    base = 500.0 * (base - base.min()) / np.ptp(base)  # up to cubic, 0..500 counts
    peaks = sum(gaussian(x, c, h, w) for c, h, w in bands)
    far = np.all([np.abs(x - c) > 5 * w for c, _, w in bands], axis=0)
    y = base + peaks + np.random.default_rng(seed).normal(0.0, 5.0, x.size)
    params, tol = BASELINE_CASES[method]
    out = baseline(Spectrum(x, y), method=method, **params)
    estimated = y - out.y
    error = np.max(np.abs(estimated - base)[far]) / 500.0
    assert error < tol, f"{method}: baseline off by {error:.3f} of its amplitude"
    entry = out.provenance[-1]
    assert entry.params == {"method": method, **params}
    assert entry.software.startswith("pybaselines ")


def test_baseline_records_pybaselines_version() -> None:
    import pybaselines

    x = np.arange(100.0)
    out = baseline(Spectrum(x, np.sin(x / 5) + x / 10))
    assert out.provenance[-1].software == f"pybaselines {pybaselines.__version__}"


def test_every_offered_method_runs_and_lists_its_parameters() -> None:
    x = np.linspace(0.0, 1000.0, 500)
    s = Spectrum(x, 50 + 0.02 * x + gaussian(x, 500, 100, 5))
    for method in METHODS:
        params = method_parameters(method)
        assert "data" not in params
        assert "weights" not in params
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ParameterWarning)
            out = baseline(s, method=method)
        assert np.all(np.isfinite(out.y)), method


@pytest.mark.parametrize(
    ("kwargs", "field", "words"),
    [
        ({"method": "magic"}, "method", "unknown method 'magic'"),
        ({"method": "arpls", "poly_order": 2}, "poly_order", "arpls takes no parameter"),
        ({"method": "snip", "weights": [1, 2]}, "weights", "takes no parameter"),
        ({"method": "imodpoly", "poly_order": "two"}, "imodpoly", "refused"),
    ],
)
def test_baseline_bad_parameters_are_named(kwargs: dict, field: str, words: str) -> None:
    s = Spectrum(np.arange(50.0), np.arange(50.0) ** 0.5)
    with pytest.raises(SpectrumValidationError) as info:
        baseline(s, **kwargs)
    assert info.value.field == field
    assert words in str(info.value)


# -- Savitzky-Golay ------------------------------------------------------------------------
@given(
    coef=st.lists(st.floats(-10.0, 10.0, **finite), min_size=1, max_size=4),
    half=st.integers(2, 10),
    n=st.integers(25, 200),
    dx=st.floats(0.1, 4.0),
)
def test_smoothing_keeps_a_polynomial_and_matches_scipy(
    coef: list[float], half: int, n: int, dx: float
) -> None:
    window = 2 * half + 1
    assume(window <= n)
    x = 100.0 + dx * np.arange(n)
    t = (x - x.mean()) / np.ptp(x)
    y = np.polynomial.polynomial.polyval(t, coef)  # degree <= 3
    out = smooth(Spectrum(x, y), window=window, polyorder=3)
    scale = max(1.0, float(np.abs(y).max()))
    np.testing.assert_allclose(out.y, y, rtol=0, atol=1e-9 * scale)
    np.testing.assert_array_equal(out.y, savgol_filter(y, window, 3, mode="interp"))


@given(
    coef=st.lists(st.floats(-5.0, 5.0, **finite), min_size=1, max_size=4),
    dx=st.floats(0.25, 4.0),
    order=st.integers(1, 3),
)
def test_derivative_of_a_polynomial_is_exact_in_x_units(
    coef: list[float], dx: float, order: int
) -> None:
    x = 500.0 + dx * np.arange(101)
    u = (x - 600.0) / 100.0  # y is a cubic in u, so d/dx = (1/100) d/du
    y = np.polynomial.polynomial.polyval(u, coef)
    out = derivative(Spectrum(x, y), window=15, polyorder=3, order=order)
    expected = np.polynomial.polynomial.polyval(
        u, np.polynomial.polynomial.polyder(coef, order)
    ) / 100.0**order
    # rounding of y (~1e-16 |y|) is amplified by 1/dx^order in the derivative
    tol = 1e-8 * float(np.abs(coef).max()) / 100.0**order
    tol += 1e-12 * float(np.abs(y).max()) / dx**order
    np.testing.assert_allclose(out.y, expected, rtol=0, atol=tol)
    # scipy with the nominal dx (ours takes the step from the axis: same up to rounding)
    np.testing.assert_allclose(
        out.y, savgol_filter(y, 15, 3, deriv=order, delta=dx, mode="interp"),
        rtol=1e-9, atol=tol * 1e-3,
    )


@pytest.mark.parametrize("order", [1, 2])
def test_derivative_on_a_calibrated_uneven_axis_uses_the_chain_rule(order: int) -> None:
    i = np.arange(300.0)
    x = 150.0 + 1.1 * i - 4e-4 * i * i  # a pixel→shift calibration, spacing 1.1 → 0.86
    y = 0.5 * (x / 100.0) ** 2 - 3.0 * x / 100.0  # quadratic in x: quartic in the index
    out = derivative(Spectrum(x, y), window=21, polyorder=4, order=order)
    expected = x / 1e4 - 0.03 if order == 1 else np.full_like(x, 1e-4)
    np.testing.assert_allclose(out.y, expected, rtol=1e-6, atol=1e-10)


def test_derivative_refuses_high_orders_and_broken_axes_on_uneven_data() -> None:
    x = np.cumsum(np.tile([0.2, 3.0], 50))  # jagged spacing
    s = Spectrum(x, np.sin(x / 10))
    with pytest.raises(SpectrumValidationError) as info:
        derivative(s, window=11, polyorder=3, order=3)
    assert info.value.field == "order"
    i = np.arange(100.0)
    wild = Spectrum(np.concatenate([i, 100 + 1000 * (i + 1)]), np.arange(200.0))
    with pytest.raises(SpectrumValidationError) as info:
        derivative(wild, window=11, polyorder=3)
    assert info.value.field == "x"


def test_smoothing_across_a_jump_in_the_axis_warns() -> None:
    x = np.concatenate([np.arange(50.0), 50.5 + 1.5 * np.arange(50.0)])  # spacing 1 → 1.5
    with pytest.warns(ParameterWarning, match="varies by 50% within a 11-point window"):
        smooth(Spectrum(x, np.sin(x)))


def test_smoothing_a_smoothly_calibrated_axis_does_not_warn() -> None:
    i = np.arange(1800.0)
    x = 150.0 + 2.6 * i - 2.5e-4 * i * i  # spacing drifts 2.6 → 1.7 cm⁻¹, as a BWTek's
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        smooth(Spectrum(x, np.sin(x / 30)))


@pytest.mark.parametrize(
    ("func", "kwargs", "field", "words"),
    [
        (smooth, {"window": 10}, "window", "must be odd"),
        (smooth, {"window": 31}, "window", "longer than the spectrum (30 points)"),
        (smooth, {"window": 5, "polyorder": 5}, "polyorder", "less than window"),
        (smooth, {"window": 5.5}, "window", "integer"),
        (smooth, {"polyorder": -1}, "polyorder", ">= 0"),
        (derivative, {"order": 0}, "order", ">= 1"),
        (derivative, {"polyorder": 2, "order": 3}, "order", "at most polyorder"),
        (derivative, {"window": 4}, "window", "must be odd"),
    ],
)
def test_savgol_bad_parameters_are_named(func, kwargs: dict, field: str, words: str) -> None:
    s = Spectrum(np.arange(30.0), np.arange(30.0) ** 2)
    with pytest.raises(SpectrumValidationError) as info:
        func(s, **kwargs)
    assert info.value.field == field
    assert words in str(info.value)


# -- normalize and crop --------------------------------------------------------------------
@given(spectra_strategy(min_size=2, non_flat=True))
def test_normalize_methods_have_their_defining_property(s: Spectrum) -> None:
    v = normalize(s, method="vector").y
    assert np.linalg.norm(v) == pytest.approx(1.0, rel=1e-9)
    snv = normalize(s, method="snv").y
    assert np.mean(snv) == pytest.approx(0.0, abs=1e-9)
    assert np.std(snv) == pytest.approx(1.0, rel=1e-9)
    mm = normalize(s, method="minmax").y
    assert (mm.min(), mm.max()) == (pytest.approx(0.0, abs=1e-12), pytest.approx(1.0))
    area = normalize(s, method="area")
    assert np.trapezoid(np.abs(area.y), area.x) == pytest.approx(1.0, rel=1e-9)
    # every method is a positive affine map: the order of intensities is kept
    order = np.argsort(s.y, kind="stable")
    for y in (v, snv, mm, area.y):
        assert np.all(np.diff(y[order]) >= -1e-12 * np.abs(y).max())


@pytest.mark.parametrize("method", ["vector", "snv", "minmax", "area"])
def test_normalizing_a_flat_spectrum_is_refused(method: str) -> None:
    flat = Spectrum([1.0, 2.0, 3.0], [0.0, 0.0, 0.0])
    with pytest.raises(SpectrumValidationError, match="flat"):
        normalize(flat, method=method)  # type: ignore[arg-type]


def test_normalize_unknown_method_is_named() -> None:
    with pytest.raises(SpectrumValidationError) as info:
        normalize(Spectrum([1.0, 2.0], [1.0, 2.0]), method="l1")  # type: ignore[arg-type]
    assert info.value.field == "method"


def test_crop_keeps_inclusive_bounds_and_refuses_empty() -> None:
    s = Spectrum(np.arange(10.0), np.arange(10.0) * 2)
    out = crop(s, x_min=2.0, x_max=5.0)
    np.testing.assert_array_equal(out.x, [2.0, 3.0, 4.0, 5.0])
    np.testing.assert_array_equal(out.y, [4.0, 6.0, 8.0, 10.0])
    assert out.provenance[-1].params == {"x_min": 2.0, "x_max": 5.0}
    with pytest.raises(SpectrumValidationError, match="leaves no point"):
        crop(s, x_min=20.0)


# -- recording -----------------------------------------------------------------------------
def test_recorded_parameters_are_plain_finite_json() -> None:
    from spectra.preprocess import record

    s = Spectrum(np.arange(60.0), np.sin(np.arange(60.0) / 5) + np.arange(60.0) / 30)
    out = baseline(s, method="arpls", lam=np.float64(1e4), max_iter=np.int64(20))
    assert out.provenance[-1].params == {"method": "arpls", "lam": 1e4, "max_iter": 20}
    assert type(out.provenance[-1].params["max_iter"]) is int
    out.content_hash  # noqa: B018 - hashing needs strict JSON
    with pytest.raises(SpectrumValidationError) as info:
        baseline(s, method="arpls", tol=float("nan"))
    assert info.value.field in ("tol", "arpls")
    with pytest.raises(SpectrumValidationError) as info:
        record(s, "custom", {"values": [1.0, float("inf")]})
    assert info.value.field == "values"
    with pytest.raises(SpectrumValidationError) as info:
        record(s, "custom", {"obj": object()})
    assert info.value.field == "obj"
