"""The :class:`Analyzer`: a thin, thread-safe facade over a transport and a protocol dialect.

>>> with Analyzer("socket://127.0.0.1:5555") as dev:          # doctest: +SKIP
...     dev.configure(integration_ms=500, accumulations=2)
...     spectrum = dev.acquire()
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, Self, TypeVar

import numpy as np

import spectra
from spectra import Acquisition, ProvenanceStep, Spectrum

from .capabilities import DeviceInfo, TechniqueCaps, spectra_technique
from .errors import (
    AnalyzerError,
    AnalyzerTimeoutError,
    DeclaredSizeError,
    LinkError,
    NotAnAnalyzerError,
    NotSupportedError,
    PortBusyError,
)
from .models import (
    Configuration,
    DeviceStatus,
    Event,
    LowBattery,
    RawScan,
    ScanComplete,
    ScanKindName,
    ScanStarted,
    SelfTestReport,
    Ticket,
)
from .session import INTERDICT_V1, Dialect, DialectSession, LinkOptions, ScanLostError
from .transport import Transport

T = TypeVar("T")
SOFTWARE = "interdict.driver"
DECLARED_SCAN_FACTOR = 4
"""A device may announce a scan up to this many times the nominal time of its settings..."""
DECLARED_SCAN_SLACK_MS = 60_000
"""...plus this (self-tests run on the device's own settings; FTIR backgrounds take longer)."""


class Analyzer:
    """A handheld Raman/FTIR analyzer on a port.

    Parameters
    ----------
    url
        Any pyserial URL: ``/dev/ttyUSB0``, ``COM3``, ``socket://host:port``,
        ``rfc2217://host:port``, ``loop://``, ``spy://<url>``.
    baudrate
        Line rate (serial ports); timeouts are derived from it.
    latency_s, retries
        See :class:`~driver.session.LinkOptions`.
    reconnect_s
        How long to wait for a port that went away (USB unplug) to come back.
    dialect
        The protocol dialect (default ``interdict/1``).
    exclusive
        Lock the port against other programs.

    Notes
    -----
    Every public method takes one lock, so an Analyzer can be shared between threads.
    After a reconnect or a device reboot the last configuration is restored.
    """

    def __init__(self, url: str, *, baudrate: int = 115200, latency_s: float = 0.3,
                 retries: int = 10, reconnect_s: float = 10.0,
                 dialect: Dialect = INTERDICT_V1, exclusive: bool = True) -> None:
        self.url = url
        self.transport = Transport(url, baudrate=baudrate, exclusive=exclusive)
        self.options = LinkOptions(latency_s=latency_s, retries=retries)
        self.reconnect_s = reconnect_s
        self.dialect = dialect
        self._lock = threading.RLock()
        self._session: DialectSession | None = None
        self._info: DeviceInfo | None = None
        self._config: Configuration | None = None
        self.reconnects = 0
        self.rescans = 0
        # the last trigger scan handed out by triggers(), as (reconnects, boot id, scan id):
        # its completion event can still be queued when an iteration ends, and must not be
        # handed out again by the next one
        self._delivered: tuple[int, int | None, int] | None = None
        self._cancel = threading.Event()

    # -- lifecycle --------------------------------------------------------------------------
    def open(self) -> Self:
        """Open the port and identify the device.

        Raises
        ------
        LinkError, PortBusyError
            The port cannot be opened.
        NotAnAnalyzerError
            Something answers, but not as an analyzer.
        AnalyzerTimeoutError
            Nothing answers.
        """
        with self._lock:
            self.transport.open()
            try:
                self.transport.discard_input()
                self._session = self.dialect.connect(self.transport, self.options)
                self._info = self._session.identify()
                self._config = self._default_config(self._info)
            except BaseException:
                self.transport.close()
                self._session = None
                raise
        return self

    def close(self) -> None:
        """Close the port (idempotent)."""
        with self._lock:
            self.transport.close()
            self._session = None

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _default_config(info: DeviceInfo) -> Configuration:
        t = info.capabilities.techniques[0]
        power = t.laser_power_mw.min + 0.5 * (t.laser_power_mw.max - t.laser_power_mw.min) \
            if t.laser_power_mw else 0.0
        return Configuration(technique=t.technique,
                             integration_ms=max(t.integration_ms.min, min(1000.0,
                                                                          t.integration_ms.max)),
                             accumulations=1, laser_power_mw=power)

    def _require(self) -> DialectSession:
        if self._session is None:
            raise LinkError(f"{self.url!r} is not open (use 'with Analyzer(url) as dev:')")
        return self._session

    def _reconnect(self) -> None:
        old = self._info
        deadline = time.monotonic() + self.reconnect_s
        while True:
            self.transport.reopen(max(0.0, deadline - time.monotonic()))
            self.reconnects += 1
            self._session = self.dialect.connect(self.transport, self.options)
            try:
                info = self._session.identify()
                break
            except LinkError:
                if time.monotonic() >= deadline:
                    raise  # the link keeps dropping: give up after reconnect_s
        if old is not None and info.serial != old.serial:
            self.transport.close()
            self._session = None
            raise NotAnAnalyzerError(
                f"{self.url!r} came back as a different device (serial {info.serial}, "
                f"expected {old.serial})")
        self._info = info
        self._restore()

    def _restore(self) -> None:
        if self._config is not None and self._session is not None:
            self._session.configure(self._config)
        if self._session is not None:
            setattr(self._session, "boot_changed", False)  # noqa: B010 - dialect-specific flag

    def _run(self, op: Callable[[DialectSession], T], *, attempts: int = 8) -> T:
        """Run ``op`` on the session; on a lost link reconnect, restore, and run it again."""
        with self._lock:
            for i in range(attempts):
                session = self._require()
                try:
                    result = op(session)
                    if getattr(session, "boot_changed", False):
                        self._restore()
                    return result
                except PortBusyError:
                    raise
                except LinkError:
                    if i == attempts - 1:
                        raise
                    self._reconnect()
            raise AssertionError("unreachable")

    # -- identity and state -----------------------------------------------------------------
    def identify(self, *, refresh: bool = False) -> DeviceInfo:
        """Make, model, serial, firmware, protocol version and capabilities."""
        if refresh or self._info is None:
            self._info = self._run(lambda s: s.identify())
        return self._info

    def status(self) -> DeviceStatus:
        """Ready/acquiring, battery, detector temperature, interlock, last scan."""
        return self._run(lambda s: s.status())

    @property
    def configuration(self) -> Configuration:
        """The settings acquisitions use (restored after reconnects and reboots)."""
        if self._config is None:
            raise LinkError(f"{self.url!r} is not open")
        return self._config

    def technique_caps(self, technique: str | None = None) -> TechniqueCaps:
        """Capabilities of ``technique`` (default: the configured one).

        Raises
        ------
        NotSupportedError
            The device does not offer it.
        """
        name = technique or self.configuration.technique
        caps = self.identify().capabilities
        try:
            return caps.technique(name)
        except KeyError:
            raise NotSupportedError(
                f"{self.identify().model} does not offer {name!r} "
                f"(offers: {', '.join(caps.technique_names)})") from None

    def _merged(self, technique: str | None, integration_ms: float | None,
                accumulations: int | None, laser_power_mw: float | None) -> Configuration:
        base = self.configuration
        tech = technique or base.technique
        tcaps = self.technique_caps(tech)
        if tech != base.technique and laser_power_mw is None:
            laser_power_mw = (tcaps.laser_power_mw.min + tcaps.laser_power_mw.max) / 2 \
                if tcaps.laser_power_mw else 0.0
        if tech != base.technique and integration_ms is None:
            integration_ms = max(tcaps.integration_ms.min, min(1000.0, tcaps.integration_ms.max))
        return Configuration(
            technique=tech,  # type: ignore[arg-type]
            integration_ms=base.integration_ms if integration_ms is None else integration_ms,
            accumulations=base.accumulations if accumulations is None else accumulations,
            laser_power_mw=base.laser_power_mw if laser_power_mw is None else laser_power_mw)

    def configure(self, *, technique: str | None = None, integration_ms: float | None = None,
                  accumulations: int | None = None,
                  laser_power_mw: float | None = None) -> Configuration:
        """Change settings; unspecified ones keep their value.

        Raises
        ------
        DeviceRefusedError
            The device refused (``OUT_OF_RANGE``, ``UNSUPPORTED``...): nothing changed.
        NotSupportedError
            The technique is not offered.
        """
        with self._lock:
            cfg = self._merged(technique, integration_ms, accumulations, laser_power_mw)
            self._run(lambda s: s.configure(cfg))
            self._config = cfg
            return cfg

    # -- scans ------------------------------------------------------------------------------
    def scan_timeout(self, config: Configuration, expected_ms: int | None = None) -> float:
        """How long a scan with ``config`` may take before it is declared stuck.

        ``expected_ms`` is the device's own estimate (from its ticket); it may lengthen the
        timeout up to :data:`DECLARED_SCAN_FACTOR` x the nominal time + ``DECLARED_SCAN_SLACK_MS``.

        Raises
        ------
        DeclaredSizeError
            The device declared a longer scan than that (a ticket of up to 49 days fits its
            32-bit field): refused rather than waited for.
        """
        tcaps = self.technique_caps(config.technique)
        nominal = config.accumulations * (config.integration_ms + tcaps.readout_ms) / 1000.0
        if expected_ms is not None:
            limit = int(DECLARED_SCAN_FACTOR * nominal * 1000.0 + DECLARED_SCAN_SLACK_MS)
            if expected_ms > limit:
                raise DeclaredSizeError(
                    "scan", expected_ms, limit, unit="ms",
                    reason=f"{DECLARED_SCAN_FACTOR} x the nominal {1000 * nominal:g} ms of "
                           f"these settings + {DECLARED_SCAN_SLACK_MS:,} ms")
            nominal = max(nominal, expected_ms / 1000.0)
        return 1.25 * nominal + 2.0 + 4 * self.options.latency_s

    def _scan(self, kind: ScanKindName, cfg: Configuration,
              progress: Callable[[int, int], None] | None) -> RawScan:
        with self._lock:
            self._cancel.clear()
            ticket: Ticket | None = None
            for _ in range(3):
                try:
                    if ticket is None:
                        ticket = self._run(lambda s: s.start_scan(kind, cfg))
                        if progress is not None:
                            progress(0, cfg.accumulations)  # the device has started it
                    tk = ticket
                    timeout = self.scan_timeout(cfg, tk.expected_ms)
                    self._run(lambda s, tk=tk, timeout=timeout: s.wait_scan(  # type: ignore[misc]
                        tk, timeout, progress, self._cancel.is_set))
                    raw: RawScan = self._run(
                        lambda s, tk=tk: s.fetch_scan(tk.scan_id))  # type: ignore[misc]
                    return raw
                except ScanLostError:
                    ticket = None  # the device rebooted: its scan is gone; start again
                    self.rescans += 1
                    self._restore()
            raise AnalyzerTimeoutError(f"{kind} scan lost three times (device rebooting?)",
                                       timeout_s=self.scan_timeout(cfg))

    def _to_spectrum(self, raw: RawScan, title: str = "") -> Spectrum:
        h = raw.header
        info = self.identify()
        x = np.polynomial.polynomial.polyval(np.arange(h.n, dtype=np.float64),
                                             np.asarray(h.axis.coefficients))
        technique = spectra_technique(h.technique)
        acq = Acquisition(instrument_make=info.make, instrument_model=info.model,
                          instrument_serial=info.serial, firmware=info.firmware,
                          integration_time_ms=h.integration_ms, accumulations=h.accumulations,
                          laser_power_mw=h.laser_power_mw, acquired_at=h.acquired_at)
        params: dict[str, Any] = {
            "kind": h.kind, "source": h.source, "scan_id": h.scan_id,
            "protocol": info.protocol + f"/{info.protocol_version}",
            "axis_coefficients": list(h.axis.coefficients),
            "detector_temp_c": h.detector_temp_c, "saturated_pixels": h.saturated_pixels,
        }
        extra = {k: str(v) for k, v in h.extra.items()}
        extra.update({"scan_id": str(h.scan_id), "scan_kind": h.kind, "scan_source": h.source,
                      "saturated_pixels": str(h.saturated_pixels), "port": self.url})
        spectrum = Spectrum(x, raw.values, x_unit=h.x_unit, y_unit=h.y_unit,
                            technique=technique, excitation_nm=h.excitation_nm,
                            acquisition=acq,
                            provenance=[ProvenanceStep(step="acquire", params=params,
                                                       software=SOFTWARE)],
                            title=title or str(h.extra.get("sample_id", "")) or
                            f"{info.model} scan {h.scan_id}",
                            source=f"{self.url}#scan{h.scan_id}", extra=extra)
        # a spectrometer calibrated in wavelength (OBP): Raman spectra are searched by shift;
        # the conversion is a recorded provenance step, the counts are not touched
        if technique is spectra.Technique.RAMAN:
            spectrum = spectrum.to_raman_shift()
        return spectrum

    def acquire(self, *, technique: str | None = None, integration_ms: float | None = None,
                accumulations: int | None = None, laser_power_mw: float | None = None,
                progress: Callable[[int, int], None] | None = None,
                title: str = "") -> Spectrum:
        """Measure the sample: one :class:`spectra.Spectrum` with metadata and provenance.

        Settings given here apply to this scan only; the others come from
        :attr:`configuration`. ``progress(done, total)`` is called with ``done=0`` once the
        device has accepted the scan, then per accumulation.

        Raises
        ------
        DeviceRefusedError
            Out of range, interlock open, background required (FTIR)...
        AcquisitionAbortedError
            :meth:`abort` was called, or the scan was aborted on the device.
        AnalyzerTimeoutError
            The scan did not finish within :meth:`scan_timeout`.
        """
        cfg = self._merged(technique, integration_ms, accumulations, laser_power_mw)
        return self._to_spectrum(self._scan("sample", cfg, progress), title)

    def dark(self, **settings: Any) -> Spectrum:
        """A Raman dark scan (laser off) with the same settings as :meth:`acquire`."""
        cfg = self._merged(settings.get("technique"), settings.get("integration_ms"),
                           settings.get("accumulations"), settings.get("laser_power_mw"))
        return self._to_spectrum(self._scan("dark", cfg, None), "dark")

    def background(self, **settings: Any) -> Spectrum:
        """An FTIR background (clean crystal); needed before FTIR sample scans."""
        cfg = self._merged(settings.get("technique", "ftir"), settings.get("integration_ms"),
                           settings.get("accumulations"), None)
        return self._to_spectrum(self._scan("background", cfg, None), "background")

    def self_test(self, technique: str | None = None) -> tuple[SelfTestReport, Spectrum]:
        """Measure the built-in polystyrene standard and check its peak positions.

        Returns
        -------
        (SelfTestReport, Spectrum)
            The device's verdict (``passed``, each peak expected/found) and the spectrum.
        """
        cfg = self._merged(technique, None, None, None)
        raw = self._scan("self-test", cfg, None)
        if raw.header.self_test is None:
            raise AnalyzerError("self-test scan came back without a report")
        return raw.header.self_test, self._to_spectrum(raw, "self-test polystyrene")

    def abort(self) -> None:
        """Abort the running scan.

        Safe to call from another thread while :meth:`acquire` waits: the waiting thread
        sends the ABORT itself and raises :class:`AcquisitionAbortedError`.
        """
        self._cancel.set()
        if not self._lock.acquire(timeout=0.0):
            return  # a scan is being waited for: its thread aborts it
        try:
            self._run(lambda s: s.abort())
        finally:
            self._lock.release()

    # -- trigger button ---------------------------------------------------------------------
    def triggers(self, *, timeout_s: float | None = None, poll_s: float = 1.0,
                 stop: threading.Event | None = None,
                 on_started: Callable[[ScanStarted], None] | None = None,
                 after_scan_id: int | None = None) -> Iterator[Spectrum]:
        """Spectra of scans started by the device's trigger button (or pushed by it).

        Yields each as it completes; stops after ``timeout_s`` without one (forever when
        ``None``) or once ``stop`` is set. Completion events lost on the line are caught by
        polling STATUS every ``poll_s``. ``on_started`` is told when the device reports that
        a trigger scan began (a started event lost on the line is not replayed).
        Scans numbered up to ``after_scan_id`` are skipped (default: the device's last scan
        when the iteration starts), and so is a scan an earlier iteration already yielded on
        this connection and boot (its completion event may still be queued).
        """
        seen: set[int] = set()
        if after_scan_id is None:
            with self._lock:
                after_scan_id = self.status().last_scan_id
        last_seen = after_scan_id
        idle_until = None if timeout_s is None else time.monotonic() + timeout_s
        while idle_until is None or time.monotonic() < idle_until:
            if stop is not None and stop.is_set():
                return
            with self._lock:
                session = self._require()
                try:
                    ev = session.next_event(poll_s)
                    if isinstance(ev, LowBattery):
                        continue
                    if isinstance(ev, ScanStarted):
                        if ev.source == "button" and on_started is not None:
                            on_started(ev)
                        continue
                    sid: int | None = None
                    if isinstance(ev, ScanComplete) and ev.source == "button" and ev.error == 0:
                        sid = ev.scan_id
                    elif ev is None:
                        st = session.status()
                        if st.last_scan_source == "button" and st.last_scan_id > last_seen \
                                and st.state == "ready":
                            sid = st.last_scan_id
                    if sid is None or sid in seen or self._was_delivered(session, sid):
                        continue
                    seen.add(sid)
                    last_seen = max(last_seen, sid)
                    raw = self._run(lambda s: s.fetch_scan(sid))  # noqa: B023
                    self._delivered = (self.reconnects, self._require().boot_id, sid)
                except LinkError:
                    self._reconnect()
                    continue
                except ScanLostError:
                    continue
            spectrum = self._to_spectrum(raw)
            if idle_until is not None:
                idle_until = time.monotonic() + (timeout_s or 0.0)
            yield spectrum

    def _was_delivered(self, session: DialectSession, scan_id: int) -> bool:
        """Whether a previous :meth:`triggers` iteration handed out ``scan_id`` of this boot
        (scan ids start again after a reconnect or a reboot: those are new scans; a boot id
        not yet learnt, e.g. before the first STATUS, is taken as the same boot)."""
        d = self._delivered
        if d is None or d[0] != self.reconnects or scan_id > d[2]:
            return False
        return d[1] is None or session.boot_id is None or d[1] == session.boot_id

    def on_trigger(self, callback: Callable[[Spectrum], None]) -> Callable[[], None]:
        """Call ``callback(spectrum)`` from a background thread for every trigger scan.

        Every trigger scan that starts after this call returns is delivered.

        Returns
        -------
        callable
            Call it to stop listening (returns once the thread has ended).
        """
        stop = threading.Event()
        with self._lock:
            baseline = self.status().last_scan_id

        def listen() -> None:
            it = self.triggers(timeout_s=None, poll_s=0.25, stop=stop, after_scan_id=baseline)
            while not stop.is_set():
                try:
                    spectrum = next(it)
                except (StopIteration, AnalyzerError):
                    return
                callback(spectrum)

        def stopper() -> None:
            stop.set()
            thread.join(timeout=5.0)

        thread = threading.Thread(target=listen, name="analyzer-triggers", daemon=True)
        thread.start()
        return stopper

    def next_event(self, timeout_s: float = 0.0) -> Event | None:
        """The next unsolicited event (scan started/progress/complete, low battery, booted).

        Events that :meth:`triggers` or :meth:`acquire` consume are not seen here.
        """
        return self._run(lambda s: s.next_event(timeout_s))

    @property
    def stats(self) -> dict[str, int]:
        """Link counters (resends, NACKs, damaged frames...) of the current session."""
        return dict(getattr(self._session, "stats", {}))


def saturated_pixels(spectrum: Spectrum) -> int:
    """Pixels at the detector's full scale when ``spectrum`` was acquired: the count the
    device reported, as the int the :class:`Analyzer` recorded in the spectrum's ``acquire``
    step (0 for a spectrum no Analyzer acquired). The text copy in ``spectrum.extra`` is for
    people reading a stored spectrum, not for decisions.
    """
    for step in spectrum.provenance:
        if step.step == "acquire":
            value = step.params.get("saturated_pixels")
            return value if isinstance(value, int) and not isinstance(value, bool) else 0
    return 0


__all__ = ["Analyzer", "saturated_pixels"]
