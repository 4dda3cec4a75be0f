"""``interdict reidentify``: a stored raw spectrum is run again against a newer library and the
answer recorded as a new, linked result; the original stays, a tampered spectrum is refused."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from matcher.identify import Identifier
from parcels.records import DeviceIdentity, HoldState
from parcels.store import open_store
from station.cli import main
from station.workflows.library import open_libraries
from tests.parcels.builders import KEY

from .conftest import FENTANYL_PARCEL, measured_mixture

DEVICE = DeviceIdentity(make="Test", model="TEST-R785", serial="T1", firmware="1")


@pytest.fixture
def scanned(store_path: Path, tmp_path: Path) -> tuple[Path, str]:
    """The fentanyl parcel scanned against the casework default library, which has no
    fentanyl reference: the original result cannot alert."""
    default = open_libraries(None, tmp_path / "data").select("raman")
    raw = measured_mixture({"fentanyl_hcl_SYNTHETIC": 0.8, "calcite": 0.2}, seed=3)
    with open_store(store_path, signer=KEY) as store:
        store.transition(FENTANYL_PARCEL, HoldState.HELD, actor="officer.a")
        ins = store.add_inspection(FENTANYL_PARCEL, raw, Identifier(default).identify(raw),
                                   operator="officer.a", station="ST-1", device=DEVICE)
    assert not ins.original.alert
    return store_path, ins.inspection_id


def test_a_newer_library_adds_a_linked_result_and_keeps_the_original(
    scanned: tuple[Path, str], demo_library_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    db, inspection_id = scanned
    with open_store(db) as store:
        before = store.get_inspection(inspection_id)
    code = main(["reidentify", FENTANYL_PARCEL, "--db", str(db), "--library",
                 str(demo_library_file), "--operator", "lab.analyst", "--note",
                 "library adds fentanyl", "--json"])
    out = capsys.readouterr().out
    assert code == 10, out  # the new result alerts
    rec = json.loads(out)
    assert rec["inspection_id"] == inspection_id
    assert rec["before"]["alert"] is False and rec["after"]["alert"] is True
    assert rec["after"]["library_id"].startswith("interdict-demo")
    assert rec["based_on"] == before.original.result_id

    with open_store(db) as store:
        after = store.get_inspection(inspection_id)
        events = list(store.audit_events(item_id=FENTANYL_PARCEL))
        assert store.verify().ok
    assert after.original == before.original  # the original stays as it was
    assert after.latest.result_id == rec["result_id"] and after.latest.alert
    names = [h.name for h in after.latest.identification.hits]  # type: ignore[union-attr]
    assert any("Fentanyl" in n for n in names[:2])
    last = events[-1]
    assert last.kind.value == "reidentify" and last.actor == "lab.analyst"
    assert last.data["result_id"] == after.latest.result_id
    assert after.latest.note == "library adds fentanyl"
    assert after.latest.recorded_by == "lab.analyst"


def test_a_tampered_spectrum_is_refused_and_nothing_is_recorded(
    scanned: tuple[Path, str], demo_library_file: Path, capsys: pytest.CaptureFixture[str],
) -> None:
    db, inspection_id = scanned
    con = sqlite3.connect(db)  # behind the store's back, as an attacker with the file would
    con.execute("DROP TRIGGER spectra_no_update")
    meta = con.execute("SELECT meta FROM spectra").fetchone()[0]
    con.execute("UPDATE spectra SET meta = ?", (meta.replace('"counts"', '"arbitrary"'),))
    con.commit()
    con.close()

    code = main(["reidentify", FENTANYL_PARCEL, "--db", str(db), "--library",
                 str(demo_library_file), "--operator", "lab.analyst"])
    err = capsys.readouterr().err
    assert code == 6 and inspection_id in err and "nothing recorded" in err  # not verified
    with open_store(db) as store:
        assert len(store.get_inspection(inspection_id).results) == 1


def test_parcel_errors(store_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = ["--db", str(store_path), "--operator", "x"]
    assert main(["reidentify", "CP118543023IN", *base]) == 5  # bad check digit
    assert main(["reidentify", "LX403127580CN", *base]) == 5  # no inspection yet
    assert "no inspection" in capsys.readouterr().err


def test_every_inspection_is_reexamined_by_one_identifier_set_up_once(
    scanned: tuple[Path, str], demo_library_file: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    """The session's identifier of a library part is set up once and reused: three stored
    spectra, one set-up (the one-shot ``identify()`` set one up per spectrum)."""
    db, _ = scanned
    default = open_libraries(None, tmp_path / "data").select("raman")
    with open_store(db, signer=KEY) as store:
        for seed in (4, 5):
            raw = measured_mixture({"fentanyl_hcl_SYNTHETIC": 0.7, "calcite": 0.3}, seed=seed)
            store.add_inspection(FENTANYL_PARCEL, raw, Identifier(default).identify(raw),
                                 operator="officer.a", station="ST-1", device=DEVICE)
    built: list[str] = []
    set_up = Identifier.__init__

    def counted(self: Identifier, library: Any, **kw: Any) -> None:
        built.append(library.id)
        set_up(self, library, **kw)

    monkeypatch.setattr(Identifier, "__init__", counted)
    code = main(["reidentify", FENTANYL_PARCEL, "--db", str(db), "--library",
                 str(demo_library_file), "--operator", "lab.analyst", "--json"])
    out = capsys.readouterr().out
    assert code == 10, out
    assert out.count('"inspection_id"') == 3
    assert len(built) == 1 and built[0].startswith("interdict-demo")
