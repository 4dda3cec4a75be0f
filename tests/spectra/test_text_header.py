"""Plain x,y tables whose '# key: value' header states units in our own vocabulary."""

from __future__ import annotations

from pathlib import Path

import spectra


def _write(tmp_path: Path, header: str) -> Path:
    p = tmp_path / "ref.csv"
    p.write_text(header + "100,1\n101,3\n102,2\n", encoding="utf-8")
    return p


def test_header_units_and_technique_are_believed_and_recorded(tmp_path: Path) -> None:
    p = _write(tmp_path, "# x_unit: wavenumber-cm-1\n# technique: ftir-atr\n"
                         "# y_unit: absorbance\n")
    (s,) = spectra.read(p)
    assert s.x_unit is spectra.XUnit.WAVENUMBER
    assert s.technique is spectra.Technique.FTIR_ATR
    assert s.y_unit is spectra.YUnit.ABSORBANCE
    assert s.extra["csv.technique_from"] == "header"


def test_a_vendor_word_is_kept_not_guessed(tmp_path: Path) -> None:
    (s,) = spectra.read(_write(tmp_path, "# technique: FTIR\n"))
    assert s.technique is spectra.Technique.OTHER
    assert s.extra["header.technique"] == "FTIR"


def test_a_semicolon_inside_a_header_value_stays_in_the_value(tmp_path: Path) -> None:
    (s,) = spectra.read(_write(tmp_path, "# name: Calcite; ground tablet filler\n"))
    assert s.title == "Calcite; ground tablet filler"
