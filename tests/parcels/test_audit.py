"""The audit chain: verification, and tampering with the database behind the store's back
(raw SQL, append-only guards removed first, as a deliberate tamperer would), on every backend."""

from __future__ import annotations

import dataclasses
import itertools
import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcels.audit import GENESIS, Problem, RawEvent, event_body, event_hash, verify_chain
from parcels.errors import IntegrityError
from parcels.records import HoldState
from parcels.signing import StationKey
from parcels.store import Store, _sql
from spectra import canonical_json
from station.cli import main

from .builders import DEVICE, KEY, identification, item_id, parcel, spectrum
from .conftest import Backend
from .forgery import as_older_version, forge_verdict, resign


def chain(n: int) -> list[RawEvent]:
    out: list[RawEvent] = []
    prev = GENESIS
    for seq in range(1, n + 1):
        data = canonical_json({"k": seq})
        h = event_hash(prev, event_body(seq=seq, at=f"t{seq}", kind="import", actor="a",
                                        item_id=None, data={"k": seq}))
        out.append(RawEvent(seq, f"t{seq}", "import", "a", None, data, prev, h))
        prev = h
    return out


def run(events: list[RawEvent], head: tuple[int, str] | None = None):  # type: ignore[no-untyped-def]
    by_hash = {e.hash: e.seq for e in events}
    return verify_chain(events, by_hash.get, expected_head=head)


def test_intact_chain() -> None:
    ev = chain(10)
    n, hseq, hhash, findings = run(ev, (10, ev[-1].hash))
    assert (n, hseq, hhash, findings) == (10, 10, ev[-1].hash, [])


def test_chain_edit_delete_reorder_truncate() -> None:
    ev = chain(10)
    edited = list(ev)
    edited[4] = dataclasses.replace(ev[4], actor="mallory")
    f = run(edited)[3]
    assert (f[0].seq, f[0].problem) == (5, Problem.EDITED)

    f = run(ev[:6] + ev[7:])[3]
    assert (f[0].seq, f[0].problem) == (7, Problem.DELETED)

    swapped = [*ev[:3], ev[4], ev[3], *ev[5:]]
    f = run(swapped)[3]
    assert (f[0].seq, f[0].problem) == (5, Problem.REORDERED)

    f = run(ev[:8], (10, ev[-1].hash))[3]
    assert (f[0].seq, f[0].problem) == (9, Problem.DELETED)


# --------------------------------------------------------------------------------------
@pytest.fixture
def populated(backend: Backend) -> Backend:
    with backend.open() as s:
        s.import_parcels([(i + 1, parcel(i, hold=i < 2)) for i in range(4)], actor="aed",
                         source="batch.jsonl")
        s.transition(item_id(0), HoldState.HELD, actor="officer")
        a = s.add_inspection(item_id(0), spectrum(1), identification(), operator="officer",
                             station="ORD-1", device=DEVICE)
        s.add_inspection(item_id(3), spectrum(2), identification("NO_MATCH"),
                         operator="officer", station="ORD-1", device=DEVICE)
        s.add_result(a.inspection_id, identification(library="lib-2"), recorded_by="lab")
        s.transition(item_id(0), HoldState.SEIZED, actor="officer")
        assert s.verify().ok
    return backend


def first_bad(b: Backend):  # type: ignore[no-untyped-def]
    with b.open() as s:
        report = s.verify()
    assert not report.ok
    assert report.first_bad is not None
    return report.first_bad


def test_changed_verdict_is_pinned_to_its_event(populated: Backend) -> None:
    seq = populated.one("SELECT event_seq FROM results WHERE verdict = 'NO_MATCH'")
    populated.tamper("UPDATE results SET verdict = 'MATCH' WHERE verdict = 'NO_MATCH'")
    f = first_bad(populated)
    assert (f.seq, f.problem) == (seq, Problem.EVIDENCE)
    assert "verdict differs" in f.detail


def test_changed_verdict_and_its_event_breaks_the_chain(populated: Backend) -> None:
    seq = populated.one("SELECT event_seq FROM results WHERE verdict = 'NO_MATCH'")
    data = populated.one(f"SELECT data FROM audit_events WHERE seq = {seq}")
    assert isinstance(data, str)
    populated.tamper("UPDATE results SET verdict = 'MATCH' WHERE verdict = 'NO_MATCH'",
           ("UPDATE audit_events SET data = ? WHERE seq = ?",
            (data.replace('"NO_MATCH"', '"MATCH"'), seq)))
    f = first_bad(populated)
    assert (f.seq, f.problem) == (seq, Problem.EDITED)


