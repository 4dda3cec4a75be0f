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
* Robustness curve (Raman): a fixed 25 % sample of the queries with added noise, a
  fluorescence background, axis shifts and cosmic spikes.

Top-k counts ENTRIES (the k best library spectra; a query is right when one of them is of
its mineral), exactly as the SOURCES.md baseline does.

Group level: two minerals are in the same group when their names share the root before
the first hyphen or parenthesis ("Monazite-(Ce)" and "Monazite-(La)" → "Monazite",
"Chabazite-Ca" → "Chabazite"); RRUFF splits solid-solution series into such end-members.

Run: ``.venv/bin/python bench/accuracy.py`` (about 2.5 minutes on 2 cores); ``--quick``
leaves out the robustness curve and the no-shift variant (about a minute).
"""

from __future__ import annotations

import csv
import os
import re
import sys
import time
import zlib
from pathlib import Path

import numpy as np
from scipy.ndimage import minimum_filter1d, uniform_filter1d

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from _machine import describe  # noqa: E402

from matcher import defaults  # noqa: E402
from matcher.identify import Identifier  # noqa: E402
from matcher.library import EntryMeta, Library  # noqa: E402
from matcher.quality import noise_sigma  # noqa: E402
from matcher.results import Category, Identification, Verdict  # noqa: E402
from spectra import Spectrum  # noqa: E402

DATA = Path(os.environ.get("INTERDICT_SHARED_DATA", ROOT.parent / "shared" / "data"))
RAMAN = DATA / "raman" / "rruff_excellent_unoriented"
FTIR = DATA / "ftir" / "rruff_infrared_processed"
WHENFUNG = DATA / "raman" / "portable_reagents_drugs_whenfung"


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
    order = np.argsort(-S, axis=1)[:, :k]
    f = np.vectorize(fold)
    return float(np.mean((f(lib_names[order]) == f(q_names)[:, None]).any(axis=1)))


def report(label: str, S: np.ndarray, lib_names: np.ndarray, q_names: np.ndarray,
           tune: np.ndarray) -> dict[str, float]:
    """Print and return top-1/top-5 at species and group level, and per split half."""
    r = {
        "top1": topk(S, lib_names, q_names, 1), "top5": topk(S, lib_names, q_names, 5),
        "g1": topk(S, lib_names, q_names, 1, group_of),
        "g5": topk(S, lib_names, q_names, 5, group_of),
        "tune1": topk(S[tune], lib_names, q_names[tune], 1),
        "held1": topk(S[~tune], lib_names, q_names[~tune], 1),
    }
    print(f"  {label:<34} top-1 {r['top1']:.3f}  top-5 {r['top5']:.3f}  | group top-1 "
          f"{r['g1']:.3f}  top-5 {r['g5']:.3f}  | tune {r['tune1']:.3f}  held-out "
          f"{r['held1']:.3f}", flush=True)
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
    """Our scores (HQI scale) of every library row for each query."""
    return np.vstack([idf.scores(s) for s in queries])


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


def verdicts(idf: Identifier, queries: list[Spectrum], truth: np.ndarray,
             tune: np.ndarray) -> dict[str, float]:
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
    for j, (s, name) in enumerate(zip(queries, truth, strict=True)):
        res = idf.identify(s)
        names = [h.name for h in res.hits]
        hit1[j] = bool(names) and names[0] == name
        hit5[j] = name in names[:5]
        counts[res.verdict.value] = counts.get(res.verdict.value, 0) + 1
        if res.verdict is Verdict.MATCH:
            called += 1
            right += res.hits[0].name == name
    n = len(queries)
    dist = ", ".join(f"{k} {v / n:.3f}" for k, v in sorted(counts.items()))
    print(f"  verdicts of the full identification: {dist}")
    print(f"  MATCH precision (top hit is the query's species): {right / max(called, 1):.3f} "
          f"of {called}")
    out = {"top1": float(hit1.mean()), "top5": float(hit5.mean()),
           "tune1": float(hit1[tune].mean()), "held1": float(hit1[~tune].mean())}
    print(f"  reported hits (substance vote): top-1 {out['top1']:.3f}  top-5 {out['top5']:.3f}"
          f"  | tune {out['tune1']:.3f}  held-out {out['held1']:.3f}", flush=True)
    return out


def rruff(kind: str, spectra: list[Spectrum], meta: list[dict[str, str]], naive_range: tuple,
          window: int, *, quick: bool = False) -> dict[str, dict[str, float]]:
    """The RRUFF benchmark for one technique; returns the figures per method."""
    names = np.array([m["mineral"] for m in meta])
    role = np.array([m["benchmark_role"] for m in meta])
    li = np.flatnonzero(role != "query")
    qi = np.flatnonzero(role == "query")
    tune = np.array([zlib.crc32(names[i].encode()) % 2 == 0 for i in qi])
    print(f"\n== RRUFF {kind}: library {li.size} spectra, {qi.size} queries "
          f"({int(tune.sum())} tune / {int((~tune).sum())} held-out, split by mineral name)")
    grid = np.arange(naive_range[0], naive_range[1] + 1, 1.0)
    X, M = on_grid(spectra, grid)
    res = {}
    res["naive"] = report(f"naive cosine {naive_range[0]}-{naive_range[1]}",
                          naive(X, M, qi, li, window), names[li], names[qi], tune)
    res["pearson"] = report("OpenSpecy-style Pearson (peer)", pearson(X, qi, li), names[li],
                            names[qi], tune)
    t0 = time.perf_counter()
    lib = build(spectra, names, li, "raman" if kind == "Raman" else "infrared")
    idf = Identifier(lib)
    t1 = time.perf_counter()
    S = ours(idf, [spectra[i] for i in qi])
    t2 = time.perf_counter()
    res["ours"] = report("ours (matcher.defaults)", S, names[li], names[qi], tune)
    if idf.thresholds.max_shift_cm > 0 and not quick:
        no_shift = idf.thresholds.model_copy(update={"max_shift_cm": 0.0})
        idf0 = Identifier(lib, thresholds=no_shift)
        res["ours_noshift"] = report("ours, no axis-offset search",
                                     ours(idf0, [spectra[i] for i in qi]), names[li], names[qi],
                                     tune)
    print(f"  (library build {t1 - t0:.1f} s; {1e3 * (t2 - t1) / qi.size:.2f} ms per query "
          "incl. preprocessing)")
    res["hits"] = verdicts(idf, [spectra[i] for i in qi], names[qi], tune)
    if kind == "Raman" and not quick:
        rng = np.random.default_rng(0)
        sample = rng.choice(qi.size, size=qi.size // 4, replace=False)
        qs = [spectra[qi[j]] for j in sample]
        qn = names[qi][sample]
        X_lib = X[li]
        print(f"  robustness ({sample.size} queries, fixed seed), top-1 ours | naive | peer:")
        for kind_p, levels in (("noise", (0.0, 0.01, 0.02, 0.05, 0.1)),
                               ("fluorescence", (1.0, 3.0, 10.0)),
                               ("shift", (-5.0, -2.0, 2.0, 5.0)),
                               ("spikes", (1, 3, 10))):
            for lv in levels:
                ps = [perturb(s, kind_p, lv, rng) for s in qs]
                ours_s = ours(idf, ps)
                Xp, Mp = on_grid(ps, grid)
                Xa = np.vstack([Xp, X_lib])
                Ma = np.vstack([Mp, M[li]])
                nq = len(ps)
                qidx, lidx = np.arange(nq), nq + np.arange(li.size)
                a = topk(ours_s, names[li], qn, 1)
                b = topk(naive(Xa, Ma, qidx, lidx, window), names[li], qn, 1)
                c = topk(pearson(Xa, qidx, lidx), names[li], qn, 1)
                print(f"    {kind_p:<12} {lv:>6g}: {a:.3f} | {b:.3f} | {c:.3f}", flush=True)
    return res


def whenfung() -> None:
    """Mixture recall on the 10 known binary mixtures."""
    with open(WHENFUNG / "index.csv", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))

    def load(rel: str) -> Spectrum:
        d = np.loadtxt(WHENFUNG / rel, delimiter=",")
        return Spectrum(d[:, 0], d[:, 1], technique="raman", source=rel)

    refs = [(EntryMeta(name=r["substance"]), load(r["file"])) for r in rows if r["kind"] == "pure"]
    lib = Library.build(refs, pipeline=defaults.raman_pipeline(), axis=defaults.axis_for("raman"),
                        technique="raman", library_id="whenfung")
    idf = Identifier(lib)
    known = [r for r in rows if r["file"].startswith("mixtures/mix_")]
    both = comp = 0
    spurious = 0
    print(f"\n== whenfung portable Raman: {len(refs)} pure standards, {len(known)} known "
          "binary mixtures")
    for r in known:
        truth = {p.strip().rsplit(" ", 1)[0] for p in r["components"].split("+")}
        res = idf.identify(load(r["file"]))
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
          f"{pure_ok}/{len(refs)}")


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
    print(f"\n== minor components: synthetic mixtures of the {len(pure)} real whenfung "
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
    false_mix = total = wrong = 0
    for name in pure:
        for seed in MINOR_SEEDS:
            rng = np.random.default_rng([seed, zlib.crc32(name.encode()), 100])
            res = idf.identify(synthetic_measurement({name: 1.0}, pure, noise, rng))
            total += 1
            false_mix += res.verdict is Verdict.MIXTURE
            wrong += bool(_reported(res) - {name})
    print(f"  pure standards through the same model: false MIXTURE {false_mix}/{total}, "
          f"a wrong substance reported {wrong}/{total}")
    out["pure_false_mixture"] = (false_mix, total)
    return out


def rruff_raman_verdicts() -> dict[str, float]:
    """The RRUFF Raman queries' verdicts only (MIXTURE share = spurious-mixture rate)."""
    spectra, meta = load_raman()
    names = np.array([m["mineral"] for m in meta])
    role = np.array([m["benchmark_role"] for m in meta])
    li = np.flatnonzero(role != "query")
    qi = np.flatnonzero(role == "query")
    tune = np.array([zlib.crc32(names[i].encode()) % 2 == 0 for i in qi])
    print(f"\n== RRUFF Raman verdicts: library {li.size} spectra, {qi.size} one-mineral queries")
    idf = Identifier(build(spectra, names, li, "raman"))
    return verdicts(idf, [spectra[i] for i in qi], names[qi], tune)


def main() -> int:
    """Run every part; print the figures."""
    if not DATA.is_dir():
        print(f"shared data not found at {DATA}; nothing to measure")
        return 0
    quick = "--quick" in sys.argv[1:]
    if "--minor" in sys.argv[1:]:  # minor components, real mixtures, RRUFF false mixtures
        print("machine:", machine(), "| --minor")
        t = time.perf_counter()
        minor_components()
        whenfung()
        rruff_raman_verdicts()
        print(f"\ntotal {time.perf_counter() - t:.0f} s")
        return 0
    print("machine:", machine(), "| quick (no robustness, no no-shift variant)" if quick else "")
    t = time.perf_counter()
    spectra, meta = load_raman()
    rruff("Raman", spectra, meta, (150, 1300), 101, quick=quick)
    spectra, meta = load_ftir()
    rruff("FTIR", spectra, meta, (450, 1800), 101, quick=quick)
    whenfung()
    minor_components()
    print(f"\ntotal {time.perf_counter() - t:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
