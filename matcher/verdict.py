"""Verdicts: from quality, ranked hits and a mixture fit to one recorded :class:`Identification`.

Rules, in order (every threshold is a field of :class:`Thresholds` and is recorded in the
result's ``thresholds``):

1. The quality checks failed → ``INCONCLUSIVE``, reason ``"poor signal: ..."``; no hit is
   reported (never a forced identification).
2. A mixture of ≥ 2 components was kept by the fit, its composite HQI is at least
   ``mixture_hqi`` and beats the best one-component fit (``Mixture.single_hqi``, same
   representation) by ``mixture_min_improvement`` → ``MIXTURE``.
3. The best hit reaches ``match_hqi`` → ``MATCH``.
4. The best hit is below ``no_match_below`` → ``NO_MATCH``.
5. Otherwise → ``INCONCLUSIVE`` ("weak match"), naming the best candidate.

Confidence (0-1) of MATCH and weak INCONCLUSIVE::

    s_score  = clip((S1 − no_match_below) / (100 − no_match_below), 0, 1)
    s_margin = min(1, margin / (2 · ambiguity_margin))
    confidence = s_score · (0.5 + 0.5 · s_margin)

where ``S1`` is the best hit's HQI and ``margin`` the HQI gap to the best hit of a
DIFFERENT substance (by name). When ``margin < ambiguity_margin`` the candidates are
analogues the search cannot separate (MDMA/MDA): the note names them, and they are all
"reported" substances (so any one of them being controlled raises the alert). For MIXTURE,
``s_score`` uses the composite HQI and ``s_margin`` is 1 when the residual is unstructured,
0.5 when "unexplained signal remains".

Alert: raised when any REPORTED substance (the matched one and its analogues within the
margin, the mixture's components, or a weak match's candidate) is in a category that alerts
(:attr:`matcher.results.Category.alerts`: controlled or precursor). Hits further down the
list are context, not findings, and do not raise it.

Synthetic references: ``synthetic_used`` is True when a REPORTED substance (the same
:func:`matcher.results.reported_substances` the alert follows) comes from a synthetic library
entry, and a note names it ("not for casework"). A synthetic entry further down the hit list
is context: it keeps its own label in the list but does not mark the result.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict, Field

from spectra import Pipeline, Technique

from .mixture import MixtureConfig
from .quality import QualityConfig, QualityReport
from .results import Hit, Identification, Mixture, Verdict, reported_substances


class Thresholds(BaseModel):
    """Every threshold of an identification; recorded with each result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    match_hqi: float = Field(default=80.0, ge=0.0, le=100.0)
    """Best hit at or above this (HQI 0-100) → MATCH."""
    no_match_below: float = Field(default=45.0, ge=0.0, le=100.0)
    """Best hit below this → NO_MATCH."""
    mixture_hqi: float = Field(default=85.0, ge=0.0, le=100.0)
    """A mixture's composite HQI must reach this to be the verdict."""
    mixture_min_improvement: float = Field(default=0.1, ge=0.0)
    """... and beat the best single component's HQI by this many points."""
    ambiguity_margin: float = Field(default=3.0, ge=0.0)
    """Best hits of different substances closer than this (HQI points) are ambiguous."""
    max_shift_cm: float = Field(default=6.0, ge=0.0)
    """Largest axis-calibration offset (cm⁻¹ or axis units) searched for the query."""
    shift_min_gain: float = Field(default=1.0, ge=0.0)
    """An axis offset is applied only if it raises the best hit's HQI by this many points."""
    quality: QualityConfig = Field(default_factory=QualityConfig)
    mixture: MixtureConfig = Field(default_factory=MixtureConfig)


def _confidence(top: float, margin: float, t: Thresholds) -> float:
    span = max(1e-9, 100.0 - t.no_match_below)
    s_score = min(1.0, max(0.0, (top - t.no_match_below) / span))
    s_margin = 1.0 if t.ambiguity_margin <= 0 else min(1.0, margin / (2 * t.ambiguity_margin))
    return s_score * (0.5 + 0.5 * s_margin)


def _alerts(names_cats: Sequence[tuple[str, bool]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for n, a in names_cats if a))


