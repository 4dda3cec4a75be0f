"""Identification of one raw spectrum: quality → prepare → search → mixture → verdict.

Build an :class:`Identifier` once per library (it precomputes the ranking representation
of every library row) and call it for each spectrum; :class:`matcher.batch.Identifiers`
keeps one per part of an opened library set (what a station session holds).
:func:`identify` is the one-call form for scripts (it builds an Identifier each time, so it
pays that set-up on every call).

Axis offset: handheld instruments drift in calibration by a few cm⁻¹ (the whenfung
mixtures sit 4 cm⁻¹ above the same lab's pure standards). The prepared query is shifted
by whole grid steps within ``±Thresholds.max_shift_cm``; the offset that maximises the
best score over the top candidates is kept and recorded in the notes when non-zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol, cast, overload

import numpy as np
from numpy.typing import NDArray

from spectra import Pipeline, Spectrum, Technique

from . import defaults
from .errors import MatcherInputError
from .learned import EmbeddedLibrary, EmbeddingModel, MatcherKind, load_model
from .library import Library
from .mixture import fit_mixture
from .quality import QualityReport, assess
from .representation import Representation
from .results import (
    Category,
    FusedIdentification,
    Hit,
    Identification,
    Mixture,
    MixtureComponent,
    Verdict,
)
from .search import Searcher, searcher_for
from .similarity import RootHQI
from .verdict import Thresholds, decide

F32 = NDArray[np.float32]

PRUNED_SEARCH_MIN = 5000
"""From this many entries the ranking uses :class:`matcher.search.Searcher` (exact top-k
with a pruning bound) instead of a full matrix-vector product."""

EXACT_TOP = 50
"""On the pruned path, this many best rows get exact keys (the hits and the substance vote
need ~10-20); the rest of the mixture's candidate pool is ranked by float32 products."""


class EntryLike(Protocol):
    """What identification reads of a library entry (:class:`matcher.library.LibraryEntry`)."""

    @property
    def id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def category(self) -> Category: ...
    @property
    def schedule(self) -> str | None: ...
    @property
    def synthetic(self) -> bool: ...


class LibraryLike(Protocol):
    """What identification needs of a library (:class:`matcher.library.Library`)."""

    @property
    def id(self) -> str: ...
    @property
    def hash(self) -> str: ...
    @property
    def entries(self) -> Sequence[EntryLike]: ...
    @property
    def matrix(self) -> F32: ...
    @property
    def axis(self) -> NDArray[np.float64]: ...
    @property
    def pipeline(self) -> Pipeline: ...
    @property
    def technique(self) -> Technique: ...

    def prepare(self, spectrum: Spectrum) -> F32:
        ...


class _Names(Sequence[str]):
    """The substance names of a library's entries, each looked up when first asked for."""

    def __init__(self, entries: Sequence[EntryLike]) -> None:
        self._entries = entries

    def __len__(self) -> int:
        return len(self._entries)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [e.name for e in self._entries[i]]
        return self._entries[i].name


class _Ranked(Sequence[str]):
    """Names of the candidate rows in ranked order, each looked up when first asked for."""

    def __init__(self, names: Sequence[str], rows: NDArray[np.intp]) -> None:
        self._names = names
        self._rows = rows

    def __len__(self) -> int:
        return int(self._rows.size)

    @overload
    def __getitem__(self, i: int) -> str: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[str]: ...

    def __getitem__(self, i: int | slice) -> str | Sequence[str]:
        if isinstance(i, slice):
            return [self._names[int(j)] for j in self._rows[i]]
        return self._names[int(self._rows[i])]


def shift_query(v: NDArray[np.floating[Any]], s: int) -> Any:
    """A prepared query moved by ``s`` grid steps (edge values repeated): the axis-offset
    correction, recorded as :attr:`matcher.results.Identification.axis_shift`."""
    if s == 0:
        return v
    out = np.empty_like(v)
    if s > 0:
        out[s:] = v[:-s]
        out[:s] = v[0]
    else:
        out[:s] = v[-s:]
        out[s:] = v[-1]
    return out