def test_edited_and_rehashed_event(populated: Backend) -> None:
    """The tamperer recomputes the edited event's hash: the next link gives it away."""
    row = populated.sql("SELECT seq, at, kind, actor, item_id, data, prev_hash FROM "
                        "audit_events WHERE kind = 'hold'")[0]
    seq, at, kind, _, item, data, prev = row
    new_hash = event_hash(prev, event_body(seq=seq, at=at, kind=kind, actor="someone else",
                                           item_id=item, data=json.loads(data)))
    populated.tamper(("UPDATE audit_events SET actor = 'someone else', hash = ? WHERE seq = ?",
                       (new_hash, seq)))
    f = first_bad(populated)
    assert (f.seq, f.problem) == (seq, Problem.EDITED)


def test_deleted_event(populated: Backend) -> None:
    seq = populated.one("SELECT seq FROM audit_events WHERE kind = 'scan' ORDER BY seq LIMIT 1")
    populated.tamper(f"DELETE FROM audit_events WHERE seq = {seq}")
    f = first_bad(populated)
    assert (f.seq, f.problem) == (seq, Problem.DELETED)


def test_deleted_tail_with_rewritten_head_needs_an_anchor(populated: Backend) -> None:
    """A perfect cut of the log's tail — whole signed transactions, their signed heads with
    them — cannot be seen from inside the file even with signatures (what is left is a
    shorter chain the station did sign); an anchor kept outside (the signed head printed on
    a report or a bundle, or recorded centrally) exposes it. The documented limit."""
    last = populated.one("SELECT max(seq) FROM audit_events")
    anchor = {last: populated.one(f"SELECT hash FROM audit_events WHERE seq = {last}")}
    assert populated.one("SELECT prev_seq FROM signed_heads ORDER BY seq DESC") == last - 1
    populated.tamper(f"DELETE FROM audit_events WHERE seq = {last}",
                     f"DELETE FROM hold_transitions WHERE event_seq = {last}",
                     f"DELETE FROM signed_heads WHERE seq = {last}",
                     "UPDATE holds SET state = 'inspected' WHERE state = 'seized'")
    with populated.open() as s:
        assert s.verify().ok  # the limit, stated
        report = s.verify(anchors=anchor)  # type: ignore[arg-type]
    assert report.first_bad is not None
    assert (report.first_bad.seq, report.first_bad.problem) == (last, Problem.DELETED)


def test_deleted_last_event(populated: Backend) -> None:
    last = populated.one("SELECT max(seq) FROM audit_events")
    populated.tamper(f"DELETE FROM audit_events WHERE seq = {last}",
           f"DELETE FROM hold_transitions WHERE event_seq = {last}",
           "UPDATE holds SET state = 'inspected' WHERE state = 'seized'")
    f = first_bad(populated)
    assert (f.seq, f.problem) == (last, Problem.DELETED)


def test_swapped_events(populated: Backend) -> None:
    a = populated.one("SELECT seq FROM audit_events WHERE kind = 'scan' ORDER BY seq LIMIT 1")
    assert isinstance(a, int)
    b = a + 1
    populated.tamper(f"UPDATE audit_events SET seq = -1 WHERE seq = {a}",
           f"UPDATE audit_events SET seq = {a} WHERE seq = {b}",
           f"UPDATE audit_events SET seq = {b} WHERE seq = -1")
    f = first_bad(populated)
    assert (f.seq, f.problem) == (a, Problem.REORDERED)


def test_deleted_record_and_corrupted_spectrum(populated: Backend) -> None:
    seq = populated.one(f"SELECT event_seq FROM parcels WHERE item_id = '{item_id(2)}'")
    populated.tamper(f"DELETE FROM parcels WHERE item_id = '{item_id(2)}'")
    f = first_bad(populated)
    assert (f.seq, f.problem) == (seq, Problem.EVIDENCE)
    assert "deleted" in f.detail


