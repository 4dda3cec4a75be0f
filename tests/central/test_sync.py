"""Station ↔ central sync over real HTTP to a real ``interdict serve``: push and pull,
idempotence, forks and gaps refused, facilities kept apart, two stations on one parcel,
conflicting hold moves reported, pushes signed by the station's registered key only, and a
rewritten (and re-signed) station chain caught by central's record of its heads and key."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from parcels.records import HoldState, Parcel, ParcelQuery
from parcels.signing import StationKey
from parcels.store import SQLiteStore
from station.cli import main
from station.errors import CentralRefusedError, ChainForkError, StationKeyRefusedError
from station.exit_codes import ExitCode
from station.workflows.sync import CentralClient, push, sync_once
from tests.parcels.builders import DEVICE, KEY, aed, identification, item_id, spectrum
from tests.parcels.conftest import Backend
from tests.parcels.forgery import forge_verdict, resign

from .conftest import OTHER_FACILITY, Central

OpenStation = Callable[[str], SQLiteStore]
JSON = {"Content-Type": "application/json"}


def announce(central: Central, rows: list[dict]) -> dict:  # type: ignore[type-arg]
    with central.client("targeting") as c:
        r = c.post("/v1/aed", content="\n".join(json.dumps(x) for x in rows) + "\n",
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def client(central: Central, name: str) -> CentralClient:
    return CentralClient(central.url, central.tokens[name])


def inspect(store: SQLiteStore, n: int, seed: int, verdict: str = "MATCH") -> str:
    return store.add_inspection(item_id(n), spectrum(seed, n=400), identification(verdict),
                                operator="officer", station="ORD-3", device=DEVICE).inspection_id


def test_pull_then_push_puts_the_inspection_on_the_central_record(
        central: Central, station_db: OpenStation, base: int, fac: str) -> None:
    b = base
    summary = announce(central, [aed(b + 1, hold=True, facility=fac), aed(b + 2, facility=fac),
                                 aed(b + 3, facility=OTHER_FACILITY)])
    assert summary["inserted"] == 3
    name = central.station(fac)
    st = station_db(name)
    first = sync_once(st, client(central, name), name)
    pulled = {p.item_id for p in st.find(ParcelQuery())}
    assert {item_id(b + 1), item_id(b + 2)} <= pulled
    assert item_id(b + 3) not in pulled  # JFK's parcel
    assert first.new_parcels == len(pulled)
    assert st.get_hold(item_id(b + 1)).state is HoldState.REQUESTED  # type: ignore[union-attr]

    st.transition(item_id(b + 1), HoldState.HELD, actor="officer")
    ins = inspect(st, b + 1, seed=7)
    second = sync_once(st, client(central, name), name)
    assert second.pushed_inspections == 1 and not second.conflicts
    local = st.get_parcel(item_id(b + 1))
    with central.store() as cs:
        pf = cs.get_parcel(item_id(b + 1))
        assert pf.inspections == local.inspections  # the same records, ids and all
        assert pf.inspections[0].inspection_id == ins
        assert pf.hold is not None and pf.hold.state is HoldState.INSPECTED
        assert cs.get_spectrum(pf.inspections[0].spectrum_hash) == \
            st.get_spectrum(local.inspections[0].spectrum_hash)
        assert cs.verify().ok
        head = cs.station_head(name)
    last = list(st.audit_events())[-1]
    assert head == (last.seq, last.hash)
    assert st.verify().ok

    # a retried push of everything changes nothing at central
    with central.client(name) as c:
        again = c.post("/v1/sync/push", content=st.sync_batch(
            after_seq=0, station=name, max_events=10_000).model_dump_json(), headers=JSON)
    assert again.status_code == 200, again.text
    assert again.json()["received"] == 0 and again.json()["unchanged"] == last.seq
    with central.store() as cs:
        assert len(cs.get_parcel(item_id(b + 1)).inspections) == 1
        assert cs.station_head(name) == head


def _forge_and_resign(path: Path, key: StationKey) -> None:
    """A forger with the laptop: the first ALERT verdict rewritten, every digest and hash after
    it recomputed, every signed head re-signed with a key of their own."""
    b = Backend("sqlite", str(path))
    forge_verdict(b)
    resign(b, key)


def _as_station(central: Central, name: str, key_file: Path,
                capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """``interdict ARGV`` as the station runs it (its token and key file from the
    environment); the exit code and what it printed."""
    env = {"INTERDICT_CENTRAL_TOKEN": central.tokens[name], "INTERDICT_KEY": str(key_file)}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    capsys.readouterr()
    try:
        code = main(list(argv))
    finally:
        for k, v in old.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
    out, err = capsys.readouterr()
    return code, out + err


def _verify_against_central(central: Central, name: str, db: Path, key_file: Path,
                            capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    """``interdict audit verify --central URL`` as the station runs it."""
    return _as_station(central, name, key_file, capsys, "audit", "verify", "--db", str(db),
                       "--central", central.url, "--quick")


def test_fork_and_gap_are_refused_and_nothing_stored_changes(
        central: Central, station_db: OpenStation, tmp_path: Path, base: int, fac: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 11's tamper evidence across the fleet: a laptop rewritten after a sync — chain
    recomputed AND re-signed with a new key, the key file replaced — verifies on its own,
    but is refused at sync and caught by ``audit verify --central``."""
    announce(central, [aed(base + 1, facility=fac), aed(base + 2, facility=fac)])
    name = central.station(fac)
    st = station_db(name)
    sync_once(st, client(central, name), name)
    inspect(st, base + 1, seed=1)
    sync_once(st, client(central, name), name)
    inspect(st, base + 2, seed=2)
    with central.store() as cs:
        before = list(cs.audit_events())
        head = cs.station_head(name)
    assert head is not None

    # a gap: events after the next one, without it
    batch = st.sync_batch(after_seq=head[0] + 1, station=name)
    with central.client(name) as c:
        r = c.post("/v1/sync/push", content=batch.model_dump_json(), headers=JSON)
    assert r.status_code == 409 and r.json()["reason"] == "gap", r.text
    assert f"push from #{head[0] + 1}" in r.json()["detail"]

    # a fork: the synced verdict rewritten on the laptop, the chain recomputed and
    # re-signed with the forger's key, which also replaces the station's key file
    db = tmp_path / f"{name}.db"
    st.close()
    mallory = StationKey.generate()
    _forge_and_resign(db, mallory)
    mallory_file = tmp_path / "mallory.key"
    mallory.save(mallory_file)
    st = SQLiteStore(db, signer=mallory)
    assert st.verify().ok  # self-consistent under its (new) key: the file alone cannot tell
    with pytest.raises(ChainForkError) as fork:
        sync_once(st, client(central, name), name)
    assert f"#{head[0]}" in str(fork.value)
    forked = st.sync_batch(after_seq=0, station=name, max_events=1000)
    with central.client(name) as c:
        r = c.post("/v1/sync/push", content=forked.model_dump_json(), headers=JSON)
    assert r.status_code == 409 and r.json()["reason"] == "fork", r.text
    with central.store() as cs:
        assert list(cs.audit_events()) == before
        assert cs.station_head(name) == head
    st.close()
    code, text = _as_station(central, name, mallory_file, capsys, "sync", "--db", str(db),
                             "--central", central.url)
    assert code == ExitCode.NOT_VERIFIED, text
    assert text.startswith(f"interdict sync: central holds this station's chain up to "
                           f"#{head[0]}") and "— interdict audit verify --central" in text

    # the laptop's own check passes with the replaced key file; against central's record
    # (the heads it received, the key it registered) it fails, naming both
    assert main(["audit", "verify", "--db", str(db), "--key", str(mallory_file),
                 "--quick"]) == 0
    code, text = _verify_against_central(central, name, db, mallory_file, capsys)
    assert code == ExitCode.NOT_VERIFIED, text
    assert "untrusted-key" in text and mallory.key_id in text
    assert "does not have its anchored hash" in text  # a synced event was rewritten
    assert "BROKEN" in text


