"""Minor components: a drug/precursor as the minor part of a mixture of REAL measured spectra.

The queries are synthetic measurements made from the whenfung pure standards (one real
portable-Raman spectrum each), as ``bench/accuracy.py --minor`` makes them: each raw
spectrum divided by its band area (so a share is a share of the Raman signal), summed,
scaled to a realistic band height, the instrument's noise added and the axis offset by up
to ±3 cm⁻¹. The library holds the same measurements, so these figures are optimistic (see
docs/accuracy.md, "Minor components"); the floors are the measured figures of the default
rules, so a change that loses minor components, or makes pure standards look mixed, fails.
"""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest
from scipy.ndimage import minimum_filter1d, uniform_filter1d

from matcher.identify import Identifier
from matcher.library import Library
from matcher.mixture import MixtureConfig, fit_mixture
from matcher.quality import noise_sigma
from matcher.results import Identification, Verdict
from matcher.verdict import Thresholds
from spectra import Spectrum

from .test_identify_helpers import CATEGORIES, load_whenfung, whenfung_library, whenfung_rows

__all__ = ["whenfung_library"]

SHARES = (0.3, 0.4, 0.5)
"""Minor shares checked here (0.1-0.2 are rarely found; see docs/accuracy.md)."""


def _bands(y: np.ndarray) -> np.ndarray:
    base = uniform_filter1d(minimum_filter1d(y, 101, mode="nearest"), 101, mode="nearest")
    return np.maximum(y - np.minimum(base, y), 0.0)


def _measure(parts: dict[str, float], pure: dict[str, Spectrum], noise: float,
             rng: np.random.Generator) -> Spectrum:
    """The measurement model of ``bench/accuracy.py:synthetic_measurement``."""
    x = next(iter(pure.values())).x
    y = np.zeros_like(x)
    heights = []
    for n, f in parts.items():
        band = _bands(pure[n].y)
        heights.append(float(band.max()))
        y += f * pure[n].y / float(band.sum())
    y *= float(np.exp(np.mean(np.log(heights)))) / float(_bands(y).max())
    y = y + rng.normal(0.0, noise, y.size)
    return Spectrum(x + rng.uniform(-3.0, 3.0), y, technique="raman", y_unit="counts")


@pytest.fixture(scope="module")
def pure(shared_data: Path) -> dict[str, Spectrum]:
    """The 20 whenfung pure standards by name."""
    return {r["substance"]: load_whenfung(shared_data, r["file"])
            for r in whenfung_rows(shared_data) if r["kind"] == "pure"}


def _named(res: Identification) -> set[str]:
    if res.mixture is not None:
        return {c.name for c in res.mixture.components}
    if res.verdict in (Verdict.MATCH, Verdict.INCONCLUSIVE) and res.hits:
        return {res.hits[0].name}
    return set()


def _minor_run(idf: Identifier, pure: dict[str, Spectrum]) -> dict[float, tuple[int, int, int]]:
    """Per share: (minor named, alert raised, spurious components), over 51 pairs."""
    noise = float(np.median([noise_sigma(s.y) for s in pure.values()]))
    out = {}
    for f in SHARES:
        named = alert = spurious = 0
        for minor in CATEGORIES:
            for major in (n for n in pure if n not in CATEGORIES):
                rng = np.random.default_rng([0, zlib.crc32(f"{minor}|{major}".encode()),
                                             round(100 * f)])
                res = idf.identify(_measure({minor: f, major: 1 - f}, pure, noise, rng))
                got = _named(res)
                named += minor in got
                alert += res.alert
                spurious += len(got - {minor, major})
        out[f] = (named, alert, spurious)
    return out


MEASURED_MINOR = {0.3: 46, 0.4: 48, 0.5: 50}
"""Minor (alerting) component named, of 51 pairs, default rules, seed 0 (measured)."""


def test_minor_drug_recall_floor(whenfung_library: Library, pure: dict[str, Spectrum]) -> None:
    got = _minor_run(Identifier(whenfung_library), pure)
    for f, (named, alert, spurious) in got.items():
        assert named >= MEASURED_MINOR[f], (f, got)
        assert alert >= named, (f, got)  # every named drug/precursor raises the alert
        assert spurious <= 1, (f, got)


def test_rival_residual_rule_finds_more_minor_components(
    whenfung_library: Library, pure: dict[str, Spectrum]
) -> None:
    """Without the rival-residual exception (the old rule alone) fewer minors are found."""
    off = Thresholds(mixture=MixtureConfig(min_rival_residual_ratio=1e9))
    new = _minor_run(Identifier(whenfung_library), pure)
    old = _minor_run(Identifier(whenfung_library, thresholds=off), pure)
    assert sum(v[0] for v in new.values()) > sum(v[0] for v in old.values())
    assert sum(v[2] for v in new.values()) <= sum(v[2] for v in old.values()) + 1


def test_pure_standards_through_the_measurement_model_are_not_mixtures(
    whenfung_library: Library, pure: dict[str, Spectrum]
) -> None:
    idf = Identifier(whenfung_library)
    noise = float(np.median([noise_sigma(s.y) for s in pure.values()]))
    mixtures = []
    for name in pure:
        for seed in (0, 1, 2):
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 100])
            res = idf.identify(_measure({name: 1.0}, pure, noise, rng))
            if res.verdict is Verdict.MIXTURE:
                mixtures.append((name, seed, _named(res)))
    assert len(mixtures) <= 1, mixtures  # measured: 1 of 60


def test_two_entries_of_one_substance_are_one_component() -> None:
    """Two spectra of one substance fitted together (band shape) are not a mixture."""
    x = np.arange(400, dtype=np.float64)

    def band(c: float, w: float = 4.0) -> np.ndarray:
        return np.exp(-0.5 * ((x - c) / w) ** 2)

    a1 = band(100) + 0.6 * band(250)
    a2 = band(104) + 0.6 * band(254)  # the same substance, another specimen: shifted bands
    other = band(180) + band(320)
    basis = np.vstack([a1, a2, other])
    q = 0.5 * a1 + 0.5 * a2
    ranked = np.array([0, 1, 2])
    labels = ["A", "A", "B"]
    merged = fit_mixture(q, basis, ranked, labels=labels)
    assert merged is not None and len(merged.indices) == 1
    assert merged.shares == pytest.approx((1.0,))
    split = fit_mixture(q, basis, ranked, MixtureConfig(merge_same_substance=False),
                        labels=labels)
    assert split is not None and sorted(split.indices) == [0, 1]  # what merging undoes
    assert merged.composite_hqi == pytest.approx(split.composite_hqi)
