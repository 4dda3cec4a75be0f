"""Each fault kind of the simulator, and the driver recovering within its derived timeouts."""

from __future__ import annotations

import time

import numpy as np
import pytest

from driver import Analyzer
from driver.simulator.control import press_trigger

N = 4


@pytest.mark.parametrize("faults", [
    "corrupt=0.01,drop=0.002",
    "delay-ms=50,garbage=0.3",
    "nack=0.2,busy=0.2",
    "corrupt=0.005,drop=0.001,garbage=0.05,nack=0.05,busy=0.05",
])
def test_line_faults_are_recovered_within_the_timeout(simulator, faults: str) -> None:
    clean = simulator("--seed", "7")
    noisy = simulator("--seed", "7", "--faults", faults)
    with Analyzer(clean.url, latency_s=0.15) as ref_dev:
        ref_dev.configure(integration_ms=5)
        expected = [ref_dev.acquire() for _ in range(N)]
    with Analyzer(noisy.url, latency_s=0.15) as dev:
        dev.configure(integration_ms=5)
        for ref in expected:
            bound = dev.scan_timeout(dev.configuration) + 60 * dev.options.latency_s
            t0 = time.monotonic()
            s = dev.acquire()
            assert time.monotonic() - t0 <= bound
            # same seed, same synthesis: the data that arrived are exactly what was sent
            np.testing.assert_array_equal(s.y, ref.y)
        assert sum(dev.stats.values()) > 0


def test_disconnect_mid_transfer_reconnects_and_restores(simulator) -> None:
    sim = simulator("--seed", "8", "--faults", "disconnect=0.05,reconnect-ms=200")
    with Analyzer(sim.url, latency_s=0.15, reconnect_s=5) as dev:
        dev.configure(integration_ms=7, accumulations=2)
        for _ in range(N):
            s = dev.acquire()
            assert s.acquisition.integration_time_ms == 7
        assert dev.reconnects >= 1
        press_trigger(dev)  # a button scan uses the device's own (restored) configuration
        button = next(dev.triggers(timeout_s=5, poll_s=0.2))
    assert button.acquisition.integration_time_ms == 7
    assert button.acquisition.accumulations == 2


def test_disconnect_over_tcp(simulator) -> None:
    sim = simulator("--seed", "8", "--faults", "disconnect=0.1,reconnect-ms=100", tcp=True)
    with Analyzer(sim.url, latency_s=0.15, reconnect_s=5) as dev:
        for _ in range(4):
            assert len(dev.acquire(integration_ms=5)) == 2048
        assert dev.reconnects >= 1


def test_reboot_loses_the_scan_and_the_driver_starts_again(simulator) -> None:
    sim = simulator("--seed", "9", "--faults", "reboot=0.1,reboot-ms=200")
    with Analyzer(sim.url, latency_s=0.15) as dev:
        dev.configure(integration_ms=9)
        for _ in range(N):
            assert dev.acquire().acquisition.integration_time_ms == 9
        assert dev.status().boot_id > 1  # it did reboot
        press_trigger(dev)
        button = next(dev.triggers(timeout_s=5, poll_s=0.2))
    assert button.acquisition.integration_time_ms == 9  # configuration restored after reboot
