"""The evidence report as one self-contained HTML page: inline CSS and SVG, no script.

The page and its style sheet are data beside this module (``page.html`` with ``$name`` slots
filled by :class:`string.Template`, and ``style.css``), read once per rendering.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from importlib import resources
from string import Template

from matcher.results import Verdict
from station.workflows.display import next_step

from .model import AuditRow, EvidenceReport, InspectionView, PartView
from .plot import svg_plot


def style_sheet() -> str:
    """The report's CSS (``station/report/style.css``)."""
    return resources.files("station.report").joinpath("style.css").read_text(encoding="utf-8")


def _page() -> Template:
    """The page around the sections (``station/report/page.html``, ``$name`` slots)."""
    return Template(resources.files("station.report").joinpath("page.html")
                    .read_text(encoding="utf-8"))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _hash(value: str) -> str:
    """A hash, whole: one monospace word that the layout never breaks (CSS ``code.hash``)."""
    return f'<code class="hash">{_e(value)}</code>'


def _kv(rows: Sequence[tuple[str, str]], *, hashes: Sequence[str] = ()) -> str:
    body = "".join(
        f"<tr><th>{_e(k)}</th>"
        + (f'<td class="hashcell">{_hash(v)}</td>' if k in hashes else f"<td>{_e(v)}</td>")
        + "</tr>"
        for k, v in rows)
    return f'<table class="kv">{body}</table>'


def _name(name: str, synthetic: bool) -> str:
    return _e(name) + (' <span class="badge synthetic">SYNTHETIC</span>' if synthetic else "")


def _audit_table(rows: Sequence[AuditRow]) -> str:
    if not rows:
        return '<p class="muted">No audit entries recorded for this item.</p>'
    body = "".join(
        f"<tr><td>{r.seq}</td><td class=t>{_e(r.at)}</td><td>{_e(r.event)}</td>"
        f"<td>{_e(r.detail)}</td></tr>"
        f'<tr><td></td><td colspan="3" class="hashcell">hash {_hash(r.entry_hash)}</td></tr>'
        for r in rows)
    return ("<table><tr><th>#</th><th>Time (UTC)</th><th>Event</th><th>Detail</th></tr>"
            f"{body}</table>")


def _thresholds(rows: Sequence[tuple[str, str]]) -> str:
    body = "".join(f"<tr><td>{_e(k)}</td><td>{_e(v)}</td></tr>" for k, v in rows)
    return (f'<table class="thresholds"><tr><th>Threshold</th><th>Value</th></tr>{body}'
            "</table>")


def _next_step(v: InspectionView) -> str:
    return next_step(v.alert, v.verdict, [p.technique for p in v.parts])


def _part(p: PartView, *, show_technique: bool) -> str:
    out = []
    if show_technique:
        where = "" if p.measured_here else " (measured in another inspection)"
        out.append(f"<h4>{_e(p.technique.upper())}{where}: "
                   f'<span class="badge v-{p.verdict.value}">{p.verdict.value}</span>'
                   + (f" — {_e(p.reason)}" if p.reason else "") + "</h4>")
    out.append(f'<p class="basis"><b>Decided on:</b> {_e(p.basis)}</p>')
    hits = "".join(
        f"<tr><td>{i}</td><td>{_name(h.name, h.synthetic)}</td><td>{h.score:.1f}</td>"
        f"<td>{_e(h.category.value)}</td><td>{_e(h.schedule or '')}</td></tr>"
        for i, h in enumerate(p.hits, 1))
    left = [f"<h4>Top hits ({_e(p.score_name.upper())}, 0–100)</h4>"]
    left.append(
        "<table><tr><th>#</th><th>Substance</th><th>Score</th><th>Category</th>"
        f"<th>Control</th></tr>{hits}</table>" if hits else '<p class="muted">No hits.</p>')
    right = ["<h4>Mixture analysis</h4>"]
    if p.components:
        comp = "".join(
            f"<tr><td>{_name(c.name, c.synthetic)}</td><td>{100 * c.share:.0f} %</td>"
            f"<td>{_e(c.category.value)}</td></tr>" for c in p.components)
        right.append("<table><tr><th>Component</th><th>Spectral share</th><th>Category</th>"
                     f"</tr>{comp}</table>")
        extra = []
        if p.composite_hqi is not None:
            extra.append(f"composite HQI {p.composite_hqi:.1f}")
        if p.residual_fraction is not None:
            extra.append(f"unexplained {100 * p.residual_fraction:.1f} %")
        if p.structured_residual:
            extra.append("unexplained signal remains")
        right.append(f'<p class="muted">{_e("; ".join(extra))}</p>')
    else:
        right.append('<p class="muted">No mixture reported.</p>')
    out.append(f'<div class="cols"><div>{"".join(left)}</div>'
               f'<div>{"".join(right)}</div></div>')
    rows = [("Library", p.library_id), ("Library hash", p.library_hash),
            ("Pipeline", " → ".join(p.pipeline) or "none")]
    rows += [("Note", note) for note in p.notes]
    out.append(_kv(rows, hashes=("Library hash",)))
    if p.thresholds:
        out.append(_thresholds(p.thresholds))
    return "\n".join(out)


