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
* Every write transaction that appends audit events also appends the chain head signed by
  the station's key (``signed_heads``, schema v2; see :mod:`parcels.signing`). A store
  opened without a key reads and verifies but refuses to write. The chain, its signing and
  every verification are shared with the PostgreSQL store (:mod:`parcels.store._sql`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import TypeAdapter, ValidationError

from matcher.results import Verdict
from spectra import Pipeline

from ..audit import (
    GENESIS,
    INSPECTION_COLUMNS,
    RESULT_COLUMNS,
    TRANSITION_COLUMNS,
    record_digest,
    row_digest,
)
from ..errors import (
    IntegrityError,
    ParcelNotFoundError,
    SchemaVersionError,
)
from ..records import (
    AnyIdentification,
    DeviceIdentity,
    HoldRecord,
    HoldState,
    HoldTransition,
    Inspection,
    Parcel,
    ParcelFile,
    Result,
)
from ..s10 import validate_item_id
from ..signing import StationKey
from ..text import STORED
from ._sql import SIGN_EVERY, SQLStore
from ._sql import dt as _dt
from ._sql import ts as _ts
from .base import (
    HoldFact,
    InspectionFact,
    backend_errors,
)

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

_V2: tuple[str, ...] = (
    """CREATE TABLE station_keys (
        key_id TEXT PRIMARY KEY,
        public_key TEXT NOT NULL,
        added_at TEXT NOT NULL)""",
    """CREATE TABLE signed_heads (
        seq INTEGER PRIMARY KEY,
        hash TEXT NOT NULL,
        prev_seq INTEGER NOT NULL,
        key_id TEXT NOT NULL REFERENCES station_keys (key_id),
        signature TEXT NOT NULL)""",
    *(
        f"""CREATE TRIGGER {t}_no_{op.lower()} BEFORE {op} ON {t}
            BEGIN SELECT RAISE(ABORT, '{t} is append-only: {op} refused'); END"""
        for t in ("station_keys", "signed_heads") for op in ("UPDATE", "DELETE")
    ),
    # the signed heads replace the head kept in meta; a v1 chain's events are adopted by the
    # first signed head (its prev_seq says how many there were)
    "DELETE FROM meta WHERE key = 'audit_head'",
    "INSERT INTO meta (key, value) SELECT 'unsigned_before', coalesce(max(seq), 0) "
    "FROM audit_events",
)

_V3: tuple[str, ...] = (
    # the file an inspection's spectrum was read from (a closed handheld's export taken in by
    # interdict ingest), byte for byte; its original-file event logs the row's digest
    """CREATE TABLE original_files (
        sha256 TEXT PRIMARY KEY,
        inspection_id TEXT NOT NULL UNIQUE REFERENCES inspections (inspection_id),
        item_id TEXT NOT NULL REFERENCES parcels (item_id),
        name TEXT NOT NULL,
        size INTEGER NOT NULL,
        format TEXT NOT NULL,
        received_at TEXT NOT NULL,
        data BLOB NOT NULL,
        event_seq INTEGER NOT NULL REFERENCES audit_events (seq))""",
    "CREATE INDEX original_files_item ON original_files (item_id)",
    *(
        f"""CREATE TRIGGER original_files_no_{op.lower()} BEFORE {op} ON original_files
            BEGIN SELECT RAISE(ABORT, 'original_files is append-only: {op} refused'); END"""
        for op in ("UPDATE", "DELETE")
    ),
)

MIGRATIONS: tuple[tuple[str, ...], ...] = (_V1, _V2, _V3)
"""Ordered migrations: ``MIGRATIONS[i]`` takes the schema from version ``i`` to ``i + 1``."""

SCHEMA_VERSION = len(MIGRATIONS)
"""The schema version this code writes."""

_IDENT = TypeAdapter[AnyIdentification](AnyIdentification)


_sha = record_digest
# the columns each logged row's digest covers: one definition (parcels.audit) for every
# backend and for the evidence bundle's verifier
_INSPECTION_COLS = INSPECTION_COLUMNS
_RESULT_COLS = RESULT_COLUMNS
_TRANSITION_COLS = TRANSITION_COLUMNS
_row_digest = row_digest


BULK_CACHE_KIB = 16 << 10
"""SQLite page cache during a bulk import (KiB; the default is 2 MiB)."""
BULK_CHECKPOINT_PAGES = 16384
"""WAL pages (64 MiB at 4 KiB) before an automatic checkpoint during a bulk import (the
default is 1,000)."""


@backend_errors(sqlite3.Error)
class SQLiteStore(SQLStore):
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
    signer
        The station's signing key (:class:`parcels.signing.StationKey`). Without it the store
        reads and verifies; every write raises :class:`parcels.signing.SigningKeyError`.

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
        signer: StationKey | None = None,
    ) -> None:
        self.path = Path(path)
        self._signer = signer
        self._known_head: tuple[int, str] | None = None
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
        """``BEGIN IMMEDIATE``: the write lock is held before the chain's end is read."""
        cur = self._con.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            if self._con.in_transaction:
                self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")

    @contextmanager
    def _bulk(self) -> Iterator[None]:
        """A larger page cache and fewer WAL checkpoints for this connection, for the length
        of a bulk write (restored after): a chunk of AED rows dirties index pages all over
        (item ids, chain hashes), which a 2 MB cache and a checkpoint every 4 MB of WAL
        write out again at every commit."""
        cache = self._con.execute("PRAGMA cache_size").fetchone()[0]
        ckpt = self._con.execute("PRAGMA wal_autocheckpoint").fetchone()[0]
        self._con.execute(f"PRAGMA cache_size = {-BULK_CACHE_KIB}")
        self._con.execute(f"PRAGMA wal_autocheckpoint = {BULK_CHECKPOINT_PAGES}")
        try:
            yield
        finally:
            self._con.execute(f"PRAGMA cache_size = {int(cache)}")
            self._con.execute(f"PRAGMA wal_autocheckpoint = {int(ckpt)}")

    @contextmanager
    def _snapshot(self) -> Iterator[sqlite3.Cursor]:
        """A cursor in one read transaction: one consistent snapshot for several reads."""
        cur = self._con.cursor()
        cur.execute("BEGIN")
        try:
            yield cur
        finally:
            self._con.execute("COMMIT")

    # -- parcels ----------------------------------------------------------------------
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
                parcel = Parcel.model_validate_json(row[0], context=STORED)
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

    # -- holds ------------------------------------------------------------------------
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
                original_file=self._original_of(cur, inspection_id),
            )
        except (ValidationError, ValueError) as exc:
            raise IntegrityError(f"stored inspection {inspection_id} no longer parses: {exc}") \
                from exc

    def get_inspection(self, inspection_id: str) -> Inspection:
        """See :meth:`Store.get_inspection`."""
        return self._inspection(self._con.cursor(), inspection_id)

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

    # -- sync (the station's side) ----------------------------------------------------
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

__all__ = ["APPLICATION_ID", "BULK_CACHE_KIB", "BULK_CHECKPOINT_PAGES", "MIGRATIONS",
           "SCHEMA_VERSION", "SIGN_EVERY", "SQLiteStore"]
