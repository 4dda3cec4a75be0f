"""Identification accuracy on real public data (``../shared/data``; see its SOURCES.md).

Prints, for the same run:

* RRUFF Raman minerals (library = ``library`` + ``library_only`` rows, queries = ``query``
  rows): top-1 / top-5 at species and group level for (a) the naive cosine baseline of
  SOURCES.md (to validate this harness: 0.673 / 0.846 expected), (b) an OpenSpecy-style
  Pearson search (interpolate the raw spectrum onto the library axis, Pearson r), and (c)
  OUR default pipeline (:mod:`matcher.defaults`) through :class:`matcher.identify.Identifier`.
  Also on the two halves of a fixed split of the queries by mineral name (``tune`` was used
  to choose the defaults, ``held-out`` was not).
* RRUFF FTIR, the same split.
* whenfung portable Raman: the 10 known binary mixtures against the 20 pure standards:
  mixture recall.
* Minor components (``--minor`` runs this part alone, with the whenfung mixtures and the
  RRUFF Raman verdicts): synthetic two-component measurements made from the REAL whenfung
  standards (drug/precursor minor in a solvent, drug in drug; shares 0.1-0.5), recall of
  the minor component and of the alert, and false mixtures on the pure standards.
* Robustness (Raman, :func:`robustness`): every HELD-OUT query with added noise (1, 5,
  10 % of the signal range), a fluorescence background, axis shifts and cosmic spikes
  (:data:`ROBUSTNESS`), each condition from its own fixed seed.
* The summary: ONE side-by-side markdown table of the held-out figures of every part (every
  matcher, the naive cosine and the Pearson peer), then each matcher paired against classic
  on the same queries (difference, bootstrap interval, McNemar p). ``docs/accuracy.md``
  quotes it verbatim.

Top-k counts ENTRIES (the k best library spectra; a query is right when one of them is of
its mineral), exactly as the SOURCES.md baseline does.

Group level: two minerals are in the same group when their names share the root before
the first hyphen or parenthesis ("Monazite-(Ce)" and "Monazite-(La)" → "Monazite",
"Chabazite-Ca" → "Chabazite"); RRUFF splits solid-solution series into such end-members.

Every part runs three matchers side by side (``classic``, ``learned``, ``fused``; see
:class:`matcher.learned.MatcherKind`) with the shipped embedding model, or ``--model FILE``.
A cross-instrument test (``--cross`` alone) closes the run.

Run: ``.venv/bin/python bench/accuracy.py --full`` (the same as no option: every part and
the summary; ~30-60 min on a busy 2-core machine; ``--sample N`` draws N of the held-out
queries for the robustness part, fixed seed); ``--quick`` leaves out the robustness part, the
no-shift variant and the summary; ``--rruff`` stops after the two RRUFF parts; ``--minor``,
``--cross`` and ``--robust`` (Raman robustness) run those parts alone. ``--model FILE``: an
embedding model other than the shipped one.
"""

from __future__ import annotations

import os

# one BLAS thread: kind to the shared 2-core machine, and the same summation order (so the
# same figures) on every run
for _v in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_v, "1")

import csv  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import zlib  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from scipy.ndimage import minimum_filter1d, uniform_filter1d  # noqa: E402
from scipy.stats import binomtest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import describe  # noqa: E402

from matcher import defaults  # noqa: E402
from matcher.identify import Identifier  # noqa: E402
from matcher.learned import EmbeddingModel, MatcherKind, load_model  # noqa: E402
from matcher.library import EntryMeta, Library  # noqa: E402
from matcher.quality import noise_sigma  # noqa: E402
from matcher.results import Category, Identification, Verdict  # noqa: E402
from spectra import Spectrum  # noqa: E402

DATA = Path(os.environ.get("INTERDICT_SHARED_DATA", ROOT.parent / "shared" / "data"))
RAMAN = DATA / "raman" / "rruff_excellent_unoriented"
FTIR = DATA / "ftir" / "rruff_infrared_processed"
WHENFUNG = DATA / "raman" / "portable_reagents_drugs_whenfung"


def is_tune(name: str) -> bool:
    """Whether a mineral is in the TUNE half of the split by name (else held-out).

    The one rule of the split: ``crc32(name) % 2 == 0``. Choices were made on the tune half;
    the learned embedding (``tools/train_embedding.py``) trains on tune-half minerals only.
    """
    return zlib.crc32(name.encode()) % 2 == 0


def is_validation(name: str) -> bool:
    """Tune-half minerals kept OUT of the embedding's training, to choose how to use it.

    A quarter of the tune half, by a second hash of the name (``crc32(name + "/val") % 4``);
    the fusion weight and the matcher default are chosen on these, never on held-out.
    """
    return is_tune(name) and zlib.crc32(f"{name}/val".encode()) % 4 == 0


def group_of(name: str) -> str:
    """Mineral group by name root (see the module docstring)."""
    return re.split(r"[-(]", name, maxsplit=1)[0].strip().lower()


def machine() -> str:
    """A one-line description of this machine."""
    return describe(numpy=np.__version__)


# -- data ---------------------------------------------------------------------------------
def load_raman() -> tuple[list[Spectrum], list[dict[str, str]]]:
    """The RRUFF Raman spectra (integer-cm⁻¹ grid each) and their metadata rows."""
    z = np.load(RAMAN / "rruff_raman_excellent_unoriented_1cm.npz", allow_pickle=False)
    inten, off, xs = z["intensity"], z["offsets"], z["x_start"]  # each array loaded once
    with open(RAMAN / "rruff_raman_excellent_unoriented_metadata.csv", encoding="utf-8") as f:
        meta = list(csv.DictReader(f))
    out = []
    for i, m in enumerate(meta):
        y = inten[off[i]:off[i + 1]].astype(np.float64)
        x = xs[i] + np.arange(y.size, dtype=np.float64)
        out.append(Spectrum(x, y, technique="raman", excitation_nm=float(m["laser_nm"]),
                            source=m["file_name"]))
    return out, meta


