"""Benchmark of the evidence store (``parcels``): prints figures, asserts nothing on time.

1. Insert rate of inspections with their raw spectra (1,800-point spectra of integer detector
   counts, as an analyzer gives them), one transaction per inspection, one process, for
   ``synchronous=FULL`` (the default) and ``NORMAL``. Target: ≥ 2,000 inspections/s.
2. Lookup latency by item id in a database of 1,000,000 parcels (built here with
   ``executemany``, with a valid audit chain): the full ``Store.get_parcel`` (read, parse,
   validate) and the bare indexed SELECT. Target: ≤ 1 ms.
3. ``audit verify`` time per 100,000 events, on both databases.

Usage: ``python bench/records.py [--parcels N] [--inspections N] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import describe  # noqa: E402

from matcher.results import Category, Hit, Identification, Verdict  # noqa: E402
from parcels.audit import GENESIS, event_body, event_hash  # noqa: E402
from parcels.records import DeviceIdentity, Parcel  # noqa: E402
from parcels.s10 import check_digit  # noqa: E402
from parcels.signing import StationKey  # noqa: E402
from parcels.store import NewInspection, SQLiteStore  # noqa: E402
from spectra import Acquisition, Pipeline, Spectrum, canonical_json  # noqa: E402

KEY = StationKey.generate()
"""The benchmark station's signing key (in memory)."""


def machine() -> str:
    return describe(SQLite=sqlite3.sqlite_version)


def item(n: int) -> str:
    s = f"{n:08d}"
    return f"LX{s}{check_digit(s)}CN"


def raw_spectrum(rng: np.random.Generator, k: int) -> Spectrum:
    """A handheld-Raman-like raw spectrum: integer counts, 1,800 pixels, nonuniform axis."""
    x = np.linspace(176.0, 2000.0, 1800) + 1e-4 * np.linspace(0, 1, 1800) ** 2
    y = 800 + 0.3 * x + 400 * np.exp(-((x - 1100) / 600) ** 2)
    for c in rng.uniform(250, 1900, 6):
        y += rng.uniform(500, 6000) * np.exp(-0.5 * ((x - c) / rng.uniform(3, 9)) ** 2)
    y = rng.poisson(y).astype(np.float64)
    return Spectrum(x, y, technique="raman", y_unit="counts", excitation_nm=785.0,
                    acquisition=Acquisition(instrument_model="Bench RM", instrument_serial="B1",
                                            integration_time_ms=500.0),
                    title=f"bench {k}")


def ident() -> Identification:
    return Identification(
        verdict=Verdict.MATCH, alert=True, alert_substances=("cocaine HCl",), confidence=0.91,
        hits=(Hit(entry_id="c1", name="cocaine HCl", score=94.2, category=Category.CONTROLLED,
                  schedule="II"),
              Hit(entry_id="l1", name="lactose", score=70.3, category=Category.CUTTING_AGENT),
              Hit(entry_id="b2", name="benzocaine", score=66.0, category=Category.CUTTING_AGENT)),
        technique="raman", library_id="bench-lib-1", library_hash="cd" * 32,
        pipeline=Pipeline.of(("crop", {"x_min": 200, "x_max": 1800}), ("normalize", {})),
    )


def aed(n: int) -> dict[str, object]:
    t = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=31 * n)
    return {
        "item_id": item(n), "origin_country": "CN", "mail_class": "parcel",
        "received_at": t.isoformat().replace("+00:00", "Z"), "facility": "ORD-ISC",
        "sender": {"name": f"Sender {n}", "address": f"{n} Nanshan Rd, Shenzhen",
                   "country": "CN"},
        "recipient": {"name": f"Recipient {n}", "address": f"{n} W Madison St, Chicago IL",
                      "country": "US"},
        "declaration": {"category": "sale-of-goods", "items": [
            {"description": "phone case", "quantity": 2, "net_weight_kg": 0.2, "value": 12.5,
             "currency": "USD", "hs_code": "392690", "origin_country": "CN"}],
            "total_gross_weight_kg": 0.35, "total_value": 12.5, "currency": "USD"},
        "hold": None,
    }


