"""``interdict audit verify|log``: the hash-chained, signed audit log."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from station._help import HelpFormatter
from station._terminal import say
from station.commands._common import dump_json, station_config
from station.commands._store import open_store_for, store_options
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments
from station.progress import bar, quiet_option, wanted


def register(sub: Any) -> None:
    """Register ``audit``."""
    p = sub.add_parser("audit", help="the hash-chained, signed audit log: verify it, list it",
                       description="The audit log of the evidence store: every import, hold "
                                   "move, scan, result and export, hash-chained and signed "
                                   "with the station's key.")
    aus = p.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    a = aus.add_parser(
        "verify", help="check the chain, its signatures and every record against it",
        description="Walk the audit chain: every event's hash and link, the signed heads "
                    "and their keys, every stored record against the event that logged it, "
                    "and (unless --quick) every raw spectrum against its hash. With "
                    "--central, also against central's record of this station: every "
                    "signed head it received, signed by the key it registered. Exit 6 when "
                    "anything does not verify.",
        epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.PARCEL, ExitCode.NOT_VERIFIED,
                      ExitCode.UNREACHABLE),
        formatter_class=HelpFormatter)
    store_options(a)
    a.add_argument("--quick", action="store_true", help="skip decoding every raw spectrum")
    a.add_argument("--anchor", action="append", default=[], metavar="SEQ:HASH", type=anchor,
                   help="an event hash kept outside the database (receipt, export, signed "
                        "head); detects a cut-off tail (repeatable)")
    a.add_argument("--trust", action="append", default=[], metavar="FINGERPRINT",
                   type=fingerprint,
                   help="a key whose signatures count (repeatable; default: the station's "
                        "key file). Heads signed by any other key are findings")
    a.add_argument("--item", metavar="ITEM",
                   help="verify only this parcel's evidence (fast: independent of the "
                        "database's size)")
    add_config_arguments(a, "central", bare={
        "central": "also check against central's record of this station: the signed heads "
                   "it received are anchors, the keys it registered are the keys trusted "
                   "(not the key file, which a forger could have replaced); without URL the "
                   "configured central"})
    quiet_option(a)
    a.set_defaults(func=_verify)
    a = aus.add_parser("log", help="list the audit events (of one parcel)",
                       description="The audit events in chain order, of every parcel or of "
                                   "ITEM.",
                       epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.PARCEL),
                       formatter_class=HelpFormatter)
    store_options(a)
    a.add_argument("item_id", nargs="?", metavar="ITEM", help="only this parcel's events")
    a.set_defaults(func=_log)


def fingerprint(text: str) -> str:
    """A key fingerprint as given to ``--trust``: 64 hex digits (lower-cased)."""
    f = text.strip().lower()
    if len(f) != 64 or any(c not in "0123456789abcdef" for c in f):
        raise argparse.ArgumentTypeError(
            f"a key fingerprint is 64 hex digits, got {text!r}")
    return f


def anchor(text: str) -> tuple[int, str]:
    """``--anchor SEQ:HASH`` as (seq, hash)."""
    try:
        return parse_anchor(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc


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

    given: list[str] = list(getattr(args, "trust", []) or [])
    if given:
        return given
    own = public_key_of(station_config(args).key)
    return None if own is None else [own.key_id]


def _verify(args: argparse.Namespace) -> ExitCode:
    anchors = dict(args.anchor)
    trusted = trusted_keys(args)
    if args.central is not None:
        central_anchors, central_keys = _central_record(args)
        anchors.update(central_anchors)
        if central_keys and not args.trust:  # not the key file: a forger may have replaced it
            trusted = central_keys
    with open_store_for(args) as store:
        if args.item:
            report = store.verify_item(args.item, deep=not args.quick, anchors=anchors,
                                       trusted_keys=trusted)
        else:
            with bar("audit verify", unit="step", enabled=wanted(args)) as progress:
                report = store.verify(deep=not args.quick, anchors=anchors,
                                      trusted_keys=trusted, progress=progress)
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
    return ExitCode.OK if report.ok else ExitCode.NOT_VERIFIED


def _central_record(args: argparse.Namespace) -> tuple[dict[int, str], list[str]]:
    """Central's record of this station: the signed heads it received (anchors) and the keys
    it registered for it (to trust instead of the local key file)."""
    from station.workflows.sync import CentralClient, central_record

    client = CentralClient.for_station(station_config(args))
    anchors, keys = central_record(client, client.whoami())
    print(f"checking against {len(anchors)} signed head(s) central received and the "
          f"station key(s) it registered ({', '.join(keys) or 'none yet'})", file=sys.stderr)
    return anchors, keys


def _log(args: argparse.Namespace) -> ExitCode:
    with open_store_for(args) as store:
        events = list(store.audit_events(item_id=args.item_id))
    if args.json:
        dump_json([e.model_dump(mode="json") for e in events])
        return ExitCode.OK
    for e in events:
        say(f"#{e.seq:<6} {e.at:%Y-%m-%d %H:%M:%S}Z {e.kind.value:<12} "
            f"{e.item_id or '-':<13} {e.actor:<12} {e.hash[:16]}")
    return ExitCode.OK


__all__ = ["anchor", "fingerprint", "parse_anchor", "register", "trusted_keys"]
