"""Dialect ``interdict/1``: our published protocol (``docs/protocol.md``), host side.

Reliability rules implemented here:

* every request carries a fresh 16-bit sequence number; a reply is matched by it, anything
  else (stale or duplicate replies) is dropped;
* a corrupted reply (CRC failure) or a device NACK makes the host resend the *same* request
  with the *same* sequence number (the device answers a repeat from its reply cache, so a
  resent ACQUIRE never starts a second scan); a timeout does the same; at most
  ``retries`` resends;
* BUSY replies are retried after a back-off, at most ``busy_retries`` times;
* large documents travel as blobs fetched in chunks with explicit offsets: the host keeps
  what arrived intact, re-requests only the missing ranges, and adapts the chunk size to the
  line quality; the whole blob is checked against its CRC-32 at the end;
* events (flag EVENT) are queued whenever they arrive; duplicates (same event sequence
  number) are dropped.
"""

from __future__ import annotations

import collections
import time
import zlib
from collections.abc import Callable

import numpy as np
from pydantic import ValidationError

from ..capabilities import MAX_PIXELS, DeviceInfo
from ..errors import (
    AcquisitionAbortedError,
    AnalyzerTimeoutError,
    DeclaredSizeError,
    DeviceBusyError,
    DeviceRefusedError,
    NotAnAnalyzerError,
    ProtocolError,
    TransferError,
)
from ..models import (
    Booted,
    Configuration,
    DeviceStatus,
    Event,
    LowBattery,
    ProgressEvent,
    RawScan,
    ScanComplete,
    ScanHeader,
    ScanKindName,
    ScanStarted,
    Ticket,
)
from ..protocol import messages as m
from ..protocol._frame import (
    MAX_PAYLOAD,
    OVERHEAD,
    Flag,
    Frame,
    FrameDecoder,
    FrameError,
    FrameErrorKind,
    encode_frame,
)
from ..transport import Transport
from ._dialect import LinkOptions

NAME = "interdict/1"
MIN_CHUNK = 16
MAX_CHUNK = MAX_PAYLOAD - m.DATA_HEAD.size
FIRST_CHUNK = 4096
MAX_RANGES = 64
BITS_PER_BYTE = 10  # 8N1

_KIND_CODES: dict[ScanKindName, m.ScanKind] = {
    "sample": m.ScanKind.SAMPLE, "dark": m.ScanKind.DARK,
    "background": m.ScanKind.BACKGROUND, "self-test": m.ScanKind.SELF_TEST,
}
_SOURCES = {0: "host", 1: "button"}


def scan_blob_limit(info: DeviceInfo | None) -> int:
    """Largest scan blob a device may declare: header plus one value per declared pixel.

    Parameters
    ----------
    info
        The device's identify document; ``None`` (not identified yet) applies the driver's
        absolute limit of :data:`~driver.capabilities.MAX_PIXELS` pixels.
    """
    pixels = MAX_PIXELS if info is None else max(t.pixels for t in info.capabilities.techniques)
    return m.BLOB_HEAD.size + m.MAX_SCAN_HEADER_BYTES + m.VALUE_BYTES * pixels


class ScanLostError(ProtocolError):
    """The device no longer has the scan (rebooted): the caller may start it again."""


def _source(code: int) -> str:
    return _SOURCES.get(code, "host")


