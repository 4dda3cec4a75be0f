"""The OBP session against the simulated OBP device in-process: identity and calibration,
both spectrum paths, declared sizes bounded, the non-idempotent acquire, resets, checksums,
and what is refused as not supported."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from driver.errors import (
    AcquisitionAbortedError,
    AnalyzerTimeoutError,
    DeviceRefusedError,
    NotSupportedError,
    ProtocolError,
)
from driver.models import Configuration
from driver.protocol import obp_messages as m
from driver.protocol.obp_frame import Checksum
from driver.session import LinkOptions, ObpSession, ScanLostError
from driver.simulator.obp_device import OBP_PROFILES, ObpSimulatedDevice
from driver.simulator.synth import Scenario, load_references

REFS = load_references(None)
SCENARIO = Scenario.default_for(REFS, ("raman",))
FAST = LinkOptions(latency_s=0.05, retries=3, busy_backoff_s=0.005)


class DeviceLink:
    """Transport stand-in: the host's bytes go to the device; reading pumps the device."""

    url = "inproc://obp"
    baudrate = 921600

    def __init__(self, device: ObpSimulatedDevice) -> None:
        self.device = device
        self.written: list[bytes] = []

    def write(self, data: bytes) -> None:
        self.written.append(data)
        self.device.receive(data)

    def read_some(self, timeout_s: float) -> bytes:
        end = time.monotonic() + timeout_s
        while True:
            now = time.monotonic()
            self.device.tick(now)
            out = b"".join(iter(lambda now=now: self.device.outgoing(now), b""))
            if out or now >= end:
                return out
            wake = self.device.next_wakeup()
            time.sleep(max(0.0, min(end, wake if wake is not None else end, now + 0.005)
                           - now))


def device(profile: str = "ocean-obp", **kw: Any) -> ObpSimulatedDevice:
    return ObpSimulatedDevice(OBP_PROFILES[profile], REFS, SCENARIO, seed=kw.pop("seed", 1),
                              **kw)


def session(dev: ObpSimulatedDevice, **kw: Any) -> ObpSession:
    return ObpSession(DeviceLink(dev), kw.pop("options", FAST), **kw)  # type: ignore[arg-type]


def patch(dev: ObpSimulatedDevice, msg: m.MsgType,
          handler: Callable[[ObpSimulatedDevice, Any], None] | None) -> None:
    """Give this one device another handler (or none: it then NACKs the message)."""
    table = dict(dev._HANDLERS)
    if handler is None:
        table.pop(msg)
    else:
        table[msg] = handler
    dev._HANDLERS = table  # type: ignore[misc]


CFG = Configuration(technique="raman", integration_ms=5, accumulations=2, laser_power_mw=200)


def acquire(s: ObpSession, kind: str = "sample", cfg: Configuration = CFG) -> Any:
    ticket = s.start_scan(kind, cfg)  # type: ignore[arg-type]
    s.wait_scan(ticket, 5.0)
    return s.fetch_scan(ticket.scan_id)


def test_identify_reads_identity_and_calibration() -> None:
    dev = device()
    s = session(dev)
    info = s.identify()
    assert (info.make, info.model, info.serial, info.firmware) == \
        ("Interdict", "OBP-RAMAN-785-SIM", "SIM-0001", "3.02")
    assert info.protocol == "obp" and info.protocol_version == 0x1100 and info.simulated
    caps = info.capabilities
    assert caps.buffer_capacity == 16 and not caps.trigger_button
    t = caps.technique("raman")
    assert t.pixels == 2048 and t.excitation_nm == 785.0 and t.x_unit == "wavelength-nm"
    np.testing.assert_array_equal(t.axis(), dev.profile.wavelengths())  # f32 on the wire
    assert t.laser_power_mw is not None and t.laser_power_mw.max == 450.0
    assert (t.integration_ms.min, t.integration_ms.max) == (1.0, 30000.0)
    assert dev.reply_checksum == Checksum.MD5 and s.facts is not None and s.facts.checked
    assert not dev.laser_on


