"""SPC reader: every real file in the shared tree, vendor text pairs, and bad input."""

from __future__ import annotations

import csv
import struct
import tracemalloc
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import spectra
from spectra import (
    FormatError,
    Technique,
    UnsupportedContentError,
    UnsupportedFormatError,
    XUnit,
    YUnit,
)
from spectra.formats import spc, text

SPC_DIR = Path("formats") / "spc"

# -- a byte-level SPC builder, written from the SPC.H layout, independent of the reader ------

TSPREC, TMULTI, TXYXYS, TXVALS = 0x01, 0x04, 0x40, 0x80


def _header(
    *, flags: int = 0, exper: int = 0, exp: int = -128, npts: int, first: float, last: float,
    nsub: int = 1, xtype: int = 13, ytype: int = 4, date: int = 0, memo: bytes = b"",
    logoff: int = 0, version: int = 0x4B,
) -> bytes:
    h = bytearray(512)
    struct.pack_into("<BBBb", h, 0, flags, version, exper, exp)
    struct.pack_into("<I", h, 4, npts)
    struct.pack_into("<dd", h, 8, first, last)
    struct.pack_into("<I", h, 24, nsub)
    struct.pack_into("<BBB", h, 28, xtype, ytype, 0)
    struct.pack_into("<I", h, 32, date)
    struct.pack_into("130s", h, 88, memo)
    struct.pack_into("<I", h, 248, logoff)
    return bytes(h)


def _sub(*, exp: int = -128, index: int = 0, z: float = 0.0, npts: int = 0) -> bytes:
    return struct.pack("<BbHfffIIf4s", 0, exp, index, z, 0.0, 0.0, npts, 0, 0.0, b"")


def _log(text_: str) -> bytes:
    body = text_.encode("latin-1") + b"\x00"
    return struct.pack("<IIIII44s", 64 + len(body), 64 + len(body), 64, 0, 0, b"") + body


def _float_file(
    ys: Sequence[Sequence[float]], *, first: float, last: float, log: str = "", **kw: int
) -> bytes:
    body = b"".join(
        _sub(index=i, z=float(i)) + np.asarray(y, "<f4").tobytes() for i, y in enumerate(ys)
    )
    flags = kw.pop("flags", 0) | (TMULTI if len(ys) > 1 else 0)
    head = _header(flags=flags, npts=len(ys[0]), first=first, last=last, nsub=len(ys),
                   logoff=512 + len(body) if log else 0, **kw)
    return head + body + (_log(log) if log else b"")


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


# -- the real files --------------------------------------------------------------------------

REFUSED: dict[str, tuple[type[Exception], str]] = {
    # an OLE compound document (Shimadzu UVProbe), not Galactic SPC
    "hyperSpec/Shimadzu_UV-2600_labeled_DNA.spc": (
        UnsupportedFormatError, "not an SPC file (OLE compound document"),
}
"""Every real SPC file not in this table must read; this table is docs/formats/spc.md's list."""

SUBFILES = {
    "rohanisaac_spc_test_data/4d_map.spc": 121,
    "rohanisaac_spc_test_data/nir.spc": 20,
    "cheminfo_spc_parser/raman-sion.spc": 36,
    "rohanisaac_spc_test_data/m_evenz.spc": 32,
    "rohanisaac_spc_test_data/m_xyxy.spc": 512,
    "rohanisaac_spc_test_data/m_ordz.spc": 10,
    "rohanisaac_spc_test_data/CAthickyellow_try4_17_ZSCAN.spc": 31,
    "spectrochempy_galacticdata/BARBITUATES.SPC": 286,
    "spectrochempy_galacticdata/DRUG_SAMPLE_PEAKS.SPC": 6,
    "spectrochempy_galacticdata/CONTOUR.SPC": 19,
    "spectrochempy_galacticdata/DEMO_3D.SPC": 32,
    "spectrochempy_galacticdata/LC_DIODE_ARRAY.SPC": 350,
    "hyperSpec/Witec_image2x3_SPC.Data 1_F.spc": 6,
    "hyperSpec/Witec_timeseries3x_SPC.Data 1.spc": 3,
}


