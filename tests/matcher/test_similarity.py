"""Scores: pair and matrix agree for every registered score; traits hold; look-up by name."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.similarity import (
    HQI,
    BaseSimilarity,
    DerivativeHQI,
    Euclidean,
    get_similarity,
    similarity_classes,
)

ALL = sorted(similarity_classes())


def _peaky(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    x = np.arange(d, dtype=float)
    out = rng.normal(0, 0.02, (n, d))
    for i in range(n):
        for c, w, h in zip(rng.uniform(0, d, 4), rng.uniform(1, 6, 4), rng.uniform(0.2, 1, 4),
                           strict=True):
            out[i] += h / (1 + ((x - c) / w) ** 2)
    return out


@pytest.mark.parametrize("name", ALL)
def test_pair_and_matrix_agree(name: str) -> None:
    score = get_similarity(name)
    rng = np.random.default_rng(3)
    refs, qs = _peaky(rng, 7, 60), _peaky(rng, 4, 60)
    m = score.matrix(refs, qs)
    assert m.shape == (7, 4)
    loop = np.array([[score.pair(r, q) for q in qs] for r in refs])
    np.testing.assert_allclose(m, loop, rtol=1e-10, atol=1e-10)
    # the base class' naive matrix (a loop over pair) is the same too
    np.testing.assert_allclose(BaseSimilarity.matrix(score, refs, qs), loop, atol=1e-10)


@pytest.mark.parametrize("name", ALL)
def test_inputs_are_not_changed(name: str) -> None:
    rng = np.random.default_rng(4)
    refs, qs = _peaky(rng, 3, 30), _peaky(rng, 2, 30)
    refs.flags.writeable = False
    qs.flags.writeable = False
    before = refs.copy(), qs.copy()
    get_similarity(name).matrix(refs, qs)
    get_similarity(name).pair(refs[0], qs[0])
    np.testing.assert_array_equal(refs, before[0])
    np.testing.assert_array_equal(qs, before[1])


@pytest.mark.parametrize("name", ALL)
@given(seed=st.integers(0, 2**32 - 1), d=st.integers(5, 80))
def test_commutative_scores_are_symmetric(name: str, seed: int, d: int) -> None:
    score = get_similarity(name)
    assert score.is_commutative
    rng = np.random.default_rng(seed)
    a, b = _peaky(rng, 2, d)
    assert score.pair(a, b) == pytest.approx(score.pair(b, a), rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", ALL)
@given(seed=st.integers(0, 2**32 - 1))
def test_self_match_scores_best(name: str, seed: int) -> None:
    score = get_similarity(name)
    rng = np.random.default_rng(seed)
    refs = _peaky(rng, 6, 50)
    m = score.matrix(refs, refs)
    best = m.max(axis=0) if score.higher_is_better else m.min(axis=0)
    np.testing.assert_allclose(np.diag(m), best, atol=1e-9)
    lo, hi = score.score_range
    assert np.all(m >= lo - 1e-9) and np.all(m <= hi + 1e-9)


def test_hqi_scale_offset_invariant_and_convention() -> None:
    rng = np.random.default_rng(5)
    a, b = _peaky(rng, 2, 100)
    h = HQI()
    assert h.pair(a, 3.0 * a + 7.0) == pytest.approx(100.0)
    r = np.corrcoef(a, b)[0, 1]
    assert h.pair(a, b) == pytest.approx(100 * max(r, 0.0) ** 2)  # 100·r², documented
    assert h.pair(a, -a) == 0.0  # anti-correlated: no match


def test_derivative_hqi_ignores_offsets_and_uses_differences() -> None:
    rng = np.random.default_rng(6)
    a, b = _peaky(rng, 2, 100)
    expected = 100 * max(np.corrcoef(np.diff(a), np.diff(b))[0, 1], 0) ** 2
    assert DerivativeHQI().pair(a, b) == pytest.approx(expected)
    assert DerivativeHQI().pair(a, a + 5.0) == pytest.approx(100.0)


def test_euclidean_matches_numpy() -> None:
    rng = np.random.default_rng(7)
    a, b = _peaky(rng, 2, 40)
    assert Euclidean().pair(a, b) == pytest.approx(np.linalg.norm(a - b))
    assert not Euclidean.higher_is_better


def test_lookup_by_name_and_errors() -> None:
    assert isinstance(get_similarity("HQI"), HQI)
    assert isinstance(get_similarity("derivative-hqi"), DerivativeHQI)
    with pytest.raises(KeyError, match="known scores"):
        get_similarity("cosine-greedy")
    with pytest.raises(ValueError, match="flat"):
        HQI().pair(np.ones(10), np.arange(10.0))
    with pytest.raises(ValueError, match="points"):
        HQI().pair(np.arange(10.0), np.arange(11.0))
    with pytest.raises(ValueError, match="non-finite"):
        Euclidean().pair(np.array([1.0, np.nan]), np.array([1.0, 2.0]))
