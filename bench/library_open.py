"""Opening a library file, verified: time and memory at 14,000 and 250,000 entries × 1,800.

Run with ``make bench`` (or ``.venv/bin/python bench/library_open.py [--quick]``). For each
size a library file is written (random float32 rows; entries with realistic metadata, no raw
references: hashing speed does not depend on the values) and opened with
:meth:`matcher.library.LibrarySet.load`, which reads the file into private memory and
recomputes its content hash before anything is used. Each round measures, back to back (the
machine is shared, so every figure is a median over rounds that saw the same load):

* the verified open of the file as written (format 2: a hash tree, leaves on every core);
* the verified open of the same library as a format-1 file (one SHA-256 stream, reading
  the next chunk while hashing this one), which Interdict still reads;
  each right after a read of the same file, so its pages are in the page cache;
* the machine's limits on the same bytes: reading the file into a new buffer
  (``os.preadv``, page faults included, as an open has them too), SHA-256 as one stream
  over them in memory, and SHA-256 over their 8 MiB leaves on every usable core.

It then prints the ratios to those limits, the CPU seconds each took (all threads), and
the peak resident memory of a fresh process that opens the file (``VmHWM``), above what it
held after its imports, against the file size. Nothing is asserted; the figures go into
``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import describe

from matcher.library import Library, LibraryEntry, LibrarySet
from matcher.library._hash import LEAF_BYTES, SCHEME_V1, workers
from spectra import Pipeline

D = 1800
ROUNDS = 5
ROOT = Path(__file__).resolve().parents[1]


CPU: dict[str, list[float]] = {}
"""CPU seconds (all threads of this process) of each measured call, by name."""


def seconds(fn: Callable[[], object], name: str = "") -> float:
    """Wall seconds of ``fn()``; its CPU seconds go to :data:`CPU` under ``name``."""
    c0, t0 = time.process_time(), time.perf_counter()
    fn()
    wall = time.perf_counter() - t0
    if name:
        CPU.setdefault(name, []).append(time.process_time() - c0)
    return wall


def make_library(n: int, seed: int = 0) -> Library:
    rng = np.random.default_rng(seed)
    matrix = rng.random((n, D), dtype=np.float32)
    matrix.flags.writeable = False  # handed over: the Library keeps it without a copy
    digest = hashlib.sha256(str(seed).encode()).hexdigest()
    entries = [
        LibraryEntry(
            id=f"ref-{i:06d}", name=f"Reference substance {i}", cas=None,
            category="unknown", technique="raman", excitation_nm=785.0,
            source=f"synthetic bench library, row {i}", licence="CC0-1.0",
            spectrum_hash=digest,
        )
        for i in range(n)
    ]
    return Library.from_vectors(entries, matrix, axis=np.linspace(200.0, 2000.0, D),
                                pipeline=Pipeline(), technique="raman",
                                library_id=f"bench-{n}")


def write_version_1(lib: Library, v2: Path, out: Path) -> Path:
    """The file ``v2`` as format 1: same layout, version 1, the scheme-1 hash in its header."""
    raw = bytearray(v2.read_bytes())
    (hlen,) = struct.unpack_from("<Q", raw, 16)
    header = json.loads(raw[64 : 64 + hlen])
    header["format_version"] = 1
    header["parts"][0]["hash"] = lib.compute_hash(scheme=SCHEME_V1)
    hbytes = json.dumps(header, separators=(",", ":")).encode()
    assert len(hbytes) == hlen, "the header changed length"
    struct.pack_into("<I", raw, 8, 1)
    raw[24:56] = hashlib.sha256(hbytes).digest()
    raw[64 : 64 + hlen] = hbytes
    out.write_bytes(raw)
    return out


class Limits:
    """The machine's limits on one file's bytes (and a warm-up read before each open)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.size = path.stat().st_size
        self.data = self.read()  # what the hashes run over: the file's bytes, in memory
        self.pool = ThreadPoolExecutor(workers())

    def read(self, path: Path | None = None) -> memoryview:
        """Read the file into a new buffer (fresh pages, as an open has)."""
        path = path or self.path
        size = path.stat().st_size
        view = np.empty(size, dtype=np.uint8).data
        fd = os.open(path, os.O_RDONLY)
        try:
            done = 0
            while done < size:
                done += os.preadv(fd, [view[done:]], done)
        finally:
            os.close(fd)
        return view

    def sha_stream(self) -> None:
        h = hashlib.sha256()
        h.update(self.data)

    def sha_leaves(self) -> None:
        def leaf(a: int) -> bytes:
            h = hashlib.sha256()
            h.update(self.data[a : a + LEAF_BYTES])
            return h.digest()

        list(self.pool.map(leaf, range(0, self.size, LEAF_BYTES)))


CHILD = textwrap.dedent("""
    import sys, time
    from matcher.library import LibrarySet

    def hwm():  # this process's own peak (ru_maxrss would carry the parent's over fork)
        with open("/proc/self/status") as f:
            return next(int(x.split()[1]) * 1024 for x in f if x.startswith("VmHWM:"))

    base = hwm()
    t0 = time.perf_counter()
    libs = LibrarySet.load(sys.argv[1])
    dt = time.perf_counter() - t0
    print(base, hwm(), dt, libs[0].hash)
""")


