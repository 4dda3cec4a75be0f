"""The simulated analyzer's state machine: speaks ``interdict/1`` over any byte stream.

It is I/O-free like the decoder: :meth:`SimulatedDevice.receive` takes the bytes that came
in, :meth:`SimulatedDevice.tick` advances time (scans, events), and
:meth:`SimulatedDevice.outgoing` hands out what to put on the line, with faults applied.
``server.py`` pumps these over a pty or a TCP socket with baud-rate pacing.
"""

from __future__ import annotations

import collections
import json
import math
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar

import numpy as np

from ..capabilities import Capabilities, DeviceInfo, TechniqueCaps
from ..models import AxisPolynomial, ScanHeader
from ..protocol import messages as m
from ..protocol._frame import (
    MAX_PAYLOAD,
    Flag,
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorKind,
    encode_frame,
)
from .faults import FaultInjector, FaultSpec
from .synth import RAMAN_STANDARD_PEAKS, InstrumentModel, Reference, Scenario, self_test

MAX_BLOBS = 16
MAX_STREAMS = 128
LOW_BATTERY_PCT = 15.0
MIN_BATTERY_PCT = 5.0


class Disconnect(Exception):
    """Raised by :meth:`SimulatedDevice.outgoing` when the cable is to be 'pulled'."""


@dataclass
class _Scan:
    scan_id: int
    kind: int
    source: int
    technique: str
    integration_ms: float
    accumulations: int
    laser_power_mw: float
    started: float
    sample_id: str | None
    done: int = 0
    aborted: bool = False
    finished: bool = False


@dataclass
class _Stream:
    seq: int
    blob_id: int
    blob: bytes
    offset: int
    end: int
    chunk: int
    not_before: float = 0.0


@dataclass
class _Config:
    technique: str
    integration_ms: float
    accumulations: int
    laser_power_mw: float


@dataclass
class _Out:
    data: bytes
    not_before: float = 0.0


