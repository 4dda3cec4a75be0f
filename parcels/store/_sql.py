"""What the two SQL stores share: the signed chain, every write, its verification, proofs
and sync runs.

SQLite (:mod:`parcels.store.sqlite`) and PostgreSQL (:mod:`parcels.store.postgres`) hold the
same evidence tables with the same stored texts (instants as ISO 8601 UTC text, JSON as
pydantic wrote it), so every digest an audit event logs is taken over the same bytes on
both. What does not depend on the engine is written once, here:

* :class:`Chain` appends audit events inside a write transaction and signs the chain head
  with the station's key (:mod:`parcels.signing`) at the end of the transaction, and every
  :data:`SIGN_EVERY` events of a long one; it refuses to sign on top of a chain whose last
  signed head no longer matches or verifies;
* :class:`SQLStore` implements every write of :class:`~parcels.store.Store` (one transaction
  each: the rows, their events with the digests they log, the signed head; and the
  control-character checks at the door), :meth:`~parcels.store.Store.find`,
  :meth:`~parcels.store.Store.audit_events`, :meth:`~parcels.store.Store.verify`,
  :meth:`~parcels.store.Store.verify_item`, :meth:`~parcels.store.Store.item_proof`,
  :meth:`~parcels.store.Store.signed_head`, :meth:`~parcels.store.Store.station_keys` and
  the station's side of sync (:meth:`~parcels.store.Store.sync_batch`,
  :meth:`~parcels.store.Store.unsent`) over the checks of :mod:`parcels.audit`.

The SQL here is written with ``?`` placeholders and in the dialect both engines share; a
backend translates the placeholders (:meth:`SQLStore._q`), and provides its transactions
(:meth:`SQLStore._write`, :meth:`SQLStore._snapshot`), the writers' lock
(:meth:`SQLStore._lock_chain`) and the reads it tunes for its engine (a parcel's record,
holds, inspections, statistics). Cursors are used DB-API style: every statement whose rows
are read while another runs is fetched first, except the whole-table walks of a verification,
which read :data:`PAGE` rows at a time through a cursor of their own
(:meth:`SQLStore._stream`), so that their memory does not grow with the database.
"""

from __future__ import annotations

import abc
import json
import secrets
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from pydantic import ValidationError

from matcher.results import Identification
from spectra import Progress, Spectrum, Technique, canonical_json

from ..audit import (
    GENESIS,
    INSPECTION_COLUMNS,
    ORIGINAL_COLUMNS,
    RESULT_COLUMNS,
    SPECTRUM_RECORD,
    TRANSITION_COLUMNS,
    Finding,
    ItemProof,
    Problem,
    RawEvent,
    VerifyReport,
    chain_hash,
    check_heads,
    original_problem,
    prove_events,
    record_digest,
    row_digest,
    spectrum_record_detail,
    spectrum_record_differs,
    verify_chain,
)
from ..blobs import EncodedSpectrum, decode_spectrum, encode_spectrum
from ..errors import (
    DuplicateOriginalError,
    IllegalTransitionError,
    IntegrityError,
    ParcelNotFoundError,
)
from ..holds import EVENT_FOR_STATE, check_inspectable, check_transition
from ..records import (
    AnyIdentification,
    AuditEvent,
    DeviceIdentity,
    EventKind,
    HoldRecord,
    HoldState,
    Inspection,
    OriginalFile,
    Parcel,
    ParcelQuery,
    ParcelSummary,
    Result,
    ResultKind,
)
from ..s10 import validate_item_id
from ..signing import PublicKey, SignedHead, SigningKeyError, StationKey
from ..sync import (
    StationBatch,
    WireEvent,
    WireInspection,
    WireParcel,
    WireResult,
    WireSpectrum,
    WireTransition,
)
from ..text import STORED, check_text
from .base import (
    IMPORT_CHUNK,
    NewInspection,
    NewOriginal,
    ParcelRow,
    RowOutcome,
    RowStatus,
    Store,
)

SIGN_EVERY = 64
"""A long transaction (an AED import chunk, a pushed run) signs a head after every this many
events, so proving one event never needs more than this many others (per-parcel checks,
bundles)."""

PAGE = 5000
"""Rows read per statement when walking a whole table (bounded memory on both engines)."""

PROGRESS_EVERY = 512
"""Steps between two progress reports of a verification."""

EVENT_COLS = "seq, at, kind, actor, item_id, data, prev_hash, hash"
_INSERT_EVENT = f"INSERT INTO audit_events ({EVENT_COLS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
_INSERT_TRANSITION = ("INSERT INTO hold_transitions (item_id, state, at, actor, note, "
                      "event_seq) VALUES (?, ?, ?, ?, ?, ?)")
_IN_LIMIT = 500
"""Ids looked up by one ``SELECT ... IN (...)`` (SQLite allows 999 parameters before 3.32)."""
HEAD_COLS = "seq, hash, prev_seq, key_id, signature"

Q = Callable[[str], str]
"""Translates ``?`` placeholders to the backend's."""


T = TypeVar("T")


def _silent(done: int, total: int, /) -> None:
    """A :class:`spectra.Progress` that is told nothing."""


def _reporting(rows: Iterable[T], progress: Progress, before: int, total: int
               ) -> Iterator[T]:
    """``rows``, telling ``progress`` every :data:`PROGRESS_EVERY` of them."""
    for k, row in enumerate(rows, 1):
        yield row
        if k % PROGRESS_EVERY == 0:
            progress(before + k, total)


# -- stored values -------------------------------------------------------------------------
def ts(value: datetime) -> str:
    """Stored form of an instant: ISO 8601 in UTC with microseconds (sorts as text)."""
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value.isoformat()} refused: give a timezone")
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def dt(text: str) -> datetime:
    """An instant as stored, back."""
    return datetime.fromisoformat(text)


def new_id() -> str:
    """32 hex digits: nanosecond time, then 64 random bits. Ids sort by creation, so the
    primary-key index grows at its end instead of being written all over (fewer pages per
    commit), and an id says roughly when it was made."""
    return f"{time.time_ns():016x}{secrets.token_hex(8)}"


@dataclass(frozen=True, slots=True)
class PreparedOriginal:
    """An original file checked and hashed before the write lock is taken."""

    name: str
    data: bytes
    format: str
    sha256: str
    size: int

    @classmethod
    def of(cls, new: NewOriginal) -> PreparedOriginal:
        """Checked at the door: a name without a folder or a control character, a format."""
        check_text("name", new.name)
        check_text("format", new.format)
        if not new.name or not new.format or "/" in new.name or "\\" in new.name:
            raise ValueError(f"an original file needs a name without a folder and a format "
                             f"(got {new.name!r}, {new.format!r})")
        return cls(new.name, bytes(new.data), new.format, new.sha256, len(new.data))


def original_record(row: Sequence[Any]) -> OriginalFile:
    """An ``original_files`` row (:data:`~parcels.audit.ORIGINAL_COLUMNS`) as the record."""
    try:
        return OriginalFile.model_validate(
            dict(zip(ORIGINAL_COLUMNS, row, strict=True)), context=STORED)
    except ValidationError as exc:
        raise IntegrityError(f"stored original file {row[0]} no longer parses: {exc}") \
            from exc


def belongs(result: Technique, spectrum: str) -> bool:
    """Whether a result of a library part of technique ``result`` belongs to a spectrum of
    technique ``spectrum``: the same technique, or both mid-infrared (the matcher searches
    an FTIR transmission or unstated-infrared query in the FTIR part of the library, see
    ``matcher.library.techniques_compatible``)."""
    measured = Technique(spectrum)
    return result is measured or (result.is_infrared and measured.is_infrared)


def primary(identification: AnyIdentification, technique: str) -> Identification:
    """The single-technique result that belongs to a spectrum of ``technique``."""
    part = identification.part(technique)
    if part is None:  # a mid-infrared spectrum takes the FTIR (ATR) part's result
        part = next((r for r in identification.parts if belongs(r.technique, technique)), None)
    if part is None:
        have = ", ".join(r.technique.value for r in identification.parts) or "none"
        raise ValueError(f"identification is for {have} but the spectrum is {technique}")
    return part


