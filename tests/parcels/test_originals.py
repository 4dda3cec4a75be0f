"""Original files kept as evidence (an export taken in by ``interdict ingest``): stored byte
for byte with their SHA-256 in the inspection's transaction, logged by their own audit event,
recognised by their hash, append-only, checked by ``verify`` and carried by the bundle."""

from __future__ import annotations

from pathlib import Path

import pytest

from parcels.store import SQLiteStore

from .builders import DEVICE, identification, item_id, parcel, spectrum


def test_a_transmission_spectrum_takes_a_result_of_the_atr_library(store: SQLiteStore) -> None:
    # the matcher searches any mid-infrared query in the FTIR (ATR) part of the library
    # (matcher.library.techniques_compatible); the store records that result with it
    store.import_parcels([(1, parcel(1))], actor="aed", source="b")
    ins = store.add_inspection(item_id(1), spectrum(1, technique="ftir-transmission"),
                               identification(technique="ftir-atr"), operator="o",
                               station="s", device=DEVICE)
    assert ins.technique.value == "ftir-transmission"
    assert store.get_inspection(ins.inspection_id).original.identification.technique.value \
        == "ftir-atr"
    # a Raman result still does not belong to an infrared spectrum, nor the other way round
    with pytest.raises(ValueError, match="raman but the spectrum is ftir-transmission"):
        store.add_inspection(item_id(1), spectrum(1, technique="ftir-transmission"),
                             identification(), operator="o", station="s", device=DEVICE)
    assert store.verify().ok
