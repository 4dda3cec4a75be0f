"""The hot folder (``interdict ingest``): when a file is complete (on an injected clock, no
sleeps), and what becomes of each export: recorded with its original bytes, a duplicate
recognised by its hash, an unreadable or unattributable file quarantined with its reason."""

from __future__ import annotations

import hashlib
import io
import json
import os
import warnings
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

import spectra
from parcels.errors import DuplicateOriginalError, InvalidItemIdError, ParcelNotFoundError
from parcels.store import open_store
from station.cli import main
from station.config import load_config
from station.errors import ExportRefusedError
from station.workflows._hotfolder import HotFolder, Waiting, move_aside, takeable
from station.workflows.ingest import NOT_STATED, FileOutcome, Ingest, device_of
from tests.station.conftest import FENTANYL_PARCEL, measured_mixture

RULE = r"^(?P<item>[A-Z]{2}[0-9]{9}[A-Z]{2})_"
NOW = datetime(2026, 11, 21, 12, 0, tzinfo=UTC)


class Clock:
    """A monotonic clock that moves only when told."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


# -- the hot folder: when a file is complete ---------------------------------------------------
def test_a_file_is_ready_only_after_the_settle_period_unchanged(tmp_path: Path) -> None:
    clock = Clock()
    hot = HotFolder(tmp_path, settle_s=2.0, clock=clock)
    f = tmp_path / "scan.spa"
    f.write_bytes(b"abc")
    ready, changed = hot.poll()
    assert ready == [] and changed == [(f, 3)]
    clock.t += 1.9
    assert hot.poll() == ([], [])
    with f.open("ab") as fh:  # still being written: the period starts again
        fh.write(b"def")
    clock.t += 0.2
    assert hot.poll() == ([], [(f, 6)])
    clock.t += 1.9
    assert hot.poll() == ([], [])
    clock.t += 0.1
    assert hot.poll() == ([f], [])
    assert hot.poll() == ([], [])  # handed out once


def test_a_rewrite_of_the_same_size_is_a_change(tmp_path: Path) -> None:
    clock = Clock()
    hot = HotFolder(tmp_path, settle_s=1.0, clock=clock)
    f = tmp_path / "scan.0"
    f.write_bytes(b"abc")
    hot.poll()
    clock.t += 0.9
    st = f.stat()
    os.utime(f, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000))
    assert hot.poll() == ([], [(f, 3)])
    clock.t += 0.9
    assert hot.poll() == ([], [])


def test_settle_zero_takes_a_file_renamed_into_place_at_once(tmp_path: Path) -> None:
    hot = HotFolder(tmp_path, settle_s=0.0, clock=Clock())
    part = tmp_path / "scan.spa.part"
    part.write_bytes(b"half")
    hidden = tmp_path / ".scan.spa"
    hidden.write_bytes(b"half")
    (tmp_path / "done").mkdir()  # folders are not files
    assert hot.poll() == ([], [])
    part.rename(tmp_path / "scan.spa")
    assert hot.poll() == ([tmp_path / "scan.spa"], [])


@pytest.mark.parametrize(("name", "taken"), [
    ("CP118543022IN_x.spa", True), (".x.spa", False), ("x.spa.part", False),
    ("x.SPA.TMP", False), ("x.crdownload", False), ("x.0", True)])
def test_which_names_are_taken(name: str, taken: bool) -> None:
    assert takeable(name) is taken


def test_a_file_that_could_not_be_moved_is_not_offered_again_until_it_changes(
        tmp_path: Path) -> None:
    clock = Clock()
    hot = HotFolder(tmp_path, settle_s=0.0, clock=clock)
    f = tmp_path / "a.spa"
    f.write_bytes(b"x")
    assert hot.poll() == ([f], [])  # taken; say it could not be moved away: it stays
    assert hot.poll() == ([], [])
    f.write_bytes(b"xy")
    assert hot.poll() == ([f], [])


def test_move_aside_never_replaces_a_file(tmp_path: Path) -> None:
    dest = tmp_path / "done"
    dest.mkdir()
    (dest / "a.spa").write_bytes(b"older")
    src = tmp_path / "a.spa"
    src.write_bytes(b"newer")
    moved = move_aside(src, dest)
    assert moved == dest / "a.1.spa" and moved.read_bytes() == b"newer"
    assert (dest / "a.spa").read_bytes() == b"older" and not src.exists()


# -- taking files ------------------------------------------------------------------------------
@pytest.fixture
def hot(tmp_path: Path) -> Path:
    d = tmp_path / "hot"
    d.mkdir()
    return d


def _ingest(store_path: Path, lib: Path, folder: Path, *, rule: str | None = RULE,
            clock: Clock | None = None, settle_s: float = 0.0, **kw: object) -> Ingest:
    cfg = load_config({"db": str(store_path), "library": str(lib), "operator": "officer.t",
                       "station": "T-1", "ingest_name_rule": rule},
                      {"INTERDICT_KEY": os.environ["INTERDICT_KEY"]})  # the test station's key
    ing = Ingest(cfg, folder, settle_s=settle_s, out=io.StringIO(), clock=lambda: NOW,
                 monotonic=clock or Clock(), **kw)  # type: ignore[arg-type]
    ing.open()
    return ing


def _run(ing: Ingest, *, watch: bool = False,
         wait: Callable[[float], bool] | None = None) -> list[FileOutcome]:
    try:
        return [e for e in ing.events(watch=watch, wait=wait or (lambda s: False))
                if isinstance(e, FileOutcome)]
    finally:
        ing.close()


def _watch_until_an_outcome(ing: Ingest, clock: Clock,
                            meanwhile: Callable[[list[object]], None] | None = None
                            ) -> list[object]:
    """Run ``events(watch=True)`` on the test's clock (each wait advances it and runs
    ``meanwhile``) until the first file's outcome, then ask it to stop; every event seen."""
    seen: list[object] = []

    def wait(seconds: float) -> bool:
        clock.t += seconds
        if meanwhile is not None:
            meanwhile(seen)
        if any(isinstance(e, FileOutcome) for e in seen):
            ing.stop.event.set()
        return ing.stop.requested

    try:
        for ev in ing.events(watch=True, wait=wait):
            seen.append(ev)
    finally:
        ing.close()
    return seen


