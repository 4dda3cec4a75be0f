"""The hash-chained, append-only audit log: building links and verifying a chain.

Each event's hash is ``sha256(prev_hash + canonical_json(body))``, where the body holds
``seq``, ``at``, ``kind``, ``actor``, ``item_id`` and ``data`` exactly as stored, and
``prev_hash`` of the first event is :data:`GENESIS`. Editing any event changes its hash;
deleting or reordering events breaks the link of the next one. :func:`verify_chain` walks the
events in ``seq`` order and names the first bad one and what is wrong with it.

The chain alone cannot see the *last* events being cut off, nor evidence rows edited
without touching the log: the store keeps the chain head in the same transaction as every
append and checks each evidence row against the digest its event recorded (see
:meth:`parcels.store.Store.verify`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from json.encoder import encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from pydantic import BaseModel, ConfigDict

from .records import canonical_json

_quote: Callable[[str], str] = encode_basestring_ascii  # type: ignore[assignment]

GENESIS = "0" * 64
"""``prev_hash`` of the first event."""


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

    def message(self) -> str:
        """One line for a human."""
        if self.ok:
            return f"audit chain OK: {self.events} events, head #{self.head_seq} {self.head_hash}"
        f = self.first_bad
        if f is None:
            return "audit chain BROKEN"
        return f"audit chain BROKEN at event #{f.seq} ({f.problem.value}): {f.detail}"


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


__all__ = [
    "GENESIS",
    "Finding",
    "Problem",
    "RawEvent",
    "VerifyReport",
    "chain_hash",
    "event_body",
    "event_hash",
    "verify_chain",
]
