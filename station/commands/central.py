"""``interdict serve`` and ``interdict central …``: the fleet's central service and its
credentials (the ``central`` extra: ``pip install 'interdict[central]'``).

A credential's token is printed once, on standard output, and never stored (only a slow
hash of its secret is). A station's signing key: central registers the key of the station's
first push (trust on first use) unless ``station add --key`` pinned it beforehand; from then
on a push signed by any other key is refused until an admin runs ``station rotate-key``.
Pins and rotations are logged in central's own signed chain, so they need central's signing
key (``--signing-key``, as ``serve``).

Central's database and signing key are not station settings (a station has neither): they
are ``--db`` / ``INTERDICT_CENTRAL_DB`` and ``--signing-key`` / ``INTERDICT_CENTRAL_KEY``.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from station._help import HelpFormatter
from station._terminal import say
from station.commands._common import dump_json, json_option
from station.commands.audit import fingerprint
from station.errors import StationError, UsageError
from station.exit_codes import ExitCode, epilog

if TYPE_CHECKING:
    from parcels.store.postgres import PostgresStore

ENV_CENTRAL_DB = "INTERDICT_CENTRAL_DB"
ENV_CENTRAL_KEY = "INTERDICT_CENTRAL_KEY"
EXTRA = "pip install 'interdict[central]'"

T = TypeVar("T")

TLS = """\
TLS: give --tls-cert and --tls-key (PEM), or put a TLS proxy in front (docs/central.md).