def load_ftir() -> tuple[list[Spectrum], list[dict[str, str]]]:
    """The RRUFF infrared spectra (absorbance) and their metadata rows."""
    z = np.load(FTIR / "rruff_infrared_processed.npz", allow_pickle=False)
    ab, off, x0, dx = z["absorbance"], z["offsets"], z["x_first"], z["x_step"]
    with open(FTIR / "rruff_infrared_processed_metadata.csv", encoding="utf-8") as f:
        meta = list(csv.DictReader(f))
    out = []
    for i, m in enumerate(meta):
        y = ab[off[i]:off[i + 1]].astype(np.float64)
        x = x0[i] + dx[i] * np.arange(y.size, dtype=np.float64)
        if y.size and y[0] == 0.0:  # RRUFF processing artefact (SOURCES.md)
            x, y = x[1:], y[1:]
        out.append(Spectrum(x, y, x_unit="wavenumber-cm-1", y_unit="absorbance",
                            technique="infrared", source=m.get("file_name", str(i))))
    return out, meta


# -- scoring helpers ------------------------------------------------------------------------
def topk(S: np.ndarray, lib_names: np.ndarray, q_names: np.ndarray, k: int,
         fold=lambda n: n) -> float:
    """Share of queries whose name (after ``fold``) is among the k best entries."""
    order = np.argsort(-S, axis=1, kind="stable")[:, :k]  # ties: the first entry, as argmax
    f = np.vectorize(fold)
    return float(np.mean((f(lib_names[order]) == f(q_names)[:, None]).any(axis=1)))


def report(label: str, S: np.ndarray, lib_names: np.ndarray, q_names: np.ndarray,
           tune: np.ndarray, val: np.ndarray | None = None) -> dict[str, float]:
    """Print and return top-1/top-5 at species and group level, per split half, and (given
    ``val``) on the validation quarter of the tune half and top-5 on the held-out half."""
    r = {
        "top1": topk(S, lib_names, q_names, 1), "top5": topk(S, lib_names, q_names, 5),
        "g1": topk(S, lib_names, q_names, 1, group_of),
        "g5": topk(S, lib_names, q_names, 5, group_of),
        "tune1": topk(S[tune], lib_names, q_names[tune], 1),
        "held1": topk(S[~tune], lib_names, q_names[~tune], 1),
        "held5": topk(S[~tune], lib_names, q_names[~tune], 5),
        "held_hits": _hits1(S[~tune], lib_names, q_names[~tune]),
    }
    extra = ""
    if val is not None:
        r["val1"] = topk(S[val], lib_names, q_names[val], 1)
        extra = f"  validation {r['val1']:.3f}  held-out top-5 {r['held5']:.3f}"
    print(f"  {label:<34} top-1 {r['top1']:.3f}  top-5 {r['top5']:.3f}  | group top-1 "
          f"{r['g1']:.3f}  top-5 {r['g5']:.3f}  | tune {r['tune1']:.3f}  held-out "
          f"{r['held1']:.3f}{extra}", flush=True)
    return r


