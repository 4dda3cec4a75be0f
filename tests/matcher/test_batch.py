"""Identifiers kept per library part, and many files identified on several cores: the same
results, in the same order, as one by one."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import spectra
from matcher.batch import FileResult, Identifiers, identify_files
from matcher.identify import Identifier
from matcher.library import Library, LibraryError, LibrarySet
from matcher.quality import assess

from .test_library_data import AXIS, PIPELINE, raw_spectra, small_library


def library_set() -> LibrarySet:
    ftir = Library.build(
        [({"name": f"Polymer {i}", "id": f"p{i}"}, s) for i, s in enumerate(
            raw_spectra(6, 5, technique="ftir-atr", x_unit="wavenumber-cm-1"))],
        pipeline=PIPELINE, axis=AXIS, technique="ftir-atr", library_id="test-ftir")
    return LibrarySet([small_library(12, library_id="test-raman"), ftir])


def queries(folder: Path) -> list[Path]:
    """Measured-like files: library members with noise (Raman, stated), one of an FTIR
    member, one plain x,y file (says nothing), one unreadable file."""
    folder.mkdir()
    rng = np.random.default_rng(3)
    out = []
    for i, s in enumerate(raw_spectra(12, 0)[:6]):
        noisy = s.replace(y=s.y + rng.normal(0, 5, s.y.size))
        out.append(spectra.write(noisy, folder / f"raman-{i}.jcamp"))
    ftir = raw_spectra(6, 5, technique="ftir-atr", x_unit="wavenumber-cm-1")[2]
    out.append(spectra.write(ftir, folder / "ftir.jcamp"))
    plain = folder / "plain.txt"
    s = raw_spectra(12, 0)[4]
    plain.write_text("".join(f"{a},{b}\n" for a, b in zip(s.x, s.y, strict=True)))
    out.append(plain)
    bad = folder / "notes.txt"
    bad.write_text("measured on Tuesday\n")
    out.append(bad)
    return out


def one_by_one(ids: Identifiers, paths: list[Path], technique: str | None) -> list[FileResult]:
    """The reference: read each file, route, identify, here, one spectrum at a time."""
    plan = ids.plan(technique=technique)
    out = []
    for p in paths:
        try:
            found = spectra.read(p)
        except (spectra.SpectraError, OSError, ValueError) as exc:
            out.append(FileResult(str(p), 0, 0, "", None, str(exc), type(exc)))
            continue
        for i, raw in enumerate(found):
            try:
                s, part = plan.route(raw)
                res = ids.get(plan.ids[part]).identify(s)
            except (spectra.SpectraError, LibraryError, ValueError) as exc:
                out.append(FileResult(str(p), i, len(found), raw.title, None, str(exc),
                                      type(exc)))
                continue
            out.append(FileResult(str(p), i, len(found), raw.title, res, None))
    return out


def test_files_on_two_workers_give_what_one_by_one_gives(tmp_path: Path) -> None:
    paths = queries(tmp_path / "q")
    ids = Identifiers(library_set())
    expected = one_by_one(ids, paths, None)
    calls: list[tuple[int, int]] = []
    for workers in (1, 2):
        got = list(identify_files(paths, ids, workers=workers,
                                  progress=lambda d, t: calls.append((d, t))))
        assert got == expected
    assert [r.path for r in expected] == [str(p) for p in paths]
    assert [r.result.library_id for r in expected[:7]] == ["test-raman"] * 6 + ["test-ftir"]
    assert expected[0].result.hits[0].entry_id == "s0"
    assert expected[7].error is not None and "give --technique" in expected[7].error
    assert expected[8].count == 0 and "not a spectrum file" in expected[8].error
    assert calls[-1] == (len(paths), len(paths))


def test_a_technique_for_files_that_do_not_say(tmp_path: Path) -> None:
    paths = queries(tmp_path / "q")
    ids = Identifiers(library_set())
    got = list(identify_files(paths[7:8], ids, technique="raman"))
    assert got == one_by_one(ids, paths[7:8], "raman")
    assert got[0].result is not None and got[0].result.hits[0].entry_id == "s4"


def test_each_part_gets_one_identifier_built_once() -> None:
    lib_set = library_set()
    ids = Identifiers(lib_set)
    a = ids.get("test-raman")
    assert ids.get("test-raman") is a and ids.get("test-ftir") is not a
    s = raw_spectra(12, 0)[3]
    assert ids.identify(s) == Identifier(lib_set.get("test-raman")).identify(s)
    with pytest.raises(LibraryError, match="no library 'nope'"):
        list(identify_files([Path("never-read.txt")], ids, part="nope"))


def test_identify_prepared_is_identify() -> None:
    lib = small_library(12)
    ident = Identifier(lib)
    for s in raw_spectra(12, 0)[:3]:
        q = assess(s, ident.thresholds.quality)
        assert ident.identify_prepared(q, lib.preparer().prepare(s)) == ident.identify(s)
