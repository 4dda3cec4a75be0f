"""The score protocol: a configured object with a simple ``pair`` and a vectorised ``matrix``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar, Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import MatcherInputError

F64 = NDArray[np.float64]

SearchKind = Literal["correlation", "euclidean"]
"""How :mod:`matcher.search` turns a score into an inner product it can bound."""


def as_vector(values: ArrayLike, name: str) -> F64:
    """``values`` as a finite 1-D float64 array, or a :class:`ValueError` naming ``name``."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise MatcherInputError(f"{name}: expected a 1-D vector, got shape {arr.shape}")
    if arr.size < 2:
        raise MatcherInputError(f"{name}: needs at least 2 points, got {arr.size}")
    if not np.all(np.isfinite(arr)):
        raise MatcherInputError(f"{name}: contains non-finite values")
    return arr


def as_rows(values: ArrayLike, name: str) -> F64:
    """``values`` as a finite 2-D float64 array (a 1-D vector becomes one row)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, :]
    if arr.ndim != 2:
        raise MatcherInputError(f"{name}: expected shape (n, D), got {arr.shape}")
    if arr.shape[1] < 2:
        raise MatcherInputError(f"{name}: needs at least 2 points per vector, got {arr.shape[1]}")
    if not np.all(np.isfinite(arr)):
        raise MatcherInputError(f"{name}: contains non-finite values")
    return arr


class BaseSimilarity(ABC):
    """A similarity score between preprocessed spectra on one axis (matchms style).

    Parameters are given to ``__init__``; :meth:`pair` scores one reference against one
    query; :meth:`matrix` scores every reference against every query and agrees with
    :meth:`pair` (a convention test checks this for every registered score).

    Attributes
    ----------
    name
        The name :func:`matcher.similarity.get_similarity` knows it by.
    is_commutative
        ``pair(a, b) == pair(b, a)``.
    higher_is_better
        Whether a larger score is a better match.
    score_range
        The closed interval the score lies in.
    search_kind
        How :mod:`matcher.search` bounds it: ``"correlation"`` (rank by the mean-centred
        correlation of the transformed vectors) or ``"euclidean"`` (rank by the distance).
    transform_is_float32
        :meth:`transform` computes in float32 (its output widened to float64 is exactly a
        float32 array), so the search may re-score from its stored float32 transformed rows
        instead of transforming them again.
    """

    name: ClassVar[str]
    is_commutative: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = True
    score_range: ClassVar[tuple[float, float]]
    search_kind: ClassVar[SearchKind]
    transform_is_float32: ClassVar[bool] = False

    # -- the transform and the key: what the search engine needs -------------------------
    def transform(self, rows: F64) -> F64:
        """Map vectors ``(n, D) -> (n, D')`` before scoring (identity by default)."""
        return rows

    def transform_mask(self, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """The points of the transformed vector that a mask of axis points keeps."""
        return mask

    @abstractmethod
    def score_from_key(self, key: F64) -> F64:
        """Scores from ranking keys (correlation ``r``, or squared distance), elementwise."""

    def params(self) -> dict[str, float | int | str | bool]:
        """The configuration, for the record (empty for parameter-free scores)."""
        return {}

    # -- the public protocol -------------------------------------------------------------
    @abstractmethod
    def pair(self, reference: ArrayLike, query: ArrayLike) -> float:
        """Score one reference vector against one query vector (both ``(D,)``).

        Raises
        ------
        ValueError
            Shapes differ, non-finite values, or a vector the score is undefined for.
        """

    def matrix(self, references: ArrayLike, queries: ArrayLike) -> F64:
        """Score every reference against every query.

        Parameters
        ----------
        references
            ``(N, D)``.
        queries
            ``(Q, D)`` (a single ``(D,)`` vector is one query).

        Returns
        -------
        numpy.ndarray
            ``(N, Q)`` float64. The default loops over :meth:`pair`; subclasses vectorise.
        """
        refs = as_rows(references, "references")
        qs = as_rows(queries, "queries")
        out = np.empty((refs.shape[0], qs.shape[0]), dtype=np.float64)
        for i, r in enumerate(refs):
            for j, q in enumerate(qs):
                out[i, j] = self.pair(r, q)
        return out

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.params().items())
        return f"{type(self).__name__}({params})"

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and isinstance(other, BaseSimilarity) and (
            self.params() == other.params()
        )

    def __hash__(self) -> int:
        return hash((type(self).__name__, tuple(sorted(self.params().items()))))
