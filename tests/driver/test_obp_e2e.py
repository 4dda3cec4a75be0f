"""The driver in the OBP dialect against the simulator process (``--profile ocean-obp``) over
real ptys and TCP loopback: identify, configure, acquire, what is not supported, ports that
are no analyzer, the probe of both dialects and the CLI."""

from __future__ import annotations

import json
import threading
import time
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
)
from driver.discovery import probe
from driver.errors import AnalyzerTimeoutError
from driver.session import OBP
from driver.simulator.control import press_trigger, select_sample
from driver.simulator.synth import load_references


@pytest.fixture(scope="module")
def obp_sim():  # type: ignore[no-untyped-def]
    from .conftest import start_sim, stop_sim

    sim = start_sim("--profile", "ocean-obp", "--seed", "3")
    yield sim
    stop_sim(sim)


def strongest_shift(sample: spectra.Spectrum, dark: spectra.Spectrum) -> float:
    y = sample.y - dark.y
    return float(sample.x[int(np.argmax(y))])


def test_identify_configure_acquire_over_pty(obp_sim) -> None:
    with Analyzer(obp_sim.url, dialect=OBP) as dev:
        info = dev.identify()
        assert info.protocol == "obp" and info.model == "OBP-RAMAN-785-SIM"
        raman = info.capabilities.technique("raman")
        assert raman.pixels == 2048 and raman.excitation_nm == 785.0
        assert info.capabilities.buffer_capacity > 0
        st = dev.status()
        assert st.ready and st.battery_pct is None  # OBP reports no battery
        cfg = dev.configure(integration_ms=40, accumulations=3, laser_power_mw=300)
        s = dev.acquire()
        dark = dev.dark()
    assert cfg.integration_ms == 40
    assert len(s) == 2048 and s.technique is spectra.Technique.RAMAN
    assert s.x_unit is spectra.XUnit.RAMAN_SHIFT and s.excitation_nm == 785.0
    assert 80 < s.x[0] < 100 and 2880 < s.x[-1] < 2900  # 790.5-1015 nm at 785 nm
    assert [p.step for p in s.provenance] == ["acquire", "convert_x"]
    assert s.provenance[1].params["from"] == "wavelength-nm"
    a = s.acquisition
    assert (a.integration_time_ms, a.accumulations, a.laser_power_mw) == (40, 3, 300)
    assert a.instrument_serial == "SIM-0001" and a.acquired_at is not None
    assert s.extra["link_checksum"] == "md5"
    assert dark.acquisition.laser_power_mw == 0.0 and dark.y.max() < s.y.max()
    # the default sample (acetone) shows its strongest band where the reference has it:
    # the wavelength calibration went through OBP and came out as Raman shift
    ref = load_references(None)[("raman", "acetone")]
    assert abs(strongest_shift(s, dark) - float(ref.x[np.argmax(ref.y)])) < 3.0


def test_same_driver_over_tcp(simulator) -> None:
    sim = simulator("--profile", "ocean-obp", "--seed", "1", tcp=True)
    assert sim.url.startswith("socket://127.0.0.1:")
    with Analyzer(sim.url, dialect=OBP) as dev:
        s = dev.acquire(integration_ms=10)
    assert len(s) == 2048 and s.extra["obp_message"] == "GET_BUF_SPEC32_META"


def test_spectrometer_without_laser_control_or_buffer(simulator) -> None:
    sim = simulator("--profile", "ocean-obp-basic", "--seed", "2")
    with Analyzer(sim.url, dialect=OBP) as dev:
        t = dev.identify().capabilities.technique("raman")
        assert t.laser_power_mw is None and dev.identify().capabilities.buffer_capacity == 0
        dev.configure(integration_ms=10)
        s = dev.acquire()
        with pytest.raises(NotSupportedError, match="laser is not controlled"):
            dev.configure(laser_power_mw=100)
        with pytest.raises(NotSupportedError, match="dark scan needs the laser off"):
            dev.dark()
        assert dev.acquire().acquisition.integration_time_ms == 10  # nothing changed
    assert s.extra["obp_message"] == "GET_RAW_SPECTRUM_NOW" and s.acquisition.laser_power_mw \
        is None


def test_unsupported_features_raise_not_supported(obp_sim) -> None:
    with Analyzer(obp_sim.url, dialect=OBP) as dev:
        with pytest.raises(NotSupportedError, match="reference standard"):
            dev.self_test()
        with pytest.raises(NotSupportedError, match="trigger button"):
            press_trigger(dev)
        with pytest.raises(NotSupportedError, match="ftir"):
            dev.configure(technique="ftir")
        with pytest.raises(DeviceRefusedError) as e:
            dev.configure(integration_ms=50_000)
        assert e.value.name == "PAYLOAD_INVALID" and "1000..30000000 µs" in str(e.value)
        assert dev.status().ready


