"""Thermo OMNIC .spa / .spg: the real files against other readers and their own history."""

from __future__ import annotations

import re
import struct
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

import spectra
from spectra import FormatError, Technique, UnsupportedContentError, XUnit, YUnit
from tests.spectra._vendor_refs import assert_summary, golden, signal, specref

VENDOR = Path("formats") / "vendor" / "omnic"
OPENSPECY = Path("formats") / "other" / "openspecy" / (
    "ftir_polyethylene_reflectance_adjustment_not_working.spa")


def test_ft_raman_spa_against_wai_spectralio_and_its_own_history(shared_data: Path) -> None:
    path = shared_data / VENDOR / "cylohex.spa"
    assert spectra.sniff(path) == "omnic"
    (s,) = spectra.read(path)
    ref = specref(shared_data / VENDOR / "reference" / "wai-spectralio"
                  / "cylohex.spa.read-0.specref")
    assert len(s) == len(ref) == 3632
    np.testing.assert_array_equal(s.y[::-1], ref[:, 1])  # every value, bit for bit
    # x: wai steps (last-first)/n and stops one step short of the header's last x; we span
    # first..last like OMNIC's history says ("from 5398.1768 to 12400.9561" absolute cm-1)
    assert s.x[-1] == ref[0, 0] == pytest.approx(3996.8232421875)
    assert s.x[0] == pytest.approx(-3005.9560546875)
    assert s.x[0] - ref[-1, 0] == pytest.approx(-1.928078, abs=1e-5)
    m = re.search(r"from ([\d.]+) to ([\d.]+)", s.extra["omnic.history"])
    assert m is not None
    laser = 1e7 / (s.excitation_nm or 0)
    np.testing.assert_allclose(laser - np.array([s.x[-1], s.x[0]]),
                               [float(m.group(1)), float(m.group(2))], atol=0.01)
    assert s.technique is Technique.RAMAN and s.x_unit is XUnit.RAMAN_SHIFT
    assert s.excitation_nm == pytest.approx(1064.396, abs=1e-3)
    assert s.acquisition.accumulations == 50
    assert s.title == "Cyclohexane Sample"


def test_group_file_against_the_golden_and_its_spectrum_names(shared_data: Path) -> None:
    ss = spectra.read(shared_data / VENDOR / "wodger.spg")
    ref = golden(shared_data / VENDOR / "reference" / "nirs4all-formats"
                 / "nicolet_omnic_spg_wodger.summary.json")
    assert len(ss) == 2
    for s, record in zip(ss, ref, strict=True):
        assert_summary(s, "omnic", signal(record, "absorbance"))
        assert s.y_unit is YUnit.ABSORBANCE and s.technique is Technique.INFRARED
        assert s.acquisition.instrument_serial == "APW0900134"
    assert ss[0].title.startswith("vz0470.spa") and ss[1].title.startswith("vz0468.spa")
    assert ss[0].y[-1] == pytest.approx(1.9831526279)  # file order: first value last here
    assert ss[1].y[-1] == pytest.approx(2.0048975945)


def test_stored_date_is_the_end_of_collection(shared_data: Path) -> None:
    """The name gives the start in local time; the stored date is UTC, one collection later."""
    for s in spectra.read(shared_data / VENDOR / "wodger.spg"):
        m = re.search(r"(\d\d):(\d\d):(\d\d) (\d{4}) \(GMT([+-]\d\d):00\)", s.title)
        assert m is not None and s.acquisition.acquired_at is not None
        local = s.acquisition.acquired_at + timedelta(hours=int(m.group(5)))
        started = local - timedelta(seconds=float(s.extra["omnic.collection_time_s"]))
        assert (started.hour, started.minute) == (int(m.group(1)), int(m.group(2)))
        assert abs(started.second - int(m.group(3))) <= 1


def test_reflectance_spa_from_openspecy(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / OPENSPECY)
    assert s.y_unit is YUnit.REFLECTANCE and s.extra["omnic.y_label"] == "%Reflectance"
    assert len(s) == 1738 and s.acquisition.instrument_serial == "AKX1502022"
    assert s.title == "Parafilm Test"


def _patched(src: Path, tmp_path: Path, at: int, fmt: str, value: int) -> Path:
    data = bytearray(src.read_bytes())
    struct.pack_into(fmt, data, at, value)
    out = tmp_path / "patched.spa"
    out.write_bytes(bytes(data))
    return out


def test_an_interferogram_is_refused(shared_data: Path, tmp_path: Path) -> None:
    path = _patched(shared_data / VENDOR / "cylohex.spa", tmp_path, 560 + 8, "<B", 2)
    with pytest.raises(UnsupportedContentError, match="interferogram") as info:
        spectra.read(path)
    assert info.value.offset == 568


def test_a_huge_record_table_or_point_count_is_refused(
    shared_data: Path, tmp_path: Path
) -> None:
    src = shared_data / VENDOR / "cylohex.spa"
    with pytest.raises(FormatError, match="more than") as info:
        spectra.read(_patched(src, tmp_path, 294, "<H", 0xFFFF))
    assert info.value.offset == 294 and info.value.field == "record table"
    with pytest.raises(FormatError, match="point") as info:
        spectra.read(_patched(src, tmp_path, 560 + 4, "<I", 2**31))
    assert info.value.offset == 564


def test_truncated_data_record_names_the_record(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / VENDOR / "cylohex.spa").read_bytes()
    path = tmp_path / "cut.spa"
    path.write_bytes(data[:-100])
    with pytest.raises(FormatError, match="runs past the end") as info:
        spectra.read(path)
    assert info.value.field == "record 4"


def test_series_files_are_claimed_and_refused(tmp_path: Path) -> None:
    path = tmp_path / "series.srs"
    path.write_bytes(b"Spectral Exte File" + bytes(600))
    assert spectra.sniff(path) == "omnic"
    with pytest.raises(UnsupportedContentError, match="series"):
        spectra.read(path)
