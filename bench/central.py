"""Benchmark of Interdict Central: prints figures, asserts nothing on time.

Everything on this machine: a private PostgreSQL server (fsync on, as a real one), the
service as a separate ``interdict serve`` process on a loopback port, the stations as threads
of this process pushing over real HTTP. Beside each figure, the same work on a station's
SQLite store, as a ratio.

1. Push throughput: ``--stations`` (≥ 20) stations push at once, each its queue of
   inspections with 1,800-point raw spectra, in runs of ``--run``; inspections/s through
   the service (target ≥ 500/s) with p50/p99 latency per push. SQLite beside it: one
   station recording the same inspections locally (``add_inspections``, same batch size).
2. Catch-up: one station pushes 10,000 queued inspections (target ≤ 60 s); SQLite beside it:
   reading those runs out of the station store (``sync_batch``), the station's share.
3. Statistics over 1,000,000 parcels (5 % with holds, 1 % inspected): hold compliance by
   month and positivity by origin and category for all facilities, counted by PostgreSQL
   (target ≤ 200 ms); SQLite beside it (the same functions, counted in Python). The parcels
   and their import events (a valid chain) are bulk-loaded; holds and inspections are rows
   pointing at their parcel's import event (statistics read rows, not the chain).
4. Parcel lookup through the API (``GET /v1/parcels/{id}``, keep-alive, sequential): p50 and
   p99 (target p99 ≤ 5 ms); SQLite beside it: ``Store.get_parcel`` on the station.

Usage: ``python bench/central.py [--stations 20] [--per-station 100] [--catch-up 10000]
[--parcels 1000000] [--skip push,catchup,stats,lookup]``
"""

from __future__ import annotations

import argparse
import hashlib
import random
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "bench"
# this file is not the package `central`: keep its folder behind the project root
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))

from _machine import describe  # noqa: E402
from records import aed, ident, item, pct, raw_spectrum  # noqa: E402

from central.auth import Role, issue  # noqa: E402
from central.devdb import ServiceProcess, TempPostgres  # noqa: E402
from parcels.audit import GENESIS, event_body, event_hash  # noqa: E402
from parcels.blobs import encode_spectrum  # noqa: E402
from parcels.records import DeviceIdentity, Parcel  # noqa: E402
from parcels.signing import StationKey  # noqa: E402
from parcels.stats import hold_compliance, positivity  # noqa: E402
from parcels.store import NewInspection, SQLiteStore  # noqa: E402
from parcels.store.postgres import PostgresStore  # noqa: E402
from spectra import canonical_json  # noqa: E402
from station.workflows.sync import CentralClient, push  # noqa: E402

DEVICE = DeviceIdentity(make="Bench", model="RM", serial="B1", firmware="1.0")
FACILITY = "ORD-ISC"


def machine(pg_version: str) -> str:
    import psycopg

    return describe(PostgreSQL=pg_version, psycopg=psycopg.__version__)


class TimedClient(CentralClient):
    """A central client that records the latency of every push."""

    def __init__(self, *a: Any, **kw: Any) -> None:
        super().__init__(*a, **kw)
        self.latencies: list[float] = []

    def post(self, path: str, payload: Any) -> Any:
        t = time.perf_counter()
        try:
            return super().post(path, payload)
        finally:
            self.latencies.append(time.perf_counter() - t)


def station_key(path: Path) -> StationKey:
    """The signing key of the station whose store is ``path`` (created beside it)."""
    return StationKey.load_or_create(path.with_suffix(".key"))


CENTRAL_KEY = StationKey.generate()
"""Central's own signing key for the benchmark (in memory; the service gets a file)."""


