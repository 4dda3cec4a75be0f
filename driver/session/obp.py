"""Dialect ``obp``: Ocean Insight's Ocean Binary Protocol, host side, over any pyserial URL.

OBP is a request/reply protocol without sequence numbers, events or chunked transfers. What
this session adds, and why:

* the header's *regarding* field (echoed by the device) carries our own counter, so a reply is
  matched to its request and stale replies are dropped;
* every request carries an MD5 checksum, and the device is asked to checksum its replies
  (``SET_CHECKSUM_TYPE``); from then on a reply without one is refused. A device that cannot
  is refused too, unless ``ObpDialect(require_checksum=False)`` accepts unchecked replies
  (each spectrum then says ``link_checksum: none``);
* a reply lost, damaged, or NACKed for a bad checksum makes the host send the same request
  again (same regarding), at most ``retries`` times; NOT_READY is retried after a back-off;
  settings are idempotent, reads are too, and the one command that is not
  (``ACQUIRE_SPECTRA_INTO_BUFFER``) is never resent blindly: after an unanswered attempt the
  host asks how many spectra the buffer holds, and sends it again only if none arrived;
* every size the device declares (pixels, coefficient count, string lengths, the announced
  length of each reply) is bounded before anything is allocated for it;
* the laser is on only while a sample is exposed, and switched off after the exposure, on
  abort, and when a session starts.

Spectra come from the device's buffer when it has one (``CLEAR_BUFFER_ALL``,
``ACQUIRE_SPECTRA_INTO_BUFFER``, ``GET_BUFFERED_SPEC_COUNT``, ``GET_BUF_SPEC32_META``): a
damaged reply is read again from the buffer, the same exposure. Without a buffer,
``GET_RAW_SPECTRUM_NOW`` exposes and replies in one message, so a damaged reply costs a new
exposure (OBP cannot send one again). Either way the spectrum kept is one whose MD5 verified.
"""

from __future__ import annotations

import collections
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

import numpy as np
from pydantic import ValidationError

from ..capabilities import Capabilities, DeviceInfo, Limits, TechniqueCaps
from ..errors import (
    AcquisitionAbortedError,
    AnalyzerTimeoutError,
    DeviceBusyError,
    DeviceRefusedError,
    NotAnAnalyzerError,
    NotSupportedError,
    ProtocolError,
)
from ..models import (
    AxisPolynomial,
    Configuration,
    DeviceStatus,
    Event,
    RawScan,
    ScanHeader,
    ScanKindName,
    Ticket,
)
from ..protocol import obp_messages as m
from ..protocol.obp_frame import (
    OVERHEAD,
    Checksum,
    Flag,
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorKind,
    encode_frame,
    make_frame,
)
from ..transport import Transport
from ._dialect import LinkOptions
from .interdict_v1 import ScanLostError

NAME = "obp"
BITS_PER_BYTE = 10  # 8N1
SMALL_REPLY = m.MAX_TEXT
"""Largest data of a reply that is not a spectrum."""
MAX_BUFFER = 1_000_000
"""Largest buffer capacity we believe a device declares."""
MAKE = "Ocean Insight"
"""Make reported when the device has no manufacturer string: OBP is Ocean's protocol."""
T = TypeVar("T")


class _Unanswered(Exception):
    """A non-idempotent command got no verifiable answer (it may or may not have run)."""


class _Cancelled(Exception):
    """The caller's ``cancel()`` returned True while waiting."""


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    """What :meth:`ObpSession.identify` learned, beyond the :class:`DeviceInfo`."""

    pixels: int
    coefficients: tuple[float, ...]
    module: m.RamanModule
    laser: bool
    buffer_capacity: int
    adc_max: int
    checked: bool
    itime_us: tuple[int, int]


@dataclass
class _Exposure:
    scan_id: int
    kind: ScanKindName
    config: Configuration
    laser_on: bool
    boot_id: int
    started: float
    expected_ms: int
    via_buffer: bool
    data: bytes | None = None
    acquired_at: datetime | None = None
    applied: dict[str, float] = field(default_factory=dict)


def _uint(what: str, *sizes: int) -> Callable[[bytes], int]:
    return lambda data: m.unpack_uint(data, what, sizes)


def _float(what: str) -> Callable[[bytes], float]:
    return lambda data: m.unpack_f32(data, what)


def _text(what: str) -> Callable[[bytes], str]:
    return lambda data: m.unpack_text(data, what)


def _bounded(parse: Callable[[bytes], int]) -> Callable[[bytes, int, int, str], int]:
    """``parse``, then refuse a value outside ``lo..hi`` (a size the device declares)."""
    def check(data: bytes, lo: int, hi: int, what: str) -> int:
        value = parse(data)
        if not lo <= value <= hi:
            raise ValueError(f"the device declares {value} {what}; {lo}..{hi} accepted")
        return value
    return check


