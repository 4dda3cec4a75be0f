"""Benchmark of AED batch import (``parcels.aed.import_batch``): rows/s and peak memory.

Generates realistic JSON-lines batches (1-4 declared articles, 2 % with a hold request,
carriers' extra fields, accented names, one malformed row in a thousand), then imports each
into a fresh SQLite evidence store with the signed audit chain, in a fresh process (peak RSS
by ``resource.getrusage``), and checks afterwards that the chain verifies and the counts are
right. A second import of the same file (idempotent: every row unchanged) is timed too.

Targets (issue 12): ≥ 10,000 rows/s; peak RSS ≤ 150 MB for a million rows, flat in the
file's size. Nothing is asserted on time; the counts and the verification are asserted.

Usage: ``python bench/aed_import.py [--rows 100000,1000000] [--format jsonl,csv] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import describe  # noqa: E402

from parcels.s10 import check_digit  # noqa: E402

BAD_EVERY = 1000
"""One row in this many is malformed (a wrong check digit): it must be rejected alone."""
HOLD_EVERY = 50
ARTICLES = (("phone case", "392690", 0.2, 12.5), ("cotton t-shirt", "610910", 0.18, 9.9),
            ("LED strip", "940540", 0.3, 18.0), ("vitamin supplement", "210690", 0.25, 22.4),
            ("ceramic mug", "691200", 0.4, 7.5), ("bluetooth earbuds", "851830", 0.12, 29.0),
            ("sample of resin", "390730", 0.5, 3.0), ("book", "490199", 0.6, 15.0))
NAMES = ("Zhang Wěi", "Li Na", "Müller GmbH", "José Álvarez", "Chen Logistics Ltd",
         "Nguyễn Văn An", "O'Brien & Sons", "Shenzhen Trading Co.")


SERVICES = ("LX", "RR", "CP", "EE", "UA", "LZ", "RB", "CX")
ORIGINS = ("CN", "CN", "CN", "HK", "SG", "DE", "GB", "NL", "TR", "IN")


def item(n: int) -> str:
    """A unique S10 id for row ``n``, scattered over the id space as a day's mail is
    (serials of many senders and carriers), not in import order."""
    s = f"{(n * 7919 + 104_729) % 100_000_000:08d}"  # 7919 is prime: a bijection mod 10^8
    return f"{SERVICES[n % len(SERVICES)]}{s}{check_digit(s)}{ORIGINS[n // 7 % len(ORIGINS)]}"


def row(n: int) -> dict[str, object]:
    """One realistic AED row (about 1 kB as JSON)."""
    t = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=7 * n)
    k = 1 + n % 4
    items = []
    for j in range(k):
        desc, hs, kg, value = ARTICLES[(n + 3 * j) % len(ARTICLES)]
        items.append({"description": desc, "quantity": 1 + (n + j) % 3,
                      "net_weight_kg": kg, "value": value, "currency": "USD",
                      "hs_code": hs, "origin_country": "CN"})
    net = sum(float(i["net_weight_kg"]) for i in items)  # type: ignore[arg-type]
    rec: dict[str, object] = {
        "item_id": item(n), "origin_country": item(n)[11:],
        "mail_class": "EMS" if n % 3 else "parcel",
        "received_at": t.isoformat().replace("+00:00", "Z"), "facility": "ORD-ISC",
        "sender": {"name": f"{NAMES[n % len(NAMES)]} {n}",
                   "address": f"{n % 997} Nanshan Rd, Shenzhen 518000", "country": "CN",
                   "phone": f"+86 755 {n % 10_000_000:07d}"},
        "recipient": {"name": f"{NAMES[(n * 7) % len(NAMES)]} {n}",
                      "address": f"{n % 4001} W Madison St, Chicago IL 60661",
                      "country": "US"},
        "declaration": {"category": "sale-of-goods" if n % 5 else "gift", "items": items,
                        "total_gross_weight_kg": round(net + 0.15, 3),
                        "total_value": round(sum(float(i["value"]) * int(i["quantity"])  # type: ignore[call-overload]
                                                 for i in items), 2),
                        "currency": "USD"},
        "hold": None,
        "carrier": {"pre_advice_id": f"PA{n:012d}", "route": ["PVG", "ANC", "ORD"],
                    "declared_by": "EDI gateway 3"},
    }
    if n % HOLD_EVERY == 7:
        rec["hold"] = {"requested_at": (t - timedelta(hours=2)).isoformat(),
                       "requested_by": "NTC targeting", "reason": f"risk score 0.{n % 90 + 10}"}
    if n % BAD_EVERY == 999:
        rec["item_id"] = item(n)[:10] + str((int(item(n)[10]) + 1) % 10) + item(n)[11:]
    return rec


def write_batch(path: Path, n: int, fmt: str) -> None:
    """``n`` rows, streamed to ``path`` (never held whole)."""
    from parcels.aed import flatten

    with path.open("w", encoding="utf-8", newline="") as fh:
        if fmt == "jsonl":
            for k in range(n):
                fh.write(json.dumps(row(k), ensure_ascii=False) + "\n")
            return
        cols = sorted({c for k in range(8) for c, v in flatten(row(k)).items()
                       if v is not None} | {"hold.requested_at", "hold.requested_by",
                                            "hold.reason"})
        w = csv.writer(fh)
        w.writerow(cols)
        for k in range(n):
            flat = flatten(row(k))
            w.writerow(["" if flat.get(c) is None else flat[c] for c in cols])


def expected(n: int) -> tuple[int, int, int]:
    """(good rows, rejected rows, hold requests among the good) of a batch of ``n``."""
    bad = sum(1 for k in range(n) if k % BAD_EVERY == 999)
    holds = sum(1 for k in range(n) if k % HOLD_EVERY == 7 and k % BAD_EVERY != 999)
    return n - bad, bad, holds


def child(batch: Path, db: Path, seed: str, workers: int | None) -> int:
    """Import ``batch`` into ``db`` twice; print one JSON line of figures."""
    from parcels.aed import import_batch
    from parcels.signing import StationKey
    from parcels.store import SQLiteStore

    key = StationKey.from_seed(bytes.fromhex(seed))
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    out: dict[str, object] = {"rss_before_kb": rss0}
    for name in ("first", "again"):
        with SQLiteStore(db, signer=key) as store:
            c0 = time.process_time()
            t0 = time.perf_counter()
            k0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            s = import_batch(store, batch, actor="bench-feed", workers=workers)
            wall = time.perf_counter() - t0
            cpu = time.process_time() - c0
            k1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out[name] = {"wall_s": wall, "cpu_s": cpu, "rows": s.rows, "inserted": s.inserted,
                     "unchanged": s.unchanged, "rejected": s.rejected_rows,
                     "holds": s.holds_requested,
                     "workers_cpu_s": (k1.ru_utime + k1.ru_stime) - (k0.ru_utime + k0.ru_stime),
                     "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                     "workers_peak_rss_kb": k1.ru_maxrss}
    print(json.dumps(out))
    return 0


def run(batch: Path, db: Path, key_seed: str, workers: int | None
        ) -> dict[str, dict[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, __file__, "--child", str(batch), str(db), key_seed,
                        str(workers or 0)],
                       capture_output=True, text=True, env=env, check=False)
    if p.returncode != 0:
        raise SystemExit(f"import child failed:\n{p.stderr}")
    return json.loads(p.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def verify(db: Path, key_seed: str) -> tuple[float, int, int]:
    """``audit verify`` of ``db`` in a fresh process: seconds, events, peak RSS (KiB).

    In a process of its own: a child's peak RSS on Linux starts at its parent's when it is
    forked, so a verification run here would raise the peak the next import reports."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, __file__, "--verify-child", str(db), key_seed],
                       capture_output=True, text=True, env=env, check=False)
    if p.returncode != 0:
        raise SystemExit(f"verify child failed:\n{p.stderr}")
    d = json.loads(p.stdout.strip().splitlines()[-1])
    return d["wall_s"], d["events"], d["peak_rss_kb"]