def test_a_rewrite_after_the_last_sync_resigned_with_a_new_key_is_caught(
        central: Central, station_db: OpenStation, tmp_path: Path, base: int, fac: str,
        capsys: pytest.CaptureFixture[str]) -> None:
    """What central never received can still be rewritten, but not under the station's key:
    the re-signed chain is refused at the next sync and fails the check against central."""
    announce(central, [aed(base + 1, facility=fac), aed(base + 2, facility=fac)])
    name = central.station(fac)
    st = station_db(name)
    sync_once(st, client(central, name), name)  # pulls the parcels (local import events)
    sync_once(st, client(central, name), name)  # pushes them: this key is registered
    inspect(st, base + 1, seed=1)  # never synced
    st.close()
    db = tmp_path / f"{name}.db"
    mallory = StationKey.generate()
    _forge_and_resign(db, mallory)
    with SQLiteStore(db, signer=mallory) as st:
        assert st.verify().ok
        with pytest.raises(StationKeyRefusedError) as exc:
            sync_once(st, client(central, name), name)
    assert exc.value.status == 409
    assert KEY.key_id in str(exc.value) and mallory.key_id in str(exc.value)
    with central.store() as cs:
        assert cs.get_parcel(item_id(base + 1)).inspections == ()
        assert [k.key_id for k in cs.station_key_history(name)] == [KEY.key_id]
    mallory_file = tmp_path / "mallory.key"
    mallory.save(mallory_file)
    code, text = _verify_against_central(central, name, db, mallory_file, capsys)
    assert code == ExitCode.NOT_VERIFIED and "untrusted-key" in text, text


