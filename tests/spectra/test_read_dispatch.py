"""The one entry point: format sniffed from content, unknown vendor formats refused clearly."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

import spectra


def _other_formats(shared_data: Path) -> list[Path]:
    root = shared_data / "formats" / "other"
    return sorted(p for p in root.rglob("*") if p.is_file() and p.name != "INDEX.csv")


WITHOUT_A_READER = {".asp", ".wxd", ".l6s"}  # Agilent, Witec, Horiba LabSpec 6


def test_vendor_binary_formats_without_a_reader_are_refused_by_name(shared_data: Path) -> None:
    files = _other_formats(shared_data)
    assert len(files) == 8  # OPUS x2, OMNIC, Agilent, Renishaw, Witec, Horiba, Princeton
    refused = [p for p in files if p.suffix in WITHOUT_A_READER]
    assert len(refused) == 3
    for path in refused:
        with pytest.raises(spectra.UnsupportedFormatError) as info:
            spectra.read(path)
        assert info.value.path == str(path)
        assert "not a spectrum file in any known format" in str(info.value)
    for path in set(files) - set(refused):  # OPUS, OMNIC, WDF, SPE: tests/spectra/test_<fmt>
        assert spectra.read(path), path


def test_format_is_sniffed_from_content_not_extension(tmp_path: Path, shared_data: Path) -> None:
    jdx = shared_data / "formats" / "jcamp" / "instrument_exports" / "readJDX_SBO_Nicolet_IR.jdx"
    spc = shared_data / "formats" / "spc" / "openspecy" / "raman_atacamit.spc"
    for src, fmt in ((jdx, "jcamp"), (spc, "spc")):
        disguised = tmp_path / f"{src.stem}.csv"
        shutil.copyfile(src, disguised)
        assert spectra.sniff(disguised) == fmt
        a, b = spectra.read(src)[0], spectra.read(disguised)[0]
        np.testing.assert_array_equal(a.x, b.x)
        np.testing.assert_array_equal(a.y, b.y)


def test_empty_and_missing_files_are_format_errors(tmp_path: Path) -> None:
    empty = tmp_path / "empty.jdx"
    empty.write_bytes(b"")
    with pytest.raises(spectra.FormatError, match="empty"):
        spectra.read(empty)
    with pytest.raises(spectra.FormatError, match="cannot open"):
        spectra.read(tmp_path / "missing.spc")


def test_write_needs_a_known_extension_or_format(tmp_path: Path) -> None:
    s = spectra.Spectrum([1.0, 2.0, 3.0], [3.0, 1.0, 2.0], technique="raman")
    with pytest.raises(spectra.UnsupportedFormatError, match="extension"):
        spectra.write(s, tmp_path / "out.xyz")
    out = spectra.write(s, tmp_path / "out.xyz", format="jcamp")
    assert spectra.read(out)[0].content_hash == s.content_hash


# -- JSON carried in our own files is untrusted input too ------------------------------------

_HOSTILE_JSON = {
    "nested": "[" * 100_000,             # the C decoder's RecursionError
    "nested within limits": "[" * 900 + "]" * 900,  # decodes; validation would recurse
    "digits": "1" * 5000,                # Python's 4,300-digit int limit: ValueError
}


@pytest.mark.parametrize("fmt", ["jcamp", "csv"])
@pytest.mark.parametrize("what", sorted(_HOSTILE_JSON))
def test_hostile_json_in_our_own_headers_is_a_format_error(
    tmp_path: Path, fmt: str, what: str
) -> None:
    s = spectra.Spectrum([1.0, 2.0, 3.0], [1.0, 2.0, 3.0], title="t")
    p = spectra.write(s, tmp_path / ("s.jdx" if fmt == "jcamp" else "s.csv"))
    body = p.read_text()
    old = "##$INTERDICT PROVENANCE=[]" if fmt == "jcamp" else "# provenance: []"
    assert old in body
    value = _HOSTILE_JSON[what]
    if what == "nested within limits":
        value = '[{"step": "x", "params": {"a": ' + value + "}}]"
    p.write_text(body.replace(old, old[:-2] + value))
    with pytest.raises(spectra.FormatError) as err:
        spectra.read(p)
    assert "PROVENANCE" in str(err.value.field).upper()


@pytest.mark.parametrize("maker", ["npz", "zip"])
def test_an_archive_is_named_as_an_archive(tmp_path: Path, maker: str) -> None:
    """A NumPy ``.npz`` (a ZIP archive) starts with ``PK``, which the SPC sniffer took for a
    new-format SPC header ('K' is its version byte) and refused with a message about an SPC
    log block; it is refused as an archive."""
    import zipfile

    path = tmp_path / f"packed.{maker}"
    if maker == "npz":
        np.savez(path, intensity=np.arange(1000.0))
    else:
        with zipfile.ZipFile(path, "w") as z:
            z.writestr("spectrum.csv", "100,1\n101,2\n")
    with pytest.raises(spectra.UnsupportedFormatError) as info:
        spectra.read(path)
    msg = str(info.value)
    assert "ZIP archive" in msg and "SPC" not in msg and info.value.path == str(path)
