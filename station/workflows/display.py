"""What the officer sees in the terminal: progress, the verdict, the alert, the next step."""

from __future__ import annotations

import sys
from collections.abc import Collection
from typing import TYPE_CHECKING, TextIO

from matcher.results import FusedIdentification, Identification, Verdict
from station._terminal import shown

if TYPE_CHECKING:
    from station.workflows.scan import ScanOutcome

RED = "\x1b[1;97;41m"
YELLOW = "\x1b[1;30;43m"
GREEN = "\x1b[1;97;42m"
BOLD = "\x1b[1m"
RESET = "\x1b[0m"


def _colour(stream: TextIO) -> bool:
    return bool(getattr(stream, "isatty", lambda: False)())


class Progress:
    """A one-line progress display (redrawn on a terminal, 25 % steps otherwise)."""

    def __init__(self, label: str, stream: TextIO | None = None) -> None:
        self.label = label
        self.stream = stream or sys.stderr
        self.tty = _colour(self.stream)
        self._last = -1

    def __call__(self, fraction: float, note: str = "") -> None:
        """Show progress ``fraction`` (0-1)."""
        pct = max(0, min(100, round(100 * fraction)))
        if self.tty:
            bar = "#" * (pct // 4) + "-" * (25 - pct // 4)
            self.stream.write(f"\r  {self.label} [{bar}] {pct:3d}% {note:<24}")
            if pct >= 100:
                self.stream.write("\n")
            self.stream.flush()
        elif pct // 25 > self._last // 25 or (pct == 100 and self._last != 100):
            self.stream.write(f"  {self.label}: {pct}% {note}\n")
            self.stream.flush()
        self._last = pct


def next_step(alert: bool, verdict: Verdict, techniques: Collection[str]) -> str:
    """What the officer should do now, in one sentence: the terminal's verdict block and the
    evidence report both say this.

    Parameters
    ----------
    alert, verdict
        Of the result (a fused result's fused ones).
    techniques
        The :class:`spectra.Technique` values it was measured with (one per part).
    """
    if alert:
        return ("ALERT: keep the parcel on hold, do not open it further, follow the "
                "hazardous-substance procedure and send a sample to the laboratory.")
    if verdict is Verdict.INCONCLUSIVE:
        if set(techniques) == {"raman"}:
            return ("Inconclusive through packaging: open the parcel under the handling "
                    "procedure and scan the contents with FTIR (--technique ftir).")
        return "Inconclusive: refer the sample to the laboratory."
    if verdict is Verdict.NO_MATCH:
        return ("No library match: scan again with the other technique, or refer the sample "
                "to the laboratory.")
    return "No alerting substance found: release according to the hold authority."


def advice(ident: Identification | FusedIdentification) -> str:
    """:func:`next_step` for a result."""
    return next_step(ident.alert, ident.verdict, [p.technique.value for p in ident.parts])


def _lines(ident: Identification) -> list[str]:
    out = []
    syn = " [SYNTHETIC]"
    for i, h in enumerate(ident.hits[:5], 1):
        tag = f" ({h.schedule})" if h.schedule else ""
        out.append(f"    {i}. {shown(h.name):<44} {ident.score.upper()} {h.score:5.1f}  "
                   f"{h.category.value}{tag}"
                   + (syn if h.synthetic and 'SYNTHETIC' not in h.name else ''))
    if ident.mixture is not None:
        m = ident.mixture
        out.append(f"  mixture (composite HQI {m.composite_hqi:.1f}, unexplained "
                   f"{100 * m.residual_fraction:.1f} %"
                   + (", unexplained signal remains" if m.structured_residual else "") + "):")
        for c in m.components:
            out.append(f"    - {shown(c.name):<44} {100 * c.share:4.0f} %  {c.category.value}"
                       + (syn if c.synthetic and "SYNTHETIC" not in c.name else ""))
    return out


def verdict_text(item_id: str, ident: Identification | FusedIdentification, *,
                 colour: bool = False) -> str:
    """The verdict as a block of text; an alert is boxed and cannot be missed.

    SYNTHETIC wording appears only when a reported substance or an alerting one comes from
    a synthetic reference (:attr:`Identification.synthetic_reported`); a synthetic entry
    further down the hit list keeps its own label there and nothing more. No bare
    "confidence": each part says what its verdict was decided on (:meth:`Identification.basis`).
    """
    parts: list[Identification] = list(ident.parts)
    synthetic = ident.synthetic_reported
    lines: list[str] = []
    if ident.alert:
        subs = shown(", ".join(ident.alert_substances)) or "controlled substance"
        msg = f"!!! ALERT  {item_id}: {subs.upper()} INDICATED !!!"
        width = max(len(msg) + 4, 60)
        box = ["#" * width, "#" + msg.center(width - 2) + "#"]
        if any(s in ident.alert_substances for s in synthetic):
            box.append("#" + "(identified against a SYNTHETIC reference)".center(width - 2)
                       + "#")
        box.append("#" * width)
        lines += [f"{RED}{b}{RESET}" if colour else b for b in box]
    head = f"VERDICT {ident.verdict.value}"
    if colour:
        c = RED if ident.alert else YELLOW if ident.verdict in (
            Verdict.INCONCLUSIVE, Verdict.NO_MATCH) else GREEN
        head = f"{c} {head} {RESET}"
    lines.append(f"{head}  parcel {item_id}")
    if ident.reason:
        lines.append(f"  reason: {shown(ident.reason)}")
    for p in parts:
        if len(parts) > 1:
            lines.append(f"  [{p.technique.value}] {p.verdict.value}"
                         + (f" — {shown(p.reason)}" if p.reason else ""))
        lines.append(f"  decided on: {shown(p.basis())}")
        lines += _lines(p)
        lines += [f"  note: {shown(n)}" for n in p.notes]
    if synthetic:
        lines.append(f"  NOTE: {', '.join(synthetic)} is a SYNTHETIC reference (not measured): "
                     "not evidence of identity; confirm against a measured reference or in "
                     "the laboratory.")
    lines.append(f"  next step: {advice(ident)}")
    return "\n".join(lines)


def show_outcome(out: TextIO, outcome: ScanOutcome) -> None:
    """Print a recorded scan: the verdict block (coloured on a terminal) and where the
    evidence is."""
    colour = _colour(out)
    # its own colours; the names in it are escaped where it is built
    out.write(verdict_text(outcome.item_id, outcome.identification, colour=colour) + "\n")
    for note in outcome.exposure_notes:
        out.write(shown(f"  acquisition: {note}") + "\n")
    for insp in outcome.inspections:
        out.write(shown(f"  recorded: inspection {insp.inspection_id} "
                        f"({insp.technique.value}, spectrum {insp.spectrum_hash[:16]}…)")
                  + "\n")
    out.flush()


__all__ = ["Progress", "advice", "next_step", "show_outcome", "verdict_text"]
