"""Common checks every preprocessing step must pass (pybaselines' BaseTester habit).

Every step in :func:`spectra.preprocess.step_functions` goes through the same checks,
so a new step is covered as soon as it is registered: it runs with ``EXAMPLE_PARAMS``
for its name (or with no parameters when it has none there; a step that needs some
fails ``test_every_step_runs_with_example_params`` until it gets an entry).
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spectra import ParameterWarning, Spectrum
from spectra.preprocess import step_functions
from tests.strategies import spectra_strategy

ParamsFor = Callable[[Spectrum], dict[str, Any]]

EXAMPLE_PARAMS: dict[str, ParamsFor] = {
    "crop": lambda s: {"x_min": float(s.x[len(s) // 4]), "x_max": float(s.x[-1])},
    "resample": lambda s: {
        "start": float(s.x[0]),
        "stop": float(s.x[-1]),
        "step": float((s.x[-1] - s.x[0]) / max(1, len(s) // 3)),
    },
    "despike": lambda s: {"threshold": 6.0, "max_width": 2},
    "baseline": lambda s: {"method": "arpls", "lam": 1e4},
    "smooth": lambda s: {"window": 7, "polyorder": 2},
    "derivative": lambda s: {"window": 7, "polyorder": 3, "order": 1},
    "normalize": lambda s: {"method": "snv"},
}

STEPS = sorted(step_functions())
MIN_POINTS = 15


def run(name: str, s: Spectrum) -> Spectrum:
    params = EXAMPLE_PARAMS.get(name, lambda _: {})(s)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParameterWarning)  # uneven axes warn in smooth
        return step_functions()[name](s, **params)


def inputs() -> st.SearchStrategy[Spectrum]:
    # uniform and smoothly calibrated axes: a jittered axis is refused by derivative (see
    # test_preprocess_steps), which this common check would otherwise have to excuse
    return spectra_strategy(
        min_size=MIN_POINTS, max_size=120, axis_kinds=("uniform", "calibrated")
    )


def snapshot(s: Spectrum) -> tuple[bytes, bytes, str, tuple[Any, ...], bool, bool]:
    return (
        s.x.tobytes(), s.y.tobytes(), s.content_hash, s.provenance,
        s.x.flags.writeable, s.y.flags.writeable,
    )


def test_every_registered_step_is_a_keyword_only_function() -> None:
    import inspect

    for name, func in step_functions().items():
        params = list(inspect.signature(func).parameters.values())
        assert params[0].kind is params[0].POSITIONAL_OR_KEYWORD, name
        assert all(
            p.kind in (p.KEYWORD_ONLY, p.VAR_KEYWORD) for p in params[1:]
        ), f"{name}: parameters after the spectrum must be keyword-only"
        assert func.__doc__ and "Raises" in func.__doc__, f"{name}: numpydoc with Raises"


@pytest.mark.parametrize("name", STEPS)
def test_every_step_runs_with_example_params(name: str) -> None:
    x = np.linspace(200.0, 1800.0, 400)
    y = 100 + 0.05 * x + 500 * np.exp(-0.5 * ((x - 1000) / 6) ** 2)
    out = run(name, Spectrum(x, y, technique="raman"))
    assert isinstance(out, Spectrum)


@pytest.mark.parametrize("name", STEPS)
@settings(max_examples=25)
@given(s=inputs())
def test_step_never_changes_its_input(name: str, s: Spectrum) -> None:
    before = snapshot(s)
    run(name, s)
    assert snapshot(s) == before


@pytest.mark.parametrize("name", STEPS)
@settings(max_examples=25)
@given(s=inputs())
def test_step_appends_exactly_one_provenance_entry_with_its_params(
    name: str, s: Spectrum
) -> None:
    out = run(name, s)
    assert out.provenance[:-1] == s.provenance
    entry = out.provenance[-1]
    assert entry.step == name
    given_params = EXAMPLE_PARAMS.get(name, lambda _: {})(s)
    for key, value in given_params.items():
        assert key in entry.params, f"{name} did not record {key}"
        if isinstance(value, float):
            assert entry.params[key] == pytest.approx(value, rel=1e-9)
        else:
            assert entry.params[key] == value
    json.dumps(entry.params, allow_nan=False)  # JSON-serialisable, no NaN


@pytest.mark.parametrize("name", STEPS)
@settings(max_examples=25)
@given(s=inputs())
def test_step_output_is_finite_readonly_and_keeps_units_and_metadata(
    name: str, s: Spectrum
) -> None:
    out = run(name, s)
    assert np.all(np.isfinite(out.x))
    assert np.all(np.isfinite(out.y))
    assert not out.y.flags.writeable
    assert (out.x_unit, out.y_unit, out.technique) == (s.x_unit, s.y_unit, s.technique)
    assert (out.excitation_nm, out.acquisition) == (s.excitation_nm, s.acquisition)
    assert (out.title, out.source) == (s.title, s.source)
    assert out.content_hash != s.content_hash  # the provenance entry alone changes it


@pytest.mark.parametrize("name", STEPS)
@settings(max_examples=10)
@given(s=inputs())
def test_step_is_deterministic(name: str, s: Spectrum) -> None:
    assert run(name, s).content_hash == run(name, s).content_hash


@pytest.mark.parametrize("name", STEPS)
def test_step_rejects_an_unknown_parameter(name: str) -> None:
    from spectra import SpectrumValidationError

    s = Spectrum(np.arange(50.0), np.sin(np.arange(50.0)))
    with pytest.raises((TypeError, SpectrumValidationError), match="no_such_param"):
        step_functions()[name](s, no_such_param=1)