def _index_rows() -> list[str]:
    from tests.conftest import SHARED_DATA

    index = SHARED_DATA / SPC_DIR / "INDEX.csv"
    if not index.is_file():
        return ["<no shared data>"]
    with index.open(newline="") as fh:
        return [r["file"].split("formats/spc/", 1)[1] for r in csv.DictReader(fh)]


def _raw_header(data: bytes) -> dict[str, float | int]:
    """The header fields the test checks against, unpacked here without the reader."""
    if data[1] == 0x4B:
        flags = data[0]
        (npts,) = struct.unpack_from("<I", data, 4)
        first, last = struct.unpack_from("<dd", data, 8)
        (nsub,) = struct.unpack_from("<I", data, 24)
        return {"flags": flags, "npts": npts, "first": first, "last": last, "nsub": nsub,
                "old": 0}
    onpts, first, last = struct.unpack_from("<fff", data, 4)
    return {"flags": data[0], "npts": int(onpts), "first": first, "last": last, "nsub": 0,
            "old": 1}


@pytest.mark.shared
@pytest.mark.parametrize("rel", _index_rows())
def test_every_real_spc_file_reads_consistently_or_is_refused(shared_data: Path, rel: str) -> None:
    path = shared_data / SPC_DIR / rel
    assert path.is_file(), f"INDEX.csv lists {rel} but it is missing"
    if rel in REFUSED:
        kind, words = REFUSED[rel]
        with pytest.raises(kind, match=r"\(byte 0\).*" + words.replace("(", r"\(")):
            spc.read(path)
        return
    data = path.read_bytes()
    assert spc.sniff(data[:4096])
    h = _raw_header(data)
    out = spc.read(path)
    multi = bool(h["flags"] & TMULTI)
    assert len(out) == SUBFILES.get(rel, 1)
    if multi and not h["old"]:
        assert len(out) == h["nsub"]
    lo, hi = sorted((float(h["first"]), float(h["last"])))
    for i, s in enumerate(out):
        assert np.all(np.diff(s.x) > 0)
        assert np.all(np.isfinite(s.y))
        if multi:
            assert s.source == f"{path}#{i}"
    first = out[0]
    if h["flags"] & TXYXYS:
        # per-subfile X arrays: the header range is the first subfile's (in file order)
        assert first.x[0] == pytest.approx(lo, rel=1e-6)
        assert first.x[-1] == pytest.approx(hi, rel=1e-6)
    else:
        assert len(first) == h["npts"]
        # evenly spaced: the axis ends are exactly the header's ffirst/flast; with an
        # X array (TXVALS) its float32 ends agree with them to float32 precision
        tol = 0.0 if not h["flags"] & TXVALS else 1e-6
        assert first.x[0] == pytest.approx(lo, rel=tol, abs=1e-9)
        assert first.x[-1] == pytest.approx(hi, rel=tol, abs=1e-9)


def test_refusal_list_names_only_real_files() -> None:
    rows = _index_rows()
    if rows == ["<no shared data>"]:
        pytest.skip("shared data not found")
    assert set(REFUSED) <= set(rows)
    assert set(SUBFILES) <= set(rows)


def _read1(shared: Path, rel: str) -> spectra.Spectrum:
    return spc.read(shared / SPC_DIR / rel)[0]


@pytest.mark.shared
def test_old_format_decodes_like_its_new_format_twin(shared_data: Path) -> None:
    # DEMO_3D.SPC (0x4D, word-swapped int32) and m_evenz.spc (0x4B) hold the same data
    old = spc.read(shared_data / SPC_DIR / "spectrochempy_galacticdata/DEMO_3D.SPC")
    new = spc.read(shared_data / SPC_DIR / "rohanisaac_spc_test_data/m_evenz.spc")
    assert len(old) == len(new) == 32
    for a, b in zip(old, new, strict=True):
        np.testing.assert_allclose(a.x, b.x, rtol=1e-6)
        np.testing.assert_allclose(a.y, b.y, rtol=1e-6, atol=1e-12)
    assert old[0].extra["spc.version"].startswith("0x4D")


