"""Renishaw WiRE .wdf: single spectra, a depth series, WiRE's own export of the same file."""

from __future__ import annotations

import struct
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

import spectra
from spectra import FormatError, Technique, UnsupportedContentError, XUnit, YUnit
from tests.spectra._vendor_refs import assert_summary, golden, in_file_order

VENDOR = Path("formats") / "vendor" / "wdf"
QONTOR = Path("formats") / "other" / "charisma_ramanchada2" / "Renishaw" / (
    "nCal_Qontor785_z005H12_100_1x3s.wdf")
QONTOR_TXT = Path("formats") / "spc" / "charisma_ramanchada2" / "Renishaw" / (
    "nCal_Qontor785_z005H12_100_1x3s.txt")


def test_single_spectrum_against_the_golden(shared_data: Path) -> None:
    path = shared_data / VENDOR / "ex1.wdf"
    assert spectra.sniff(path) == "wdf"
    (s,) = spectra.read(path)
    ref = golden(shared_data / VENDOR / "reference" / "nirs4all-formats"
                 / "renishaw_wdf_wire_sp.summary.json")
    assert_summary(s, "wdf", ref[0]["signals"][0])
    assert s.technique is Technique.RAMAN and s.x_unit is XUnit.RAMAN_SHIFT
    assert s.y_unit is YUnit.COUNTS
    assert s.excitation_nm == pytest.approx(1e7 / 18788.16015625)
    acq = s.acquisition
    assert (acq.instrument_make, acq.instrument_serial, acq.operator) == (
        "Renishaw", "75C784", "Nanonics")
    # 3 accumulations of 10 s: WXDA's ScanDuration (ms) says 30798
    assert (acq.accumulations, acq.integration_time_ms) == (3, 10000.0)
    assert s.extra["wdf.laser"] == "532 nm edge" and s.extra["wdf.objective"] == "x50"
    assert s.title == "Single scan measurement 1"


def test_second_single_file_matches_its_header(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / VENDOR / "test1.wdf")
    x, y = in_file_order(s, "wdf")
    assert len(s) == 1015 and s.extra["wdf.software"] == "WiRE 4.4.0.6602"
    np.testing.assert_allclose([x[0], x[-1]], [2787.5098, 1226.2676], atol=1e-4)
    np.testing.assert_allclose([y[0], y[-1]], [10675.546, 14511.63], atol=1e-3)


def test_depth_series_against_the_golden_and_rosettasciio(shared_data: Path) -> None:
    ss = spectra.read(shared_data / VENDOR / "depth.wdf")
    ref = golden(shared_data / VENDOR / "reference" / "nirs4all-formats"
                 / "renishaw_wdf_wire_depth.summary.json")
    assert len(ss) == len(ref) == 40
    for s, record in zip(ss, ref, strict=True):
        assert_summary(s, "wdf", record["signals"][0])
    assert sum(1 for s in ss if not np.any(s.y)) == 20 and not np.any(ss[0].y)
    z = [float(s.extra["wdf.origin.Z"]) for s in ss]
    np.testing.assert_allclose(z, -10.0 + 0.5 * np.arange(40))
    # rosettasciio's TestZscan, in ascending-shift order: the last spectrum
    np.testing.assert_allclose(ss[-1].y[:3], [1.454424, -1.4547517, 4.365239], rtol=1e-6)
    np.testing.assert_allclose(ss[-1].y[-3:], [1.8109605, -1.8113279, 9.05664], rtol=1e-6)
    assert ss[5].source is not None and ss[5].source.endswith("#5")
    assert ss[0].extra["wdf.measurement"] == "series"


def test_agrees_with_wires_own_text_export_and_the_spc_log(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / QONTOR)
    txt = np.loadtxt(shared_data / QONTOR_TXT, skiprows=1)
    txt = txt[np.argsort(txt[:, 0])]
    assert len(s) == len(txt) == 1021
    # the export prints six decimals
    assert np.max(np.abs(s.x - txt[:, 0])) <= 5.1e-7
    assert np.max(np.abs(s.y - txt[:, 1])) <= 5.1e-7
    acq = s.acquisition
    # the SPC export of the same measurement logs Serial 23YH94, 3000 ms, 1 accumulation
    assert (acq.instrument_model, acq.instrument_serial) == ("InVia", "23YH94")
    assert (acq.integration_time_ms, acq.accumulations) == (3000.0, 1)
    assert s.excitation_nm == pytest.approx(785.0, abs=0.05)


def _patched(shared: Path, tmp_path: Path, *patches: tuple[int, str, int]) -> Path:
    data = bytearray((shared / VENDOR / "ex1.wdf").read_bytes())
    for at, fmt, value in patches:
        struct.pack_into(fmt, data, at, value)
    out = tmp_path / "patched.wdf"
    out.write_bytes(bytes(data))
    return out


def test_a_zero_size_block_is_refused_not_looped_on(shared_data: Path, tmp_path: Path) -> None:
    path = _patched(shared_data, tmp_path, (512 + 8, "<Q", 0))
    outcome: list[BaseException | None] = []

    def run() -> None:
        try:
            spectra.read(path)
            outcome.append(None)
        except BaseException as exc:  # handed to the test thread
            outcome.append(exc)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(timeout=60)  # a safety net for a hang, not a timing assertion
    assert outcome, "the reader did not return"
    exc = outcome[0]
    assert isinstance(exc, FormatError) and exc.offset == 520
    assert "less than its header" in str(exc)


def test_a_huge_spectrum_count_is_refused_before_allocating(
    shared_data: Path, tmp_path: Path
) -> None:
    path = _patched(shared_data, tmp_path, (64, "<Q", 2**40), (72, "<Q", 2**40))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="DATA block holds") as info:
            spectra.read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000
    assert info.value.field == "npoints/nspectra"


@pytest.mark.parametrize(
    ("patch", "error", "field"),
    [
        ((84, "<I", 2), UnsupportedContentError, "ylistcount"),  # a detector image
        ((16, "<Q", 1 << 3), UnsupportedContentError, "flags"),  # multitrack
        ((72, "<Q", 0), UnsupportedContentError, "ncollected"),  # nothing collected
        ((88, "<I", 7), FormatError, "xlistcount"),
        ((8, "<Q", 500), FormatError, "WDF1 size"),
    ],
)
def test_refusals_name_the_header_field(
    shared_data: Path, tmp_path: Path, patch: tuple[int, str, int],
    error: type[FormatError], field: str,
) -> None:
    with pytest.raises(error) as info:
        spectra.read(_patched(shared_data, tmp_path, patch))
    assert info.value.field == field and info.value.offset is not None


def test_truncated_file_names_the_block(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / VENDOR / "ex1.wdf").read_bytes()
    path = tmp_path / "cut.wdf"
    path.write_bytes(data[:40000])
    with pytest.raises(FormatError, match="runs past the end") as info:
        spectra.read(path)
    assert info.value.field is not None and "size" in info.value.field
