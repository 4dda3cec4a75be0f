"""Bruker OPUS: the real files of seven instruments against other readers, and bad input."""

from __future__ import annotations

import struct
import tracemalloc
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np
import pytest

import spectra
from spectra import FormatError, Technique, UnsupportedContentError, XUnit, YUnit
from spectra.formats import opus
from tests.spectra._vendor_refs import assert_summary, golden, in_file_order, signal, specref

VENDOR = Path("formats") / "vendor" / "opus"

# file -> (result block, points, technique, y unit, instrument, serial, scans)
REAL = {
    "file.0": ("AB", 4927, Technique.FTIR_TRANSMISSION, YUnit.ABSORBANCE, "VERTEX 80V",
               "1135", 50),
    "617262_1TP_C-1_A5.0": ("AB", 3578, Technique.INFRARED, YUnit.ABSORBANCE, "INVENIO-R",
                            "445", 32),
    "MMP_2107_Test1.001": ("AB", 1899, Technique.NIR, YUnit.ABSORBANCE, "Tango", "200265",
                           16),
    "test_spectra.0": ("REFL", 4819, Technique.INFRARED, YUnit.REFLECTANCE, "TENSOR II",
                       "1057", 64),
    "issue81_A1.1.0": ("AB", 1866, Technique.FTIR_TRANSMISSION, YUnit.ABSORBANCE,
                       "Tensor 27", "T27.1091.05", 256),
    "issue82_Opus_test.0": ("AB", 1112, Technique.NIR, YUnit.ABSORBANCE, "MPA", "2593", 64),
    "141009_001-01_0-6.0": ("AB", 1154, Technique.NIR, YUnit.ABSORBANCE, "Matrix-I", "676",
                            32),
}
OTHER = {  # formats/other: an ATR file (OpenSpecy) and an FT-Raman file (ramanchada2)
    "openspecy/ftir_ps.0": ("AB", 2126, Technique.FTIR_ATR, YUnit.ABSORBANCE, "VERTEX 70",
                            "1949", 60),
    "charisma_ramanchada2/test_opus.0": ("RAM", 4096, Technique.RAMAN, YUnit.ARBITRARY,
                                         "VERTEX 70", "0776", 50),
}
GOLDEN = {  # nirs4all-formats summary file -> (our file, its signal name)
    "bruker_opus_brukeropus_file": ("file.0", "absorbance"),
    "bruker_opus_absorbance_multi": ("617262_1TP_C-1_A5.0", "absorbance"),
    "bruker_opus_mmp_2107_test1": ("MMP_2107_Test1.001", "absorbance"),
    "bruker_opus_reflectance": ("test_spectra.0", "reflectance"),
    "bruker_opus_issue82": ("issue82_Opus_test.0", "absorbance"),
}


def _cases(shared: Path) -> list[tuple[Path, tuple[object, ...]]]:
    return [(shared / VENDOR / n, v) for n, v in REAL.items()] + [
        (shared / "formats" / "other" / n, v) for n, v in OTHER.items()
    ]


def test_every_real_opus_file_gives_its_result_block(shared_data: Path) -> None:
    for path, (block, npts, technique, y_unit, model, serial, scans) in _cases(shared_data):
        assert spectra.sniff(path) == "opus"
        (s,) = spectra.read(path)
        assert s.extra["opus.block"] == block, path.name
        assert len(s) == npts
        assert s.technique is technique, path.name
        assert s.y_unit is y_unit
        assert np.all(np.diff(s.x) > 0)
        acq = s.acquisition
        assert (acq.instrument_make, acq.instrument_model, acq.instrument_serial) == (
            "Bruker", model, serial)
        assert acq.accumulations == scans
        assert acq.acquired_at is not None and acq.acquired_at.tzinfo is not None


def test_agrees_with_the_nirs4all_formats_goldens(shared_data: Path) -> None:
    for name, (fname, sig) in GOLDEN.items():
        ref = golden(shared_data / VENDOR / "reference" / "nirs4all-formats"
                     / f"{name}.summary.json")
        (s,) = spectra.read(shared_data / VENDOR / fname)
        assert_summary(s, "opus", signal(ref[0], sig))


