"""Fill an :class:`~station.report.model.EvidenceReport` from the evidence store and the library."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.results import FusedIdentification, Identification

from .model import (
    AuditRow,
    ComponentRow,
    EvidenceReport,
    HitRow,
    HoldRow,
    InspectionView,
    PartView,
    PlotData,
    ReferenceCurve,
    Series,
    SignedHeadView,
)
from .plot import fit_references

if TYPE_CHECKING:
    from matcher.library import Library, LibrarySet
    from parcels.records import AuditEvent, Inspection, ParcelFile
    from parcels.store.base import Store


def _ts(value: Any) -> str:
    text: str = value.isoformat(timespec="seconds") if hasattr(value, "isoformat") else str(value)
    return text.replace("+00:00", "Z")


def aed_rows(pf: ParcelFile) -> dict[str, str]:
    """The announced parcel as label → text, in the order an officer reads it."""
    p = pf.parcel
    d = p.declaration
    items = "; ".join(
        f"{i.quantity} × {i.description} ({i.net_weight_kg:g} kg, {i.value:.2f} {i.currency}"
        + (f", HS {i.hs_code}" if i.hs_code else "") + ")"
        for i in d.items)
    return {
        "Item id": p.item_id,
        "Mail class": p.mail_class,
        "Origin": p.origin_country,
        "Received": _ts(p.received_at),
        "Facility": p.facility,
        "Sender": f"{p.sender.name}, {p.sender.address} ({p.sender.country})",
        "Recipient": f"{p.recipient.name}, {p.recipient.address} ({p.recipient.country})",
        "Declaration": f"{d.category.value}: {items or 'no articles listed'}",
        "Declared total": f"{d.total_value:.2f} {d.currency}, {d.total_gross_weight_kg:g} kg gross",
        "Imported": _ts(pf.imported_at),
    }


def hold_rows(pf: ParcelFile) -> list[HoldRow]:
    """The hold request and every transition, oldest first."""
    h = pf.hold
    if h is None:
        return []
    rows = []
    for t in h.transitions:
        reason = h.reason if t.state.value == "requested" else (t.note or "")
        authority = h.requested_by if t.state.value == "requested" else t.actor
        rows.append(HoldRow(at=_ts(t.at), authority=authority, action=t.state.value,
                            reason=reason))
    return rows


def audit_row(e: AuditEvent) -> AuditRow:
    """One audit event as a report row."""
    keys = ("inspection_id", "result_id", "verdict", "state", "source", "library_id")
    detail = ", ".join(f"{k}={e.data[k]}" for k in keys if k in e.data)
    return AuditRow(seq=e.seq, at=_ts(e.at), event=f"{e.kind.value} by {e.actor}",
                    detail=detail, entry_hash=e.hash, prev_hash=e.prev_hash)


def _mentions(e: AuditEvent, insp: Inspection) -> bool:
    ids = {insp.inspection_id, insp.spectrum_hash, *(r.result_id for r in insp.results)}
    return any(isinstance(v, str) and v in ids for v in e.data.values())


def _find_library(libs: LibrarySet | None, ident: Identification) -> tuple[Library | None, str]:
    if libs is None:
        return None, "no library loaded for plotting"
    for part in libs:
        if part.id == ident.library_id:
            if part.hash != ident.library_hash:
                return None, (
                    f"the loaded library {part.id!r} (hash {part.hash[:12]}…) is not the one "
                    f"that produced this result (hash {ident.library_hash[:12]}…)")
            return part, ""
    return None, f"library {ident.library_id!r} is not in the loaded library file"


def plot_for(spectrum: Any, ident: Identification, libs: LibrarySet | None
             ) -> tuple[PlotData | None, str | None]:
    """The measured spectrum over its matched reference(s), or why there is no plot.

    The references are scaled by the weights the matcher's mixture fit recorded, on the
    query as the matcher saw it (prepared, shifted by the recorded axis offset); only a
    record without stored weights (older results, a single top hit) is fitted here.
    """
    from matcher.identify import shift_query

    lib, why = _find_library(libs, ident)
    if lib is None:
        return None, why
    try:
        q = shift_query(np.asarray(lib.prepare(spectrum), dtype=np.float64), ident.axis_shift)
    except Exception as exc:  # the plot is secondary: say why it is missing
        return None, f"the spectrum could not be prepared on the library axis: {exc}"
    x = np.asarray(lib.axis, dtype=np.float64)
    weights: list[float | None]
    if ident.mixture is not None and ident.mixture.components:
        comps = ident.mixture.components
        picks = [(c.entry_id, c.name, c.synthetic) for c in comps]
        weights = [c.weight for c in comps]
        how = "mixture components"
    elif ident.hits:
        h = ident.hits[0]
        picks, weights = [(h.entry_id, h.name, h.synthetic)], [None]
        how = "top hit"
    else:
        picks, weights = [], []
        how = "no reference (no hit)"
    rows: list[np.ndarray] = []
    kept: list[tuple[str, str, bool]] = []
    stored: list[float | None] = []
    for (entry_id, name, synthetic), w in zip(picks, weights, strict=True):
        try:
            rows.append(np.asarray(lib.matrix[lib.index_of(entry_id)], dtype=np.float64))
        except KeyError:
            continue
        kept.append((entry_id, name, synthetic))
        stored.append(w)
    if rows and all(w is not None for w in stored):
        # the matcher's own fit: non-negative weights of the rows clipped at 0 (N,)
        w_arr = np.array([float(w) for w in stored if w is not None])
        curves = np.maximum(np.vstack(rows), 0.0) * w_arr[:, None]  # R,N
        residual = q - curves.sum(axis=0)
        scaled = "scaled by the weights of the matcher's mixture fit"
    else:
        w_arr, curves, residual = fit_references(x, q, [(x, r) for r in rows])
        scaled = "scaled to it here by non-negative least squares (no stored weights)"
    curves_list = [
        ReferenceCurve(name=name, entry_id=eid, synthetic=syn, weight=float(w),
                       curve=Series(x=x.tolist(), y=c.tolist()))
        for (eid, name, syn), w, c in zip(kept, w_arr, curves, strict=True)]
    steps = " → ".join(s.name for s in lib.pipeline.steps) or "no preprocessing"
    shifted = (f", shifted by {ident.axis_shift:+d} grid step(s) as the matcher did"
               if ident.axis_shift else "")
    caption = (
        f"Measured spectrum (black, drawn on top) after the library pipeline ({steps}) on "
        f"the axis of library {lib.id!r}{shifted}; {how} from the library matrix {scaled}. "
        "Scores are the matcher's."
        + (" Dashed: SYNTHETIC reference." if any(syn for _, _, syn in kept) else ""))
    return PlotData(
        measured=Series(x=x.tolist(), y=q.tolist()), references=curves_list,
        fit=Series(x=x.tolist(), y=curves.sum(axis=0).tolist()) if len(curves) else None,
        residual=Series(x=x.tolist(), y=residual.tolist()),
        x_label=("Raman shift (cm⁻¹)" if lib.x_unit.value.startswith("raman")
                 else "Wavenumber (cm⁻¹)"),
        reverse_x=not lib.x_unit.value.startswith("raman"),
        caption=caption), None


def _flat(d: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested recorded thresholds as (dotted name, value) rows."""
    out: list[tuple[str, str]] = []
    for k, v in d.items():
        if isinstance(v, Mapping):
            out += _flat(v, f"{prefix}{k}.")
        else:
            out.append((f"{prefix}{k}", f"{v:g}" if isinstance(v, float) else str(v)))
    return out


