"""Delimited-text reader/writer: every real text spectrum in the shared tree, round trips,
delimiter/decimal variants, and bad input."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import spectra
from spectra import (
    Acquisition,
    FormatError,
    ProvenanceStep,
    Spectrum,
    Technique,
    UnsupportedContentError,
    XUnit,
    YUnit,
)
from spectra.formats import spc, text

PS = Path("raman") / "polystyrene_multi_instrument_charisma"
WHENFUNG = Path("raman") / "portable_reagents_drugs_whenfung"
RRUFF = Path("raman") / "rruff_excellent_unoriented"


def _text_spectrum_files() -> list[str]:
    from tests.conftest import SHARED_DATA

    root = SHARED_DATA
    if not root.is_dir():
        return ["<no shared data>"]
    found = []
    for pattern in ("raman/**/*.txt", "raman/**/*.csv", "raman/**/*.tsv",
                    "mixed/openspecy_examples/*.csv", "formats/spc/**/*.txt"):
        found += [str(p.relative_to(root)) for p in root.glob(pattern)]
    # packed-set metadata tables are not spectra
    return sorted(f for f in found if not f.endswith(("metadata.csv", "index.csv")))


def _plain_columns(path: Path, skip: int = 0, delimiter: str | None = None) -> np.ndarray:
    return np.loadtxt(path, skiprows=skip, delimiter=delimiter, ndmin=2)


@pytest.mark.shared
@pytest.mark.parametrize("rel", _text_spectrum_files())
def test_every_real_text_spectrum_reads(shared_data: Path, rel: str) -> None:
    path = shared_data / rel
    assert spectra.sniff(path) == "csv"
    (s,) = spectra.read(path)
    assert len(s) > 100
    assert np.all(np.diff(s.x) > 0)
    assert np.all(np.isfinite(s.y))
    assert s.source == str(path)


@pytest.mark.shared
@pytest.mark.parametrize(
    ("rel", "skip", "delimiter", "n"),
    [
        (PS / "Horiba/PST10_iR785_OP01_8000msx8.txt", 0, None, 1024),
        (PS / "Witec/PST_WiICV532_Z050OP02_075_800msx10.txt", 0, None, 1024),
        (PS / "Zolix/PST02_Zolix785_Probe_070_190ms.txt", 0, None, 2095),
        (PS / "LightNovo/polystyrene_aritficially_worsened.tsv", 8, "\t", 2290),
        (WHENFUNG / "pure/amphetamine_sulfate.txt", 0, ",", 1601),
        (WHENFUNG / "mixtures/mix_methanol20_ethanol80.txt", 0, ",", 1526),
        (Path("mixed/openspecy_examples/raman_hdpe.csv"), 1, ",", None),
        (Path("mixed/openspecy_examples/ftir_pva_without_header.csv"), 0, ",", None),
        (Path("formats/spc/charisma_ramanchada2/Renishaw/nCal_Qontor785_z005H12_100_1x3s.txt"),
         1, None, 1021),
    ],
)
def test_two_column_files_match_numpy(
    shared_data: Path, rel: Path, skip: int, delimiter: str | None, n: int | None
) -> None:
    path = shared_data / rel
    ref = _plain_columns(path, skip, delimiter)
    if n is not None:
        assert ref.shape[0] == n
    order = np.argsort(ref[:, 0])
    (s,) = text.read(path)
    np.testing.assert_array_equal(s.x, ref[order, 0])
    np.testing.assert_array_equal(s.y, ref[order, 1])


@pytest.mark.shared
def test_whenfung_ranges(shared_data: Path) -> None:
    (pure,) = text.read(shared_data / WHENFUNG / "pure/phenobarbital.txt")
    (mix,) = text.read(shared_data / WHENFUNG / "mixtures/unknown_mixture_3.txt")
    assert (len(pure), len(mix)) == (1601, 1526)
    assert 152.0 < pure.x[0] < 152.1 and 2749 < pure.x[-1] < 2750.1
    assert mix.x[0] == pytest.approx(152.3, abs=0.05)
    assert mix.x[-1] == pytest.approx(2750.0, abs=0.05)


def _bwtek_reference(path: Path) -> tuple[np.ndarray, np.ndarray, int]:
    """Raman Shift / Dark Subtracted #1 pairs parsed with the csv module, blank shifts skipped."""
    lines = path.read_text(encoding="latin-1").splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("Pixel;"))
    names = lines[head].split(";")
    xi, yi = names.index("Raman Shift"), names.index("Dark Subtracted #1")
    xs, ys = [], []
    for row in csv.reader(lines[head + 1:], delimiter=";"):
        if row and row[xi].strip():
            xs.append(float(row[xi].replace(",", ".")))
            ys.append(float(row[yi].replace(",", ".")))
    return np.array(xs), np.array(ys), len(lines) - head - 1


