"""The one interface of the evidence store.

Everything above the store (import, queries, statistics, export, the CLI) talks to
:class:`Store` only: records in, records out, no SQL. The SQLite implementation
(:mod:`parcels.store.sqlite`) is the embedded default; the central PostgreSQL implementation
(:mod:`parcels.store.postgres`) provides the same methods with the same guarantees (the
same contract tests run on both):

* every method that writes is one transaction: an inspection, its raw spectrum, its result,
  any hold move and their audit events are committed together or not at all;
* audit events form one linear chain even with several writers (the chain head is read
  inside the write transaction);
* nothing stored is ever updated or deleted, except a hold's current state (whose history
  is kept as transitions);
* every transaction that appends audit events also appends the chain head signed by the
  station's key (:mod:`parcels.signing`), in the same transaction; the key is injected into
  the store (``open_store(..., signer=key)``); a store opened without one reads and
  verifies, and refuses to write (:class:`parcels.signing.SigningKeyError`). The signing and
  checking logic lives in :mod:`parcels.signing` and :mod:`parcels.audit`, not in a backend;
* the interface raises only :mod:`parcels.errors` (and the builtins they refine): a backend
  failure (``sqlite3.Error``, a PostgreSQL driver's error) leaves as
  :class:`parcels.errors.StoreError`, applied to a backend class by :func:`backend_errors`.
"""

from __future__ import annotations

import abc
import functools
import hashlib
import inspect
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import TracebackType
from typing import Any, Literal, NamedTuple, Self, TypeVar

from pydantic import BaseModel, ConfigDict

from matcher.results import Verdict
from spectra import Progress, Spectrum, canonical_json

from ..audit import ItemProof, VerifyReport, record_digest
from ..errors import DatabaseUnreachableError, StoreError
from ..periods import Period, period_key
from ..records import (
    AnyIdentification,
    AuditEvent,
    DeviceIdentity,
    HoldRecord,
    HoldState,
    Inspection,
    OriginalFile,
    Parcel,
    ParcelFile,
    ParcelQuery,
    ParcelSummary,
    Result,
)
from ..signing import SignedHead
from ..sync import (
    HoldConflict,
    KeyRegistration,
    PushOutcome,
    StationBatch,
    StationHead,
    WorkBatch,
)
from ..text import STORED

IMPORT_CHUNK = 2000
"""AED rows a store commits in one transaction of an import (good rows of a block read by
:func:`parcels.aed.import_batch`): committed whole or, if the process dies, not at all.
Fewer, larger commits cost less (each writes and syncs the index pages it touched); 2,000
rows hold about 7 MB."""


class RowStatus(StrEnum):
    """What importing one AED row did."""

    INSERTED = "inserted"
    UNCHANGED = "unchanged"
    """The identical record was already stored (re-import is a no-op)."""
    CONFLICT = "conflict"
    """A different record with this item id is stored; the row was rejected."""


class RowOutcome(BaseModel):
    """The fate of one row handed to :meth:`Store.import_parcels`."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    item_id: str
    status: RowStatus
    reason: str | None = None
    hold_requested: bool = False
    """A hold request carried by the row was recorded now."""


class ParcelRow(NamedTuple):
    """A validated AED row in the form a store writes: the parcel's canonical JSON record,
    its digest and the columns a store indexes.

    A tuple of plain values, so that rows validated in worker processes cross back cheaply
    (a pickled :class:`~parcels.records.Parcel` costs more than validating it). Build one
    with :meth:`of`, from a validated parcel; the store trusts that ``record`` is that
    parcel's canonical JSON (``audit verify`` re-derives the columns and digest from it).
    """

    line: int
    """1-based line of the row in its batch."""
    item_id: str
    origin_country: str
    mail_class: str
    received_at: datetime
    facility: str
    category: str
    record: str
    """:func:`spectra.canonical_json` of the parcel (extra fields included)."""
    digest: str
    """SHA-256 (hex) of ``record``: what the import event logs and a re-import compares."""
    hold: tuple[datetime, str, str] | None
    """The hold request the row carries: requested at, by whom, why."""

    @classmethod
    def of(cls, line: int, parcel: Parcel) -> ParcelRow:
        """The stored form of a validated ``parcel`` read at ``line``."""
        record = canonical_json(parcel.model_dump(mode="json"))
        h = parcel.hold
        return cls(line=line, item_id=parcel.item_id, origin_country=parcel.origin_country,
                   mail_class=parcel.mail_class, received_at=parcel.received_at,
                   facility=parcel.facility, category=parcel.declaration.category.value,
                   record=record, digest=record_digest(record),
                   hold=None if h is None else (h.requested_at, h.requested_by, h.reason))


class HoldFact(BaseModel):
    """One hold, reduced to what compliance statistics need."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    requested_at: datetime
    state: HoldState
    held_at: datetime | None
    """When it was (first) held; None if it never was."""


