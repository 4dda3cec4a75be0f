"""Station ↔ central synchronisation: what travels, and the checks at central's door.

A station pushes its audit chain as it is stored (every event, in ``seq`` order, from where
central's copy ends) together with the records those events vouch for, as stored (the exact
texts the digests were taken over) and the raw spectra as stored blobs. Central checks, before
storing anything (:func:`check_batch`):

* **continuity**: the first new event links to the head central holds for this station (a
  different link is a *fork*, a later first ``seq`` a *gap*); events already received must be
  byte-identical (a retried push is a no-op, a rewritten one a fork);
* every event's hash recomputes, and each links to the one before;
* every record matches the digest its event logged, and each raw spectrum decodes to its
  content hash and its metadata record (labels included: title, source, vendor fields, all
  outside the content hash) is the one its scan event logged;
* every event that logs a record comes with it (no half inspection);
* every new event is covered by a signed head that travels with it (a run ends where a
  signed transaction ends), each head's Ed25519 signature verifies under the public key
  that came with it, and that key is **the one central registered for the station**: the
  first push registers it (unless an admin pinned one when issuing the credential), and a
  different key is refused until an admin rotates the station's key
  (``interdict central station rotate-key``). A laptop whose chain was rewritten and
  re-signed with a new key is refused at its next sync, and central's record of its heads
  and key catches it in ``interdict audit verify --central``.

Central pulls nothing from a station; a station pulls its facility's work
(:class:`WorkBatch`): announced parcels and holds changed since a cursor (central's audit
sequence number).

Conflicting hold moves (two stations, or a station and targeting, moving the same hold)
follow one rule, documented in ``docs/central.md``: central applies pushed moves in the order
it receives them; a move its hold workflow does not allow from central's current state is
**not applied and not dropped**: it is kept as a :class:`HoldConflict`, returned to the
pushing station and listed for supervisors. A pushed move identical to one central already
holds (same state, instant and actor: a move the station adopted from a pull) is an echo and
changes nothing.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema

from .audit import (
    GENESIS,
    INSPECTION_COLUMNS,
    RESULT_COLUMNS,
    TRANSITION_COLUMNS,
    RawEvent,
    chain_hash,
    check_heads,
    record_digest,
    row_digest,
    spectrum_record_detail,
    spectrum_record_differs,
)
from .blobs import decode_spectrum
from .errors import IntegrityError, ParcelsError
from .holds import EVENT_FOR_STATE
from .records import EventKind, HoldRecord, Parcel
from .signing import PublicKey, SignedHead, SigningKeyError
from .text import EXPECTED, unsafe_at

Hash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def _from_base64(value: object) -> object:
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"not base64: {exc}") from exc
    return value


Blob = Annotated[
    bytes,
    BeforeValidator(_from_base64),
    PlainSerializer(lambda b: base64.b64encode(b).decode("ascii"), return_type=str,
                    when_used="json"),
    WithJsonSchema({"type": "string", "contentEncoding": "base64"}),
]
"""Bytes in Python, base64 text in JSON."""

HOLD_KINDS: frozenset[str] = frozenset(k.value for k in EVENT_FOR_STATE.values())
RECORD_KINDS: frozenset[str] = frozenset(
    {EventKind.IMPORT.value, EventKind.SCAN.value, EventKind.VERDICT.value,
     EventKind.REIDENTIFY.value} | HOLD_KINDS)
"""Event kinds that log a record which must travel with the event."""


# --------------------------------------------------------------------------------------
# What travels
# --------------------------------------------------------------------------------------
class _Wire(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class WireEvent(_Wire):
    """One audit event exactly as stored (``data`` is its canonical JSON text)."""

    seq: int = Field(ge=1)
    at: str
    kind: str
    actor: str
    item_id: str | None
    data: str
    prev_hash: Hash
    hash: Hash

    def raw(self) -> RawEvent:
        """As :class:`parcels.audit.RawEvent`."""
        return RawEvent(self.seq, self.at, self.kind, self.actor, self.item_id, self.data,
                        self.prev_hash, self.hash)

    @classmethod
    def of(cls, e: RawEvent) -> WireEvent:
        """From a stored event."""
        return cls(seq=e.seq, at=e.at, kind=e.kind, actor=e.actor, item_id=e.item_id,
                   data=e.data, prev_hash=e.prev_hash, hash=e.hash)


class WireParcel(_Wire):
    """An announced parcel as stored, with the seq of the event that imported it."""

    seq: int
    record: str


class WireInspection(_Wire):
    """An inspection row as stored (:data:`INSPECTION_COLUMNS`), with its event's seq."""

    seq: int
    inspection_id: str
    item_id: str
    performed_at: str
    operator: str
    station: str
    device: str
    technique: str
    spectrum_hash: Hash
    pipeline: str
    library_id: str
    library_hash: str

    def values(self) -> tuple[Any, ...]:
        """The stored column values in digest order."""
        return tuple(getattr(self, c) for c in INSPECTION_COLUMNS)


