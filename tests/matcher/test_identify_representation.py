"""The ranking representation: properties that make its dot product a Pearson r."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from matcher.representation import Representation

rows = arrays(np.float32, st.tuples(st.integers(1, 5), st.integers(8, 64)),
              elements=st.floats(-1.0, 100.0, width=32))


@given(m=rows, scale=st.floats(0.01, 1000.0))
def test_unit_norm_centred_and_scale_invariant(m: np.ndarray, scale: float) -> None:
    rep = Representation()
    out = rep.transform(m)
    assert out.shape == m.shape and out.dtype == np.float32
    norms = np.linalg.norm(out, axis=1)
    nonzero = norms > 0
    assert np.allclose(norms[nonzero], 1.0, atol=1e-4)
    assert np.allclose(out[nonzero].mean(axis=1), 0.0, atol=1e-4)
    assert np.allclose(rep.transform(m * np.float32(scale)), out, atol=1e-3)


@given(m=rows)
def test_self_similarity_is_the_maximum(m: np.ndarray) -> None:
    out = Representation().transform(m)
    s = out @ out.T
    for i in range(len(out)):
        if np.linalg.norm(out[i]) > 0:
            assert s[i, i] == pytest.approx(1.0, abs=1e-4)
            assert np.all(s[i] <= s[i, i] + 1e-4)


def test_square_root_compresses_the_strongest_band() -> None:
    x = np.zeros(100, np.float32)
    x[10], x[50] = 100.0, 1.0
    y = x.copy()
    y[50] = 25.0  # the weak band 25x stronger: linear r barely notices, root-HQI does
    lin = Representation(power=1.0)
    root = Representation()
    r_lin = float(lin.transform(x) @ lin.transform(y))
    r_root = float(root.transform(x) @ root.transform(y))
    assert r_root < r_lin
    assert Representation.hqi(np.array([1.0, 0.5, -0.3])).tolist() == [100.0, 25.0, 0.0]