def test_corrupted_spectrum_blob(populated: Backend) -> None:
    scan = populated.one("SELECT min(event_seq) FROM inspections")
    blob = populated.one("SELECT data FROM spectra ORDER BY hash LIMIT 1")
    assert isinstance(blob, bytes)
    import zlib

    raw = bytearray(zlib.decompress(blob))
    raw[-1] ^= 0x01
    populated.tamper(("UPDATE spectra SET data = ? WHERE hash = (SELECT min(hash) FROM "
                      "spectra)", (zlib.compress(bytes(raw)),)))
    with populated.open() as s:
        assert s.verify(deep=False).ok  # only decoding can see it
        report = s.verify(deep=True)
    assert not report.ok and report.first_bad is not None
    assert report.first_bad.problem is Problem.EVIDENCE
    assert report.first_bad.seq in {scan, populated.one("SELECT max(event_seq) FROM "
                                               "inspections")}


def test_cli_audit_verify_names_the_event(populated: Backend,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["audit", "verify", "--db", populated.location]) == 0
    assert "audit chain OK" in capsys.readouterr().out
    seq = populated.one("SELECT seq FROM audit_events WHERE kind = 'release' OR kind = "
                       "'seizure'")
    populated.tamper(f"UPDATE audit_events SET actor = 'x' WHERE seq = {seq}")
    assert main(["audit", "verify", "--db", populated.location]) == 6
    err = capsys.readouterr().err
    assert f"BROKEN at event #{seq} (edited)" in err
    assert main(["audit", "verify", "--db", populated.location, "--json"]) == 6
    out = json.loads(capsys.readouterr().out)
    assert out["ok"] is False and out["first_bad"]["seq"] == seq


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8,
)


@given(seq=st.integers(1, 10**9), at=st.text(max_size=30), kind=st.text(max_size=12),
       actor=st.text(max_size=12), item=st.none() | st.text(max_size=13),
       data=st.dictionaries(st.text(max_size=6), json_values, max_size=4))
def test_fast_chain_hash_equals_the_definition(seq: int, at: str, kind: str, actor: str,
                                               item: str | None, data: dict) -> None:  # type: ignore[type-arg]
    from parcels.audit import chain_hash
    from spectra import canonical_json

    body = event_body(seq=seq, at=at, kind=kind, actor=actor, item_id=item, data=data)
    assert chain_hash(GENESIS, seq=seq, at=at, kind=kind, actor=actor, item_id=item,
                      data_text=canonical_json(data)) == event_hash(GENESIS, body)


def test_changed_hold_transition_is_pinned_to_its_event(populated: Backend) -> None:
    seq = populated.one("SELECT event_seq FROM hold_transitions WHERE state = 'seized'")
    populated.tamper("UPDATE hold_transitions SET actor = 'nobody' WHERE state = 'seized'")
    f = first_bad(populated)
    assert (f.seq, f.problem) == (seq, Problem.EVIDENCE)


# -- a forger with write access to the database but without the station's key ------------
def test_forged_verdict_with_recomputed_chain_is_caught(
        populated: Backend, capsys: pytest.CaptureFixture[str]) -> None:
    """The issue's attack: a verdict rewritten, digests and the whole chain recomputed.
    Without the station's key the signed heads cannot be remade, so verification fails."""
    seq = forge_verdict(populated)
    with populated.open() as s:
        assert s.get_parcel(item_id(0)).inspections[0].original.verdict.value == "NO_MATCH"
        report = s.verify()
    assert not report.ok
    assert report.first_bad is not None and report.first_bad.seq <= seq
    assert main(["audit", "verify", "--db", populated.location]) == 6
    assert "BROKEN" in capsys.readouterr().err


def test_forger_who_removes_the_signed_heads_is_caught(populated: Backend) -> None:
    forge_verdict(populated)
    populated.tamper("DELETE FROM signed_heads")
    with populated.open() as s:
        report = s.verify()
        assert not report.ok and report.first_bad is not None
        assert report.first_bad.problem is Problem.UNSIGNED
        # and the station refuses to sign on top of the forged chain
        with pytest.raises(IntegrityError, match="no signed head"):
            s.transition(item_id(1), HoldState.HELD, actor="officer")


def test_forger_who_resigns_with_another_key_is_caught(populated: Backend) -> None:
    """Re-signing every head with the forger's own key: valid signatures, wrong key."""
    forge_verdict(populated)
    mallory = StationKey.generate()
    resign(populated, mallory)
    with populated.open(signer=None) as s:
        assert s.verify(trusted_keys=None).ok  # self-consistent: only a trusted key tells
        report = s.verify(trusted_keys=[KEY.key_id])
    assert not report.ok and report.first_bad is not None
    assert report.first_bad.problem is Problem.UNTRUSTED_KEY
    assert mallory.key_id in report.first_bad.detail
    assert report.trusted is False and "NOT a trusted key" in report.key_text()
    with populated.open() as s:  # the station's own key is trusted by default
        assert not s.verify().ok and not s.verify_item(item_id(0)).ok


