"""Result models of identification: what ``matcher`` answers and ``parcels`` stores.

These pydantic models are the boundary between the matcher, the evidence store and the
station. Field names are part of the stored-record format: change them only with a
migration in ``parcels``.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from spectra import Pipeline, Technique


class Category(StrEnum):
    """What a library substance is, for alerting."""

    CONTROLLED = "controlled"
    """A controlled substance (``schedule`` says which)."""
    PRECURSOR = "precursor"
    CUTTING_AGENT = "cutting-agent"
    """Diluents, fillers, adulterants."""
    BENIGN = "benign"
    """Packaging, everyday materials."""
    HAZARDOUS = "hazardous"
    """Dangerous to handle but not controlled (solvents, acids, oxidisers)."""
    UNKNOWN = "unknown"

    @property
    def alerts(self) -> bool:
        """Whether finding this category raises an alert."""
        return self in (Category.CONTROLLED, Category.PRECURSOR)


class Verdict(StrEnum):
    """The answer of one identification."""

    MATCH = "MATCH"
    MIXTURE = "MIXTURE"
    INCONCLUSIVE = "INCONCLUSIVE"
    NO_MATCH = "NO_MATCH"


class Hit(BaseModel):
    """One library entry and its score against the query."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    name: str
    score: float
    """Hit quality on the 0-100 scale of the score that produced it."""
    category: Category = Category.UNKNOWN
    schedule: str | None = None
    synthetic: bool = False
    """The reference spectrum is synthesised, not measured (never for casework)."""


class MixtureComponent(BaseModel):
    """One component of a fitted mixture."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entry_id: str
    name: str
    share: float = Field(ge=0.0, le=1.0)
    """Spectral share: this component's part of the fitted signal, 0-1 (sums to 1)."""
    category: Category = Category.UNKNOWN
    schedule: str | None = None
    synthetic: bool = False


class Mixture(BaseModel):
    """A non-negative combination of up to three library spectra that explains the query."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    components: tuple[MixtureComponent, ...]
    composite_hqi: float
    """HQI (0-100) of the fitted combination against the query."""
    residual_fraction: float = Field(ge=0.0)
    """Unexplained part: ‖query − fit‖² / ‖query‖² after preprocessing."""
    structured_residual: bool = False
    """True when the residual still has peaks: "unexplained signal remains"."""
    single_hqi: float | None = None
    """HQI of the best ONE-component fit in the same representation (what the mixture beats)."""


class Identification(BaseModel):
    """The whole answer for one spectrum against one library."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict
    reason: str | None = None
    """Why, for INCONCLUSIVE and NO_MATCH (e.g. "poor signal: saturated detector")."""
    alert: bool = False
    alert_substances: tuple[str, ...] = ()
    confidence: float = Field(default=0.0, ge=0.0, le=1.0)
    hits: tuple[Hit, ...] = ()
    mixture: Mixture | None = None
    technique: Technique
    library_id: str
    library_hash: str
    pipeline: Pipeline
    score: str = "hqi"
    """Name of the hits' score (under the ``classic`` matcher also what ranked them)."""
    matcher: str = "classic"
    """What ordered the hits: ``classic`` (the score), ``learned`` (the embedding
    correlation) or ``fused(w=…)`` (:class:`matcher.learned.MatcherKind`)."""
    model_hash: str | None = None
    """sha256 of the embedding model file that ordered the hits (None for ``classic``),
    next to ``library_hash``: both are needed to reproduce the result."""
    thresholds: dict[str, JsonValue] = Field(default_factory=dict)
    synthetic_used: bool = False
    """Any hit or component reported comes from a SYNTHETIC reference."""
    notes: tuple[str, ...] = ()
    snr: float | None = None
    """Signal-to-noise ratio of the raw spectrum, from the quality checks (None if unknown)."""


class FusedIdentification(BaseModel):
    """Raman and FTIR results for the same sample, fused into one verdict."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    verdict: Verdict
    agreement: bool | None
    """True when both techniques name the same substance(s); None with only one technique."""
    alert: bool
    alert_substances: tuple[str, ...] = ()
    confidence: float = Field(ge=0.0, le=1.0)
    reason: str | None = None
    results: tuple[Identification, ...]


__all__ = [
    "Category",
    "FusedIdentification",
    "Hit",
    "Identification",
    "Mixture",
    "MixtureComponent",
    "Verdict",
]