def _inspection(v: InspectionView, n: int) -> str:
    alert = (f' <span class="badge alert">ALERT: {_e(", ".join(v.alert_substances))}</span>'
             if v.alert else "")
    synthetic = v.synthetic
    syn = ' <span class="badge synthetic">SYNTHETIC REFERENCE</span>' if synthetic else ""
    fused = " (fused Raman + FTIR)" if v.fused else ""
    parts = [
        f'<section class="inspection{" is-alert" if v.alert else ""}" '
        f'id="inspection-{_e(v.inspection_id)}">',
        '<div class="insp-head"><div>'
        f"<h3>Inspection {n} — {_e(v.technique.upper())}{fused} "
        f'<span class="badge v-{v.verdict.value}">{v.verdict.value}</span>{alert}{syn}</h3>'
        f'</div><div class="meta">{_e(v.at)}</div></div>',
    ]
    if v.reason:
        parts.append(f"<p><b>Reason:</b> {_e(v.reason)}</p>")
    parts.append(f"<p><b>Next step:</b> {_e(_next_step(v))}</p>")
    if synthetic:
        parts.append(
            f'<div class="synthetic-note"><b>SYNTHETIC reference.</b> {_e(", ".join(synthetic))}'
            " — reported in this result — was synthesised from a published band table, not "
            "measured. It supports screening and training only and is not evidence of "
            "identity; the result must be confirmed against a measured reference or by a "
            "laboratory.</div>")
    if v.plot is not None:
        parts.append(f"<figure>{svg_plot(v.plot)}<figcaption>{_e(v.plot.caption)}"
                     "</figcaption></figure>")
    elif v.plot_unavailable:
        parts.append(f'<p class="muted">Plot not available: {_e(v.plot_unavailable)}</p>')
    for p in v.parts:
        parts.append(_part(p, show_technique=len(v.parts) > 1))
    dev = ", ".join(f"{k}: {val}" for k, val in v.device.items()) or "not recorded"
    rows = [
        ("Inspection id", v.inspection_id),
        ("Result id", v.result_id),
        ("Time (UTC)", v.at),
        ("Operator", v.operator or "not recorded"),
        ("Station", v.station or "not recorded"),
        ("Device", dev),
        ("Spectrum content hash", v.spectrum_hash),
    ]
    rows += [("Note", note) for note in v.notes]
    parts.append(_kv(rows, hashes=("Spectrum content hash",)))
    parts.append("<h4>Audit-chain entries covering this inspection</h4>")
    parts.append(_audit_table(v.audit))
    parts.append("</section>")
    return "\n".join(parts)


