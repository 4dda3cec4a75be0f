"""The evidence report: one self-contained HTML file per parcel.

Inline CSS, inline SVG plots generated here, no JavaScript, no external asset: the file can be
mailed, archived and printed as it is. The package's rooms:

* :mod:`~station.report.model`: the view model (:class:`EvidenceReport`), plain pydantic data;
* :mod:`~station.report.collect`: fills it from the evidence store and the library;
* :mod:`~station.report.plot`: the SVG plot and the display-only reference fit;
* :mod:`~station.report.render`: the HTML page, its style sheet ``style.css`` kept as data.

The plot of each inspection shows the measured spectrum after the identification pipeline,
drawn last (thin, over broad reference bands), the matched reference(s) scaled as the
matcher's mixture fit weighted them (records before the weights were stored: scaled here by
non-negative least squares, and the caption says so), their sum, and the residual in a
second panel. Both panels have labelled axes. Hashes are printed whole, in monospace, on
one line, selectable.
"""

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
from .plot import REF_COLOURS, fit_references, svg_plot
from .render import render_html

__all__ = [
    "REF_COLOURS",
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
