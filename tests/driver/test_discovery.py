"""Port listing with the VID:PID table, and probing."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from driver import discovery


def test_list_ports_describes_known_bridges(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = [SimpleNamespace(device="/dev/ttyUSB1", description="FT232R USB UART", vid=0x0403,
                            pid=0x6001, serial_number="A1"),
            SimpleNamespace(device="/dev/ttyS0", description="n/a", vid=None, pid=None,
                            serial_number=None),
            SimpleNamespace(device="/dev/ttyACM0", description="gadget", vid=0x1234,
                            pid=0x5678, serial_number=None)]
    monkeypatch.setattr(discovery._lp, "comports", lambda: fake)
    ports = discovery.list_ports()
    assert [p.device for p in ports] == ["/dev/ttyACM0", "/dev/ttyS0", "/dev/ttyUSB1"]
    by = {p.device: p.describe() for p in ports}
    assert by["/dev/ttyUSB1"] == "0403:6001 FTDI FT232R USB-serial (FT232R USB UART)"
    assert by["/dev/ttyACM0"].startswith("1234:5678 unknown USB device")
    assert by["/dev/ttyS0"] == "n/a"


def test_probe_tells_analyzers_from_the_rest(shared_sim, tmp_path) -> None:
    ok = discovery.probe(shared_sim.url)
    assert ok.info is not None and ok.info.serial == "SIM-0001"
    echo = discovery.probe("loop://", timeout_s=0.05)
    assert echo.info is None and "NotAnAnalyzerError" in echo.problem
    missing = discovery.probe(str(tmp_path / "ttyNONE"))
    assert missing.info is None and "LinkError" in missing.problem
