"""Speed of one whole identification (quality → preprocess → search → mixture → verdict).

A 14,000-entry Raman library on the default axis (1,651 points): the 3,211 RRUFF library
spectra through the default pipeline, plus copies of them with noise and a ±1-3 point
shift until there are 14,000 rows (so the candidates look like real spectra, not noise).
Queries: 200 RRUFF query spectra, RAW (each goes through the full pipeline).

Prints medians and 95th percentiles of each stage, and the machine. Nothing is asserted.
Targets (issue 3): mixture analysis ≤ 2 ms, the whole identification ≤ 10 ms at 14k.

Then the same queries through the ``learned`` and ``fused`` matchers (the embedding of every
library row once at set-up, then one query embedding and the re-ranking per identification).

Run: ``.venv/bin/python bench/identify_speed.py``.
"""

from __future__ import annotations

import os

# single-query latency: one BLAS thread. With the default (one per core) the tiny products
# of the mixture fit are several times SLOWER on a shared 2-core machine (thread hand-off
# and oversubscription); measured 17 ms → 1.6 ms median for the mixture fit here.
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from accuracy import DATA, load_raman, machine  # noqa: E402

from matcher import defaults  # noqa: E402
from matcher.batch import Identifiers  # noqa: E402
from matcher.identify import Identifier, identify  # noqa: E402
from matcher.library import Library, LibraryEntry, LibrarySet  # noqa: E402
from matcher.mixture import fit_mixture  # noqa: E402
from matcher.quality import assess  # noqa: E402
from spectra import Spectrum  # noqa: E402

N_LIBRARY = 14_000
N_QUERIES = 200


def stats(label: str, t: list[float]) -> None:
    """Print median and 95th percentile in ms."""
    a = 1e3 * np.asarray(t)
    print(f"  {label:<44} median {np.median(a):7.3f} ms   p95 {np.percentile(a, 95):7.3f} ms")


def main() -> int:
    """Build the library, time each stage on the queries."""
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}; nothing to measure")
        return 0
    print("machine:", machine(), "| BLAS threads:", os.environ["OPENBLAS_NUM_THREADS"])
    spectra, meta = load_raman()
    role = np.array([m["benchmark_role"] for m in meta])
    li = np.flatnonzero(role != "query")
    qi = np.flatnonzero(role == "query")
    t0 = time.perf_counter()
    pipe = defaults.raman_pipeline()
    axis = defaults.axis_for("raman")
    base = Library.build(
        [({"name": meta[i]["mineral"], "id": f"r{i}"}, spectra[i]) for i in li],
        pipeline=pipe, axis=axis, technique="raman", library_id="rruff")
    rng = np.random.default_rng(0)
    rows = [np.asarray(base.matrix)]
    entries = list(base.entries)
    n = len(base)
    while n < N_LIBRARY:
        take = min(len(base), N_LIBRARY - n)
        src = rng.choice(len(base), take, replace=False)
        m = np.roll(base.matrix[src], int(rng.integers(1, 4)) * int(rng.choice([-1, 1])), axis=1)
        m = m + rng.normal(0, 0.002, m.shape).astype(np.float32)
        rows.append(m.astype(np.float32))
        entries += [LibraryEntry.model_validate({**base.entries[int(j)].model_dump(),
                                                 "id": f"c{n + k}"}) for k, j in enumerate(src)]
        n += take
    lib = Library.from_vectors(entries, np.vstack(rows), axis=axis, pipeline=pipe,
                               technique="raman", library_id="rruff-14k")
    _LIB.append(lib)
    t1 = time.perf_counter()
    idf = Identifier(lib)
    t2 = time.perf_counter()
    print(f"library {len(lib)} × {axis.size} float32 ({lib.matrix.nbytes / 1e6:.0f} MB): built "
          f"in {t1 - t0:.1f} s; Identifier set-up (ranking representation) "
          f"{1e3 * (t2 - t1):.0f} ms")

    queries = [spectra[i] for i in rng.choice(qi, N_QUERIES, replace=False)]
    for s in queries[:5]:  # warm-up
        idf.identify(s)
    tq, tp, ts, tm, tall = [], [], [], [], []
    for s in queries:
        a = time.perf_counter()
        assess(s, idf.thresholds.quality)
        b = time.perf_counter()
        q = np.asarray(lib.prepare(s), dtype=np.float32)
        c = time.perf_counter()
        q2, r, pool, _ = idf._search(q, 10)
        ranked = pool[np.argsort(-r[pool])]
        d = time.perf_counter()
        fit_mixture(q2.astype(np.float64), lib.matrix, ranked, idf.thresholds.mixture)
        e = time.perf_counter()
        idf.identify(s)
        f = time.perf_counter()
        tq.append(b - a)
        tp.append(c - b)
        ts.append(d - c)
        tm.append(e - d)
        tall.append(f - e)
    print(f"{N_QUERIES} raw RRUFF queries (load average during the run: "
          f"{' / '.join(f'{v:.2f}' for v in os.getloadavg())} over 1 / 5 / 15 min):")
    stats("quality checks (raw spectrum)", tq)
    stats("preprocess (pipeline + onto library axis)", tp)
    stats("search (ranking + axis-offset search)", ts)
    stats("mixture analysis (up to 3 components)", tm)
    stats("whole identify() (all of the above + verdict)", tall)
    for kind in ("learned", "fused"):
        t3 = time.perf_counter()
        other = Identifier(lib, matcher=kind)
        t4 = time.perf_counter()
        print(f"matcher {other.matcher_name}: Identifier set-up (embedding {len(lib)} rows, "
              f"cached with the library after the first) {t4 - t3:.1f} s")
        for s in queries[:5]:
            other.identify(s)
        te, tk = [], []
        for s in queries:
            a = time.perf_counter()
            assert other._embedded is not None
            other._embedded.query(np.asarray(lib.prepare(s), dtype=np.float32))
            b = time.perf_counter()
            other.identify(s)
            c = time.perf_counter()
            te.append(b - a)
            tk.append(c - b)
        stats("  preprocess + query embedding", te)
        stats(f"  whole identify() [{other.matcher_name}]", tk)
    station_path(queries)
    return 0


