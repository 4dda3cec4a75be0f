"""The ranking score (RootHQI) through the exact pruned search, and lazy entry look-up."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from matcher.identify import Identifier
from matcher.library import Library, LibraryEntry, QueryMismatchError
from matcher.representation import Representation
from matcher.search import Searcher
from matcher.similarity import RootHQI
from spectra import Pipeline, Spectrum

from .test_search import structured, vector_library


def peaky_queries(m: np.ndarray, seed: int, q: int) -> np.ndarray:
    """Library rows with noise and a few exact rows (no noise-only vectors: the root score's
    noise floor makes those flat, and refusing them is tested separately)."""
    rng = np.random.default_rng(seed)
    out = m[rng.integers(0, m.shape[0], q)].astype(np.float64)
    out += rng.normal(0, 0.02, out.shape) * out.max(axis=1, keepdims=True)
    out[0] = m[0]
    return out


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 160), d=st.integers(16, 90),
       k=st.integers(1, 15), dups=st.integers(0, 6))
def test_root_hqi_pruned_top_k_is_exactly_brute_force(
    seed: int, n: int, d: int, k: int, dups: int
) -> None:
    m = structured(seed, n, d, duplicates=dups)
    s = Searcher(vector_library(m), RootHQI(), dims=min(8, d))
    q = peaky_queries(m, seed + 1, 5)
    try:
        fast = s.search(q, k)
    except QueryMismatchError:
        return  # a row flat after the noise floor: refused (tested below)
    brute = s.search(q, k, method="brute")
    np.testing.assert_array_equal(fast.indices, brute.indices)
    np.testing.assert_array_equal(fast.keys, brute.keys)


def test_root_hqi_is_pearson_of_the_representation() -> None:
    m = structured(3, 30, 64).astype(np.float64)
    rep = Representation()
    score = RootHQI.of(rep)
    expected = Representation.hqi(rep.transform(m) @ rep.transform(m[:4]).T)
    np.testing.assert_allclose(score.matrix(m, m[:4]), expected, atol=1e-3)
    assert score.pair(m[5], m[2]) == score.matrix(m[5], m[2])[0, 0]
    rows = Searcher(vector_library(m.astype(np.float32)), score).transformed_rows()
    np.testing.assert_array_equal(rows, rep.transform(m.astype(np.float32)))
    assert not rows.flags.writeable


def test_flat_query_is_refused_by_the_score() -> None:
    m = structured(4, 40, 64)
    with pytest.raises(QueryMismatchError, match="flat"):
        Searcher(vector_library(m), RootHQI()).search(np.full(64, 3.0), 3)


class CountingEntries(Sequence[LibraryEntry]):
    """Entries that count how many distinct rows were looked up."""

    def __init__(self, entries: list[LibraryEntry]) -> None:
        self._e = entries
        self.seen: set[int] = set()

    def __len__(self) -> int:
        return len(self._e)

    def __getitem__(self, i):  # type: ignore[no-untyped-def]
        if isinstance(i, slice):
            raise AssertionError("identification should not slice the entries")
        self.seen.add(int(i) % len(self._e))
        return self._e[i]

    def __iter__(self) -> Iterator[LibraryEntry]:
        raise AssertionError("identification should not decode every entry")


def test_identifier_looks_entries_up_lazily() -> None:
    m = structured(5, 2000, 120)
    lib = vector_library(m)
    counting = CountingEntries(list(lib.entries))
    lazy = Library(library_id="lazy", entries=counting, axis=lib.axis, matrix=lib.matrix,
                   pipeline=Pipeline(), technique="raman", content_hash=lib.hash)
    idf = Identifier(lazy, pruned_search=True)
    brute = Identifier(lib, pruned_search=False)
    x = lib.axis
    for row in (7, 123, 480):
        s = Spectrum(x, m[row].astype(np.float64) * 50.0 + 5.0, technique="raman")
        a, b = idf.identify(s, k=5), brute.identify(s, k=5)
        assert [h.entry_id for h in a.hits] == [h.entry_id for h in b.hits]
        assert a.hits[0].entry_id == f"e{row}"
    # the hits and the mixture fit's candidate pool (300 rows a query), not the library
    assert 0 < len(counting.seen) < len(counting) // 2


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(2, 300), d=st.integers(16, 90),
       k=st.integers(1, 12), pool=st.integers(1, 120), score=st.sampled_from(["hqi", "root"]))
def test_candidates_top_k_is_exact_and_pool_holds_the_best(
    seed: int, n: int, d: int, k: int, pool: int, score: str
) -> None:
    m = structured(seed, n, d, duplicates=3)
    s = Searcher(vector_library(m), RootHQI() if score == "root" else "hqi", dims=min(8, d))
    q = peaky_queries(m, seed + 1, 1)[0]
    try:
        top, top_keys, rows, keys = s.candidates(q, k, pool)
    except QueryMismatchError:
        return  # flat after the noise floor: refused, as search() refuses it
    brute = s.search(q, k, method="brute")
    np.testing.assert_array_equal(top, brute.indices[0])
    np.testing.assert_array_equal(top_keys, brute.keys[0])
    pp = min(max(pool, k), n)
    assert pp <= rows.size <= pp + k and len(set(rows.tolist())) == rows.size
    assert set(top.tolist()) <= set(rows.tolist())
    full = s.search(q, n, method="brute")  # every row's exact key
    exact = dict(zip(full.indices[0].tolist(), full.keys[0].tolist(), strict=True))
    np.testing.assert_allclose(keys, [exact[int(r)] for r in rows], atol=1e-5)
    floor = float(np.min(keys))
    missing = [r for r, v in exact.items() if v > floor + 1e-5 and r not in set(rows.tolist())]
    assert not missing