def test_agrees_point_by_point_with_wai_spectralio(shared_data: Path) -> None:
    """Every block of the MATRIX-I file, to the last digit wai-spectralio printed."""
    ref_dir = shared_data / VENDOR / "reference" / "wai-spectralio"
    path = shared_data / VENDOR / "141009_001-01_0-6.0"
    (ab,) = spectra.read(path)
    ref = specref(ref_dir / "141009_001-01_0-6.0.opus.read-0.specref")
    x, y = in_file_order(ab, "opus")
    np.testing.assert_allclose(x, ref[:, 0], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(y, ref[:, 1])
    blocks = {b.extra["opus.block_type"]: b for b in opus.read_blocks(path)}
    # wai numbers the blocks it reads 0..6; each dump names the block type it came from
    for k in range(7):
        f = ref_dir / f"141009_001-01_0-6.0.opus_ext.read-{k}.specref"
        hex_type = next(line.split("'")[1] for line in f.read_text().splitlines()
                        if line.startswith("s Opus.BlockType.Hex="))
        ref = specref(f)
        if f"{int(hex_type, 16):#x}" not in blocks:
            # wai also reads the type-54 "match, 2 channels" block, which we leave out
            assert int(hex_type, 16) == 0xD80F
            continue
        b = blocks[f"{int(hex_type, 16):#x}"]
        bx, by = in_file_order(b, "opus")
        np.testing.assert_array_equal(by, ref[:, 1])
        if b.x_unit is not XUnit.OTHER:  # interferograms: wai numbers the points 0..n-1
            np.testing.assert_allclose(bx, ref[:, 0], rtol=0, atol=1e-9)


def test_metadata_of_the_vertex_80v_file(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / VENDOR / "file.0")
    acq = s.acquisition
    assert acq.acquired_at == datetime(2019, 5, 3, 13, 34, 44, 641000,
                                       tzinfo=timezone(timedelta(hours=-4)))
    assert acq.operator == "Duran"
    assert acq.firmware == "2.450 Oct 10 2014"
    assert s.title == "File Test"
    assert s.x_unit is XUnit.WAVENUMBER
    assert s.extra["opus.DXU"] == "WN" and s.extra["opus.NPT"] == "4927"


def test_ft_raman_block_has_the_laser_line_and_the_set_power(shared_data: Path) -> None:
    (s,) = spectra.read(shared_data / "formats" / "other" / "charisma_ramanchada2"
                        / "test_opus.0")
    assert s.x_unit is XUnit.RAMAN_SHIFT
    assert s.excitation_nm == pytest.approx(1e7 / 9394.900390625)
    # SRL (set power) agrees with the sample name "..._200mW_..."; RLP (1000) is the rating
    assert s.acquisition.laser_power_mw == 200.0
    assert "200mW" in s.title


def test_read_blocks_gives_every_block_with_a_status_block(shared_data: Path) -> None:
    labels = [b.extra["opus.block"] for b in opus.read_blocks(shared_data / VENDOR / "file.0")]
    assert labels == ["IgSm", "PhSm", "ScSm", "AB", "IgRf", "ScRf"]


# -- a byte-level OPUS builder, from the layout in docs/formats/opus.md ---------------------

AB, AB_STATUS = 0x100F, 0x101F
IG, IG_STATUS = 0x807, 0x817
INSTRUMENT = 0x20


def _params(**values: object) -> bytes:
    out = b""
    for key, value in values.items():
        if isinstance(value, int):
            body, kind = struct.pack("<i", value), 0
        elif isinstance(value, float):
            body, kind = struct.pack("<d", value), 1
        else:
            raw = str(value).encode("latin-1") + b"\x00"
            body, kind = raw + b"\x00" * (len(raw) % 2), 2
        out += key.encode() + b"\x00" + struct.pack("<HH", kind, len(body) // 2) + body
    return out + b"END\x00" + struct.pack("<HH", 0, 0)


def _opus(blocks: list[tuple[int, bytes]], *, max_blocks: int | None = None,
          nblocks: int | None = None) -> bytes:
    directory_at, n = 24, len(blocks)
    offset = directory_at + 12 * n
    entries, body = b"", b""
    for btype, raw in blocks:
        data = raw + b"\x00" * (-len(raw) % 4)
        entries += struct.pack("<Iii", btype, len(data) // 4, offset + len(body))
        body += data
    header = b"\x0a\x0a\xfe\xfe" + struct.pack(
        "<diii", 920622.0, directory_at, max_blocks or n, n if nblocks is None else nblocks)
    return header + entries + body


def _status(npt: int, first: float, last: float, **more: object) -> bytes:
    return _params(DPF=1, NPT=npt, FXV=first, LXV=last, CSF=1.0, DXU="WN", **more)


def _write(tmp_path: Path, data: bytes, name: str = "built.0") -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_builder_file_reads_back(tmp_path: Path) -> None:
    y = np.array([0.5, 0.25, 0.125, 1.0], dtype="<f4")
    data = _opus([
        (INSTRUMENT, _params(INS="Builder", SRN="42")),
        (AB, y.tobytes()),
        (AB_STATUS, _status(4, 1000.0, 400.0, DAT="01/02/2024", TIM="10:20:30.5 (GMT+1)")),
    ])
    (s,) = spectra.read(_write(tmp_path, data))
    np.testing.assert_array_equal(s.x, [400.0, 600.0, 800.0, 1000.0])
    np.testing.assert_array_equal(s.y, y[::-1])
    assert s.acquisition.instrument_model == "Builder"
    assert s.acquisition.acquired_at == datetime(2024, 2, 1, 10, 20, 30, 500000,
                                                 tzinfo=timezone(timedelta(hours=1)))


def test_interferogram_only_file_is_refused_naming_what_it_holds(tmp_path: Path) -> None:
    data = _opus([(IG, np.zeros(8, "<f4").tobytes()), (IG_STATUS, _params(
        DPF=1, NPT=8, FXV=0.0, LXV=7.0, CSF=1.0, DXU="PNT"))])
    with pytest.raises(UnsupportedContentError, match=r"IgSm.*read_blocks") as info:
        spectra.read(_write(tmp_path, data))
    assert info.value.field == "data blocks"
    (ig,) = opus.read_blocks(_write(tmp_path, data))
    assert ig.x_unit is XUnit.OTHER and ig.extra["opus.x_unit"] == "PNT"


def test_a_huge_point_count_is_refused_before_allocating(tmp_path: Path) -> None:
    data = _opus([(AB, np.zeros(4, "<f4").tobytes()), (AB_STATUS, _status(2**31 - 1, 1.0, 2.0))])
    path = _write(tmp_path, data)
    tracemalloc.start()
    try:
        with pytest.raises(FormatError, match="NPT") as info:
            spectra.read(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000
    assert info.value.field is not None and info.value.field.endswith("NPT")


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d[:-40], "directory entry"),  # the last block runs past the end
        (lambda d: d[:32] + b"\xff\xff\xff\x7f" + d[36:], "directory entry"),  # an offset
        (lambda d: d[:20] + struct.pack("<i", 1000) + d[24:], "block count"),
        (lambda d: d[:12] + struct.pack("<i", 8) + d[16:], "directory offset"),
    ],
)
def test_inconsistent_structure_names_the_offset_and_field(
    tmp_path: Path, mutate: object, field: str,
) -> None:
    data = _opus([(AB, np.ones(4, "<f4").tobytes()), (AB_STATUS, _status(4, 1.0, 4.0))])
    assert callable(mutate)
    with pytest.raises(FormatError) as info:
        spectra.read(_write(tmp_path, mutate(data)))
    assert info.value.offset is not None
    assert info.value.field is not None and field in info.value.field


def test_a_parameter_overrunning_its_block_is_refused(tmp_path: Path) -> None:
    status = bytearray(_status(4, 1.0, 4.0))
    struct.pack_into("<H", status, 6, 5000)  # DPF claims 10,000 bytes
    data = _opus([(AB, np.ones(4, "<f4").tobytes()), (AB_STATUS, bytes(status))])
    with pytest.raises(FormatError, match="runs past the end") as info:
        spectra.read(_write(tmp_path, data))
    assert info.value.field is not None and "parameter size" in info.value.field


def test_truncated_real_file_names_the_block(shared_data: Path, tmp_path: Path) -> None:
    data = (shared_data / VENDOR / "file.0").read_bytes()
    with pytest.raises(FormatError, match="does not fit") as info:
        spectra.read(_write(tmp_path, data[: len(data) // 2]))
    assert info.value.offset is not None and info.value.offset < 24 + 12 * 40
