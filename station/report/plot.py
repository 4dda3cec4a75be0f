"""The report's plot: the measured spectrum over its matched references and the residual,
as inline SVG (no script, no external asset), and the display-only reference fit."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from .model import PlotData

FloatArray = NDArray[np.float64]

# Colours that stay distinct in print and for common colour-vision deficiencies (Okabe-Ito).
REF_COLOURS = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")
MEASURED_COLOUR = "#111111"
FIT_COLOUR = "#7F7F7F"
RESIDUAL_COLOUR = "#B22222"
MAX_PLOT_POINTS = 1200

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


__all__ = ["MAX_PLOT_POINTS", "REF_COLOURS", "fit_references", "svg_plot"]
