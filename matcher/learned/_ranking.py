"""Which ranking an identification uses: the classic correlation, the embedding, or both."""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from numpy.typing import NDArray

from ._model import EmbeddingModel, TechniqueModel

F32 = NDArray[np.float32]


class MatcherKind(StrEnum):
    """How the hit list is ordered (``--matcher``; recorded in every result).

    The hits' scores are the root-HQI of the spectrum against each entry in every case (the
    number an examiner can recompute); the matcher only decides the ORDER, and so the top
    hit the verdict is about. Any entry within the ambiguity margin of the top hit's score,
    or above it, is named as ambiguous by the verdict rules.
    """

    CLASSIC = "classic"
    """Root-HQI correlation (:class:`matcher.representation.Representation`)."""
    LEARNED = "learned"
    """Correlation of the learned embeddings (:class:`matcher.learned.EmbeddingHQI`), over
    the whole library."""
    FUSED = "fused"
    """``r + w·c`` over the classic candidate pool: ``r`` the root-HQI correlation, ``c``
    the embedding correlation, ``w`` the fusion weight."""


class EmbeddedLibrary:
    """The embeddings of one library's rows under one model (built once per library).

    Parameters
    ----------
    model
        The loaded model file.
    technique
        The library's technique.
    matrix
        The library's prepared vectors ``(N, D)``.
    """

    def __init__(self, model: EmbeddingModel, technique: str, matrix: F32) -> None:
        self.model = model
        self.net: TechniqueModel = model.for_technique(technique)
        rows = self.net.embed(matrix) if matrix.shape[0] else np.zeros((0, self.net.dim),
                                                                       dtype=np.float32)
        rows.flags.writeable = False
        self.rows: F32 = rows  # (N, E)

    def query(self, prepared: F32) -> F32:
        """The embedding of one prepared query ``(D,) -> (E,)``."""
        return self.net.embed(prepared)
