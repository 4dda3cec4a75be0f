"""Princeton .spe 2.2 and 3.0: the real files against SPE_Handler's exports, and bad input."""

from __future__ import annotations

import struct
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

import spectra
from spectra import FormatError, Technique, UnsupportedContentError, XUnit, YUnit

VENDOR = Path("formats") / "vendor" / "spe"
S0N = Path("formats") / "other" / "charisma_ramanchada2" / "PrincetonInstruments" / "S0N_50x.spe"


def _export(path: Path) -> np.ndarray:
    """SPE_Handler's text export: a header, then 'Wavelength<TAB>Frame 1...' rows."""
    lines = path.read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Wavelength")) + 1
    return np.array([[float(v) for v in line.split()] for line in lines[start:] if line],
                    dtype=np.float64)


def test_winspec_22_file_against_spe_handlers_export(shared_data: Path) -> None:
    path = shared_data / VENDOR / "Testfile_Single_SPE2.SPE"
    assert spectra.sniff(path) == "spe"
    ss = spectra.read(path)
    ref = _export(shared_data / VENDOR / "reference" / "Result_Single_SPE2.txt")
    assert len(ss) == 35 and ref.shape == (1340, 36)
    for k, s in enumerate(ss):
        np.testing.assert_array_equal(s.y, ref[:, k + 1])
    s = ss[0]
    # x: the header's calibration polynomial of the 1-based pixel number passes through the
    # file's own calibration points (pixels 1, 670.5, 1340 -> 627.18, 693.681, 759.04 nm);
    # SPE_Handler's export draws a straight line between the two ends instead
    np.testing.assert_allclose(s.x[[0, -1]], [627.1822928553368, 759.0392447658533],
                               rtol=0, atol=1e-9)
    assert s.x[669] < 693.681 < s.x[670]  # pixels 670 and 671 (1-based)
    assert abs((s.x[669] + s.x[670]) / 2 - 693.681) < 1e-6
    np.testing.assert_allclose(s.x[[0, -1]], ref[[0, -1], 0], rtol=0, atol=1e-9)
    assert np.max(np.abs(s.x - ref[:, 0])) == pytest.approx(0.570, abs=0.005)
    assert s.x_unit is XUnit.WAVELENGTH_NM and s.y_unit is YUnit.COUNTS
    assert s.excitation_nm == 636.3 and s.technique is Technique.RAMAN
    # header time fields: local 18:28:36, UTC 17:28:36
    assert s.acquisition.acquired_at == datetime(2017, 3, 15, 17, 28, 36, tzinfo=UTC)
    # exp_sec is "exposure, in sec." in the WinSpec header (SPE_Handler prints it as ms)
    assert s.acquisition.integration_time_ms == 30000.0
    assert s.extra["spe.x_calibration_label"] == "Raman shift [cm -1]"


def test_lightfield_30_file_against_spe_handlers_export(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / VENDOR / "Testfile_Single_SPE3.spe")
    ref = _export(shared_data / VENDOR / "reference" / "Result_Single_SPE3.txt")
    np.testing.assert_allclose(s.x, ref[:, 0], rtol=0, atol=1e-9)
    # float32 counts; the export prints one decimal
    np.testing.assert_array_equal(s.y, ref[:, 1].astype(np.float32))
    acq = s.acquisition
    assert (acq.instrument_model, acq.instrument_serial) == ("ProEM+: 512B eXcelon", "08022312")
    assert acq.integration_time_ms == pytest.approx(3000.0)
    # the 532 nm laser line is set but marked relevance="False": kept, not used
    assert s.excitation_nm is None
    assert s.extra["spe.laser_line"] == "532 (set, marked not relevant)"
    assert s.extra["spe.spectrometer"] == "SP-2-500i #25561237"


def test_calibrated_laser_line_makes_a_raman_spectrum(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / S0N)
    assert s.excitation_nm == 531.988 and s.technique is Technique.RAMAN
    assert len(s) == 1340 and s.acquisition.integration_time_ms == pytest.approx(30000.0)