class InspectionFact(BaseModel):
    """One inspected parcel, reduced to what positivity statistics need."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    origin_country: str
    category: str
    received_at: datetime
    inspections: int
    alert: bool
    """Any inspection's current result raised an alert."""
    verdicts: tuple[Verdict, ...]
    """Current verdict of each inspection."""


class ComplianceCounts(NamedTuple):
    """Hold requests of one period and what became of them."""

    period: str
    requested: int
    held: int
    not_found: int
    open: int


class PositivityCounts(NamedTuple):
    """Inspected parcels of one origin or category, and how many raised an alert."""

    key: str
    inspected: int
    positive: int
    verdicts: dict[str, int]


@dataclass(frozen=True, slots=True)
class NewOriginal:
    """The file an inspection's spectrum was read from, to keep byte for byte with it.

    Attributes
    ----------
    name
        The file's name as found (no folder; no control character).
    data
        Its bytes, exactly as read (the spectrum must have been read from these bytes).
    format
        The reader that read it (:func:`spectra.sniff`'s name).
    """

    name: str
    data: bytes
    format: str

    @property
    def sha256(self) -> str:
        """SHA-256 (hex) of :attr:`data`."""
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True, slots=True)
class NewInspection:
    """One inspection to record (see :meth:`Store.add_inspection` for the fields)."""

    item_id: str
    spectrum: Spectrum
    identification: AnyIdentification
    operator: str
    station: str
    device: DeviceIdentity
    performed_at: datetime | None = None
    original: NewOriginal | None = None


