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
  opened without a key reads and verifies but refuses to write.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import sqlite3
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import TypeAdapter, ValidationError

from matcher.results import FusedIdentification, Identification, Verdict
from spectra import Pipeline, Progress, Spectrum, Technique

from ..audit import (
    GENESIS,
    INSPECTION_COLUMNS,
    ORIGINAL_COLUMNS,
    RESULT_COLUMNS,
    TRANSITION_COLUMNS,
    Finding,
    Problem,
    RawEvent,
    VerifyReport,
    chain_hash,
    check_heads,
    original_problem,
    prove_events,
    row_digest,
    verify_chain,
)
from ..blobs import decode_spectrum, encode_spectrum
from ..errors import (
    DuplicateOriginalError,
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
    OriginalFile,
    Parcel,
    ParcelFile,
    ParcelQuery,
    ParcelSummary,
    Result,
    ResultKind,
    canonical_json,
)
from ..s10 import validate_item_id
from ..signing import PublicKey, SignedHead, SigningKeyError, StationKey
from ..text import STORED, check_text
from .base import (
    HoldFact,
    InspectionFact,
    ItemProof,
    NewInspection,
    NewOriginal,
    RowOutcome,
    RowStatus,
    Store,
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


# the columns each logged row's digest covers: one definition (parcels.audit) for every
# backend and for the evidence bundle's verifier
_INSPECTION_COLS = INSPECTION_COLUMNS
_RESULT_COLS = RESULT_COLUMNS
_TRANSITION_COLS = TRANSITION_COLUMNS
_ORIGINAL_COLS = ORIGINAL_COLUMNS
_row_digest = row_digest


def _belongs(result: Technique, spectrum: str) -> bool:
    """Whether a result of a library part of technique ``result`` belongs to a spectrum of
    technique ``spectrum``: the same technique, or both mid-infrared (the matcher searches
    an FTIR transmission or unstated-infrared query in the FTIR part of the library, see
    ``matcher.library.techniques_compatible``)."""
    measured = Technique(spectrum)
    return result is measured or (result.is_infrared and measured.is_infrared)


@dataclass(frozen=True, slots=True)
class _PreparedOriginal:
    """An original file checked and hashed before the write lock is taken."""

    name: str
    data: bytes
    format: str
    sha256: str
    size: int

    @classmethod
    def of(cls, new: NewOriginal) -> _PreparedOriginal:
        check_text("name", new.name)
        check_text("format", new.format)
        if not new.name or not new.format or "/" in new.name or "\\" in new.name:
            raise ValueError(f"an original file needs a name without a folder and a format "
                             f"(got {new.name!r}, {new.format!r})")
        return cls(new.name, bytes(new.data), new.format, new.sha256, len(new.data))


def _original(row: Sequence[Any]) -> OriginalFile:
    """An ``original_files`` row (:data:`ORIGINAL_COLUMNS`) as the record."""
    try:
        return OriginalFile.model_validate(
            dict(zip(_ORIGINAL_COLS, row, strict=True)), context=STORED)
    except ValidationError as exc:
        raise IntegrityError(f"stored original file {row[0]} no longer parses: {exc}") \
            from exc


def _primary(identification: AnyIdentification, technique: str) -> Identification:
    """The single-technique result that belongs to a spectrum of ``technique``."""
    if isinstance(identification, FusedIdentification):
        for r in identification.results:
            if r.technique.value == technique:
                return r
        for r in identification.results:
            if _belongs(r.technique, technique):
                return r
        have = ", ".join(r.technique.value for r in identification.results) or "none"
        raise ValueError(
            f"the fused identification has no {technique} result (it has: {have})"
        )
    if not _belongs(identification.technique, technique):
        raise ValueError(
            f"identification is for {identification.technique.value} but the spectrum is "
            f"{technique}"
        )
    return identification


SIGN_EVERY = 64
"""A long transaction (an AED import chunk) signs a head after every this many events, so
proving one event never needs more than this many others (per-parcel checks, bundles)."""


class _Chain:
    """Appends audit events inside one write transaction and signs heads as it goes.

    The head is read under the write lock; before anything is appended the last signed head
    must be the chain's last event and verify (a station never signs on top of a chain
    someone rewrote behind its back). ``known`` is the last head this store itself signed
    or checked: when the chain still ends there, its signature is not checked again.
    """

    def __init__(self, cur: sqlite3.Cursor, signer: StationKey | None,
                 known: tuple[int, str] | None = None) -> None:
        if signer is None:
            raise SigningKeyError(
                "this evidence store was opened without the station's signing key: it can be "
                "read and verified, not written")
        self.cur = cur
        self.signer = signer
        row = cur.execute(
            "SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
        ).fetchone()
        self.seq, self.hash = (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
        self.start = self.signed = self.seq
        self._key_stored = False
        head = _last_head(cur)
        if head is None:
            unsigned = cur.execute(
                "SELECT value FROM meta WHERE key = 'unsigned_before'").fetchone()
            if self.seq != (0 if unsigned is None else int(unsigned[0])):
                raise IntegrityError(
                    f"the audit chain has {self.seq} events but no signed head: refusing to "
                    "sign on top of it (run interdict audit verify)")
        elif (head.seq, head.hash) != (self.seq, self.hash):
            raise IntegrityError(
                f"the audit chain's last event (#{self.seq}) is not the one its last signed "
                f"head (#{head.seq}) vouches for: the database was altered; refusing to sign "
                "on top of it (run interdict audit verify)")
        elif known != (head.seq, head.hash):
            key = _keys(cur).get(head.key_id)
            if key is None or not key.verify(head):
                raise IntegrityError(
                    f"the last signed head #{head.seq} does not verify: the database was "
                    "altered; refusing to sign on top of it (run interdict audit verify)")

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
        if self.seq - self.signed >= SIGN_EVERY:
            self._sign(at)
        return seq

    def _sign(self, at: str) -> None:
        head = self.signer.sign_head(seq=self.seq, hash=self.hash, prev_seq=self.signed)
        if not self._key_stored:
            self.cur.execute("INSERT OR IGNORE INTO station_keys (key_id, public_key, "
                             "added_at) VALUES (?, ?, ?)",
                             (head.key_id, self.signer.public.hex, at))
            self._key_stored = True
        self.cur.execute(
            "INSERT INTO signed_heads (seq, hash, prev_seq, key_id, signature) "
            "VALUES (?, ?, ?, ?, ?)",
            (head.seq, head.hash, head.prev_seq, head.key_id, head.signature))
        self.signed = self.seq

    def finish(self, at: str) -> tuple[int, str]:
        """Sign what is not signed yet; returns the head (to remember once committed)."""
        if self.seq != self.signed:
            self._sign(at)
        return self.seq, self.hash


_HEAD_COLS = "seq, hash, prev_seq, key_id, signature"


def _head(row: Sequence[Any]) -> SignedHead:
    try:
        return SignedHead(seq=row[0], hash=row[1], prev_seq=row[2], key_id=row[3],
                          signature=row[4])
    except ValidationError as exc:
        raise IntegrityError(f"stored signed head #{row[0]} is malformed: {exc}") from exc


def _last_head(cur: sqlite3.Cursor) -> SignedHead | None:
    row = cur.execute(f"SELECT {_HEAD_COLS} FROM signed_heads ORDER BY seq DESC LIMIT 1"
                      ).fetchone()
    return None if row is None else _head(row)


def _keys(cur: sqlite3.Cursor) -> dict[str, PublicKey]:
    out: dict[str, PublicKey] = {}
    for key_id, public in cur.execute("SELECT key_id, public_key FROM station_keys"):
        try:
            key = PublicKey.from_hex(public)
        except (SigningKeyError, ValueError):
            continue  # its heads then fail to verify, and say so
        if key.key_id == key_id:
            out[key_id] = key
    return out


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
        self._pending_head: tuple[int, str] | None = None
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
        self._pending_head = None
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            if self._con.in_transaction:
                self._con.execute("ROLLBACK")
            raise
        self._con.execute("COMMIT")
        if self._pending_head is not None:  # signed by us and committed: no need to re-check
            self._known_head = self._pending_head

    def _now(self) -> str:
        return _ts(self._clock())

    # -- parcels ----------------------------------------------------------------------
    def import_parcels(
        self, rows: Iterable[tuple[int, Parcel]], *, actor: str, source: str,
        chunk: int = 1000,
    ) -> list[RowOutcome]:
        """See :meth:`Store.import_parcels`; rows are committed ``chunk`` at a time."""
        check_text("actor", actor)
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
            chain = _Chain(cur, self._signer, self._known_head)
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
            self._pending_head = chain.finish(self._now())
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
        for field, text in (("requested_by", requested_by), ("reason", reason),
                            ("actor", held_by)):
            check_text(field, text)
        if not requested_by or not reason:
            raise ValueError("a hold request needs who requests it and why")
        with self._write() as cur:
            current = self._parcel_state(cur, item_id)
            check_transition(item_id, current, HoldState.REQUESTED)
            chain = _Chain(cur, self._signer, self._known_head)
            now = self._now()
            self._request(cur, chain, item_id=item_id, by=requested_by, reason=reason,
                          requested_at=now if at is None else _ts(at), now=now)
            if held_by:
                self._log_transition(cur, chain, item_id=item_id, state=HoldState.HELD,
                                     previous=HoldState.REQUESTED, at=now, actor=held_by,
                                     note=None, now=now)
            self._pending_head = chain.finish(self._now())
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
        check_text("actor", actor)
        check_text("note", note)
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
            chain = _Chain(cur, self._signer, self._known_head)
            now = self._now()
            self._log_transition(cur, chain, item_id=item_id, state=target, previous=current,
                                 at=now if at is None else _ts(at), actor=actor, note=note,
                                 now=now)
            self._pending_head = chain.finish(self._now())
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
        original: NewOriginal | None = None,
    ) -> Inspection:
        """See :meth:`Store.add_inspection`."""
        return self.add_inspections([NewInspection(
            item_id=item_id, spectrum=spectrum, identification=identification,
            operator=operator, station=station, device=device, performed_at=performed_at,
            original=original,
        )])[0]

    def add_inspections(self, batch: Sequence[NewInspection]) -> list[Inspection]:
        """See :meth:`Store.add_inspections`."""
        prepared = []
        hashes: set[str] = set()
        for new in batch:  # the CPU work (hashing, compressing, JSON) before taking the lock
            item_id = validate_item_id(new.item_id)
            check_text("operator", new.operator)
            check_text("station", new.station)
            original = None if new.original is None else _PreparedOriginal.of(new.original)
            if original is not None:
                if original.sha256 in hashes:
                    raise ValueError(f"{original.name}: the same file twice in one batch "
                                     f"(SHA-256 {original.sha256})")
                hashes.add(original.sha256)
            technique = new.spectrum.technique.value
            primary = _primary(new.identification, technique)
            if not new.operator or not new.station:
                raise ValueError(f"{item_id}: an inspection needs an operator and a station")
            # stored texts are pydantic's JSON; digests cover the exact stored text
            prepared.append((
                new, item_id, technique, primary, encode_spectrum(new.spectrum),
                new.identification.model_dump_json(), new.device.model_dump_json(),
                primary.pipeline.model_dump_json(), _new_id(), _new_id(), original,
            ))
        out: list[Inspection] = []
        with self._write() as cur:
            now = self._now()
            chain = _Chain(cur, self._signer, self._known_head)
            for (new, item_id, technique, primary, enc, ident_text, device_text,
                 pipeline_text, inspection_id, result_id, original) in prepared:
                performed = now if new.performed_at is None else _ts(new.performed_at)
                current = self._parcel_state(cur, item_id)
                check_inspectable(item_id, current)
                if original is not None and (row := cur.execute(
                        "SELECT inspection_id, item_id FROM original_files WHERE sha256 = ?",
                        (original.sha256,)).fetchone()) is not None:
                    raise DuplicateOriginalError(original.sha256, row[0], row[1])
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
                stored_original = None if original is None else self._insert_original(
                    cur, chain, original, inspection_id=inspection_id, item_id=item_id,
                    actor=new.operator, now=now)
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
                    original_file=stored_original,
                ))
            self._pending_head = chain.finish(self._now())
        return out

    @staticmethod
    def _insert_original(
        cur: sqlite3.Cursor, chain: _Chain, original: _PreparedOriginal, *,
        inspection_id: str, item_id: str, actor: str, now: str,
    ) -> OriginalFile:
        ovals = (original.sha256, inspection_id, item_id, original.name, original.size,
                 original.format, now)
        seq = chain.append(
            EventKind.ORIGINAL_FILE, actor, item_id,
            {"inspection_id": inspection_id, "sha256": original.sha256, "size": original.size,
             "name": original.name, "format": original.format,
             "digest": _row_digest(_ORIGINAL_COLS, ovals)},
            now)
        cur.execute(f"INSERT INTO original_files ({', '.join(_ORIGINAL_COLS)}, data, "
                    f"event_seq) VALUES ({', '.join('?' * (len(ovals) + 2))})",
                    (*ovals, original.data, seq))
        return _original(ovals)

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
        check_text("recorded_by", recorded_by)
        check_text("note", note)
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
            chain = _Chain(cur, self._signer, self._known_head)
            self._insert_result(cur, chain, item_id=row[0], result_id=result_id,
                                inspection_id=inspection_id,
                                kind=ResultKind.REIDENTIFICATION, now=self._now(),
                                by=recorded_by, primary=primary,
                                identification=identification, ident_text=ident_text,
                                based_on=based_on, note=note)
            self._pending_head = chain.finish(self._now())
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
            orig = cur.execute(f"SELECT {', '.join(_ORIGINAL_COLS)} FROM original_files "
                               "WHERE inspection_id = ?", (inspection_id,)).fetchone()
            return Inspection(
                inspection_id=row[0], item_id=row[1], performed_at=_dt(row[2]),
                operator=row[3], station=row[4],
                device=DeviceIdentity.model_validate_json(row[5]), technique=row[6],
                spectrum_hash=row[7], pipeline=Pipeline.model_validate_json(row[8]),
                library_id=row[9], library_hash=row[10], results=results,
                original_file=None if orig is None else _original(orig),
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

    def find_original(self, sha256: str) -> OriginalFile | None:
        """See :meth:`Store.find_original`."""
        row = self._con.execute(f"SELECT {', '.join(_ORIGINAL_COLS)} FROM original_files "
                                "WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else _original(row)

    def get_original(self, sha256: str) -> tuple[OriginalFile, bytes]:
        """See :meth:`Store.get_original`."""
        row = self._con.execute(f"SELECT {', '.join(_ORIGINAL_COLS)}, data FROM "
                                "original_files WHERE sha256 = ?", (sha256,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("original file", sha256)
        meta, data = _original(row[:-1]), bytes(row[-1])
        if problem := original_problem(meta.sha256, meta.size, data):
            raise IntegrityError(f"stored original file {meta.name} of inspection "
                                 f"{meta.inspection_id}: {problem}; the database was altered")
        return meta, data

    # -- statistics inputs ------------------------------------------------------------
    def hold_facts(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[HoldFact]:
        """See :meth:`Store.hold_facts`."""
        sql = ("SELECT h.item_id, h.requested_at, h.state, (SELECT min(t.at) FROM "
               "hold_transitions t WHERE t.item_id = h.item_id AND t.state = 'held') "
               "FROM holds h WHERE h.requested_at >= ? AND h.requested_at < ? "
               "ORDER BY h.requested_at")
        lo = "" if since is None else _ts(since)
        hi = "\uffff" if until is None else _ts(until)
        for r in self._con.execute(sql, (lo, hi)):
            yield HoldFact(item_id=r[0], requested_at=_dt(r[1]), state=r[2],
                           held_at=None if r[3] is None else _dt(r[3]))

    def inspection_facts(
        self, *, since: datetime | None = None, until: datetime | None = None
    ) -> Iterator[InspectionFact]:
        """See :meth:`Store.inspection_facts`."""
        sql = ("SELECT p.item_id, p.origin_country, p.category, p.received_at, r.verdict, "
               "r.alert FROM parcels p JOIN inspections i ON i.item_id = p.item_id "
               "JOIN results r ON r.inspection_id = i.inspection_id "
               "WHERE p.received_at >= ? AND p.received_at < ? AND r.event_seq = "
               "(SELECT max(r2.event_seq) FROM results r2 WHERE r2.inspection_id = "
               "i.inspection_id) ORDER BY p.item_id")
        lo = "" if since is None else _ts(since)
        hi = "\uffff" if until is None else _ts(until)
        group: list[tuple[Any, ...]] = []
        for r in self._con.execute(sql, (lo, hi)):
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
        check_text("actor", actor)
        with self._write() as cur:
            chain = _Chain(cur, self._signer, self._known_head)
            seq = chain.append(EventKind.EXPORT, actor, None,
                               {"items": list(item_ids), "count": len(item_ids),
                                "destination": destination, "digest": content_digest},
                               self._now())
            self._pending_head = chain.finish(self._now())
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
        self, *, deep: bool = True, anchors: Mapping[int, str] | None = None,
        trusted_keys: Collection[str] | None = None, progress: Progress | None = None,
    ) -> VerifyReport:
        """See :meth:`Store.verify`."""
        cur = self._con.cursor()
        cur.execute("BEGIN")
        try:
            return self._verify(cur, deep, anchors or {}, self._trusted(trusted_keys),
                                progress or _silent)
        finally:
            self._con.execute("COMMIT")

    def _trusted(self, trusted_keys: Collection[str] | None) -> set[str] | None:
        """The key ids to trust: those given, else the store's own signer, else None."""
        if trusted_keys is not None:
            return set(trusted_keys)
        return None if self._signer is None else {self._signer.key_id}

    @staticmethod
    def _anchors(cur: sqlite3.Cursor, anchors: Mapping[int, str]) -> list[Finding]:
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
        return findings

    @staticmethod
    def _last_event(cur: sqlite3.Cursor) -> tuple[int, str]:
        row = cur.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1"
                          ).fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def _check_heads(
        self, cur: sqlite3.Cursor, heads: Iterable[SignedHead], trusted: set[str] | None,
    ) -> tuple[list[Finding], SignedHead | None, int, tuple[str, ...]]:
        keys = _keys(cur)
        used: dict[str, None] = {}

        def noting(hs: Iterable[SignedHead]) -> Iterator[SignedHead]:
            for h in hs:
                used.setdefault(h.key_id, None)
                yield h

        findings, last, legacy = check_heads(
            noting(heads), keys=keys, trusted=trusted,
            event_hash_at=lambda s: self._event_hash(cur, s),
            last_event=self._last_event(cur))
        return findings, last, legacy, tuple(used)

    def _verify(self, cur: sqlite3.Cursor, deep: bool, anchors: Mapping[int, str],
                trusted: set[str] | None, progress: Progress) -> VerifyReport:
        findings = self._anchors(cur, anchors)
        events = int(cur.execute("SELECT count(*) FROM audit_events").fetchone()[0])
        spectra = int(cur.execute("SELECT count(DISTINCT spectrum_hash) FROM inspections"
                                  ).fetchone()[0]) if deep else 0
        total = events + spectra
        progress(0, total)

        def lookup(h: str) -> int | None:
            r = self._con.execute("SELECT min(seq) FROM audit_events WHERE hash = ?",
                                  (h,)).fetchone()
            return None if r is None or r[0] is None else int(r[0])

        raw = (RawEvent(*r) for r in _reporting(self._con.execute(
            "SELECT seq, at, kind, actor, item_id, data, prev_hash, hash FROM audit_events "
            "ORDER BY seq"), progress, 0, total))
        n, hseq, hhash, chain_findings = verify_chain(raw, lookup)
        heads = (_head(r) for r in self._con.execute(
            f"SELECT {_HEAD_COLS} FROM signed_heads ORDER BY seq"))
        head_findings, last, legacy, key_ids = self._check_heads(cur, heads, trusted)
        evidence = sorted(self._verify_evidence(cur, deep, progress=(events, total, progress)),
                          key=lambda f: f.seq)
        progress(total, total)
        # the chain's first finding is the first bad event of the walk (after a reordering
        # later findings may carry smaller numbers); other findings are ordered by seq
        firsts = [*findings, *chain_findings[:1], *head_findings, *evidence[:1]]
        first = min(firsts, key=lambda f: f.seq) if firsts else None
        everything = sorted([*findings, *chain_findings, *head_findings, *evidence],
                            key=lambda f: f.seq)
        return VerifyReport(ok=first is None, events=n, head_seq=hseq, head_hash=hhash,
                            first_bad=first, findings=tuple(everything[:100]),
                            signed_head=last, key_ids=key_ids,
                            trusted=None if trusted is None
                            else bool(key_ids) and set(key_ids) <= trusted,
                            unsigned_legacy=legacy)

    # -- one parcel ---------------------------------------------------------------------
    def signed_head(self) -> SignedHead | None:
        """See :meth:`Store.signed_head`."""
        return _last_head(self._con.cursor())

    def station_keys(self) -> dict[str, str]:
        """See :meth:`Store.station_keys`."""
        return {k: v.hex for k, v in _keys(self._con.cursor()).items()}

    def _item_seqs(self, cur: sqlite3.Cursor, item_id: str) -> list[int]:
        """The events of a parcel: logged under its id, or logging one of its rows."""
        sql = ("SELECT seq FROM audit_events WHERE item_id = :i "
               "UNION SELECT event_seq FROM parcels WHERE item_id = :i "
               "UNION SELECT event_seq FROM inspections WHERE item_id = :i "
               "UNION SELECT r.event_seq FROM results r JOIN inspections i "
               "ON i.inspection_id = r.inspection_id WHERE i.item_id = :i "
               "UNION SELECT event_seq FROM hold_transitions WHERE item_id = :i "
               "UNION SELECT event_seq FROM original_files WHERE item_id = :i")
        return sorted(int(r[0]) for r in cur.execute(sql, {"i": item_id}) if r[0] is not None)

    def _proof(self, cur: sqlite3.Cursor, seqs: Sequence[int]
               ) -> tuple[list[tuple[SignedHead, list[RawEvent]]], list[Finding]]:
        """For each signed transaction covering ``seqs``: its head and the events from the
        first of ``seqs`` it covers up to its head."""
        groups: dict[int, tuple[SignedHead, int]] = {}
        findings: list[Finding] = []
        for s in seqs:
            row = cur.execute(f"SELECT {_HEAD_COLS} FROM signed_heads WHERE seq >= ? "
                              "ORDER BY seq LIMIT 1", (s,)).fetchone()
            if row is None:
                findings.append(Finding(seq=s, problem=Problem.UNSIGNED,
                                        detail=f"event #{s} is covered by no signed head"))
                continue
            head = _head(row)
            start = groups.get(head.seq, (head, s))[1]
            groups[head.seq] = (head, min(start, s))
        out: list[tuple[SignedHead, list[RawEvent]]] = []
        for _, (head, start) in sorted(groups.items()):
            events = [RawEvent(*r) for r in cur.execute(
                "SELECT seq, at, kind, actor, item_id, data, prev_hash, hash FROM "
                "audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq", (start, head.seq))]
            out.append((head, events))
        return out, findings

    def item_proof(self, item_id: str) -> ItemProof:
        """See :meth:`Store.item_proof`."""
        item_id = validate_item_id(item_id)
        cur = self._con.cursor()
        cur.execute("BEGIN")
        try:
            if cur.execute("SELECT 1 FROM parcels WHERE item_id = ?",
                           (item_id,)).fetchone() is None:
                raise ParcelNotFoundError("parcel", item_id)
            groups, _ = self._proof(cur, self._item_seqs(cur, item_id))
            latest = _last_head(cur)
            keys = self.station_keys()
            records = self._item_rows(cur, item_id)
        finally:
            self._con.execute("COMMIT")
        return ItemProof(
            item_id=item_id,
            events=tuple(e.as_dict() for _, evs in groups for e in evs),
            heads=tuple(h for h, _ in groups),
            latest=latest, public_keys=keys, records=records)

    @staticmethod
    def _item_rows(cur: sqlite3.Cursor, item_id: str) -> dict[str, list[dict[str, object]]]:
        """A parcel's logged rows, exactly as stored (what their events' digests cover)."""
        def rows(cols: Sequence[str], sql: str) -> list[dict[str, object]]:
            out = []
            for r in cur.execute(sql, (item_id,)):
                d = dict(zip((*cols, "event_seq"), r, strict=True))
                if "alert" in d:
                    d["alert"] = bool(d["alert"])
                out.append(d)
            return out

        return {
            "parcel": rows(("record",), "SELECT record, event_seq FROM parcels "
                                        "WHERE item_id = ?"),
            "inspections": rows(_INSPECTION_COLS, f"SELECT {', '.join(_INSPECTION_COLS)}, "
                                "event_seq FROM inspections WHERE item_id = ? "
                                "ORDER BY event_seq"),
            "results": rows(_RESULT_COLS, f"SELECT {', '.join('r.' + c for c in _RESULT_COLS)}"
                            ", r.event_seq FROM results r JOIN inspections i ON "
                            "i.inspection_id = r.inspection_id WHERE i.item_id = ? "
                            "ORDER BY r.event_seq"),
            "transitions": rows(_TRANSITION_COLS, f"SELECT {', '.join(_TRANSITION_COLS)}, "
                                "event_seq FROM hold_transitions WHERE item_id = ? "
                                "ORDER BY id"),
            "originals": rows(_ORIGINAL_COLS, f"SELECT {', '.join(_ORIGINAL_COLS)}, "
                              "event_seq FROM original_files WHERE item_id = ? "
                              "ORDER BY event_seq"),
        }

    def verify_item(
        self, item_id: str, *, deep: bool = True, anchors: Mapping[int, str] | None = None,
        trusted_keys: Collection[str] | None = None,
    ) -> VerifyReport:
        """See :meth:`Store.verify_item`."""
        item_id = validate_item_id(item_id)
        trusted = self._trusted(trusted_keys)
        cur = self._con.cursor()
        cur.execute("BEGIN")
        try:
            if cur.execute("SELECT 1 FROM parcels WHERE item_id = ?",
                           (item_id,)).fetchone() is None:
                raise ParcelNotFoundError("parcel", item_id)
            findings = self._anchors(cur, anchors or {})
            seqs = self._item_seqs(cur, item_id)
            groups, unsigned = self._proof(cur, seqs)
            findings += unsigned
            heads = [h for h, _ in groups]
            latest = _last_head(cur)
            keys = _keys(cur)
            for h in heads:
                key = keys.get(h.key_id)
                if key is None or not key.verify(h):
                    findings.append(Finding(seq=h.seq, problem=Problem.SIGNATURE,
                                            detail=f"the signature of head #{h.seq} does not "
                                                   "verify"))
                elif trusted is not None and h.key_id not in trusted:
                    findings.append(Finding(seq=h.seq, problem=Problem.UNTRUSTED_KEY,
                                            detail=f"head #{h.seq} is signed by key "
                                                   f"{h.key_id}, not the station's"))
            for h, events in groups:
                findings += prove_events(events, h)
            # the last signed head: its signature, its key, and that it is the chain's end
            # (nothing appended without the key, nothing cut off after it)
            end, _, _ = check_heads(
                [latest] if latest is not None else [], keys=keys, trusted=trusted,
                event_hash_at=lambda s: self._event_hash(cur, s),
                last_event=self._last_event(cur))
            findings += [f for f in end if f not in findings]
            used = tuple(dict.fromkeys(h.key_id for h in [*heads, *filter(None, [latest])]))
            findings += self._verify_evidence(cur, deep, item_id)
        finally:
            self._con.execute("COMMIT")
        findings.sort(key=lambda f: f.seq)
        last_seq, last_hash = max(((e.seq, e.hash) for _, evs in groups for e in evs),
                                  default=(0, GENESIS))
        return VerifyReport(
            ok=not findings, events=len(seqs), head_seq=last_seq, head_hash=last_hash,
            first_bad=findings[0] if findings else None, findings=tuple(findings[:100]),
            scope=f"item {item_id}", signed_head=latest, key_ids=used,
            trusted=None if trusted is None else bool(used) and set(used) <= trusted)

    @staticmethod
    def _event_hash(cur: sqlite3.Cursor, seq: int) -> str | None:
        r = cur.execute("SELECT hash FROM audit_events WHERE seq = ?", (seq,)).fetchone()
        return None if r is None else str(r[0])

    def _verify_evidence(self, cur: sqlite3.Cursor, deep: bool, item: str | None = None,
                         progress: tuple[int, int, Progress] | None = None) -> list[Finding]:
        """Every evidence row against its event; with ``item``, only that parcel's rows.
        ``progress``: (steps done before, total, receiver), told as spectra are decoded."""
        out: list[Finding] = []
        p: tuple[str, ...] = () if item is None else (item,)

        def only(col: str, glue: str = "WHERE") -> str:
            return "" if item is None else f" {glue} {col} = ?"

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
            f"FROM parcels x {ev}" + only("x.item_id"), p
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
            f"e.item_id, e.data FROM inspections x {ev}" + only("x.item_id"), p
        ):
            vals = r[:len(_INSPECTION_COLS)]
            check(r[11:15], ("scan",), item_id=vals[1], what=f"inspection {vals[0]}",
                  expect={"inspection_id": vals[0], "spectrum_hash": vals[7],
                   "digest": _row_digest(_INSPECTION_COLS, vals)})

        for r in cur.execute(
            f"SELECT {', '.join('x.' + c for c in _RESULT_COLS)}, x.event_seq, e.kind, "
            f"e.item_id, e.data, i.item_id FROM results x {ev} "
            "LEFT JOIN inspections i ON i.inspection_id = x.inspection_id" + only("i.item_id"),
            p
        ):
            vals = list(r[:len(_RESULT_COLS)])
            vals[8] = bool(vals[8])
            check(r[12:16], ("verdict", "reidentify"), item_id=r[16] or "?",
                  what=f"result {vals[0]} of inspection {vals[1]}",
                  expect={"result_id": vals[0], "verdict": vals[7], "alert": vals[8],
                   "digest": _row_digest(_RESULT_COLS, vals)})

        for r in cur.execute(
            f"SELECT {', '.join('x.' + c for c in _ORIGINAL_COLS)}, x.event_seq, e.kind, "
            f"e.item_id, e.data FROM original_files x {ev}" + only("x.item_id"), p
        ):
            vals = r[:len(_ORIGINAL_COLS)]
            check(r[7:11], (EventKind.ORIGINAL_FILE.value,), item_id=vals[2],
                  what=f"original file {vals[3]} of inspection {vals[1]}",
                  expect={"inspection_id": vals[1], "sha256": vals[0],
                          "digest": _row_digest(_ORIGINAL_COLS, vals)})

        last: dict[str, tuple[str, str, int]] = {}
        for r in cur.execute(
            f"SELECT {', '.join('x.' + c for c in _TRANSITION_COLS)}, x.event_seq, e.kind, "
            f"e.item_id, e.data FROM hold_transitions x {ev}" + only("x.item_id")
            + " ORDER BY x.id", p
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
            "LEFT JOIN parcels p ON p.item_id = h.item_id" + only("h.item_id"), p
        ):
            first_at, state, last_seq = last.get(r[0], (None, None, r[3] or 0))
            if (state, first_at) != (r[1], r[2]):
                out.append(Finding(seq=last_seq, problem=Problem.EVIDENCE,
                                   detail=f"hold of {r[0]}: state {r[1]} / requested at "
                                          f"{r[2]} disagree with its logged transitions"))

        # every logged record must still exist (with ``item``: among that parcel's rows, so
        # the subqueries use the item indexes instead of reading whole tables)
        rows_of = {
            "parcels": "SELECT event_seq FROM parcels" + only("item_id"),
            "inspections": "SELECT event_seq FROM inspections" + only("item_id"),
            "results": "SELECT r.event_seq FROM results r" + (
                "" if item is None else " JOIN inspections i ON i.inspection_id = "
                "r.inspection_id WHERE i.item_id = ?"),
            "hold_transitions": "SELECT event_seq FROM hold_transitions" + only("item_id"),
            "original_files": "SELECT event_seq FROM original_files" + only("item_id"),
        }
        tables = (("import", "parcels"), ("scan", "inspections"), ("verdict", "results"),
                  ("reidentify", "results"), (EventKind.ORIGINAL_FILE.value, "original_files"))
        for kind, table in tables:
            for r in cur.execute(
                "SELECT seq, item_id FROM audit_events WHERE kind = ?"
                + only("item_id", "AND") + f" AND seq NOT IN ({rows_of[table]})",
                (kind, *p, *p)
            ):
                out.append(Finding(seq=r[0], problem=Problem.EVIDENCE,
                                   detail=f"event #{r[0]} ({kind}, {r[1]}) logs a record that "
                                          f"is no longer in {table}: it was deleted"))
        hold_kinds = tuple(k.value for k in EVENT_FOR_STATE.values())
        for r in cur.execute(
            f"SELECT seq, kind, item_id FROM audit_events WHERE kind IN "
            f"({','.join('?' * len(hold_kinds))})" + only("item_id", "AND")
            + f" AND seq NOT IN ({rows_of['hold_transitions']})",
            (*hold_kinds, *p, *p)
        ):
            out.append(Finding(seq=r[0], problem=Problem.EVIDENCE,
                               detail=f"event #{r[0]} ({r[1]}, {r[2]}) logs a hold transition "
                                      "that is no longer stored: it was deleted"))

        # raw spectra: present, and (deep) decoding to their hash
        before, total, tell = progress if progress is not None else (0, 0, _silent)
        for r in _reporting(cur.execute(
            "SELECT i.spectrum_hash, min(i.event_seq), s.meta, a.data, s.data, s.hash "
            "FROM inspections i LEFT JOIN spectra s ON s.hash = i.spectrum_hash "
            "LEFT JOIN axes a ON a.hash = s.axis_hash" + only("i.item_id")
            + " GROUP BY i.spectrum_hash", p
        ), tell, before, total):
            if r[5] is None or r[3] is None:
                out.append(Finding(seq=r[1], problem=Problem.EVIDENCE,
                                   detail=f"raw spectrum {r[0]} logged by event #{r[1]} is "
                                          "missing" + ("" if r[5] is None else " its x axis")))
            elif deep:
                try:
                    decode_spectrum(r[0], r[2], bytes(r[3]), bytes(r[4]))
                except IntegrityError as exc:
                    out.append(Finding(seq=r[1], problem=Problem.EVIDENCE, detail=str(exc)))
        # original files (deep): their bytes against the hash and size their event logged
        if deep:
            for r in cur.execute("SELECT sha256, size, name, data, event_seq FROM "
                                 "original_files" + only("item_id"), p):
                if problem := original_problem(r[0], r[1], bytes(r[3])):
                    out.append(Finding(seq=r[4], problem=Problem.EVIDENCE,
                                       detail=f"original file {r[2]} logged by event "
                                              f"#{r[4]}: {problem}"))
        return out


T = TypeVar("T")


def _silent(done: int, total: int, /) -> None:
    """A :class:`spectra.Progress` that is told nothing."""


PROGRESS_EVERY = 512
"""Steps between two progress reports of a verification."""


def _reporting(rows: Iterable[T], progress: Progress, before: int, total: int
               ) -> Iterator[T]:
    """``rows``, telling ``progress`` every :data:`PROGRESS_EVERY` of them."""
    for k, row in enumerate(rows, 1):
        yield row
        if k % PROGRESS_EVERY == 0:
            progress(before + k, total)


__all__ = ["APPLICATION_ID", "MIGRATIONS", "SCHEMA_VERSION", "SIGN_EVERY", "SQLiteStore"]
