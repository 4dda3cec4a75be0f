"""A lying device: every size it declares is bounded before the driver allocates it.

The simulator's ``lie-*`` faults make it declare absurd sizes (an identify document or a scan
blob of up to 4 GiB, more values than its detector has pixels) over a real pty. The driver
must refuse each with :class:`~driver.DeclaredSizeError` naming what was declared and the
limit, and must not have allocated it: the peak of Python's traced memory stays small.
"""

from __future__ import annotations

import tracemalloc
from collections.abc import Callable, Iterator
from typing import TypeVar

import pytest

from driver import Analyzer, DeclaredSizeError, ProtocolError
from driver.capabilities import MAX_PIXELS, RAMAN_785
from driver.protocol import messages as m
from driver.session.interdict_v1 import scan_blob_limit
from driver.simulator.faults import FaultSpec

PEAK_BOUND = 4 << 20
"""Bytes: an honest identify + a refused declaration allocate far less than this."""

T = TypeVar("T")


def peak_of(fn: Callable[[], T]) -> tuple[T | BaseException, int]:
    """Run ``fn`` under tracemalloc; return its result (or the exception) and the peak."""
    tracemalloc.start()
    try:
        result: T | BaseException = fn()
    except BaseException as exc:
        result = exc
    finally:
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    return result, peak


@pytest.fixture
def opened() -> Iterator[list[Analyzer]]:
    devs: list[Analyzer] = []
    yield devs
    for d in devs:
        d.close()


def test_identify_document_declared_absurdly_large(simulator) -> None:
    # 64 MiB first: if the bound ever regresses, this fails on the peak before the 4 GiB
    # declaration is tried (which would then really allocate 8 GiB)
    for declared in (1 << 26, 0xFFFFFFFF):
        sim = simulator("--faults", f"lie-identify={declared}")
        err, peak = peak_of(lambda url=sim.url: Analyzer(url, latency_s=0.15).open())
        assert peak < PEAK_BOUND, f"declared {declared}: peak {peak:,} bytes traced"
        assert isinstance(err, DeclaredSizeError), repr(err)
        assert (err.what, err.declared, err.limit) == (
            "identify document", declared, m.MAX_IDENTIFY_BYTES)
        assert f"{declared:,} bytes" in str(err) and f"{m.MAX_IDENTIFY_BYTES:,}" in str(err)


def test_scan_blob_declared_absurdly_large(simulator, opened: list[Analyzer]) -> None:
    sim = simulator("--faults", f"lie-scan={0xFFFFFFFF}")
    dev = Analyzer(sim.url, latency_s=0.15).open()
    opened.append(dev)
    err, peak = peak_of(lambda: dev.acquire(integration_ms=5))
    assert peak < PEAK_BOUND, f"peak {peak:,} bytes traced"
    assert isinstance(err, DeclaredSizeError), repr(err)
    # the limit follows the device's declared detector: header + 4 bytes a pixel
    assert err.limit == scan_blob_limit(dev.identify()) == \
        m.BLOB_HEAD.size + m.MAX_SCAN_HEADER_BYTES + 4 * RAMAN_785.pixels
    assert err.declared == 0xFFFFFFFF and "2,048 pixels" in str(err)


def test_more_values_than_the_detector_has_pixels(simulator, opened: list[Analyzer]) -> None:
    sim = simulator("--faults", "lie-pixels=3000")
    dev = Analyzer(sim.url, latency_s=0.15).open()
    opened.append(dev)
    with pytest.raises(DeclaredSizeError) as info:
        dev.acquire(integration_ms=5)
    assert (info.value.what, info.value.declared, info.value.limit, info.value.unit) == (
        "raman scan", 3000, RAMAN_785.pixels, "values")


def test_without_identify_the_absolute_limit_applies() -> None:
    assert scan_blob_limit(None) == m.BLOB_HEAD.size + m.MAX_SCAN_HEADER_BYTES + 4 * MAX_PIXELS


def test_lie_faults_are_parsed_and_bounded() -> None:
    assert FaultSpec.parse("lie-identify=4294967295").lie_identify == 0xFFFFFFFF
    for bad in ("lie-scan=4294967296", "lie-scan=1.5", "lie-pixels=99999999", "delay-ms=nan",
                "delay-ms=inf"):
        with pytest.raises(ValueError, match="fault"):
            FaultSpec.parse(bad)


def test_a_scan_announced_to_last_for_weeks_is_refused_not_waited_for(
        simulator, opened: list[Analyzer]) -> None:
    sim = simulator("--faults", f"lie-ms={0xFFFFFFFF}")
    dev = Analyzer(sim.url, latency_s=0.15).open()
    opened.append(dev)
    with pytest.raises(DeclaredSizeError) as info:
        dev.acquire(integration_ms=5, accumulations=2)
    # nominal 2 x (5 + 15 ms read-out) = 40 ms: at most 4 x 40 + 60,000 ms
    assert (info.value.what, info.value.declared, info.value.limit, info.value.unit) == (
        "scan", 0xFFFFFFFF, 60_160, "ms")