# -- heads and keys as stored ----------------------------------------------------------------
def head_of(row: Sequence[Any]) -> SignedHead:
    """A ``signed_heads`` row (:data:`HEAD_COLS`) as a :class:`SignedHead`."""
    try:
        return SignedHead(seq=row[0], hash=row[1], prev_seq=row[2], key_id=row[3],
                          signature=row[4])
    except ValidationError as exc:
        raise IntegrityError(f"stored signed head #{row[0]} is malformed: {exc}") from exc


def last_head(cur: Any, q: Q) -> SignedHead | None:
    """The chain's last signed head."""
    row = cur.execute(q(f"SELECT {HEAD_COLS} FROM signed_heads ORDER BY seq DESC LIMIT 1")
                      ).fetchone()
    return None if row is None else head_of(row)


def stored_keys(cur: Any, q: Q) -> dict[str, PublicKey]:
    """The public keys of ``station_keys`` whose id is their fingerprint (others are left
    out: the heads they signed then fail to verify, and say so)."""
    out: dict[str, PublicKey] = {}
    for key_id, public in cur.execute(q("SELECT key_id, public_key FROM station_keys")
                                      ).fetchall():
        try:
            key = PublicKey.from_hex(public)
        except (SigningKeyError, ValueError):
            continue
        if key.key_id == key_id:
            out[key_id] = key
    return out


