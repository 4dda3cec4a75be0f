"""The driver against the simulator process over real ptys and TCP loopback."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

import spectra
from driver import (
    AcquisitionAbortedError,
    Analyzer,
    DeviceRefusedError,
    NotAnAnalyzerError,
    NotSupportedError,
    PortBusyError,
)
from driver.errors import AnalyzerTimeoutError, BadURLError, LinkError
from driver.simulator.control import press_trigger, select_sample

from .conftest import ROOT


def test_identify_status_configure_acquire_over_pty(shared_sim) -> None:
    with Analyzer(shared_sim.url) as dev:
        info = dev.identify()
        assert info.protocol == "interdict" and info.protocol_version == 1
        raman = info.capabilities.technique("raman")
        assert raman.pixels == 2048 and raman.excitation_nm == 785.0
        st = dev.status()
        assert st.ready and st.laser_interlock_closed and 0 <= st.battery_pct <= 100
        cfg = dev.configure(integration_ms=40, accumulations=3, laser_power_mw=200)
        seen: list[tuple[int, int]] = []
        s = dev.acquire(progress=lambda d, t: seen.append((d, t)))
    assert cfg.integration_ms == 40
    assert len(s) == 2048 and s.technique is spectra.Technique.RAMAN
    assert s.y_unit is spectra.YUnit.COUNTS and s.excitation_nm == 785.0
    a = s.acquisition
    assert (a.integration_time_ms, a.accumulations, a.laser_power_mw) == (40, 3, 200)
    assert a.instrument_serial == "SIM-0001" and a.acquired_at is not None
    assert s.provenance[0].step == "acquire" and s.provenance[0].params["kind"] == "sample"
    np.testing.assert_allclose(s.x, raman.axis())
    assert seen == [(0, 3), (1, 3), (2, 3)]  # started, then each accumulation before the last
    assert s.y.min() >= 3 * 400  # bias summed over 3 accumulations, no negative counts


def test_same_driver_over_tcp(simulator) -> None:
    sim = simulator("--seed", "1", tcp=True)
    assert sim.url.startswith("socket://127.0.0.1:")
    with Analyzer(sim.url) as dev:
        s = dev.acquire(integration_ms=10)
    assert len(s) == 2048


def test_out_of_range_is_refused_and_nothing_changes(shared_sim) -> None:
    with Analyzer(shared_sim.url) as dev:
        before = dev.configure(integration_ms=25)
        with pytest.raises(DeviceRefusedError) as e:
            dev.configure(integration_ms=50_000)
        assert e.value.name == "OUT_OF_RANGE" and "integration_ms=50000" in str(e.value)
        with pytest.raises(DeviceRefusedError, match="laser_power_mw=900"):
            dev.acquire(laser_power_mw=900)
        with pytest.raises(NotSupportedError, match="ftir"):
            dev.configure(technique="ftir")
        assert dev.configuration == before
        assert dev.acquire().acquisition.integration_time_ms == 25


def test_unknown_message_type_gets_the_device_error(shared_sim) -> None:
    from driver.session import V1Session

    with Analyzer(shared_sim.url) as dev:
        session = dev._require()
        assert isinstance(session, V1Session)
        with pytest.raises(DeviceRefusedError) as e:
            session.transact(0x0555)
        assert e.value.name == "UNKNOWN_MESSAGE"
        with pytest.raises(DeviceRefusedError) as e:
            session.transact(0x0003, b"\x01\x02")  # CONFIGURE with a short payload
        assert e.value.name == "BAD_PAYLOAD"
        assert dev.status().ready  # the device is still fine


def test_not_an_analyzer_and_bad_ports(tmp_path: Path) -> None:
    with pytest.raises(NotAnAnalyzerError):
        Analyzer("loop://", latency_s=0.05, retries=1).open()
    with pytest.raises(LinkError):
        Analyzer(str(tmp_path / "no-such-port")).open()
    with pytest.raises(BadURLError):
        Analyzer("")
    with pytest.raises(LinkError, match="no-port-here"):
        Analyzer("socket://no-port-here").open()


def test_silent_port_times_out(simulator) -> None:
    import os
    import tty

    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        dev = Analyzer(os.ttyname(slave), latency_s=0.05, retries=2)
        with pytest.raises(AnalyzerTimeoutError):
            dev.open()
    finally:
        os.close(master)
        os.close(slave)


def test_spy_url_logs_the_traffic(shared_sim, tmp_path: Path) -> None:
    trace = tmp_path / "trace.txt"
    with Analyzer(f"spy://{shared_sim.url}?file={trace}") as dev:
        assert dev.status().ready
    text = trace.read_text()
    assert "TX" in text and "RX" in text  # pyserial's hexdump of both directions


def test_low_battery_event_and_refusal(simulator) -> None:
    from driver.models import LowBattery

    with Analyzer(simulator("--faults", "battery=15.005").url) as dev:
        assert dev.status().battery_pct == 15
        dev.acquire(integration_ms=5)  # the laser's drain crosses the 15 % warning level
        events = [dev.next_event(0.2) for _ in range(3)]
        assert LowBattery(14) in events
    with Analyzer(simulator("--faults", "battery=3").url) as dev, \
            pytest.raises(DeviceRefusedError, match="LOW_BATTERY"):
        dev.acquire(integration_ms=5)


def test_thread_safe(shared_sim) -> None:
    errors: list[BaseException] = []
    with Analyzer(shared_sim.url) as dev:
        def work() -> None:
            try:
                for _ in range(3):
                    assert dev.status().battery_pct > 0
                    assert len(dev.acquire(integration_ms=2)) == 2048
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=work) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    assert errors == []


def test_exclusive_access(shared_sim) -> None:
    with Analyzer(shared_sim.url), pytest.raises(PortBusyError):
        Analyzer(shared_sim.url).open()


def test_trigger_button_scans(simulator) -> None:
    sim = simulator("--seed", "2")
    with Analyzer(sim.url) as dev:
        dev.configure(integration_ms=20)
        it = dev.triggers(timeout_s=5.0, poll_s=0.2)
        sim.trigger()  # SIGUSR1: the officer presses the button
        first = next(it)
        press_trigger(dev)  # the simulator-only message does the same
        second = next(it)
    assert first.provenance[0].params["source"] == "button"
    assert second.provenance[0].params["scan_id"] > first.provenance[0].params["scan_id"]
    assert first.acquisition.integration_time_ms == 20  # the device's configuration


def test_trigger_scan_delivered_once_across_iterations(simulator) -> None:
    # interdict watch iterates triggers() in short windows; a consumer slower than timeout_s
    # (identify + record under load) ends a window before the scan's completion event is
    # read, and the next window handed the same scan out again: the watch recorded one
    # parcel's spectrum against the next parcel typed
    from driver.models import ScanComplete

    sim = simulator("--seed", "2")
    with Analyzer(sim.url) as dev:
        dev.configure(integration_ms=20)
        press_trigger(dev)
        first = next(dev.triggers(timeout_s=10.0, poll_s=0.2, after_scan_id=0))
        sid = first.provenance[0].params["scan_id"]
        # what the ended window left unread: the scan's completion event
        dev._session._events.append(ScanComplete(sid, "button", 0))
        assert [s.provenance[0].params["scan_id"]
                for s in dev.triggers(timeout_s=0.5, poll_s=0.1)] == []
        # the next press is still delivered
        press_trigger(dev)
        second = next(dev.triggers(timeout_s=10.0, poll_s=0.2, after_scan_id=sid))
    assert second.provenance[0].params["scan_id"] == sid + 1


def test_trigger_callback(simulator) -> None:
    sim = simulator("--seed", "2")
    got: list[spectra.Spectrum] = []
    done = threading.Event()
    with Analyzer(sim.url) as dev:
        dev.configure(integration_ms=10)

        def cb(s: spectra.Spectrum) -> None:
            got.append(s)
            done.set()

        stop = dev.on_trigger(cb)  # listening from here on: no wait needed
        sim.trigger()
        assert done.wait(10)
        stop()
    assert got[0].provenance[0].params["source"] == "button"


def test_abort_from_another_thread(shared_sim) -> None:
    with Analyzer(shared_sim.url) as dev:
        progress: list[tuple[int, int]] = []

        def started(done: int, total: int) -> None:
            progress.append((done, total))
            if done == 0:  # the device accepted the scan: abort it from another thread
                threading.Thread(target=dev.abort).start()

        with pytest.raises(AcquisitionAbortedError):
            dev.acquire(integration_ms=2000, accumulations=5, progress=started)
        assert progress[0] == (0, 5) and progress[-1][0] < 5  # cut short, not completed
        assert dev.status().ready
        assert len(dev.acquire(integration_ms=5, accumulations=1)) == 2048


def test_self_test_passes_and_drift_fails_it(simulator) -> None:
    with Analyzer(simulator("--seed", "4").url) as dev:
        report, _ = dev.self_test()
    assert report.passed and len(report.peaks) == 5
    assert all(abs(p.found - p.expected) <= p.tolerance for p in report.peaks)
    with Analyzer(simulator("--seed", "4", "--faults", "drift=6").url) as dev:
        report, _ = dev.self_test()
    assert not report.passed


def test_scenario_samples_and_low_signal(simulator, tmp_path: Path) -> None:
    scen = tmp_path / "scenario.json"
    scen.write_text(json.dumps({"samples": {
        "RR473124829US": {"components": [{"reference": "phenobarbital", "fraction": 0.9},
                                          {"reference": "amphetamine_sulfate",
                                           "fraction": 0.1}], "fluorescence": 0.2},
        "RR000000001US": {"components": [{"reference": "ethanol", "fraction": 1.0}],
                          "signal": 0.02, "fluorescence": 0.0},
    }}))
    with Analyzer(simulator("--scenario", str(scen)).url) as dev:
        select_sample(dev, "RR473124829US")
        strong = dev.acquire(integration_ms=100)
        select_sample(dev, "RR000000001US")
        weak = dev.acquire(integration_ms=100)
        with pytest.raises(DeviceRefusedError, match="NO_SUCH_SAMPLE"):
            select_sample(dev, "XX")
    assert strong.title == "RR473124829US" and weak.title == "RR000000001US"
    assert np.ptp(strong.y) > 10 * np.ptp(weak.y) / 3


def test_ftir_needs_a_background(simulator) -> None:
    with Analyzer(simulator("--profile", "dual").url) as dev:
        assert dev.identify().capabilities.technique_names == ("raman", "ftir")
        dev.configure(technique="ftir", integration_ms=200)
        with pytest.raises(DeviceRefusedError, match="BACKGROUND_REQUIRED"):
            dev.acquire()
        dev.background()
        s = dev.acquire()
        with pytest.raises(DeviceRefusedError, match="UNSUPPORTED"):
            dev.dark()
    assert s.technique is spectra.Technique.FTIR_ATR and s.y_unit is spectra.YUnit.ABSORBANCE
    assert s.x_unit is spectra.XUnit.WAVENUMBER


def test_interlock_open_refuses_the_laser(simulator) -> None:
    with Analyzer(simulator("--faults", "interlock=1").url) as dev:
        assert not dev.status().laser_interlock_closed
        with pytest.raises(DeviceRefusedError, match="INTERLOCK_OPEN"):
            dev.acquire(integration_ms=10)
        assert len(dev.dark(integration_ms=10)) == 2048  # dark scans need no laser


def test_cli_acquire_and_devices(simulator, tmp_path: Path, capsys) -> None:
    from station.cli import main

    sim = simulator("--seed", "5")
    out = tmp_path / "scan.csv"
    assert main(["acquire", "--device", sim.url, "--integration-ms", "30",
                 "--accumulations", "2", "-o", str(out)]) == 0
    back = spectra.read(out)[0]
    assert len(back) == 2048 and back.acquisition.accumulations == 2
    # the analyzer's refusal and no analyzer at all: both exit 4 (analyzer problem)
    assert main(["acquire", "--device", sim.url, "--integration-ms", "99999",
                 "-o", str(tmp_path / "x.csv")]) == 4
    assert "OUT_OF_RANGE" in capsys.readouterr().err
    assert not (tmp_path / "x.csv").exists()
    assert main(["acquire", "--device", "loop://", "-o", str(tmp_path / "y.csv")]) == 4
    capsys.readouterr()
    assert main(["devices", "--url", sim.url, "--url", "loop://"]) == 0
    stdout = capsys.readouterr().out
    assert f"{sim.url}\tgiven on the command line\tANALYZER" in stdout
    assert "NotAnAnalyzerError" in stdout
    # --json for scripts: one object per port; a summary of the acquired spectrum
    assert main(["devices", "--url", sim.url, "--no-probe", "--json"]) == 0
    ports = json.loads(capsys.readouterr().out)
    assert {"url": sim.url, "description": "given on the command line", "analyzer": None,
            "problem": None} in ports
    assert main(["devices", "--url", sim.url, "--json"]) == 0
    (mine,) = [p for p in json.loads(capsys.readouterr().out) if p["url"] == sim.url]
    assert mine["analyzer"]["simulated"] is True and "raman" in mine["analyzer"]["techniques"]
    assert main(["devices", "--url", "loop://", "--json"]) == 4  # none answered
    assert json.loads(capsys.readouterr().out)[-1]["analyzer"] is None
    assert main(["acquire", "--device", sim.url, "--integration-ms", "30", "--json",
                 "-o", str(tmp_path / "z.jdx")]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["content_hash"] == spectra.read(tmp_path / "z.jdx")[0].content_hash


def test_interdict_simulate_prints_url_first(tmp_path: Path) -> None:
    p = subprocess.Popen([sys.executable, "-m", "station.cli", "simulate", "--tcp", "0"],
                         stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert p.stdout is not None
        assert p.stdout.readline().startswith("device: socket://127.0.0.1:")
    finally:
        p.terminate()
        assert p.wait(timeout=5) == 0  # SIGTERM is a clean stop


def test_rfc2217_bridge(simulator) -> None:
    """``rfc2217://``: the analyzer behind a serial-over-network bridge (RFC 2217 option
    negotiation, IAC escaping); the scan arrives identical to the same scan read directly
    from a twin simulator of the same seed."""
    from .rfc2217_bridge import Bridge

    sim, twin = simulator("--seed", "4"), simulator("--seed", "4")
    bridge = Bridge(sim.url)
    try:
        with Analyzer(bridge.url) as dev:
            info = dev.identify()
            s = dev.acquire(integration_ms=10)
    finally:
        bridge.close()
    with Analyzer(twin.url) as direct:
        t = direct.acquire(integration_ms=10)
    assert len(s) == 2048 and s.acquisition.instrument_serial == info.serial
    np.testing.assert_array_equal(s.y, t.y)
    np.testing.assert_array_equal(s.x, t.x)
    # the counts travel as little-endian u32: 0xFF bytes (telnet IAC) were on the line
    assert np.asarray(s.y).astype("<u4").tobytes().count(b"\xff") > 0
