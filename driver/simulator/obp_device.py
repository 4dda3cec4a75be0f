"""A simulated Ocean OBP Raman spectrometer: speaks the Ocean Binary Protocol over any byte
stream, with the same fault injection as the ``interdict/1`` simulator.

Like :class:`~driver.simulator.device.SimulatedDevice` it is I/O-free: :meth:`receive` takes
the bytes that came in, :meth:`tick` advances time (exposures), :meth:`outgoing` hands out
what to put on the line, faults applied; ``server.py`` pumps it over a pty or a TCP socket.

It behaves as the OBP documents say a device does: a command answers only when the host asks
for an ACK; unknown messages are NACKed with error 2; replies carry an MD5 checksum only after
``SET_CHECKSUM_TYPE``; after a reset the first request is NACKed with error 9 (device reset)
and every setting, the checksum type included, is back to its power-on value. Each
``GET_RAW_SPECTRUM_NOW`` is a new exposure; a buffered spectrum can be read again until the
buffer is cleared. Faults: ``corrupt``, ``drop``, ``garbage``, ``delay-ms``, ``nack`` (NACK
bad checksum), ``busy`` (NACK not ready), ``disconnect`` (while a spectrum is sent),
``reboot``, ``drift``; ``battery``, ``drain`` and ``interlock`` have no OBP counterpart.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import ClassVar

import numpy as np
from numpy.typing import NDArray

from ..capabilities import Limits, TechniqueCaps
from ..protocol import obp_messages as m
from ..protocol.obp_frame import (
    Checksum,
    Flag,
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorKind,
    encode_frame,
    make_frame,
)
from .device import Disconnect
from .faults import FaultInjector, FaultSpec
from .synth import InstrumentModel, Reference, Scenario

EXTERNAL_LASER_MW = 200.0
"""Power of the laser a module without light-source control sits behind (always on)."""
DEFAULT_ITIME_US = 100_000
DEFAULT_INTENSITY = 0.5


@dataclass(frozen=True)
class ObpProfile:
    """What a simulated OBP spectrometer reports; its Raman module's facts (excitation,
    rated laser power, read-out time, ADC full scale) are the host's
    :data:`~driver.protocol.obp_messages.KNOWN_MODULES` entry for ``device_string``."""

    device_string: str
    buffer_capacity: int = 0
    pixels: int = 2048
    coefficients: tuple[float, ...] = (790.5, 0.118, -4.2e-6, 1.0e-10)
    """Wavelength (nm) of pixel p: sum c[i] p**i. 790.5-1015 nm: 89-2890 cm⁻¹ at 785 nm."""
    itime_us: tuple[int, int] = (1000, 30_000_000)
    firmware: int = 0x0302

    @property
    def module(self) -> m.RamanModule:
        """The module facts this device string stands for."""
        return m.KNOWN_MODULES[self.device_string]

    def wavelengths(self) -> NDArray[np.float64]:
        """Wavelength of each pixel (nm), from the coefficients as the device stores them
        (IEEE singles)."""
        out: NDArray[np.float64] = self.technique().axis()
        return out

    def technique(self) -> TechniqueCaps:
        """The detector as the spectrum synthesis sees it."""
        mod = self.module
        return TechniqueCaps(
            technique="raman", excitation_nm=mod.excitation_nm, pixels=self.pixels,
            x_unit="wavelength-nm", y_unit="counts",
            axis_coefficients=tuple(
                np.asarray(self.coefficients, dtype=np.float32).astype(float).tolist()),
            integration_ms=Limits(min=self.itime_us[0] / 1000, max=self.itime_us[1] / 1000),
            accumulations=Limits(min=1, max=mod.max_scans_to_average),
            laser_power_mw=Limits(min=0, max=mod.laser_max_mw)
            if mod.laser_max_mw is not None else None,
            adc_max=mod.adc_max, readout_ms=mod.readout_ms)


OBP_PROFILES: dict[str, ObpProfile] = {
    "ocean-obp": ObpProfile("OBP-RAMAN-785-SIM", buffer_capacity=16),
    "ocean-obp-basic": ObpProfile("OBP-SPEC-785-SIM"),
}
"""Simulated OBP devices by ``interdict simulate --profile`` name: a 785 nm Raman module with
laser control and a spectrum buffer, and a plain spectrometer behind an external laser."""


@dataclass
class _Exposure:
    start: float
    duration_s: float
    itime_us: int
    average: int
    laser_mw: float
    sample_id: str | None
    request: Frame | None
    """The GET_RAW_SPECTRUM_NOW to answer; ``None``: into the buffer."""


@dataclass
class _Out:
    data: bytes
    not_before: float
    bulk: bool = False


@dataclass
class ObpSimulatedDevice:
    """One simulated OBP spectrometer (see the module docstring for its rules).

    Parameters
    ----------
    profile
        What it reports (:data:`OBP_PROFILES`).
    references, scenario
        Reference spectra and the samples it can have under the laser.
    seed
        Seeds synthesis and faults: the same seed gives the same spectra and faults.
    faults
        What to inject.
    serial
        Its serial number.
    clock
        Monotonic clock (tests may pass a fake one).
    """

    profile: ObpProfile
    references: dict[tuple[str, str], Reference]
    scenario: Scenario
    seed: int = 0
    faults: FaultSpec = field(default_factory=FaultSpec)
    serial: str = "SIM-0001"
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._faults = FaultInjector(self.faults, self.seed + 1)
        self._decoder = FrameDecoder(max_payload=256, require_checksum=False)
        self._out: collections.deque[_Out] = collections.deque()
        self._caps = self.profile.technique()
        self._model = InstrumentModel(self._caps)
        exc = self.profile.module.excitation_nm
        self._shift_axis = 1e7 / exc - 1e7 / self.profile.wavelengths()
        self.sample_ids = list(self.scenario.samples)
        self.sample = self.scenario.default or self.sample_ids[0]
        self.stats: collections.Counter[str] = collections.Counter()
        self._spectrum_count = 0
        self._power_on()
        self._reset_pending = False  # power-on is not an unexpected reset

    # -- lifecycle --------------------------------------------------------------------------
    def _power_on(self) -> None:
        self.itime_us = DEFAULT_ITIME_US
        self.average = 1
        self.trigger_mode = 0
        self.laser_on = False
        self.intensity = DEFAULT_INTENSITY
        self.reply_checksum = Checksum.NONE
        self.buffer: collections.deque[bytes] = collections.deque(
            maxlen=max(1, self.profile.buffer_capacity))
        self.exposure: _Exposure | None = None
        self._silent_until = 0.0
        self._reset_pending = True
        self._out.clear()
        self._decoder.reset()

    def reboot(self) -> None:
        """Reset: silent for ``reboot-ms``, then every setting at its power-on value; the
        first request after it is NACKed with error 9."""
        self.stats["reboots"] += 1
        self._power_on()
        self._silent_until = self.clock() + self.faults.reboot_ms / 1000.0

    def on_disconnect(self) -> None:
        """The link dropped: what was queued for it is lost, and so is a pending reply."""
        self._out.clear()
        self._decoder.reset()
        if self.exposure is not None:
            self.exposure.request = None

    def press_trigger(self) -> bool:
        """OBP devices have no trigger button (SIGUSR1 does nothing)."""
        self.stats["trigger_ignored"] += 1
        return False

    # -- output -----------------------------------------------------------------------------
    def _queue(self, frame: Frame, *, bulk: bool = False) -> None:
        at = max(self.clock() + self.faults.delay_ms / 1000.0, self._silent_until)
        self._out.append(_Out(self._faults.mangle(encode_frame(frame)), at, bulk))

    def _reply(self, req: Frame, data: bytes = b"", error: int = 0, *,
               bulk: bool = False) -> None:
        """Answer ``req``: with data, an ACK (when asked for) or a NACK with ``error``."""
        flags = Flag.RESPONSE
        if error:
            flags |= Flag.NACK
        elif req.flags & Flag.ACK_REQUESTED:
            flags |= Flag.ACK
        elif not data and req.msg_type not in self._QUERIES:
            return  # a command answers only when asked for an ACK
        self._queue(make_frame(req.msg_type, data, regarding=req.regarding, flags=flags,
                               error=error, checksum=self.reply_checksum), bulk=bulk)

    def _refuse(self, req: Frame, error: m.ErrorCode) -> None:
        self.stats[f"refused_{error.name}"] += 1
        self._reply(req, error=int(error))

    def next_wakeup(self) -> float | None:
        """When :meth:`tick` or :meth:`outgoing` next has something to do."""
        times = []
        if self._out:
            times.append(self._out[0].not_before)
        if self.exposure is not None:
            times.append(self.exposure.start + self.exposure.duration_s)
        return min(times) if times else None

    def outgoing(self, now: float) -> bytes:
        """Bytes due on the line now (at most one message; b"" if nothing is due).

        Raises
        ------
        Disconnect
            The ``disconnect`` fault fired while a spectrum was to be sent.
        """
        if not self._out or self._out[0].not_before > now:
            return b""
        out = self._out.popleft()
        if out.bulk and self._faults.chance(self.faults.disconnect):
            self.stats["disconnects"] += 1
            raise Disconnect
        return out.data

    # -- input ------------------------------------------------------------------------------
    def receive(self, data: bytes) -> None:
        """Bytes from the host."""
        if self.clock() < self._silent_until:
            self.stats["ignored_while_resetting"] += len(data)
            return
        for item in self._decoder.feed(data):
            if isinstance(item, FrameError):
                self.stats[f"rx_{item.kind.value}"] += 1
                if item.kind is FrameErrorKind.BAD_CHECKSUM and item.msg_type is not None:
                    self._reply(Frame(item.msg_type, item.regarding or 0,
                                      flags=Flag.ACK_REQUESTED),
                                error=int(m.ErrorCode.BAD_CHECKSUM))
                continue
            if item.flags & (Flag.RESPONSE | Flag.ACK | Flag.NACK):
                continue
            self._request(item)
            if self.clock() < self._silent_until:
                return

    def _request(self, req: Frame) -> None:
        self.stats["requests"] += 1
        if self._reset_pending:
            self._reset_pending = False
            self._refuse(req, m.ErrorCode.DEVICE_RESET)
            return
        if self._faults.chance(self.faults.reboot):
            self.reboot()
            return
        if self._faults.chance(self.faults.nack):
            self._refuse(req, m.ErrorCode.BAD_CHECKSUM)
            return
        if self._faults.chance(self.faults.busy):
            self._refuse(req, m.ErrorCode.NOT_READY)
            return
        handler = self._handler(req.msg_type)
        if handler is None:
            self._refuse(req, m.ErrorCode.UNKNOWN_MESSAGE)
            return
        try:
            handler(self, req)
        except _Invalid as exc:
            self._refuse(req, exc.code)
        except Exception:  # a bug in the simulator must not kill the device
            self.stats["internal_errors"] += 1
            self._refuse(req, m.ErrorCode.DEVICE_ERROR)

    def _handler(self, msg_type: int) -> Callable[[ObpSimulatedDevice, Frame], None] | None:
        if msg_type in self._LASER and self.profile.module.laser_max_mw is None:
            return None
        if msg_type in self._BUFFER and self.profile.buffer_capacity == 0:
            return None
        return self._HANDLERS.get(msg_type)

    # -- handlers ---------------------------------------------------------------------------
    @staticmethod
    def _operand(req: Frame, size: int) -> bytes:
        if len(req.data) != size:
            raise _Invalid(m.ErrorCode.PAYLOAD_LENGTH)
        return req.data

    def _set_checksum(self, req: Frame) -> None:
        (kind,) = m.U8.unpack(self._operand(req, 1))
        if kind not in (Checksum.NONE, Checksum.MD5):
            raise _Invalid(m.ErrorCode.UNKNOWN_CHECKSUM_TYPE)
        self.reply_checksum = Checksum(kind)
        self._reply(req)

    def _text(self, req: Frame) -> None:
        text = {m.MsgType.GET_SERIAL_NUMBER: self.serial,
                m.MsgType.GET_DEVICE_STRING: self.profile.device_string,
                m.MsgType.GET_MANUFACTURER_STRING: "Interdict"}[m.MsgType(req.msg_type)]
        self._reply(req, text.encode("ascii"))

    def _u32(self, req: Frame) -> None:
        value = {m.MsgType.GET_NUMBER_OF_PIXELS: self.profile.pixels,
                 m.MsgType.GET_MINIMUM_INTEGRATION_TIME_US: self.profile.itime_us[0],
                 m.MsgType.GET_MAXIMUM_INTEGRATION_TIME_US: self.profile.itime_us[1],
                 m.MsgType.GET_INTEGRATION_TIME_US: self.itime_us,
                 m.MsgType.GET_MAXIMUM_ADC_COUNTS: self.profile.module.adc_max,
                 m.MsgType.GET_BUFFER_SIZE_MAX: self.profile.buffer_capacity,
                 m.MsgType.GET_BUFFERED_SPEC_COUNT: len(self.buffer),
                 }[m.MsgType(req.msg_type)]
        self._reply(req, m.U32.pack(value))

    def _firmware(self, req: Frame) -> None:
        self._reply(req, m.U16.pack(self.profile.firmware))

    def _coeff_count(self, req: Frame) -> None:
        self._reply(req, m.U8.pack(len(self.profile.coefficients)))

    def _coeff(self, req: Frame) -> None:
        (i,) = m.U8.unpack(self._operand(req, 1))
        if i >= len(self.profile.coefficients):
            raise _Invalid(m.ErrorCode.PAYLOAD_INVALID)
        self._reply(req, m.F32.pack(self.profile.coefficients[i]))

    def _set_itime(self, req: Frame) -> None:
        (us,) = m.U32.unpack(self._operand(req, 4))
        lo, hi = self.profile.itime_us
        if not lo <= us <= hi:
            raise _Invalid(m.ErrorCode.PAYLOAD_INVALID)
        self.itime_us = us
        self._reply(req)

    def _set_trigger(self, req: Frame) -> None:
        (mode,) = m.U8.unpack(self._operand(req, 1))
        if mode > 2:
            raise _Invalid(m.ErrorCode.PAYLOAD_INVALID)
        self.trigger_mode = mode
        self._reply(req)

    def _get_average(self, req: Frame) -> None:
        self._reply(req, m.U16.pack(self.average))

    def _set_average(self, req: Frame) -> None:
        (n,) = m.U16.unpack(self._operand(req, 2))
        if not 1 <= n <= self.profile.module.max_scans_to_average:
            raise _Invalid(m.ErrorCode.PAYLOAD_INVALID)
        self.average = n
        self._reply(req)

    def _source(self, data: bytes) -> None:
        module, source = m.LIGHT_SOURCE.unpack(data[:m.LIGHT_SOURCE.size])
        if module or source:
            raise _Invalid(m.ErrorCode.PAYLOAD_INVALID)

    def _get_laser(self, req: Frame) -> None:
        self._source(self._operand(req, m.LIGHT_SOURCE.size))
        self._reply(req, m.U8.pack(int(self.laser_on)))

    def _set_laser(self, req: Frame) -> None:
        data = self._operand(req, m.LIGHT_SOURCE_ENABLE.size)
        self._source(data)
        self.laser_on = bool(data[2])
        self._reply(req)

    def _set_intensity(self, req: Frame) -> None:
        data = self._operand(req, m.LIGHT_SOURCE_INTENSITY.size)
        self._source(data)
        _, _, value = m.LIGHT_SOURCE_INTENSITY.unpack(data)
        if not 0.0 <= value <= 1.0:
            raise _Invalid(m.ErrorCode.PAYLOAD_INVALID)
        self.intensity = value
        self._reply(req)

    def _start(self, request: Frame | None) -> None:
        if self.exposure is not None:
            raise _Invalid(m.ErrorCode.NOT_READY)
        mod = self.profile.module
        if mod.laser_max_mw is None:
            laser = EXTERNAL_LASER_MW
        else:
            laser = self.intensity * mod.laser_max_mw if self.laser_on else 0.0
        duration = self.average * (self.itime_us / 1000 + mod.readout_ms) / 1000
        self.exposure = _Exposure(self.clock(), duration, self.itime_us, self.average, laser,
                                  self.sample, request)

    def _raw_now(self, req: Frame) -> None:
        self._start(req)

    def _acquire(self, req: Frame) -> None:
        self._start(None)
        self._reply(req)

    def _clear(self, req: Frame) -> None:
        self.buffer.clear()
        self._reply(req)

    def _read_buffer(self, req: Frame) -> None:
        if not self.buffer:
            raise _Invalid(m.ErrorCode.NO_SUCH_INFORMATION)
        self._reply(req, self.buffer[0], bulk=True)  # read, not removed

    def _abort(self, req: Frame) -> None:
        self.exposure = None  # a pending GET_RAW_SPECTRUM_NOW is not answered
        self._reply(req)

    def _select(self, req: Frame) -> None:
        sid = req.data.decode("utf-8", "replace")
        if sid not in self.scenario.samples:
            raise _Invalid(m.ErrorCode.PAYLOAD_INVALID)
        self.sample = sid
        self._reply(req)

    _QUERIES: ClassVar[frozenset[int]] = frozenset({
        m.MsgType.GET_RAW_SPECTRUM_NOW, m.MsgType.GET_BUF_SPEC32_META})
    _LASER: ClassVar[frozenset[int]] = frozenset({
        m.MsgType.GET_LIGHT_SOURCE_ENABLE, m.MsgType.SET_LIGHT_SOURCE_ENABLE,
        m.MsgType.SET_LIGHT_SOURCE_INTENSITY})
    _BUFFER: ClassVar[frozenset[int]] = frozenset({
        m.MsgType.GET_BUFFER_SIZE_MAX, m.MsgType.CLEAR_BUFFER_ALL,
        m.MsgType.GET_BUFFERED_SPEC_COUNT, m.MsgType.ACQUIRE_SPECTRA_INTO_BUFFER,
        m.MsgType.GET_BUF_SPEC32_META})
    _HANDLERS: ClassVar[dict[int, Callable[[ObpSimulatedDevice, Frame], None]]] = {
        m.MsgType.SET_CHECKSUM_TYPE: _set_checksum,
        m.MsgType.GET_FIRMWARE_REVISION: _firmware,
        m.MsgType.GET_SERIAL_NUMBER: _text,
        m.MsgType.GET_DEVICE_STRING: _text,
        m.MsgType.GET_MANUFACTURER_STRING: _text,
        m.MsgType.GET_NUMBER_OF_PIXELS: _u32,
        m.MsgType.GET_MINIMUM_INTEGRATION_TIME_US: _u32,
        m.MsgType.GET_MAXIMUM_INTEGRATION_TIME_US: _u32,
        m.MsgType.GET_INTEGRATION_TIME_US: _u32,
        m.MsgType.GET_MAXIMUM_ADC_COUNTS: _u32,
        m.MsgType.GET_BUFFER_SIZE_MAX: _u32,
        m.MsgType.GET_BUFFERED_SPEC_COUNT: _u32,
        m.MsgType.GET_WL_COEFF_COUNT: _coeff_count,
        m.MsgType.GET_WL_COEFF: _coeff,
        m.MsgType.SET_ITIME_USEC: _set_itime,
        m.MsgType.SET_TRIG_MODE: _set_trigger,
        m.MsgType.GET_SCANS_TO_AVERAGE: _get_average,
        m.MsgType.SET_SCANS_TO_AVERAGE: _set_average,
        m.MsgType.GET_LIGHT_SOURCE_ENABLE: _get_laser,
        m.MsgType.SET_LIGHT_SOURCE_ENABLE: _set_laser,
        m.MsgType.SET_LIGHT_SOURCE_INTENSITY: _set_intensity,
        m.MsgType.GET_RAW_SPECTRUM_NOW: _raw_now,
        m.MsgType.ACQUIRE_SPECTRA_INTO_BUFFER: _acquire,
        m.MsgType.CLEAR_BUFFER_ALL: _clear,
        m.MsgType.GET_BUF_SPEC32_META: _read_buffer,
        m.MsgType.ABORT_ACQUISITION: _abort,
        m.MsgType.SIM_SELECT_SAMPLE: _select,
    }

    # -- time -------------------------------------------------------------------------------
    def tick(self, now: float) -> None:
        """Complete an exposure whose time has come."""
        exp = self.exposure
        if exp is None or now < self._silent_until or now < exp.start + exp.duration_s:
            return
        self.exposure = None
        counts = self._synthesise(exp)
        self._spectrum_count += 1
        if exp.request is not None:
            self._reply(exp.request, counts.astype("<u2").tobytes(), bulk=True)
        elif self.profile.buffer_capacity:
            head = m.METADATA_HEAD.pack(self._spectrum_count, int(exp.start * 1e6) & (2**64 - 1),
                                        exp.itime_us)
            self.buffer.append(head.ljust(m.METADATA_SIZE, b"\0")
                               + counts.astype("<u4").tobytes())

    def _synthesise(self, exp: _Exposure) -> NDArray[np.uint32]:
        """The mean of ``average`` read-outs (scans to average), rounded."""
        sample = self.scenario.samples[exp.sample_id or self.sample] \
            if exp.laser_mw > 0 else None
        drift = float(self.faults.drift) + float(self._rng.normal(0.0, 0.02))
        summed, _ = self._model.raman(
            self._rng, sample, self.references, integration_ms=exp.itime_us / 1000,
            accumulations=exp.average, laser_power_mw=exp.laser_mw, drift_cm=drift,
            temp_c=24.5, shift_axis=self._shift_axis)
        mean: NDArray[np.uint32] = np.rint(summed / exp.average).astype(np.uint32)
        return mean


class _Invalid(Exception):
    """A request the device refuses with an OBP error number."""

    def __init__(self, code: m.ErrorCode) -> None:
        super().__init__(code.name)
        self.code = code


__all__ = ["OBP_PROFILES", "ObpProfile", "ObpSimulatedDevice"]
