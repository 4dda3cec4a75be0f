"""The evidence report's view model: what one parcel's report shows, as plain pydantic data.

Filled from the evidence store by :mod:`station.report.collect`, drawn by
:mod:`station.report.plot` and :mod:`station.report.render`; nothing here reads a store or
writes HTML.
"""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from matcher.results import Category, Verdict


class Series(BaseModel):
    """One curve: x and y, same length."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    x: list[float]
    y: list[float]


class ReferenceCurve(BaseModel):
    """A matched reference, already on the measured axis and scaled for display."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    entry_id: str
    curve: Series
    synthetic: bool = False
    weight: float = 0.0
    """The non-negative least-squares coefficient used to scale it."""


class PlotData(BaseModel):
    """What one inspection's plot shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    measured: Series
    references: list[ReferenceCurve] = Field(default_factory=list)
    fit: Series | None = None
    residual: Series | None = None
    x_label: str = "Raman shift (cm⁻¹)"
    caption: str = ""
    reverse_x: bool = False
    """Draw the x axis high → low (the infrared convention)."""


class HitRow(BaseModel):
    """A scored hit as shown in the report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    entry_id: str
    score: float
    category: Category = Category.UNKNOWN
    schedule: str | None = None
    synthetic: bool = False


class ComponentRow(BaseModel):
    """A fitted mixture component as shown in the report."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    share: float
    category: Category = Category.UNKNOWN
    schedule: str | None = None
    synthetic: bool = False


class AuditRow(BaseModel):
    """One audit-chain entry."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    at: str
    event: str
    detail: str = ""
    entry_hash: str
    prev_hash: str = ""


class HoldRow(BaseModel):
    """One hold request or hold status change."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    at: str
    authority: str = ""
    action: str
    reason: str = ""


class PartView(BaseModel):
    """One technique's identification within an inspection's result (a fused result has one
    part per technique; a single-technique result has one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    technique: str
    measured_here: bool = True
    """This part's spectrum is the inspection's (False: the other technique of a fused
    result, measured in another inspection)."""
    verdict: Verdict
    reason: str | None = None
    basis: str = ""
    """What the verdict was decided on (score, threshold, margin)."""
    alert_substances: list[str] = Field(default_factory=list)
    score_name: str = "hqi"
    hits: list[HitRow] = Field(default_factory=list)
    components: list[ComponentRow] = Field(default_factory=list)
    composite_hqi: float | None = None
    residual_fraction: float | None = None
    structured_residual: bool = False
    library_id: str = ""
    library_hash: str = ""
    pipeline: list[str] = Field(default_factory=list)
    thresholds: list[tuple[str, str]] = Field(default_factory=list)
    """Every recorded threshold as (dotted name, value), in the recorded order."""
    notes: list[str] = Field(default_factory=list)
    synthetic: list[str] = Field(default_factory=list)
    """Reported or alerting substances identified against a SYNTHETIC reference."""


class InspectionView(BaseModel):
    """One inspection of the parcel and its (latest) result."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    inspection_id: str
    at: str
    operator: str = ""
    station: str = ""
    device: dict[str, str] = Field(default_factory=dict)
    technique: str
    verdict: Verdict
    """The result's verdict (a fused result's fused verdict)."""
    reason: str | None = None
    alert: bool = False
    alert_substances: list[str] = Field(default_factory=list)
    fused: bool = False
    agreement: bool | None = None
    parts: list[PartView] = Field(default_factory=list)
    spectrum_hash: str = ""
    result_id: str = ""
    plot: PlotData | None = None
    plot_unavailable: str | None = None
    """Why there is no plot (e.g. the reference is not in the loaded library)."""
    notes: list[str] = Field(default_factory=list)
    audit: list[AuditRow] = Field(default_factory=list)

    @property
    def synthetic(self) -> list[str]:
        """SYNTHETIC references among what any part reports or alerts on."""
        return list(dict.fromkeys(n for p in self.parts for n in p.synthetic))


class SignedHeadView(BaseModel):
    """The chain head the station signed last, as printed for anchoring."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    hash: str
    prev_seq: int
    key_id: str
    signature: str
    trusted: bool | None = None
    """Whether the key is the station's (None: not checked against a trusted key)."""


class EvidenceReport(BaseModel):
    """Everything one parcel's evidence report shows."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    status: str = ""
    aed: dict[str, str] = Field(default_factory=dict)
    holds: list[HoldRow] = Field(default_factory=list)
    inspections: list[InspectionView] = Field(default_factory=list)
    parcel_audit: list[AuditRow] = Field(default_factory=list)
    chain_ok: bool | None = None
    chain_message: str = ""
    chain_findings: list[str] = Field(default_factory=list)
    signed_head: SignedHeadView | None = None
    generated_at: str = Field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    generated_by: str = ""
    station: str = ""
    database: str = ""


__all__ = ["AuditRow", "ComponentRow", "EvidenceReport", "HitRow", "HoldRow", "InspectionView",
           "PartView", "PlotData", "ReferenceCurve", "Series", "SignedHeadView"]