def on_grid(spectra: list[Spectrum], grid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Raw spectra linearly interpolated on ``grid`` (0 outside their range) and the mask."""
    X = np.zeros((len(spectra), grid.size))
    M = np.zeros_like(X, dtype=bool)
    for i, s in enumerate(spectra):
        sel = (grid >= s.x[0]) & (grid <= s.x[-1])
        X[i, sel] = np.interp(grid[sel], s.x, s.y)
        M[i, sel] = True
    return X, M


def naive(X: np.ndarray, M: np.ndarray, qi: np.ndarray, li: np.ndarray, window: int) -> np.ndarray:
    """SOURCES.md baseline: rolling-minimum baseline, L2-normalised cosine."""
    B = (X - minimum_filter1d(X, window, axis=1, mode="nearest")) * M
    B /= np.maximum(np.linalg.norm(B, axis=1, keepdims=True), 1e-12)
    return B[qi] @ B[li].T


def pearson(X: np.ndarray, qi: np.ndarray, li: np.ndarray) -> np.ndarray:
    """OpenSpecy-style peer: raw spectra on the library axis, Pearson r."""
    C = X - X.mean(axis=1, keepdims=True)
    C /= np.maximum(np.linalg.norm(C, axis=1, keepdims=True), 1e-12)
    return C[qi] @ C[li].T


def ours(idf: Identifier, queries: list[Spectrum]) -> np.ndarray:
    """The identifier's ranking key of every library row for each query (its matcher's:
    root-HQI correlation, embedding correlation or fused; ``-inf`` outside its candidates)."""
    return np.vstack([idf.rank_keys(s) for s in queries])


MATCHERS = tuple(k.value for k in MatcherKind)
"""Side by side in one run: every matcher (:class:`matcher.learned.MatcherKind`)."""


def identifiers(lib: Library, model: EmbeddingModel,
                matchers: tuple[str, ...] = MATCHERS, **kw: object) -> dict[str, Identifier]:
    """One identifier per matcher on the same library (the embedding model given)."""
    return {m: Identifier(lib, matcher=m, model=model, **kw) for m in matchers}


def build(spectra: list[Spectrum], names: np.ndarray, li: np.ndarray, technique: str) -> Library:
    """Our library of the given rows, through the default pipeline of ``technique``."""
    refs = [(EntryMeta(name=str(names[i]), id=f"e{i}", category=Category.UNKNOWN), spectra[i])
            for i in li]
    return Library.build(refs, pipeline=defaults.pipeline_for(technique),
                         axis=defaults.axis_for(technique), technique=technique,
                         library_id=f"rruff-{technique}")


# -- robustness perturbations ----------------------------------------------------------------
def perturb(s: Spectrum, kind: str, level: float, rng: np.random.Generator) -> Spectrum:
    """A perturbed copy of a query: noise, fluorescence, shift or spikes."""
    y = s.y.copy()
    top = float(np.max(y) - np.min(y))
    if kind == "noise":  # Gaussian noise of σ = level × signal range
        y = y + rng.normal(0.0, level * top, y.size)
    elif kind == "fluorescence":  # broad hump of height level × signal range
        c = rng.uniform(s.x[0], s.x[-1])
        y = y + level * top * np.exp(-0.5 * ((s.x - c) / (0.6 * (s.x[-1] - s.x[0]))) ** 2)
    elif kind == "shift":
        return s.replace(x=s.x + level)
    elif kind == "spikes":  # `level` cosmic spikes of 1-2 × the signal range, 1-2 points
        for _ in range(int(level)):
            i = int(rng.integers(0, y.size - 2))
            w = int(rng.integers(1, 3))
            y[i:i + w] += rng.uniform(1.0, 2.0) * top
    return s.replace(y=y)


ROBUSTNESS: tuple[tuple[str, tuple[float, ...]], ...] = (
    ("noise", (0.0, 0.01, 0.05, 0.1)),
    ("fluorescence", (3.0, 10.0)),
    ("shift", (-5.0, 2.0, 5.0)),
    ("spikes", (3.0, 10.0)),
)
"""The robustness conditions (``noise`` 0 = the unperturbed held-out queries)."""
ROBUST_SEED = 14
"""Seed of every perturbation: condition ``(kind, level)`` draws from
``default_rng([ROBUST_SEED, crc32(f"{kind}:{level:g}")])``, so a condition's perturbed
queries do not depend on which other conditions run, nor in what order."""


def condition_label(kind: str, level: float) -> str:
    """How a robustness condition is printed (``none`` for the unperturbed queries)."""
    if kind == "noise" and level == 0.0:
        return "none"
    unit = {"noise": " × range", "fluorescence": " × range", "shift": " cm⁻¹", "spikes": ""}
    return f"{kind} {level:+g}{unit[kind]}" if kind == "shift" else f"{kind} {level:g}{unit[kind]}"


def robustness(spectra: list[Spectrum], names: np.ndarray, li: np.ndarray, qi: np.ndarray,
               tune: np.ndarray, idfs: dict[str, Identifier], X: np.ndarray, M: np.ndarray,
               grid: np.ndarray, window: int, sample: int | None = None) -> dict[str, dict]:
    """Raman robustness on the HELD-OUT queries (minerals the embedding never trained on).

    Every held-out query (or, with ``sample``, that many drawn with :data:`ROBUST_SEED`) is
    perturbed under each condition of :data:`ROBUSTNESS` (:func:`perturb`), and ranked by
    every matcher, the naive cosine and the Pearson peer; entry top-1. Returns, per
    condition label, the top-1 of each method and the per-query hits (for paired tests).
    """
    held = np.flatnonzero(~tune)
    if sample is not None and sample < held.size:
        held = np.sort(np.random.default_rng(ROBUST_SEED).choice(held, sample, replace=False))
    qs = [spectra[qi[j]] for j in held]
    qn = names[qi][held]
    lib_names = names[li]
    methods = [*idfs, "naive", "peer"]
    print(f"  robustness: {held.size} held-out queries"
          f"{'' if held.size == int((~tune).sum()) else ' (fixed-seed sample)'}, seed "
          f"{ROBUST_SEED}; entry top-1: {' | '.join(methods)}", flush=True)
    out: dict[str, dict] = {}
    for kind_p, levels in ROBUSTNESS:
        for lv in levels:
            rng = np.random.default_rng([ROBUST_SEED, zlib.crc32(f"{kind_p}:{lv:g}".encode())])
            ps = [perturb(s, kind_p, lv, rng) for s in qs]
            hits: dict[str, np.ndarray] = {}
            for m, idf in idfs.items():
                hits[m] = _hits1(ours(idf, ps), lib_names, qn)
            Xp, Mp = on_grid(ps, grid)
            Xa, Ma = np.vstack([Xp, X[li]]), np.vstack([Mp, M[li]])
            qidx, lidx = np.arange(len(ps)), len(ps) + np.arange(li.size)
            hits["naive"] = _hits1(naive(Xa, Ma, qidx, lidx, window), lib_names, qn)
            hits["peer"] = _hits1(pearson(Xa, qidx, lidx), lib_names, qn)
            label = condition_label(kind_p, lv)
            out[label] = {"top1": {m: float(h.mean()) for m, h in hits.items()}, "hits": hits}
            print(f"    {label:<26} " + " | ".join(f"{hits[m].mean():.3f}" for m in methods),
                  flush=True)
    return out


def _hits1(S: np.ndarray, lib_names: np.ndarray, q_names: np.ndarray) -> np.ndarray:
    """Per query: is the best entry of its name (entry top-1)."""
    return np.asarray(lib_names[np.argmax(S, axis=1)] == q_names)


def verdicts(idf: Identifier, queries: list[Spectrum], truth: np.ndarray,
             tune: np.ndarray, val: np.ndarray | None = None) -> dict[str, float]:
    """Full identification (quality, mixture, verdict) of every query: what an officer sees.

    Every RRUFF query is ONE mineral, so a MIXTURE verdict here is spurious (or a real
    impurity: RRUFF specimens are natural samples). Also prints top-1/top-5 of the REPORTED
    hit list (one hit per substance, in the identifier's substance order, i.e. after the
    vote of :meth:`matcher.representation.Representation.substance_order`).
    """
    counts: dict[str, int] = {}
    right = called = 0
    hit1 = np.zeros(len(queries), dtype=bool)
    hit5 = np.zeros(len(queries), dtype=bool)
    mixture = np.zeros(len(queries), dtype=bool)
    for j, (s, name) in enumerate(zip(queries, truth, strict=True)):
        res = idf.identify(s)
        mixture[j] = res.verdict is Verdict.MIXTURE
        names = [h.name for h in res.hits]
        hit1[j] = bool(names) and names[0] == name
        hit5[j] = name in names[:5]
        counts[res.verdict.value] = counts.get(res.verdict.value, 0) + 1
        if res.verdict is Verdict.MATCH:
            called += 1
            right += res.hits[0].name == name
    n = len(queries)
    dist = ", ".join(f"{k} {v / n:.3f}" for k, v in sorted(counts.items()))
    print(f"  [{idf.matcher_name}] verdicts of the full identification: {dist}")
    print(f"  MATCH precision (top hit is the query's species): {right / max(called, 1):.3f} "
          f"of {called}")
    out = {"top1": float(hit1.mean()), "top5": float(hit5.mean()),
           "tune1": float(hit1[tune].mean()), "held1": float(hit1[~tune].mean()),
           "held5": float(hit5[~tune].mean()), "mixture": counts.get("MIXTURE", 0) / n,
           "held_mixture": float(np.mean(mixture[~tune])), "held_hits": hit1[~tune],
           "match": called / n, "precision": right / max(called, 1)}
    extra = ""
    if val is not None:
        out["val1"] = float(hit1[val].mean())
        extra = f"  validation {out['val1']:.3f}"
    print(f"  [{idf.matcher_name}] reported hits (substance vote): top-1 {out['top1']:.3f}  "
          f"top-5 {out['top5']:.3f}  | tune {out['tune1']:.3f}  held-out {out['held1']:.3f}  "
          f"held-out top-5 {out['held5']:.3f}{extra}", flush=True)
    return out


def rruff(kind: str, spectra: list[Spectrum], meta: list[dict[str, str]], naive_range: tuple,
          window: int, model: EmbeddingModel, *, quick: bool = False,
          robust_only: bool = False, robust_sample: int | None = None) -> dict[str, dict]:
    """The RRUFF benchmark for one technique; returns the figures per method."""
    names = np.array([m["mineral"] for m in meta])
    role = np.array([m["benchmark_role"] for m in meta])
    li = np.flatnonzero(role != "query")
    qi = np.flatnonzero(role == "query")
    tune = np.array([is_tune(str(names[i])) for i in qi])
    print(f"\n== RRUFF {kind}: library {li.size} spectra, {qi.size} queries "
          f"({int(tune.sum())} tune / {int((~tune).sum())} held-out, split by mineral name)")
    grid = np.arange(naive_range[0], naive_range[1] + 1, 1.0)
    X, M = on_grid(spectra, grid)
    val = np.array([is_validation(str(names[i])) for i in qi])
    res: dict[str, dict] = {}
    res["naive"] = report(f"naive cosine {naive_range[0]}-{naive_range[1]}",
                          naive(X, M, qi, li, window), names[li], names[qi], tune, val)
    res["pearson"] = report("OpenSpecy-style Pearson (peer)", pearson(X, qi, li), names[li],
                            names[qi], tune, val)
    t0 = time.perf_counter()
    lib = build(spectra, names, li, "raman" if kind == "Raman" else "infrared")
    t1 = time.perf_counter()
    idfs = identifiers(lib, model)
    t2 = time.perf_counter()
    queries = [spectra[i] for i in qi]
    for m, idf in ({} if robust_only else idfs).items():
        t3 = time.perf_counter()
        S = ours(idf, queries)
        t4 = time.perf_counter()
        res[m] = report(f"ours, {idf.matcher_name}", S, names[li], names[qi], tune, val)
        print(f"    ({1e3 * (t4 - t3) / qi.size:.2f} ms per query incl. preprocessing)")
    if idfs["classic"].thresholds.max_shift_cm > 0 and not quick and not robust_only:
        no_shift = idfs["classic"].thresholds.model_copy(update={"max_shift_cm": 0.0})
        idf0 = Identifier(lib, thresholds=no_shift, matcher="classic")
        res["ours_noshift"] = report("ours, no axis-offset search", ours(idf0, queries),
                                     names[li], names[qi], tune, val)
    print(f"  (library build {t1 - t0:.1f} s; identifiers incl. embedding the library "
          f"{t2 - t1:.1f} s)")
    for m, idf in ({} if robust_only else idfs).items():
        res[f"hits_{m}"] = verdicts(idf, queries, names[qi], tune, val)
    if kind == "Raman" and not quick:
        res["robust"] = robustness(spectra, names, li, qi, tune, idfs, X, M, grid, window,
                                   sample=robust_sample)
    return res


def whenfung(model: EmbeddingModel, matchers: tuple[str, ...] = MATCHERS) -> dict[str, dict]:
    """Mixture recall on the 10 known binary mixtures, for each matcher."""
    return {m: _whenfung(Identifier, {"matcher": m, "model": model}) for m in matchers}


def _whenfung(make: type[Identifier], kw: dict[str, object]) -> dict[str, int]:
    """Mixture recall on the 10 known binary mixtures (one matcher)."""
    with open(WHENFUNG / "index.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    def load(rel: str) -> Spectrum:
        d = np.loadtxt(WHENFUNG / rel, delimiter=",")
        return Spectrum(d[:, 0], d[:, 1], technique="raman", source=rel)

    refs = [(EntryMeta(name=r["substance"]), load(r["file"])) for r in rows if r["kind"] == "pure"]
    lib = Library.build(refs, pipeline=defaults.raman_pipeline(), axis=defaults.axis_for("raman"),
                        technique="raman", library_id="whenfung")
    idf = make(lib, **kw)  # type: ignore[arg-type]
    known = [r for r in rows if r["file"].startswith("mixtures/mix_")]
    main_right = 0
    both = comp = 0
    spurious = 0
    print(f"\n== whenfung portable Raman [{idf.matcher_name}]: {len(refs)} pure standards, "
          f"{len(known)} known binary mixtures")
    for r in known:
        truth = {p.strip().rsplit(" ", 1)[0] for p in r["components"].split("+")}
        res = idf.identify(load(r["file"]))
        major = max(r["components"].split("+"), key=lambda p: float(p.strip().rsplit(" ", 1)[1]
                                                              .rstrip("%") or 0))
        main_right += bool(res.hits) and res.hits[0].name.startswith(
            major.strip().rsplit(" ", 1)[0])
        found_names = ({c.name for c in res.mixture.components} if res.mixture
                       else {res.hits[0].name} if res.verdict is Verdict.MATCH else set())
        # "hydrogen_peroxide" in the mixture label is the "hydrogen_peroxide_solution" standard
        named = {next((t for t in truth if n.startswith(t)), n) for n in found_names}
        found = truth & named
        comp += len(found)
        both += found == truth
        spurious += len(named - truth)
        shares = (", ".join(f"{c.name} {c.share:.2f}" for c in res.mixture.components)
                  if res.mixture else "")
        print(f"  {r['components']:<38} → {res.verdict.value:<12} {shares}")
    print(f"  mixture recall (both components named): {both}/{len(known)}; component recall "
          f"{comp}/{2 * len(known)}; spurious components {spurious}")
    pure_ok = 0
    for r in rows:
        if r["kind"] == "pure":
            res = idf.identify(load(r["file"]))
            pure_ok += res.verdict is Verdict.MATCH and res.mixture is None
    print(f"  pure standards identified as MATCH (not mixture) against themselves: "
          f"{pure_ok}/{len(refs)}; top hit = the major component in {main_right}/{len(known)}")
    return {"both": both, "components": comp, "spurious": spurious, "pure_ok": pure_ok,
            "main_top1": main_right, "n": len(known)}


# -- minor components on real measured spectra (whenfung pure standards) -------------------
WHENFUNG_CATEGORIES = {
    "amphetamine_sulfate": (Category.CONTROLLED, "US CSA II"),
    "phenobarbital": (Category.CONTROLLED, "US CSA IV"),
    "ephedrine_hydrochloride": (Category.PRECURSOR, None),
}
"""The whenfung standards that alert (as in tests/matcher/test_identify_helpers.py)."""

MINOR_SHARES = (0.1, 0.2, 0.3, 0.4, 0.5)
MINOR_SEEDS = (0, 1, 2)
MINOR_MAX_SHIFT = 3.0
"""Calibration drift of a synthetic measurement: uniform in ±this many cm⁻¹ (the real
mixtures sit 2-5 cm⁻¹ off the standards)."""


def load_whenfung(rel: str) -> Spectrum:
    """One whenfung spectrum (x,y CSV of raw counts)."""
    d = np.loadtxt(WHENFUNG / rel, delimiter=",")
    return Spectrum(d[:, 0], d[:, 1], technique="raman", y_unit="counts", source=rel)


def whenfung_pure() -> dict[str, Spectrum]:
    """The 20 pure standards by substance name."""
    with open(WHENFUNG / "index.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return {r["substance"]: load_whenfung(r["file"]) for r in rows if r["kind"] == "pure"}


def whenfung_library(pure: dict[str, Spectrum]) -> Library:
    """The pure standards through the default Raman pipeline, drugs/precursor alerting."""
    refs = []
    for name, s in pure.items():
        cat, sched = WHENFUNG_CATEGORIES.get(name, (Category.HAZARDOUS, None))
        refs.append((EntryMeta(name=name, category=cat, schedule=sched), s))
    return Library.build(refs, pipeline=defaults.raman_pipeline(),
                         axis=defaults.axis_for("raman"), technique="raman",
                         library_id="whenfung-pure")


def _band_signal(y: np.ndarray) -> np.ndarray:
    """Raman bands above a broad baseline (rolling minimum of 101 points, smoothed)."""
    base = uniform_filter1d(minimum_filter1d(y, 101, mode="nearest"), 101, mode="nearest")
    return np.maximum(y - np.minimum(base, y), 0.0)


def synthetic_measurement(parts: dict[str, float], pure: dict[str, Spectrum], noise: float,
                          rng: np.random.Generator) -> Spectrum:
    """A measurement-like spectrum of a mixture of whenfung standards (raw counts).

    Each standard's RAW spectrum (baseline, fluorescence and its own noise included; all on
    the instrument's one pixel axis) is divided by its band area above a broad baseline, so
    ``parts`` are shares of the Raman signal (what the fit reports, not mass fractions: the
    data do not give the relative scattering strengths); the sum is scaled so its tallest
    band stands as high as the geometric mean of the standards' own, Gaussian noise of the
    instrument's typical σ (``noise``, counts) is added, and the axis is offset by a uniform
    ±3 cm⁻¹ (calibration drift).
    """
    names = list(parts)
    x = pure[names[0]].x
    y = np.zeros_like(x)
    heights = []
    for n in names:
        s = pure[n]
        assert np.array_equal(s.x, x), "the pure standards share one axis"
        band = _band_signal(s.y)
        heights.append(float(band.max()))
        y += parts[n] * s.y / float(band.sum())
    level = float(np.exp(np.mean(np.log(heights))))
    y *= level / float(_band_signal(y).max())
    y = y + rng.normal(0.0, noise, y.size)
    shift = float(rng.uniform(-MINOR_MAX_SHIFT, MINOR_MAX_SHIFT))
    return Spectrum(x + shift, y, technique="raman", y_unit="counts",
                    source="+".join(f"{n}:{parts[n]:.2f}" for n in names))


def _reported(res: Identification) -> set[str]:
    """Substances an officer is told about: the mixture's components, else the named hit
    (MATCH, or a weak match) with its analogues; nothing for NO_MATCH / poor signal."""
    if res.mixture is not None:
        return {c.name for c in res.mixture.components}
    if res.verdict in (Verdict.MATCH, Verdict.INCONCLUSIVE) and res.hits:
        return {res.hits[0].name} | set(res.alert_substances)
    return set()


def minor_components(idf: Identifier | None = None) -> dict[str, object]:
    """Minor-component recall on synthetic mixtures of REAL whenfung standards.

    Pairs: each alerting standard (2 controlled drugs, 1 precursor) as the MINOR part of
    every non-alerting standard (17 solvents/reagents; there is no solid diluent in this
    set), and each drug as the minor part of each other drug; shares 0.1-0.5, 3 seeds.
    Negative controls: every pure standard through the same measurement model (3 seeds),
    where a MIXTURE verdict is a false mixture.

    Caveat: the library spectrum of each component is the SAME measurement as the one
    mixed in (one spectrum per standard), so only the added noise, the baselines and the
    calibration offset separate them; real figures will be lower.
    """
    pure = whenfung_pure()
    if idf is None:
        idf = Identifier(whenfung_library(pure))
    noise = float(np.median([noise_sigma(s.y) for s in pure.values()]))
    alerting = [n for n in pure if n in WHENFUNG_CATEGORIES]
    benign = [n for n in pure if n not in WHENFUNG_CATEGORIES]
    pairs = ([(m, b, "drug+benign") for m in alerting for b in benign]
             + [(m, d, "drug+drug") for m in alerting for d in alerting if d != m])
    stats: dict[tuple[str, float], list[int]] = {}
    for minor, major, kind in pairs:
        for f in MINOR_SHARES:
            for seed in MINOR_SEEDS:
                rng = np.random.default_rng([seed, zlib.crc32(f"{minor}|{major}".encode()),
                                             round(100 * f)])
                s = synthetic_measurement({minor: f, major: 1.0 - f}, pure, noise, rng)
                res = idf.identify(s)
                named = _reported(res)
                st = stats.setdefault((kind, f), [0, 0, 0, 0, 0, 0])
                st[0] += 1
                st[1] += minor in named
                st[2] += res.alert
                st[3] += named == {minor, major}
                st[4] += len(named - {minor, major})
                st[5] += res.verdict is Verdict.MIXTURE
    print(f"\n== minor components [{idf.matcher_name}]: synthetic mixtures of the {len(pure)} "
          "real whenfung "
          f"standards (library = the same standards; noise σ {noise:.0f} counts, offset "
          f"±{MINOR_MAX_SHIFT:g} cm⁻¹, seeds {list(MINOR_SEEDS)})")
    print("  pairs       share    n   minor named  alert   both named  MIXTURE  spurious comps")
    out: dict[str, object] = {}
    for (kind, f), st in sorted(stats.items()):
        n = st[0]
        print(f"  {kind:<11} {f:>5.1f} {n:>5}   {st[1] / n:>10.3f}  {st[2] / n:>5.3f}"
              f"   {st[3] / n:>10.3f}  {st[5] / n:>7.3f}  {st[4]:>6d}")
        out[f"{kind}@{f:g}"] = {"minor": st[1] / n, "alert": st[2] / n, "both": st[3] / n,
                                "spurious": st[4], "n": n}
    false_mix = total = wrong = top1 = 0
    for name in pure:
        for seed in MINOR_SEEDS:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 100])
            res = idf.identify(synthetic_measurement({name: 1.0}, pure, noise, rng))
            total += 1
            false_mix += res.verdict is Verdict.MIXTURE
            wrong += bool(_reported(res) - {name})
            top1 += bool(res.hits) and res.hits[0].name == name
    print(f"  [{idf.matcher_name}] pure standards through the same model: top hit right "
          f"{top1}/{total}, false MIXTURE {false_mix}/{total}, a wrong substance reported "
          f"{wrong}/{total}")
    out["pure_false_mixture"] = (false_mix, total)
    out["pure_top1"] = (top1, total)
    return out


# -- cross-instrument: the same materials on other instruments -----------------------------
CHARISMA = DATA / "raman" / "charisma_multi_instrument"
ARCADIA = DATA / "raman" / "acetonitrile_multi_instrument_arcadia" / "data"
CHARISMA_MATERIALS = {"PST": "polystyrene", "nCAL": "calcite", "sCAL": "calcite",
                      "S0B": "silicon", "S0N": "silicon", "S0P": "silicon", "S1N": "silicon",
                      "Sil": "silicon", "Sil_": "silicon", "TiO2": "TiO2"}
RRUFF_AS = {"Calcite": "calcite", "Anatase": "TiO2", "Rutile": "TiO2", "Silicon": "silicon"}
"""RRUFF entries that name the same material (a right answer too)."""


def cross_instrument(model: EmbeddingModel, matchers: tuple[str, ...] = MATCHERS) -> dict:
    """Library from one instrument, queries from another.

    (a) CHARISMA round-robin (polystyrene, two calcites, silicon wafers, TiO₂; BWTek i-Raman
    532/785 nm at three labs, Horiba 785/633 nm): the library is the RRUFF Raman library
    (3,211 mineral spectra as distractors) plus, for each instrument, ONE spectrum of each
    material it measured; a query from instrument B is ranked against the RRUFF rows and the
    rows of ONE other instrument A, for every pair A ≠ B that share the material (entry top-1;
    an RRUFF calcite/anatase/rutile entry counts as right for calcite/TiO₂). Calcite, anatase
    and rutile are tune-half minerals the embedding trained on; polystyrene and silicon are
    not in RRUFF at all.
    (b) Arcadia acetonitrile (Horiba MacroRAM 785, Renishaw Qontor, Wasatch WP-532X) against
    the 20 whenfung standards of another (portable) instrument: full identification, top hit.
    """
    z = np.load(CHARISMA / "charisma_multi_instrument.npz", allow_pickle=False)
    xs, ys, off = z["raman_shift"], z["intensity"], z["offsets"]
    with open(CHARISMA / "charisma_multi_instrument_metadata.csv", encoding="utf-8") as f:
        meta = [m for m in csv.DictReader(f) if m["sample"] in CHARISMA_MATERIALS]
    inst_of = {}
    spectra_c, mats, insts = [], [], []
    for m in meta:
        i = int(m["index"])
        x, y = xs[off[i]:off[i + 1]].astype(np.float64), ys[off[i]:off[i + 1]].astype(np.float64)
        keep = (x >= 100) & np.isfinite(y)
        if keep.sum() < 100 or x[keep][-1] < 1200:
            continue
        inst = f"{m['provider']} {m['device']} {m['laser_nm']} nm"
        inst_of[i] = inst
        spectra_c.append(Spectrum(x[keep], y[keep], technique="raman",
                                  source=m["source_file"]))
        mats.append(CHARISMA_MATERIALS[m["sample"]])
        insts.append(inst)
    mats_a, insts_a = np.array(mats), np.array(insts)
    # library rows: the first spectrum of each (instrument, material)
    lib_rows = sorted({(str(insts_a[j]), str(mats_a[j])): j
                       for j in range(len(mats) - 1, -1, -1)}.values())
    rspectra, rmeta = load_raman()
    rnames = np.array([m["mineral"] for m in rmeta])
    rli = np.flatnonzero(np.array([m["benchmark_role"] for m in rmeta]) != "query")
    refs = [(EntryMeta(name=str(rnames[i]), id=f"r{i}"), rspectra[i]) for i in rli]
    refs += [(EntryMeta(name=str(mats_a[j]), id=f"c{j}"), spectra_c[j]) for j in lib_rows]
    lib = Library.build(refs, pipeline=defaults.raman_pipeline(),
                        axis=defaults.axis_for("raman"), technique="raman",
                        library_id="rruff+charisma")
    row_inst = np.array([""] * rli.size + [str(insts_a[j]) for j in lib_rows], dtype=object)
    row_mat = np.array([RRUFF_AS.get(str(rnames[i]), "") for i in rli]
                       + [str(mats_a[j]) for j in lib_rows], dtype=object)
    queries = [j for j in range(len(mats)) if j not in set(lib_rows)] + lib_rows
    print(f"\n== cross-instrument (CHARISMA): {len(set(insts))} instruments, "
          f"{len(mats)} spectra of {sorted(set(mats))}; library RRUFF {rli.size} + "
          f"{len(lib_rows)} (one per instrument and material)")
    out: dict[str, dict] = {}
    for mname, idf in identifiers(lib, model, matchers).items():
        right: dict[str, list[int]] = {}
        for j in queries:
            keys = idf.rank_keys(spectra_c[j])
            for a in sorted(set(insts) - {insts[j]}):
                if not np.any((row_inst == a) & (row_mat == mats[j])):
                    continue  # A did not measure this material
                allowed = (row_inst == "") | (row_inst == a)
                k = np.where(allowed, keys, -np.inf)
                st = right.setdefault(mats[j], [0, 0])
                st[0] += row_mat[int(np.argmax(k))] == mats[j]
                st[1] += 1
        tot = [sum(v[0] for v in right.values()), sum(v[1] for v in right.values())]
        per = ", ".join(f"{m} {v[0]}/{v[1]}" for m, v in sorted(right.items()))
        print(f"  [{idf.matcher_name}] top-1 over (query, other instrument) pairs: "
              f"{tot[0]}/{tot[1]} = {tot[0] / max(tot[1], 1):.3f}  ({per})", flush=True)
        out[mname] = {"right": tot[0], "n": tot[1], "per": right}
    # (b) acetonitrile on three lab instruments against the portable instrument's standards
    files = {"Horiba MacroRAM 785": ARCADIA / "Horiba_MacroRAM" / "acetonitrile.txt",
             "Renishaw Qontor": ARCADIA / "Renishaw_Qontor" / "acetonitrile_5x.txt",
             "Wasatch WP-532X": ARCADIA / "Wasatch_WP532X" / "acetonitrile.csv"}
    import spectra as spectra_pkg

    wlib = whenfung_library(whenfung_pure())
    for mname, idf in identifiers(wlib, model, matchers).items():
        said = []
        for label, path in files.items():
            s = spectra_pkg.read(path)[0]
            s = Spectrum(s.x, s.y, technique="raman", source=str(path))  # shift axis, cm⁻¹
            res = idf.identify(s)
            said.append(f"{label}: {res.verdict.value} "
                        f"{res.hits[0].name if res.hits else '-'}")
            out.setdefault(f"arcadia_{mname}", {})[label] = (
                bool(res.hits) and res.hits[0].name == "acetonitrile")
        print(f"  [{idf.matcher_name}] acetonitrile vs whenfung standards: " + "; ".join(said))
    return out


def rruff_raman_verdicts() -> dict[str, float]:
    """The RRUFF Raman queries' verdicts only (MIXTURE share = spurious-mixture rate)."""
    spectra, meta = load_raman()
    names = np.array([m["mineral"] for m in meta])
    role = np.array([m["benchmark_role"] for m in meta])
    li = np.flatnonzero(role != "query")
    qi = np.flatnonzero(role == "query")
    tune = np.array([is_tune(str(names[i])) for i in qi])
    print(f"\n== RRUFF Raman verdicts: library {li.size} spectra, {qi.size} one-mineral queries")
    idf = Identifier(build(spectra, names, li, "raman"))
    return verdicts(idf, [spectra[i] for i in qi], names[qi], tune)


