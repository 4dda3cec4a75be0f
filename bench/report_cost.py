"""Benchmark: what one parcel's evidence report costs, against the size of the database.

The report used to verify the whole database (``Store.verify(deep=True)``: every event, every
record, every raw spectrum decoded) before it printed one parcel, so its cost grew with the
database. It now verifies that parcel (``Store.verify_item``: its events against the signed
heads of their transactions, the last signed head, its records and spectra). Both are timed
here on the same databases, with the same report otherwise (collect + render, no library so
no plot, which is the same work in both); "before" swaps ``verify_item`` for the whole-database
``verify(deep=True)`` the old code called.

Also printed: the signing cost every write transaction now pays (one Ed25519 signature of the
new head, one verification of the previous head).

Usage: ``python bench/report_cost.py [--sizes 100,20000] [--repeat 5]``
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from _machine import describe  # noqa: E402
from records import KEY, aed, ident, item, raw_spectrum  # noqa: E402

from parcels.records import DeviceIdentity, Parcel  # noqa: E402
from parcels.store import NewInspection, SQLiteStore  # noqa: E402
from station.report.collect import collect_report  # noqa: E402
from station.report.render import render_html  # noqa: E402


def build(path: Path, n: int) -> None:
    """``n`` parcels, each inspected once with a 1,800-point raw spectrum (batched writes)."""
    rng = np.random.default_rng(3)
    pool = [raw_spectrum(rng, k) for k in range(64)]
    result = ident()
    device = DeviceIdentity(make="Bench", model="RM", serial="B1", firmware="1.0")
    with SQLiteStore(path, synchronous="NORMAL", signer=KEY) as store:
        store.import_parcels(((k, Parcel.model_validate(aed(k))) for k in range(n)),
                             actor="bench", source="bench")
        for b in range(0, n, 200):
            store.add_inspections([
                NewInspection(item_id=item(k), spectrum=pool[k % 64].replace(
                    y=pool[k % 64].y + k), identification=result, operator="bench",
                    station="bench", device=device)
                for k in range(b, min(n, b + 200))])


class WholeDatabase:
    """The store as the old report used it: ``verify_item`` is the whole-database check."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def verify_item(self, item_id: str, **_: Any) -> Any:
        return self._store.verify(deep=True, trusted_keys=[KEY.key_id])


def time_report(store: Any, item_id: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        report = collect_report(store, item_id, libs=None, trusted_keys=[KEY.key_id])
        render_html(report)
        times.append(time.perf_counter() - t)
        assert report.chain_ok, report.chain_message
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,20000")
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print("evidence report cost against database size")
    print(f"machine: {describe()}")
    rows = []
    with tempfile.TemporaryDirectory(prefix="interdict-report-") as tmp:
        for n in sizes:
            path = Path(tmp) / f"db-{n}.sqlite"
            t = time.perf_counter()
            build(path, n)
            print(f"  built {n:,} inspected parcels in {time.perf_counter() - t:.1f} s "
                  f"({path.stat().st_size / 2**20:.0f} MiB)")
            target = item(n // 2)
            with SQLiteStore(path) as store:
                after = time_report(store, target, args.repeat)
                before = time_report(WholeDatabase(store), target, max(1, args.repeat // 2))
            rows.append((n, before, after))
    print(f"\n  median time to build one parcel's report (collect + render, no plot), "
          f"{args.repeat} runs")
    print(f"  {'inspections':>12} {'before (whole db)':>18} {'after (the parcel)':>19} "
          f"{'speed-up':>9}")
    for n, before, after in rows:
        print(f"  {n:>12,} {1e3 * before:>15.1f} ms {1e3 * after:>16.1f} ms "
              f"{before / after:>8.0f}x")
    if len(rows) > 1:
        (n0, b0, a0), (n1, b1, a1) = rows[0], rows[-1]
        print(f"  growth from {n0:,} to {n1:,} inspections ({n1 / n0:.0f}x the data): "
              f"before {b1 / b0:.1f}x, after {a1 / a0:.2f}x")

    from parcels.signing import StationKey

    key = StationKey.generate()
    head = key.sign_head(seq=1, hash="0" * 64, prev_seq=0)
    k = 2000
    t = time.perf_counter()
    for i in range(k):
        key.sign_head(seq=i + 1, hash="0" * 64, prev_seq=i)
    sign = (time.perf_counter() - t) / k
    t = time.perf_counter()
    for _ in range(k):
        key.public.verify(head)
    verify = (time.perf_counter() - t) / k
    print(f"\n  per write transaction: Ed25519 signature of the new head {1e6 * sign:.0f} µs, "
          f"verification of the previous head {1e6 * verify:.0f} µs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
