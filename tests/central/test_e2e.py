"""End to end, processes only: ``interdict serve`` and ``interdict sync`` as separate
processes over loopback HTTP. Two stations syncing to one central at once; the central stopped
and restarted in the middle of a sync; the central killed with SIGKILL during a push. After
each: every inspection is at central exactly once and every chain verifies."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

from parcels.store import SQLiteStore
from parcels.store.base import NewInspection
from station.exit_codes import ExitCode
from tests.parcels.builders import DEVICE, KEY, aed, identification, item_id, spectrum

from ._service import ROOT, Service
from .conftest import Central


def sync_process(central: Central, station: str, db: Path, *extra: str,
                 ) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1",
           "INTERDICT_CENTRAL_TOKEN": central.tokens[station]}
    return subprocess.Popen(
        [sys.executable, "-m", "station.cli", "sync", "--central", central.url, "--db",
         str(db), *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True)


def finish(p: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=300)
    return p.returncode, out, err


def announce(central: Central, rows: list[dict]) -> None:  # type: ignore[type-arg]
    with central.client("targeting") as c:
        r = c.post("/v1/aed", content="\n".join(json.dumps(x) for x in rows),
                   headers={"Content-Type": "application/x-ndjson"})
    assert r.status_code == 200 and not r.json()["rejected"], r.text


def scan_backlog(db: Path, items: list[str], count: int, seed: int, n: int = 1800
                 ) -> list[str]:
    """``count`` inspections recorded offline (as a station does with no network)."""
    with SQLiteStore(db, synchronous="NORMAL", signer=KEY) as st:
        return [i.inspection_id for i in st.add_inspections([
            NewInspection(item_id=items[k % len(items)], spectrum=spectrum(seed * 10_000 + k,
                          n=n), identification=identification(), operator=f"officer {seed}",
                          station=f"ORD-{seed}", device=DEVICE) for k in range(count)])]


def check_central(central: Central, stations: dict[str, tuple[Path, list[str]]],
                  items: list[str]) -> None:
    with central.store() as cs:
        at_central = [i.inspection_id for it in items for i in cs.get_parcel(it).inspections]
        # central's whole chain, signed heads and records (the session's: not decoding every
        # other test's spectra), and these parcels' evidence in full, spectra decoded
        report = cs.verify(deep=False)
        assert report.ok, report.message()
        for it in items:
            assert cs.verify_item(it).ok
        for name, (db, _ids) in stations.items():
            with SQLiteStore(db, signer=KEY) as st:
                assert st.verify().ok
                last = list(st.audit_events())[-1]
                assert cs.station_head(name) == (last.seq, last.hash)
                seqs = [e.seq for e in cs.station_events(name, limit=100_000)]
                assert seqs == list(range(1, last.seq + 1))  # no gap, no duplicate
    assert len(at_central) == len(set(at_central))  # none duplicated
    assert set(at_central) == {i for _, ids in stations.values() for i in ids}  # none lost


def test_two_station_processes_sync_to_one_central(central: Central, base: int, fac: str,
                                                    tmp_path: Path) -> None:
    items = [item_id(base + n) for n in range(1, 5)]
    announce(central, [aed(base + n, facility=fac) for n in range(1, 5)])
    names = [central.station(fac), central.station(fac)]
    dbs = {n: tmp_path / f"{n}.db" for n in names}
    for name in names:  # first contact: each pulls its facility's parcels
        SQLiteStore(dbs[name]).close()
        code, out, err = finish(sync_process(central, name, dbs[name]))
        assert code == 0, err
        assert "pulled" in out
    ids = {name: scan_backlog(dbs[name], items, 30, k + 1, n=600)
           for k, name in enumerate(names)}
    procs = [sync_process(central, name, dbs[name], "--run", "15") for name in names]
    results = [finish(p) for p in procs]
    assert all(code == 0 for code, _, _ in results), results
    check_central(central, {n: (dbs[n], ids[n]) for n in names}, items)


def _until(what: str, ok: Callable[[], bool], deadline_s: float = 60.0) -> None:
    """Wait for a condition (polled), failing after the deadline."""
    end = time.monotonic() + deadline_s
    while not ok():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except OSError:
        return True
    return False


def _stop_mid_sync(central: Central, tmp_path: Path, base: int, fac: str,
                   how: signal.Signals) -> None:
    """A push is in flight when central stops: it waits on central's chain lock, which the
    test holds (deterministic, whatever the machine's load), while the service is stopped
    (SIGTERM: the push in flight finishes, the next one finds no server) or killed."""
    import psycopg

    items = [item_id(base + n) for n in range(1, 4)]
    announce(central, [aed(base + n, facility=fac) for n in range(1, 4)])
    name = central.station(fac)
    db = tmp_path / f"{name}.db"
    SQLiteStore(db).close()
    assert finish(sync_process(central, name, db))[0] == 0
    with SQLiteStore(db) as st:  # the first sync pulled, and had nothing to push
        assert st.sync_state(f"push:{central.url}") is None
    ids = scan_backlog(db, items, 60, 7)  # 1,800-point raw spectra
    port = central.service.port
    try:
        with psycopg.connect(central.db) as lock, \
                psycopg.connect(central.db, autocommit=True) as watch:
            lock.execute("SELECT 1 FROM chain_lock WHERE id = 1 FOR UPDATE")
            sync = sync_process(central, name, db, "--run", "10")
            _until("a push waiting on central's chain lock", lambda: bool(watch.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND datname = current_database()").fetchone()[0]))  # type: ignore[index]
            assert central.service.proc is not None
            central.service.proc.send_signal(how)
            _until("central to stop listening", lambda: _refused(port))
            lock.rollback()  # the push in flight goes on (SIGTERM) or finds its server gone
        code, _, err = finish(sync)
        stopped = central.service.proc.wait(timeout=60)  # (no second signal)
        # unreachable (or refused while shutting down): retry later
        assert code in (ExitCode.UNREACHABLE, ExitCode.ERROR), err
        assert err.startswith("interdict sync: central") and " — " in err, err
        with SQLiteStore(db, signer=KEY) as st:
            assert st.verify().ok  # the station lost nothing either
            last = list(st.audit_events())[-1].seq
            acknowledged = (st.sync_state(f"push:{central.url}") or (0, ""))[0]
        if how is signal.SIGTERM:
            assert stopped == 0  # a graceful stop
            assert acknowledged > 0  # the run in flight was finished and acknowledged
        with central.store() as cs:
            head = cs.station_head(name)
        assert (head[0] if head else 0) < last  # central stopped in the middle
    finally:
        if central.service.proc is None or central.service.proc.poll() is not None:
            central.service = Service(central.db, port=port)
            central.url = central.service.start()
    code, _out, err = finish(sync_process(central, name, db, "--run", "25"))
    assert code == 0, err
    check_central(central, {name: (db, ids)}, items)
    with httpx.Client(base_url=central.url) as c:
        assert c.get("/readyz").json()["status"] == "ready"


def test_central_stopped_and_restarted_mid_sync(central: Central, base: int, fac: str,
                                                tmp_path: Path) -> None:
    _stop_mid_sync(central, tmp_path, base, fac, signal.SIGTERM)


def test_kill_9_of_central_during_a_push(central: Central, base: int, fac: str,
                                        tmp_path: Path) -> None:
    _stop_mid_sync(central, tmp_path, base, fac, signal.SIGKILL)
