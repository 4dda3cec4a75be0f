"""Exact top-k search of a library: brute force, and a fast path that prunes with a bound.

The fast path (:class:`Searcher`) gives exactly the top-k that brute force gives, ranking by
the score's key (``r`` for HQI scores, squared distance for Euclidean), ties broken by the
lower row index. How:

1. Index (once per library, score and mask): each row is put in "key space" (for HQI centred
   and scaled to unit norm) and projected on ``m`` orthonormal directions (the leading
   principal components of a sample of rows): ``p_i`` (``m`` floats) and the norm ``s_i`` of
   what the projection leaves out.
2. Bound (per query, ``N × m`` work): for a query ``q`` with projection ``q_m`` and
   remainder norm ``‖q_⊥‖``, Cauchy-Schwarz on the remainder gives
   ``u_i·q ≤ p_i·q_m + s_i‖q_⊥‖`` for every row, plus a margin that covers float32 rounding.
3. Candidates in bound order are scored approximately in float32 (a BLAS product over the
   gathered rows), each with a rigorous rounding interval ``±ε_i``; ``τ`` is the k-th largest
   lower end. Every row whose bound reaches ``τ`` is scored; when that is a large share of the
   library (noise-like queries) one streaming product over the whole matrix is used instead.
4. The rows whose interval reaches ``τ`` are re-scored exactly in float64, row by row, and
   ranked. Any row left out has a key strictly below ``τ`` and so below the k-th key.

``method="brute"`` scores every row exactly (the reference the tests compare with).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import MatcherInputError
from .library import Library, QueryMismatchError
from .similarity import BaseSimilarity, get_similarity

F32 = NDArray[np.float32]
F64 = NDArray[np.float64]
IntArray = NDArray[np.intp]

MaskLike = tuple[float, float] | list[tuple[float, float]] | None
Method = Literal["auto", "pruned", "brute"]

_U32 = 2.0**-24
_CHUNK_BYTES = 32 << 20
_EXACT_BYTES = 1 << 20
"""Rows re-scored exactly at a time: their padded float64 products stay in a core's cache."""
_UNPRUNABLE = 0.9
"""A query whose part outside the bound's directions is more than this share of its norm
is searched without the bound (which cannot prune it): white noise leaves 0.97-0.99 out,
measured spectra like the library's at most 0.7 (RRUFF and the synthetic benchmark
libraries). Speed only: either way the top-k is exact."""
_ARGPARTITION_ROWS = 4096
"""Up to this many rows a block's first candidates come from one ``argpartition``; above,
per query from a sampled threshold (:func:`_top_by_bound`)."""
_BLOCK_BYTES = 16 << 20
"""Queries scored densely at a time: their ``(B, N)`` float64 keys and radii take about
this much."""


@dataclass(frozen=True)
class SearchResult:
    """Top-k hits of each query, best first.

    Attributes
    ----------
    indices
        ``(Q, k)`` library rows.
    scores
        ``(Q, k)`` float64 scores (HQI 0-100, or a distance for Euclidean).
    keys
        ``(Q, k)`` the ranking keys (correlation ``r``, or ``‖q‖² − d²``): strictly
        informative where scores are clipped.
    score
        Name of the score.
    library_id, library_hash
        Which library was searched.
    evaluated
        ``(Q,)`` rows scored in float32 per query (diagnostic of the pruning).
    reranked
        ``(Q,)`` rows re-scored exactly in float64 per query.
    """

    indices: IntArray
    scores: F64
    keys: F64
    score: str
    library_id: str
    library_hash: str
    evaluated: IntArray = field(repr=False)
    reranked: IntArray = field(repr=False)

    @property
    def k(self) -> int:
        """Hits per query."""
        return int(self.indices.shape[1])


def mask_points(axis: F64, mask: MaskLike) -> NDArray[np.bool_] | None:
    """The axis points a mask keeps (``lo <= x <= hi`` for any of its ranges), or None.

    Raises
    ------
    ValueError
        A range is malformed, or fewer than 3 points are kept.
    """
    if mask is None:
        return None
    ranges: list[tuple[float, float]]
    if isinstance(mask, tuple):
        lo, hi = mask
        ranges = [(float(lo), float(hi))]
    else:
        ranges = [(float(lo), float(hi)) for lo, hi in mask]
    keep = np.zeros(axis.size, dtype=bool)
    for lo, hi in ranges:
        if not (np.isfinite(lo) and np.isfinite(hi) and lo < hi):
            raise MatcherInputError(f"mask range ({lo}, {hi}) must be finite with lo < hi")
        keep |= (axis >= lo) & (axis <= hi)
    if keep.sum() < 3:
        raise MatcherInputError(
            f"mask {ranges} keeps {int(keep.sum())} point(s) of the axis "
            f"{axis[0]:g}..{axis[-1]:g}; at least 3 are needed"
        )
    return None if keep.all() else keep


