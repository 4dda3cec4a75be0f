"""Benchmark of identifying many files: ``interdict identify`` of 500 files against
:func:`matcher.batch.identify_files` with 1 and 2 workers (files/s, CPU, peak memory).

The 500 files are RRUFF Raman spectra written as RRUFF text files (as
``bench/library_build.py`` writes them; minerals, so most verdicts are NO MATCH against the
embedded default library of drugs, cutting agents and solvents: the work is the same). Each
run is a fresh process; the command's time includes its start (imports), the library runs'
do not (they are timed from the call). The verdicts and top hits of all runs are checked
to be the same.

Usage: ``python bench/identify_files.py [--files N] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _machine import describe  # noqa: E402
from library_build import RRUFF, write_rruff_folder  # noqa: E402


def child(listing: Path, home: Path, workers: int) -> int:
    from matcher.batch import Identifiers, identify_files
    from station.workflows.library import open_libraries

    files = json.loads(listing.read_text())
    lib_set = open_libraries(None, home)
    c0 = time.process_time()
    t0 = time.perf_counter()
    rows = [(r.path, r.index, r.result.verdict.value if r.result else "error",
             r.result.hits[0].entry_id if r.result and r.result.hits else "")
            for r in identify_files(files, Identifiers(lib_set), k=5, workers=workers)]
    wall = time.perf_counter() - t0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({"wall_s": wall, "cpu_s": time.process_time() - c0,
                      "workers_cpu_s": kids.ru_utime + kids.ru_stime,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "workers_peak_rss_kb": kids.ru_maxrss, "rows": rows}))
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--files", type=int, default=500)
    ap.add_argument("--keep", type=Path, help="write the files here and keep them")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child(Path(args.child[0]), Path(args.child[1]), int(args.child[2]))
    if not RRUFF.is_dir():
        print(f"RRUFF data not found at {RRUFF}: nothing to measure")
        return 0
    print("identify many files (embedded default library)")
    print(f"machine: {describe(numpy=np.__version__)}")
    with tempfile.TemporaryDirectory(prefix="interdict-idfiles-") as tmp:
        work = args.keep or Path(tmp)
        folder = work / "files"
        if not folder.is_dir() or len(os.listdir(folder)) < args.files:
            write_rruff_folder(folder, args.files)
        files = sorted(folder.iterdir())[: args.files]
        home = work / "home"
        home.mkdir(exist_ok=True)
        env = {**os.environ, "PYTHONPATH": str(ROOT), "INTERDICT_DB": str(home / "evidence.db")}
        cli = str(Path(sys.executable).parent / "interdict")
        # build the default library once, outside the timings
        subprocess.run([cli, "identify", str(files[0])], env=env, capture_output=True,
                       check=False, cwd=home)
        listing = work / "files.json"
        listing.write_text(json.dumps([str(f) for f in files]))
        n = len(files)
        print("\n| what | files | wall s | files/s | CPU s (main + workers) | peak RSS main / "
              "per worker | load |")
        print("|---|---:|---:|---:|---:|---:|---|")
        answers = {}
        for what, cmd in (
            ("interdict identify --format csv (whole command, 1 worker)",
             [cli, "identify", *map(str, files), "--format", "csv"]),
            ("interdict identify --format csv --workers 2 (whole command)",
             [cli, "identify", *map(str, files), "--format", "csv", "--workers", "2"]),
            ("identify_files, 1 worker",
             [sys.executable, __file__, "--child", str(listing), str(home), "1"]),
            ("identify_files, 2 workers",
             [sys.executable, __file__, "--child", str(listing), str(home), "2"]),
        ):
            load0 = os.getloadavg()[0]
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.perf_counter()
            p = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=home,
                               check=False)
            wall = time.perf_counter() - t0
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            load1 = os.getloadavg()[0]
            if p.returncode not in (0, 1):
                raise SystemExit(f"{what} failed ({p.returncode}):\n{p.stderr[-2000:]}")
            if "--child" in cmd:
                d = json.loads(p.stdout.strip().splitlines()[-1])
                answers[what] = [tuple(r) for r in d["rows"]]
                wall = d["wall_s"]
                cpu = (f"{d['cpu_s'] + d['workers_cpu_s']:.1f} ({d['cpu_s']:.1f} + "
                       f"{d['workers_cpu_s']:.1f})")
                rss = f"{d['peak_rss_kb'] / 1024:.0f} / " + (
                    f"{d['workers_peak_rss_kb'] / 1024:.0f} MB" if d["workers_cpu_s"] else "–")
            else:
                rows = list(csv.reader(io.StringIO(p.stdout)))[1:]
                answers[what] = [(r[0], int(r[1]), r[2], r[7]) for r in rows]
                cpu = f"{(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime):.1f}"
                rss = f"{r1.ru_maxrss / 1024:.0f} MB"
            print(f"| {what} | {n} | {wall:.1f} | {n / wall:,.0f} | {cpu} | {rss} | "
                  f"{load0:.1f}–{load1:.1f} |", flush=True)
        first, *others = answers.values()
        assert all(o == first for o in others), "the runs gave different answers"
        print(f"\nall runs gave the same verdict and top hit for all {len(first)} "
              "spectra")
    return 0


if __name__ == "__main__":
    sys.exit(main())