@pytest.mark.shared
@pytest.mark.parametrize(
    ("rel", "n", "excitation"),
    [
        (Path("formats/spc/charisma_ramanchada2/BWTEK/PST10_iR532_Probe_100_3000msx7.txt"),
         1801, 532.02),
        (PS / "iRaman/PST02_iRPlus785_Z050_075_3200ms.txt", 1743, 784.82),
        (PS / "BWTEK/lamp Ne 10ms 0%.txt", 715, 784.9),
    ],
)
def test_bwtek_exports(shared_data: Path, rel: Path, n: int, excitation: float) -> None:
    path = shared_data / rel
    x, y, pixels = _bwtek_reference(path)
    (s,) = text.read(path)
    assert len(s) == n == x.size
    np.testing.assert_array_equal(s.x, np.sort(x))
    np.testing.assert_array_equal(s.y, y[np.argsort(x)])
    assert s.excitation_nm == excitation
    assert s.technique is Technique.RAMAN and s.x_unit is XUnit.RAMAN_SHIFT
    assert s.extra["csv.skipped_rows"].startswith(f"{pixels - n} without")
    assert s.acquisition.instrument_make == "B&W Tek"
    assert s.acquisition.instrument_model is not None
    assert s.acquisition.instrument_model.startswith("BTC162E")


@pytest.mark.shared
@pytest.mark.parametrize(
    "name", ["PST_532_SEX139.txt", "PST_532nm_EZI860.txt", "PST_AfCal_10min_532nm_EZI860.txt"]
)
def test_neegala_takes_raman_shift_and_processed(shared_data: Path, name: str) -> None:
    path = shared_data / PS / "Neegala" / name
    lines = path.read_text().splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("Pixels,"))
    ref = np.loadtxt(path, delimiter=",", skiprows=head + 1)
    (s,) = text.read(path)
    assert len(s) == ref.shape[0] == 2048
    order = np.argsort(ref[:, 3])
    np.testing.assert_array_equal(s.x, ref[order, 3])  # Raman_Shift
    np.testing.assert_array_equal(s.y, ref[order, 6])  # Processed_Data
    assert s.excitation_nm == 532.0
    assert s.extra["csv.y_label"] == "Processed_Data"


@pytest.mark.shared
def test_lightnovo_header(shared_data: Path) -> None:
    (s,) = text.read(shared_data / PS / "LightNovo/polystyrene_aritficially_worsened.tsv")
    assert s.excitation_nm == 785.0
    assert s.technique is Technique.RAMAN
    assert s.acquisition.integration_time_ms == 111.0
    assert s.acquisition.laser_power_mw == pytest.approx(11.1111111)
    assert s.acquisition.instrument_serial == "11111"


@pytest.mark.shared
def test_rruff_originals_match_the_packed_npz(shared_data: Path) -> None:
    root = shared_data / RRUFF
    with (root / "rruff_raman_excellent_unoriented_metadata.csv").open(newline="") as fh:
        index = {r["file_name"]: r for r in csv.DictReader(fh)}
    z = np.load(root / "rruff_raman_excellent_unoriented_1cm.npz", allow_pickle=False)
    intensity, offsets, x_start = z["intensity"], z["offsets"], z["x_start"]
    files = sorted((root / "original_files").glob("*.txt"))
    assert len(files) == 24
    for f in files:
        row = index[f.name]
        i = int(row["index"])
        (s,) = text.read(f)
        assert len(s) == int(row["native_n_points"])
        assert s.title == row["mineral"]
        assert s.excitation_nm == float(row["laser_nm"])
        assert s.technique is Technique.RAMAN
        grid = intensity[offsets[i]:offsets[i + 1]]
        gx = x_start[i] + np.arange(grid.size)
        # the NPZ is float32: 0.002 counts, or float32 rounding for large values
        np.testing.assert_allclose(np.interp(gx, s.x, s.y), grid, rtol=2**-23, atol=0.002,
                                   err_msg=f.name)