@pytest.mark.shared
def test_old_format_raman_file(shared_data: Path) -> None:
    s = _read1(shared_data, "rohanisaac_spc_test_data/DOERNER.spc")
    assert len(s) == 1602
    assert (s.x[0], s.x[-1]) == (100.0, 1800.0)
    assert s.technique is Technique.RAMAN
    assert s.x_unit is XUnit.RAMAN_SHIFT
    assert float(np.max(s.y)) > 1000.0  # a real Raman band, not a mis-scaled exponent


@pytest.mark.shared
def test_int32_y_matches_independent_decoding(shared_data: Path) -> None:
    path = shared_data / SPC_DIR / "rohanisaac_spc_test_data/s_evenx.spc"
    data = path.read_bytes()
    exp = struct.unpack_from("<b", data, 3)[0]
    ints = np.frombuffer(data, "<i4", count=1844, offset=512 + 32)
    s = spc.read(path)[0]
    np.testing.assert_array_equal(s.y, ints * 2.0 ** (exp - 32))
    assert s.y_unit is YUnit.ABSORBANCE
    assert s.technique is Technique.INFRARED


# -- vendor pairs: the instrument's own text export of the same measurement ----------------

CH = "charisma_ramanchada2"


@pytest.mark.shared
def test_invia_spc_matches_its_text_export(shared_data: Path) -> None:
    stem = shared_data / SPC_DIR / CH / "InViaReflex/PST_Reflex532_Z050_010_10000msx2"
    s = spc.read(stem.with_suffix(".spc"))[0]
    t = text.read(stem.with_suffix(".txt"))[0]
    assert len(s) == len(t) == 2578
    # the SPC stores an evenly spaced axis between the pixel axis's ends
    assert s.x[0] == pytest.approx(t.x[0], abs=1e-3)
    assert s.x[-1] == pytest.approx(t.x[-1], abs=3e-3)
    on_text_axis = np.interp(t.x, s.x, s.y)
    assert np.corrcoef(on_text_axis, t.y)[0, 1] > 0.9999
    assert np.median(np.abs(on_text_axis - t.y)) < 1e-3 * float(np.max(t.y))
    assert s.excitation_nm == 532.0
    assert s.acquisition.instrument_make == "Renishaw"
    assert s.acquisition.integration_time_ms == 10000.0
    assert s.acquisition.accumulations == 2
    assert s.acquisition.instrument_serial == "H18509"
    assert s.acquisition.acquired_at == datetime(2021, 11, 18, 11, 30, tzinfo=UTC)
    assert s.y_unit is YUnit.COUNTS and s.technique is Technique.RAMAN


@pytest.mark.shared
def test_qontor_spc_matches_its_text_export(shared_data: Path) -> None:
    stem = shared_data / SPC_DIR / CH / "Renishaw/nCal_Qontor785_z005H12_100_1x3s"
    s = spc.read(stem.with_suffix(".spc"))[0]
    t = text.read(stem.with_suffix(".txt"))[0]
    assert len(s) == len(t) == 1021
    assert s.x[0] == pytest.approx(t.x[0], abs=1e-5)
    assert s.x[-1] == pytest.approx(t.x[-1], abs=1e-5)
    assert s.y[0] == pytest.approx(t.y[0], rel=1e-6)  # the shared first pixel
    assert np.corrcoef(np.interp(t.x, s.x, s.y), t.y)[0, 1] > 0.998
    assert s.excitation_nm == 785.0
    assert s.acquisition.integration_time_ms == 3000.0
    assert s.acquisition.instrument_make == "Renishaw"  # from the log's [WiRE2 ...] section
    # WiRE 5 writes an fdate that is not a date: no acquisition time rather than a wrong one
    assert s.acquisition.acquired_at is None