class Store(abc.ABC):
    """The evidence store: parcels, holds, inspections, results, raw spectra, audit log."""

    # -- lifecycle --------------------------------------------------------------------
    @abc.abstractmethod
    def close(self) -> None:
        """Release the connection(s)."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @property
    @abc.abstractmethod
    def schema_version(self) -> int:
        """The schema version of the open database."""

    # -- parcels ----------------------------------------------------------------------
    @abc.abstractmethod
    def import_parcels(
        self, rows: Iterable[tuple[int, Parcel]], *, actor: str, source: str
    ) -> list[RowOutcome]:
        """Store announced parcels (and the hold requests they carry), idempotently.

        Parameters
        ----------
        rows
            ``(line number, parcel)`` pairs, already validated.
        actor
            Who imports (recorded in the audit log).
        source
            Where the batch came from (file name), recorded in the audit log.

        Returns
        -------
        list of RowOutcome
            One per row, in order: inserted, unchanged (identical record already stored),
            or conflict (a different record with this id is stored; nothing is changed).
        """

    def import_parcel_rows(
        self, rows: Iterable[ParcelRow], *, actor: str, source: str
    ) -> list[RowOutcome]:
        """:meth:`import_parcels` for rows already in their stored form (:class:`ParcelRow`).

        The same guarantees and outcomes. This default validates each record again and
        calls :meth:`import_parcels`; a backend overrides it to write the prepared form
        directly (the bulk import's fast path).
        """
        return self.import_parcels(
            ((r.line, Parcel.model_validate_json(r.record, context=STORED)) for r in rows),
            actor=actor, source=source)

    @abc.abstractmethod
    def get_parcel(self, item_id: str) -> ParcelFile:
        """Everything stored about one parcel.

        Raises
        ------
        InvalidItemIdError
            If ``item_id`` is not a valid S10 id.
        ParcelNotFoundError
            If no such parcel is stored.
        IntegrityError
            If a stored record no longer parses.
        """

    @abc.abstractmethod
    def find(self, query: ParcelQuery) -> list[ParcelSummary]:
        """Parcels matching every filter of ``query``."""

    # -- holds ------------------------------------------------------------------------
    @abc.abstractmethod
    def request_hold(
        self, item_id: str, *, requested_by: str, reason: str, at: datetime | None = None,
        held_by: str | None = None,
    ) -> HoldRecord:
        """Record a hold request for a stored parcel.

        With ``held_by``, the parcel is also marked held by that person in the same
        transaction (an officer holding a parcel nobody had targeted).

        Raises
        ------
        ParcelNotFoundError
            Unknown parcel.
        IllegalTransitionError
            The parcel already has a hold.
        """

    @abc.abstractmethod
    def transition(
        self,
        item_id: str,
        target: HoldState,
        *,
        actor: str,
        note: str | None = None,
        at: datetime | None = None,
    ) -> HoldRecord:
        """Move a parcel's hold to ``target`` (see :mod:`parcels.holds`).

        Raises
        ------
        ParcelNotFoundError
            Unknown parcel.
        IllegalTransitionError
            The workflow does not allow the move (or the parcel has no hold).
        """

    @abc.abstractmethod
    def get_hold(self, item_id: str) -> HoldRecord | None:
        """The parcel's hold, or None if it has none."""

    # -- inspections ------------------------------------------------------------------
    @abc.abstractmethod
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
        """Record one measurement of a parcel with its raw spectrum and its result.

        One transaction: the raw spectrum, the inspection, the original result, the hold
        moving ``held → inspected`` (when it was held), the file the spectrum was read from
        (``original``: an ingested export, kept byte for byte with its SHA-256) and their
        audit events (``scan``, ``original-file``, ``verdict``, ``inspected``).

        Raises
        ------
        ParcelNotFoundError
            Unknown parcel.
        IllegalTransitionError
            The parcel is not in hand (see :data:`parcels.holds.INSPECTABLE`).
        DuplicateOriginalError
            A file with the same bytes is already stored (nothing is recorded).
        UnsafeTextError
            The original's name holds a control character.
        ValueError
            The identification's technique does not match the spectrum's.
        """

    @abc.abstractmethod
    def add_inspections(self, batch: Sequence[NewInspection]) -> list[Inspection]:
        """Record several inspections in ONE transaction: all of them or none.

        For a scan watcher catching up on a backlog, or a central store receiving a
        station's queue: one commit (one fsync) for the lot. Same checks and records as
        :meth:`add_inspection`; the first refused inspection aborts the whole batch.

        Returns
        -------
        list of Inspection
            In the order given.
        """

    @abc.abstractmethod
    def add_result(
        self,
        inspection_id: str,
        identification: AnyIdentification,
        *,
        recorded_by: str,
        note: str | None = None,
    ) -> Result:
        """Record a re-identification of a stored inspection's raw spectrum.

        The new result is linked to the inspection's latest result (``based_on``); the
        original and every earlier result stay as they were.

        Raises
        ------
        ParcelNotFoundError
            Unknown inspection.
        ValueError
            The identification's technique does not match the inspection's.
        """

    @abc.abstractmethod
    def get_inspection(self, inspection_id: str) -> Inspection:
        """One inspection with all its results.

        Raises
        ------
        ParcelNotFoundError
            Unknown inspection.
        """

    @abc.abstractmethod
    def get_spectrum(self, spectrum_hash: str) -> Spectrum:
        """A stored raw spectrum, identical to the one stored (hash checked).

        Raises
        ------
        ParcelNotFoundError
            No spectrum with this hash.
        IntegrityError
            The stored bytes do not give back that hash.
        """

    @abc.abstractmethod
    def find_original(self, sha256: str) -> OriginalFile | None:
        """The stored original file with these bytes' SHA-256 (hex), or None."""

    @abc.abstractmethod
    def get_original(self, sha256: str) -> tuple[OriginalFile, bytes]:
        """A stored original file and its bytes, identical to those stored (hash checked).

        Raises
        ------
        ParcelNotFoundError
            No original file with this hash.
        IntegrityError
            The stored bytes do not give back that hash (or that size).
        """

    # -- statistics inputs ------------------------------------------------------------
    @abc.abstractmethod
    def hold_facts(
        self, *, since: datetime | None = None, until: datetime | None = None,
        facility: str | None = None,
    ) -> Iterator[HoldFact]:
        """Every hold requested in ``[since, until)`` (of one facility's parcels)."""

    @abc.abstractmethod
    def inspection_facts(
        self, *, since: datetime | None = None, until: datetime | None = None,
        facility: str | None = None,
    ) -> Iterator[InspectionFact]:
        """Every inspected parcel received in ``[since, until)`` (of one facility)."""

    def compliance_counts(
        self, *, period: Period = "month", since: datetime | None = None,
        until: datetime | None = None, facility: str | None = None,
    ) -> list[ComplianceCounts]:
        """Hold requests per period (oldest first): requested, held, not found, open.

        This default counts :meth:`hold_facts` in Python; a store may count in its
        database, with the same period keys (:func:`parcels.periods.period_key`).
        """
        acc: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0])
        for f in self.hold_facts(since=since, until=until, facility=facility):
            a = acc[period_key(f.requested_at, period)]
            a[0] += 1
            a[1] += f.held_at is not None
            a[2] += f.state is HoldState.NOT_FOUND
            a[3] += f.state is HoldState.REQUESTED
        return [ComplianceCounts(k, *a) for k, a in sorted(acc.items())]

    def positivity_counts(
        self, *, by: Literal["origin", "category"] = "origin",
        since: datetime | None = None, until: datetime | None = None,
        facility: str | None = None,
    ) -> list[PositivityCounts]:
        """Inspected parcels per origin country or declared category (sorted by key).

        This default counts :meth:`inspection_facts` in Python.
        """
        inspected: dict[str, int] = defaultdict(int)
        positive: dict[str, int] = defaultdict(int)
        verdicts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for f in self.inspection_facts(since=since, until=until, facility=facility):
            key = f.origin_country if by == "origin" else f.category
            inspected[key] += 1
            positive[key] += f.alert
            for v in f.verdicts:
                verdicts[key][v.value] += 1
        return [PositivityCounts(k, n, positive[k], dict(verdicts[k]))
                for k, n in sorted(inspected.items())]

    # -- audit ------------------------------------------------------------------------
    @abc.abstractmethod
    def record_export(
        self, item_ids: Sequence[str], *, actor: str, destination: str, content_digest: str
    ) -> AuditEvent:
        """Log that these parcels' records were exported (and a digest of what was written)."""

    @abc.abstractmethod
    def audit_events(
        self, *, item_id: str | None = None, since_seq: int = 1
    ) -> Iterator[AuditEvent]:
        """Audit events in chain order (optionally of one parcel)."""

    @abc.abstractmethod
    def verify(
        self, *, deep: bool = True, anchors: Mapping[int, str] | None = None,
        trusted_keys: Collection[str] | None = None, progress: Progress | None = None,
    ) -> VerifyReport:
        """Check the audit chain, its signed heads, and every stored record against the event
        that logged it.

        Parameters
        ----------
        deep
            Also decode every raw spectrum and check its content hash.
        anchors
            ``{seq: hash}`` of events whose hash was kept *outside* the database (printed on
            a receipt, in an export, in another system). A tamperer who cuts whole signed
            transactions off the end of the log is invisible from inside the file; an anchor
            past the cut is not.
        trusted_keys
            Key ids (fingerprints) whose signatures count. Default: the key the store was
            opened with; with neither, signatures are checked against the keys the database
            itself names and the report says so (``trusted=None``).
        progress
            Told how far the walk has come, in steps: one per audit event, then (``deep``)
            one per raw spectrum decoded.
        """

    @abc.abstractmethod
    def verify_item(
        self, item_id: str, *, deep: bool = True, anchors: Mapping[int, str] | None = None,
        trusted_keys: Collection[str] | None = None,
    ) -> VerifyReport:
        """Verify one parcel's evidence in time independent of the database's size.

        The parcel's audit events, each proven by the signed head of its transaction (the
        events from it to that head re-hashed, the head's signature checked); the chain's
        last signed head (signature, key, and that nothing follows it unsigned); the parcel's
        record, hold transitions, inspections and results against the digests their events
        logged; and (``deep``) its raw spectra decoded to their hashes. What it does not walk
        is the rest of the chain: :meth:`verify` does.

        Raises
        ------
        InvalidItemIdError, ParcelNotFoundError
        """

    @abc.abstractmethod
    def signed_head(self) -> SignedHead | None:
        """The chain's last signed head (None for an empty store)."""

    @abc.abstractmethod
    def station_keys(self) -> dict[str, str]:
        """Public keys that signed heads here: key id → raw public key as 64 hex digits."""

    @abc.abstractmethod
    def item_proof(self, item_id: str) -> ItemProof:
        """The raw events and signed heads that prove one parcel's events (for a bundle).

        Raises
        ------
        InvalidItemIdError, ParcelNotFoundError
        """

    # -- sync (the station's side) ----------------------------------------------------
    @abc.abstractmethod
    def sync_batch(self, *, after_seq: int, station: str,
                   max_events: int = 500) -> StationBatch:
        """The next run of this store's chain to push to central, with its records.

        Events ``after_seq + 1 …`` (at most about ``max_events``: a run never ends between
        an inspection's scan and its result), the records they log exactly as stored and
        the raw spectra they refer to. Empty ``events`` when nothing is unsent.
        """

    @abc.abstractmethod
    def unsent(self, *, after_seq: int) -> tuple[int, int]:
        """``(events, inspections)`` logged after ``after_seq`` (not yet acknowledged)."""

    @abc.abstractmethod
    def sync_state(self, name: str) -> tuple[int, str] | None:
        """The chain head ``(seq, hash)`` central ``name`` last acknowledged, if any."""

    @abc.abstractmethod
    def set_sync_state(self, name: str, seq: int, head_hash: str) -> None:
        """Remember that central ``name`` acknowledged the chain up to ``(seq, hash)``."""


