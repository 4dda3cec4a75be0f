"""JCAMP-DX reader and writer: every real file in ../shared, bad input, and the write/read trip.

The real files are read in place (``shared_data`` fixture). Every JCAMP-DX file there must
either be read, and then agree with its own header, or be refused with the error listed in
:data:`REFUSED` (the reasons are in ``docs/formats/jcamp.md``).
"""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spectra import Spectrum
from spectra._errors import (
    FormatError,
    ParameterWarning,
    UnsupportedContentError,
    UnsupportedFormatError,
)
from spectra._units import Technique, XUnit, YUnit
from spectra.formats import jcamp
from spectra.formats import read as read_any
from spectra.formats import sniff as sniff_path
from spectra.formats._jcamp_parse import MAX_POINTS, MAX_POINTS_PER_BYTE, normalize_label

JCAMP_DIR = "formats/jcamp"

# file → (error class, field named in the error, line named in the error)
REFUSED: dict[str, tuple[type[FormatError], str, int]] = {
    # hand-shortened demo file: LASTX was not updated, so the data lines follow DELTAX and
    # contradict FIRSTX/LASTX/NPOINTS
    "instrument_exports/readJDX_MiniDIFDUP.JDX": (FormatError, "XYDATA", 22),
    # NTUPLES (complex NMR spectra, FIDs, a GC-MS series): deliberately not read
    "nzhagen_jcamp/jcamp-dx.org_official_test_data/BRUKNTUP.DX": (
        UnsupportedContentError, "NTUPLES", 246),
    "nzhagen_jcamp/jcamp-dx.org_official_test_data/TESTFID.DX": (
        UnsupportedContentError, "NTUPLES", 19),
    "nzhagen_jcamp/jcamp-dx.org_official_test_data/TESTNTUP.DX": (
        UnsupportedContentError, "NTUPLES", 19),
    "nzhagen_jcamp/jcamp-dx.org_official_test_data/ISAS_MS3.DX": (
        UnsupportedContentError, "NTUPLES", 11),
    **{f"nzhagen_jcamp/lancashire_test_data/o{i:02d}.jdx": (
        UnsupportedContentError, "NTUPLES", 15) for i in range(6, 11)},
    **{f"nzhagen_jcamp/lancashire_test_data/ofid{i}.jdx": (
        UnsupportedContentError, "NTUPLES", 11) for i in range(1, 5)},
    # the test suite's directory listing, not a JCAMP-DX file
    "nzhagen_jcamp/jcamp-dx.org_official_test_data/DX-DIR.TXT": (
        UnsupportedFormatError, "TITLE", 1),
    # a structure block and a peak-assignment block: no spectrum
    "nzhagen_jcamp/jcamp-dx.org_official_test_data/ISAS_CDX.DX": (
        UnsupportedContentError, "XYDATA", 1),
    # another file's SQZ lines spliced into an XY list at line 35
    "nzhagen_jcamp/lancashire_test_data/xyinc2.jdx": (FormatError, "XYDATA", 35),
    # an excerpt from the JCAMP-DX 2001 paper: data lines elided, the Y-check sees the gap
    "nzhagen_jcamp/test/jcamp2001_example.txt": (FormatError, "XYDATA", 51),
}

# files read with a ParameterWarning, and what the warning is about
NIST_LAG = "one point spacing"
WARNED: dict[str, tuple[str, ...]] = {
    **{f"nzhagen_jcamp/infrared_spectra/{name}.jdx": (NIST_LAG,) for name in (
        "1,1,1-trichloroethane", "1,1-dichloroethene", "1,2-dimethylbenzene", "1,3-butadiene",
        "1,3-dimethylbenzene", "1,4-dimethylbenzene", "1-butanol", "2-butanone", "acetone",
        "acetonitrile", "acrylonitrile", "carbon tetrafluoride", "chloroform",
        "dichlorodifluoromethane", "dichloromethane", "ethyl acetate", "ethyl acrylate",
        "ethyl benzene", "ethyl tert-butyl ether", "ethylene oxide", "hexafluoroethane",
        "isopropyl alcohol", "methyl bromide", "methyl tert-butyl ether",
        "penta fluoroethane", "tetrachloroethene", "vinyl acetate")},
    "nzhagen_jcamp/infrared_spectra/sulphur hexafluoride.jdx": (NIST_LAG, "DELTAX="),
    "nzhagen_jcamp/jcamp-dx.org_official_test_data/IMS_TEST1.DX": ("FIRSTY: expected a number",),
    "nzhagen_jcamp/jcamp-dx.org_official_test_data/SPECFILE.DX": ("DIF Y-check failed",),
    "nzhagen_jcamp/lancashire_test_data/blckpac1.jdx": ("FIRSTY=",) * 5,
    "nzhagen_jcamp/lancashire_test_data/fixdec2.jdx": ("DELTAX=",),
    "nzhagen_jcamp/lancashire_test_data/jtpolysd.jdx": ("FIRSTY=",),
    "nzhagen_jcamp/uvvis_spectra/toluene.jdx": ("repeating the previous point exactly",),
}


