"""Realistic synthetic spectral libraries and queries for the speed benchmark.

A library is made of families of similar substances (think salts and hydrates, analogues,
polymers of one class): each family has a set of Lorentzian bands; each member takes
them with its own heights, adds a few bands of its own, a weak baseline residue, and noise.
Queries are members measured again (noise, ±1-3-point shifts, a second component mixed in)
and noise-like worst cases.
"""

from __future__ import annotations

import numpy as np


def _lorentz(x: np.ndarray, c: np.ndarray, w: np.ndarray) -> np.ndarray:
    # (P, 1) vs (1, D) -> (P, D)
    return (1.0 / (1.0 + ((x[None, :] - c[:, None]) / w[:, None]) ** 2)).astype(np.float32)


def synth_library(
    n: int, d: int = 1800, *, family_size: int = 28, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(axis (D,), matrix (N, D) float32)``: ``n`` members of ``n / family_size`` families."""
    rng = np.random.default_rng(seed)
    x = np.linspace(200.0, 2000.0, d)
    out = np.empty((n, d), dtype=np.float32)
    n_fam = max(1, n // family_size)
    fam_of = rng.integers(0, n_fam, size=n)
    order = np.argsort(fam_of, kind="stable")
    fams, starts = np.unique(fam_of[order], return_index=True)
    bounds = [*starts[1:], n]
    for f, s, e in zip(fams, starts, bounds, strict=True):
        frng = np.random.default_rng([seed, int(f)])
        p = int(frng.integers(8, 20))
        prof = _lorentz(x, frng.uniform(220, 1980, p), frng.uniform(3, 15, p))  # (P, D)
        rows = order[s:e]
        m = rows.size
        base_h = frng.uniform(0.2, 1.0, p)
        heights = base_h[None, :] * rng.uniform(0.6, 1.4, (m, p))  # (M, P)
        block = heights.astype(np.float32) @ prof  # (M, P) @ (P, D) -> (M, D)
        # each member's own bands: 2-4 of them
        own = 3
        c = rng.uniform(220, 1980, (m, own))
        w = rng.uniform(3, 12, (m, own))
        h = rng.uniform(0.1, 0.8, (m, own))
        for j in range(own):
            block += (h[:, j : j + 1] / (1.0 + ((x[None, :] - c[:, j : j + 1])
                                                / w[:, j : j + 1]) ** 2)).astype(np.float32)
        slope = rng.normal(0, 0.02, (m, 1)).astype(np.float32)
        block += slope * np.linspace(-1, 1, d, dtype=np.float32)[None, :]
        block += rng.normal(0, 0.005, (m, d)).astype(np.float32)
        out[rows] = block
    return x, out


def realistic_queries(matrix: np.ndarray, q: int, *, seed: int = 1) -> np.ndarray:
    """Library members measured again: noise, a small shift, a third of them mixed."""
    rng = np.random.default_rng(seed)
    n = matrix.shape[0]
    pick = rng.integers(0, n, size=q)
    out = matrix[pick].astype(np.float64)
    shifts = rng.integers(-3, 4, size=q)
    for i, s in enumerate(shifts):
        if s:
            out[i] = np.roll(out[i], int(s))
    mix = rng.random(q) < 0.33
    other = matrix[rng.integers(0, n, size=q)].astype(np.float64)
    frac = rng.uniform(0.1, 0.4, size=q)[:, None]
    out[mix] = (1 - frac[mix]) * out[mix] + frac[mix] * other[mix]
    scale = np.abs(out).max(axis=1, keepdims=True)
    out += rng.normal(0, 1, out.shape) * scale * rng.uniform(0.01, 0.05, (q, 1))
    return out.astype(np.float32)


def noise_queries(d: int, q: int, *, seed: int = 2) -> np.ndarray:
    """Worst cases for any pruning: white noise, which resembles nothing in the library."""
    rng = np.random.default_rng(seed)
    return rng.normal(size=(q, d)).astype(np.float32)
