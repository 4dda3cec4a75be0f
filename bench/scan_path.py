"""The scan path, end to end: ``interdict scan`` of one parcel against the simulated analyzer.

Each scan connects to the simulator (a separate process on a pty, as in the end-to-end
tests), acquires a Raman spectrum (auto-exposure included), identifies it against the demo
library, records the inspection in the evidence store (one signed transaction) and prints
the verdict. The scans run in this process through ``station.cli.main``, so the figures are
this process's: the wall time of a scan (which includes the simulated integration and the
link) and its CPU time (the host's own work: decoding, preprocessing, search, storing). The
first scan (self-test, library load) is a warm-up and is not counted.

Nothing is asserted. ``--root DIR`` runs another checkout's code (to compare before/after).

    python bench/scan_path.py [--scans 15] [--root DIR]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))
from _machine import describe  # noqa: E402

PARCEL = "LX403127580CN"
"""A parcel of the sample AED batch whose scenario sample is a plain Raman match."""


def main() -> int:
    """Time ``--scans`` scans of one parcel and print the medians."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--scans", type=int, default=15)
    ap.add_argument("--root", type=Path, default=ROOT, help="checkout whose code runs")
    args = ap.parse_args()
    sys.path.insert(0, str(args.root.resolve()))
    from station.cli import main as cli
    from station.commands.demo import start_simulator, stop_simulator
    from station.workflows.library import build_library_set

    print(f"machine: {describe()}")
    print(f"code: {args.root.resolve()}")
    with tempfile.TemporaryDirectory(prefix="interdict-scan-bench-") as tmp:
        d = Path(tmp)
        os.environ["INTERDICT_KEY"] = str(d / "station.key")
        db, lib = d / "evidence.db", d / "demo.ilib"
        build_library_set(synthetic=True, library_id="interdict-demo").save(lib)
        batch = args.root / "fixtures" / "aed" / "sample_batch.jsonl"
        sink = io.StringIO()
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
            if cli(["parcel", "import", str(batch), "--db", str(db), "--by", "bench"]) != 0:
                print(sink.getvalue(), file=sys.stderr)
                return 1
        proc, url = start_simulator(d)
        walls, cpus = [], []
        try:
            for k in range(args.scans + 1):
                sink = io.StringIO()
                w0, c0 = time.perf_counter(), time.process_time()
                with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
                    code = cli(["scan", "--device", url, "--parcel", PARCEL, "--db", str(db),
                                "--library", str(lib), "--operator", "bench",
                                "--station", "BENCH"])
                wall, cpu = time.perf_counter() - w0, time.process_time() - c0
                if code not in (0, 10, 11):
                    print(sink.getvalue(), file=sys.stderr)
                    print(f"scan {k} exited {code}", file=sys.stderr)
                    return 1
                if k:  # the first scan is the warm-up
                    walls.append(wall)
                    cpus.append(cpu)
        finally:
            stop_simulator(proc, url)
    load = os.getloadavg()
    print(f"{len(walls)} scans of {PARCEL} (load average at the end: {load[0]:.2f}):")
    print(f"  wall  median {1e3 * statistics.median(walls):8.1f} ms   "
          f"min {1e3 * min(walls):8.1f} ms")
    print(f"  CPU   median {1e3 * statistics.median(cpus):8.1f} ms   "
          f"min {1e3 * min(cpus):8.1f} ms   (this process: the host's own work)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
