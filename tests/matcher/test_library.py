"""The substance library: CAS numbers, entries, build, the file format, add/merge/sub-libraries."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from matcher.library import (
    FORMAT_VERSION,
    EntryMeta,
    InvalidCASError,
    InvalidEntryError,
    Library,
    LibraryEntry,
    LibraryError,
    LibraryFileError,
    LibraryIntegrityError,
    LibrarySet,
    LibraryVersionError,
    QueryMismatchError,
    ReferenceUnavailableError,
    cas_check_digit,
    validate_cas,
)
from matcher.results import Category
from spectra import Pipeline, Spectrum

from .test_library_data import AXIS, PIPELINE, raw_spectra, small_library

# -- CAS ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cas", ["7732-18-5", "58-08-2", "437-38-7", "50-36-2", "60-13-9", "50-98-6", "64-17-5"]
)
def test_known_cas_numbers_are_valid(cas: str) -> None:
    assert validate_cas(cas) == cas


def test_cas_canonical_form_and_malformed() -> None:
    assert validate_cas(" 0064-17-5 ") == "64-17-5"
    for bad in ["", "64175", "64-17", "6-17-5", "64-175-5", "12345678-17-5", "64-17-a"]:
        with pytest.raises(InvalidCASError, match="malformed"):
            validate_cas(bad)
    with pytest.raises(InvalidCASError, match="check digit"):
        validate_cas("64-17-6")


cas_bodies = st.tuples(
    st.integers(1, 9), st.text("0123456789", min_size=1, max_size=6),
    st.text("0123456789", min_size=2, max_size=2),
)


@given(cas_bodies)
def test_cas_with_its_check_digit_is_accepted(parts: tuple[int, str, str]) -> None:
    first = str(parts[0]) + parts[1]
    cas = f"{first}-{parts[2]}-{cas_check_digit(first + parts[2])}"
    assert validate_cas(cas) == cas


@given(cas_bodies, st.data())
def test_a_single_digit_change_is_caught_unless_the_weight_cannot_see_it(
    parts: tuple[int, str, str], data: st.DataObject
) -> None:
    first = str(parts[0]) + parts[1]
    body = first + parts[2]
    digits = list(body + str(cas_check_digit(body)))
    pos = data.draw(st.integers(0, len(digits) - 1))
    old = int(digits[pos])
    new = data.draw(st.integers(0, 9).filter(lambda v: v != old))
    if pos == 0 and new == 0:
        new = 1 if old != 1 else 2  # a leading 0 would just be dropped
    digits[pos] = str(new)
    s = "".join(digits)
    changed = f"{s[: len(first)]}-{s[len(first) : len(first) + 2]}-{s[-1]}"
    # The CAS check digit weights the n-th digit from the right (before the check digit) by
    # n: a change of d in a digit of weight w goes unseen exactly when w·d ≡ 0 (mod 10)
    # (e.g. weight 2 and a change of 5). Everything else must be caught.
    weight = len(digits) - 1 - pos  # 0 for the check digit itself
    unseen = weight > 0 and (weight * (new - old)) % 10 == 0
    if unseen:
        assert validate_cas(changed) == changed
    else:
        with pytest.raises(InvalidCASError):
            validate_cas(changed)


# -- entries -----------------------------------------------------------------------------


def test_entry_validation_names_the_field() -> None:
    ok = {"id": "fentanyl-hcl", "name": "Fentanyl HCl", "technique": "raman",
          "spectrum_hash": "a" * 64, "category": "controlled",
          "schedule": "UN 1961 Schedule I", "cas": "437-38-7"}
    e = LibraryEntry(**ok)  # type: ignore[arg-type]
    assert e.category is Category.CONTROLLED
    with pytest.raises(ValueError, match="check digit"):
        LibraryEntry(**{**ok, "cas": "437-38-8"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="invalid entry id"):
        LibraryEntry(**{**ok, "id": "bad id/with spaces"})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="schedule"):
        LibraryEntry(**{**ok, "category": "benign"})  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        e.name = "x"  # type: ignore[misc]  # frozen


# -- build -------------------------------------------------------------------------------


def test_build_prepares_every_reference_through_the_pipeline() -> None:
    refs = raw_spectra(5)
    lib = Library.build(
        [(EntryMeta(name=f"S{i}", cas="64-17-5" if i == 0 else None), s)
         for i, s in enumerate(refs)],
        pipeline=PIPELINE, axis=AXIS, technique="raman", library_id="t",
    )
    assert lib.matrix.shape == (5, AXIS.size) and lib.matrix.dtype == np.float32
    assert not lib.matrix.flags.writeable
    for i, s in enumerate(refs):
        p = PIPELINE.apply(s)
        np.testing.assert_allclose(lib.matrix[i], np.interp(AXIS, p.x, p.y), rtol=1e-6)
        np.testing.assert_array_equal(lib.prepare(s), lib.matrix[i])
        assert lib.entries[i].spectrum_hash == s.content_hash
        assert lib.reference(i) == s
    assert [e.id for e in lib.entries] == ["S0", "S1", "S2", "S3", "S4"]
    assert lib.entries[0].cas == "64-17-5"


def test_build_refuses_bad_references() -> None:
    refs = raw_spectra(2)
    kw = {"pipeline": PIPELINE, "axis": AXIS, "technique": "raman", "library_id": "t"}
    with pytest.raises(InvalidEntryError, match="duplicate entry id 'a'"):
        Library.build([({"name": "a"}, refs[0]), ({"name": "a"}, refs[1])], **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidEntryError, match="ftir-atr"):
        Library.build([({"name": "a", "technique": "ftir-atr"}, refs[0])], **kw)  # type: ignore[arg-type]
    short = Spectrum(np.arange(1500.0, 1900.0), np.random.default_rng(0).random(400),
                     technique="raman", source="short.csv")
    with pytest.raises(InvalidEntryError, match=r"short\.csv.*covers"):
        Library.build([({"name": "short"}, short)], **kw)  # type: ignore[arg-type]
    with pytest.raises(InvalidEntryError, match="check digit"):
        Library.build([({"name": "a", "cas": "64-17-4"}, refs[0])], **kw)  # type: ignore[arg-type]


def test_technique_other_takes_the_metadata_technique() -> None:
    s = raw_spectra(1, technique="other", x_unit="raman-shift-cm-1")[0]
    lib = Library.build([({"name": "x", "technique": "raman"}, s)], pipeline=PIPELINE,
                        axis=AXIS, technique="raman", library_id="t")
    assert lib.reference(0).technique.value == "raman"


def test_prepare_refuses_what_cannot_be_compared() -> None:
    lib = small_library(3)
    s = raw_spectra(1, seed=9)[0]
    with pytest.raises(QueryMismatchError, match="ftir-atr spectrum"):
        lib.prepare(s.replace(technique="ftir-atr"))
    with pytest.raises(QueryMismatchError, match="did not say what was measured"):
        lib.prepare(s.replace(technique="other"))
    with pytest.raises(QueryMismatchError, match="x axis is in wavenumber"):
        lib.prepare(s.replace(x_unit="wavenumber-cm-1"))
    with pytest.raises(QueryMismatchError, match="covers"):
        lib.prepare(s.replace(x=s.x[:200], y=s.y[:200]))
    q = lib.prepare(s)
    assert q.shape == AXIS.shape and not q.flags.writeable


# -- file --------------------------------------------------------------------------------


def test_save_load_round_trip(tmp_path: Path) -> None:
    lib = small_library(8)
    path = lib.save(tmp_path / "lib.ilib")
    back = Library.load(path)
    assert back.hash == lib.hash == back.compute_hash()
    assert list(back.entries) == list(lib.entries)
    np.testing.assert_array_equal(back.matrix, lib.matrix)
    np.testing.assert_array_equal(back.axis, lib.axis)
    assert back.pipeline == lib.pipeline and back.technique is lib.technique
    assert [back.reference(i) for i in range(8)] == [lib.reference(i) for i in range(8)]
    # read into private memory (no shared mapping of a file someone may cut), read-only;
    # entries decode on demand
    assert back.matrix.flags.owndata and not back.matrix.flags.writeable
    assert back.index_of("s3") == 3
    # the same content saved twice gives the same file (deterministic)
    again = back.save(tmp_path / "again.ilib")
    assert again.read_bytes() == path.read_bytes()


def test_hash_changes_with_content() -> None:
    a = small_library(4)
    b = small_library(4, seed=1)
    c = small_library(4, library_id="other-name")
    assert len({a.hash, b.hash, c.hash}) == 3
    assert a.hash == small_library(4).hash


def _patched(path: Path, offset: int, data: bytes, out: Path) -> Path:
    raw = bytearray(path.read_bytes())
    raw[offset : offset + len(data)] = data
    out.write_bytes(bytes(raw))
    return out


def test_newer_format_version_is_refused(tmp_path: Path) -> None:
    path = small_library(2).save(tmp_path / "lib.ilib")
    newer = _patched(path, 8, (FORMAT_VERSION + 1).to_bytes(4, "little"), tmp_path / "n.ilib")
    with pytest.raises(LibraryVersionError, match=f"version {FORMAT_VERSION + 1}") as ei:
        Library.load(newer)
    assert ei.value.path == str(newer) and ei.value.field == "format_version"


def test_corrupt_and_truncated_files_give_typed_errors(tmp_path: Path) -> None:
    lib = small_library(4)
    path = lib.save(tmp_path / "lib.ilib")
    size = path.stat().st_size
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    cut = tmp_path / "cut.ilib"
    cut.write_bytes(path.read_bytes()[: size - 100])
    with pytest.raises(LibraryFileError, match="truncated"):
        Library.load(cut)
    tiny = tmp_path / "tiny.ilib"
    tiny.write_bytes(path.read_bytes()[:20])
    with pytest.raises(LibraryFileError, match="truncated"):
        Library.load(tiny)
    other = tmp_path / "spectrum.csv"
    other.write_text("100,1\n200,2\n")
    with pytest.raises(LibraryFileError, match="not an Interdict library"):
        Library.load(other)
    with pytest.raises(LibraryFileError, match="cannot open"):
        Library.load(tmp_path / "missing.ilib")
    # a flipped byte in the header
    with pytest.raises(LibraryFileError, match="header checksum"):
        Library.load(_patched(path, 70, b"#", tmp_path / "h.ilib"))
    # a flipped byte in the matrix: opening verifies the content hash, and refuses
    data_start = (64 + int.from_bytes(path.read_bytes()[16:24], "little") + 63) // 64 * 64
    bad_m = _patched(path, data_start + 10, b"\x7f", tmp_path / "m.ilib")
    with pytest.raises(LibraryIntegrityError, match="content hash mismatch") as ei:
        Library.load(bad_m)
    assert ei.value.recorded == lib.hash and ei.value.part == lib.id
    # a flipped byte in the raw references: found when that reference is decoded
    import json

    raw_sec = json.loads(path.read_bytes()[64 : data_start].rstrip(b"\x00"))["parts"][0]["raw"]
    last = data_start + raw_sec["offset"] + raw_sec["length"] - 30
    bad_r = _patched(path, last, b"\x00\x01\x02", tmp_path / "r.ilib")
    loaded = Library.load(bad_r)
    with pytest.raises(LibraryFileError, match="corrupt"):
        loaded.reference(3)
    # nothing stored was altered by any of this
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before


def test_saving_over_a_file_is_atomic(tmp_path: Path) -> None:
    path = small_library(3).save(tmp_path / "lib.ilib")
    opened = Library.load(path)
    bigger = opened.add({"name": "Extra", "id": "extra"}, raw_spectra(1, seed=5)[0])
    bigger.save(path)  # replaces the file while the old one is mapped
    assert len(Library.load(path)) == 4
    assert len(opened) == 3 and opened.entries[2].id == "s2"
    assert not list(tmp_path.glob(".*.tmp"))


def test_replacing_keeps_the_file_mode(tmp_path: Path) -> None:
    path = small_library(3).save(tmp_path / "lib.ilib")
    path.chmod(0o640)
    small_library(4).save(path)
    assert path.stat().st_mode & 0o777 == 0o640 and len(Library.load(path)) == 4


def test_opening_does_not_leak_file_descriptors(tmp_path: Path) -> None:
    """The descriptor kept for raw references closes with the last library that uses it."""
    import os

    path = small_library(3).save(tmp_path / "lib.ilib")
    fds = len(os.listdir("/proc/self/fd")) if Path("/proc/self/fd").is_dir() else None
    if fds is None:
        pytest.skip("no /proc/self/fd here")
    for _ in range(50):
        lib = Library.load(path)
        assert lib.reference(2).content_hash == lib.entries[2].spectrum_hash
        del lib
    assert len(os.listdir("/proc/self/fd")) <= fds


# -- add, merge, sub-libraries, sets ------------------------------------------------------


def test_add_returns_a_new_library() -> None:
    lib = small_library(3)
    s = raw_spectra(1, seed=7)[0]
    more = lib.add({"name": "User sample", "id": "user-1", "category": "benign"}, s)
    assert len(lib) == 3 and len(more) == 4
    assert more.entries[3].id == "user-1" and more.reference(3) == s
    np.testing.assert_array_equal(more.matrix[3], lib.prepare(s))
    assert more.hash != lib.hash
    with pytest.raises(InvalidEntryError, match="user-1"):
        more.add({"name": "again", "id": "user-1"}, s)


def test_merge_checks_compatibility(tmp_path: Path) -> None:
    base = Library.load(small_library(4).save(tmp_path / "base.ilib"))
    refs = raw_spectra(2, seed=3)
    user = Library.build([({"name": f"U{i}"}, s) for i, s in enumerate(refs)],
                         pipeline=base.pipeline, axis=base.axis, technique="raman",
                         library_id="user")
    merged = base.merge(user)
    assert [e.id for e in merged.entries] == ["s0", "s1", "s2", "s3", "U0", "U1"]
    assert merged.reference(5) == refs[1] and merged.reference(0) == base.reference(0)
    again = Library.load(merged.save(tmp_path / "m.ilib"))
    assert again.hash == merged.hash
    with pytest.raises(InvalidEntryError, match="already in"):
        merged.merge(user)
    other_axis = Library.build([({"name": "x"}, refs[0])], pipeline=base.pipeline,
                               axis=AXIS[:-5], technique="raman", library_id="o")
    with pytest.raises(LibraryError, match="different axes"):
        base.merge(other_axis)
    other_pipe = Library.build([({"name": "x"}, refs[0])], pipeline=Pipeline.of(
        ("normalize", {"method": "snv"})), axis=AXIS, technique="raman", library_id="o")
    with pytest.raises(LibraryError, match="different pipelines"):
        base.merge(other_pipe)


def test_sublibrary_by_excitation() -> None:
    refs = raw_spectra(6)
    lib = Library.build(
        [({"name": f"S{i}", "excitation_nm": 785.0 if i % 2 else 532.0}, s)
         for i, s in enumerate(refs)],
        pipeline=PIPELINE, axis=AXIS, technique="raman", library_id="mixed",
    )
    sub = lib.sublibrary(excitation_nm=785)
    assert [e.id for e in sub.entries] == ["S1", "S3", "S5"]
    np.testing.assert_array_equal(sub.matrix, lib.matrix[[1, 3, 5]])
    assert sub.reference(1) == refs[3]
    assert sub.id == "mixed[785nm]"
    with pytest.raises(LibraryError, match="no entry"):
        lib.sublibrary(excitation_nm=1064)


def test_library_set_holds_raman_and_ftir_in_one_file(tmp_path: Path) -> None:
    raman = small_library(3, library_id="raman-785")
    x = np.arange(600.0, 3800.0, 4.0)
    rng = np.random.default_rng(1)
    ir = [Spectrum(x, 0.1 + np.abs(np.sin(x / (50 + 10 * i))) * rng.random(),
                   technique="ftir-atr", x_unit="wavenumber-cm-1") for i in range(3)]
    ftir = Library.build([({"name": f"IR{i}"}, s) for i, s in enumerate(ir)],
                         pipeline=Pipeline.of(("normalize", {})),
                         axis=np.arange(650.0, 3700.0, 4.0), technique="ftir-atr",
                         library_id="ftir")
    path = LibrarySet([raman, ftir]).save(tmp_path / "both.ilib")
    both = LibrarySet.load(path)
    assert [p.id for p in both] == ["raman-785", "ftir"]
    assert both.select("raman").hash == raman.hash
    assert both.select("infrared").hash == ftir.hash  # any mid-IR technique
    assert both.get("ftir").reference(2) == ir[2]
    with pytest.raises(LibraryError, match="holds 2 libraries"):
        Library.load(path)
    assert Library.load(path, part="ftir").hash == ftir.hash
    with pytest.raises(LibraryError, match="no nmr library"):
        both.select("nmr")


def test_from_vectors_has_no_references() -> None:
    e = LibraryEntry(id="v", name="v", technique="raman", spectrum_hash="0" * 64)
    lib = Library.from_vectors([e], np.ones((1, AXIS.size)) + np.arange(AXIS.size),
                               axis=AXIS, pipeline=PIPELINE, technique="raman",
                               library_id="vec")
    with pytest.raises(ReferenceUnavailableError):
        lib.reference(0)
    with pytest.raises(LibraryError, match="non-finite"):
        Library.from_vectors([e], np.full((1, AXIS.size), np.nan), axis=AXIS,
                             pipeline=PIPELINE, technique="raman", library_id="vec")


# -- real files --------------------------------------------------------------------------


@pytest.mark.shared
def test_build_from_real_portable_raman_standards(shared_data: Path) -> None:
    import spectra

    folder = shared_data / "raman" / "portable_reagents_drugs_whenfung" / "pure"
    files = sorted(folder.glob("*.txt"))
    assert len(files) == 20
    refs = []
    for f in files:
        s = spectra.read(f)[0]
        # plain x,y files do not say what they hold: the index (here, the test) says so
        s = s.replace(technique="raman", x_unit="raman-shift-cm-1")
        refs.append(({"name": f.stem.replace("_", " "), "id": f.stem}, s))
    lib = Library.build(refs, pipeline=PIPELINE, axis=np.arange(200.0, 1880.0, 2.0),
                        technique="raman", library_id="whenfung")
    scores = lib.matrix.astype(np.float64)
    scores -= scores.mean(axis=1, keepdims=True)
    scores /= np.linalg.norm(scores, axis=1, keepdims=True)
    corr = scores @ scores.T
    # every standard is its own best match, and no two standards are the same spectrum
    assert np.all(np.argmax(corr, axis=1) == np.arange(20))
    assert np.max(corr - 2 * np.eye(20)) < 0.999
    assert lib.index_of("amphetamine_sulfate") == [f.stem for f in files].index(
        "amphetamine_sulfate")


def test_the_callers_matrix_is_neither_frozen_nor_shared() -> None:
    e = LibraryEntry(id="v", name="v", technique="raman", spectrum_hash="0" * 64)
    mine = (np.arange(AXIS.size, dtype=np.float32) + 1.0)[None, :].copy()
    lib = Library.from_vectors([e], mine, axis=AXIS, pipeline=PIPELINE, technique="raman",
                               library_id="vec")
    assert mine.flags.writeable
    mine[0, 0] = 1e6
    assert lib.matrix[0, 0] == 1.0
