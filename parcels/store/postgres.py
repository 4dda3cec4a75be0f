"""The PostgreSQL evidence store: the fleet's central record (:class:`CentralStore`).

The same records, checks and audit chain as the SQLite store, for many concurrent writers:

* psycopg 3 with a connection pool (:mod:`psycopg_pool`); every method borrows a connection
  for one transaction and gives it back.
* **One chain under concurrency**: every appending transaction first locks the single row of
  ``audit_head`` (``SELECT … FOR UPDATE``), reads the head from it, appends, and writes the
  new head before it commits. Writers queue on that row lock; the chain stays linear, and
  the stored head catches a tail cut off the log (as ``meta.audit_head`` does in SQLite).
* Stored values are the very texts the SQLite store writes (instants as ISO 8601 UTC text,
  JSON as pydantic wrote it): each record's digest, logged by its audit event, is taken over
  those texts, so a station's record keeps its digest at central, byte for byte.
* **Append-only, enforced by the database**: ``BEFORE UPDATE OR DELETE`` row triggers and
  ``BEFORE TRUNCATE`` statement triggers on every evidence table refuse the change (a hold's
  current ``state`` is the one updatable column). The migration also creates the
  ``interdict_writer`` role with ``SELECT``/``INSERT`` only (and ``UPDATE`` of a hold's
  state and of the head row): run the service as a login role that is a member of it, and
  even a dropped trigger does not give it ``UPDATE``/``DELETE`` (``docs/central.md``).
* **Versioned migrations**: ``schema_migrations`` records each applied version; they are
  applied in order in one transaction under an advisory lock (several service processes
  may start at once); a database stamped with a newer version is refused.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from matcher.results import Verdict
from spectra import Pipeline, Spectrum

from ..audit import GENESIS, Finding, Problem, RawEvent, VerifyReport, chain_hash, verify_chain
from ..blobs import decode_spectrum, encode_spectrum
from ..errors import IllegalTransitionError, IntegrityError, ParcelNotFoundError, SchemaVersionError
from ..holds import EVENT_FOR_STATE, TRANSITIONS, check_inspectable, check_transition
from ..periods import Period
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
)
from ..s10 import validate_item_id
from ..sync import (
    HOLD_KINDS,
    INSPECTION_COLS,
    RESULT_COLS,
    TRANSITION_COLS,
    CheckedBatch,
    HoldConflict,
    PushOutcome,
    StationBatch,
    StationHead,
    SyncRefused,
    WireEvent,
    WireInspection,
    WireParcel,
    WireResult,
    WireSpectrum,
    WireTransition,
    WorkBatch,
    check_batch,
    record_digest,
    row_digest,
)
from .base import (
    CentralStore,
    ComplianceCounts,
    HoldFact,
    InspectionFact,
    NewInspection,
    PositivityCounts,
    RowOutcome,
    RowStatus,
)
from .sqlite import _dt, _new_id, _primary, _ts

_IDENT = TypeAdapter[AnyIdentification](AnyIdentification)
_LOCK_MIGRATE = 0x49445452  # advisory lock key while migrating ("IDTR")
WRITER_ROLE = "interdict_writer"

EVIDENCE_TABLES = ("audit_events", "parcels", "hold_transitions", "axes", "spectra",
                   "inspections", "results", "station_events", "station_heads",
                   "hold_conflicts")
"""Tables no row of which may ever be updated or deleted."""


def _append_only(table: str) -> tuple[str, ...]:
    return (
        f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} FOR EACH ROW "
        "EXECUTE FUNCTION interdict_refuse()",
        f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
        "FOR EACH STATEMENT EXECUTE FUNCTION interdict_refuse()",
    )


_V1: tuple[str, ...] = (
    """CREATE FUNCTION interdict_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
           USING ERRCODE = 'insufficient_privilege';
       END $$""",
    """CREATE FUNCTION interdict_hold_guard() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN
         IF TG_OP = 'DELETE' OR NEW.item_id <> OLD.item_id
            OR NEW.requested_at <> OLD.requested_at THEN
           RAISE EXCEPTION 'holds: only the current state may change (% refused)', TG_OP
             USING ERRCODE = 'insufficient_privilege';
         END IF;
         RETURN NEW;
       END $$""",
    """CREATE TABLE audit_head (id smallint PRIMARY KEY CHECK (id = 1),
        seq bigint NOT NULL, hash text NOT NULL)""",
    f"INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, '{GENESIS}')",
    """CREATE TABLE audit_events (seq bigint PRIMARY KEY, at text NOT NULL, kind text NOT NULL,
        actor text NOT NULL, item_id text, data text NOT NULL, prev_hash text NOT NULL,
        hash text NOT NULL)""",
    "CREATE INDEX audit_events_hash ON audit_events (hash)",
    "CREATE INDEX audit_events_item ON audit_events (item_id, seq)",
    """CREATE TABLE parcels (item_id text PRIMARY KEY, origin_country text NOT NULL,
        mail_class text NOT NULL, received_at text NOT NULL, facility text NOT NULL,
        category text NOT NULL, record text NOT NULL, digest text NOT NULL,
        imported_at text NOT NULL, event_seq bigint NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX parcels_received ON parcels (received_at)",
    "CREATE INDEX parcels_origin ON parcels (origin_country, received_at)",
    "CREATE INDEX parcels_facility ON parcels (facility, received_at)",
    # statistics join inspections to parcels: an index-only scan instead of fetching records
    "CREATE INDEX parcels_stats ON parcels (item_id) INCLUDE (origin_country, category, "
    "received_at, facility)",
    """CREATE TABLE holds (item_id text PRIMARY KEY REFERENCES parcels (item_id),
        state text NOT NULL, requested_at text NOT NULL)""",
    "CREATE INDEX holds_state ON holds (state)",
    "CREATE INDEX holds_requested ON holds (requested_at)",
    """CREATE TABLE hold_transitions (id bigserial PRIMARY KEY,
        item_id text NOT NULL REFERENCES holds (item_id), state text NOT NULL,
        at text NOT NULL, actor text NOT NULL, note text,
        event_seq bigint NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX hold_transitions_item ON hold_transitions (item_id, id)",
    "CREATE TABLE axes (hash text PRIMARY KEY, n integer NOT NULL, data bytea NOT NULL)",
    """CREATE TABLE spectra (hash text PRIMARY KEY, n integer NOT NULL, meta text NOT NULL,
        axis_hash text NOT NULL REFERENCES axes (hash), data bytea NOT NULL)""",
    """CREATE TABLE inspections (inspection_id text PRIMARY KEY,
        item_id text NOT NULL REFERENCES parcels (item_id), performed_at text NOT NULL,
        operator text NOT NULL, station text NOT NULL, device text NOT NULL,
        technique text NOT NULL, spectrum_hash text NOT NULL REFERENCES spectra (hash),
        pipeline text NOT NULL, library_id text NOT NULL, library_hash text NOT NULL,
        event_seq bigint NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX inspections_item ON inspections (item_id, performed_at, event_seq)",
    """CREATE TABLE results (result_id text PRIMARY KEY,
        inspection_id text NOT NULL REFERENCES inspections (inspection_id),
        kind text NOT NULL, recorded_at text NOT NULL, recorded_by text NOT NULL,
        library_id text NOT NULL, library_hash text NOT NULL, verdict text NOT NULL,
        alert boolean NOT NULL, identification text NOT NULL,
        based_on text REFERENCES results (result_id), note text,
        event_seq bigint NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX results_inspection ON results (inspection_id, event_seq)",
    # what stations sent: their chains verbatim, the heads recorded at each sync, the
    # hold moves that were not applied
    """CREATE TABLE station_events (station text NOT NULL, seq bigint NOT NULL,
        at text NOT NULL, kind text NOT NULL, actor text NOT NULL, item_id text,
        data text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL,
        central_seq bigint NOT NULL REFERENCES audit_events (seq),
        PRIMARY KEY (station, seq))""",
    """CREATE TABLE station_heads (id bigserial PRIMARY KEY, station text NOT NULL,
        seq bigint NOT NULL, hash text NOT NULL, received_at text NOT NULL,
        signature text, public_key text, key_id text,
        central_seq bigint NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX station_heads_station ON station_heads (station, id)",
    """CREATE TABLE hold_conflicts (id bigserial PRIMARY KEY, item_id text NOT NULL,
        facility text NOT NULL, station text NOT NULL, station_seq bigint NOT NULL,
        wanted text NOT NULL, central_state text, at text NOT NULL, actor text NOT NULL,
        detail text NOT NULL, central_seq bigint NOT NULL REFERENCES audit_events (seq))""",
    "CREATE TABLE sync_state (name text PRIMARY KEY, seq bigint NOT NULL, hash text NOT NULL)",
    *(stmt for t in EVIDENCE_TABLES for stmt in _append_only(t)),
    """CREATE TRIGGER holds_guard BEFORE UPDATE OR DELETE ON holds FOR EACH ROW
       EXECUTE FUNCTION interdict_hold_guard()""",
    """CREATE TRIGGER holds_no_truncate BEFORE TRUNCATE ON holds FOR EACH STATEMENT
       EXECUTE FUNCTION interdict_refuse()""",
    # least privilege for the service (the role is cluster-wide: create it once)
    f"""DO $$ BEGIN
          IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
            CREATE ROLE {WRITER_ROLE} NOLOGIN;
          END IF;
        EXCEPTION WHEN insufficient_privilege THEN
          RAISE NOTICE 'cannot create role {WRITER_ROLE}: grant it by hand';
        END $$""",
    f"""DO $$ BEGIN
          IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '{WRITER_ROLE}') THEN
            GRANT SELECT, INSERT ON {", ".join((*EVIDENCE_TABLES, "holds"))}
              TO {WRITER_ROLE};
            GRANT SELECT, INSERT, UPDATE ON sync_state TO {WRITER_ROLE};
            GRANT SELECT, UPDATE ON audit_head TO {WRITER_ROLE};
            GRANT SELECT ON schema_migrations TO {WRITER_ROLE};
            GRANT UPDATE (state) ON holds TO {WRITER_ROLE};
            GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {WRITER_ROLE};
          END IF;
        END $$""",
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1,)
"""Ordered migrations: ``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)


class _Chain:
    """Appends audit events inside one write transaction, after locking the head row."""

    def __init__(self, cur: Any) -> None:
        self.cur = cur
        row = cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()
        if row is None:
            raise IntegrityError("the audit head row is missing")
        self.seq, self.hash = int(row[0]), str(row[1])
        self.start = self.seq

    def append(self, kind: EventKind, actor: str, item_id: str | None, data: dict[str, Any],
               at: str) -> int:
        seq = self.seq + 1
        data_text = canonical_json(data)
        h = chain_hash(self.hash, seq=seq, at=at, kind=kind.value, actor=actor,
                       item_id=item_id, data_text=data_text)
        self.cur.execute(
            "INSERT INTO audit_events (seq, at, kind, actor, item_id, data, prev_hash, hash) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
            (seq, at, kind.value, actor, item_id, data_text, self.hash, h))
        self.seq, self.hash = seq, h
        return seq

    def finish(self) -> None:
        if self.seq != self.start:
            self.cur.execute("UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1",
                             (self.seq, self.hash))


_PERIOD_SQL: Mapping[str, str] = {
    "day": "substr({c}, 1, 10)",
    "month": "substr({c}, 1, 7)",
    "week": "to_char(({c})::timestamptz AT TIME ZONE 'UTC', 'IYYY-\"W\"IW')",
    "all": "'all'",
}
"""SQL for :func:`parcels.periods.period_key` over a stored instant (ISO 8601 UTC text)."""


class PostgresStore(CentralStore):
    """The evidence store in a PostgreSQL database.

    Parameters
    ----------
    url
        ``postgresql://user@host:port/database`` (any libpq connection string).
    min_connections, max_connections
        Size of the connection pool.
    clock
        Source of "now" (UTC); injectable for tests.
    migrate
        Apply pending migrations at open (needs the owner's rights); otherwise a database
        not at this code's version is refused.

    Raises
    ------
    SchemaVersionError
        The database holds a newer schema, or tables that are not Interdict's.
    psycopg.OperationalError
        The server cannot be reached.
    """

    def __init__(self, url: str, *, min_connections: int = 1, max_connections: int = 10,
                 clock: Callable[[], datetime] | None = None, migrate: bool = True,
                 timeout_s: float = 30.0) -> None:
        from psycopg_pool import ConnectionPool

        self.url = url
        self._clock = clock or (lambda: datetime.now(UTC))
        self._pool = ConnectionPool(url, min_size=min_connections, max_size=max_connections,
                                    open=False, timeout=timeout_s,
                                    kwargs={"autocommit": False})
        self._pool.open(wait=True, timeout=timeout_s)
        self._closed = threading.Event()
        try:
            if migrate:
                self._migrate()
            self._check_version()
        except BaseException:
            self._pool.close()
            raise

    # -- lifecycle --------------------------------------------------------------------
    def close(self) -> None:
        """Close the pool (waits for borrowed connections to come back)."""
        if not self._closed.is_set():
            self._closed.set()
            self._pool.close()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection for one transaction (committed on success, rolled back on
        an exception). For the central service's own tables; evidence goes through the
        methods."""
        with self._pool.connection() as con:
            yield con

    @contextmanager
    def _read(self) -> Iterator[Any]:
        """A cursor in a repeatable-read, read-only transaction (one snapshot)."""
        with self._pool.connection() as con:
            cur = con.cursor()
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield cur

    @contextmanager
    def _write(self) -> Iterator[Any]:
        with self._pool.connection() as con:
            yield con.cursor()

    def _now(self) -> str:
        return _ts(self._clock())

    @property
    def schema_version(self) -> int:
        """The highest migration applied."""
        with self._pool.connection() as con:
            row = con.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
            if not row or not row[0]:
                return 0
            v = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
            return int(v.fetchone()[0])  # type: ignore[index]

    def _check_version(self) -> None:
        v = self.schema_version
        if v > SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the database has schema version {v}, newer than this code (which knows up "
                f"to {SCHEMA_VERSION}): upgrade Interdict to open it")
        if v < SCHEMA_VERSION:
            raise SchemaVersionError(
                f"the database has schema version {v}; this code needs {SCHEMA_VERSION}: "
                "open it once with migrate=True (as the owner) to migrate")

    def _migrate(self) -> None:
        with self._pool.connection() as con:
            con.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_MIGRATE,))
            has = con.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
            if not has or not has[0]:
                n = con.execute("SELECT count(*) FROM information_schema.tables "
                                "WHERE table_schema = current_schema()").fetchone()
                if n and n[0]:
                    raise SchemaVersionError(
                        f"the database holds {n[0]} table(s) but no Interdict schema: "
                        "refusing to write into someone else's database")
                con.execute("CREATE TABLE schema_migrations (version integer PRIMARY KEY, "
                            "applied_at timestamptz NOT NULL DEFAULT now())")
            row = con.execute("SELECT coalesce(max(version), 0) FROM schema_migrations")
            version = int(row.fetchone()[0])  # type: ignore[index]
            for v in range(version, len(MIGRATIONS)):
                for stmt in MIGRATIONS[v]:
                    con.execute(stmt)
                con.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (v + 1,))

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

    def _import_chunk(self, rows: list[tuple[int, Parcel]], actor: str,
                      source: str) -> list[RowOutcome]:
        prepared = []
        for line, p in rows:
            record = canonical_json(p.model_dump(mode="json"))
            prepared.append((line, p, record, record_digest(record)))
        out: list[RowOutcome] = []
        with self._write() as cur:
            chain = _Chain(cur)
            now = self._now()
            stored = {r[0]: (r[1], r[2]) for r in cur.execute(
                "SELECT item_id, digest, imported_at FROM parcels WHERE item_id = ANY(%s)",
                ([p.item_id for _, p, _, _ in prepared],))}
            for line, p, record, d in prepared:
                if p.item_id in stored:
                    have, when = stored[p.item_id]
                    if have == d:
                        out.append(RowOutcome(line=line, item_id=p.item_id,
                                              status=RowStatus.UNCHANGED))
                    else:
                        out.append(RowOutcome(
                            line=line, item_id=p.item_id, status=RowStatus.CONFLICT,
                            reason=f"{p.item_id} is already stored (imported {when}) with "
                                   "different content; the stored record was kept"))
                    continue
                seq = chain.append(EventKind.IMPORT, actor, p.item_id,
                                   {"digest": d, "source": source, "line": line}, now)
                self._insert_parcel(cur, p, record=record, d=d, now=now, seq=seq)
                stored[p.item_id] = (d, now)
                if p.hold is not None:
                    self._request(cur, chain, item_id=p.item_id, by=p.hold.requested_by,
                                  reason=p.hold.reason, requested_at=_ts(p.hold.requested_at),
                                  now=now)
                out.append(RowOutcome(line=line, item_id=p.item_id, status=RowStatus.INSERTED,
                                      hold_requested=p.hold is not None))
            chain.finish()
        return out

    @staticmethod
    def _insert_parcel(cur: Any, p: Parcel, *, record: str, d: str, now: str, seq: int) -> None:
        cur.execute(
            "INSERT INTO parcels (item_id, origin_country, mail_class, received_at, facility, "
            "category, record, digest, imported_at, event_seq) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (p.item_id, p.origin_country, p.mail_class, _ts(p.received_at), p.facility,
             p.declaration.category.value, record, d, now, seq))

    @staticmethod
    def _parcel_state(cur: Any, item_id: str) -> HoldState | None:
        sql = ("SELECT p.item_id, h.state FROM parcels p LEFT JOIN holds h "
               "ON h.item_id = p.item_id WHERE p.item_id = %s")
        row = cur.execute(sql, (item_id,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("parcel", item_id)
        return None if row[1] is None else HoldState(row[1])

    def get_parcel(self, item_id: str) -> ParcelFile:
        """See :meth:`Store.get_parcel`."""
        item_id = validate_item_id(item_id)
        with self._read() as cur:
            row = cur.execute("SELECT record, imported_at FROM parcels WHERE item_id = %s",
                              (item_id,)).fetchone()
            if row is None:
                raise ParcelNotFoundError("parcel", item_id)
            try:
                parcel = Parcel.model_validate_json(row[0])
            except ValidationError as exc:
                raise IntegrityError(f"stored record of {item_id} no longer parses: {exc}") \
                    from exc
            hold = self._hold(cur, item_id)
            inspections = self._inspections(cur, item_id)
        return ParcelFile(parcel=parcel, imported_at=_dt(row[1]), hold=hold,
                          inspections=inspections)

    def facility_of(self, item_id: str) -> str:
        """See :meth:`CentralStore.facility_of`."""
        item_id = validate_item_id(item_id)
        with self._pool.connection() as con:
            row = con.execute("SELECT facility FROM parcels WHERE item_id = %s",
                              (item_id,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("parcel", item_id)
        return str(row[0])

    def find(self, query: ParcelQuery) -> list[ParcelSummary]:
        """See :meth:`Store.find`."""
        current = ("r.event_seq = (SELECT max(r2.event_seq) FROM results r2 "
                   "WHERE r2.inspection_id = r.inspection_id)")
        where: list[str] = []
        params: list[Any] = []
        if query.item_ids is not None:
            where.append("p.item_id = ANY(%s)")
            params.append(list(query.item_ids))
        if query.hold_state is not None:
            where.append("h.state = %s")
            params.append(query.hold_state.value)
        if query.verdict is not None:
            where.append(
                "EXISTS (SELECT 1 FROM inspections i JOIN results r ON r.inspection_id = "
                f"i.inspection_id WHERE i.item_id = p.item_id AND r.verdict = %s AND {current})")
            params.append(query.verdict.value)
        if query.alert is not None:
            neg = "" if query.alert else "NOT "
            where.append(
                f"{neg}EXISTS (SELECT 1 FROM inspections i JOIN results r ON r.inspection_id "
                f"= i.inspection_id WHERE i.item_id = p.item_id AND r.alert AND {current})")
        if query.origin_country is not None:
            where.append("p.origin_country = %s")
            params.append(query.origin_country)
        if query.received_from is not None:
            where.append("p.received_at >= %s")
            params.append(_ts(query.received_from))
        if query.received_to is not None:
            where.append("p.received_at < %s")
            params.append(_ts(query.received_to))
        sql = (
            "SELECT p.item_id, p.origin_country, p.mail_class, p.received_at, p.facility, "
            "p.category, h.state, "
            "(SELECT count(*) FROM inspections i WHERE i.item_id = p.item_id), "
            "(SELECT r.verdict FROM inspections i JOIN results r ON r.inspection_id = "
            " i.inspection_id WHERE i.item_id = p.item_id ORDER BY r.event_seq DESC LIMIT 1), "
            "EXISTS (SELECT 1 FROM inspections i JOIN results r ON r.inspection_id = "
            f" i.inspection_id WHERE i.item_id = p.item_id AND r.alert AND {current}) "
            "FROM parcels p LEFT JOIN holds h ON h.item_id = p.item_id")
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += (" ORDER BY p.received_at, p.item_id" if query.order == "received"
                else " ORDER BY p.item_id")
        if query.limit is not None:
            sql += f" LIMIT {int(query.limit)}"
        with self._read() as cur:
            rows = cur.execute(sql, params).fetchall()
        return [
            ParcelSummary(item_id=r[0], origin_country=r[1], mail_class=r[2],
                          received_at=_dt(r[3]), facility=r[4], category=r[5],
                          hold_state=r[6], inspections=r[7], verdict=r[8], alert=bool(r[9]))
            for r in rows
        ]

    # -- holds ------------------------------------------------------------------------
    def _request(self, cur: Any, chain: _Chain, *, item_id: str, by: str, reason: str,
                 requested_at: str, now: str) -> None:
        cur.execute("INSERT INTO holds (item_id, state, requested_at) VALUES (%s, %s, %s)",
                    (item_id, HoldState.REQUESTED.value, requested_at))
        self._log_transition(cur, chain, item_id=item_id, state=HoldState.REQUESTED,
                             previous=None, at=requested_at, actor=by, note=reason, now=now)

    @staticmethod
    def _log_transition(cur: Any, chain: _Chain, *, item_id: str, state: HoldState,
                        previous: HoldState | None, at: str, actor: str, note: str | None,
                        now: str, extra: Mapping[str, Any] | None = None) -> None:
        values = (item_id, state.value, at, actor, note)
        seq = chain.append(
            EVENT_FOR_STATE[state], actor, item_id,
            {"state": state.value, "from": None if previous is None else previous.value,
             "at": at, "note": note, "digest": row_digest(TRANSITION_COLS, values),
             **(extra or {})},
            now)
        cur.execute("INSERT INTO hold_transitions (item_id, state, at, actor, note, event_seq) "
                    "VALUES (%s, %s, %s, %s, %s, %s)", (*values, seq))
        if previous is not None:
            cur.execute("UPDATE holds SET state = %s WHERE item_id = %s",
                        (state.value, item_id))

    def request_hold(
        self, item_id: str, *, requested_by: str, reason: str, at: datetime | None = None,
        held_by: str | None = None,
    ) -> HoldRecord:
        """See :meth:`Store.request_hold`."""
        item_id = validate_item_id(item_id)
        if not requested_by or not reason:
            raise ValueError("a hold request needs who requests it and why")
        with self._write() as cur:
            chain = _Chain(cur)
            current = self._parcel_state(cur, item_id)
            check_transition(item_id, current, HoldState.REQUESTED)
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
        if hold is None:
            raise IntegrityError(f"hold of {item_id} vanished right after it was written")
        return hold

    def transition(self, item_id: str, target: HoldState, *, actor: str,
                   note: str | None = None, at: datetime | None = None) -> HoldRecord:
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
            chain = _Chain(cur)
            current = self._parcel_state(cur, item_id)
            check_transition(item_id, current, target)
            now = self._now()
            self._log_transition(cur, chain, item_id=item_id, state=target, previous=current,
                                 at=now if at is None else _ts(at), actor=actor, note=note,
                                 now=now)
            chain.finish()
        return self._written_hold(item_id)

    @staticmethod
    def _holds(cur: Any, item_ids: Sequence[str]) -> dict[str, HoldRecord]:
        states: dict[str, str] = {}
        ts: dict[str, list[HoldTransition]] = {}
        for r in cur.execute(  # one round trip: the holds with their transitions
                "SELECT h.item_id, h.state, t.state, t.at, t.actor, t.note FROM holds h "
                "LEFT JOIN hold_transitions t ON t.item_id = h.item_id "
                "WHERE h.item_id = ANY(%s) ORDER BY h.item_id, t.id", (list(item_ids),)):
            states[r[0]] = r[1]
            moves = ts.setdefault(r[0], [])
            if r[2] is not None:
                moves.append(HoldTransition(state=r[2], at=_dt(r[3]), actor=r[4], note=r[5]))
        out = {}
        for item_id, state in states.items():
            t = ts[item_id]
            if not t or t[0].state is not HoldState.REQUESTED or t[-1].state.value != state:
                raise IntegrityError(f"hold of {item_id}: state {state} does not match its "
                                     "transition history")
            out[item_id] = HoldRecord(item_id=item_id, state=state, requested_at=t[0].at,
                                      requested_by=t[0].actor, reason=t[0].note or "",
                                      transitions=tuple(t))
        return out

    def _hold(self, cur: Any, item_id: str) -> HoldRecord | None:
        return self._holds(cur, [item_id]).get(item_id)

    def get_hold(self, item_id: str) -> HoldRecord | None:
        """See :meth:`Store.get_hold`."""
        item_id = validate_item_id(item_id)
        with self._read() as cur:
            return self._hold(cur, item_id)

    # -- inspections ------------------------------------------------------------------
    def add_inspection(self, item_id: str, spectrum: Spectrum,
                       identification: AnyIdentification, *, operator: str, station: str,
                       device: DeviceIdentity, performed_at: datetime | None = None,
                       ) -> Inspection:
        """See :meth:`Store.add_inspection`."""
        return self.add_inspections([NewInspection(
            item_id=item_id, spectrum=spectrum, identification=identification,
            operator=operator, station=station, device=device, performed_at=performed_at)])[0]

    def add_inspections(self, batch: Sequence[NewInspection]) -> list[Inspection]:
        """See :meth:`Store.add_inspections`."""
        prepared = []
        for new in batch:
            item_id = validate_item_id(new.item_id)
            technique = new.spectrum.technique.value
            primary = _primary(new.identification, technique)
            if not new.operator or not new.station:
                raise ValueError(f"{item_id}: an inspection needs an operator and a station")
            prepared.append((new, item_id, technique, primary, encode_spectrum(new.spectrum),
                             new.identification.model_dump_json(),
                             new.device.model_dump_json(), primary.pipeline.model_dump_json(),
                             _new_id(), _new_id()))
        out: list[Inspection] = []
        with self._write() as cur:
            chain = _Chain(cur)
            now = self._now()
            for (new, item_id, technique, primary, enc, ident_text, device_text,
                 pipeline_text, inspection_id, result_id) in prepared:
                performed = now if new.performed_at is None else _ts(new.performed_at)
                current = self._parcel_state(cur, item_id)
                check_inspectable(item_id, current)
                self._store_spectrum(cur, enc.content_hash, n=enc.n, meta=enc.meta,
                                     axis_hash=enc.axis_hash, axis=enc.pack_axis,
                                     data=enc.values)
                ivals = (inspection_id, item_id, performed, new.operator, new.station,
                         device_text, technique, enc.content_hash, pipeline_text,
                         primary.library_id, primary.library_hash)
                seq = chain.append(
                    EventKind.SCAN, new.operator, item_id,
                    {"inspection_id": inspection_id, "spectrum_hash": enc.content_hash,
                     "technique": technique, "digest": row_digest(INSPECTION_COLS, ivals)},
                    now)
                self._insert_inspection(cur, ivals, seq)
                rvals = (result_id, inspection_id, ResultKind.ORIGINAL.value, now,
                         new.operator, primary.library_id, primary.library_hash,
                         new.identification.verdict.value, bool(new.identification.alert),
                         ident_text, None, None)
                self._log_result(cur, chain, item_id, rvals, now=now)
                if current is HoldState.HELD:
                    self._log_transition(cur, chain, item_id=item_id,
                                         state=HoldState.INSPECTED, previous=current, at=now,
                                         actor=new.operator,
                                         note=f"inspection {inspection_id}", now=now)
                out.append(Inspection(
                    inspection_id=inspection_id, item_id=item_id, performed_at=_dt(performed),
                    operator=new.operator, station=new.station, device=new.device,
                    technique=new.spectrum.technique, spectrum_hash=enc.content_hash,
                    pipeline=primary.pipeline, library_id=primary.library_id,
                    library_hash=primary.library_hash,
                    results=(Result(
                        result_id=result_id, inspection_id=inspection_id,
                        kind=ResultKind.ORIGINAL, recorded_at=_dt(now),
                        recorded_by=new.operator, library_id=primary.library_id,
                        library_hash=primary.library_hash,
                        verdict=new.identification.verdict, alert=new.identification.alert,
                        identification=new.identification),)))
            chain.finish()
        return out

    @staticmethod
    def _store_spectrum(cur: Any, h: str, *, n: int, meta: str, axis_hash: str,
                        axis: Callable[[], bytes], data: bytes) -> None:
        if cur.execute("SELECT 1 FROM axes WHERE hash = %s", (axis_hash,)).fetchone() is None:
            cur.execute("INSERT INTO axes (hash, n, data) VALUES (%s, %s, %s) "
                        "ON CONFLICT (hash) DO NOTHING", (axis_hash, n, axis()))
        cur.execute("INSERT INTO spectra (hash, n, meta, axis_hash, data) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (hash) DO NOTHING",
                    (h, n, meta, axis_hash, data))

    @staticmethod
    def _insert_inspection(cur: Any, ivals: Sequence[Any], seq: int) -> None:
        cur.execute(f"INSERT INTO inspections ({', '.join(INSPECTION_COLS)}, event_seq) "
                    f"VALUES ({', '.join(['%s'] * (len(ivals) + 1))})", (*ivals, seq))

    @staticmethod
    def _log_result(cur: Any, chain: _Chain, item_id: str, rvals: Sequence[Any], *,
                    now: str, extra: Mapping[str, Any] | None = None) -> None:
        original = rvals[2] == ResultKind.ORIGINAL.value
        seq = chain.append(
            EventKind.VERDICT if original else EventKind.REIDENTIFY, rvals[4], item_id,
            {"inspection_id": rvals[1], "result_id": rvals[0], "verdict": rvals[7],
             "alert": rvals[8], "library_id": rvals[5], "library_hash": rvals[6],
             "based_on": rvals[10], "digest": row_digest(RESULT_COLS, rvals),
             **(extra or {})},
            now)
        cur.execute(f"INSERT INTO results ({', '.join(RESULT_COLS)}, event_seq) "
                    f"VALUES ({', '.join(['%s'] * (len(rvals) + 1))})", (*rvals, seq))

    def add_result(self, inspection_id: str, identification: AnyIdentification, *,
                   recorded_by: str, note: str | None = None) -> Result:
        """See :meth:`Store.add_result`."""
        if not recorded_by:
            raise ValueError("a re-identification needs who recorded it")
        ident_text = identification.model_dump_json()
        result_id = _new_id()
        with self._write() as cur:
            chain = _Chain(cur)
            row = cur.execute("SELECT item_id, technique FROM inspections "
                              "WHERE inspection_id = %s", (inspection_id,)).fetchone()
            if row is None:
                raise ParcelNotFoundError("inspection", inspection_id)
            primary = _primary(identification, row[1])
            based_on = cur.execute("SELECT result_id FROM results WHERE inspection_id = %s "
                                   "ORDER BY event_seq DESC LIMIT 1",
                                   (inspection_id,)).fetchone()[0]
            now = self._now()
            rvals = (result_id, inspection_id, ResultKind.REIDENTIFICATION.value, now,
                     recorded_by, primary.library_id, primary.library_hash,
                     identification.verdict.value, bool(identification.alert), ident_text,
                     based_on, note)
            self._log_result(cur, chain, row[0], rvals, now=now)
            chain.finish()
        return next(r for r in self.get_inspection(inspection_id).results
                    if r.result_id == result_id)

    def _inspections(self, cur: Any, item_id: str | None = None,
                     inspection_id: str | None = None) -> tuple[Inspection, ...]:
        col, key = ("item_id", item_id) if item_id is not None else \
            ("inspection_id", inspection_id)
        rows: dict[str, tuple[Any, ...]] = {}
        results: dict[str, list[Result]] = {}
        try:
            for r in cur.execute(  # one round trip: the inspections with their results
                    f"SELECT {', '.join('i.' + c for c in INSPECTION_COLS)}, "
                    f"{', '.join('r.' + c for c in RESULT_COLS)} FROM inspections i "
                    "LEFT JOIN results r ON r.inspection_id = i.inspection_id "
                    f"WHERE i.{col} = %s ORDER BY i.performed_at, i.event_seq, r.event_seq",
                    (key,)):
                i, x = r[:len(INSPECTION_COLS)], r[len(INSPECTION_COLS):]
                rows.setdefault(i[0], i)
                found = results.setdefault(i[0], [])
                if x[0] is not None:
                    found.append(Result(
                        result_id=x[0], inspection_id=x[1], kind=x[2], recorded_at=_dt(x[3]),
                        recorded_by=x[4], library_id=x[5], library_hash=x[6], verdict=x[7],
                        alert=bool(x[8]), identification=_IDENT.validate_json(x[9]),
                        based_on=x[10], note=x[11]))
            return tuple(
                Inspection(inspection_id=r[0], item_id=r[1], performed_at=_dt(r[2]),
                           operator=r[3], station=r[4],
                           device=DeviceIdentity.model_validate_json(r[5]), technique=r[6],
                           spectrum_hash=r[7], pipeline=Pipeline.model_validate_json(r[8]),
                           library_id=r[9], library_hash=r[10], results=tuple(results[r[0]]))
                for r in rows.values())
        except (ValidationError, ValueError) as exc:
            raise IntegrityError(f"a stored inspection of {key} no longer parses: {exc}") \
                from exc

    def get_inspection(self, inspection_id: str) -> Inspection:
        """See :meth:`Store.get_inspection`."""
        with self._read() as cur:
            found = self._inspections(cur, inspection_id=inspection_id)
        if not found:
            raise ParcelNotFoundError("inspection", inspection_id)
        return found[0]

    def get_spectrum(self, spectrum_hash: str) -> Spectrum:
        """See :meth:`Store.get_spectrum`."""
        with self._read() as cur:
            row = cur.execute("SELECT s.meta, a.data, s.data FROM spectra s LEFT JOIN axes a "
                              "ON a.hash = s.axis_hash WHERE s.hash = %s",
                              (spectrum_hash,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("spectrum", spectrum_hash)
        if row[1] is None:
            raise IntegrityError(f"stored spectrum {spectrum_hash}: its x axis is missing")
        return decode_spectrum(spectrum_hash, row[0], bytes(row[1]), bytes(row[2]))

    # -- statistics -------------------------------------------------------------------
    @staticmethod
    def _range(since: datetime | None, until: datetime | None) -> tuple[str, str]:
        return ("" if since is None else _ts(since), "\uffff" if until is None else _ts(until))

    def hold_facts(self, *, since: datetime | None = None, until: datetime | None = None,
                   facility: str | None = None) -> Iterator[HoldFact]:
        """See :meth:`Store.hold_facts`."""
        lo, hi = self._range(since, until)
        with self._read() as cur:
            rows = cur.execute(
                "SELECT h.item_id, h.requested_at, h.state, (SELECT min(t.at) FROM "
                "hold_transitions t WHERE t.item_id = h.item_id AND t.state = 'held') "
                "FROM holds h JOIN parcels p ON p.item_id = h.item_id "
                "WHERE h.requested_at >= %s AND h.requested_at < %s "
                "AND (%s::text IS NULL OR p.facility = %s) ORDER BY h.requested_at",
                (lo, hi, facility, facility)).fetchall()
        for r in rows:
            yield HoldFact(item_id=r[0], requested_at=_dt(r[1]), state=r[2],
                           held_at=None if r[3] is None else _dt(r[3]))

    def inspection_facts(self, *, since: datetime | None = None,
                         until: datetime | None = None, facility: str | None = None,
                         ) -> Iterator[InspectionFact]:
        """See :meth:`Store.inspection_facts`."""
        lo, hi = self._range(since, until)
        with self._read() as cur:
            rows = cur.execute(
                "SELECT p.item_id, p.origin_country, p.category, p.received_at, "
                "array_agg(r.verdict ORDER BY i.performed_at, i.event_seq), bool_or(r.alert) "
                "FROM parcels p JOIN inspections i ON i.item_id = p.item_id "
                "JOIN LATERAL (SELECT verdict, alert FROM results r WHERE r.inspection_id = "
                "i.inspection_id ORDER BY r.event_seq DESC LIMIT 1) r ON true "
                "WHERE p.received_at >= %s AND p.received_at < %s "
                "AND (%s::text IS NULL OR p.facility = %s) "
                "GROUP BY p.item_id ORDER BY p.item_id", (lo, hi, facility, facility)
            ).fetchall()
        for r in rows:
            yield InspectionFact(item_id=r[0], origin_country=r[1], category=r[2],
                                 received_at=_dt(r[3]), inspections=len(r[4]),
                                 alert=bool(r[5]), verdicts=tuple(Verdict(v) for v in r[4]))

    def _range_sql(self, col: str, since: datetime | None, until: datetime | None,
                   facility: str | None) -> tuple[str, list[Any]]:
        """``AND …`` conditions for the given filters only (an open range is no predicate:
        the planner then drives from the small tables instead of scanning parcels)."""
        sql, params = "", []
        if since is not None:
            sql += f" AND {col} >= %s"
            params.append(_ts(since))
        if until is not None:
            sql += f" AND {col} < %s"
            params.append(_ts(until))
        if facility is not None:
            sql += " AND p.facility = %s"
            params.append(facility)
        return sql, params

    def compliance_counts(self, *, period: Period = "month", since: datetime | None = None,
                          until: datetime | None = None, facility: str | None = None,
                          ) -> list[ComplianceCounts]:
        """See :meth:`Store.compliance_counts`: counted by the database."""
        if period not in _PERIOD_SQL:
            raise ValueError(f"period must be day, week, month or all, got {period!r}")
        key = _PERIOD_SQL[period].format(c="h.requested_at")
        cond, params = self._range_sql("h.requested_at", since, until, facility)
        join = "JOIN parcels p ON p.item_id = h.item_id " if facility is not None else ""
        with self._read() as cur:
            cur.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
            rows = cur.execute(
                f"SELECT {key} AS k, count(*), count(t.item_id), "
                "count(*) FILTER (WHERE h.state = 'not-found'), "
                "count(*) FILTER (WHERE h.state = 'requested') "
                f"FROM holds h {join}LEFT JOIN (SELECT DISTINCT item_id FROM hold_transitions "
                "WHERE state = 'held') t ON t.item_id = h.item_id "
                f"WHERE true{cond} GROUP BY k ORDER BY k", params).fetchall()
        return [ComplianceCounts(str(r[0]), int(r[1]), int(r[2]), int(r[3]), int(r[4]))
                for r in rows]

    def positivity_counts(self, *, by: Literal["origin", "category"] = "origin",
                          since: datetime | None = None, until: datetime | None = None,
                          facility: str | None = None) -> list[PositivityCounts]:
        """See :meth:`Store.positivity_counts`: counted by the database."""
        col = {"origin": "p.origin_country", "category": "p.category"}.get(by)
        if col is None:
            raise ValueError(f"by must be origin or category, got {by!r}")
        cond, params = self._range_sql("p.received_at", since, until, facility)
        with self._read() as cur:
            cur.execute("SET LOCAL jit = off")
            rows = cur.execute(
                "WITH cur AS (SELECT DISTINCT ON (inspection_id) inspection_id, verdict, alert "
                "FROM results ORDER BY inspection_id, event_seq DESC), "
                f"ins AS (SELECT {col} AS k, i.item_id, c.verdict, c.alert FROM inspections i "
                "JOIN cur c ON c.inspection_id = i.inspection_id "
                f"JOIN parcels p ON p.item_id = i.item_id WHERE true{cond}), "
                "per AS (SELECT k, verdict, count(*) AS n FROM ins GROUP BY k, verdict), "
                "tot AS (SELECT k, count(DISTINCT item_id) AS a, count(DISTINCT item_id) "
                "FILTER (WHERE alert) AS b FROM ins GROUP BY k) "
                "SELECT tot.k, a, b, (SELECT json_object_agg(verdict, n) FROM per "
                "WHERE per.k = tot.k) FROM tot ORDER BY tot.k", params).fetchall()
        return [PositivityCounts(str(r[0]), int(r[1]), int(r[2]),
                                 {str(k): int(v) for k, v in (r[3] or {}).items()})
                for r in rows]

    # -- sync: the station's side (a station may run on PostgreSQL too) -------------------
    def sync_batch(self, *, after_seq: int, station: str,
                   max_events: int = 500) -> StationBatch:
        """See :meth:`Store.sync_batch`."""
        cols = "seq, at, kind, actor, item_id, data, prev_hash, hash"
        with self._read() as cur:
            rows = cur.execute(f"SELECT {cols} FROM audit_events WHERE seq > %s ORDER BY seq "
                               "LIMIT %s", (after_seq, max(1, max_events))).fetchall()
            while rows:  # never end a run between a scan and its result
                nxt = cur.execute(f"SELECT {cols} FROM audit_events WHERE seq = %s",
                                  (rows[-1][0] + 1,)).fetchone()
                if nxt is None or nxt[2] not in (EventKind.VERDICT.value,
                                                  EventKind.INSPECTED.value):
                    break
                rows.append(nxt)
            if not rows:
                return StationBatch(station=station, events=[])
            lo, hi = rows[0][0], rows[-1][0]
            span = "WHERE event_seq BETWEEN %s AND %s"
            parcels = [WireParcel(seq=r[0], record=r[1]) for r in cur.execute(
                f"SELECT event_seq, record FROM parcels {span}", (lo, hi))]
            inspections = [
                WireInspection(seq=r[-1], **dict(zip(INSPECTION_COLS, r[:-1], strict=True)))
                for r in cur.execute(f"SELECT {', '.join(INSPECTION_COLS)}, event_seq "
                                     f"FROM inspections {span}", (lo, hi))]
            results = [
                WireResult(seq=r[-1], **dict(zip(RESULT_COLS, r[:-1], strict=True)))
                for r in cur.execute(f"SELECT {', '.join(RESULT_COLS)}, event_seq "
                                     f"FROM results {span}", (lo, hi))]
            transitions = [
                WireTransition(seq=r[-1], **dict(zip(TRANSITION_COLS, r[:-1], strict=True)))
                for r in cur.execute(f"SELECT {', '.join(TRANSITION_COLS)}, event_seq "
                                     f"FROM hold_transitions {span}", (lo, hi))]
            spectra = [
                WireSpectrum(hash=r[0], n=r[1], meta=r[2], axis_hash=r[3], axis=bytes(r[4]),
                             data=bytes(r[5]))
                for r in cur.execute(
                    "SELECT s.hash, s.n, s.meta, s.axis_hash, a.data, s.data FROM spectra s "
                    "JOIN axes a ON a.hash = s.axis_hash WHERE s.hash IN (SELECT "
                    f"spectrum_hash FROM inspections {span})", (lo, hi))]
        return StationBatch(station=station, events=[WireEvent.of(RawEvent(*r)) for r in rows],
                            parcels=parcels, inspections=inspections, results=results,
                            transitions=transitions, spectra=spectra)

    def unsent(self, *, after_seq: int) -> tuple[int, int]:
        """See :meth:`Store.unsent`."""
        with self._read() as cur:
            row = cur.execute("SELECT count(*), count(*) FILTER (WHERE kind = 'scan') FROM "
                              "audit_events WHERE seq > %s", (after_seq,)).fetchone()
        return int(row[0]), int(row[1])

    def sync_state(self, name: str) -> tuple[int, str] | None:
        """See :meth:`Store.sync_state`."""
        with self._read() as cur:
            row = cur.execute("SELECT seq, hash FROM sync_state WHERE name = %s",
                              (name,)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def set_sync_state(self, name: str, seq: int, head_hash: str) -> None:
        """See :meth:`Store.set_sync_state`."""
        with self._write() as cur:
            cur.execute("INSERT INTO sync_state (name, seq, hash) VALUES (%s, %s, %s) "
                        "ON CONFLICT (name) DO UPDATE SET seq = EXCLUDED.seq, "
                        "hash = EXCLUDED.hash", (name, seq, head_hash))

    # -- sync: central's side ---------------------------------------------------------
    def station_head(self, station: str) -> tuple[int, str] | None:
        """See :meth:`CentralStore.station_head`."""
        with self._read() as cur:
            row = cur.execute("SELECT seq, hash FROM station_events WHERE station = %s "
                              "ORDER BY seq DESC LIMIT 1", (station,)).fetchone()
        return None if row is None else (int(row[0]), str(row[1]))

    def station_heads(self, station: str, *, limit: int = 1000) -> list[StationHead]:
        """See :meth:`CentralStore.station_heads`."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT station, seq, hash, received_at, signature, public_key, key_id FROM "
                "station_heads WHERE station = %s ORDER BY id LIMIT %s",
                (station, limit)).fetchall()
        return [StationHead(station=r[0], seq=r[1], hash=r[2], received_at=r[3],
                            signature=r[4], public_key=r[5], key_id=r[6]) for r in rows]

    def station_events(self, station: str, *, since_seq: int = 1,
                       limit: int = 1000) -> list[AuditEvent]:
        """See :meth:`CentralStore.station_events`."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT seq, at, kind, actor, item_id, data, prev_hash, hash FROM "
                "station_events WHERE station = %s AND seq >= %s ORDER BY seq LIMIT %s",
                (station, since_seq, limit)).fetchall()
        return [self._event(r) for r in rows]

    def hold_conflicts(self, *, facility: str | None = None,
                       limit: int = 1000) -> list[HoldConflict]:
        """See :meth:`CentralStore.hold_conflicts`."""
        with self._read() as cur:
            rows = cur.execute(
                "SELECT item_id, station, station_seq, wanted, central_state, at, actor, "
                "detail FROM hold_conflicts WHERE (%s::text IS NULL OR facility = %s) "
                "ORDER BY id LIMIT %s", (facility, facility, limit)).fetchall()
        return [HoldConflict(item_id=r[0], station=r[1], station_seq=r[2], wanted=r[3],
                             central_state=r[4], at=r[5], actor=r[6], detail=r[7])
                for r in rows]

    def work_since(self, facility: str, cursor: int, *, limit: int = 500) -> WorkBatch:
        """See :meth:`CentralStore.work_since`."""
        kinds = ["import", *sorted(HOLD_KINDS)]
        with self._read() as cur:
            head = int(cur.execute("SELECT seq FROM audit_head WHERE id = 1").fetchone()[0])
            rows = cur.execute(
                "SELECT e.seq, e.item_id FROM audit_events e JOIN parcels p ON "
                "p.item_id = e.item_id WHERE e.seq > %s AND e.seq <= %s AND p.facility = %s "
                "AND e.kind = ANY(%s) ORDER BY e.seq LIMIT %s",
                (cursor, head, facility, kinds, limit + 1)).fetchall()
            more = len(rows) > limit
            rows = rows[:limit]
            new_cursor = int(rows[-1][0]) if more else max(head, cursor)
            items = list(dict.fromkeys(r[1] for r in rows))
            records = {r[0]: r[1] for r in cur.execute(
                "SELECT item_id, record FROM parcels WHERE item_id = ANY(%s)", (items,))}
            holds = self._holds(cur, items)
        try:
            parcels = [Parcel.model_validate_json(records[i]) for i in items]
        except ValidationError as exc:
            raise IntegrityError(f"a stored parcel record no longer parses: {exc}") from exc
        return WorkBatch(since=cursor, cursor=new_cursor, more=more, parcels=parcels,
                         holds=[holds[i] for i in items if i in holds])

    def receive(self, batch: StationBatch, *, station: str, facility: str) -> PushOutcome:
        """See :meth:`CentralStore.receive`.

        One transaction under the chain's head lock: the station's events (verbatim), its
        records (re-logged in central's own chain, with the station and its seq), the hold
        moves central's workflow allows (the others as conflicts), and the station's head.
        """
        if batch.station != station:
            raise SyncRefused("invalid", f"the push names station {batch.station!r} but its "
                              f"credentials are {station!r}'s")
        with self._write() as cur:
            chain = _Chain(cur)
            head = cur.execute("SELECT seq, hash FROM station_events WHERE station = %s "
                               "ORDER BY seq DESC LIMIT 1", (station,)).fetchone()
            first = batch.events[0].seq if batch.events else 1
            held = {int(r[0]): str(r[1]) for r in cur.execute(
                "SELECT seq, hash FROM station_events WHERE station = %s AND seq >= %s",
                (station, first))}
            stored_spectra = {r[0] for r in cur.execute(
                "SELECT hash FROM spectra WHERE hash = ANY(%s)",
                ([i.spectrum_hash for i in batch.inspections],))}
            checked = check_batch(batch, None if head is None else (int(head[0]), str(head[1])),
                                  held.get, stored_spectra.__contains__)
            now = self._now()
            outcome = PushOutcome(station=station, received=len(checked.new),
                                  unchanged=checked.unchanged,
                                  head_seq=head[0] if head else 0,
                                  head_hash=head[1] if head else GENESIS)
            if not checked.new:
                return outcome
            self._check_facility(cur, checked, facility)
            last = checked.new[-1]
            sync_seq = chain.append(
                EventKind.SYNC, station, None,
                {"station": station, "from_seq": checked.new[0].seq, "to_seq": last.seq,
                 "head_hash": last.hash, "signature": batch.head_signature,
                 "key_id": batch.key_id}, now)
            cur.execute("INSERT INTO station_heads (station, seq, hash, received_at, signature, "
                        "public_key, key_id, central_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, "
                        "%s)", (station, last.seq, last.hash, now, batch.head_signature,
                                batch.public_key, batch.key_id, sync_seq))
            cur.executemany(
                "INSERT INTO station_events (station, seq, at, kind, actor, item_id, data, "
                "prev_hash, hash, central_seq) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
                [(station, e.seq, e.at, e.kind, e.actor, e.item_id, e.data, e.prev_hash, e.hash,
                  sync_seq) for e in checked.new])
            conflicts: list[HoldConflict] = []
            parcel_conflicts: list[str] = []
            # pipeline mode: the inserts go without waiting for each answer (one round trip
            # per read instead of one per statement); an error still aborts the transaction
            with cur.connection.pipeline():
                self._receive_records(cur, chain, checked, station=station,
                                      facility=facility, now=now, conflicts=conflicts,
                                      parcel_conflicts=parcel_conflicts)
            chain.finish()
        return outcome.model_copy(update={"head_seq": last.seq, "head_hash": last.hash,
                                          "conflicts": conflicts,
                                          "parcel_conflicts": parcel_conflicts})

    def _receive_records(self, cur: Any, chain: _Chain, checked: CheckedBatch, *, station: str,
                         facility: str, now: str, conflicts: list[HoldConflict],
                         parcel_conflicts: list[str]) -> None:
        """Store the records of a checked push, in chain order."""
        for e in checked.new:
            origin = {"station": station, "station_seq": e.seq}
            if e.seq in checked.parcels:
                self._receive_parcel(cur, chain, e, checked.parcels[e.seq], now=now,
                                     origin=origin, conflicts=parcel_conflicts)
            elif e.seq in checked.inspections:
                i = checked.inspections[e.seq]
                s = checked.spectra.get(i.spectrum_hash)
                if s is not None:  # the axis came packed: no need to look first
                    cur.execute("INSERT INTO axes (hash, n, data) VALUES (%s, %s, %s) "
                                "ON CONFLICT (hash) DO NOTHING", (s.axis_hash, s.n, s.axis))
                    cur.execute("INSERT INTO spectra (hash, n, meta, axis_hash, data) "
                                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (hash) DO NOTHING",
                                (s.hash, s.n, s.meta, s.axis_hash, s.data))
                seq = chain.append(EventKind.SCAN, e.actor, e.item_id,
                                   {**json.loads(e.data), **origin}, now)
                self._insert_inspection(cur, i.values(), seq)
            elif e.seq in checked.results:
                self._log_result(cur, chain, e.item_id or "",
                                 checked.results[e.seq].values(), now=now, extra=origin)
            elif e.seq in checked.transitions:
                c = self._receive_transition(cur, chain, e, checked.transitions[e.seq],
                                             now=now, origin=origin, facility=facility)
                if c is not None:
                    conflicts.append(c)

    @staticmethod
    def _check_facility(cur: Any, checked: CheckedBatch, facility: str) -> None:
        """Refuse a push that touches a parcel of another facility."""
        announced = {}
        for p in checked.parcels.values():
            rec = Parcel.model_validate_json(p.record)
            announced[rec.item_id] = rec.facility
        items = {e.item_id for e in checked.new if e.item_id is not None}
        stored = {r[0]: r[1] for r in cur.execute(
            "SELECT item_id, facility FROM parcels WHERE item_id = ANY(%s)", (list(items),))}
        for e in checked.new:
            if e.item_id is None:
                continue
            where = stored.get(e.item_id, announced.get(e.item_id))
            if where is None:
                raise SyncRefused("invalid", f"parcel {e.item_id} is neither stored at "
                                  "central nor announced in the push", seq=e.seq)
            if where != facility:
                raise SyncRefused("facility", f"parcel {e.item_id} belongs to facility "
                                  f"{where}, not to this station's {facility}", seq=e.seq)

    def _receive_parcel(self, cur: Any, chain: _Chain, e: WireEvent, p: WireParcel, *,
                        now: str, origin: Mapping[str, Any], conflicts: list[str]) -> None:
        d = record_digest(p.record)
        row = cur.execute("SELECT digest FROM parcels WHERE item_id = %s",
                          (e.item_id,)).fetchone()
        if row is not None:
            if row[0] != d:
                conflicts.append(str(e.item_id))
            return
        parcel = Parcel.model_validate_json(p.record)
        seq = chain.append(EventKind.IMPORT, e.actor, e.item_id,
                           {**json.loads(e.data), **origin}, now)
        self._insert_parcel(cur, parcel, record=p.record, d=d, now=now, seq=seq)

    def _receive_transition(self, cur: Any, chain: _Chain, e: WireEvent, t: WireTransition,
                            *, now: str, origin: Mapping[str, Any], facility: str,
                            ) -> HoldConflict | None:
        target = HoldState(t.state)
        if cur.execute("SELECT 1 FROM hold_transitions WHERE item_id = %s AND state = %s AND "
                       "at = %s AND actor = %s", (t.item_id, t.state, t.at, t.actor)
                       ).fetchone() is not None:
            return None  # an echo of a move central made (the station adopted it by a pull)
        current = self._parcel_state(cur, t.item_id)
        if target in TRANSITIONS[current]:
            if target is HoldState.REQUESTED:
                cur.execute("INSERT INTO holds (item_id, state, requested_at) "
                            "VALUES (%s, %s, %s)", (t.item_id, t.state, t.at))
            self._log_transition(cur, chain, item_id=t.item_id, state=target,
                                 previous=current, at=t.at, actor=t.actor, note=t.note,
                                 now=now, extra=origin)
            return None
        allowed = sorted(s.value for s in TRANSITIONS[current])
        detail = (f"{t.item_id}: {origin['station']} moved the hold to {t.state} at {t.at}, "
                  f"but central's hold is {current.value if current else 'absent'} (allowed: "
                  f"{', '.join(allowed) or 'none'}); kept as a conflict, not applied")
        seq = chain.append(EventKind.CONFLICT, t.actor, t.item_id,
                           {"wanted": t.state, "central_state": None if current is None
                            else current.value, "at": t.at, **origin}, now)
        cur.execute("INSERT INTO hold_conflicts (item_id, facility, station, station_seq, "
                    "wanted, central_state, at, actor, detail, central_seq) VALUES (%s, %s, "
                    "%s, %s, %s, %s, %s, %s, %s, %s)",
                    (t.item_id, facility, origin["station"], e.seq, t.state,
                     None if current is None else current.value, t.at, t.actor, detail, seq))
        return HoldConflict(item_id=t.item_id, station=str(origin["station"]),
                            station_seq=e.seq, wanted=t.state,
                            central_state=None if current is None else current.value,
                            at=t.at, actor=t.actor, detail=detail)

    # -- audit ------------------------------------------------------------------------
    def record_export(self, item_ids: Sequence[str], *, actor: str, destination: str,
                      content_digest: str) -> AuditEvent:
        """See :meth:`Store.record_export`."""
        with self._write() as cur:
            chain = _Chain(cur)
            seq = chain.append(EventKind.EXPORT, actor, None,
                               {"items": list(item_ids), "count": len(item_ids),
                                "destination": destination, "digest": content_digest},
                               self._now())
            chain.finish()
        return next(self.audit_events(since_seq=seq))

    @staticmethod
    def _event(r: Sequence[Any]) -> AuditEvent:
        return AuditEvent(seq=r[0], at=_dt(r[1]), kind=r[2], actor=r[3], item_id=r[4],
                          data=json.loads(r[5]), prev_hash=r[6], hash=r[7])

    def audit_events(self, *, item_id: str | None = None, since_seq: int = 1,
                     ) -> Iterator[AuditEvent]:
        """See :meth:`Store.audit_events` (read in pages of 5,000 events)."""
        if item_id is not None:
            item_id = validate_item_id(item_id)
        seq = since_seq
        while True:
            with self._read() as cur:
                rows = cur.execute(
                    "SELECT seq, at, kind, actor, item_id, data, prev_hash, hash FROM "
                    "audit_events WHERE seq >= %s AND (%s::text IS NULL OR item_id = %s) "
                    "ORDER BY seq LIMIT 5000", (seq, item_id, item_id)).fetchall()
            for r in rows:
                yield self._event(r)
            if len(rows) < 5000:
                return
            seq = rows[-1][0] + 1

    def verify(self, *, deep: bool = True, anchors: Mapping[int, str] | None = None,
               ) -> VerifyReport:
        """See :meth:`Store.verify`."""
        with self._read() as cur:
            findings: list[Finding] = []
            for aseq, ahash in sorted((anchors or {}).items()):
                r = cur.execute("SELECT hash FROM audit_events WHERE seq = %s",
                                (aseq,)).fetchone()
                if r is None:
                    findings.append(Finding(seq=aseq, problem=Problem.DELETED,
                                            detail=f"anchored event #{aseq} is not in the log"))
                elif r[0] != ahash:
                    findings.append(Finding(seq=aseq, problem=Problem.EDITED,
                                            detail=f"event #{aseq} does not have its anchored "
                                                   f"hash {ahash[:16]}…"))
            h = cur.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
            head = None if h is None else (int(h[0]), str(h[1]))
            if head is None:
                findings.append(Finding(seq=1, problem=Problem.DELETED,
                                        detail="the recorded chain head is missing"))
            by_hash: dict[str, int] = {}
            raw: list[RawEvent] = []
            for r in cur.execute("SELECT seq, at, kind, actor, item_id, data, prev_hash, "
                                 "hash FROM audit_events ORDER BY seq"):
                raw.append(RawEvent(*r))
                by_hash.setdefault(r[7], r[0])
            n, hseq, hhash, chain_findings = verify_chain(raw, by_hash.get,
                                                          expected_head=head)
            evidence = sorted(self._verify_evidence(cur, raw, deep), key=lambda f: f.seq)
        firsts = [*findings, *chain_findings[:1], *evidence[:1]]
        first = min(firsts, key=lambda f: f.seq) if firsts else None
        everything = sorted([*findings, *chain_findings, *evidence], key=lambda f: f.seq)
        return VerifyReport(ok=first is None, events=n, head_seq=hseq, head_hash=hhash,
                            first_bad=first, findings=tuple(everything[:100]))

    @staticmethod
    def _verify_evidence(cur: Any, raw: Sequence[RawEvent], deep: bool) -> list[Finding]:
        """Every stored record against the digest its event logged, and every logged record
        still stored."""
        events = {e.seq: e for e in raw}
        out: list[Finding] = []
        logged: set[int] = set()

        def check(seq: int, kinds: Iterable[str], item_id: str, what: str,
                  expect: Mapping[str, Any]) -> None:
            logged.add(seq)
            e = events.get(seq)
            if e is None:
                out.append(Finding(seq=seq, problem=Problem.MISSING_EVENT,
                                   detail=f"{what} refers to audit event #{seq}, which is "
                                          "not stored"))
                return
            if e.kind not in kinds or e.item_id != item_id:
                out.append(Finding(seq=seq, problem=Problem.MISSING_EVENT,
                                   detail=f"{what} refers to event #{seq}, which is a "
                                          f"{e.kind} event of {e.item_id}"))
                return
            try:
                d = json.loads(e.data)
            except ValueError:
                return  # the chain check reports an unreadable event
            for key, value in expect.items():
                if d.get(key) != value:
                    out.append(Finding(seq=seq, problem=Problem.EVIDENCE,
                                       detail=f"{what} does not match what event #{seq} "
                                              f"({e.kind}) logged: {key} differs; the stored "
                                              "record was changed"))
                    return

        for r in cur.execute("SELECT item_id, origin_country, mail_class, received_at, "
                             "facility, category, record, digest, event_seq FROM parcels"):
            d = record_digest(r[6])
            try:
                rec = json.loads(r[6])
                cols: tuple[Any, ...] = (
                    rec["item_id"], rec["origin_country"], rec["mail_class"],
                    _ts(_dt(rec["received_at"].replace("Z", "+00:00"))), rec["facility"],
                    rec["declaration"]["category"], d)
            except (ValueError, KeyError, TypeError):
                cols = ("unreadable",)
            if cols != (*r[:6], r[7]):
                out.append(Finding(seq=r[8], problem=Problem.EVIDENCE,
                                   detail=f"parcel {r[0]}: indexed columns or digest differ "
                                          "from the stored record"))
            check(r[8], ("import",), r[0], f"parcel {r[0]}", {"digest": d})
        for r in cur.execute(f"SELECT {', '.join(INSPECTION_COLS)}, event_seq FROM "
                             "inspections"):
            vals = r[:-1]
            check(r[-1], ("scan",), vals[1], f"inspection {vals[0]}",
                  {"inspection_id": vals[0], "spectrum_hash": vals[7],
                   "digest": row_digest(INSPECTION_COLS, vals)})
        for r in cur.execute(f"SELECT {', '.join('x.' + c for c in RESULT_COLS)}, "
                             "x.event_seq, i.item_id FROM results x LEFT JOIN inspections i "
                             "ON i.inspection_id = x.inspection_id"):
            vals = r[:len(RESULT_COLS)]
            check(r[-2], ("verdict", "reidentify"), r[-1] or "?",
                  f"result {vals[0]} of inspection {vals[1]}",
                  {"result_id": vals[0], "verdict": vals[7], "alert": vals[8],
                   "digest": row_digest(RESULT_COLS, vals)})
        last: dict[str, tuple[str, str, int]] = {}
        for r in cur.execute(f"SELECT {', '.join(TRANSITION_COLS)}, event_seq FROM "
                             "hold_transitions ORDER BY id"):
            vals = r[:5]
            kinds = [k.value for s, k in EVENT_FOR_STATE.items() if s.value == vals[1]]
            check(r[5], kinds, vals[0], f"hold transition of {vals[0]} to {vals[1]}",
                  {"digest": row_digest(TRANSITION_COLS, vals)})
            first_at = last[vals[0]][0] if vals[0] in last else vals[2]
            last[vals[0]] = (first_at, vals[1], r[5])
        for r in cur.execute("SELECT h.item_id, h.state, h.requested_at, p.event_seq FROM "
                             "holds h LEFT JOIN parcels p ON p.item_id = h.item_id"):
            first_at, state, last_seq = last.get(r[0], ("", "", r[3] or 0))
            if (state, first_at) != (r[1], r[2]):
                out.append(Finding(seq=last_seq, problem=Problem.EVIDENCE,
                                   detail=f"hold of {r[0]}: state {r[1]} / requested at "
                                          f"{r[2]} disagree with its logged transitions"))
        record_kinds = {"import", "scan", "verdict", "reidentify", *HOLD_KINDS}
        for e in raw:
            if e.kind in record_kinds and e.seq not in logged:
                out.append(Finding(seq=e.seq, problem=Problem.EVIDENCE,
                                   detail=f"event #{e.seq} ({e.kind}, {e.item_id}) logs a "
                                          "record that is no longer stored: it was deleted"))
        for r in cur.execute(
            "SELECT DISTINCT ON (i.spectrum_hash) i.spectrum_hash, i.event_seq, s.meta, "
            "a.data, s.data, s.hash FROM inspections i "
            "LEFT JOIN spectra s ON s.hash = i.spectrum_hash "
            "LEFT JOIN axes a ON a.hash = s.axis_hash ORDER BY i.spectrum_hash, i.event_seq"
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
