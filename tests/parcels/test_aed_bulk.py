"""Bulk AED import: memory flat in the file's size, the same store with any number of worker
processes, bounded rejected-row lists, and a process killed mid-import leaves whole chunks."""

from __future__ import annotations

import csv
import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parcels import aed as aed_module
from parcels.aed import RowError, flatten, import_batch
from parcels.store import ParcelRow, SQLiteStore, Store

from .builders import KEY, aed, item_id, parcel

ROOT = Path(__file__).resolve().parents[2]
CLOCK = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
TABLES = ("audit_events", "signed_heads", "station_keys", "parcels", "holds",
          "hold_transitions")


def row(n: int) -> dict[str, object]:
    """Row ``n`` of a test batch: a hold on every 7th, a bad check digit on every 13th."""
    r = aed(n, hold=n % 7 == 3)
    if n % 13 == 5:
        r["item_id"] = item_id(n)[:10] + str((int(item_id(n)[10]) + 1) % 10) + "US"
    return r


def write_batch(path: Path, n: int, fmt: str = "jsonl") -> Path:
    rows = [row(k) for k in range(n)]
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
        return path
    flat = [flatten(r) for r in rows]
    cols = sorted({c for f in flat for c, v in f.items() if v is not None})
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(cols)
        for f in flat:
            w.writerow(["" if f.get(c) is None else f[c] for c in cols])
    return path


def dump(db: Path) -> dict[str, list[tuple[object, ...]]]:
    con = sqlite3.connect(db)
    try:
        return {t: con.execute(f"SELECT * FROM {t} ORDER BY rowid").fetchall() for t in TABLES}
    finally:
        con.close()


def fixed_store(path: Path) -> SQLiteStore:
    return SQLiteStore(path, synchronous="NORMAL", signer=KEY, clock=lambda: CLOCK)


def test_memory_does_not_grow_with_the_number_of_rows(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """10,000 more rows cost less than 20 bytes each of traced memory at the peak (the import
    held an outcome per row before, 560 bytes each, and every rejected row). The peak of the
    same import moves by up to ~80 kB from run to run (when the collector frees the cycles
    validation errors leave), so the sizes are far enough apart for that to stay below the
    bound (2,700 rows apart, it failed one run in three)."""
    monkeypatch.setattr(aed_module, "MAX_REJECTED_KEPT", 10)  # 1 row in 13 is rejected
    peaks = []
    for n in (300, 10_300):
        batch = write_batch(tmp_path / f"b{n}.jsonl", n)
        with fixed_store(tmp_path / f"{n}.db") as store:
            tracemalloc.start()
            try:
                s = import_batch(store, batch, actor="feed", chunk=100)
                _, peak = tracemalloc.get_traced_memory()
            finally:
                tracemalloc.stop()
        assert s.rows == n and s.inserted + s.rejected_rows == n
        peaks.append(peak)
    assert (peaks[1] - peaks[0]) / 10_000 < 20, f"peak traced bytes {peaks}"


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_worker_processes_store_exactly_what_one_process_stores(
    tmp_path: Path, fmt: str
) -> None:
    n = 400
    batch = write_batch(tmp_path / f"batch.{fmt}", n, fmt)
    runs = {}
    for workers in (1, 2):
        seen: list[RowError] = []
        db = tmp_path / f"w{workers}.db"
        with fixed_store(db) as store:
            s = import_batch(store, batch, actor="feed", chunk=30, workers=workers,
                             on_rejected=seen.append)
            assert store.verify().ok
        runs[workers] = (s, seen, dump(db))
    (s1, seen1, db1), (s2, seen2, db2) = runs[1], runs[2]
    assert s1 == s2 and seen1 == seen2 and db1 == db2
    bad = [k + 1 + (fmt == "csv") for k in range(n) if k % 13 == 5]  # CSV: after its header
    assert [r.line for r in seen1] == bad and s1.rejected_rows == len(bad)
    assert s1.holds_requested == sum(1 for k in range(n) if k % 7 == 3 and k % 13 != 5)
    assert len(db1["audit_events"]) == s1.inserted + s1.holds_requested


def test_the_stores_default_prepared_path_stores_what_the_fast_path_stores(
    tmp_path: Path
) -> None:
    """``Store.import_parcel_rows`` as a backend without a fast path runs it (re-validating
    each record) gives the same database as SQLite's own."""
    rows = [ParcelRow.of(k + 1, parcel(k, hold=k % 3 == 0)) for k in range(40)]
    with fixed_store(tmp_path / "fast.db") as fast, fixed_store(tmp_path / "slow.db") as slow:
        a = fast.import_parcel_rows(rows, actor="feed", source="b")
        b = Store.import_parcel_rows(slow, rows, actor="feed", source="b")
    assert a == b
    assert dump(tmp_path / "fast.db") == dump(tmp_path / "slow.db")


def test_the_same_id_twice_in_one_chunk(store: SQLiteStore, tmp_path: Path) -> None:
    changed = aed(1)
    changed["recipient"]["name"] = "Someone Else"
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in (aed(1), aed(2), aed(1), changed)) + "\n",
                    encoding="utf-8")
    s = import_batch(store, path, actor="feed")
    assert (s.inserted, s.unchanged, [r.line for r in s.rejected]) == (2, 1, [4])
    assert "different content" in s.rejected[0].reason
    assert store.get_parcel(item_id(1)).parcel.recipient.name == "Recipient 1"
    assert store.verify().ok