def part_view(ident: Identification, *, measured_here: bool) -> PartView:
    """One technique's identification as a report section."""
    mix = ident.mixture
    return PartView(
        technique=ident.technique.value, measured_here=measured_here, verdict=ident.verdict,
        reason=ident.reason, basis=ident.basis(),
        alert_substances=list(ident.alert_substances), score_name=ident.score,
        hits=[HitRow(name=h.name, entry_id=h.entry_id, score=h.score, category=h.category,
                     schedule=h.schedule, synthetic=h.synthetic) for h in ident.hits[:5]],
        components=[ComponentRow(name=c.name, share=c.share, category=c.category,
                                 schedule=c.schedule, synthetic=c.synthetic)
                    for c in (mix.components if mix else ())],
        composite_hqi=mix.composite_hqi if mix else None,
        residual_fraction=mix.residual_fraction if mix else None,
        structured_residual=mix.structured_residual if mix else False,
        library_id=ident.library_id, library_hash=ident.library_hash,
        pipeline=[s.name + (f"({', '.join(f'{k}={v}' for k, v in s.params.items())})"
                            if s.params else "") for s in ident.pipeline.steps],
        thresholds=_flat(ident.thresholds), notes=list(ident.notes),
        synthetic=list(ident.synthetic_reported))


def inspection_view(store: Store, insp: Inspection, events: Sequence[AuditEvent],
                    libs: LibrarySet | None) -> InspectionView:
    """One stored inspection (its latest result) as a report section.

    A fused result shows its fused verdict and every technique's part; the plot is of the
    part measured by THIS inspection (its technique), never simply the first part.
    """
    result = insp.latest
    whole = result.identification
    fused = isinstance(whole, FusedIdentification)
    parts: Sequence[Identification] = whole.parts
    technique = insp.technique.value
    own = whole.part(technique)
    if own is not None:
        plot, why = plot_for(store.get_spectrum(insp.spectrum_hash), own, libs)
    else:
        plot, why = None, f"the result has no {technique} part for this inspection's spectrum"
    dev = {"model": insp.device.model, "serial": insp.device.serial,
           "firmware": insp.device.firmware}
    if insp.device.make:
        dev = {"make": insp.device.make, **dev}
    notes = []
    if len(insp.results) > 1:
        notes.append(f"{len(insp.results) - 1} re-identification(s); the latest is shown, "
                     "the original is kept unchanged in the store")
    ordered = sorted(parts, key=lambda p: p is not own)  # this inspection's part first
    return InspectionView(
        inspection_id=insp.inspection_id, at=_ts(insp.performed_at), operator=insp.operator,
        station=insp.station, device=dev, technique=technique,
        verdict=result.verdict, reason=whole.reason, alert=result.alert,
        alert_substances=list(whole.alert_substances), fused=fused,
        agreement=whole.agreement if isinstance(whole, FusedIdentification) else None,
        parts=[part_view(p, measured_here=p is own) for p in ordered],
        spectrum_hash=insp.spectrum_hash, result_id=result.result_id,
        plot=plot, plot_unavailable=why, notes=notes,
        audit=[audit_row(e) for e in events if _mentions(e, insp)],
    )


