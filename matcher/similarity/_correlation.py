"""HQI: mean-centred correlation on a 0-100 scale, on the spectra or their first derivative."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import MatcherInputError
from ._base import F64, BaseSimilarity, SearchKind, as_rows, as_vector


def _centred_unit(rows: F64, name: str) -> F64:
    """Rows centred to zero mean and scaled to unit norm; a flat row is an error."""
    c = rows - rows.mean(axis=1, keepdims=True)
    nrm = np.sqrt(np.sum(c * c, axis=1))
    flat = np.flatnonzero(~(nrm > 0))
    if flat.size:
        raise MatcherInputError(
            f"{name}: row {int(flat[0])} is flat (zero variance); a correlation is undefined"
        )
    out: F64 = c / nrm[:, None]
    return out


def hqi_from_r(r: F64) -> F64:
    """``100·max(r, 0)²``: the HQI of a correlation coefficient ``r``."""
    rc = np.clip(r, 0.0, 1.0)
    out: F64 = 100.0 * rc * rc
    return out


class HQI(BaseSimilarity):
    """Hit quality index: ``HQI = 100·max(r, 0)²``, ``r`` the mean-centred (Pearson) correlation.

    The squared form is what Thermo-style handhelds and KnowItAll-style "correlation" searches
    report, so a field officer's "HQI 95" means the same here (``r ≈ 0.975``). Anti-correlated
    spectra score 0. Ranking (in :mod:`matcher.search`) is by ``r`` itself, so it is strictly
    ordered even where the HQI is clipped to 0.

    Examples
    --------
    >>> import numpy as np
    >>> HQI().pair(np.array([0.0, 1.0, 0.0]), np.array([0.0, 2.0, 0.0]))
    100.0
    """

    name: ClassVar[str] = "hqi"
    is_commutative: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = True
    score_range: ClassVar[tuple[float, float]] = (0.0, 100.0)
    search_kind: ClassVar[SearchKind] = "correlation"

    def score_from_key(self, key: F64) -> F64:
        """HQI from the correlation ``r``."""
        return hqi_from_r(key)

    def correlation(self, references: ArrayLike, queries: ArrayLike) -> F64:
        """The correlation ``r`` of every transformed reference with every query, ``(N, Q)``."""
        refs = self.transform(as_rows(references, "references"))
        qs = self.transform(as_rows(queries, "queries"))
        if refs.shape[1] != qs.shape[1]:
            raise MatcherInputError(
                f"references have {refs.shape[1]} points but queries {qs.shape[1]}"
            )
        # (N, D) @ (D, Q) -> (N, Q)
        out: F64 = _centred_unit(refs, "references") @ _centred_unit(qs, "queries").T
        return out

    def pair(self, reference: ArrayLike, query: ArrayLike) -> float:
        """HQI of one reference against one query (see the class docstring)."""
        r = as_vector(reference, "reference")
        q = as_vector(query, "query")
        if r.shape != q.shape:
            raise MatcherInputError(f"reference has {r.size} points but query {q.size}")
        rt = self.transform(r[None, :])[0]
        qt = self.transform(q[None, :])[0]
        rc = rt - rt.mean()
        qc = qt - qt.mean()
        den = float(np.sqrt(np.dot(rc, rc) * np.dot(qc, qc)))
        if not den > 0:
            raise MatcherInputError("a flat (zero-variance) vector has no correlation")
        corr = float(np.dot(rc, qc)) / den
        return float(hqi_from_r(np.array([corr]))[0])

    def matrix(self, references: ArrayLike, queries: ArrayLike) -> F64:
        """HQI of every reference against every query, ``(N, Q)``."""
        return hqi_from_r(self.correlation(references, queries))


class DerivativeHQI(HQI):
    """HQI of the first derivatives (``np.diff`` along the axis): insensitive to a sloping baseline.

    The derivative of a vector of ``D`` points has ``D - 1`` points (forward differences on the
    library axis, which is uniform); a mask keeps the differences whose two ends it keeps.
    """

    name: ClassVar[str] = "derivative_hqi"

    def transform(self, rows: F64) -> F64:
        """Forward differences along the axis, ``(n, D) -> (n, D - 1)``."""
        out: F64 = np.diff(rows, axis=1)
        return out

    def transform_mask(self, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """A difference is kept when both of its points are."""
        out: NDArray[np.bool_] = mask[1:] & mask[:-1]
        return out