class CentralStore(Store):
    """A store that also acts as the fleet's central record (PostgreSQL).

    Stations push their chains into it (:meth:`receive`) and pull their facility's work
    from it (:meth:`work_since`); see :mod:`parcels.sync` for the protocol and the rule for
    conflicting hold moves.
    """

    @abc.abstractmethod
    def receive(self, batch: StationBatch, *, station: str, facility: str) -> PushOutcome:
        """Store a station's push in one transaction, or nothing.

        Raises
        ------
        parcels.sync.SyncRefused
            A fork, a gap, an invalid record, or a parcel of another facility.
        """

    @abc.abstractmethod
    def station_head(self, station: str) -> tuple[int, str] | None:
        """The last event of ``station``'s chain central holds, ``(seq, hash)``."""

    @abc.abstractmethod
    def station_heads(self, station: str, *, after_seq: int = 0,
                      limit: int = 1000) -> list[StationHead]:
        """The signed heads of ``station``'s chain central received (after ``after_seq``),
        in chain order, each with the public key it verified under."""

    @abc.abstractmethod
    def station_key_history(self, station: str) -> list[KeyRegistration]:
        """Central's record of ``station``'s signing key, oldest first (the last counts)."""

    @abc.abstractmethod
    def register_station_key(self, station: str, key_id: str, *, actor: str,
                             rotate: bool = False) -> KeyRegistration:
        """Pin a station's key before its first push, or (``rotate``) replace it.

        Logged in central's chain. A push signed by any other key is refused from then on.

        Raises
        ------
        ValueError
            Not a fingerprint; a key is registered already and ``rotate`` is False; the
            key given is already the station's.
        """

    @abc.abstractmethod
    def station_events(self, station: str, *, since_seq: int = 1,
                       limit: int = 1000) -> list[AuditEvent]:
        """The station's chain as central holds it."""

    @abc.abstractmethod
    def work_since(self, facility: str, cursor: int, *, limit: int = 500) -> WorkBatch:
        """Parcels of ``facility`` imported, and holds requested or moved, after ``cursor``
        (a central audit ``seq``)."""

    @abc.abstractmethod
    def hold_conflicts(self, *, facility: str | None = None,
                       limit: int = 1000) -> list[HoldConflict]:
        """Pushed hold moves that were not applied (oldest first)."""

    @abc.abstractmethod
    def facility_of(self, item_id: str) -> str:
        """The facility a stored parcel was announced for.

        Raises
        ------
        ParcelNotFoundError
            Unknown parcel.
        """


