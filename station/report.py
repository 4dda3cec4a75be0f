"""The evidence report: one self-contained HTML file per parcel.

Inline CSS, inline SVG plots generated here, no JavaScript, no external asset: the file can be
mailed, archived and printed as it is. :func:`render_html` turns an :class:`EvidenceReport`
(a plain pydantic view of what the evidence store holds) into the page; the station's
``interdict report`` command fills the view from the store (:mod:`station.workflows`).

The plot of each inspection shows the measured spectrum after the identification pipeline,
drawn last (thin, over broad reference bands), the matched reference(s) scaled as the
matcher's mixture fit weighted them (records before the weights were stored: scaled here by
non-negative least squares, and the caption says so), their sum, and the residual in a
second panel. Both panels have labelled axes. Hashes are printed whole, in monospace, on
one line, selectable.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from matcher.results import Category, Verdict

FloatArray = NDArray[np.float64]

# Colours that stay distinct in print and for common colour-vision deficiencies (Okabe-Ito).
REF_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
MEASURED_COLOUR = "#111111"
FIT_COLOUR = "#7F7F7F"
RESIDUAL_COLOUR = "#B22222"
MAX_PLOT_POINTS = 1200


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


# -- fitting (display only) ----------------------------------------------------------------


def fit_references(
    x: FloatArray, y: FloatArray, refs: Sequence[tuple[FloatArray, FloatArray]]
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Scale references onto a measured curve by non-negative least squares.

    Parameters
    ----------
    x, y
        Measured axis (increasing) and values, shape (N,).
    refs
        Each reference's (x, y); interpolated onto ``x`` (zero outside its range).

    Returns
    -------
    weights : ndarray, shape (R,)
    curves : ndarray, shape (R, N)
        Each reference on ``x``, multiplied by its weight.
    residual : ndarray, shape (N,)
        ``y - curves.sum(axis=0)``.
    """
    from scipy.optimize import nnls

    if not refs:
        return np.zeros(0), np.zeros((0, x.size)), y.copy()
    basis = np.vstack([np.interp(x, rx, ry, left=0.0, right=0.0) for rx, ry in refs])  # R,N
    weights, _ = nnls(basis.T, y)  # N,R @ R -> N
    curves = basis * weights[:, None]  # R,N
    return weights, curves, y - curves.sum(axis=0)


# -- SVG -----------------------------------------------------------------------------------