def pct(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def bench_inserts(workdir: Path, n: int) -> Path:
    rng = np.random.default_rng(1)
    spectra = [raw_spectrum(rng, k) for k in range(n)]
    result = ident()
    device = DeviceIdentity(make="Bench", model="RM", serial="B1", firmware="1.0")
    print(f"\n1. insert rate: {n} inspections, {len(spectra[0])}-point raw spectra, "
          "one transaction each")
    path = workdir / "inspections-FULL.db"
    for sync in ("FULL", "NORMAL"):
        path = workdir / f"inspections-{sync}.db"
        with SQLiteStore(path, synchronous=sync, signer=KEY) as store:  # type: ignore[arg-type]
            store.import_parcels([(k, Parcel.model_validate(aed(k))) for k in range(50)],
                                 actor="bench", source="bench")
            lat = []
            c0 = time.process_time()
            t0 = time.perf_counter()
            for k, s in enumerate(spectra):
                t = time.perf_counter()
                store.add_inspection(item(k % 50), s, result, operator="bench",
                                     station="bench", device=device)
                lat.append(time.perf_counter() - t)
            total = time.perf_counter() - t0
            cpu = time.process_time() - c0
        rate = n / total
        size = path.stat().st_size + (path.with_name(path.name + "-wal").stat().st_size
                                      if path.with_name(path.name + "-wal").exists() else 0)
        print(f"   synchronous={sync:<6} one per transaction: {rate:7.0f} inspections/s "
              f"(ratio to the 2,000/s target: {rate / 2000:.2f}); per insert median "
              f"{1e3 * statistics.median(lat):.3f} ms (= {1 / statistics.median(lat):.0f}/s), "
              f"p99 {1e3 * pct(lat, 99):.3f} ms; CPU {1e3 * cpu / n:.3f} ms each "
              f"(= {n / cpu:.0f}/s if the cores were ours); {size / n / 1024:.1f} KiB stored each")
        bpath = workdir / f"inspections-{sync}-batch.db"
        with SQLiteStore(bpath, synchronous=sync,  # type: ignore[arg-type]
                         signer=KEY) as store:
            store.import_parcels([(k, Parcel.model_validate(aed(k))) for k in range(50)],
                                 actor="bench", source="bench")
            batch = 50
            per = []
            c0 = time.process_time()
            t0 = time.perf_counter()
            for b in range(0, n, batch):
                t = time.perf_counter()
                store.add_inspections([
                    NewInspection(item_id=item(k % 50), spectrum=spectra[k],
                                  identification=result, operator="bench", station="bench",
                                  device=device)
                    for k in range(b, min(n, b + batch))])
                per.append((time.perf_counter() - t) / min(batch, n - b))
            total = time.perf_counter() - t0
            cpu = time.process_time() - c0
        rate = n / total
        print(f"   synchronous={sync:<6} {batch} per transaction: {rate:7.0f} inspections/s "
              f"(ratio to target: {rate / 2000:.2f}); per inspection median "
              f"{1e3 * statistics.median(per):.3f} ms (= {1 / statistics.median(per):.0f}/s); "
              f"CPU {1e3 * cpu / n:.3f} ms each (= {n / cpu:.0f}/s)")
    return path


def build_parcels(path: Path, n: int) -> None:
    """n parcels + n import events (a valid chain, its head signed) with executemany."""
    SQLiteStore(path, synchronous="NORMAL").close()
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA synchronous = OFF")
    con.execute("PRAGMA cache_size = -200000")
    Parcel.model_validate(aed(0))  # the template is a valid record
    now = datetime.now(UTC).isoformat(timespec="microseconds")
    prev = GENESIS
    chunk = 50_000
    con.execute("BEGIN")
    for start in range(0, n, chunk):
        events, parcels = [], []
        for k in range(start, min(n, start + chunk)):
            rec = aed(k)
            record = canonical_json(rec)
            d = hashlib.sha256(record.encode()).hexdigest()
            seq = k + 1
            data = {"digest": d, "source": "bench", "line": seq}
            h = event_hash(prev, event_body(seq=seq, at=now, kind="import", actor="bench",
                                            item_id=rec["item_id"], data=data))
            events.append((seq, now, "import", "bench", rec["item_id"], canonical_json(data),
                           prev, h))
            t = datetime.fromisoformat(str(rec["received_at"]).replace("Z", "+00:00"))
            parcels.append((rec["item_id"], "CN", "parcel",
                            t.isoformat(timespec="microseconds"), "ORD-ISC", "sale-of-goods",
                            record, d, now, seq))
            prev = h
        con.executemany("INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)", events)
        con.executemany("INSERT INTO parcels (item_id, origin_country, mail_class, "
                        "received_at, facility, category, record, digest, imported_at, "
                        "event_seq) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", parcels)
    head = KEY.sign_head(seq=n, hash=prev, prev_seq=0)
    con.execute("INSERT INTO station_keys VALUES (?, ?, ?)", (KEY.key_id, KEY.public.hex, now))
    con.execute("INSERT INTO signed_heads VALUES (?, ?, ?, ?, ?)",
                (head.seq, head.hash, head.prev_seq, head.key_id, head.signature))
    con.execute("COMMIT")
    con.close()


def bench_lookup(workdir: Path, n: int) -> Path:
    path = workdir / "parcels.db"
    print(f"\n2. lookup by item id among {n:,} parcels")
    t = time.perf_counter()
    build_parcels(path, n)
    print(f"   built with executemany in {time.perf_counter() - t:.1f} s "
          f"({path.stat().st_size / 2**20:.0f} MiB)")
    rnd = random.Random(7)
    sample = [item(rnd.randrange(n)) for _ in range(3000)]
    with SQLiteStore(path) as store:
        for it in sample[:200]:  # warm the page cache the way a running station would be
            store.get_parcel(it)
        full = []
        cpu = []
        for it in sample:
            c = time.process_time()
            t = time.perf_counter()
            pf = store.get_parcel(it)
            full.append(time.perf_counter() - t)
            cpu.append(time.process_time() - c)
            assert pf.parcel.item_id == it
        con = sqlite3.connect(path)
        bare = []
        for it in sample:
            t = time.perf_counter()
            con.execute("SELECT record FROM parcels WHERE item_id = ?", (it,)).fetchone()
            bare.append(time.perf_counter() - t)
        con.close()
    for name, lat in (("Store.get_parcel (read + parse + validate)", full),
                      ("indexed SELECT only", bare)):
        print(f"   {name:<42}: median {1e3 * statistics.median(lat):.3f} ms, "
              f"p99 {1e3 * pct(lat, 99):.3f} ms (target ≤ 1 ms; median ratio to target "
              f"{1e3 * statistics.median(lat):.3f})")
    print(f"   Store.get_parcel CPU time: median {1e3 * statistics.median(cpu):.3f} ms, "
          f"p99 {1e3 * pct(cpu, 99):.3f} ms (wall p99 above includes waiting for a core)")
    return path


def bench_verify(paths: list[tuple[str, Path, bool]]) -> None:
    print("\n3. audit verify")
    for name, path, deep in paths:
        with SQLiteStore(path) as store:
            t = time.perf_counter()
            report = store.verify(deep=deep, trusted_keys=[KEY.key_id])
            dt = time.perf_counter() - t
        assert report.ok, report.message()
        print(f"   {name}: {report.events:,} events in {dt:.2f} s = "
              f"{dt * 100_000 / report.events:.2f} s per 100,000 events")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--inspections", type=int, default=3000)
    ap.add_argument("--keep", type=Path, help="build the databases here and keep them")
    args = ap.parse_args()
    print("parcels / evidence store benchmark")
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory(prefix="interdict-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        insp = bench_inserts(work, args.inspections)
        big = bench_lookup(work, args.parcels)
        bench_verify([
            ("inspections db, deep (chain + records + every raw spectrum decoded)", insp, True),
            (f"{args.parcels:,}-parcel db (chain + every record re-hashed)", big, False),
        ])
    print(json.dumps({"done": True}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