# -- the one table ---------------------------------------------------------------------------
PEERS = ("naive", "peer")
BOOTSTRAP = 2000


def paired(base: np.ndarray, other: np.ndarray) -> str:
    """``other − base`` on the same queries (per-query hits): the difference of the shares,
    its 95 % bootstrap interval (queries resampled, :data:`BOOTSTRAP` times, seed
    :data:`ROBUST_SEED`) and the exact McNemar p-value (two-sided binomial test on the
    discordant queries)."""
    d = other.astype(np.float64) - base.astype(np.float64)
    rng = np.random.default_rng(ROBUST_SEED)
    boots = d[rng.integers(0, d.size, (BOOTSTRAP, d.size))].mean(axis=1)
    lo, hi = np.percentile(boots, [2.5, 97.5])
    gain, loss = int(np.sum(other & ~base)), int(np.sum(base & ~other))
    p = binomtest(gain, gain + loss, 0.5).pvalue if gain + loss else 1.0
    return f"{d.mean():+.3f} [{lo:+.3f}, {hi:+.3f}] {gain}/{loss} p={p:.2g}"


def summary(raman: dict, ftir: dict, mixtures: dict, minor: dict, cross: dict) -> None:
    """Print the side-by-side table of the whole run (markdown), held-out figures only."""
    ours_m = list(MATCHERS)
    cols = [*ours_m, *PEERS]
    head = {"naive": "naive cosine", "peer": "Pearson peer"}
    print("\n== SUMMARY: held-out (minerals and substances the embedding never trained on), "
          "one run")
    print("| held-out | " + " | ".join(head.get(c, c) for c in cols) + " |")
    print("|---|" + "---|" * len(cols))

    def row(label: str, vals: dict[str, str]) -> None:
        print(f"| {label} | " + " | ".join(vals.get(c, "—") for c in cols) + " |")

    def f3(x: float) -> str:
        return f"{x:.3f}"

    for tech, res in (("Raman", raman), ("FTIR", ftir)):
        n_held = res["hits_classic"]["held_hits"].size
        row(f"RRUFF {tech} top-1, reported hits ({n_held} queries)",
            {m: f3(res[f"hits_{m}"]["held1"]) for m in ours_m})
        row(f"RRUFF {tech} top-5, reported hits",
            {m: f3(res[f"hits_{m}"]["held5"]) for m in ours_m})
        row(f"RRUFF {tech} top-1, best entry",
            {**{m: f3(res[m]["held1"]) for m in ours_m},
             "naive": f3(res["naive"]["held1"]), "peer": f3(res["pearson"]["held1"])})
        row(f"RRUFF {tech} top-5, best entry",
            {**{m: f3(res[m]["held5"]) for m in ours_m},
             "naive": f3(res["naive"]["held5"]), "peer": f3(res["pearson"]["held5"])})
        row(f"RRUFF {tech} spurious MIXTURE (one-mineral queries)",
            {m: f"{100 * res[f'hits_{m}']['held_mixture']:.1f} %" for m in ours_m})
        row(f"RRUFF {tech} validation quarter top-1, reported (where choices were made)",
            {m: f3(res[f"hits_{m}"]["val1"]) for m in ours_m})
    rob = raman.get("robust", {})
    for label, r in rob.items():
        n = next(iter(r["hits"].values())).size
        row(f"Raman {label}, best entry ({n} queries)", {c: f3(v) for c, v in r["top1"].items()})
    row("whenfung real binary mixtures: both named (of 10)",
        {m: str(mixtures[m]["both"]) for m in ours_m})
    row("... spurious components", {m: str(mixtures[m]["spurious"]) for m in ours_m})
    row("... top hit = the major component (of 10)",
        {m: str(mixtures[m]["main_top1"]) for m in ours_m})
    row("whenfung pure standards against themselves: MATCH (of 20)",
        {m: str(mixtures[m]["pure_ok"]) for m in ours_m})
    for f in (0.1, 0.2, 0.3):
        row(f"drug in benign at {100 * f:.0f} % of the signal: minor named",
            {m: f3(minor[m][f"drug+benign@{f:g}"]["minor"]) for m in ours_m})
    row("drug in drug at 20 %: minor named", {m: f3(minor[m]["drug+drug@0.2"]["minor"])
                                              for m in ours_m})
    row("drug standards through the measurement model: false MIXTURE",
        {m: "{}/{}".format(*minor[m]["pure_false_mixture"]) for m in ours_m})
    row("cross-instrument CHARISMA: top-1 over (query, other instrument) pairs",
        {m: f"{cross[m]['right']}/{cross[m]['n']} = {cross[m]['right'] / cross[m]['n']:.3f}"
         for m in ours_m})
    row("cross-instrument acetonitrile (3 lab instruments vs portable standards): top hit",
        {m: f"{sum(cross[f'arcadia_{m}'].values())}/{len(cross[f'arcadia_{m}'])}"
         for m in ours_m})
    others = ours_m[1:]
    print("\nPaired against classic on the same held-out queries: difference of top-1, 95 % "
          "bootstrap interval, queries won/lost, exact McNemar p\n")
    print("| held-out | " + " | ".join(f"{m} − classic" for m in others) + " |")
    print("|---|" + "---|" * len(others))
    for tech, res in (("Raman", raman), ("FTIR", ftir)):
        print(f"| RRUFF {tech}, reported hits | " + " | ".join(
            paired(res["hits_classic"]["held_hits"], res[f"hits_{m}"]["held_hits"])
            for m in others) + " |")
    for label, r in rob.items():
        print(f"| Raman {label}, best entry | " + " | ".join(
            paired(r["hits"]["classic"], r["hits"][m]) for m in others) + " |")


