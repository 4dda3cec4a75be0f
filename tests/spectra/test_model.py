"""The Spectrum model: validation, immutability, content hash, unit conversions, merging."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spectra import (
    Acquisition,
    AxisReversedWarning,
    ProvenanceStep,
    Spectrum,
    SpectrumValidationError,
    Technique,
    UnitError,
    XUnit,
    YUnit,
    merge_segments,
)
from tests.strategies import spectra_strategy

finite = {"allow_nan": False, "allow_infinity": False}


# -- validation ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("x", "y", "field", "words"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], "y", "3 points but y has 2"),
        ([], [], "x", "empty"),
        ([1.0, np.nan, 3.0], [1.0, 2.0, 3.0], "x", "index 1"),
        ([1.0, 2.0, 3.0], [1.0, 2.0, np.inf], "y", "index 2"),
        ([1.0, 2.0, 2.0, 3.0], [1.0, 2.0, 3.0, 4.0], "x", "monotonic: x[1]="),
        ([1.0, 3.0, 2.0, 4.0], [1.0, 2.0, 3.0, 4.0], "x", "monotonic: x[1]="),
        ([[1.0, 2.0]], [[1.0, 2.0]], "x", "1-D"),
        (["a", "b"], [1.0, 2.0], "x", "not numeric"),
    ],
)
def test_invalid_arrays_name_the_field(x, y, field, words) -> None:
    with pytest.raises(SpectrumValidationError) as info:
        Spectrum(x, y)
    assert info.value.field == field
    assert words in str(info.value)
    assert str(info.value).startswith(f"{field}:")


@pytest.mark.parametrize(
    ("x", "words"),
    [([1.0, 2.0, 2.0, 3.0], "x[1]=2.0, x[2]=2.0"), ([1.0, np.nan], "at index 1 (nan)")],
)
def test_messages_show_plain_numbers(x: list[float], words: str) -> None:
    with pytest.raises(SpectrumValidationError) as info:
        Spectrum(x, np.ones(len(x)))
    assert words in str(info.value)


@pytest.mark.parametrize("excitation", [0.0, -785.0, float("nan"), float("inf")])
def test_bad_excitation_is_refused(excitation: float) -> None:
    with pytest.raises(SpectrumValidationError) as info:
        Spectrum([1.0, 2.0], [1.0, 2.0], excitation_nm=excitation)
    assert info.value.field == "excitation_nm"


def test_validation_error_is_also_a_value_error() -> None:
    with pytest.raises(ValueError, match="non-finite"):
        Spectrum([1.0, 2.0], [np.nan, 1.0])


def test_unknown_unit_is_refused() -> None:
    with pytest.raises(ValueError, match="furlongs"):
        Spectrum([1.0, 2.0], [1.0, 2.0], x_unit="furlongs")


@given(spectra_strategy(min_size=2, with_provenance=False))
def test_reversed_axis_warns_and_is_sorted_with_its_values(s: Spectrum) -> None:
    with pytest.warns(AxisReversedWarning, match="decreasing"):
        r = Spectrum(s.x[::-1], s.y[::-1], x_unit=s.x_unit)
    np.testing.assert_array_equal(r.x, s.x)
    np.testing.assert_array_equal(r.y, s.y)  # pairs (x, y) kept together


def test_increasing_axis_does_not_warn() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Spectrum([1.0, 2.0, 3.0], [3.0, 2.0, 1.0])


def test_single_point_spectrum_is_valid() -> None:
    s = Spectrum([5.0], [1.0])
    assert len(s) == 1


# -- immutability --------------------------------------------------------------------------
@given(spectra_strategy())
def test_arrays_are_read_only_copies(s: Spectrum) -> None:
    for arr in (s.x, s.y):
        assert not arr.flags.writeable
        with pytest.raises(ValueError, match="read-only"):
            arr[0] = 1.0


def test_input_arrays_are_copied() -> None:
    x = np.array([1.0, 2.0, 3.0])
    y = np.array([4.0, 5.0, 6.0])
    s = Spectrum(x, y)
    before = s.content_hash
    x[0], y[0] = -10.0, 99.0
    assert s.x[0] == 1.0
    assert s.y[0] == 4.0
    assert s.content_hash == before
    assert x.flags.writeable  # the caller's arrays are untouched too


@pytest.mark.parametrize("name", ["x", "y", "title", "provenance", "x_unit", "new_attr"])
def test_setting_or_deleting_attributes_is_refused(name: str) -> None:
    s = Spectrum([1.0, 2.0], [1.0, 2.0], title="a")
    with pytest.raises(AttributeError, match="immutable"):
        setattr(s, name, None)
    with pytest.raises(AttributeError, match="immutable"):
        delattr(s, name)


def test_replace_returns_new_spectrum_and_refuses_unknown_fields() -> None:
    s = Spectrum([1.0, 2.0], [1.0, 2.0], title="a")
    r = s.replace(title="b", y=[3.0, 4.0])
    assert (s.title, list(s.y)) == ("a", [1.0, 2.0])
    assert (r.title, list(r.y)) == ("b", [3.0, 4.0])
    with pytest.raises(TypeError, match="colour"):
        s.replace(colour="red")


# -- content hash --------------------------------------------------------------------------
@given(spectra_strategy())
def test_hash_is_stable_across_rebuilds(s: Spectrum) -> None:
    twin = Spectrum(
        s.x.copy(), s.y.copy(), x_unit=s.x_unit.value, y_unit=s.y_unit.value,
        technique=s.technique.value, excitation_nm=s.excitation_nm,
        acquisition=Acquisition.model_validate_json(s.acquisition.model_dump_json()),
        provenance=[ProvenanceStep.model_validate(p.model_dump()) for p in s.provenance],
        title=s.title, source=s.source,
    )
    assert twin.content_hash == s.content_hash
    assert twin == s
    assert hash(twin) == hash(s)
    assert len(s.content_hash) == 64
    int(s.content_hash, 16)


@given(spectra_strategy(), st.data())
def test_hash_changes_with_any_y_value(s: Spectrum, data: st.DataObject) -> None:
    i = data.draw(st.integers(0, len(s) - 1))
    y = s.y.copy()
    y[i] = y[i] + max(1.0, abs(y[i])) * 1e-6
    assert s.replace(y=y).content_hash != s.content_hash


@given(spectra_strategy())
def test_hash_changes_with_units_technique_excitation_acquisition_provenance(
    s: Spectrum,
) -> None:
    other_y = YUnit.COUNTS if s.y_unit is not YUnit.COUNTS else YUnit.ABSORBANCE
    other_x = XUnit.PIXEL if s.x_unit is not XUnit.PIXEL else XUnit.RAMAN_SHIFT
    other_t = Technique.NMR if s.technique is not Technique.NMR else Technique.RAMAN
    variants = [
        s.replace(y_unit=other_y),
        s.replace(x_unit=other_x),
        s.replace(technique=other_t),
        s.replace(excitation_nm=(s.excitation_nm or 500.0) + 1.0),
        s.replace(acquisition=s.acquisition.model_copy(update={"operator": "someone else"})),
        s.with_step(ProvenanceStep(step="normalize", params={"method": "vector"})),
    ]
    hashes = {v.content_hash for v in variants}
    assert s.content_hash not in hashes
    assert len(hashes) == len(variants)


@given(spectra_strategy(), st.text(max_size=8))
def test_hash_ignores_title_source_and_extra(s: Spectrum, title: str) -> None:
    r = s.replace(title=title + "!", source="elsewhere/renamed.csv", extra={"##OWNER": "x"})
    assert r.content_hash == s.content_hash
    assert r != s  # equality still sees the label


def test_hash_of_known_spectrum_is_pinned() -> None:
    """A change of the hashing scheme must be deliberate (bump HASH_SCHEME)."""
    s = Spectrum([100.0, 101.0], [1.0, 2.0], technique="raman", excitation_nm=785.0)
    again = Spectrum(np.array([100, 101]), np.array([1, 2]), technique="raman",
                     excitation_nm=785)
    assert s.content_hash == again.content_hash
    assert s.canonical_metadata()["scheme"] == "interdict.spectrum/1"


# -- conversions ---------------------------------------------------------------------------
def raman(shift: np.ndarray, excitation: float | None = 785.0) -> Spectrum:
    return Spectrum(shift, np.linspace(1.0, 2.0, shift.size), technique="raman",
                    excitation_nm=excitation)


def test_raman_shift_to_absolute_wavenumber_and_wavelength_known_values() -> None:
    s = raman(np.array([0.0, 1000.0]), 785.0)
    w = s.to_wavenumber()
    # 1e7/785 = 12738.853503...; x sorted increasing, so 1000 cm⁻¹ shift comes first
    np.testing.assert_allclose(w.x, [1e7 / 785 - 1000.0, 1e7 / 785], rtol=1e-12)
    np.testing.assert_array_equal(w.y, [2.0, 1.0])
    nm = s.to_wavelength_nm()
    np.testing.assert_allclose(nm.x, [785.0, 1e7 / (1e7 / 785 - 1000.0)], rtol=1e-12)
    assert nm.provenance[-1].step == "convert_x"
    assert nm.provenance[-1].params == {
        "from": "raman-shift-cm-1", "to": "wavelength-nm", "excitation_nm": 785.0,
    }


@given(
    st.integers(2, 50),
    st.floats(100.0, 2500.0, **finite),
    st.floats(0.5, 5.0, **finite),
    st.sampled_from([532.0, 633.0, 785.0, 1064.0]),
)
def test_raman_conversions_round_trip(n: int, start: float, step: float, ex: float) -> None:
    s = raman(start + step * np.arange(n), ex)
    via_wn = s.to_wavenumber().to_raman_shift()
    via_nm = s.to_wavelength_nm().to_raman_shift()
    via_both = s.to_wavelength_nm().to_wavenumber().to_raman_shift()
    for back in (via_wn, via_nm, via_both):
        assert back.x_unit is XUnit.RAMAN_SHIFT
        np.testing.assert_allclose(back.x, s.x, rtol=0, atol=1e-7 * (1e7 / ex))
        np.testing.assert_array_equal(back.y, s.y)
        assert all(p.step == "convert_x" for p in back.provenance)
    assert len(via_both.provenance) == 3


def test_conversion_to_same_unit_is_identity() -> None:
    s = raman(np.array([100.0, 200.0]))
    assert s.to_raman_shift() is s
    assert s.to_wavenumber().to_wavenumber().provenance == s.to_wavenumber().provenance


@pytest.mark.parametrize("method", ["to_wavenumber", "to_wavelength_nm"])
def test_raman_conversion_without_excitation_is_a_unit_error(method: str) -> None:
    s = raman(np.array([100.0, 200.0]), excitation=None)
    with pytest.raises(UnitError, match="excitation"):
        getattr(s, method)()


def test_wavelength_to_raman_shift_without_excitation_is_a_unit_error() -> None:
    s = Spectrum([800.0, 850.0], [1.0, 2.0], x_unit="wavelength-nm")
    with pytest.raises(UnitError, match="excitation"):
        s.to_raman_shift()


def test_pixel_axis_cannot_be_converted() -> None:
    s = Spectrum([0.0, 1.0], [1.0, 2.0], x_unit="pixel", excitation_nm=785.0)
    with pytest.raises(UnitError, match="pixel"):
        s.to_wavenumber()


@given(
    st.lists(st.floats(0.01, 100.0, **finite), min_size=1, max_size=30),
    st.booleans(),
)
def test_transmittance_absorbance_round_trip(t_percent: list[float], percent: bool) -> None:
    y = np.array(t_percent) if percent else np.array(t_percent) / 100.0
    unit = YUnit.TRANSMITTANCE_PERCENT if percent else YUnit.TRANSMITTANCE
    s = Spectrum(np.arange(len(y), dtype=float), y, y_unit=unit)
    a = s.to_absorbance()
    assert a.y_unit is YUnit.ABSORBANCE
    np.testing.assert_allclose(a.y, -np.log10(np.array(t_percent) / 100.0), rtol=1e-12,
                               atol=1e-15)
    back = a.to_transmittance(percent=percent)
    assert back.y_unit is unit
    np.testing.assert_allclose(back.y, s.y, rtol=1e-12)
    assert [p.step for p in back.provenance] == ["convert_y", "convert_y"]


def test_transmittance_scale_changes() -> None:
    s = Spectrum([1.0, 2.0], [50.0, 100.0], y_unit="transmittance-percent")
    frac = s.to_transmittance(percent=False)
    np.testing.assert_allclose(frac.y, [0.5, 1.0])
    np.testing.assert_allclose(frac.to_transmittance().y, [50.0, 100.0])


def test_non_positive_transmittance_has_no_absorbance() -> None:
    s = Spectrum([1.0, 2.0, 3.0], [50.0, 0.0, 20.0], y_unit="transmittance-percent")
    with pytest.raises(UnitError, match="> 0"):
        s.to_absorbance()


@pytest.mark.parametrize("unit", ["counts", "arbitrary", "reflectance"])
def test_absorbance_from_other_units_is_a_unit_error(unit: str) -> None:
    s = Spectrum([1.0, 2.0], [1.0, 2.0], y_unit=unit)
    with pytest.raises(UnitError):
        s.to_absorbance()
    with pytest.raises(UnitError):
        s.to_transmittance()


# -- merge_segments ------------------------------------------------------------------------
def signal(x: np.ndarray) -> np.ndarray:
    return 100.0 + 50.0 * np.sin(x / 40.0)


def test_merge_two_overlapping_step_scan_segments() -> None:
    """Synthetic two-window step scan: the second window starts back inside the first."""
    seg1 = np.arange(100.0, 201.0, 1.0)  # 100..200
    seg2 = np.arange(180.0, 301.0, 1.0)  # 180..300, overlaps 180..200 on the same grid
    x = np.concatenate([seg1, seg2])
    y = np.concatenate([signal(seg1), signal(seg2) + 0.5])  # second window offset by 0.5
    with pytest.raises(SpectrumValidationError, match="merge_segments"):
        Spectrum(x, y)
    s = merge_segments(x, y, technique="raman", title="step scan")
    assert np.all(np.diff(s.x) > 0)
    np.testing.assert_array_equal(s.x, np.arange(100.0, 301.0, 1.0))
    below, overlap, above = s.x < 180, (s.x >= 180) & (s.x <= 200), s.x > 200
    np.testing.assert_allclose(s.y[below], signal(s.x[below]))
    np.testing.assert_allclose(s.y[overlap], signal(s.x[overlap]) + 0.25)  # the two averaged
    np.testing.assert_allclose(s.y[above], signal(s.x[above]) + 0.5)
    step = s.provenance[-1]
    assert step.step == "merge_segments"
    assert step.params["input_points"] == x.size
    assert step.params["output_points"] == 201
    assert step.params["points_merged"] == 21
    assert step.params["tolerance"] == 0.5
    assert s.technique is Technique.RAMAN
    assert s.title == "step scan"


def test_merge_interleaved_overlap_averages_pairs() -> None:
    seg1 = np.arange(0.0, 50.0, 1.0)
    seg2 = np.arange(40.1, 90.0, 1.0)  # interleaves 0.1 above seg1's points
    x = np.concatenate([seg1, seg2])
    s = merge_segments(x, 2.0 * x)
    assert np.all(np.diff(s.x) > 0)
    assert len(s) == seg1.size + seg2.size - 10
    pairs = (s.x > 39.9) & (s.x < 50.0)
    np.testing.assert_allclose(s.x[pairs], np.arange(40.0, 50.0) + 0.05)
    np.testing.assert_allclose(s.y, 2.0 * s.x)  # y averaged with its x
    assert s.provenance[-1].params["points_merged"] == 10


def test_merge_decreasing_segments_and_keeps_earlier_provenance() -> None:
    seg1 = np.arange(300.0, 179.0, -2.0)  # 300..180 decreasing
    seg2 = np.arange(210.0, 99.0, -2.0)  # 210..100 decreasing, overlaps 180..210
    x = np.concatenate([seg1, seg2])
    earlier = ProvenanceStep(step="instrument_export")
    s = merge_segments(x, signal(x), provenance=[earlier])
    np.testing.assert_array_equal(s.x, np.arange(100.0, 301.0, 2.0))
    np.testing.assert_allclose(s.y, signal(s.x))
    assert [p.step for p in s.provenance] == ["instrument_export", "merge_segments"]
    assert s.provenance[-1].params["direction_changes"] >= 1


def test_merge_of_segments_with_a_gap_only_reorders() -> None:
    seg1 = np.arange(0.0, 10.0)
    seg2 = np.arange(20.0, 30.0)
    x = np.concatenate([seg2, seg1])  # scanned high range first
    s = merge_segments(x, x * 2.0)
    np.testing.assert_array_equal(s.x, np.concatenate([seg1, seg2]))
    np.testing.assert_array_equal(s.y, s.x * 2.0)
    assert s.provenance[-1].params["points_merged"] == 0


@given(st.integers(2, 60), st.integers(1, 59), st.floats(0.0, 0.3, **finite))
def test_merge_result_is_monotonic_and_counts_add_up(n: int, back: int, shift: float) -> None:
    back = min(back, n - 1)
    seg1 = np.arange(float(n))
    seg2 = np.arange(float(n - back), float(2 * n)) + shift
    x = np.concatenate([seg1, seg2])
    s = merge_segments(x, np.ones_like(x))
    assert np.all(np.diff(s.x) > 0)
    np.testing.assert_array_equal(s.y, 1.0)
    p = s.provenance[-1].params
    assert p["output_points"] == len(s)
    assert p["input_points"] - p["points_merged"] == len(s)


def test_merge_refuses_mismatched_lengths() -> None:
    with pytest.raises(SpectrumValidationError) as info:
        merge_segments([1.0, 2.0, 3.0], [1.0, 2.0])
    assert info.value.field == "y"


def test_negative_zero_hashes_like_zero() -> None:
    a = Spectrum([1.0, 2.0], [0.0, 1.0])
    b = Spectrum([1.0, 2.0], [-0.0, 1.0])
    assert a.content_hash == b.content_hash


def test_provenance_refuses_non_finite_params() -> None:
    with pytest.raises(ValueError, match="finite"):
        ProvenanceStep(step="x", params={"a": float("nan")})
