"""What a forger with write access to an evidence database (but not the station's key) does,
for the tamper tests of the store, the bundle and central: rewrite a verdict and recompute
every digest and hash after it; re-sign the heads with a key of their own."""

from __future__ import annotations

import json

from parcels.signing import StationKey
from spectra import canonical_json

from .conftest import Backend


def forge_verdict(b: Backend, *, to: str = "NO_MATCH") -> int:
    """Rewrite the ALERT verdict of the first inspection as ``to``, exactly as a careful forger
    would: the result row and its identification JSON, the row digest its event records, the
    event's data and hash, and every later event's link and hash. Returns the seq of the
    forged event."""
    from parcels.audit import RESULT_COLUMNS
    from parcels.records import digest

    cols = ", ".join(RESULT_COLUMNS)
    row = b.sql(f"SELECT {cols}, event_seq FROM results WHERE alert ORDER BY event_seq "
                "LIMIT 1")[0]
    vals = dict(zip(RESULT_COLUMNS, row[:-1], strict=True))
    vals["alert"] = bool(vals["alert"])
    seq = int(row[-1])
    ident = json.loads(vals["identification"])
    ident.update(verdict=to, alert=False, alert_substances=[])
    vals.update(verdict=to, alert=False, identification=json.dumps(ident))
    data = json.loads(b.one("SELECT data FROM audit_events WHERE seq = ?", (seq,)))
    data.update(verdict=to, alert=False, digest=digest(vals))
    b.tamper(("UPDATE results SET verdict = ?, alert = false, identification = ? "
              "WHERE event_seq = ?", (to, vals["identification"], seq)),
             ("UPDATE audit_events SET data = ? WHERE seq = ?", (canonical_json(data), seq)))
    rehash_from(b, seq)
    return seq


def rehash_from(b: Backend, seq: int) -> None:
    """Recompute the hash and link of event ``seq`` and of every event after it (the signed
    heads are left alone)."""
    from parcels.audit import GENESIS, chain_hash

    events = b.sql("SELECT seq, at, kind, actor, item_id, data, prev_hash FROM audit_events "
                   "WHERE seq >= ? ORDER BY seq", (seq,))
    prev = GENESIS if seq == 1 else b.one("SELECT hash FROM audit_events WHERE seq = ?",
                                          (seq - 1,))
    rehash: list[str | tuple[str, tuple[object, ...]]] = []
    for s, at, kind, actor, item, d, _ in events:
        h = chain_hash(prev, seq=s, at=at, kind=kind, actor=actor, item_id=item, data_text=d)
        rehash.append(("UPDATE audit_events SET prev_hash = ?, hash = ? WHERE seq = ?",
                       (prev, h, s)))
        prev = h
    b.tamper(*rehash)


def as_older_version(b: Backend) -> None:
    """Make the chain what a version before ``spectrum_meta_digest`` wrote: the key removed
    from every scan event, the chain rehashed and its heads signed again with the station's
    own key (legitimately old, not forged)."""
    from .builders import KEY

    scans = b.sql("SELECT seq, data FROM audit_events WHERE kind = 'scan' ORDER BY seq")
    old: list[str | tuple[str, tuple[object, ...]]] = []
    for seq, data in scans:
        d = json.loads(data)
        del d["spectrum_meta_digest"]
        old.append(("UPDATE audit_events SET data = ? WHERE seq = ?", (canonical_json(d), seq)))
    b.tamper(*old)
    rehash_from(b, scans[0][0])
    resign(b, KEY)


def resign(b: Backend, key: StationKey) -> None:
    """Replace every signed head with one signed by ``key`` over the chain as it now is (the
    station's own key: as if the station had signed it so)."""
    heads = b.sql("SELECT h.seq, e.hash, h.prev_seq FROM signed_heads h "
                  "JOIN audit_events e ON e.seq = h.seq ORDER BY h.seq")
    sql: list[str | tuple[str, tuple[object, ...]]] = [
        "DELETE FROM signed_heads",
        ("INSERT INTO station_keys VALUES (?, ?, 'now') ON CONFLICT (key_id) DO NOTHING",
         (key.key_id, key.public.hex))]
    for seq, h, prev in heads:
        sh = key.sign_head(seq=seq, hash=h, prev_seq=prev)
        sql.append(("INSERT INTO signed_heads VALUES (?, ?, ?, ?, ?)",
                    (sh.seq, sh.hash, sh.prev_seq, sh.key_id, sh.signature)))
    b.tamper(*sql)


__all__ = ["as_older_version", "forge_verdict", "rehash_from", "resign"]
