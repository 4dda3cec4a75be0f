"""What the station prints from outside is escaped: entry names, reasons, file names."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import spectra
from parcels.text import UNSAFE
from station.cli import main
from station.workflows.display import GREEN, RED, RESET, YELLOW, verdict_text
from tests.parcels.builders import identification

from .conftest import reference

HOSTILE_NAME = "\u202eenicaoc\x1b[2J HCl\r"


@pytest.mark.parametrize("verdict", ["MATCH", "INCONCLUSIVE"])
def test_verdict_block_escapes_names_and_keeps_its_own_colours(verdict: str) -> None:
    ident = identification(verdict, name=HOSTILE_NAME, alert=verdict == "MATCH")
    plain = verdict_text("RR000000014US", ident, colour=False)
    assert not UNSAFE.search(plain.replace("\n", ""))
    assert "\\u202eenicaoc\\u001b[2J HCl\\r" in plain
    coloured = verdict_text("RR000000014US", ident, colour=True)
    for ours in (RED, YELLOW, GREEN, RESET):
        coloured = coloured.replace(ours, "")
    assert not UNSAFE.search(coloured.replace("\n", ""))


def test_identify_escapes_a_hostile_file_name(demo_library_file: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    hostile = tmp_path / "evil\x1b[2J\u202e.csv"
    spectra.write(reference("amphetamine_sulfate"), hostile, format="csv")
    assert main(["identify", str(hostile), "--library", str(demo_library_file)]) in (0, 4)
    out = capsys.readouterr().out
    assert "evil\\u001b[2J\\u202e.csv" in out and not UNSAFE.search(out.replace("\n", ""))
    main(["identify", str(hostile), "--library", str(demo_library_file), "--format", "json"])
    out = capsys.readouterr().out
    assert not UNSAFE.search(out.replace("\n", ""))
    assert json.loads(out)["file"] == str(hostile)  # still the exact name, as JSON


def test_identify_csv_neutralises_formula_cells(demo_library_file: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    import csv
    import io

    monkeypatch.chdir(tmp_path)
    spectra.write(reference("amphetamine_sulfate"), tmp_path / "=cmd.csv", format="csv")
    main(["identify", "=cmd.csv", "--library", str(demo_library_file), "--format", "csv"])
    rows = list(csv.reader(io.StringIO(capsys.readouterr().out)))
    assert rows[1][0] == "'=cmd.csv"  # a spreadsheet shows =cmd.csv as text, runs nothing
    assert all(not c.startswith(("=", "+", "@")) for r in rows for c in r)


def test_the_terminal_and_the_report_give_the_same_next_step() -> None:
    from station.report.model import InspectionView, PartView
    from station.report.render import _next_step
    from station.workflows.display import advice

    for verdict in ("MATCH", "NO_MATCH", "INCONCLUSIVE"):
        ident = identification(verdict)
        view = InspectionView.model_construct(
            alert=ident.alert, verdict=ident.verdict,
            parts=[PartView.model_construct(technique=ident.technique.value)])
        assert _next_step(view) == advice(ident)