class WireResult(_Wire):
    """A result row as stored (:data:`RESULT_COLUMNS`), with its event's seq."""

    seq: int
    result_id: str
    inspection_id: str
    kind: str
    recorded_at: str
    recorded_by: str
    library_id: str
    library_hash: str
    verdict: str
    alert: bool
    identification: str
    based_on: str | None
    note: str | None

    def values(self) -> tuple[Any, ...]:
        """The stored column values in digest order."""
        return tuple(getattr(self, c) for c in RESULT_COLUMNS)


class WireTransition(_Wire):
    """A hold transition as stored (:data:`TRANSITION_COLUMNS`), with its event's seq."""

    seq: int
    item_id: str
    state: str
    at: str
    actor: str
    note: str | None

    def values(self) -> tuple[Any, ...]:
        """The stored column values in digest order."""
        return tuple(getattr(self, c) for c in TRANSITION_COLUMNS)


class WireSpectrum(_Wire):
    """A raw spectrum as stored: metadata text, packed axis and values (base64 on the wire)."""

    hash: Hash
    n: int = Field(ge=1, le=1_000_000)
    meta: str
    axis_hash: Hash
    axis: Blob
    data: Blob


class StationBatch(_Wire):
    """One push: a run of the station's chain and the records its events log."""

    station: str = Field(min_length=1)
    events: list[WireEvent]
    parcels: list[WireParcel] = Field(default_factory=list)
    inspections: list[WireInspection] = Field(default_factory=list)
    results: list[WireResult] = Field(default_factory=list)
    transitions: list[WireTransition] = Field(default_factory=list)
    spectra: list[WireSpectrum] = Field(default_factory=list)
    heads: list[SignedHead] = Field(default_factory=list)
    """The station's signed heads of the run's transactions (the last one is the run's last
    event)."""
    public_keys: dict[Hash, Hash] = Field(default_factory=dict)
    """Key id → raw public key (64 hex digits) of every key that signed one of ``heads``."""


class HoldConflict(_Wire):
    """A pushed hold move central did not apply (see the module notes for the rule)."""

    item_id: str
    station: str
    station_seq: int
    wanted: str
    """The state the station moved to."""
    central_state: str | None
    """Central's state of the hold when the move arrived."""
    at: str
    actor: str
    detail: str


class PushOutcome(_Wire):
    """What central did with a push."""

    station: str
    received: int
    """New events stored."""
    unchanged: int
    """Events central already held, identical (a retried push)."""
    head_seq: int
    head_hash: str
    conflicts: list[HoldConflict] = Field(default_factory=list)
    parcel_conflicts: list[str] = Field(default_factory=list)
    """Parcels the station announced with content different from central's (central's kept)."""


class StationHead(_Wire):
    """A signed head of a station's chain as central received and checked it."""

    station: str
    seq: int
    hash: str
    prev_seq: int
    key_id: str
    signature: str
    public_key: str
    received_at: str

    def signed(self) -> SignedHead:
        """The head as the station signed it."""
        return SignedHead(seq=self.seq, hash=self.hash, prev_seq=self.prev_seq,
                          key_id=self.key_id, signature=self.signature)