def _nice_ticks(lo: float, hi: float, n: int = 6) -> list[float]:
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=10 * mag)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _decimate(x: Sequence[float], y: Sequence[float]) -> tuple[FloatArray, FloatArray]:
    xa = np.asarray(x, dtype=float)
    ya = np.asarray(y, dtype=float)
    if xa.size > MAX_PLOT_POINTS:
        # keep the extremes of each bin so narrow bands stay visible
        bins = np.array_split(np.arange(xa.size), MAX_PLOT_POINTS // 2)
        idx = np.unique(np.concatenate(
            [[b[np.argmin(ya[b])], b[np.argmax(ya[b])]] for b in bins if b.size]))
        xa, ya = xa[idx], ya[idx]
    return xa, ya


def _path(x: FloatArray, y: FloatArray, t: tuple[float, float, float, float, float, float],
          ) -> str:
    """SVG points for (x, y) under ``t = (sx, ox, x0, sy, oy, y0)``."""
    sx, ox, x0, sy, oy, y0 = t
    px = ox + (x - x0) * sx
    py = oy - (y - y0) * sy
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
    return pts


def svg_plot(plot: PlotData, *, width: int = 860, height: int = 500) -> str:
    """An inline SVG of the measured spectrum, scaled references, fit and residual.

    Two panels share the x axis: spectra (top) and residual (bottom); each has its own
    labelled x and y axes. The measured trace is drawn last, thin and black over broad
    reference bands, so the references never hide it and stay visible beside it. Elements
    carry ``class`` names (``measured``, ``reference``, ``fit``, ``residual``,
    ``axis-label``) so tests and style sheets can find them.
    """
    ml, mr, mt = 64, 16, 40
    xgap, res_h, mb = 46, 90, 44
    main_h = height - mt - xgap - res_h - mb
    pw = width - ml - mr
    mx, my = _decimate(plot.measured.x, plot.measured.y)
    ys = [my]
    refs = [(r, *_decimate(r.curve.x, r.curve.y)) for r in plot.references]
    ys += [ry for _, _, ry in refs]
    fit = _decimate(plot.fit.x, plot.fit.y) if plot.fit else None
    if fit:
        ys.append(fit[1])
    x0, x1 = float(mx.min()), float(mx.max())
    y0 = float(min(*(a.min() for a in ys), 0.0))
    y1 = float(max(a.max() for a in ys))
    if y1 <= y0:
        y1 = y0 + 1.0
    y1 += 0.05 * (y1 - y0)
    sx = pw / (x1 - x0) if x1 > x0 else 1.0
    # horizontal transform: x0 at the left edge, or at the right edge when reversed
    hs, hx = (-sx, float(ml + pw)) if plot.reverse_x else (sx, float(ml))
    sy = main_h / (y1 - y0)
    top = mt + main_h
    rtop = top + xgap
    rbottom = rtop + res_h
    t_main = (hs, hx, x0, sy, top, y0)
    out: list[str] = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spectrum-plot" '
        f'style="width:100%;height:auto" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{html.escape(plot.caption or "spectrum plot")}">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<rect x="{ml}" y="{mt}" width="{pw}" height="{main_h}" fill="#fbfbfd" '
        'stroke="#c8c8d0"/>',
        f'<rect x="{ml}" y="{rtop}" width="{pw}" height="{res_h}" fill="#fbfbfd" '
        'stroke="#c8c8d0"/>',
    ]
    x_label = html.escape(plot.x_label)
    for t in _nice_ticks(x0, x1, 8):
        px = hx + (t - x0) * hs
        for ya, yb in ((mt, top), (rtop, rbottom)):
            out.append(f'<line x1="{px:.1f}" y1="{ya}" x2="{px:.1f}" y2="{yb}" '
                       'stroke="#ececf2"/>')
            out.append(f'<text x="{px:.1f}" y="{yb + 14}" class="tick" '
                       f'text-anchor="middle">{t:g}</text>')
    for yb in (top, rbottom):  # an x-axis label under each panel
        out.append(f'<text x="{ml + pw / 2}" y="{yb + 31}" class="axis axis-label" '
                   f'text-anchor="middle">{x_label}</text>')
    for t in _nice_ticks(y0, y1, 4):
        py = top - (t - y0) * sy
        out.append(f'<line x1="{ml}" y1="{py:.1f}" x2="{ml + pw}" y2="{py:.1f}" '
                   'stroke="#ececf2"/>')
        out.append(f'<text x="{ml - 6}" y="{py + 4:.1f}" class="tick" '
                   f'text-anchor="end">{t:.3g}</text>')

    def ylabel(text: str, mid: float) -> None:
        out.append(f'<text x="14" y="{mid}" class="axis axis-label" text-anchor="middle" '
                   f'transform="rotate(-90 14 {mid})">{text}</text>')

    ylabel("Intensity (processed)", mt + main_h / 2)
    ylabel("Residual", rtop + res_h / 2)
    for i, (ref, rx, ry) in enumerate(refs):
        colour = REF_COLOURS[i % len(REF_COLOURS)]
        dash = ' stroke-dasharray="6 3"' if ref.synthetic else ""
        out.append(f'<polyline class="reference" data-entry="{html.escape(ref.entry_id)}" '
                   f'fill="none" stroke="{colour}" stroke-width="3.2" stroke-linejoin="round"'
                   f'{dash} points="' + _path(rx, ry, t_main) + '"/>')
    if fit and len(refs) > 1:
        out.append('<polyline class="fit" fill="none" stroke="' + FIT_COLOUR
                   + '" stroke-width="1.2" stroke-dasharray="2 2" points="'
                   + _path(fit[0], fit[1], t_main) + '"/>')
    # the measured trace last and thin, on top of the broad reference bands: where a
    # reference explains the measurement its colour shows on both sides of the black line
    out.append(f'<polyline class="measured" fill="none" stroke="{MEASURED_COLOUR}" '
               f'stroke-width="1.1" points="{_path(mx, my, t_main)}"/>')
    res_label = "measured − fit"
    if plot.residual is not None:
        rx, ry = _decimate(plot.residual.x, plot.residual.y)
        mid = rtop + res_h / 2
        out.append(f'<line x1="{ml}" y1="{mid}" x2="{ml + pw}" y2="{mid}" stroke="#9a9aa5"/>')
        peak = max(float(np.abs(ry).max()), 1e-12)
        rsy = min(sy, (res_h / 2 - 4) / peak)
        for t in (-peak, 0.0, peak):
            out.append(f'<text x="{ml - 6}" y="{mid - t * rsy + 4:.1f}" class="tick" '
                       f'text-anchor="end">{t:.2g}</text>')
        out.append('<polyline class="residual" fill="none" stroke="' + RESIDUAL_COLOUR
                   + '" stroke-width="1" points="'
                   + _path(rx, ry, (hs, hx, x0, rsy, mid, 0.0)) + '"/>')
        res_label += (f", magnified ×{sy / rsy:.1f}" if rsy < sy
                      else ", same scale as above")
    out.append(f'<text x="{ml + 6}" y="{rtop + 13}" class="panel">{res_label}</text>')
    # legend (wraps onto a second row when long)
    lx: float = ml + 8
    ly = 14
    items = [("measured", MEASURED_COLOUR, False)]
    items += [(r.name + (" (SYNTHETIC)" if r.synthetic and "SYNTHETIC" not in r.name else ""),
               REF_COLOURS[i % len(REF_COLOURS)], r.synthetic) for i, (r, _, _) in
              enumerate(refs)]
    if fit and len(refs) > 1:
        items.append(("sum of references", FIT_COLOUR, True))
    for label, colour, dashed in items:
        w = 27 + 6.6 * len(label) + 18
        if lx + w > width - mr and lx > ml + 8:
            lx, ly = ml + 8, ly + 14
        dash = ' stroke-dasharray="6 3"' if dashed else ""
        out.append(f'<line x1="{lx}" y1="{ly - 4}" x2="{lx + 22}" y2="{ly - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{lx + 27}" y="{ly}" class="legend">{html.escape(label)}</text>')
        lx += w
    out.append("</svg>")
    return "\n".join(out)