"""


def register(sub: Any) -> None:
    """Register ``serve`` and ``central``."""
    codes = epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.UNREACHABLE)
    p = sub.add_parser(
        "serve", help="run the central service (HTTP API) for the fleet",
        description="Serve the fleet's central record over HTTP: AED ingest, holds, station "
                    "sync, parcel records, statistics, evidence reports. Prints one line, "
                    "'listening on URL', once it accepts requests; SIGTERM finishes the "
                    "requests in flight and stops.",
        epilog=TLS + codes, formatter_class=HelpFormatter)
    _central_options(p)
    p.add_argument("--listen", default="127.0.0.1:8750", metavar="HOST:PORT",
                   help="address to listen on (port 0: any free port; default %(default)s)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    p.add_argument("--pool", type=int, default=16, metavar="N",
                   help="database connections (default %(default)s)")
    p.add_argument("--log-level", default="warning",
                   choices=("critical", "error", "warning", "info", "debug"),
                   help="what the server logs on stderr (default %(default)s)")
    json_option(p, "the 'listening' and 'stopped' lines (one JSON object each)")
    p.set_defaults(func=_serve)

    c = sub.add_parser("central", help="central's credentials: stations and people",
                       description="Issue, list and revoke the credentials of the central "
                                   "service, and pin or rotate a station's signing key. "
                                   "Works on central's database directly (an admin's job).")
    cs = c.add_subparsers(dest="central_command", metavar="ACTION", required=True)
    st = cs.add_parser("station", help="station credentials and signing keys",
                       description="A station's credential (bound to one facility) and the "
                                   "signing key central accepts its pushes under.")
    sts = st.add_subparsers(dest="station_command", metavar="ACTION", required=True)
    a = _admin(sts, "add", "issue a station's credential (its token is shown once)",
               "Issue a station's credential, bound to the mail facility whose parcels it "
               "may read and write. The token goes to standard output once: put it in the "
               "station's file as central_token.")
    a.add_argument("name", help="the station's name at central (letters, digits, . _ -)")
    a.add_argument("--facility", required=True, metavar="CODE",
                   help="the mail facility whose parcels the station may read and write")
    a.add_argument("--key", metavar="FINGERPRINT", type=fingerprint,
                   help="pin the station's signing key (its fingerprint, as the station's "
                        "interdict audit verify prints it); default: the key of its first push")
    json_option(a, "the credential and its token")
    a.set_defaults(func=_add, role="station")
    a = _admin(sts, "rotate-key", "replace a station's registered signing key",
               "Register a station's new signing key (a laptop's lost or compromised key): "
               "pushes signed by the old key are refused from then on.")
    a.add_argument("name", help="the station's name at central")
    a.add_argument("--key", required=True, metavar="FINGERPRINT", type=fingerprint,
                   help="the station's new key fingerprint")
    json_option(a, "the registration")
    a.set_defaults(func=_rotate)
    u = cs.add_parser("user", help="credentials of people and systems",
                      description="Credentials of targeting systems, supervisors, auditors "
                                  "and admins.")
    us = u.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = _admin(us, "add", "issue a credential (its token is shown once)",
               "Issue a credential with a role; the token goes to standard output once.")
    a.add_argument("name", help="the credential's name (letters, digits, . _ -)")
    a.add_argument("--role", required=True,
                   choices=("targeting", "supervisor", "auditor", "admin"),
                   help="targeting: AED and hold requests; supervisor: read all, statistics, "
                        "move holds; auditor: read and verify; admin: everything")
    json_option(a, "the credential and its token")
    a.set_defaults(func=_add, facility=None, key=None)
    a = _admin(cs, "revoke", "revoke a credential (effective at once)",
               "Revoke a credential: central refuses it from the next request on.")
    a.add_argument("name", help="the credential's name")
    json_option(a, "what was revoked")
    a.set_defaults(func=_revoke)
    a = _admin(cs, "list", "list credentials (never their secrets)",
               "Every credential: name, role, facility, and when it was revoked.")
    json_option(a, "the credentials")
    a.set_defaults(func=_list)


def _central_options(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("central's database and key (not station settings)")
    g.add_argument("--db", metavar="URL",
                   help=f"central's PostgreSQL database, postgresql://… (env {ENV_CENTRAL_DB})")
    g.add_argument("--signing-key", metavar="FILE",
                   help=f"central's own signing key (env {ENV_CENTRAL_KEY}; default "
                        "central.key in the user's data folder; created on first use)")


def _admin(sub: Any, name: str, help_line: str, description: str) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = sub.add_parser(
        name, help=help_line, description=description, formatter_class=HelpFormatter,
        epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.UNREACHABLE))
    _central_options(p)
    return p


def central_db(args: argparse.Namespace) -> str:
    """Central's database: ``--db``, else ``INTERDICT_CENTRAL_DB``.

    Raises
    ------
    UsageError
        None given, or not a PostgreSQL URL.
    """
    from station.config import POSTGRES_SCHEMES

    url: str | None = args.db or os.environ.get(ENV_CENTRAL_DB)
    if not url:
        raise UsageError("which central database?",
                         hint=f"give --db postgresql://… (or {ENV_CENTRAL_DB})")
    if not url.startswith(POSTGRES_SCHEMES):
        raise UsageError("central's database is PostgreSQL: a postgresql:// URL",
                         hint=f"give --db postgresql://user@host/database (or "
                              f"{ENV_CENTRAL_DB})")
    return url


def central_key_path(args: argparse.Namespace) -> Path:
    """Central's signing key file: ``--signing-key``, else ``INTERDICT_CENTRAL_KEY``, else
    ``central.key`` in the user's data folder (:func:`station.config.data_dir`)."""
    from station.config import data_dir

    text = args.signing_key or os.environ.get(ENV_CENTRAL_KEY)
    return Path(text) if text else data_dir() / "central.key"


def needs_central_extra() -> None:
    """The central extra is installed, else a clear error saying how to get it."""
    import importlib.util

    missing = [m for m in ("fastapi", "uvicorn", "psycopg", "psycopg_pool")
               if importlib.util.find_spec(m) is None]
    if missing:
        raise StationError(f"the central service needs {', '.join(missing)}",
                           hint=f"install its extra: {EXTRA}")


