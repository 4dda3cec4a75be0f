"""Writing a parcel's evidence report: read the store, render, write, log the export."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station._files import write_atomically
from station.config import StationConfig
from station.errors import EvidenceStoreMissingError
from station.workflows.library import load_libraries

if TYPE_CHECKING:
    from matcher.library import LibrarySet
    from station.report.model import EvidenceReport


@dataclass
class ReportOutcome:
    """A written report: where, its digest, what it shows, and what went short of plan."""

    report: EvidenceReport
    path: Path
    sha256: str
    warnings: list[str] = field(default_factory=list)
    """What the report lacks (plots without the library) or what was not logged."""

    @property
    def verified(self) -> bool:
        """Whether the parcel's evidence verified against the signed audit chain."""
        return bool(self.report.chain_ok)

    def summary(self) -> dict[str, Any]:
        """JSON-ready facts about the report (``interdict report --json``)."""
        r = self.report
        head = r.signed_head
        return {
            "item_id": r.item_id, "report": str(self.path), "sha256": self.sha256,
            "inspections": len(r.inspections),
            "alert": any(v.alert for v in r.inspections),
            "synthetic_used": any(v.synthetic for v in r.inspections),
            "plots": sum(v.plot is not None for v in r.inspections),
            "chain_ok": r.chain_ok,
            "signed_head": None if head is None else f"{head.seq}:{head.hash}",
            "key_id": None if head is None else head.key_id,
            "warnings": list(self.warnings),
        }


def write_report(cfg: StationConfig, item_id: str, out: Path) -> ReportOutcome:
    """Write the HTML evidence report of one parcel and log the export in the audit chain.

    The report is written even when the parcel's evidence does not verify (it says so, and
    :attr:`ReportOutcome.verified` is False), and without plots when the library cannot be
    loaded (a warning says why).

    Raises
    ------
    EvidenceStoreMissingError
        No database at ``cfg.db``.
    parcels.errors.InvalidItemIdError, parcels.errors.ParcelNotFoundError
        The parcel.
    parcels.errors.ParcelsError, parcels.signing.SigningKeyError, OSError
        The store, the key, the file.
    """
    from matcher.library import LibraryError
    from parcels.errors import IntegrityError
    from parcels.signing import StationKey
    from parcels.store import open_store
    from station.report.collect import collect_report
    from station.report.render import render_html

    db = cfg.db_file
    if not db.is_file():
        raise EvidenceStoreMissingError(f"no evidence database at {db}")
    warnings: list[str] = []
    libs: LibrarySet | None
    try:
        libs = load_libraries(cfg)
    except (LibraryError, OSError, ValueError) as exc:  # still useful without plots
        warnings.append(f"library not loaded, plots will be missing: {exc}")
        libs = None
    with open_store(db, create=False, signer=StationKey.load_or_create(cfg.key)) as store:
        report = collect_report(store, item_id, libs=libs, station=cfg.station,
                                generated_by=cfg.operator or "", database=str(db))
        text = render_html(report)
        write_atomically(out, text)
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        try:
            store.record_export([report.item_id], actor=cfg.operator or cfg.station,
                                destination=str(out.resolve()), content_digest=digest)
        except IntegrityError as exc:  # the station will not sign on a rewritten chain
            warnings.append(f"the report was written but its export could not be logged: "
                            f"{exc}")
    return ReportOutcome(report, out, digest, warnings)


__all__ = ["ReportOutcome", "write_report"]