class ObpSession:
    """Host side of OBP over a :class:`~driver.transport.Transport`.

    Parameters
    ----------
    transport, options
        The open link and its timing rules.
    module
        The Raman module's facts, when the device string is not in
        :data:`~driver.protocol.obp_messages.KNOWN_MODULES`.
    require_checksum
        Refuse a device that cannot checksum its replies.
    use_buffer
        Read spectra through the device's buffer when it has one.
    """

    def __init__(self, transport: Transport, options: LinkOptions, *,
                 module: m.RamanModule | None = None, require_checksum: bool = True,
                 use_buffer: bool = True) -> None:
        self.transport = transport
        self.options = options
        self.boot_id: int | None = 0
        self.boot_changed = False
        self.module_override = module
        self.require_checksum = require_checksum
        self.use_buffer = use_buffer
        self.facts: DeviceFacts | None = None
        self.info: DeviceInfo | None = None
        self.stats: collections.Counter[str] = collections.Counter()
        self._decoder = FrameDecoder(require_checksum=False)  # until the device checksums
        self._pending: collections.deque[Frame | FrameError] = collections.deque()
        self._regarding = int(time.monotonic_ns() & 0x7FFFFFFF)
        self._applied: dict[str, float] = {}
        self._scan_counter = 0
        self._exposure: _Exposure | None = None
        self._maybe_running = True  # an exposure of an earlier session may still run
        self.version = 0x1100
        self._handshaking = False
        """Protocol version of the device's last reply."""

    # -- timing -----------------------------------------------------------------------------
    def line_time(self, nbytes: int) -> float:
        """Seconds ``nbytes`` take on the line at the transport's baud rate."""
        return nbytes * BITS_PER_BYTE / max(self.transport.baudrate, 1)

    def reply_timeout(self, reply_bytes: int = SMALL_REPLY) -> float:
        """How long to wait for a reply carrying up to ``reply_bytes`` of data."""
        return self.options.latency_s + 2.0 * self.line_time(2 * OVERHEAD + reply_bytes)

    def acquisition_bound_s(self, config: Configuration, scan_timeout_s: float) -> float:
        """The longest one acquisition may take by the derived timeouts: every exchange
        exhausting its resends (settings, laser, buffer control, the spectrum read), plus
        the Analyzer's ``scan_timeout_s`` for the exposure itself."""
        facts = self._facts()
        attempts = self.options.retries + 1
        small = attempts * self.reply_timeout()
        spectrum = attempts * self.reply_timeout(m.METADATA_SIZE + 4 * facts.pixels)
        exposure = 1.25 * config.accumulations * (config.integration_ms
                                                  + facts.module.readout_ms) / 1000
        # 4 settings, abort, clear, laser on and off, acquire (an unanswered try waits the
        # exposure before it is checked)
        control = 9 * small + attempts * (exposure + self.options.latency_s)
        return control + scan_timeout_s + spectrum

    def _idle_s(self) -> float:
        return max(0.01, 0.25 * self.options.latency_s, 8 * self.line_time(OVERHEAD))

    # -- frames -----------------------------------------------------------------------------
    def _next_regarding(self) -> int:
        self._regarding = (self._regarding + 1) & 0xFFFFFFFF
        return self._regarding

    def _send(self, frame: Frame) -> None:
        data = encode_frame(frame)
        self.stats["bytes_out"] += len(data)
        self.transport.write(data)

    def _poll(self, until: float) -> list[Frame | FrameError]:
        """Frames held from an earlier read, else what arrives before ``until``; when the line
        has gone quiet with a frame incomplete, that frame is given up (garbled length)."""
        if self._pending:
            items = list(self._pending)
            self._pending.clear()
            return items
        wait = max(0.0, until - time.monotonic())
        if self._decoder.pending:
            wait = min(wait, self._idle_s())
        data = self.transport.read_some(wait)
        if data:
            self.stats["bytes_in"] += len(data)
            return self._decoder.feed(data)
        if self._decoder.pending:
            self.stats["flushes"] += 1
            return self._decoder.flush()
        return []

    def _note_reset(self) -> None:
        self.stats["resets"] += 1
        self.boot_id = (self.boot_id or 0) + 1
        self.boot_changed = True
        self._applied.clear()

    def transact(self, msg_type: int, data: bytes = b"", *, command: bool = False,
                 reply_max: int = SMALL_REPLY, extra_s: float = 0.0, once: bool = False,
                 probing: bool = False, deadline: float | None = None,
                 cancel: Callable[[], bool] | None = None) -> Frame:
        """Send one request and return its reply (the ACK of a command).

        Parameters
        ----------
        msg_type, data
            The message and its operands.
        command
            Ask for an ACK (a message that returns no data).
        reply_max
            Largest reply data expected: replies announcing more are refused unread.
        extra_s
            Time the device needs before replying (an exposure), added to each attempt.
        once
            Do not resend after a lost or damaged reply (a non-idempotent command): raise
            ``_Unanswered`` instead. A NACK, NOT_READY or reset is still resent: the device
            said it did not run the command.
        probing
            Report a port that answers, but not in OBP, as :class:`NotAnAnalyzerError`.
        deadline, cancel
            Give up at this time (``AnalyzerTimeoutError``); stop waiting when ``cancel()``.

        Raises
        ------
        DeviceRefusedError
            NACK with an error number (or a hardware exception).
        DeviceBusyError
            NOT_READY beyond the retry budget.
        AnalyzerTimeoutError
            No valid reply after all resends, or past ``deadline``.
        NotAnAnalyzerError
            (``probing``) bytes came back, but never one OBP frame.
        ProtocolError
            Every attempt's reply announced more data than ``reply_max`` (refused unread).
        """
        regarding = self._next_regarding()
        req = make_frame(msg_type, data, regarding=regarding,
                         flags=Flag.ACK_REQUESTED if command else Flag.NONE,
                         checksum=Checksum.MD5)
        self._decoder.max_payload = max(reply_max, SMALL_REPLY)
        timeout = self.reply_timeout(reply_max) + extra_s
        attempts = busy = deferred = resets = unchecked = too_long_attempts = 0
        too_long = ""
        saw_bytes = saw_frame = False
        t0 = time.monotonic()
        while True:
            self._send(req)
            until = time.monotonic() + timeout
            if deadline is not None:
                until = min(until, deadline)
            resend = ambiguous = long_now = False
            while not resend and time.monotonic() < until:
                if cancel is not None and cancel():
                    raise _Cancelled
                items = self._poll(min(until, time.monotonic() + 0.05) if cancel else until)
                for k, item in enumerate(items):
                    if isinstance(item, FrameError):
                        saw_bytes = True
                        self.stats[f"frame_{item.kind.value}"] += 1
                        if item.kind is not FrameErrorKind.GARBAGE \
                                and item.regarding == regarding and item.msg_type == msg_type:
                            resend = ambiguous = True  # (probably) our reply, damaged
                            if item.kind is FrameErrorKind.TOO_LONG:
                                too_long, long_now = item.detail, True
                            if item.kind is FrameErrorKind.UNCHECKED:
                                unchecked += 1
                                if unchecked >= 2 and not self._handshaking:
                                    # the device answers without checksums again: it reset
                                    if not self._handshake():
                                        self._decoder.require_checksum = True
                                        raise ProtocolError(
                                            "the OBP device stopped checksumming its replies "
                                            "and refuses to resume")
                                    self._note_reset()
                                    unchecked = 0
                        continue
                    saw_bytes = True
                    if not item.flags & (Flag.RESPONSE | Flag.ACK | Flag.NACK):
                        continue  # not from a device (an echo?)
                    saw_frame = True
                    if item.regarding != regarding or item.msg_type != msg_type:
                        self.stats["stale_replies"] += 1
                        continue
                    if item.flags & Flag.DEPRECATED:
                        self.stats["deprecated_protocol"] += 1
                    if item.flags & Flag.NACK or item.error:
                        code = item.error
                        if code == m.ErrorCode.BAD_CHECKSUM:
                            self.stats["nacks"] += 1
                            resend = True
                            continue
                        if code == m.ErrorCode.DEVICE_RESET and resets < self.options.retries:
                            resets += 1
                            self._note_reset()
                            resend = True
                            attempts -= 1  # the reset, not the line, lost the request
                            continue
                        if code == m.ErrorCode.NOT_READY:
                            busy += 1
                            self.stats["busy"] += 1
                            if busy > self.options.busy_retries:
                                name, text = m.describe_error(code)
                                raise DeviceBusyError(code, name, text,
                                                      f"{m.msg_name(msg_type)}, {busy} attempts")
                            time.sleep(self.options.busy_backoff_s)
                            resend = True
                            attempts -= 1
                            continue
                        if code == m.ErrorCode.DEFERRED and deferred < self.options.retries:
                            deferred += 1
                            self.stats["deferred"] += 1
                            until = time.monotonic() + timeout
                            continue
                        self._pending.extend(items[k + 1:])
                        name, text = m.describe_error(code)
                        raise DeviceRefusedError(code, name, text, m.msg_name(msg_type))
                    if item.flags & Flag.EXCEPTION:
                        self._pending.extend(items[k + 1:])
                        raise DeviceRefusedError(
                            m.ErrorCode.DEVICE_ERROR, "HARDWARE_EXCEPTION",
                            "the device reported a hardware exception: the result may be "
                            "invalid", m.msg_name(msg_type))
                    self._pending.extend(items[k + 1:])
                    self.version = item.version
                    return item
            if deadline is not None and time.monotonic() >= deadline:
                raise AnalyzerTimeoutError(f"{m.msg_name(msg_type)} to {self.transport.url!r}",
                                           timeout_s=deadline - t0)
            if once and (ambiguous or not resend):
                raise _Unanswered
            attempts += 1
            too_long_attempts += long_now
            self.stats["resends"] += 1
            if attempts > self.options.retries:
                if too_long_attempts >= attempts:  # the device, not a garbled length
                    raise ProtocolError(f"{m.msg_name(msg_type)} reply refused unread: "
                                        f"{too_long}")
                if probing and saw_bytes and not saw_frame:
                    raise NotAnAnalyzerError(
                        f"{self.transport.url!r} answers, but not in the Ocean Binary Protocol "
                        "(no valid OBP message in reply)")
                raise AnalyzerTimeoutError(
                    f"{m.msg_name(msg_type)} to {self.transport.url!r}: {attempts} attempt(s)",
                    timeout_s=timeout * attempts)

    def query(self, msg_type: m.MsgType, parse: Callable[[bytes], T], data: bytes = b"", *,
              deadline: float | None = None) -> T:
        """Ask, and parse the reply's data with ``parse``.

        Raises
        ------
        ProtocolError
            ``parse`` refused the data (wrong length, out of bounds, not text...).
        """
        reply = self.transact(msg_type, data, deadline=deadline)
        try:
            return parse(reply.data)
        except ValueError as exc:
            raise ProtocolError(f"OBP {m.msg_name(msg_type)} reply: {exc}") from exc

    def query_optional(self, msg_type: m.MsgType, parse: Callable[[bytes], T],
                       data: bytes = b"") -> T | None:
        """:meth:`query` for a message the device may not know (``None`` then)."""
        try:
            return self.query(msg_type, parse, data)
        except DeviceRefusedError as exc:
            if exc.code in m.ABSENT:
                self.stats["absent_features"] += 1
                return None
            raise

    # -- identity ---------------------------------------------------------------------------
    def _handshake(self, *, probing: bool = False) -> bool:
        """Ask the device to checksum its replies (MD5); from its ACK on, replies without a
        checksum are refused. Returns whether the device agreed."""
        self._handshaking = True
        self._decoder.require_checksum = False
        max_payload = self._decoder.max_payload
        try:
            self.transact(m.MsgType.SET_CHECKSUM_TYPE, m.U8.pack(Checksum.MD5), command=True,
                          probing=probing)
        except DeviceRefusedError as exc:
            if exc.code not in (*m.ABSENT, m.ErrorCode.UNKNOWN_CHECKSUM_TYPE,
                                m.ErrorCode.PAYLOAD_INVALID):
                raise
            self.stats["checksum_refused"] += 1
            return False
        finally:
            self._handshaking = False
            self._decoder.max_payload = max_payload
        self._decoder.require_checksum = True
        return True

    def identify(self) -> DeviceInfo:
        """Ask who the device is and read its calibration (about a dozen small exchanges).

        Raises
        ------
        NotAnAnalyzerError
            Bytes came back, but not in OBP.
        NotSupportedError
            An OBP spectrometer that cannot checksum its replies (while checksums are
            required), or whose excitation wavelength is unknown.
        ProtocolError
            A declared size out of bounds, or an implausible calibration.
        """
        checked = self._handshake(probing=True)
        if not checked and self.require_checksum:
            raise NotSupportedError(
                f"{self.transport.url!r}: the OBP device cannot checksum its replies, so "
                "corrupted spectra could not be detected; pass "
                "ObpDialect(require_checksum=False) to accept unchecked replies")
        serial = self.query(m.MsgType.GET_SERIAL_NUMBER, _text("serial number"))
        model = self.query_optional(m.MsgType.GET_DEVICE_STRING, _text("device string")) \
            or "OBP spectrometer (model not reported)"
        make = self.query_optional(m.MsgType.GET_MANUFACTURER_STRING, _text("manufacturer")) \
            or MAKE
        rev = self.query_optional(m.MsgType.GET_FIRMWARE_REVISION, _uint("firmware", 2))
        firmware = "not reported" if rev is None else f"{rev >> 8:x}.{rev & 0xFF:02x}"
        module = self.module_override or m.KNOWN_MODULES.get(model)
        if module is None:
            raise NotSupportedError(
                f"OBP spectrometer {model!r} serial {serial} answered, but its excitation "
                "wavelength is not known: pass ObpDialect(module=RamanModule(excitation_nm=...))")
        facts = self._read_facts(module, checked)
        tech = self._technique(model, facts)
        info = DeviceInfo(make=make, model=model, serial=serial, firmware=firmware,
                          protocol=NAME, protocol_version=self.version,
                          capabilities=Capabilities(techniques=(tech,), trigger_button=False,
                                                    self_test_standard="",
                                                    buffer_capacity=facts.buffer_capacity),
                          simulated=module.simulated)
        self.facts, self.info = facts, info
        if facts.laser:
            self._laser(on=False)  # whatever a previous session left, the laser starts off
        return info

    def _read_facts(self, module: m.RamanModule, checked: bool) -> DeviceFacts:
        def pixel_count(data: bytes) -> int:
            return _bounded(_uint("pixels", 2, 4))(data, 2, m.MAX_PIXELS, "pixels")

        pixels = self.query(m.MsgType.GET_NUMBER_OF_PIXELS, pixel_count)
        count = self.query(m.MsgType.GET_WL_COEFF_COUNT, lambda d: _bounded(
            _uint("coefficient count", 1))(d, 2, m.MAX_COEFFICIENTS, "wavelength coefficients"))
        coefficients = tuple(self.query(m.MsgType.GET_WL_COEFF, _float(f"coefficient {i}"),
                                        m.U8.pack(i)) for i in range(count))
        lo = self.query_optional(m.MsgType.GET_MINIMUM_INTEGRATION_TIME_US, _uint("min", 4))
        hi = self.query_optional(m.MsgType.GET_MAXIMUM_INTEGRATION_TIME_US, _uint("max", 4))
        itime = (lo, hi) if lo is not None and hi is not None else module.integration_us
        if not 0 < itime[0] <= itime[1]:
            raise ProtocolError(f"OBP integration limits {itime[0]}..{itime[1]} µs implausible")
        adc = self.query_optional(m.MsgType.GET_MAXIMUM_ADC_COUNTS, _uint("ADC maximum", 2, 4))
        laser = module.laser_max_mw is not None and self.query_optional(
            m.MsgType.GET_LIGHT_SOURCE_ENABLE, _uint("laser enable", 1),
            m.LIGHT_SOURCE.pack(0, 0)) is not None
        buffer = (self.query_optional(m.MsgType.GET_BUFFER_SIZE_MAX, lambda d: _bounded(
            _uint("buffer size", 2, 4))(d, 0, MAX_BUFFER, "buffered spectra")) or 0) \
            if self.use_buffer else 0
        return DeviceFacts(pixels=pixels, coefficients=coefficients, module=module,
                           laser=laser, buffer_capacity=buffer,
                           adc_max=max(1, module.adc_max if adc is None else adc),
                           checked=checked, itime_us=itime)

    @staticmethod
    def _technique(model: str, facts: DeviceFacts) -> TechniqueCaps:
        mod = facts.module
        try:
            return TechniqueCaps(
                technique="raman", excitation_nm=mod.excitation_nm, pixels=facts.pixels,
                x_unit="wavelength-nm", y_unit="counts", axis_coefficients=facts.coefficients,
                integration_ms=Limits(min=facts.itime_us[0] / 1000, max=facts.itime_us[1] / 1000),
                accumulations=Limits(min=1, max=mod.max_scans_to_average),
                laser_power_mw=Limits(min=0, max=mod.laser_max_mw)
                if facts.laser and mod.laser_max_mw is not None else None,
                adc_max=facts.adc_max, readout_ms=mod.readout_ms)
        except ValidationError as exc:
            raise ProtocolError(f"OBP device {model!r}: implausible calibration: "
                                f"{exc.errors()[0]['msg']}") from exc

    def _facts(self) -> DeviceFacts:
        if self.facts is None:
            self.identify()
        assert self.facts is not None
        return self.facts

    # -- state ------------------------------------------------------------------------------
    def status(self) -> DeviceStatus:
        """Ask the device its integration time (a liveness check that also notices a silent
        reset: the settings it holds are no longer ours)."""
        itime = self.query(m.MsgType.GET_INTEGRATION_TIME_US, _uint("integration time", 4))
        if "itime" in self._applied and itime != self._applied["itime"]:
            self._note_reset()
        exp = self._exposure
        busy = exp is not None and exp.via_buffer and exp.data is None \
            and exp.acquired_at is None
        return DeviceStatus(state="acquiring" if busy else "ready", battery_pct=None,
                            detector_temp_c=None, laser_interlock_closed=None,
                            boot_id=self.boot_id or 0, last_scan_id=self._scan_counter,
                            last_scan_source="host", technique="raman")

    def _set(self, key: str, value: float, msg_type: m.MsgType, data: bytes,
             explain: str) -> None:
        if self._applied.get(key) == value:
            return
        try:
            self.transact(msg_type, data, command=True)
        except DeviceRefusedError as exc:
            raise DeviceRefusedError(exc.code, exc.name, m.describe_error(exc.code)[1],
                                     explain) from exc
        self._applied[key] = value

    def configure(self, config: Configuration) -> None:
        """Set integration time, scans to average, trigger mode and laser power (only what
        changed; everything again after a device reset).

        Raises
        ------
        NotSupportedError
            Not Raman, laser power asked of a device whose laser is not controlled here, or a
            value OBP cannot encode.
        DeviceRefusedError
            The device refused a value (``PAYLOAD_INVALID``): the detail says which.
        """
        facts = self._facts()
        model = self.info.model if self.info else "device"
        if config.technique != "raman":
            raise NotSupportedError(f"{model} speaks OBP: Raman only, not {config.technique!r}")
        if config.laser_power_mw > 0 and not facts.laser:
            raise NotSupportedError(
                f"{model}: the laser is not controlled through OBP on this device "
                f"(laser_power_mw={config.laser_power_mw:g} asked)")
        itime_us = round(config.integration_ms * 1000)
        if not 1 <= itime_us <= 0xFFFFFFFF:
            raise NotSupportedError(f"integration_ms={config.integration_ms:g} cannot be "
                                    "expressed in OBP's 32-bit microseconds")
        if not 1 <= config.accumulations <= 0xFFFF:
            raise NotSupportedError(f"accumulations={config.accumulations} cannot be expressed "
                                    "in OBP's 16-bit scans to average")
        lo, hi = facts.itime_us
        for _ in range(3):
            boot = self.boot_id
            self._set("trigger", m.TRIGGER_NORMAL, m.MsgType.SET_TRIG_MODE,
                      m.U8.pack(m.TRIGGER_NORMAL), "trigger mode 0 (normal)")
            self._set("itime", itime_us, m.MsgType.SET_ITIME_USEC, m.U32.pack(itime_us),
                      f"integration_ms={config.integration_ms:g}: {itime_us} µs, the device "
                      f"reported {lo}..{hi} µs")
            self._set("average", config.accumulations, m.MsgType.SET_SCANS_TO_AVERAGE,
                      m.U16.pack(config.accumulations),
                      f"accumulations={config.accumulations} (scans to average)")
            if facts.laser and facts.module.laser_max_mw:
                fraction = config.laser_power_mw / facts.module.laser_max_mw
                self._set("intensity", fraction, m.MsgType.SET_LIGHT_SOURCE_INTENSITY,
                          m.LIGHT_SOURCE_INTENSITY.pack(0, 0, fraction),
                          f"laser_power_mw={config.laser_power_mw:g}: intensity {fraction:.3f} "
                          f"of the rated {facts.module.laser_max_mw:g} mW")
            if self.boot_id == boot:
                return
        raise ProtocolError(f"{model} kept resetting while being configured")

    def _laser(self, *, on: bool) -> None:
        self.transact(m.MsgType.SET_LIGHT_SOURCE_ENABLE,
                      m.LIGHT_SOURCE_ENABLE.pack(0, 0, int(on)), command=True)
        self.stats["laser_on" if on else "laser_off"] += 1

    def _laser_off_quietly(self) -> None:
        """Switch the laser off after an exposure, also when that exposure failed."""
        try:
            self._laser(on=False)
        except (DeviceRefusedError, AnalyzerTimeoutError, ProtocolError):
            self.stats["laser_off_failed"] += 1  # a new session switches it off first

    # -- scans ------------------------------------------------------------------------------
    def start_scan(self, kind: ScanKindName, config: Configuration) -> Ticket:
        """Apply the settings and start an exposure (through the buffer, if any).

        Raises
        ------
        NotSupportedError
            Self-test and background scans: OBP spectrometers carry no reference standard
            and are not FTIR instruments.
        """
        if kind == "self-test":
            raise NotSupportedError(
                "OBP spectrometers carry no built-in reference standard: measure a "
                "polystyrene standard as a sample instead")
        if kind == "background":
            raise NotSupportedError("background scans are for FTIR; OBP spectrometers take a "
                                    "dark (laser off) scan")
        facts = self._facts()
        if kind == "dark" and not facts.laser:
            raise NotSupportedError(
                "a dark scan needs the laser off, and this device's laser is not controlled "
                "through OBP: block the laser and measure it as a sample")
        self.configure(config)
        self._scan_counter += 1
        laser_on = kind == "sample" and facts.laser and config.laser_power_mw > 0
        expected = math.ceil(config.accumulations
                             * (config.integration_ms + facts.module.readout_ms))
        exp = _Exposure(self._scan_counter, kind, config, laser_on, self.boot_id or 0,
                        time.monotonic(), expected,
                        via_buffer=self.use_buffer and facts.buffer_capacity > 0,
                        applied=dict(self._applied))
        self._exposure = exp
        if exp.via_buffer:
            # an exposure still running (a scan lost to a reset or a dropped link) would land
            # in the buffer after the clear: abort it first
            if self._maybe_running:
                self._abort_acquisition()
            self.transact(m.MsgType.CLEAR_BUFFER_ALL, command=True)
            if laser_on:
                self._laser(on=True)
            try:
                exp.started = time.monotonic()
                self._acquire_into_buffer(exp)
            except BaseException:
                if laser_on:
                    self._laser_off_quietly()
                raise
        return Ticket(exp.scan_id, exp.boot_id, expected)

    def _buffered_count(self, deadline: float | None = None) -> int:
        return self.query(m.MsgType.GET_BUFFERED_SPEC_COUNT, _uint("buffered count", 2, 4),
                          deadline=deadline)

    def _acquire_into_buffer(self, exp: _Exposure) -> None:
        """Send ACQUIRE_SPECTRA_INTO_BUFFER; after an unanswered attempt, look whether it ran
        (the buffer holds a spectrum once the exposure time has passed) before resending."""
        for _ in range(self.options.retries + 1):
            self._maybe_running = True
            try:
                self.transact(m.MsgType.ACQUIRE_SPECTRA_INTO_BUFFER, command=True, once=True)
                return
            except _Unanswered:
                self.stats["acquire_unanswered"] += 1
            settle = exp.started + 1.25 * exp.expected_ms / 1000 + self.options.latency_s
            self._quiet_until(settle)
            if self._buffered_count() > 0:
                return  # it ran; its ACK was lost
            exp.started = time.monotonic()
        raise AnalyzerTimeoutError(f"ACQUIRE_SPECTRA_INTO_BUFFER to {self.transport.url!r}",
                                   timeout_s=(self.options.retries + 1) * self.reply_timeout())

    def _quiet_until(self, until: float, cancel: Callable[[], bool] | None = None) -> None:
        """Read (and drop) whatever arrives until ``until``; stop early on ``cancel()``."""
        while True:
            now = time.monotonic()
            if now >= until or (cancel is not None and cancel()):
                return
            for item in self._poll(min(until, now + 0.05)):
                if isinstance(item, FrameError):
                    self.stats[f"frame_{item.kind.value}"] += 1
                else:
                    self.stats["stale_replies"] += 1

    def _check_boot(self, exp: _Exposure) -> None:
        if (self.boot_id or 0) != exp.boot_id:
            raise ScanLostError(f"device reset during scan {exp.scan_id}")

    def wait_scan(self, ticket: Ticket, timeout_s: float,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> None:
        """Wait until the exposure is complete (polling the buffer count), or expose and
        read in one request (``GET_RAW_SPECTRUM_NOW``). OBP sends no progress.

        Raises
        ------
        AnalyzerTimeoutError
            Not complete within ``timeout_s``.
        AcquisitionAbortedError
            ``cancel()`` returned True: the acquisition was aborted on the device.
        ScanLostError
            The device reset meanwhile (the caller starts the scan again).
        """
        exp = self._exposure
        if exp is None or exp.scan_id != ticket.scan_id:
            raise ScanLostError(f"scan {ticket.scan_id} is not the one in progress")
        deadline = time.monotonic() + timeout_s
        try:
            if exp.via_buffer:
                poll_at = exp.started + exp.expected_ms / 1000
                while True:
                    self._quiet_until(poll_at, cancel)
                    if cancel is not None and cancel():
                        raise _Cancelled
                    if time.monotonic() >= deadline:
                        raise AnalyzerTimeoutError(f"scan {exp.scan_id} did not complete",
                                                   timeout_s=timeout_s)
                    count = self._buffered_count(deadline)
                    self._check_boot(exp)
                    if count > 0:
                        self._maybe_running = False
                        break
                    poll_at = time.monotonic() + max(0.01, 0.25 * self.options.latency_s)
            else:
                facts = self._facts()
                if exp.laser_on:
                    self._laser(on=True)
                reply = self.transact(m.MsgType.GET_RAW_SPECTRUM_NOW,
                                      reply_max=4 * facts.pixels,
                                      extra_s=1.25 * exp.expected_ms / 1000,
                                      deadline=deadline, cancel=cancel)
                self._check_boot(exp)
                exp.data = reply.data
            exp.acquired_at = datetime.now(UTC)
        except _Cancelled:
            self.abort()
            raise AcquisitionAbortedError(0, "ABORTED", "scan aborted by the host",
                                          f"scan {exp.scan_id}") from None
        finally:
            if exp.laser_on:
                self._laser_off_quietly()

    def fetch_scan(self, scan_id: int) -> RawScan:
        """The exposed spectrum: read from the buffer (again, if a reply was damaged), or the
        one ``GET_RAW_SPECTRUM_NOW`` returned.

        Raises
        ------
        ScanLostError
            Not the current scan, or the device reset since.
        ProtocolError
            The reply's length is not the declared pixel count in a known pixel format.
        """
        exp = self._exposure
        facts = self._facts()
        if exp is None or exp.scan_id != scan_id or exp.acquired_at is None:
            raise ScanLostError(f"scan {scan_id} is not available (device reset or link lost)")
        n = facts.pixels
        extra: dict[str, str | int | bool] = {
            "link_checksum": "md5" if facts.checked else "none", "scans_averaged": "mean"}
        if exp.via_buffer:
            try:
                reply = self.transact(m.MsgType.GET_BUF_SPEC32_META,
                                      reply_max=m.METADATA_SIZE + 4 * n)
            except DeviceRefusedError as exc:
                if exc.code == m.ErrorCode.NO_SUCH_INFORMATION:
                    raise ScanLostError(f"scan {scan_id}: the device's buffer is empty "
                                        "(reset?)") from exc
                raise
            self._check_boot(exp)
            data = reply.data
            if len(data) != m.METADATA_SIZE + 4 * n:
                raise ProtocolError(f"GET_BUF_SPEC32_META: {len(data)} bytes, expected "
                                    f"{m.METADATA_SIZE} + 4 x {n} pixels")
            count, ticks, itime = m.METADATA_HEAD.unpack_from(data)
            if itime != exp.applied.get("itime"):
                raise ScanLostError(
                    f"scan {scan_id}: the buffered spectrum was integrated {itime} µs, not the "
                    f"{exp.applied.get('itime', 0):.0f} µs set: not this scan's exposure")
            extra.update(obp_message="GET_BUF_SPEC32_META", device_spectrum_count=count,
                         device_ticks_us=ticks, device_integration_us=itime)
            raw, dtype = data[m.METADATA_SIZE:], "<u4"
        else:
            raw = exp.data or b""
            if len(raw) not in (2 * n, 4 * n):
                raise ProtocolError(f"GET_RAW_SPECTRUM_NOW: {len(raw)} bytes for {n} pixels "
                                    "(neither u16 nor u32)")
            dtype = "<u2" if len(raw) == 2 * n else "<u4"
            extra["obp_message"] = "GET_RAW_SPECTRUM_NOW"
        values = np.frombuffer(raw, dtype=dtype).astype(np.float64)
        cfg = exp.config
        power = cfg.laser_power_mw if exp.laser_on else (0.0 if facts.laser else None)
        header = ScanHeader(
            scan_id=exp.scan_id, kind=exp.kind, source="host", technique="raman",
            x_unit="wavelength-nm", y_unit="counts", dtype=dtype,  # type: ignore[arg-type]
            n=n, axis=AxisPolynomial(coefficients=list(facts.coefficients)),
            excitation_nm=facts.module.excitation_nm,
            integration_ms=exp.applied.get("itime", cfg.integration_ms * 1000) / 1000,
            accumulations=int(exp.applied.get("average", cfg.accumulations)),
            laser_power_mw=power, acquired_at=exp.acquired_at, detector_temp_c=None,
            saturated_pixels=int(np.count_nonzero(values >= facts.adc_max)),
            extra=extra)  # type: ignore[arg-type]
        return RawScan(header, values)

    def _abort_acquisition(self) -> None:
        try:
            self.transact(m.MsgType.ABORT_ACQUISITION, command=True)
        except DeviceRefusedError as exc:
            if exc.code not in m.ABSENT:  # a device without it has nothing to abort
                raise
        self._maybe_running = False

    def abort(self) -> None:
        """Abort the acquisition in progress and switch the laser off."""
        try:
            self._abort_acquisition()
        finally:
            if self.facts is not None and self.facts.laser:
                self._laser_off_quietly()
        if self._exposure is not None and self._exposure.acquired_at is None:
            self._exposure = None

    def select_sample(self, sample_id: str) -> None:
        """Simulator-only extension (a real device NACKs it as an unknown message)."""
        self.transact(m.MsgType.SIM_SELECT_SAMPLE, sample_id.encode("utf-8"), command=True)

    def press_trigger(self) -> None:
        """OBP devices have no trigger button.

        Raises
        ------
        NotSupportedError
            Always.
        """
        raise NotSupportedError("OBP spectrometers have no trigger button (hardware trigger "
                                "modes are not used by this driver)")

    def next_event(self, timeout_s: float) -> Event | None:
        """OBP sends nothing unsolicited: reads (and drops) the line for ``timeout_s``."""
        self._quiet_until(time.monotonic() + max(0.0, timeout_s))
        return None


class ObpDialect:
    """The OBP dialect (implements :class:`~driver.protocol.Dialect`).

    Parameters
    ----------
    module
        The Raman module's facts OBP does not carry, for a device not in
        :data:`~driver.protocol.obp_messages.KNOWN_MODULES`.
    require_checksum
        Refuse devices that cannot checksum their replies (default).
    use_buffer
        Read spectra through the device's buffer when it has one (default).
    """

    name = NAME

    def __init__(self, *, module: m.RamanModule | None = None, require_checksum: bool = True,
                 use_buffer: bool = True) -> None:
        self.module = module
        self.require_checksum = require_checksum
        self.use_buffer = use_buffer

    def connect(self, transport: Transport, options: LinkOptions) -> ObpSession:
        """A session over an open transport (does not talk to the device yet)."""
        return ObpSession(transport, options, module=self.module,
                          require_checksum=self.require_checksum, use_buffer=self.use_buffer)


DIALECT = ObpDialect()
"""The ``obp`` dialect with default options."""

__all__ = ["DIALECT", "NAME", "DeviceFacts", "ObpDialect", "ObpSession"]
