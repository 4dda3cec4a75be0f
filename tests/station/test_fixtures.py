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