S = TypeVar("S", bound=type[Store])


def backend_errors(*errors: type[BaseException],
                   unreachable: tuple[type[BaseException], ...] = ()) -> Callable[[S], S]:
    """Class decorator of a :class:`Store` backend: ``errors`` raised by its constructor or
    by any method of the :class:`Store` interface (while a generator method is iterated too)
    leave as :class:`parcels.errors.StoreError`, naming the database (the backend's
    ``path``, else its class), with the backend's error as the cause; those of
    ``unreachable`` (a server that stopped answering) leave as
    :class:`parcels.errors.DatabaseUnreachableError`. Methods a backend inherits (a shared
    SQL base) are wrapped on the backend, and a :class:`CentralStore`'s methods too.

    >>> import sqlite3
    >>> @backend_errors(sqlite3.Error)
    ... class Broken(Store):
    ...     path = "x.db"
    ...     def close(self) -> None:
    ...         raise sqlite3.OperationalError("disk I/O error")
    >>> Broken.__abstractmethods__ = frozenset()
    >>> Broken().close()
    Traceback (most recent call last):
    parcels.errors.StoreError: evidence database x.db: disk I/O error
    """

    def wrap(method: Callable[..., Any]) -> Callable[..., Any]:
        def fail(self: Store, exc: BaseException) -> StoreError:
            where = getattr(self, "path", None) or type(self).__name__
            kind = DatabaseUnreachableError if isinstance(exc, unreachable) else StoreError
            return kind(f"evidence database {where}: {exc}")

        if inspect.isgeneratorfunction(method):
            @functools.wraps(method)
            def generator(self: Store, *args: Any, **kwargs: Any) -> Iterator[Any]:
                try:
                    yield from method(self, *args, **kwargs)
                except errors as exc:
                    raise fail(self, exc) from exc

            return generator

        @functools.wraps(method)
        def call(self: Store, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except errors as exc:
                raise fail(self, exc) from exc

        return call

    def decorate(cls: S) -> S:
        names = {"__init__"}
        for face in (Store, CentralStore):
            if issubclass(cls, face):
                names.update(n for n in vars(face) if not n.startswith("_"))
        for name in sorted(names):
            member = inspect.getattr_static(cls, name, None)
            if isinstance(member, property) and member.fget is not None:
                setattr(cls, name, property(wrap(member.fget), doc=member.__doc__))
            elif callable(member) and not isinstance(member, staticmethod | classmethod):
                setattr(cls, name, wrap(member))
        return cls

    return decorate


__all__ = ["IMPORT_CHUNK", "CentralStore", "ComplianceCounts", "HoldFact", "InspectionFact",
           "ItemProof", "NewInspection", "NewOriginal", "ParcelRow", "PositivityCounts",
           "RowOutcome", "RowStatus", "Store", "backend_errors"]