class Chain:
    """Appends audit events inside one write transaction and signs heads as it goes.

    Create it under the writers' lock (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: the head
    row locked). The head is read then; before anything is appended the last signed head
    must be the chain's last event and verify (a station never signs on top of a chain
    someone rewrote behind its back). ``known`` is the last head this store itself signed
    or checked: when the chain still ends there, its signature is not checked again.

    Raises
    ------
    SigningKeyError
        No signer: the store was opened to read and verify only; or the signer is not the
        key that signed the chain's last head (a wrong key file would otherwise sign on
        with a key no verifier trusts, breaking every later check of the parcels it wrote).
    IntegrityError
        The chain's end is not what its last signed head vouches for.
    """

    def __init__(self, cur: Any, signer: StationKey | None, known: tuple[int, str] | None,
                 q: Q, *, deferred: bool = False) -> None:
        if signer is None:
            raise SigningKeyError(
                "this evidence store was opened without the station's signing key: it can be "
                "read and verified, not written")
        self.cur = cur
        self.signer = signer
        self.q = q
        row = cur.execute(q("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                          ).fetchone()
        self.seq, self.hash = (0, GENESIS) if row is None else (int(row[0]), str(row[1]))
        self.start = self.signed = self.seq
        self._key_stored = False
        self._deferred = deferred
        self._events: list[tuple[Any, ...]] = []
        self._heads: list[tuple[Any, ...]] = []
        head = last_head(cur, q)
        if head is None:
            unsigned = cur.execute(q("SELECT value FROM meta WHERE key = 'unsigned_before'")
                                   ).fetchone()
            if self.seq != (0 if unsigned is None else int(unsigned[0])):
                raise IntegrityError(
                    f"the audit chain has {self.seq} events but no signed head: refusing to "
                    "sign on top of it (run interdict audit verify)")
        elif (head.seq, head.hash) != (self.seq, self.hash):
            raise IntegrityError(
                f"the audit chain's last event (#{self.seq}) is not the one its last signed "
                f"head (#{head.seq}) vouches for: the database was altered; refusing to sign "
                "on top of it (run interdict audit verify)")
        elif head.key_id != signer.key_id:
            raise SigningKeyError(
                f"the audit chain's last signed head (#{head.seq}) is signed by key "
                f"{head.key_id}, and this station's key file holds key {signer.key_id}: "
                "the wrong key file (--key, INTERDICT_KEY)? nothing was written; a station "
                "writes on with the key that signed its chain")
        elif known != (head.seq, head.hash):
            key = stored_keys(cur, q).get(head.key_id)
            if key is None or not key.verify(head):
                raise IntegrityError(
                    f"the last signed head #{head.seq} does not verify: the database was "
                    "altered; refusing to sign on top of it (run interdict audit verify)")

    def append(
        self, kind: EventKind, actor: str, item_id: str | None, data: Mapping[str, Any],
        at: str,
    ) -> int:
        """Append one event; returns its seq."""
        seq = self.seq + 1
        data_text = canonical_json(dict(data))
        h = chain_hash(self.hash, seq=seq, at=at, kind=kind.value, actor=actor,
                       item_id=item_id, data_text=data_text)
        event = (seq, at, kind.value, actor, item_id, data_text, self.hash, h)
        if self._deferred:
            self._events.append(event)
        else:
            self.cur.execute(self.q(_INSERT_EVENT), event)
        self.seq, self.hash = seq, h
        if self.seq - self.signed >= SIGN_EVERY:
            self._sign(at)
        return seq

    def _sign(self, at: str) -> None:
        head = self.signer.sign_head(seq=self.seq, hash=self.hash, prev_seq=self.signed)
        if not self._key_stored:
            self.cur.execute(self.q(
                "INSERT INTO station_keys (key_id, public_key, added_at) VALUES (?, ?, ?) "
                "ON CONFLICT (key_id) DO NOTHING"), (head.key_id, self.signer.public.hex, at))
            self._key_stored = True
        self._heads.append((head.seq, head.hash, head.prev_seq, head.key_id, head.signature))
        if not self._deferred:
            self.flush()
        self.signed = self.seq

    def flush(self) -> None:
        """Write the events and heads a deferred chain holds (one ``executemany`` each).

        Rows that refer to an event (``event_seq``) may be inserted only after this.
        """
        if self._events:
            self.cur.executemany(self.q(_INSERT_EVENT), self._events)
            self._events = []
        if self._heads:
            self.cur.executemany(
                self.q(f"INSERT INTO signed_heads ({HEAD_COLS}) VALUES (?, ?, ?, ?, ?)"),
                self._heads)
            self._heads = []

    def finish(self, at: str) -> tuple[int, str] | None:
        """Sign what is not signed yet and write what is deferred; returns the head (to
        remember once committed), or None when the transaction appended nothing."""
        if self.seq == self.start:
            return None
        if self.seq != self.signed:
            self._sign(at)
        self.flush()
        return self.seq, self.hash


# -- the shared implementation ----------------------------------------------------------------
def _transition_row(
    chain: Chain, *, item_id: str, state: HoldState, previous: HoldState | None, at: str,
    actor: str, note: str | None, now: str, extra: Mapping[str, Any] | None = None,
) -> tuple[Any, ...]:
    """Log a hold's move on the chain (its event logs the row's digest; ``extra``: where
    central received it from); returns its ``hold_transitions`` row."""
    values = (item_id, state.value, at, actor, note)
    seq = chain.append(
        EVENT_FOR_STATE[state], actor, item_id,
        {"state": state.value, "from": None if previous is None else previous.value,
         "at": at, "note": note, "digest": row_digest(TRANSITION_COLUMNS, values),
         **(extra or {})},
        now)
    return (*values, seq)


class SQLStore(Store, abc.ABC):
    """The engine-independent part of the SQL stores (see the module notes)."""

    _signer: StationKey | None
    _known_head: tuple[int, str] | None
    _clock: Callable[[], datetime]

    # -- what a backend provides ------------------------------------------------------------
    @staticmethod
    def _q(sql: str) -> str:
        """``sql`` with the backend's placeholders (SQLite takes ``?`` as written)."""
        return sql

    @abc.abstractmethod
    def _snapshot(self) -> AbstractContextManager[Any]:
        """A cursor in one read-only transaction (one consistent snapshot)."""

    def _lock_chain(self, cur: Any) -> None:
        """Take the writers' lock inside the current write transaction, if the transaction
        does not hold it already (SQLite's ``BEGIN IMMEDIATE`` does)."""

    def _chain(self, cur: Any, *, deferred: bool = False) -> Chain:
        """The chain appender of a write transaction (lock taken first); ``deferred``: its
        events and heads written together by :meth:`Chain.flush` (bulk writes)."""
        self._lock_chain(cur)
        return Chain(cur, self._signer, self._known_head, self._q, deferred=deferred)

    def _bulk(self) -> AbstractContextManager[None]:
        """The engine tuned for a bulk write, for the length of the block (a backend's hook;
        none by default)."""
        return nullcontext()

    def _committed(self, head: tuple[int, str] | None) -> None:
        """Note a head this store signed and committed: the next write need not re-check
        its signature."""
        if head is not None:
            self._known_head = head

    def _trusted(self, trusted_keys: Collection[str] | None) -> set[str] | None:
        """The key ids to trust: those given, else the store's own signer, else None."""
        if trusted_keys is not None:
            return set(trusted_keys)
        return None if self._signer is None else {self._signer.key_id}

    def _paged(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql`` (which must select ``seq`` first and hold ``seq > ?`` as its first
        placeholder and ``ORDER BY seq LIMIT ?`` last), fetched :data:`PAGE` at a time, so
        the cursor is free between pages."""
        after = 0
        while True:
            rows = cur.execute(self._q(sql), (after, *params, PAGE)).fetchall()
            yield from rows
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def _stream(self, cur: Any, sql: str, params: Sequence[Any] = ()
                ) -> Iterator[tuple[Any, ...]]:
        """Rows of ``sql``, read :data:`PAGE` at a time through a second cursor in the
        transaction of ``cur`` (which stays free for lookups meanwhile). SQLite steps the
        statement as rows are fetched; a backend whose cursors fetch a whole result at once
        overrides this with one that does not."""
        c = cur.connection.cursor()
        try:
            c.execute(self._q(sql), tuple(params))
            while rows := c.fetchmany(PAGE):
                yield from rows
        finally:
            c.close()

    # -- writes: one transaction each -----------------------------------------------------
    def _now(self) -> str:
        return ts(self._clock())

    @abc.abstractmethod
    def _write(self) -> AbstractContextManager[Any]:
        """A cursor in one write transaction, committed when the block ends (rolled back on
        an exception)."""

    def import_parcels(
        self, rows: Iterable[tuple[int, Parcel]], *, actor: str, source: str,
        chunk: int = IMPORT_CHUNK,
    ) -> list[RowOutcome]:
        """See :meth:`Store.import_parcels`; rows are committed ``chunk`` at a time."""
        return self.import_parcel_rows((ParcelRow.of(line, p) for line, p in rows),
                                       actor=actor, source=source, chunk=chunk)

    def import_parcel_rows(
        self, rows: Iterable[ParcelRow], *, actor: str, source: str,
        chunk: int = IMPORT_CHUNK,
    ) -> list[RowOutcome]:
        """See :meth:`Store.import_parcel_rows`; rows are committed ``chunk`` at a time,
        each chunk with one ``executemany`` per table."""
        check_text("actor", actor)
        out: list[RowOutcome] = []
        pending: list[ParcelRow] = []
        with self._bulk():
            for row in rows:  # the CPU work (canonical JSON, digests) before taking the lock
                pending.append(row)
                if len(pending) >= chunk:
                    out.extend(self._import_chunk(pending, actor, source))
                    pending = []
            if pending:
                out.extend(self._import_chunk(pending, actor, source))
        return out

    def _import_chunk(self, rows: list[ParcelRow], actor: str, source: str
                      ) -> list[RowOutcome]:
        out: list[RowOutcome] = []
        with self._write() as cur:
            chain = self._chain(cur, deferred=True)
            now = self._now()
            # what is stored under these ids, read once for the chunk (under the write lock)
            stored: dict[str, tuple[str, str]] = {}
            ids = list(dict.fromkeys(r.item_id for r in rows))
            for k in range(0, len(ids), _IN_LIMIT):
                part = ids[k:k + _IN_LIMIT]
                stored.update((r[0], (r[1], r[2])) for r in cur.execute(self._q(
                    "SELECT item_id, digest, imported_at FROM parcels WHERE item_id IN "
                    f"({', '.join('?' * len(part))})"), part).fetchall())
            parcels: list[tuple[Any, ...]] = []
            holds: list[tuple[str, str, str]] = []
            transitions: list[tuple[Any, ...]] = []
            for r in rows:
                known = stored.get(r.item_id)
                if known is not None:  # stored before, or earlier in this chunk
                    if known[0] == r.digest:
                        out.append(RowOutcome.model_construct(
                            line=r.line, item_id=r.item_id, status=RowStatus.UNCHANGED,
                            reason=None, hold_requested=False))
                    else:
                        out.append(RowOutcome(
                            line=r.line, item_id=r.item_id, status=RowStatus.CONFLICT,
                            reason=f"{r.item_id} is already stored (imported {known[1]}) with "
                                   "different content; the stored record was kept"))
                    continue
                seq = chain.append(EventKind.IMPORT, actor, r.item_id,
                                   {"digest": r.digest, "source": source, "line": r.line}, now)
                parcels.append((r.item_id, r.origin_country, r.mail_class, ts(r.received_at),
                                r.facility, r.category, r.record, r.digest, now, seq))
                stored[r.item_id] = (r.digest, now)
                if r.hold is not None:
                    at = ts(r.hold[0])
                    holds.append((r.item_id, HoldState.REQUESTED.value, at))
                    transitions.append(_transition_row(
                        chain, item_id=r.item_id, state=HoldState.REQUESTED, previous=None,
                        at=at, actor=r.hold[1], note=r.hold[2], now=now))
                # built from values this code made (the hot path: no validation per row)
                out.append(RowOutcome.model_construct(
                    line=r.line, item_id=r.item_id, status=RowStatus.INSERTED, reason=None,
                    hold_requested=r.hold is not None))
            head = chain.finish(self._now())  # the events before what refers to them
            cur.executemany(self._q(
                "INSERT INTO parcels (item_id, origin_country, mail_class, received_at, "
                "facility, category, record, digest, imported_at, event_seq) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"), parcels)
            cur.executemany(self._q(
                "INSERT INTO holds (item_id, state, requested_at) VALUES (?, ?, ?)"), holds)
            cur.executemany(self._q(_INSERT_TRANSITION), transitions)
        self._committed(head)
        return out

    def _insert_parcel(self, cur: Any, p: Parcel, *, record: str, d: str, now: str,
                       seq: int) -> None:
        cur.execute(self._q(
            "INSERT INTO parcels (item_id, origin_country, mail_class, received_at, facility, "
            "category, record, digest, imported_at, event_seq) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"),
            (p.item_id, p.origin_country, p.mail_class, ts(p.received_at), p.facility,
             p.declaration.category.value, record, d, now, seq))

    def _parcel_state(self, cur: Any, item_id: str) -> HoldState | None:
        row = cur.execute(self._q(
            "SELECT p.item_id, h.state FROM parcels p LEFT JOIN holds h "
            "ON h.item_id = p.item_id WHERE p.item_id = ?"), (item_id,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("parcel", item_id)
        return None if row[1] is None else HoldState(row[1])

    def _request(self, cur: Any, chain: Chain, *, item_id: str, by: str, reason: str,
                 requested_at: str, now: str) -> None:
        cur.execute(self._q("INSERT INTO holds (item_id, state, requested_at) VALUES (?, ?, ?)"),
                    (item_id, HoldState.REQUESTED.value, requested_at))
        self._log_transition(cur, chain, item_id=item_id, state=HoldState.REQUESTED,
                             previous=None, at=requested_at, actor=by, note=reason, now=now)

    def _log_transition(self, cur: Any, chain: Chain, *, item_id: str, state: HoldState,
                        previous: HoldState | None, at: str, actor: str, note: str | None,
                        now: str, extra: Mapping[str, Any] | None = None) -> None:
        """A hold move: its event (logging the row's digest; ``extra``: where central
        received it from) and its row, and the hold's current state."""
        cur.execute(self._q(_INSERT_TRANSITION), _transition_row(
            chain, item_id=item_id, state=state, previous=previous, at=at, actor=actor,
            note=note, now=now, extra=extra))
        if previous is not None:
            cur.execute(self._q("UPDATE holds SET state = ? WHERE item_id = ?"),
                        (state.value, item_id))

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
            chain = self._chain(cur)
            current = self._parcel_state(cur, item_id)
            check_transition(item_id, current, HoldState.REQUESTED)
            now = self._now()
            self._request(cur, chain, item_id=item_id, by=requested_by, reason=reason,
                          requested_at=now if at is None else ts(at), now=now)
            if held_by:
                self._log_transition(cur, chain, item_id=item_id, state=HoldState.HELD,
                                     previous=HoldState.REQUESTED, at=now, actor=held_by,
                                     note=None, now=now)
            head = chain.finish(self._now())
        self._committed(head)
        return self._written_hold(item_id)

    def _written_hold(self, item_id: str) -> HoldRecord:
        hold = self.get_hold(item_id)
        if hold is None:  # just committed: only a concurrent tamperer could get here
            raise IntegrityError(f"hold of {item_id} vanished right after it was written")
        return hold

    def transition(
        self, item_id: str, target: HoldState, *, actor: str, note: str | None = None,
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
            chain = self._chain(cur)
            current = self._parcel_state(cur, item_id)
            check_transition(item_id, current, target)
            now = self._now()
            self._log_transition(cur, chain, item_id=item_id, state=target, previous=current,
                                 at=now if at is None else ts(at), actor=actor, note=note,
                                 now=now)
            head = chain.finish(self._now())
        self._committed(head)
        return self._written_hold(item_id)

    def add_inspection(
        self, item_id: str, spectrum: Spectrum, identification: AnyIdentification, *,
        operator: str, station: str, device: DeviceIdentity,
        performed_at: datetime | None = None, original: NewOriginal | None = None,
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
            original = None if new.original is None else PreparedOriginal.of(new.original)
            if original is not None:
                if original.sha256 in hashes:
                    raise ValueError(f"{original.name}: the same file twice in one batch "
                                     f"(SHA-256 {original.sha256})")
                hashes.add(original.sha256)
            technique = new.spectrum.technique.value
            first = primary(new.identification, technique)
            if not new.operator or not new.station:
                raise ValueError(f"{item_id}: an inspection needs an operator and a station")
            # stored texts are pydantic's JSON; digests cover the exact stored text
            prepared.append((
                new, item_id, technique, first, encode_spectrum(new.spectrum),
                new.identification.model_dump_json(), new.device.model_dump_json(),
                first.pipeline.model_dump_json(), new_id(), new_id(), original,
            ))
        out: list[Inspection] = []
        with self._write() as cur:
            chain = self._chain(cur)
            now = self._now()
            for (new, item_id, technique, first, enc, ident_text, device_text,
                 pipeline_text, inspection_id, result_id, original) in prepared:
                performed = now if new.performed_at is None else ts(new.performed_at)
                current = self._parcel_state(cur, item_id)
                check_inspectable(item_id, current)
                if original is not None and (row := cur.execute(self._q(
                        "SELECT inspection_id, item_id FROM original_files WHERE sha256 = ?"),
                        (original.sha256,)).fetchone()) is not None:
                    raise DuplicateOriginalError(original.sha256, row[0], row[1])
                meta_digest = self._store_spectrum(cur, enc)
                ivals = (inspection_id, item_id, performed, new.operator, new.station,
                         device_text, technique, enc.content_hash, pipeline_text,
                         first.library_id, first.library_hash)
                seq = chain.append(
                    EventKind.SCAN, new.operator, item_id,
                    {"inspection_id": inspection_id, "spectrum_hash": enc.content_hash,
                     "technique": technique, "digest": row_digest(INSPECTION_COLUMNS, ivals),
                     SPECTRUM_RECORD: meta_digest},
                    now)
                self._insert_inspection(cur, ivals, seq)
                stored_original = None if original is None else self._insert_original(
                    cur, chain, original, inspection_id=inspection_id, item_id=item_id,
                    actor=new.operator, now=now)
                rvals = (result_id, inspection_id, ResultKind.ORIGINAL.value, now,
                         new.operator, first.library_id, first.library_hash,
                         new.identification.verdict.value, bool(new.identification.alert),
                         ident_text, None, None)
                self._log_result(cur, chain, item_id, rvals, now=now)
                if current is HoldState.HELD:
                    self._log_transition(cur, chain, item_id=item_id,
                                         state=HoldState.INSPECTED, previous=current, at=now,
                                         actor=new.operator,
                                         note=f"inspection {inspection_id}", now=now)
                # built from what is being committed (no re-read: this is the hot path)
                out.append(Inspection(
                    inspection_id=inspection_id, item_id=item_id, performed_at=dt(performed),
                    operator=new.operator, station=new.station, device=new.device,
                    technique=new.spectrum.technique, spectrum_hash=enc.content_hash,
                    pipeline=first.pipeline, library_id=first.library_id,
                    library_hash=first.library_hash,
                    results=(Result(
                        result_id=result_id, inspection_id=inspection_id,
                        kind=ResultKind.ORIGINAL, recorded_at=dt(now),
                        recorded_by=new.operator, library_id=first.library_id,
                        library_hash=first.library_hash,
                        verdict=new.identification.verdict, alert=new.identification.alert,
                        identification=new.identification),),
                    original_file=stored_original))
            head = chain.finish(self._now())
        self._committed(head)
        return out

    def _insert_original(self, cur: Any, chain: Chain, original: PreparedOriginal, *,
                         inspection_id: str, item_id: str, actor: str,
                         now: str) -> OriginalFile:
        """An inspection's original file and its ``original-file`` event (the row's digest;
        the bytes are covered by the SHA-256 in it)."""
        ovals = (original.sha256, inspection_id, item_id, original.name, original.size,
                 original.format, now)
        seq = chain.append(
            EventKind.ORIGINAL_FILE, actor, item_id,
            {"inspection_id": inspection_id, "sha256": original.sha256, "size": original.size,
             "name": original.name, "format": original.format,
             "digest": row_digest(ORIGINAL_COLUMNS, ovals)},
            now)
        cur.execute(self._q(f"INSERT INTO original_files ({', '.join(ORIGINAL_COLUMNS)}, "
                            f"data, event_seq) VALUES ({', '.join('?' * (len(ovals) + 2))})"),
                    (*ovals, original.data, seq))
        return original_record(ovals)

    def _original_of(self, cur: Any, inspection_id: str) -> OriginalFile | None:
        """The original file of an inspection (None: it was acquired, not ingested)."""
        row = cur.execute(self._q(f"SELECT {', '.join(ORIGINAL_COLUMNS)} FROM original_files "
                                  "WHERE inspection_id = ?"), (inspection_id,)).fetchone()
        return None if row is None else original_record(row)

    def find_original(self, sha256: str) -> OriginalFile | None:
        """See :meth:`Store.find_original`."""
        with self._snapshot() as cur:
            row = cur.execute(self._q(f"SELECT {', '.join(ORIGINAL_COLUMNS)} FROM "
                                      "original_files WHERE sha256 = ?"), (sha256,)).fetchone()
        return None if row is None else original_record(row)

    def get_original(self, sha256: str) -> tuple[OriginalFile, bytes]:
        """See :meth:`Store.get_original`."""
        with self._snapshot() as cur:
            row = cur.execute(self._q(f"SELECT {', '.join(ORIGINAL_COLUMNS)}, data FROM "
                                      "original_files WHERE sha256 = ?"), (sha256,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("original file", sha256)
        meta, data = original_record(row[:-1]), bytes(row[-1])
        if problem := original_problem(meta.sha256, meta.size, data):
            raise IntegrityError(f"stored original file {meta.name} of inspection "
                                 f"{meta.inspection_id}: {problem}; the database was altered")
        return meta, data

    def _store_spectrum(self, cur: Any, enc: EncodedSpectrum) -> str:
        """A raw spectrum and its x axis, each stored once (by content hash); returns the
        digest of the spectrum's metadata record as stored (the one already stored when the
        same content was stored before, whatever its labels: the record the inspection will
        point to), for its scan event to log. Under the writers' lock: read, then written."""
        stored = cur.execute(self._q("SELECT meta FROM spectra WHERE hash = ?"),
                             (enc.content_hash,)).fetchone()
        if stored is not None:
            return record_digest(str(stored[0]))
        if cur.execute(self._q("SELECT 1 FROM axes WHERE hash = ?"),
                       (enc.axis_hash,)).fetchone() is None:
            cur.execute(self._q("INSERT INTO axes (hash, n, data) VALUES (?, ?, ?) "
                                "ON CONFLICT (hash) DO NOTHING"),
                        (enc.axis_hash, enc.n, enc.pack_axis()))
        cur.execute(self._q("INSERT INTO spectra (hash, n, meta, axis_hash, data) "
                            "VALUES (?, ?, ?, ?, ?)"),
                    (enc.content_hash, enc.n, enc.meta, enc.axis_hash, enc.values))
        return record_digest(enc.meta)

    def _insert_inspection(self, cur: Any, ivals: Sequence[Any], seq: int) -> None:
        cur.execute(self._q(f"INSERT INTO inspections ({', '.join(INSPECTION_COLUMNS)}, "
                            f"event_seq) VALUES ({', '.join('?' * (len(ivals) + 1))})"),
                    (*ivals, seq))

    def _log_result(self, cur: Any, chain: Chain, item_id: str, rvals: Sequence[Any], *,
                    now: str, extra: Mapping[str, Any] | None = None) -> None:
        """A result (:data:`~parcels.audit.RESULT_COLUMNS` values): its ``verdict`` or
        ``reidentify`` event (``extra``: where central received it from) and its row."""
        original = rvals[2] == ResultKind.ORIGINAL.value
        seq = chain.append(
            EventKind.VERDICT if original else EventKind.REIDENTIFY, rvals[4], item_id,
            {"inspection_id": rvals[1], "result_id": rvals[0], "verdict": rvals[7],
             "alert": rvals[8], "library_id": rvals[5], "library_hash": rvals[6],
             "based_on": rvals[10], "digest": row_digest(RESULT_COLUMNS, rvals),
             **(extra or {})},
            now)
        cur.execute(self._q(f"INSERT INTO results ({', '.join(RESULT_COLUMNS)}, event_seq) "
                            f"VALUES ({', '.join('?' * (len(rvals) + 1))})"), (*rvals, seq))

    def add_result(
        self, inspection_id: str, identification: AnyIdentification, *, recorded_by: str,
        note: str | None = None,
    ) -> Result:
        """See :meth:`Store.add_result`."""
        check_text("recorded_by", recorded_by)
        check_text("note", note)
        if not recorded_by:
            raise ValueError("a re-identification needs who recorded it")
        ident_text = identification.model_dump_json()
        result_id = new_id()
        with self._write() as cur:
            chain = self._chain(cur)
            row = cur.execute(self._q("SELECT item_id, technique FROM inspections "
                                      "WHERE inspection_id = ?"), (inspection_id,)).fetchone()
            if row is None:
                raise ParcelNotFoundError("inspection", inspection_id)
            first = primary(identification, row[1])
            based_on = cur.execute(self._q(
                "SELECT result_id FROM results WHERE inspection_id = ? "
                "ORDER BY event_seq DESC LIMIT 1"), (inspection_id,)).fetchone()[0]
            now = self._now()
            rvals = (result_id, inspection_id, ResultKind.REIDENTIFICATION.value, now,
                     recorded_by, first.library_id, first.library_hash,
                     identification.verdict.value, bool(identification.alert), ident_text,
                     based_on, note)
            self._log_result(cur, chain, row[0], rvals, now=now)
            head = chain.finish(self._now())
        self._committed(head)
        return next(r for r in self.get_inspection(inspection_id).results
                    if r.result_id == result_id)

    def record_export(
        self, item_ids: Sequence[str], *, actor: str, destination: str, content_digest: str
    ) -> AuditEvent:
        """See :meth:`Store.record_export`."""
        check_text("actor", actor)
        with self._write() as cur:
            chain = self._chain(cur)
            seq = chain.append(EventKind.EXPORT, actor, None,
                               {"items": list(item_ids), "count": len(item_ids),
                                "destination": destination, "digest": content_digest},
                               self._now())
            head = chain.finish(self._now())
        self._committed(head)
        return next(self.audit_events(since_seq=seq))

    # -- reading ------------------------------------------------------------------------------
    def find(self, query: ParcelQuery) -> list[ParcelSummary]:
        """See :meth:`Store.find`."""
        current = ("r.event_seq = (SELECT max(r2.event_seq) FROM results r2 "
                   "WHERE r2.inspection_id = r.inspection_id)")
        where: list[str] = []
        params: list[Any] = []
        if query.item_ids is not None:
            where.append(f"p.item_id IN ({', '.join('?' * len(query.item_ids)) or 'NULL'})")
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
                f"i.inspection_id WHERE i.item_id = p.item_id AND r.alert AND {current})")
        if query.origin_country is not None:
            where.append("p.origin_country = ?")
            params.append(query.origin_country)
        if query.received_from is not None:
            where.append("p.received_at >= ?")
            params.append(ts(query.received_from))
        if query.received_to is not None:
            where.append("p.received_at < ?")
            params.append(ts(query.received_to))
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
        with self._snapshot() as cur:
            rows = cur.execute(self._q(sql), params).fetchall()
        return [
            ParcelSummary(item_id=r[0], origin_country=r[1], mail_class=r[2],
                          received_at=dt(r[3]), facility=r[4], category=r[5],
                          hold_state=r[6], inspections=r[7], verdict=r[8], alert=bool(r[9]))
            for r in rows
        ]

    def get_spectrum(self, spectrum_hash: str) -> Spectrum:
        """See :meth:`Store.get_spectrum`."""
        with self._snapshot() as cur:
            row = cur.execute(self._q(
                "SELECT s.meta, a.data, s.data FROM spectra s LEFT JOIN axes a "
                "ON a.hash = s.axis_hash WHERE s.hash = ?"), (spectrum_hash,)).fetchone()
        if row is None:
            raise ParcelNotFoundError("spectrum", spectrum_hash)
        if row[1] is None:
            raise IntegrityError(f"stored spectrum {spectrum_hash}: its x axis is missing")
        return decode_spectrum(spectrum_hash, row[0], bytes(row[1]), bytes(row[2]))

    def audit_events(
        self, *, item_id: str | None = None, since_seq: int = 1
    ) -> Iterator[AuditEvent]:
        """See :meth:`Store.audit_events` (read :data:`PAGE` events at a time)."""
        if item_id is not None:
            item_id = validate_item_id(item_id)
        where = "" if item_id is None else " AND item_id = ?"
        seq = since_seq
        while True:
            with self._snapshot() as cur:
                rows = cur.execute(self._q(
                    f"SELECT {EVENT_COLS} FROM audit_events WHERE seq >= ?{where} "
                    "ORDER BY seq LIMIT ?"), (seq, *([item_id] if item_id else []), PAGE)
                ).fetchall()
            for r in rows:
                yield AuditEvent(seq=r[0], at=dt(r[1]), kind=r[2], actor=r[3], item_id=r[4],
                                 data=json.loads(r[5]), prev_hash=r[6], hash=r[7])
            if len(rows) < PAGE:
                return
            seq = int(rows[-1][0]) + 1

    # -- heads and keys ---------------------------------------------------------------------
    def signed_head(self) -> SignedHead | None:
        """See :meth:`Store.signed_head`."""
        with self._snapshot() as cur:
            return last_head(cur, self._q)

    def station_keys(self) -> dict[str, str]:
        """See :meth:`Store.station_keys`."""
        with self._snapshot() as cur:
            return {k: v.hex for k, v in stored_keys(cur, self._q).items()}

    # -- the whole chain ----------------------------------------------------------------------
    def verify(
        self, *, deep: bool = True, anchors: Mapping[int, str] | None = None,
        trusted_keys: Collection[str] | None = None, progress: Progress | None = None,
    ) -> VerifyReport:
        """See :meth:`Store.verify`."""
        trusted = self._trusted(trusted_keys)
        with self._snapshot() as cur:
            return self._verify(cur, deep, anchors or {}, trusted, progress or _silent)

    def _anchors(self, cur: Any, anchors: Mapping[int, str]) -> list[Finding]:
        findings: list[Finding] = []
        for aseq, ahash in sorted(anchors.items()):
            stored = self._event_hash(cur, aseq)
            if stored is None:
                findings.append(Finding(seq=aseq, problem=Problem.DELETED,
                                        detail=f"anchored event #{aseq} is not in the log"))
            elif stored != ahash:
                findings.append(Finding(seq=aseq, problem=Problem.EDITED,
                                        detail=f"event #{aseq} does not have its anchored "
                                               f"hash {ahash[:16]}…"))
        return findings

    def _event_hash(self, cur: Any, seq: int) -> str | None:
        r = cur.execute(self._q("SELECT hash FROM audit_events WHERE seq = ?"), (seq,)
                        ).fetchone()
        return None if r is None else str(r[0])

    def _last_event(self, cur: Any) -> tuple[int, str]:
        row = cur.execute(self._q("SELECT seq, hash FROM audit_events ORDER BY seq DESC "
                                  "LIMIT 1")).fetchone()
        return (0, GENESIS) if row is None else (int(row[0]), str(row[1]))

    def _verify(self, cur: Any, deep: bool, anchors: Mapping[int, str],
                trusted: set[str] | None, progress: Progress) -> VerifyReport:
        findings = self._anchors(cur, anchors)
        events = int(cur.execute("SELECT count(*) FROM audit_events").fetchone()[0])
        spectra = int(cur.execute("SELECT count(DISTINCT spectrum_hash) FROM inspections"
                                  ).fetchone()[0]) if deep else 0
        total = events + spectra
        progress(0, total)

        def lookup(h: str) -> int | None:
            r = cur.execute(self._q("SELECT min(seq) FROM audit_events WHERE hash = ?"),
                            (h,)).fetchone()
            return None if r is None or r[0] is None else int(r[0])

        raw = (RawEvent(*r) for r in _reporting(self._paged(
            cur, f"SELECT {EVENT_COLS} FROM audit_events WHERE seq > ? ORDER BY seq LIMIT ?"),
            progress, 0, total))
        n, hseq, hhash, chain_findings = verify_chain(raw, lookup)
        keys = stored_keys(cur, self._q)
        used: dict[str, None] = {}

        def heads() -> Iterator[SignedHead]:
            for r in self._paged(cur, f"SELECT {HEAD_COLS} FROM signed_heads WHERE seq > ? "
                                      "ORDER BY seq LIMIT ?"):
                h = head_of(r)
                used.setdefault(h.key_id, None)
                yield h

        head_findings, last, legacy = check_heads(
            heads(), keys=keys, trusted=trusted,
            event_hash_at=lambda s: self._event_hash(cur, s), last_event=self._last_event(cur))
        key_ids = tuple(used)
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

    # -- one parcel ---------------------------------------------------------------------------
    def _has_parcel(self, cur: Any, item_id: str) -> None:
        if cur.execute(self._q("SELECT 1 FROM parcels WHERE item_id = ?"),
                       (item_id,)).fetchone() is None:
            raise ParcelNotFoundError("parcel", item_id)

    def _item_seqs(self, cur: Any, item_id: str) -> list[int]:
        """The events of a parcel: logged under its id, or logging one of its rows."""
        sql = ("SELECT seq FROM audit_events WHERE item_id = ? "
               "UNION SELECT event_seq FROM parcels WHERE item_id = ? "
               "UNION SELECT event_seq FROM inspections WHERE item_id = ? "
               "UNION SELECT r.event_seq FROM results r JOIN inspections i "
               "ON i.inspection_id = r.inspection_id WHERE i.item_id = ? "
               "UNION SELECT event_seq FROM hold_transitions WHERE item_id = ? "
               "UNION SELECT event_seq FROM original_files WHERE item_id = ?")
        return sorted(int(r[0]) for r in cur.execute(self._q(sql), (item_id,) * 6).fetchall()
                      if r[0] is not None)

    def _proof(self, cur: Any, seqs: Sequence[int]
               ) -> tuple[list[tuple[SignedHead, list[RawEvent]]], list[Finding]]:
        """For each signed transaction covering ``seqs``: its head and the events from the
        first of ``seqs`` it covers up to its head."""
        groups: dict[int, tuple[SignedHead, int]] = {}
        findings: list[Finding] = []
        for s in seqs:
            row = cur.execute(self._q(f"SELECT {HEAD_COLS} FROM signed_heads WHERE seq >= ? "
                                      "ORDER BY seq LIMIT 1"), (s,)).fetchone()
            if row is None:
                findings.append(Finding(seq=s, problem=Problem.UNSIGNED,
                                        detail=f"event #{s} is covered by no signed head"))
                continue
            head = head_of(row)
            start = groups.get(head.seq, (head, s))[1]
            groups[head.seq] = (head, min(start, s))
        out: list[tuple[SignedHead, list[RawEvent]]] = []
        for _, (head, start) in sorted(groups.items()):
            events = [RawEvent(*r) for r in cur.execute(self._q(
                f"SELECT {EVENT_COLS} FROM audit_events WHERE seq BETWEEN ? AND ? ORDER BY seq"),
                (start, head.seq)).fetchall()]
            out.append((head, events))
        return out, findings

    def item_proof(self, item_id: str) -> ItemProof:
        """See :meth:`Store.item_proof`."""
        item_id = validate_item_id(item_id)
        with self._snapshot() as cur:
            self._has_parcel(cur, item_id)
            groups, _ = self._proof(cur, self._item_seqs(cur, item_id))
            latest = last_head(cur, self._q)
            keys = {k: v.hex for k, v in stored_keys(cur, self._q).items()}
            records = self._item_rows(cur, item_id)
        return ItemProof(
            item_id=item_id,
            events=tuple(e.as_dict() for _, evs in groups for e in evs),
            heads=tuple(h for h, _ in groups),
            latest=latest, public_keys=keys, records=records)

    def _item_rows(self, cur: Any, item_id: str) -> dict[str, list[dict[str, object]]]:
        """A parcel's logged rows, exactly as stored (what their events' digests cover)."""
        def rows(cols: Sequence[str], sql: str) -> list[dict[str, object]]:
            out = []
            for r in cur.execute(self._q(sql), (item_id,)).fetchall():
                d = dict(zip((*cols, "event_seq"), r, strict=True))
                if "alert" in d:
                    d["alert"] = bool(d["alert"])
                out.append(d)
            return out

        ins, res, tra = INSPECTION_COLUMNS, RESULT_COLUMNS, TRANSITION_COLUMNS
        return {
            "parcel": rows(("record",), "SELECT record, event_seq FROM parcels "
                                        "WHERE item_id = ?"),
            "inspections": rows(ins, f"SELECT {', '.join(ins)}, event_seq FROM inspections "
                                     "WHERE item_id = ? ORDER BY event_seq"),
            "results": rows(res, f"SELECT {', '.join('r.' + c for c in res)}, r.event_seq "
                                 "FROM results r JOIN inspections i ON i.inspection_id = "
                                 "r.inspection_id WHERE i.item_id = ? ORDER BY r.event_seq"),
            "transitions": rows(tra, f"SELECT {', '.join(tra)}, event_seq FROM "
                                     "hold_transitions WHERE item_id = ? ORDER BY id"),
            "spectra": [{"hash": h, "meta": m} for h, m in cur.execute(self._q(
                "SELECT hash, meta FROM spectra WHERE hash IN (SELECT spectrum_hash FROM "
                "inspections WHERE item_id = ?) ORDER BY hash"), (item_id,)).fetchall()],
            "originals": rows(ORIGINAL_COLUMNS, f"SELECT {', '.join(ORIGINAL_COLUMNS)}, "
                                                "event_seq FROM original_files WHERE "
                                                "item_id = ? ORDER BY event_seq"),
        }

    def verify_item(
        self, item_id: str, *, deep: bool = True, anchors: Mapping[int, str] | None = None,
        trusted_keys: Collection[str] | None = None,
    ) -> VerifyReport:
        """See :meth:`Store.verify_item`."""
        item_id = validate_item_id(item_id)
        trusted = self._trusted(trusted_keys)
        with self._snapshot() as cur:
            self._has_parcel(cur, item_id)
            findings = self._anchors(cur, anchors or {})
            seqs = self._item_seqs(cur, item_id)
            groups, unsigned = self._proof(cur, seqs)
            findings += unsigned
            heads = [h for h, _ in groups]
            latest = last_head(cur, self._q)
            keys = stored_keys(cur, self._q)
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
        findings.sort(key=lambda f: f.seq)
        last_seq, last_hash = max(((e.seq, e.hash) for _, evs in groups for e in evs),
                                  default=(0, GENESIS))
        return VerifyReport(
            ok=not findings, events=len(seqs), head_seq=last_seq, head_hash=last_hash,
            first_bad=findings[0] if findings else None, findings=tuple(findings[:100]),
            scope=f"item {item_id}", signed_head=latest, key_ids=used,
            trusted=None if trusted is None else bool(used) and set(used) <= trusted)

    # -- every record against its event --------------------------------------------------------
    def _verify_evidence(self, cur: Any, deep: bool, item: str | None = None,
                         progress: tuple[int, int, Progress] | None = None) -> list[Finding]:
        """Every evidence row against its event; with ``item``, only that parcel's rows.
        ``progress``: (steps done before, total, receiver), told as spectra are decoded.

        Each table is walked once, a block at a time (:meth:`_stream`); what a check needs
        from another table comes with the row (a join) or by key, so memory stays flat in
        the database's size (the findings apart)."""
        q = self._q
        out: list[Finding] = []
        p: tuple[str, ...] = () if item is None else (item,)

        def only(col: str, glue: str = "WHERE") -> str:
            return "" if item is None else f" {glue} {col} = ?"

        def rows(sql: str, params: Sequence[Any]) -> Iterator[Any]:
            return self._stream(cur, sql, params)

        def check(event: Sequence[Any], kinds: Collection[str], *, item_id: str, what: str,
                  expect: dict[str, Any]) -> dict[str, Any] | None:
            """The event's data when it is the right event and logs ``expect``."""
            seq, kind, ev_item, data = event
            if kind is None or seq is None:
                out.append(Finding(seq=seq or 0, problem=Problem.MISSING_EVENT,
                                   detail=f"{what} refers to audit event #{seq}, which is "
                                          "not stored"))
                return None
            if kind not in kinds or ev_item != item_id:
                out.append(Finding(seq=seq, problem=Problem.MISSING_EVENT,
                                   detail=f"{what} refers to event #{seq}, which is a "
                                          f"{kind} event of {ev_item}"))
                return None
            try:
                d = json.loads(data or "")
            except ValueError:
                return None  # the chain check reports an unreadable event
            for key, value in expect.items():
                if d.get(key) != value:
                    out.append(Finding(
                        seq=seq, problem=Problem.EVIDENCE,
                        detail=f"{what} does not match what event #{seq} ({kind}) logged: "
                               f"{key} differs; the stored record was changed",
                    ))
                    return None
            return d if isinstance(d, dict) else None

        ev = "LEFT JOIN audit_events e ON e.seq = x.event_seq"
        for r in rows(
            "SELECT x.item_id, x.origin_country, x.mail_class, x.received_at, x.facility, "
            "x.category, x.record, x.digest, x.event_seq, e.kind, e.item_id, e.data "
            f"FROM parcels x {ev}" + only("x.item_id"), p
        ):
            item_id, record = r[0], r[6]
            what = f"parcel {item_id}"
            expect: dict[str, Any] = {"digest": record_digest(record)}
            try:
                rec = json.loads(record)
                cols: tuple[Any, ...] = (
                    rec["item_id"], rec["origin_country"], rec["mail_class"],
                    ts(dt(rec["received_at"].replace("Z", "+00:00"))), rec["facility"],
                    rec["declaration"]["category"], expect["digest"])
            except (ValueError, KeyError, TypeError, AttributeError):
                cols = ("unreadable",)
            if cols != (*r[:6], r[7]):
                out.append(Finding(seq=r[8], problem=Problem.EVIDENCE,
                                   detail=f"{what}: indexed columns or digest differ from the "
                                          "stored record"))
            check(r[8:12], ("import",), item_id=item_id, what=what, expect=expect)

        ins, res, tra = INSPECTION_COLUMNS, RESULT_COLUMNS, TRANSITION_COLUMNS
        # a stored spectrum's labels (outside its hash) against the record each scan logged;
        # reported with the spectra's findings below
        labels: list[Finding] = []
        for r in rows(
            f"SELECT {', '.join('x.' + c for c in ins)}, x.event_seq, e.kind, e.item_id, "
            f"e.data, sp.hash, sp.meta FROM inspections x {ev} "
            "LEFT JOIN spectra sp ON sp.hash = x.spectrum_hash" + only("x.item_id"), p
        ):
            vals, at, (stored, meta) = r[:len(ins)], r[len(ins)], r[-2:]
            logged = check(r[len(ins):len(ins) + 4], ("scan",), item_id=vals[1],
                           what=f"inspection {vals[0]}",
                           expect={"inspection_id": vals[0], "spectrum_hash": vals[7],
                                   "digest": row_digest(ins, vals)})
            if (logged is not None and logged.get(SPECTRUM_RECORD) is not None
                    and stored is not None and spectrum_record_differs(
                        {SPECTRUM_RECORD: logged[SPECTRUM_RECORD]}, meta)):
                labels.append(Finding(
                    seq=at, problem=Problem.EVIDENCE,
                    detail=f"inspection {vals[0]}: {spectrum_record_detail(vals[7], at)}"))

        for r in rows(
            f"SELECT {', '.join('x.' + c for c in res)}, x.event_seq, e.kind, e.item_id, "
            f"e.data, i.item_id FROM results x {ev} "
            "LEFT JOIN inspections i ON i.inspection_id = x.inspection_id" + only("i.item_id"),
            p
        ):
            vals = list(r[:len(res)])
            vals[8] = bool(vals[8])
            check(r[len(res):len(res) + 4], ("verdict", "reidentify"),
                  item_id=r[len(res) + 4] or "?",
                  what=f"result {vals[0]} of inspection {vals[1]}",
                  expect={"result_id": vals[0], "verdict": vals[7], "alert": vals[8],
                          "digest": row_digest(res, vals)})

        org = ORIGINAL_COLUMNS
        for r in rows(
            f"SELECT {', '.join('x.' + c for c in org)}, x.event_seq, e.kind, e.item_id, "
            f"e.data FROM original_files x {ev}" + only("x.item_id"), p
        ):
            vals = r[:len(org)]
            check(r[len(org):len(org) + 4], (EventKind.ORIGINAL_FILE.value,), item_id=vals[2],
                  what=f"original file {vals[3]} of inspection {vals[1]}",
                  expect={"inspection_id": vals[1], "sha256": vals[0],
                          "digest": row_digest(org, vals)})

        for r in rows(
            f"SELECT {', '.join('x.' + c for c in tra)}, x.event_seq, e.kind, e.item_id, "
            f"e.data FROM hold_transitions x {ev}" + only("x.item_id") + " ORDER BY x.id", p
        ):
            vals = r[:len(tra)]
            kinds = tuple(k.value for s, k in EVENT_FOR_STATE.items() if s.value == vals[1])
            check(r[len(tra):len(tra) + 4], kinds, item_id=vals[0],
                  what=f"hold transition of {vals[0]} to {vals[1]}",
                  expect={"digest": row_digest(tra, vals)})
        # a hold against its transitions: requested when the first was, in the state of
        # the last (by the item index, one hold at a time)
        for r in rows(
            "SELECT h.item_id, h.state, h.requested_at, p.event_seq, f.at, l.state, "
            "l.event_seq, l.id FROM holds h LEFT JOIN parcels p ON p.item_id = h.item_id "
            "LEFT JOIN hold_transitions f ON f.id = (SELECT min(id) FROM hold_transitions "
            "WHERE item_id = h.item_id) "
            "LEFT JOIN hold_transitions l ON l.id = (SELECT max(id) FROM hold_transitions "
            "WHERE item_id = h.item_id)" + only("h.item_id"), p
        ):
            first_at, state, last_seq = (None, None, r[3] or 0) if r[7] is None else r[4:7]
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
            for r in rows(
                "SELECT seq, item_id FROM audit_events WHERE kind = ?"
                + only("item_id", "AND") + f" AND seq NOT IN ({rows_of[table]})",
                (kind, *p, *p)
            ):
                out.append(Finding(seq=r[0], problem=Problem.EVIDENCE,
                                   detail=f"event #{r[0]} ({kind}, {r[1]}) logs a record that "
                                          f"is no longer in {table}: it was deleted"))
        hold_kinds = tuple(k.value for k in EVENT_FOR_STATE.values())
        for r in rows(
            f"SELECT seq, kind, item_id FROM audit_events WHERE kind IN "
            f"({','.join('?' * len(hold_kinds))})" + only("item_id", "AND")
            + f" AND seq NOT IN ({rows_of['hold_transitions']})",
            (*hold_kinds, *p, *p)
        ):
            out.append(Finding(seq=r[0], problem=Problem.EVIDENCE,
                               detail=f"event #{r[0]} ({r[1]}, {r[2]}) logs a hold transition "
                                      "that is no longer stored: it was deleted"))

        # raw spectra: present, and (deep) decoding to their hash; one spectrum at a time
        before, total, tell = progress if progress is not None else (0, 0, _silent)
        out += labels
        for h, seq in _reporting(rows(
            "SELECT spectrum_hash, min(event_seq) FROM inspections" + only("item_id")
            + " GROUP BY spectrum_hash", p
        ), tell, before, total):
            s = cur.execute(q("SELECT s.meta, a.data, s.data FROM spectra s LEFT JOIN axes a "
                              "ON a.hash = s.axis_hash WHERE s.hash = ?"), (h,)).fetchone()
            if s is None or s[1] is None:
                out.append(Finding(seq=seq, problem=Problem.EVIDENCE,
                                   detail=f"raw spectrum {h} logged by event #{seq} is "
                                          "missing" + ("" if s is None else " its x axis")))
            elif deep:
                try:
                    decode_spectrum(h, s[0], bytes(s[1]), bytes(s[2]))
                except IntegrityError as exc:
                    out.append(Finding(seq=seq, problem=Problem.EVIDENCE, detail=str(exc)))
        # original files (deep): their bytes against the hash and size their row records
        # (the row's digest, checked above, is what the event logged); one file at a time
        if deep:
            for sha, seq in rows("SELECT sha256, event_seq FROM original_files"
                                 + only("item_id"), p):
                f = cur.execute(q("SELECT size, name, data FROM original_files WHERE "
                                  "sha256 = ?"), (sha,)).fetchone()
                if problem := original_problem(sha, f[0], bytes(f[2])):
                    out.append(Finding(seq=seq, problem=Problem.EVIDENCE,
                                       detail=f"original file {f[1]} logged by event "
                                              f"#{seq}: {problem}"))
        return out

    # -- sync: the station's side ---------------------------------------------------------------
    def sync_batch(self, *, after_seq: int, station: str,
                   max_events: int = 500) -> StationBatch:
        """See :meth:`Store.sync_batch`: a run ends where a signed transaction ends (its
        signed head travels with it) and never between an inspection's scan and its result.
        """
        with self._snapshot() as cur:  # one snapshot: the events and their records agree
            return self._sync_batch(cur, after_seq, station, max_events)

    def _sync_batch(self, cur: Any, after_seq: int, station: str,
                    max_events: int) -> StationBatch:
        q = self._q
        rows = cur.execute(q(f"SELECT {EVENT_COLS} FROM audit_events WHERE seq > ? "
                             "ORDER BY seq LIMIT ?"), (after_seq, max(1, max_events))).fetchall()
        if not rows:
            return StationBatch(station=station, events=[])
        joined = (EventKind.ORIGINAL_FILE.value, EventKind.VERDICT.value,
                  EventKind.INSPECTED.value)
        while True:
            end = int(rows[-1][0])
            head = cur.execute(q("SELECT min(seq) FROM signed_heads WHERE seq >= ?"),
                               (end,)).fetchone()[0]
            if head is not None and int(head) > end:
                rows += cur.execute(q(f"SELECT {EVENT_COLS} FROM audit_events WHERE seq > ? "
                                      "AND seq <= ? ORDER BY seq"), (end, int(head))).fetchall()
                continue
            nxt = cur.execute(q(f"SELECT {EVENT_COLS} FROM audit_events WHERE seq = ?"),
                              (end + 1,)).fetchone()
            if nxt is None or nxt[2] not in joined:
                break
            rows.append(nxt)
        events = [WireEvent.of(RawEvent(*r)) for r in rows]
        lo, hi = events[0].seq, events[-1].seq
        span = "WHERE event_seq BETWEEN ? AND ?"
        ins, res, tra = INSPECTION_COLUMNS, RESULT_COLUMNS, TRANSITION_COLUMNS

        def select(sql: str) -> list[Any]:
            return list(cur.execute(q(sql), (lo, hi)).fetchall())

        parcels = [WireParcel(seq=r[0], record=r[1])
                   for r in select(f"SELECT event_seq, record FROM parcels {span}")]
        inspections = [WireInspection(seq=r[-1], **dict(zip(ins, r[:-1], strict=True)))
                       for r in select(f"SELECT {', '.join(ins)}, event_seq FROM inspections "
                                       f"{span}")]
        results = [WireResult(seq=r[-1], **dict(zip(res, (*r[:8], bool(r[8]), *r[9:-1]),
                                                    strict=True)))
                   for r in select(f"SELECT {', '.join(res)}, event_seq FROM results {span}")]
        transitions = [WireTransition(seq=r[-1], **dict(zip(tra, r[:-1], strict=True)))
                       for r in select(f"SELECT {', '.join(tra)}, event_seq FROM "
                                       f"hold_transitions {span}")]
        spectra = [WireSpectrum(hash=r[0], n=r[1], meta=r[2], axis_hash=r[3],
                                axis=bytes(r[4]), data=bytes(r[5]))
                   for r in select("SELECT s.hash, s.n, s.meta, s.axis_hash, a.data, s.data "
                                   "FROM spectra s JOIN axes a ON a.hash = s.axis_hash WHERE "
                                   f"s.hash IN (SELECT spectrum_hash FROM inspections {span})")]
        heads = [head_of(r) for r in cur.execute(q(
            f"SELECT {HEAD_COLS} FROM signed_heads WHERE seq BETWEEN ? AND ? ORDER BY seq"),
            (lo, hi)).fetchall()]
        keys = stored_keys(cur, q)
        public_keys = {h.key_id: keys[h.key_id].hex for h in heads if h.key_id in keys}
        return StationBatch(station=station, events=events, parcels=parcels,
                            inspections=inspections, results=results,
                            transitions=transitions, spectra=spectra, heads=heads,
                            public_keys=public_keys)

    def unsent(self, *, after_seq: int) -> tuple[int, int]:
        """See :meth:`Store.unsent`."""
        with self._snapshot() as cur:
            row = cur.execute(self._q(
                "SELECT count(*), count(*) FILTER (WHERE kind = 'scan') FROM audit_events "
                "WHERE seq > ?"), (after_seq,)).fetchone()
        return int(row[0]), int(row[1])


__all__ = ["PAGE", "SIGN_EVERY", "Chain", "SQLStore", "dt", "head_of", "last_head", "new_id",
           "primary", "stored_keys", "ts"]