@pytest.mark.shared
def test_bwtek_spc_matches_its_text_export_after_interpolation(shared_data: Path) -> None:
    stem = shared_data / SPC_DIR / CH / "BWTEK/PST10_iR532_Probe_100_3000msx7"
    s = spc.read(stem.with_suffix(".spc"))[0]
    t = text.read(stem.with_suffix(".txt"))[0]
    assert len(s) == 3808 and len(t) == 1801
    np.testing.assert_allclose(np.diff(s.x), 1.0, atol=1e-9)  # the ~1 cm-1 grid
    inside = (t.x >= s.x[0]) & (t.x <= s.x[-1])
    on_text_axis = np.interp(t.x[inside], s.x, s.y)
    assert np.corrcoef(on_text_axis, t.y[inside])[0, 1] > 0.99999
    assert np.max(np.abs(on_text_axis - t.y[inside])) < 0.01 * float(np.max(t.y))


@pytest.mark.shared
@pytest.mark.parametrize(
    ("rel", "technique", "x_unit", "y_unit", "excitation"),
    [
        ("rohanisaac_spc_test_data/Ft-ir.spc", Technique.INFRARED, XUnit.WAVENUMBER,
         YUnit.TRANSMITTANCE_PERCENT, None),
        ("rohanisaac_spc_test_data/nir.spc", Technique.NIR, XUnit.WAVELENGTH_NM,
         YUnit.KUBELKA_MUNK, None),
        ("spectrochempy_galacticdata/HOLMIUM.SPC", Technique.UV_VIS, XUnit.WAVELENGTH_NM,
         YUnit.ABSORBANCE, None),
        ("rohanisaac_spc_test_data/ms.spc", Technique.MASS, XUnit.MZ, YUnit.ARBITRARY, None),
        ("rohanisaac_spc_test_data/NMR_SPC.SPC", Technique.NMR, XUnit.PPM, YUnit.ARBITRARY,
         None),
        ("rohanisaac_spc_test_data/RAMAN.SPC", Technique.RAMAN, XUnit.RAMAN_SHIFT,
         YUnit.ARBITRARY, 1e7 / 9395),
        ("cheminfo_spc_parser/raman-sion.spc", Technique.RAMAN, XUnit.RAMAN_SHIFT,
         YUnit.COUNTS, 457.0),
        ("rohanisaac_spc_test_data/DERt3_1.spc", Technique.OTHER, XUnit.WAVELENGTH_NM,
         YUnit.COUNTS, 532.2),
        ("spectrochempy_galacticdata/IG_SAMP.SPC", Technique.OTHER, XUnit.WAVENUMBER,
         YUnit.OTHER, None),
    ],
)
def test_units_technique_and_excitation(
    shared_data: Path, rel: str, technique: Technique, x_unit: XUnit, y_unit: YUnit,
    excitation: float | None,
) -> None:
    s = _read1(shared_data, rel)
    assert (s.technique, s.x_unit, s.y_unit) == (technique, x_unit, y_unit)
    assert s.excitation_nm == (None if excitation is None else pytest.approx(excitation))


@pytest.mark.shared
def test_memo_log_and_multifile_z_are_kept(shared_data: Path) -> None:
    out = spc.read(shared_data / SPC_DIR / "rohanisaac_spc_test_data/nir.spc")
    s = out[3]
    assert "NIRSYSTEMS 5000" in s.extra["spc.log"]
    assert s.extra["spc.subfile"] == "3"
    assert s.extra["spc.subfiles"] == "20"
    assert s.acquisition.instrument_model == "NIRSYSTEMS 5000"
    ftir = _read1(shared_data, "rohanisaac_spc_test_data/Ft-ir.spc")
    assert ftir.title == "FT-IR Spectrum Example" == ftir.extra["spc.memo"]


@pytest.mark.shared
def test_dispatch_reads_spc_and_refuses_ole(shared_data: Path) -> None:
    assert spectra.sniff(shared_data / SPC_DIR / "rohanisaac_spc_test_data/DOERNER.spc") == "spc"
    ole = shared_data / SPC_DIR / "hyperSpec/Shimadzu_UV-2600_labeled_DNA.spc"
    assert spectra.sniff(ole) == "spc"
    with pytest.raises(UnsupportedFormatError, match="OLE compound document") as err:
        spectra.read(ole)
    assert err.value.offset == 0 and err.value.path == str(ole)


