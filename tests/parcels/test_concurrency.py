"""Several writer processes on one database; and kill -9 of a writer at random moments."""

from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from multiprocessing.connection import Connection
from pathlib import Path

from parcels.store import SQLiteStore

from ._writer import write
from .builders import KEY, item_id, parcel
from .conftest import Backend

ROOT = Path(__file__).resolve().parents[2]


def writer(db: Path | str, items: list[str], count: int, seed: int) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.parcels._writer", str(db), ",".join(items), str(count),
         str(seed)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def test_several_writer_processes(backend: Backend) -> None:
    """Four processes write at once; on PostgreSQL each through its own pool: one chain."""
    with backend.open() as s:
        s.import_parcels([(i, parcel(i)) for i in range(5)], actor="aed", source="b")
    shared = item_id(4)
    procs = [writer(backend.location, [item_id(w), shared], 24, w) for w in range(4)]
    committed: list[str] = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        lines = out.split()
        assert lines[0] == "ready"
        committed.extend(lines[1:])
    assert len(committed) == 96
    with backend.open() as s:
        report = s.verify()
        assert report.ok, report.message()
        stored = {i.inspection_id for n in range(5)
                  for i in s.get_parcel(item_id(n)).inspections}
        assert stored == set(committed)
        assert len(s.get_parcel(shared).inspections) == 48
        # 5 imports + 96 × (scan + verdict), one linear chain
        assert report.events == 197 and report.head_seq == 197
        seqs = [e.seq for e in s.audit_events()]
        assert seqs == list(range(1, 198))


def _write_to_pipe(db: str, items: list[str], seed: int, send: Connection) -> None:
    write(db, items, -1, seed, send.send)


def test_kill_minus_9_loses_no_committed_inspection(db_path: Path) -> None:
    with SQLiteStore(db_path, signer=KEY) as s:
        s.import_parcels([(1, parcel(1)), (2, parcel(2))], actor="aed", source="b")
    rng = random.Random(20261122)
    committed: list[str] = []
    killed_while_writing = 0
    ctx = multiprocessing.get_context("fork")  # a forked child starts writing at once
    for k in range(20):
        receive, send = ctx.Pipe(duplex=False)
        p = ctx.Process(target=_write_to_pipe, args=(str(db_path), [item_id(1), item_id(2)],
                                                       k, send))
        p.start()
        send.close()
        assert receive.recv() == "ready"
        time.sleep(rng.uniform(0.0, 0.05))
        assert p.pid is not None
        os.kill(p.pid, signal.SIGKILL)
        p.join(timeout=30)
        assert p.exitcode == -signal.SIGKILL
        killed_while_writing += 1
        while True:
            try:
                committed.append(receive.recv())
            except EOFError:
                break
        receive.close()
    assert killed_while_writing == 20
    assert len(committed) > 20  # the writers did write between kills
    assert "ready" not in committed
    con = sqlite3.connect(db_path)
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert con.execute("PRAGMA foreign_key_check").fetchall() == []
    n_insp = con.execute("SELECT count(*) FROM inspections").fetchone()[0]
    n_res = con.execute("SELECT count(*) FROM results").fetchone()[0]
    n_scan = con.execute("SELECT count(*) FROM audit_events WHERE kind = 'scan'").fetchone()[0]
    con.close()
    # nothing partial: every inspection has its result and its scan event, and no more
    assert n_insp == n_res == n_scan
    with SQLiteStore(db_path, signer=KEY) as s:
        report = s.verify(deep=True)
        assert report.ok, report.message()
        stored = {i.inspection_id for n in (1, 2) for i in s.get_parcel(item_id(n)).inspections}
    # every inspection whose commit was acknowledged is there; at most one unacknowledged
    # (committed, killed before printing) per kill
    assert set(committed) <= stored
    assert len(stored) - len(committed) <= 20
