"""End to end through the CLI against the simulator process: scan, record, report, verify;
``watch`` with trigger presses, an unplug mid-scan and a SIGTERM."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from station.cli import main
from station.commands.demo import start_simulator, stop_simulator
from tests.station.conftest import AED_BATCH, FENTANYL_PARCEL

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def station(tmp_path: Path, demo_library_file: Path) -> Iterator[dict[str, object]]:
    """A simulator process on a pty, an evidence db with the AED batch, the demo library."""
    db = tmp_path / "evidence.db"
    assert main(["parcel", "import", str(AED_BATCH), "--db", str(db), "--by", "test"]) == 0
    proc, url = start_simulator(tmp_path)
    st: dict[str, object] = {"proc": proc, "url": url, "db": db, "lib": demo_library_file,
                             "dir": tmp_path}
    try:
        yield st
    finally:
        if st["proc"] is not proc:  # a test restarted it (unplug): stop the last one first
            stop_simulator(st["proc"], url)  # type: ignore[arg-type]
        stop_simulator(proc, url)


def _opts(st: dict[str, object]) -> list[str]:
    return ["--db", str(st["db"]), "--library", str(st["lib"]), "--operator", "officer.e2e",
            "--station", "E2E-ST"]


def _inspections(db: Path, item: str) -> list[object]:
    from parcels.store import open_store

    with open_store(db, create=False) as store:
        return list(store.get_parcel(item).inspections)


def test_scan_record_report_verify(station: dict[str, object], tmp_path: Path,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    url, db = str(station["url"]), Path(str(station["db"]))
    # fentanyl mixture: ALERT, exit 10, SYNTHETIC said aloud
    code = main(["scan", "--device", url, "--parcel", FENTANYL_PARCEL, *_opts(station)])
    text = capsys.readouterr().out
    assert code == 10, text
    assert "ALERT" in text and "FENTANYL" in text and "SYNTHETIC" in text
    assert "self-test: PASSED" in text
    # benign parcel as JSON: exit 0, no alert; the self-test is not repeated (not due)
    code = main(["scan", "--device", url, "--parcel", "LX403127580CN", "--json",
                 *_opts(station)])
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert code == 0 and result["verdict"] in ("MATCH", "MIXTURE") and not result["alert"]
    assert result["identification"]["hits"][0]["name"] == "Polystyrene"
    assert "passed" in captured.err and "h ago" in captured.err
    # what was recorded: one inspection each, raw spectrum stored under its hash
    (insp,) = _inspections(db, FENTANYL_PARCEL)
    from parcels.store import open_store

    with open_store(db, create=False) as store:
        assert store.get_spectrum(insp.spectrum_hash).content_hash == insp.spectrum_hash
    assert insp.operator == "officer.e2e" and insp.device.serial == "SIM-0001"
    assert insp.original.alert and insp.original.identification.synthetic_used
    # report and audit verification through the CLI
    out = tmp_path / "report.html"
    assert main(["report", FENTANYL_PARCEL, "-o", str(out), *_opts(station)]) == 0
    assert insp.spectrum_hash in out.read_text(encoding="utf-8")
    assert main(["audit", "verify", "--db", str(db)]) == 0


def test_scan_errors_have_documented_codes(station: dict[str, object], tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    url = str(station["url"])
    assert main(["scan", "--device", url, "--parcel", "LX403127581CN", *_opts(station)]) == 5
    assert "check digit" in capsys.readouterr().err
    # an unknown parcel: the same code in scan as in parcel show, said the same way
    unknown = "RR473124829US"  # a valid id, not in the batch
    assert main(["scan", "--device", url, "--parcel", unknown, *_opts(station)]) == 5
    scan_err = capsys.readouterr().err
    assert main(["parcel", "show", unknown, "--db", str(station["db"])]) == 5
    show_err = capsys.readouterr().err
    assert scan_err.startswith("interdict scan: parcel ")
    assert scan_err.removeprefix("interdict scan") == show_err.removeprefix(
        "interdict parcel show")
    assert main(["scan", "--device", url, "--parcel", unknown, "--db",
                 str(tmp_path / "none.db"), "--operator", "x"]) == 1
    assert main(["scan", "--device", str(tmp_path / "no-such-tty"), "--parcel",
                 "LX403127580CN", *_opts(station)]) == 4
    assert "cannot connect" in capsys.readouterr().err
    assert _inspections(Path(str(station["db"])), "LX403127580CN") == []
    # nobody named: the login name acts, as for every command
    for var in ("INTERDICT_OPERATOR", "INTERDICT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LOGNAME", "login.officer")
    assert main(["scan", "--device", url, "--parcel", "LX403127580CN", "--db",
                 str(station["db"]), "--library", str(station["lib"]),
                 "--self-test", "never"]) == 0
    (insp,) = _inspections(Path(str(station["db"])), "LX403127580CN")
    assert insp.operator == "login.officer"  # type: ignore[attr-defined]


def test_both_techniques_on_a_raman_only_analyzer_is_refused_before_acquiring(
        station: dict[str, object], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["scan", "--device", str(station["url"]), "--parcel", "LX403127580CN",
                 "--technique", "both", *_opts(station)])
    err = capsys.readouterr().err
    assert code == 4, err
    assert "offers raman only" in err and "nothing was acquired" in err
    assert "--technique raman" in err  # what to do next
    assert "Raman:" not in err  # no acquisition progress: nothing was measured
    assert "self-test" not in err  # checked before the self-test too
    assert _inspections(Path(str(station["db"])), "LX403127580CN") == []


class _Watch:
    """``interdict watch --json`` as a child process, its events read line by line."""

    def __init__(self, st: dict[str, object], *extra: str) -> None:
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "station.cli", "watch", "--device", str(st["url"]),
             "--json", *extra, *_opts(st)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            cwd=ROOT, env=env)
        self.events: queue.Queue[dict[str, object]] = queue.Queue()
        self.seen: list[dict[str, object]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.events.put({"event": "text", "message": line})

    def type(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()

    def wait_for(self, *kinds: str, timeout_s: float = 30.0) -> dict[str, object]:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end:
            try:
                ev = self.events.get(timeout=0.1)
            except queue.Empty:
                if self.proc.poll() is not None:
                    break
                continue
            self.seen.append(ev)
            if ev.get("event") in kinds:
                return ev
        err = self.proc.stderr.read() if self.proc.poll() is not None and self.proc.stderr \
            else ""
        raise AssertionError(f"no {kinds!r} event; seen {[e.get('event') for e in self.seen]}"
                             f" {err}")


def _press(sim: subprocess.Popen[str]) -> None:
    os.kill(sim.pid, signal.SIGUSR1)  # the simulator's trigger button


def _hanging(tmp: Path, name: str, *items: str) -> Path:
    """The demo scenario with the scans of ``items`` hung until aborted (no race: a signal
    sent after the scan started always finds it in flight)."""
    from station.workflows.library import FIXTURES

    scenario = json.loads((FIXTURES / "scenario.json").read_text(encoding="utf-8"))
    for item in items:
        scenario["samples"][item]["hang"] = True
    path = tmp / name
    path.write_text(json.dumps(scenario), encoding="utf-8")
    return path


def _unplug(st: dict[str, object]) -> None:
    """Pull the cable: the port disappears, then the analyzer process dies (SIGKILL: it
    cannot remove its link itself).

    The link goes first. The kernel recycles a dead pty's number for the next pty anyone
    opens, so a link left behind would lead a reconnecting driver to an unrelated process
    (another test's simulator, same serial) until the next simulator replaces it.
    """
    Path(str(st["url"])).unlink()
    old = st["proc"]
    old.kill()  # type: ignore[attr-defined]
    old.wait()  # type: ignore[attr-defined]


def _restart(st: dict[str, object], scenario: Path) -> subprocess.Popen[str]:
    """Pull the cable, then plug in another analyzer process on the same link."""
    _unplug(st)
    proc, _ = start_simulator(Path(str(st["dir"])), scenario=scenario)
    st["proc"] = proc
    return proc


def test_unplug_leaves_no_port_to_open(station: dict[str, object]) -> None:
    # a pulled cable takes the port with it; a link left pointing at the dead simulator's
    # /dev/pts/N reaches whichever process the kernel gives that number to next (another
    # test's simulator, same serial SIM-0001): the driver reconnected to it under load
    link = Path(str(station["url"]))
    assert link.is_symlink()
    _unplug(station)
    assert not link.is_symlink(), f"{link} still points at {os.readlink(link)}"


def test_watch_triggers_unplug_and_sigterm(station: dict[str, object]) -> None:
    db, tmp = Path(str(station["db"])), Path(str(station["dir"]))
    # the calcite parcel's scan hangs on this analyzer; the amphetamine one on its successor
    _restart(station, _hanging(tmp, "unplug.json", "EE526093811HK"))
    w = _Watch(station)
    try:
        w.wait_for("armed")
        # 1. barcode typed, trigger pressed: recorded
        w.type(FENTANYL_PARCEL)
        w.wait_for("ready")
        _press(station["proc"])  # type: ignore[arg-type]
        ev = w.wait_for("recorded")
        assert ev["item_id"] == FENTANYL_PARCEL and ev["alert"] is True

        # 2. unplug mid-scan: the analyzer process dies during the acquisition and comes back
        w.type("EE526093811HK")
        w.wait_for("ready")
        _press(station["proc"])  # type: ignore[arg-type]
        w.wait_for("acquiring")  # the device said the scan began; it cannot finish
        proc = _restart(station, _hanging(tmp, "sigterm.json", "RB771209649NL"))
        # the driver re-opens the port by itself ("reconnected"), or, when the analyzer took
        # longer than its grace time, the service reconnects and self-tests again ("armed")
        w.wait_for("reconnected", "armed", timeout_s=40)
        assert w.proc.poll() is None  # still running
        assert _inspections(db, "EE526093811HK") == []  # nothing partial was stored
        _press(proc)
        ev = w.wait_for("recorded")
        assert ev["item_id"] == "EE526093811HK" and ev["alert"] is False
        assert ev["identification"]["hits"][0]["name"].startswith("Calcite")

        # 3. SIGTERM while a trigger scan is being acquired: abandoned, clean exit
        w.type("RB771209649NL")
        w.wait_for("ready")
        _press(proc)
        w.wait_for("acquiring")
        w.proc.send_signal(signal.SIGTERM)
        w.wait_for("stopped")
        assert w.proc.wait(timeout=20) == 0
        kinds = [e.get("event") for e in w.seen]
        assert kinds.index("stopping") < kinds.index("abandoned") < kinds.index("stopped")
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
    # every stored result is intact and verifiable; the abandoned scan left nothing
    assert len(_inspections(db, FENTANYL_PARCEL)) == 1
    assert len(_inspections(db, "EE526093811HK")) == 1
    assert _inspections(db, "RB771209649NL") == []
    assert main(["audit", "verify", "--db", str(db)]) == 0


def test_scan_interrupted_during_acquisition_stores_nothing(station: dict[str, object]
                                                             ) -> None:
    db, tmp = Path(str(station["db"])), Path(str(station["dir"]))
    _restart(station, _hanging(tmp, "hang.json", "RB771209649NL"))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "station.cli", "scan", "--device", str(station["url"]),
         "--parcel", "RB771209649NL", "--self-test", "never", *_opts(station)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=env)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:  # "Raman: 0%" once the analyzer has accepted the scan
        seen.append(line)
        if line.strip().startswith("Raman: 0%"):
            break
    else:
        raise AssertionError(f"the acquisition never started: {seen}")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    assert "aborting the acquisition" in err and "nothing was stored" in err
    assert _inspections(db, "RB771209649NL") == []
    # the parcel was marked held (in hand) and that move is in the verified chain
    assert main(["audit", "verify", "--db", str(db)]) == 0


def test_watch_queue_takes_held_parcels_in_order(station: dict[str, object]) -> None:
    w = _Watch(station, "--queue")
    try:
        w.wait_for("armed")
        sim = station["proc"]
        _press(sim)  # type: ignore[arg-type]
        first = w.wait_for("recorded")
        _press(sim)  # type: ignore[arg-type]
        second = w.wait_for("recorded")
        w.proc.send_signal(signal.SIGINT)
        assert w.proc.wait(timeout=20) == 0
    finally:
        if w.proc.poll() is None:
            w.proc.kill()
    # oldest held parcels first, each scanned with its own contents
    assert (first["item_id"], first["alert"]) == ("LX403127580CN", False)
    assert first["identification"]["hits"][0]["name"] == "Polystyrene"
    assert (second["item_id"], second["alert"]) == (FENTANYL_PARCEL, True)


def test_scan_both_techniques_on_a_dual_analyzer(tmp_path: Path, demo_library_file: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "evidence.db"
    assert main(["parcel", "import", str(AED_BATCH), "--db", str(db), "--by", "test"]) == 0
    # a PET container: a packaging polymer with a reference in both techniques
    scenario = tmp_path / "pet.json"
    scenario.write_text(json.dumps({"selection": "fixed", "default": "LX403127580CN", "samples": {
        "LX403127580CN": {"components": [
            {"reference": "Poly(ethylene terephthalate) (PET)", "fraction": 1.0}],
            "fluorescence": 0.1, "signal": 1.0}}}), encoding="utf-8")
    proc, url = start_simulator(tmp_path, profile="dual", scenario=scenario)
    try:
        code = main(["scan", "--device", url, "--parcel", "LX403127580CN", "--technique",
                     "both", "--json", "--db", str(db), "--library", str(demo_library_file),
                     "--operator", "officer.e2e"])
    finally:
        stop_simulator(proc, url)
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert code == 0, result
    # Raman through the bag and FTIR agree on the packaging polymer: one inspection each
    assert result["verdict"] in ("MATCH", "MIXTURE") and not result["alert"]
    assert result["identification"]["agreement"] is True
    techniques = sorted(i.technique.value for i in _inspections(db, "LX403127580CN"))
    assert techniques == ["ftir-atr", "raman"]
    # the report lists both inspections and plots each against its own library part
    out = tmp_path / "lx.html"
    assert main(["report", "LX403127580CN", "-o", str(out), "--db", str(db), "--library",
                 str(demo_library_file)]) == 0
    html = out.read_text(encoding="utf-8")
    assert html.count('href="#inspection-') == 2
    assert html.count('class="measured"') == 2
    assert "Wavenumber (cm⁻¹)" in html and "Raman shift (cm⁻¹)" in html