def collect_report(store: Store, item_id: str, *, libs: LibrarySet | None,
                   station: str = "", generated_by: str = "", database: str = "",
                   trusted_keys: Collection[str] | None = None) -> EvidenceReport:
    """Everything the evidence report of ``item_id`` shows, read from the store.

    The parcel's evidence is verified in time independent of the database's size
    (:meth:`parcels.store.Store.verify_item`: its events against their signed heads, the
    last signed head, its records and raw spectra), not by walking every record stored.

    Raises
    ------
    parcels.errors.InvalidItemIdError, parcels.errors.ParcelNotFoundError
        From the store.
    """
    pf = store.get_parcel(item_id)
    events = list(store.audit_events(item_id=pf.parcel.item_id))
    verify = store.verify_item(pf.parcel.item_id, trusted_keys=trusted_keys)
    status = pf.hold.state.value.upper() if pf.hold else "NO HOLD"
    head = verify.signed_head
    return EvidenceReport(
        item_id=pf.parcel.item_id, status=status, aed=aed_rows(pf), holds=hold_rows(pf),
        inspections=[inspection_view(store, i, events, libs) for i in pf.inspections],
        parcel_audit=[audit_row(e) for e in events], chain_ok=verify.ok,
        chain_message=verify.message(),
        chain_findings=[f"#{f.seq} ({f.problem.value}): {f.detail}" for f in verify.findings],
        signed_head=None if head is None else SignedHeadView(
            **head.model_dump(), trusted=verify.trusted),
        station=station, generated_by=generated_by, database=database,
    )


__all__ = ["aed_rows", "audit_row", "collect_report", "hold_rows", "inspection_view",
           "part_view", "plot_for"]
