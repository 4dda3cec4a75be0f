"""``build_from_files``: a library from spectrum files on several cores, the same as one by
one, with stray files refused by name or skipped with the reason."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spectra
from matcher.library import (
    EntryMeta,
    InvalidEntryError,
    Library,
    LibraryError,
    SkippedFile,
    UnreadableReferenceError,
    build_from_files,
)

from .test_library_data import AXIS, PIPELINE, raw_spectra

BUILD = {"pipeline": PIPELINE, "axis": AXIS, "technique": "raman", "library_id": "files"}


def write_refs(folder: Path, n: int, *, seed: int = 0) -> list[Path]:
    """``n`` plain ``x,y`` text files (no technique, no unit: the library's are taken)."""
    folder.mkdir(exist_ok=True)
    out = []
    for i, s in enumerate(raw_spectra(n, seed)):
        path = folder / f"ref-{i:02d}.txt"
        path.write_text("".join(f"{a},{b}\n" for a, b in zip(s.x, s.y, strict=True)))
        out.append(path)
    return out


def write_strays(folder: Path) -> list[Path]:
    """What a downloaded folder also holds: a README, a metadata table, a packed archive."""
    folder.mkdir(exist_ok=True)
    readme = folder / "README.txt"
    readme.write_text("Reference spectra, downloaded 2026. See the licence.\n")
    table = folder / "metadata.csv"
    table.write_text("file,mineral,locality\nref-00.txt,Calcite,Montana\n")
    npz = folder / "packed.npz"
    np.savez(npz, intensity=np.arange(10.0))
    return [readme, table, npz]


def ftir_file(folder: Path) -> Path:
    s = raw_spectra(1, seed=9, technique="ftir-atr", x_unit="wavenumber-cm-1")[0]
    return spectra.write(s, folder / "an-ftir-reference.jcamp")


def test_workers_build_the_same_file_as_one_by_one_and_skip_strays(tmp_path: Path) -> None:
    refs = write_refs(tmp_path / "refs", 40)
    strays = write_strays(tmp_path / "refs")
    ftir = ftir_file(tmp_path / "refs")
    sources = [*refs[:20], strays[0], *refs[20:], *strays[1:], ftir]
    calls: dict[int, list[tuple[int, int]]] = {1: [], 2: []}
    built = {
        w: build_from_files(sources, **BUILD, workers=w, skip_unreadable=True,  # type: ignore[arg-type]
                            progress=lambda d, t, w=w: calls[w].append((d, t)))
        for w in (1, 2)
    }
    saved = {w: b.library.save(tmp_path / f"w{w}.ilib").read_bytes() for w, b in built.items()}
    assert saved[1] == saved[2]
    assert built[1].skipped == built[2].skipped
    assert [s.path for s in built[1].skipped] == [str(p) for p in (*strays, ftir)]
    readme, table, npz, wrong = (s.reason for s in built[1].skipped)
    assert "not a spectrum file in any known format" in readme
    assert table.startswith(str(strays[1])) and "spectrum" in table
    assert npz.startswith(str(strays[2]))  # a reader's message (today the SPC reader's)
    assert "a ftir-atr reference cannot go in a raman library" in wrong
    assert str(built[1].skipped[0]) == readme  # the reader's message names the file itself
    # the same library as Library.build of the readable files, read one by one
    one_by_one = Library.build(
        [({"name": p.stem, "id": p.stem, "source": str(p)},
          spectra.read(p)[0].replace(technique="raman", x_unit="raman-shift-cm-1",
                                     source=str(p)))
         for p in refs], **BUILD)  # type: ignore[arg-type]
    assert built[1].library.hash == one_by_one.hash and len(one_by_one) == 40
    assert one_by_one.save(tmp_path / "one.ilib").read_bytes() == saved[1]
    total = len(sources)
    assert calls[1] == calls[2] == [(min(k, total), total) for k in range(16, total + 16, 16)]


def test_without_skipping_the_first_stray_file_stops_the_build_by_name(tmp_path: Path) -> None:
    refs = write_refs(tmp_path / "refs", 3)
    strays = write_strays(tmp_path / "refs")
    with pytest.raises(UnreadableReferenceError) as err:
        build_from_files([refs[0], strays[1], refs[1], strays[0]], **BUILD)  # type: ignore[arg-type]
    assert err.value.path == str(strays[1])
    assert str(err.value).startswith(str(strays[1]))
    assert "not a spectrum file" in str(err.value)
    assert "skip_unreadable" in str(err.value)


def test_a_missing_file_is_unreadable_with_the_systems_reason(tmp_path: Path) -> None:
    gone = tmp_path / "gone.txt"
    built = build_from_files([*write_refs(tmp_path / "refs", 2), gone], **BUILD,  # type: ignore[arg-type]
                             skip_unreadable=True)
    assert built.skipped == (SkippedFile(str(gone), built.skipped[0].reason),)
    assert "No such file" in built.skipped[0].reason or "not found" in built.skipped[0].reason


def test_index_rows_name_their_files_entries(tmp_path: Path) -> None:
    refs = write_refs(tmp_path / "refs", 2)
    metas = [EntryMeta(name="Cocaine HCl", id="cocaine", category="controlled"),
             EntryMeta(name="Lactose", cas="63-42-3", category="cutting-agent")]
    lib = build_from_files(list(zip(refs, metas, strict=True)), **BUILD).library  # type: ignore[arg-type]
    assert [e.id for e in lib.entries] == ["cocaine", "Lactose"]
    assert lib.entries[0].category.value == "controlled" and lib.entries[1].cas == "63-42-3"
    ref = lib.reference(0)
    assert (ref.title, ref.source, ref.technique.value, ref.x_unit.value) == (
        "Cocaine HCl", str(refs[0]), "raman", "raman-shift-cm-1")


def test_duplicate_ids_are_refused_even_when_skipping(tmp_path: Path) -> None:
    a = write_refs(tmp_path / "a", 1)[0]
    b = write_refs(tmp_path / "b", 1, seed=3)[0]  # the same stem in another folder
    with pytest.raises(InvalidEntryError, match="duplicate entry id 'ref-00'"):
        build_from_files([a, b], **BUILD, skip_unreadable=True)  # type: ignore[arg-type]


def test_bad_arguments_are_refused_before_any_file_is_read(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="workers"):
        build_from_files([tmp_path / "x.txt"], **BUILD, workers=0)  # type: ignore[arg-type]
    with pytest.raises(LibraryError, match="increasing"):
        build_from_files([tmp_path / "x.txt"], **{**BUILD, "axis": [3.0, 2.0, 1.0]})  # type: ignore[arg-type]