class V1Session:
    """Host side of ``interdict/1`` over a :class:`~driver.transport.Transport`."""

    def __init__(self, transport: Transport, options: LinkOptions) -> None:
        self.transport = transport
        self.options = options
        self.boot_id: int | None = None
        self.boot_changed = False
        self.info: DeviceInfo | None = None
        """The identify document, once fetched: what later declarations are checked against."""
        self._decoder = FrameDecoder()
        self._pending: collections.deque[Frame | FrameError] = collections.deque()
        self._events: collections.deque[Event] = collections.deque()
        self._seq = int(time.monotonic_ns() & 0x7FFF)
        self._last_event_seq: int | None = None
        self._chunk = FIRST_CHUNK
        self.stats: collections.Counter[str] = collections.Counter()

    # -- timing -----------------------------------------------------------------------------
    def line_time(self, nbytes: int) -> float:
        """Seconds ``nbytes`` take on the line at the transport's baud rate."""
        return nbytes * BITS_PER_BYTE / max(self.transport.baudrate, 1)

    def reply_timeout(self, reply_bytes: int = 64) -> float:
        """How long to wait for a reply of about ``reply_bytes`` payload bytes."""
        return self.options.latency_s + 2.0 * self.line_time(2 * OVERHEAD + reply_bytes)

    # -- frames -----------------------------------------------------------------------------
    def _next_seq(self) -> int:
        self._seq = (self._seq + 1) & 0xFFFF
        return self._seq

    def _poll(self, deadline: float) -> list[Frame | FrameError]:
        if self._pending:
            items = list(self._pending)
            self._pending.clear()
            return items
        data = self.transport.read_some(max(0.0, deadline - time.monotonic()))
        if not data:
            return []
        self.stats["bytes_in"] += len(data)
        return self._decoder.feed(data)

    def _take_event(self, frame: Frame) -> None:
        if frame.seq == self._last_event_seq:
            self.stats["duplicate_events"] += 1
            return
        self._last_event_seq = frame.seq
        cls = m.EVENT_PAYLOADS.get(frame.msg_type)
        if cls is None:
            self.stats["unknown_events"] += 1
            return
        try:
            ev = cls.unpack(frame.payload)
        except ValueError:
            self.stats["bad_events"] += 1
            return
        if isinstance(ev, m.ProgressEvent):
            self._events.append(ProgressEvent(ev.scan_id, ev.done, ev.total))
        elif isinstance(ev, m.ScanStartedEvent):
            self._events.append(ScanStarted(ev.scan_id, _source(ev.source),  # type: ignore[arg-type]
                                            ev.expected_ms))
        elif isinstance(ev, m.ScanCompleteEvent):
            self._events.append(ScanComplete(ev.scan_id, _source(ev.source),  # type: ignore[arg-type]
                                             ev.error))
        elif isinstance(ev, m.LowBatteryEvent):
            self._events.append(LowBattery(ev.battery_pct))
        elif isinstance(ev, m.BootedEvent):
            self._note_boot(ev.boot_id)
            self._events.append(Booted(ev.boot_id))

    def _note_boot(self, boot_id: int) -> None:
        if self.boot_id is not None and boot_id != self.boot_id:
            self.boot_changed = True
        self.boot_id = boot_id

    def _send(self, frame: Frame) -> None:
        data = encode_frame(frame)
        self.stats["bytes_out"] += len(data)
        self.transport.write(data)

    def transact(self, msg_type: int, payload: bytes = b"", *, reply_bytes: int = 64,
                 probing: bool = False) -> Frame:
        """Send one request and return its reply frame (``error`` 0).

        Raises
        ------
        DeviceRefusedError
            The device answered with an error code.
        DeviceBusyError
            BUSY beyond the retry budget.
        AnalyzerTimeoutError
            No valid reply after all resends.
        NotAnAnalyzerError
            (``probing``) bytes came back, but never one frame of this protocol.
        """
        seq = self._next_seq()
        req = Frame(msg_type=msg_type, seq=seq, payload=payload)
        timeout = self.reply_timeout(reply_bytes)
        attempts = 0
        busy = 0
        saw_bytes = saw_frame = False
        while True:
            self._send(req)
            deadline = time.monotonic() + timeout
            resend = False
            while not resend and time.monotonic() < deadline:
                items = self._poll(deadline)
                for k, item in enumerate(items):
                    if isinstance(item, FrameError):
                        saw_bytes = True
                        self.stats[f"frame_{item.kind.value}"] += 1
                        if item.kind in (FrameErrorKind.BAD_CRC, FrameErrorKind.BAD_END) \
                                and item.seq == seq:
                            resend = True  # our reply, damaged: ask again (NACK by repeat)
                        continue
                    saw_bytes = True
                    if item.flags & Flag.EVENT:
                        saw_frame = True
                        self._take_event(item)
                        continue
                    if not item.flags & (Flag.REPLY | Flag.NACK):
                        continue  # not from a device (an echo?)
                    saw_frame = True
                    if item.seq != seq:
                        self.stats["stale_replies"] += 1
                        continue
                    if item.flags & Flag.NACK:
                        self.stats["nacks"] += 1
                        resend = True
                        continue
                    if item.error == m.ErrorCode.BUSY:
                        busy += 1
                        self.stats["busy"] += 1
                        if busy > self.options.busy_retries:
                            name, text = m.describe_error(item.error)
                            raise DeviceBusyError(item.error, name, text,
                                                  f"after {busy} attempts")
                        time.sleep(self.options.busy_backoff_s)
                        resend = True
                        attempts -= 1  # busy has its own budget
                        continue
                    self._pending.extend(items[k + 1:])
                    if item.error:
                        name, text = m.describe_error(item.error)
                        detail = item.payload.decode("utf-8", "replace")
                        raise DeviceRefusedError(item.error, name, text, detail)
                    return item
            attempts += 1
            self.stats["resends"] += 1
            if attempts > self.options.retries:
                if probing and saw_bytes and not saw_frame:
                    raise NotAnAnalyzerError(
                        f"{self.transport.url!r} answers, but not in the {NAME} protocol "
                        "(no valid frame in reply to identify)"
                    )
                label = m.MsgType(msg_type).name if msg_type in m.MsgType._value2member_map_ \
                    else f"message 0x{msg_type:04x}"
                raise AnalyzerTimeoutError(
                    f"{label} to {self.transport.url!r}: {attempts} attempt(s)",
                    timeout_s=timeout * attempts,
                )

    # -- blobs ------------------------------------------------------------------------------
    def fetch_blob(self, ref: m.BlobRef, limit: int, what: str, why: str = "") -> bytes:
        """Fetch a blob in chunks, re-requesting only missing ranges; verify its CRC-32.

        Each round sends one FETCH per missing range (at most :data:`MAX_RANGES`, pipelined)
        and keeps every intact chunk, whichever request it answers. The chunk size follows
        the line: halved when more than half the frames of a round were damaged or lost,
        doubled when under a tenth were.

        Parameters
        ----------
        ref
            The device's reference to the blob (its id, declared size and CRC-32).
        limit, what, why
            The largest size accepted, what the blob is and where the limit comes from (for
            the error).

        Raises
        ------
        DeclaredSizeError
            The declared size is above ``limit``: refused before any buffer is made.
        TransferError
            No progress within the retry budget, or the assembled blob fails its CRC.
        """
        size = ref.size
        if size > limit:
            raise DeclaredSizeError(what, size, limit, reason=why)
        buf = bytearray(size)
        have = np.zeros(size, dtype=bool)
        stalls = 0
        while True:
            missing = ~have
            if not missing.any():
                break
            # ranges of missing bytes: starts where missing begins, ends where it stops
            edges = np.diff(np.concatenate(([False], missing, [False])).astype(np.int8))
            starts = np.flatnonzero(edges == 1)
            ends = np.flatnonzero(edges == -1)
            ranges = list(zip(starts.tolist(), ends.tolist(), strict=True))
            if len(ranges) > MAX_RANGES:  # too fragmented: one span for the tail
                ranges = [*ranges[:MAX_RANGES - 1], (ranges[MAX_RANGES - 1][0], ranges[-1][1])]
            chunk = min(self._chunk, MAX_CHUNK)
            got, frames, lost = self._fetch_ranges(ref.blob_id, ranges, chunk, buf, have)
            used = max(MIN_CHUNK, min(chunk, max(b - a for a, b in ranges)))
            if lost * 2 > frames:
                self._chunk = max(MIN_CHUNK, used // 2)
            elif lost * 10 < frames:
                self._chunk = min(MAX_CHUNK, max(chunk, used * 2))
            if got == 0:
                stalls += 1
                if stalls > 3 * self.options.retries:  # rounds are cheap; give up late
                    raise TransferError(
                        f"blob {ref.blob_id}: no progress after {stalls} rounds "
                        f"({int(have.sum())}/{size} bytes received)"
                    )
            else:
                stalls = 0
        if zlib.crc32(buf) != ref.crc32:
            raise TransferError(f"blob {ref.blob_id}: assembled data fail the CRC-32 check")
        return bytes(buf)

    def _fetch_ranges(self, blob_id: int, ranges: list[tuple[int, int]], chunk: int,
                      buf: bytearray, have: np.ndarray) -> tuple[int, int, int]:
        """One round: request every range, collect chunks. Returns (new bytes, frames
        expected, frames damaged or lost)."""
        bounds: dict[int, tuple[int, int]] = {}
        expected = 0
        wire = 0
        for off, end in ranges:
            seq = self._next_seq()
            bounds[seq] = (off, end)
            n = max(1, -(-(end - off) // chunk))
            expected += n
            wire += (end - off) + n * (OVERHEAD + m.DATA_HEAD.size)
            req = m.FetchPayload(blob_id=blob_id, offset=off, length=end - off, chunk=chunk)
            self._send(Frame(msg_type=m.MsgType.FETCH, seq=seq, payload=req.pack()))
        deadline = time.monotonic() + self.options.latency_s + 1.5 * self.line_time(wire)
        # a streaming device leaves no gaps: a pause of a few frame times ends the round
        idle = max(0.25 * self.options.latency_s, 4 * self.line_time(chunk + OVERHEAD))
        last_rx = time.monotonic()
        got = seen = damaged = 0
        while seen < expected:
            now = time.monotonic()
            if now >= deadline or (seen and now - last_rx > idle):
                break
            items = self._poll(min(deadline, now + idle))
            if items:
                last_rx = time.monotonic()
            for item in items:
                if isinstance(item, FrameError):
                    self.stats[f"frame_{item.kind.value}"] += 1
                    if item.seq in bounds and item.msg_type == m.MsgType.FETCH:
                        damaged += 1
                        seen += 1
                    continue
                if item.flags & Flag.EVENT:
                    self._take_event(item)
                    continue
                span = bounds.get(item.seq)
                if span is None or not item.flags & Flag.REPLY:
                    self.stats["stale_replies"] += 1
                    continue
                if item.error:
                    name, text = m.describe_error(item.error)
                    if item.error == m.ErrorCode.NO_SUCH_BLOB:
                        raise ScanLostError(f"blob {blob_id}: {text}")
                    if item.error == m.ErrorCode.BUSY:
                        seen += 1
                        continue
                    raise DeviceRefusedError(item.error, name, text,
                                             item.payload.decode("utf-8", "replace"))
                seen += 1
                if len(item.payload) < m.DATA_HEAD.size:
                    damaged += 1
                    continue
                bid, at = m.DATA_HEAD.unpack_from(item.payload)
                data = item.payload[m.DATA_HEAD.size:]
                if bid != blob_id or at < span[0] or at + len(data) > span[1]:
                    self.stats["stray_chunks"] += 1
                    continue
                got += int((~have[at:at + len(data)]).sum())
                buf[at:at + len(data)] = data
                have[at:at + len(data)] = True
        return got, expected, damaged + (expected - seen)


    # -- operations -------------------------------------------------------------------------
    def identify(self) -> DeviceInfo:
        """Ask the device who it is (fetches the identify document).

        Raises
        ------
        NotAnAnalyzerError
            Bytes came back, but not in this protocol, or the document is not ours.
        """
        reply = self.transact(m.MsgType.IDENTIFY, probing=True)
        try:
            ref = m.BlobRef.unpack(reply.payload)
        except ValueError as exc:
            raise NotAnAnalyzerError(f"identify reply is not {NAME}: {exc}") from exc
        blob = self.fetch_blob(ref, m.MAX_IDENTIFY_BYTES, "identify document")
        try:
            self.info = DeviceInfo.model_validate_json(blob)
        except ValidationError as exc:
            raise NotAnAnalyzerError(f"identify document is not {NAME}: {exc}") from exc
        return self.info

    def status(self) -> DeviceStatus:
        """Ask the device's state."""
        reply = self.transact(m.MsgType.STATUS)
        try:
            st = m.StatusPayload.unpack(reply.payload)
        except ValueError as exc:
            raise ProtocolError(f"STATUS reply: {exc}") from exc
        self._note_boot(st.boot_id)
        states = {0: "ready", 1: "acquiring", 2: "fault"}
        return DeviceStatus(
            state=states.get(st.state, "fault"),  # type: ignore[arg-type]
            battery_pct=st.battery_pct,
            detector_temp_c=st.detector_temp_centi_c / 100.0,
            laser_interlock_closed=bool(st.interlock_closed),
            boot_id=st.boot_id,
            last_scan_id=st.last_scan_id,
            last_scan_source=_source(st.last_scan_source),  # type: ignore[arg-type]
            technique=m.TECHNIQUE_NAMES.get(st.technique, "unknown"),
        )

    def configure(self, config: Configuration) -> None:
        """Set the device's current settings."""
        payload = m.ConfigPayload(technique=m.TECHNIQUE_CODES[config.technique],
                                  integration_ms=config.integration_ms,
                                  accumulations=config.accumulations,
                                  laser_power_mw=config.laser_power_mw)
        self.transact(m.MsgType.CONFIGURE, payload.pack())

    def start_scan(self, kind: ScanKindName, config: Configuration) -> Ticket:
        """Send ACQUIRE with the full settings; return the device's ticket."""
        payload = m.AcquirePayload(kind=_KIND_CODES[kind],
                                   technique=m.TECHNIQUE_CODES[config.technique],
                                   integration_ms=config.integration_ms,
                                   accumulations=config.accumulations,
                                   laser_power_mw=config.laser_power_mw)
        reply = self.transact(m.MsgType.ACQUIRE, payload.pack())
        try:
            t = m.ScanTicket.unpack(reply.payload)
        except ValueError as exc:
            raise ProtocolError(f"ACQUIRE reply: {exc}") from exc
        self._note_boot(t.boot_id)
        return Ticket(t.scan_id, t.boot_id, t.expected_ms)

    def wait_scan(self, ticket: Ticket, timeout_s: float,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: Callable[[], bool] | None = None) -> None:
        """Wait for the scan's completion event; poll STATUS when events go missing.

        Raises
        ------
        AnalyzerTimeoutError
            Not complete within ``timeout_s``.
        AcquisitionAbortedError
            The scan was aborted.
        ScanLostError
            The device rebooted meanwhile.
        """
        deferred: list[Event] = []
        try:
            self._wait_scan(ticket, timeout_s, progress, cancel, deferred)
        finally:
            self._events.extendleft(reversed(deferred))  # button events stay for triggers()

    def _wait_scan(self, ticket: Ticket, timeout_s: float,
                   progress: Callable[[int, int], None] | None,
                   cancel: Callable[[], bool] | None, deferred: list[Event]) -> None:
        start = time.monotonic()
        deadline = start + timeout_s
        poll_after = start + ticket.expected_ms / 1000.0 + self.options.latency_s
        cancelled = False
        while True:
            now = time.monotonic()
            if now >= deadline:
                raise AnalyzerTimeoutError(f"scan {ticket.scan_id} did not complete",
                                           timeout_s=timeout_s)
            if cancel is not None and not cancelled and cancel():
                cancelled = True
                self.abort()
                poll_after = time.monotonic()  # the ABORTED state shows in STATUS at once
            wait = min(deadline, poll_after) - now if poll_after > now else 0.0
            ev = self.next_event(min(wait, 0.1) if cancel is not None else wait)
            if isinstance(ev, ProgressEvent) and ev.scan_id == ticket.scan_id:
                if progress is not None:
                    progress(ev.done, ev.total)
            elif isinstance(ev, ScanComplete) and ev.scan_id == ticket.scan_id:
                self._check_complete(ev.scan_id, ev.error)
                return
            elif isinstance(ev, Booted) and ev.boot_id != ticket.boot_id:
                raise ScanLostError(f"device rebooted during scan {ticket.scan_id}")
            elif isinstance(ev, LowBattery) or (
                    isinstance(ev, ScanStarted | ScanComplete) and ev.source == "button"):
                deferred.append(ev)  # for next_event() and triggers()
            if ev is None and time.monotonic() >= poll_after:
                st = self.status()
                if st.boot_id != ticket.boot_id:
                    raise ScanLostError(f"device rebooted during scan {ticket.scan_id}")
                if st.state != "acquiring" and st.last_scan_id >= ticket.scan_id:
                    if cancelled:
                        self._check_complete(ticket.scan_id, m.ErrorCode.ABORTED)
                    return  # completion event lost on the line; GET_SCAN tells the rest
                poll_after = time.monotonic() + max(0.05, self.options.latency_s)

    @staticmethod
    def _check_complete(scan_id: int, error: int) -> None:
        if error == m.ErrorCode.ABORTED:
            name, text = m.describe_error(error)
            raise AcquisitionAbortedError(error, name, text, f"scan {scan_id}")
        if error:
            name, text = m.describe_error(error)
            raise DeviceRefusedError(error, name, text, f"scan {scan_id}")

    def fetch_scan(self, scan_id: int) -> RawScan:
        """GET_SCAN then fetch its blob: JSON header plus data.

        Every size in it is checked before use: the blob against the declared detector
        (:func:`scan_blob_limit`), the header length against
        :data:`~driver.protocol.messages.MAX_SCAN_HEADER_BYTES` and the blob, the number of
        values against the pixels of the scan's technique.

        Raises
        ------
        DeclaredSizeError
            A declared size above its limit.
        ProtocolError
            The blob is inconsistent (header unreadable, sizes that do not add up).
        """
        try:
            reply = self.transact(m.MsgType.GET_SCAN, m.ScanId(scan_id=scan_id).pack())
        except DeviceRefusedError as exc:
            if exc.code in (m.ErrorCode.NO_SUCH_SCAN, m.ErrorCode.NO_SUCH_BLOB):
                raise ScanLostError(str(exc)) from exc
            if exc.code == m.ErrorCode.ABORTED:
                raise AcquisitionAbortedError(exc.code, exc.name, str(exc)) from exc
            raise
        try:
            ref = m.BlobRef.unpack(reply.payload)
        except ValueError as exc:
            raise ProtocolError(f"GET_SCAN reply: {exc}") from exc
        limit = scan_blob_limit(self.info)
        pixels = (limit - m.BLOB_HEAD.size - m.MAX_SCAN_HEADER_BYTES) // m.VALUE_BYTES
        blob = self.fetch_blob(
            ref, limit, "scan blob",
            f"a header of at most {m.MAX_SCAN_HEADER_BYTES:,} bytes and {m.VALUE_BYTES} bytes "
            f"for each of {pixels:,} pixels")
        if len(blob) < m.BLOB_HEAD.size:
            raise ProtocolError(f"scan {scan_id}: blob of {len(blob)} bytes has no header")
        (hlen,) = m.BLOB_HEAD.unpack_from(blob)
        if hlen > m.MAX_SCAN_HEADER_BYTES:
            raise DeclaredSizeError("scan header", hlen, m.MAX_SCAN_HEADER_BYTES)
        head_end = m.BLOB_HEAD.size + hlen
        if head_end > len(blob):
            raise ProtocolError(f"scan {scan_id}: header of {hlen} bytes declared in a blob "
                                f"of {len(blob)} bytes")
        try:
            header = ScanHeader.model_validate_json(blob[m.BLOB_HEAD.size:head_end])
        except ValidationError as exc:
            raise ProtocolError(f"scan {scan_id}: bad header: {exc}") from exc
        self._check_values(header)
        raw = blob[head_end:]
        if len(raw) != header.n * m.VALUE_BYTES:
            raise ProtocolError(
                f"scan {scan_id}: header says {header.n} values, data hold {len(raw)} bytes"
            )
        values = np.frombuffer(raw, dtype=header.dtype).astype(np.float64)
        return RawScan(header, values)

    def _check_values(self, header: ScanHeader) -> None:
        """The header's value count against the pixels of its technique (as declared)."""
        if self.info is None:
            limit, why = MAX_PIXELS, "the driver's absolute limit"
        else:
            try:
                tcaps = self.info.capabilities.technique(header.technique)
            except KeyError:
                raise ProtocolError(
                    f"scan {header.scan_id}: technique {header.technique!r} is not one the "
                    f"device declared ({', '.join(self.info.capabilities.technique_names)})"
                ) from None
            limit, why = tcaps.pixels, f"the {header.technique} detector's declared pixels"
        if header.n > limit:
            raise DeclaredSizeError(f"{header.technique} scan", header.n, limit,
                                    unit="values", reason=why)

    def abort(self) -> None:
        """Abort the running scan (no error if none is running)."""
        self.transact(m.MsgType.ABORT)

    def select_sample(self, sample_id: str) -> None:
        """Simulator-only extension: put ``sample_id`` under the laser."""
        self.transact(m.MsgType.SIM_SELECT_SAMPLE, sample_id.encode("utf-8"))

    def press_trigger(self) -> None:
        """Simulator-only extension: press the device's trigger button."""
        self.transact(m.MsgType.SIM_PRESS_TRIGGER)

    def next_event(self, timeout_s: float) -> Event | None:
        """The next queued event, reading the line for up to ``timeout_s`` if none is."""
        deadline = time.monotonic() + max(0.0, timeout_s)
        while not self._events:
            items = self._poll(deadline)
            for item in items:
                if isinstance(item, Frame) and item.flags & Flag.EVENT:
                    self._take_event(item)
                elif isinstance(item, FrameError):
                    self.stats[f"frame_{item.kind.value}"] += 1
                else:
                    self.stats["stale_replies"] += 1
            if time.monotonic() >= deadline and not self._events:
                return None
        return self._events.popleft()


class _V1Dialect:
    name = NAME

    def connect(self, transport: Transport, options: LinkOptions) -> V1Session:
        return V1Session(transport, options)


DIALECT = _V1Dialect()
"""The ``interdict/1`` dialect object (implements :class:`~driver.protocol.Dialect`)."""

__all__ = ["DIALECT", "NAME", "ScanLostError", "V1Session", "scan_blob_limit"]