def test_pushes_must_be_signed_by_the_registered_key(
        central: Central, station_db: OpenStation, base: int, fac: str) -> None:
    """A push without heads, with a head that does not verify, or signed by another key is
    refused and stores nothing; an admin pin or rotation decides which key counts."""
    from parcels.signing import SignedHead

    announce(central, [aed(base + 1, facility=fac)])
    name = central.station(fac)
    st = station_db(name)
    sync_once(st, client(central, name), name)  # pulls
    sync_once(st, client(central, name), name)  # pushes: the station's key is registered
    inspect(st, base + 1, seed=5)
    with central.store() as cs:
        start = cs.station_head(name)
        assert [k.how for k in cs.station_key_history(name)] == ["first-push"]
    batch = st.sync_batch(after_seq=start[0] if start else 0, station=name)
    assert batch.heads and batch.heads[-1].seq == batch.events[-1].seq
    h = batch.heads[-1]
    flipped = h.signature[:-1] + ("0" if h.signature[-1] != "0" else "1")
    other = StationKey.generate()
    wrong_key = [other.sign_head(seq=x.seq, hash=x.hash, prev_seq=x.prev_seq)
                 for x in batch.heads]
    bad: dict[str, dict[str, object]] = {
        "no heads": {"heads": []},
        "bad signature": {"heads": [*batch.heads[:-1],
                                    SignedHead(**{**h.model_dump(), "signature": flipped})]},
        "another key": {"heads": wrong_key, "public_keys": {other.key_id: other.public.hex}},
    }
    with central.client(name) as c:
        for what, change in bad.items():
            r = c.post("/v1/sync/push", content=batch.model_copy(update=change)
                       .model_dump_json(), headers=JSON)
            want = ("key", 409) if what == "another key" else ("signature", 422)
            assert (r.json().get("reason"), r.status_code) == want, (what, r.text)
    with central.store() as cs:
        assert cs.station_head(name) == start
        # an admin rotates the station's key: from then on only the new key counts
        cs.register_station_key(name, other.key_id, actor="admin", rotate=True)
    with central.client(name) as c:
        r = c.post("/v1/sync/push", content=batch.model_dump_json(), headers=JSON)
        assert (r.status_code, r.json()["reason"]) == (409, "key"), r.text
        r = c.post("/v1/sync/push", content=batch.model_copy(update=bad["another key"])
                   .model_dump_json(), headers=JSON)
        assert r.status_code == 200, r.text
        keys = c.get(f"/v1/stations/{name}/keys").json()
    assert [(k["key_id"], k["how"]) for k in keys] == [(KEY.key_id, "first-push"),
                                                       (other.key_id, "rotated")]
    with central.store() as cs:
        assert cs.verify(deep=False).ok