def station_store(path: Path, first: int, count: int, parcels: list[str], seed: int,
                  batch: int = 50) -> tuple[SQLiteStore, float]:
    """A station store holding ``parcels`` and ``count`` inspections recorded offline; the
    seconds the recording took (the SQLite figure)."""
    rng = np.random.default_rng(seed)
    spectra = [raw_spectrum(rng, k) for k in range(count)]
    st = SQLiteStore(path, synchronous="NORMAL", signer=station_key(path))
    st.import_parcels([(0, Parcel.model_validate(aed(first + k))) for k in range(len(parcels))],
                      actor="central", source="bench")
    result = ident()
    t = time.perf_counter()
    for b in range(0, count, batch):
        st.add_inspections([NewInspection(
            item_id=parcels[k % len(parcels)], spectrum=spectra[k], identification=result,
            operator=f"officer {seed}", station=f"ST-{seed}", device=DEVICE)
            for k in range(b, min(count, b + batch))])
    return st, time.perf_counter() - t


def announce(pg: PostgresStore, first: int, n: int) -> list[str]:
    rows = [(k, Parcel.model_validate(aed(first + k))) for k in range(n)]
    pg.import_parcels(rows, actor="bench", source="bench")
    return [p.item_id for _, p in rows]


def bench_push(pgurl: str, svc_url: str, workdir: Path, stations: int, per: int,
               run: int) -> None:
    print(f"\n1. push: {stations} stations at once, {per} inspections each (1,800-point raw "
          f"spectra), runs of {run}")
    with PostgresStore(pgurl, max_connections=2) as pg, pg.connection() as con:
        tokens = [issue(con, f"push-{s}", Role.STATION, facility=FACILITY).token
                  for s in range(stations)]
    with PostgresStore(pgurl, max_connections=2, signer=CENTRAL_KEY) as pg:
        parcels = announce(pg, 0, 50)
    local = []
    for s in range(stations):
        st, dt = station_store(workdir / f"push-{s}.db", 0, per, parcels, s, batch=run)
        st.close()
        local.append(per / dt)
    clients = [TimedClient(svc_url, tokens[s]) for s in range(stations)]
    errors: list[BaseException] = []

    def go(s: int) -> None:
        try:
            path = workdir / f"push-{s}.db"
            with SQLiteStore(path, signer=station_key(path)) as st:  # a connection per thread
                push(st, clients[s], f"push-{s}", run=run)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=go, args=(s,)) for s in range(stations)]
    t0 = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    total = time.perf_counter() - t0
    if errors:
        raise errors[0]
    lat = [x for c in clients for x in c.latencies]
    rate = stations * per / total
    sqlite_rate = statistics.median(local)
    print(f"   PostgreSQL via the service: {rate:7.0f} inspections/s (target 500: ratio "
          f"{rate / 500:.2f}); per push of {run}: p50 {1e3 * statistics.median(lat):.0f} ms, "
          f"p99 {1e3 * pct(lat, 99):.0f} ms ({len(lat)} pushes)")
    print(f"   SQLite, one station recording locally ({run} per transaction): "
          f"{sqlite_rate:7.0f} inspections/s; central / station = {rate / sqlite_rate:.2f}")


def bench_catch_up(pgurl: str, svc_url: str, workdir: Path, n: int, run: int) -> None:
    print(f"\n2. catch-up: one station pushes {n:,} queued inspections, runs of {run}")
    with PostgresStore(pgurl, max_connections=2) as pg, pg.connection() as con:
        token = issue(con, "catch-up", Role.STATION, facility=FACILITY).token
    with PostgresStore(pgurl, max_connections=2, signer=CENTRAL_KEY) as pg:
        parcels = announce(pg, 100_000, 200)
    st, _ = station_store(workdir / "catch-up.db", 100_000, n, parcels, 99, batch=500)
    t = time.perf_counter()
    reads = 0
    seq = 0
    while True:  # the station's share: reading the runs out of SQLite
        batch = st.sync_batch(after_seq=seq, station="catch-up", max_events=run)
        if not batch.events:
            break
        seq = batch.events[-1].seq
        reads += 1
    read_s = time.perf_counter() - t
    client = TimedClient(svc_url, token)
    t = time.perf_counter()
    _, pushed, *_ = push(st, client, "catch-up", run=run)
    total = time.perf_counter() - t
    print(f"   {pushed:,} inspections caught up in {total:.1f} s (target ≤ 60 s: ratio "
          f"{total / 60:.2f}) = {pushed / total:.0f}/s; per push p50 "
          f"{1e3 * statistics.median(client.latencies):.0f} ms, p99 "
          f"{1e3 * pct(client.latencies, 99):.0f} ms")
    print(f"   SQLite share (reading {reads} runs out of the station store): {read_s:.1f} s "
          f"= {100 * read_s / total:.0f} % of the catch-up")
    st.close()


