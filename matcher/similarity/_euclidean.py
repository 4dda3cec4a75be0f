"""Euclidean distance between preprocessed vectors (lower is better)."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import ArrayLike

from ..errors import MatcherInputError
from ._base import F64, BaseSimilarity, SearchKind, as_rows, as_vector


class Euclidean(BaseSimilarity):
    """Euclidean distance ``‖reference − query‖`` of the vectors as the pipeline left them.

    Meaningful when the pipeline normalises (``normalize(method="vector")`` puts it in
    ``[0, 2]``). Lower is better; identical vectors score 0.
    """

    name: ClassVar[str] = "euclidean"
    is_commutative: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = False
    score_range: ClassVar[tuple[float, float]] = (0.0, float("inf"))
    search_kind: ClassVar[SearchKind] = "euclidean"

    def score_from_key(self, key: F64) -> F64:
        """Distance from the squared distance (clipped at 0 against rounding)."""
        out: F64 = np.sqrt(np.maximum(key, 0.0))
        return out

    def pair(self, reference: ArrayLike, query: ArrayLike) -> float:
        """Distance between one reference and one query."""
        r = as_vector(reference, "reference")
        q = as_vector(query, "query")
        if r.shape != q.shape:
            raise MatcherInputError(f"reference has {r.size} points but query {q.size}")
        return float(np.sqrt(np.sum((r - q) ** 2)))

    def matrix(self, references: ArrayLike, queries: ArrayLike) -> F64:
        """Distance of every reference to every query, ``(N, Q)``."""
        refs = as_rows(references, "references")
        qs = as_rows(queries, "queries")
        if refs.shape[1] != qs.shape[1]:
            raise MatcherInputError(
                f"references have {refs.shape[1]} points but queries {qs.shape[1]}"
            )
        # ‖r‖² + ‖q‖² − 2 r·q, then clipped: (N,1) + (1,Q) − (N,D)@(D,Q)
        d2 = (
            np.sum(refs * refs, axis=1)[:, None]
            + np.sum(qs * qs, axis=1)[None, :]
            - 2.0 * (refs @ qs.T)
        )
        return self.score_from_key(d2)