class _Index:
    """Everything precomputed for one (library, score, mask)."""

    def __init__(
        self,
        library: Library,
        score: BaseSimilarity,
        mask: NDArray[np.bool_] | None,
        *,
        dims: int,
        sample: int,
        seed: int,
    ) -> None:
        self.score = score
        self.correlation = score.search_kind == "correlation"
        base = library.matrix
        n, d = base.shape
        # The matrix the float32 products run on: the library's own rows when the score
        # does not transform them (no copy), else the transformed rows (a float32 copy).
        probe = score.transform(np.zeros((1, d)))
        self.transformed = probe.shape[1] != d or not np.array_equal(
            score.transform(np.eye(2, d)), np.eye(2, d)
        )
        dt = probe.shape[1]
        cols = np.ones(dt, dtype=bool) if mask is None else score.transform_mask(mask)
        if cols.sum() < 2:
            raise MatcherInputError("the mask leaves fewer than 2 points of the transformed vector")
        self.cols = np.flatnonzero(cols)
        self.full = bool(cols.all())
        self.dt = dt
        step = max(1, _CHUNK_BYTES // (8 * d))
        if self.transformed:
            a = np.empty((n, dt), dtype=np.float32)
            for s in range(0, n, step):
                a[s : s + step] = score.transform(base[s : s + step].astype(np.float64))
            a.flags.writeable = False
            self.a: F32 = a
        else:
            self.a = base
        self.base = base
        # per-row statistics in key space, float64 (row by row, deterministic), and the
        # projections on the basis, in one pass over the matrix
        self.centre = np.zeros(n)
        self.alpha = np.ones(n)
        self.beta = np.zeros(n)
        self.norm32 = np.zeros(n)  # ‖row‖ over the kept points of the float32 matrix
        rng = np.random.default_rng(seed)
        m = int(min(dims, self.cols.size - 1, max(n, 1)))
        if n == 0 or m < 1:
            self.basis: F64 = np.zeros((self.cols.size, 0))
        else:
            pick = np.sort(rng.choice(n, size=min(n, sample), replace=False))
            self.basis = _principal_basis(self._stats_and_keyspace(pick, library)[1], m, rng)
        self.m = self.basis.shape[1]
        self.basis_t: F64 = np.ascontiguousarray(self.basis.T)  # (m, D'): rows to dot with
        self.proj = np.zeros((n, self.m), dtype=np.float32)
        resid = np.zeros(n)
        for s in range(0, n, step):
            idx = np.arange(s, min(n, s + step))
            _, u = self._stats_and_keyspace(idx, library, store=True)
            p = u @ self.basis  # (n, D') @ (D', m) -> (n, m)
            self.proj[s : s + step] = p
            resid[s : s + step] = np.sqrt(np.maximum(
                np.einsum("ij,ij->i", u, u) - np.einsum("ij,ij->i", p, p), 0.0
            ))
        self.resid = np.nextafter(resid.astype(np.float32), np.float32(np.inf))
        # float32 rounding of a product of length L: |err| <= γ_L Σ|a_i b_i|
        length = self.cols.size + 4
        self.gamma = length * _U32 / (1.0 - length * _U32)
        # per-row rounding radius of a float32 product, before scaling by the query's norm
        self.eps_row: F64 = self.gamma * self.norm32 * (self.alpha if self.correlation else 2.0)

    @property
    def _rows_are_a(self) -> bool:
        """The float32 matrix holds exactly the rows :meth:`_rows64` would give."""
        return self.full and (not self.transformed or self.score.transform_is_float32)

    # -- row access ----------------------------------------------------------------------
    def _rows64(self, idx: IntArray) -> F64:
        """Transformed, masked rows in float64, computed from the library's float32 rows."""
        if self.transformed and self.score.transform_is_float32:
            # the stored float32 transformed rows ARE the transform's output: no recompute
            rows = self.a[idx].astype(np.float64)
        else:
            rows = self.base[idx].astype(np.float64)
            if self.transformed:
                rows = self.score.transform(rows)
        return rows if self.full else rows[:, self.cols]

    def _stats_and_keyspace(
        self, idx: IntArray, library: Library, *, store: bool = False
    ) -> tuple[F64, F64]:
        """Rows ``idx`` in float64 and in key space; ``store`` keeps their statistics."""
        rows = self._rows64(idx)
        norm = np.sqrt(np.einsum("ij,ij->i", rows, rows))
        if self.correlation:
            c = np.mean(rows, axis=1)
            u = rows - c[:, None]
            cn = np.sqrt(np.einsum("ij,ij->i", u, u))
            bad = np.flatnonzero(~(cn > 0))
            if bad.size:
                i = int(idx[int(bad[0])])
                raise QueryMismatchError(
                    f"library row {i} ({library.entries[i].id}) is flat over the searched "
                    "range: a correlation is undefined"
                )
            u /= cn[:, None]
            if store:
                self.centre[idx] = c
                self.alpha[idx] = 1.0 / cn
        else:
            u = rows
            if store:
                self.beta[idx] = norm * norm
        if store:
            self.norm32[idx] = norm
        return rows, u

    # -- queries -------------------------------------------------------------------------
    def query_vectors(self, queries: F64) -> tuple[F64, F64]:
        """Queries in key space over the kept points ``(Q, D')``, and scattered into full
        transformed vectors (zeros outside the mask) for the float32 products."""
        qt = self.score.transform(queries) if self.transformed else queries
        qk = qt[:, self.cols] if not self.full else qt
        if self.correlation:
            qk = qk - qk.mean(axis=1, keepdims=True)
            nrm = np.sqrt(np.sum(qk * qk, axis=1))
            bad = np.flatnonzero(~(nrm > 0))
            if bad.size:
                raise QueryMismatchError(
                    f"query {int(bad[0])} is flat over the searched range: a correlation "
                    "is undefined"
                )
            qk = qk / nrm[:, None]
        scat = np.zeros((qk.shape[0], self.dt))
        scat[:, self.cols] = qk
        return qk, scat

    def exact_keys(self, idx: IntArray, qk: F64, qidx: IntArray | None = None) -> F64:
        """Exact float64 keys of rows ``idx`` against one key-space query ``qk`` ``(D',)``,
        or, with ``qidx``, row ``idx[i]`` against query ``qk[qidx[i]]`` (``qk`` ``(B, D')``):
        row by row, so a (row, query) pair gets the same key however pairs are grouped.

        The products go into a zero-padded buffer with one column per row (the pairwise
        tree of :func:`_colsum_padded` then adds contiguous blocks), a cache-sized group at
        a time.
        """
        out = np.empty(idx.size)
        d = self.cols.size
        width = _padded(d)
        step = max(1, _EXACT_BYTES // (8 * width))
        buf = np.zeros((width, min(step, idx.size)))  # the padding rows stay zero
        for s in range(0, idx.size, step):
            rows_idx = idx[s : s + step]
            m = rows_idx.size
            q = (qk[None, :] if qidx is None else qk[qidx[s : s + step]]).T  # (D', m) view
            b = buf[:, :m]
            body = b[:d]
            # float32 rows widen exactly as they are copied: no float64 copy of them first
            rows = (self.a[rows_idx] if self._rows_are_a else self._rows64(rows_idx)).T
            if self.correlation:
                np.copyto(body, rows)
                body -= self.centre[rows_idx]
                body *= q
                out[s : s + m] = _colsum_padded(b) * self.alpha[rows_idx]
            else:
                np.multiply(q, 2.0, out=body)
                body -= rows
                body *= rows
                out[s : s + m] = _colsum_padded(b)
        return out

    def project(self, qk: F64) -> tuple[F64, F64]:
        """Key-space queries ``(Q, D')`` on the bound's directions: ``q_m`` ``(Q, m)`` and
        the norm of what they leave out, ``‖q_⊥‖`` ``(Q,)``."""
        qm = np.vecdot(self.basis_t[None, :, :], qk[:, None, :])  # (Q, m): one core each
        qperp = np.sqrt(np.maximum(np.sum(qk * qk, axis=1) - np.sum(qm * qm, axis=1), 0.0))
        return qm, qperp

    def bounds(self, qk: F64, projected: tuple[F64, F64] | None = None) -> F32 | F64:
        """Upper bounds of every row's key for each query, ``(Q, N)`` (one contiguous row of
        bounds per query); ``projected`` is :meth:`project` of ``qk`` when already known.

        float32 for correlations (keys in [-1, 1], margin 1e-5 for rounding); float64 for
        distances, whose keys scale with the norms.
        """
        qm, qperp = self.project(qk) if projected is None else projected
        qm32 = qm.astype(np.float32)
        if qm32.shape[0] < 4:
            # row-wise dots on one core: a threaded BLAS call on this little work is at the
            # mercy of the scheduler on a busy machine
            b = np.stack([np.einsum("ij,j->i", self.proj, v) for v in qm32])  # (Q, N)
        else:
            b = qm32 @ self.proj.T  # (Q, m) @ (m, N) -> (Q, N)
        b += qperp.astype(np.float32)[:, None] * self.resid[None, :]
        if self.correlation:
            b += np.float32(1e-5)
            return b
        qn = np.sqrt(np.sum(qk * qk, axis=1))
        b64: F64 = 2.0 * b.astype(np.float64) - self.beta[None, :]
        b64 += 4e-5 * (1.0 + qn[:, None] * self.norm32[None, :]) + 1e-6 * self.beta[None, :]
        return b64

    def approx(self, g: F32 | F64, idx: IntArray | slice, qnorm: float | F64
               ) -> tuple[F64, F64]:
        """Approximate keys from float32 products ``g`` and their rounding radius.

        ``g`` holds rows ``idx`` for one query of norm ``qnorm``, or is ``(B, N)`` for ``B``
        queries whose norms ``qnorm`` are a ``(B, 1)`` column."""
        g64 = np.asarray(g, dtype=np.float64)
        if self.correlation:
            key = g64 * self.alpha[idx]
            eps = self.eps_row[idx] * qnorm + 1e-9
            return key, eps
        beta = self.beta[idx]
        key = 2.0 * g64 - beta
        eps = self.eps_row[idx] * qnorm + 1e-9 * (1.0 + beta + qnorm * qnorm)
        return key, eps


def _padded(length: int) -> int:
    """The power of two at or above ``length``: the height of :func:`_colsum_padded`'s tree."""
    return 1 << max(0, (length - 1).bit_length())


def _colsum_padded(buf: F64) -> F64:
    """Column sums of ``buf`` ``(2^j, m)`` (each column's data, then zeros) by a fixed
    pairwise tree of elementwise adds, in place: level by level, element ``i`` plus element
    ``i + half`` of each column.

    Each column's sum depends only on that column (numpy's ``sum`` may change its order of
    summation with the shape of the array), and every add is one IEEE rounding, so the fast
    path and brute force, which score different sets of rows, get bit-identical keys on any
    machine. Only the first half of the rows is written: the zero padding below a column's
    data stays zero for the next columns put in the buffer.
    """
    size = buf.shape[0]
    while size > 1:
        size //= 2
        np.add(buf[:size], buf[size : 2 * size], out=buf[:size])
    out: F64 = buf[0].copy()
    return out


def _orthonormal(y: F64) -> F64:
    """Orthonormal columns spanning ``y`` (tall and thin): classical Gram-Schmidt, twice.

    Columns that are (numerically) in the span of the previous ones are dropped. Plain
    matrix-vector products only: LAPACK's QR and eigensolvers run threaded kernels that
    stall for hundreds of milliseconds on a busy machine, even on these small shapes.
    """
    cols = np.ascontiguousarray(y.T)  # (c, s): one vector per row
    out = np.empty_like(cols)
    k = 0
    for v0 in cols:
        ref = float(np.linalg.norm(v0))
        v = v0.copy()
        for _ in range(2):
            if k:
                v -= (out[:k] @ v) @ out[:k]  # (k, s) @ (s,) -> (k,); (k,) @ (k, s)
        nv = float(np.linalg.norm(v))
        if ref > 0 and nv > 1e-8 * ref:
            out[k] = v / nv
            k += 1
    result: F64 = np.ascontiguousarray(out[:k].T)
    return result


def _principal_basis(rows: F64, m: int, rng: np.random.Generator) -> F64:
    """``(D, ≤m)`` orthonormal basis of the leading right-singular subspace of ``rows``.

    Randomised subspace iteration (two power steps). The bound is valid for any orthonormal
    basis; a better one only prunes more.
    """
    s, d = rows.shape
    m = min(m, s, d)
    y = _orthonormal(rows @ rng.standard_normal((d, m)))  # (s, D) @ (D, m) -> (s, m)
    for _ in range(2):
        y = _orthonormal(rows @ (rows.T @ y))
    basis = _orthonormal(rows.T @ y)  # (D, s) @ (s, m) -> (D, m)
    err = float(np.max(np.abs(basis.T @ basis - np.eye(basis.shape[1])), initial=0.0))
    if err > 1e-9:
        raise RuntimeError(f"search basis is not orthonormal (error {err:.1e}): a bug")
    return basis


def _top(keys: F64, idx: IntArray, k: int) -> tuple[F64, IntArray]:
    """The k best (key descending, index ascending)."""
    order = np.lexsort((idx, -keys))[:k]
    return keys[order], idx[order]


class Searcher:
    """A library prepared for fast exact top-k search with one score.

    Parameters
    ----------
    library
        The library.
    score
        A score object or its name (see :func:`matcher.similarity.get_similarity`).
    dims
        Directions of the bound (more: tighter bound, more work per row).
    sample
        Rows sampled to find the directions.
    seed
        Seed of that sample (the result never depends on it; only the speed does).
    batch_dense_elements
        A batch of 16 or more queries on a library of at most this many numbers (N·D) is
        scored with one GEMM instead of pruned query by query: on a small library the
        per-query overhead of pruning costs more than the product (speed only; the hits
        are the same).

    Examples
    --------
    >>> s = Searcher(library, score="hqi")           # doctest: +SKIP
    >>> res = s.search(library.prepare(spectrum), k=5)  # doctest: +SKIP
    """

    def __init__(
        self,
        library: Library,
        score: str | BaseSimilarity = "hqi",
        *,
        dims: int = 64,
        sample: int = 2048,
        seed: int = 0,
        batch_dense_elements: int = 8_000_000,
    ) -> None:
        self.library = library
        self.score = get_similarity(score) if isinstance(score, str) else score
        self.dims = dims
        self.batch_dense_elements = batch_dense_elements
        self.sample = sample
        self.seed = seed
        self._indexes: dict[bytes | None, _Index] = {}
        self.index(None)

    def index(self, mask: MaskLike = None) -> _Index:
        """The (cached) index for ``mask``."""
        keep = mask_points(self.library.axis, mask)
        key = None if keep is None else np.packbits(keep).tobytes()
        if key not in self._indexes:
            self._indexes[key] = _Index(
                self.library, self.score, keep, dims=self.dims, sample=self.sample,
                seed=self.seed,
            )
        return self._indexes[key]

    def transformed_rows(self, mask: MaskLike = None) -> F32:
        """The library rows as the score transforms them, ``(N, D')`` float32, read-only.

        The float32 matrix the fast path multiplies with: the library's own matrix when the
        score does not transform, else the index's transformed copy (shared, not copied).
        """
        return self.index(mask).a

    def search(
        self,
        queries: ArrayLike,
        k: int = 10,
        *,
        mask: MaskLike = None,
        method: Method = "auto",
    ) -> SearchResult:
        """Top-k rows for each query.

        Parameters
        ----------
        queries
            ``(Q, D)`` or ``(D,)`` prepared vectors (see :meth:`Library.prepare`).
        k
            Hits per query (at most the library size).
        mask
            ``(lo, hi)`` or a list of such ranges on the library axis; only those points
            are compared.
        method
            ``"auto"``/``"pruned"``: the bounded fast path; ``"brute"``: every row exactly.

        Returns
        -------
        SearchResult

        Raises
        ------
        ValueError
            Bad shape, non-finite values, ``k < 1``, a bad mask; a flat query
            (:class:`QueryMismatchError`).
        """
        lib = self.library
        q = np.asarray(queries, dtype=np.float64)
        if q.ndim == 1:
            q = q[None, :]
        if q.ndim != 2 or q.shape[1] != lib.axis.size:
            raise MatcherInputError(
                f"queries must be (Q, {lib.axis.size}) or ({lib.axis.size},) vectors on the "
                f"library axis, got shape {np.shape(queries)}"
            )
        if not np.all(np.isfinite(q)):
            raise MatcherInputError("queries contain non-finite values")
        if not isinstance(k, int | np.integer) or k < 1:
            raise MatcherInputError(f"k must be a positive integer, got {k!r}")
        if method not in ("auto", "pruned", "brute"):
            raise MatcherInputError(f"method must be auto, pruned or brute, got {method!r}")
        n = len(lib)
        if n == 0:
            raise MatcherInputError(f"library {lib.id!r} is empty")
        kk = int(min(k, n))
        ix = self.index(mask)
        qk, scat = ix.query_vectors(q)
        nq = q.shape[0]
        out_i = np.empty((nq, kk), dtype=np.intp)
        out_k = np.empty((nq, kk))
        evaluated = np.zeros(nq, dtype=np.intp)
        reranked = np.zeros(nq, dtype=np.intp)
        if method == "brute":
            all_idx = np.arange(n)
            step = max(1, _CHUNK_BYTES // (8 * lib.axis.size))
            for j in range(nq):
                keys = np.concatenate(
                    [ix.exact_keys(all_idx[s : s + step], qk[j]) for s in range(0, n, step)]
                )
                out_k[j], out_i[j] = _top(keys, all_idx, kk)
                evaluated[j] = reranked[j] = n
        else:
            self._pruned(
                ix=ix, qk=qk, scat=scat, k=kk, out_i=out_i, out_k=out_k, evaluated=evaluated,
                reranked=reranked,
            )
        scores = self.score.score_from_key(
            out_k if ix.correlation else np.sum(qk * qk, axis=1)[:, None] - out_k
        )
        return SearchResult(
            indices=out_i, scores=scores, keys=out_k, score=self.score.name,
            library_id=lib.id, library_hash=lib.hash, evaluated=evaluated, reranked=reranked,
        )

    def candidates(
        self, query: ArrayLike, k: int, pool: int
    ) -> tuple[IntArray, F64, IntArray, F64]:
        """Exact top-``k`` of one query, and about its best ``pool`` rows with float32 keys.

        For callers that need a few exact hits plus a longer candidate list (identification:
        10 hits, 300 candidates for the mixture fit) without re-scoring the whole list
        exactly in float64.

        Parameters
        ----------
        query
            ``(D,)`` prepared vector.
        k
            Exact hits (as :meth:`search` gives them: same rows, same keys).
        pool
            Candidates; at least ``k``.

        Returns
        -------
        top, top_keys
            ``(k,)`` rows and exact keys, best first (ties: lower row).
        pool_rows, pool_keys
            ``(P,)`` rows (``P = min(max(pool, k), N)``, unordered) and their keys: exact
            for the top-k rows, float32 products (within their rounding radius) for the
            others. Every row whose exact key exceeds the smallest pool key by more than the
            rounding radius (about 1e-6 for correlations) is in the pool.

        Raises
        ------
        ValueError
            As :meth:`search` (bad shape, non-finite values, ``k < 1``, empty library).
        """
        q = np.asarray(query, dtype=np.float64)
        n = len(self.library)
        if q.ndim != 1 or q.size != self.library.axis.size:
            raise MatcherInputError(f"query must be a ({self.library.axis.size},) vector on the "
                             f"library axis, got shape {q.shape}")
        if not np.all(np.isfinite(q)):
            raise MatcherInputError("query contains non-finite values")
        if not isinstance(k, int | np.integer) or k < 1:
            raise MatcherInputError(f"k must be a positive integer, got {k!r}")
        if n == 0:
            raise MatcherInputError(f"library {self.library.id!r} is empty")
        ix = self.index(None)
        kk = int(min(k, n))
        pp = int(min(max(pool, kk), n))
        qk, scat = ix.query_vectors(q[None, :])
        scat32 = scat[0].astype(np.float32)
        qnorm = float(np.sqrt(np.sum(scat[0] * scat[0])))
        b = ix.bounds(qk)[0]
        cand = _top_by_bound(b, min(n, max(2 * pp, 32)))
        key, eps = ix.approx(np.vecdot(ix.a[cand], scat32), cand, qnorm)
        tau = _kth(key - eps, pp)
        # rows outside ``cand`` whose bound reaches tau could be in the top pp: score them
        seen = np.zeros(n, dtype=bool)
        seen[cand] = True
        rest = np.flatnonzero((b >= tau) & ~seen)
        if rest.size:
            k2, e2 = ix.approx(np.vecdot(ix.a[rest], scat32), rest, qnorm)
            cand = np.concatenate([cand, rest])
            key = np.concatenate([key, k2])
            eps = np.concatenate([eps, e2])
        # exact top-k: every row left out has a key below tau_k (its bound, or its interval)
        tau_k = _kth(key - eps, kk)
        top_keys, top, _, _ = _finish(ix, qk[0], cand, key, eps, tau=tau_k, k=kk)
        sel = np.argpartition(-key, pp - 1)[:pp] if pp < cand.size else np.arange(cand.size)
        pool_rows = cand[sel]
        pool_keys = key[sel].copy()
        where = {int(r): i for i, r in enumerate(pool_rows)}
        extra_rows: list[int] = []
        extra_keys: list[float] = []
        for r, kv in zip(top, top_keys, strict=True):
            i = where.get(int(r))
            if i is None:  # a top-k row just outside the approximate pool: add it
                extra_rows.append(int(r))
                extra_keys.append(float(kv))
            else:
                pool_keys[i] = kv
        if extra_rows:
            pool_rows = np.concatenate([pool_rows, np.asarray(extra_rows, dtype=np.intp)])
            pool_keys = np.concatenate([pool_keys, np.asarray(extra_keys)])
        return top, top_keys, pool_rows.astype(np.intp, copy=False), pool_keys

    def _pruned(
        self,
        *,
        ix: _Index,
        qk: F64,
        scat: F64,
        k: int,
        out_i: IntArray,
        out_k: F64,
        evaluated: IntArray,
        reranked: IntArray,
    ) -> None:
        n = ix.a.shape[0]
        nq = qk.shape[0]
        scat32 = scat.astype(np.float32)
        qnorms = np.sqrt(np.sum(scat * scat, axis=1))
        dense_share = 0.15
        pending: list[int] = []
        if nq >= 16 and n * ix.a.shape[1] <= self.batch_dense_elements:
            # a batch on a small library: all queries as one block (per-query overhead is
            # most of the time there); (B, N) arrays of about 16 MB at most
            blocks = -(-nq // max(1, _BLOCK_BYTES // (16 * n)))
            for jb in np.array_split(np.arange(nq), blocks):
                pending += _pruned_block(
                    ix, qk, scat32, qnorms, jb, k=k, out_i=out_i, out_k=out_k,
                    evaluated=evaluated, reranked=reranked, dense_share=dense_share).tolist()
        else:
            # query by query, the bounds of 64 MB of queries at a time (one BLAS call:
            # its threads cost a wake-up per call on a busy machine)
            per_chunk = max(1, (64 << 20) // max(1, 8 * n))
            for c0 in range(0, nq, per_chunk):
                qm, qperp = ix.project(qk[c0 : c0 + per_chunk])
                # a query mostly outside the bound's directions (noise-like) cannot be
                # pruned: straight to the streaming pass, without bounding every row first
                hopeless = qperp > _UNPRUNABLE * np.sqrt(np.sum(qk[c0 : c0 + per_chunk] ** 2,
                                                                axis=1))
                pending += (c0 + np.flatnonzero(hopeless)).tolist()
                hope = np.flatnonzero(~hopeless)
                if not hope.size:
                    continue
                bnd = ix.bounds(qk[c0 + hope], (qm[hope], qperp[hope]))  # (q, N)
                for jj, j in enumerate((c0 + hope).tolist()):
                    done = _pruned_one(ix, bnd[jj], qk[j], scat32[j], float(qnorms[j]), k=k,
                                       dense_share=dense_share)
                    if done is None:
                        pending.append(j)
                    else:
                        out_k[j], out_i[j], evaluated[j], reranked[j] = done
        if len(pending) >= 16:  # many: GEMMs over the matrix, a block of queries at a time
            js = np.array(pending, dtype=np.intp)
            _dense(ix, qk, scat32, qnorms, js, k=k, out_i=out_i, out_k=out_k,
                   reranked=reranked)
            evaluated[js] = n
        else:  # a few: one streaming pass each, on one core
            for j in pending:
                out_k[j], out_i[j], _, reranked[j] = _dense_one(
                    ix, qk[j], scat32[j], float(qnorms[j]), k=k)
                evaluated[j] = n


def _pruned_one(
    ix: _Index, b: F32 | F64, qkj: F64, q32: F32, qnorm: float, *, k: int,
    dense_share: float,
) -> tuple[F64, IntArray, int, int] | None:
    """One query's pruned search from its bounds ``b`` ``(N,)``: keys, rows, rows scored
    and rows re-ranked; None when the bound cannot prune (for :func:`_dense_one`)."""
    n = ix.a.shape[0]
    cand = _top_by_bound(b, min(n, max(4 * k, 32)))
    key, eps = ix.approx(np.vecdot(ix.a[cand], q32), cand, qnorm)
    tau = _kth(key - eps, k)
    rest = np.flatnonzero(b >= tau)
    if rest.size > dense_share * n:
        return None
    seen = np.zeros(n, dtype=bool)
    seen[cand] = True
    rest = rest[~seen[rest]]
    if rest.size:
        k2, e2 = ix.approx(np.vecdot(ix.a[rest], q32), rest, qnorm)
        cand = np.concatenate([cand, rest])
        key = np.concatenate([key, k2])
        eps = np.concatenate([eps, e2])
        tau = _kth(key - eps, k)
    return _finish(ix, qkj, cand, key, eps, tau=tau, k=k)


def _dense_one(
    ix: _Index, qkj: F64, q32: F32, qnorm: float, *, k: int
) -> tuple[F64, IntArray, int, int]:
    """One query against every row in one streaming pass on one core (OpenBLAS's threaded
    GEMV stalls on a busy machine), then the exact re-rank of the rows whose interval
    reaches the k-th largest lower end."""
    key, eps = ix.approx(np.vecdot(ix.a, q32), slice(None), qnorm)
    return _finish(ix, qkj, np.arange(key.size), key, eps, tau=_kth(key - eps, k), k=k)


def _pruned_block(
    ix: _Index, qk: F64, scat32: F32, qnorms: F64, jb: IntArray, *, k: int, out_i: IntArray,
    out_k: F64, evaluated: IntArray, reranked: IntArray, dense_share: float,
) -> IntArray:
    """The pruned search of a block of queries ``jb`` at once; returns the queries the bound
    could not prune (for :func:`_dense`).

    The steps of the one-query search, each done for the whole block by one call on (query,
    row) pairs: the bounds ``(B, N)``; the ``c`` rows of largest bound per query and their
    float32 products; ``τ``, the k-th largest lower end; the other rows whose bound reaches
    ``τ`` and their products; ``τ`` again over all; the exact re-rank of the pairs whose
    interval reaches it.
    """
    n = ix.a.shape[0]
    nb = jb.size
    b = ix.bounds(qk[jb])  # (B, N)
    c = min(n, max(4 * k, 32))
    # the first candidates: the c (or a few more) rows of largest bound of each query
    q32 = scat32[jb]
    if c == n:
        cq: IntArray = np.repeat(np.arange(nb), n)
        cr: IntArray = np.tile(np.arange(n), nb)
        g: F32 = np.vecdot(ix.a[None, :, :], q32[:, None, :]).ravel()
    elif n <= _ARGPARTITION_ROWS:
        cand: IntArray = np.argpartition(b, n - c, axis=1)[:, n - c :]
        g2d = np.empty(cand.shape, dtype=np.float32)
        for s in range(0, nb, 8):  # (8, c, D') rows · (8, 1, D') queries: no query copies
            g2d[s : s + 8] = np.vecdot(ix.a[cand[s : s + 8]], q32[s : s + 8, None, :])
        cr = cand.ravel()
        cq = np.repeat(np.arange(nb), c)
        g = g2d.ravel()
    else:
        cq, cr = _top_by_bound_block(b, c)
        starts = np.searchsorted(cq, np.arange(nb + 1))
        g = np.concatenate([np.vecdot(ix.a[cr[starts[t] : starts[t + 1]]], q32[t])
                            for t in range(nb)])
    key, eps = ix.approx(g, cr, qnorms[jb][cq])
    tau = _kth_per_query(key - eps, cq, nb, k)
    over = b >= tau[:, None]
    del b
    dense = over.sum(axis=1) > dense_share * n
    over[cq, cr] = False  # scored already
    over[dense] = False
    qi, ri = _pairs(over)  # the other rows whose bound reaches tau
    del over
    key2, eps2 = ix.approx(np.vecdot(ix.a[ri], q32[qi]), ri, qnorms[jb][qi])
    keep = ~dense[cq]
    pq = np.concatenate([cq[keep], qi])
    pr = np.concatenate([cr[keep], ri])
    pk = np.concatenate([key[keep], key2])
    pe = np.concatenate([eps[keep], eps2])
    tau = _kth_per_query(pk - pe, pq, nb, k)
    near = pk + pe >= tau[pq]
    _exact_top(ix, qk[jb], pq[near], pr[near], jb, k=k, out_i=out_i, out_k=out_k,
               reranked=reranked)
    evaluated[jb] = np.bincount(pq, minlength=nb)
    pending: IntArray = jb[dense]
    return pending


def _pairs(mask: NDArray[np.bool_]) -> tuple[IntArray, IntArray]:
    """``np.nonzero`` of a 2-D mask, by query then row (ten times faster on this machine
    than ``np.nonzero`` of the 2-D array)."""
    q, r = np.divmod(np.flatnonzero(mask), mask.shape[1])
    return q, r


def _top_by_bound_block(b: F32 | F64, first: int) -> tuple[IntArray, IntArray]:
    """:func:`_top_by_bound` for each row of ``b`` ``(B, N)``, as (query, row) pairs by
    query: a threshold per query from a strided sample of its bounds, and an
    ``argpartition`` for a query whose threshold keeps fewer than ``first`` rows or more
    than eight times as many."""
    n = b.shape[1]
    stride = max(1, n // (8 * first))
    sample = b[:, ::stride]
    t0 = np.partition(sample, sample.shape[1] - 2, axis=1)[:, sample.shape[1] - 2 :][:, :1]
    over: NDArray[np.bool_] = np.greater_equal(b, t0)
    counts = over.sum(axis=1)
    bad = np.flatnonzero((counts < first) | (counts > 8 * first))
    for t in bad:
        over[t] = False
        over[t, np.argpartition(b[t], n - first)[n - first :]] = True
    return _pairs(over)


def _kth_per_query(values: F64, pq: IntArray, nb: int, k: int) -> F64:
    """For each query ``0..nb-1`` the k-th largest of its ``values`` (pairs ``pq``); -inf
    for a query with fewer than k (one left to the dense pass)."""
    order = np.lexsort((-values, pq))
    starts = np.searchsorted(pq[order], np.arange(nb + 1))
    out = np.full(nb, -np.inf)
    ok = np.diff(starts) >= k
    out[ok] = values[order][starts[:-1][ok] + k - 1]
    return out


def _exact_top(
    ix: _Index, qkb: F64, pq: IntArray, pr: IntArray, jb: IntArray, *, k: int,
    out_i: IntArray, out_k: F64, reranked: IntArray,
) -> None:
    """Exact keys of the (query, row) pairs ``pq, pr`` (``pq`` indexes ``jb``), and each
    query's k best (key descending, row ascending) into ``out_i``/``out_k``."""
    exact = ix.exact_keys(pr, qkb, pq)
    order = np.lexsort((pr, -exact, pq))
    pq, pr, exact = pq[order], pr[order], exact[order]
    starts = np.searchsorted(pq, np.arange(jb.size + 1))
    for t in np.flatnonzero(np.diff(starts)):
        a = starts[t]
        j = jb[t]
        out_i[j], out_k[j] = pr[a : a + k], exact[a : a + k]
        reranked[j] = starts[t + 1] - a


def _dense(
    ix: _Index, qk: F64, scat32: F32, qnorms: F64, js: IntArray, *, k: int, out_i: IntArray,
    out_k: F64, reranked: IntArray,
) -> None:
    """Score every row for queries ``js``: float32 products of the whole matrix, a rounding
    interval per (query, row), the k-th lower end ``τ`` per query, and the exact re-rank of
    the rows whose interval reaches it; all queries of a block at once.

    For the queries the bound cannot prune (noise-like ones) and for batches on small
    libraries, where one product beats pruning query by query. A block of queries is one
    GEMM ``(B, D') @ (D', N) -> (B, N)`` (threaded BLAS); one query is a row-wise pass on one
    core (OpenBLAS's threaded GEMV stalls on a busy machine).
    """
    n = ix.a.shape[0]
    blocks = -(-js.size // max(1, _BLOCK_BYTES // (24 * n)))  # equal blocks: no small GEMM
    for jb in np.array_split(js, blocks):
        if jb.size == 1:
            g: F32 = np.vecdot(ix.a, scat32[jb[0]])[None, :]
        else:  # (N, D') @ (D', B) -> (N, B): OpenBLAS is faster this way round; then (B, N)
            g = np.ascontiguousarray((ix.a @ scat32[jb].T).T)
        key, eps = ix.approx(g, slice(None), qnorms[jb, None])
        del g
        lo = key - eps
        # the k-th largest lower end: at least k rows have an exact key at or above it
        tau = np.partition(lo, n - k, axis=1)[:, n - k]
        del lo
        key += eps  # the upper ends: a row whose upper end stays below tau is out
        qi, ri = _pairs(key >= tau[:, None])  # (query, row) pairs, by query then row
        del key, eps
        _exact_top(ix, qk[jb], qi, ri, jb, k=k, out_i=out_i, out_k=out_k, reranked=reranked)


def _finish(
    ix: _Index, qkj: F64, cand: IntArray, key: F64, eps: F64, *, tau: float, k: int
) -> tuple[F64, IntArray, int, int]:
    """Re-score exactly the candidates whose interval reaches ``tau``; the k best of them."""
    near = cand[key + eps >= tau]
    near.sort()
    exact = ix.exact_keys(near, qkj)
    keys, idx = _top(exact, near, k)
    return keys, idx, int(cand.size), int(near.size)


def _top_by_bound(b: F32 | F64, first: int) -> IntArray:
    """About ``first`` rows (at least ``first``) with the largest bounds, unordered.

    A threshold from a strided sample replaces an ``argpartition`` over all N rows (which
    costs more than the bound itself at 250,000 rows); any set of rows is correct here, this
    one is just likely to hold the best.
    """
    n = b.size
    if first >= n:
        return np.arange(n)
    stride = max(1, n // (8 * first))
    if stride > 4:
        sample = b[::stride]
        t0 = float(np.partition(sample, sample.size - 2)[sample.size - 2])
        cand = np.flatnonzero(b >= t0)
        if first <= cand.size <= 8 * first:
            return cand
    out: IntArray = np.argpartition(b, n - first)[n - first :]
    return out


def _kth(values: F64, k: int) -> float:
    """The k-th largest value (``values`` has at least k items)."""
    n = values.size
    return float(np.partition(values, n - k)[n - k])


def searcher_for(library: Library, score: str | BaseSimilarity = "hqi") -> Searcher:
    """The library's cached :class:`Searcher` for ``score`` (built on first use)."""
    sc = get_similarity(score) if isinstance(score, str) else score
    key = ("searcher", type(sc).__name__, tuple(sorted(sc.params().items())))
    cached = library._cache.get(key)
    if not isinstance(cached, Searcher):
        cached = Searcher(library, sc)
        library._cache[key] = cached
    return cached


def search(
    library: Library,
    queries: ArrayLike,
    *,
    k: int = 10,
    score: str | BaseSimilarity = "hqi",
    mask: MaskLike = None,
    method: Method = "auto",
) -> SearchResult:
    """Exact top-k search of ``library`` for one query ``(D,)`` or a batch ``(Q, D)``.

    The index is built on first use and kept with the library object; see :class:`Searcher`
    for the parameters and :mod:`matcher.search` for how the fast path stays exact.
    """
    return searcher_for(library, score).search(queries, k, mask=mask, method=method)


__all__ = ["MaskLike", "SearchResult", "Searcher", "mask_points", "search", "searcher_for"]