def test_buffered_acquisition_returns_the_exposure_as_the_device_holds_it() -> None:
    dev = device()
    s = session(dev)
    raw = acquire(s)
    h = raw.header
    held = np.frombuffer(dev.buffer[0][m.METADATA_SIZE:], dtype="<u4")
    np.testing.assert_array_equal(raw.values, held)
    assert h.dtype == "<u4" and h.n == 2048 and h.x_unit == "wavelength-nm"
    assert (h.integration_ms, h.accumulations, h.laser_power_mw) == (5.0, 2, 200.0)
    assert h.extra["obp_message"] == "GET_BUF_SPEC32_META"
    assert h.extra["link_checksum"] == "md5" and h.extra["device_integration_us"] == 5000
    assert (dev.itime_us, dev.average, dev.trigger_mode) == (5000, 2, 0)
    assert dev.intensity == pytest.approx(200 / 450)
    assert not dev.laser_on  # on for the exposure only
    assert s.stats["laser_on"] == 1 and s.stats["laser_off"] == 2  # at start, after exposure


def test_raw_spectrum_path_reads_u16_pixels() -> None:
    dev = device("ocean-obp-basic")
    s = session(dev)
    cfg = Configuration(technique="raman", integration_ms=3, accumulations=1)
    raw = acquire(s, cfg=cfg)
    assert raw.header.dtype == "<u2" and raw.header.extra["obp_message"] == \
        "GET_RAW_SPECTRUM_NOW"
    assert raw.header.laser_power_mw is None  # not controlled here
    assert raw.values.min() >= 400  # bias: a real read-out, not zeros


def test_unsupported_features_are_refused_as_such() -> None:
    basic = session(device("ocean-obp-basic"))
    with pytest.raises(NotSupportedError, match="laser is not controlled"):
        basic.configure(CFG)
    with pytest.raises(NotSupportedError, match="dark scan needs the laser off"):
        basic.start_scan("dark", replace_power(CFG, 0))
    full = session(device())
    with pytest.raises(NotSupportedError, match="reference standard"):
        full.start_scan("self-test", CFG)
    with pytest.raises(NotSupportedError, match="trigger button"):
        full.press_trigger()
    with pytest.raises(NotSupportedError, match="Raman only"):
        full.configure(Configuration(technique="ftir", integration_ms=5, accumulations=1))
    with pytest.raises(NotSupportedError, match="32-bit microseconds"):
        full.configure(Configuration(technique="raman", integration_ms=5e9, accumulations=1))


def replace_power(cfg: Configuration, mw: float) -> Configuration:
    return cfg.model_copy(update={"laser_power_mw": mw})


def test_out_of_range_settings_are_refused_by_the_device_with_our_detail() -> None:
    dev = device()
    s = session(dev)
    s.configure(CFG)
    with pytest.raises(DeviceRefusedError) as e:
        s.configure(Configuration(technique="raman", integration_ms=50_000, accumulations=1))
    assert e.value.name == "PAYLOAD_INVALID" and "1000..30000000 µs" in str(e.value)
    assert dev.itime_us == 5000  # unchanged
    with pytest.raises(DeviceRefusedError, match="laser_power_mw=900"):
        s.configure(replace_power(CFG, 900))


def test_the_device_declaring_absurd_sizes_is_refused_before_allocation() -> None:
    cases: list[tuple[m.MsgType, bytes, str]] = [
        (m.MsgType.GET_NUMBER_OF_PIXELS, m.U32.pack(0xFFFFFFFF), "4294967295 pixels"),
        (m.MsgType.GET_WL_COEFF_COUNT, m.U8.pack(200), "200 wavelength coefficients"),
        (m.MsgType.GET_SERIAL_NUMBER, b"S" * 70, "70 bytes announced, more than the 64"),
        (m.MsgType.GET_SERIAL_NUMBER, b"S" * 63 + b"\x07", "not a printable ASCII"),
        (m.MsgType.GET_BUFFER_SIZE_MAX, m.U32.pack(2**31), "buffered spectra"),
        (m.MsgType.GET_WL_COEFF, m.F32.pack(float("nan")), "not finite"),
    ]
    for msg, reply, why in cases:
        dev = device()
        patch(dev, msg, lambda d, req, reply=reply: d._reply(req, reply))
        with pytest.raises(ProtocolError, match=why):
            session(dev).identify()


