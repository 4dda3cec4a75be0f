"""The matcher's one error root: what scores, search and the library raise on purpose is a
:class:`matcher.errors.MatcherError`, and still the builtin callers catch."""

from __future__ import annotations

import numpy as np
import pytest

from matcher.errors import MatcherError, MatcherInputError, UnknownNameError
from matcher.library import LibraryError
from matcher.search import search
from matcher.similarity import HQI, get_similarity

from .test_library_data import AXIS, small_library


def test_every_library_error_is_a_matcher_error() -> None:
    assert issubclass(LibraryError, MatcherError)


def test_an_unknown_score_is_a_key_error_and_a_matcher_error() -> None:
    with pytest.raises(UnknownNameError, match="unknown score 'cosine-ish'") as caught:
        get_similarity("cosine-ish")
    assert isinstance(caught.value, KeyError) and isinstance(caught.value, MatcherError)
    assert str(caught.value).startswith("unknown score")  # a sentence, not a quoted repr


@pytest.mark.parametrize("bad", [np.array([1.0, np.nan, 2.0]), np.ones((2, 2, 2)), [1.0]])
def test_a_score_refuses_a_bad_vector_with_a_matcher_input_error(bad: object) -> None:
    with pytest.raises(MatcherInputError) as caught:
        HQI().pair(bad, bad)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)


def test_search_refuses_bad_arguments_with_matcher_input_errors() -> None:
    lib = small_library(3)
    query = lib.matrix[0]
    with pytest.raises(MatcherInputError, match="k must be"):
        search(lib, query, k=0)
    with pytest.raises(MatcherInputError, match="non-finite"):
        search(lib, np.full(AXIS.size, np.nan), k=1)
    with pytest.raises(MatcherInputError, match="vectors on the library axis"):
        search(lib, query[:-1], k=1)