def test_invalid_push_is_refused_with_the_event(central: Central, station_db: OpenStation,
                                                 base: int, fac: str) -> None:
    announce(central, [aed(base + 1, facility=fac)])
    name, other = central.station(fac), central.station(fac)
    st = station_db(name)
    sync_once(st, client(central, name), name)
    inspect(st, base + 1, seed=3)
    batch = st.sync_batch(after_seq=0, station=name)
    bad = batch.model_copy(update={"results": [
        r.model_copy(update={"verdict": "NO_MATCH"}) for r in batch.results]})
    with central.client(name) as c:
        r = c.post("/v1/sync/push", content=bad.model_dump_json(), headers=JSON)
        assert r.status_code == 422 and r.json()["reason"] == "invalid", r.text
        assert "result does not match" in r.json()["detail"]
        not_mine = batch.model_copy(update={"station": other})
        r = c.post("/v1/sync/push", content=not_mine.model_dump_json(), headers=JSON)
        assert r.status_code == 422 and f"credentials are '{name}'" in r.json()["detail"]
    with central.store() as cs:
        assert cs.get_parcel(item_id(base + 1)).inspections == ()
        assert cs.station_head(name) is None


def test_a_station_cannot_read_or_write_another_facility(
        central: Central, station_db: OpenStation, base: int, fac: str) -> None:
    announce(central, [aed(base + 1, facility=fac), aed(base + 2, facility=OTHER_FACILITY)])
    ord_st, jfk = central.station(fac), central.station(OTHER_FACILITY)
    with central.client(jfk) as c:
        assert c.get(f"/v1/parcels/{item_id(base + 1)}").status_code == 403
        assert c.get(f"/v1/parcels/{item_id(base + 1)}/report").status_code == 403
        assert c.get(f"/v1/parcels/{item_id(base + 2)}").status_code == 200
        assert c.get(f"/v1/stations/{ord_st}/heads").status_code == 403
        assert c.get(f"/v1/stations/{jfk}/heads").status_code == 200
    # a JFK station that inspected an ORD parcel (imported by hand) cannot push it
    st = station_db(jfk)
    st.import_parcels([(1, Parcel.model_validate(aed(base + 1, facility=fac)))], actor="officer",
                      source="by hand")
    inspect(st, base + 1, seed=4)
    with pytest.raises(CentralRefusedError) as refused:
        sync_once(st, client(central, jfk), jfk)
    assert refused.value.status == 403 and fac in str(refused.value)
    with central.store() as cs:
        assert cs.get_parcel(item_id(base + 1)).inspections == ()
        assert cs.station_head(jfk) is None


