"""JCAMP-DX write → read: exact for any valid spectrum, and readable by another reader."""

from __future__ import annotations

import tempfile
import warnings
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spectra import Acquisition, ProvenanceStep, Spectrum
from spectra._errors import FormatError
from spectra._units import Technique, XUnit, YUnit
from spectra.formats import jcamp

finite = st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=True, width=64)
text = st.text(max_size=40)


@st.composite
def axes(draw: st.DrawFn) -> np.ndarray:
    n = draw(st.integers(1, 2000))
    if draw(st.booleans()):  # even axis: what a reader computes from FIRSTX, LASTX, NPOINTS
        start = draw(st.floats(-1e6, 1e6, allow_nan=False))
        step = draw(st.floats(1e-6, 1e3))
        x = np.linspace(start, start + step * (n - 1), n)
    else:  # uneven: any strictly increasing finite values, tiny to huge
        x = np.sort(draw(hnp.arrays(np.float64, n, elements=st.floats(
            -1e300, 1e300, allow_nan=False, allow_subnormal=True), unique=True)))
        x = x + 0.0  # -0.0 and 0.0 cannot both be in a strictly increasing axis
    if n > 1 and not np.all(np.diff(x) > 0):
        x = np.arange(n, dtype=np.float64) * 0.5 + 100.0
    return x


offsets = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))
acquisitions = st.builds(
    Acquisition,
    instrument_make=st.none() | text,
    instrument_model=st.none() | text,
    instrument_serial=st.none() | text,
    firmware=st.none() | text,
    integration_time_ms=st.none() | st.floats(1e-3, 1e6),
    accumulations=st.none() | st.integers(1, 10_000),
    laser_power_mw=st.none() | st.floats(0, 1e4),
    acquired_at=st.none() | st.datetimes(
        min_value=datetime(1990, 1, 1), max_value=datetime(2100, 1, 1),
        timezones=offsets | st.just(UTC)),
    operator=st.none() | text,
)
json_leaf = st.none() | st.booleans() | st.integers(-(2**53), 2**53) | finite | text
steps = st.builds(
    ProvenanceStep,
    step=text.filter(bool),
    params=st.dictionaries(text, json_leaf | st.lists(json_leaf, max_size=4), max_size=4),
)


@st.composite
def spectra_(draw: st.DrawFn) -> Spectrum:
    x = draw(axes())
    y = draw(hnp.arrays(np.float64, x.size, elements=finite))
    return Spectrum(
        x, y,
        x_unit=draw(st.sampled_from(XUnit)),
        y_unit=draw(st.sampled_from(YUnit)),
        technique=draw(st.sampled_from(Technique)),
        excitation_nm=draw(st.none() | st.floats(100, 20000)),
        acquisition=draw(acquisitions),
        provenance=draw(st.lists(steps, max_size=3)),
        title=draw(st.text(max_size=60)),
        extra=draw(st.dictionaries(text, text, max_size=3)),
    )


@settings(max_examples=60)
@given(spectra_())
def test_write_read_is_exact(s: Spectrum) -> None:
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.jdx"
        jcamp.write(s, p)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # our own files must read without any doubt
            (r,) = jcamp.read(p)
    assert r.x.tobytes() == s.x.tobytes()
    assert r.y.tobytes() == s.y.tobytes()
    assert r.content_hash == s.content_hash
    assert r.title == s.title
    assert (r.x_unit, r.y_unit, r.technique, r.excitation_nm) == (
        s.x_unit, s.y_unit, s.technique, s.excitation_nm)
    assert r.acquisition == s.acquisition and r.provenance == s.provenance
    even = r.extra["DATA CLASS"] == "XYDATA"
    assert even == ("XYDATA" in r.extra)


def test_even_axis_is_written_as_xydata_and_uneven_as_xypoints(tmp_path: Path) -> None:
    even = Spectrum(np.linspace(200.0, 3200.0, 1501), np.arange(1501.0), title="even")
    uneven = Spectrum(np.r_[200.0, 200.5, 203.0], [1.0, 2.0, 3.0], title="uneven")
    for s, form in ((even, "XYDATA=(X++(Y..Y))"), (uneven, "XYPOINTS=(XY..XY)")):
        p = tmp_path / f"{s.title}.jdx"
        jcamp.write(s, p)
        body = p.read_text()
        assert f"##{form}\n" in body
        assert all(len(line) <= 80 for line in body.splitlines() if not line.startswith("##"))
        assert jcamp.read(p)[0].content_hash == s.content_hash


def test_a_title_cannot_inject_labels(tmp_path: Path) -> None:
    s = Spectrum([1.0, 2.0], [3.0, 4.0], title="x\n##END=\n##TITLE=evil $$ comment\x00")
    p = tmp_path / "t.jdx"
    jcamp.write(s, p)
    (r,) = jcamp.read(p)
    assert r.title == s.title


def test_write_replaces_atomically_and_reports_failure(tmp_path: Path) -> None:
    s = Spectrum([1.0, 2.0], [3.0, 4.0])
    p = tmp_path / "s.jdx"
    p.write_text("old")
    jcamp.write(s, p)
    assert jcamp.read(p)[0] == jcamp.read(p)[0]
    assert not list(tmp_path.glob("*.tmp"))
    with pytest.raises(FormatError) as err:
        jcamp.write(s, tmp_path / "missing-dir" / "s.jdx")
    assert err.value.path == str(tmp_path / "missing-dir" / "s.jdx")


@settings(max_examples=25)
@given(spectra_().filter(lambda s: len(s) > 1))  # it divides by NPOINTS-1: 1 point fails
def test_pypi_jcamp_reads_what_we_write(s: Spectrum) -> None:
    other = pytest.importorskip("jcamp", reason="the PyPI 'jcamp' package is a test-only check")
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "s.jdx"
        jcamp.write(s, p)
        # the PyPI reader int()s any header value whose str.isdigit() holds (jcamp.py:
        # `if rhs.isdigit()`), so a title such as '²' crashes it: its bug, not ours (our
        # reader reads it back, test_write_read_is_exact)
        text = p.read_text(encoding="utf-8", errors="replace")
        assume(not any(c.isdigit() and not c.isascii() for c in text))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = other.readfile(str(p))
    x, y = np.asarray(theirs["x"], float), np.asarray(theirs["y"], float)
    assert np.array_equal(x, s.x)
    assert np.array_equal(y, s.y)


def test_public_read_write_pick_jcamp_by_extension_and_content(tmp_path: Path) -> None:
    from spectra.formats import read, sniff, write

    s = Spectrum(np.linspace(100.0, 200.0, 11), np.arange(11.0), technique="raman",
                 excitation_nm=785.0, title="via the dispatch")
    for ext in (".jdx", ".dx", ".JDX"):
        p = write(s, tmp_path / f"s{ext}")
        assert sniff(p) == "jcamp"
        (r,) = read(p)
        assert r.content_hash == s.content_hash and r.title == s.title


def test_metadata_without_a_json_form_is_refused_and_nothing_written(tmp_path: Path) -> None:
    # ProvenanceStep refuses NaN itself; model_construct skips validation, as a careless
    # caller could, so the writer's own refusal is still exercised.
    step = ProvenanceStep.model_construct(step="scale", params={"k": float("nan")},
                                          software="interdict")
    s = Spectrum([1.0, 2.0], [3.0, 4.0], provenance=[step])
    p = tmp_path / "s.jdx"
    with pytest.raises(FormatError) as err:
        jcamp.write(s, p)
    assert err.value.path == str(p) and err.value.field == "$INTERDICT PROVENANCE"
    assert not p.exists() and not list(tmp_path.iterdir())
