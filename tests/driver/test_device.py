"""The simulator's state machine in-process (fake clock), messages, faults and profiles."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pydantic import ValidationError

from driver.capabilities import PROFILES, RAMAN_785, Capabilities, Limits, TechniqueCaps
from driver.protocol import Flag, Frame, FrameDecoder, encode_frame
from driver.protocol import messages as m
from driver.simulator.device import SimulatedDevice
from driver.simulator.faults import FaultSpec
from driver.simulator.synth import Scenario, ScenarioError, load_references


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture(scope="module")
def refs():  # type: ignore[no-untyped-def]
    return load_references()


def make(refs, **kw):  # type: ignore[no-untyped-def]
    clock = Clock()
    dev = SimulatedDevice(PROFILES[kw.pop("profile", "raman-785")], refs,
                          Scenario.default_for(refs), clock=clock, **kw)
    return dev, clock


def talk(dev: SimulatedDevice, clock: Clock, msg_type: int, payload: bytes = b"",
         seq: int = 1) -> list[Frame]:
    dev.receive(encode_frame(Frame(msg_type=msg_type, seq=seq, payload=payload)))
    dec = FrameDecoder()
    out: list[Frame] = []
    while (data := dev.outgoing(clock())):
        out += [f for f in dec.feed(data) if isinstance(f, Frame)]
    return out


def replies(frames: list[Frame]) -> list[Frame]:
    return [f for f in frames if f.flags & Flag.REPLY]


def test_unknown_message_gets_an_error_reply_not_a_crash(refs) -> None:
    dev, clock = make(refs)
    (r,) = replies(talk(dev, clock, 0x0777, seq=9))
    assert r.seq == 9 and r.error == m.ErrorCode.UNKNOWN_MESSAGE
    assert b"0x0777" in r.payload


def test_corrupted_request_is_nacked(refs) -> None:
    dev, clock = make(refs)
    raw = bytearray(encode_frame(Frame(msg_type=m.MsgType.STATUS, seq=5, payload=b"xy")))
    raw[17] ^= 1  # payload byte: header intact, CRC fails
    dev.receive(bytes(raw))
    dec = FrameDecoder()
    out: list[Frame] = []
    while (data := dev.outgoing(clock())):
        out += [f for f in dec.feed(data) if isinstance(f, Frame)]
    assert out[-1].flags & Flag.NACK and out[-1].seq == 5
    assert out[-1].error == m.ErrorCode.BAD_CRC


def test_repeated_acquire_is_answered_from_the_cache(refs) -> None:
    dev, clock = make(refs)
    acq = m.AcquirePayload(kind=0, technique=1, integration_ms=10, accumulations=1,
                           laser_power_mw=100).pack()
    (first,) = replies(talk(dev, clock, m.MsgType.ACQUIRE, acq, seq=3))
    (again,) = replies(talk(dev, clock, m.MsgType.ACQUIRE, acq, seq=3))
    assert first == again and first.error == 0
    assert dev.stats["repeats"] == 1 and dev._scan_counter == 1  # one scan, not two
    (other,) = replies(talk(dev, clock, m.MsgType.ACQUIRE, acq, seq=4))
    assert other.error == m.ErrorCode.BUSY  # a new request while scanning


def test_scan_lifecycle_events_and_blob(refs) -> None:
    dev, clock = make(refs, seed=5)
    acq = m.AcquirePayload(kind=0, technique=1, integration_ms=100, accumulations=3,
                           laser_power_mw=200).pack()
    frames = talk(dev, clock, m.MsgType.ACQUIRE, acq)
    ticket = m.ScanTicket.unpack(replies(frames)[0].payload)
    assert ticket.expected_ms == 3 * (100 + RAMAN_785.readout_ms)
    (nr,) = replies(talk(dev, clock, m.MsgType.GET_SCAN, m.ScanId(scan_id=1).pack(), seq=2))
    assert nr.error == m.ErrorCode.NOT_READY
    clock.t += 1.0
    dev.tick(clock())
    events = [f for f in talk(dev, clock, m.MsgType.STATUS, seq=3) if f.flags & Flag.EVENT]
    kinds = [f.msg_type for f in events]
    assert kinds == [m.MsgType.EV_PROGRESS, m.MsgType.EV_PROGRESS, m.MsgType.EV_SCAN_COMPLETE]
    (ref,) = replies(talk(dev, clock, m.MsgType.GET_SCAN, m.ScanId(scan_id=1).pack(), seq=4))
    blob = m.BlobRef.unpack(ref.payload)
    assert dev.blobs[blob.blob_id][:4] == m.BLOB_HEAD.pack(
        len(dev.blobs[blob.blob_id]) - 4 - 2048 * 4)


def test_configure_range_checks(refs) -> None:
    dev, clock = make(refs)
    bad = m.ConfigPayload(technique=1, integration_ms=0.5, accumulations=1,
                          laser_power_mw=100).pack()
    (r,) = replies(talk(dev, clock, m.MsgType.CONFIGURE, bad))
    assert r.error == m.ErrorCode.OUT_OF_RANGE and b"integration_ms=0.5" in r.payload
    nan = m.ConfigPayload(technique=1, integration_ms=float("nan"), accumulations=1,
                          laser_power_mw=100).pack()
    (r,) = replies(talk(dev, clock, m.MsgType.CONFIGURE, nan, seq=2))
    assert r.error == m.ErrorCode.OUT_OF_RANGE
    ftir = m.ConfigPayload(technique=2, integration_ms=500, accumulations=1,
                           laser_power_mw=0).pack()
    (r,) = replies(talk(dev, clock, m.MsgType.CONFIGURE, ftir, seq=3))
    assert r.error == m.ErrorCode.UNSUPPORTED
    (r,) = replies(talk(dev, clock, m.MsgType.CONFIGURE, b"\x01", seq=4))
    assert r.error == m.ErrorCode.BAD_PAYLOAD
    assert dev.config.integration_ms == 100.0  # unchanged by all of the above


def test_synthesis_is_deterministic_and_physical(refs) -> None:
    def scan(seed: int, **settings: float) -> np.ndarray:
        dev, clock = make(refs, seed=seed)
        acq = m.AcquirePayload(kind=0, technique=1, **{"integration_ms": 100,
                               "accumulations": 1, "laser_power_mw": 200, **settings}).pack()
        talk(dev, clock, m.MsgType.ACQUIRE, acq)
        clock.t += 1000
        dev.tick(clock())
        bid = dev.scan_blobs[1]
        blob = dev.blobs[bid]
        return np.frombuffer(blob[-2048 * 4:], dtype="<u4").astype(float)

    a, b, c = scan(1), scan(1), scan(2)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    long = scan(1, integration_ms=20000, laser_power_mw=490)
    assert long.max() == 65535  # saturation at the ADC maximum
    assert np.median(scan(1, integration_ms=400)) > np.median(a)  # dark current and signal grow


def test_fault_spec_parsing() -> None:
    f = FaultSpec.parse("corrupt=0.01, drop=0.001,delay-ms=50")
    assert (f.corrupt, f.drop, f.delay_ms) == (0.01, 0.001, 50)
    assert FaultSpec.parse(f.describe()) == f
    for bad, msg in (("corrupt", "expected name=value"), ("warp=1", "unknown fault"),
                     ("corrupt=lots", "not a number"), ("drop=2", "within 0..1"),
                     ("delay-ms=-5", "negative")):
        with pytest.raises(ValueError, match=msg):
            FaultSpec.parse(bad)


def test_profiles_are_validated() -> None:
    with pytest.raises(ValidationError, match="excitation_nm"):
        TechniqueCaps(technique="raman", pixels=10, x_unit="raman-shift-cm-1", y_unit="counts",
                      axis_coefficients=(100.0, 1.0), integration_ms=Limits(min=1, max=10),
                      accumulations=Limits(min=1, max=2))
    with pytest.raises(ValidationError, match="strictly increasing"):
        RAMAN_785.model_copy(update={}).model_validate(
            {**RAMAN_785.model_dump(), "axis_coefficients": (100.0, -1.0)})
    with pytest.raises(ValidationError, match="declared twice"):
        Capabilities(techniques=(RAMAN_785, RAMAN_785))
    with pytest.raises(ValidationError, match="min"):
        Limits(min=5, max=1)


def test_scenario_errors_name_the_field(refs, tmp_path: Path) -> None:
    p = tmp_path / "s.json"
    p.write_text(json.dumps({"samples": {"A": {"components": [
        {"reference": "ethanol", "fraction": 0.8}, {"reference": "acetone", "fraction": 0.5}]}}}))
    with pytest.raises(ScenarioError, match=r"samples.A.*sum to 1.3"):
        Scenario.load(p)
    p.write_text(json.dumps({"samples": {"A": {"components": [
        {"reference": "unobtainium", "fraction": 1.0}]}}}))
    with pytest.raises(ScenarioError, match="unobtainium"):
        Scenario.load(p).check_references(refs)
    t = tmp_path / "s.toml"
    t.write_text('selection = "round-robin"\n[samples.B]\ncomponents = '
                 '[{reference = "ethanol", fraction = 1.0}]\n')
    assert Scenario.load(t).selection == "round-robin"
    with pytest.raises(ScenarioError, match="no such reference"):
        load_references([tmp_path / "missing.csv"])


def test_spectrum_files_as_references(tmp_path: Path) -> None:
    import spectra

    x = np.linspace(200, 2000, 500)
    s = spectra.Spectrum(x, np.exp(-0.5 * ((x - 1000) / 5) ** 2), technique="raman",
                         title="testine", excitation_nm=785.0)
    spectra.write(s, tmp_path / "testine.jdx")
    refs = load_references([tmp_path])
    ref = refs[("raman", "testine")]
    assert ref.y.max() == pytest.approx(1.0) and abs(ref.x[np.argmax(ref.y)] - 1000) < 4


def test_shipped_references_are_reproducible(shared_data: Path, tmp_path: Path) -> None:
    from driver.simulator.references import derive

    derive.main(shared_data, tmp_path)
    shipped = sorted(p.name for p in derive.HERE.glob("*.csv"))
    assert shipped == sorted(p.name for p in tmp_path.glob("*.csv"))
    for name in shipped:
        assert (tmp_path / name).read_bytes() == (derive.HERE / name).read_bytes(), name


def test_a_library_folder_serves_as_references_with_the_devices_own_standard() -> None:
    """``--references fixtures/library``: its ``index.csv`` is metadata, not a spectrum, and the
    device keeps its built-in polystyrene self-test standard next to the given references."""
    fixtures = Path(__file__).resolve().parents[2] / "fixtures"
    library, synthetic = fixtures / "library", fixtures / "library-synthetic"
    assert (library / "index.csv").is_file()
    refs = load_references([library])
    assert ("raman", "polystyrene") in refs  # the built-in standard, lower-case name
    assert ("raman", "Calcite (calcium carbonate)") in refs
    scenario = Scenario.load(fixtures / "scenario.json")
    with pytest.raises(ScenarioError, match="Fentanyl"):  # SYNTHETIC refs not in that folder
        scenario.check_references(refs)
    scenario.check_references(load_references([library, synthetic]))


def test_hostile_scenario_files_get_a_scenario_error(tmp_path: Path) -> None:
    from driver.simulator.synth import MAX_SCENARIO_BYTES

    deep = tmp_path / "deep.json"
    deep.write_text('{"samples": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(ScenarioError, match=r"deep\.json.*nested"):
        Scenario.load(deep)
    deep_toml = tmp_path / "deep.toml"
    deep_toml.write_text("samples = " + "[" * 100_000 + "]" * 100_000 + "\n")
    with pytest.raises(ScenarioError, match=r"deep\.toml.*nested"):
        Scenario.load(deep_toml)
    digits = tmp_path / "digits.json"
    digits.write_text('{"samples": {"A": {"components": [], "signal": ' + "9" * 5000 + "}}}")
    with pytest.raises(ScenarioError, match=r"digits\.json"):
        Scenario.load(digits)
    big = tmp_path / "big.json"
    with big.open("wb") as fh:
        fh.truncate(MAX_SCENARIO_BYTES + 1)  # sparse: no disk used
    with pytest.raises(ScenarioError, match=rf"big\.json.*larger than {MAX_SCENARIO_BYTES:,}"):
        Scenario.load(big)


def test_a_scenario_error_is_a_driver_error_and_still_a_value_error(tmp_path: Path) -> None:
    from driver.errors import AnalyzerError
    from station.exit_codes import ExitCode, classify

    bad = tmp_path / "scenario.json"
    bad.write_text("{\"samples\": 3}")
    with pytest.raises(ScenarioError) as caught:
        Scenario.load(bad)
    assert isinstance(caught.value, AnalyzerError) and isinstance(caught.value, ValueError)
    assert classify(caught.value) == (ExitCode.ERROR, None)  # a bad file, not a bad device