def test_two_stations_inspecting_one_parcel_keep_both_and_conflicts_are_reported(
        central: Central, station_db: OpenStation, base: int, fac: str) -> None:
    p = base + 1
    announce(central, [aed(p, hold=True, facility=fac)])
    na, nb = central.station(fac), central.station(fac)
    a, b = station_db(na), station_db(nb)
    ca, cb = client(central, na), client(central, nb)
    sync_once(a, ca, na)
    sync_once(b, cb, nb)
    # both hold and inspect the same parcel while out of touch with each other
    for st, seed in ((a, 1), (b, 2)):
        st.transition(item_id(p), HoldState.HELD, actor="officer")
        inspect(st, p, seed=seed)
    a.transition(item_id(p), HoldState.SEIZED, actor="officer a")
    b.transition(item_id(p), HoldState.RELEASED, actor="officer b")
    assert sync_once(a, ca, na).conflicts == []
    rb = sync_once(b, cb, nb)
    # central applied A's moves first (arrival order); B's moves that central's workflow
    # refuses from "seized" are kept as conflicts, not applied; B's inspection is kept
    wanted = [c.wanted for c in rb.conflicts]
    assert wanted == ["held", "inspected", "released"]
    assert all(c.central_state == "seized" and c.station == nb for c in rb.conflicts)
    with central.store() as cs:
        pf = cs.get_parcel(item_id(p))
        assert len(pf.inspections) == 2
        assert {i.inspection_id for i in pf.inspections} == \
            {i.inspection_id for st in (a, b) for i in st.get_parcel(item_id(p)).inspections}
        assert pf.hold is not None and pf.hold.state is HoldState.SEIZED
        assert cs.verify().ok
    with central.client("supervisor") as c:
        listed = [x for x in c.get("/v1/conflicts").json() if x["item_id"] == item_id(p)]
    assert [x["wanted"] for x in listed] == wanted
    # B learned central's state in the same sync; its released hold cannot adopt the
    # seizure: reported there, once
    assert any("seized" in r and "not adopted" in r for r in rb.local_conflicts)
    assert sync_once(b, cb, nb).local_conflicts == []


def test_catch_up_resumes_where_central_copy_ends(central: Central, station_db: OpenStation,
                                                  base: int, fac: str) -> None:
    announce(central, [aed(base + n, facility=fac) for n in range(1, 4)])
    name = central.station(fac)
    st = station_db(name)
    c = client(central, name)
    sync_once(st, c, name)
    ids = [inspect(st, base + 1 + k % 3, seed=k) for k in range(30)]
    # only part of the backlog reaches central (a sync cut off by the network)
    head = c.get("/v1/sync/head")
    part = st.sync_batch(after_seq=head["seq"], station=name, max_events=21)
    assert part.events[-1].kind == "verdict"  # a run never ends inside an inspection
    c.post("/v1/sync/push", part)
    _, inspections, *_ = push(st, c, name, run=7)
    assert inspections == 30 - len(part.inspections)
    with central.store() as cs:
        stored = {i.inspection_id for n in (1, 2, 3)
                  for i in cs.get_parcel(item_id(base + n)).inspections}
        assert stored == set(ids)
        assert cs.verify().ok


