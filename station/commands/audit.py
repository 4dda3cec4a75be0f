"""``interdict audit verify|log``: the hash-chained, signed audit log."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from station._terminal import say
from station.commands._store import (
    common_options,
    dump_json,
    guard,
    open_store_for,
    query_option,
    station_config,
)
from station.exit_codes import EXIT_OK, EXIT_TAMPERED


def register(sub: Any) -> None:
    """Register ``audit``."""
    common, _ = common_options()
    query = query_option()

    p = sub.add_parser("audit", help="the hash-chained audit log")
    aus = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    a = aus.add_parser("verify", parents=[common, query],
                       help="check the chain and every record against it (exit 4 if broken)")
    a.add_argument("--quick", action="store_true", help="skip decoding every raw spectrum")
    a.add_argument("--anchor", action="append", default=[], metavar="SEQ:HASH",
                   help="an event hash kept outside the database (receipt, export, signed "
                        "head); detects a cut-off tail (repeatable)")
    a.add_argument("--trust", action="append", default=[], metavar="FINGERPRINT",
                   help="a key whose signatures count (repeatable; default: the station's "
                        "key file). Heads signed by any other key are findings")
    a.add_argument("--item", metavar="ITEM",
                   help="verify only this parcel's evidence (fast: independent of the "
                        "database's size)")
    a.set_defaults(func=guard(_verify))
    a = aus.add_parser("log", parents=[common, query], help="list audit events")
    a.add_argument("item_id", nargs="?")
    a.set_defaults(func=guard(_log))


def parse_anchor(text: str) -> tuple[int, str]:
    """``SEQ:HASH`` (64 hex digits) as given to ``--anchor``."""
    seq, sep, h = text.partition(":")
    # ASCII digits only: str.isdigit() also accepts '١' (read by int() as 1) and '²'
    if not (sep and 0 < len(seq) <= 18 and all(c in "0123456789" for c in seq)
            and len(h) == 64 and all(c in "0123456789abcdef" for c in h.lower())):
        raise ValueError(f"--anchor must be SEQ:HASH (SEQ in ASCII digits, HASH 64 hex "
                         f"digits), got {text!r}")
    return int(seq), h.lower()


def trusted_keys(args: argparse.Namespace) -> list[str] | None:
    """The fingerprints to trust: ``--trust``, else the station's key file, else None."""
    from parcels.signing import public_key_of

    given = [f.strip().lower() for f in getattr(args, "trust", []) or []]
    for f in given:
        if len(f) != 64 or any(c not in "0123456789abcdef" for c in f):
            raise ValueError(f"--trust must be a key fingerprint (64 hex digits), got {f!r}")
    if given:
        return given
    own = public_key_of(station_config(args).key)
    return None if own is None else [own.key_id]


def _verify(args: argparse.Namespace) -> int:
    anchors = dict(parse_anchor(a) for a in args.anchor)
    trusted = trusted_keys(args)
    with open_store_for(args) as store:
        if args.item:
            report = store.verify_item(args.item, deep=not args.quick, anchors=anchors,
                                       trusted_keys=trusted)
        else:
            report = store.verify(deep=not args.quick, anchors=anchors, trusted_keys=trusted)
    if args.json:
        dump_json(report.model_dump(mode="json"))
    else:
        print(report.message(), file=sys.stdout if report.ok else sys.stderr)
        for f in report.findings[1:]:
            print(f"  also #{f.seq} ({f.problem.value}): {f.detail}", file=sys.stderr)
        if report.signed_head is not None:
            h = report.signed_head
            print(f"  signed head #{h.seq} {h.hash} key {h.key_id}; keep --anchor "
                  f"{h.anchor()} to check this log later", file=sys.stdout)
        if not report.ok:
            print("  NOT verified", file=sys.stderr)
    return EXIT_OK if report.ok else EXIT_TAMPERED


def _log(args: argparse.Namespace) -> int:
    with open_store_for(args) as store:
        events = list(store.audit_events(item_id=args.item_id))
    if args.json:
        dump_json([e.model_dump(mode="json") for e in events])
        return EXIT_OK
    for e in events:
        say(f"#{e.seq:<6} {e.at:%Y-%m-%d %H:%M:%S}Z {e.kind.value:<12} "
            f"{e.item_id or '-':<13} {e.actor:<12} {e.hash[:16]}")
    return EXIT_OK
