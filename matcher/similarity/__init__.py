"""Similarity scores as configured objects (matchms style), looked up by name.

>>> from matcher.similarity import get_similarity
>>> get_similarity("hqi").higher_is_better
True
"""

from __future__ import annotations

from typing import Any

from ..errors import UnknownNameError
from ._base import BaseSimilarity, SearchKind
from ._correlation import HQI, DerivativeHQI, hqi_from_r
from ._euclidean import Euclidean
from ._root import RootHQI


def similarity_classes() -> dict[str, type[BaseSimilarity]]:
    """Every registered score class by name (built on each call: no global state).

    :class:`RootHQI` is not registered: it is the identification's own ranking score, built
    from a :class:`matcher.representation.Representation` (``RootHQI.of``), and it refuses
    noise-only vectors (its noise floor makes them flat), which a generic score need not.
    """
    return {cls.name: cls for cls in (HQI, DerivativeHQI, Euclidean)}


def get_similarity(name: str, **params: Any) -> BaseSimilarity:
    """The score called ``name``, configured with ``params``.

    Raises
    ------
    KeyError
        Unknown name; the message lists the known ones.
    """
    classes = similarity_classes()
    key = name.strip().lower().replace("-", "_")
    if key not in classes:
        raise UnknownNameError(
            f"unknown score {name!r}; known scores: {', '.join(sorted(classes))}")
    return classes[key](**params)


__all__ = [
    "HQI",
    "BaseSimilarity",
    "DerivativeHQI",
    "Euclidean",
    "RootHQI",
    "SearchKind",
    "get_similarity",
    "hqi_from_r",
    "similarity_classes",
]
