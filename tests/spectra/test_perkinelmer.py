"""PerkinElmer .sp: FT-IR and UV/Vis/NIR files against the golden and the author's exports."""

from __future__ import annotations

import struct
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import pytest

import spectra
from spectra import FormatError, Technique, XUnit, YUnit
from tests.spectra._vendor_refs import assert_summary, golden, in_file_order, signal

VENDOR = Path("formats") / "vendor" / "perkinelmer_sp"

# first and last values of the author's CSV exports (SOURCES.txt), ascending wavelength
LAMBDA = {
    "Transmission1.sp": (101, 800.0, 900.0, 50.6035959692721, 41.8874230776793,
                         YUnit.TRANSMITTANCE_PERCENT),
    "Reflection1.sp": (501, 350.0, 850.0, 15.5291831315929, 52.6907223745948,
                       YUnit.REFLECTANCE),
    "BG20.mod0.sp": (1581, 220.0, 1800.0, 3.26937979205049e-05, 54.8416366666305,
                     YUnit.TRANSMITTANCE_PERCENT),
}


def test_ftir_file_against_the_golden(shared_data: Path) -> None:
    path = shared_data / VENDOR / "spectra.sp"
    assert spectra.sniff(path) == "perkinelmer"
    (s,) = spectra.read(path)
    ref = golden(shared_data / VENDOR / "reference" / "nirs4all-formats"
                 / "perkin_elmer_sp_spectra.summary.json")
    assert_summary(s, "perkinelmer", signal(ref[0], ref[0]["signals"][0]["name"]))
    x, y = in_file_order(s, "perkinelmer")
    assert (x[0], x[-1], y[0], y[-1]) == (4000.0, 700.0, 0.03723936007346753,
                                          0.004175562077308466)
    assert s.y_unit is YUnit.ABSORBANCE and s.technique is Technique.INFRARED
    assert s.title == "strip01"
    acq = s.acquisition
    assert (acq.instrument_model, acq.instrument_serial) == ("Spectrum One", "69425")
    assert s.extra["perkinelmer.detector"] == "MCT"
    assert acq.acquired_at is None  # "Thu Mar 09 09:17:56 2006": no zone


def test_lambda_1050_files_against_the_authors_exports(shared_data: Path) -> None:
    for name, (n, x0, x1, y0, y1, unit) in LAMBDA.items():
        (s,) = spectra.read(shared_data / VENDOR / name)
        assert len(s) == n and s.x_unit is XUnit.WAVELENGTH_NM and s.y_unit is unit
        assert (s.x[0], s.x[-1]) == (x0, x1)
        assert s.y[0] == pytest.approx(y0, rel=1e-13) and s.y[-1] == pytest.approx(y1, rel=1e-13)
        acq = s.acquisition
        assert (acq.instrument_model, acq.instrument_serial, acq.operator) == (
            "Lambda 1050+", "1060L2011032", "Michael Matus")
    (s,) = spectra.read(shared_data / VENDOR / "Transmission1.sp")
    assert s.acquisition.acquired_at == datetime(2022, 8, 22, 9, 12, 11, tzinfo=UTC)


def test_legacy_and_raw_files_read(shared_data: Path) -> None:
    (a,) = spectra.read(shared_data / VENDOR / "A1721001.sp")
    assert len(a) == 529 and a.y_unit is YUnit.ARBITRARY  # "INT", imported from DataManager
    (r,) = spectra.read(shared_data / VENDOR / "1106.Sample.Raw.sp")
    assert len(r) == 41 and r.y_unit is YUnit.TRANSMITTANCE_PERCENT


def _patched(shared: Path, tmp_path: Path, find: bytes, offset: int, raw: bytes) -> Path:
    data = bytearray((shared / VENDOR / "spectra.sp").read_bytes())
    at = data.index(find) + offset
    data[at : at + len(raw)] = raw
    out = tmp_path / "patched.sp"
    out.write_bytes(bytes(data))
    return out


def test_a_huge_point_count_is_refused_before_allocating(
    shared_data: Path, tmp_path: Path
) -> None:
    # member 35701 (point count): id, size 6, tag 29995, uint32
    path = _patched(shared_data, tmp_path, struct.pack("<HiH", 35701, 6, 29995), 8,
                    struct.pack("<I", 2**31))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="points") as info:
            spectra.read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000 and info.value.field == "values length"


def test_a_step_disagreeing_with_the_range_is_refused(shared_data: Path, tmp_path: Path) -> None:
    path = _patched(shared_data, tmp_path, struct.pack("<HiH", 35700, 10, 29979), 8,
                    struct.pack("<d", -2.0))
    with pytest.raises(FormatError, match="disagrees") as info:
        spectra.read(path)
    assert info.value.field == "x step"


def test_a_member_overrunning_the_file_is_refused(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / VENDOR / "spectra.sp").read_bytes()
    path = tmp_path / "cut.sp"
    path.write_bytes(data[:20000])
    with pytest.raises(FormatError, match="overruns") as info:
        spectra.read(path)
    assert info.value.offset is not None
