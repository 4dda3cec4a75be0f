"""Write the files that pin the on-disk formats of before issue 13 (run once, at 817a7b4).

``python -m tests.data.pre_i13.make OUT_DIR`` from a checkout of commit 817a7b4 wrote
``library.ilib`` (a three-entry library whose raw references carry acquisition,
provenance, non-ASCII title and header fields) and ``evidence.db`` (one parcel, one
inspection whose raw spectrum carries the same), and ``expected.json`` (the content hashes
that code computed). ``tests/test_compat.py`` opens them with today's code: spectra, library
and database must verify to the same hashes. Kept so that moving the serialisation into
``spectra`` (issue 13) is proved not to change any hash of data already written.
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from spectra import Acquisition, Pipeline, ProvenanceStep, Spectrum


def spectra_set() -> list[Spectrum]:
    """Three raw Raman spectra with every metadata field set (some of it non-ASCII)."""
    rng = np.random.default_rng(13)
    x = np.arange(100.0, 2000.0, 8.0)
    out = []
    for i in range(3):
        y = 50 + rng.normal(0, 1, x.size)
        for c in rng.uniform(200, 1900, 4):
            y += rng.uniform(100, 900) * np.exp(-0.5 * ((x - c) / 9.0) ** 2)
        out.append(Spectrum(
            x, y, technique="raman", y_unit="counts", excitation_nm=785.0,
            acquisition=Acquisition(instrument_model="TruScan RM", instrument_serial=f"SN{i}",
                                    integration_time_ms=1000.0, accumulations=2,
                                    acquired_at=datetime(2026, 11, 20, 9, i, tzinfo=UTC),
                                    operator="officer.müller"),
            provenance=(ProvenanceStep(step="dark_subtract", params={"frames": 3, "k": 0.5}),),
            title=f"échantillon {i} — 試料", source=f"ref{i}.csv",
            extra={"Opérateur": "Zoë", "laser": "785 nm"},
        ))
    return out


def main(out: Path) -> int:
    """Write the three files into ``out``."""
    from matcher.library import Library
    from parcels.records import HoldState
    from parcels.store import SQLiteStore
    from tests.parcels.builders import DEVICE, KEY, identification, parcel

    out.mkdir(parents=True, exist_ok=True)
    refs = spectra_set()
    lib = Library.build(
        [({"name": f"Substance {i}", "id": f"s{i}"}, s) for i, s in enumerate(refs)],
        pipeline=Pipeline.of(("crop", {"x_min": 150.0, "x_max": 1900.0}), ("normalize", {})),
        axis=np.arange(200.0, 1800.0, 8.0), technique="raman", library_id="pre-i13",
    )
    lib.save(out / "library.ilib")
    with SQLiteStore(out / "evidence.db", signer=KEY) as store:
        store.import_parcels([(1, parcel(1, hold=True))], actor="aed", source="pre-i13")
        store.transition(parcel(1).item_id, HoldState.HELD, actor="officer.müller")
        ins = store.add_inspection(parcel(1).item_id, refs[0], identification(),
                                   operator="officer.müller", station="test", device=DEVICE)
    expected = {
        "library_hash": lib.hash,
        "spectrum_hashes": [s.content_hash for s in refs],
        "inspection_id": ins.inspection_id,
        "item_id": parcel(1).item_id,
    }
    (out / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1])))