def test_a_reply_announcing_more_than_expected_is_never_read() -> None:
    dev = device()
    s = session(dev)
    s.identify()
    patch(dev, m.MsgType.GET_BUF_SPEC32_META,
          lambda d, req: d._reply(req, bytes(m.METADATA_SIZE + 4 * 2048 + 4)))
    t = s.start_scan("sample", CFG)
    s.wait_scan(t, 5.0)
    with pytest.raises(ProtocolError, match="8228 bytes announced, more than the 8224"):
        s.fetch_scan(t.scan_id)
    assert s.stats["frame_too-long"] == FAST.retries + 1  # refused at the header each time


def test_an_implausible_calibration_is_a_protocol_error() -> None:
    dev = device()
    coeffs = iter([900.0, -0.5, 0.0, 0.0])  # decreasing wavelengths
    patch(dev, m.MsgType.GET_WL_COEFF, lambda d, req: d._reply(req, m.F32.pack(next(coeffs))))
    with pytest.raises(ProtocolError, match="implausible calibration"):
        session(dev).identify()


def test_a_lost_acquire_ack_is_checked_not_resent() -> None:
    """ACQUIRE_SPECTRA_INTO_BUFFER is not idempotent: a resend would expose twice."""
    dev = device()
    s = session(dev)
    s.identify()
    seen: list[int] = []
    original = dev._HANDLERS[m.MsgType.ACQUIRE_SPECTRA_INTO_BUFFER]

    def ack_lost(d: ObpSimulatedDevice, req: Any) -> None:
        seen.append(req.regarding)
        d._start(None)  # runs, but its ACK never leaves

    patch(dev, m.MsgType.ACQUIRE_SPECTRA_INTO_BUFFER, ack_lost)
    raw = acquire(s)
    assert len(seen) == 1 and s.stats["acquire_unanswered"] == 1
    assert dev._spectrum_count == 1 and raw.header.extra["device_spectrum_count"] == 1
    # a command that never arrived *is* sent again
    patch(dev, m.MsgType.ACQUIRE_SPECTRA_INTO_BUFFER, lambda d, req: None)
    patch(dev, m.MsgType.ACQUIRE_SPECTRA_INTO_BUFFER, original)
    calls = iter([False, True])

    def first_lost(d: ObpSimulatedDevice, req: Any) -> None:
        if next(calls):
            original(d, req)

    patch(dev, m.MsgType.ACQUIRE_SPECTRA_INTO_BUFFER, first_lost)
    acquire(s)
    assert s.stats["acquire_unanswered"] == 2 and dev._spectrum_count == 2


def test_a_device_reset_is_noticed_and_the_settings_restored() -> None:
    dev = device()
    s = session(dev)
    acquire(s)
    dev.reboot()
    dev._silent_until = 0.0  # no need to wait here
    assert dev.itime_us == 100_000 and dev.reply_checksum == Checksum.NONE
    st = s.status()  # answered unchecked: the session re-establishes checksums
    assert s.boot_changed and st.boot_id == 1 and dev.reply_checksum == Checksum.MD5
    raw = acquire(s)
    assert dev.itime_us == 5000 and raw.header.integration_ms == 5.0


def test_a_reset_during_a_scan_loses_it() -> None:
    dev = device()
    s = session(dev)
    t = s.start_scan("sample", CFG)
    dev.reboot()
    dev._silent_until = 0.0
    with pytest.raises(ScanLostError):
        s.wait_scan(t, 5.0)
    assert not dev.laser_on


def test_a_device_that_cannot_checksum_is_refused_unless_allowed() -> None:
    def refusing() -> ObpSimulatedDevice:
        dev = device()
        patch(dev, m.MsgType.SET_CHECKSUM_TYPE, None)
        return dev

    with pytest.raises(NotSupportedError, match="cannot checksum its replies"):
        session(refusing()).identify()
    s = session(refusing(), require_checksum=False)
    raw = acquire(s)
    assert raw.header.extra["link_checksum"] == "none"


