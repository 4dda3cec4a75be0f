"""Who may call the central service: credentials, roles and what each role may do.

A credential is a bearer token ``idt_<id>_<secret>`` shown **once** when it is issued
(``interdict central station add`` / ``interdict central user add``). Central keeps only the
id, the role, the facility (for a station) and a slow hash of the secret (scrypt, N=2^14,
r=8, p=1, 16-byte salt, from the standard library). A revoked credential is refused from the
next request on (the service re-reads the credential row on every request; only the slow
hash check is cached, by the token's SHA-256, in the service's memory).

Roles (:class:`Role`) and the permission each endpoint needs (:class:`Permission`) are data
(:data:`GRANTS`): the app declares a permission per route, and the role × endpoint test
walks the app's routes against an independent table of the issue's rules.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
TOKEN_RE = re.compile(r"^idt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


class Role(StrEnum):
    """What a credential is for."""

    STATION = "station"
    """A field station: pushes its own inspections, pulls its own facility's work."""
    TARGETING = "targeting"
    """Ingests AED, requests holds."""
    SUPERVISOR = "supervisor"
    """Reads everything, moves holds on, statistics."""
    AUDITOR = "auditor"
    """Reads and verifies."""
    ADMIN = "admin"
    """Everything."""


class Permission(StrEnum):
    """What an endpoint needs."""

    INGEST = "ingest"
    REQUEST_HOLD = "request-hold"
    MOVE_HOLD = "move-hold"
    READ_PARCEL = "read-parcel"
    READ_REPORT = "read-report"
    STATISTICS = "statistics"
    CONFLICTS = "conflicts"
    VERIFY = "verify"
    STATION_HEADS = "station-heads"
    STATION_EVENTS = "station-events"
    SYNC = "sync"
    WHOAMI = "whoami"


