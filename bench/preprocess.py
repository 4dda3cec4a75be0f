"""Preprocessing and file-reading throughput.

Prints:

* the machine (CPU model, cores, Python, NumPy, SciPy, pybaselines);
* per-spectrum time of the DEFAULT Raman pipeline (despike → arPLS baseline → Savitzky-Golay
  → vector norm) on a 3,000-point raw Raman spectrum (bands on a fluorescence background
  with shot-like noise and a cosmic ray): median and 95th percentile over many runs, and
  the median of each step on its own;
* the same for the default FTIR pipeline on a 1,800-point absorbance spectrum;
* files/second for reading every file under ``../shared/data/formats`` with
  :func:`spectra.read`, counting files read, refused (a :class:`spectra.SpectraError`,
  the typed refusal) and BUGS (any other exception, listed by file).

Nothing is asserted; run by ``make bench``. Usage::

    .venv/bin/python bench/preprocess.py [--runs 1000] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import os
import platform
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

import spectra  # noqa: E402
from spectra.preprocess import default_ftir, default_raman, step_functions  # noqa: E402


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count() or 0
    return (
        f"{model}; {os.cpu_count()} logical cores ({usable} usable); "
        f"{platform.system()} {platform.release()}; Python {platform.python_version()}; "
        f"numpy {np.__version__}; scipy {scipy.__version__}; "
        f"pybaselines {pybaselines.__version__}"
    )


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


def timed(func, arg, runs: int) -> np.ndarray:  # type: ignore[no-untyped-def]
    for _ in range(min(20, runs)):  # warm-up: imports, caches, allocator
        func(arg)
    out = np.empty(runs)
    for i in range(runs):
        t0 = time.perf_counter_ns()
        func(arg)
        out[i] = time.perf_counter_ns() - t0
    return out / 1e6  # ms


def report_pipeline(label: str, pipeline: spectra.Pipeline, s: spectra.Spectrum,
                    runs: int) -> None:
    ms = timed(pipeline.apply, s, runs)
    print(f"{label} on {len(s)} points, {runs} runs: "
          f"median {np.median(ms):.3f} ms, p95 {np.percentile(ms, 95):.3f} ms, "
          f"min {ms.min():.3f} ms")
    funcs = step_functions()
    current = s
    for st in pipeline.steps:
        def one(sp: spectra.Spectrum, st=st) -> spectra.Spectrum:  # type: ignore[no-untyped-def]
            return funcs[st.name](sp, **st.params)
        step_ms = timed(one, current, max(50, runs // 4))
        print(f"    {st.name:<10} {st.params}: median {np.median(step_ms):.3f} ms")
        current = one(current)


def read_tree(root: Path, repeats: int) -> None:
    files = sorted(p for p in root.rglob("*") if p.is_file())
    totals = []
    outcome: dict[Path, str] = {}
    n_spectra = 0
    bugs: dict[Path, str] = {}
    refusals: Counter[str] = Counter()
    for rep in range(repeats):
        n_spectra = 0
        t0 = time.perf_counter()
        for p in files:
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
        totals.append(time.perf_counter() - t0)
    counts = Counter(outcome.values())
    size_mb = sum(p.stat().st_size for p in files) / 1e6
    med = float(np.median(totals))
    print(f"spectra.read over {root} ({len(files)} files, {size_mb:.1f} MB), "
          f"median of {repeats} passes: {med:.2f} s = {len(files) / med:.0f} files/s, "
          f"{size_mb / med:.1f} MB/s")
    print(f"    read {counts['read']} files ({n_spectra} spectra), "
          f"refused {counts['refused']} ({dict(refusals)}), "
          f"BUGS (non-SpectraError) {counts['bug']}")
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
    rng = np.random.default_rng(20261122)
    report_pipeline("default Raman pipeline", default_raman(), raw_raman(rng), args.runs)
    report_pipeline("default FTIR pipeline", default_ftir(), ftir_absorbance(rng), args.runs)
    formats = args.data / "formats"
    if formats.is_dir():
        read_tree(formats, args.repeats)
    else:
        print(f"spectra.read: {formats} not found, skipped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
