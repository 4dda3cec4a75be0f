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

from spectra import ParameterWarning, Spectrum, YUnit
from spectra.preprocess import record, step_functions
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
    return call(step_functions()[name], s, params)


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


# -- the checks, as functions so that test_the_checks_catch_broken_steps can test them ------
StepFn = Callable[..., Spectrum]


def call(func: StepFn, s: Spectrum, params: dict[str, Any]) -> Spectrum:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParameterWarning)  # uneven axes warn in smooth
        return func(s, **params)


def check_input_unchanged(name: str, func: StepFn, s: Spectrum, params: dict[str, Any]) -> None:
    before = snapshot(s)
    call(func, s, params)
    assert snapshot(s) == before, f"{name} changed its input"


def check_one_provenance_entry(
    name: str, func: StepFn, s: Spectrum, params: dict[str, Any]
) -> None:
    out = call(func, s, params)
    assert len(out.provenance) == len(s.provenance) + 1, f"{name}: not exactly one entry"
    assert out.provenance[:-1] == s.provenance, f"{name} altered earlier provenance"
    entry = out.provenance[-1]
    assert entry.step == name
    for key, value in params.items():
        assert key in entry.params, f"{name} did not record {key}"
        if isinstance(value, float):
            assert entry.params[key] == pytest.approx(value, rel=1e-9)
        else:
            assert entry.params[key] == value
    json.dumps(entry.params, allow_nan=False)  # JSON-serialisable, no NaN


def check_output(name: str, func: StepFn, s: Spectrum, params: dict[str, Any]) -> None:
    out = call(func, s, params)
    assert out is not s, f"{name} returned its input"
    assert np.all(np.isfinite(out.x))
    assert np.all(np.isfinite(out.y))
    assert not out.y.flags.writeable
    assert (out.x_unit, out.y_unit, out.technique) == (s.x_unit, s.y_unit, s.technique), name
    assert (out.excitation_nm, out.acquisition) == (s.excitation_nm, s.acquisition), name
    assert (out.title, out.source) == (s.title, s.source), name
    assert out.content_hash != s.content_hash  # the provenance entry alone changes it


CHECKS = [check_input_unchanged, check_one_provenance_entry, check_output]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", STEPS)
@settings(max_examples=25)
@given(s=inputs())
def test_every_step_passes_the_common_checks(check, name: str, s: Spectrum) -> None:
    params = EXAMPLE_PARAMS.get(name, lambda _: {})(s)
    check(name, step_functions()[name], s, params)


def _no_record(s: Spectrum, **_: Any) -> Spectrum:
    return s.replace(y=s.y * 2)


def _two_records(s: Spectrum, **params: Any) -> Spectrum:
    return record(record(s, "broken", params), "broken", params)


def _unit_change(s: Spectrum, **params: Any) -> Spectrum:
    other = YUnit.COUNTS if s.y_unit is not YUnit.COUNTS else YUnit.ABSORBANCE
    return record(s, "broken", params, y_unit=other)


def _forgets_params(s: Spectrum, **_: Any) -> Spectrum:
    return record(s, "broken", {})


def _wrong_name(s: Spectrum, **params: Any) -> Spectrum:
    return record(s, "broken_step", params)


def _title_change(s: Spectrum, **params: Any) -> Spectrum:
    return record(s, "broken", params, title=s.title + " (processed)")


def _returns_input(s: Spectrum, **_: Any) -> Spectrum:
    return s


@pytest.mark.parametrize(
    ("broken", "check"),
    [
        (_no_record, check_one_provenance_entry),
        (_two_records, check_one_provenance_entry),
        (_forgets_params, check_one_provenance_entry),
        (_wrong_name, check_one_provenance_entry),
        (_unit_change, check_output),
        (_title_change, check_output),
        (_returns_input, check_output),
    ],
)
def test_the_checks_catch_broken_steps(broken: StepFn, check) -> None:
    """The tester's own test (pybaselines' test_meta habit): each check fails when it should."""
    s = Spectrum(np.arange(20.0), np.sin(np.arange(20.0)), title="t")
    with pytest.raises(AssertionError):
        check("broken", broken, s, {"k": 1})


def test_input_check_catches_a_step_that_changes_its_input() -> None:
    s = Spectrum(np.arange(20.0), np.sin(np.arange(20.0)))

    def mutating(sp: Spectrum, **params: Any) -> Spectrum:
        out = record(sp, "broken", params)
        object.__setattr__(sp, "provenance", out.provenance)  # what a careless step might do
        object.__setattr__(sp, "_hash", None)
        return out

    with pytest.raises(AssertionError, match="changed its input"):
        check_input_unchanged("broken", mutating, s, {})


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


@pytest.mark.parametrize("n", [1, 2, 3, 5])
@pytest.mark.parametrize("name", STEPS)
def test_tiny_spectra_give_a_result_or_a_typed_error(name: str, n: int) -> None:
    from spectra import SpectraError
    from spectra.preprocess.baseline import METHODS

    s = Spectrum(np.arange(float(n)), np.arange(float(n)) ** 2 + 1.0)
    variants: list[dict[str, Any]] = [{}]
    if name == "resample":
        variants = [{"start": 0.0, "stop": n - 1.0, "step": 0.5}]
    elif name == "baseline":
        variants = [{"method": m} for m in METHODS]
    for params in variants:
        try:
            out = call(step_functions()[name], s, params)
        except SpectraError:
            continue
        assert np.all(np.isfinite(out.y))
        assert out.provenance[-1].step == name
