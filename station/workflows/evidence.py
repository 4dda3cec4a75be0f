"""Fill an :class:`station.report.EvidenceReport` from the evidence store and the library."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from matcher.results import FusedIdentification, Identification
from station.report import (
    AuditRow,
    ComponentRow,
    EvidenceReport,
    HitRow,
    HoldRow,
    InspectionView,
    PlotData,
    ReferenceCurve,
    Series,
    fit_references,
)

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
    """The measured spectrum over its matched reference(s), or why there is no plot."""
    lib, why = _find_library(libs, ident)
    if lib is None:
        return None, why
    try:
        q = np.asarray(lib.prepare(spectrum), dtype=np.float64)
    except Exception as exc:  # the plot is secondary: say why it is missing
        return None, f"the spectrum could not be prepared on the library axis: {exc}"
    x = np.asarray(lib.axis, dtype=np.float64)
    if ident.mixture is not None and ident.mixture.components:
        picks = [(c.entry_id, c.name, c.synthetic) for c in ident.mixture.components]
        how = "mixture components"
    elif ident.hits:
        h = ident.hits[0]
        picks = [(h.entry_id, h.name, h.synthetic)]
        how = "top hit"
    else:
        picks = []
        how = "no reference (no hit)"
    refs: list[tuple[np.ndarray, np.ndarray]] = []
    kept: list[tuple[str, str, bool]] = []
    for entry_id, name, synthetic in picks:
        try:
            row = np.asarray(lib.matrix[lib.index_of(entry_id)], dtype=np.float64)
        except KeyError:
            continue
        refs.append((x, row))
        kept.append((entry_id, name, synthetic))
    weights, curves, residual = fit_references(x, q, refs)
    curves_list = [
        ReferenceCurve(name=name, entry_id=eid, synthetic=syn, weight=float(w),
                       curve=Series(x=x.tolist(), y=c.tolist()))
        for (eid, name, syn), w, c in zip(kept, weights, curves, strict=True)]
    steps = " → ".join(s.name for s in lib.pipeline.steps) or "no preprocessing"
    caption = (
        f"Measured spectrum after the library pipeline ({steps}) on the axis of library "
        f"{lib.id!r}; {how} from the library matrix scaled to it by non-negative least "
        "squares (for display; scores are the matcher's)."
        + (" Dashed: SYNTHETIC reference." if any(syn for _, _, syn in kept) else ""))
    return PlotData(
        measured=Series(x=x.tolist(), y=q.tolist()), references=curves_list,
        fit=Series(x=x.tolist(), y=curves.sum(axis=0).tolist()) if len(curves) else None,
        residual=Series(x=x.tolist(), y=residual.tolist()),
        x_label=("Raman shift (cm⁻¹)" if lib.x_unit.value.startswith("raman")
                 else "Wavenumber (cm⁻¹)"),
        reverse_x=not lib.x_unit.value.startswith("raman"),
        caption=caption), None


def _identifications(result_ident: Identification | FusedIdentification
                     ) -> Sequence[Identification]:
    if isinstance(result_ident, FusedIdentification):
        return result_ident.results
    return (result_ident,)


def inspection_view(store: Store, insp: Inspection, events: Sequence[AuditEvent],
                    libs: LibrarySet | None) -> InspectionView:
    """One stored inspection (its latest result) as a report section."""
    result = insp.latest
    ident = _identifications(result.identification)[0]
    spectrum = store.get_spectrum(insp.spectrum_hash)
    plot, why = plot_for(spectrum, ident, libs)
    mix = ident.mixture
    dev = {"model": insp.device.model, "serial": insp.device.serial,
           "firmware": insp.device.firmware}
    if insp.device.make:
        dev = {"make": insp.device.make, **dev}
    notes = list(ident.notes)
    if len(insp.results) > 1:
        notes.append(f"{len(insp.results) - 1} re-identification(s); the latest is shown, "
                     "the original is kept unchanged in the store")
    return InspectionView(
        inspection_id=insp.inspection_id, at=_ts(insp.performed_at), operator=insp.operator,
        station=insp.station, device=dev, technique=insp.technique.value,
        verdict=result.verdict, reason=ident.reason, alert=result.alert,
        alert_substances=list(ident.alert_substances), confidence=ident.confidence,
        score_name=ident.score,
        hits=[HitRow(name=h.name, entry_id=h.entry_id, score=h.score, category=h.category,
                     schedule=h.schedule, synthetic=h.synthetic) for h in ident.hits[:5]],
        components=[ComponentRow(name=c.name, share=c.share, category=c.category,
                                 schedule=c.schedule, synthetic=c.synthetic)
                    for c in (mix.components if mix else ())],
        composite_hqi=mix.composite_hqi if mix else None,
        residual_fraction=mix.residual_fraction if mix else None,
        structured_residual=mix.structured_residual if mix else False,
        library_id=result.library_id, library_hash=result.library_hash,
        pipeline=[s.name + (f"({', '.join(f'{k}={v}' for k, v in s.params.items())})"
                            if s.params else "") for s in ident.pipeline.steps],
        spectrum_hash=insp.spectrum_hash,
        thresholds={k: str(v) for k, v in ident.thresholds.items()},
        notes=notes, synthetic_used=ident.synthetic_used, plot=plot, plot_unavailable=why,
        audit=[audit_row(e) for e in events if _mentions(e, insp)],
    )


def collect_report(store: Store, item_id: str, *, libs: LibrarySet | None,
                   station: str = "", generated_by: str = "", database: str = ""
                   ) -> EvidenceReport:
    """Everything the evidence report of ``item_id`` shows, read from the store.

    Raises
    ------
    parcels.errors.InvalidItemIdError, parcels.errors.ParcelNotFoundError
        From the store.
    """
    pf = store.get_parcel(item_id)
    events = list(store.audit_events(item_id=pf.parcel.item_id))
    verify = store.verify(deep=True)
    status = pf.hold.state.value.upper() if pf.hold else "NO HOLD"
    return EvidenceReport(
        item_id=pf.parcel.item_id, status=status, aed=aed_rows(pf), holds=hold_rows(pf),
        inspections=[inspection_view(store, i, events, libs) for i in pf.inspections],
        parcel_audit=[audit_row(e) for e in events], chain_ok=verify.ok,
        chain_message=verify.message(), station=station, generated_by=generated_by,
        database=database,
    )


__all__ = ["aed_rows", "audit_row", "collect_report", "hold_rows", "inspection_view",
           "plot_for"]
