"""The station drives an Ocean Binary Protocol spectrometer: ``interdict scan`` end to end
against ``interdict simulate --profile ocean-obp``, the dialect chosen by flag, variable or
station file (``dialect``: interdict/1, obp or auto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.cli import main
from station.commands.demo import start_simulator, stop_simulator
from tests.station.conftest import AED_BATCH, FENTANYL_PARCEL


@pytest.fixture(scope="module")
def obp_station(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Path | str]]:
    """The OBP simulator (the demo's scenario and references) on a pty."""
    where = tmp_path_factory.mktemp("obp")
    proc, url = start_simulator(where, profile="ocean-obp")
    try:
        yield {"url": url, "dir": where}
    finally:
        stop_simulator(proc, url)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "evidence.db"
    assert main(["parcel", "import", str(AED_BATCH), "--db", str(path), "--operator", "t",
                 "--json"]) == 0
    return path


def _opts(db: Path, lib: Path) -> list[str]:
    return ["--db", str(db), "--library", str(lib), "--operator", "officer.obp",
            "--station", "OBP-ST"]


def test_scan_over_obp_records_and_alerts(obp_station: dict[str, Path | str], db: Path,
                                          demo_library_file: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from parcels.store import open_store

    url = str(obp_station["url"])
    code = main(["scan", "--device", url, "--dialect", "obp", "--parcel", FENTANYL_PARCEL,
                 "--json", *_opts(db, demo_library_file)])
    out, err = capsys.readouterr()
    assert code == 10, err  # the rehearsal put the parcel's fentanyl sample under the laser
    result = json.loads(out)
    assert result["alert"] and "OBP-RAMAN-785-SIM" in err and "(SIMULATED)" in err
    assert "no raman self-test standard" in err  # said, not hidden
    with open_store(db, create=False) as store:
        (insp,) = store.get_parcel(FENTANYL_PARCEL).inspections
        assert insp.device.model == "OBP-RAMAN-785-SIM" and insp.operator == "officer.obp"
        assert store.get_spectrum(insp.spectrum_hash).content_hash == insp.spectrum_hash
    assert main(["audit", "verify", "--db", str(db)]) == 0


def test_the_dialect_from_variable_and_file_and_a_wrong_one_is_named(
        obp_station: dict[str, Path | str], db: Path, demo_library_file: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    url = str(obp_station["url"])
    scan = ["scan", "--device", url, "--parcel", "LX403127580CN", "--self-test", "never",
            *_opts(db, demo_library_file)]
    # the default (interdict/1) does not reach an OBP device: exit 4, the dialect named
    assert main(scan) == 4
    err = capsys.readouterr().err
    assert "in dialect interdict/1" in err and "--dialect auto" in err
    monkeypatch.setenv("INTERDICT_DIALECT", "auto")  # probe each dialect
    assert main(scan) == 0
    monkeypatch.delenv("INTERDICT_DIALECT")
    conf = tmp_path / "station.toml"
    conf.write_text('dialect = "obp"\n', encoding="utf-8")
    assert main([*scan, "--config", str(conf)]) == 0
    capsys.readouterr()
    assert main(["config", "--config", str(conf), "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["config"]["dialect"] == "obp" and shown["sources"]["dialect"] == "file"
    conf.write_text('dialect = "ocean"\n', encoding="utf-8")
    assert main([*scan, "--config", str(conf)]) == 2
    assert "dialect" in capsys.readouterr().err


def test_the_dialect_choices_are_the_drivers() -> None:
    from driver.session import DIALECTS
    from station.config import DialectChoice

    assert {c.value for c in DialectChoice} == {*DIALECTS, "auto"}