def test_scenario_sample_selection(simulator, tmp_path: Path) -> None:
    scen = tmp_path / "scenario.json"
    scen.write_text(json.dumps({"samples": {
        "RR473124829US": {"components": [{"reference": "phenobarbital", "fraction": 1.0}]},
        "RR000000001US": {"components": [{"reference": "ethanol", "fraction": 1.0}]}}}))
    sim = simulator("--profile", "ocean-obp", "--scenario", str(scen))
    with Analyzer(sim.url, dialect=OBP) as dev:
        select_sample(dev, "RR000000001US")
        ethanol = dev.acquire(integration_ms=50)
        dark = dev.dark()
        with pytest.raises(DeviceRefusedError, match="PAYLOAD_INVALID"):
            select_sample(dev, "XX")
    ref = load_references(None)[("raman", "ethanol")]
    assert abs(strongest_shift(ethanol, dark) - float(ref.x[np.argmax(ref.y)])) < 3.0


def test_abort_from_another_thread(obp_sim) -> None:
    with Analyzer(obp_sim.url, dialect=OBP) as dev:
        timer = threading.Timer(0.3, dev.abort)
        timer.start()
        t0 = time.monotonic()
        with pytest.raises(AcquisitionAbortedError):
            dev.acquire(integration_ms=2000, accumulations=3)
        assert time.monotonic() - t0 < dev.scan_timeout(dev.configuration)
        assert dev.status().ready
        assert len(dev.acquire(integration_ms=5, accumulations=1)) == 2048


def test_ports_that_are_not_an_obp_analyzer(simulator) -> None:
    import os
    import tty

    with pytest.raises(NotAnAnalyzerError, match="not in the Ocean Binary Protocol"):
        Analyzer("loop://", dialect=OBP, latency_s=0.05, retries=1).open()
    v1 = simulator("--seed", "1")  # an interdict/1 analyzer ignores OBP messages...
    # ...but its boot event may still be on the line when we open it (interdict/1 bytes: not
    # OBP), or already flushed (silence): both are "not an OBP analyzer", each typed
    with pytest.raises((AnalyzerTimeoutError, NotAnAnalyzerError)):
        Analyzer(v1.url, dialect=OBP, latency_s=0.05, retries=1).open()
    master, slave = os.openpty()
    tty.setraw(slave)
    try:
        with pytest.raises(AnalyzerTimeoutError):
            Analyzer(os.ttyname(slave), dialect=OBP, latency_s=0.05, retries=1).open()
    finally:
        os.close(master)
        os.close(slave)


def test_probe_says_which_dialect_answered(obp_sim, simulator, tmp_path: Path) -> None:
    v1 = simulator("--seed", "1")
    got = probe(obp_sim.url, timeout_s=0.2)
    assert got.dialect == "obp" and got.info is not None and got.info.protocol == "obp"
    assert probe(v1.url, timeout_s=0.2).dialect == "interdict/1"
    echo = probe("loop://", timeout_s=0.05)
    assert echo.dialect is None and "interdict/1: NotAnAnalyzerError" in echo.problem \
        and "obp: NotAnAnalyzerError" in echo.problem
    missing = probe(str(tmp_path / "ttyNONE"))
    assert missing.dialect is None and missing.problem.startswith("LinkError")


def test_cli_devices_and_acquire(obp_sim, simulator, tmp_path: Path, capsys) -> None:
    from station.cli import main

    v1 = simulator("--seed", "1")
    assert main(["devices", "--timeout", "0.2", "--url", obp_sim.url, "--url", v1.url]) == 0
    out = capsys.readouterr().out
    assert f"{obp_sim.url}\tgiven on the command line\tANALYZER Interdict OBP-RAMAN-785-SIM" \
        in out and "answered in dialect obp" in out
    assert "answered in dialect interdict/1" in out
    csv = tmp_path / "scan.csv"
    assert main(["acquire", "--device", obp_sim.url, "--dialect", "auto",
                 "--integration-ms", "20", "-o", str(csv)]) == 0
    back = spectra.read(csv)[0]
    assert len(back) == 2048 and back.x_unit is spectra.XUnit.RAMAN_SHIFT
    assert main(["acquire", "--device", obp_sim.url, "--dialect", "obp", "--integration-ms",
                 "99999", "-o", str(tmp_path / "x.csv")]) == 4  # the analyzer refused it
    assert "PAYLOAD_INVALID" in capsys.readouterr().err
    assert main(["acquire", "--device", obp_sim.url, "--dialect", "nope", "-o",
                 str(tmp_path / "y.csv")]) == 2
    assert not (tmp_path / "x.csv").exists()