def test_an_unknown_module_needs_its_facts() -> None:
    dev = device()
    patch(dev, m.MsgType.GET_DEVICE_STRING, lambda d, req: d._reply(req, b"QE-PRO-RAMAN"))
    with pytest.raises(NotSupportedError, match="'QE-PRO-RAMAN' serial SIM-0001 answered"):
        session(dev).identify()
    s = session(dev, module=m.RamanModule(excitation_nm=830.0, laser_max_mw=300.0))
    t = s.identify().capabilities.technique("raman")
    assert t.excitation_nm == 830.0 and not s.info.simulated  # type: ignore[union-attr]


def test_cancel_aborts_on_the_device_and_switches_the_laser_off() -> None:
    dev = device()
    s = session(dev)
    t = s.start_scan("sample", CFG.model_copy(update={"integration_ms": 2000}))
    assert dev.laser_on and dev.exposure is not None
    with pytest.raises(AcquisitionAbortedError):
        s.wait_scan(t, 10.0, cancel=lambda: True)
    assert dev.exposure is None and not dev.laser_on


def test_unknown_messages_get_the_device_error() -> None:
    s = session(device())
    s.identify()
    with pytest.raises(DeviceRefusedError) as e:
        s.transact(0x00FF0000)
    assert e.value.name == "UNKNOWN_MESSAGE" and e.value.code == 2
    with pytest.raises(DeviceRefusedError) as e:
        s.transact(m.MsgType.SET_ITIME_USEC, b"\x01", command=True)
    assert e.value.name == "PAYLOAD_LENGTH"
    assert s.status().ready  # still fine


def test_derived_bound_covers_every_resend() -> None:
    s = session(device())
    s.identify()
    bound = s.acquisition_bound_s(CFG, scan_timeout_s=2.0)
    attempts = FAST.retries + 1
    assert bound > 2.0 + attempts * s.reply_timeout(m.METADATA_SIZE + 4 * 2048)


def test_a_stale_exposure_never_passes_for_the_requested_one() -> None:
    """An exposure still running from before (a scan lost to a reset, with the device's
    default settings) must not land in the buffer this acquisition reads."""
    dev = device()
    s = session(dev, options=LinkOptions(latency_s=0.05, retries=3, busy_backoff_s=0.05))
    s.identify()
    dev.itime_us = 150_000
    dev._start(None)  # a stale 150 ms exposure, still running
    raw = acquire(s)
    assert raw.header.extra["device_integration_us"] == 5000
    assert raw.header.integration_ms == 5.0


def test_a_spectrum_whose_metadata_disagrees_is_not_this_scan() -> None:
    dev = device()
    s = session(dev)
    t = s.start_scan("sample", CFG)
    s.wait_scan(t, 5.0)
    held = bytearray(dev.buffer[0])
    held[12:16] = m.U32.pack(100_000)  # metadata: integrated 100 ms, not the 5 ms set
    dev.buffer[0] = bytes(held)
    with pytest.raises(ScanLostError, match="100000 µs, not the 5000 µs set"):
        s.fetch_scan(t.scan_id)


def test_a_length_garbled_once_is_the_line_not_the_device() -> None:
    """Only a device announcing too much on every attempt is a protocol error; a length
    field corrupted on one attempt among failures is a damaged line (a timeout)."""
    dev = device()
    s = session(dev)
    s.identify()
    replies = iter([bytes(70), *([None] * 10)])

    def once_too_long(d: ObpSimulatedDevice, req: Any) -> None:
        r = next(replies)
        if r is not None:
            d._reply(req, r)  # then silence: replies lost

    patch(dev, m.MsgType.GET_DEVICE_STRING, once_too_long)
    with pytest.raises(AnalyzerTimeoutError):
        s.transact(m.MsgType.GET_DEVICE_STRING)
