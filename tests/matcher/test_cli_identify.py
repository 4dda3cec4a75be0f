"""``interdict identify``: JSON lines, CSV and table output, exit codes, on real spectra."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from matcher.library import Library
from station.cli import main

from .test_identify_helpers import WHENFUNG, whenfung_library

__all__ = ["whenfung_library"]


@pytest.fixture(scope="module")
def lib_file(whenfung_library: Library, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lib") / "whenfung.lib"
    whenfung_library.save(path)
    return path


@pytest.fixture(scope="module")
def files(shared_data: Path) -> dict[str, Path]:
    base = shared_data / WHENFUNG
    return {
        "amph": base / "pure" / "amphetamine_sulfate.txt",
        "ethanol": base / "pure" / "ethanol.txt",
        "mix": base / "mixtures" / "mix_methanol40_ethanol60.txt",
    }


def test_json_lines_carry_the_contract_fields(
    lib_file: Path, files: dict[str, Path], whenfung_library: Library,
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(["identify", str(files["amph"]), str(files["mix"]), "--library", str(lib_file),
                 "--technique", "raman", "--format", "json", "--top", "3"])
    assert code == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2
    amph, mix = (json.loads(x) for x in lines)
    for rec in (amph, mix):
        need = {"file", "verdict", "alert", "hits", "mixture", "library_hash", "pipeline"}
        assert need <= set(rec)
        assert rec["library_hash"] == whenfung_library.hash
        assert rec["pipeline"] == whenfung_library.pipeline.model_dump(mode="json")
        assert len(rec["hits"]) == 3
        assert set(rec["hits"][0]) >= {"name", "id", "score"}
    assert amph["file"] == str(files["amph"])
    assert amph["verdict"] == "MATCH" and amph["alert"] is True
    assert amph["hits"][0]["name"] == "amphetamine_sulfate" and amph["mixture"] is None
    assert mix["verdict"] == "MIXTURE" and mix["alert"] is False
    assert {c["name"] for c in mix["mixture"]["components"]} == {"ethanol", "methanol"}


def test_table_output_is_readable_with_an_unmissable_alert(
    lib_file: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["identify", str(files["amph"]), str(files["ethanol"]),
                 "--library", str(lib_file), "--technique", "raman"]) == 0
    out = capsys.readouterr().out
    first, second = out.split("== ")[1:]
    assert "!!! ALERT: controlled substance / precursor: amphetamine_sulfate" in first
    assert "VERDICT: MATCH" in first and "amphetamine_sulfate" in first
    assert "ALERT" not in second and "VERDICT: MATCH" in second and "ethanol" in second


def test_csv_output(lib_file: Path, files: dict[str, Path],
                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identify", str(files["ethanol"]), "--library", str(lib_file),
                 "--technique", "raman", "-f", "csv"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert len(rows) == 1
    assert rows[0]["verdict"] == "MATCH" and rows[0]["top_hit"] == "ethanol"
    assert rows[0]["alert"] == "0"


def test_bad_input_reported_and_others_still_identified(
    lib_file: Path, files: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = tmp_path / "garbage.txt"
    bad.write_bytes(b"\x00\x01not a spectrum\xff")
    code = main(["identify", str(bad), str(files["ethanol"]), "--library", str(lib_file),
                 "--technique", "raman", "-f", "json"])
    assert code == 3  # done for the good file; the bad one named
    cap = capsys.readouterr()
    assert str(bad) in cap.err
    assert [json.loads(x)["verdict"] for x in cap.out.strip().splitlines()] == ["MATCH"]


def test_two_workers_print_what_one_prints(
    lib_file: Path, files: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Files read and preprocessed in worker processes: the same lines, in the same order,
    the bad file named on stderr the same way."""
    import matcher.batch

    monkeypatch.setattr(matcher.batch, "FILES_PER_TASK", 1)  # a task per file: both work
    bad = tmp_path / "garbage.txt"
    bad.write_bytes(b"\x00\x01not a spectrum\xff")
    argv = ["identify", str(files["mix"]), str(bad), str(files["amph"]), str(files["ethanol"]),
            "--library", str(lib_file), "--technique", "raman", "-f", "json"]
    runs = []
    for workers in ("1", "2"):
        code = main([*argv, "--workers", workers])
        cap = capsys.readouterr()
        runs.append((code, cap.out, cap.err))
    assert runs[0] == runs[1]
    code, out, err = runs[0]
    assert code == 3 and str(bad) in err and "docs/formats.md" in err
    assert [json.loads(x)["file"] for x in out.splitlines()] == [
        str(files[k]) for k in ("mix", "amph", "ethanol")]
    assert main([*argv, "--workers", "0"]) == 2


def test_missing_or_corrupt_library(files: dict[str, Path], tmp_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identify", str(files["ethanol"]), "--library", str(tmp_path / "no.lib")]) == 1
    junk = tmp_path / "junk.lib"
    junk.write_bytes(b"not a library")
    assert main(["identify", str(files["ethanol"]), "--library", str(junk)]) == 1
    assert "cannot open library" in capsys.readouterr().err


def test_usage_errors(lib_file: Path, files: dict[str, Path],
                      capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["identify", str(files["ethanol"]), "--library", str(lib_file), "--top", "0"]) == 2
    assert main(["identify", str(files["ethanol"]), "--library", str(lib_file),
                 "--technique", "xray"]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["identify", "--library", str(lib_file)])  # no FILE given
    assert exc.value.code == 2
    capsys.readouterr()


def test_matcher_flag_is_recorded_with_the_model_hash(
    lib_file: Path, files: dict[str, Path], capsys: pytest.CaptureFixture[str],
) -> None:
    from matcher.learned import load_model

    recs = {}
    for kind in ("classic", "learned", "fused"):
        code = main(["identify", str(files["amph"]), "--library", str(lib_file),
                     "--technique", "raman", "--format", "json", "--matcher", kind])
        assert code == 0
        recs[kind] = json.loads(capsys.readouterr().out.strip())
    assert recs["classic"]["matcher"] == "classic" and recs["classic"]["model_hash"] is None
    sha = load_model().sha256
    assert recs["learned"]["matcher"] == "learned" and recs["learned"]["model_hash"] == sha
    assert recs["fused"]["matcher"].startswith("fused") and recs["fused"]["model_hash"] == sha
    assert all(r["hits"][0]["name"] == "amphetamine_sulfate" for r in recs.values())
    assert main(["identify", str(files["amph"]), "--library", str(lib_file), "--matcher",
                 "neural"]) == 2  # a usage error, naming the flag
