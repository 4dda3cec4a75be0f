"""A learned spectral similarity: an embedding network run in NumPy (no framework at run time).

:func:`load_model` reads the versioned model file (default: the shipped ``embedding-v1.npz``,
trained by ``tools/train_embedding.py`` on minerals disjoint from the benchmark's held-out
half); :class:`EmbeddingHQI` is its score as a :mod:`matcher.similarity` object.
"""

from __future__ import annotations

from ._model import (
    DEFAULT_MODEL,
    EmbeddingModel,
    ModelFileError,
    TechniqueModel,
    load_model,
    reference_inputs,
    save_model,
)
from ._ranking import EmbeddedLibrary, MatcherKind
from ._similarity import EmbeddingHQI

__all__ = [
    "DEFAULT_MODEL",
    "EmbeddedLibrary",
    "EmbeddingHQI",
    "EmbeddingModel",
    "MatcherKind",
    "ModelFileError",
    "TechniqueModel",
    "load_model",
    "reference_inputs",
    "save_model",
]
