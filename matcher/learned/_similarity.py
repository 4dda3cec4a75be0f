"""The learned score as a :mod:`matcher.similarity` object: HQI of the embeddings."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from ..errors import MatcherInputError
from ..similarity import HQI
from ..similarity._base import F64
from ._model import EmbeddingModel, TechniqueModel


class EmbeddingHQI(HQI):
    """HQI (``100·max(r, 0)²``) of the correlation of two spectra's learned embeddings.

    The transform maps each prepared vector (``(n, D)`` on the model's axis) to its unit,
    zero-mean embedding (``(n, E)``, :meth:`TechniqueModel.embed`), so :meth:`pair` and
    :meth:`matrix` are the HQI of the embeddings and the exact search
    (:class:`matcher.search.Searcher`) ranks by it like any correlation score.

    Parameters
    ----------
    model
        A loaded model file.
    technique
        Which of its networks (``"raman"`` or an infrared technique).

    Notes
    -----
    Not registered by name in :func:`matcher.similarity.get_similarity`: it needs a model
    file. An embedding has no axis points, so it cannot be masked.
    """

    name: ClassVar[str] = "embedding_hqi"
    transform_is_float32: ClassVar[bool] = True

    def __init__(self, model: EmbeddingModel, technique: str = "raman") -> None:
        self._model = model
        self._net: TechniqueModel = model.for_technique(technique)

    def params(self) -> dict[str, float | int | str | bool]:
        """The configuration, for the record: the model's name, hash and network."""
        return {"model": self._model.name, "sha256": self._model.sha256,
                "technique": self._net.technique}

    def transform(self, rows: F64) -> F64:
        """Embeddings of the rows, ``(n, D) -> (n, E)`` (float32 inside, then widened)."""
        out: F64 = self._net.embed(rows).astype(np.float64)
        return out

    def transform_mask(self, mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
        """Only the full axis: an embedding mixes every point.

        Raises
        ------
        ValueError
            For a mask that leaves out any point.
        """
        if not bool(np.all(mask)):
            raise MatcherInputError("the embedding score cannot be masked: it uses the whole axis")
        return np.ones(self._net.dim, dtype=bool)