class KeyRegistration(_Wire):
    """One entry of central's record of a station's signing key (the last one counts)."""

    station: str
    key_id: Hash
    """The key's fingerprint (SHA-256 of the raw public key)."""
    how: str
    """``first-push`` (registered by the station's first push), ``pinned`` (by an admin
    when the credential was issued) or ``rotated`` (an admin replaced the key)."""
    at: str
    actor: str
    central_seq: int
    """Central's audit event that logged it."""


class WorkBatch(_Wire):
    """A station's pull: its facility's parcels and holds changed since ``since``."""

    since: int
    cursor: int
    """Pass it back as the next pull's ``since``."""
    more: bool
    """More changes than fitted: pull again at once."""
    parcels: list[Parcel]
    holds: list[HoldRecord]


# --------------------------------------------------------------------------------------
# Checks at central's door
# --------------------------------------------------------------------------------------
class SyncRefused(ParcelsError, ValueError):
    """A push central refuses as a whole; nothing of it was stored.

    Attributes
    ----------
    reason
        ``fork``, ``gap``, ``invalid``, ``facility``, ``signature`` (a head is missing,
        does not verify or does not match the events) or ``key`` (signed by a key that is
        not the station's registered key).
    seq
        The station event concerned, when one is.
    """

    def __init__(self, reason: str, detail: str, *, seq: int | None = None) -> None:
        self.reason = reason
        self.detail = detail
        self.seq = seq
        where = f" at station event #{seq}" if seq is not None else ""
        super().__init__(f"push refused ({reason}){where}: {detail}")


@dataclass(slots=True)
class CheckedBatch:
    """A push that passed :func:`check_batch`: the new events and their records by seq."""

    new: list[WireEvent]
    unchanged: int
    parcels: dict[int, WireParcel] = field(default_factory=dict)
    inspections: dict[int, WireInspection] = field(default_factory=dict)
    results: dict[int, WireResult] = field(default_factory=dict)
    transitions: dict[int, WireTransition] = field(default_factory=dict)
    spectra: dict[str, WireSpectrum] = field(default_factory=dict)
    heads: list[SignedHead] = field(default_factory=list)
    """The new signed heads, in order (their signatures checked)."""
    key: PublicKey | None = None
    """The key that signed them."""


def _data(e: WireEvent) -> dict[str, Any]:
    try:
        d = json.loads(e.data)
    except ValueError as exc:
        raise SyncRefused("invalid", f"event data is not JSON: {exc}", seq=e.seq) from exc
    if not isinstance(d, dict):
        raise SyncRefused("invalid", "event data is not a JSON object", seq=e.seq)
    return d


def _safe(seq: int, field: str, value: str | None) -> None:
    """Stored names and notes hold no control characters (:mod:`parcels.text`), at central's
    door as at a station's."""
    if value is not None and (where := unsafe_at(value)) is not None:
        raise SyncRefused("invalid", f"{field}: {EXPECTED} expected: {where}", seq=seq)


def _by_seq(items: Iterable[Any], what: str) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for it in items:
        if it.seq in out:
            raise SyncRefused("invalid", f"two {what} records for one event", seq=it.seq)
        out[it.seq] = it
    return out


