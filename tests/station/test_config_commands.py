"""The station configuration reaches every command, not only ``scan``: ``parcel``, ``audit``,
``stats`` and ``identify`` read ``db``, ``operator``, ``library`` and ``thresholds`` from the
same TOML file, with the same precedence (flag > environment > file > default)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from station.cli import main
from station.workflows.library import DEFAULT_LIBRARY_DIR

from .conftest import AED_BATCH


@pytest.fixture
def station_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A clean environment: no INTERDICT_* variables, data and config homes in tmp_path."""
    for var in ("INTERDICT_DB", "INTERDICT_OPERATOR", "INTERDICT_LIBRARY", "INTERDICT_CONFIG",
                "INTERDICT_THRESHOLD_MATCH"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "cfg"))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_parcel_commands_use_the_configured_database_and_operator(
    station_env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    db = station_env / "configured.db"
    (station_env / "interdict.toml").write_text(
        f'db = "{db}"\noperator = "officer.file"\n', encoding="utf-8")

    assert main(["parcel", "import", str(AED_BATCH), "--json"]) == 0
    assert db.is_file(), "the import must go to the configured database"
    assert not (station_env / "data" / "interdict" / "evidence.db").exists()
    capsys.readouterr()

    assert main(["parcel", "list", "--json"]) == 0
    listed = capsys.readouterr().out
    assert "CP118543022IN" in listed

    assert main(["audit", "log", "--json"]) == 0
    events = json.loads(capsys.readouterr().out)
    imports = [e for e in events if e["kind"] == "import"]
    assert len(imports) == 10 and {e["actor"] for e in imports} == {"officer.file"}, \
        "the acting person defaults to the configured operator"

    # a flag still beats the file: the command goes to (and names) the flag's database
    other = station_env / "other.db"
    assert main(["parcel", "list", "--json", "--db", str(other)]) == 1
    assert str(other) in capsys.readouterr().err


def test_a_broken_configuration_is_a_clear_error_and_opens_nothing(
    station_env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = station_env / "bad.toml"
    cfg.write_text('db = "x.db"\nself_test_hours = "soon"\n', encoding="utf-8")
    assert main(["parcel", "list", "--config", str(cfg)]) == 2
    err = capsys.readouterr().err
    assert str(cfg) in err and "self_test_hours" in err
    assert not (station_env / "x.db").exists()


def test_identify_without_library_uses_the_configured_one_and_its_thresholds(
    station_env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    query = DEFAULT_LIBRARY_DIR / "calcite.csv"
    # no --library, no configuration: the embedded default library, built on first use
    assert main(["identify", str(query), "--technique", "raman", "--format", "json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert rec["hits"][0]["name"].lower().startswith("calcite")
    assert rec["library_id"].startswith("interdict-default")
    default_match = float(rec["thresholds"]["match_hqi"])

    (station_env / "interdict.toml").write_text("[thresholds]\nmatch_hqi = 99.5\n",
                                                encoding="utf-8")
    assert main(["identify", str(query), "--technique", "raman", "--format", "json"]) == 0
    rec = json.loads(capsys.readouterr().out)
    assert float(rec["thresholds"]["match_hqi"]) == 99.5 != default_match

    assert main(["identify", str(query), "--technique", "raman", "--format", "json",
                 "--threshold", "match_hqi=90"]) == 0
    assert float(json.loads(capsys.readouterr().out)["thresholds"]["match_hqi"]) == 90.0

    assert main(["identify", str(query), "--threshold", "no_such=1"]) == 2
    assert "no_such" in capsys.readouterr().err


def test_identify_names_a_missing_configured_library(
    station_env: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    missing = station_env / "nowhere.ilib"
    (station_env / "interdict.toml").write_text(f'library = "{missing}"\n', encoding="utf-8")
    assert main(["identify", str(DEFAULT_LIBRARY_DIR / "calcite.csv")]) == 1
    assert str(missing) in capsys.readouterr().err
