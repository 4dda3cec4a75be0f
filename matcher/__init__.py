"""Substance library and identification: scores, search, mixtures, verdicts.

Names are loaded on first use: importing :mod:`matcher.results` (what the evidence store
needs) does not load the search, the mixtures or SciPy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .batch import Identifiers, identify_files
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

_WHERE = {
    "Identifiers": "batch",
    "identify_files": "batch",
    "Identifier": "identify",
    "fuse": "identify",
    "Library": "library",
    "LibraryEntry": "library",
    "LibrarySet": "library",
    "validate_cas": "library",
    "MixtureConfig": "mixture",
    "QualityConfig": "quality",
    "QualityReport": "quality",
    "assess": "quality",
    "Representation": "representation",
    "Category": "results",
    "FusedIdentification": "results",
    "Hit": "results",
    "Identification": "results",
    "Mixture": "results",
    "MixtureComponent": "results",
    "Verdict": "results",
    "Searcher": "search",
    "SearchResult": "search",
    "BaseSimilarity": "similarity",
    "get_similarity": "similarity",
    "Thresholds": "verdict",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'matcher' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "BaseSimilarity",
    "Category",
    "FusedIdentification",
    "Hit",
    "Identification",
    "Identifier",
    "Identifiers",
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
    "identify_files",
    "validate_cas",
]