@pytest.mark.shared
def test_step_scan_paracetamol_is_merged_explicitly(shared_data: Path) -> None:
    path = shared_data / "raman/single_spectra/paracetamol_tablet_Renishaw_InVia_hyperSpec.txt"
    raw = np.loadtxt(path)
    assert not np.all(np.diff(raw[:, 0]) < 0)  # the export is not monotonic
    (s,) = text.read(path)
    assert s.provenance[-1].step == "merge_segments"
    assert s.provenance[-1].params["input_points"] == raw.shape[0]
    assert "merged with merge_segments" in s.extra["csv.axis"]
    assert s.x[0] == pytest.approx(raw[:, 0].min()) and s.x[-1] == pytest.approx(
        raw[:, 0].max())
    assert np.all(np.diff(s.x) > 0)


# -- round trip and variants ---------------------------------------------------------------

finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def spectra_(draw: st.DrawFn) -> Spectrum:
    n = draw(st.integers(1, 60))
    xs = sorted(draw(st.sets(finite, min_size=n, max_size=n)))
    ys = draw(st.lists(finite, min_size=len(xs), max_size=len(xs)))
    acq = draw(st.sampled_from([
        Acquisition(),
        Acquisition(instrument_make="B&W Tek", integration_time_ms=250.5, accumulations=3),
    ]))
    prov = draw(st.sampled_from([
        (), (ProvenanceStep(step="crop", params={"lo": 100.0, "hi": None}),),
    ]))
    return Spectrum(
        xs, ys,
        x_unit=draw(st.sampled_from(list(XUnit))),
        y_unit=draw(st.sampled_from(list(YUnit))),
        technique=draw(st.sampled_from(list(Technique))),
        excitation_nm=draw(st.one_of(st.none(), st.floats(200, 1100))),
        acquisition=acq,
        provenance=prov,
        title=draw(st.text(max_size=30)),
        extra=draw(st.dictionaries(st.text(max_size=8), st.text(max_size=12), max_size=3)),
    )


@given(s=spectra_())
def test_write_read_round_trip(tmp_path_factory: pytest.TempPathFactory, s: Spectrum) -> None:
    p = tmp_path_factory.mktemp("csv") / "s.csv"
    assert spectra.write(s, p) == p
    (back,) = spectra.read(p)
    np.testing.assert_array_equal(back.x, s.x)
    np.testing.assert_array_equal(back.y, s.y)
    assert back.x.tobytes() == s.x.tobytes()  # including the sign of zero
    assert back.content_hash == s.content_hash
    assert back.title == s.title
    assert dict(back.extra) == dict(s.extra)
    assert back == s


def _variant(xs: list[float], ys: list[float], delim: str, decimal_comma: bool) -> str:
    def f(v: float) -> str:
        t = repr(v)
        return t.replace(".", ",") if decimal_comma else t

    return "".join(f"{f(a)}{delim}{f(b)}\n" for a, b in zip(xs, ys, strict=True))


@given(
    data=st.lists(
        st.tuples(st.floats(-1e6, 1e6), st.floats(-1e9, 1e9)), min_size=2, max_size=40,
        unique_by=lambda t: t[0],
    )
)
def test_delimiter_and_decimal_variants_agree(
    tmp_path_factory: pytest.TempPathFactory, data: list[tuple[float, float]]
) -> None:
    data.sort()
    xs, ys = [a for a, _ in data], [b for _, b in data]
    d = tmp_path_factory.mktemp("variants")
    variants = {
        "comma.csv": _variant(xs, ys, ",", False),
        "semicolon_dc.csv": _variant(xs, ys, ";", True),
        "tab.tsv": _variant(xs, ys, "\t", False),
        "tab_dc.txt": _variant(xs, ys, "\t", True),
        "space.dat": _variant(xs, ys, "   ", False),
        "space_dc.prn": _variant(xs, ys, " ", True),
        "header_semicolon.csv": "Raman shift;Intensity\n" + _variant(xs, ys, ";", False),
    }
    for name, body in variants.items():
        (d / name).write_text(body, encoding="utf-8")
        (s,) = text.read(d / name)
        np.testing.assert_array_equal(s.x, xs, err_msg=name)
        np.testing.assert_array_equal(s.y, ys, err_msg=name)