def main() -> int:
    """Run every part; print the figures."""
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}; nothing to measure")
        return 0
    argv = sys.argv[1:]
    flags = {"--full", "--quick", "--rruff", "--minor", "--cross", "--robust"}
    valued = {"--model", "--sample"}
    i = 0
    while i < len(argv):
        if argv[i] in valued and i + 1 < len(argv):
            i += 2
        elif argv[i] in flags:
            i += 1
        else:
            print(f"bench/accuracy.py: unknown or incomplete argument {argv[i]!r} (options: "
                  f"{', '.join(sorted(flags | valued))})", file=sys.stderr)
            return 2
    quick = "--quick" in argv
    if quick and "--full" in argv:
        print("bench/accuracy.py: --full and --quick exclude each other", file=sys.stderr)
        return 2
    model = load_model(argv[argv.index("--model") + 1] if "--model" in argv else None)
    print(f"embedding model: {model.source} sha256 {model.sha256}")
    if "--minor" in argv:  # minor components, real mixtures, RRUFF false mixtures
        print("machine:", machine(), "| --minor")
        t = time.perf_counter()
        for idf in identifiers(whenfung_library(whenfung_pure()), model).values():
            minor_components(idf)
        whenfung(model)
        rruff_raman_verdicts()
        print(f"\ntotal {time.perf_counter() - t:.0f} s")
        return 0
    if "--cross" in argv:
        cross_instrument(model)
        return 0
    if "--robust" in argv:  # RRUFF Raman (incl. the robustness curve) alone
        print("machine:", machine(), "| --robust")
        spectra, meta = load_raman()
        rruff("Raman", spectra, meta, (150, 1300), 101, model, robust_only=True)
        return 0
    sample = int(argv[argv.index("--sample") + 1]) if "--sample" in argv else None
    line = machine()
    print("machine:", line, "| quick (no robustness, no no-shift variant)" if quick else "")
    t = time.perf_counter()
    spectra, meta = load_raman()
    raman = rruff("Raman", spectra, meta, (150, 1300), 101, model, quick=quick,
                  robust_sample=sample)
    spectra, meta = load_ftir()
    ftir = rruff("FTIR", spectra, meta, (450, 1800), 101, model, quick=quick)
    if "--rruff" in argv:  # the two RRUFF parts only (e.g. to compare model files)
        print(f"\ntotal {time.perf_counter() - t:.0f} s")
        return 0
    mixtures = whenfung(model)
    minor = {m: minor_components(idf)
             for m, idf in identifiers(whenfung_library(whenfung_pure()), model).items()}
    cross = cross_instrument(model)
    if not quick:
        summary(raman, ftir, mixtures, minor, cross)
    print(f"\nmodel {model.source} sha256 {model.sha256}")
    print(f"machine: {line}")
    print(f"total {time.perf_counter() - t:.0f} s")
    return 0

if __name__ == "__main__":
    sys.exit(main())
