"""Substance library and identification: scores, search, mixtures, verdicts."""

from .identify import Identifier, fuse
from .library import Library, LibraryEntry, LibrarySet, validate_cas
from .mixture import MixtureConfig
from .quality import QualityConfig, QualityReport, assess
from .representation import Representation
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
from .verdict import Thresholds

__all__ = [
    "BaseSimilarity",
    "Category",
    "FusedIdentification",
    "Hit",
    "Identification",
    "Identifier",
    "Library",
    "LibraryEntry",
    "LibrarySet",
    "Mixture",
    "MixtureComponent",
    "MixtureConfig",
    "QualityConfig",
    "QualityReport",
    "Representation",
    "SearchResult",
    "Searcher",
    "Thresholds",
    "Verdict",
    "assess",
    "fuse",
    "get_similarity",
    "validate_cas",
]