def test_scientific_notation_and_crlf(tmp_path: Path) -> None:
    p = tmp_path / "sci.csv"
    p.write_bytes(b"6.749918e+002,1.356988e-002\r\n6.788489E+002,-1.3e-2\r\n7e2,0\r\n")
    (s,) = text.read(p)
    np.testing.assert_array_equal(s.x, [674.9918, 678.8489, 700.0])
    np.testing.assert_array_equal(s.y, [0.01356988, -0.013, 0.0])


def test_utf16_is_read(tmp_path: Path) -> None:
    body = "wavenumber\tintensity\n100.5\t1.0\n101.5\t2.0\n102.5\t4.0\n"
    for enc in ("utf-16", "utf-16-le", "utf-16-be"):
        p = tmp_path / f"{enc}.txt"
        p.write_bytes(body.encode(enc))
        assert spectra.sniff(p) == "csv"
        (s,) = text.read(p)
        np.testing.assert_array_equal(s.y, [1.0, 2.0, 4.0])


def test_units_and_overrides(tmp_path: Path) -> None:
    p = tmp_path / "plain.txt"
    p.write_text("100 1\n200 2\n300 3\n")
    (s,) = text.read(p)
    assert s.x_unit is XUnit.OTHER and s.technique is Technique.OTHER
    assert s.extra["csv.x_unit"] == "not stated in the file"
    (r,) = text.read(p, x_unit="raman-shift-cm-1", technique="raman", excitation_nm=785.0)
    assert (r.x_unit, r.technique, r.excitation_nm) == (XUnit.RAMAN_SHIFT, Technique.RAMAN, 785.0)


def test_multi_column_rule(tmp_path: Path) -> None:
    named = tmp_path / "named.csv"
    named.write_text("pixel,Raman shift,raw,intensity\n0,100,5,1\n1,101,6,2\n2,102,7,3\n")
    (s,) = text.read(named)
    np.testing.assert_array_equal(s.x, [100, 101, 102])
    np.testing.assert_array_equal(s.y, [1, 2, 3])
    unnamed = tmp_path / "unnamed.csv"
    unnamed.write_text("100,5,1\n101,6,2\n102,7,3\n")
    with pytest.raises(UnsupportedContentError, match="pass y_column="):
        text.read(unnamed)
    (s2,) = text.read(unnamed, y_column=2)
    np.testing.assert_array_equal(s2.y, [1, 2, 3])


# -- bad input -----------------------------------------------------------------------------


def test_non_numeric_cell_names_line_and_column(tmp_path: Path) -> None:
    p = tmp_path / "bad.csv"
    p.write_text("shift,intensity\n100,1\n101,2\n102,oops\n103,4\n")
    with pytest.raises(FormatError) as err:
        spectra.read(p)
    e = err.value
    assert (e.line, e.field, e.path) == (4, "intensity", str(p))
    assert "'oops' (column 2)" in str(e)


def test_non_numeric_cell_without_header(tmp_path: Path) -> None:
    p = tmp_path / "bad.txt"
    p.write_text("100\t1\n101\t2\nabc\t3\n")
    with pytest.raises(FormatError, match=r"bad.txt:3: column 1: not a number: 'abc'"):
        text.read(p)


def test_ragged_row(tmp_path: Path) -> None:
    p = tmp_path / "ragged.csv"
    p.write_text("100,1\n101,2\n102,3,9\n")
    with pytest.raises(FormatError, match="expected 2 columns, found 3") as err:
        text.read(p)
    assert err.value.line == 3


