"""``interdict reidentify``: run a parcel's stored raw spectra again against the configured
library (e.g. a newer version) and record each answer as a new result linked to the previous
one. The original results stay as they were; the audit chain records who asked and why."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from station._terminal import say
from station.config import StationConfig

if TYPE_CHECKING:
    from matcher.results import Identification
    from parcels.records import Inspection, Result
    from spectra import Spectrum


def _summary(result: Result) -> str:
    ident = result.identification
    hits = getattr(ident, "hits", None) or ()
    top = f" {hits[0].name} {hits[0].score:.1f}" if hits else ""
    alert = "  ALERT" if result.alert else ""
    return f"{result.verdict.value}{top} [library {result.library_id}]{alert}"


def _record(inspection: Inspection, new: Result) -> dict[str, Any]:
    before = inspection.results[-1]
    return {"inspection_id": inspection.inspection_id,
            "technique": inspection.technique.value,
            "result_id": new.result_id, "based_on": new.based_on,
            "before": {"verdict": before.verdict.value, "alert": before.alert,
                       "library_id": before.library_id, "library_hash": before.library_hash},
            "after": {"verdict": new.verdict.value, "alert": new.alert,
                      "library_id": new.library_id, "library_hash": new.library_hash}}


def run_reidentify(cfg: StationConfig, item_id: str, *, inspection_id: str | None = None,
                   note: str | None = None, as_json: bool = False,
                   out: TextIO | None = None) -> int:
    """Re-identify the inspections of one parcel (or one of them); return the exit code.

    Exit codes: 0 recorded, no new result alerts; 10 recorded and a new result alerts;
    1 error (store, library, a stored spectrum that no longer matches its hash: nothing is
    recorded for it); 2 configuration; 5 parcel error (invalid id, unknown parcel or
    inspection, no inspection to re-examine).
    """
    from parcels.errors import IntegrityError, ParcelsError
    from parcels.reidentify import reidentify
    from station.exit_codes import EXIT_ALERT, EXIT_ERROR, EXIT_OK, EXIT_PARCEL
    from station.workflows.scan import StationError, StationSession

    out = out or sys.stdout
    session = StationSession(cfg, out=out)
    try:
        store = session.open_store()
        try:
            parcel = store.get_parcel(item_id)
        except ParcelsError as exc:
            raise StationError(str(exc), EXIT_PARCEL) from exc
        targets = [i for i in parcel.inspections
                   if inspection_id is None or i.inspection_id == inspection_id]
        if not targets:
            what = (f"no inspection {inspection_id}" if inspection_id
                    else "no inspection to re-examine")
            raise StationError(f"{item_id}: {what}", EXIT_PARCEL)
        session.open_library()
        recorded_by = session.operator
        code = EXIT_OK
        for ins in targets:
            technique = "raman" if ins.technique.value == "raman" else "ftir"

            def identify(spectrum: Spectrum, technique: str = technique) -> Identification:
                return session.identify(spectrum, technique)

            try:
                new = reidentify(store, ins.inspection_id, identify,
                                 recorded_by=recorded_by, note=note)
            except IntegrityError as exc:
                say(f"interdict reidentify: {ins.inspection_id}: {exc} (nothing recorded)",
                    sys.stderr)
                code = EXIT_ERROR
                continue
            except ParcelsError as exc:
                raise StationError(f"evidence store: {exc}", EXIT_ERROR) from exc
            if as_json:
                out.write(json.dumps(_record(ins, new)) + "\n")
            else:
                say(f"inspection {ins.inspection_id} ({ins.technique.value}, "
                    f"{ins.performed_at:%Y-%m-%d %H:%MZ})", out)
                say(f"  was  {_summary(ins.results[-1])}", out)
                say(f"  now  {_summary(new)}   (result {new.result_id})", out)
            if new.alert and code == EXIT_OK:
                code = EXIT_ALERT
        return code
    except StationError as exc:
        say(f"interdict reidentify: {exc}", sys.stderr)
        return exc.code
    finally:
        session.close()


__all__ = ["run_reidentify"]