def station_path(queries: list[Spectrum]) -> None:
    """What a station pays per scan: the one-shot ``identify()`` (an Identifier set up on
    every call, the scan path before) against the session's :class:`matcher.batch.Identifiers`
    (set up once per opened library part, then reused), on a freshly opened library (a
    :class:`matcher.library.Library` caches its search index and embeddings, so a library
    loaded from its file is what a new station holds)."""
    print("\nthe station's path (library saved and opened again: no cache from above):")
    with tempfile.TemporaryDirectory(prefix="interdict-idspeed-") as tmp:
        path = Path(tmp) / "lib14k.ilib"
        _LIB[0].save(path)
        for kind in ("classic", "learned", "fused"):
            opened = LibrarySet.load(path)
            ids = Identifiers(opened, matcher=kind)
            part = opened[0].id
            a = time.perf_counter()
            ids.get(part)
            b = time.perf_counter()
            ids.get(part)
            c = time.perf_counter()
            print(f"  [{kind}] set-up once per opened part: {b - a:.2f} s (later calls "
                  f"{1e6 * (c - b):.0f} µs)")
            for s in queries[:5]:
                ids.get(part).identify(s)
            tall = []
            for s in queries:
                a = time.perf_counter()
                ids.get(part).identify(s)
                tall.append(time.perf_counter() - a)
            stats(f"  [{kind}] one raw spectrum → verdict (session)", tall)
            fresh = LibrarySet.load(path)[0]  # the old path: identify() set one up per call
            once = []
            for s in queries[:3]:
                a = time.perf_counter()
                identify(s, fresh, matcher=kind)
                once.append(time.perf_counter() - a)
            print(f"  [{kind}] one-shot identify() on a freshly opened part: first call "
                  f"{once[0]:.2f} s, then {', '.join(f'{1e3 * t:.0f}' for t in once[1:])} ms "
                  "(the library's own cache is kept between calls)")


_LIB: list[Library] = []


if __name__ == "__main__":
    sys.exit(main())
