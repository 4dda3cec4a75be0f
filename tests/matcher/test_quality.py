"""Quality checks before any match: real spectra pass, degraded ones are refused with a reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.identify import Identifier
from matcher.library import Library
from matcher.quality import QualityConfig, assess, noise_sigma
from matcher.results import Verdict
from spectra import Spectrum

from .test_identify_helpers import load_whenfung, whenfung_library, whenfung_rows

__all__ = ["whenfung_library"]  # the fixture, re-exported for pytest


@pytest.fixture(scope="module")
def amphetamine(shared_data: Path) -> Spectrum:
    return load_whenfung(shared_data, "pure/amphetamine_sulfate.txt")


def test_every_real_whenfung_spectrum_passes(shared_data: Path) -> None:
    rows = whenfung_rows(shared_data)
    assert len(rows) == 35
    for r in rows:
        rep = assess(load_whenfung(shared_data, r["file"]))
        assert rep.ok, (r["file"], rep.problems)
        assert rep.snr > 20


def test_real_rruff_raw_spectrum_passes(shared_data: Path) -> None:
    import spectra

    p = next((shared_data / "raman/rruff_excellent_unoriented/original_files").glob("*RAW*"))
    rep = assess(spectra.read(p)[0])
    assert rep.ok, rep.problems


def test_saturated_flat_top(amphetamine: Spectrum) -> None:
    y = np.minimum(amphetamine.y, 0.6 * amphetamine.y.max())
    rep = assess(amphetamine.replace(y=y))
    assert not rep.ok and rep.saturated
    assert rep.reason is not None and rep.reason.startswith("poor signal: saturated detector")


def test_saturated_from_detector_max_in_extra(amphetamine: Spectrum) -> None:
    full = float(amphetamine.y.max())
    rep = assess(amphetamine.replace(extra={"detector_max": str(full)}))
    assert rep.saturated and "full scale" in (rep.reason or "")
    # the same spectrum with a detector that has headroom is fine
    assert assess(amphetamine.replace(extra={"detector_max": str(4 * full)})).ok


def test_saturated_at_adc_full_scale(amphetamine: Spectrum) -> None:
    y = amphetamine.y.copy()
    y[int(np.argmax(y))] = 65535.0
    assert "detector full scale" in (assess(amphetamine.replace(y=y)).reason or "")


def test_fluorescence_dominated(amphetamine: Spectrum) -> None:
    x = amphetamine.x
    peak = float(np.ptp(amphetamine.y))
    hump = 60 * peak * np.exp(-0.5 * ((x - 1400) / 700) ** 2)
    rep = assess(amphetamine.replace(y=amphetamine.y + hump))
    assert not rep.ok
    assert "fluorescence-dominated" in (rep.reason or "")
    assert rep.background_ratio > QualityConfig().max_background_ratio


def test_fluorescence_check_is_raman_only(amphetamine: Spectrum) -> None:
    x = amphetamine.x
    hump = 60 * float(np.ptp(amphetamine.y)) * np.exp(-0.5 * ((x - 1400) / 700) ** 2)
    rep = assess(amphetamine.replace(y=amphetamine.y + hump, technique="infrared",
                                     x_unit="wavenumber-cm-1"))
    assert not any("fluorescence" in p for p in rep.problems)


def test_flat_and_empty() -> None:
    flat = Spectrum(np.arange(100.0, 600.0), np.full(500, 1234.0), technique="raman")
    assert assess(flat).reason == "poor signal: flat signal (no variation)"
    short = Spectrum(np.arange(10.0), np.arange(10.0), technique="raman")
    assert "empty signal" in (assess(short).reason or "")


def test_noisy(amphetamine: Spectrum) -> None:
    rng = np.random.default_rng(1)
    y = 0.05 * amphetamine.y + rng.normal(0, 0.2 * float(np.ptp(amphetamine.y)), amphetamine.y.size)
    rep = assess(amphetamine.replace(y=y))
    assert not rep.ok and "signal-to-noise" in (rep.reason or "")


def test_poor_signal_gives_inconclusive_without_hits(
    whenfung_library: Library, amphetamine: Spectrum
) -> None:
    y = np.minimum(amphetamine.y, 0.5 * amphetamine.y.max())
    res = Identifier(whenfung_library).identify(amphetamine.replace(y=y))
    assert res.verdict is Verdict.INCONCLUSIVE
    assert res.reason is not None and res.reason.startswith("poor signal:")
    assert res.hits == () and not res.alert and res.confidence == 0.0
    assert res.thresholds["quality"]["min_snr"] == QualityConfig().min_snr


@given(sigma=st.floats(0.1, 100.0), seed=st.integers(0, 2**32 - 1))
def test_noise_sigma_estimates_white_noise(sigma: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, 4000)
    y = 1000 * np.exp(-0.5 * ((x - 0.5) / 0.01) ** 2) + rng.normal(0, sigma, x.size)
    assert noise_sigma(y) == pytest.approx(sigma, rel=0.12)
