"""Substance library and identification: scores, search, mixtures, verdicts."""

from .results import (
    Category,
    FusedIdentification,
    Hit,
    Identification,
    Mixture,
    MixtureComponent,
    Verdict,
)

__all__ = [
    "Category",
    "FusedIdentification",
    "Hit",
    "Identification",
    "Mixture",
    "MixtureComponent",
    "Verdict",
]
