"""The Pipeline: JSON round-trips, equivalence with running steps by hand, typed errors."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from spectra import Pipeline, PipelineStep, ProvenanceStep, Spectrum, SpectrumValidationError
from spectra.preprocess import (
    baseline,
    despike,
    normalize,
    smooth,
    step_functions,
)


def arpls_raman() -> Pipeline:
    """A four-step Raman pipeline (despike, arPLS baseline, smoothing, unit norm) to exercise
    the Pipeline with; the identification defaults are :mod:`matcher.defaults`."""
    return Pipeline.of(
        ("despike", {"threshold": 7.0, "max_width": 3}),
        ("baseline", {"method": "arpls", "lam": 1e6}),
        ("smooth", {"window": 11, "polyorder": 3}),
        ("normalize", {"method": "vector"}),
    )


def raw_raman(seed: int = 0, n: int = 3000) -> Spectrum:
    """A raw handheld-like Raman spectrum: bands, fluorescence, noise and a cosmic ray."""
    rng = np.random.default_rng(seed)
    x = np.linspace(200.0, 3200.0, n)
    y = 3000 * np.exp(-(((x - 1200) / 1500) ** 2)) + 0.3 * x
    for c, h, w in [(520, 400, 4), (1001, 1500, 3), (1600, 600, 6), (2930, 500, 9)]:
        y = y + h * np.exp(-0.5 * ((x - c) / w) ** 2)
    y = y + rng.normal(0.0, 8.0, n)
    y[int(0.59 * n)] += 4000.0
    return Spectrum(x, y, technique="raman", excitation_nm=785.0, title="raw")


# -- JSON ----------------------------------------------------------------------------------
json_scalars = (
    st.none() | st.booleans() | st.integers(-1000, 1000)
    | st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False) | st.text(max_size=8)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)


@st.composite
def pipelines(draw: st.DrawFn) -> Pipeline:
    """Pipelines of known steps with parameter names the steps take, values any JSON."""
    import inspect

    funcs = step_functions()
    steps = []
    for name in draw(st.lists(st.sampled_from(sorted(funcs)), max_size=6)):
        sig = inspect.signature(funcs[name])
        keys = [n for n, p in sig.parameters.items() if p.kind is p.KEYWORD_ONLY]
        chosen = draw(st.lists(st.sampled_from(keys), unique=True, max_size=3)) if keys else []
        steps.append((name, {k: draw(json_values) for k in chosen}))
    return Pipeline.of(*steps)


@given(pipelines())
def test_pipeline_json_round_trip(p: Pipeline) -> None:
    text = p.model_dump_json()
    back = Pipeline.model_validate_json(text)
    assert back == p
    assert back.model_dump_json() == text
    assert Pipeline.model_validate(json.loads(text)) == p


# -- apply ---------------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_apply_equals_running_the_steps_by_hand(seed: int) -> None:
    s = raw_raman(seed)
    by_hand = normalize(
        smooth(baseline(despike(s, threshold=7.0, max_width=3), method="arpls", lam=1e6),
               window=11, polyorder=3),
        method="vector",
    )
    out = arpls_raman().apply(s)
    assert out.content_hash == by_hand.content_hash
    assert out == by_hand
    assert arpls_raman()(s) == out  # __call__


def test_apply_records_every_step_and_leaves_the_input_alone() -> None:
    s = raw_raman()
    before = (s.content_hash, s.y.tobytes())
    p = arpls_raman()
    out = p.apply(s)
    assert (s.content_hash, s.y.tobytes()) == before
    assert len(out.provenance) == len(s.provenance) + len(p.steps)
    assert [e.step for e in out.provenance] == [ps.name for ps in p.steps]
    for entry, ps in zip(out.provenance, p.steps, strict=True):
        for k, v in ps.params.items():
            assert entry.params[k] == v
    # the cosmic ray is gone, the bands stayed: the largest value is the 1001 cm⁻¹ band
    assert abs(out.x[np.argmax(out.y)] - 1001.0) < 3.0
    assert np.linalg.norm(out.y) == pytest.approx(1.0)


def test_recorded_provenance_re_runs_to_the_same_spectrum() -> None:
    s = raw_raman(3)
    out = arpls_raman().apply(s)
    again = Pipeline.from_provenance(out.provenance[len(s.provenance):])
    assert again.apply(s).content_hash == out.content_hash


def test_from_provenance_refuses_what_cannot_be_re_run() -> None:
    with pytest.raises(SpectrumValidationError, match="not a pipeline step"):
        Pipeline.from_provenance([ProvenanceStep(step="convert_x", params={"to": "nm"})])
    hashed = ProvenanceStep(step="resample", params={"axis_sha256": "ab" * 32, "n": 3})
    with pytest.raises(SpectrumValidationError, match="by hash only"):
        Pipeline.from_provenance([hashed])


def test_empty_pipeline_returns_the_input() -> None:
    s = raw_raman()
    assert Pipeline().apply(s) is s


@settings(max_examples=20)
@given(st.integers(0, 2**32 - 1))
def test_arpls_raman_output_is_unit_norm_and_finite(seed: int) -> None:
    out = arpls_raman().apply(raw_raman(seed, n=800))
    assert np.all(np.isfinite(out.y))
    assert np.linalg.norm(out.y) == pytest.approx(1.0)


# -- errors --------------------------------------------------------------------------------
def test_unknown_step_is_refused_at_build_and_at_load() -> None:
    with pytest.raises(ValidationError, match="unknown step 'sharpen'"):
        Pipeline.of(("sharpen", {}))
    text = '{"version": 1, "steps": [{"name": "sharpen", "params": {}}]}'
    with pytest.raises(ValidationError, match="known steps: baseline, crop"):
        Pipeline.model_validate_json(text)


def test_unknown_parameter_name_is_refused_at_load() -> None:
    text = '{"steps": [{"name": "smooth", "params": {"windw": 11}}]}'
    with pytest.raises(ValidationError, match="takes no parameter 'windw'; it takes window"):
        Pipeline.model_validate_json(text)


def test_non_json_parameter_is_refused() -> None:
    with pytest.raises(ValidationError):
        PipelineStep(name="normalize", params={"method": object()})  # type: ignore[dict-item]


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        Pipeline.model_validate({"steps": [], "colour": "red"})


@pytest.mark.parametrize(
    ("step", "params", "field", "words"),
    [
        ("smooth", {"window": 12}, "window", "step 1 (smooth): window: must be odd"),
        ("baseline", {"method": "arpls", "lamda": 1e5}, "lamda", "step 1 (baseline)"),
        ("baseline", {"method": "nope"}, "method", "unknown method 'nope'"),
        ("normalize", {"method": "l1"}, "method", "step 1 (normalize)"),
        ("resample", {"start": 0.0, "stop": 9000.0, "step": 1.0}, "axis", "outside the data"),
    ],
)
def test_bad_parameter_values_fail_at_apply_naming_step_and_field(
    step: str, params: dict, field: str, words: str
) -> None:
    p = Pipeline.of(("despike", {}), (step, params))
    with pytest.raises(SpectrumValidationError) as info:
        p.apply(raw_raman())
    assert info.value.field == field
    assert words in str(info.value)


def test_pipeline_is_immutable() -> None:
    p = arpls_raman()
    with pytest.raises(ValidationError):
        p.steps = ()  # type: ignore[misc]