def test_unordered_axis_is_refused_not_sorted(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    x = rng.permutation(np.arange(200.0))
    p = tmp_path / "shuffled.csv"
    p.write_text("".join(f"{a},{i}\n" for i, a in enumerate(x)))
    with pytest.raises(FormatError, match="refusing to sort") as err:
        text.read(p)
    assert err.value.field == "x" and err.value.line is not None


def test_binary_and_empty_files(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_bytes(b"\x00\x01\x02\xff" * 100)
    assert not text.sniff(junk.read_bytes())
    with pytest.raises(FormatError, match="binary data"):
        text.read(junk)
    empty = tmp_path / "empty.csv"
    empty.write_text("\n\n")
    with pytest.raises(FormatError, match="empty"):
        text.read(empty)
    words = tmp_path / "words.txt"
    words.write_text("hello world\nno numbers here\n")
    assert not text.sniff(words.read_bytes())
    with pytest.raises(UnsupportedContentError, match="no line with two or more numeric"):
        text.read(words)


def test_own_format_bad_header_names_line(tmp_path: Path) -> None:
    s = Spectrum([1.0, 2.0], [3.0, 4.0], technique="raman")
    p = tmp_path / "s.csv"
    spectra.write(s, p)
    lines = p.read_text().splitlines()
    lines[4] = '# technique: "telepathy"'
    p.write_text("\n".join(lines) + "\n")
    with pytest.raises(FormatError) as err:
        text.read(p)
    assert (err.value.line, err.value.field) == (5, "technique")


def test_write_does_not_clobber_on_failure(tmp_path: Path) -> None:
    p = tmp_path / "keep.csv"
    p.write_text("precious")
    bad = Spectrum([1.0, 2.0], [3.0, 4.0], title="t")
    with pytest.raises(FormatError, match="cannot write"):
        text.write(bad, tmp_path / "missing_dir" / "x.csv")
    assert p.read_text() == "precious"
    assert not list(tmp_path.glob(".*.tmp"))


@pytest.mark.shared
def test_spc_binaries_are_not_sniffed_as_text(shared_data: Path) -> None:
    for p in (shared_data / "formats" / "spc").rglob("*.[sS][pP][cC]"):
        assert not text.sniff(p.read_bytes()[:4096]), p
        assert spc.sniff(p.read_bytes()[:4096]), p


def test_repr_floats_survive_extremes(tmp_path: Path) -> None:
    s = Spectrum([-0.0, 5e-324, 1e308], [math.pi, -1e-300, 2.0**60])
    p = tmp_path / "x.csv"
    text.write(s, p)
    (back,) = text.read(p)
    assert back.content_hash == s.content_hash


@pytest.mark.shared
@given(
    which=st.sampled_from([
        PS / "iRaman/PST02_iRPlus785_Z050_075_3200ms.txt",
        PS / "Neegala/PST_532_SEX139.txt",
        RRUFF / "original_files"
        / "Calcite__R040070__Raman__532__0__unoriented__Raman_Data_Processed__15330.txt",
        WHENFUNG / "pure/acetone.txt",
    ]),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=5),
)
def test_corrupted_real_text_fails_only_with_typed_errors(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, which: Path, cut: float,
    flips: list[tuple[float, int]],
) -> None:
    data = bytearray((shared_data / which).read_bytes())
    for pos, value in flips:
        data[int(pos * (len(data) - 1))] = value
    data = data[: int(len(data) * cut)] if cut < 0.999 else data
    p = tmp_path_factory.mktemp("fuzz") / "f.txt"
    p.write_bytes(bytes(data))
    try:
        (s,) = text.read(p)
    except spectra.SpectraError as exc:
        assert str(p) in str(exc)
    else:
        assert np.all(np.diff(s.x) > 0)


@given(cell=st.text(alphabet="0123456789eE+-.", min_size=1, max_size=8))
def test_fast_path_accepts_exactly_the_documented_numbers(
    tmp_path_factory: pytest.TempPathFactory, cell: str
) -> None:
    import re

    documented = re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", cell)
    p = tmp_path_factory.mktemp("cell") / "c.csv"
    p.write_text(f"0,0\n1,{cell}\n2,{cell}\n")
    if documented and math.isfinite(float(cell)):
        (s,) = text.read(p)
        assert s.y.tolist() == [0.0] + [float(cell)] * 2
    elif documented:  # e.g. 1E310 overflows a double
        with pytest.raises(FormatError, match=r"c.csv:2: column 2: number out of range"):
            text.read(p)
    else:
        with pytest.raises(FormatError, match=r"c.csv:2: column 2: not a number"):
            text.read(p)


@pytest.mark.shared
def test_rruff_infrared_originals_match_the_lossless_npz(shared_data: Path) -> None:
    root = shared_data / "ftir" / "rruff_infrared_processed"
    with (root / "rruff_infrared_processed_metadata.csv").open(newline="") as fh:
        index = {r["file_name"]: int(r["index"]) for r in csv.DictReader(fh)}
    z = np.load(root / "rruff_infrared_processed.npz", allow_pickle=False)
    absorbance, offsets = z["absorbance"], z["offsets"]
    x_first, x_step = z["x_first"], z["x_step"]
    files = sorted((root / "original_files").glob("*.txt"))
    assert len(files) == 15
    for f in files:
        i = index[f.name]
        (s,) = text.read(f)
        packed = absorbance[offsets[i]:offsets[i + 1]]
        assert len(s) == packed.size, f.name
        assert s.technique is Technique.INFRARED and s.x_unit is XUnit.WAVENUMBER
        np.testing.assert_allclose(s.x, x_first[i] + x_step[i] * np.arange(packed.size),
                                   atol=0.0011, err_msg=f.name)
        np.testing.assert_array_equal(s.y.astype(np.float32), packed, err_msg=f.name)


@pytest.mark.shared
def test_real_spectra_survive_csv_round_trip(shared_data: Path, tmp_path: Path) -> None:
    sources = [
        shared_data / "formats/spc/charisma_ramanchada2/InViaReflex"
        / "PST_Reflex532_Z050_010_10000msx2.spc",
        shared_data / "raman/single_spectra/paracetamol_tablet_Renishaw_InVia_hyperSpec.txt",
        shared_data / PS / "iRaman/PST02_iRPlus785_Z050_075_3200ms.txt",
    ]
    for k, src in enumerate(sources):
        (s,) = spectra.read(src)
        out = tmp_path / f"{k}.csv"
        spectra.write(s, out)
        (back,) = spectra.read(out)
        assert back == s, src  # hash (arrays, units, acquisition, provenance), title, extra
        assert back.provenance == s.provenance
        assert back.acquisition == s.acquisition


# -- bounded memory: the reader streams -------------------------------------------------------


def _peak_bytes(fn: object, *args: object) -> tuple[object, int]:
    import tracemalloc

    tracemalloc.start()
    try:
        out = fn(*args)  # type: ignore[operator]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return out, peak


@pytest.mark.parametrize("layout", ["header+crlf", "bwtek"])
def test_memory_is_a_small_multiple_of_the_output_arrays(tmp_path: Path, layout: str) -> None:
    """A 50 MB file peaked at 1.6 GB (33x its size): every line, cell and row tuple was held
    at once. Streaming keeps the arrays (x, y: 16 bytes a row) plus a bounded batch of lines."""
    n = 60_000
    rng = np.random.default_rng(1)
    x = np.cumsum(rng.uniform(0.5, 1.5, n)) + 100.0
    y = rng.normal(1000.0, 50.0, n)
    p = tmp_path / f"{layout}.txt"
    if layout == "bwtek":
        head = ("File Version;BWSpec4.03_20\nlaser_wavelength;785,0\n"
                "Pixel;Raman Shift;Dark Subtracted #1;\n")
        body = "".join(f"{i};{a:.6f};{b:.6f};\n".replace(".", ",") for i, (a, b) in
                       enumerate(zip(x, y, strict=True)))
        p.write_text(head + body, encoding="latin-1")
    else:
        nl = "\r\n" if layout == "header+crlf" else "\n"
        head = f"# name: big{nl}shift,intensity{nl}" if layout == "header+crlf" else ""
        p.write_text(head + "".join(f"{a:.6f},{b:.6f}{nl}" for a, b in zip(x, y, strict=True)),
                     newline="")
    out, peak = _peak_bytes(text.read, p)
    (s,) = out  # type: ignore[misc]
    assert len(s) == n
    np.testing.assert_allclose(s.y, y, atol=5e-7)
    output = s.x.nbytes + s.y.nbytes
    # measured: 2.6x the output + ~6 MB of batch (before: 16x the file, 23 MB here)
    assert peak < 4 * output + 8 * 2**20, (peak, output, p.stat().st_size)


def test_a_line_without_end_is_refused_in_bounded_memory(tmp_path: Path) -> None:
    p = tmp_path / "one_line.csv"
    p.write_bytes(b"1,2\n" + b"7" * (12 * 2**20))
    with pytest.raises(FormatError, match="longer than") as err:
        text.read(p)
    assert err.value.line == 2 and err.value.field == "line"


# -- vendor exports in ../shared: the five-instrument acetonitrile set -------------------------

ARCADIA = Path("raman") / "acetonitrile_multi_instrument_arcadia" / "data"


@pytest.mark.shared
def test_wasatch_enlighten_export_is_read_as_a_vendor_export(shared_data: Path) -> None:
    path = shared_data / ARCADIA / "Wasatch_WP785X/acetonitrile.csv"
    ref = np.genfromtxt(path, delimiter=",", skip_header=54, names=True)  # 55: columns
    measured = ~np.isnan(ref["Processed"])
    (s,) = spectra.read(path)
    assert s.extra["csv.flavour"] == "enlighten"
    assert s.x_unit is XUnit.RAMAN_SHIFT and s.technique is Technique.RAMAN
    assert s.excitation_nm == 785.041
    np.testing.assert_array_equal(s.x, ref["Wavenumber"][measured])
    np.testing.assert_array_equal(s.y, ref["Processed"][measured])
    assert len(s) == 2038 and int(np.count_nonzero(~measured)) == 10
    a = s.acquisition
    assert (a.instrument_make, a.instrument_model, a.instrument_serial) == (
        "Wasatch Photonics", "WP-785X-F13-R-ILC", "WP-02071")
    assert (a.integration_time_ms, a.accumulations, a.laser_power_mw, a.firmware) == (
        1000.0, 2, 100.0, "10.0.0.10")
    assert a.acquired_at is None  # "2024-12-10 12:47:59.813875": no time zone
    assert s.extra["header.Timestamp"] == "2024-12-10 12:47:59.813875"
    (step,) = s.provenance
    assert step.step == "drop_missing_rows"
    assert step.params["rows_dropped"] == 10 and step.params["marker"] == "NA"
    assert (step.params["first_line"], step.params["last_line"]) == (56, 65)
    assert s.title == "enlighten-acetonitrile_ctrl_20241210-124759-813875-WP-02071"


@pytest.mark.shared
def test_arcadia_acetonitrile_files_read_as_what_they_are(shared_data: Path) -> None:
    horiba = spectra.read(shared_data / ARCADIA / "Horiba_MacroRAM/acetonitrile.txt")[0]
    assert (horiba.excitation_nm, horiba.technique, horiba.x_unit) == (
        785.0, Technique.RAMAN, XUnit.RAMAN_SHIFT)
    assert (horiba.acquisition.integration_time_ms, horiba.acquisition.accumulations) == (
        10_000.0, 5)
    qontor = spectra.read(shared_data / ARCADIA / "Renishaw_Qontor/acetonitrile_5x.txt")[0]
    assert qontor.extra["csv.axis"] == "decreasing in file, reversed on reading"
    assert len(qontor) == 3179
    # OpenRAMAN exports raw detector pixels (the neon file calibrates them): a pixel axis
    for name in ("acetonitrile_n_n_n_solid_10000_0_5.csv", "neon_n_n_n_solid_10000_0_5.csv"):
        (raw,) = spectra.read(shared_data / ARCADIA / "OpenRAMAN" / name)
        assert raw.x_unit is XUnit.PIXEL
        np.testing.assert_array_equal(raw.x, np.arange(2048.0))
    # the WP-532X file calls its first column "Pixel" but holds Raman shifts (-601.3 to
    # 4764.8): not pixel indices, so no unit is claimed
    wp532 = spectra.read(shared_data / ARCADIA / "Wasatch_WP532X/acetonitrile.csv")[0]
    assert wp532.x_unit is XUnit.OTHER
    assert "not pixel indices" in wp532.extra["csv.x_unit"]


# -- ENLIGHTEN layouts, built here -----------------------------------------------------------

_ENLIGHTEN_HEAD = (
    "ENLIGHTEN Version,4.1.6\nSerial Number,WP-00001\nModel,WP-785X\nScan Averaging,3\n"
    "Integration Time,250\nLaser Power mW,50.0\nLaser Wavelength,785.0\nTechnique,Raman\n"
    'Note,"a note, with a comma"\n\n'
)


def test_enlighten_na_inside_the_data_is_dropped_and_recorded(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text(_ENLIGHTEN_HEAD + "Pixel,Wavelength,Wavenumber,Processed,Raw\n"
                 "0,800.0,238.9,NA,5\n1,800.1,240.5,10.0,6\n2,800.2,NA,11.0,7\n"
                 "3,800.3,243.6,12.0,8\n")
    (s,) = text.read(p)
    assert s.x.tolist() == [240.5, 243.6] and s.y.tolist() == [10.0, 12.0]
    assert s.provenance[0].params["rows_dropped"] == 2
    assert s.extra["header.Note"] == "a note, with a comma"
    assert s.acquisition.accumulations == 3 and s.acquisition.integration_time_ms == 250.0


def test_enlighten_without_wavenumbers_falls_back_to_wavelength(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text(_ENLIGHTEN_HEAD + "Pixel,Wavelength,Raw\n0,800.0,5\n1,800.1,6\n2,800.2,7\n")
    (s,) = text.read(p)
    assert s.x_unit is XUnit.WAVELENGTH_NM and s.y.tolist() == [5.0, 6.0, 7.0]
    assert s.extra["csv.y_label"] == "Raw" and not s.provenance


def test_enlighten_export_of_several_measurements_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text("ENLIGHTEN Version,4.1.6\nSerial Number,,,WP-1,,WP-1\n\n"
                 "Pixel,Wavelength,Wavenumber,Processed,,Processed\n0,800,238,1,,2\n")
    with pytest.raises(UnsupportedContentError, match="several measurements") as err:
        text.read(p)
    assert (err.value.line, err.value.field) == (2, "Serial Number")


def test_enlighten_without_a_column_row_is_refused(tmp_path: Path) -> None:
    p = tmp_path / "e.csv"
    p.write_text(_ENLIGHTEN_HEAD + "0,800.0,238.9,1\n1,800.1,240.5,2\n")
    with pytest.raises(FormatError, match="column row") as err:
        text.read(p)
    assert err.value.field == "columns"


@given(
    body=st.text(alphabet="ab,1 \r\n\u00e9", max_size=300),
    read_bytes=st.integers(1, 9),
    encoding=st.sampled_from(["utf-8", "utf-16-le", "latin-1"]),
)
def test_streamed_lines_are_the_whole_file_split(
    tmp_path_factory: pytest.TempPathFactory, body: str, read_bytes: int, encoding: str
) -> None:
    """Whatever the read size, a CRLF or a character cut between two reads is rejoined."""
    import re

    from spectra.formats import _text_stream

    p = tmp_path_factory.mktemp("lines") / "l.txt"
    p.write_bytes(body.encode(encoding))
    expected = re.split(r"\r\n|\r|\n", body)
    if expected[-1] == "":
        expected.pop()
    got = list(_text_stream.lines(p, encoding, 0, read_bytes=read_bytes))
    assert [t for _, t in got] == expected
    assert [n for n, _ in got] == list(range(1, len(expected) + 1))


def test_latin1_byte_after_the_first_reads_restarts_as_latin1(tmp_path: Path) -> None:
    rows = "".join(f"{i},{i % 7}\n" for i in range(200_000))  # about 2 MB of UTF-8 rows
    p = tmp_path / "late.txt"
    p.write_bytes(rows.encode() + b"# operator: J\xb5rgen\n")
    (s,) = text.read(p)
    assert len(s) == 200_000 and s.y[-1] == 199_999 % 7
    # the comment after the data is not metadata, but it had to be decoded
    assert "csv.flavour" in s.extra


def test_extreme_axis_reads_without_numpy_warnings(tmp_path: Path) -> None:
    import warnings

    p = tmp_path / "wide.csv"
    p.write_text("-1e308,1\n1e308,2\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # np.diff overflows to inf: still increasing, no leak
        (s,) = text.read(p)
    assert s.x.tolist() == [-1e308, 1e308]


