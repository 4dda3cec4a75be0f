"""The hash-chained, append-only audit log: building links and verifying a chain.

Each event's hash is ``sha256(prev_hash + canonical_json(body))``, where the body holds
``seq``, ``at``, ``kind``, ``actor``, ``item_id`` and ``data`` exactly as stored, and
``prev_hash`` of the first event is :data:`GENESIS`. Editing any event changes its hash;
deleting or reordering events breaks the link of the next one. :func:`verify_chain` walks the
events in ``seq`` order and names the first bad one and what is wrong with it.

The chain alone cannot stop a forger who rewrites a record and recomputes every hash after
it. What does is the signed head (:mod:`parcels.signing`): every write transaction ends with
the chain head signed by the station's key, kept in the same append-only store.
:func:`check_heads` checks a store's signed heads (signatures, keys, that each still matches
the event it signed, that they follow each other, that the last one is the chain's end);
:func:`prove_events` proves a run of events against the signed head of their transaction
without the rest of the chain — what a per-parcel check and an evidence bundle rely on.
Evidence rows edited without touching the log are caught by checking each against the digest
its event recorded (see :meth:`parcels.store.Store.verify`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from spectra import canonical_json

from .records import digest
from .signing import PublicKey, SignedHead

_quote: Callable[[str], str] = encode_basestring_ascii  # type: ignore[assignment]

GENESIS = "0" * 64
"""``prev_hash`` of the first event."""

INSPECTION_COLUMNS = ("inspection_id", "item_id", "performed_at", "operator", "station",
                      "device", "technique", "spectrum_hash", "pipeline", "library_id",
                      "library_hash")
"""An inspection row as stored (texts as written); its ``scan`` event logs their digest."""
RESULT_COLUMNS = ("result_id", "inspection_id", "kind", "recorded_at", "recorded_by",
                  "library_id", "library_hash", "verdict", "alert", "identification",
                  "based_on", "note")
"""A result row (``alert`` a bool, ``identification`` the stored JSON text); its ``verdict``
or ``reidentify`` event logs their digest."""
TRANSITION_COLUMNS = ("item_id", "state", "at", "actor", "note")
"""A hold transition row; its hold event logs their digest."""
ORIGINAL_COLUMNS = ("sha256", "inspection_id", "item_id", "name", "size", "format",
                    "received_at")
"""An original file row without its bytes (whose SHA-256 is ``sha256``); its
``original-file`` event logs their digest."""


SPECTRUM_RECORD = "spectrum_meta_digest"
"""The key under which a ``scan`` event logs :func:`record_digest` of its raw spectrum's
stored metadata record (the ``meta`` text of its ``spectra`` row, exactly as stored: units,
technique, acquisition, provenance and the labels — ``title``, ``source``, ``extra`` — that
the spectrum's content hash leaves out). Scan events written before it (no such key) do not
bind the record: see :func:`spectrum_record_differs`."""


def spectrum_record_differs(data: Mapping[str, Any], meta: str | None) -> bool:
    """Whether a scan event's ``data`` logs a spectrum record other than ``meta`` (None: no
    record at hand). An event that logs none (written before records were bound) differs
    from nothing: its spectrum's labels are not provable."""
    logged = data.get(SPECTRUM_RECORD)
    return logged is not None and (meta is None or record_digest(meta) != logged)


def spectrum_record_detail(spectrum_hash: str, seq: int) -> str:
    """What to say when :func:`spectrum_record_differs`."""
    return (f"raw spectrum {spectrum_hash}: its stored metadata record (labels: title, "
            f"source, extra; outside its content hash) is not the one scan event #{seq} "
            "logged: the labels or metadata were changed")


def row_digest(columns: Sequence[str], values: Sequence[object]) -> str:
    """The digest an event logs for the row it records: of ``{column: value}``."""
    return digest(dict(zip(columns, values, strict=True)))


