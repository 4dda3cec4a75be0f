"""``interdict serve`` and ``interdict central …``: the fleet's central service and its
credentials (needs the ``central`` extra).

Commands::

    interdict serve --db postgresql://… [--listen HOST:PORT] [--tls-cert F --tls-key F]
                    [--signing-key FILE]
    interdict central station add NAME --facility CODE [--key FINGERPRINT] --db postgresql://…
    interdict central station rotate-key NAME --key FINGERPRINT --db postgresql://…
    interdict central user add NAME --role targeting|supervisor|auditor|admin --db …
    interdict central revoke NAME --db …
    interdict central list --db …

A credential's token is printed once, on standard output, and never stored (only a slow hash
of its secret is).

A station's signing key: central registers the key of the station's first push (trust on
first use) unless ``station add --key`` pinned it beforehand (the fingerprint ``interdict
audit verify`` prints on the station); from then on a push signed by any other key is
refused until an admin runs ``station rotate-key``. Pins and rotations are logged in
central's own signed chain, so they need central's signing key (``--signing-key``, as
``serve``).

Exit codes: 0 success; 1 error (database, unknown name, key refused); 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import Any

from station.commands.parcel import EXIT_ERROR, EXIT_OK, EXIT_USAGE

ENV_CENTRAL_DB = "INTERDICT_CENTRAL_DB"


def register(sub: Any) -> None:
    """Register ``serve`` and ``central``."""
    db = argparse.ArgumentParser(add_help=False)
    db.add_argument("--db", metavar="URL",
                    help=f"central PostgreSQL database (env {ENV_CENTRAL_DB})")
    db.add_argument("--signing-key", metavar="FILE",
                    help="central's own signing key (env INTERDICT_CENTRAL_KEY; default "
                         "central.key in the data folder; created on first use)")

    p = sub.add_parser("serve", parents=[db], help="run the central service (HTTP API)",
                       description="Serve the fleet's central record over HTTP: AED ingest, "
                                   "holds, station sync, parcel records, statistics, reports.",
                       epilog="TLS: give --tls-cert and --tls-key (PEM), or put a TLS proxy "
                              "in front; see docs/central.md.")
    p.add_argument("--listen", default="127.0.0.1:8750", metavar="HOST:PORT",
                   help="address to listen on (port 0: any free port; default %(default)s)")
    p.add_argument("--tls-cert", metavar="PEM", help="serve HTTPS with this certificate")
    p.add_argument("--tls-key", metavar="PEM", help="the certificate's private key")
    p.add_argument("--pool", type=int, default=16, help="database connections (default 16)")
    p.add_argument("--log-level", default="warning",
                   choices=("critical", "error", "warning", "info", "debug"))
    p.set_defaults(func=_serve)

    c = sub.add_parser("central", help="central service credentials (stations and people)")
    cs = c.add_subparsers(dest="central_command", metavar="ACTION", required=True)
    st = cs.add_parser("station", help="station credentials")
    sts = st.add_subparsers(dest="station_command", metavar="ACTION", required=True)
    a = sts.add_parser("add", parents=[db], help="issue a station's credential (shown once)")
    a.add_argument("name")
    a.add_argument("--facility", required=True, metavar="CODE",
                   help="the mail facility whose parcels the station may read and write")
    a.add_argument("--key", metavar="FINGERPRINT",
                   help="pin the station's signing key (its fingerprint, as the station's "
                        "interdict audit verify prints it); default: the key of its first push")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=_add, role="station")
    a = sts.add_parser("rotate-key", parents=[db],
                       help="replace a station's registered signing key (pushes signed by the "
                            "old key are refused from then on)")
    a.add_argument("name")
    a.add_argument("--key", required=True, metavar="FINGERPRINT",
                   help="the station's new key fingerprint")
    a.set_defaults(func=_rotate)
    u = cs.add_parser("user", help="credentials of people and systems")
    us = u.add_subparsers(dest="user_command", metavar="ACTION", required=True)
    a = us.add_parser("add", parents=[db], help="issue a credential (shown once)")
    a.add_argument("name")
    a.add_argument("--role", required=True,
                   choices=("targeting", "supervisor", "auditor", "admin"))
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=_add, facility=None, key=None)
    a = cs.add_parser("revoke", parents=[db], help="revoke a credential (effective at once)")
    a.add_argument("name")
    a.set_defaults(func=_revoke)
    a = cs.add_parser("list", parents=[db], help="list credentials (never their secrets)")
    a.add_argument("--json", action="store_true")
    a.set_defaults(func=_list)


def _db(args: argparse.Namespace) -> str:
    url: str | None = args.db or os.environ.get(ENV_CENTRAL_DB)
    if not url:
        raise ValueError(f"give the central database: --db postgresql://… or {ENV_CENTRAL_DB}")
    if not url.startswith(("postgresql://", "postgres://")):
        raise ValueError(f"the central database is PostgreSQL: a postgresql:// URL, got {url!r}")
    return url


def _fail(args: argparse.Namespace, exc: BaseException) -> int:
    print(f"interdict {args.command}: error: {exc}", file=sys.stderr)
    return EXIT_ERROR


def _serve(args: argparse.Namespace) -> int:
    try:
        from central.serve import ServeOptions, central_key_path, parse_listen, serve
    except ImportError as exc:
        print(f"interdict serve: the central service needs its extra: pip install "
              f"'interdict[central]' ({exc})", file=sys.stderr)
        return EXIT_ERROR
    try:
        host, port = parse_listen(args.listen)
        opts = ServeOptions(db=_db(args), key=central_key_path(args.signing_key), host=host,
                            port=port, tls_cert=args.tls_cert,
                            tls_key=args.tls_key, pool=args.pool, log_level=args.log_level)
    except ValueError as exc:
        print(f"interdict serve: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        return serve(opts)
    except (OSError, ValueError) as exc:
        return _fail(args, exc)
    except Exception as exc:  # psycopg's errors: the database could not be opened
        if type(exc).__module__.startswith(("psycopg", "parcels")):
            return _fail(args, exc)
        raise


def _with_connection(args: argparse.Namespace, fn: Any) -> Any:
    from parcels.store.postgres import PostgresStore

    with PostgresStore(_db(args), max_connections=1) as store, store.connection() as con:
        return fn(con)


def _signing_store(args: argparse.Namespace) -> Any:
    """Central's store, able to write (with central's signing key)."""
    from central.serve import central_key_path
    from parcels.signing import StationKey
    from parcels.store.postgres import PostgresStore

    return PostgresStore(_db(args), max_connections=1,
                         signer=StationKey.load_or_create(central_key_path(args.signing_key)))


def _add(args: argparse.Namespace) -> int:
    from central.auth import Role, issue

    try:
        if args.key is not None:  # a key that is not one is refused before anything is issued
            _fingerprint(args.key)
        issued = _with_connection(args, lambda con: issue(con, args.name, Role(args.role),
                                                          facility=args.facility))
        if args.key is not None:
            with _signing_store(args) as store:
                store.register_station_key(args.name, args.key, actor="admin (cli)")
    except Exception as exc:
        return _fail(args, exc)
    p = issued.principal
    if args.json:
        print(json.dumps({**p.model_dump(mode="json"), "token": issued.token}))
    else:
        where = f" for facility {p.facility}" if p.facility else ""
        print(f"{p.role.value} credential {p.name!r}{where}; its token (shown once, keep it "
              "secret, give it to the station's configuration as central_token):",
              file=sys.stderr)
        print(issued.token)
    return EXIT_OK


def _fingerprint(text: str) -> str:
    key = text.strip().lower()
    if len(key) != 64 or any(c not in "0123456789abcdef" for c in key):
        raise ValueError(f"--key must be a key fingerprint (64 hex digits), got {text!r}")
    return key


def _rotate(args: argparse.Namespace) -> int:
    from central.auth import listing

    try:
        key = _fingerprint(args.key)
        known = {r["name"]: r for r in _with_connection(args, listing)}
        if known.get(args.name, {}).get("role") != "station":
            raise ValueError(f"no station credential named {args.name!r}")
        with _signing_store(args) as store:
            reg = store.register_station_key(args.name, key, actor="admin (cli)", rotate=True)
    except Exception as exc:
        return _fail(args, exc)
    print(f"station {args.name!r}: key {reg.key_id} ({reg.how}); pushes signed by any other "
          "key are refused", file=sys.stderr)
    return EXIT_OK


def _revoke(args: argparse.Namespace) -> int:
    from central.auth import revoke

    try:
        done = _with_connection(args, lambda con: revoke(con, args.name))
    except Exception as exc:
        return _fail(args, exc)
    if not done:
        return _fail(args, ValueError(f"no active credential named {args.name!r}"))
    print(f"credential {args.name!r} revoked", file=sys.stderr)
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from central.auth import listing

    try:
        rows = _with_connection(args, listing)
    except Exception as exc:
        return _fail(args, exc)
    if args.json:
        print(json.dumps(rows, indent=2))
        return EXIT_OK
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        print(f"{r['name']:<24} {r['role']:<11} {r['facility'] or '-':<12} {state}")
    return EXIT_OK
