"""Original files kept as evidence (an export taken in by ``interdict ingest``): stored byte
for byte with their SHA-256 in the inspection's transaction, logged by their own audit event,
recognised by their hash, append-only, checked by ``verify`` and carried by the bundle; on
every backend (the ``store`` and ``backend`` fixtures run each test on SQLite and
PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from parcels.store import Store

from .builders import DEVICE, identification, item_id, parcel, spectrum
from .conftest import Backend


def test_a_transmission_spectrum_takes_a_result_of_the_atr_library(store: Store) -> None:
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


EXPORT = b"##TITLE=handheld export\r\n##JCAMP-DX=5.01\r\n\x00\xff binary tail \x1b[2J\r\n"
"""Bytes of an 'exported file': line ends, NUL, a terminal escape: kept as they are."""


def _ingested(store: Store, n: int = 1, data: bytes = EXPORT, name: str = "scan 1.jdx"
              ):  # type: ignore[no-untyped-def]
    from parcels.store import NewOriginal

    return store.add_inspection(item_id(n), spectrum(n), identification(), operator="o",
                                station="s", device=DEVICE,
                                original=NewOriginal(name=name, data=data, format="jcamp"))


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_the_original_is_kept_byte_for_byte_with_its_own_event(store: Store) -> None:
    store.import_parcels([(1, parcel(1, hold=True))], actor="aed", source="b")
    from parcels.records import HoldState

    store.transition(item_id(1), HoldState.HELD, actor="o")
    ins = _ingested(store)
    meta = ins.original_file
    assert meta is not None
    assert (meta.sha256, meta.size, meta.name, meta.format, meta.item_id, meta.inspection_id) \
        == (_sha(EXPORT), len(EXPORT), "scan 1.jdx", "jcamp", item_id(1), ins.inspection_id)
    back, data = store.get_original(_sha(EXPORT))
    assert data == EXPORT and back == meta
    assert store.find_original(_sha(EXPORT)) == meta
    assert store.find_original(_sha(b"other")) is None
    assert store.get_parcel(item_id(1)).inspections[0].original_file == meta
    # one transaction, its own event (logging the file's hash) among the scan's
    kinds = [e.kind.value for e in store.audit_events(item_id=item_id(1))]
    assert kinds == ["import", "hold-request", "hold", "scan", "original-file", "verdict",
                     "inspected"]
    ev = next(e for e in store.audit_events() if e.kind.value == "original-file")
    assert ev.data["sha256"] == _sha(EXPORT) and ev.data["inspection_id"] == ins.inspection_id
    assert store.verify().ok and store.verify_item(item_id(1)).ok


def test_the_same_file_again_is_recognised_and_nothing_is_recorded(store: Store) -> None:
    from parcels.errors import DuplicateOriginalError

    store.import_parcels([(1, parcel(1)), (2, parcel(2))], actor="aed", source="b")
    first = _ingested(store, 1)
    events = list(store.audit_events())
    with pytest.raises(DuplicateOriginalError) as e:
        _ingested(store, 2, name="renamed copy.jdx")  # another parcel, the same bytes
    assert (e.value.inspection_id, e.value.item_id) == (first.inspection_id, item_id(1))
    assert list(store.audit_events()) == events
    assert store.get_parcel(item_id(2)).inspections == ()


def test_an_unsafe_name_is_refused_at_the_door(store: Store) -> None:
    from parcels.errors import UnsafeTextError

    store.import_parcels([(1, parcel(1))], actor="aed", source="b")
    with pytest.raises(UnsafeTextError, match="name"):
        _ingested(store, name="scan\x1b[2J.jdx")
    with pytest.raises(ValueError, match="without a folder"):
        _ingested(store, name="../scan.jdx")
    assert store.get_parcel(item_id(1)).inspections == ()


def test_original_files_are_append_only_and_tampering_is_found(
        store: Store, backend: Backend) -> None:
    from parcels.errors import IntegrityError

    store.import_parcels([(1, parcel(1)), (2, parcel(2))], actor="aed", source="b")
    _ingested(store, 1)
    _ingested(store, 2, data=b"second export", name="b.spa")
    for sql in ("UPDATE original_files SET name = 'x'", "DELETE FROM original_files"):
        with pytest.raises(Exception, match="append-only"):  # sqlite3 / psycopg's own
            backend.sql(sql)
    if backend.name == "postgresql":
        with pytest.raises(Exception, match="append-only"):
            backend.sql("TRUNCATE original_files")
    # one byte of the first file changed (the guards removed, as a deliberate attacker would)
    backend.tamper(("UPDATE original_files SET data = ? WHERE name = 'scan 1.jdx'",
                    (EXPORT[:-1] + b"!",)))
    report = store.verify()
    assert not report.ok
    assert any("original file scan 1.jdx" in f.detail and "hash to" in f.detail
               for f in report.findings)
    with pytest.raises(IntegrityError, match=r"scan 1\.jdx"):
        store.get_original(_sha(EXPORT))
    assert not store.verify_item(item_id(1)).ok and store.verify_item(item_id(2)).ok
    # the second one renamed (its row no longer what its event logged), then deleted
    backend.tamper("UPDATE original_files SET name = 'innocent.spa' WHERE name = 'b.spa'")
    assert any("differs" in f.detail or "does not match" in f.detail
               for f in store.verify_item(item_id(2)).findings)
    backend.tamper("DELETE FROM original_files WHERE name = 'innocent.spa'")
    assert any("no longer in original_files" in f.detail for f in store.verify().findings)


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_version_2_database_gains_the_table_and_keeps_its_evidence(
        engine: str, tmp_path: Path, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import parcels.store.postgres as pg_impl
    import parcels.store.sqlite as sqlite_impl

    impl = sqlite_impl if engine == "sqlite" else pg_impl
    backend = Backend(engine, str(tmp_path / "v2.db") if engine == "sqlite"
                      else request.getfixturevalue("pg_url"))  # empty: no schema yet
    with monkeypatch.context() as m:  # the store as it was before original files
        m.setattr(impl, "MIGRATIONS", impl.MIGRATIONS[:2])
        m.setattr(impl, "SCHEMA_VERSION", 2)
        with backend.open() as old:
            old.import_parcels([(1, parcel(1)), (2, parcel(2))], actor="aed", source="b")
            old.add_inspection(item_id(1), spectrum(1), identification(), operator="o",
                               station="s", device=DEVICE)
    with backend.open() as s:
        assert s.schema_version == impl.SCHEMA_VERSION == 3
        assert s.get_parcel(item_id(1)).inspections[0].original_file is None
        _ingested(s, 2)
        assert s.verify().ok


def test_the_bundle_carries_the_original_and_catches_a_changed_one(
        store: Store, tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from parcels.bundle import original_entry, read_entries, verify_bundle, write_bundle

    from .test_bundle import failed, rewrite

    store.import_parcels([(1, parcel(1))], actor="aed", source="b")
    ins = _ingested(store)
    out = tmp_path / "b.zip"
    write_bundle(store, item_id(1), out, created_at=datetime(2026, 11, 21, tzinfo=UTC))
    entry = original_entry(ins.inspection_id, "scan 1.jdx")
    assert entry.endswith("/original/scan_1.jdx")
    assert read_entries(out)[entry] == EXPORT
    verdict = verify_bundle(out)
    assert verdict.ok, verdict.failures
    assert any(c.what == "original file scan 1.jdx: bytes" and c.ok for c in verdict.checks)

    def swap(entries: dict[str, bytes]) -> None:
        entries[entry] = EXPORT.replace(b"handheld", b"HANDHELD")

    rewrite(out, swap)  # the manifest recomputed: the logged hash catches it
    assert any("original file scan 1.jdx: bytes" in f and "hash to" in f for f in failed(out))

    def drop(entries: dict[str, bytes]) -> None:
        del entries[entry]

    write_bundle(store, item_id(1), out, created_at=datetime(2026, 11, 21, tzinfo=UTC))
    rewrite(out, drop)
    assert any("missing from the bundle" in f for f in failed(out))
