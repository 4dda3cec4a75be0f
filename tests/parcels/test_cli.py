"""``interdict parcel|audit|stats`` through ``station.cli.main`` and one real subprocess."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from parcels.store import SQLiteStore
from station.cli import main

from .builders import DEVICE, KEY, aed, identification, item_id, spectrum

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def batch(tmp_path: Path) -> Path:
    bad = aed(9)
    bad["origin_country"] = "Narnia"
    lines = [json.dumps(aed(n, hold=n < 2)) for n in range(4)] + [json.dumps(bad)]
    path = tmp_path / "aed.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# The batch's parcels arrive on 2026-11-01..05 (tests/parcels/builders.py); what the
# commands record (hold moves, inspections) is stamped by this clock, never by today's date.
NOW = datetime(2026, 11, 6, 10, 0, tzinfo=UTC)


def run(capsys: pytest.CaptureFixture[str], *argv: str,
        now: datetime = NOW) -> tuple[int, str, str]:
    code = main(list(argv), clock=lambda: now)
    out, err = capsys.readouterr()
    return code, out, err


def test_workflow_through_the_cli(batch: Path, db_path: Path, tmp_path: Path,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = ["--db", str(db_path)]
    code, out, err = run(capsys, "parcel", "import", str(batch), *db, "--operator", "feed")
    assert code == 3  # good rows imported, one rejected
    assert "4 imported" in out and "1 rejected" in out
    assert f"{batch}:5: rejected {item_id(9)}: origin_country" in err

    code, out, _ = run(capsys, "parcel", "import", str(batch), *db, "--json")
    assert code == 3 and json.loads(out)["unchanged"] == 4

    code, out, _ = run(capsys, "parcel", "list", *db, "--state", "requested", "--json")
    assert code == 0 and [r["item_id"] for r in json.loads(out)] == [item_id(0), item_id(1)]

    code, _, err = run(capsys, "parcel", "hold", item_id(2), *db)
    assert code == 2 and "--reason" in err  # a missing option: usage
    code, out, _ = run(capsys, "parcel", "hold", item_id(2), *db, "--reason", "dog alert",
                       "--operator", "officer 7")
    assert code == 0 and "held" in out
    code, _, err = run(capsys, "parcel", "release", item_id(2), *db)
    assert code == 5 and "cannot go from held to released" in err  # a parcel problem

    with SQLiteStore(db_path, signer=KEY, clock=lambda: NOW) as s:
        s.add_inspection(item_id(2), spectrum(1, n=200), identification(), operator="officer 7",
                         station="ORD-3", device=DEVICE)
    code, out, _ = run(capsys, "parcel", "list", *db, "--alert", "--json")
    assert [r["item_id"] for r in json.loads(out)] == [item_id(2)]
    code, out, _ = run(capsys, "parcel", "refer", item_id(2), *db, "--note", "to lab")
    assert code == 0
    code, out, _ = run(capsys, "parcel", "seize", item_id(2), *db, "--json")
    assert code == 0 and json.loads(out)["state"] == "seized"

    code, out, _ = run(capsys, "parcel", "show", item_id(2), *db)
    assert code == 0
    for words in ("SEIZED", "cocaine HCl", "TruScan RM", "referred", "officer 7"):
        assert words in out
    code, out, _ = run(capsys, "parcel", "show", item_id(2).lower(), *db, "--json")
    shown = json.loads(out)
    assert [t["state"] for t in shown["hold"]["transitions"]] == [
        "requested", "held", "inspected", "referred", "seized"]

    dest = tmp_path / "out.csv"
    code, _, err = run(capsys, "parcel", "export", item_id(1), item_id(0), "--format", "csv",
                       "-o", str(dest), *db)
    assert code == 0 and "exported 2 parcel(s)" in err
    assert [r["item_id"] for r in csv.DictReader(dest.open(encoding="utf-8"))] == [
        item_id(0), item_id(1)]
    code, out, err = run(capsys, "parcel", "export", "--from", "2026-11-02", *db)
    assert code == 0 and out == "" and "exported 0 parcel(s)" in err
    code, out, err = run(capsys, "parcel", "export", "--to", "2026-11-01", *db)
    assert code == 0 and len(out.splitlines()) == 4
    code, _, err = run(capsys, "parcel", "export", item_id(77), *db)
    assert code == 5 and f"parcel {item_id(77)!r} not found" in err

    code, out, _ = run(capsys, "stats", *db, "--json")
    st = json.loads(out)
    assert st["hold_compliance"][0]["requested"] == 3
    assert st["hold_compliance"][0]["held"] == 1
    assert st["positivity_by_origin"] == [
        {"key": "CN", "inspected": 1, "positive": 1, "rate": 1.0, "verdicts": {"MATCH": 1}}]

    code, out, _ = run(capsys, "audit", "log", item_id(2), *db, "--json")
    kinds = [e["kind"] for e in json.loads(out)]
    assert kinds == ["import", "hold-request", "hold", "scan", "verdict", "inspected",
                     "refer", "seizure"]
    code, out, _ = run(capsys, "audit", "log", *db, "--json")
    assert [e["kind"] for e in json.loads(out)].count("export") == 3
    code, out, _ = run(capsys, "audit", "verify", *db)
    assert code == 0 and "audit chain OK" in out


def test_errors_are_one_clear_line(db_path: Path, capsys: pytest.CaptureFixture[str],
                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTERDICT_DB", str(db_path))
    SQLiteStore(db_path).close()
    # one format: "interdict <command>: <what> — <what to do next>", one line
    code, _, err = run(capsys, "parcel", "show", item_id(5))
    assert code == 5 and err.strip() == (
        f"interdict parcel show: parcel {item_id(5)!r} not found — import the parcel's AED "
        "batch first (interdict parcel import FILE), or check the id")
    code, _, err = run(capsys, "parcel", "show", "RR000000051US")
    assert code == 5 and "check digit" in err and " — check the id on the label" in err
    code, _, err = run(capsys, "parcel", "import", "/nonexistent.jsonl")
    assert code == 1 and "no such file" in err and err.count("\n") == 1
    # a bad option value is a usage error, said the same way
    for argv, needle in ((("parcel", "list", "--state", "lost"), "--state"),
                         (("audit", "verify", "--anchor", "3:abc"), "SEQ:HASH"),
                         (("parcel", "frobnicate"), "frobnicate")):
        with pytest.raises(SystemExit) as exc:
            main(list(argv))
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(f"interdict {argv[0]}") and needle in err
        assert err.strip().endswith("--help") and err.count("\n") == 1


def test_missing_database_is_not_created_by_queries(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "nowhere.db"
    code, _, err = run(capsys, "parcel", "list", "--db", str(db))
    assert code == 1 and "no evidence database" in err and not db.exists()


def test_a_file_that_is_not_a_database_is_one_line_with_a_hint(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "photo.db"
    db.write_bytes(b"\xff\xd8" * 4096)
    code, _, err = run(capsys, "parcel", "list", "--db", str(db))
    assert code == 1 and err.count("\n") == 1
    assert str(db) in err and "file is not a database" in err
    assert err.strip().endswith("is it an Interdict evidence database? interdict audit verify "
                                "checks it")


def test_real_interdict_subprocess(batch: Path, db_path: Path) -> None:
    exe = Path(sys.executable).with_name("interdict")
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "station.cli"]
    env = {**os.environ, "INTERDICT_DB": str(db_path), "PYTHONPATH": str(ROOT)}
    p = subprocess.run([*cmd, "parcel", "import", str(batch)], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 3, p.stderr
    assert "4 imported" in p.stdout
    p = subprocess.run([*cmd, "audit", "verify", "--json"], env=env, cwd=ROOT,
                       capture_output=True, text=True, timeout=120, check=False)
    assert p.returncode == 0, p.stderr
    report = json.loads(p.stdout)
    assert report["ok"] is True and report["events"] == 6  # 4 imports + 2 hold requests


@pytest.mark.parametrize("anchor", ["١:" + "a" * 64, "²:" + "a" * 64, "1" * 19 + ":" + "a" * 64,
                                    ":" + "a" * 64, "3:" + "g" * 64, "3:" + "a" * 63])
def test_anchor_must_be_ascii_digits_and_a_whole_hash(anchor: str) -> None:
    from station.commands.audit import parse_anchor

    with pytest.raises(ValueError, match="SEQ:HASH"):
        parse_anchor(anchor)
    assert parse_anchor("12:" + "AB" * 32) == (12, "ab" * 32)