def check_batch(
    batch: StationBatch,
    head: tuple[int, str] | None,
    stored_hash: Callable[[int], str | None],
    spectrum_stored: Callable[[str], bool],
    *,
    station_key: str | None,
    last_head: int | None,
) -> CheckedBatch:
    """Check a push against the station's head and key as central holds them; store nothing.

    Parameters
    ----------
    batch
        The push.
    head
        ``(seq, hash)`` of the last station event central holds, None for none yet.
    stored_hash
        The hash of the station's stored event ``seq`` at central (None if not held).
    spectrum_stored
        Whether central already holds a raw spectrum with this content hash (a scan whose
        spectrum is not in the push is then accepted; central logs the digest of the record
        it holds).
    station_key
        The fingerprint of the station's registered key (None: not registered yet, the
        push's key will be).
    last_head
        ``seq`` of the last signed head of this station central holds (None for none).

    Returns
    -------
    CheckedBatch
        The events to store (possibly none) with their records.

    Raises
    ------
    SyncRefused
        ``fork`` (the chain differs from what central holds), ``gap`` (events missing
        between central's head and the push), ``invalid`` (a hash, link, digest, spectrum or
        record is wrong or missing), ``signature`` (an event covered by no signed head, a
        head that does not verify or does not follow the last one), ``key`` (a key other
        than the station's registered one).
    """
    hseq, hhash = head if head is not None else (0, GENESIS)
    events = batch.events
    for a, b in itertools.pairwise(events):
        if b.seq != a.seq + 1:
            raise SyncRefused("invalid", f"events not consecutive: #{a.seq} then #{b.seq}",
                              seq=b.seq)
    unchanged = 0
    new: list[WireEvent] = []
    for e in events:
        if e.seq <= hseq:
            held = stored_hash(e.seq)
            if held != e.hash:
                raise SyncRefused(
                    "fork", f"central holds event #{e.seq} of this station with hash "
                    f"{held}, the push has {e.hash}: the station's chain was rewritten "
                    "after it was synced", seq=e.seq)
            unchanged += 1
        else:
            new.append(e)
    if new:
        first = new[0]
        if first.seq > hseq + 1:
            raise SyncRefused("gap", f"central holds this station's chain up to #{hseq}; "
                              f"the push starts at #{first.seq}: push from #{hseq + 1}",
                              seq=first.seq)
        if first.prev_hash != hhash:
            raise SyncRefused("fork", f"event #{first.seq} links to {first.prev_hash}, but "
                              f"central's head of this station is #{hseq} {hhash}",
                              seq=first.seq)
    prev = hhash
    for e in new:
        if e.prev_hash != prev:
            raise SyncRefused("invalid", "event does not link to the one before it",
                              seq=e.seq)
        if chain_hash(e.prev_hash, seq=e.seq, at=e.at, kind=e.kind, actor=e.actor,
                      item_id=e.item_id, data_text=e.data) != e.hash:
            raise SyncRefused("invalid", "event does not match its hash", seq=e.seq)
        _safe(e.seq, "actor", e.actor)
        prev = e.hash

    out = CheckedBatch(new=new, unchanged=unchanged)
    if new:
        out.heads, out.key = _check_signed(batch, new, station_key=station_key,
                                           last_head=last_head)
    parcels = _by_seq(batch.parcels, "parcel")
    inspections = _by_seq(batch.inspections, "inspection")
    results = _by_seq(batch.results, "result")
    transitions = _by_seq(batch.transitions, "transition")
    spectra = {s.hash: s for s in batch.spectra}
    for e in new:
        if e.kind not in RECORD_KINDS:
            continue
        d = _data(e)
        logged = d.get("digest")
        if e.kind == EventKind.IMPORT.value:
            p = parcels.get(e.seq)
            if p is None:
                raise SyncRefused("invalid", "import event without its parcel", seq=e.seq)
            if record_digest(p.record) != logged:
                raise SyncRefused("invalid", "parcel does not match its import event",
                                  seq=e.seq)
            try:
                parsed = Parcel.model_validate_json(p.record)
            except ValueError as exc:
                raise SyncRefused("invalid", f"parcel record does not parse: {exc}",
                                  seq=e.seq) from exc
            if parsed.item_id != e.item_id:
                raise SyncRefused("invalid", "parcel is not the event's item", seq=e.seq)
            out.parcels[e.seq] = p
        elif e.kind == EventKind.SCAN.value:
            i = inspections.get(e.seq)
            if i is None:
                raise SyncRefused("invalid", "scan event without its inspection", seq=e.seq)
            if row_digest(INSPECTION_COLUMNS, i.values()) != logged or \
                    i.inspection_id != d.get("inspection_id") or i.item_id != e.item_id:
                raise SyncRefused("invalid", "inspection does not match its scan event",
                                  seq=e.seq)
            s = spectra.get(i.spectrum_hash)
            if s is not None:
                try:
                    decode_spectrum(s.hash, s.meta, s.axis, s.data)
                except IntegrityError as exc:
                    raise SyncRefused("invalid", str(exc), seq=e.seq) from exc
                if spectrum_record_differs(d, s.meta):
                    raise SyncRefused("invalid", spectrum_record_detail(s.hash, e.seq),
                                      seq=e.seq)
                out.spectra[s.hash] = s
            elif not spectrum_stored(i.spectrum_hash):
                raise SyncRefused("invalid", f"raw spectrum {i.spectrum_hash} of the "
                                  "inspection is missing", seq=e.seq)
            _safe(e.seq, "operator", i.operator)
            _safe(e.seq, "station", i.station)
            out.inspections[e.seq] = i
        elif e.kind in (EventKind.VERDICT.value, EventKind.REIDENTIFY.value):
            r = results.get(e.seq)
            if r is None:
                raise SyncRefused("invalid", f"{e.kind} event without its result", seq=e.seq)
            if row_digest(RESULT_COLUMNS, r.values()) != logged or \
                    r.result_id != d.get("result_id"):
                raise SyncRefused("invalid", "result does not match its event", seq=e.seq)
            _safe(e.seq, "recorded_by", r.recorded_by)
            _safe(e.seq, "note", r.note)
            out.results[e.seq] = r
        else:
            t = transitions.get(e.seq)
            if t is None:
                raise SyncRefused("invalid", f"{e.kind} event without its hold transition",
                                  seq=e.seq)
            if row_digest(TRANSITION_COLUMNS, t.values()) != logged or t.item_id != e.item_id:
                raise SyncRefused("invalid", "hold transition does not match its event",
                                  seq=e.seq)
            _safe(e.seq, "actor", t.actor)
            _safe(e.seq, "note", t.note)
            out.transitions[e.seq] = t
    return out