R = Role
GRANTS: Mapping[Permission, frozenset[Role]] = {
    Permission.INGEST: frozenset({R.TARGETING, R.ADMIN}),
    Permission.REQUEST_HOLD: frozenset({R.TARGETING, R.ADMIN}),
    Permission.MOVE_HOLD: frozenset({R.SUPERVISOR, R.ADMIN}),
    Permission.READ_PARCEL: frozenset({R.STATION, R.TARGETING, R.SUPERVISOR, R.AUDITOR,
                                       R.ADMIN}),
    Permission.READ_REPORT: frozenset({R.STATION, R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
    Permission.STATISTICS: frozenset({R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
    Permission.CONFLICTS: frozenset({R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
    Permission.VERIFY: frozenset({R.AUDITOR, R.ADMIN}),
    Permission.STATION_HEADS: frozenset({R.STATION, R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
    Permission.STATION_EVENTS: frozenset({R.SUPERVISOR, R.AUDITOR, R.ADMIN}),
    Permission.SYNC: frozenset({R.STATION}),
    Permission.WHOAMI: frozenset(Role),
}
"""Which roles hold each permission. A station is further confined to its own facility (and
its own name) by the endpoints themselves."""


class AuthError(Exception):
    """A credential is missing, malformed, unknown, wrong or revoked (HTTP 401)."""


class Principal(BaseModel):
    """Who is calling."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str
    name: str
    role: Role
    facility: str | None = None


class Issued(BaseModel):
    """A new credential: the token is shown once and never stored."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    principal: Principal
    token: str


SCHEMA: tuple[str, ...] = (
    """CREATE TABLE IF NOT EXISTS credentials (id text PRIMARY KEY, name text NOT NULL UNIQUE,
        role text NOT NULL, facility text, secret_hash text NOT NULL, created_at text NOT NULL,
        revoked_at text)""",
)


def ensure_schema(con: Any) -> None:
    """Create the credentials table if it is missing; ``con`` is a psycopg connection.

    Run once by the database's owner (the first ``interdict central … add`` or ``serve``);
    afterwards the service may run as a role without DDL rights (``interdict_writer``).
    """
    row = con.execute("SELECT to_regclass('credentials') IS NOT NULL").fetchone()
    if row and row[0]:
        return
    for stmt in SCHEMA:
        con.execute(stmt)
    con.execute("""DO $$ BEGIN
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'interdict_writer') THEN
          GRANT SELECT ON credentials TO interdict_writer;
        END IF; END $$""")


def hash_secret(secret: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (hex) of ``secret``."""
    salt = salt if salt is not None else secrets.token_bytes(16)
    h = hashlib.scrypt(secret.encode("ascii"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P,
                       dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${h.hex()}"


def check_secret(secret: str, stored: str) -> bool:
    """Whether ``secret`` matches a :func:`hash_secret` value (constant-time compare)."""
    try:
        algo, n, r, p, salt, want = stored.split("$")
        if algo != "scrypt":
            return False
        got = hashlib.scrypt(secret.encode("ascii"), salt=bytes.fromhex(salt), n=int(n),
                             r=int(r), p=int(p), dklen=32)
    except (ValueError, UnicodeEncodeError):
        return False
    return hmac.compare_digest(got.hex(), want)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def issue(con: Any, name: str, role: Role, *, facility: str | None = None) -> Issued:
    """Create a credential; the returned token is the only copy of its secret.

    Raises
    ------
    ValueError
        A bad name, a station without a facility (or another role with one), or a name
        already in use.
    """
    role = Role(role)
    if not NAME_RE.fullmatch(name):
        raise ValueError(f"credential name {name!r}: letters, digits, '.', '_' or '-', "
                         "1-64 characters, starting with a letter or digit")
    if role is Role.STATION and not facility:
        raise ValueError("a station credential needs its facility (--facility CODE)")
    if role is not Role.STATION and facility:
        raise ValueError("only a station credential is bound to a facility")
    if facility is not None and not NAME_RE.fullmatch(facility):
        raise ValueError(f"facility code {facility!r}: letters, digits, '.', '_' or '-'")
    ensure_schema(con)
    if con.execute("SELECT 1 FROM credentials WHERE name = %s", (name,)).fetchone():
        raise ValueError(f"a credential named {name!r} exists already (revoke it, or choose "
                         "another name)")
    cid = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    con.execute("INSERT INTO credentials (id, name, role, facility, secret_hash, created_at) "
                "VALUES (%s, %s, %s, %s, %s, %s)",
                (cid, name, role.value, facility, hash_secret(secret), _now()))
    return Issued(principal=Principal(id=cid, name=name, role=role, facility=facility),
                  token=f"idt_{cid}_{secret}")


def revoke(con: Any, name: str) -> bool:
    """Revoke the credential ``name``; False if there is no such active credential."""
    ensure_schema(con)
    cur = con.execute("UPDATE credentials SET revoked_at = %s WHERE name = %s AND "
                      "revoked_at IS NULL", (_now(), name))
    return bool(cur.rowcount)


def listing(con: Any) -> list[dict[str, Any]]:
    """Every credential (never its hash)."""
    ensure_schema(con)
    rows = con.execute("SELECT name, role, facility, created_at, revoked_at FROM credentials "
                       "ORDER BY name").fetchall()
    return [{"name": r[0], "role": r[1], "facility": r[2], "created_at": r[3],
             "revoked_at": r[4]} for r in rows]


class Authenticator:
    """Checks bearer tokens against the credentials table.

    The slow hash is checked once per token; a token that passed is remembered by its
    SHA-256 (never the token itself) for this process's life. The credential row is read on
    every call, so a revocation takes effect at once.
    """

    def __init__(self) -> None:
        self._ok: dict[str, str] = {}
        self._lock = threading.Lock()

    def authenticate(self, con: Any, token: str | None) -> Principal:
        """The principal of ``token``.

        Raises
        ------
        AuthError
            Missing, malformed, unknown, wrong or revoked.
        """
        if not token:
            raise AuthError("no credentials: send Authorization: Bearer <token>")
        m = TOKEN_RE.fullmatch(token)
        if m is None:
            raise AuthError("malformed token")
        cid, secret = m.group(1), m.group(2)
        row = con.execute("SELECT name, role, facility, secret_hash, revoked_at FROM "
                          "credentials WHERE id = %s", (cid,)).fetchone()
        if row is None:
            raise AuthError("unknown credential")
        if row[4] is not None:
            raise AuthError(f"credential {row[0]!r} was revoked at {row[4]}")
        key = hashlib.sha256(token.encode("ascii")).hexdigest()
        with self._lock:
            known = self._ok.get(key) == row[3]
        if not known:
            if not check_secret(secret, row[3]):
                raise AuthError("wrong secret")
            with self._lock:
                self._ok[key] = row[3]
        return Principal(id=cid, name=row[0], role=Role(row[1]), facility=row[2])


__all__ = [
    "GRANTS",
    "AuthError",
    "Authenticator",
    "Issued",
    "Permission",
    "Principal",
    "Role",
    "check_secret",
    "ensure_schema",
    "hash_secret",
    "issue",
    "listing",
    "revoke",
]