# -- HTML ----------------------------------------------------------------------------------

CSS = """
@page { size: A4; margin: 14mm 12mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", "Liberation Sans", Arial, sans-serif; color: #1b1b24;
       margin: 0; background: #eef0f4; font-size: 13px; line-height: 1.4; }
.page { max-width: 940px; margin: 18px auto; background: #fff; padding: 26px 34px 30px;
        box-shadow: 0 1px 4px rgba(0,0,0,.15); }
header { display: flex; justify-content: space-between; align-items: flex-start;
         border-bottom: 3px solid #1f2a44; padding-bottom: 10px; margin-bottom: 14px; }
header h1 { font-size: 21px; margin: 0 0 2px; color: #1f2a44; letter-spacing: .2px; }
header .sub { color: #5b6275; font-size: 12px; }
header .id { text-align: right; font-size: 12px; color: #5b6275; }
header .id b { display: block; font-size: 19px; color: #1b1b24;
               font-family: "DejaVu Sans Mono", monospace; letter-spacing: 1px; }
h2 { font-size: 15px; color: #1f2a44; border-bottom: 1px solid #cfd3dc; padding-bottom: 3px;
     margin: 20px 0 8px; text-transform: uppercase; letter-spacing: .6px; }
h3 { font-size: 14px; margin: 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid #e3e6ec;
         vertical-align: top; }
th { background: #f3f5f9; font-weight: 600; color: #3a4154; font-size: 12px; }
table.kv th { width: 190px; }
table.kv td { overflow-wrap: anywhere; }
.mono { font-family: "DejaVu Sans Mono", monospace; font-size: 11.5px; }
/* a hash is one unbroken, selectable word: never split by the layout, copied whole */
code.hash { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 10.5px;
            white-space: nowrap; word-break: keep-all; overflow-wrap: normal;
            user-select: all; -webkit-user-select: all; background: #f3f5f9;
            padding: 0 3px; border-radius: 2px; }
td.hashcell { overflow-x: auto; }
table.thresholds td, table.thresholds th { padding: 2px 8px; font-size: 12px; }
.basis { font-size: 12.5px; }
.banner { border-radius: 4px; padding: 12px 16px; margin: 6px 0 12px; font-size: 15px; }
.banner b { font-size: 18px; display: block; }
.banner.alert { background: #b00020; color: #fff; }
.banner.ok { background: #e7f4ea; color: #14532d; border: 1px solid #9fd3ad; }
.banner.warn { background: #fff4d6; color: #6b4e00; border: 1px solid #e8c66a; }
.badge { display: inline-block; padding: 2px 9px; border-radius: 3px; font-weight: 700;
         font-size: 12px; letter-spacing: .5px; }
.v-MATCH, .v-MIXTURE { background: #1f2a44; color: #fff; }
.v-INCONCLUSIVE { background: #e8c66a; color: #3d2c00; }
.v-NO_MATCH { background: #d9dde5; color: #1b1b24; }
.badge.alert { background: #b00020; color: #fff; }
.badge.synthetic { background: #6a1b9a; color: #fff; }
.inspection { border: 1px solid #d5d9e2; border-radius: 5px; padding: 12px 14px 8px;
              margin: 12px 0 16px; page-break-inside: avoid; }
.inspection.is-alert { border-left: 6px solid #b00020; }
.insp-head { display: flex; justify-content: space-between; align-items: center;
             margin-bottom: 6px; }
.insp-head .meta { color: #5b6275; font-size: 12px; white-space: nowrap; }
.cols { display: flex; gap: 18px; }
.cols > div { flex: 1; min-width: 0; }
figure { margin: 8px 0 6px; }
figcaption { font-size: 11.5px; color: #5b6275; }
svg text.tick { font-size: 10.5px; fill: #4a5063; }
svg text.axis { font-size: 11.5px; fill: #1b1b24; }
svg text.legend { font-size: 11.5px; fill: #1b1b24; }
svg text.panel { font-size: 10.5px; fill: #5b6275; }
.synthetic-note { background: #f5ecfa; border: 1px solid #c9a4de; color: #4a1266;
                  padding: 6px 10px; border-radius: 3px; margin: 6px 0; font-size: 12px; }
.chain-ok { color: #14532d; font-weight: 700; }
.chain-bad { color: #b00020; font-weight: 700; }
.sign { display: flex; gap: 30px; margin-top: 26px; }
.sign div { flex: 1; border-top: 1px solid #1b1b24; padding-top: 4px; font-size: 12px;
            color: #3a4154; }
footer { margin-top: 18px; color: #5b6275; font-size: 11px; border-top: 1px solid #cfd3dc;
         padding-top: 6px; }
.muted { color: #5b6275; }
td.t { white-space: nowrap; }
@media print { body { background: #fff; } .page { box-shadow: none; margin: 0;
               max-width: none; padding: 0; } }
"""


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
    if v.alert:
        return ("Controlled substance or precursor indicated. Do not open further; follow "
                "the hazardous-substance handling procedure, keep the parcel on hold and "
                "submit a sample for confirmatory laboratory analysis.")
    if v.verdict is Verdict.INCONCLUSIVE:
        return ("Inconclusive. If scanned through packaging, open the parcel under the "
                "handling procedure and scan the contents directly, with FTIR if Raman "
                "remains inconclusive.")
    if v.verdict is Verdict.NO_MATCH:
        return "No library match. Treat as unknown; consider FTIR or laboratory analysis."
    return "No alerting substance indicated; release according to the hold authority."


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
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="interdict">
<title>Evidence report — {_e(report.item_id)}</title>
<style>{CSS}</style></head>
<body><div class="page">
<header><div><h1>Evidence report — field spectroscopic screening</h1>
<div class="sub">Interdict · station {_e(report.station or "not recorded")} ·
generated {_e(report.generated_at)}{" by " + _e(report.generated_by)
                                      if report.generated_by else ""}</div></div>
