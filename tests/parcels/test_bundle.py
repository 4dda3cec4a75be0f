"""Evidence bundles: a good one verifies without the database; every tampering is named.

Each tamperer is careful: after changing a file it recomputes the manifest's hashes, so what
catches it is the signed chain, the event digests or the spectrum's content hash.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from parcels.bundle import BundleError, read_entries, verify_bundle, write_bundle
from parcels.records import HoldState
from parcels.signing import StationKey
from parcels.store import SQLiteStore, Store
from station.cli import main

from .builders import DEVICE, KEY, identification, item_id, parcel, spectrum
from .conftest import Backend

ITEM = item_id(0)


@pytest.fixture
def bundle(store: Store, tmp_path: Path) -> Path:
    """A bundle exported from a store (SQLite and PostgreSQL: the same proof, the same
    checks)."""
    s = store
    s.import_parcels([(i + 1, parcel(i, hold=i == 0)) for i in range(3)], actor="aed",
                     source="batch.jsonl")
    s.transition(ITEM, HoldState.HELD, actor="officer")
    ins = s.add_inspection(ITEM, spectrum(1), identification(), operator="officer",
                           station="ORD-1", device=DEVICE)
    s.add_result(ins.inspection_id, identification("NO_MATCH", library="lib-2"),
                 recorded_by="lab")
    s.add_inspection(item_id(1), spectrum(2), identification(), operator="officer",
                     station="ORD-1", device=DEVICE)  # another parcel, after ours
    out = tmp_path / f"{ITEM}.zip"
    write_bundle(s, ITEM, out, created_at=datetime(2026, 11, 21, tzinfo=UTC),
                 station="ORD-1")
    return out


def rewrite(path: Path, change: Callable[[dict[str, bytes]], None]) -> None:
    """Apply ``change`` to the entries and rebuild the zip with a recomputed manifest."""
    entries = read_entries(path)
    change(entries)
    manifest = json.loads(entries["MANIFEST.json"])
    manifest["files"] = {n: hashlib.sha256(b).hexdigest() for n, b in sorted(entries.items())
                         if n != "MANIFEST.json"}
    entries["MANIFEST.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as z:
        for n, b in entries.items():
            z.writestr(n, b)


def proof_of(entries: dict[str, bytes]) -> dict[str, Any]:
    return json.loads(entries["audit/proof.json"])  # type: ignore[no-any-return]


def set_proof(entries: dict[str, bytes], proof: dict[str, Any]) -> None:
    entries["audit/proof.json"] = json.dumps(proof).encode()


def failed(path: Path, **kw: Any) -> list[str]:
    v = verify_bundle(path, **kw)
    assert not v.ok
    assert "NOT VERIFIED" in v.message()
    return [f"{c.what}: {c.detail}" for c in v.failures]


def test_a_good_bundle_verifies_without_the_database(bundle: Path) -> None:
    names = set(read_entries(bundle))
    assert {"MANIFEST.json", "README.txt", "station-key.json", "audit/proof.json"} <= names
    assert sum(n.endswith("/spectrum.jdx") for n in names) == 1
    assert sum(n.endswith("/device.json") for n in names) == 1
    v = verify_bundle(bundle)
    assert v.ok, v.failures
    assert v.key_ids == (KEY.key_id,) and not v.pinned
    assert KEY.key_id in v.message() and "NOT pinned" in v.message()
    pinned = verify_bundle(bundle, require_key=[KEY.key_id])
    assert pinned.ok and pinned.pinned
    checked = {c.what.split(" ")[0] for c in v.checks}
    assert {"result", "inspection", "spectrum", "parcel", "signatures"} <= checked
    assert {" ".join(c.what.split(" ")[:2]) for c in v.checks} >= {"spectrum record",
                                                                   "spectrum labels"}
    # the results, both of them, are there and readable
    entries = read_entries(bundle)
    results = json.loads(next(b for n, b in entries.items() if n.endswith("results.json")))
    assert [r["verdict"] for r in results] == ["MATCH", "NO_MATCH"]


def test_edited_result_is_caught(bundle: Path) -> None:
    def edit(entries: dict[str, bytes]) -> None:
        name = next(n for n in entries if n.endswith("results.json"))
        results = json.loads(entries[name])
        results[0]["verdict"] = "NO_MATCH"
        entries[name] = json.dumps(results).encode()

    rewrite(bundle, edit)
    assert any("results.json" in f and "edited" in f for f in failed(bundle))


def test_edited_stored_result_in_the_proof_is_caught(bundle: Path) -> None:
    def edit(entries: dict[str, bytes]) -> None:
        proof = proof_of(entries)
        row = proof["records"]["results"][0]
        ident = json.loads(row["identification"])
        ident.update(verdict="NO_MATCH", alert=False, alert_substances=[])
        row.update(verdict="NO_MATCH", alert=False, identification=json.dumps(ident))
        set_proof(entries, proof)

    rewrite(bundle, edit)
    assert any(f.startswith("result ") and "edited result" in f for f in failed(bundle))


def test_swapped_spectrum_is_caught(bundle: Path, tmp_path: Path) -> None:
    from spectra.formats import write

    other = tmp_path / "other.jdx"
    write(spectrum(99), other, format="jcamp")

    def swap(entries: dict[str, bytes]) -> None:
        name = next(n for n in entries if n.endswith("spectrum.jdx"))
        entries[name] = other.read_bytes()

    rewrite(bundle, swap)
    assert any("swapped spectrum" in f for f in failed(bundle))


def test_edited_event_is_caught(bundle: Path) -> None:
    def edit(entries: dict[str, bytes]) -> None:
        proof = proof_of(entries)
        ev = next(e for e in proof["events"] if e["kind"] == "scan")
        ev["actor"] = "someone else"
        set_proof(entries, proof)

    rewrite(bundle, edit)
    assert any(f.startswith("edited event") for f in failed(bundle))


def test_removed_event_is_caught(bundle: Path) -> None:
    def remove(entries: dict[str, bytes]) -> None:
        proof = proof_of(entries)
        proof["events"] = [e for e in proof["events"] if e["kind"] != "reidentify"]
        set_proof(entries, proof)

    rewrite(bundle, remove)
    problems = failed(bundle)
    assert any("removed event" in f for f in problems), problems


def test_resigned_with_another_key_is_caught_when_the_key_is_required(bundle: Path) -> None:
    mallory = StationKey.generate()

    def resign(entries: dict[str, bytes]) -> None:
        proof = proof_of(entries)
        heads = [mallory.sign_head(seq=h["seq"], hash=h["hash"], prev_seq=h["prev_seq"])
                 for h in proof["heads"]]
        latest = proof["latest"]
        proof["heads"] = [h.model_dump() for h in heads]
        proof["latest"] = mallory.sign_head(seq=latest["seq"], hash=latest["hash"],
                                            prev_seq=latest["prev_seq"]).model_dump()
        proof["public_keys"] = {mallory.key_id: mallory.public.hex}
        set_proof(entries, proof)
        entries["station-key.json"] = json.dumps({
            "algorithm": "Ed25519", "key_id": mallory.key_id,
            "public_key": mallory.public.hex}).encode()

    rewrite(bundle, resign)
    loose = verify_bundle(bundle)  # self-consistent: only the fingerprint tells
    assert loose.ok and loose.key_ids == (mallory.key_id,) and "NOT pinned" in loose.message()
    problems = failed(bundle, require_key=[KEY.key_id])
    assert any(f.startswith("signing key") and mallory.key_id in f for f in problems)


def test_a_label_edited_in_the_database_fails_the_bundle(store: Store, backend: Backend,
                                                         bundle: Path, tmp_path: Path) -> None:
    """A spectrum's title changed behind the store's back (raw SQL), then exported: the
    bundle carries the stored record, and its digest is not the one the scan event logged."""
    h = store.get_parcel(ITEM).inspections[0].spectrum_hash
    meta = json.loads(backend.one("SELECT meta FROM spectra WHERE hash = ?", (h,)))
    meta["title"] = "forged"
    backend.tamper(("UPDATE spectra SET meta = ? WHERE hash = ?", (json.dumps(meta), h)))
    out = tmp_path / "after.zip"
    write_bundle(store, ITEM, out, created_at=datetime(2026, 11, 22, tzinfo=UTC))
    problems = failed(out)
    assert any(h in f and "labels" in f for f in problems), problems


def _jcamp(entries: dict[str, bytes], change: Callable[[str], str]) -> None:
    name = next(n for n in entries if n.endswith("spectrum.jdx"))
    text = entries[name].decode()
    changed = change(text)
    assert changed != text
    entries[name] = changed.encode()


def _stored_title(entries: dict[str, bytes]) -> None:
    proof = proof_of(entries)
    row = proof["records"]["spectra"][0]
    meta = json.loads(row["meta"])
    meta["title"] = "forged"
    row["meta"] = json.dumps(meta)
    set_proof(entries, proof)


LABEL_EDITS: dict[str, Callable[[dict[str, bytes]], None]] = {
    "jcamp title": lambda e: _jcamp(e, lambda t: t.replace("scan 1", "forged")),
    "jcamp plain title": lambda e: _jcamp(e, lambda t: t.replace("##TITLE=scan 1",
                                                                 "##TITLE=forged")),
    "jcamp extra": lambda e: _jcamp(e, lambda t: t.replace(
        "##XUNITS=", '##$INTERDICT EXTRA={"Sample":"forged"}\n##XUNITS=')),
    "stored record": _stored_title,
}


@pytest.mark.parametrize("how", sorted(LABEL_EDITS))
def test_a_label_edited_in_the_bundle_is_caught(bundle: Path, how: str) -> None:
    rewrite(bundle, LABEL_EDITS[how])
    problems = failed(bundle)
    assert any(f.startswith("spectrum") and "label" in f for f in problems), problems


def test_a_removed_spectrum_record_is_caught(bundle: Path) -> None:
    def remove(entries: dict[str, bytes]) -> None:
        proof = proof_of(entries)
        proof["records"]["spectra"] = []
        set_proof(entries, proof)

    rewrite(bundle, remove)
    assert any(f.startswith("spectrum record") and "removed record" in f
               for f in failed(bundle))


def test_a_bundle_of_scans_logged_before_labels_were_bound_verifies(
        store: Store, backend: Backend, bundle: Path, tmp_path: Path) -> None:
    """Scan events without ``spectrum_meta_digest`` (written before it): the bundle verifies
    as before, and cannot prove the labels."""
    from .forgery import as_older_version

    as_older_version(backend)
    out = tmp_path / "old.zip"
    with backend.open() as s:  # a new connection: the chain was rewritten under the store
        write_bundle(s, ITEM, out, created_at=datetime(2026, 11, 22, tzinfo=UTC))
    rewrite(out, LABEL_EDITS["jcamp title"])
    v = verify_bundle(out)
    assert v.ok, v.failures
    assert not any(c.what.startswith("spectrum record") for c in v.checks)


def test_a_hostile_zip_is_refused_before_it_is_read(tmp_path: Path) -> None:
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        z.writestr("../../etc/passwd", b"x")
    with pytest.raises(BundleError, match="not part of an evidence bundle"):
        verify_bundle(evil)
    bomb = tmp_path / "bomb.zip"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("audit/proof.json", b"0" * (20 * 1024 * 1024))
    with pytest.raises(BundleError, match="compressed beyond reason"):
        verify_bundle(bomb)
    (tmp_path / "not.zip").write_bytes(b"PK no")
    with pytest.raises(BundleError, match="not a readable zip"):
        verify_bundle(tmp_path / "not.zip")


def test_cli_export_and_verify(db_path: Path, tmp_path: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "station.key"
    KEY.save(key_file)
    with SQLiteStore(db_path, signer=KEY) as s:
        s.import_parcels([(1, parcel(0))], actor="aed", source="b")
        s.add_inspection(ITEM, spectrum(1), identification(), operator="officer",
                         station="ORD-1", device=DEVICE)
    out = tmp_path / "b.zip"
    assert main(["evidence", "export", ITEM, "-o", str(out), "--db", str(db_path),
                 "--key", str(key_file), "--operator", "officer"]) == 0
    text = capsys.readouterr().out
    assert KEY.key_id in text and "signed head" in text
    assert main(["evidence", "verify", str(out), "--trust", KEY.key_id]) == 0
    assert "VERIFIED" in capsys.readouterr().out
    with SQLiteStore(db_path) as s:  # the export itself is in the chain
        assert [e.kind.value for e in s.audit_events()][-1] == "export"

    rewrite(out, lambda e: e.update({"audit/proof.json": e["audit/proof.json"].replace(
        b'"officer"', b'"mallory"', 1)}))
    assert main(["evidence", "verify", str(out)]) == 6
    err = capsys.readouterr().err
    assert "NOT VERIFIED" in err and "FAILED" in err
    assert main(["evidence", "verify", str(tmp_path / "missing.zip")]) == 1
