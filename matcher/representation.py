"""The matcher-level representation used to RANK library entries against a query.

The library's vectors (:attr:`matcher.library.Library.matrix`) are the output of its
preprocessing pipeline: baseline-removed, normalised, linear intensities. Ranking on them
directly lets the strongest band dominate; on the RRUFF benchmark (``bench/accuracy.py``)
a square root of the intensities (clipped at 0) lifts top-1 accuracy by about 4-5 points,
because relative band heights change between lasers and specimens far more than band
positions do. The score on that representation is a Pearson correlation, reported on the
HQI scale (``100·max(r, 0)²``, as :class:`matcher.similarity.HQI`).

The mixture fit does NOT use this representation (a square root is not additive); see
:mod:`matcher.mixture`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

F32 = NDArray[np.float32]


class Representation(BaseModel):
    """How library and query vectors are transformed before ranking (recorded in results)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = "root-hqi"
    power: float = Field(default=0.5, gt=0.0, le=1.0)
    """Intensities (clipped at 0, scaled to a maximum of 1) are raised to this power."""
    centred: bool = True
    """Mean-centre before the unit norm, so the dot product is Pearson's r."""
    noise_floor: float = Field(default=4.0, ge=0.0)
    """Subtract this many noise σ (per row, from the MAD of the second difference) before
    the power, so the root does not lift the noise floor (0: off). 4 was chosen on 400
    tune-half RRUFF queries: clean top-1 −0.005, with noise σ = 2 % / 5 % of the signal
    range +0.03 / +0.11 (2: +0.03 / +0.07; 6: −0.008 clean, +0.14 at 5 %)."""

    def transform(self, rows: ArrayLike) -> F32:
        """Transform vectors to unit-norm ranking vectors.

        Parameters
        ----------
        rows : (N, D) or (D,) array
            Preprocessed vectors (library rows or a prepared query).

        Returns
        -------
        (N, D) or (D,) float32 array
            Each row clipped at 0, scaled to max 1, raised to :attr:`power`, mean-centred
            (if :attr:`centred`) and scaled to unit L2 norm; an all-zero row stays zero.
        """
        a = np.asarray(rows, dtype=np.float32)
        one = a.ndim == 1
        m = np.atleast_2d(a)
        out = np.maximum(m, np.float32(0.0))  # (N,D)
        top = out.max(axis=1, keepdims=True)
        out = out / np.where(top > 0, top, np.float32(1.0))
        if self.noise_floor > 0 and out.shape[1] > 2:
            d2 = np.diff(out, n=2, axis=1)
            sigma = 1.4826 * np.median(np.abs(d2 - np.median(d2, axis=1, keepdims=True)),
                                       axis=1, keepdims=True) / np.sqrt(6.0)
            out = np.maximum(out - np.float32(self.noise_floor) * sigma.astype(np.float32),
                             np.float32(0.0))
        if self.power != 1.0:
            out = np.power(out, np.float32(self.power), dtype=np.float32)
        if self.centred:
            out = out - out.mean(axis=1, keepdims=True)
        norm = np.linalg.norm(out, axis=1, keepdims=True)
        out = (out / np.where(norm > 0, norm, np.float32(1.0))).astype(np.float32, copy=False)
        return out[0] if one else out

    @staticmethod
    def hqi(r: NDArray[np.floating] | float) -> NDArray[np.float64]:
        """HQI scale (``100·max(r, 0)²``) of a correlation."""
        rc = np.clip(np.asarray(r, dtype=np.float64), 0.0, 1.0)
        return np.asarray(100.0 * rc * rc, dtype=np.float64)


__all__ = ["Representation"]
