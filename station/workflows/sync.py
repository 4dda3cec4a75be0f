"""Station ↔ central sync, offline-first: push what is unsent, pull new work.

The station keeps working on its own SQLite store with no network; a sync (``interdict
sync``, or the background loop of ``interdict watch``) then:

1. asks central where its copy of this station's chain ends (``GET /v1/sync/head``) and
   checks the local chain has that very event there (else the local chain was rewritten
   after a sync, or central holds another station's chain under this name: both refused);
2. pushes the rest in order, in runs (``POST /v1/sync/push``), each acknowledged before the
   next: an interrupted sync resumes where central's copy ends, and a retried run changes
   nothing at central;
3. pulls its facility's new AED and hold changes since its cursor (``GET /v1/sync/pull``):
   parcels are imported (idempotent), central's hold moves adopted where the local workflow
   allows them, otherwise reported (never silently dropped).

Failures are the station's errors (:mod:`station.errors`): central unreachable
(:class:`~station.errors.CentralUnreachableError`: nothing is lost, sync again later), central
refused (:class:`~station.errors.CentralRefusedError`, with its status and reason), the local
chain forked from central's copy (:class:`~station.errors.ChainForkError`) or signed by a key
central did not register for the station (:class:`~station.errors.StationKeyRefusedError`).

Standard library only (``urllib``): a station needs no server dependency.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from parcels.holds import TRANSITIONS
from parcels.records import HoldRecord, HoldState
from parcels.store.base import RowStatus, Store
from parcels.sync import HoldConflict, KeyRegistration, PushOutcome, StationHead, WorkBatch
from station.config import StationConfig, central_url
from station.errors import (
    CentralError,
    CentralRefusedError,
    CentralUnreachableError,
    ChainForkError,
    ConfigError,
    StationKeyRefusedError,
)

if TYPE_CHECKING:
    from spectra import Progress

DEFAULT_RUN = 200
"""Events per push (a run with 1,800-point spectra is about 2 MB)."""


class CentralClient:
    """A minimal JSON-over-HTTP client for the central service.

    Parameters
    ----------
    url
        ``http(s)://host:port`` of central.
    token
        The station's bearer token.
    timeout_s
        Per request.
    cafile
        A CA bundle to verify central's certificate with (else the system's).

    Raises
    ------
    ConfigError
        ``url`` is not ``http(s)://host[:port]``.
    """

    def __init__(self, url: str, token: str, *, timeout_s: float = 60.0,
                 cafile: str | None = None) -> None:
        try:
            self.url = central_url(url)
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        self.token = token
        self.timeout_s = timeout_s
        self._context = None
        if cafile:
            import ssl

            self._context = ssl.create_default_context(cafile=cafile)

    @classmethod
    def for_station(cls, cfg: StationConfig, *, cafile: str | None = None) -> CentralClient:
        """The client of a station: ``central`` and ``central_token`` of its configuration.

        Raises
        ------
        ConfigError
            No central, or no credential for it, configured.
        """
        if not cfg.central:
            raise ConfigError("no central service configured",
                              hint="give --central URL, or set central in the station file "
                                   "(or INTERDICT_CENTRAL)")
        if not cfg.central_token:
            raise ConfigError("no credential for central configured",
                              hint="set central_token in the station file (or "
                                   "INTERDICT_CENTRAL_TOKEN); interdict central station add "
                                   "issues one")
        return cls(cfg.central, cfg.central_token, cafile=cafile)

    def request(self, method: str, path: str, *, params: dict[str, Any] | None = None,
                body: bytes | None = None) -> Any:
        """One request; the parsed JSON answer.

        Raises
        ------
        CentralUnreachableError, CentralRefusedError
        """
        url = self.url + path + (f"?{urllib.parse.urlencode(params)}" if params else "")
        req = urllib.request.Request(url, data=body, method=method, headers={
            "Authorization": f"Bearer {self.token}", "Accept": "application/json",
            **({"Content-Type": "application/json"} if body is not None else {})})
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s,
                                        context=self._context) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read() or b"{}")
            except ValueError:
                detail = {}
            msg = detail.get("detail") if isinstance(detail, dict) else None
            raise CentralRefusedError(f"central refused {method} {path}: HTTP {exc.code}: "
                                      f"{msg or exc.reason}", status=exc.code,
                                      detail=detail if isinstance(detail, dict) else {}) from exc
        except (TimeoutError, urllib.error.URLError, ConnectionError, OSError) as exc:
            why = getattr(exc, "reason", exc)
            raise CentralUnreachableError(f"central {self.url} unreachable: {why}") from exc

    def get(self, path: str, **params: Any) -> Any:
        """GET with query parameters."""
        return self.request("GET", path, params=params or None)

    def whoami(self) -> str:
        """The name of the credential this client holds (the station's name at central)."""
        return str(self.get("/v1/whoami")["name"])

    def post(self, path: str, payload: BaseModel) -> Any:
        """POST a model as JSON."""
        return self.request("POST", path, body=payload.model_dump_json().encode("utf-8"))


class SyncReport(BaseModel):
    """What one sync did."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    central: str
    pushed_events: int = 0
    pushed_inspections: int = 0
    head_seq: int = 0
    head_hash: str = ""
    pulled_parcels: int = 0
    new_parcels: int = 0
    holds_adopted: int = 0
    conflicts: list[HoldConflict] = Field(default_factory=list)
    """Moves this station pushed that central did not apply."""
    local_conflicts: list[str] = Field(default_factory=list)
    """Central's moves this station could not adopt, and parcels whose announced content
    differs."""
    notes: list[str] = Field(default_factory=list)
    """What is worth knowing but no conflict (a parcel inspected at another station)."""

    def message(self) -> str:
        """One line for a human."""
        n = len(self.conflicts) + len(self.local_conflicts)
        return (f"synced with {self.central}: pushed {self.pushed_events} event(s) "
                f"({self.pushed_inspections} inspection(s)), central holds this station's "
                f"chain up to #{self.head_seq}; pulled {self.pulled_parcels} parcel(s) "
                f"({self.new_parcels} new), {self.holds_adopted} hold move(s) adopted"
                + (f"; {n} conflict(s) reported" if n else ""))


def _key(url: str) -> str:
    return url.rstrip("/")


def push(store: Store, client: CentralClient, station: str, *, run: int = DEFAULT_RUN,
         progress: Progress | None = None,
         ) -> tuple[int, int, int, str, list[HoldConflict]]:
    """Push every unsent event, run by run.

    ``progress`` is told the inspections pushed of those unsent, after each acknowledged run.

    Returns
    -------
    events, inspections, head_seq, head_hash, conflicts

    Raises
    ------
    ChainForkError
        Central's copy ends on an event this store does not have (found here, or by central).
    StationKeyRefusedError
        Central refused the heads: not signed by the key it registered for this station.
    CentralUnreachableError, CentralRefusedError
        As :meth:`CentralClient.request`.
    """
    head = client.get("/v1/sync/head")
    seq, h = int(head["seq"]), str(head["hash"])
    if seq:
        local = next(store.audit_events(since_seq=seq), None)
        if local is None or local.seq != seq or local.hash != h:
            have = "no such event" if local is None or local.seq != seq else local.hash
            raise ChainForkError(f"central holds this station's chain up to #{seq} ({h}) "
                                 f"but the local store has {have} there: the local chain was "
                                 "rewritten after it was synced, or another station syncs "
                                 "under this name")
    events = inspections = 0
    conflicts: list[HoldConflict] = []
    _, total = store.unsent(after_seq=seq)
    if progress is not None:
        progress(0, total)
    while True:
        batch = store.sync_batch(after_seq=seq, station=station, max_events=run)
        if not batch.events:
            break
        try:
            outcome = PushOutcome.model_validate(client.post("/v1/sync/push", batch))
        except CentralRefusedError as exc:
            reason = exc.detail.get("reason")
            if reason in ("fork", "key", "signature"):  # tamper evidence, not a hiccup
                kind = ChainForkError if reason == "fork" else StationKeyRefusedError
                raise kind(str(exc), status=exc.status, detail=exc.detail) from exc
            raise
        if outcome.head_seq != batch.events[-1].seq:
            raise CentralRefusedError(f"central acknowledged #{outcome.head_seq}, expected "
                                      f"#{batch.events[-1].seq}")
        seq, h = outcome.head_seq, outcome.head_hash
        store.set_sync_state(f"push:{_key(client.url)}", seq, h)
        events += outcome.received
        inspections += len(batch.inspections)
        conflicts.extend(outcome.conflicts)
        if progress is not None:
            progress(inspections, total)
    return events, inspections, seq, h, conflicts


def adopt_hold(store: Store, central: HoldRecord) -> tuple[int, list[str], list[str]]:
    """Bring the local hold of a parcel up to central's, where the local workflow allows.

    Moves already held locally (same state, instant and actor) are skipped; a move the local
    workflow refuses is reported, not applied. Returns ``(moves adopted, conflicts, notes)``.
    """
    item = central.item_id
    local = store.get_hold(item)
    adopted = 0
    reports: list[str] = []
    notes: list[str] = []
    if local is None:
        first = central.transitions[0]
        local = store.request_hold(item, requested_by=first.actor,
                                   reason=first.note or central.reason, at=first.at)
        adopted += 1
    seen = {(t.state, t.at, t.actor) for t in local.transitions}
    state: HoldState = local.state
    for t in central.transitions[1:]:
        if (t.state, t.at, t.actor) in seen:
            continue
        if t.state is HoldState.INSPECTED:
            notes.append(f"{item}: central records an inspection elsewhere ({t.actor} at "
                           f"{t.at:%Y-%m-%d %H:%M}Z); the local hold stays {state.value}")
            continue
        if t.state not in TRANSITIONS[state]:
            reports.append(f"{item}: central moved the hold to {t.state.value} ({t.actor} at "
                           f"{t.at:%Y-%m-%d %H:%M}Z) but the local hold is {state.value}: not "
                           "adopted")
            continue
        state = store.transition(item, t.state, actor=t.actor, note=t.note, at=t.at).state
        adopted += 1
    return adopted, reports, notes


def pull(store: Store, client: CentralClient, *, actor: str = "central",
         ) -> tuple[int, int, int, list[str], list[str]]:
    """Pull the facility's new work. Returns ``(parcels, new parcels, moves adopted,
    conflicts, notes)``."""
    key = f"pull:{_key(client.url)}"
    cursor = (store.sync_state(key) or (0, ""))[0]
    parcels = new = adopted = 0
    reports: list[str] = []
    notes: list[str] = []
    while True:
        work = WorkBatch.model_validate(client.get("/v1/sync/pull", since=cursor))
        outcomes = store.import_parcels([(0, p) for p in work.parcels], actor=actor,
                                        source=client.url)
        parcels += len(work.parcels)
        new += sum(o.status is RowStatus.INSERTED for o in outcomes)
        reports += [f"{o.item_id}: {o.reason}" for o in outcomes
                    if o.status is RowStatus.CONFLICT]
        for hold in work.holds:
            n, r, m = adopt_hold(store, hold)
            adopted += n
            reports += r
            notes += m
        cursor = work.cursor
        store.set_sync_state(key, cursor, "")
        if not work.more:
            return parcels, new, adopted, reports, notes


def sync_once(store: Store, client: CentralClient, station: str, *, run: int = DEFAULT_RUN,
              progress: Progress | None = None) -> SyncReport:
    """Push, then pull (see the module notes).

    Raises
    ------
    CentralError
        The first step that failed (what was acknowledged before it stays acknowledged):
        see :func:`push`.
    """
    events, inspections, seq, h, conflicts = push(store, client, station, run=run,
                                                  progress=progress)
    parcels, new, adopted, reports, notes = pull(store, client)
    return SyncReport(central=client.url, pushed_events=events,
                      pushed_inspections=inspections, head_seq=seq, head_hash=h,
                      pulled_parcels=parcels, new_parcels=new, holds_adopted=adopted,
                      conflicts=conflicts, local_conflicts=reports, notes=notes)


class BackgroundSync:
    """Sync in a thread while ``interdict watch`` scans: every ``interval_s``, and soon
    after each recorded scan (:meth:`nudge`). Offline, it retries with a growing delay (up to
    ten intervals) and says so once per outage; nothing waits on it.

    Parameters
    ----------
    open_store
        Opens the station's store (the thread uses its own connection).
    client
        The central client.
    interval_s
        Seconds between syncs.
    report
        Called with ``(kind, message)``: ``synced``, ``sync-offline``, ``sync-error``,
        ``sync-conflict``.
    """

    def __init__(self, open_store: Callable[[], Store], client: CentralClient,
                 interval_s: float, report: Callable[[str, str], None]) -> None:
        import threading

        self.open_store = open_store
        self.client = client
        self.interval_s = interval_s
        self.report = report
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="sync", daemon=True)
        self.last: SyncReport | None = None
        self.failures = 0

    def start(self) -> None:
        """Start the thread (a first sync at once)."""
        self._wake.set()
        self._thread.start()

    def nudge(self) -> None:
        """Sync soon (a scan was just recorded)."""
        self._wake.set()

    def stop(self, timeout_s: float = 30.0) -> None:
        """Stop after the sync in progress, if any (each push is acknowledged or not)."""
        self._stop.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout_s)

    def _loop(self) -> None:
        name: str | None = None
        while not self._stop.is_set():
            delay = self.interval_s * min(2 ** self.failures, 10)
            self._wake.wait(delay)
            self._wake.clear()
            if self._stop.is_set():
                return
            try:
                if name is None:
                    name = self.client.whoami()
                with self.open_store() as store:
                    self.last = sync_once(store, self.client, name)
            except CentralError as exc:
                offline = isinstance(exc, CentralUnreachableError)
                if self.failures == 0 or not offline:
                    kind = "sync-offline" if offline else "sync-error"
                    self.report(kind, f"sync: {exc}; scanning goes on, records stay here "
                                      "until central has them")
                self.failures += 1
                continue
            except Exception as exc:  # a sync problem must never stop the scanning
                self.report("sync-error", f"sync failed: {type(exc).__name__}: {exc}")
                self.failures += 1
                continue
            was_down, self.failures = self.failures, 0
            r = self.last
            if r.pushed_events or r.new_parcels or r.holds_adopted or was_down:
                self.report("synced", r.message())
            for c in r.conflicts:
                self.report("sync-conflict", f"conflict at central: {c.detail}")
            for text in r.local_conflicts:
                self.report("sync-conflict", f"not adopted here: {text}")
            for text in r.notes:
                self.report("sync-note", text)


def central_record(client: CentralClient, station: str, *, page: int = 10_000,
                   ) -> tuple[dict[int, str], list[str]]:
    """What central holds of this station's chain, to verify the local one against.

    Returns
    -------
    anchors, key_ids
        ``{seq: hash}`` of every signed head central received from this station (a local
        chain rewritten after a sync no longer has those hashes there), and the fingerprints
        of the keys central registered for it, oldest first (a chain re-signed with another
        key is signed by none of them).
    """
    name = urllib.parse.quote(station)
    anchors: dict[int, str] = {}
    after = 0
    while True:
        heads = [StationHead.model_validate(h) for h in client.get(
            f"/v1/stations/{name}/heads", after_seq=after, limit=page)]
        anchors.update((h.seq, h.hash) for h in heads)
        if len(heads) < page:
            break
        after = heads[-1].seq
    keys = [KeyRegistration.model_validate(k)
            for k in client.get(f"/v1/stations/{name}/keys")]
    return anchors, list(dict.fromkeys(k.key_id for k in keys))


__all__ = ["BackgroundSync", "CentralClient", "SyncReport", "adopt_hold", "central_record",
           "pull", "push", "sync_once"]
