"""Search speed: our exact top-k search against what a user would otherwise write or pick.

Run with ``make bench`` (or ``.venv/bin/python bench/search_speed.py [--quick]``). Prints, for
synthetic libraries of 14,000 and 250,000 entries × 1,800 points and for the real RRUFF
Raman library, the median and worst single-query latency and the batch throughput of

* ours: :class:`matcher.search.Searcher` (HQI, exact top-10: bound, prune, exact re-rank);
* a per-entry ``np.corrcoef`` loop;
* ``scipy.spatial.distance.cdist(metric="correlation")``;
* ``sklearn.neighbors.NearestNeighbors(metric="cosine", algorithm="brute")`` on mean-centred
  rows (so that it ranks as the correlation does);
* a pre-normalised NumPy matrix-vector product (centred unit rows, float32) + argpartition,

each also as a ratio to the machine's limit measured in the same run: library bytes ÷ memory
read bandwidth for one query; ``2·N·D·Q`` ÷ float32 GEMM rate for a batch. Nothing is
asserted; the figures go into ``docs/performance.md``.
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from _machine import cpu_model
from _synth import noise_queries, realistic_queries, synth_library

from matcher.library import Library, LibraryEntry
from matcher.search import Searcher
from spectra import Pipeline, Technique

K = 10
ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("INTERDICT_SHARED_DATA", ROOT.parent / "shared" / "data"))


# -- the machine -------------------------------------------------------------------------


def machine() -> dict[str, str]:
    cpu = cpu_model()
    blas = "?"
    try:
        cfg = np.show_config(mode="dicts")  # type: ignore[func-returns-value]
        b = cfg["Build Dependencies"]["blas"]
        blas = f"{b.get('name')} {b.get('version')}"
        oc = b.get("openblas configuration")
        if oc:
            blas += f" ({oc})"
    except Exception:
        pass
    load = ", ".join(f"{v:.2f}" for v in os.getloadavg())
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "blas": blas,
        "load average at start": load,
    }


def best_of(fn: Callable[[], object], repeat: int = 5) -> float:
    fn()
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def read_bandwidth(nbytes: int = 1 << 30) -> tuple[float, dict[str, float]]:
    """Bytes/s of the fastest read of a 1 GiB float32 array we find (sum, sgemv, vecdot)."""
    a = np.random.default_rng(0).random(nbytes // 4, dtype=np.float32)
    rates = {"np.sum (1 thread)": nbytes / best_of(a.sum)}
    m = a[: (a.size // 1800) * 1800].reshape(-1, 1800)
    v = np.ones(1800, dtype=np.float32)
    rates["sgemv (BLAS threads)"] = m.nbytes / best_of(lambda: m @ v)
    rates["np.vecdot row-wise (1 thread)"] = m.nbytes / best_of(lambda: np.vecdot(m, v))
    return max(rates.values()), rates


def gemm_rate() -> float:
    """float32 GEMM FLOP/s on library-like shapes."""
    rng = np.random.default_rng(0)
    a = rng.random((8192, 1800), dtype=np.float32)
    b = rng.random((1800, 512), dtype=np.float32)
    return 2 * 8192 * 1800 * 512 / best_of(lambda: a @ b)


# -- the contenders ----------------------------------------------------------------------


def centred_unit(m: np.ndarray) -> np.ndarray:
    out = np.empty(m.shape, dtype=np.float32)
    step = 8192
    for s in range(0, m.shape[0], step):
        c = m[s : s + step].astype(np.float64)
        c -= c.mean(axis=1, keepdims=True)
        c /= np.linalg.norm(c, axis=1, keepdims=True)
        out[s : s + step] = c
    return out


def topk_cols(scores: np.ndarray, k: int) -> np.ndarray:
    """Top-k rows of each column of an (N, Q) score array, best first."""
    idx = np.argpartition(-scores, k - 1, axis=0)[:k]
    part = np.take_along_axis(scores, idx, axis=0)
    order = np.argsort(-part, axis=0, kind="stable")
    return np.take_along_axis(idx, order, axis=0).T


def corrcoef_loop(m: np.ndarray, q: np.ndarray) -> np.ndarray:
    r = np.array([np.corrcoef(row, q)[0, 1] for row in m])
    return np.argsort(-r, kind="stable")[:K]


def cdist_search(m: np.ndarray, q: np.ndarray) -> np.ndarray:
    from scipy.spatial.distance import cdist

    d = cdist(np.atleast_2d(q), m, metric="correlation")  # (Q, N)
    return topk_cols(-d.T, K)


class Contender:
    name: str

    def single(self, q: np.ndarray) -> object:
        raise NotImplementedError

    def batch(self, qs: np.ndarray) -> object:
        raise NotImplementedError


def time_each(fn: Callable[[np.ndarray], object], qs: np.ndarray) -> np.ndarray:
    fn(qs[0])
    ts = []
    for q in qs:
        t0 = time.perf_counter()
        fn(q)
        ts.append(time.perf_counter() - t0)
    return np.array(ts)


def fmt_ms(s: float) -> str:
    ms = s * 1e3
    return f"{ms:,.3f}" if ms < 1 else f"{ms:,.2f}" if ms < 100 else f"{ms:,.0f}"


# -- one library -------------------------------------------------------------------------


def bench_library(
    label: str,
    lib: Library,
    real_q: np.ndarray,
    noise_q: np.ndarray,
    *,
    bw: float,
    gemm: float,
    batch_q: int,
    sub_corrcoef: int,
    sub_cdist: int,
    n_exact: int,
) -> list[str]:
    m = lib.matrix
    n, d = m.shape
    lines = [f"\n## {label}: N = {n:,} × D = {d:,} ({m.nbytes / 1e6:,.0f} MB float32)"]
    limit1 = m.nbytes / bw
    lines.append(f"single-query limit (library bytes / read bandwidth): {fmt_ms(limit1)} ms")

    t0 = time.perf_counter()
    searcher = Searcher(lib, "hqi")
    t_index = time.perf_counter() - t0
    lines.append(f"index build (ours): {t_index:.2f} s")

    # exactness against brute force, on a few queries of each kind
    probe = np.vstack([real_q[: n_exact], noise_q[: max(1, n_exact // 5)]])
    fast = searcher.search(probe, K)
    brute = searcher.search(probe, K, method="brute")
    same = int(np.sum(np.all(fast.indices == brute.indices, axis=1)))
    lines.append(f"exact: ours == brute force top-{K} on {same}/{probe.shape[0]} queries")

    rows: list[tuple[str, ...]] = []

    def add(name: str, real: np.ndarray | None, noise: np.ndarray | None, note: str = "") -> None:
        med = float(np.median(real)) if real is not None else float("nan")
        nmed = float(np.median(noise)) if noise is not None else float("nan")
        worst = max(
            float(np.max(real)) if real is not None else 0.0,
            float(np.max(noise)) if noise is not None else 0.0,
        )
        rows.append((
            name, fmt_ms(med), f"{med / limit1:.2f}×",
            fmt_ms(nmed) if noise is not None else "–",
            f"{nmed / limit1:.2f}×" if noise is not None else "–",
            fmt_ms(worst), f"{worst / limit1:.2f}×", note,
        ))

    ts_real = time_each(lambda q: searcher.search(q, K), real_q)
    ts_noise = time_each(lambda q: searcher.search(q, K), noise_q)
    ev = np.array([searcher.search(q, K).evaluated[0] for q in real_q[:50]])  # one by one
    add("ours (pruned, exact)", ts_real, ts_noise,
        f"median rows scored {int(np.median(ev)):,} of {n:,}")

    ln = centred_unit(m)
    ts_mv = time_each(lambda q: topk_cols((ln @ ((q - q.mean()) / np.linalg.norm(
        q - q.mean())).astype(np.float32))[:, None], K), real_q[:30])
    ts_mvn = time_each(lambda q: topk_cols((ln @ ((q - q.mean()) / np.linalg.norm(
        q - q.mean())).astype(np.float32))[:, None], K), noise_q[:10])
    add("pre-normalised matvec", ts_mv, ts_mvn, "float32; top-10 may differ at near-ties")

    from sklearn.neighbors import NearestNeighbors

    mc = m - m.mean(axis=1, keepdims=True)
    nn = NearestNeighbors(n_neighbors=K, metric="cosine", algorithm="brute").fit(mc)
    ts_sk = time_each(lambda q: nn.kneighbors((q - q.mean())[None, :], K), real_q[:5])
    add("sklearn NearestNeighbors cosine brute", ts_sk, None, "fit on centred rows")

    sub = m[: min(n, sub_cdist)]
    scale = n / sub.shape[0]
    ts_cd = time_each(lambda q: cdist_search(sub, q), real_q[:3]) * scale
    add("scipy cdist correlation", ts_cd, None,
        "" if scale == 1 else f"timed on {sub.shape[0]:,} rows ×{scale:.0f}")

    sub = m[: min(n, sub_corrcoef)]
    scale = n / sub.shape[0]
    ts_cc = time_each(lambda q: corrcoef_loop(sub, q), real_q[:2]) * scale
    add("np.corrcoef loop", ts_cc, None,
        "" if scale == 1 else f"timed on {sub.shape[0]:,} rows ×{scale:.0f}")

    lines.append("\nsingle query, top-10 (ms; ratio to the bandwidth limit)\n")
    lines.append("| method | median (realistic) | ×limit | median (noise-like) | ×limit "
                 "| worst (max of all) | ×limit | note |")
    lines.append("|---|---:|---:|---:|---:|---:|---:|---|")
    lines += ["| " + " | ".join(r) + " |" for r in rows]

    # batch
    qb = real_q[:batch_q]
    nb = qb.shape[0]
    limit_b = 2.0 * n * d * nb / gemm
    brows: list[tuple[str, str, str, str]] = []

    def addb(name: str, t: float, note: str = "") -> None:
        brows.append((name, f"{nb / t:,.0f}", f"{t / limit_b:.2f}×", note))

    addb("ours (pruned, exact)", best_of(lambda: searcher.search(qb, K), 2))
    qn = noise_q[: min(nb, len(noise_q))]
    t_noise_b = best_of(lambda: searcher.search(qn, K), 1)
    addb("ours, noise-like batch", t_noise_b * nb / qn.shape[0],
         f"{qn.shape[0]} queries, scaled to {nb}")

    def mm() -> None:
        qc = qb - qb.mean(axis=1, keepdims=True)
        qc /= np.linalg.norm(qc, axis=1, keepdims=True)
        topk_cols(ln @ qc.T.astype(np.float32), K)

    addb("pre-normalised matmul", best_of(mm, 2))
    t_sk = best_of(lambda: nn.kneighbors(qb - qb.mean(axis=1, keepdims=True), K), 1)
    addb("sklearn NearestNeighbors cosine brute", t_sk)
    sub = m[: min(n, sub_cdist)]
    scale = n / sub.shape[0]
    qcd = qb[: min(nb, 64)]
    t_cd = best_of(lambda: cdist_search(sub, qcd), 1) * scale * nb / qcd.shape[0]
    addb("scipy cdist correlation", t_cd,
         f"{qcd.shape[0]} queries on {sub.shape[0]:,} rows, scaled")
    addb("np.corrcoef loop", float(np.median(ts_cc)) * nb, "one query's time × Q")
    lines.append(
        f"\nbatch of {nb} queries (queries/s; ratio to the GEMM limit {fmt_ms(limit_b)} ms)\n"
    )
    lines.append("| method | queries/s | ×limit | note |")
    lines.append("|---|---:|---:|---|")
    lines += ["| " + " | ".join(r) + " |" for r in brows]
    return lines


# -- libraries ---------------------------------------------------------------------------


def synthetic(n: int) -> tuple[Library, np.ndarray, np.ndarray]:
    x, m = synth_library(n)
    entries = [LibraryEntry.model_construct(
        id=f"syn-{i}", name=f"synthetic {i}", synonyms=(), cas=None, technique=Technique.RAMAN,
        excitation_nm=None, source="bench", licence="", synthetic=True,
        spectrum_hash=f"{i:064x}") for i in range(n)]
    lib = Library(library_id=f"synthetic-{n}", entries=entries, axis=x, matrix=m,
                  pipeline=Pipeline(), technique="raman")
    return lib, realistic_queries(m, 300), noise_queries(m.shape[1], 30)


def rruff() -> tuple[Library, np.ndarray, np.ndarray] | None:
    import spectra
    from matcher import defaults

    folder = SHARED / "raman" / "rruff_excellent_unoriented"
    npz = folder / "rruff_raman_excellent_unoriented_1cm.npz"
    if not npz.is_file():
        return None
    z = np.load(npz, allow_pickle=False)
    inten, off, xs = z["intensity"], z["offsets"], z["x_start"]
    with (folder / "rruff_raman_excellent_unoriented_metadata.csv").open(encoding="utf-8") as fh:
        meta = list(csv.DictReader(fh))
    refs, queries = [], []
    for i, row in enumerate(meta):
        y = inten[off[i] : off[i + 1]].astype(np.float64)
        s = spectra.Spectrum(xs[i] + np.arange(y.size, dtype=np.float64), y, technique="raman",
                             excitation_nm=float(row["laser_nm"]), source=row["file_name"])
        if row["benchmark_role"] == "query":
            queries.append(s)
        else:
            refs.append(({"name": row["mineral"], "id": f"rruff-{i}", "source": "RRUFF",
                          "licence": "RRUFF: research/education, cite Lafuente et al. 2015"},
                         s))
    t0 = time.perf_counter()
    lib = Library.build(refs, pipeline=defaults.pipeline_for("raman"),
                        axis=defaults.axis_for("raman"), technique="raman",
                        library_id="rruff-excellent-unoriented")
    print(f"(RRUFF library built in {time.perf_counter() - t0:.1f} s through the default "
          "pipeline)", flush=True)
    real = []
    for s in queries[:300]:
        try:
            real.append(lib.prepare(s))
        except ValueError:
            continue
    return lib, np.array(real), noise_queries(lib.axis.size, 30)


def open_time(lib: Library) -> str:
    with tempfile.TemporaryDirectory(dir=os.environ.get("TMPDIR")) as tmp:
        t0 = time.perf_counter()
        path = lib.save(Path(tmp) / "lib.ilib")
        t_save = time.perf_counter() - t0
        ts = []
        for _ in range(5):
            t0 = time.perf_counter()
            back = Library.load(path)
            _ = back.entries[len(back) - 1], back.matrix.shape, back.hash
            ts.append(time.perf_counter() - t0)
            del back
        size = path.stat().st_size
    return (f"library file of {len(lib):,} entries ({size / 1e6:,.0f} MB): save "
            f"{t_save:.1f} s, open median {fmt_ms(float(np.median(ts)))} ms "
            f"(read and its content hash verified; page cache warm)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--quick", action="store_true", help="small sizes, for a dry run")
    ap.add_argument("--sizes", default=None, metavar="N,N",
                    help="synthetic library sizes (default 14000,250000; 'none' for RRUFF "
                         "only)")
    args = ap.parse_args()
    sizes = [2000, 20_000] if args.quick else [14_000, 250_000]
    if args.sizes is not None:
        sizes = [] if args.sizes == "none" else [int(v) for v in args.sizes.split(",")]

    print("# bench/search_speed.py\n")
    for k, v in machine().items():
        print(f"- {k}: {v}")
    bw, rates = read_bandwidth(1 << 28 if args.quick else 1 << 30)
    gemm = gemm_rate()
    for k, v in rates.items():
        print(f"- read bandwidth, {k}: {v / 1e9:.1f} GB/s")
    print(f"- memory read bandwidth used as the limit: {bw / 1e9:.1f} GB/s")
    print(f"- float32 GEMM rate: {gemm / 1e9:.0f} GFLOP/s", flush=True)

    for n in sizes:
        lib, real_q, noise_q = synthetic(n)
        out = bench_library(
            f"synthetic {n:,}", lib, real_q, noise_q, bw=bw, gemm=gemm, batch_q=256,
            sub_corrcoef=min(n, 5000), sub_cdist=min(n, 25_000), n_exact=40 if n < 10**5 else 10,
        )
        print("\n".join(out), flush=True)
        print(open_time(lib), flush=True)
        del lib, real_q, noise_q
    r = rruff()
    if r is None:
        print(f"\n(RRUFF skipped: {SHARED} not found)")
    else:
        lib, real_q, noise_q = r
        print("\n".join(bench_library(
            "real RRUFF Raman library (queries: other specimens)", lib, real_q, noise_q,
            bw=bw, gemm=gemm, batch_q=256, sub_corrcoef=5000, sub_cdist=25_000, n_exact=40,
        )), flush=True)
    print(f"\n- load average at end: {', '.join(f'{v:.2f}' for v in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