def test_verify_item_is_scoped_to_the_parcel_and_catches_the_forgery(
        populated: Backend) -> None:
    with populated.open(signer=None) as s:
        ok = s.verify_item(item_id(0), trusted_keys=[KEY.key_id])
        assert ok.ok and ok.trusted and ok.key_ids == (KEY.key_id,)
        assert ok.signed_head is not None and ok.signed_head == s.signed_head()
        assert ok.events == len(list(s.audit_events(item_id=item_id(0))))
    forge_verdict(populated)
    with populated.open(signer=None) as s:
        bad = s.verify_item(item_id(0), trusted_keys=[KEY.key_id])
        assert not bad.ok and bad.first_bad is not None
        assert bad.first_bad.problem is Problem.SIGNATURE
        assert "NOT" not in bad.message() or "BROKEN" in bad.message()
        # a parcel that is not touched by the forgery still proves, except for the chain's
        # end: the last signed head no longer matches the rewritten last event
        other = s.verify_item(item_id(3), trusted_keys=[KEY.key_id])
    assert not other.ok


def test_verify_item_does_not_read_other_parcels_records(populated: Backend) -> None:
    """O(parcel): another parcel's record edited behind the store's back fails the whole
    verification but not this parcel's (its events, heads and records are intact)."""
    populated.tamper(("UPDATE parcels SET origin_country = 'ZZ' WHERE item_id = ?",
                      (item_id(2),)))
    with populated.open() as s:
        assert not s.verify().ok
        assert s.verify_item(item_id(0)).ok
        assert not s.verify_item(item_id(2)).ok


def test_writes_need_the_key_and_reads_do_not(populated: Backend) -> None:
    from parcels.signing import SigningKeyError

    with populated.open(signer=None) as s:
        assert s.get_parcel(item_id(0)).inspections
        assert s.verify().ok and s.verify().trusted is None
        with pytest.raises(SigningKeyError, match="without the station's signing key"):
            s.transition(item_id(1), HoldState.HELD, actor="officer")
        events = len(list(s.audit_events()))
    with populated.open(signer=None) as s:
        assert len(list(s.audit_events())) == events  # nothing half-written


