"""Top-k search: the pruned fast path gives exactly brute force's hits; masks; batches."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher import search as search_module
from matcher.library import Library, LibraryEntry, QueryMismatchError
from matcher.search import Searcher, mask_points, search
from matcher.similarity import get_similarity, similarity_classes
from spectra import Pipeline

from .test_library_data import peaky, small_library

SCORES = sorted(similarity_classes())


def vector_library(matrix: np.ndarray, axis: np.ndarray | None = None) -> Library:
    n, d = matrix.shape
    entries = [LibraryEntry(id=f"e{i}", name=f"e{i}", technique="raman",
                            spectrum_hash=f"{i:064x}") for i in range(n)]
    return Library.from_vectors(
        entries, matrix, axis=np.arange(100.0, 100.0 + d) if axis is None else axis,
        pipeline=Pipeline(), technique="raman", library_id="vectors",
    )


def structured(seed: int, n: int, d: int, *, duplicates: int = 0) -> np.ndarray:
    """Families of peaky vectors (so the bound prunes), with some exact duplicate rows."""
    rng = np.random.default_rng(seed)
    x = np.arange(d, dtype=float)
    fams = [peaky(rng, x, 6) for _ in range(max(1, n // 8))]
    m = np.array([fams[i % len(fams)] * rng.uniform(0.5, 1.5) + peaky(rng, x, 2) * 0.3
                  for i in range(n)])
    for _ in range(duplicates):
        a, b = rng.integers(0, n, 2)
        m[a] = m[b]
    return m.astype(np.float32)


def queries_for(m: np.ndarray, seed: int, q: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n, d = m.shape
    out = m[rng.integers(0, n, q)].astype(np.float64)
    out += rng.normal(0, 0.05, out.shape) * out.std(axis=1, keepdims=True)
    out[::3] = rng.normal(size=(len(out[::3]), d))  # noise-like: nothing prunes
    out[min(1, q - 1)] = m[0]  # an exact library row, duplicates included
    return out


masks = st.sampled_from([None, (130.0, 180.0), [(105.0, 120.0), (140.0, 200.0)],
                         (90.0, 400.0)])


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(1, 160), d=st.integers(8, 90),
       k=st.integers(1, 15), mask=masks, score=st.sampled_from(SCORES),
       dups=st.integers(0, 6), nq=st.sampled_from([1, 7, 20]),
       path=st.sampled_from(["dense batch", "pruned batch", "sampled candidates"]))
def test_fast_top_k_is_exactly_brute_force(
    seed: int, n: int, d: int, k: int, mask: object, score: str, dups: int, nq: int,
    path: str,
) -> None:
    """One query or a batch; a batch scored densely or pruned; first candidates by one
    argpartition or by a sampled threshold (what large libraries use)."""
    m = structured(seed, n, d, duplicates=dups if n > 1 else 0)
    lib = vector_library(m)
    try:
        mask_points(lib.axis, mask)  # type: ignore[arg-type]
    except ValueError:
        return  # the mask keeps too few points of this short axis; tested elsewhere
    s = Searcher(lib, score, dims=min(8, d),
                 batch_dense_elements=0 if path != "dense batch" else 8_000_000)
    q = queries_for(m, seed + 1, nq)
    try:
        with patch.object(search_module, "_ARGPARTITION_ROWS",
                          0 if path == "sampled candidates" else 16384):
            fast = s.search(q, k, mask=mask)  # type: ignore[arg-type]
    except QueryMismatchError:
        return  # a row or query flat over the mask: refused, tested elsewhere
    brute = s.search(q, k, mask=mask, method="brute")  # type: ignore[arg-type]
    np.testing.assert_array_equal(fast.indices, brute.indices)
    np.testing.assert_array_equal(fast.keys, brute.keys)
    np.testing.assert_array_equal(fast.scores, brute.scores)


def test_ties_are_broken_by_lower_index() -> None:
    m = structured(1, 50, 40)
    m[[10, 20, 30]] = m[5]
    lib = vector_library(m)
    for score in SCORES:
        res = Searcher(lib, score, dims=4).search(m[5], 4)
        assert list(res.indices[0]) == [5, 10, 20, 30], score
        assert len(set(res.keys[0])) == 1


@pytest.mark.parametrize("score", SCORES)
def test_brute_force_agrees_with_the_score_matrix(score: str) -> None:
    m = structured(2, 120, 64)
    lib = vector_library(m)
    q = queries_for(m, 3, 9)
    res = Searcher(lib, score).search(q, 5, method="brute")
    sim = get_similarity(score)
    full = sim.matrix(m.astype(np.float64), q)  # (N, Q), independent code path
    for j in range(q.shape[0]):
        col = full[:, j]
        order = np.argsort(-col if sim.higher_is_better else col, kind="stable")[:5]
        if score == "euclidean":
            # The matrix expands ‖r−q‖² = ‖r‖² + ‖q‖² − 2 r·q: each of the D products and the
            # two additions round, so each side's d² is off by at most γ_{D+2}·(‖r‖²+‖q‖²+2|r·q|)
            # ≤ 2γ_{D+2}·(‖r‖²+‖q‖²) (γ_n = nu/(1−nu), u = 2⁻⁵³). Near d = 0 the square root
            # magnifies that (an identical row can come out as 4.8e-7, not 0), so compare d².
            rows = m.astype(np.float64)[res.indices[j]]
            u = np.finfo(np.float64).eps / 2
            n = rows.shape[1] + 2
            gamma = n * u / (1 - n * u)
            bound = 2 * 2 * gamma * (np.sum(rows**2, axis=1) + np.sum(q[j] ** 2))  # both sides
            assert np.all(np.abs(res.scores[j] ** 2 - col[res.indices[j]] ** 2) <= bound)
            assert np.all(np.abs(res.scores[j] ** 2 - col[order] ** 2) <= bound)
            continue
        np.testing.assert_allclose(res.scores[j], col[order], rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(res.scores[j], col[res.indices[j]], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("score", SCORES)
def test_batch_equals_one_by_one(score: str) -> None:
    m = structured(4, 200, 80)
    lib = vector_library(m)
    q = queries_for(m, 5, 40)  # enough noise-like queries to take the batched GEMM path
    s = Searcher(lib, score, dims=6)
    batch = s.search(q, 6)  # a small library: one GEMM for the whole batch
    pruned = Searcher(lib, score, dims=6, batch_dense_elements=0).search(q, 6)
    np.testing.assert_array_equal(pruned.indices, batch.indices)
    np.testing.assert_array_equal(pruned.keys, batch.keys)
    for j in range(q.shape[0]):
        one = s.search(q[j], 6)
        np.testing.assert_array_equal(one.indices[0], batch.indices[j])
        np.testing.assert_array_equal(one.scores[0], batch.scores[j])


def test_masks_restrict_the_range() -> None:
    m = structured(6, 100, 60).astype(np.float64)
    lib = vector_library(m.astype(np.float32))
    q = queries_for(m.astype(np.float32), 7, 5)
    keep = (lib.axis >= 120) & (lib.axis <= 150)
    res = search(lib, q, k=7, mask=(120.0, 150.0))
    # scores are the score of the masked columns alone
    sub = get_similarity("hqi").matrix(lib.matrix[:, keep].astype(np.float64), q[:, keep])
    for j in range(q.shape[0]):
        np.testing.assert_allclose(res.scores[j], sub[res.indices[j], j], atol=1e-9)
    # whatever lies outside the mask changes nothing
    q2 = q.copy()
    q2[:, ~keep] = np.random.default_rng(0).normal(size=(q.shape[0], int((~keep).sum())))
    res2 = search(lib, q2, k=7, mask=(120.0, 150.0))
    np.testing.assert_array_equal(res.indices, res2.indices)
    # a list of ranges is their union; a mask covering everything is no mask
    a = search(lib, q, k=5, mask=[(100.0, 119.0), (140.0, 159.0)])
    both = ((lib.axis <= 119) | ((lib.axis >= 140) & (lib.axis <= 159)))
    sub2 = get_similarity("hqi").matrix(lib.matrix[:, both].astype(np.float64), q[:, both])
    np.testing.assert_allclose(a.scores[0], np.sort(sub2[:, 0])[::-1][:5], atol=1e-9)
    np.testing.assert_array_equal(search(lib, q, k=5, mask=(0.0, 1e4)).indices,
                                  search(lib, q, k=5).indices)


def test_self_match_ranks_first_through_prepare() -> None:
    lib = small_library(15)
    for i in range(len(lib)):
        res = search(lib, lib.prepare(lib.reference(i)), k=3)
        assert res.indices[0, 0] == i
        assert res.scores[0, 0] == pytest.approx(100.0)
        assert res.library_hash == lib.hash and res.score == "hqi"


def test_search_errors_and_edges() -> None:
    lib = vector_library(structured(8, 20, 30))
    s = Searcher(lib)
    with pytest.raises(ValueError, match="queries must be"):
        s.search(np.ones(31))
    with pytest.raises(ValueError, match="non-finite"):
        s.search(np.full(30, np.nan))
    with pytest.raises(ValueError, match="k must be"):
        s.search(lib.matrix[0], 0)
    with pytest.raises(QueryMismatchError, match="flat"):
        s.search(np.ones(30))
    with pytest.raises(ValueError, match="at least 3"):
        s.search(lib.matrix[0], mask=(100.0, 101.0))
    with pytest.raises(ValueError, match="lo < hi"):
        s.search(lib.matrix[0], mask=(120.0, 110.0))
    res = s.search(lib.matrix[0], 50)  # k larger than the library: every row, ranked
    assert res.indices.shape == (1, 20) and sorted(res.indices[0]) == list(range(20))
    with pytest.raises(KeyError, match="known scores"):
        search(lib, lib.matrix[0], score="nope")


def test_flat_library_row_is_refused_when_indexed() -> None:
    m = structured(9, 10, 30)
    m[4] = 1.0
    with pytest.raises(QueryMismatchError, match="row 4"):
        Searcher(vector_library(m), "hqi")
    Searcher(vector_library(m), "euclidean")  # a distance is defined


def test_search_caches_the_index_on_the_library() -> None:
    lib = vector_library(structured(10, 30, 20))
    search(lib, lib.matrix[0])
    search(lib, lib.matrix[1])
    assert len(lib._cache) == 1
    search(lib, lib.matrix[1], score="euclidean")
    assert len(lib._cache) == 2


def test_pruning_actually_prunes_on_structured_data() -> None:
    m = structured(11, 2000, 200)
    lib = vector_library(m)
    rng = np.random.default_rng(12)
    q = m[:20] + rng.normal(0, 0.01, (20, 200)).astype(np.float32)
    res = Searcher(lib, "hqi", batch_dense_elements=0).search(q, 10)
    # exact, and most rows never touched: the bound did the work
    brute = Searcher(lib, "hqi").search(q, 10, method="brute")
    np.testing.assert_array_equal(res.indices, brute.indices)
    assert np.median(res.evaluated) < 0.25 * len(lib)
