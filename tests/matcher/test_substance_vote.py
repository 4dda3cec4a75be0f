"""Substance order of the hit list: a soft vote of the best entries."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.representation import Representation


@st.composite
def ranked(draw: st.DrawFn) -> tuple[np.ndarray, list[str]]:
    n = draw(st.integers(0, 30))
    r = np.sort(np.array(draw(st.lists(st.floats(-1, 1), min_size=n, max_size=n))))[::-1]
    names = draw(st.lists(st.sampled_from("abcdefg"), min_size=n, max_size=n))
    return r, names


@given(ranked(), st.integers(1, 10))
def test_every_substance_once_at_its_best_entry(data: tuple[np.ndarray, list[str]],
                                                 k: int) -> None:
    r, names = data
    order = Representation(vote_k=k).substance_order(r, names)
    assert sorted(names[p] for p in order) == sorted(set(names))
    for p in order:  # each position is the substance's first (best) entry
        assert names.index(names[p]) == p


@given(ranked())
def test_vote_of_one_is_best_entry_order(data: tuple[np.ndarray, list[str]]) -> None:
    r, names = data
    order = Representation(vote_k=1).substance_order(r, names)
    assert order == sorted(order)


def test_several_close_specimens_outvote_one_slightly_better() -> None:
    r = np.array([0.90, 0.89, 0.885, 0.70])
    names = ["neighbour", "truth", "truth", "other"]
    rep = Representation(vote_k=5, vote_temperature=0.05)
    assert [names[p] for p in rep.substance_order(r, names)] == ["truth", "neighbour", "other"]
    # far below the best entry, extra specimens do not outvote it
    r2 = np.array([0.95, 0.70, 0.69, 0.68])
    assert [names[p] for p in rep.substance_order(r2, names)] == ["neighbour", "truth", "other"]


def test_length_mismatch_is_refused() -> None:
    with pytest.raises(ValueError, match="3 scores for 2 names"):
        Representation().substance_order(np.zeros(3), ["a", "b"])
