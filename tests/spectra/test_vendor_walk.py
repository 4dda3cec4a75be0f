"""Every real vendor binary in the shared tree is read or refused as documented.

The table below is the one in ``docs/formats.md`` ("Vendor binaries, measured"): each file
with the number of spectra it gives, or the error class and field it is refused with.
Then a bounded mutation run: truncations, bit flips and absurd counts in every real file
give a spectrum or a :class:`spectra.FormatError`, never another exception, within a
memory bound.
"""

from __future__ import annotations

import contextlib
import random
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

import spectra

READS = "read"
NONE = "-"  # no format claims the file
# path under formats/ -> (format, spectra read) or (format, error class, field)
EXPECTED: dict[str, tuple[str, str, object] | tuple[str, type[Exception], str]] = {
    "vendor/opus/file.0": ("opus", READS, 1),
    "vendor/opus/617262_1TP_C-1_A5.0": ("opus", READS, 1),
    "vendor/opus/MMP_2107_Test1.001": ("opus", READS, 1),
    "vendor/opus/test_spectra.0": ("opus", READS, 1),
    "vendor/opus/issue81_A1.1.0": ("opus", READS, 1),
    "vendor/opus/issue82_Opus_test.0": ("opus", READS, 1),
    "vendor/opus/141009_001-01_0-6.0": ("opus", READS, 1),
    "other/openspecy/ftir_ps.0": ("opus", READS, 1),
    "other/charisma_ramanchada2/test_opus.0": ("opus", READS, 1),
    "vendor/omnic/cylohex.spa": ("omnic", READS, 1),
    "vendor/omnic/wodger.spg": ("omnic", READS, 2),
    "other/openspecy/ftir_polyethylene_reflectance_adjustment_not_working.spa": (
        "omnic", READS, 1),
    "vendor/wdf/ex1.wdf": ("wdf", READS, 1),
    "vendor/wdf/test1.wdf": ("wdf", READS, 1),
    "vendor/wdf/depth.wdf": ("wdf", READS, 40),
    "other/charisma_ramanchada2/Renishaw/nCal_Qontor785_z005H12_100_1x3s.wdf": (
        "wdf", READS, 1),
    "vendor/spe/Testfile_Single_SPE2.SPE": ("spe", READS, 35),
    "vendor/spe/Testfile_Single_SPE3.spe": ("spe", READS, 1),
    "vendor/spe/one_dimensional_spectrum.spe": ("spe", READS, 1),
    "vendor/spe/test_multiple_rois.spe": ("spe", READS, 5),
    "vendor/spe/two_rectangular_rois_different_binning.spe": (
        "spe", spectra.UnsupportedContentError, "DataFormat/Region height"),
    "vendor/spe/ten_frames_two_rois_different_binning.spe": (
        "spe", spectra.UnsupportedContentError, "DataFormat/Region height"),
    "other/charisma_ramanchada2/PrincetonInstruments/S0N_50x.spe": ("spe", READS, 1),
    "vendor/perkinelmer_sp/spectra.sp": ("perkinelmer", READS, 1),
    "vendor/perkinelmer_sp/Transmission1.sp": ("perkinelmer", READS, 1),
    "vendor/perkinelmer_sp/Reflection1.sp": ("perkinelmer", READS, 1),
    "vendor/perkinelmer_sp/BG20.mod0.sp": ("perkinelmer", READS, 1),
    "vendor/perkinelmer_sp/A1721001.sp": ("perkinelmer", READS, 1),
    "vendor/perkinelmer_sp/1106.Sample.Raw.sp": ("perkinelmer", READS, 1),
    "vendor/ocean_text/tsunami.scope": ("ocean", READS, 1),
    "vendor/ocean_text/OO_comma.txt": ("ocean", READS, 1),
    # Horiba LabSpec 6 maps and LabSpec 5 .ngc: no reader yet (docs/formats.md)
    "vendor/horiba/AlN_Gd2O3_indepth.l6m": (NONE, spectra.UnsupportedFormatError, ""),
    "vendor/horiba/offgrid_3.l6m": (NONE, spectra.UnsupportedFormatError, ""),
    "vendor/horiba/vertical_linescan.ngc": (NONE, spectra.UnsupportedFormatError, ""),
    "vendor/horiba/rectangular_map.ngc": (NONE, spectra.UnsupportedFormatError, ""),
    "vendor/horiba/circular_map.ngc": (NONE, spectra.UnsupportedFormatError, ""),
}
FOLDERS = ("vendor/opus", "vendor/omnic", "vendor/wdf", "vendor/spe", "vendor/perkinelmer_sp",
           "vendor/ocean_text", "vendor/horiba")


