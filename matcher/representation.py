"""The matcher-level representation used to RANK library entries against a query.

The library's vectors (:attr:`matcher.library.Library.matrix`) are the output of its
preprocessing pipeline: baseline-removed, normalised, linear intensities. Ranking on them
directly lets the strongest band dominate; on the RRUFF benchmark (``bench/accuracy.py``)
a square root of the intensities (clipped at 0) lifts top-1 accuracy by about 4-5 points,
because relative band heights change between lasers and specimens far more than band
positions do. The score on that representation is a Pearson correlation, reported on the
HQI scale (``100·max(r, 0)²``, as :class:`matcher.similarity.HQI`).

Substances are then ordered by a soft vote of the best few ENTRIES (:meth:`Representation.
substance_order`), not by their single best entry: a library holds several specimens of a
substance, and a substance whose several specimens all score close to the top is a better
answer than one lucky spectrum of a neighbour (RRUFF: +1.0 / +0.7 points of top-1 on the
tune / held-out halves, ``docs/accuracy.md``).

The mixture fit does NOT use this representation (a square root is not additive); see
:mod:`matcher.mixture`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pydantic import BaseModel, ConfigDict, Field

from .errors import MatcherInputError

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

    vote_k: int = Field(default=5, ge=1)
    """Substances are ordered by a soft vote of this many best entries (1: by the best entry
    only). 5 was chosen on the tune half of RRUFF among 3-10 (``docs/accuracy.md``)."""
    vote_temperature: float = Field(default=0.05, gt=0.0)
    """Each of the ``vote_k`` best entries adds ``exp((r − r_best)/T)`` to its substance's
    vote (``r``: correlation; an entry 0.05 below the best counts ``1/e``). Chosen on the tune
    half among 0.03-0.12."""

    def substance_order(
        self, r_sorted: ArrayLike, names: Sequence[str], limit: int | None = None
    ) -> list[int]:
        """Order substances for the hit list by a soft vote of the best entries.

        Parameters
        ----------
        r_sorted : (M,) array
            Correlations of the candidate entries, best first.
        names : sequence of M str
            Substance name of each candidate, in the same order. Read lazily: only as far
            as needed to find ``limit`` substances (a loaded library decodes names on use).
        limit
            Stop after this many substances (default: all).

        Returns
        -------
        list of int
            For each substance, in reported order, the position (in ``r_sorted``) of its
            best entry. Substances among the ``vote_k`` best entries come first, by vote
            (ties: by best entry); the others follow in best-entry order.

        Raises
        ------
        ValueError
            When ``names`` and ``r_sorted`` differ in length.
        """
        r = np.asarray(r_sorted, dtype=np.float64)
        if r.ndim != 1 or r.size != len(names):
            raise MatcherInputError(f"substance_order: {r.size} scores for {len(names)} names")
        want = r.size if limit is None else max(0, limit)
        if r.size == 0 or want == 0:
            return []
        first: dict[str, int] = {}
        votes: dict[str, float] = {}
        top = float(r[0])
        for pos in range(min(self.vote_k, r.size)):
            name = names[pos]
            first.setdefault(name, pos)
            w = float(np.exp((float(r[pos]) - top) / self.vote_temperature))
            votes[name] = votes.get(name, 0.0) + w
        out = [first[n] for n in sorted(votes, key=lambda n: (-votes[n], first[n]))]
        pos = min(self.vote_k, r.size)
        while len(out) < want and pos < r.size:  # the rest in best-entry order
            name = names[pos]
            if name not in first:
                first[name] = pos
                out.append(pos)
            pos += 1
        return out[:want]

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