class Identifier:
    """Identifies spectra against one library with fixed thresholds.

    Parameters
    ----------
    library
        A :class:`matcher.library.Library` (or anything with the same attributes).
    thresholds
        Verdict, quality and mixture rules (default :func:`matcher.defaults.thresholds` of
        the library's technique).
    representation
        Ranking representation (default :func:`matcher.defaults.representation`).
    matcher
        How the hits are ordered (:class:`matcher.learned.MatcherKind`; default
        :func:`matcher.defaults.matcher`). ``learned`` and ``fused`` embed every library row
        once, here.
    model
        The embedding model for ``learned`` / ``fused`` (default: the shipped one,
        :func:`matcher.learned.load_model`); its sha256 is recorded in every result.
    fusion_weight
        ``w`` of the fused ranking ``r + w·c`` (default :func:`matcher.defaults.fusion_weight`).
    pruned_search
        Rank with :class:`matcher.search.Searcher` (score :class:`matcher.similarity.RootHQI`
        of ``representation``; exact keys for the :data:`EXACT_TOP` best rows, float32 for
        the rest of the mixture pool) rather than a full float32 matrix-vector product;
        default: from :data:`PRUNED_SEARCH_MIN` entries on. The hits are the same either
        way, up to near-ties (≤ 1e-6 in r) that float32 cannot order.

    Notes
    -----
    Set-up transforms the whole library matrix once (``O(N·D)``; on the pruned path it is
    the search index's transformed copy, cached on the library); entries are looked up only
    when a hit, the substance vote or the mixture fit needs them. Substances in the hit list
    are ordered by :meth:`Representation.substance_order` (a soft vote of the best entries).
    """

    def __init__(
        self,
        library: LibraryLike,
        *,
        thresholds: Thresholds | None = None,
        representation: Representation | None = None,
        matcher: MatcherKind | str | None = None,
        model: EmbeddingModel | None = None,
        fusion_weight: float | None = None,
        pruned_search: bool | None = None,
    ) -> None:
        self.library = library
        self.matcher = MatcherKind(matcher if matcher is not None else defaults.matcher())
        self.fusion_weight = float(
            fusion_weight if fusion_weight is not None else defaults.fusion_weight())
        if not (np.isfinite(self.fusion_weight) and self.fusion_weight >= 0):
            raise MatcherInputError(f"fusion_weight must be finite and ≥ 0, got {fusion_weight}")
        self.thresholds = (
            thresholds if thresholds is not None else defaults.thresholds(library.technique)
        )
        self.representation = (
            representation if representation is not None else defaults.representation()
        )
        # entries are looked up lazily (a loaded library decodes an entry on first use)
        self._entries: Sequence[EntryLike] = library.entries
        self._labels: Sequence[str] = _Names(self._entries)
        n = len(self._entries)
        self._searcher: Searcher | None = None
        if pruned_search is None:
            pruned_search = n >= PRUNED_SEARCH_MIN
        if pruned_search and n:
            # rank by the representation's own score through the library's exact pruned
            # top-k search; its transformed rows are also ours (one copy, not two)
            self._searcher = searcher_for(cast(Library, library), RootHQI.of(self.representation))
            self._ranking: F32 = self._searcher.transformed_rows()  # (N,D)
        else:
            self._ranking = self.representation.transform(library.matrix)  # (N,D)
            self._ranking.flags.writeable = False
        self._embedded: EmbeddedLibrary | None = None
        if self.matcher is not MatcherKind.CLASSIC:
            self._embedded = _embedded(library, model if model is not None else load_model())
        axis = np.asarray(library.axis, dtype=np.float64)
        step = float(np.median(np.diff(axis))) if axis.size > 1 else 1.0
        self._max_shift = int(np.floor(self.thresholds.max_shift_cm / step + 1e-9))

    @property
    def score_name(self) -> str:
        """Name of the hits' score recorded in results."""
        return self.representation.name

    @property
    def model_hash(self) -> str | None:
        """sha256 of the embedding model file the ranking uses (None for ``classic``)."""
        return None if self._embedded is None else self._embedded.model.sha256

    @property
    def matcher_name(self) -> str:
        """The matcher as recorded in results (``fused`` with its weight)."""
        if self.matcher is MatcherKind.FUSED:
            return f"fused(w={self.fusion_weight:g})"
        return self.matcher.value

    def _order(
        self, q: F32, r: NDArray[np.float32], pool: NDArray[np.intp]
    ) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64], float]:
        """Candidate rows in the matcher's order, their ranking keys, their root-HQI
        correlations, and the substance vote's temperature on that key's scale."""
        temp = self.representation.vote_temperature
        if self._embedded is None:
            ranked = pool[np.argsort(-r[pool], kind="stable")]
            keys = r[ranked].astype(np.float64)
            return ranked, keys, keys, temp
        eq = self._embedded.query(q)
        rq = self.representation.transform(q)
        if self.matcher is MatcherKind.LEARNED:
            c = self._embedded.rows @ eq  # (N,E)@(E,) -> (N,)
            m = min(c.size, pool.size)
            cand = np.argpartition(-c, m - 1)[:m] if m < c.size else np.arange(c.size)
            ranked = cand[np.argsort(-c[cand], kind="stable")]
            keys = c[ranked].astype(np.float64)
        else:
            w = self.fusion_weight
            fused = r[pool].astype(np.float64) + w * (self._embedded.rows[pool] @ eq)
            order = np.argsort(-fused, kind="stable")
            ranked, keys = pool[order], fused[order]
            temp *= 1.0 + w
        corr = (self._ranking[ranked] @ rq).astype(np.float64)  # (M,D)@(D,) -> (M,)
        return ranked, keys, corr, temp

    def rank_keys(self, spectrum: Spectrum) -> NDArray[np.float64]:
        """The matcher's ranking key of every library row for one raw spectrum (benchmarks).

        ``classic``: the root-HQI correlation; ``learned``: the embedding correlation;
        ``fused``: ``r + w·c``. Rows outside the ranked candidates are ``-inf``.
        """
        q = np.asarray(self.library.prepare(spectrum), dtype=np.float32)
        q, r, pool, _ = self._search(q, 10)
        ranked, keys, _, _ = self._order(q, r, pool)
        out = np.full(r.size, -np.inf)
        out[ranked] = keys
        return out

    def _hit(self, i: int, score: float) -> Hit:
        e = self._entries[i]
        return Hit(entry_id=e.id, name=e.name, score=round(float(score), 3),
                   category=e.category, schedule=e.schedule, synthetic=e.synthetic)

    def _shifted(self, v: F32, s: int) -> F32:
        out: F32 = shift_query(v, s)
        return out

    def _search(
        self, q: F32, k: int
    ) -> tuple[F32, NDArray[np.float32], NDArray[np.intp], int]:
        """Rank the library for a prepared query, with the axis-offset correction.

        Returns the (shifted) query, the correlation of every row ``(N,)`` (only the pool
        is scored on large libraries; −1 elsewhere), the indices of the best ``pool`` rows
        and the shift applied (grid steps).
        """
        t = self.thresholds
        rq = self.representation.transform(q)
        n = self._ranking.shape[0]
        pool_n = min(n, max(t.mixture.pool, 5 * k, 50))
        if self._searcher is not None and np.any(rq):
            # pruned: the best EXACT_TOP rows exactly (hits, vote), the rest of the pool
            # (mixture candidates) from float32 products, as the small-library path does;
            # the score transforms q itself
            _, _, pool, keys = self._searcher.candidates(
                q, k=min(n, max(EXACT_TOP, 5 * k)), pool=pool_n)
            r = np.full(n, -1.0, dtype=np.float32)  # rows outside the pool: not scored
            r[pool] = keys
        else:  # small library, or nothing above the noise floor: every row scores
            r = self._ranking @ rq  # (N,D)@(D,) -> (N,)
            pool = np.argpartition(-r, pool_n - 1)[:pool_n] if pool_n < n else np.arange(n)
        shift = 0
        if self._max_shift > 0 and n:
            top = pool[np.argsort(-r[pool])[: max(k, 20)]]
            sub = self._ranking[top]  # (C,D)
            base = float(np.max(sub @ rq))
            best = base
            for s in range(-self._max_shift, self._max_shift + 1):
                if s == 0:
                    continue
                sc = float(np.max(sub @ self._shifted(rq, s)))
                if sc > best + 1e-6:
                    best, shift = sc, s
            gain = float(self.representation.hqi(best) - self.representation.hqi(base))
            if shift and gain < t.shift_min_gain:
                shift = 0
            if shift:
                # re-score only the pool: a shift of a few cm⁻¹ does not bring an entry from
                # outside the best few hundred into the top k (saves a pass over the library)
                q = self._shifted(q, shift)
                rq = self.representation.transform(q)
                r = r.copy()
                r[pool] = self._ranking[pool] @ rq  # (M,D)@(D,) -> (M,)
        return q, r, pool, shift

    def scores(self, spectrum: Spectrum) -> NDArray[np.float64]:
        """The ranking score (HQI scale) of every library row for one raw spectrum.

        The same path as :meth:`identify` (pipeline, representation, axis-offset
        correction) without quality checks, mixture or verdict: for benchmarks.

        Returns
        -------
        (N,) float64 array
            Rows outside the best ``pool`` (large libraries only) score 0.
        """
        q = np.asarray(self.library.prepare(spectrum), dtype=np.float32)
        _, r, _, _ = self._search(q, 10)
        return self.representation.hqi(r)

    def identify(self, spectrum: Spectrum, *, k: int = 10) -> Identification:
        """Identify one raw spectrum.

        Parameters
        ----------
        spectrum
            As measured (the quality checks need the raw signal).
        k
            Number of hits reported (best per substance name).

        Returns
        -------
        Identification

        Raises
        ------
        matcher.library.QueryMismatchError
            From the library: wrong technique or unit, too little axis coverage.
        spectra.SpectraError
            From a preprocessing step.
        """
        quality = assess(spectrum, self.thresholds.quality)
        prepared = self.library.prepare(spectrum) if quality.ok else None
        return self.identify_prepared(quality, prepared, k=k)

    def identify_prepared(self, quality: QualityReport, prepared: F32 | None, *,
                          k: int = 10) -> Identification:
        """:meth:`identify` from what it computes of the spectrum alone: the quality report
        of the raw spectrum and, when it passed, the spectrum prepared onto the library
        axis (:meth:`matcher.library.Library.prepare`). For work split across processes
        (:func:`matcher.batch.identify_files`): these two come from any process, the search
        runs where the library is."""
        t = self.thresholds
        lib = self.library
        notes: list[str] = []
        if not quality.ok or prepared is None:
            return decide(hits=(), mixture=None, quality=quality, thresholds=t,
                          technique=lib.technique, library_id=lib.id,
                          library_hash=lib.hash, pipeline=lib.pipeline,
                          score=self.score_name, matcher=self.matcher_name,
                          model_hash=self.model_hash)
        q, r, pool, shift = self._search(np.asarray(prepared, dtype=np.float32), k)
        if shift:
            notes.append(f"axis offset corrected: query shifted by {shift:+d} grid step(s)")
        ranked, keys, corr, temp = self._order(q, r, pool)
        rep = self.representation
        if temp != rep.vote_temperature:
            rep = rep.model_copy(update={"vote_temperature": temp})
        order = rep.substance_order(keys, _Ranked(self._labels, ranked), limit=k)
        hqi = self.representation.hqi(corr)
        hits = [self._hit(int(ranked[p]), float(hqi[p])) for p in order[:k]]
        # the mixture fit takes its candidates in the classic (correlation) order always
        classic = ranked if self._embedded is None else pool[np.argsort(-r[pool],
                                                                        kind="stable")]
        mixture = self._mixture(q, classic)
        return decide(hits=hits, mixture=mixture, quality=quality, thresholds=t,
                      technique=lib.technique, library_id=lib.id, library_hash=lib.hash,
                      pipeline=lib.pipeline, score=self.score_name, notes=notes,
                      axis_shift=shift, matcher=self.matcher_name,
                      model_hash=self.model_hash)

    def _mixture(self, q: F32, ranked: NDArray[np.intp]) -> Mixture | None:
        fit = fit_mixture(q.astype(np.float64), self.library.matrix, ranked,
                          self.thresholds.mixture, labels=self._labels)
        if fit is None:
            return None
        comps = []
        for i, share, weight in zip(fit.indices, fit.shares, fit.weights, strict=True):
            e = self._entries[i]
            comps.append(MixtureComponent(
                entry_id=e.id, name=e.name, share=round(min(1.0, max(0.0, share)), 4),
                category=e.category, schedule=e.schedule, synthetic=e.synthetic,
                weight=float(weight)))
        return Mixture(components=tuple(comps), composite_hqi=round(fit.composite_hqi, 3),
                       residual_fraction=round(fit.residual_fraction, 5),
                       structured_residual=fit.structured_residual,
                       single_hqi=round(fit.single_hqi, 3))

    def identify_batch(self, spectra: Iterable[Spectrum], *, k: int = 10) -> list[Identification]:
        """Identify each spectrum (see :meth:`identify`)."""
        return [self.identify(s, k=k) for s in spectra]