# -- 1,000,000 parcels ----------------------------------------------------------------------
def rows(n: int, chunk: int = 50_000) -> Iterator[dict[str, list[tuple[Any, ...]]]]:
    """Bulk rows: parcels with their import events (a valid chain), holds (every 20th
    parcel, 80 % held), inspections with results (every 100th parcel, a third alerting)."""
    now = datetime(2026, 12, 1, tzinfo=UTC).isoformat(timespec="microseconds")
    prev = GENESIS
    enc = encode_spectrum(raw_spectrum(np.random.default_rng(0), 0))
    result = ident().model_dump_json()
    pipeline = ident().pipeline.model_dump_json()
    origins = ["CN", "MX", "IN", "CO", "NL", "DE", "TH", "CA"]
    for start in range(0, n, chunk):
        out: dict[str, list[tuple[Any, ...]]] = {"events": [], "parcels": [], "holds": [],
                                                 "transitions": [], "inspections": [],
                                                 "results": []}
        for k in range(start, min(n, start + chunk)):
            rec = aed(k)
            rec["origin_country"] = origins[k % len(origins)]
            rec["sender"]["country"] = rec["origin_country"]  # type: ignore[index]
            record = canonical_json(rec)
            d = hashlib.sha256(record.encode()).hexdigest()
            seq = k + 1
            data = {"digest": d, "source": "bench", "line": seq}
            h = event_hash(prev, event_body(seq=seq, at=now, kind="import", actor="bench",
                                            item_id=rec["item_id"], data=data))
            out["events"].append((seq, now, "import", "bench", rec["item_id"],
                                  canonical_json(data), prev, h))
            received = datetime.fromisoformat(str(rec["received_at"]).replace("Z", "+00:00"))
            out["parcels"].append((rec["item_id"], rec["origin_country"], "parcel",
                                   received.isoformat(timespec="microseconds"), FACILITY,
                                   "sale-of-goods", record, d, now, seq))
            prev = h
            if k % 20 == 0:
                req = (received - timedelta(hours=2)).isoformat(timespec="microseconds")
                held = k % 100 != 20
                out["holds"].append((rec["item_id"], "held" if held else "requested", req))
                out["transitions"].append((rec["item_id"], "requested", req, "targeting",
                                           "risk", seq))
                if held:
                    out["transitions"].append((rec["item_id"], "held", req, "officer", None,
                                               seq))
            if k % 100 == 0:
                iid = f"i{k:010d}"
                out["inspections"].append((iid, rec["item_id"], now, "officer", "ST-1",
                                           DEVICE.model_dump_json(), "raman", enc.content_hash,
                                           pipeline, "bench-lib-1", "cd" * 32, seq))
                verdict, alert = ("MATCH", True) if k % 300 == 0 else ("NO_MATCH", False)
                out["results"].append((f"r{k:010d}", iid, "original", now, "officer",
                                       "bench-lib-1", "cd" * 32, verdict, alert, result, None,
                                       None, seq))
        yield out
    yield {"head": [(n, prev)], "spectrum": [(enc.content_hash, enc.n, enc.meta,
                                                enc.axis_hash, enc.pack_axis(), enc.values)]}