@pytest.mark.shared
def test_text_files_are_not_sniffed_as_spc(shared_data: Path) -> None:
    for p in (shared_data / SPC_DIR / CH).rglob("*.txt"):
        assert not spc.sniff(p.read_bytes()[:4096]), p


# -- built files: decoding rules -----------------------------------------------------------


def test_float_multifile_with_log(tmp_path: Path) -> None:
    ys = [[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.5]]
    log = "Laser=Laser: 633 nm edge\r\nExposure_time=Time: 2s\r\nAccumulations=Accumulations: 3"
    # 2024-03-05 06:07 packed as year<<20 | month<<16 | day<<11 | hour<<6 | minute
    date = (2024 << 20) | (3 << 16) | (5 << 11) | (6 << 6) | 7
    p = _write(tmp_path, "m.spc", _float_file(ys, first=400.0, last=100.0, log=log, date=date,
                                               memo=b"two subfiles"))
    out = spc.read(p)
    assert len(out) == 2
    np.testing.assert_array_equal(out[0].x, [100.0, 200.0, 300.0, 400.0])
    np.testing.assert_array_equal(out[1].y, [8.5, 7.0, 6.0, 5.0])  # reversed with x
    assert out[0].extra["spc.axis"].startswith("decreasing in file")
    assert out[1].excitation_nm == 633.0
    assert out[1].acquisition.integration_time_ms == 2000.0
    assert out[1].acquisition.accumulations == 3
    assert out[0].acquisition.acquired_at == datetime(2024, 3, 5, 6, 7, tzinfo=UTC)
    assert out[1].title == "two subfiles #1"


def test_int16_and_txvals(tmp_path: Path) -> None:
    ints = np.array([-300, 0, 1000, 32767], "<i2")
    x = np.array([10.0, 11.5, 13.0, 20.0], "<f4")
    data = (_header(flags=TSPREC | TXVALS, exp=3, npts=4, first=10.0, last=20.0)
            + x.tobytes() + _sub(exp=3) + ints.tobytes())
    s = spc.read(_write(tmp_path, "s16.spc", data))[0]
    np.testing.assert_array_equal(s.x, x.astype(np.float64))
    np.testing.assert_array_equal(s.y, ints * 2.0 ** (3 - 16))


@given(
    ints=st.lists(st.integers(-(2**31), 2**31 - 1), min_size=2, max_size=40),
    exp=st.integers(-20, 40),
)
def test_int32_scaling_property(tmp_path_factory: pytest.TempPathFactory, ints: list[int],
                                exp: int) -> None:
    raw = np.array(ints, "<i4")
    data = (_header(exp=exp, npts=raw.size, first=0.0, last=float(raw.size - 1))
            + _sub(exp=exp) + raw.tobytes())
    p = tmp_path_factory.mktemp("spc") / "i32.spc"
    p.write_bytes(data)
    s = spc.read(p)[0]
    np.testing.assert_array_equal(s.y, raw.astype(np.float64) * 2.0 ** (exp - 32))


def test_xyxy_subfiles_have_their_own_axes(tmp_path: Path) -> None:
    parts = []
    for i, n in enumerate((3, 5)):
        x = np.arange(n, dtype="<f4") + 100 * i
        y = np.arange(n, dtype="<f4") * (i + 1)
        parts.append(_sub(index=i, npts=n) + x.tobytes() + y.tobytes())
    data = _header(flags=TMULTI | TXVALS | TXYXYS, npts=0, first=0.0, last=2.0, nsub=2,
                   xtype=9) + b"".join(parts)
    out = spc.read(_write(tmp_path, "xy.spc", data))
    assert [len(s) for s in out] == [3, 5]
    np.testing.assert_array_equal(out[1].x, [100.0, 101.0, 102.0, 103.0, 104.0])
    np.testing.assert_array_equal(out[1].y, [0.0, 2.0, 4.0, 6.0, 8.0])
    assert out[0].technique is Technique.MASS


# -- bad input -----------------------------------------------------------------------------


