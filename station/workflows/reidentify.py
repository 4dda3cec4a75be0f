"""``interdict reidentify``: run a parcel's stored raw spectra again against the configured
library (e.g. a newer version) and record each answer as a new result linked to the previous
one. The original results stay as they were; the audit chain records who asked and why."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TextIO

from station.config import StationConfig
from station.errors import ParcelStateError
from station.workflows.scan import StationSession

if TYPE_CHECKING:
    from parcels.errors import IntegrityError
    from parcels.records import Inspection, Result


def summary(result: Result) -> str:
    """One line: the verdict, top hit and library of a result."""
    ident = result.identification
    hits = getattr(ident, "hits", None) or ()
    top = f" {hits[0].name} {hits[0].score:.1f}" if hits else ""
    alert = "  ALERT" if result.alert else ""
    return f"{result.verdict.value}{top} [library {result.library_id}]{alert}"


def as_record(inspection: Inspection, new: Result) -> dict[str, Any]:
    """The JSON line of one re-examination: before and after."""
    before = inspection.results[-1]  # as loaded, before the re-examination
    return {"inspection_id": inspection.inspection_id,
            "technique": inspection.technique.value,
            "result_id": new.result_id, "based_on": new.based_on,
            "before": {"verdict": before.verdict.value, "alert": before.alert,
                       "library_id": before.library_id, "library_hash": before.library_hash},
            "after": {"verdict": new.verdict.value, "alert": new.alert,
                      "library_id": new.library_id, "library_hash": new.library_hash}}


@dataclass(frozen=True)
class Reexamination:
    """One inspection examined again: the new linked result, or why none was recorded."""

    inspection: Inspection
    result: Result | None
    refused: IntegrityError | None = None
    """The stored raw spectrum no longer matches its hash: nothing was recorded for it."""


def reidentify_parcel(cfg: StationConfig, item_id: str, *, inspection_id: str | None = None,
                      note: str | None = None, out: TextIO | None = None
                      ) -> list[Reexamination]:
    """Re-identify the inspections of one parcel (or one of them) against the configured
    library; each answer is recorded as a new result linked to the one it re-examines.

    A stored spectrum that fails its hash is refused (nothing recorded for it) and the others
    are still re-examined.

    Raises
    ------
    parcels.errors.InvalidItemIdError, parcels.errors.ParcelNotFoundError
        The parcel.
    ParcelStateError
        No inspection (or not the one named) to re-examine.
    StationError, parcels.errors.ParcelsError
        Database, library, store.
    """
    from parcels.errors import IntegrityError
    from parcels.reidentify import reidentify

    session = StationSession(cfg, out=out)
    try:
        store = session.open_store()
        parcel = store.get_parcel(item_id)
        targets = [i for i in parcel.inspections
                   if inspection_id is None or i.inspection_id == inspection_id]
        if not targets:
            what = (f"no inspection {inspection_id}" if inspection_id
                    else "no inspection to re-examine")
            raise ParcelStateError(f"{parcel.parcel.item_id}: {what}")
        session.open_library()
        recorded_by = session.operator
        done: list[Reexamination] = []
        for ins in targets:
            try:
                new = reidentify(store, ins.inspection_id, session.identify,
                                 recorded_by=recorded_by, note=note)
            except IntegrityError as exc:
                done.append(Reexamination(ins, None, exc))
                continue
            done.append(Reexamination(ins, new))
        return done
    finally:
        session.close()


__all__ = ["Reexamination", "reidentify_parcel"]