def _copy(src: Path, dest: Path) -> bytes:
    data = src.read_bytes()
    dest.write_bytes(data)
    return data


def test_real_vendor_exports_are_recorded_with_their_original_bytes(
        store_path: Path, demo_library_file: Path, hot: Path, shared_data: Path) -> None:
    vendor = shared_data / "formats" / "vendor"
    spa = _copy(vendor / "omnic" / "cylohex.spa", hot / f"{FENTANYL_PARCEL}_cylohex.spa")
    opus = _copy(vendor / "opus" / "issue81_A1.1.0", hot / "LX403127580CN_A1.1.0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = _run(_ingest(store_path, demo_library_file, hot))
    assert [(o.name, o.status, o.format) for o in out] == [
        (f"{FENTANYL_PARCEL}_cylohex.spa", "recorded", "omnic"),
        ("LX403127580CN_A1.1.0", "recorded", "opus")]
    assert sorted(p.name for p in (hot / "done").iterdir()) == [
        f"{FENTANYL_PARCEL}_cylohex.spa", "LX403127580CN_A1.1.0"]
    assert [p.name for p in hot.iterdir() if p.is_file()] == []
    with open_store(store_path, create=False) as store:
        for item, data, fmt in ((FENTANYL_PARCEL, spa, "omnic"),
                                ("LX403127580CN", opus, "opus")):
            [ins] = store.get_parcel(item).inspections
            assert ins.original_file is not None
            assert ins.original_file.sha256 == hashlib.sha256(data).hexdigest()
            meta, stored = store.get_original(ins.original_file.sha256)
            assert stored == data and meta.format == fmt and meta.item_id == item
            assert ins.operator == "officer.t" and ins.station == "T-1"
        opus_ins = store.get_parcel("LX403127580CN").inspections[0]
        # the device and the settings are the file's own (OPUS header of a Tensor 27)
        assert opus_ins.device.model_dump() == {
            "make": "Bruker", "model": "Tensor 27", "serial": "T27.1091.05",
            "firmware": "1.470 Oct  5 2006"}
        raw = store.get_spectrum(opus_ins.spectrum_hash)
        assert raw.acquisition.accumulations == 256 and raw.source == "LX403127580CN_A1.1.0"
        # a file that does not name its model says so, it is not guessed
        spa_ins = store.get_parcel(FENTANYL_PARCEL).inspections[0]
        assert spa_ins.device.make == "Thermo Nicolet"
        assert spa_ins.device.serial == NOT_STATED
        assert store.verify().ok


def test_a_duplicate_is_recognised_by_its_hash_and_not_recorded_again(
        store_path: Path, demo_library_file: Path, hot: Path) -> None:
    s = measured_mixture({"calcite": 1.0}, seed=1)
    spectra.write(s, hot / f"{FENTANYL_PARCEL}_a.jdx")
    [first] = _run(_ingest(store_path, demo_library_file, hot))
    assert first.status == "recorded"
    data = (hot / "done" / f"{FENTANYL_PARCEL}_a.jdx").read_bytes()
    (hot / "RB771209649NL_again.jdx").write_bytes(data)  # same bytes, another parcel's name
    [again] = _run(_ingest(store_path, demo_library_file, hot))
    assert again.status == "duplicate" and isinstance(again.error, DuplicateOriginalError)
    assert again.item_id == FENTANYL_PARCEL  # whose original it already is
    assert again.moved_to == hot / "quarantine" / "RB771209649NL_again.jdx"
    sidecar = json.loads((hot / "quarantine" / "RB771209649NL_again.jdx.reason.json")
                         .read_text(encoding="utf-8"))
    assert sidecar["error"] == "DuplicateOriginalError" and sidecar["sha256"] == first.sha256
    assert first.scan is not None
    assert first.scan.inspections[0].inspection_id in sidecar["reason"]
    with open_store(store_path, create=False) as store:
        assert len(store.get_parcel(FENTANYL_PARCEL).inspections) == 1
        assert store.get_parcel("RB771209649NL").inspections == ()


def test_bad_files_are_quarantined_with_their_reason_and_never_block_good_ones(
        store_path: Path, demo_library_file: Path, hot: Path) -> None:
    good = measured_mixture({"calcite": 1.0}, seed=2)
    (hot / f"{FENTANYL_PARCEL}_0_garbage.spa").write_bytes(b"\x00\x01 not a spectrum")
    (hot / "EE526093811HK_1_empty.jdx").write_bytes(b"")
    spectra.write(good, hot / "LX403127580CN_2_good.jdx")
    spectra.write(good.replace(title="another"), hot / "no-parcel-id.jdx")
    spectra.write(good.replace(title="bad id"), hot / "LX403127581CN_bad_check_digit.jdx")
    spectra.write(good.replace(title="unknown"), hot / "AA000000005US_unknown.jdx")
    nir = spectra.Spectrum([4000.0, 5000.0, 6000.0], [0.1, 0.2, 0.1], technique="nir",
                           x_unit="wavenumber-cm-1", y_unit="absorbance")
    spectra.write(nir, hot / "RB771209649NL_nir.jdx")
    out = {o.name: o for o in _run(_ingest(store_path, demo_library_file, hot))}
    assert out.pop("LX403127580CN_2_good.jdx").status == "recorded"
    kinds = {n: type(o.error) for n, o in out.items()}
    assert kinds == {
        f"{FENTANYL_PARCEL}_0_garbage.spa": spectra.UnsupportedFormatError,
        "EE526093811HK_1_empty.jdx": spectra.FormatError,
        "no-parcel-id.jdx": ExportRefusedError,
        "LX403127581CN_bad_check_digit.jdx": InvalidItemIdError,
        "AA000000005US_unknown.jdx": ParcelNotFoundError,
        "RB771209649NL_nir.jdx": ExportRefusedError,
    }
    for name, o in out.items():
        assert o.status == "quarantined" and o.moved_to == hot / "quarantine" / name
        side = json.loads((hot / "quarantine" / f"{name}.reason.json").read_text("utf-8"))
        assert side["reason"] == o.reason and str(hot / name) in side["reason"]
        assert side["error"] == type(o.error).__name__
    assert "no parcel id" in str(out["no-parcel-id.jdx"].reason)
    assert "nir spectrum" in str(out["RB771209649NL_nir.jdx"].reason)
    # what was refused left nothing in the store; the audit chain verifies
    with open_store(store_path, create=False) as store:
        assert len(store.get_parcel("LX403127580CN").inspections) == 1
        for item in (FENTANYL_PARCEL, "EE526093811HK", "RB771209649NL"):
            assert store.get_parcel(item).inspections == ()
        assert store.verify().ok


def test_a_file_with_several_spectra_is_refused(store_path: Path, demo_library_file: Path,
                                                hot: Path, shared_data: Path) -> None:
    _copy(shared_data / "formats" / "vendor" / "wdf" / "depth.wdf",
          hot / f"{FENTANYL_PARCEL}_depth.wdf")
    [o] = _run(_ingest(store_path, demo_library_file, hot))
    assert o.status == "quarantined" and "40 spectra in one file" in str(o.reason)


def test_the_parcel_id_is_asked_for_when_the_name_says_none(
        store_path: Path, demo_library_file: Path, hot: Path) -> None:
    spectra.write(measured_mixture({"calcite": 1.0}, seed=4), hot / "export-0001.jdx")
    spectra.write(measured_mixture({"calcite": 1.0}, seed=5), hot / "export-0002.jdx")
    asked: list[str] = []
    answers = iter(["RB771209649NL", ""])

    def ask(name: str) -> str | None:
        asked.append(name)
        return next(answers)

    out = _run(_ingest(store_path, demo_library_file, hot, rule=None, ask=ask))
    assert asked == ["export-0001.jdx", "export-0002.jdx"]
    assert [(o.status, o.item_id) for o in out] == [("recorded", "RB771209649NL"),
                                                     ("quarantined", None)]
    assert "none was typed" in str(out[1].reason)


def test_parcel_option_names_the_parcel_of_every_file(
        store_path: Path, demo_library_file: Path, hot: Path) -> None:
    spectra.write(measured_mixture({"calcite": 1.0}, seed=6), hot / "LX403127580CN_x.jdx")
    [o] = _run(_ingest(store_path, demo_library_file, hot, parcel="rb771209649nl"))
    assert (o.status, o.item_id) == ("recorded", "RB771209649NL")


def test_without_watch_a_file_still_being_written_is_left_after_the_patience(
        store_path: Path, demo_library_file: Path, hot: Path) -> None:
    clock = Clock()
    growing = hot / f"{FENTANYL_PARCEL}_growing.jdx"
    growing.write_bytes(b"##TITLE=")
    spectra.write(measured_mixture({"calcite": 1.0}, seed=7), hot / "LX403127580CN_ok.jdx")

    def wait(seconds: float) -> bool:  # time passes; the writer adds a little each look
        clock.t += seconds
        with growing.open("ab") as fh:
            fh.write(b"x")
        return False

    ing = _ingest(store_path, demo_library_file, hot, clock=clock, settle_s=2.0)
    out = _run(ing, wait=wait)
    assert [(o.name, o.status) for o in out] == [("LX403127580CN_ok.jdx", "recorded"),
                                                 (growing.name, "left")]
    assert growing.exists()  # left in place, not quarantined, not taken
    assert clock.t - 1000.0 >= 20.0  # ten settle periods


def test_watch_stops_on_request_after_the_file_in_hand(
        store_path: Path, demo_library_file: Path, hot: Path) -> None:
    clock = Clock()
    ing = _ingest(store_path, demo_library_file, hot, clock=clock, settle_s=1.0)
    spectra.write(measured_mixture({"calcite": 1.0}, seed=8), hot / "LX403127580CN_w.jdx")
    seen = _watch_until_an_outcome(ing, clock)
    assert isinstance(seen[0], Waiting)
    assert [o.status for o in seen if isinstance(o, FileOutcome)] == ["recorded"]


def test_device_fields_the_file_does_not_state_are_said_so() -> None:
    s = spectra.Spectrum([1.0, 2.0], [1.0, 2.0], technique="raman",
                         acquisition=spectra.Acquisition(instrument_serial="  "))
    d = device_of(s)
    assert (d.make, d.model, d.serial, d.firmware) == (None, NOT_STATED, NOT_STATED,
                                                        NOT_STATED)


# -- the command, in process -------------------------------------------------------------------
def test_one_shot_command_exit_codes_and_json_lines(
        store_path: Path, demo_library_file: Path, hot: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    opts = ["--db", str(store_path), "--library", str(demo_library_file), "--operator",
            "officer.t", "--ingest-name-rule", RULE, "--settle", "0", "--json"]
    # an alerting export and an unreadable file: ALERT wins (the refused file is named)
    spectra.write(measured_mixture({"fentanyl_hcl_SYNTHETIC": 0.8, "calcite": 0.2}, seed=3),
                  hot / f"{FENTANYL_PARCEL}_scan.jdx")
    (hot / "EE526093811HK_broken.spa").write_bytes(b"\x00" * 10)
    code = main(["ingest", str(hot), *opts], clock=lambda: NOW)
    captured = capsys.readouterr()
    lines = [json.loads(x) for x in captured.out.splitlines()]
    assert code == 10, captured.err
    assert [(x["event"], x["file"]) for x in lines] == [
        ("recorded", f"{FENTANYL_PARCEL}_scan.jdx"), ("quarantined", "EE526093811HK_broken.spa")]
    rec = lines[0]
    assert rec["alert"] is True and rec["item_id"] == FENTANYL_PARCEL
    assert rec["device"]["model"] == "TEST-R785" and rec["format"] == "jcamp"
    assert "interdict ingest: " in captured.err and "EE526093811HK_broken.spa" in captured.err
    # only a refused file: 3
    (hot / "LX403127580CN_broken.spa").write_bytes(b"\x01" * 10)
    assert main(["ingest", str(hot), *opts], clock=lambda: NOW) == 3
    capsys.readouterr()
    # nothing there: 0; a missing folder: an error
    assert main(["ingest", str(hot), *opts], clock=lambda: NOW) == 0
    assert main(["ingest", str(hot / "nowhere"), *opts], clock=lambda: NOW) == 1
    assert "no such folder" in capsys.readouterr().err
    assert main(["ingest", str(hot), *opts, "--done", str(hot / ".")],
                clock=lambda: NOW) == 2
    assert "is the hot folder itself" in capsys.readouterr().err
    # --parcel: checked before any file is touched (exit 5)
    (hot / "LX403127580CN_kept.spa").write_bytes(b"\x02" * 10)
    for bad in ("LX403127581CN", "AA000000005US"):
        assert main(["ingest", str(hot), *opts, "--parcel", bad], clock=lambda: NOW) == 5
        assert bad in capsys.readouterr().err
    assert (hot / "LX403127580CN_kept.spa").exists()


def test_prompt_reads_one_line_and_gives_up_on_stop() -> None:
    from station.workflows.ingest import prompt_for_parcel
    from station.workflows.scan import Stop

    r, w = os.pipe()
    with os.fdopen(r, "r") as stream, os.fdopen(w, "w") as writer:
        stop, err = Stop(), io.StringIO()
        ask = prompt_for_parcel(stream, err, stop, poll_s=0.01)
        writer.write("rb771209649nl\n")
        writer.flush()
        assert ask("x.spa") == "rb771209649nl"
        assert "parcel id for x.spa" in err.getvalue()
        stop.event.set()
        assert ask("y.spa") is None


@pytest.fixture(autouse=True)
def _no_stray_files(tmp_path: Path) -> Iterator[None]:
    yield
    # nothing staged for reading is left behind in the hot folder
    assert not any(p.name.startswith("interdict-ingest-") for p in tmp_path.rglob("*"))


def test_a_reader_bug_quarantines_that_file_only(
        store_path: Path, demo_library_file: Path, hot: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import spectra.formats.jcamp as jcamp

    real = jcamp.read

    def buggy(path: Path) -> list[spectra.Spectrum]:
        if "buggy" in path.name:
            raise TypeError("'NoneType' object is not subscriptable")
        return real(path)

    monkeypatch.setattr(jcamp, "read", buggy)
    spectra.write(measured_mixture({"calcite": 1.0}, seed=9), hot / "LX403127580CN_buggy.jdx")
    spectra.write(measured_mixture({"calcite": 1.0}, seed=10), hot / "RB771209649NL_fine.jdx")
    out = {o.name: o for o in _run(_ingest(store_path, demo_library_file, hot))}
    assert out["RB771209649NL_fine.jdx"].status == "recorded"
    bug = out["LX403127580CN_buggy.jdx"]
    assert bug.status == "quarantined" and isinstance(bug.error, ExportRefusedError)
    assert "TypeError" in str(bug.reason) and isinstance(bug.error.__cause__, TypeError)


def test_a_name_with_control_characters_is_quarantined_not_stored(
        store_path: Path, demo_library_file: Path, hot: Path) -> None:
    from parcels.errors import UnsafeTextError

    name = "scan\x1b[2J.jdx"
    spectra.write(measured_mixture({"calcite": 1.0}, seed=11), hot / name)
    with open_store(store_path, create=False) as store:
        hold_before = store.get_parcel("LX403127580CN").hold
    [o] = _run(_ingest(store_path, demo_library_file, hot, parcel="LX403127580CN"))
    assert o.status == "quarantined" and isinstance(o.error, UnsafeTextError)
    assert (hot / "quarantine" / name).exists()
    with open_store(store_path, create=False) as store:
        got = store.get_parcel("LX403127580CN")
    assert got.inspections == ()
    assert got.hold == hold_before  # refused before the parcel was marked in hand


def test_watch_waits_for_a_folder_that_went_away(
        store_path: Path, demo_library_file: Path, hot: Path) -> None:
    from station.workflows.ingest import Unavailable

    clock = Clock()
    ing = _ingest(store_path, demo_library_file, hot, clock=clock,
                  done=hot.parent / "done", quarantine=hot.parent / "quarantine")
    hot.rmdir()  # the share is gone

    def meanwhile(seen: list[object]) -> None:
        if len(seen) == 1:  # it said so once; the share comes back with an export in it
            hot.mkdir()
            spectra.write(measured_mixture({"calcite": 1.0}, seed=12),
                          hot / "LX403127580CN_back.jdx")

    seen = _watch_until_an_outcome(ing, clock, meanwhile)
    assert isinstance(seen[0], Unavailable) and isinstance(seen[0].error, FileNotFoundError)
    assert isinstance(seen[1], Unavailable) and seen[1].error is None
    assert [(o.name, o.status) for o in seen if isinstance(o, FileOutcome)] == [
        ("LX403127580CN_back.jdx", "recorded")]


def test_a_file_that_cannot_be_moved_away_is_said_so_and_not_taken_twice(
        store_path: Path, demo_library_file: Path, hot: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import station.workflows.ingest as ingest_module

    def refuse(path: Path, folder: Path) -> Path:
        raise PermissionError(13, "Permission denied", str(folder))

    monkeypatch.setattr(ingest_module, "move_aside", refuse)
    spectra.write(measured_mixture({"calcite": 1.0}, seed=13), hot / "LX403127580CN_ro.jdx")
    [o] = _run(_ingest(store_path, demo_library_file, hot))
    assert o.status == "recorded" and o.moved_to is None
    assert "could not move it" in o.notes[0] and o.as_json()["notes"] == o.notes
    assert (hot / "LX403127580CN_ro.jdx").exists()
    with open_store(store_path, create=False) as store:
        assert len(store.get_parcel("LX403127580CN").inspections) == 1


@pytest.mark.parametrize(("rule", "says"), [
    ("([A-Z", "not a regular expression"),
    (r"^(?P<parcel>[A-Z]{2}\d{9}[A-Z]{2})", "named group"),
])
def test_a_bad_name_rule_is_refused_where_it_was_given(
        rule: str, says: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from station.errors import ConfigError

    with pytest.raises(ConfigError, match=says) as exc:
        load_config({"db": str(tmp_path / "x.db"), "ingest_name_rule": rule}, {})
    assert "--ingest-name-rule" in str(exc.value)
    with pytest.raises(ConfigError, match="INTERDICT_INGEST_NAME_RULE"):
        load_config({"db": str(tmp_path / "x.db")}, {"INTERDICT_INGEST_NAME_RULE": rule})
    assert main(["ingest", str(tmp_path), "--db", str(tmp_path / "x.db"),
                 "--ingest-name-rule", rule]) == 2
    assert says in capsys.readouterr().err


def test_quiet_is_one_line_per_file_and_the_transcript_otherwise(
        store_path: Path, demo_library_file: Path, hot: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    opts = ["--db", str(store_path), "--library", str(demo_library_file), "--operator",
            "officer.t", "--ingest-name-rule", RULE, "--settle", "0"]
    spectra.write(measured_mixture({"calcite": 1.0}, seed=14), hot / "LX403127580CN_q.jdx")
    assert main(["ingest", str(hot), *opts, "--quiet"], clock=lambda: NOW) in (0, 11)
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 2 and out[0].startswith("LX403127580CN_q.jdx: recorded for ")
    assert out[1] == "1 file(s): 1 recorded, 0 not"
    spectra.write(measured_mixture({"calcite": 1.0}, seed=15), hot / "RB771209649NL_v.jdx")
    assert main(["ingest", str(hot), *opts], clock=lambda: NOW) in (0, 11)
    text = capsys.readouterr().out
    assert "VERDICT " in text and "parcel RB771209649NL: hold" in text
    assert "device: make not stated in the file, model TEST-R785, serial T1" in text