def test_rejected_rows_listed_up_to_a_bound_all_counted_and_all_passed_on(
    store: SQLiteStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(aed_module, "MAX_REJECTED_KEPT", 5)
    lines = [json.dumps(aed(k)) if k % 2 else "not json" for k in range(30)]
    path = tmp_path / "b.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    seen: list[RowError] = []
    s = import_batch(store, path, actor="feed", chunk=4, on_rejected=seen.append)
    assert [r.line for r in s.rejected] == [1, 3, 5, 7, 9]
    assert s.rejected_rows == 15 and [r.line for r in seen] == list(range(1, 30, 2))
    assert s.inserted == 15 and not s.ok
    assert "15 rejected (the first 5 listed)" in s.message()


def test_progress_reports_bytes_read_up_to_the_file_size(
    store: SQLiteStore, tmp_path: Path
) -> None:
    path = write_batch(tmp_path / "b.jsonl", 100)
    calls: list[tuple[int, int]] = []
    import_batch(store, path, actor="feed", chunk=30, progress=lambda d, t: calls.append((d, t)))
    size = path.stat().st_size
    assert [t for _, t in calls] == [size] * len(calls) and calls[-1] == (size, size)
    done = [d for d, _ in calls]
    assert done == sorted(done) and len(calls) == 5  # 4 blocks of <= 30 rows, then the end


def test_bad_arguments_are_refused(store: SQLiteStore, tmp_path: Path) -> None:
    path = write_batch(tmp_path / "b.jsonl", 3)
    with pytest.raises(ValueError, match="chunk"):
        import_batch(store, path, actor="feed", chunk=0)
    with pytest.raises(ValueError, match="workers"):
        import_batch(store, path, actor="feed", workers=0)


_CHILD = """
import sys
from parcels.aed import import_batch
from parcels.store import SQLiteStore
from tests.parcels.builders import KEY

with SQLiteStore(sys.argv[1], signer=KEY) as store:
    print("ready", flush=True)
    import_batch(store, sys.argv[2], actor="feed", chunk=int(sys.argv[3]), workers=1,
                 progress=lambda done, total: print("committed", done, flush=True))
"""


def test_kill_minus_9_mid_import_leaves_whole_chunks_and_a_verifying_chain(
    tmp_path: Path
) -> None:
    n, chunk = 2000, 100
    batch = write_batch(tmp_path / "b.jsonl", n)
    good_in_order = [item_id(k) for k in range(n) if k % 13 != 5]
    whole_chunks = {sum(1 for j in range(k) if j % 13 != 5) for k in range(0, n + 1, chunk)}
    db = tmp_path / "evidence.db"
    rng = random.Random(20261122)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for _ in range(3):
        p = subprocess.Popen([sys.executable, "-c", _CHILD, str(db), str(batch), str(chunk)],
                             cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
        assert p.stdout is not None
        assert p.stdout.readline().strip() == "ready"
        for _ in range(rng.randint(1, 3)):  # some chunks committed, then kill at once
            line = p.stdout.readline()
            if not line:
                break
        os.kill(p.pid, signal.SIGKILL)
        p.wait(timeout=60)
        p.stdout.close()
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = [r[0] for r in con.execute("SELECT item_id FROM parcels ORDER BY event_seq")]
        con.close()
        # whole chunks of the file, in order: the good rows of its first k chunks
        assert stored == good_in_order[:len(stored)]
        assert len(stored) in whole_chunks
        with SQLiteStore(db) as s:
            assert s.verify().ok
    with SQLiteStore(db, signer=KEY) as s:
        before = len(stored)
        summary = import_batch(s, batch, actor="feed")
        assert (summary.unchanged, summary.inserted) == (before, len(good_in_order) - before)
        assert s.verify().ok