def test_every_write_transaction_signs_its_head(populated: Backend) -> None:
    heads = populated.sql("SELECT seq, prev_seq FROM signed_heads ORDER BY seq")
    last = populated.one("SELECT max(seq) FROM audit_events")
    assert heads[0][1] == 0 and heads[-1][0] == last
    assert all(b[1] == a[0] for a, b in itertools.pairwise(heads))
    assert len(heads) == 6  # import, hold, two inspections, re-identification, seizure


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_a_version_1_chain_is_adopted_by_the_first_signed_head(
        engine: str, tmp_path: Path, request: pytest.FixtureRequest,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A database of the unsigned schema: its events are covered by the first signed head
    (its ``prev_seq``), on either backend."""
    import parcels.store.postgres as pg_impl
    import parcels.store.sqlite as sqlite_impl

    impl = sqlite_impl if engine == "sqlite" else pg_impl
    backend = Backend(engine, str(tmp_path / "v1.db") if engine == "sqlite"
                      else request.getfixturevalue("pg_url"))  # empty: no schema yet
    with monkeypatch.context() as m:  # the schema as version 1 code made it
        m.setattr(impl, "MIGRATIONS", impl.MIGRATIONS[:1])
        m.setattr(impl, "SCHEMA_VERSION", 1)
        backend.open(signer=None).close()
    prev = GENESIS
    for seq in (1, 2):
        at = "2026-11-01T00:00:00+00:00"
        data = canonical_json({"note": seq})
        h = event_hash(prev, event_body(seq=seq, at=at, kind="export", actor="old",
                                        item_id=None, data={"note": seq}))
        backend.sql("INSERT INTO audit_events VALUES (?, ?, 'export', 'old', NULL, ?, ?, ?)",
                    (seq, at, data, prev, h))
        prev = h
    with backend.open() as s:
        assert s.schema_version == impl.SCHEMA_VERSION  # migrated through every version
        s.import_parcels([(1, parcel(1))], actor="aed", source="b")
        report = s.verify()
    assert report.ok and report.unsigned_legacy == 2
    assert "predate signing" in report.message()


def test_key_file_is_created_private_and_refused_when_readable(tmp_path: Path) -> None:
    import os
    import stat

    from parcels.signing import SigningKeyError

    path = tmp_path / "data" / "station.key"
    key = StationKey.load_or_create(path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert StationKey.load_or_create(path).key_id == key.key_id  # the same key next time
    os.chmod(path, 0o644)
    with pytest.raises(SigningKeyError, match="chmod 600"):
        StationKey.load(path)
    path.write_text("not a key")
    os.chmod(path, 0o600)
    with pytest.raises(SigningKeyError, match="not a PEM private key"):
        StationKey.load(path)


def test_cli_audit_verify_reports_the_key_and_the_forgery(
        populated: Backend, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    key_file = tmp_path / "station.key"
    KEY.save(key_file)
    db = ["--db", populated.location, "--key", str(key_file)]
    assert main(["audit", "verify", *db]) == 0
    out = capsys.readouterr().out
    assert KEY.key_id in out and "(the station's)" in out and "--anchor" in out
    assert main(["audit", "verify", *db, "--item", item_id(0)]) == 0
    capsys.readouterr()
    forge_verdict(populated)
    assert main(["audit", "verify", *db]) == 6
    err = capsys.readouterr().err
    assert "bad-signature" in err and "NOT verified" in err
    assert main(["audit", "verify", *db, "--item", item_id(0)]) == 6


def test_a_long_transaction_signs_a_head_every_few_events(store: Store,
                                                          backend: Backend) -> None:
    """An AED import chunk of 200 parcels is one transaction; proving one parcel's import
    event must not need all 200 (the per-parcel check and the bundle stay small)."""
    from parcels.store.sqlite import SIGN_EVERY

    store.import_parcels([(i + 1, parcel(i)) for i in range(200)], actor="aed", source="b")
    proof = store.item_proof(item_id(5))
    assert store.verify().ok and store.verify_item(item_id(5)).ok
    assert len(proof.heads) == 1 and len(proof.events) <= SIGN_EVERY
    assert [r[0] for r in backend.sql("SELECT seq FROM signed_heads ORDER BY seq")] == [
        64, 128, 192, 200]


# -- a raw spectrum's labels (title, source, vendor header fields) -------------------------------
LABELS = {"title": "forged title", "source": "/forged/path.spc", "extra": {"Sample": "forged"}}
"""Outside the spectrum's content hash by design; bound by the scan event's digest of the
stored record instead."""


def edit_label(b: Backend, spectrum_hash: str, label: str) -> None:
    """Change one label of a stored spectrum's metadata record, nothing else (raw SQL)."""
    meta = json.loads(b.one("SELECT meta FROM spectra WHERE hash = ?", (spectrum_hash,)))
    meta[label] = LABELS[label]
    b.tamper(("UPDATE spectra SET meta = ? WHERE hash = ?",
              (json.dumps(meta, separators=(",", ":")), spectrum_hash)))


@pytest.mark.parametrize("label", sorted(LABELS))
def test_an_edited_spectrum_label_is_pinned_to_its_scan_event(populated: Backend,
                                                              label: str) -> None:
    iid, h, seq = populated.sql("SELECT inspection_id, spectrum_hash, event_seq FROM "
                                "inspections WHERE item_id = ?", (item_id(0),))[0]
    edit_label(populated, h, label)
    with populated.open() as s:
        assert s.get_spectrum(h).content_hash == h  # the content hash cannot see it
        for report in (s.verify(deep=False), s.verify(), s.verify_item(item_id(0))):
            assert not report.ok and report.first_bad is not None
            f = report.first_bad
            assert (f.seq, f.problem) == (seq, Problem.EVIDENCE)
            assert iid in f.detail and h in f.detail and "title, source" in f.detail
        assert s.verify_item(item_id(3)).ok  # another parcel's spectrum: not its business


def test_a_spectrum_inspected_again_under_another_title_verifies(populated: Backend) -> None:
    """The spectra table keeps one record per content hash (the first stored): a second
    inspection of the same content logs the digest of that record, the one it points to."""
    with populated.open() as s:
        first = s.get_parcel(item_id(0)).inspections[0]
        again = s.add_inspection(item_id(2), spectrum(1).replace(title="renamed",
                                                                source="/elsewhere"),
                                 identification(), operator="officer", station="ORD-1",
                                 device=DEVICE)
        assert again.spectrum_hash == first.spectrum_hash
        assert s.get_spectrum(again.spectrum_hash).title == "scan 1"
        assert s.verify().ok and s.verify_item(item_id(2)).ok
    logged = [json.loads(d)["spectrum_meta_digest"] for (d,) in populated.sql(
        "SELECT data FROM audit_events WHERE kind = 'scan' AND data LIKE ? ORDER BY seq",
        (f"%{first.spectrum_hash}%",))]
    assert len(logged) == 2 and logged[0] == logged[1]
    edit_label(populated, first.spectrum_hash, "title")
    with populated.open() as s:
        report = s.verify(deep=False)
        assert not s.verify_item(item_id(2)).ok
    assert len(report.findings) == 2
    for ins, f in zip((first, again), report.findings, strict=True):
        assert ins.inspection_id in f.detail and first.spectrum_hash in f.detail


def test_a_scan_logged_before_labels_were_bound_verifies_as_before(populated: Backend) -> None:
    """Scan events written before the chain logged the spectrum record's digest (no
    ``spectrum_meta_digest``) still verify; their spectra's labels are not provable."""
    as_older_version(populated)
    with populated.open() as s:
        assert s.verify().ok
    h = populated.one("SELECT spectrum_hash FROM inspections WHERE item_id = ?", (item_id(0),))
    edit_label(populated, h, "title")
    with populated.open() as s:
        assert s.verify().ok and s.verify_item(item_id(0)).ok  # what older events cannot prove


def test_verify_reads_the_evidence_in_blocks_at_flat_memory(
    backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Four times the parcels, holds and events cost no more traced memory at the peak of a
    deep verification: the tables are read a block at a time (here 100 rows), never whole
    (every parcel's record and event were held at once before, ~2 kB a parcel)."""
    monkeypatch.setattr(_sql, "PAGE", 100)
    peaks: list[int] = []
    done = 0
    with backend.open() as s:
        for n in (400, 1600):
            s.import_parcels([(k + 1, parcel(k, hold=k % 7 == 3)) for k in range(done, n)],
                             actor="aed", source="batch.jsonl")
            done = n
            tracemalloc.start()
            try:
                report = s.verify()
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
            assert report.ok and report.events == n + sum(k % 7 == 3 for k in range(n))
            peaks.append(peak)
    assert (peaks[1] - peaks[0]) / 1200 < 50, f"peak traced bytes {peaks}"


def test_postgresql_walks_a_table_through_a_server_side_cursor(
    pg_store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """psycopg's ordinary cursor receives a whole result in the client library's memory
    (which tracemalloc does not see) before the first row is read; a verification's table
    walk must leave the result on the server and fetch it a block at a time."""
    from parcels.store.postgres import PostgresStore

    monkeypatch.setattr(_sql, "PAGE", 3)
    with PostgresStore(pg_store_url, max_connections=1, signer=KEY) as s:
        s.import_parcels([(k + 1, parcel(k)) for k in range(10)], actor="aed",
                         source="batch.jsonl")
        with s._snapshot() as cur:
            walk = s._stream(cur, "SELECT seq FROM audit_events WHERE seq > ? ORDER BY seq",
                             (2,))
            seqs = [next(walk)]
            open_cursors = cur.execute("SELECT count(*) FROM pg_cursors").fetchone()[0]
            seqs += walk
            left = cur.execute("SELECT count(*) FROM pg_cursors").fetchone()[0]
    assert [r[0] for r in seqs] == list(range(3, 11))
    assert (open_cursors, left) == (1, 0)


def test_a_wrong_key_file_writes_nothing_instead_of_signing_on(db_path: Path) -> None:
    """A station opened with another key (a mistyped ``--key`` path creates a new one) used
    to sign on with it: every later check by the station's own key then broke at that head.
    Now the write is refused and the chain is as it was."""
    from parcels.signing import SigningKeyError
    from parcels.store import SQLiteStore

    with SQLiteStore(db_path, signer=KEY) as s:
        s.import_parcels([(1, parcel(1))], actor="aed", source="b")
        before = s.verify(trusted_keys=[KEY.key_id]).events
    with SQLiteStore(db_path, signer=StationKey.generate()) as s, \
            pytest.raises(SigningKeyError, match="wrong key file"):
        s.import_parcels([(2, parcel(2))], actor="aed", source="b")
    with SQLiteStore(db_path, signer=KEY) as s:
        s.import_parcels([(2, parcel(2))], actor="aed", source="b")
        report = s.verify(trusted_keys=[KEY.key_id])
    assert report.ok and report.events > before