@dataclass
class SimulatedDevice:
    """One simulated handheld analyzer.

    Parameters
    ----------
    caps
        Its capabilities (a profile from :data:`driver.capabilities.PROFILES`).
    references
        Reference spectra by ``(technique, name)``.
    scenario
        Samples it can have under the laser.
    seed
        Seeds synthesis and faults: the same seed gives the same spectra and faults.
    faults
        What to inject.
    serial
        Its serial number.
    clock
        Monotonic clock (tests may pass a fake one).
    """

    caps: Capabilities
    references: dict[tuple[str, str], Reference]
    scenario: Scenario
    seed: int = 0
    faults: FaultSpec = field(default_factory=FaultSpec)
    serial: str = "SIM-0001"
    profile: str = "raman-785"
    clock: Callable[[], float] = time.monotonic

    def __post_init__(self) -> None:
        self._rng = np.random.default_rng(self.seed)
        self._faults = FaultInjector(self.faults, self.seed + 1)
        self._decoder = FrameDecoder()
        self._out: collections.deque[_Out] = collections.deque()
        self._streams: collections.deque[_Stream] = collections.deque()
        self.boot_id = 0
        self.battery = float(self.faults.battery)
        self.temp_c = 24.5
        self._event_seq = 0
        self._scan_counter = 0
        self.sample_ids = list(self.scenario.samples)
        self.sample = self.scenario.default or self.sample_ids[0]
        self._models: dict[str, InstrumentModel] = {
            t.technique: InstrumentModel(t) for t in self.caps.techniques}
        self.stats: collections.Counter[str] = collections.Counter()
        self._boot(first=True)

    # -- lifecycle --------------------------------------------------------------------------
    def _boot(self, *, first: bool = False) -> None:
        self.boot_id = (self.boot_id + 1) & 0xFFFF
        t0 = self.caps.techniques[0]
        self.config = _Config(t0.technique, 100.0 if t0.technique == "raman" else 1000.0, 1,
                              t0.laser_power_mw.max * 0.5 if t0.laser_power_mw else 0.0)
        self.scan: _Scan | None = None
        self.blobs: collections.OrderedDict[int, bytes] = collections.OrderedDict()
        self.scan_blobs: dict[int, int] = {}
        self.aborted_scans: set[int] = set()
        self.background_ok: set[str] = set()
        self._blob_counter = 0
        self._reply_cache: tuple[int, int, bytes] | None = None
        self._silent_until = 0.0
        self.last_scan_id = 0
        self.last_scan_source = 0
        self._streams.clear()
        self._out.clear()
        self._decoder.reset()
        self.drift_cm = float(self.faults.drift)
        self._event(m.MsgType.EV_BOOTED, m.BootedEvent(boot_id=self.boot_id).pack())
        if self.battery < LOW_BATTERY_PCT:
            self._event(m.MsgType.EV_LOW_BATTERY,
                        m.LowBatteryEvent(battery_pct=int(self.battery)).pack())

    def reboot(self) -> None:
        """Reboot: silent for ``reboot-ms``, then boot again (configuration and scans lost)."""
        self.stats["reboots"] += 1
        self._boot()
        self._silent_until = self.clock() + self.faults.reboot_ms / 1000.0
        # the EV_BOOTED queued by _boot is held until the device is back
        for o in self._out:
            o.not_before = self._silent_until

    def info(self) -> DeviceInfo:
        """The identify document."""
        return DeviceInfo(make="Interdict", model=f"SimAnalyzer {self.profile}",
                          serial=self.serial, firmware="sim-1.0.0", protocol="interdict",
                          protocol_version=1, capabilities=self.caps, simulated=True)

    # -- output -----------------------------------------------------------------------------
    def _queue(self, frame: Frame, *, delay: bool = True) -> bytes:
        raw = encode_frame(frame)
        nb = self.clock() + (self.faults.delay_ms / 1000.0 if delay else 0.0)
        self._out.append(_Out(self._faults.mangle(raw), max(nb, self._silent_until)))
        return raw

    def _reply(self, req: Frame, payload: bytes = b"", error: int = 0) -> None:
        raw = self._queue(Frame(msg_type=req.msg_type, seq=req.seq, payload=payload,
                                flags=Flag.REPLY, error=error))
        self._reply_cache = (req.seq, req.msg_type, raw)

    def _refuse(self, req: Frame, error: m.ErrorCode, detail: str = "") -> None:
        self.stats[f"refused_{error.name}"] += 1
        self._reply(req, detail.encode("utf-8"), int(error))

    def _event(self, msg_type: int, payload: bytes) -> None:
        self._event_seq = (self._event_seq + 1) & 0xFFFF
        self._queue(Frame(msg_type=msg_type, seq=self._event_seq, payload=payload,
                          flags=Flag.EVENT), delay=False)

    def next_wakeup(self) -> float | None:
        """When :meth:`tick` or :meth:`outgoing` next has something to do."""
        times = []
        if self._out:
            times.append(self._out[0].not_before)
        elif self._streams:
            times.append(self._streams[0].not_before)
        if self.scan is not None and not self.scan.finished:
            times.append(self._next_accum_time(self.scan))
        return min(times) if times else None

    def outgoing(self, now: float) -> bytes:
        """Bytes due on the line now (at most one frame; b"" if nothing is due).

        Raises
        ------
        Disconnect
            The ``disconnect`` fault fired: the server must drop the link.
        """
        if self._out:
            if self._out[0].not_before > now:
                return b""
            return self._out.popleft().data
        st = self._streams[0] if self._streams else None
        if st is None or st.not_before > now:
            return b""
        n = min(st.chunk, st.end - st.offset)
        more = st.offset + n < st.end
        payload = m.DATA_HEAD.pack(st.blob_id, st.offset) + st.blob[st.offset:st.offset + n]
        frame = Frame(msg_type=m.MsgType.FETCH, seq=st.seq, payload=payload,
                      flags=Flag.REPLY | (Flag.MORE if more else Flag.NONE))
        st.offset += n
        if not more:
            self._streams.popleft()
        if self._faults.chance(self.faults.disconnect):
            self.stats["disconnects"] += 1
            self._streams.clear()
            raise Disconnect
        self.stats["data_frames"] += 1
        return self._faults.mangle(encode_frame(frame))

    def on_disconnect(self) -> None:
        """The link dropped: whatever was queued for it is lost (state is kept)."""
        self._out.clear()
        self._streams.clear()
        self._decoder.reset()

    # -- input ------------------------------------------------------------------------------
    def receive(self, data: bytes) -> None:
        """Bytes from the host."""
        now = self.clock()
        if now < self._silent_until:
            self.stats["ignored_while_rebooting"] += len(data)
            return
        for item in self._decoder.feed(data):
            if isinstance(item, FrameError):
                self.stats[f"rx_{item.kind.value}"] += 1
                if item.kind in (FrameErrorKind.BAD_CRC, FrameErrorKind.BAD_END) \
                        and item.seq is not None:
                    self._queue(Frame(msg_type=m.MsgType.NACK, seq=item.seq,
                                      flags=Flag.NACK, error=m.ErrorCode.BAD_CRC))
                continue
            if item.flags & (Flag.REPLY | Flag.EVENT | Flag.NACK):
                continue
            self._request(item)
            if self.clock() < self._silent_until:
                return

    def _request(self, req: Frame) -> None:
        self.stats["requests"] += 1
        cache = self._reply_cache
        if cache is not None and cache[0] == req.seq and cache[1] == req.msg_type \
                and req.msg_type != m.MsgType.FETCH:
            self.stats["repeats"] += 1
            self._out.append(_Out(self._faults.mangle(cache[2]), self.clock()))
            return
        if self._faults.chance(self.faults.reboot):
            self.reboot()
            return
        if self._faults.chance(self.faults.nack):
            self._queue(Frame(msg_type=m.MsgType.NACK, seq=req.seq, flags=Flag.NACK,
                              error=m.ErrorCode.BAD_CRC))
            return
        if self._faults.chance(self.faults.busy):
            self._queue(Frame(msg_type=req.msg_type, seq=req.seq, flags=Flag.REPLY,
                              error=m.ErrorCode.BUSY))
            return
        handler = self._HANDLERS.get(req.msg_type)
        if handler is None:
            self._refuse(req, m.ErrorCode.UNKNOWN_MESSAGE, f"message type 0x{req.msg_type:04x}")
            return
        try:
            handler(self, req)
        except ValueError as exc:
            self._refuse(req, m.ErrorCode.BAD_PAYLOAD, str(exc))
        except Exception as exc:  # a bug in the simulator must not kill the device
            self.stats["internal_errors"] += 1
            self._refuse(req, m.ErrorCode.HARDWARE_FAULT, f"{type(exc).__name__}: {exc}")

    # -- handlers ---------------------------------------------------------------------------
    def _blob(self, data: bytes) -> m.BlobRef:
        self._blob_counter = (self._blob_counter % 0xFFFF) + 1
        self.blobs[self._blob_counter] = data
        while len(self.blobs) > MAX_BLOBS:
            self.blobs.popitem(last=False)
        return m.BlobRef(blob_id=self._blob_counter, size=len(data), crc32=zlib.crc32(data))

    def _declared(self, ref: m.BlobRef, lie: float) -> m.BlobRef:
        """``ref``, or (fault ``lie-*``) the same blob declared ``lie`` bytes long."""
        if not lie:
            return ref
        self.stats["lies"] += 1
        return m.BlobRef(blob_id=ref.blob_id, size=int(lie), crc32=ref.crc32)

    def _identify(self, req: Frame) -> None:
        ref = self._blob(self.info().model_dump_json().encode())
        self._reply(req, self._declared(ref, self.faults.lie_identify).pack())

    def _status(self, req: Frame) -> None:
        busy = self.scan is not None and not self.scan.finished
        self._reply(req, m.StatusPayload(
            state=m.DeviceState.ACQUIRING if busy else m.DeviceState.READY,
            battery_pct=int(self.battery), detector_temp_centi_c=int(self.temp_c * 100),
            interlock_closed=0 if self.faults.interlock else 1, boot_id=self.boot_id,
            last_scan_id=self.last_scan_id, last_scan_source=self.last_scan_source,
            technique=m.TECHNIQUE_CODES[self.config.technique]).pack())

    def _check(self, technique_code: int, integration_ms: float, accumulations: int,
               laser_power_mw: float) -> tuple[TechniqueCaps | None, str]:
        name = m.TECHNIQUE_NAMES.get(technique_code)
        if name is None or name not in self.caps.technique_names:
            return None, f"technique code {technique_code} not offered " \
                         f"(this device: {', '.join(self.caps.technique_names)})"
        t = self.caps.technique(name)
        if not math.isfinite(integration_ms) or integration_ms not in t.integration_ms:
            return t, (f"integration_ms={integration_ms:g} outside "
                       f"{t.integration_ms.min:g}..{t.integration_ms.max:g}")
        if accumulations not in t.accumulations:
            return t, (f"accumulations={accumulations} outside "
                       f"{t.accumulations.min:g}..{t.accumulations.max:g}")
        if t.laser_power_mw is not None and (not math.isfinite(laser_power_mw)
                                             or laser_power_mw not in t.laser_power_mw):
            return t, (f"laser_power_mw={laser_power_mw:g} outside "
                       f"{t.laser_power_mw.min:g}..{t.laser_power_mw.max:g}")
        return t, ""

    def _busy(self) -> bool:
        return self.scan is not None and not self.scan.finished

    def _configure(self, req: Frame) -> None:
        p = m.ConfigPayload.unpack(req.payload)
        t, problem = self._check(p.technique, p.integration_ms, p.accumulations,
                                 p.laser_power_mw)
        if t is None:
            self._refuse(req, m.ErrorCode.UNSUPPORTED, problem)
        elif problem:
            self._refuse(req, m.ErrorCode.OUT_OF_RANGE, problem)
        elif self._busy():
            self._refuse(req, m.ErrorCode.BUSY, "scan running")
        else:
            self.config = _Config(t.technique, p.integration_ms, p.accumulations,
                                  p.laser_power_mw if t.laser_power_mw else 0.0)
            self._reply(req)

    def _get_config(self, req: Frame) -> None:
        c = self.config
        self._reply(req, m.ConfigPayload(technique=m.TECHNIQUE_CODES[c.technique],
                                         integration_ms=c.integration_ms,
                                         accumulations=c.accumulations,
                                         laser_power_mw=c.laser_power_mw).pack())

    def _start(self, kind: int, source: int, c: _Config) -> tuple[m.ErrorCode, str, int]:
        if self._busy():
            return m.ErrorCode.BUSY, "scan running", 0
        t = self.caps.technique(c.technique)
        if kind == m.ScanKind.DARK and t.technique != "raman":
            return m.ErrorCode.UNSUPPORTED, "dark scans are for Raman; FTIR takes a background", 0
        if kind == m.ScanKind.BACKGROUND and t.technique != "ftir":
            return m.ErrorCode.UNSUPPORTED, "background scans are for FTIR; Raman takes a dark", 0
        laser = t.technique == "raman" and kind != m.ScanKind.DARK
        if laser and self.faults.interlock:
            return m.ErrorCode.INTERLOCK_OPEN, "", 0
        if laser and self.battery < MIN_BATTERY_PCT:
            return m.ErrorCode.LOW_BATTERY, f"battery at {self.battery:.0f}%", 0
        if t.technique == "ftir" and kind == m.ScanKind.SAMPLE \
                and "ftir" not in self.background_ok:
            return m.ErrorCode.BACKGROUND_REQUIRED, "take a background first", 0
        if kind == m.ScanKind.SELF_TEST and ((t.technique, "polystyrene")
                                             not in self.references):
            return m.ErrorCode.UNSUPPORTED, f"no {t.technique} polystyrene standard", 0
        self._scan_counter += 1
        sid = self._scan_counter
        sample = self.sample if kind == m.ScanKind.SAMPLE else None
        self.scan = _Scan(sid, kind, source, t.technique, c.integration_ms, c.accumulations,
                          c.laser_power_mw, self.clock(), sample)
        expected = math.ceil(c.accumulations * (c.integration_ms + t.readout_ms))
        self._event(m.MsgType.EV_SCAN_STARTED,
                    m.ScanStartedEvent(scan_id=sid, source=source, expected_ms=expected).pack())
        return m.ErrorCode.OK, "", expected

    def _acquire(self, req: Frame) -> None:
        p = m.AcquirePayload.unpack(req.payload)
        if p.kind not in m.SCAN_KIND_NAMES:
            raise ValueError(f"scan kind {p.kind} unknown")
        t, problem = self._check(p.technique, p.integration_ms, p.accumulations,
                                 p.laser_power_mw)
        if t is None:
            self._refuse(req, m.ErrorCode.UNSUPPORTED, problem)
            return
        if problem:
            self._refuse(req, m.ErrorCode.OUT_OF_RANGE, problem)
            return
        c = _Config(t.technique, p.integration_ms, p.accumulations, p.laser_power_mw)
        if p.kind == m.ScanKind.SELF_TEST:
            # the standard is measured with the device's own settings, never saturated
            c = _Config(t.technique, 150.0 if t.laser_power_mw else 1000.0, 2,
                        t.laser_power_mw.max / 2 if t.laser_power_mw else 0.0)
        err, detail, expected = self._start(p.kind, m.ScanSource.HOST, c)
        if err:
            self._refuse(req, err, detail)
            return
        assert self.scan is not None
        self._reply(req, m.ScanTicket(scan_id=self.scan.scan_id, boot_id=self.boot_id,
                                      expected_ms=int(self.faults.lie_ms) or expected).pack())

    def press_trigger(self) -> bool:
        """The officer pressed the trigger: a sample scan with the current configuration."""
        err, _, _ = self._start(m.ScanKind.SAMPLE, m.ScanSource.BUTTON, self.config)
        return err == m.ErrorCode.OK

    def _sim_trigger(self, req: Frame) -> None:
        if self.press_trigger():
            self._reply(req)
        else:
            self._refuse(req, m.ErrorCode.BUSY, "could not start a scan")

    def _sim_select(self, req: Frame) -> None:
        sid = req.payload.decode("utf-8", "replace")
        if sid not in self.scenario.samples:
            self._refuse(req, m.ErrorCode.NO_SUCH_SAMPLE,
                         f"{sid!r}; known: {', '.join(self.sample_ids[:20])}")
            return
        self.sample = sid
        self._reply(req)

    def _get_scan(self, req: Frame) -> None:
        sid = m.ScanId.unpack(req.payload).scan_id
        if self.scan is not None and self.scan.scan_id == sid and not self.scan.finished:
            self._refuse(req, m.ErrorCode.NOT_READY, f"scan {sid} still running")
        elif sid in self.aborted_scans:
            self._refuse(req, m.ErrorCode.ABORTED, f"scan {sid}")
        elif sid not in self.scan_blobs or self.scan_blobs[sid] not in self.blobs:
            self._refuse(req, m.ErrorCode.NO_SUCH_SCAN, f"scan {sid}")
        else:
            bid = self.scan_blobs[sid]
            data = self.blobs[bid]
            ref = m.BlobRef(blob_id=bid, size=len(data), crc32=zlib.crc32(data))
            self._reply(req, self._declared(ref, self.faults.lie_scan).pack())

    def _fetch(self, req: Frame) -> None:
        p = m.FetchPayload.unpack(req.payload)
        blob = self.blobs.get(p.blob_id)
        if blob is None:
            self._refuse(req, m.ErrorCode.NO_SUCH_BLOB, f"blob {p.blob_id}")
            return
        if p.chunk == 0 or p.chunk > MAX_PAYLOAD - m.DATA_HEAD.size or p.offset > len(blob):
            self._refuse(req, m.ErrorCode.OUT_OF_RANGE,
                         f"offset {p.offset}/chunk {p.chunk} for a blob of {len(blob)} bytes")
            return
        end = min(len(blob), p.offset + p.length)
        self._reply_cache = None
        if end > p.offset:
            # FETCHes are served in order; a full queue drops the oldest (the host has
            # given up on it by the time it sends this many)
            if len(self._streams) >= MAX_STREAMS:
                self._streams.popleft()
            self._streams.append(_Stream(req.seq, p.blob_id, blob, p.offset, end, p.chunk,
                                         self.clock() + self.faults.delay_ms / 1000.0))
        else:
            self._queue(Frame(msg_type=m.MsgType.FETCH, seq=req.seq, flags=Flag.REPLY,
                              payload=m.DATA_HEAD.pack(p.blob_id, p.offset)))

    def _abort(self, req: Frame) -> None:
        s = self.scan
        if s is not None and not s.finished:
            s.aborted = s.finished = True
            self.aborted_scans.add(s.scan_id)
            self.last_scan_id = s.scan_id
            self.last_scan_source = s.source
            self._event(m.MsgType.EV_SCAN_COMPLETE, m.ScanCompleteEvent(
                scan_id=s.scan_id, source=s.source, error=m.ErrorCode.ABORTED).pack())
        self._reply(req)

    _HANDLERS: ClassVar[dict[int, Callable[[SimulatedDevice, Frame], None]]] = {
        m.MsgType.IDENTIFY: _identify,
        m.MsgType.STATUS: _status,
        m.MsgType.CONFIGURE: _configure,
        m.MsgType.GET_CONFIG: _get_config,
        m.MsgType.ACQUIRE: _acquire,
        m.MsgType.GET_SCAN: _get_scan,
        m.MsgType.FETCH: _fetch,
        m.MsgType.ABORT: _abort,
        m.MsgType.SIM_SELECT_SAMPLE: _sim_select,
        m.MsgType.SIM_PRESS_TRIGGER: _sim_trigger,
    }

    # -- time -------------------------------------------------------------------------------
    def _next_accum_time(self, s: _Scan) -> float:
        t = self.caps.technique(s.technique)
        return s.started + (s.done + 1) * (s.integration_ms + t.readout_ms) / 1000.0

    def tick(self, now: float) -> None:
        """Advance running scans to ``now``: progress events, completion, data."""
        s = self.scan
        if s is None or s.finished or now < self._silent_until:
            return
        if s.sample_id is not None and self.scenario.samples[s.sample_id].hang:
            return  # a hung readout: only an abort (or losing the device) ends it
        while s.done < s.accumulations and now >= self._next_accum_time(s):
            s.done += 1
            if s.done < s.accumulations:
                self._event(m.MsgType.EV_PROGRESS, m.ProgressEvent(
                    scan_id=s.scan_id, done=s.done, total=s.accumulations).pack())
        if s.done >= s.accumulations:
            self._complete(s)

    def _complete(self, s: _Scan) -> None:
        header, data = self._synthesise(s)
        head = header.model_dump_json(exclude_none=True).encode()
        ref = self._blob(m.BLOB_HEAD.pack(len(head)) + head + data)
        self.scan_blobs[s.scan_id] = ref.blob_id
        s.finished = True
        self.last_scan_id = s.scan_id
        self.last_scan_source = s.source
        if s.kind == m.ScanKind.BACKGROUND:
            self.background_ok.add(s.technique)
        if s.kind == m.ScanKind.SAMPLE and self.scenario.selection == "round-robin":
            i = self.sample_ids.index(self.sample)
            self.sample = self.sample_ids[(i + 1) % len(self.sample_ids)]
        if s.technique == "raman" and s.kind != m.ScanKind.DARK:
            before = self.battery
            self.battery = max(0.0, self.battery - self.faults.drain * s.accumulations)
            if before >= LOW_BATTERY_PCT > self.battery:
                self._event(m.MsgType.EV_LOW_BATTERY,
                            m.LowBatteryEvent(battery_pct=int(self.battery)).pack())
        self._event(m.MsgType.EV_SCAN_COMPLETE, m.ScanCompleteEvent(
            scan_id=s.scan_id, source=s.source, error=0).pack())

    def _synthesise(self, s: _Scan) -> tuple[ScanHeader, bytes]:
        t = self.caps.technique(s.technique)
        model = self._models[s.technique]
        kind = m.SCAN_KIND_NAMES[s.kind]
        if s.kind == m.ScanKind.SELF_TEST:
            from .synth import Component, Sample

            sample = Sample(components=[Component(reference="polystyrene", fraction=1.0)],
                            fluorescence=0.05)
        elif s.kind == m.ScanKind.SAMPLE:
            sample = self.scenario.samples[s.sample_id or self.sample]
        else:
            sample = None
        # slow calibration wander on top of the fixed drift fault
        drift = self.drift_cm + float(self._rng.normal(0.0, 0.02))
        report = None
        saturated = 0
        if t.technique == "raman":
            counts, saturated = model.raman(
                self._rng, sample, self.references, integration_ms=s.integration_ms,
                accumulations=s.accumulations, laser_power_mw=s.laser_power_mw,
                drift_cm=drift, temp_c=self.temp_c)
            data = counts.astype("<u4").tobytes()
            dtype = "<u4"
            values = counts.astype(np.float64)
        else:
            absorb = model.ftir(self._rng, sample, self.references,
                                integration_ms=s.integration_ms,
                                accumulations=s.accumulations, drift_cm=drift)
            data = absorb.astype("<f4").tobytes()
            dtype = "<f4"
            values = absorb.astype(np.float64)
        if s.kind == m.ScanKind.SELF_TEST:
            expected = RAMAN_STANDARD_PEAKS if t.technique == "raman" else tuple(
                _ftir_certificate(self.references[("ftir", "polystyrene")]))
            report = self_test(t.axis(), values, t.technique, expected,
                               2.0 if t.technique == "raman" else 4.0)
        n = t.pixels
        if self.faults.lie_pixels:  # a lying detector: more values than it has pixels
            n = int(self.faults.lie_pixels)
            data = np.resize(np.frombuffer(data, dtype=dtype), n).tobytes()
        extra: dict[str, object] = {"simulated": True, "seed": self.seed}
        if s.sample_id is not None:
            extra["sample_id"] = s.sample_id
        header = ScanHeader(
            scan_id=s.scan_id, kind=kind, source="button" if s.source else "host",
            technique=t.technique, x_unit=t.x_unit, y_unit=t.y_unit,
            dtype=dtype, n=n,  # type: ignore[arg-type]
            axis=AxisPolynomial(coefficients=list(t.axis_coefficients)),
            excitation_nm=t.excitation_nm, integration_ms=s.integration_ms,
            accumulations=s.accumulations,
            laser_power_mw=s.laser_power_mw if t.laser_power_mw else None,
            acquired_at=datetime.now(UTC), detector_temp_c=self.temp_c,
            saturated_pixels=saturated, self_test=report,
            extra=json.loads(json.dumps(extra)))
        return header, data

    def events_pending(self) -> Iterator[bytes]:
        """(for tests) the raw frames queued right now."""
        return (o.data for o in self._out)


def _ftir_certificate(ref: Reference) -> list[float]:
    """Certificate peak positions of an FTIR standard: its four strongest bands."""
    from scipy.signal import find_peaks

    idx, props = find_peaks(ref.y, height=0.2, distance=10)
    top = idx[np.argsort(props["peak_heights"])[::-1][:4]]
    return sorted(float(ref.x[i]) for i in top)