def test_declared_names_and_polynomials_are_bounded() -> None:
    from pydantic import ValidationError

    from driver.capabilities import MAX_NAME_CHARS, PROFILES, DeviceInfo
    from driver.models import AxisPolynomial

    ok = {"make": "M", "model": "X", "serial": "S" * MAX_NAME_CHARS, "firmware": "1",
          "protocol": "interdict", "protocol_version": 1, "capabilities": PROFILES["dual"]}
    DeviceInfo.model_validate(ok)
    with pytest.raises(ValidationError, match="serial"):
        DeviceInfo.model_validate({**ok, "serial": "S" * (MAX_NAME_CHARS + 1)})
    with pytest.raises(ValidationError, match="coefficients"):
        AxisPolynomial(coefficients=[1.0] * 7)


def test_what_a_device_says_about_itself_is_printed_escaped(simulator, tmp_path,
                                                            capsys) -> None:
    from parcels.text import UNSAFE
    from station.cli import main

    sim = simulator("--serial", "SIM\x1b[2J\r\u202e1")
    assert main(["devices", "--url", sim.url]) == 0
    out = capsys.readouterr().out
    assert "serial SIM\\u001b[2J\\r\\u202e1 " in out
    assert not UNSAFE.search(out.replace("\t", "").replace("\n", ""))  # tabs: our columns
    assert main(["acquire", "--device", sim.url, "--integration-ms", "5",
                 "-o", str(tmp_path / "s.csv")]) == 0
    out = capsys.readouterr().out
    assert "SIM\\u001b[2J" in out and not UNSAFE.search(out.replace("\n", ""))


@pytest.mark.parametrize(("blob", "error", "text"), [
    (m.BLOB_HEAD.pack(0xFFFFFFFF) + b"{}", DeclaredSizeError, "for its scan header"),
    (m.BLOB_HEAD.pack(500) + b"{}", ProtocolError, "header of 500 bytes declared in a blob of 6"),
    (b"\x01", ProtocolError, "has no header"),
])
def test_scan_blob_header_lengths_are_checked(blob: bytes, error: type[Exception],
                                              text: str) -> None:
    """The header length inside a scan blob is a declaration too (no I/O: a scripted session)."""
    from driver.protocol import Frame
    from driver.session import LinkOptions, V1Session

    session = V1Session(transport=None, options=LinkOptions())  # type: ignore[arg-type]
    ref = m.BlobRef(blob_id=1, size=len(blob), crc32=0)
    session.transact = lambda *a, **k: Frame(msg_type=m.MsgType.GET_SCAN, seq=1,  # type: ignore[method-assign]
                                             payload=ref.pack())
    session.fetch_blob = lambda *a, **k: blob  # type: ignore[method-assign]
    with pytest.raises(error, match=text):
        session.fetch_scan(1)


@pytest.mark.parametrize(("technique", "refused"), [("raman", False), ("nir", True)])
def test_a_scan_of_a_technique_the_driver_does_not_know_is_refused(technique: str,
                                                                   refused: bool) -> None:
    """The wire's technique name is parsed once, where the scan header is read: a name the
    driver has no :class:`spectra.Technique` for is a protocol error, never an FTIR scan."""
    import json

    from driver.protocol import Frame
    from driver.session import LinkOptions, V1Session

    header = json.dumps({
        "scan_id": 1, "kind": "sample", "source": "host", "technique": technique,
        "x_unit": "raman-shift-cm-1", "y_unit": "counts", "dtype": "<u4", "n": 2,
        "axis": {"coefficients": [100.0, 1.0]}, "excitation_nm": 785.0,
        "integration_ms": 10.0, "accumulations": 1, "acquired_at": "2026-11-20T09:00:00Z",
        "detector_temp_c": None}).encode()
    blob = m.BLOB_HEAD.pack(len(header)) + header + bytes(2 * m.VALUE_BYTES)
    session = V1Session(transport=None, options=LinkOptions())  # type: ignore[arg-type]
    ref = m.BlobRef(blob_id=1, size=len(blob), crc32=0)
    session.transact = lambda *a, **k: Frame(msg_type=m.MsgType.GET_SCAN, seq=1,  # type: ignore[method-assign]
                                             payload=ref.pack())
    session.fetch_blob = lambda *a, **k: blob  # type: ignore[method-assign]
    if refused:
        with pytest.raises(ProtocolError, match="technique"):
            session.fetch_scan(1)
    else:
        assert session.fetch_scan(1).header.technique == "raman"