def _embedded(library: LibraryLike, model: EmbeddingModel) -> EmbeddedLibrary:
    """The library's embeddings under ``model``, cached with the library when it has a cache
    (a :class:`matcher.library.Library`: built once per library and model)."""
    cache = getattr(library, "_cache", None)
    key = ("embedding", model.sha256)
    if isinstance(cache, dict):
        hit = cache.get(key)
        if isinstance(hit, EmbeddedLibrary):
            return hit
    emb = EmbeddedLibrary(model, library.technique.value, np.asarray(library.matrix))
    if isinstance(cache, dict):
        cache[key] = emb
    return emb


def identify(
    spectrum: Spectrum,
    library: LibraryLike,
    *,
    thresholds: Thresholds | None = None,
    k: int = 10,
    matcher: MatcherKind | str | None = None,
) -> Identification:
    """Identify one raw spectrum against a library (one-call form of :class:`Identifier`).

    Parameters
    ----------
    spectrum
        The raw measured spectrum.
    library
        The substance library.
    thresholds
        Verdict rules (default :func:`matcher.defaults.thresholds`).
    k
        Hits reported.
    matcher
        How the hits are ordered (default :func:`matcher.defaults.matcher`); the library's
        embeddings are cached with a :class:`matcher.library.Library`, so only the first
        call pays for them.

    Returns
    -------
    Identification
    """
    return Identifier(library, thresholds=thresholds, matcher=matcher).identify(spectrum, k=k)