def test_truncated_file_names_offset_and_field(tmp_path: Path) -> None:
    full = _float_file([[1.0] * 100], first=0.0, last=99.0)
    p = _write(tmp_path, "cut.spc", full[: 512 + 32 + 200])
    with pytest.raises(FormatError) as err:
        spc.read(p)
    assert err.value.field == "fnpts" and err.value.offset == 4
    assert "100 points" in str(err.value) and str(p) in str(err.value)


@pytest.mark.shared
def test_truncated_real_multifile(tmp_path: Path, shared_data: Path) -> None:
    data = (shared_data / SPC_DIR / "rohanisaac_spc_test_data/nir.spc").read_bytes()
    p = _write(tmp_path, "nir_cut.spc", data[: len(data) // 2])
    with pytest.raises(FormatError, match=r"\(byte 24\): fnsub: declares 20 subfiles"):
        spc.read(p)


def test_truncated_xyxy_subfile(tmp_path: Path) -> None:
    data = (_header(flags=TMULTI | TXVALS | TXYXYS, npts=0, first=0.0, last=2.0, nsub=1)
            + _sub(npts=1000) + b"\x00" * 40)
    with pytest.raises(FormatError) as err:
        spc.read(_write(tmp_path, "xycut.spc", data))
    assert err.value.field == "subnpts" and err.value.offset == 512 + 16


def test_huge_point_count_refused_before_allocating(tmp_path: Path) -> None:
    data = _header(npts=2**31, first=0.0, last=1.0) + _sub() + b"\x00" * 64
    p = _write(tmp_path, "huge.spc", data)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="declares 2147483648 points") as err:
            spc.read(p)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert err.value.field == "fnpts"
    assert peak < 1_000_000  # nothing near 8 GiB of Y was ever requested


def test_garbage_bytes(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    junk = bytes([0x00, 0x17]) + rng.integers(0, 256, 3000, dtype=np.uint8).tobytes()
    p = _write(tmp_path, "junk.spc", junk)
    assert not spc.sniff(junk)
    with pytest.raises(UnsupportedFormatError, match="version byte is 0x17") as err:
        spc.read(p)
    assert err.value.offset == 1 and err.value.field == "fversn"


def test_header_only_garbage_with_valid_version(tmp_path: Path) -> None:
    p = _write(tmp_path, "short.spc", bytes([0, 0x4B]) + b"\x01" * 100)
    with pytest.raises(FormatError, match="truncated"):
        spc.read(p)


def test_ole_container_is_refused_clearly(tmp_path: Path) -> None:
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + b"\x00" * 504
    p = _write(tmp_path, "uv.spc", ole)
    assert spc.sniff(ole)
    assert not text.sniff(ole)
    with pytest.raises(UnsupportedFormatError, match=r"not an SPC file \(OLE compound"):
        spectra.read(p)


def test_big_endian_variant_refused(tmp_path: Path) -> None:
    data = _float_file([[1.0, 2.0]], first=0.0, last=1.0, version=0x4C)
    with pytest.raises(UnsupportedContentError, match="0x4C"):
        spc.read(_write(tmp_path, "msb.spc", data))


def test_non_finite_y_is_a_format_error(tmp_path: Path) -> None:
    data = _float_file([[1.0, float("nan"), 3.0]], first=0.0, last=2.0)
    with pytest.raises(FormatError, match="non-finite") as err:
        spc.read(_write(tmp_path, "nan.spc", data))
    assert err.value.offset == 512 + 32


@pytest.mark.shared
@given(
    which=st.sampled_from(["rohanisaac_spc_test_data/nir.spc",
                           "rohanisaac_spc_test_data/m_xyxy.spc",
                           "spectrochempy_galacticdata/CONTOUR.SPC",
                           "charisma_ramanchada2/Renishaw/nCal_Qontor785_z005H12_100_1x3s.spc"]),
    cut=st.floats(0.0, 1.0),
    flips=st.lists(st.tuples(st.integers(0, 767), st.integers(0, 255)), max_size=6),
)
def test_corrupted_real_files_fail_only_with_typed_errors(
    shared_data: Path, tmp_path_factory: pytest.TempPathFactory, which: str, cut: float,
    flips: list[tuple[int, int]],
) -> None:
    data = bytearray((shared_data / SPC_DIR / which).read_bytes())
    for pos, value in flips:  # corrupt the headers, where the layout is decided
        data[pos % len(data)] = value
    data = data[: max(2, int(len(data) * cut))] if cut < 0.999 else data
    p = tmp_path_factory.mktemp("fuzz") / "f.spc"
    p.write_bytes(bytes(data))
    try:
        out = spc.read(p)
    except spectra.SpectraError as exc:
        assert str(p) in str(exc)
    else:
        assert all(np.all(np.diff(s.x) > 0) for s in out)


@pytest.mark.shared
def test_truncated_old_multifile_is_refused_not_shortened(
    tmp_path: Path, shared_data: Path
) -> None:
    data = (shared_data / SPC_DIR / "spectrochempy_galacticdata/CONTOUR.SPC").read_bytes()
    p = _write(tmp_path, "contour_cut.spc", data[:-100])
    with pytest.raises(FormatError, match="18 whole subfile") as err:
        spc.read(p)
    assert err.value.field == "subfile"


def _old_file(ys: Sequence[int], *, exp: int, first: float = 0.0, last: float = 1.0) -> bytes:
    """An old-format (0x4D) single file of int32 Y, high 16-bit word first (SPC.H layout)."""
    h = bytearray(256)
    struct.pack_into("<BBh", h, 0, 0, 0x4D, exp)
    struct.pack_into("<fff", h, 4, float(len(ys)), first, last)
    struct.pack_into("<BB", h, 16, 13, 4)
    body = b"".join(struct.pack("<hH", v >> 16, v & 0xFFFF) for v in ys)
    return bytes(h) + body


def test_old_format_int32_scaling(tmp_path: Path) -> None:
    (s,) = spc.read(_write(tmp_path, "old.spc", _old_file([1, -2, 70000], exp=16)))
    assert s.y.tolist() == [2.0**-16, -(2.0**-15), 70000 * 2.0**-16]


@pytest.mark.parametrize("exp", [30000, -30000, 129, -129])
def test_absurd_old_format_exponent_is_a_format_error(tmp_path: Path, exp: int) -> None:
    # the old format stores oexp as int16; 2**(30000-32) does not fit a double
    p = _write(tmp_path, "absurd.spc", _old_file([1, 2, 3], exp=exp))
    with pytest.raises(FormatError) as err:
        spc.read(p)
    assert (err.value.offset, err.value.field) == (2, "oexp")
    assert str(exp) in str(err.value) and str(p) in str(err.value)


def test_scaled_y_beyond_a_double_is_a_format_error_not_a_warning(tmp_path: Path) -> None:
    # exponent 127 (the largest a signed byte holds) times the largest int32 stays finite;
    # float32 Y are what can be non-finite, and that is refused without a numpy warning
    data = _header(exp=127, npts=2, first=0.0, last=1.0) + _sub(exp=127) + struct.pack(
        "<ii", 2**31 - 1, -(2**31))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (s,) = spc.read(_write(tmp_path, "big.spc", data))
    assert s.y.tolist() == [(2**31 - 1) * 2.0**95, -(2**31) * 2.0**95]


def test_signalling_nan_floats_are_refused_without_numpy_warnings(tmp_path: Path) -> None:
    snan = b"\x01\x00\x80\x7f"  # float32 signalling NaN: casting it raises numpy's "invalid"
    y = np.asarray([1.0, 2.0, 3.0], "<f4").tobytes()
    bad_y = _header(npts=3, first=0.0, last=2.0) + _sub() + y[:4] + snan + y[8:]
    bad_x = (_header(flags=TXVALS, npts=3, first=0.0, last=2.0)
             + np.asarray([0.0, 1.0], "<f4").tobytes() + snan + _sub() + y)
    import warnings

    for name, data in (("y.spc", bad_y), ("x.spc", bad_x)):
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(FormatError, match="non-finite"):
                spc.read(_write(tmp_path, name, data))
