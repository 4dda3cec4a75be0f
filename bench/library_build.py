"""Benchmark of building a library from a folder of spectrum files: files/s and peak memory.

The RRUFF Raman set (``../shared/data/raman/rruff_excellent_unoriented``) is written out as
5,471 RRUFF-format text files, as RRUFF distributes them (``##KEY=value`` header from the
metadata, ``x, y`` lines at each spectrum's native point count and range, CRLF line ends,
``##END=``); the 24 original files in that folder show the format. Then, each in a fresh
process (peak RSS by ``resource.getrusage``, CPU of the process and of its workers):

* ``interdict library build DIR -o LIB --technique raman --skip-unreadable`` (the whole
  command, interpreter start included);
* :func:`matcher.library.build_from_files` with 1 and 2 workers on the same files;

the folder also holds three stray files (a README, the metadata CSV, the packed ``.npz``),
skipped and listed;

and checks that the libraries built with 1 and 2 workers are the same file, byte for byte,
and the same library as the command's. Target (issue 12): ≥ 400 files/s using both cores.

Usage: ``python bench/library_build.py [--limit N] [--keep DIR]``
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import describe  # noqa: E402

RRUFF = ROOT.parent / "shared" / "data" / "raman" / "rruff_excellent_unoriented"
HEADER = (("NAMES", "mineral"), ("RRUFFID", "rruff_id"), ("IDEAL CHEMISTRY", "ideal_chemistry"),
          ("LOCALITY", "locality"), ("OWNER", "owner"), ("SOURCE", "source"),
          ("DESCRIPTION", "description"), ("STATUS", "status"), ("URL", "url"),
          ("MEASURED CHEMISTRY", "measured_chemistry"))


def write_rruff_folder(folder: Path, limit: int | None) -> int:
    """The packed RRUFF set as RRUFF text files in ``folder``; returns how many."""
    z = np.load(RRUFF / "rruff_raman_excellent_unoriented_1cm.npz", allow_pickle=False)
    inten, off, xs, index = z["intensity"], z["offsets"], z["x_start"], z["index"]
    with (RRUFF / "rruff_raman_excellent_unoriented_metadata.csv").open(encoding="utf-8") as fh:
        meta = {int(r["index"]): r for r in csv.DictReader(fh)}
    folder.mkdir(parents=True, exist_ok=True)
    n = len(index) if limit is None else min(limit, len(index))
    for i in range(n):
        row = meta[int(index[i])]
        y1 = inten[off[i]:off[i + 1]].astype(np.float64)
        grid = xs[i] + np.arange(y1.size, dtype=np.float64)
        x = np.linspace(float(row["native_x_min"]), float(row["native_x_max"]),
                        int(row["native_n_points"]))
        y = np.interp(x, grid, y1)
        lines = [f"##{k}={row[c]}" for k, c in HEADER]
        lines += [f"{a:.4f}, {b:.7g}" for a, b in zip(x, y, strict=True)]
        lines += ["##END=", "", ""]
        (folder / row["file_name"]).write_bytes("\r\n".join(lines).encode("utf-8"))
    return n


def strays(folder: Path) -> list[Path]:
    """What a downloaded folder also holds: a README, the metadata table, the packed set."""
    folder.mkdir(parents=True, exist_ok=True)
    readme = folder / "README.txt"
    readme.write_text("RRUFF Raman, excellent unoriented (2019 copy). Cite Lafuente et al. "
                      "2015.\n", encoding="utf-8")
    out = [readme]
    for name in ("rruff_raman_excellent_unoriented_metadata.csv",
                 "rruff_raman_excellent_unoriented_1cm.npz"):
        shutil.copyfile(RRUFF / name, folder / name)
        out.append(folder / name)
    return out


def child_api(files_list: Path, out: Path, workers: int) -> int:
    from matcher import defaults
    from matcher.library import build_from_files

    files = json.loads(files_list.read_text())
    c0 = time.process_time()
    t0 = time.perf_counter()
    built = build_from_files(files, pipeline=defaults.pipeline_for("raman"),
                             axis=defaults.axis_for("raman"), technique="raman",
                             library_id="rruff", workers=workers, skip_unreadable=True)
    built.library.save(out)
    wall = time.perf_counter() - t0
    cpu = time.process_time() - c0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    print(json.dumps({
        "wall_s": wall, "cpu_s": cpu, "workers_cpu_s": kids.ru_utime + kids.ru_stime,
        "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
        "workers_peak_rss_kb": kids.ru_maxrss, "entries": len(built.library),
        "skipped": [[s.path, s.reason] for s in built.skipped]}))
    return 0


def run(args: list[str], env: dict[str, str]) -> tuple[float, str]:
    """Run a process to its end; its wall time and its stdout."""
    t0 = time.perf_counter()
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         env=env, cwd=ROOT)
    out, err = p.communicate()
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])}... failed ({p.returncode}):\n{err[-3000:]}")
    return wall, out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--limit", type=int, default=None, help="only the first N spectra")
    ap.add_argument("--keep", type=Path, help="write the folders and libraries here, keep them")
    ap.add_argument("--cli", default="interdict",
                    help="the interdict executable to time (default: the one beside Python)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        return child_api(Path(args.child[0]), Path(args.child[1]), int(args.child[2]))
    if not RRUFF.is_dir():
        print(f"RRUFF data not found at {RRUFF}: nothing to measure")
        return 0
    print("library build benchmark (RRUFF Raman as text files)")
    print(f"machine: {describe(numpy=np.__version__)}")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="interdict-libbuild-") as tmp:
        work = args.keep or Path(tmp)
        folder = work / "rruff-text"
        if not folder.is_dir() or (args.limit is None and len(os.listdir(folder)) < 5471):
            t = time.perf_counter()
            n = write_rruff_folder(folder, args.limit)
            print(f"wrote {n:,} RRUFF text files in {time.perf_counter() - t:.0f} s "
                  f"({sum(f.stat().st_size for f in folder.iterdir()) / 2**20:.0f} MiB)")
        stray = strays(folder)  # in the folder, as downloaded: the command meets them too
        files = sorted(f for f in folder.iterdir() if f not in stray)
        n = len(files)
        listing = work / "files.json"
        listing.write_text(json.dumps([str(f) for f in files] + [str(s) for s in stray]))
        print("\n| what | files | wall s | files/s (×400 target) | CPU s (main + workers) | "
              "peak RSS main / per worker | load |")
        print("|---|---:|---:|---:|---:|---:|---|")
        cli = shutil.which(args.cli, path=str(Path(sys.executable).parent)) or args.cli
        results = {}
        for what, cmd in (
            ("interdict library build --skip-unreadable (+3 strays; whole command)",
             [cli, "library", "build", str(folder), "-o", str(work / "cli.ilib"),
              "--technique", "raman", "--id", "rruff", "--skip-unreadable", "--json"]),
            ("build_from_files, 1 worker (+3 strays skipped)",
             [sys.executable, __file__, "--child", str(listing), str(work / "w1.ilib"), "1"]),
            ("build_from_files, 2 workers (+3 strays skipped)",
             [sys.executable, __file__, "--child", str(listing), str(work / "w2.ilib"), "2"]),
        ):
            load0 = os.getloadavg()[0]
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            wall, out = run(cmd, env)
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            load1 = os.getloadavg()[0]
            if "--child" in cmd:
                d = json.loads(out.strip().splitlines()[-1])
                results[what] = d
                cpu = f"{d['cpu_s'] + d['workers_cpu_s']:.1f} ({d['cpu_s']:.1f} + " \
                      f"{d['workers_cpu_s']:.1f})"
                rss = f"{d['peak_rss_kb'] / 1024:.0f} / " + (
                    f"{d['workers_peak_rss_kb'] / 1024:.0f} MB" if d["workers_cpu_s"] else "–")
                wall = d["wall_s"]  # the build and save, without the interpreter's start
            else:
                results[what] = json.loads(out)
                cpu = f"{(r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime):.1f}"
                rss = f"{r1.ru_maxrss / 1024:.0f} MB (max of the processes so far)"
            print(f"| {what} | {n:,} | {wall:.1f} | {n / wall:,.0f} ({n / wall / 400:.2f}×) | "
                  f"{cpu} | {rss} | {load0:.1f}–{load1:.1f} |", flush=True)
        w1, w2 = (work / "w1.ilib").read_bytes(), (work / "w2.ilib").read_bytes()
        assert w1 == w2, "1 and 2 workers built different files"
        from matcher.library import Library

        a, b = Library.load(work / "w1.ilib"), Library.load(work / "cli.ilib")
        assert a.hash == b.hash, "build_from_files and the command built different libraries"
        skipped = results["build_from_files, 2 workers (+3 strays skipped)"]["skipped"]
        print(f"\n1 and 2 workers: the same file ({len(w1) / 2**20:.0f} MiB, byte for byte); "
              f"the same library as the command's (hash {a.hash[:16]}…)")
        print("skipped, with the reason:")
        for path, reason in skipped:
            print(f"  {Path(path).name}: {reason}")
        by_cli = [(s["file"], s["reason"]) for s in
                  results["interdict library build --skip-unreadable (+3 strays; whole command)"]
                  ["skipped"]]
        assert sorted(by_cli) == sorted(map(tuple, skipped)), by_cli
        print("the command skipped the same files, for the same reasons")
    return 0


if __name__ == "__main__":
    sys.exit(main())