def test_one_dimensional_spectrum(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / VENDOR / "one_dimensional_spectrum.spe")
    assert len(s) == 1024  # spe2py's test: frame shape (1, 1024)
    assert s.acquisition.instrument_model == "PIXIS: 1024B"


def test_spectrum_strip_is_read_and_image_regions_are_named(shared_data: Path) -> None:
    ss = spectra.read(shared_data / VENDOR / "test_multiple_rois.spe")
    assert len(ss) == 5  # 5 frames of the 1340 x 1 strip
    for s in ss:
        assert len(s) == 1340
        assert s.extra["spe.skipped_regions"] == "1: 524 x 66 (image); 2: 592 x 90 (image)"
        assert s.extra["spe.saturated_pixels"] == "1340 of 1340"  # 117 rows binned: full scale
        assert s.extra["spe.time_source"] == "ExposureStarted metadata"
    times = [s.acquisition.acquired_at for s in ss]
    assert all(t is not None for t in times) and times == sorted(times)  # type: ignore[type-var]


@pytest.mark.parametrize(
    "name", ["two_rectangular_rois_different_binning.spe",
             "ten_frames_two_rois_different_binning.spe"],
)
def test_images_only_are_refused(shared_data: Path, name: str) -> None:
    with pytest.raises(UnsupportedContentError, match="detector image") as info:
        spectra.read(shared_data / VENDOR / name)
    assert info.value.field == "DataFormat/Region height"


def _patched(src: Path, tmp_path: Path, at: int, raw: bytes) -> Path:
    data = bytearray(src.read_bytes())
    data[at : at + len(raw)] = raw
    out = tmp_path / "patched.spe"
    out.write_bytes(bytes(data))
    return out


def test_a_huge_frame_count_is_refused_before_allocating(
    shared_data: Path, tmp_path: Path
) -> None:
    path = _patched(shared_data / VENDOR / "Testfile_Single_SPE2.SPE", tmp_path, 1446,
                    struct.pack("<i", 2**31 - 1))
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="more than") as info:
            spectra.read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000 and info.value.offset == 1446


def test_a_2x_image_is_refused(shared_data: Path, tmp_path: Path) -> None:
    path = _patched(shared_data / VENDOR / "Testfile_Single_SPE2.SPE", tmp_path, 656,
                    struct.pack("<H", 5))
    with pytest.raises(UnsupportedContentError, match="detector image") as info:
        spectra.read(path)
    assert info.value.field == "ydim"


def test_xml_with_entities_or_broken_xml_is_refused(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / VENDOR / "Testfile_Single_SPE3.spe"
    xml_at = struct.unpack_from("<Q", src.read_bytes(), 678)[0]
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa">]>'
    with pytest.raises(FormatError, match="DTD") as info:
        spectra.read(_patched(src, tmp_path, xml_at, bomb))
    assert info.value.offset == xml_at
    with pytest.raises(FormatError, match="not well-formed"):
        spectra.read(_patched(src, tmp_path, xml_at + 1, b"<<<<"))


def test_frames_beyond_the_footer_are_refused(shared_data: Path, tmp_path: Path) -> None:
    src = shared_data / VENDOR / "Testfile_Single_SPE3.spe"
    data = src.read_bytes()
    at = data.index(b'count="1"')
    with pytest.raises(FormatError, match="do not fit") as info:
        spectra.read(_patched(src, tmp_path, at, b'count="9"'))
    assert info.value.field == "Frame count/stride"


def test_the_last_value_marker_is_checked(shared_data: Path, tmp_path: Path) -> None:
    path = _patched(shared_data / VENDOR / "Testfile_Single_SPE3.spe", tmp_path, 4098,
                    b"\x00\x00")
    with pytest.raises(spectra.UnsupportedFormatError, match="0x5555"):
        spectra.read(path)
