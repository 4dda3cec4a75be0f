"""``interdict demo --fleet``: a central service, two stations syncing to it, the fentanyl
parcel's record visible centrally. Everything it starts (a private PostgreSQL, the service,
the simulated analyzer) runs on this machine and is stopped at the end; needs the
``central`` extra and PostgreSQL's server binaries (:mod:`central.devdb` finds them).

A part of :mod:`station.commands.demo` (no command of its own)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from station.commands._simulated import start_simulator, step, stop_simulator
from station.exit_codes import ExitCode

FACILITY = "JFK-IMF"
"""The facility of ``fixtures/aed/sample_batch.jsonl``."""


def _scan(cfg: Any, items: list[str]) -> list[tuple[str, str, bool]]:
    """Scan ``items`` at one station through the real driver stack; (item, verdict, alert)."""
    from station.workflows.scan import StationSession

    session = StationSession(cfg)
    out = []
    try:
        session.open_store()
        session.open_library()
        session.connect()
        session.self_test_if_due("always", "raman")
        for item in items:
            outcome = session.scan_and_record(session.ensure_in_hand(item), "raman")
            ident = outcome.identification
            out.append((item, ident.verdict.value, ident.alert))
            print(f"    {cfg.station}: {item} → {ident.verdict.value}"
                  + (f" ALERT {', '.join(ident.alert_substances)}" if ident.alert else ""))
    finally:
        session.close()
    return out


def run_fleet(out: Path, *, operator: str) -> ExitCode:
    """Run the fleet demo into ``out``; returns the exit code.

    Raises
    ------
    station.errors.StationError
        The central extra is not installed (nothing was started).
    central.devdb.DevDBError
        No PostgreSQL server binaries here, or the server or the service would not start.
    """
    from station.commands.central import needs_central_extra

    needs_central_extra()
    import psycopg

    from central.auth import Role, issue
    from central.devdb import ServiceProcess, TempPostgres
    from parcels.signing import StationKey
    from parcels.store.postgres import PostgresStore

    t0 = time.monotonic()
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("fleet-*"):
        old.unlink()
    print("Interdict fleet demo: one central record, two stations at one mail facility.")
    step(1, "start central: a private PostgreSQL server and `interdict serve` on loopback")
    with TempPostgres() as pg:
        db = pg.create_database("central")
        PostgresStore(db, max_connections=1).close()
        step(2, "issue credentials (each token is shown once; central keeps a scrypt hash)")
        with psycopg.connect(db) as con:
            tokens = {
                "targeting": issue(con, "ntc-targeting", Role.TARGETING).token,
                "supervisor": issue(con, "sup.lee", Role.SUPERVISOR).token,
                "A": issue(con, "jfk-imf-a", Role.STATION, facility=FACILITY).token,
                "B": issue(con, "jfk-imf-b", Role.STATION, facility=FACILITY).token,
            }
        print(f"    targeting, supervisor, and stations jfk-imf-a / jfk-imf-b at {FACILITY}")
        central_key = out / "fleet-central.key"
        with ServiceProcess(db, extra=("--signing-key", str(central_key))) as svc:
            print(f"    central listening on {svc.url}, signing its own chain with key "
                  f"{StationKey.load(central_key).key_id[:16]}…")
            code = _fleet(out, svc.url, tokens, operator)
            step(8, "stop everything the demo started")
        print("    service and PostgreSQL stopped")
    print(f"\nfleet demo finished in {time.monotonic() - t0:.1f} s; files in {out}")
    return code


def _fleet(out: Path, url: str, tokens: dict[str, str], operator: str) -> ExitCode:
    from parcels.records import HoldState, ParcelQuery
    from parcels.signing import StationKey
    from parcels.store import SQLiteStore
    from station.config import load_config
    from station.workflows.library import FIXTURES, build_library_set
    from station.workflows.sync import CentralClient, sync_once

    step(3, "targeting sends the sample AED batch (with hold requests) to central")
    targeting = CentralClient(url, tokens["targeting"])
    batch = (FIXTURES / "aed" / "sample_batch.jsonl").read_bytes()
    summary = targeting.request("POST", "/v1/aed", body=batch)
    print(f"    {summary['inserted']} parcels announced, {summary['holds_requested']} holds "
          "requested")

    step(4, "both stations sync: each pulls its facility's parcels and hold requests")
    stations = {}
    for key, name in (("A", "jfk-imf-a"), ("B", "jfk-imf-b")):
        path, key_file = out / f"fleet-{name}.db", out / f"fleet-{name}.key"
        signer = StationKey.load_or_create(key_file)  # each station signs with its own key
        client = CentralClient(url, tokens[key])
        with SQLiteStore(path, signer=signer) as st:
            print(f"    {name} (key {signer.key_id[:16]}…): "
                  f"{sync_once(st, client, name).message()}")
        stations[key] = (name, path, key_file, client)

    step(5, "scan at both stations (simulated analyzer, real driver stack): A takes the "
             "first half of the held parcels, B the rest")
    lib_path = out / "fleet-library.ilib"
    build_library_set(synthetic=True, library_id="interdict-demo").save(lib_path)
    with SQLiteStore(stations["A"][1]) as st:  # reading needs no key
        held = [p.item_id for p in st.find(ParcelQuery(hold_state=HoldState.REQUESTED,
                                                       order="received"))]
    proc, dev = start_simulator(out)
    try:
        for key, items in (("A", held[: len(held) // 2 + 1]), ("B", held[len(held) // 2 + 1:])):
            name, path, key_file, _ = stations[key]
            cfg = load_config({"device": dev, "db": str(path), "library": str(lib_path),
                               "key": str(key_file),
                               "operator": f"{operator}.{key.lower()}", "station": name},
                              env={})
            _scan(cfg, items)
    finally:
        stop_simulator(proc, dev)

    step(6, "both stations sync again: their inspections, raw spectra and signed audit "
             "chains go to central, which checks every signed head against the station's key")
    for name, path, key_file, client in stations.values():
        with SQLiteStore(path, signer=StationKey.load(key_file)) as st:
            print(f"    {name}: {sync_once(st, client, name).message()}")

    step(7, "the supervisor reads the fentanyl parcel's record at central")
    sup = CentralClient(url, tokens["supervisor"])
    flagged = None
    for item in held:
        rec = sup.get(f"/v1/parcels/{item}")
        for ins in rec["inspections"]:
            ident = ins["results"][-1]["identification"]
            if any("fentanyl" in s.lower() for s in ident.get("alert_substances", ())):
                flagged = rec
    if flagged is None:
        print("    no parcel at central is flagged for fentanyl: the demo did not reach its goal")
        return ExitCode.ERROR
    p = flagged["parcel"]
    print(f"    {p['item_id']} from {p['origin_country']}, hold "
          f"{flagged['hold']['state'].upper()}")
    for ins in flagged["inspections"]:
        r = ins["results"][-1]
        print(f"      inspected at {ins['station']} by {ins['operator']}: {r['verdict']}"
              + (" ALERT " + ", ".join(r["identification"]["alert_substances"])
                 if r["alert"] else "") + f" (raw spectrum {ins['spectrum_hash'][:16]}…)")
    stats = sup.get("/v1/stats", facility=FACILITY, period="all")
    for c in stats["hold_compliance"]:
        print(f"    {FACILITY} hold compliance: {c['held']} held of {c['requested']} "
              f"requested ({100 * (c['rate'] or 0):.0f} %)")
    for name, *_ in stations.values():
        h = sup.get(f"/v1/stations/{name}/heads")[-1]
        k = sup.get(f"/v1/stations/{name}/keys")[-1]
        print(f"    central holds {name}'s chain up to signed head #{h['seq']} "
              f"{h['hash'][:16]}…, signed by its registered key {k['key_id'][:16]}… "
              f"({k['how']})")
    return ExitCode.OK


__all__ = ["FACILITY", "run_fleet"]
