"""Export of parcel files (AED, hold, inspections and results) as JSON lines or CSV.

JSON lines carry everything stored (raw spectra by hash, not inline). CSV is one flat row per
parcel: the AED fields under their dotted names (as the CSV import reads them) and a few
``evidence.*`` columns summarising the hold and the inspections.

CSV is written for spreadsheets, which run a cell starting with ``=``, ``+``, ``-``, ``@``, tab
or carriage return as a formula (OWASP "CSV injection": ``=HYPERLINK(...)`` in a sender's name
would become a live link). Every text cell, column names included, goes through
:func:`parcels.text.neutralise_formula`: such a cell gets a leading ``'`` (a plain number such
as ``-12.5`` stays a number; a cell already starting with ``'`` gets one more), and the CSV
import undoes exactly that (:func:`parcels.text.restore_formula`), so export then import gives
the stored record back. Lines end in CRLF (RFC 4180), so a cell holding a carriage return is
quoted.
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections.abc import Iterable
from typing import Any, Literal, TextIO

from .aed import flatten
from .records import ParcelFile
from .text import neutralise_formula

ExportFormat = Literal["jsonl", "csv"]

EVIDENCE_COLUMNS = ("evidence.hold_state", "evidence.held_at", "evidence.inspections",
                    "evidence.verdicts", "evidence.alert", "evidence.spectrum_hashes")


def parcel_file_json(pf: ParcelFile) -> dict[str, Any]:
    """The JSON-ready form of everything stored about a parcel."""
    return pf.model_dump(mode="json")


def _evidence(pf: ParcelFile) -> dict[str, Any]:
    from .records import HoldState

    return {
        "evidence.hold_state": pf.hold.state.value if pf.hold else "",
        "evidence.held_at": (
            held.isoformat() if pf.hold and (held := pf.hold.at(HoldState.HELD)) else ""),
        "evidence.inspections": len(pf.inspections),
        "evidence.verdicts": " ".join(i.latest.verdict.value for i in pf.inspections),
        "evidence.alert": str(any(i.latest.alert for i in pf.inspections)).lower(),
        "evidence.spectrum_hashes": " ".join(i.spectrum_hash for i in pf.inspections),
    }


def write_export(files: Iterable[ParcelFile], out: TextIO, fmt: ExportFormat) -> tuple[int, str]:
    """Write parcel files to ``out``.

    Parameters
    ----------
    files
        What to export.
    out
        A text stream (opened with ``newline=""`` for CSV).
    fmt
        ``jsonl`` or ``csv``.

    Returns
    -------
    count, digest
        Number of parcels written and the SHA-256 of the text written (recorded in the
        audit log's export event).
    """
    h = hashlib.sha256()
    n = 0
    if fmt == "jsonl":
        for pf in files:
            line = json.dumps(parcel_file_json(pf), sort_keys=True, ensure_ascii=False) + "\n"
            out.write(line)
            h.update(line.encode("utf-8"))
            n += 1
        return n, h.hexdigest()
    if fmt != "csv":
        raise ValueError(f"export format must be jsonl or csv, got {fmt!r}")
    rows = []
    columns: dict[str, None] = {}
    for pf in files:
        row = flatten(pf.parcel.model_dump(mode="json"))
        row.update(_evidence(pf))
        for k in row:
            columns.setdefault(k, None)
        rows.append(row)
    ordered = [c for c in columns if not c.startswith("evidence.")] + list(EVIDENCE_COLUMNS)

    class _Tee:
        def write(self, s: str) -> int:
            h.update(s.encode("utf-8"))
            return out.write(s)

    w = csv.writer(_Tee(), lineterminator="\r\n")
    w.writerow([neutralise_formula(c) for c in ordered])
    for row in rows:
        w.writerow([_cell(row.get(c)) for c in ordered])
        n += 1
    return n, h.hexdigest()


def _cell(value: Any) -> Any:
    """A value as a CSV cell: text neutralised, numbers as they are, None empty."""
    if value is None:
        return ""
    return neutralise_formula(value) if isinstance(value, str) else value


__all__ = ["EVIDENCE_COLUMNS", "ExportFormat", "parcel_file_json", "write_export"]