def _serve(args: argparse.Namespace) -> ExitCode:
    needs_central_extra()
    from central.serve import ServeOptions, parse_listen, serve

    try:
        host, port = parse_listen(args.listen)
    except ValueError as exc:
        raise UsageError(str(exc)) from exc
    if bool(args.tls_cert) != bool(args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    if args.pool < 1:
        raise UsageError(f"--pool must be at least 1, got {args.pool}")
    serve(ServeOptions(db=central_db(args), key=central_key_path(args), host=host, port=port,
                       tls_cert=args.tls_cert, tls_key=args.tls_key, pool=args.pool,
                       log_level=args.log_level, as_json=args.json))
    return ExitCode.OK


def _store(args: argparse.Namespace, *, signing: bool = False) -> PostgresStore:
    """Central's store (one connection); with ``signing``, able to write its own chain."""
    needs_central_extra()
    from parcels.signing import StationKey
    from parcels.store.postgres import PostgresStore

    signer = StationKey.load_or_create(central_key_path(args)) if signing else None
    return PostgresStore(central_db(args), max_connections=1, signer=signer)


def _credentials(args: argparse.Namespace, fn: Callable[[Any], T]) -> T:
    """``fn`` over a connection to central's credentials table."""
    with _store(args) as store, store.connection() as con:
        return fn(con)


def _add(args: argparse.Namespace) -> ExitCode:
    from central.auth import Role, issue

    with _store(args) as store, store.connection() as con:
        try:
            issued = issue(con, args.name, Role(args.role), facility=args.facility)
        except ValueError as exc:  # a name taken or not allowed, a facility code
            raise StationError(str(exc), hint="interdict central list shows the "
                                              "credentials") from exc
    if args.key is not None:
        with _store(args, signing=True) as store:
            store.register_station_key(args.name, args.key, actor="admin (cli)")
    p = issued.principal
    if args.json:
        dump_json({**p.model_dump(mode="json"), "token": issued.token})
        return ExitCode.OK
    where = f" for facility {p.facility}" if p.facility else ""
    pinned = f", signing key {args.key} pinned" if args.key else ""
    say(f"{p.role.value} credential {p.name!r}{where}{pinned}; its token (shown once, keep "
        "it secret; the station's central_token):", sys.stderr)
    print(issued.token)
    return ExitCode.OK


def _rotate(args: argparse.Namespace) -> ExitCode:
    from central.auth import listing

    known = {r["name"]: r for r in _credentials(args, listing)}
    if known.get(args.name, {}).get("role") != "station":
        raise StationError(f"no station credential named {args.name!r}",
                           hint="interdict central list shows the credentials")
    with _store(args, signing=True) as store:
        try:
            reg = store.register_station_key(args.name, args.key, actor="admin (cli)",
                                             rotate=True)
        except ValueError as exc:  # already this station's key
            raise StationError(str(exc)) from exc
    if args.json:
        dump_json(reg.model_dump(mode="json"))
    else:
        say(f"station {args.name!r}: key {reg.key_id} ({reg.how}); pushes signed by any other "
            "key are refused")
    return ExitCode.OK


def _revoke(args: argparse.Namespace) -> ExitCode:
    from central.auth import revoke

    if not _credentials(args, lambda con: revoke(con, args.name)):
        raise StationError(f"no active credential named {args.name!r}",
                           hint="interdict central list shows the credentials")
    if args.json:
        dump_json({"revoked": args.name})
    else:
        say(f"credential {args.name!r} revoked")
    return ExitCode.OK


def _list(args: argparse.Namespace) -> ExitCode:
    from central.auth import listing

    rows = _credentials(args, listing)
    if args.json:
        dump_json(rows)
        return ExitCode.OK
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        say(f"{r['name']:<24} {r['role']:<11} {r['facility'] or '-':<12} {state}")
    return ExitCode.OK


__all__ = ["ENV_CENTRAL_DB", "ENV_CENTRAL_KEY", "central_db", "central_key_path",
           "needs_central_extra", "register"]