def decide(
    *,
    hits: Sequence[Hit],
    mixture: Mixture | None,
    quality: QualityReport,
    thresholds: Thresholds,
    technique: Technique,
    library_id: str,
    library_hash: str,
    pipeline: Pipeline,
    score: str,
    notes: Sequence[str] = (),
    axis_shift: int = 0,
    matcher: str = "classic",
    model_hash: str | None = None,
) -> Identification:
    """Turn the evidence of one identification into a verdict.

    Parameters
    ----------
    hits
        Ranked hits, best first, at most one per substance name.
    mixture
        The kept mixture fit (None when none was attempted or the fit failed).
    quality
        The raw spectrum's quality report.
    thresholds
        The rules; recorded in the result.
    technique, library_id, library_hash, pipeline, score
        Recorded in the result.
    notes
        Notes from earlier stages (e.g. an axis-offset correction).
    axis_shift
        Grid steps the prepared query was shifted by (recorded in the result).
    matcher, model_hash
        How the hits were ordered, and the embedding model's sha256; recorded in the result.

    Returns
    -------
    Identification
    """
    t = thresholds
    recorded = t.model_dump(mode="json")
    note_list = list(notes)
    if not quality.ok:
        return Identification(
            verdict=Verdict.INCONCLUSIVE, reason=quality.reason, confidence=0.0,
            notes=(*note_list, "no search reported: the signal failed the quality checks"),
            technique=technique, library_id=library_id, library_hash=library_hash,
            pipeline=pipeline, score=score, thresholds=recorded, snr=quality.snr,
            matcher=matcher, model_hash=model_hash,
        )
    if not hits:
        return Identification(
            verdict=Verdict.NO_MATCH, reason="the library returned no candidate",
            technique=technique, library_id=library_id, library_hash=library_hash,
            pipeline=pipeline, score=score, thresholds=recorded, snr=quality.snr,
            matcher=matcher, model_hash=model_hash,
        )

    top = hits[0]
    others = [h for h in hits[1:] if h.name != top.name]
    margin = top.score - others[0].score if others else 100.0

    verdict: Verdict
    reason: str | None = None
    use_mixture = (
        mixture is not None
        and len(mixture.components) >= 2
        and mixture.composite_hqi >= t.mixture_hqi
        and mixture.composite_hqi
        - (mixture.single_hqi if mixture.single_hqi is not None else top.score)
        >= t.mixture_min_improvement
    )
    if use_mixture:
        assert mixture is not None  # narrowed above; for the type checker
        verdict = Verdict.MIXTURE
        s_score = min(1.0, max(0.0, (mixture.composite_hqi - t.no_match_below)
                               / max(1e-9, 100.0 - t.no_match_below)))
        confidence = s_score * (0.75 if mixture.structured_residual else 1.0)
        if mixture.structured_residual:
            note_list.append("unexplained signal remains (structured residual)")
    elif top.score >= t.match_hqi:
        verdict = Verdict.MATCH
        confidence = _confidence(top.score, margin, t)
    elif top.score < t.no_match_below:
        verdict = Verdict.NO_MATCH
        reason = f"best hit {top.name} scores {top.score:.1f}, below {t.no_match_below:g}"
        confidence = 0.0
    else:
        verdict = Verdict.INCONCLUSIVE
        reason = (f"weak match: best hit {top.name} scores {top.score:.1f}, below the match "
                  f"threshold {t.match_hqi:g}")
        confidence = _confidence(top.score, margin, t)
    found = reported_substances(verdict, hits, mixture if use_mixture else None,
                                t.ambiguity_margin)
    reported = [(e.name, e.category.alerts) for e in found]
    close = found[1:] if verdict in (Verdict.MATCH, Verdict.INCONCLUSIVE) else []
    if close:
        note_list.append(
            "ambiguous: " + ", ".join([top.name, *(h.name for h in close)])
            + f" score within {t.ambiguity_margin:g} HQI of each other (analogues?)"
        )
    if mixture is not None and not use_mixture and len(mixture.components) >= 2:
        note_list.append(
            "a mixture fit was found but not reported (composite HQI "
            f"{mixture.composite_hqi:.1f} does not meet the mixture thresholds)"
        )
    synthetic = list(dict.fromkeys(e.name for e in found if e.synthetic))
    if synthetic:
        note_list.append(
            "SYNTHETIC reference used (not measured; not for casework): " + ", ".join(synthetic)
        )
    alerts = _alerts(reported)
    return Identification(
        verdict=verdict,
        reason=reason,
        alert=bool(alerts),
        alert_substances=alerts,
        confidence=min(1.0, max(0.0, confidence)),
        hits=tuple(hits),
        mixture=mixture if use_mixture else None,
        synthetic_used=bool(synthetic),
        notes=tuple(note_list),
        technique=technique, library_id=library_id, library_hash=library_hash,
        pipeline=pipeline, score=score, thresholds=recorded, snr=quality.snr,
        axis_shift=axis_shift, matcher=matcher, model_hash=model_hash,
    )


__all__ = ["Thresholds", "decide"]