def _files(shared: Path) -> list[Path]:
    root = shared / "formats"
    return [root / name for name, (fmt, _, _) in EXPECTED.items() if fmt != NONE]


def test_every_vendor_binary_is_read_or_refused_as_documented(shared_data: Path) -> None:
    root = shared_data / "formats"
    on_disk = {
        str(p.relative_to(root)) for folder in FOLDERS for p in (root / folder).iterdir()
        if p.is_file()
    }
    assert on_disk <= set(EXPECTED), f"not in the table: {sorted(on_disk - set(EXPECTED))}"
    counts: Counter[str] = Counter()
    for name, (fmt, outcome, detail) in EXPECTED.items():
        path = root / name
        if fmt == NONE:
            with pytest.raises(spectra.UnsupportedFormatError) as info:
                spectra.read(path)
            assert info.value.offset == 0 and info.value.path == str(path)
            counts["no reader"] += 1
            continue
        assert spectra.sniff(path) == fmt, name
        if outcome == READS:
            found = spectra.read(path)
            assert len(found) == detail, name
            counts[f"{fmt} read"] += 1
            counts[f"{fmt} spectra"] += len(found)
        else:
            assert isinstance(outcome, type)
            with pytest.raises(outcome) as info:
                spectra.read(path)
            assert isinstance(info.value, spectra.FormatError)
            assert info.value.field == detail and info.value.path == str(path), name
            counts[f"{fmt} refused"] += 1
    print("vendor binaries:", dict(sorted(counts.items())))
    assert counts == {
        "opus read": 9, "opus spectra": 9, "omnic read": 3, "omnic spectra": 4,
        "wdf read": 4, "wdf spectra": 43, "spe read": 5, "spe spectra": 43, "spe refused": 2,
        "perkinelmer read": 6, "perkinelmer spectra": 6, "ocean read": 2, "ocean spectra": 2,
        "no reader": 5,
    }


def test_memory_stays_within_a_small_multiple_of_the_file(shared_data: Path) -> None:
    files = _files(shared_data)
    spectra.read(files[0])  # imports and first-use caches are not the reader's allocations
    for path in files:
        tracemalloc.start()
        try:
            with contextlib.suppress(spectra.UnsupportedContentError):
                spectra.read(path)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert peak < 4 * path.stat().st_size + 2_000_000, (path.name, peak)


def _mutate(data: bytes, rng: random.Random) -> bytes:
    b = bytearray(data)
    kind = rng.randrange(5)
    if kind == 0:
        return bytes(b[: rng.randrange(len(b))])
    if kind == 1:
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
    elif kind == 2:  # an absurd count or offset in the first 4 kB
        i = rng.randrange(min(len(b), 4096) - 4)
        b[i : i + 4] = rng.choice([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x80", b"\x00\x00\x00\x00"])
    elif kind == 3:
        for _ in range(rng.randint(1, 16)):
            b[rng.randrange(min(len(b), 2048))] = rng.randrange(256)
    else:  # near the end: footers, XML, property sets
        for _ in range(rng.randint(1, 16)):
            b[len(b) - 1 - rng.randrange(min(len(b), 20000))] = rng.randrange(256)
    return bytes(b)


@pytest.mark.parametrize("name", [n for n, (fmt, _, _) in EXPECTED.items() if fmt != NONE])
def test_mutated_real_files_give_spectra_or_format_errors(
    shared_data: Path, tmp_path: Path, name: str
) -> None:
    path = shared_data / "formats" / name
    data = path.read_bytes()
    rng = random.Random(name)  # seeded: the same mutations every run
    target = tmp_path / path.name
    outcomes: Counter[str] = Counter()
    for _ in range(30):
        target.write_bytes(_mutate(data, rng))
        try:
            spectra.read(target)
            outcomes["read"] += 1
        except spectra.FormatError as exc:
            assert exc.path == str(target)
            outcomes[type(exc).__name__] += 1
    assert sum(outcomes.values()) == 30


def test_files_over_the_size_limit_are_refused_before_reading(
    shared_data: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from spectra.formats import _binary

    path = shared_data / "formats" / "vendor" / "wdf" / "depth.wdf"
    monkeypatch.setattr(_binary, "MAX_FILE_BYTES", path.stat().st_size - 1)
    with pytest.raises(spectra.UnsupportedContentError, match="larger than") as info:
        spectra.read(path)
    assert info.value.field == "file size" and info.value.offset == 0
