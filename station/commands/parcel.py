"""``interdict parcel …``, ``interdict audit verify`` and ``interdict stats``: the evidence store.

Commands::

    interdict parcel import FILE [--format jsonl|csv]     AED batch (JSON lines or flat CSV)
    interdict parcel show ITEM                            everything stored about a parcel
    interdict parcel list [--state S] [--verdict V] [--alert|--no-alert] [--origin CC]
                          [--from DATE] [--to DATE] [--limit N]
    interdict parcel hold ITEM [--reason R]               mark held (requesting it if needed)
    interdict parcel release|seize|refer|not-found ITEM   move the hold on
    interdict parcel export [ITEM ...] [--from D] [--to D] [--format jsonl|csv] [-o FILE]
    interdict audit verify [--key FP] [--anchor SEQ:HASH] check the chain, its signatures and the
                                                          evidence
    interdict audit log [ITEM]                            the audit events
    interdict stats [--period day|week|month|all] [--from D] [--to D]

Every command takes ``--db PATH`` (else ``$INTERDICT_DB``, else ``db`` of the station
configuration file, else the default path, see :func:`parcels.config.resolve_db`),
``--key FILE`` (the station's signing key; else ``$INTERDICT_KEY``, else ``key`` of the
configuration, else ``station.key`` next to the default database; created by the first
command that writes) and ``--config FILE``; every query command takes ``--json``. The
acting person is ``--by`` (else ``$INTERDICT_OPERATOR``, else ``operator`` of the
configuration file, else the login name).

Exit codes: 0 success; 1 error (unknown parcel, invalid id, illegal hold move, unreadable
file or database — nothing was changed); 2 usage error; 3 import done but some rows were
rejected (the good rows were imported); 4 ``audit verify`` found tampering or corruption.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from station._terminal import say
from station.commands._store import (
    common_options,
    dump_json,
    guard,
    open_store_for,
    query_option,
    who_acts,
)
from station.exit_codes import EXIT_OK, EXIT_REJECTED_ROWS

_TARGETS = {"release": "released", "seize": "seized", "refer": "referred",
            "not-found": "not-found"}


def register(sub: Any) -> None:
    """Register ``parcel``."""
    common, actor = common_options()
    query = query_option()

    p = sub.add_parser("parcel", help="parcel records: import AED, show, list, holds, export",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ps = p.add_subparsers(dest="parcel_command", metavar="ACTION", required=True)

    a = ps.add_parser("import", parents=[common, query, actor], help="import an AED batch")
    a.add_argument("file", type=Path)
    a.add_argument("--format", choices=("jsonl", "csv"), help="default: from the extension")
    a.set_defaults(func=guard(_import))

    a = ps.add_parser("show", parents=[common, query], help="everything stored about a parcel")
    a.add_argument("item_id")
    a.set_defaults(func=guard(_show))

    a = ps.add_parser("list", parents=[common, query], help="parcels matching filters")
    a.add_argument("--state", help="hold state (requested, held, inspected, released, "
                                   "seized, referred, not-found)")
    a.add_argument("--verdict", type=str.upper,
                   help="MATCH, MIXTURE, INCONCLUSIVE or NO_MATCH (current result)")
    al = a.add_mutually_exclusive_group()
    al.add_argument("--alert", dest="alert", action="store_const", const=True, default=None)
    al.add_argument("--no-alert", dest="alert", action="store_const", const=False)
    a.add_argument("--origin", metavar="CC", help="origin country (ISO 3166 alpha-2)")
    a.add_argument("--from", dest="since", metavar="DATE", help="received on/after")
    a.add_argument("--to", dest="until", metavar="DATE", help="received up to (inclusive day)")
    a.add_argument("--limit", type=int)
    a.set_defaults(func=guard(_list))

    a = ps.add_parser("hold", parents=[common, query, actor],
                      help="mark a parcel held (recording a hold request first if it has none)")
    a.add_argument("item_id")
    a.add_argument("--reason", help="why (needed when the parcel has no hold request)")
    a.add_argument("--note")
    a.set_defaults(func=guard(_hold))

    for name, state in _TARGETS.items():
        a = ps.add_parser(name, parents=[common, query, actor], help=f"hold → {state}")
        a.add_argument("item_id")
        a.add_argument("--note")
        a.set_defaults(func=guard(_move), target=state)

    a = ps.add_parser("export", parents=[common, actor],
                      help="export parcel records (JSON lines or CSV)")
    a.add_argument("item_ids", nargs="*", metavar="ITEM")
    a.add_argument("--from", dest="since", metavar="DATE")
    a.add_argument("--to", dest="until", metavar="DATE")
    a.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    a.add_argument("-o", "--output", type=Path, help="file (default: standard output)")
    a.set_defaults(func=guard(_export))


def _import(args: argparse.Namespace) -> int:
    from parcels.aed import import_batch

    if not args.file.is_file():
        raise OSError(f"no such file: {args.file}")
    with open_store_for(args, create=True, write=True) as store:
        summary = import_batch(store, args.file, actor=who_acts(args), format=args.format)
    if args.json:
        dump_json(summary.model_dump(mode="json"))
    else:
        for r in summary.rejected:
            say(f"{args.file}:{r.line}: rejected{f' {r.item_id}' if r.item_id else ''}: "
                f"{r.reason}", file=sys.stderr)
        say(summary.message())
    return EXIT_OK if summary.ok else EXIT_REJECTED_ROWS


def _show(args: argparse.Namespace) -> int:
    with open_store_for(args) as store:
        pf = store.get_parcel(args.item_id)
    if args.json:
        dump_json(pf.model_dump(mode="json"))
        return EXIT_OK
    p = pf.parcel
    d = p.declaration
    say(f"{p.item_id}  {p.mail_class} from {p.origin_country}, received "
        f"{p.received_at:%Y-%m-%d %H:%M}Z at {p.facility}")
    say(f"  sender:    {p.sender.name}, {p.sender.address}, {p.sender.country}")
    say(f"  recipient: {p.recipient.name}, {p.recipient.address}, {p.recipient.country}")
    say(f"  declared:  {d.category.value}, {d.total_gross_weight_kg:g} kg gross, "
        f"{d.total_value:g} {d.currency}")
    for it in d.items:
        say(f"    - {it.quantity} x {it.description} ({it.net_weight_kg:g} kg, "
            f"{it.value:g} {it.currency}, HS {it.hs_code or '-'}, "
            f"origin {it.origin_country or '-'})")
    if pf.hold is None:
        print("  hold:      none")
    else:
        h = pf.hold
        say(f"  hold:      {h.state.value.upper()} (requested by {h.requested_by}: {h.reason})")
        for t in h.transitions:
            note = f" - {t.note}" if t.note and t.state.value != "requested" else ""
            say(f"    {t.at:%Y-%m-%d %H:%M:%S}Z  {t.state.value:<10} {t.actor}{note}")
    if not pf.inspections:
        print("  inspections: none")
    for i in pf.inspections:
        say(f"  inspection {i.inspection_id}: {i.technique.value} at "
            f"{i.performed_at:%Y-%m-%d %H:%M:%S}Z by {i.operator} at {i.station}, "
            f"{i.device.model} s/n {i.device.serial} fw {i.device.firmware}")
        say(f"    raw spectrum {i.spectrum_hash}")
        for r in i.results:
            ident = r.identification
            alert = " ALERT " + ", ".join(ident.alert_substances) if r.alert else ""
            top = ""
            hits = getattr(ident, "hits", ())
            if hits:
                top = f"; top hit {hits[0].name} ({hits[0].score:.1f})"
            say(f"    {r.kind.value:<16} {r.verdict.value}{alert}{top} "
                f"[library {r.library_id} {r.library_hash[:12]}…, {r.recorded_by}]")
    return EXIT_OK


def _list(args: argparse.Namespace) -> int:
    from parcels.query import find_parcels, parse_when

    with open_store_for(args) as store:
        rows = find_parcels(
            store, hold_state=args.state, verdict=args.verdict, alert=args.alert,
            origin_country=args.origin,
            received_from=parse_when(args.since) if args.since else None,
            received_to=parse_when(args.until, end=True) if args.until else None,
            limit=args.limit,
        )
    if args.json:
        dump_json([r.model_dump(mode="json") for r in rows])
        return EXIT_OK
    for r in rows:
        say(f"{r.item_id}  {r.received_at:%Y-%m-%d %H:%M}Z  {r.origin_country}  "
            f"{r.category.value:<17} {(r.hold_state.value if r.hold_state else '-'):<10} "
            f"{r.inspections} insp  {r.verdict.value if r.verdict else '-':<12}"
            f"{'  ALERT' if r.alert else ''}")
    say(f"{len(rows)} parcel(s)", file=sys.stderr)
    return EXIT_OK


def _print_hold(args: argparse.Namespace, hold: Any) -> None:
    if args.json:
        dump_json(hold.model_dump(mode="json"))
    else:
        t = hold.transitions[-1]
        say(f"{hold.item_id}: {hold.state.value} at {t.at:%Y-%m-%d %H:%M:%S}Z by {t.actor}")


def _hold(args: argparse.Namespace) -> int:
    from parcels.records import HoldState

    by = who_acts(args)
    with open_store_for(args, write=True) as store:
        if store.get_hold(args.item_id) is None:
            if not args.reason:
                raise ValueError(f"{args.item_id} has no hold request: give --reason to "
                                 "request and hold it")
            hold = store.request_hold(args.item_id, requested_by=by, reason=args.reason,
                                      held_by=by)
        else:
            hold = store.transition(args.item_id, HoldState.HELD, actor=by, note=args.note)
    _print_hold(args, hold)
    return EXIT_OK


def _move(args: argparse.Namespace) -> int:
    from parcels.records import HoldState

    with open_store_for(args, write=True) as store:
        hold = store.transition(args.item_id, HoldState(args.target), actor=who_acts(args),
                                note=args.note)
    _print_hold(args, hold)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from parcels.export import write_export
    from parcels.query import find_parcels, parse_when
    from parcels.s10 import validate_item_id

    wanted = [validate_item_id(i) for i in args.item_ids]
    with open_store_for(args, write=True) as store:
        rows = find_parcels(
            store, item_ids=wanted or None,
            received_from=parse_when(args.since) if args.since else None,
            received_to=parse_when(args.until, end=True) if args.until else None,
        )
        missing = set(wanted) - {r.item_id for r in rows}
        if missing:
            raise ValueError(f"not stored: {', '.join(sorted(missing))}; nothing exported")
        files = [store.get_parcel(r.item_id) for r in rows]
        dest = str(args.output) if args.output else "<stdout>"
        if args.output:
            with open(args.output, "w", encoding="utf-8", newline="") as fh:
                n, digest = write_export(files, fh, args.format)
        else:
            n, digest = write_export(files, sys.stdout, args.format)
        ev = store.record_export([f.parcel.item_id for f in files], actor=who_acts(args),
                                 destination=dest, content_digest=digest)
        head = store.signed_head()
    print(f"exported {n} parcel(s) to {dest} (sha256 {digest}); logged as audit event "
          f"#{ev.seq}, signed head #{head.seq} {head.hash} by key {head.key_id}; keep "
          f"--anchor {head.anchor()} to check the log later", file=sys.stderr)
    return EXIT_OK
