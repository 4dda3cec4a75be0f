"""The audit chain: verification, and tampering with the database behind the store's back
(raw SQL, append-only guards removed first, as a deliberate tamperer would), on every backend."""

from __future__ import annotations

import dataclasses
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from parcels.audit import GENESIS, Problem, RawEvent, event_body, event_hash, verify_chain
from parcels.records import HoldState, canonical_json
from station.cli import main

from .builders import DEVICE, identification, item_id, parcel, spectrum
from .conftest import Backend


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
    """A perfect cut of the log's tail (head record rewritten too) cannot be seen from
    inside the file; an anchor kept outside (the hash of an event printed on a receipt)
    exposes it. This is the documented limit of a self-contained chain."""
    last = populated.one("SELECT max(seq) FROM audit_events")
    anchor = {last: populated.one(f"SELECT hash FROM audit_events WHERE seq = {last}")}
    prev = f"(SELECT hash FROM audit_events WHERE seq = {last - 1})"
    rewrite_head = (
        f"UPDATE meta SET value = '{last - 1}:' || {prev} WHERE key = 'audit_head'"
        if populated.name == "sqlite" else
        f"UPDATE audit_head SET seq = {last - 1}, hash = {prev} WHERE id = 1")
    populated.tamper(f"DELETE FROM audit_events WHERE seq = {last}",
                     f"DELETE FROM hold_transitions WHERE event_seq = {last}",
                     "UPDATE holds SET state = 'inspected' WHERE state = 'seized'",
                     rewrite_head)
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
    assert main(["audit", "verify", "--db", populated.location]) == 4
    err = capsys.readouterr().err
    assert f"BROKEN at event #{seq} (edited)" in err
    assert main(["audit", "verify", "--db", populated.location, "--json"]) == 4
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
    from parcels.records import canonical_json

    body = event_body(seq=seq, at=at, kind=kind, actor=actor, item_id=item, data=data)
    assert chain_hash(GENESIS, seq=seq, at=at, kind=kind, actor=actor, item_id=item,
                      data_text=canonical_json(data)) == event_hash(GENESIS, body)


def test_changed_hold_transition_is_pinned_to_its_event(populated: Backend) -> None:
    seq = populated.one("SELECT event_seq FROM hold_transitions WHERE state = 'seized'")
    populated.tamper("UPDATE hold_transitions SET actor = 'nobody' WHERE state = 'seized'")
    f = first_bad(populated)
    assert (f.seq, f.problem) == (seq, Problem.EVIDENCE)
