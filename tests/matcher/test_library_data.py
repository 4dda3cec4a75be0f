"""Helpers (no tests): small libraries of synthetic peaky spectra."""

from __future__ import annotations

import numpy as np

from matcher.library import Library
from spectra import Pipeline, Spectrum

AXIS = np.arange(200.0, 1800.0, 4.0)
PIPELINE = Pipeline.of(("crop", {"x_min": 150.0, "x_max": 1900.0}), ("normalize", {}))


def peaky(rng: np.random.Generator, x: np.ndarray, n_peaks: int = 5) -> np.ndarray:
    """Lorentzian bands at random places, on a small offset, with noise."""
    y = 0.05 + rng.normal(0, 0.003, x.size)
    for c, w, h in zip(rng.uniform(x[0], x[-1], n_peaks), rng.uniform(4, 20, n_peaks),
                       rng.uniform(0.2, 1.0, n_peaks), strict=True):
        y += h / (1 + ((x - c) / w) ** 2)
    return y


def raw_spectra(n: int, seed: int = 0, **fields: object) -> list[Spectrum]:
    """``n`` raw Raman spectra on a 100-2000 cm⁻¹ axis of 2 cm⁻¹."""
    rng = np.random.default_rng(seed)
    x = np.arange(100.0, 2000.0, 2.0)
    kw = {"technique": "raman", **fields}
    return [Spectrum(x, 1000 * peaky(rng, x), source=f"ref{i}.csv", **kw)  # type: ignore[arg-type]
            for i in range(n)]


def small_library(n: int = 12, seed: int = 0, library_id: str = "test-lib") -> Library:
    """A built library with raw references."""
    refs = [({"name": f"Substance {i}", "id": f"s{i}"}, s)
            for i, s in enumerate(raw_spectra(n, seed))]
    return Library.build(refs, pipeline=PIPELINE, axis=AXIS, technique="raman",
                         library_id=library_id)
