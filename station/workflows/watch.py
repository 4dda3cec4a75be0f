"""``interdict watch``: the station service.

One loop, in the main thread, between short waits for the analyzer's trigger scans:

* a line on stdin (keyboard or barcode scanner) names the parcel for the next trigger scan;
* a trigger scan that arrives with no parcel named is kept until one is (``--queue``: the
  next held parcel not yet inspected is taken instead);
* every scan is identified and recorded at once (one store transaction);
* a lost link (unplugged cable) is reported and reconnected, the service keeps running;
* SIGINT/SIGTERM: a spectrum already received is identified and recorded, a scan still being
  acquired on the device is aborted (nothing of it is stored), then the service exits 0.
  A second signal exits at once (nothing half-written: each record is one transaction).
* with a central service configured (``central`` and ``central_token``), a background thread
  syncs every ``sync_every_s`` seconds and soon after each recorded scan
  (:class:`station.workflows.sync.BackgroundSync`); offline, scanning goes on and the records
  wait on the laptop.
"""

from __future__ import annotations

import json
import queue
import sys
import threading
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from parcels.errors import ParcelsError
from station._terminal import shown
from station.config import StationConfig
from station.errors import StationError
from station.workflows.scan import ScanOutcome, StationSession, Stop, shorter_exposure

if TYPE_CHECKING:
    from driver.models import ScanStarted
    from spectra import Spectrum
    from station.workflows.sync import BackgroundSync

RECONNECT_POLL_S = 0.5
SELF_TEST_RETRY_S = 5.0
TRIGGER_WAIT_S = 0.3

REFUSALS = (StationError, ParcelsError)
"""What the service reports and carries on after (a refused id, a scan not recorded); any
other error ends it."""


def _stdin_reader(stream: TextIO, lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line.strip())
    lines.put(None)  # end of input