def original_problem(sha256: str, size: int, data: bytes) -> str | None:
    """What is wrong with an original file's bytes against its recorded SHA-256 and size
    (None: nothing)."""
    if len(data) != size:
        return f"{len(data)} bytes, {size} recorded"
    got = hashlib.sha256(data).hexdigest()
    if got != sha256:
        return f"its bytes hash to {got}, not to the recorded {sha256}"
    return None


def record_digest(record_text: str) -> str:
    """The digest an ``import`` event logs for a parcel: SHA-256 of its stored record text."""
    return hashlib.sha256(record_text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class RawEvent:
    """An audit event exactly as stored (text fields, ``data`` as its JSON text)."""

    seq: int
    at: str
    kind: str
    actor: str
    item_id: str | None
    data: str
    prev_hash: str
    hash: str

    def as_dict(self) -> dict[str, object]:
        """The stored fields by name (``data`` stays the exact stored text)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> RawEvent:
        """Inverse of :meth:`as_dict`; raises ``ValueError`` on a missing or mistyped field."""
        try:
            item = d["item_id"]
            ev = cls(seq=d["seq"], at=d["at"], kind=d["kind"], actor=d["actor"],  # type: ignore[arg-type]
                     item_id=item, data=d["data"], prev_hash=d["prev_hash"],  # type: ignore[arg-type]
                     hash=d["hash"])  # type: ignore[arg-type]
        except KeyError as exc:
            raise ValueError(f"audit event lacks field {exc}") from exc
        if not (isinstance(ev.seq, int) and all(isinstance(v, str) for v in (
                ev.at, ev.kind, ev.actor, ev.data, ev.prev_hash, ev.hash))
                and (item is None or isinstance(item, str))):
            raise ValueError(f"audit event #{ev.seq!r}: a field has the wrong type")
        return ev

    def hash_ok(self) -> bool:
        """Whether the stored hash is the hash of the stored content and link."""
        return chain_hash(self.prev_hash, seq=self.seq, at=self.at, kind=self.kind,
                          actor=self.actor, item_id=self.item_id,
                          data_text=self.data) == self.hash


def event_body(
    *, seq: int, at: str, kind: str, actor: str, item_id: str | None, data: Any
) -> dict[str, Any]:
    """The part of an event its hash covers."""
    return {"seq": seq, "at": at, "kind": kind, "actor": actor, "item_id": item_id,
            "data": data}


def event_hash(prev_hash: str, body: dict[str, Any]) -> str:
    """``sha256(prev_hash + canonical_json(body))`` as hex."""
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(canonical_json(body).encode("ascii"))
    return h.hexdigest()


def chain_hash(
    prev_hash: str, *, seq: int, at: str, kind: str, actor: str, item_id: str | None,
    data_text: str,
) -> str:
    """:func:`event_hash` computed from the stored text of ``data`` without parsing it.

    The body's canonical JSON is assembled with ``data_text`` spliced in verbatim, so the
    result equals ``event_hash(prev_hash, event_body(..., data=json.loads(data_text)))``
    exactly when ``data_text`` is canonical JSON — which is how the store writes it. Text
    that parses to the same data but is not byte-identical no longer matches: a rewrite is
    an edit.
    """
    q = _quote  # what json.dumps does to a str with ensure_ascii=True, without the overhead
    item = "null" if item_id is None else q(item_id)
    text = (f'{{"actor":{q(actor)},"at":{q(at)},"data":{data_text},'
            f'"item_id":{item},"kind":{q(kind)},"seq":{int(seq)}}}')
    h = hashlib.sha256(prev_hash.encode("ascii"))
    h.update(text.encode("utf-8"))
    return h.hexdigest()


class Problem(StrEnum):
    """What verification found wrong with an event."""

    EDITED = "edited"
    DELETED = "deleted"
    REORDERED = "reordered"
    EVIDENCE = "evidence-mismatch"
    """The log is intact but the record it vouches for was changed."""
    MISSING_EVENT = "missing-event"
    """A record has no (or the wrong) audit event."""
    SIGNATURE = "bad-signature"
    """A signed head does not verify, or no longer matches the event it signed."""
    UNSIGNED = "unsigned"
    """Events that no signed head covers (a forger cannot sign them)."""
    UNTRUSTED_KEY = "untrusted-key"
    """A head is signed by a key that is not the station's (or not the one required)."""


class Finding(BaseModel):
    """One thing wrong, pinned to the audit event concerned."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int
    problem: Problem
    detail: str


class VerifyReport(BaseModel):
    """The outcome of verifying a chain (and, from the store, the evidence it vouches for)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ok: bool
    events: int
    """Events read."""
    head_seq: int
    head_hash: str
    first_bad: Finding | None = None
    findings: tuple[Finding, ...] = ()
    """Every finding, in ``seq`` order (capped)."""
    scope: str = "chain"
    """``chain`` (every event and record) or ``item ITEM`` (one parcel's evidence)."""
    signed_head: SignedHead | None = None
    """The last signed head (what an anchor, a report or a bundle carries)."""
    key_ids: tuple[str, ...] = ()
    """Fingerprints of the keys whose signatures were checked."""
    trusted: bool | None = None
    """True: every signature is by a trusted key (the station's, or ``--key``); None: no
    trusted key was given, so the signatures were checked only against the keys the
    database itself names (compare the fingerprint)."""
    unsigned_legacy: int = 0
    """Events written before the chain was signed (schema v1), covered by the first head."""

    def key_text(self) -> str:
        """The signing key(s) and whether they were checked against a trusted one."""
        if not self.key_ids:
            return "no signing key"
        keys = ", ".join(self.key_ids)
        if self.trusted:
            return f"signed by key {keys} (the station's)"
        if self.trusted is None:
            return (f"signed by key {keys} (NOT checked against a trusted key: compare this "
                    "fingerprint with the station's)")
        return f"signed by key {keys} (NOT a trusted key)"

    def message(self) -> str:
        """One line for a human."""
        what = "audit chain" if self.scope == "chain" else f"evidence of {self.scope[5:]}"
        if self.ok:
            legacy = (f"; events #1..#{self.unsigned_legacy} predate signing (schema v1) and "
                      "are covered by the first signed head" if self.unsigned_legacy else "")
            return (f"{what} OK: {self.events} events, head #{self.head_seq} "
                    f"{self.head_hash}, {self.key_text()}{legacy}")
        f = self.first_bad
        if f is None:
            return f"{what} BROKEN"
        return f"{what} BROKEN at event #{f.seq} ({f.problem.value}): {f.detail}"


def verify_chain(
    events: Iterable[RawEvent],
    lookup_hash: Callable[[str], int | None],
    *,
    expected_head: tuple[int, str] | None = None,
    max_findings: int = 100,
) -> tuple[int, int, str, list[Finding]]:
    """Walk the events in ``seq`` order and report every break.

    Parameters
    ----------
    events
        Stored events ordered by ``seq``.
    lookup_hash
        Returns the ``seq`` of the stored event with this hash, or None (used to tell a
        reordering from a deletion).
    expected_head
        ``(seq, hash)`` of the last event as recorded separately; detects events cut off
        the end of the log.
    max_findings
        Stop collecting after this many findings.

    Returns
    -------
    events, head_seq, head_hash, findings
        Number of events read, the last one's seq and hash, and what is wrong (empty when
        the chain is intact), in the order the walk found it: the first finding is the
        first bad event.
    """
    findings: list[Finding] = []
    prev_hash = GENESIS
    prev_seq = 0
    n = 0
    for ev in events:
        if len(findings) >= max_findings:
            break
        n += 1
        expected_seq = prev_seq + 1
        if ev.prev_hash != prev_hash:
            j = lookup_hash(ev.prev_hash)
            if j is not None and j > prev_seq:
                findings.append(Finding(
                    seq=ev.seq, problem=Problem.REORDERED,
                    detail=f"event #{ev.seq} links to event #{j}, which is stored after it; "
                           f"expected a link to #{prev_seq}",
                ))
            elif ev.seq > expected_seq:
                findings.append(Finding(
                    seq=expected_seq, problem=Problem.DELETED,
                    detail=f"event(s) #{expected_seq}..#{ev.seq - 1} missing: #{ev.seq} "
                           f"does not link to #{prev_seq}",
                ))
            elif j is not None:
                findings.append(Finding(
                    seq=j + 1, problem=Problem.DELETED,
                    detail=f"event #{ev.seq} links to #{j}: the event(s) after #{j} were "
                           "deleted and the rest renumbered",
                ))
            elif prev_seq:
                findings.append(Finding(
                    seq=prev_seq, problem=Problem.EDITED,
                    detail=f"event #{prev_seq} was changed and re-hashed: event "
                           f"#{ev.seq} links to a hash no stored event has",
                ))
            else:
                findings.append(Finding(
                    seq=ev.seq, problem=Problem.EDITED,
                    detail=f"first event #{ev.seq} does not link to the genesis hash",
                ))
        elif ev.seq != expected_seq:
            findings.append(Finding(
                seq=ev.seq, problem=Problem.EDITED,
                detail=f"event numbered #{ev.seq} but it follows #{prev_seq}",
            ))
        if chain_hash(ev.prev_hash, seq=ev.seq, at=ev.at, kind=ev.kind, actor=ev.actor,
                      item_id=ev.item_id, data_text=ev.data) != ev.hash:
            findings.append(Finding(
                seq=ev.seq, problem=Problem.EDITED,
                detail=f"event #{ev.seq} ({ev.kind}, {ev.item_id or '-'}) does not "
                       "match its hash: its content was changed",
            ))
        prev_hash, prev_seq = ev.hash, ev.seq
    if expected_head is not None and len(findings) < max_findings:
        hseq, hhash = expected_head
        if prev_seq < hseq:
            findings.append(Finding(
                seq=prev_seq + 1, problem=Problem.DELETED,
                detail=f"the log ends at #{prev_seq} but its recorded head is #{hseq}: "
                       f"event(s) #{prev_seq + 1}..#{hseq} were deleted",
            ))
        elif (prev_seq, prev_hash) != (hseq, hhash):
            findings.append(Finding(
                seq=prev_seq, problem=Problem.EDITED,
                detail=f"the last event #{prev_seq} does not match the recorded head "
                       f"#{hseq} {hhash[:12]}…",
            ))
    return n, prev_seq, prev_hash, findings


class ItemProof(BaseModel):
    """What proves one parcel's audit events without the rest of the chain.

    For every signed transaction holding one of the parcel's events: its events from the
    parcel's first one to the transaction's end (raw, exactly as hashed) and its signed head;
    the chain's last signed head; the public keys of the signers (key id → 64 hex digits).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    item_id: str
    events: tuple[dict[str, object], ...]
    """:meth:`RawEvent.as_dict` of each event, in ``seq`` order."""
    heads: tuple[SignedHead, ...]
    latest: SignedHead | None
    public_keys: dict[str, str]
    records: dict[str, list[dict[str, object]]] = Field(default_factory=dict)
    """The parcel's stored rows exactly as their events' digests cover them, each with its
    ``event_seq``: ``parcel`` (``record``, the AED JSON text), ``inspections``
    (:data:`INSPECTION_COLUMNS`), ``results`` (:data:`RESULT_COLUMNS`), ``transitions``
    (:data:`TRANSITION_COLUMNS`), ``originals`` (:data:`ORIGINAL_COLUMNS`: the original
    files' rows; their bytes travel beside the proof); and ``spectra`` (``hash``, ``meta``:
    each raw spectrum's metadata record as stored, which its scan events'
    :data:`SPECTRUM_RECORD` covers)."""

    def raw_events(self) -> list[RawEvent]:
        """The events as :class:`RawEvent` (``ValueError`` if one is malformed)."""
        return [RawEvent.from_dict(e) for e in self.events]

    def verify(self, trusted: Collection[str] | None = None) -> tuple[list[Finding], set[str]]:
        """Check every head's signature (and key, when ``trusted`` is given) and prove the
        events of each transaction against its head.

        Returns
        -------
        findings, key ids used
        """
        findings: list[Finding] = []
        keys: dict[str, PublicKey] = {}
        for key_id, text in self.public_keys.items():
            try:
                k = PublicKey.from_hex(text)
            except ValueError:
                continue
            if k.key_id == key_id:
                keys[key_id] = k
        try:
            events = self.raw_events()
        except ValueError as exc:
            return [Finding(seq=0, problem=Problem.EDITED, detail=str(exc))], set()
        used: set[str] = set()
        heads = [*self.heads, *([self.latest] if self.latest is not None
                               and self.latest not in self.heads else [])]
        for h in heads:
            used.add(h.key_id)
            key = keys.get(h.key_id)
            if key is None or not key.verify(h):
                findings.append(Finding(seq=h.seq, problem=Problem.SIGNATURE,
                                        detail=f"the signature of head #{h.seq} does not "
                                               f"verify under key {h.key_id[:16]}…"))
            elif trusted is not None and h.key_id not in trusted:
                findings.append(Finding(seq=h.seq, problem=Problem.UNTRUSTED_KEY,
                                        detail=f"head #{h.seq} is signed by key {h.key_id}, "
                                               "not the required one"))
        lo = 0
        for h in self.heads:
            run = [e for e in events if lo < e.seq <= h.seq]
            findings += prove_events(run, h)
            lo = h.seq
        stray = [e.seq for e in events if e.seq > lo]
        if stray:
            findings.append(Finding(seq=stray[0], problem=Problem.UNSIGNED,
                                    detail=f"event(s) #{stray[0]}.. are covered by no signed "
                                           "head in the proof"))
        return findings, used


def check_heads(
    heads: Iterable[SignedHead],
    *,
    keys: Mapping[str, PublicKey],
    trusted: Collection[str] | None,
    event_hash_at: Callable[[int], str | None],
    last_event: tuple[int, str],
    max_findings: int = 100,
) -> tuple[list[Finding], SignedHead | None, int]:
    """Check a store's signed heads, in ``seq`` order.

    Every head must verify under its key (``keys``: key id → public key, as the store
    records them), its key must be trusted (when ``trusted`` is given), its ``prev_seq`` must
    be the previous head's ``seq`` (the first head's ``prev_seq`` says how many events were
    written before signing began), the event it signed must still have the signed hash, and
    the last head must be the chain's last event.

    Returns
    -------
    findings, last head, unsigned legacy events
    """
    findings: list[Finding] = []
    prev: SignedHead | None = None
    legacy = 0
    for h in heads:
        if len(findings) >= max_findings:
            break
        key = keys.get(h.key_id)
        if prev is None:
            legacy = h.prev_seq
        elif h.prev_seq != prev.seq:
            findings.append(Finding(
                seq=min(h.prev_seq, prev.seq) + 1, problem=Problem.DELETED,
                detail=f"signed head #{h.seq} follows head #{h.prev_seq}, but the head before "
                       f"it is #{prev.seq}: signed transactions were removed or inserted"))
        if key is None or not key.verify(h):
            findings.append(Finding(
                seq=h.seq, problem=Problem.SIGNATURE,
                detail=f"the signature of head #{h.seq} does not verify under key "
                       f"{h.key_id[:16]}…" + ("" if key else " (a key the store does not hold)")))
        elif trusted is not None and h.key_id not in trusted:
            findings.append(Finding(
                seq=h.seq, problem=Problem.UNTRUSTED_KEY,
                detail=f"head #{h.seq} is signed by key {h.key_id}, which is not the "
                       "station's (re-signed by someone else?)"))
        stored = event_hash_at(h.seq)
        if stored is None:
            findings.append(Finding(seq=h.seq, problem=Problem.DELETED,
                                    detail=f"event #{h.seq}, signed by head #{h.seq}, is not "
                                           "in the log"))
        elif stored != h.hash:
            findings.append(Finding(
                seq=h.prev_seq + 1, problem=Problem.SIGNATURE,
                detail=f"event #{h.seq} no longer has the hash its signed head vouches for: "
                       f"the chain was rewritten at or before the signed transaction "
                       f"#{h.prev_seq + 1}..#{h.seq}"))
        prev = h
    lseq, lhash = last_event
    if prev is None:
        if lseq:
            findings.append(Finding(seq=1, problem=Problem.UNSIGNED,
                                    detail=f"no signed head covers events #1..#{lseq}"))
    elif lseq > prev.seq:
        findings.append(Finding(
            seq=prev.seq + 1, problem=Problem.UNSIGNED,
            detail=f"events #{prev.seq + 1}..#{lseq} are not covered by a signed head: they "
                   "were appended without the station's key"))
    elif lseq < prev.seq:
        findings.append(Finding(
            seq=lseq + 1, problem=Problem.DELETED,
            detail=f"the log ends at #{lseq} but the last signed head is #{prev.seq}: "
                   f"event(s) #{lseq + 1}..#{prev.seq} were deleted"))
    elif lhash != prev.hash:
        findings.append(Finding(seq=lseq, problem=Problem.SIGNATURE,
                                detail=f"the last event #{lseq} is not the one its signed head "
                                       "vouches for"))
    return findings, prev, legacy


def prove_events(events: Sequence[RawEvent], head: SignedHead) -> list[Finding]:
    """Prove consecutive events ``events[0].seq .. head.seq`` against their signed head.

    Each event's hash is recomputed from its content and its stored link, each links to the
    one before, and the last one's hash must be the head's: a signature over the head then
    vouches for every one of them, without the rest of the chain. (The caller verifies the
    head's signature.)
    """
    out: list[Finding] = []
    if not events:
        return [Finding(seq=head.seq, problem=Problem.DELETED,
                        detail=f"no event given for signed head #{head.seq}")]
    prev: RawEvent | None = None
    for ev in events:
        if prev is not None and ev.seq != prev.seq + 1:
            out.append(Finding(seq=prev.seq + 1, problem=Problem.DELETED,
                               detail=f"event(s) #{prev.seq + 1}..#{ev.seq - 1} are missing"))
        elif prev is not None and ev.prev_hash != prev.hash:
            out.append(Finding(seq=ev.seq, problem=Problem.EDITED,
                               detail=f"event #{ev.seq} does not link to event #{prev.seq}"))
        if not ev.hash_ok():
            out.append(Finding(seq=ev.seq, problem=Problem.EDITED,
                               detail=f"event #{ev.seq} ({ev.kind}, {ev.item_id or '-'}) does "
                                      "not match its hash: its content was changed"))
        prev = ev
    assert prev is not None
    if prev.seq != head.seq:
        out.append(Finding(seq=prev.seq, problem=Problem.DELETED,
                           detail=f"the events end at #{prev.seq}, their signed head is "
                                  f"#{head.seq}"))
    elif prev.hash != head.hash:
        out.append(Finding(seq=head.seq, problem=Problem.SIGNATURE,
                           detail=f"event #{head.seq} is not the one its signed head vouches "
                                  "for: the events were rewritten"))
    return out


__all__ = [
    "GENESIS",
    "INSPECTION_COLUMNS",
    "ORIGINAL_COLUMNS",
    "RESULT_COLUMNS",
    "SPECTRUM_RECORD",
    "TRANSITION_COLUMNS",
    "Finding",
    "ItemProof",
    "Problem",
    "RawEvent",
    "VerifyReport",
    "chain_hash",
    "check_heads",
    "event_body",
    "event_hash",
    "original_problem",
    "prove_events",
    "record_digest",
    "row_digest",
    "spectrum_record_detail",
    "spectrum_record_differs",
    "verify_chain",
]
