"""``interdict ingest --watch`` end to end, as a separate process: a real export copied in
slowly (in chunks while the watcher runs) is taken only once complete, a duplicate is
recognised, an unreadable file is quarantined, a real OPUS file is recorded with its bytes,
and SIGTERM stops the watcher cleanly. The test waits on the lines the watcher prints (each
chunk is written once the watcher has said it saw the previous one), never on a sleep."""

from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from station.cli import main
from tests.station.conftest import AED_BATCH, FENTANYL_PARCEL

ROOT = Path(__file__).resolve().parents[2]
RULE = r"^(?P<item>[A-Z]{2}[0-9]{9}[A-Z]{2})_"
SETTLE_S = "2.5"  # the longest a chunk may take to follow the watcher's line without a take


class Watcher:
    """The ``interdict ingest --watch --json`` process and its lines, read as they come."""

    def __init__(self, args: list[str]) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen([sys.executable, "-m", "station.cli", "ingest", *args],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     stdin=subprocess.DEVNULL, text=True, cwd=ROOT, env=env)
        self.lines: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.returned: set[int] = set()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(json.loads(line))

    def wait_for(self, event: str, timeout_s: float = 60.0, **match: object) -> dict[str, Any]:
        """The first line of ``event`` with ``match`` not returned yet (lines that came
        before it are kept: several files settle in one look, in name order)."""

        def fits(ev: dict[str, Any]) -> bool:
            return ev["event"] == event and all(ev.get(k) == v for k, v in match.items())

        for ev in self.seen:
            if fits(ev) and id(ev) not in self.returned:
                self.returned.add(id(ev))
                return ev
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            try:
                ev = self.lines.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(ev)
            if fits(ev):
                self.returned.add(id(ev))
                return ev
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr \
            else ""
        raise AssertionError(f"no {event} {match}; seen {self.seen}; stderr {err}")


def test_hot_folder_end_to_end(tmp_path: Path, demo_library_file: Path,
                               shared_data: Path) -> None:
    db, hot = tmp_path / "evidence.db", tmp_path / "hot"
    hot.mkdir()
    assert main(["parcel", "import", str(AED_BATCH), "--db", str(db), "--by", "test"]) == 0
    vendor = shared_data / "formats" / "vendor"
    spa = (vendor / "omnic" / "cylohex.spa").read_bytes()
    opus = (vendor / "opus" / "issue81_A1.1.0").read_bytes()  # mid-IR, Tensor 27
    w = Watcher([str(hot), "--watch", "--json", "--settle", SETTLE_S, "--poll", "0.05",
                 "--db", str(db), "--library", str(demo_library_file), "--operator",
                 "officer.e2e", "--station", "E2E-IN", "--ingest-name-rule", RULE])
    try:
        w.wait_for("watching")
        # 1. an OMNIC export copied in slowly: each chunk once the watcher saw the last one
        slow = hot / f"{FENTANYL_PARCEL}_cyclohexane.spa"
        chunks = [spa[i:i + 4096] for i in range(0, len(spa), 4096)]
        assert len(chunks) >= 3
        with slow.open("wb") as fh:
            written = 0
            for chunk in chunks:
                fh.write(chunk)
                fh.flush()
                written += len(chunk)
                w.wait_for("waiting", file=slow.name, size=written)
        rec = w.wait_for("recorded", file=slow.name)
        # taken whole: the bytes hashed are the whole file's, and not one event came early
        assert rec["sha256"] == hashlib.sha256(spa).hexdigest() and rec["size"] == len(spa)
        kinds = [e["event"] for e in w.seen if e.get("file") == slow.name]
        assert kinds[-1] == "recorded" and set(kinds[:-1]) == {"waiting"}
        assert len(kinds) - 1 >= len(chunks)  # it saw each chunk arrive, and waited
        assert rec["item_id"] == FENTANYL_PARCEL and rec["format"] == "omnic"

        # 2. the same bytes again under another name, an unreadable file, a real OPUS export
        (hot / "RB771209649NL_again.spa").write_bytes(spa)
        (hot / "EE526093811HK_truncated.0").write_bytes(opus[:1000])
        (hot / "LX403127580CN_tensor.0").write_bytes(opus)
        dup = w.wait_for("duplicate", file="RB771209649NL_again.spa")
        assert dup["item_id"] == FENTANYL_PARCEL and dup["error"] == "DuplicateOriginalError"
        bad = w.wait_for("quarantined", file="EE526093811HK_truncated.0")
        assert bad["error"].endswith("Error") and "EE526093811HK_truncated.0" in bad["reason"]
        ok = w.wait_for("recorded", file="LX403127580CN_tensor.0")
        assert ok["sha256"] == hashlib.sha256(opus).hexdigest() and ok["format"] == "opus"
        assert ok["device"] == {"make": "Bruker", "model": "Tensor 27",
                                "serial": "T27.1091.05", "firmware": "1.470 Oct  5 2006"}
        assert ok["acquisition"]["accumulations"] == 256  # the file's own settings

        # 3. SIGTERM: a clean stop
        w.proc.send_signal(signal.SIGTERM)
        w.wait_for("stopped")
        assert w.proc.wait(timeout=30) == 0
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
            w.proc.wait()
    assert sorted(p.name for p in (hot / "done").iterdir()) == [
        f"{FENTANYL_PARCEL}_cyclohexane.spa", "LX403127580CN_tensor.0"]
    assert sorted(p.name for p in (hot / "quarantine").iterdir()) == [
        "EE526093811HK_truncated.0", "EE526093811HK_truncated.0.reason.json",
        "RB771209649NL_again.spa", "RB771209649NL_again.spa.reason.json"]
    from parcels.store import open_store

    with open_store(db, create=False) as store:
        for item, data in ((FENTANYL_PARCEL, spa), ("LX403127580CN", opus)):
            [ins] = store.get_parcel(item).inspections
            assert ins.original_file is not None and ins.station == "E2E-IN"
            meta, stored = store.get_original(ins.original_file.sha256)
            assert stored == data and meta.sha256 == hashlib.sha256(data).hexdigest()
        assert store.get_parcel("RB771209649NL").inspections == ()
        assert store.get_parcel("EE526093811HK").inspections == ()
        kinds = [e.kind.value for e in store.audit_events(item_id="LX403127580CN")]
        # the scan's events, with the original file's between the scan and its verdict
        assert kinds == ["import", "hold-request", "hold", "scan", "original-file", "verdict",
                         "inspected"]
    assert main(["audit", "verify", "--db", str(db)]) == 0
