"""The embedded defaults: licences, SYNTHETIC separation, AED batch, scenario, builders agree."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from station.cli import main
from station.workflows.library import (
    DEFAULT_LIBRARY_DIR,
    FIXTURES,
    FTIR_LIBRARY_DIR,
    SYNTHETIC_LIBRARY_DIR,
    ReferenceIndexError,
    build_library,
    open_libraries,
    read_index,
)

FOLDERS = (DEFAULT_LIBRARY_DIR, FTIR_LIBRARY_DIR, SYNTHETIC_LIBRARY_DIR)
PERMISSIVE = {"MIT", "CC-BY-4.0", "Apache-2.0"}


def _rows(folder: Path) -> list[dict[str, str]]:
    with (folder / "index.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("folder", FOLDERS, ids=lambda f: f.name)
def test_every_entry_has_file_source_and_a_permissive_licence(folder: Path) -> None:
    from matcher.library import validate_cas

    rows = _rows(folder)
    assert rows
    listed = {r["file"] for r in rows}
    on_disk = {p.name for p in folder.glob("*.csv")} - {"index.csv"}
    assert listed == on_disk  # nothing unlisted, nothing missing
    for r in rows:
        assert r["source"].strip() and r["licence"] in PERMISSIVE, r["file"]
        if r["cas"]:
            validate_cas(r["cas"])
        synthetic = r["synthetic"] == "true"
        # SYNTHETIC references live only in their own folder, and say so in their name
        assert synthetic == (folder == SYNTHETIC_LIBRARY_DIR)
        assert ("SYNTHETIC" in r["name"]) == synthetic
        assert ("SYNTHETIC" in r["source"]) == synthetic


def test_default_library_has_no_synthetic_entry(tmp_path: Path) -> None:
    libs = open_libraries(None, tmp_path)
    assert {p.technique.value for p in libs} == {"raman", "ftir-atr"}
    assert not any(e.synthetic for p in libs for e in p.entries)
    assert len(libs.get("interdict-default-raman")) == len(_rows(DEFAULT_LIBRARY_DIR))
    # built once, then reused (same file, same hash)
    again = open_libraries(None, tmp_path)
    assert [p.hash for p in again] == [p.hash for p in libs]


def test_station_builder_and_interdict_library_build_agree(tmp_path: Path) -> None:
    from matcher.library import LibrarySet

    out = tmp_path / "cli.ilib"
    assert main(["library", "build", str(DEFAULT_LIBRARY_DIR), "-o", str(out), "--id",
                 "same"]) == 0
    ours = build_library([DEFAULT_LIBRARY_DIR], library_id="same")
    assert LibrarySet.load(out).get().hash == ours.hash


def test_bad_index_rows_are_named_by_file_line_and_column(tmp_path: Path) -> None:
    src = DEFAULT_LIBRARY_DIR / "calcite.csv"
    (tmp_path / "calcite.csv").write_bytes(src.read_bytes())
    (tmp_path / "index.csv").write_text(
        "file,name,category\ncalcite.csv,Calcite,cutting-agent\ncalcite.csv,Chalk,chalky\n",
        encoding="utf-8")
    with pytest.raises(ReferenceIndexError, match=r"index\.csv:3: category"):
        list(read_index(tmp_path))
    (tmp_path / "index.csv").write_text("name\nCalcite\n", encoding="utf-8")
    with pytest.raises(ReferenceIndexError, match=r"index\.csv:1: missing column\(s\) file"):
        list(read_index(tmp_path))


def test_aed_batch_and_scenario_fit_together() -> None:
    from driver.simulator.synth import Scenario
    from parcels.records import Parcel
    from parcels.s10 import validate_item_id

    lines = (FIXTURES / "aed" / "sample_batch.jsonl").read_text(encoding="utf-8").splitlines()
    parcels = [Parcel.model_validate(json.loads(line)) for line in lines]
    assert 8 <= len(parcels) <= 12
    assert all(validate_item_id(p.item_id) == p.item_id for p in parcels)
    held = {p.item_id for p in parcels if p.hold is not None}
    assert len(held) >= 5
    scenario = Scenario.load(FIXTURES / "scenario.json")
    assert set(scenario.samples) == held  # every held parcel has contents, nothing else
    names = {r["name"] for f in FOLDERS for r in _rows(f)}
    used = {c.reference for s in scenario.samples.values() for c in s.components}
    assert used <= names
    assert any("SYNTHETIC" in c.reference and len(s.components) > 1
               for s in scenario.samples.values() for c in s.components)  # the mixture
    assert any(s.signal < 0.1 for s in scenario.samples.values())  # the poor-signal sample


# Strong mid-IR (ATR) bands, cm⁻¹, from published polymer band assignments (Jung et al. 2018,
# Mar. Pollut. Bull. 127:704-716, Table 2; Noda et al. 2007 for PVP's amide bands).
FTIR_BANDS: dict[str, tuple[float, ...]] = {
    "pet.csv": (1713, 1240, 1094, 723),
    "ldpe.csv": (2915, 2848, 1463, 719),
    "polyvinylpyrrolidone.csv": (1650, 1420, 1285),
}


@pytest.mark.parametrize("row", _rows(FTIR_LIBRARY_DIR), ids=lambda r: r["file"])
def test_every_ftir_reference_shows_its_substances_bands(row: dict[str, str]) -> None:
    """A reference whose spectrum lacks its substance's strong bands would name the wrong
    material (the Open Specy "PS" FTIR entry, for one, shows none of polystyrene's bands and
    is therefore not bundled): at least 60 % of the listed bands must be local maxima
    within 12 cm⁻¹."""
    import numpy as np
    from scipy.signal import find_peaks

    import spectra

    bands = FTIR_BANDS[row["file"]]  # a new FTIR entry needs its bands listed here
    s = spectra.read(FTIR_LIBRARY_DIR / row["file"])[0]
    x, y = np.asarray(s.x), np.asarray(s.y)
    peaks, _ = find_peaks(y, prominence=0.03 * float(y.max()))
    found = [b for b in bands if np.any(np.abs(x[peaks] - b) <= 12.0)]
    assert len(found) >= 0.6 * len(bands), f"{row['name']}: only {found} of {bands}"


def test_the_ftir_library_covers_what_a_handheld_atr_measures(tmp_path: Path) -> None:
    """A PET measurement over 650-4000 cm⁻¹ (a diamond-ATR handheld's range) matches the
    PET reference; on the matcher's 450 cm⁻¹ axis it scored only HQI 67."""
    import numpy as np

    import spectra
    from matcher.identify import Identifier

    libs = open_libraries(None, tmp_path)
    ftir = libs.select("ftir-atr")
    assert ftir.axis[0] == 650.0
    ref = spectra.read(FTIR_LIBRARY_DIR / "pet.csv")[0]
    x, y = np.asarray(ref.x), np.asarray(ref.y)
    seen = spectra.Spectrum(x[x >= 650], y[x >= 650], technique="ftir-atr",
                            x_unit=ref.x_unit, y_unit=ref.y_unit)
    res = Identifier(ftir).identify(seen)
    assert res.verdict.value == "MATCH" and res.hits[0].name.startswith("Poly(ethylene ter")
    assert res.hits[0].score > 95