def _jcamp_files(root: Path) -> list[Path]:
    return sorted(p for p in (root / JCAMP_DIR).rglob("*")
                  if p.is_file() and p.name != "INDEX.csv")


def _read_quiet(path: Path) -> list[Spectrum]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParameterWarning)
        return jcamp.read(path)


def _header(s: Spectrum) -> dict[str, str]:
    return {normalize_label(k): v for k, v in s.extra.items()}


def _in_file_order(s: Spectrum) -> np.ndarray:
    return s.x[::-1] if s.extra.get("x_order_in_file") == "decreasing" else s.x


# -- every real file ----------------------------------------------------------------------------


class Outcome:
    """What reading one file gave: spectra and warnings, or the error."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.spectra: list[Spectrum] = []
        self.error: FormatError | None = None
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                self.spectra = jcamp.read(path)
            except FormatError as exc:
                self.error = exc
        self.warnings = [str(w.message) for w in caught
                         if issubclass(w.category, ParameterWarning)]
        self.other_warnings = [w for w in caught
                               if not issubclass(w.category, ParameterWarning)]


@pytest.fixture(scope="module")
def tree(shared_data: Path) -> dict[str, Outcome]:
    """Every JCAMP-DX file in ../shared read once, by path relative to formats/jcamp."""
    return {str(p.relative_to(shared_data / JCAMP_DIR)): Outcome(p)
            for p in _jcamp_files(shared_data)}


def test_every_shared_jcamp_file_is_read_or_refused_as_documented(
    tree: dict[str, Outcome],
) -> None:
    assert len(tree) == 174, "the shared JCAMP-DX set changed; review REFUSED/WARNED"
    assert set(REFUSED) <= set(tree) and set(WARNED) <= set(tree)
    n_read = n_spectra = 0
    for rel, out in tree.items():
        assert not out.other_warnings, (rel, out.other_warnings)
        if rel in REFUSED:
            cls, field, line = REFUSED[rel]
            assert type(out.error) is cls, (rel, out.error)
            assert out.error.path == str(out.path), rel
            assert (out.error.field, out.error.line) == (field, line), (rel, str(out.error))
            continue
        assert out.error is None, (rel, str(out.error))
        want = WARNED.get(rel, ())
        assert len(out.warnings) == len(want), (rel, out.warnings)
        for text in want:
            assert any(text in g for g in out.warnings), (rel, text, out.warnings)
        assert out.spectra, rel
        n_read += 1
        n_spectra += len(out.spectra)
        for k, s in enumerate(out.spectra):
            assert s.source == (f"{out.path}#{k}" if len(out.spectra) > 1 else str(out.path))
    assert n_read == 174 - len(REFUSED) == 156
    assert n_spectra > n_read  # LINK and concatenated files give several


def test_read_files_agree_with_their_own_header(tree: dict[str, Outcome]) -> None:
    checked = 0
    for rel, out in tree.items():
        for s in out.spectra:
            h = _header(s)
            xf = _in_file_order(s)
            if "NPOINTS" in h and "jcamp_duplicates_dropped" not in s.extra:
                assert len(s) == int(float(h["NPOINTS"])), rel
            spacing = float(np.min(np.diff(s.x))) if len(s) > 1 else 0.0
            for key, end in (("FIRSTX", xf[0]), ("LASTX", xf[-1])):
                if key not in h:
                    continue
                declared = float(h[key])
                tol = max(0.5 * spacing, 1e-6 * abs(declared), 1e-9)
                if "jcamp_peak_table" in s.extra:  # peaks lie inside FIRSTX..LASTX
                    lo, hi = sorted((float(h.get("FIRSTX", s.x[0])),
                                     float(h.get("LASTX", s.x[-1]))))
                    assert lo - tol <= s.x[0] and s.x[-1] <= hi + tol, rel
                else:
                    assert abs(end - declared) <= tol, (rel, key, end, declared)
            if "XYDATA" in h and "DELTAX" in h and len(s) > 1 and \
                    "jcamp_deltax_conflict" not in s.extra:
                assert math.isclose(np.diff(xf).mean(), float(h["DELTAX"]), rel_tol=1e-3), rel
            checked += 1
    assert checked > 300  # CH4_CI.jdx alone holds 145 spectra


def _compression_set(shared_data: Path, sub: str) -> dict[str, Spectrum]:
    d = shared_data / JCAMP_DIR / "cheminfo_jcampconverter_compression" / sub
    out = {p.stem.removeprefix("jcamp-"): jcamp.read(p)[0] for p in sorted(d.glob("*.dx"))}
    assert sorted(out) == ["difdup", "fix", "packed", "squeezed"]
    return out


def test_compression_set_decodes_to_identical_arrays(shared_data: Path) -> None:
    got = _compression_set(shared_data, "compression")
    fix = got["fix"]
    assert len(fix) == 16384
    assert fix.extra["jcamp_compression"] == "AFFN+PAC"
    assert got["difdup"].extra["jcamp_compression"] == "DIF+DUP+SQZ"
    assert int(got["difdup"].extra["jcamp_y_checks"]) > 1000
    for name, s in got.items():
        assert np.array_equal(s.x, fix.x), name
        assert np.array_equal(s.y, fix.y), name
        assert s.content_hash == fix.content_hash, name


def test_small_compression_set_shares_the_same_leading_points(shared_data: Path) -> None:
    # each small file holds the first two data lines of its own form, so the point counts
    # differ (8, 30, 30, 38) but the points are the same ones, in file order
    got = _compression_set(shared_data, "compression-small")
    assert {k: len(s) for k, s in got.items()} == {
        "difdup": 30, "fix": 8, "packed": 30, "squeezed": 38}
    n = min(len(s) for s in got.values())
    ref_y = got["squeezed"].y[::-1][:n]
    ref_x = got["squeezed"].x[::-1][:n]
    for name, s in got.items():
        assert s.extra["x_order_in_file"] == "decreasing"
        assert np.array_equal(s.y[::-1][:n], ref_y), name
        assert np.allclose(s.x[::-1][:n], ref_x, rtol=0, atol=1e-9), name
    assert ref_y[:4].tolist() == [-10247.0, 1201.0, -5196.0, 7245.0]  # the AFFN file's text


def test_iupac_bruker_forms_agree(shared_data: Path) -> None:
    d = shared_data / JCAMP_DIR / "nzhagen_jcamp/jcamp-dx.org_official_test_data"
    affn = jcamp.read(d / "BRUKAFFN.DX")[0]
    assert affn.technique is Technique.NMR and affn.x_unit is XUnit.HZ
    for name in ("BRUKPAC.DX", "BRUKSQZ.DX", "TEST32.DX"):
        s = jcamp.read(d / name)[0]
        assert np.array_equal(s.y, affn.y), name
        assert np.allclose(s.x, affn.x, rtol=1e-12), name
    # the DIFDUP file carries a YFACTOR written with fewer digits: same integers, scale 1.5e-5
    dif = jcamp.read(d / "BRUKDIF.DX")[0]
    assert np.allclose(dif.y, affn.y, rtol=0, atol=2e-5 * np.abs(affn.y).max())
    assert int(dif.extra["jcamp_y_checks"]) > 100


def test_lancashire_nmr_in_five_forms_is_one_spectrum(shared_data: Path) -> None:
    d = shared_data / JCAMP_DIR / "nzhagen_jcamp/lancashire_test_data"
    spectra = {i: jcamp.read(d / f"o0{i}.jdx")[0] for i in range(1, 6)}
    forms = {s.extra["jcamp_compression"] for s in spectra.values()}
    assert {"AFFN+PAC", "SQZ", "DIF+DUP+SQZ"} <= forms
    for i, s in spectra.items():
        assert s.content_hash == spectra[1].content_hash, i


def test_decreasing_and_increasing_files_give_the_same_spectrum(shared_data: Path) -> None:
    d = shared_data / JCAMP_DIR / "nzhagen_jcamp/lancashire_test_data"
    dec, inc = jcamp.read(d / "fixdec3.jdx")[0], jcamp.read(d / "fixinc3.jdx")[0]
    assert dec.extra["x_order_in_file"] == "decreasing"
    assert "x_order_in_file" not in inc.extra
    assert np.all(np.diff(dec.x) > 0)
    assert dec.content_hash == inc.content_hash


def test_link_file_yields_each_block(shared_data: Path) -> None:
    path = shared_data / JCAMP_DIR / "nzhagen_jcamp/lancashire_test_data/compound.jdx"
    spectra = jcamp.read(path)
    assert len(spectra) == 5
    assert [s.title for s in spectra][:2] == ["block 1", "block 2"]
    assert [s.source for s in spectra] == [f"{path}#{k}" for k in range(5)]
    assert all(s.extra["jcamp_link_title"].startswith("Compound file") for s in spectra)
    assert all(s.technique is Technique.INFRARED for s in spectra)


def test_mapping_of_real_files(shared_data: Path) -> None:
    base = shared_data / JCAMP_DIR
    raman = _read_quiet(base / "instrument_exports/openspecy_throws_error_raman_1000002.jdx")[0]
    assert (raman.technique, raman.x_unit) == (Technique.RAMAN, XUnit.RAMAN_SHIFT)
    pnnl_file = "instrument_exports/openspecy_fitr_nitrocellulose_PNNL_BrukerIRcube.jdx"
    pnnl = jcamp.read(base / pnnl_file)[0]
    assert pnnl.extra["encoding"] == "latin-1"  # non-UTF-8 bytes in the header
    assert (pnnl.y_unit, pnnl.x_unit) == (YUnit.REFLECTANCE, XUnit.WAVENUMBER)
    uv = jcamp.read(base / "nzhagen_jcamp/lancashire_test_data/dupinc1.jdx")[0]
    assert (uv.technique, uv.x_unit, uv.y_unit) == (
        Technique.UV_VIS, XUnit.WAVELENGTH_NM, YUnit.ABSORBANCE)
    ms = jcamp.read(base / "nzhagen_jcamp/mass_spectra/118-96-7-Mass.jdx")[0]
    assert (ms.technique, ms.x_unit) == (Technique.MASS, XUnit.MZ)
    nmr = jcamp.read(base / "nzhagen_jcamp/test/2Methyl1Propanol.jdx")[0]
    assert (nmr.technique, nmr.x_unit) == (Technique.NMR, XUnit.PPM)
    # TRANSMITTANCE: fraction when no ordinate exceeds 1.5, else percent
    ir = base / "nzhagen_jcamp/infrared_spectra"
    frac = jcamp.read(ir / "benzene.jdx")[0]
    assert frac.y_unit is YUnit.TRANSMITTANCE and frac.y.max() <= 1.5
    pct = jcamp.read(base / "nzhagen_jcamp/jcamp-dx.org_official_test_data/BRUKER1.JCM")[0]
    assert pct.y_unit is YUnit.TRANSMITTANCE_PERCENT and pct.y.max() > 1.5
    o06_free = jcamp.read(base / "nzhagen_jcamp/lancashire_test_data/o01.jdx")[0]
    assert o06_free.acquisition.instrument_model


def test_whole_tree_reads_through_the_format_dispatch(shared_data: Path) -> None:
    path = shared_data / JCAMP_DIR / "nzhagen_jcamp/raman_spectra/tannic_acid.jdx"
    assert sniff_path(path) == "jcamp"
    (s,) = read_any(path)
    assert s.technique is Technique.RAMAN and len(s) == 1949
    rruff = next((shared_data / "raman").rglob("*.txt"))
    assert not jcamp.sniff(rruff.read_bytes()[:4096])  # ##NAMES=… text files are not JCAMP


def test_agrees_with_the_pypi_jcamp_reader_where_it_succeeds(tree: dict[str, Outcome]) -> None:
    other = pytest.importorskip("jcamp", reason="the PyPI 'jcamp' package is a test-only check")
    compared = 0
    for rel, out in tree.items():
        if len(out.spectra) != 1 or "jcamp_duplicates_dropped" in out.spectra[0].extra:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                theirs = other.readfile(str(out.path))
            except Exception:  # their failures are what the INDEX hints record
                continue
        x = np.asarray(theirs.get("x", []), float)
        y = np.asarray(theirs.get("y", []), float)
        s = out.spectra[0]
        if x.size != y.size or x.size != len(s):
            continue  # their reader lost points (BRUKER2.JCM, dupinc2.jdx, o05.jdx, …)
        if x.size > 1 and x[0] > x[-1]:
            x, y = x[::-1], y[::-1]
        assert np.allclose(y, s.y, rtol=1e-9, atol=1e-12 * np.abs(s.y).max()), rel
        assert np.allclose(x, s.x, rtol=1e-6), rel
        compared += 1
    assert compared >= 120


# -- bad input ----------------------------------------------------------------------------------

GOOD = """##TITLE=demo
##JCAMP-DX=4.24
##DATA TYPE=INFRARED SPECTRUM
##XUNITS=1/CM
##YUNITS=ABSORBANCE
##XFACTOR=1.0
##YFACTOR=0.001
##FIRSTX=1000
##LASTX=1011
##NPOINTS=12
##FIRSTY=0.1
##XYDATA=(X++(Y..Y))
1000A00J0J0J0J0J0
1005A50J0J0J0J0J0J0
##END=
"""


def _write(tmp_path: Path, text: str | bytes, name: str = "f.jdx") -> Path:
    p = tmp_path / name
    if isinstance(text, str):
        p.write_text(text, encoding="utf-8", newline="")
    else:
        p.write_bytes(text)
    return p


def test_small_difdup_fixture_decodes(tmp_path: Path) -> None:
    (s,) = jcamp.read(_write(tmp_path, GOOD))
    assert s.x.tolist() == list(range(1000, 1012))
    assert np.allclose(s.y, np.arange(100, 220, 10) / 1000)
    assert s.extra["jcamp_compression"] == "DIF+SQZ"
    assert s.extra["jcamp_y_checks"] == "1"


def _err(tmp_path: Path, text: str | bytes, cls: type[FormatError] = FormatError) -> FormatError:
    p = _write(tmp_path, text)
    with pytest.raises(cls) as err:
        jcamp.read(p)
    assert err.value.path == str(p)
    return err.value


def test_truncated_file_is_refused_with_line(tmp_path: Path) -> None:
    e = _err(tmp_path, GOOD[: GOOD.index("1005A")])
    assert (e.field, e.line) == ("END", 14) and "truncated" in str(e)


def test_missing_end(tmp_path: Path) -> None:
    e = _err(tmp_path, GOOD.replace("##END=\n", ""))
    assert e.field == "END" and "missing ##END" in str(e)


def test_corrupted_dif_line_fails_the_y_check(tmp_path: Path) -> None:
    # the second line must open with the first line's last ordinate (150); one digit changed
    e = _err(tmp_path, GOOD.replace("1005A50", "1005A40"))
    assert (e.field, e.line) == ("XYDATA", 14) and "Y-check" in str(e)
    # a DIF digit garbled inside a line shifts every later ordinate: the next check sees it
    text = GOOD.replace("1000A00J0J0J0J0J0", "1000A00J0J0K0J0J0")
    e = _err(tmp_path, text)
    assert (e.field, e.line) == ("XYDATA", 14) and "Y-check" in str(e)
    # a line after a DIF line that opens with a DIF (its Y-check value lost) is refused too
    e = _err(tmp_path, GOOD.replace("1005A50J0", "1005J0J0"))
    assert (e.field, e.line) == ("XYDATA", 14) and "Y-check value" in str(e)


def test_lost_affn_line_fails_the_x_check(tmp_path: Path) -> None:
    lines = ["##TITLE=t", "##XUNITS=1/CM", "##YUNITS=ABSORBANCE", "##FIRSTX=0", "##LASTX=29",
             "##NPOINTS=30", "##XYDATA=(X++(Y..Y))"]
    data = [f"{i} " + " ".join(["1"] * 5) for i in range(0, 30, 5)]
    good = "\n".join([*lines, *data, "##END="]) + "\n"
    assert len(jcamp.read(_write(tmp_path, good))[0]) == 30
    bad = "\n".join([*lines, *data[:2], *data[3:], "##END="]) + "\n"
    e = _err(tmp_path, bad)
    assert e.field in ("NPOINTS", "XYDATA")
    # with NPOINTS matching (a line duplicated in place of the lost one) the X-check catches it
    dup = "\n".join([*lines, *data[:2], data[1], *data[3:], "##END="]) + "\n"
    e = _err(tmp_path, dup)
    assert (e.field, e.line) == ("XYDATA", 10) and "X-check" in str(e)


def _refused_with_peak(tmp_path: Path, text: str) -> tuple[FormatError, int]:
    """The error reading ``text`` gives, and the peak traced allocation on the way to it."""
    import tracemalloc

    p = _write(tmp_path, text)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError) as err:
            jcamp.read(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return err.value, peak


def test_huge_npoints_refused_before_allocating(tmp_path: Path) -> None:
    e, peak = _refused_with_peak(tmp_path, GOOD.replace("##NPOINTS=12", f"##NPOINTS={10**12}"))
    assert (e.field, e.line) == ("NPOINTS", 10)
    assert "refused before" in str(e)
    assert peak < 5_000_000  # nothing near 10**12 points was allocated


def test_dup_bomb_is_stopped(tmp_path: Path) -> None:
    # 'Z99999999' asks to repeat a value 899,999,999 times: stopped at the cap (16 points per
    # byte of the file, at most MAX_POINTS), not expanded
    text = GOOD.replace("##NPOINTS=12\n", "").replace(
        "1000A00J0J0J0J0J0\n1005A50J0J0J0J0J0J0", "1000A00Z99999999")
    e = _err(tmp_path, text)
    cap = min(MAX_POINTS, MAX_POINTS_PER_BYTE * len(text.encode()))
    assert e.field == "XYDATA" and f"expands past {cap} points" in str(e)


def test_garbage_bytes(tmp_path: Path) -> None:
    e = _err(tmp_path, GOOD.replace("##FIRSTY=0.1", "##FIRSTY=0.1\x00\x01\x02"))
    assert e.line == 11 and "control character" in str(e)
    e = _err(tmp_path, GOOD.replace("1005A50", "1005A5#0"))
    assert (e.field, e.line) == ("XYDATA", 14) and "'#'" in str(e)


def test_wrong_encodings(tmp_path: Path) -> None:
    # Latin-1 header bytes are read (as the real PNNL export needs) and the fallback recorded
    latin = GOOD.replace("##TITLE=demo", "##TITLE=Probe für Säure").encode("latin-1")
    (s,) = jcamp.read(_write(tmp_path, latin))
    assert s.title == "Probe für Säure" and s.extra["encoding"] == "latin-1"
    # UTF-16 is not a JCAMP-DX encoding: NUL bytes everywhere, refused with a line
    e = _err(tmp_path, GOOD.encode("utf-16"))
    assert e.line == 1 and "control character" in str(e)


def test_not_jcamp_and_empty(tmp_path: Path) -> None:
    _err(tmp_path, "x,y\n1,2\n", UnsupportedFormatError)
    _err(tmp_path, b"")
    e = _err(tmp_path, "##TITLE=t\n##XYDATA=(X++(Y..Y))\n##END=\n")
    assert e.field == "XYDATA" and "no data points" in str(e)


def test_bad_header_number_and_npoints_mismatch(tmp_path: Path) -> None:
    e = _err(tmp_path, GOOD.replace("##FIRSTX=1000", "##FIRSTX=one thousand"))
    assert (e.field, e.line) == ("FIRSTX", 8)
    e = _err(tmp_path, GOOD.replace("##NPOINTS=12", "##NPOINTS=13"))
    assert (e.field, e.line) == ("NPOINTS", 10)
    e = _err(tmp_path, GOOD.replace("##YFACTOR=0.001", "##YFACTOR=0.01"))
    assert (e.field, e.line) == ("FIRSTY", 11)  # no MAXY/MINY to blame FIRSTY alone


def test_link_with_missing_block_is_refused(tmp_path: Path) -> None:
    inner = GOOD.replace("##TITLE=demo", "##TITLE=inner")
    text = "##TITLE=link\n##DATA TYPE=LINK\n##BLOCKS=2\n" + inner + "##END=\n"
    e = _err(tmp_path, text)
    assert (e.field, e.line) == ("BLOCKS", 3)
    ok = "##TITLE=link\n##DATA TYPE=LINK\n##BLOCKS=2\n" + inner + inner + "##END=\n"
    assert len(jcamp.read(_write(tmp_path, ok))) == 2


def test_data_after_dos_eof_is_refused(tmp_path: Path) -> None:
    (s,) = jcamp.read(_write(tmp_path, GOOD + "\x1a"))
    assert len(s) == 12
    e = _err(tmp_path, GOOD + "\x1a##TITLE=x\n")
    assert "0x1A" in str(e)


# -- units, technique, metadata from labels ---------------------------------------------------


def _doc(tmp_path: Path, **labels: str) -> Spectrum:
    head = "".join(f"##{k.replace('_', ' ')}={v}\n" for k, v in labels.items())
    text = ("##TITLE=t\n" + head + "##FIRSTX=100\n##LASTX=103\n##NPOINTS=4\n"
            "##XYDATA=(X++(Y..Y))\n100 0.5 0.6 0.7 0.8\n##END=\n")
    return jcamp.read(_write(tmp_path, text))[0]


def test_units_technique_and_metadata_from_labels(tmp_path: Path) -> None:
    s = _doc(tmp_path, DATA_TYPE="RAMAN SPECTRUM", XUNITS="1/CM", YUNITS="COUNTS",
             **{"$LASER WAVELENGTH": "785.0 nm"})
    assert (s.technique, s.x_unit, s.y_unit, s.excitation_nm) == (
        Technique.RAMAN, XUnit.RAMAN_SHIFT, YUnit.COUNTS, 785.0)
    s = _doc(tmp_path, DATA_TYPE="INFRARED SPECTRUM", XUNITS="1/CM", YUNITS="ABSORBANCE",
             SAMPLING_PROCEDURE="ATR, diamond crystal")
    assert (s.technique, s.x_unit) == (Technique.FTIR_ATR, XUnit.WAVENUMBER)
    s = _doc(tmp_path, DATA_TYPE="INFRARED SPECTRUM", XUNITS="MICROMETERS",
             YUNITS="TRANSMITTANCE")
    assert (s.technique, s.x_unit, s.y_unit) == (
        Technique.INFRARED, XUnit.WAVELENGTH_UM, YUnit.TRANSMITTANCE)
    s = _doc(tmp_path, DATA_TYPE="UV/VIS SPECTRUM", XUNITS="NANOMETERS", YUNITS="%T")
    assert (s.technique, s.x_unit, s.y_unit) == (
        Technique.UV_VIS, XUnit.WAVELENGTH_NM, YUnit.TRANSMITTANCE_PERCENT)
    s = _doc(tmp_path, **{"SPECTROMETER/DATA SYSTEM": "Acme R-1"},
             LONG_DATE="2024/05/06 07:08:09 +0200", XUNITS="WEIRD")
    assert s.acquisition.instrument_model == "Acme R-1"
    assert s.acquisition.acquired_at is not None
    assert s.acquisition.acquired_at.isoformat() == "2024-05-06T07:08:09+02:00"
    assert (s.x_unit, s.y_unit, s.technique) == (XUnit.OTHER, YUnit.OTHER, Technique.OTHER)
    assert s.extra["XUNITS"] == "WEIRD" and s.extra["SPECTROMETER/DATA SYSTEM"] == "Acme R-1"
    s = _doc(tmp_path, LONG_DATE="2024/05/06 07:08:09")  # no zone: not an instant, kept raw
    assert s.acquisition.acquired_at is None and s.extra["LONG DATE"] == "2024/05/06 07:08:09"


def test_sniff() -> None:
    assert jcamp.sniff(b"##TITLE= x\r\n##JCAMP-DX=5.01")
    assert jcamp.sniff(b"\xef\xbb\xbf  ##title=x")
    assert not jcamp.sniff(b"##NAMES=Calcite\n##RRUFFID=R040070\n")
    assert not jcamp.sniff(b"\x00\x01binary")


def test_zero_factor_and_bad_interdict_labels_are_refused(tmp_path: Path) -> None:
    e = _err(tmp_path, GOOD.replace("##YFACTOR=0.001", "##YFACTOR=0"))
    assert (e.field, e.line) == ("YFACTOR", 7)
    e = _err(tmp_path, GOOD.replace("##XUNITS=1/CM", "##$INTERDICT ACQUISITION={\"operator\":"))
    assert (e.field, e.line) == ("$INTERDICT ACQUISITION", 4) and "JSON" in str(e)
    e = _err(tmp_path, GOOD.replace("##XUNITS=1/CM", "##$INTERDICT ACQUISITION={\"laser\":1}"))
    assert (e.field, e.line) == ("$INTERDICT ACQUISITION", 4)
    e = _err(tmp_path, GOOD.replace("##XUNITS=1/CM", '##$INTERDICT TECHNIQUE="sonar"'))
    assert (e.field, e.line) == ("$INTERDICT TECHNIQUE", 4)


LINK_DIFDUP = (
    "##TITLE=link\n##DATA TYPE=LINK\n##BLOCKS=3\n" + GOOD
    + GOOD.replace("##TITLE=demo", "##TITLE=two").replace(
        "1000A00J0J0J0J0J0\n1005A50J0J0J0J0J0J0",
        "1000A00TJ0T\n1003A20J0U\n1006A50%J0J0K0\n1010A90@")
    + "##TITLE=peaks\n##DATA TYPE=MASS SPECTRUM\n##XUNITS=M/Z\n##NPOINTS=3\n"
    "##PEAK TABLE=(XY..XY)\n14,30 27,180\n31,999\n##END=\n##END=\n"
)


def test_link_fixture_with_dup_of_dif(tmp_path: Path) -> None:
    one, two, peaks = jcamp.read(_write(tmp_path, LINK_DIFDUP))
    assert two.y.tolist() == pytest.approx(
        [0.1, 0.1, 0.11, 0.12, 0.13, 0.14, 0.15, 0.15, 0.16, 0.17, 0.19, 0.0])
    assert two.extra["jcamp_y_checks"] == "3"
    assert two.extra["jcamp_compression"] == "DIF+DUP+SQZ"
    assert np.array_equal(two.x, one.x)
    assert peaks.x.tolist() == [14.0, 27.0, 31.0] and peaks.technique is Technique.MASS
    assert [s.source.rsplit("#", 1)[1] for s in (one, two, peaks)] == ["0", "1", "2"]


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_mutated_files_read_or_raise_format_error(tmp_path_factory: pytest.TempPathFactory,
                                                  data: st.DataObject) -> None:
    """Any byte-level damage gives spectra or a FormatError: never another exception."""
    raw = bytearray(data.draw(st.sampled_from([GOOD, LINK_DIFDUP])).encode())
    for _ in range(data.draw(st.integers(1, 4))):
        i = data.draw(st.integers(0, len(raw) - 1))
        op = data.draw(st.sampled_from(["replace", "delete", "insert", "truncate"]))
        b = data.draw(st.integers(0, 255))
        if op == "replace":
            raw[i] = b
        elif op == "delete":
            del raw[i]
        elif op == "insert":
            raw.insert(i, b)
        else:
            del raw[i:]
        if not raw:
            raw = bytearray(b"#")
    p = tmp_path_factory.mktemp("mut") / "m.jdx"
    p.write_bytes(bytes(raw))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ParameterWarning)
        try:
            got = jcamp.read(p)
        except FormatError as exc:
            assert exc.path == str(p)
            return
    assert got and all(isinstance(s, Spectrum) for s in got)


# -- hostile input: bounded time and memory, typed errors ---------------------------------------


@pytest.mark.parametrize("junk", [",", " , ", ";", ",,;,"])
def test_data_line_of_separators_only_is_a_format_error(tmp_path: Path, junk: str) -> None:
    affn = GOOD.replace("1000A00J0J0J0J0J0\n1005A50J0J0J0J0J0J0",
                        "1000 100 110 120 130 140\n1005 150 160 170 180 190 200 210")
    for text in (affn, GOOD):
        e = _err(tmp_path, text.replace("##XYDATA=(X++(Y..Y))\n",
                                        f"##XYDATA=(X++(Y..Y))\n{junk}\n"))
        assert (e.field, e.line) == ("XYDATA", 13)
        assert "X value" in str(e)


def _opcodes(fn: object, *args: object) -> int:
    """Python bytecode instructions executed by ``fn(*args)``: a deterministic measure of work
    (no clock), which grows with n for a linear algorithm and with n² for a quadratic one."""
    import sys

    count = 0

    def tracer(frame: object, event: str, arg: object) -> object:
        nonlocal count
        frame.f_trace_opcodes = True  # type: ignore[attr-defined]
        if event == "opcode":
            count += 1
        return tracer

    old = sys.gettrace()
    sys.settrace(tracer)  # type: ignore[arg-type]
    try:
        fn(*args)  # type: ignore[operator]
    finally:
        sys.settrace(old)
    return count


def _repeated_labels(n: int) -> str:
    labels = "".join(f"##$REPEATED=value {i}\n" for i in range(n))
    return GOOD.replace("##XUNITS=1/CM\n", "##XUNITS=1/CM\n" + labels)


def test_repeated_labels_cost_linear_work(tmp_path: Path) -> None:
    """8,000 repeated labels took 8 s (each new copy searched all the earlier ones): the
    work must grow like n, so 4x the labels may cost at most ~4x the instructions."""
    small, large = (_write(tmp_path, _repeated_labels(n), f"r{n}.jdx") for n in (300, 1200))
    work_small = _opcodes(jcamp.read, small)
    work_large = _opcodes(jcamp.read, large)
    assert work_large < 5 * work_small, (work_small, work_large)


def test_repeated_labels_keep_every_value_in_order(tmp_path: Path) -> None:
    (s,) = jcamp.read(_write(tmp_path, _repeated_labels(20_000)))
    assert s.extra["$REPEATED"] == "value 0"
    assert s.extra["$REPEATED #2"] == "value 1"
    assert s.extra["$REPEATED #20000"] == "value 19999"
    # a label that already looks numbered is kept, and the numbering steps over it
    text = GOOD.replace("##XUNITS=1/CM\n", "##XUNITS=1/CM\n##A=0\n##A #3=x\n##A=1\n##A=2\n##A=3\n")
    (s,) = jcamp.read(_write(tmp_path, text))
    assert [(k, v) for k, v in s.extra.items() if k.startswith("A")] == [
        ("A", "0"), ("A #3", "x"), ("A #2", "1"), ("A #4", "2"), ("A #5", "3")]


def test_deeply_nested_blocks_are_refused_not_a_recursion_error(tmp_path: Path) -> None:
    depth = 3000
    text = "".join(f"##TITLE=b{i}\n" for i in range(depth)) + "##END=\n" * depth
    e = _err(tmp_path, text)
    assert e.field == "TITLE" and "nested" in str(e)


def test_declared_points_are_bounded_by_the_file_size(tmp_path: Path) -> None:
    # a 300-byte file that declares 4,000,000 points and a DUP that would expand to them
    text = GOOD.replace("##NPOINTS=12", "##NPOINTS=4000000").replace(
        "1000A00J0J0J0J0J0\n1005A50J0J0J0J0J0J0", "1000A00Z99999999")
    e, peak = _refused_with_peak(tmp_path, text)
    assert (e.field, e.line) == ("NPOINTS", 10)
    assert f"{len(text.encode())}-byte file" in str(e)
    assert peak < 2_000_000


@pytest.mark.parametrize("digits", [400, 5000])
def test_numbers_beyond_a_double_are_format_errors(tmp_path: Path, digits: int) -> None:
    # a 400-digit X overflowed int -> float (OverflowError); 5,000 digits passed Python's
    # int() limit (ValueError). Both must be refused as the non-finite values they are.
    huge = "9" * digits
    affn = GOOD.replace("1000A00J0J0J0J0J0\n1005A50J0J0J0J0J0J0",
                        "1000 100 110 120 130 140\n1005 150 160 170 180 190 200 210")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no numpy RuntimeWarning leaks either
        for text in (affn.replace("\n1005 ", f"\n{huge} "),
                     affn.replace(" 150 ", f" {huge} "),
                     GOOD.replace("1005A50", f"1005A{huge}")):
            e = _err(tmp_path, text)
            assert e.field in ("XYDATA", "FIRSTY")


def test_dif_sums_scaled_beyond_a_double_are_a_format_error(tmp_path: Path) -> None:
    big = "9" * 300  # the longest integer kept exact; summed and scaled by 1e10: past 1e308
    text = GOOD.replace("##YFACTOR=0.001", "##YFACTOR=1e10").replace("##FIRSTY=0.1\n", "")
    text = text.replace("1000A00J0J0J0J0J0\n1005A50J0J0J0J0J0J0",
                        f"1000A{big}" + f"J{big}" * 11)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        e = _err(tmp_path, text)
    assert e.field == "XYDATA" and "non-finite" in str(e)
