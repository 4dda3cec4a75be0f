"""Scanning one parcel: connect, self-test when due, acquire, identify, record, tell the officer.

The pieces here are shared by ``interdict scan`` (one parcel, host-started scan) and
``interdict watch`` (trigger-button scans): :class:`StationSession` holds the open store,
library and analyzer; :meth:`StationSession.record` is the one place where a spectrum becomes
evidence (one store transaction: raw spectrum, inspection, result, hold move, audit events).

Nothing here chooses an exit code or prints an error: what cannot go on raises a
:mod:`station.errors` error (or the other packages' own typed error: an unknown parcel is
:class:`parcels.errors.ParcelNotFoundError`); the commands turn them into words and codes.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO

from matcher.results import FusedIdentification, Identification
from station._terminal import shown
from station.config import StationConfig
from station.errors import (
    DeviceError,
    EvidenceStoreMissingError,
    LibraryUnavailableError,
    ParcelStateError,
    ScanInterruptedError,
    SelfTestFailedError,
    StationError,
    UsageError,
)
from station.workflows.display import Progress, advice, show_outcome

if TYPE_CHECKING:
    from driver.analyzer import Analyzer
    from driver.capabilities import TechniqueCaps
    from matcher.batch import Identifiers
    from matcher.library import Library, LibrarySet
    from matcher.verdict import Thresholds
    from parcels.records import DeviceIdentity, Inspection
    from parcels.signing import StationKey
    from parcels.store.base import NewOriginal, Store
    from spectra import Spectrum, Technique

MAX_EXPOSURE_TRIES = 4
"""Auto-exposure: how many times a saturated Raman scan is retried with half the time."""


def shorter_exposure(saturated: int, integration_ms: float, caps: TechniqueCaps) -> float | None:
    """Auto-exposure's one rule (host-started scans and trigger scans alike): after a scan
    with saturated pixels, half the integration time, but not below the device's shortest.

    Returns
    -------
    float or None
        The next integration time (ms); None when nothing saturated or the time is already
        the shortest the device allows.
    """
    if saturated <= 0:
        return None
    shorter = max(caps.integration_ms.min, integration_ms / 2)
    return shorter if shorter < integration_ms else None
FIRST_INTEGRATION_MS = 500.0
"""Auto-exposure: the first Raman integration time tried (capped by the device's limits)."""
ACCUMULATIONS = 2
"""Raman accumulations per scan (host-started and trigger scans)."""


class Stop:
    """SIGINT/SIGTERM as a flag the workflows poll (no exception thrown into driver code).

    The first signal asks to stop (finish what can be finished, abandon what cannot); the
    second asks to stop at once.
    """

    def __init__(self) -> None:
        self.event = threading.Event()
        self.count = 0
        self.signal_name = ""

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.count += 1
        self.signal_name = signal.Signals(signum).name
        self.event.set()

    @property
    def requested(self) -> bool:
        """Whether a stop was asked for."""
        return self.event.is_set()

    @contextmanager
    def installed(self) -> Iterator[Stop]:
        """Install the handlers for the duration (restoring the previous ones)."""
        if threading.current_thread() is not threading.main_thread():
            yield self
            return
        old = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
        for s in old:
            signal.signal(s, self._handler)
        try:
            yield self
        finally:
            for s, h in old.items():
                signal.signal(s, h)


@dataclass
class ScanOutcome:
    """What one recorded scan produced."""

    item_id: str
    inspections: list[Inspection]
    identification: Identification | FusedIdentification
    technique: str
    exposure_notes: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        """A JSON-ready summary (for ``--json``)."""
        ident = self.identification
        return {
            "item_id": self.item_id, "technique": self.technique,
            "verdict": ident.verdict.value, "alert": ident.alert,
            "alert_substances": list(ident.alert_substances), "confidence": ident.confidence,
            "reason": ident.reason,
            "synthetic_used": any(i.synthetic_used for i in ident.parts),
            "inspections": [i.inspection_id for i in self.inspections],
            "spectrum_hashes": [i.spectrum_hash for i in self.inspections],
            "next_step": advice(ident),
            "identification": json.loads(ident.model_dump_json()),
        }


def _say(out: TextIO, text: str) -> None:
    out.write(shown(text) + "\n")  # device strings, names, messages: escaped, one line
    out.flush()


class SelfTestLog:
    """When each device last passed its self-test (a small JSON file next to the database)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _read(self) -> dict[str, str]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def last_pass(self, device_key: str) -> datetime | None:
        """The last passed self-test of ``device_key``, if any."""
        text = self._read().get(device_key)
        try:
            return datetime.fromisoformat(text) if text else None
        except ValueError:
            return None

    def record_pass(self, device_key: str, at: datetime) -> None:
        """Remember a passed self-test (atomically)."""
        from station._files import write_atomically

        data = self._read()
        data[device_key] = at.isoformat()
        write_atomically(self.path, json.dumps(data, indent=1, sort_keys=True))


class StationSession:
    """An open evidence store, library and analyzer, configured for one station.

    Parameters
    ----------
    cfg
        The station configuration (database, library, device, operator, station...).
    out
        Where the officer reads (stdout); progress goes to ``err``.
    clock
        Returns the current time (UTC): what the store records and when a self-test is due.
        The wall clock by default.
    """

    def __init__(self, cfg: StationConfig, *, out: TextIO | None = None,
                 err: TextIO | None = None, stop: Stop | None = None,
                 clock: Callable[[], datetime] | None = None) -> None:
        self.cfg = cfg
        self.clock: Callable[[], datetime] = clock or (lambda: datetime.now(UTC))
        self.out = out or sys.stdout
        self.err = err or sys.stderr
        self.stop = stop or Stop()
        self.store: Store | None = None
        self.libs: LibrarySet | None = None
        self.identifiers: Identifiers | None = None
        """One identifier per part of :attr:`libs`, each set up on first use and reused by
        every later scan, trigger and re-identification of this session."""
        self.dev: Analyzer | None = None
        self.simulated = False
        self.place_sample: Callable[[str], None] | None = None
        """With a simulated analyzer (and only then): put a parcel's scenario sample under
        the laser (:func:`station.workflows.rehearsal.sample_placer`); None otherwise."""
        self.selftests = SelfTestLog(cfg.data_folder / "selftest.json")

    # -- opening ---------------------------------------------------------------------------
    def open_store(self) -> Store:
        """Open the evidence database (it must exist: import the AED batch first)."""
        from parcels.store import open_store

        db = self.cfg.db_file
        if not db.is_file():
            raise EvidenceStoreMissingError(f"no evidence database at {db}")
        self.store = open_store(db, create=False, signer=self.station_key(),
                                clock=self.clock)
        return self.store

    def station_key(self) -> StationKey:
        """The station's signing key (created on first use, see ``key`` in the config).

        Raises
        ------
        parcels.signing.SigningKeyError, OSError
            The key file cannot be read, is not a key, or others can read it.
        """
        from parcels.signing import StationKey

        return StationKey.load_or_create(self.cfg.key)

    def open_library(self) -> LibrarySet:
        """Open the configured library (or build the embedded default)."""
        from matcher.batch import Identifiers
        from matcher.library import LibraryError
        from station.workflows.library import load_libraries

        try:
            self.libs = load_libraries(self.cfg)
        except (LibraryError, OSError, ValueError) as exc:  # ReferenceIndexError is a ValueError
            where = self.cfg.library or "the embedded default library"
            raise LibraryUnavailableError(f"cannot open {where}: {exc}") from exc
        self.identifiers = Identifiers(self.libs, self.thresholds, matcher=self.cfg.matcher)
        return self.libs

    def connect(self) -> Analyzer:
        """Connect to the analyzer at the configured URL."""
        from driver.analyzer import Analyzer
        from driver.errors import AnalyzerError

        if not self.cfg.device:
            raise DeviceError("no analyzer named",
                              hint="give --device URL (or INTERDICT_DEVICE, or device = ... "
                                   "in the station file); interdict devices lists the ports")
        from station.workflows.dialect import resolve_dialect

        dialect = resolve_dialect(self.cfg.device, self.cfg.dialect.value)
        dev = Analyzer(self.cfg.device, dialect=dialect)
        try:
            dev.open()
            info = dev.identify()
            if "raman" in info.capabilities.technique_names:
                self._configure_raman(dev)
        except (AnalyzerError, OSError) as exc:
            dev.close()  # never keep a half-opened port (it stays locked)
            raise DeviceError(f"cannot connect to the analyzer at {self.cfg.device} in "
                              f"dialect {dialect.name}: {exc}",
                              hint="check the cable, the URL and the dialect (--dialect auto "
                                   "probes each); interdict devices lists the serial ports "
                                   "and probes them") from exc
        self.dev = dev
        self.simulated = info.simulated
        if info.simulated:
            from station.workflows.rehearsal import sample_placer

            self.place_sample = sample_placer(dev, self.err)
        _say(self.out, f"analyzer: {info.make} {info.model} serial {info.serial} firmware "
                       f"{info.firmware}" + (" (SIMULATED)" if info.simulated else ""))
        return dev

    @staticmethod
    def _configure_raman(dev: Analyzer, wait_busy_s: float = 15.0) -> None:
        """Set the station's Raman settings; waits while the device is busy (a trigger scan)."""
        from driver.errors import DeviceBusyError

        caps = dev.technique_caps("raman")
        integ = max(caps.integration_ms.min, min(FIRST_INTEGRATION_MS, caps.integration_ms.max))
        acc = int(max(caps.accumulations.min, min(ACCUMULATIONS, caps.accumulations.max)))
        end = time.monotonic() + wait_busy_s
        while True:
            try:
                dev.configure(technique="raman", integration_ms=integ, accumulations=acc)
                return
            except DeviceBusyError:
                if time.monotonic() > end:
                    raise
                time.sleep(0.2)

    def check_capabilities(self, technique: str) -> None:
        """Refuse, before anything is acquired, a technique the analyzer does not offer.

        Parameters
        ----------
        technique
            ``raman``, ``ftir`` or ``both``.

        Raises
        ------
        DeviceError
            Naming what the analyzer offers.
        """
        assert self.dev is not None
        offered = self.dev.identify().capabilities.technique_names
        needed = ["raman", "ftir"] if technique == "both" else [technique]
        missing = [t for t in needed if t not in offered]
        if missing:
            info = self.dev.identify()
            what = " and ".join(t.upper() if t == "ftir" else t.capitalize() for t in needed)
            raise DeviceError(
                f"the analyzer {info.make} {info.model} offers {', '.join(offered)} only; "
                f"--technique {technique} needs {what}; nothing was acquired",
                hint=f"scan with --technique {offered[0]}, or connect an analyzer that "
                     f"offers {' and '.join(missing)}")

    def close(self) -> None:
        """Close everything that was opened (idempotent)."""
        if self.dev is not None:
            self.dev.close()
            self.dev = None
        if self.store is not None:
            self.store.close()
            self.store = None

    # -- device checks ---------------------------------------------------------------------
    def _device_key(self) -> str:
        assert self.dev is not None
        info = self.dev.identify()
        return f"{info.make}/{info.model}/{info.serial}"

    def self_test_if_due(self, mode: str, technique: str) -> None:
        """Run the self-test against the reference standard when due (or always/never).

        Raises
        ------
        SelfTestFailedError
            The self-test failed: the device must not be used for evidence.
        DeviceError
            The self-test could not run.
        """
        from driver.errors import AnalyzerError, NotSupportedError

        assert self.dev is not None
        if mode == "never":
            _say(self.out, "self-test: skipped (--self-test never)")
            return
        key = self._device_key()
        last = self.selftests.last_pass(key)
        now = self.clock()
        age_h = None if last is None else (now - last).total_seconds() / 3600.0
        if mode == "auto" and age_h is not None and age_h < self.cfg.self_test_hours:
            _say(self.out, f"self-test: passed {age_h:.1f} h ago (due every "
                           f"{self.cfg.self_test_hours:g} h)")
            return
        try:
            report, _ = self.dev.self_test(technique)
        except NotSupportedError:
            _say(self.out, f"self-test: this analyzer has no {technique} self-test standard")
            return
        except AnalyzerError as exc:
            raise DeviceError(f"self-test could not run: {exc}") from exc
        peaks = ", ".join(
            f"{p.expected:g}→{'none' if p.found is None else f'{p.found:.1f}'}"
            + ("" if p.ok else " FAIL") for p in report.peaks)
        if not report.passed:
            raise SelfTestFailedError(
                f"SELF-TEST FAILED on {report.standard} ({peaks}): the analyzer is out of "
                "calibration; do not use it for evidence")
        self.selftests.record_pass(key, now)
        _say(self.out, f"self-test: PASSED on {report.standard} ({peaks})")

    def present(self, item_id: str) -> None:
        """The parcel is under the probe: with a simulated analyzer, its scenario sample is
        put under the laser (:attr:`place_sample`); with a real one nothing is sent."""
        if self.place_sample is not None:
            self.place_sample(item_id)

    # -- acquisition -----------------------------------------------------------------------
    def _acquire_once(self, label: str, technique: str, **settings: Any) -> Spectrum:
        """One acquisition in a worker thread, so a stop request can abort it cleanly."""
        from driver.errors import AcquisitionAbortedError, AnalyzerError

        dev = self.dev
        assert dev is not None
        progress = Progress(label, self.err)
        box: dict[str, Any] = {}

        def work() -> None:
            try:
                box["spectrum"] = dev.acquire(
                    technique=technique, progress=lambda d, n: progress(d / max(n, 1)),
                    **settings)
            except BaseException as exc:  # re-raised in the caller's thread
                box["error"] = exc

        worker = threading.Thread(target=work, name="acquire", daemon=True)
        worker.start()
        aborted = False
        while worker.is_alive():
            worker.join(0.05)
            if self.stop.requested and not aborted:
                _say(self.err, "")  # end the progress line
                _say(self.err, f"{self.stop.signal_name or 'stop'}: aborting the "
                               "acquisition in progress; nothing of it will be stored")
                dev.abort()
                aborted = True
        if aborted or isinstance(box.get("error"), AcquisitionAbortedError):
            raise ScanInterruptedError("acquisition aborted; nothing was stored")
        err = box.get("error")
        if isinstance(err, AnalyzerError):
            raise DeviceError(f"acquisition failed: {err}") from err
        if err is not None:
            raise err
        spectrum: Spectrum = box["spectrum"]
        progress(1.0, "done")
        return spectrum

    def acquire(self, technique: str, notes: list[str]) -> Spectrum:
        """Acquire one spectrum; Raman uses auto-exposure against detector saturation."""
        from driver.analyzer import saturated_pixels

        assert self.dev is not None
        if technique == "ftir":
            _say(self.err, "  FTIR: measuring the background (clean crystal) first")
            self._acquire_background()
            return self._acquire_once("FTIR sample", "ftir")
        caps = self.dev.technique_caps("raman")
        integ = min(FIRST_INTEGRATION_MS, caps.integration_ms.max)
        integ = max(integ, caps.integration_ms.min)
        spectrum = self._acquire_once("Raman", "raman", integration_ms=integ)
        for _ in range(MAX_EXPOSURE_TRIES - 1):
            saturated = saturated_pixels(spectrum)
            shorter = shorter_exposure(saturated, integ, caps)
            if shorter is None:
                break
            integ = shorter
            notes.append(f"{saturated} saturated pixel(s): re-acquired at {integ:g} ms")
            _say(self.err, f"  detector saturated ({saturated} px): again at {integ:g} ms")
            spectrum = self._acquire_once("Raman", "raman", integration_ms=integ)
        return spectrum

    def _acquire_background(self) -> None:
        from driver.errors import AnalyzerError

        assert self.dev is not None
        try:
            self.dev.background()
        except AnalyzerError as exc:
            raise DeviceError(f"FTIR background failed: {exc}") from exc

    # -- identification and evidence -------------------------------------------------------
    def library_for(self, technique: Technique) -> Library:
        """The library part for spectra of ``technique``."""
        from matcher.library import LibraryError

        assert self.libs is not None
        try:
            return self.libs.select(technique)
        except LibraryError as exc:
            raise StationError(f"library: {exc}",
                               hint="give a --library with a part for this technique") from exc

    def thresholds(self, technique: str | None = None) -> Thresholds:
        """The matcher's defaults for the technique with the configured ones applied.

        Raises
        ------
        ConfigError
            An unknown threshold name or a value the matcher refuses.
        """
        from station.config import thresholds_for

        return thresholds_for(self.cfg, technique)

    def identify(self, spectrum: Spectrum) -> Identification:
        """Identify against the configured library part for the spectrum's technique, with
        the configured thresholds and matcher, by the part's identifier (:attr:`identifiers`:
        set up once per part)."""
        from matcher.library import LibraryError
        from spectra import SpectraError

        lib = self.library_for(spectrum.technique)
        assert self.identifiers is not None
        try:
            return self.identifiers.get(lib.id).identify(spectrum)
        except (SpectraError, LibraryError, ValueError) as exc:
            raise StationError(f"identification failed: {exc}") from exc

    def ensure_in_hand(self, item_id: str) -> str:
        """Validate the id, check the parcel is known; a requested hold becomes ``held``.

        Returns
        -------
        str
            The normalised item id.

        Raises
        ------
        parcels.errors.InvalidItemIdError, parcels.errors.ParcelNotFoundError
            From the store.
        ParcelStateError
            The parcel is not in hand (released, seized, referred, not found).
        """
        from parcels.records import HoldState
        from parcels.s10 import validate_item_id

        assert self.store is not None
        item = validate_item_id(item_id)
        pf = self.store.get_parcel(item)
        state = pf.hold.state if pf.hold else None
        if state is HoldState.REQUESTED:
            self.store.transition(item, HoldState.HELD, actor=self.operator,
                                  note=f"in hand at station {self.cfg.station} for scanning")
            by = pf.hold.requested_by if pf.hold else ""
            _say(self.out, f"parcel {item}: hold requested by {by} — marked HELD (in hand)")
        elif state in (None, HoldState.HELD, HoldState.INSPECTED):
            _say(self.out, f"parcel {item}: "
                           + ("no hold" if state is None else f"hold {state.value}")
                           + f", {len(pf.inspections)} earlier inspection(s)")
        else:
            assert state is not None
            raise ParcelStateError(f"parcel {item} is not in hand (hold {state.value}); "
                                   "it cannot be inspected now")
        return item

    @property
    def operator(self) -> str:
        """Who acts (the configuration's operator, else the login name; see
        :func:`station.config.load_config`)."""
        if not self.cfg.operator:
            raise UsageError("who is acting? no operator is configured and there is no "
                             "login name", hint="give --operator NAME (or INTERDICT_OPERATOR)")
        return self.cfg.operator

    def record(self, item_id: str, spectrum: Spectrum, ident: Identification, *,
               device: DeviceIdentity | None = None,
               original: NewOriginal | None = None) -> Inspection:
        """Store one inspection (one transaction, signals deferred until it is done).

        Parameters
        ----------
        device
            The analyzer that measured; default: the connected one, as it identifies itself.
            An ingested export names its own (:func:`station.workflows.ingest.device_of`).
        original
            The file the spectrum was read from (an ingested export), kept byte for byte
            with its SHA-256 in the same transaction.

        Raises
        ------
        parcels.errors.ParcelsError
            From the store (an illegal hold move is its IllegalTransitionError; a file
            already stored, its DuplicateOriginalError).
        """
        from parcels.records import DeviceIdentity

        assert self.store is not None
        if device is None:
            assert self.dev is not None
            info = self.dev.identify()
            device = DeviceIdentity(make=info.make, model=info.model, serial=info.serial,
                                    firmware=info.firmware)
        return self.store.add_inspection(
            item_id, spectrum, ident, operator=self.operator, station=self.cfg.station,
            device=device, original=original)

    def scan_and_record(self, item_id: str, technique: str) -> ScanOutcome:
        """Acquire (one or both techniques), identify, record, and return the outcome."""
        from matcher.identify import fuse

        if self.stop.requested:
            raise ScanInterruptedError(f"{self.stop.signal_name or 'stop'} before the "
                                       "acquisition: nothing was measured or stored")
        techniques = ["raman", "ftir"] if technique == "both" else [technique]
        self.check_capabilities(technique)
        self.present(item_id)
        pairs: list[tuple[Spectrum, Identification]] = []
        notes: list[str] = []
        for tech in techniques:
            spectrum = self.acquire(tech, notes)
            pairs.append((spectrum, self.identify(spectrum)))
        # the spectra are in hand: finish and record even if a stop arrives now
        inspections = [self.record(item_id, s, i) for s, i in pairs]
        ident: Identification | FusedIdentification = (
            fuse([i for _, i in pairs]) if len(pairs) > 1 else pairs[0][1])
        return ScanOutcome(item_id, inspections, ident, technique, notes)

    def show(self, outcome: ScanOutcome) -> None:
        """Print the verdict block and where the evidence is."""
        show_outcome(self.out, outcome)


def scan_parcel(cfg: StationConfig, item_id: str, *, self_test: str = "auto",
                out: TextIO | None = None,
                connect: Callable[[StationSession], Any] | None = None,
                clock: Callable[[], datetime] | None = None) -> ScanOutcome:
    """``interdict scan``'s work: one parcel connected, checked, acquired, identified and
    recorded; the transcript goes to ``out``, the verdict is left to the caller.

    Everything that can be refused is refused before the analyzer measures: the operator,
    the thresholds, the database, the parcel (in hand), the library, the link, the
    techniques the analyzer offers, then the self-test when due.

    Raises
    ------
    StationError
        :mod:`station.errors`: usage, device, parcel state, interruption...
    parcels.errors.ParcelsError, driver.errors.AnalyzerError, OSError
        From the store, the link or the files, typed.
    """
    stop = Stop()
    session = StationSession(cfg, out=out, stop=stop, clock=clock)
    with stop.installed():
        try:
            _ = session.operator
            session.thresholds()
            session.open_store()
            item = session.ensure_in_hand(item_id)
            session.open_library()
            (connect or StationSession.connect)(session)
            technique = cfg.technique.value
            session.check_capabilities(technique)
            session.self_test_if_due(self_test, "raman" if technique == "both" else technique)
            return session.scan_and_record(item, technique)
        finally:
            session.close()


__all__ = ["ScanOutcome", "SelfTestLog", "StationSession", "Stop", "scan_parcel"]