def fresh_process(path: Path) -> tuple[int, int, float]:
    """``(peak RSS after imports, peak RSS after opening, open seconds)`` of a new process."""
    out = subprocess.run([sys.executable, "-c", CHILD, str(path)], check=True,
                         capture_output=True, text=True, cwd=ROOT)
    base, peak, dt, _ = out.stdout.split()
    return int(base), int(peak), float(dt)


def ms(s: float) -> str:
    return f"{s * 1e3:,.0f} ms"


def bench(n: int, tmp: Path) -> None:
    t0 = time.perf_counter()
    lib = make_library(n)
    v2 = lib.save(tmp / f"bench-{n}.ilib")
    v1 = write_version_1(lib, v2, tmp / f"bench-{n}-v1.ilib")
    expected = lib.hash
    t_make = time.perf_counter() - t0
    del lib
    size = v2.stat().st_size
    print(f"\n## {n:,} entries × {D:,} points: file {size / 1e6:,.0f} MB "
          f"(made and written in {t_make:.1f} s)", flush=True)
    limits = Limits(v2)
    kept: list[LibrarySet] = []

    def open_it(path: Path) -> Callable[[], None]:
        def run() -> None:
            kept.clear()  # the previous copy goes before the next is read
            kept.append(LibrarySet.load(path))
        return run

    rows: dict[str, list[float]] = {k: [] for k in
                                    ("open", "open v1", "read", "sha", "sha leaves")}
    for _ in range(ROUNDS):
        # each open right after a read of its file, so the page cache is warm for it (the
        # shared machine reclaims cold pages; a read from disk is not what is measured)
        rows["read"].append(seconds(limits.read, "read"))
        rows["open"].append(seconds(open_it(v2), "open"))
        assert kept[0][0].hash == expected  # a real, successful open
        kept.clear()
        limits.read(v1)
        rows["open v1"].append(seconds(open_it(v1), "open v1"))
        kept.clear()
        rows["sha"].append(seconds(limits.sha_stream, "sha"))
        rows["sha leaves"].append(seconds(limits.sha_leaves, "sha leaves"))
    limits.pool.shutdown()
    med = {k: statistics.median(v) for k, v in rows.items()}

    def rate(s: float) -> str:
        return f"{size / s / 1e9:.2f} GB/s"

    print(f"- verified open, format 2 (hash tree, {workers()} threads): median "
          f"{ms(med['open'])} (min {ms(min(rows['open']))}, max {ms(max(rows['open']))}; "
          f"{ROUNDS} rounds) = {rate(med['open'])}")
    print(f"- verified open, format 1 (one SHA-256 stream): median {ms(med['open v1'])} "
          f"(min {ms(min(rows['open v1']))}, max {ms(max(rows['open v1']))}) "
          f"= {rate(med['open v1'])}")
    print(f"- limits: read into new memory {ms(med['read'])} ({rate(med['read'])}); SHA-256 "
          f"one stream {ms(med['sha'])} ({rate(med['sha'])}); SHA-256 in 8 MiB leaves on "
          f"{workers()} threads {ms(med['sha leaves'])} ({rate(med['sha leaves'])})")
    print(f"- format 2 open ÷ max(read, leaves hash) = "
          f"{med['open'] / max(med['read'], med['sha leaves']):.2f}×; "
          f"÷ (read + leaves hash) = {med['open'] / (med['read'] + med['sha leaves']):.2f}×; "
          f"÷ one-stream hash = {med['open'] / med['sha']:.2f}×")
    print(f"- format 1 open ÷ max(read, one-stream hash) = "
          f"{med['open v1'] / max(med['read'], med['sha']):.2f}×; "
          f"format 2 is {med['open v1'] / med['open']:.2f}× as fast")
    cpu = {k: statistics.median(v) for k, v in CPU.items()}
    CPU.clear()
    print(f"- CPU seconds (all threads; less sensitive to the other jobs than wall time): "
          f"open format 2 {cpu['open']:.2f}, format 1 {cpu['open v1']:.2f}; read "
          f"{cpu['read']:.2f} + one-stream hash {cpu['sha']:.2f} = "
          f"{cpu['read'] + cpu['sha']:.2f}; leaves hash {cpu['sha leaves']:.2f}")
    base, peak, dt = fresh_process(v2)
    print(f"- fresh process: open {ms(dt)}; peak RSS {base / 1e6:,.0f} MB after imports, "
          f"{peak / 1e6:,.0f} MB after the open: +{(peak - base) / 1e6:,.0f} MB = "
          f"{(peak - base) / size:.2f}× the file", flush=True)
    v1.unlink()
    v2.unlink()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a dry run")
    args = ap.parse_args()
    sizes = [2_000, 20_000] if args.quick else [14_000, 250_000]
    print("# bench/library_open.py: opening a library file, verified\n")
    print(f"- machine: {describe(numpy=np.__version__)}")
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        for n in sizes:
            bench(n, Path(tmp))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