class Watch:
    """The watch loop's state (see the module notes).

    ``sync_every_s``: seconds between background syncs with central when one is configured
    (0: never).
    """

    def __init__(self, cfg: StationConfig, *, use_queue: bool, max_scans: int | None,
                 as_json: bool, stdin: TextIO | None = None, out: TextIO | None = None,
                 clock: Callable[[], datetime] | None = None,
                 sync_every_s: float = 60.0) -> None:
        self.cfg = cfg
        self.use_queue = use_queue
        self.max_scans = max_scans
        self.as_json = as_json
        self.stdin = stdin if stdin is not None else sys.stdin
        self.out = out or sys.stdout
        self.stop = Stop()
        self.session = StationSession(cfg, out=sys.stderr if as_json else self.out,
                                      stop=self.stop, clock=clock)
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.next_item: str | None = None
        self.pending: list[Spectrum] = []
        self.recorded = 0
        self.connected = False
        self.reconnects = 0
        self.sync_every_s = sync_every_s
        self.sync: BackgroundSync | None = None
        self._out_lock = threading.Lock()

    # -- output ----------------------------------------------------------------------------
    def event(self, kind: str, text: str, **data: Any) -> None:
        """Tell the officer (or a script, with --json); safe from the sync thread."""
        with self._out_lock:
            if self.as_json:
                self.out.write(json.dumps({"event": kind, "message": text, **data}) + "\n")
            else:
                self.out.write(shown(text) + "\n")  # item ids, device messages: escaped
            self.out.flush()

    def _start_sync(self) -> None:
        """The background sync, when a central service is configured."""
        from parcels.store import open_store
        from station.workflows.sync import BackgroundSync, CentralClient

        if not self.cfg.central or self.sync_every_s <= 0:
            return
        try:
            client = CentralClient.for_station(self.cfg)
        except StationError as exc:  # no credential: scanning goes on, unsynced
            self.event("sync-error", f"not syncing: {exc}"
                       + (f" — {exc.hint}" if exc.hint else ""))
            return
        db, signer, clock = self.cfg.db_file, self.session.station_key(), self.session.clock
        self.sync = BackgroundSync(lambda: open_store(db, signer=signer, clock=clock), client,
                                   self.sync_every_s, self.event)
        self.sync.start()

    def close(self) -> None:
        """Stop the background sync (after the sync in progress) and close the session."""
        if self.sync is not None:
            self.sync.stop()
        self.session.close()

    # -- parcel ids ------------------------------------------------------------------------
    def _queue_head(self) -> str | None:
        from parcels.records import HoldState, ParcelQuery

        assert self.session.store is not None
        for state in (HoldState.HELD, HoldState.REQUESTED):
            for p in self.session.store.find(ParcelQuery(hold_state=state, order="received")):
                if p.inspections == 0:
                    return p.item_id
        return None

    def _set_next(self, item_id: str) -> bool:
        try:
            item = self.session.ensure_in_hand(item_id)
        except REFUSALS as exc:
            self.event("refused", f"parcel {item_id!r} refused: {exc}")
            return False
        self.next_item = item
        if self.connected:  # under the probe before the officer is told to press
            self.session.present(item)
        self.event("ready", f"ready: parcel {item} — press the analyzer's trigger", item_id=item)
        return True

    def _poll_stdin(self) -> bool:
        """Handle typed lines; returns False at end of input."""
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return True
            if line is None:
                return False
            if not line:
                continue
            if self._set_next(line) and self.pending:
                self._process(self.pending.pop(0))

    def _choose_item(self) -> str | None:
        if self.next_item is not None:
            item, self.next_item = self.next_item, None
            return item
        if self.use_queue:
            head = self._queue_head()
            if head is not None:
                return self.session.ensure_in_hand(head)
        return None

    def _prime_queue(self) -> None:
        """With --queue and the simulator, put the queue head's sample under the laser."""
        if self.use_queue and self.next_item is None and self.connected:
            head = self._queue_head()
            if head is not None:
                self.session.present(head)

    # -- scans -----------------------------------------------------------------------------
    def _process(self, spectrum: Spectrum) -> None:
        item = self._choose_item()
        if item is None:
            self.pending.append(spectrum)
            self.event("pending", "trigger scan received but no parcel named: type or scan "
                                  "the parcel id to record it")
            return
        try:
            ident = self.session.identify(spectrum)
            insp = self.session.record(item, spectrum, ident)
        except REFUSALS as exc:
            self.event("error", f"scan of {item} NOT recorded: {exc}", item_id=item)
            return
        self.recorded += 1
        if self.sync is not None:
            self.sync.nudge()
        notes = self._adapt_exposure(spectrum)
        outcome = ScanOutcome(item, [insp], ident, insp.technique.value, notes)
        # the next parcel is under the (simulated) probe before the officer is told this one
        # is done: a trigger pressed on "recorded" must measure the next parcel, not this one
        self._prime_queue()
        if self.as_json:
            self.event("recorded", f"{item}: {ident.verdict.value}", **outcome.as_json())
        else:
            self.session.show(outcome)

    def _adapt_exposure(self, spectrum: Spectrum) -> list[str]:
        """A saturated trigger scan halves the integration time of the next ones."""
        from driver.analyzer import saturated_pixels
        from driver.errors import AnalyzerError
        from spectra import Technique

        saturated = saturated_pixels(spectrum)
        dev = self.session.dev
        if saturated == 0 or dev is None or spectrum.technique is not Technique.RAMAN:
            return []
        try:
            cfg = dev.configuration
            caps = dev.technique_caps("raman")
            new = shorter_exposure(saturated, cfg.integration_ms, caps)
            if new is None:
                return [f"{saturated} saturated pixel(s) at the shortest integration time"]
            dev.configure(technique="raman", integration_ms=new)
        except AnalyzerError as exc:
            return [f"{saturated} saturated pixel(s); exposure not changed: {exc}"]
        return [f"{saturated} saturated pixel(s): integration for the next trigger scans "
                f"reduced to {new:g} ms — press the trigger again"]

    def _connect(self) -> bool:
        from driver.errors import AnalyzerError

        try:
            self.session.connect()
        except REFUSALS as exc:
            if self.connected or not hasattr(self, "_said_down"):
                self.event("disconnected", f"analyzer not reachable: {exc}; retrying")
                self._said_down = True
            return False
        except AnalyzerError as exc:  # pragma: no cover - connect wraps these
            self.event("disconnected", f"analyzer: {exc}; retrying")
            return False
        self.connected = True
        self.reconnects = self.session.dev.reconnects if self.session.dev else 0
        if self.next_item:
            self.session.present(self.next_item)
        self._prime_queue()
        self.event("connected", f"analyzer connected on {self.cfg.device}")
        return True

    def _self_test(self) -> bool:
        """Self-test when due; a device that cannot pass it records nothing."""
        try:
            self.session.self_test_if_due("auto", "raman")
        except REFUSALS as exc:
            self._drop_link(f"self-test: {exc}")
            self.stop.event.wait(SELF_TEST_RETRY_S)
            return False
        self.event("armed", "analyzer ready: waiting for the trigger")
        return True

    def _drop_link(self, why: str) -> None:
        self.connected = False
        if self.session.dev is not None:
            self.session.dev.close()
            self.session.dev = None
        self.event("disconnected", f"analyzer link lost ({why}); the scan in flight, if "
                                   "any, is lost on the device — nothing partial was stored; "
                                   "reconnecting")

    def _started(self, ev: ScanStarted) -> None:
        self.event("acquiring", f"trigger pressed: scan {ev.scan_id} acquiring (about "
                                f"{ev.expected_ms / 1000:.1f} s)", scan_id=ev.scan_id)

    def _wait_triggers(self) -> None:
        from driver.errors import AnalyzerError

        dev = self.session.dev
        assert dev is not None
        try:
            for spectrum in dev.triggers(timeout_s=TRIGGER_WAIT_S, poll_s=0.1,
                                         on_started=self._started):
                self._process(spectrum)
                if self.stop.requested:
                    return
        except (AnalyzerError, OSError) as exc:
            self._drop_link(str(exc))
            return
        if dev.reconnects != self.reconnects:
            # the driver re-opened the port by itself (cable back within its grace time)
            self.reconnects = dev.reconnects
            if self.next_item:
                self.session.present(self.next_item)
            self._prime_queue()
            self.event("reconnected", "analyzer link was lost and is back; a scan that was "
                                      "in flight was lost on the device, nothing partial "
                                      "was stored")

    def _abandon_in_flight(self) -> None:
        from driver.errors import AnalyzerError

        dev = self.session.dev
        if dev is None:
            return
        try:
            st = dev.status()
            if st.state == "acquiring":
                dev.abort()
                self.event("abandoned", "a trigger scan was being acquired: aborted on the "
                                        "device; nothing of it was stored")
        except AnalyzerError:
            pass

    def run(self) -> int:
        """The loop, until stopped (signal, end of input with ``--max-scans`` reached);
        returns the number of scans recorded.

        Raises
        ------
        StationError, parcels.errors.ParcelsError
            What stops the service before it starts (no database, no library, bad
            thresholds) or a queue parcel that cannot be taken.
        """
        _ = self.session.operator
        self.session.thresholds()
        self.session.open_store()
        self.session.open_library()
        reader = threading.Thread(target=_stdin_reader, args=(self.stdin, self.lines),
                                  name="stdin", daemon=True)
        reader.start()
        self._start_sync()
        self.event("started", f"watching {self.cfg.device} as {self.session.operator} at "
                              f"{self.cfg.station}; type or scan a parcel id, then press the "
                              "trigger" + (" (queue of held parcels on)" if self.use_queue
                                           else ""))
        stdin_open = True
        with self.stop.installed():
            while not self.stop.requested:
                if stdin_open:
                    stdin_open = self._poll_stdin()
                if self.max_scans is not None and self.recorded >= self.max_scans:
                    break
                if not self.connected and (not self._connect() or not self._self_test()):
                    self.stop.event.wait(RECONNECT_POLL_S)
                    continue
                self._wait_triggers()
            if self.stop.requested:
                self.event("stopping", f"{self.stop.signal_name or 'stop'} received: finishing "
                                       "what has arrived, abandoning what has not")
                if stdin_open:
                    self._poll_stdin()
                self._abandon_in_flight()
                if self.pending:
                    self.event("unassigned", f"{len(self.pending)} trigger scan(s) had no "
                                             "parcel id and were not recorded")
        if self.sync is not None:
            self.sync.stop()
        self.event("stopped", f"stopped: {self.recorded} scan(s) recorded",
                   recorded=self.recorded)
        return self.recorded


__all__ = ["Watch"]
