"""Substance library and identification: scores, search, mixtures, verdicts."""

from .library import Library, LibraryEntry, LibrarySet, validate_cas
from .results import (
    Category,
    FusedIdentification,
    Hit,
    Identification,
    Mixture,
    MixtureComponent,
    Verdict,
)
from .search import Searcher, SearchResult
from .similarity import BaseSimilarity, get_similarity

__all__ = [
    "BaseSimilarity",
    "Category",
    "FusedIdentification",
    "Hit",
    "Identification",
    "Library",
    "LibraryEntry",
    "LibrarySet",
    "Mixture",
    "MixtureComponent",
    "SearchResult",
    "Searcher",
    "Verdict",
    "get_similarity",
    "validate_cas",
]