def _check_signed(batch: StationBatch, new: Sequence[WireEvent], *, station_key: str | None,
                  last_head: int | None) -> tuple[list[SignedHead], PublicKey]:
    """The new events' signed heads: signed by the station's key, each verifying and
    vouching for the event it names, following one another, the last one the run's end."""
    heads = [h for h in batch.heads if h.seq >= new[0].seq]
    if not heads:
        raise SyncRefused("signature", f"events #{new[0].seq}..#{new[-1].seq} come with no "
                          "signed head (a station signs every transaction)", seq=new[0].seq)
    used = {h.key_id for h in heads}
    if len(used) > 1:
        raise SyncRefused("key", f"the run is signed by {len(used)} keys; a station signs with "
                          "one (sync before replacing a station's key)", seq=heads[0].seq)
    (key_id,) = used
    if station_key is not None and key_id != station_key:
        raise SyncRefused(
            "key", f"signed by key {key_id}, but central registered key {station_key} for this "
            "station: a station's key changes only when an admin rotates it (interdict central "
            "station rotate-key); a laptop re-signed with a new key is not accepted",
            seq=heads[0].seq)
    text = batch.public_keys.get(key_id)
    try:
        key = PublicKey.from_hex(text or "")
    except SigningKeyError as exc:
        raise SyncRefused("signature", f"no usable public key for key {key_id}: {exc}",
                          seq=heads[0].seq) from exc
    if key.key_id != key_id:
        raise SyncRefused("signature", f"the public key sent for key {key_id} has the "
                          f"fingerprint {key.key_id}", seq=heads[0].seq)
    if last_head is not None and heads[0].prev_seq != last_head:
        raise SyncRefused("signature", f"signed head #{heads[0].seq} follows head "
                          f"#{heads[0].prev_seq}, but central's last head of this station is "
                          f"#{last_head}", seq=heads[0].seq)
    hashes = {e.seq: e.hash for e in new}
    findings, _, _ = check_heads(heads, keys={key_id: key}, trusted=None,
                                 event_hash_at=hashes.get,
                                 last_event=(new[-1].seq, new[-1].hash))
    if findings:
        f = findings[0]
        raise SyncRefused("signature", f.detail, seq=f.seq)
    return heads, key


__all__ = [
    "HOLD_KINDS",
    "RECORD_KINDS",
    "CheckedBatch",
    "HoldConflict",
    "KeyRegistration",
    "PushOutcome",
    "StationBatch",
    "StationHead",
    "SyncRefused",
    "WireEvent",
    "WireInspection",
    "WireParcel",
    "WireResult",
    "WireSpectrum",
    "WireTransition",
    "WorkBatch",
    "check_batch",
]