SQL = {
    "events": "INSERT INTO audit_events (seq, at, kind, actor, item_id, data, prev_hash, hash) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    "parcels": "INSERT INTO parcels (item_id, origin_country, mail_class, received_at, "
               "facility, category, record, digest, imported_at, event_seq) VALUES "
               "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "holds": "INSERT INTO holds (item_id, state, requested_at) VALUES (?, ?, ?)",
    "transitions": "INSERT INTO hold_transitions (item_id, state, at, actor, note, event_seq) "
                   "VALUES (?, ?, ?, ?, ?, ?)",
    "inspections": "INSERT INTO inspections (inspection_id, item_id, performed_at, operator, "
                   "station, device, technique, spectrum_hash, pipeline, library_id, "
                   "library_hash, event_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    "results": "INSERT INTO results (result_id, inspection_id, kind, recorded_at, recorded_by, "
               "library_id, library_hash, verdict, alert, identification, based_on, note, "
               "event_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
}
ORDER = ("events", "parcels", "holds", "transitions")


def load_million(pgurl: str, sqlite_path: Path, n: int) -> None:
    import sqlite3

    import psycopg

    SQLiteStore(sqlite_path, synchronous="NORMAL").close()
    PostgresStore(pgurl, max_connections=1).close()
    lite = sqlite3.connect(sqlite_path, isolation_level=None)
    lite.execute("PRAGMA synchronous = OFF")
    lite.execute("BEGIN")
    with psycopg.connect(pgurl) as pg:
        pg.execute("SET session_replication_role = replica")  # bulk load: triggers off
        pending_insp: list[dict[str, list[tuple[Any, ...]]]] = []
        for chunk in rows(n):
            if "head" in chunk:
                s = chunk["spectrum"][0]
                lite.execute("INSERT INTO axes (hash, n, data) VALUES (?, ?, ?)",
                             (s[3], s[1], s[4]))
                lite.execute("INSERT INTO spectra (hash, n, meta, axis_hash, data) "
                             "VALUES (?, ?, ?, ?, ?)", (s[0], s[1], s[2], s[3], s[5]))
                pg.execute("INSERT INTO axes (hash, n, data) VALUES (%s, %s, %s)",
                           (s[3], s[1], s[4]))
                pg.execute("INSERT INTO spectra (hash, n, meta, axis_hash, data) "
                           "VALUES (%s, %s, %s, %s, %s)", (s[0], s[1], s[2], s[3], s[5]))
                for c in pending_insp:
                    for table in ("inspections", "results"):
                        lite.executemany(SQL[table], c[table])
                        with pg.cursor() as cur:
                            cur.executemany(SQL[table].replace("?", "%s"), c[table])
                continue  # (a bulk load signs no heads: these stores are only read)
            for table in ORDER:
                lite.executemany(SQL[table], chunk[table])
                with pg.cursor() as cur:
                    cols = SQL[table].split("(", 1)[1].split(")", 1)[0]
                    name = SQL[table].split()[2]
                    with cur.copy(f"COPY {name} ({cols}) FROM STDIN") as copy:
                        for r in chunk[table]:
                            copy.write_row(r)
            pending_insp.append({"inspections": chunk["inspections"],
                                 "results": chunk["results"]})
    with psycopg.connect(pgurl, autocommit=True) as pg:
        pg.execute("VACUUM ANALYZE")  # what autovacuum does after a load (index-only scans)
    lite.execute("COMMIT")
    lite.execute("ANALYZE")
    lite.close()


def timed(fn: Any, repeat: int = 5) -> tuple[float, Any]:
    best = float("inf")
    out = None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def bench_stats_and_lookup(pgurl: str, svc_url: str, workdir: Path, n: int,
                           skip: set[str]) -> None:
    lite_path = workdir / "million.db"
    print(f"\n3./4. {n:,} parcels: bulk load")
    t = time.perf_counter()
    load_million(pgurl, lite_path, n)
    print(f"   loaded both stores in {time.perf_counter() - t:.0f} s")

    def all_stats(store: Any) -> tuple[Any, ...]:
        return (hold_compliance(store, period="month"), positivity(store, by="origin"),
                positivity(store, by="category"))

    if "stats" not in skip:
        with PostgresStore(pgurl, max_connections=2) as pg:
            all_stats(pg)
            pg_s, pg_out = timed(lambda: all_stats(pg))
        with SQLiteStore(lite_path) as lite:
            lite_s, lite_out = timed(lambda: all_stats(lite), repeat=2)
        assert pg_out == lite_out, "the two stores disagree"
        held = sum(r.held for r in pg_out[0])
        print(f"\n3. statistics (hold compliance by month + positivity by origin and by "
              f"category; {sum(r.requested for r in pg_out[0]):,} holds, {held:,} held, "
              f"{sum(r.inspected for r in pg_out[1]):,} inspected parcels)")
        print(f"   PostgreSQL (counted in SQL): {1e3 * pg_s:.0f} ms best of 5 (target ≤ 200 "
              f"ms: ratio {1e3 * pg_s / 200:.2f})")
        print(f"   SQLite (counted in Python): {1e3 * lite_s:.0f} ms best of 2; "
              f"PostgreSQL / SQLite = {pg_s / lite_s:.2f}; both give the same figures")

    if "lookup" not in skip:
        with PostgresStore(pgurl, max_connections=2) as pg, pg.connection() as con:
            token = issue(con, "bench-auditor", Role.AUDITOR).token
        import httpx

        rnd = random.Random(7)
        sample = [item(rnd.randrange(n)) for _ in range(3000)]
        api: list[float] = []
        with httpx.Client(base_url=svc_url, headers={"Authorization": f"Bearer {token}"},
                          timeout=30) as c:
            for it in sample[:200]:
                c.get(f"/v1/parcels/{it}")
            for it in sample:
                t = time.perf_counter()
                r = c.get(f"/v1/parcels/{it}")
                api.append(time.perf_counter() - t)
                assert r.status_code == 200
        lite_lat: list[float] = []
        with SQLiteStore(lite_path) as lite:
            for it in sample[:200]:
                lite.get_parcel(it)
            for it in sample:
                t = time.perf_counter()
                lite.get_parcel(it)
                lite_lat.append(time.perf_counter() - t)
        print(f"\n4. parcel lookup among {n:,} parcels ({len(sample)} random ids)")
        print(f"   through the API (HTTP + auth + PostgreSQL): p50 "
              f"{1e3 * statistics.median(api):.2f} ms, p99 {1e3 * pct(api, 99):.2f} ms "
              f"(target p99 ≤ 5 ms: ratio {1e3 * pct(api, 99) / 5:.2f})")
        print(f"   SQLite Store.get_parcel on the station: p50 "
              f"{1e3 * statistics.median(lite_lat):.2f} ms, p99 {1e3 * pct(lite_lat, 99):.2f} "
              f"ms; API / SQLite p99 = {pct(api, 99) / pct(lite_lat, 99):.1f}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stations", type=int, default=20)
    ap.add_argument("--per-station", type=int, default=100)
    ap.add_argument("--run", type=int, default=50)
    ap.add_argument("--catch-up", type=int, default=10_000)
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--skip", default="", help="comma-separated: push,catchup,stats,lookup")
    args = ap.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    with tempfile.TemporaryDirectory(prefix="interdict-bench-") as tmp, \
            TempPostgres(durable=True) as server:
        work = Path(tmp)
        import psycopg

        with psycopg.connect(server.url("postgres")) as con:
            version = str(con.execute("SHOW server_version").fetchone()[0])  # type: ignore[index]
        print(machine(version))
        print("PostgreSQL: private server on this machine, fsync on; the service: one "
              "interdict serve process (uvicorn, one worker); stations: threads of this "
              "process, over loopback HTTP")
        fleet = server.create_database("fleet")
        PostgresStore(fleet, max_connections=1).close()
        key = work / "central.key"
        CENTRAL_KEY.save(key)
        with ServiceProcess(fleet, extra=("--pool", "24", "--signing-key", str(key))) as svc:
            if "push" not in skip:
                bench_push(fleet, svc.url, work, args.stations, args.per_station, args.run)
            if "catchup" not in skip:
                bench_catch_up(fleet, svc.url, work, args.catch_up, 500)
        if not {"stats", "lookup"} <= skip:
            big = server.create_database("million")
            with ServiceProcess(big, extra=("--signing-key", str(key))) as svc:
                bench_stats_and_lookup(big, svc.url, work, args.parcels, skip)
    return 0


if __name__ == "__main__":
    sys.exit(main())
