"""Result models of identification: what ``matcher`` answers and ``parcels`` stores.

These pydantic models are the boundary between the matcher, the evidence store and the
station. Field names are part of the stored-record format: change them only with a
migration in ``parcels``.
"""

from __future__ import annotations

from collections.abc import Sequence
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
    weight: float | None = None
    """The non-negative least-squares weight of the entry's library vector (negative values
    clipped to 0) in the fit, on the query as prepared and shifted for the search: with it a
    report draws the matcher's own fit instead of fitting again (None in older records)."""


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


def reported_substances(
    verdict: Verdict, hits: Sequence[Hit], mixture: Mixture | None, ambiguity_margin: float,
) -> list[Hit | MixtureComponent]:
    """What a result REPORTS as found (the one definition the alert and the SYNTHETIC flag
    both follow).

    MIXTURE: the mixture's components. MATCH and a weak INCONCLUSIVE: the best hit and every
    hit of another substance within ``ambiguity_margin`` of it (analogues the search cannot
    separate). NO_MATCH, or INCONCLUSIVE without hits (failed quality checks): nothing. Hits
    further down the list are context, not findings.
    """
    if verdict is Verdict.MIXTURE and mixture is not None:
        return list(mixture.components)
    if verdict is Verdict.NO_MATCH or not hits:
        return []
    top = hits[0]
    return [top, *(h for h in hits[1:]
                   if h.name != top.name and top.score - h.score < ambiguity_margin)]


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
    """A REPORTED substance (see :func:`reported_substances`) comes from a SYNTHETIC
    reference. Records written before this definition set it when any of the top hits did;
    read :attr:`synthetic_reported`, which is computed from the result itself."""
    notes: tuple[str, ...] = ()
    snr: float | None = None
    """Signal-to-noise ratio of the raw spectrum, from the quality checks (None if unknown)."""
    axis_shift: int = 0
    """Grid steps the prepared query was shifted by (axis-offset correction) before the
    search and the mixture fit."""

    def _threshold(self, name: str, default: float) -> float:
        v = self.thresholds.get(name)
        return float(v) if isinstance(v, int | float) else default

    def reported(self) -> list[Hit | MixtureComponent]:
        """What this result reports as found (:func:`reported_substances`)."""
        return reported_substances(self.verdict, self.hits, self.mixture,
                                   self._threshold("ambiguity_margin", 3.0))

    @property
    def synthetic_reported(self) -> tuple[str, ...]:
        """Names of SYNTHETIC references among the reported substances and the alerting
        ones: where, and only where, the words SYNTHETIC belong on the result."""
        alerting = set(self.alert_substances)
        entries = [*self.reported(), *self.hits,
                   *(self.mixture.components if self.mixture else ())]
        names = [e.name for e in self.reported() if e.synthetic]
        names += [e.name for e in entries if e.synthetic and e.name in alerting]
        return tuple(dict.fromkeys(names))

    @property
    def parts(self) -> tuple[Identification, ...]:
        """The single-technique results this answer is made of: itself (see
        :attr:`FusedIdentification.parts`)."""
        return (self,)

    def part(self, technique: Technique | str) -> Identification | None:
        """The part measured with ``technique``: itself if it is of that technique."""
        return self if self.technique == technique else None

    def basis(self) -> str:
        """What the verdict was decided on, with the recorded thresholds it was held to.

        This replaces a bare "confidence": the score that decided, the threshold it met or
        missed, and the margin to the nearest other substance.
        """
        score = self.score.upper()
        if self.verdict is Verdict.MIXTURE and self.mixture is not None:
            m = self.mixture
            single = ("" if m.single_hqi is None else
                      f"; the best single reference reaches {m.single_hqi:.1f}")
            return (f"{len(m.components)}-component fit, composite HQI {m.composite_hqi:.1f} "
                    f"≥ mixture threshold {self._threshold('mixture_hqi', 85.0):g}{single}; "
                    f"{100 * m.residual_fraction:.1f} % of the signal unexplained")
        if not self.hits:
            return self.reason or "no candidate"
        top = self.hits[0]
        others = [h for h in self.hits[1:] if h.name != top.name]
        margin = (f"; next other substance {top.score - others[0].score:.1f} points lower "
                  f"(ambiguous below {self._threshold('ambiguity_margin', 3.0):g})"
                  if others else "")
        match = self._threshold("match_hqi", 80.0)
        floor = self._threshold("no_match_below", 45.0)
        if self.verdict is Verdict.MATCH:
            return f"top hit {score} {top.score:.1f} ≥ match threshold {match:g}{margin}"
        if self.verdict is Verdict.NO_MATCH:
            return f"top hit {score} {top.score:.1f} < no-match threshold {floor:g}"
        return (f"top hit {score} {top.score:.1f} between the no-match ({floor:g}) and match "
                f"({match:g}) thresholds{margin}")


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

    @property
    def synthetic_reported(self) -> tuple[str, ...]:
        """:attr:`Identification.synthetic_reported` of every part."""
        return tuple(dict.fromkeys(n for r in self.results for n in r.synthetic_reported))

    @property
    def parts(self) -> tuple[Identification, ...]:
        """The single-technique results fused here (:attr:`results`): what a caller that
        takes either kind of answer iterates over."""
        return self.results

    def part(self, technique: Technique | str) -> Identification | None:
        """The part measured with ``technique`` (a :class:`spectra.Technique` or its value)."""
        return next((r for r in self.results if r.technique == technique), None)


__all__ = [
    "Category",
    "FusedIdentification",
    "Hit",
    "Identification",
    "Mixture",
    "MixtureComponent",
    "Verdict",
    "reported_substances",
]
