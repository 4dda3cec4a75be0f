"""Preprocessing and file-reading throughput.

Prints:

* the machine (CPU model, cores, Python, NumPy, SciPy, pybaselines);
* per-spectrum time of an arPLS Raman pipeline (despike → arPLS baseline → Savitzky-Golay
  → vector norm; spectra's default until issue 13) on a 3,000-point raw Raman spectrum
  (bands on a fluorescence background with shot-like noise and a cosmic ray): median and
  95th percentile over many runs, and the median of each step on its own;
* the same for its FTIR twin on a 1,800-point absorbance spectrum, and for the
  identification pipelines, the one set of defaults (``matcher.defaults.raman_pipeline``:
  resample to 1 cm⁻¹ → despike → smooth → rolling-ball → norm, on the same Raman spectrum;
  ``ftir_pipeline`` on the absorbance spectrum);
* files/second for reading every file under ``../shared/data/formats`` with
  :func:`spectra.read`, counting files read, refused (a :class:`spectra.SpectraError`,
  the typed refusal) and BUGS (any other exception, listed by file).

Nothing is asserted; run by ``make bench``. Usage::

    .venv/bin/python bench/preprocess.py [--runs 1000] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pybaselines
import scipy

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import describe  # noqa: E402

import spectra  # noqa: E402
from matcher import defaults  # noqa: E402
from spectra import Pipeline  # noqa: E402
from spectra.preprocess import step_functions  # noqa: E402

ARPLS_RAMAN = Pipeline.of(
    ("despike", {"threshold": 7.0, "max_width": 3}),
    ("baseline", {"method": "arpls", "lam": 1e6}),
    ("smooth", {"window": 11, "polyorder": 3}),
    ("normalize", {"method": "vector"}),
)
"""The arPLS pipeline measured since issue 2 (the figures in docs/preprocessing.md)."""
ARPLS_FTIR = Pipeline.of(
    ("baseline", {"method": "arpls", "lam": 1e7}),
    ("smooth", {"window": 9, "polyorder": 3}),
    ("normalize", {"method": "vector"}),
)


def machine() -> str:
    return describe(numpy=np.__version__, scipy=scipy.__version__,
                    pybaselines=pybaselines.__version__)


def raw_raman(rng: np.random.Generator, n: int = 3000) -> spectra.Spectrum:
    """Handheld-like raw Raman: 200-3200 cm⁻¹, 7 bands, fluorescence, Poisson-ish noise."""
    x = np.linspace(200.0, 3200.0, n)
    fluorescence = 6000 * np.exp(-(((x - 1100) / 1700) ** 2)) + 0.4 * x
    bands = np.zeros(n)
    for c, h, w in [(520, 900, 4), (640, 300, 5), (1001, 2500, 3), (1030, 600, 4),
                    (1600, 1200, 6), (2930, 800, 9), (3060, 500, 7)]:
        bands += h * np.exp(-0.5 * ((x - c) / w) ** 2)
    clean = fluorescence + bands
    y = clean + rng.normal(0.0, 1.0, n) * np.sqrt(clean)  # shot noise
    y[int(rng.integers(100, n - 100))] += 5000.0  # one cosmic ray
    return spectra.Spectrum(x, y, technique="raman", excitation_nm=785.0)


def ftir_absorbance(rng: np.random.Generator, n: int = 1800) -> spectra.Spectrum:
    x = np.linspace(650.0, 4000.0, n)
    y = 0.05 + 2e-5 * (x - 650)
    for c, h, w in [(1050, 0.8, 12), (1450, 0.3, 10), (1650, 0.5, 15), (2900, 0.4, 20),
                    (3300, 0.2, 60)]:
        y = y + h * np.exp(-0.5 * ((x - c) / w) ** 2)
    y = y + rng.normal(0.0, 0.002, n)
    return spectra.Spectrum(x, y, technique="ftir-atr", y_unit="absorbance",
                            x_unit="wavenumber-cm-1")


def timed(func, arg, runs: int) -> tuple[np.ndarray, np.ndarray]:  # type: ignore[no-untyped-def]
    """Wall-clock and CPU time (this process) of each run, in ms.

    The machine is shared: wall-clock includes waiting for a core, CPU time does not.
    """
    for _ in range(min(20, runs)):  # warm-up: imports, caches, allocator
        func(arg)
    wall = np.empty(runs)
    cpu = np.empty(runs)
    for i in range(runs):
        c0 = time.process_time_ns()
        t0 = time.perf_counter_ns()
        func(arg)
        wall[i] = time.perf_counter_ns() - t0
        cpu[i] = time.process_time_ns() - c0
    return wall / 1e6, cpu / 1e6


def stats(ms: np.ndarray) -> str:
    return (f"median {np.median(ms):.3f} ms, p95 {np.percentile(ms, 95):.3f} ms, "
            f"min {ms.min():.3f} ms")


def report_pipeline(label: str, pipeline: spectra.Pipeline, s: spectra.Spectrum,
                    runs: int) -> None:
    wall, cpu = timed(pipeline.apply, s, runs)
    print(f"{label} on {len(s)} points, {runs} runs:")
    print(f"    wall-clock: {stats(wall)}")
    print(f"    CPU time:   {stats(cpu)}")
    funcs = step_functions()
    current = s
    for st in pipeline.steps:
        def one(sp: spectra.Spectrum, st=st) -> spectra.Spectrum:  # type: ignore[no-untyped-def]
            return funcs[st.name](sp, **st.params)
        step_wall, step_cpu = timed(one, current, max(50, runs // 4))
        print(f"    {st.name:<10} {st.params}: median {np.median(step_wall):.3f} ms wall, "
              f"{np.median(step_cpu):.3f} ms CPU")
        current = one(current)


def read_tree(root: Path, repeats: int) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    totals = []
    cpu_totals = []
    per_file: dict[Path, float] = {}
    outcome: dict[Path, str] = {}
    n_spectra = 0
    bugs: dict[Path, str] = {}
    refusals: Counter[str] = Counter()
    for rep in range(repeats):
        n_spectra = 0
        c0 = time.process_time()
        t0 = time.perf_counter()
        for p in files:
            f0 = time.process_time()
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    got = spectra.read(p)
                n_spectra += len(got)
                outcome[p] = "read"
            except spectra.SpectraError as exc:
                outcome[p] = "refused"
                if rep == 0:
                    refusals[type(exc).__name__] += 1
            except Exception as exc:  # anything else is a reader bug: count and list it
                outcome[p] = "bug"
                if rep == 0:
                    tb = traceback.extract_tb(exc.__traceback__)[-1]
                    bugs[p] = (f"{type(exc).__name__}: {exc} "
                               f"(at {Path(tb.filename).name}:{tb.lineno})")
            per_file[p] = min(per_file.get(p, np.inf), time.process_time() - f0)
        totals.append(time.perf_counter() - t0)
        cpu_totals.append(time.process_time() - c0)
    counts = Counter(outcome.values())
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    med = float(np.median(totals))
    print(f"spectra.read over {root} ({len(files)} files, {size_mb:.1f} MB), "
          f"median of {repeats} passes: {med:.2f} s = {len(files) / med:.0f} files/s, "
          f"{size_mb / med:.1f} MB/s; CPU time {np.median(cpu_totals):.2f} s = "
          f"{len(files) / np.median(cpu_totals):.0f} files/CPU-s")
    print(f"    read {counts['read']} files ({n_spectra} spectra), "
          f"refused {counts['refused']} ({dict(refusals)}), "
          f"BUGS (non-SpectraError) {counts['bug']}")
    slow = sorted(per_file.items(), key=lambda kv: kv[1], reverse=True)[:5]
    print("    slowest files (CPU s, best pass): " + ", ".join(
        f"{p.relative_to(root)} {t:.2f} ({p.stat().st_size / 1e6:.1f} MB, {outcome[p]})"
        for p, t in slow))
    for p, msg in sorted(bugs.items()):
        print(f"    BUG {p.relative_to(root)}: {msg[:300]}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3, help="passes over the formats tree")
    default_data = os.environ.get("INTERDICT_SHARED_DATA", str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--data", type=Path, default=Path(default_data))
    args = ap.parse_args()

    print(f"machine: {machine()}")
    load = os.getloadavg()
    print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          "(the cores are shared: compare CPU time, and wall-clock with care)")
    rng = np.random.default_rng(20261122)
    report_pipeline("arPLS Raman pipeline", ARPLS_RAMAN, raw_raman(rng), args.runs)
    report_pipeline("arPLS FTIR pipeline", ARPLS_FTIR, ftir_absorbance(rng), args.runs)
    report_pipeline("matcher.defaults.raman_pipeline", defaults.raman_pipeline(),
                    raw_raman(np.random.default_rng(20261122)), args.runs)
    report_pipeline("matcher.defaults.ftir_pipeline", defaults.ftir_pipeline(),
                    ftir_absorbance(np.random.default_rng(20261122)), args.runs)
    formats = args.data / "formats"
    if formats.is_dir():
        read_tree(formats, args.repeats)
    else:
        print(f"spectra.read: {formats} not found, skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