def test_sync_command_without_central_or_credential_or_network(
        tmp_path: Path, capsys: pytest.CaptureFixture[str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """What the officer sees, and the exit code, when sync cannot start: no central or no
    credential configured (usage), a URL that is none (usage), central unreachable (7:
    nothing is lost, the records stay here)."""
    import socket

    for var in ("INTERDICT_CENTRAL", "INTERDICT_CENTRAL_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    db = tmp_path / "station.db"
    SQLiteStore(db).close()
    assert main(["sync", "--db", str(db)]) == ExitCode.USAGE
    assert "no central service configured — give --central URL" in capsys.readouterr().err
    assert main(["sync", "--db", str(db), "--central", "central.example.org"]) == ExitCode.USAGE
    assert "central must be http(s)://host:port" in capsys.readouterr().err
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}"
    assert main(["sync", "--db", str(db), "--central", url]) == ExitCode.USAGE
    assert "no credential for central configured" in capsys.readouterr().err
    monkeypatch.setenv("INTERDICT_CENTRAL_TOKEN", "idt_0123456789abcdef_" + "x" * 43)
    assert main(["sync", "--db", str(db), "--central", url]) == ExitCode.UNREACHABLE
    err = capsys.readouterr().err
    assert err.startswith(f"interdict sync: central {url} unreachable")
    assert "— the records stay on this station until central has them" in err
    assert "idt_" not in err  # the credential is never printed


def test_a_push_with_a_spectrum_label_changed_is_refused(
        central: Central, station_db: OpenStation, base: int, fac: str) -> None:
    """A station whose database had a raw spectrum's title edited (outside the content
    hash): central's door compares the record with the digest its scan event logged."""
    announce(central, [aed(base + 1, facility=fac)])
    name = central.station(fac)
    st = station_db(name)
    sync_once(st, client(central, name), name)
    inspect(st, base + 1, seed=base + 11)
    batch = st.sync_batch(after_seq=client(central, name).get("/v1/sync/head")["seq"],
                          station=name)
    (s,) = batch.spectra
    meta = json.loads(s.meta)
    meta["title"] = "forged"
    forged = batch.model_copy(update={"spectra": [s.model_copy(update={
        "meta": json.dumps(meta)})]})
    with central.client(name) as c:
        r = c.post("/v1/sync/push", content=forged.model_dump_json(), headers=JSON)
    assert r.status_code == 422 and r.json()["reason"] == "invalid", r.text
    assert s.hash in r.json()["detail"] and "labels" in r.json()["detail"]
    with central.store() as cs:
        assert cs.get_parcel(item_id(base + 1)).inspections == ()


def test_one_spectrum_under_two_titles_from_two_stations_verifies_at_central(
        central: Central, station_db: OpenStation, base: int, fac: str) -> None:
    """Central keeps one record per content hash (the first it received): the second
    station's scan is re-logged with the digest of the record central holds."""
    announce(central, [aed(base + 1, facility=fac), aed(base + 2, facility=fac)])
    na, nb = central.station(fac), central.station(fac)
    a, b = station_db(na), station_db(nb)
    raw = spectrum(base + 12, n=400)
    for st, name, n, title in ((a, na, 1, "from a"), (b, nb, 2, "from b")):
        sync_once(st, client(central, name), name)
        st.add_inspection(item_id(base + n), raw.replace(title=title), identification(),
                          operator="officer", station="ORD-3", device=DEVICE)
        assert st.verify().ok
        sync_once(st, client(central, name), name)
    with central.store() as cs:
        assert cs.get_spectrum(raw.content_hash).title == "from a"
        assert len(cs.get_parcel(item_id(base + 2)).inspections) == 1
        assert cs.verify_item(item_id(base + 2)).ok
        assert cs.verify(deep=False).ok


def test_an_ingested_export_syncs_its_record_and_event_but_not_its_bytes(
        central: Central, station_db: OpenStation, base: int, fac: str) -> None:
    """An inspection taken in from an analyzer's export (``interdict ingest``) keeps its file
    at the station; the push carries its ``original-file`` event (the file's SHA-256 in the
    station's chain, checked and stored by central) but not the bytes (a known limit,
    docs/records.md)."""
    from parcels.store import NewOriginal

    b = base
    announce(central, [aed(b + 1, facility=fac)])
    name = central.station(fac)
    st = station_db(name)
    sync_once(st, client(central, name), name)
    ins = st.add_inspection(item_id(b + 1), spectrum(11, n=400), identification(),
                            operator="officer", station="ORD-3", device=DEVICE,
                            original=NewOriginal("export.spa", b"\x00exported\xff", "omnic"))
    assert ins.original_file is not None
    pushed = sync_once(st, client(central, name), name)
    assert pushed.pushed_inspections == 1 and not pushed.conflicts
    with central.store() as cs:
        [there] = cs.get_parcel(item_id(b + 1)).inspections
        assert there.inspection_id == ins.inspection_id and there.original_file is None
        logged = [e for e in cs.station_events(name) if e.kind.value == "original-file"]
        assert [e.data["sha256"] for e in logged] == [ins.original_file.sha256]
        assert cs.verify().ok
    assert st.verify().ok