<div class="id">Item<b>{_e(report.item_id)}</b>{_e(report.status)}</div></header>
{banner}
<h2>1. Parcel (advance electronic data)</h2>
{aed}
<h2>2. Hold history</h2>
{holds_html}
<h2>3. Inspections</h2>
{insp}
<h2>4. Audit chain</h2>
{chain}
{_audit_table(report.parcel_audit)}
<h2>5. Attestation</h2>
<p>The results above were produced by field screening with a handheld analyzer and a
reference library identified by its hash. They are presumptive and must be confirmed by an
accredited laboratory. Each inspection is bound to the measured spectrum by its content hash
and to the tamper-evident audit chain of the evidence database
{("<span class=mono>" + _e(report.database) + "</span>") if report.database else ""}.</p>
<div class="sign"><div>Examining officer (name, signature, date)</div>
<div>Reviewed by (name, signature, date)</div></div>
<footer>Generated by Interdict. This file is self-contained: no external resources,
no scripts.</footer>
</div></body></html>
"""


__all__ = [
    "AuditRow",
    "ComponentRow",
    "EvidenceReport",
    "HitRow",
    "HoldRow",
    "InspectionView",
    "PartView",
    "PlotData",
    "ReferenceCurve",
    "Series",
    "SignedHeadView",
    "fit_references",
    "render_html",
    "svg_plot",
]
