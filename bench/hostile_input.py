"""Hostile input to the spectrum readers: time against input size, and peak memory.

1. JCAMP-DX with n repeated labels (``##$REPEATED=...``, n = 1,000 … 64,000): CPU time of
   one read (median of 3), and time per label. Linear code keeps the time per label flat;
   the old reader's grew with n (8,000 labels: 8 s).
2. The delimited-text reader on generated two-column files of ``--text-mb`` MB (default 50),
   with long rows (26 bytes) and short ones (integers, ~10 bytes): peak traced memory
   (tracemalloc) and the process's peak RSS growth, each read in a fresh subprocess, against
   the size of the file and of the output arrays.

Prints figures, asserts nothing. ``--code DIR`` runs the same measurements against another
checkout's ``spectra`` package (e.g. ``git archive <commit> spectra | tar -x -C DIR``), for
before/after figures.

Usage: ``python bench/hostile_input.py [--code DIR] [--labels 1000,2000,...] [--text-mb 50]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from _machine import describe  # noqa: E402

GOOD = """##TITLE=demo
##JCAMP-DX=4.24
##DATA TYPE=INFRARED SPECTRUM
##XUNITS=1/CM
{labels}##YUNITS=ABSORBANCE
##XFACTOR=1.0
##YFACTOR=0.001
##FIRSTX=1000
##LASTX=1011
##NPOINTS=12
##FIRSTY=0.1
##XYDATA=(X++(Y..Y))
1000A00J0J0J0J0J0
1005A50J0J0J0J0J0J0
##END=
"""

_MEMORY_CHILD = """
import json, resource, sys, time, tracemalloc
sys.path.insert(0, sys.argv[1])
from pathlib import Path
from spectra.formats import text
path = Path(sys.argv[2])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
if sys.argv[3] == "traced":
    tracemalloc.start()
t0 = time.process_time()
(s,) = text.read(path)
cpu = time.process_time() - t0
peak = tracemalloc.get_traced_memory()[1] if sys.argv[3] == "traced" else None
rss = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base) * 1024
print(json.dumps({"n": len(s), "out": s.x.nbytes + s.y.nbytes, "peak": peak, "rss": rss,
                  "cpu": cpu}))
"""


def _code_dir(arg: str | None) -> Path:
    return Path(arg).resolve() if arg else ROOT


def jcamp_scaling(code: Path, sizes: list[int], work: Path) -> None:
    sys.path.insert(0, str(code))
    from spectra.formats import jcamp

    print(f"\nJCAMP-DX repeated labels (spectra from {code}):")
    print(f"{'labels':>8} {'file kB':>8} {'CPU s (median of 3)':>20} {'µs per label':>13}")
    for n in sizes:
        labels = "".join(f"##$REPEATED=value {i}\n" for i in range(n))
        p = work / f"rep{n}.jdx"
        p.write_text(GOOD.format(labels=labels))
        times = []
        for _ in range(3):
            t0 = time.process_time()
            jcamp.read(p)
            times.append(time.process_time() - t0)
        med = statistics.median(times)
        print(f"{n:>8} {p.stat().st_size / 1e3:>8.0f} {med:>20.3f} {1e6 * med / n:>13.1f}")
    sys.path.remove(str(code))


def _text_file(work: Path, megabytes: float, rows_kind: str) -> Path:
    """``long`` rows: ``1234.567890,987.654321`` (26 bytes); ``short``: ``1234,567`` (9-10
    bytes, integer counts on a pixel-like axis)."""
    p = work / f"big_{megabytes:g}MB_{rows_kind}.csv"
    if p.exists():
        return p
    import numpy as np

    rows = int(megabytes * 1e6 / (25 if rows_kind == "long" else 10))
    rng = np.random.default_rng(0)
    with p.open("w") as fh:
        fh.write("# name: generated\nshift,intensity\n")
        for i in range(0, rows, 100_000):
            k = min(100_000, rows - i)
            if rows_kind == "long":
                x = 100.0 + i + np.arange(k) + rng.uniform(0.0, 0.5, k)
                y = rng.normal(1000.0, 50.0, k)
                fh.write("".join(f"{a:.6f},{b:.6f}\n" for a, b in zip(x, y, strict=True)))
            else:
                x = i + np.arange(k)
                y = rng.integers(0, 1000, k)
                fh.write("".join(f"{a},{b}\n" for a, b in zip(x, y, strict=True)))
    return p


def text_memory(code: Path, megabytes: float, work: Path, rows_kind: str) -> None:
    p = _text_file(work, megabytes, rows_kind)
    size = p.stat().st_size
    print(f"\nText reader on a {size / 1e6:.1f} MB two-column file, {rows_kind} rows "
          f"(spectra from {code}):")
    for mode in ("traced", "untraced"):
        out = subprocess.run(
            [sys.executable, "-c", _MEMORY_CHILD, str(code), str(p), mode],
            capture_output=True, text=True, check=False,
        )
        if out.returncode != 0:
            print(f"  {mode}: failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        r = json.loads(out.stdout)
        if mode == "traced":
            print(f"  rows {r['n']:,}; output arrays {r['out'] / 1e6:.1f} MB")
            print(f"  tracemalloc peak {r['peak'] / 1e6:,.1f} MB = {r['peak'] / size:.2f}x the "
                  f"file = {r['peak'] / r['out']:.2f}x the output arrays")
        else:
            print(f"  peak RSS growth {r['rss'] / 1e6:,.1f} MB = {r['rss'] / size:.2f}x the file; "
                  f"CPU {r['cpu']:.2f} s (untraced)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--code", help="a checkout whose spectra package to measure")
    ap.add_argument("--labels", default="1000,2000,4000,8000,16000,64000")
    ap.add_argument("--text-mb", type=float, default=50.0)
    ap.add_argument("--work", help="folder for generated files (default: a temporary one)")
    args = ap.parse_args()
    import numpy

    print(describe(numpy=numpy.__version__))
    code = _code_dir(args.code)
    with tempfile.TemporaryDirectory(prefix="hostile-") as tmp:
        work = Path(args.work) if args.work else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        jcamp_scaling(code, [int(v) for v in args.labels.split(",") if v], work)
        if args.text_mb > 0:
            for rows_kind in ("long", "short"):
                text_memory(code, args.text_mb, work, rows_kind)


if __name__ == "__main__":
    main()
