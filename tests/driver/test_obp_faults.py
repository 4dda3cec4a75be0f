"""Each fault kind of the OBP simulator, and the driver recovering within its derived bound or
failing with a typed error; what arrives is compared value for value with a fault-free twin.

OBP has no chunked transfer: a whole spectrum (8,288 bytes here) must arrive intact in one
message, so line faults are set where a spectrum message survives often enough (at 5e-5
corrupted bytes about 2 in 3 do); ``bench/link.py`` measures the heavier rates."""

from __future__ import annotations

import time

import numpy as np
import pytest

from driver import Analyzer
from driver.session import OBP, ObpSession

N = 4


def session(dev: Analyzer) -> ObpSession:
    s = dev._require()
    assert isinstance(s, ObpSession)
    return s


@pytest.mark.parametrize("faults", [
    "corrupt=0.00005,drop=0.000005",
    "delay-ms=50,garbage=0.3",
    "nack=0.2,busy=0.2",
    "corrupt=0.00003,drop=0.000003,garbage=0.05,nack=0.05,busy=0.05",
])
def test_line_faults_are_recovered_within_the_bound(simulator, faults: str) -> None:
    clean = simulator("--profile", "ocean-obp", "--seed", "7")
    noisy = simulator("--profile", "ocean-obp", "--seed", "7", "--faults", faults)
    with Analyzer(clean.url, dialect=OBP, latency_s=0.15) as ref_dev:
        ref_dev.configure(integration_ms=5)
        expected = [ref_dev.acquire() for _ in range(N)]
    with Analyzer(noisy.url, dialect=OBP, latency_s=0.15) as dev:
        cfg = dev.configure(integration_ms=5)
        bound = session(dev).acquisition_bound_s(cfg, dev.scan_timeout(cfg))
        for ref in expected:
            t0 = time.monotonic()
            s = dev.acquire()
            assert time.monotonic() - t0 <= bound
            # same seed, same exposures: the data that arrived are exactly what was sent
            np.testing.assert_array_equal(s.y, ref.y)
        assert sum(dev.stats.values()) > 0


@pytest.mark.parametrize("tcp", [False, True])
def test_disconnect_reconnects_and_restores(simulator, tcp: bool) -> None:
    """A spectrum message lost with the link: the new session cannot read the old exposure
    (OBP keeps no scan ids), so the Analyzer exposes again, with the restored settings."""
    sim = simulator("--profile", "ocean-obp", "--seed", "8", "--faults",
                    "disconnect=0.3,reconnect-ms=100", tcp=tcp)
    with Analyzer(sim.url, dialect=OBP, latency_s=0.15, reconnect_s=5) as dev:
        dev.configure(integration_ms=7, accumulations=2)
        for _ in range(N):
            s = dev.acquire()
            assert (s.acquisition.integration_time_ms, s.acquisition.accumulations) == (7, 2)
            assert s.extra["device_integration_us"] == "7000"  # what the device used
        assert dev.reconnects >= 1 and dev.rescans >= 1


def test_device_reset_is_noticed_and_settings_restored(simulator) -> None:
    """A reset loses the settings, the checksum mode and any exposure: noticed (the device
    answers unchecked, then NACKs "device reset"), settings restored, the scan taken again,
    and never a spectrum exposed with the power-on defaults. (About 6 requests make one OBP
    acquisition and the Analyzer takes a scan again at most three times: at 1 % of requests
    a reset comes soon, three in a row about once in 5,000 acquisitions.)"""
    sim = simulator("--profile", "ocean-obp", "--seed", "9", "--faults",
                    "reboot=0.01,reboot-ms=200")
    with Analyzer(sim.url, dialect=OBP, latency_s=0.15) as dev:
        dev.configure(integration_ms=9)
        for _ in range(80):
            s = dev.acquire()
            assert s.extra["device_integration_us"] == "9000"
            if session(dev).stats["resets"]:
                break
        assert session(dev).stats["resets"] >= 1  # it did reset
        after = dev.acquire()
    assert after.extra["device_integration_us"] == "9000"
    assert after.extra["link_checksum"] == "md5"  # checksums re-established