def verify_child(db: Path, key_seed: str) -> int:
    from parcels.signing import StationKey
    from parcels.store import SQLiteStore

    key = StationKey.from_seed(bytes.fromhex(key_seed))
    with SQLiteStore(db) as store:
        t = time.perf_counter()
        report = store.verify(deep=False, trusted_keys=[key.key_id])
        dt = time.perf_counter() - t
    assert report.ok, report.message()
    print(json.dumps({"wall_s": dt, "events": report.events,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", default="100000,1000000",
                    help="comma-separated batch sizes (default 100000,1000000)")
    ap.add_argument("--format", default="jsonl", help="jsonl, csv or jsonl,csv")
    ap.add_argument("--keep", type=Path, help="write batches and databases here and keep them")
    ap.add_argument("--workers", default="auto",
                    help="comma-separated worker counts to compare: auto (the default), 1, 2")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--verify-child", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.verify_child:
        return verify_child(Path(args.verify_child[0]), args.verify_child[1])
    if args.child:
        return child(Path(args.child[0]), Path(args.child[1]), args.child[2],
                     int(args.child[3]) or None)
    print("AED import benchmark (parcels.aed.import_batch into SQLite, signed chain, "
          "synchronous=FULL)")
    print(f"machine: {describe(SQLite=sqlite3.sqlite_version)}")
    seed = "42" * 32
    with tempfile.TemporaryDirectory(prefix="interdict-aed-bench-") as tmp:
        work = args.keep or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print("\n| rows | format | file | workers | import rows/s (×10,000 target) | CPU s "
              "(main + workers) | rows per CPU s | peak RSS main (×150 MB) / per worker | "
              "re-import rows/s | verify s (peak RSS) | load |")
        print("|---:|---|---:|---|---:|---:|---:|---:|---:|---:|---|")
        for fmt in args.format.split(","):
            for n in (int(x) for x in args.rows.split(",")):
                batch = work / f"aed-{n}.{fmt}"
                if not batch.exists():
                    write_batch(batch, n, fmt)
                for w in args.workers.split(","):
                    workers = None if w == "auto" else int(w)
                    db = work / f"aed-{n}-{fmt}-{w}.db"
                    for p in db.parent.glob(db.name + "*"):
                        p.unlink()
                    load0 = os.getloadavg()[0]
                    r = run(batch, db, seed, workers)
                    load1 = os.getloadavg()[0]
                    good, bad, holds = expected(n)
                    first, again = r["first"], r["again"]
                    assert (first["rows"], first["inserted"], first["rejected"],
                            first["holds"]) == (n, good, bad, holds), first
                    assert (again["inserted"], again["unchanged"], again["rejected"]) \
                        == (0, good, bad), again
                    vt, events, vpeak = verify(db, seed)
                    assert events == good + holds, (events, good, holds)
                    rate = n / first["wall_s"]
                    cpu = first["cpu_s"] + first["workers_cpu_s"]
                    peak = first["peak_rss_kb"] / 1024
                    wpeak = (f"{first['workers_peak_rss_kb'] / 1024:.0f} MB"
                             if first["workers_cpu_s"] else "–")
                    print(f"| {n:,} | {fmt} | {batch.stat().st_size / 2**20:.0f} MiB | {w} | "
                          f"{rate:,.0f} ({rate / 10_000:.2f}×) | {cpu:.1f} "
                          f"({first['cpu_s']:.1f} + {first['workers_cpu_s']:.1f}) | "
                          f"{n / cpu:,.0f} | {peak:.0f} MB ({peak / 150:.2f}×) / {wpeak} | "
                          f"{n / again['wall_s']:,.0f} | {vt:.1f} ({vpeak / 1024:.0f} MB) | "
                          f"{load0:.1f}–{load1:.1f} |",
                          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