def _chain(report: EvidenceReport) -> str:
    if report.chain_ok is None:
        text = '<p class="muted">Audit chain not verified.</p>'
    elif report.chain_ok:
        text = f'<p class="chain-ok">Verified: {_e(report.chain_message)}</p>'
    else:
        text = (f'<p class="chain-bad">NOT VERIFIED — the evidence of this parcel does not '
                f"match its signed audit chain: {_e(report.chain_message)}</p>")
        if report.chain_findings:
            text += "<ul>" + "".join(f"<li>{_e(f)}</li>" for f in report.chain_findings) + \
                "</ul>"
    h = report.signed_head
    if h is not None:
        trust = {True: "the station's key", False: "NOT a trusted key",
                 None: "not checked against a trusted key"}[h.trusted]
        text += _kv([("Signed head", f"#{h.seq} (transaction #{h.prev_seq + 1}..#{h.seq})"),
                     ("Head hash", h.hash), ("Signing key (fingerprint)", h.key_id),
                     ("Key", trust), ("Signature (Ed25519)", h.signature),
                     ("Anchor", f"{h.seq}:{h.hash}")],
                    hashes=("Head hash", "Signing key (fingerprint)", "Anchor"))
        text += ('<p class="muted">Keep the anchor: <code>interdict audit verify --anchor '
                 "SEQ:HASH</code> later shows whether anything up to this head was changed "
                 "or cut off.</p>")
    return text


def render_html(report: EvidenceReport) -> str:
    """The complete, self-contained HTML page of an evidence report."""
    alerts = [v for v in report.inspections if v.alert]
    if alerts:
        subs = sorted({s for v in alerts for s in v.alert_substances})
        syn = any(s in v.alert_substances for v in alerts for s in v.synthetic)
        banner = (
            '<div class="banner alert"><b>ALERT — '
            f'{_e(", ".join(subs) or "controlled substance")} indicated</b>'
            "Field screening result (presumptive). Confirmatory laboratory analysis required."
            + (" Identified against a SYNTHETIC reference." if syn else "") + "</div>")
    elif not report.inspections:
        banner = '<div class="banner warn"><b>Not inspected</b>No inspection recorded.</div>'
    elif any(v.verdict in (Verdict.INCONCLUSIVE, Verdict.NO_MATCH) for v in report.inspections):
        banner = ('<div class="banner warn"><b>No alert — inconclusive result(s)</b>'
                  "At least one inspection was inconclusive or unmatched.</div>")
    else:
        banner = ('<div class="banner ok"><b>No alerting substance indicated</b>'
                  "All inspections matched non-alerting library entries.</div>")
    aed = _kv(list(report.aed.items())) if report.aed else \
        '<p class="muted">No advance electronic data on record.</p>'
    holds = "".join(
        f"<tr><td class=t>{_e(h.at)}</td><td>{_e(h.action)}</td><td>{_e(h.authority)}</td>"
        f"<td>{_e(h.reason)}</td></tr>" for h in report.holds)
    holds_html = ("<table><tr><th>Time (UTC)</th><th>Action</th><th>Authority</th>"
                  f"<th>Reason</th></tr>{holds}</table>" if holds
                  else '<p class="muted">No hold requests.</p>')
    chain = _chain(report)
    insp = "\n".join(_inspection(v, i) for i, v in enumerate(report.inspections, 1)) or \
        '<p class="muted">No inspections recorded.</p>'
    if len(report.inspections) > 1:
        summary = "".join(
            f'<tr><td><a href="#inspection-{_e(v.inspection_id)}">{i}</a></td>'
            f"<td class=t>{_e(v.at)}</td><td>{_e(v.technique)}</td>"
            f'<td><span class="badge v-{v.verdict.value}">{v.verdict.value}</span></td>'
            f"<td>{_e(', '.join(v.alert_substances)) if v.alert else ''}</td>"
            f"<td>{_e(v.operator)}</td></tr>" for i, v in enumerate(report.inspections, 1))
        insp = ("<table><tr><th>#</th><th>Time (UTC)</th><th>Technique</th><th>Verdict</th>"
                f"<th>Alert</th><th>Operator</th></tr>{summary}</table>\n" + insp)
    by = f" by {_e(report.generated_by)}" if report.generated_by else ""
    database = (f"<span class=mono>{_e(report.database)}</span>" if report.database else "")
    return _page().substitute(
        item=_e(report.item_id), style=style_sheet(),
        station=_e(report.station or "not recorded"), generated=_e(report.generated_at),
        by=by, status=_e(report.status), banner=banner, aed=aed, holds=holds_html,
        inspections=insp, chain=chain, audit=_audit_table(report.parcel_audit),
        database=database)


__all__ = ["render_html", "style_sheet"]
