"""Fixtures shared by the identification tests: real libraries built from ../shared/data.

Imported by the other ``test_*`` modules of this folder; it holds one sanity test itself.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

import spectra
from matcher import defaults
from matcher.library import EntryMeta, Library
from matcher.results import Category
from spectra import Spectrum

WHENFUNG = Path("raman") / "portable_reagents_drugs_whenfung"
RRUFF_RAMAN = Path("raman") / "rruff_excellent_unoriented" / "original_files"
RRUFF_FTIR = Path("ftir") / "rruff_infrared_processed" / "original_files"

CATEGORIES = {
    "amphetamine_sulfate": (Category.CONTROLLED, "US CSA II"),
    "phenobarbital": (Category.CONTROLLED, "US CSA IV"),
    "ephedrine_hydrochloride": (Category.PRECURSOR, None),
}


def whenfung_rows(shared: Path) -> list[dict[str, str]]:
    """Rows of the whenfung index.csv."""
    with open(shared / WHENFUNG / "index.csv", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def load_whenfung(shared: Path, rel: str) -> Spectrum:
    """One whenfung spectrum (x,y CSV of raw counts) as a Raman spectrum."""
    d = np.loadtxt(shared / WHENFUNG / rel, delimiter=",")
    return Spectrum(d[:, 0], d[:, 1], technique="raman", y_unit="counts", source=rel)


def build_whenfung(shared: Path, synthetic: frozenset[str] = frozenset()) -> Library:
    """The 20 pure standards through the default Raman pipeline; categories from CATEGORIES."""
    refs = []
    for r in whenfung_rows(shared):
        if r["kind"] != "pure":
            continue
        name = r["substance"]
        cat, sched = CATEGORIES.get(name, (Category.HAZARDOUS, None))
        refs.append((EntryMeta(name=name, category=cat, schedule=sched,
                               synthetic=name in synthetic), load_whenfung(shared, r["file"])))
    return Library.build(refs, pipeline=defaults.raman_pipeline(),
                         axis=defaults.axis_for("raman"), technique="raman",
                         library_id="whenfung-pure")


def rruff_originals(folder: Path) -> dict[str, list[Spectrum]]:
    """RRUFF original files of a folder, read with spectra.read, grouped by mineral title."""
    out: dict[str, list[Spectrum]] = {}
    for p in sorted(folder.glob("*.txt")):
        s = spectra.read(p)[0]
        out.setdefault(s.title, []).append(s)
    return out


def build_rruff(shared: Path, technique: str) -> tuple[Library, dict[str, list[Spectrum]]]:
    """A library of the FIRST file of each mineral; returns it and every file by mineral."""
    folder = shared / (RRUFF_RAMAN if technique == "raman" else RRUFF_FTIR)
    by_name = rruff_originals(folder)
    refs = [(EntryMeta(name=n, category=Category.CUTTING_AGENT), ss[0])
            for n, ss in by_name.items()]
    lib = Library.build(refs, pipeline=defaults.pipeline_for(technique),
                        axis=defaults.axis_for(technique), technique=technique,
                        library_id=f"rruff-originals-{technique}")
    return lib, by_name


@pytest.fixture(scope="session")
def whenfung_library(shared_data: Path) -> Library:
    """The whenfung pure standards as a library (amphetamine/phenobarbital controlled)."""
    return build_whenfung(shared_data)


def test_whenfung_library_has_the_20_standards(whenfung_library: Library) -> None:
    assert len(whenfung_library) == 20
    names = {e.name for e in whenfung_library.entries}
    assert {"amphetamine_sulfate", "ethanol", "ephedrine_hydrochloride"} <= names
    assert whenfung_library.matrix.shape == (20, defaults.axis_for("raman").size)


def test_the_default_pipelines_are_valid_json_and_fresh_each_call() -> None:
    for make in (defaults.raman_pipeline, defaults.ftir_pipeline):
        p = make()
        assert spectra.Pipeline.model_validate_json(p.model_dump_json()) == p
        assert make() is not p
    assert "despike" not in [s.name for s in defaults.ftir_pipeline().steps]
    assert defaults.pipeline_for("raman") == defaults.raman_pipeline()
    assert defaults.pipeline_for("ftir-atr") == defaults.ftir_pipeline()
    with pytest.raises(spectra.SpectrumValidationError) as info:
        defaults.pipeline_for("nmr")
    assert info.value.field == "technique"
