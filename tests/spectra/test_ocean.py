"""Ocean Optics text exports (OOIBase32, SpectraSuite with decimal commas), and bad input."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

import spectra
from spectra import FormatError, XUnit, YUnit

VENDOR = Path("formats") / "vendor" / "ocean_text"


def test_ooibase32_scope_file(shared_data: Path) -> None:
    path = shared_data / VENDOR / "tsunami.scope"
    assert spectra.sniff(path) == "ocean"
    (s,) = spectra.read(path)
    assert len(s) == 2048 and s.x_unit is XUnit.WAVELENGTH_NM and s.y_unit is YUnit.COUNTS
    assert (s.x[0], s.y[0], s.x[-1], s.y[-1]) == (339.95, 0.0, 1013.55, 172.6)
    acq = s.acquisition
    assert (acq.instrument_serial, acq.integration_time_ms, acq.accumulations) == (
        "USB2E2859", 8.0, 10)
    assert acq.acquired_at is None  # "Monday, July 03, 2017, 07:30:30": no time zone


def test_spectrasuite_file_with_decimal_commas(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / VENDOR / "OO_comma.txt")
    assert len(s) == 2048 and s.y_unit is YUnit.OTHER  # processed: dark and reference
    assert (s.x[0], s.y[0], s.x[-1], s.y[-1]) == (178.23, 401.471, 884.34, 25.222)
    acq = s.acquisition
    assert (acq.instrument_serial, acq.integration_time_ms, acq.accumulations) == (
        "USB2+H11150", 70.0, 15)  # 70000 usec
    assert acq.acquired_at == datetime(2016, 8, 19, 13, 19, 52,
                                       tzinfo=timezone(timedelta(hours=-5)))  # CDT


def _cut(shared: Path, tmp_path: Path, text: str) -> Path:
    p = tmp_path / "export.txt"
    p.write_text(text)
    return p


def test_a_file_cut_before_the_end_marker_is_refused(shared_data: Path, tmp_path: Path) -> None:
    lines = (shared_data / VENDOR / "tsunami.scope").read_text().splitlines()
    with pytest.raises(FormatError, match="truncated") as info:
        spectra.read(_cut(shared_data, tmp_path, "\n".join(lines[:500])))
    assert info.value.field == "end marker"


def test_a_row_count_disagreeing_with_the_header_is_refused(
    shared_data: Path, tmp_path: Path
) -> None:
    lines = (shared_data / VENDOR / "OO_comma.txt").read_text().splitlines()
    del lines[100]
    with pytest.raises(FormatError, match="2048 pixels") as info:
        spectra.read(_cut(shared_data, tmp_path, "\n".join(lines)))
    assert info.value.field == "Number of Pixels in Processed Spectrum"


def test_a_bad_row_names_its_line(shared_data: Path, tmp_path: Path) -> None:
    lines = (shared_data / VENDOR / "tsunami.scope").read_text().splitlines()
    lines[20] = "341.0\tn/a"
    with pytest.raises(FormatError, match="not a number") as info:
        spectra.read(_cut(shared_data, tmp_path, "\n".join(lines)))
    assert info.value.line == 21
