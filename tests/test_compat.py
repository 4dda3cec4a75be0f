"""Data written before issue 13 still opens and verifies to the same hashes.

``tests/data/pre_i13`` holds a library file and an evidence database written by the code of
commit 817a7b4 (``tests/data/pre_i13/make.py``), before the spectrum's serialisation moved
into :mod:`spectra`. Every hash they carry must come out the same from today's code: a
spectrum, library or database that verified yesterday verifies today.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from matcher.library import Library
from parcels.blobs import decode_spectrum, encode_spectrum
from parcels.store import SQLiteStore
from spectra import Spectrum, canonical_json
from tests.data.pre_i13.make import spectra_set
from tests.parcels.builders import KEY

DATA = Path(__file__).parent / "data" / "pre_i13"
EXPECTED = json.loads((DATA / "expected.json").read_text())


def test_spectra_built_today_have_the_hashes_recorded_then() -> None:
    assert [s.content_hash for s in spectra_set()] == EXPECTED["spectrum_hashes"]


def test_a_library_written_before_opens_verified_with_the_same_hash() -> None:
    lib = Library.load(DATA / "library.ilib")  # recomputes the hash from the bytes read
    assert lib.hash == EXPECTED["library_hash"]
    refs = spectra_set()
    for i, s in enumerate(refs):
        back = lib.reference(i)  # decoded and checked against the entry's spectrum_hash
        assert back.content_hash == EXPECTED["spectrum_hashes"][i]
        assert back == s and back.source == s.source


def test_a_library_written_today_has_the_hash_of_then(tmp_path: Path) -> None:
    again = Library.load(DATA / "library.ilib").save(tmp_path / "again.ilib")
    assert Library.load(again).hash == EXPECTED["library_hash"]


def test_a_database_written_before_verifies_and_gives_back_its_spectrum(tmp_path: Path) -> None:
    db = tmp_path / "evidence.db"
    shutil.copyfile(DATA / "evidence.db", db)
    with SQLiteStore(db, signer=KEY) as store:
        report = store.verify(deep=True)
        assert report.ok, report.findings
        assert store.verify_item(EXPECTED["item_id"], deep=True).ok
        stored = store.get_spectrum(EXPECTED["spectrum_hashes"][0])
    assert stored == spectra_set()[0]
    assert stored.extra == spectra_set()[0].extra


def test_the_store_writes_the_record_of_the_spectrum_in_canonical_json() -> None:
    s = spectra_set()[1]
    enc = encode_spectrum(s)
    record = json.loads(enc.meta)
    assert record.pop("codec") == "zlib-shuffle8/1"
    assert record == s.to_record()
    assert enc.meta == canonical_json({**record, "codec": "zlib-shuffle8/1"})
    back = decode_spectrum(enc.content_hash, enc.meta, enc.pack_axis(), enc.values)
    assert back == s and back.source == s.source


@pytest.mark.parametrize("missing", ["x_unit", "acquisition", "extra"])
def test_a_record_without_a_field_is_a_typed_error(missing: str) -> None:
    s = spectra_set()[0]
    record = s.to_record()
    del record[missing]
    with pytest.raises(ValueError, match=missing):
        Spectrum.from_record(record, s.x, s.y)