def identify_batch(
    spectra: Iterable[Spectrum],
    library: LibraryLike,
    *,
    thresholds: Thresholds | None = None,
    k: int = 10,
) -> list[Identification]:
    """Identify several raw spectra against one library (set-up paid once)."""
    return Identifier(library, thresholds=thresholds).identify_batch(spectra, k=k)


def _named(result: Identification) -> frozenset[str]:
    if result.verdict is Verdict.MIXTURE and result.mixture is not None:
        return frozenset(c.name.lower() for c in result.mixture.components)
    if result.verdict is Verdict.MATCH and result.hits:
        return frozenset({result.hits[0].name.lower()})
    return frozenset()


def fuse(results: Sequence[Identification]) -> FusedIdentification:
    """Fuse results of the same sample from different techniques (Raman + FTIR).

    * Every conclusive result (MATCH/MIXTURE) names the same substance(s) (by name, case
      ignored; for mixtures, any shared component) → that verdict, ``agreement=True``,
      confidence ``1 − Π(1 − cᵢ)`` (independent evidence raises it).
    * Conclusive results name different substances → ``INCONCLUSIVE``, ``agreement=False``,
      the reason names what each technique said; both hit lists stay in ``results``.
    * Only one conclusive result → its verdict and confidence, ``agreement=None``, and the
      reason says which technique was inconclusive.
    * None conclusive → NO_MATCH when all are NO_MATCH, else INCONCLUSIVE.

    The alert is raised when any result raises it.

    Raises
    ------
    ValueError
        No result given.
    """
    if not results:
        raise MatcherInputError("fuse: no result to fuse")
    alerts = tuple(dict.fromkeys(a for r in results for a in r.alert_substances))
    alert = any(r.alert for r in results)
    conclusive = [r for r in results if r.verdict in (Verdict.MATCH, Verdict.MIXTURE)]

    def label(r: Identification) -> str:
        names = sorted(_named(r))
        return f"{r.technique.value}: {' + '.join(names) if names else r.verdict.value}"

    if len(conclusive) >= 2:
        sets = [_named(r) for r in conclusive]
        common = frozenset.intersection(*sets)
        if common:
            conf = 1.0
            for r in conclusive:
                conf *= 1.0 - r.confidence
            verdict = (Verdict.MIXTURE if any(r.verdict is Verdict.MIXTURE for r in conclusive)
                       else Verdict.MATCH)
            return FusedIdentification(
                verdict=verdict, agreement=True, alert=alert, alert_substances=alerts,
                confidence=min(1.0, 1.0 - conf), results=tuple(results),
                reason="techniques agree: " + ", ".join(sorted(common)))
        return FusedIdentification(
            verdict=Verdict.INCONCLUSIVE, agreement=False, alert=alert, alert_substances=alerts,
            confidence=0.0, results=tuple(results),
            reason="techniques disagree: " + "; ".join(label(r) for r in conclusive))
    if len(conclusive) == 1:
        only = conclusive[0]
        rest = [r for r in results if r is not only]
        why = "; ".join(f"{r.technique.value} {r.verdict.value}" for r in rest)
        return FusedIdentification(
            verdict=only.verdict, agreement=None, alert=alert, alert_substances=alerts,
            confidence=only.confidence, results=tuple(results),
            reason=f"only {only.technique.value} is conclusive" + (f" ({why})" if why else ""))
    all_none = all(r.verdict is Verdict.NO_MATCH for r in results)
    return FusedIdentification(
        verdict=Verdict.NO_MATCH if all_none else Verdict.INCONCLUSIVE,
        agreement=(True if all_none and len(results) > 1 else None), alert=alert,
        alert_substances=alerts, confidence=0.0, results=tuple(results),
        reason="; ".join(f"{r.technique.value}: {r.reason or r.verdict.value}" for r in results))


__all__ = ["Identifier", "LibraryLike", "fuse", "identify", "identify_batch", "shift_query"]
