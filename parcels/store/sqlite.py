"""The SQLite evidence store: the embedded default implementation of :class:`Store`.

* WAL journal, foreign keys on, a busy timeout, ``synchronous=FULL`` by default (a commit
  survives power loss; ``NORMAL`` survives any process crash and is faster).
* Schema version in ``PRAGMA user_version``, Interdict's stamp in ``PRAGMA application_id``;
  migrations are an ordered list applied in one transaction; a database stamped with a newer
  version than this code knows is refused (:class:`SchemaVersionError`), as is a foreign one.
* Every write is one ``BEGIN IMMEDIATE`` transaction: the write lock is taken before the
  audit chain head is read, so concurrent writers (other processes) queue up behind each
  other and the chain stays linear.
* Evidence tables refuse ``UPDATE``/``DELETE`` through triggers (a guard against mistakes;
  deliberate tampering is caught by :meth:`SQLiteStore.verify`).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from matcher.results import FusedIdentification, Identification, Verdict
from spectra import Pipeline, Spectrum

from ..audit import (
    GENESIS,
    Finding,
    Problem,
    RawEvent,
    VerifyReport,
    chain_hash,
    verify_chain,
)
from ..blobs import decode_spectrum, encode_spectrum
from ..errors import (
    IllegalTransitionError,
    IntegrityError,
    ParcelNotFoundError,
    SchemaVersionError,
)
from ..holds import EVENT_FOR_STATE, check_inspectable, check_transition
from ..records import (
    AnyIdentification,
    AuditEvent,
    DeviceIdentity,
    EventKind,
    HoldRecord,
    HoldState,
    HoldTransition,
    Inspection,
    Parcel,
    ParcelFile,
    ParcelQuery,
    ParcelSummary,
    Result,
    ResultKind,
    canonical_json,
    digest,
)
from ..s10 import validate_item_id
from ..sync import (
    INSPECTION_COLS,
    RESULT_COLS,
    TRANSITION_COLS,
    StationBatch,
    WireEvent,
    WireInspection,
    WireParcel,
    WireResult,
    WireSpectrum,
    WireTransition,
)
from .base import HoldFact, InspectionFact, NewInspection, RowOutcome, RowStatus, Store

APPLICATION_ID = 0x49445452
"""``PRAGMA application_id`` of an Interdict evidence database ("IDTR")."""

_NO_CHANGE = ("audit_events", "parcels", "hold_transitions", "axes", "spectra", "inspections",
              "results")

_V1: tuple[str, ...] = (
    """CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)""",
    """CREATE TABLE audit_events (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL,
        actor TEXT NOT NULL,
        item_id TEXT,
        data TEXT NOT NULL,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL)""",
    "CREATE INDEX audit_events_hash ON audit_events (hash)",
    "CREATE INDEX audit_events_item ON audit_events (item_id)",
    """CREATE TABLE parcels (
        item_id TEXT PRIMARY KEY,
        origin_country TEXT NOT NULL,
        mail_class TEXT NOT NULL,
        received_at TEXT NOT NULL,
        facility TEXT NOT NULL,
        category TEXT NOT NULL,
        record TEXT NOT NULL,
        digest TEXT NOT NULL,
        imported_at TEXT NOT NULL,
        event_seq INTEGER NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX parcels_received ON parcels (received_at)",
    "CREATE INDEX parcels_origin ON parcels (origin_country, received_at)",
    """CREATE TABLE holds (
        item_id TEXT PRIMARY KEY REFERENCES parcels (item_id),
        state TEXT NOT NULL,
        requested_at TEXT NOT NULL)""",
    "CREATE INDEX holds_state ON holds (state)",
    "CREATE INDEX holds_requested ON holds (requested_at)",
    """CREATE TABLE hold_transitions (
        id INTEGER PRIMARY KEY,
        item_id TEXT NOT NULL REFERENCES holds (item_id),
        state TEXT NOT NULL,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        note TEXT,
        event_seq INTEGER NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX hold_transitions_item ON hold_transitions (item_id)",
    """CREATE TABLE axes (
        hash TEXT PRIMARY KEY,
        n INTEGER NOT NULL,
        data BLOB NOT NULL)""",
    """CREATE TABLE spectra (
        hash TEXT PRIMARY KEY,
        n INTEGER NOT NULL,
        meta TEXT NOT NULL,
        axis_hash TEXT NOT NULL REFERENCES axes (hash),
        data BLOB NOT NULL)""",
    """CREATE TABLE inspections (
        inspection_id TEXT PRIMARY KEY,
        item_id TEXT NOT NULL REFERENCES parcels (item_id),
        performed_at TEXT NOT NULL,
        operator TEXT NOT NULL,
        station TEXT NOT NULL,
        device TEXT NOT NULL,
        technique TEXT NOT NULL,
        spectrum_hash TEXT NOT NULL REFERENCES spectra (hash),
        pipeline TEXT NOT NULL,
        library_id TEXT NOT NULL,
        library_hash TEXT NOT NULL,
        event_seq INTEGER NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX inspections_item ON inspections (item_id)",
    """CREATE TABLE results (
        result_id TEXT PRIMARY KEY,
        inspection_id TEXT NOT NULL REFERENCES inspections (inspection_id),
        kind TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        library_id TEXT NOT NULL,
        library_hash TEXT NOT NULL,
        verdict TEXT NOT NULL,
        alert INTEGER NOT NULL,
        identification TEXT NOT NULL,
        based_on TEXT REFERENCES results (result_id),
        note TEXT,
        event_seq INTEGER NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX results_inspection ON results (inspection_id, event_seq)",
    "CREATE INDEX results_verdict ON results (verdict)",
    f"INSERT INTO meta (key, value) VALUES ('audit_head', '0:{GENESIS}')",
    *(
        f"""CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t}
            BEGIN SELECT RAISE(ABORT, '{t} is append-only: {op} refused'); END"""
        for t in _NO_CHANGE for op in ("UPDATE", "DELETE")
    ),
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
"""Ordered migrations: ``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes."""

_IDENT = TypeAdapter[AnyIdentification](AnyIdentification)


def _ts(value: datetime) -> str:
    """Stored form of an instant: ISO 8601 in UTC with microseconds (sorts as text)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused: give a timezone")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def _dt(text: str) -> datetime:
    return datetime.fromisoformat(text)


def _new_id() -> str:
    """32 hex digits: nanosecond time, then 64 random bits. Ids sort by creation, so the
    primary-key index grows at its end instead of being written all over (fewer pages per
    commit), and an id says roughly when it was made."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_INSPECTION_COLS = INSPECTION_COLS
_RESULT_COLS = RESULT_COLS
_TRANSITION_COLS = TRANSITION_COLS


def _row_digest(cols: Sequence[str], values: Sequence[Any]) -> str:
    return digest(dict(zip(cols, values, strict=True)))


def _primary(identification: AnyIdentification, technique: str) -> Identification:
    """The single-technique result that belongs to a spectrum of ``technique``."""
    if isinstance(identification, FusedIdentification):
        for r in identification.results:
            if r.technique.value == technique:
                return r
        have = ", ".join(r.technique.value for r in identification.results) or "none"
        raise ValueError(
            f"the fused identification has no {technique} result (it has: {have})"
        )
    if identification.technique.value != technique:
        raise ValueError(
            f"identification is for {identification.technique.value} but the spectrum is "
            f"{technique}"
        )
    return identification


class _Chain:
    """Appends audit events inside one write transaction (head read under the lock)."""

    def __init__(self, cur: sqlite3.Cursor) -> None:
        self.cur = cur
        row = cur.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        self.seq, self.hash = (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
        self.start = self.seq

    def append(
        self, kind: EventKind, actor: str, item_id: str | None, data: dict[str, Any], at: str
    ) -> int:
        seq = self.seq + 1
        data_text = canonical_json(data)
        h = chain_hash(self.hash, seq=seq, at=at, kind=kind.value, actor=actor,
                       item_id=item_id, data_text=data_text)
        self.cur.execute(
            "INSERT INTO audit_events (seq, at, kind, actor, item_id, data, prev_hash, hash) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (seq, at, kind.value, actor, item_id, data_text, self.hash, h),
        )
        self.seq, self.hash = seq, h
        return seq

    def finish(self) -> None:
        if self.seq != self.start:
            self.cur.execute("UPDATE meta SET value = ? WHERE key = 'audit_head'",
                             (f"{self.seq}:{self.hash}",))


class SQLiteStore(Store):
    """The evidence store in one SQLite file.

    Parameters
    ----------
    path
        The database file (created when missing, unless ``create`` is False).
    create
        Create the file and its schema if it does not exist.
    busy_timeout_s
        How long a writer waits for another process's write lock before giving up.
    synchronous
        ``"FULL"`` (default: a commit survives power loss) or ``"NORMAL"`` (survives any
        process crash; a power cut may lose the last commits).
    clock
        Source of "now" (UTC); injectable for tests.

    Raises
    ------
    FileNotFoundError
        ``create`` is False and the file does not exist.
    SchemaVersionError
        The file is not an Interdict database, or its schema is newer than this code.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        create: bool = True,
        busy_timeout_s: float = 30.0,
        synchronous: Literal["FULL", "NORMAL"] = "FULL",
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.path = Path(path)
        if not create and not self.path.exists():
            raise FileNotFoundError(f"no evidence database at {self.path}")
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous must be FULL or NORMAL, got {synchronous!r}")
        self._clock = clock or (lambda: datetime.now(UTC))
        self._con = sqlite3.connect(str(self.path), timeout=busy_timeout_s,
                                    isolation_level=None)
        try:
            self._con.execute(f"PRAGMA busy_timeout = {int(busy_timeout_s * 1000)}")
            self._check_identity()
            mode = self._con.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise SchemaVersionError(f"{self.path}: cannot use WAL journal (got {mode})")
            self._con.execute("PRAGMA foreign_keys = ON")
            self._con.execute(f"PRAGMA synchronous = {synchronous}")
            self._migrate()
        except BaseException:
            self._con.close()
            raise

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        """Close the connection."""
        self._con.close()

    @property
    def schema_version(self) -> int:
        """``PRAGMA user_version`` of the open database."""
        return int(self._con.execute("PRAGMA user_version").fetchone()[0])

    def _check_identity(self) -> None:
        app = int(self._con.execute("PRAGMA application_id").fetchone()[0])
        version = self.schema_version
        if app not in (0, APPLICATION_ID):
            raise SchemaVersionError(
                f"{self.path} is not an Interdict evidence database "
                f"(application_id {app:#x}, expected {APPLICATION_ID:#x})"
            )
        if app == 0:
            tables = self._con.execute(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            if tables:
                raise SchemaVersionError(
                    f"{self.path} holds {tables} table(s) but no Interdict stamp: refusing "
                    "to write into someone else's database"
                )
        if version > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"{self.path} has schema version {version}, newer than this code "
                f"(which knows up to {SCHEMA_VERSION}): upgrade Interdict to open it"
            )

    def _migrate(self) -> None:
        if self.schema_version >= SCHEMA_VERSION:
            return
        with self._write() as cur:
            version = int(cur.execute("PRAGMA user_version").fetchone()[0])  # under the lock
            for v in range(version, SCHEMA_VERSION):
                for stmt in MIGRATIONS[v]:
                    cur.execute(stmt)
            cur.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            cur.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Cursor]:
        cur = self._con.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            if self._con.in_transaction:
                self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    def _now(self) -> str:
        return _ts(self._clock())

    # -- parcels ----------------------------------------------------------------------
    def import_parcels(
        self, rows: Iterable[tuple[int, Parcel]], *, actor: str, source: str,
        chunk: int = 1000,
    ) -> list[RowOutcome]:
        """See :meth:`Store.import_parcels`; rows are committed ``chunk`` at a time."""
        out: list[RowOutcome] = []
        pending: list[tuple[int, Parcel]] = []
        for row in rows:
            pending.append(row)
            if len(pending) >= chunk:
                out.extend(self._import_chunk(pending, actor, source))
                pending = []
        if pending:
            out.extend(self._import_chunk(pending, actor, source))
        return out

    def _import_chunk(
        self, rows: list[tuple[int, Parcel]], actor: str, source: str
    ) -> list[RowOutcome]:
        prepared = []
        for line, p in rows:
            record = canonical_json(p.model_dump(mode="json"))
            prepared.append((line, p, record, _sha(record)))
        out: list[RowOutcome] = []
        with self._write() as cur:
            chain = _Chain(cur)
            now = self._now()
            for line, p, record, d in prepared:
                row = cur.execute("SELECT digest, imported_at FROM parcels WHERE item_id = ?",
                                  (p.item_id,)).fetchone()
                if row is not None:
                    if row[0] == d:
                        out.append(RowOutcome(line=line, item_id=p.item_id,
                                              status=RowStatus.UNCHANGED))
                    else:
                        out.append(RowOutcome(
                            line=line, item_id=p.item_id, status=RowStatus.CONFLICT,
                            reason=f"{p.item_id} is already stored (imported {row[1]}) with "
                                   "different content; the stored record was kept",
                        ))
                    continue
                seq = chain.append(EventKind.IMPORT, actor, p.item_id,
                                   {"digest": d, "source": source, "line": line}, now)
                cur.execute(
                    "INSERT INTO parcels (item_id, origin_country, mail_class, received_at, "
                    "facility, category, record, digest, imported_at, event_seq) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (p.item_id, p.origin_country, p.mail_class, _ts(p.received_at),
                     p.facility, p.declaration.category.value, record, d, now, seq),
                )
                if p.hold is not None:
                    self._request(cur, chain, item_id=p.item_id, by=p.hold.requested_by,
                                  reason=p.hold.reason,
                                  requested_at=_ts(p.hold.requested_at), now=now)
                out.append(RowOutcome(line=line, item_id=p.item_id,
                                      status=RowStatus.INSERTED,
                                      hold_requested=p.hold is not None))
            chain.finish()
        return out

    def _parcel_state(self, cur: sqlite3.Cursor, item_id: str) -> HoldState | None:
        row = cur.execute(
            "SELECT p.item_id, h.state FROM parcels p LEFT JOIN holds h "
            "ON h.item_id = p.item_id WHERE p.item_id = ?", (item_id,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("parcel", item_id)
        return None if row[1] is None else HoldState(row[1])

    def get_parcel(self, item_id: str) -> ParcelFile:
        """See :meth:`Store.get_parcel`."""
        item_id = validate_item_id(item_id)
        cur = self._con.cursor()
        cur.execute("BEGIN")  # one consistent snapshot for the several reads
        try:
            row = cur.execute("SELECT record, imported_at FROM parcels WHERE item_id = ?",
                              (item_id,)).fetchone()
            if row is None:
                raise ParcelNotFoundError("parcel", item_id)
            try:
                parcel = Parcel.model_validate_json(row[0])
            except ValidationError as exc:
                raise IntegrityError(f"stored record of {item_id} no longer parses: {exc}") \
                    from exc
            hold = self._hold(cur, item_id)
            ids = [r[0] for r in cur.execute(
                "SELECT inspection_id FROM inspections WHERE item_id = ? "
                "ORDER BY performed_at, event_seq", (item_id,))]
            inspections = tuple(self._inspection(cur, i) for i in ids)
        finally:
            self._con.execute("COMMIT")
        return ParcelFile(parcel=parcel, imported_at=_dt(row[1]), hold=hold,
                          inspections=inspections)

    def find(self, query: ParcelQuery) -> list[ParcelSummary]:
        """See :meth:`Store.find`."""
        current = ("r.event_seq = (SELECT max(r2.event_seq) FROM results r2 "
                   "WHERE r2.inspection_id = r.inspection_id)")
        where: list[str] = []
        params: list[Any] = []
        if query.item_ids is not None:
            where.append(f"p.item_id IN ({','.join('?' * len(query.item_ids))})")
            params.extend(query.item_ids)
        if query.hold_state is not None:
            where.append("h.state = ?")
            params.append(query.hold_state.value)
        if query.verdict is not None:
            where.append(
                "EXISTS (SELECT 1 FROM inspections i JOIN results r ON r.inspection_id = "
                f"i.inspection_id WHERE i.item_id = p.item_id AND r.verdict = ? AND {current})")
            params.append(query.verdict.value)
        if query.alert is not None:
            neg = "" if query.alert else "NOT "
            where.append(
                f"{neg}EXISTS (SELECT 1 FROM inspections i JOIN results r ON r.inspection_id = "
                f"i.inspection_id WHERE i.item_id = p.item_id AND r.alert = 1 AND {current})")
        if query.origin_country is not None:
            where.append("p.origin_country = ?")
            params.append(query.origin_country)
        if query.received_from is not None:
            where.append("p.received_at >= ?")
            params.append(_ts(query.received_from))
        if query.received_to is not None:
            where.append("p.received_at < ?")
            params.append(_ts(query.received_to))
        sql = (
            "SELECT p.item_id, p.origin_country, p.mail_class, p.received_at, p.facility, "
            "p.category, h.state, "
            "(SELECT count(*) FROM inspections i WHERE i.item_id = p.item_id), "
            "(SELECT r.verdict FROM inspections i JOIN results r ON r.inspection_id = "
            " i.inspection_id WHERE i.item_id = p.item_id ORDER BY r.event_seq DESC LIMIT 1), "
            "EXISTS (SELECT 1 FROM inspections i JOIN results r ON r.inspection_id = "
            f" i.inspection_id WHERE i.item_id = p.item_id AND r.alert = 1 AND {current}) "
            "FROM parcels p LEFT JOIN holds h ON h.item_id = p.item_id"
        )
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += (" ORDER BY p.received_at, p.item_id" if query.order == "received"
                else " ORDER BY p.item_id")
        if query.limit is not None:
            sql += f" LIMIT {int(query.limit)}"
        return [
            ParcelSummary(
                item_id=r[0], origin_country=r[1], mail_class=r[2], received_at=_dt(r[3]),
                facility=r[4], category=r[5], hold_state=r[6], inspections=r[7],
                verdict=r[8], alert=bool(r[9]),
            )
            for r in self._con.execute(sql, params)
        ]

    # -- holds ------------------------------------------------------------------------
    def _request(
        self, cur: sqlite3.Cursor, chain: _Chain, *, item_id: str, by: str, reason: str,
        requested_at: str, now: str,
    ) -> None:
        cur.execute("INSERT INTO holds (item_id, state, requested_at) VALUES (?, ?, ?)",
                    (item_id, HoldState.REQUESTED.value, requested_at))
        self._log_transition(cur, chain, item_id=item_id, state=HoldState.REQUESTED,
                             previous=None, at=requested_at, actor=by, note=reason, now=now)

    def _log_transition(
        self, cur: sqlite3.Cursor, chain: _Chain, *, item_id: str, state: HoldState,
        previous: HoldState | None, at: str, actor: str, note: str | None, now: str,
    ) -> None:
        values = (item_id, state.value, at, actor, note)
        seq = chain.append(
            EVENT_FOR_STATE[state], actor, item_id,
            {"state": state.value, "from": None if previous is None else previous.value,
             "at": at, "note": note, "digest": _row_digest(_TRANSITION_COLS, values)},
            now,
        )
        cur.execute(
            "INSERT INTO hold_transitions (item_id, state, at, actor, note, event_seq) "
            "VALUES (?, ?, ?, ?, ?, ?)", (*values, seq))
        if previous is not None:
            cur.execute("UPDATE holds SET state = ? WHERE item_id = ?", (state.value, item_id))

    def request_hold(
        self, item_id: str, *, requested_by: str, reason: str, at: datetime | None = None,
        held_by: str | None = None,
    ) -> HoldRecord:
        """See :meth:`Store.request_hold`."""
        item_id = validate_item_id(item_id)
        if not requested_by or not reason:
            raise ValueError("a hold request needs who requests it and why")
        with self._write() as cur:
            current = self._parcel_state(cur, item_id)
            check_transition(item_id, current, HoldState.REQUESTED)
            chain = _Chain(cur)
            now = self._now()
            self._request(cur, chain, item_id=item_id, by=requested_by, reason=reason,
                          requested_at=now if at is None else _ts(at), now=now)
            if held_by:
                self._log_transition(cur, chain, item_id=item_id, state=HoldState.HELD,
                                     previous=HoldState.REQUESTED, at=now, actor=held_by,
                                     note=None, now=now)
            chain.finish()
        return self._written_hold(item_id)

    def _written_hold(self, item_id: str) -> HoldRecord:
        hold = self.get_hold(item_id)
        if hold is None:  # just committed: only a concurrent tamperer could get here
            raise IntegrityError(f"hold of {item_id} vanished right after it was written")
        return hold

    def transition(
        self,
        item_id: str,
        target: HoldState,
        *,
        actor: str,
        note: str | None = None,
        at: datetime | None = None,
    ) -> HoldRecord:
        """See :meth:`Store.transition`."""
        item_id = validate_item_id(item_id)
        target = HoldState(target)
        if target is HoldState.REQUESTED:
            raise IllegalTransitionError(item_id, None, target.value,
                                         ["use request_hold to request a hold"])
        if target is HoldState.INSPECTED:
            raise IllegalTransitionError(item_id, None, target.value,
                                         ["record an inspection (add_inspection)"])
        with self._write() as cur:
            current = self._parcel_state(cur, item_id)
            check_transition(item_id, current, target)
            chain = _Chain(cur)
            now = self._now()
            self._log_transition(cur, chain, item_id=item_id, state=target, previous=current,
                                 at=now if at is None else _ts(at), actor=actor, note=note,
                                 now=now)
            chain.finish()
        return self._written_hold(item_id)

    def _hold(self, cur: sqlite3.Cursor, item_id: str) -> HoldRecord | None:
        h = cur.execute("SELECT state FROM holds WHERE item_id = ?", (item_id,)).fetchone()
        if h is None:
            return None
        ts = [
            HoldTransition(state=r[0], at=_dt(r[1]), actor=r[2], note=r[3])
            for r in cur.execute(
                "SELECT state, at, actor, note FROM hold_transitions WHERE item_id = ? "
                "ORDER BY id", (item_id,))
        ]
        if not ts or ts[0].state is not HoldState.REQUESTED or ts[-1].state.value != h[0]:
            raise IntegrityError(f"hold of {item_id}: state {h[0]} does not match its "
                                 "transition history")
        return HoldRecord(item_id=item_id, state=h[0], requested_at=ts[0].at,
                          requested_by=ts[0].actor, reason=ts[0].note or "",
                          transitions=tuple(ts))

    def get_hold(self, item_id: str) -> HoldRecord | None:
        """See :meth:`Store.get_hold`."""
        item_id = validate_item_id(item_id)
        return self._hold(self._con.cursor(), item_id)

    # -- inspections ------------------------------------------------------------------
    def add_inspection(
        self,
        item_id: str,
        spectrum: Spectrum,
        identification: AnyIdentification,
        *,
        operator: str,
        station: str,
        device: DeviceIdentity,
        performed_at: datetime | None = None,
    ) -> Inspection:
        """See :meth:`Store.add_inspection`."""
        return self.add_inspections([NewInspection(
            item_id=item_id, spectrum=spectrum, identification=identification,
            operator=operator, station=station, device=device, performed_at=performed_at,
        )])[0]

    def add_inspections(self, batch: Sequence[NewInspection]) -> list[Inspection]:
        """See :meth:`Store.add_inspections`."""
        prepared = []
        for new in batch:  # the CPU work (hashing, compressing, JSON) before taking the lock
            item_id = validate_item_id(new.item_id)
            technique = new.spectrum.technique.value
            primary = _primary(new.identification, technique)
            if not new.operator or not new.station:
                raise ValueError(f"{item_id}: an inspection needs an operator and a station")
            # stored texts are pydantic's JSON; digests cover the exact stored text
            prepared.append((
                new, item_id, technique, primary, encode_spectrum(new.spectrum),
                new.identification.model_dump_json(), new.device.model_dump_json(),
                primary.pipeline.model_dump_json(), _new_id(), _new_id(),
            ))
        out: list[Inspection] = []
        with self._write() as cur:
            now = self._now()
            chain = _Chain(cur)
            for (new, item_id, technique, primary, enc, ident_text, device_text,
                 pipeline_text, inspection_id, result_id) in prepared:
                performed = now if new.performed_at is None else _ts(new.performed_at)
                current = self._parcel_state(cur, item_id)
                check_inspectable(item_id, current)
                spectrum_hash = enc.content_hash
                if cur.execute("SELECT 1 FROM axes WHERE hash = ?",
                               (enc.axis_hash,)).fetchone() is None:
                    cur.execute("INSERT INTO axes (hash, n, data) VALUES (?, ?, ?)",
                                (enc.axis_hash, enc.n, enc.pack_axis()))
                cur.execute("INSERT OR IGNORE INTO spectra (hash, n, meta, axis_hash, data) "
                            "VALUES (?, ?, ?, ?, ?)",
                            (spectrum_hash, enc.n, enc.meta, enc.axis_hash, enc.values))
                ivals = (inspection_id, item_id, performed, new.operator, new.station,
                         device_text, technique, spectrum_hash, pipeline_text,
                         primary.library_id, primary.library_hash)
                seq = chain.append(
                    EventKind.SCAN, new.operator, item_id,
                    {"inspection_id": inspection_id, "spectrum_hash": spectrum_hash,
                     "technique": technique, "digest": _row_digest(_INSPECTION_COLS, ivals)},
                    now)
                cur.execute(f"INSERT INTO inspections ({', '.join(_INSPECTION_COLS)}, "
                            f"event_seq) VALUES ({', '.join('?' * (len(ivals) + 1))})",
                            (*ivals, seq))
                self._insert_result(cur, chain, item_id=item_id, result_id=result_id,
                                    inspection_id=inspection_id, kind=ResultKind.ORIGINAL,
                                    now=now, by=new.operator, primary=primary,
                                    identification=new.identification, ident_text=ident_text,
                                    based_on=None, note=None)
                if current is HoldState.HELD:
                    self._log_transition(cur, chain, item_id=item_id,
                                         state=HoldState.INSPECTED, previous=current, at=now,
                                         actor=new.operator,
                                         note=f"inspection {inspection_id}", now=now)
                # built from what is being committed (no re-read: this is the hot path)
                out.append(Inspection(
                    inspection_id=inspection_id, item_id=item_id, performed_at=_dt(performed),
                    operator=new.operator, station=new.station, device=new.device,
                    technique=new.spectrum.technique, spectrum_hash=spectrum_hash,
                    pipeline=primary.pipeline, library_id=primary.library_id,
                    library_hash=primary.library_hash,
                    results=(Result(
                        result_id=result_id, inspection_id=inspection_id,
                        kind=ResultKind.ORIGINAL, recorded_at=_dt(now),
                        recorded_by=new.operator, library_id=primary.library_id,
                        library_hash=primary.library_hash,
                        verdict=new.identification.verdict, alert=new.identification.alert,
                        identification=new.identification,
                    ),),
                ))
            chain.finish()
        return out

    def _insert_result(
        self, cur: sqlite3.Cursor, chain: _Chain, *, item_id: str, result_id: str,
        inspection_id: str, kind: ResultKind, now: str, by: str, primary: Identification,
        identification: AnyIdentification, ident_text: str, based_on: str | None,
        note: str | None,
    ) -> None:
        rvals = (result_id, inspection_id, kind.value, now, by, primary.library_id,
                 primary.library_hash, identification.verdict.value, bool(identification.alert),
                 ident_text, based_on, note)
        seq = chain.append(
            EventKind.VERDICT if kind is ResultKind.ORIGINAL else EventKind.REIDENTIFY,
            by, item_id,
            {"inspection_id": inspection_id, "result_id": result_id,
             "verdict": identification.verdict.value, "alert": bool(identification.alert),
             "library_id": primary.library_id, "library_hash": primary.library_hash,
             "based_on": based_on, "digest": _row_digest(_RESULT_COLS, rvals)},
            now)
        cur.execute(f"INSERT INTO results ({', '.join(_RESULT_COLS)}, event_seq) "
                    f"VALUES ({', '.join('?' * (len(rvals) + 1))})", (*rvals, seq))

    def add_result(
        self,
        inspection_id: str,
        identification: AnyIdentification,
        *,
        recorded_by: str,
        note: str | None = None,
    ) -> Result:
        """See :meth:`Store.add_result`."""
        if not recorded_by:
            raise ValueError("a re-identification needs who recorded it")
        ident_text = identification.model_dump_json()
        result_id = _new_id()
        with self._write() as cur:
            row = cur.execute("SELECT item_id, technique FROM inspections "
                              "WHERE inspection_id = ?", (inspection_id,)).fetchone()
            if row is None:
                raise ParcelNotFoundError("inspection", inspection_id)
            primary = _primary(identification, row[1])
            based_on = cur.execute(
                "SELECT result_id FROM results WHERE inspection_id = ? "
                "ORDER BY event_seq DESC LIMIT 1", (inspection_id,)).fetchone()[0]
            chain = _Chain(cur)
            self._insert_result(cur, chain, item_id=row[0], result_id=result_id,
                                inspection_id=inspection_id,
                                kind=ResultKind.REIDENTIFICATION, now=self._now(),
                                by=recorded_by, primary=primary,
                                identification=identification, ident_text=ident_text,
                                based_on=based_on, note=note)
            chain.finish()
        return next(r for r in self.get_inspection(inspection_id).results
                    if r.result_id == result_id)

    def _inspection(self, cur: sqlite3.Cursor, inspection_id: str) -> Inspection:
        row = cur.execute(f"SELECT {', '.join(_INSPECTION_COLS)} FROM inspections "
                          "WHERE inspection_id = ?", (inspection_id,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("inspection", inspection_id)
        try:
            results = tuple(
                Result(
                    result_id=r[0], inspection_id=r[1], kind=r[2], recorded_at=_dt(r[3]),
                    recorded_by=r[4], library_id=r[5], library_hash=r[6], verdict=r[7],
                    alert=bool(r[8]), identification=_IDENT.validate_json(r[9]),
                    based_on=r[10], note=r[11],
                )
                for r in cur.execute(
                    f"SELECT {', '.join(_RESULT_COLS)} FROM results WHERE inspection_id = ? "
                    "ORDER BY event_seq", (inspection_id,))
            )
            return Inspection(
                inspection_id=row[0], item_id=row[1], performed_at=_dt(row[2]),
                operator=row[3], station=row[4],
                device=DeviceIdentity.model_validate_json(row[5]), technique=row[6],
                spectrum_hash=row[7], pipeline=Pipeline.model_validate_json(row[8]),
                library_id=row[9], library_hash=row[10], results=results,
            )
        except (ValidationError, ValueError) as exc:
            raise IntegrityError(f"stored inspection {inspection_id} no longer parses: {exc}") \
                from exc

    def get_inspection(self, inspection_id: str) -> Inspection:
        """See :meth:`Store.get_inspection`."""
        return self._inspection(self._con.cursor(), inspection_id)

    def get_spectrum(self, spectrum_hash: str) -> Spectrum:
        """See :meth:`Store.get_spectrum`."""
        row = self._con.execute(
            "SELECT s.meta, a.data, s.data FROM spectra s LEFT JOIN axes a "
            "ON a.hash = s.axis_hash WHERE s.hash = ?", (spectrum_hash,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("spectrum", spectrum_hash)
        if row[1] is None:
            raise IntegrityError(f"stored spectrum {spectrum_hash}: its x axis is missing")
        return decode_spectrum(spectrum_hash, row[0], bytes(row[1]), bytes(row[2]))

    # -- statistics inputs ------------------------------------------------------------
    def hold_facts(
        self, *, since: datetime | None = None, until: datetime | None = None,
        facility: str | None = None,
    ) -> Iterator[HoldFact]:
        """See :meth:`Store.hold_facts`."""
        sql = ("SELECT h.item_id, h.requested_at, h.state, (SELECT min(t.at) FROM "
               "hold_transitions t WHERE t.item_id = h.item_id AND t.state = 'held') "
               "FROM holds h JOIN parcels p ON p.item_id = h.item_id "
               "WHERE h.requested_at >= ? AND h.requested_at < ? "
               "AND (? IS NULL OR p.facility = ?) ORDER BY h.requested_at")
        lo = "" if since is None else _ts(since)
        hi = "\uffff" if until is None else _ts(until)
        for r in self._con.execute(sql, (lo, hi, facility, facility)):
            yield HoldFact(item_id=r[0], requested_at=_dt(r[1]), state=r[2],
                           held_at=None if r[3] is None else _dt(r[3]))

    def inspection_facts(
        self, *, since: datetime | None = None, until: datetime | None = None,
        facility: str | None = None,
    ) -> Iterator[InspectionFact]:
        """See :meth:`Store.inspection_facts`."""
        sql = ("SELECT p.item_id, p.origin_country, p.category, p.received_at, r.verdict, "
               "r.alert FROM parcels p JOIN inspections i ON i.item_id = p.item_id "
               "JOIN results r ON r.inspection_id = i.inspection_id "
               "WHERE p.received_at >= ? AND p.received_at < ? "
               "AND (? IS NULL OR p.facility = ?) AND r.event_seq = "
               "(SELECT max(r2.event_seq) FROM results r2 WHERE r2.inspection_id = "
               "i.inspection_id) ORDER BY p.item_id")
        lo = "" if since is None else _ts(since)
        hi = "\uffff" if until is None else _ts(until)
        group: list[tuple[Any, ...]] = []
        for r in self._con.execute(sql, (lo, hi, facility, facility)):
            if group and group[0][0] != r[0]:
                yield self._fact(group)
                group = []
            group.append(r)
        if group:
            yield self._fact(group)

    @staticmethod
    def _fact(rows: list[tuple[Any, ...]]) -> InspectionFact:
        r0 = rows[0]
        return InspectionFact(
            item_id=r0[0], origin_country=r0[1], category=r0[2], received_at=_dt(r0[3]),
            inspections=len(rows), alert=any(bool(r[5]) for r in rows),
            verdicts=tuple(Verdict(r[4]) for r in rows),
        )

    # -- audit ------------------------------------------------------------------------
    def record_export(
        self, item_ids: Sequence[str], *, actor: str, destination: str, content_digest: str
    ) -> AuditEvent:
        """See :meth:`Store.record_export`."""
        with self._write() as cur:
            chain = _Chain(cur)
            seq = chain.append(EventKind.EXPORT, actor, None,
                               {"items": list(item_ids), "count": len(item_ids),
                                "destination": destination, "digest": content_digest},
                               self._now())
            chain.finish()
        return next(self.audit_events(since_seq=seq))

    def audit_events(
        self, *, item_id: str | None = None, since_seq: int = 1
    ) -> Iterator[AuditEvent]:
        """See :meth:`Store.audit_events`."""
        sql = ("SELECT seq, at, kind, actor, item_id, data, prev_hash, hash FROM audit_events "
               "WHERE seq >= ?")
        params: list[Any] = [since_seq]
        if item_id is not None:
            sql += " AND item_id = ?"
            params.append(validate_item_id(item_id))
        for r in self._con.execute(sql + " ORDER BY seq", params):
            yield AuditEvent(seq=r[0], at=_dt(r[1]), kind=r[2], actor=r[3], item_id=r[4],
                             data=json.loads(r[5]), prev_hash=r[6], hash=r[7])

    def verify(
        self, *, deep: bool = True, anchors: Mapping[int, str] | None = None
    ) -> VerifyReport:
        """See :meth:`Store.verify`."""
        cur = self._con.cursor()
        cur.execute("BEGIN")
        try:
            return self._verify(cur, deep, anchors or {})
        finally:
            self._con.execute("COMMIT")

    def _verify(self, cur: sqlite3.Cursor, deep: bool, anchors: Mapping[int, str]) -> VerifyReport:
        head_row = cur.execute("SELECT value FROM meta WHERE key = 'audit_head'").fetchone()
        head: tuple[int, str] | None = None
        findings: list[Finding] = []
        for aseq, ahash in sorted(anchors.items()):
            r = cur.execute("SELECT hash FROM audit_events WHERE seq = ?", (aseq,)).fetchone()
            if r is None:
                findings.append(Finding(seq=aseq, problem=Problem.DELETED,
                                        detail=f"anchored event #{aseq} is not in the log"))
            elif r[0] != ahash:
                findings.append(Finding(seq=aseq, problem=Problem.EDITED,
                                        detail=f"event #{aseq} does not have its anchored "
                                               f"hash {ahash[:16]}…"))
        if head_row is None:
            findings.append(Finding(seq=1, problem=Problem.DELETED,
                                    detail="the recorded chain head is missing"))
        else:
            s, _, h = str(head_row[0]).partition(":")
            head = (int(s), h)

        def lookup(h: str) -> int | None:
            r = self._con.execute("SELECT min(seq) FROM audit_events WHERE hash = ?",
                                  (h,)).fetchone()
            return None if r is None or r[0] is None else int(r[0])

        raw = (RawEvent(*r) for r in self._con.execute(
            "SELECT seq, at, kind, actor, item_id, data, prev_hash, hash FROM audit_events "
            "ORDER BY seq"))
        n, hseq, hhash, chain_findings = verify_chain(raw, lookup, expected_head=head)
        evidence = sorted(self._verify_evidence(cur, deep), key=lambda f: f.seq)
        # the chain's first finding is the first bad event of the walk (after a reordering
        # later findings may carry smaller numbers); evidence findings are ordered by seq
        firsts = [*findings, *chain_findings[:1], *evidence[:1]]
        first = min(firsts, key=lambda f: f.seq) if firsts else None
        everything = sorted([*findings, *chain_findings, *evidence], key=lambda f: f.seq)
        return VerifyReport(ok=first is None, events=n, head_seq=hseq, head_hash=hhash,
                            first_bad=first, findings=tuple(everything[:100]))

    def _verify_evidence(self, cur: sqlite3.Cursor, deep: bool) -> list[Finding]:
        out: list[Finding] = []

        def check(event: Sequence[Any], kinds: tuple[str, ...], *, item_id: str, what: str,
                  expect: dict[str, Any]) -> None:
            seq, kind, ev_item, data = event
            if kind is None or seq is None:
                out.append(Finding(seq=seq or 0, problem=Problem.MISSING_EVENT,
                                   detail=f"{what} refers to audit event #{seq}, which is "
                                          "not stored"))
                return
            if kind not in kinds or ev_item != item_id:
                out.append(Finding(seq=seq, problem=Problem.MISSING_EVENT,
                                   detail=f"{what} refers to event #{seq}, which is a "
                                          f"{kind} event of {ev_item}"))
                return
            try:
                d = json.loads(data or "")
            except ValueError:
                return  # the chain check reports an unreadable event
            for key, value in expect.items():
                if d.get(key) != value:
                    out.append(Finding(
                        seq=seq, problem=Problem.EVIDENCE,
                        detail=f"{what} does not match what event #{seq} ({kind}) logged: "
                               f"{key} differs; the stored record was changed",
                    ))
                    return

        ev = ("LEFT JOIN audit_events e ON e.seq = x.event_seq")
        for r in cur.execute(
            "SELECT x.item_id, x.origin_country, x.mail_class, x.received_at, x.facility, "
            f"x.category, x.record, x.digest, x.event_seq, e.kind, e.item_id, e.data "
            f"FROM parcels x {ev}"
        ):
            item_id, record = r[0], r[6]
            what = f"parcel {item_id}"
            expect: dict[str, Any] = {"digest": _sha(record)}
            try:
                rec = json.loads(record)
                cols: tuple[Any, ...] = (
                    rec["item_id"], rec["origin_country"], rec["mail_class"],
                    _ts(_dt(rec["received_at"].replace("Z", "+00:00"))), rec["facility"],
                    rec["declaration"]["category"], expect["digest"])
            except (ValueError, KeyError, TypeError):
                cols = ("unreadable",)
            if cols != (*r[:6], r[7]):
                out.append(Finding(seq=r[8], problem=Problem.EVIDENCE,
                                   detail=f"{what}: indexed columns or digest differ from the "
                                          "stored record"))
            check(r[8:12], ("import",), item_id=item_id, what=what, expect=expect)

        for r in cur.execute(
            f"SELECT {', '.join('x.' + c for c in _INSPECTION_COLS)}, x.event_seq, e.kind, "
            f"e.item_id, e.data FROM inspections x {ev}"
        ):
            vals = r[:len(_INSPECTION_COLS)]
            check(r[11:15], ("scan",), item_id=vals[1], what=f"inspection {vals[0]}",
                  expect={"inspection_id": vals[0], "spectrum_hash": vals[7],
                   "digest": _row_digest(_INSPECTION_COLS, vals)})

        for r in cur.execute(
            f"SELECT {', '.join('x.' + c for c in _RESULT_COLS)}, x.event_seq, e.kind, "
            f"e.item_id, e.data, i.item_id FROM results x {ev} "
            "LEFT JOIN inspections i ON i.inspection_id = x.inspection_id"
        ):
            vals = list(r[:len(_RESULT_COLS)])
            vals[8] = bool(vals[8])
            check(r[12:16], ("verdict", "reidentify"), item_id=r[16] or "?",
                  what=f"result {vals[0]} of inspection {vals[1]}",
                  expect={"result_id": vals[0], "verdict": vals[7], "alert": vals[8],
                   "digest": _row_digest(_RESULT_COLS, vals)})

        last: dict[str, tuple[str, str, int]] = {}
        for r in cur.execute(
            f"SELECT {', '.join('x.' + c for c in _TRANSITION_COLS)}, x.event_seq, e.kind, "
            f"e.item_id, e.data FROM hold_transitions x {ev} ORDER BY x.id"
        ):
            vals = r[:5]
            kinds = tuple(k.value for s, k in EVENT_FOR_STATE.items() if s.value == vals[1])
            check(r[5:9], kinds, item_id=vals[0],
                  what=f"hold transition of {vals[0]} to {vals[1]}",
                  expect={"digest": _row_digest(_TRANSITION_COLS, vals)})
            if vals[0] not in last:
                last[vals[0]] = (vals[2], vals[1], r[5])
            last[vals[0]] = (last[vals[0]][0], vals[1], r[5])
        for r in cur.execute(
            "SELECT h.item_id, h.state, h.requested_at, p.event_seq FROM holds h "
            "LEFT JOIN parcels p ON p.item_id = h.item_id"
        ):
            first_at, state, last_seq = last.get(r[0], (None, None, r[3] or 0))
            if (state, first_at) != (r[1], r[2]):
                out.append(Finding(seq=last_seq, problem=Problem.EVIDENCE,
                                   detail=f"hold of {r[0]}: state {r[1]} / requested at "
                                          f"{r[2]} disagree with its logged transitions"))

        # every logged record must still exist
        tables = (("import", "parcels"), ("scan", "inspections"), ("verdict", "results"),
                  ("reidentify", "results"))
        for kind, table in tables:
            for r in cur.execute(
                f"SELECT seq, item_id FROM audit_events WHERE kind = ? AND seq NOT IN "
                f"(SELECT event_seq FROM {table})", (kind,)
            ):
                out.append(Finding(seq=r[0], problem=Problem.EVIDENCE,
                                   detail=f"event #{r[0]} ({kind}, {r[1]}) logs a record that "
                                          f"is no longer in {table}: it was deleted"))
        hold_kinds = tuple(k.value for k in EVENT_FOR_STATE.values())
        for r in cur.execute(
            f"SELECT seq, kind, item_id FROM audit_events WHERE kind IN "
            f"({','.join('?' * len(hold_kinds))}) AND seq NOT IN "
            "(SELECT event_seq FROM hold_transitions)", hold_kinds
        ):
            out.append(Finding(seq=r[0], problem=Problem.EVIDENCE,
                               detail=f"event #{r[0]} ({r[1]}, {r[2]}) logs a hold transition "
                                      "that is no longer stored: it was deleted"))

        # raw spectra: present, and (deep) decoding to their hash
        for r in cur.execute(
            "SELECT i.spectrum_hash, min(i.event_seq), s.meta, a.data, s.data, s.hash "
            "FROM inspections i LEFT JOIN spectra s ON s.hash = i.spectrum_hash "
            "LEFT JOIN axes a ON a.hash = s.axis_hash GROUP BY i.spectrum_hash"
        ):
            if r[5] is None or r[3] is None:
                out.append(Finding(seq=r[1], problem=Problem.EVIDENCE,
                                   detail=f"raw spectrum {r[0]} logged by event #{r[1]} is "
                                          "missing" + ("" if r[5] is None else " its x axis")))
            elif deep:
                try:
                    decode_spectrum(r[0], r[2], bytes(r[3]), bytes(r[4]))
                except IntegrityError as exc:
                    out.append(Finding(seq=r[1], problem=Problem.EVIDENCE, detail=str(exc)))
        return out


    # -- sync (the station's side) ----------------------------------------------------
    def sync_batch(self, *, after_seq: int, station: str,
                   max_events: int = 500) -> StationBatch:
        """See :meth:`Store.sync_batch`."""
        cur = self._con.cursor()
        cur.execute("BEGIN")  # one snapshot: the events and their records agree
        try:
            return self._sync_batch(cur, after_seq, station, max_events)
        finally:
            self._con.execute("COMMIT")

    def _sync_batch(self, cur: sqlite3.Cursor, after_seq: int, station: str,
                    max_events: int) -> StationBatch:
        cols = "seq, at, kind, actor, item_id, data, prev_hash, hash"
        rows = cur.execute(f"SELECT {cols} FROM audit_events WHERE seq > ? ORDER BY seq "
                           "LIMIT ?", (after_seq, max(1, max_events))).fetchall()
        # never end a run between a scan and its result (or the inspected move after them)
        while rows:
            nxt = cur.execute(f"SELECT {cols} FROM audit_events WHERE seq = ?",
                              (rows[-1][0] + 1,)).fetchone()
            if nxt is None or nxt[2] not in (EventKind.VERDICT.value,
                                              EventKind.INSPECTED.value):
                break
            rows.append(nxt)
        events = [WireEvent.of(RawEvent(*r)) for r in rows]
        if not events:
            return StationBatch(station=station, events=[])
        lo, hi = events[0].seq, events[-1].seq
        parcels = [WireParcel(seq=r[0], record=r[1]) for r in cur.execute(
            "SELECT event_seq, record FROM parcels WHERE event_seq BETWEEN ? AND ?", (lo, hi))]
        inspections = [
            WireInspection(seq=r[-1], **dict(zip(INSPECTION_COLS, r[:-1], strict=True)))
            for r in cur.execute(
                f"SELECT {', '.join(INSPECTION_COLS)}, event_seq FROM inspections "
                "WHERE event_seq BETWEEN ? AND ?", (lo, hi))]
        results = [
            WireResult(seq=r[-1], **dict(zip(RESULT_COLS, (*r[:8], bool(r[8]), *r[9:-1]),
                                             strict=True)))
            for r in cur.execute(
                f"SELECT {', '.join(RESULT_COLS)}, event_seq FROM results "
                "WHERE event_seq BETWEEN ? AND ?", (lo, hi))]
        transitions = [
            WireTransition(seq=r[-1], **dict(zip(TRANSITION_COLS, r[:-1], strict=True)))
            for r in cur.execute(
                f"SELECT {', '.join(TRANSITION_COLS)}, event_seq FROM hold_transitions "
                "WHERE event_seq BETWEEN ? AND ?", (lo, hi))]
        spectra = [
            WireSpectrum(hash=r[0], n=r[1], meta=r[2], axis_hash=r[3], axis=bytes(r[4]),
                         data=bytes(r[5]))
            for r in cur.execute(
                "SELECT s.hash, s.n, s.meta, s.axis_hash, a.data, s.data FROM spectra s "
                "JOIN axes a ON a.hash = s.axis_hash WHERE s.hash IN (SELECT spectrum_hash "
                "FROM inspections WHERE event_seq BETWEEN ? AND ?)", (lo, hi))]
        return StationBatch(station=station, events=events, parcels=parcels,
                            inspections=inspections, results=results,
                            transitions=transitions, spectra=spectra)

    def unsent(self, *, after_seq: int) -> tuple[int, int]:
        """See :meth:`Store.unsent`."""
        row = self._con.execute(
            "SELECT count(*), coalesce(sum(kind = 'scan'), 0) FROM audit_events "
            "WHERE seq > ?", (after_seq,)).fetchone()
        return int(row[0]), int(row[1])

    def sync_state(self, name: str) -> tuple[int, str] | None:
        """See :meth:`Store.sync_state` (kept in the ``meta`` table)."""
        row = self._con.execute("SELECT value FROM meta WHERE key = ?",
                                (f"sync:{name}",)).fetchone()
        if row is None:
            return None
        seq, _, h = str(row[0]).partition(":")
        return int(seq), h

    def set_sync_state(self, name: str, seq: int, head_hash: str) -> None:
        """See :meth:`Store.set_sync_state`."""
        with self._write() as cur:
            cur.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)",
                        (f"sync:{name}", f"{int(seq)}:{head_hash}"))

__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SQLiteStore"]
