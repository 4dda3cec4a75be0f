"""``interdict parcel``: the parcel records of the evidence store (AED, holds, exports)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from station._help import HelpFormatter
from station._terminal import say
from station.commands._common import EnumChoices, dump_json, when
from station.commands._store import open_store_for, store_options, who_acts
from station.errors import UsageError
from station.exit_codes import ExitCode, epilog
from station.progress import bar, quiet_option, wanted

_TARGETS = {"release": "released", "seize": "seized", "refer": "referred",
            "not-found": "not-found"}

DESCRIPTION = """\
The parcels of the evidence store: import the advance electronic data (AED) with its hold
requests, look parcels up, move their holds on, export their records.

  interdict parcel import FILE                  AED batch (JSON lines or flat CSV)
  interdict parcel show ITEM                    everything stored about a parcel
  interdict parcel list [--state S] ...         parcels matching filters
  interdict parcel hold ITEM [--reason R]       mark held (requesting it if needed)
  interdict parcel release|seize|refer|not-found ITEM    move the hold on
  interdict parcel export [ITEM ...] [-o FILE]  records as JSON lines or CSV

Each takes --db, --key and --config (see interdict config); those that write take
--operator, the acting person recorded in the audit log (else INTERDICT_OPERATOR, else the
station file's operator, else the login name); those that answer take --json.
"""


def _parser(ps: Any, name: str, help: str, codes: tuple[ExitCode, ...], *, writes: bool,
            query: bool = True) -> argparse.ArgumentParser:
    p: argparse.ArgumentParser = ps.add_parser(
        name, help=help, description=help[0].upper() + help[1:] + ".",
        epilog=epilog(*codes), formatter_class=HelpFormatter)
    store_options(p, writes=writes, query=query)
    return p


def register(sub: Any) -> None:
    """Register ``parcel``."""
    p = sub.add_parser("parcel", help="parcel records: import AED, show, list, holds, export",
                       description=DESCRIPTION,
                       formatter_class=HelpFormatter)
    ps = p.add_subparsers(dest="parcel_command", metavar="ACTION", required=True)
    moves = (ExitCode.OK, ExitCode.ERROR, ExitCode.PARCEL)

    a = _parser(ps, "import", "import an AED batch: good rows go in, each bad row is named",
                (ExitCode.OK, ExitCode.ERROR, ExitCode.REJECTED), writes=True)
    a.add_argument("file", type=Path, help="the batch: JSON lines (.jsonl) or flat CSV (.csv)")
    a.add_argument("--format", choices=("jsonl", "csv"),
                   help="the batch's format (default: from the extension and content)")
    quiet_option(a)
    a.set_defaults(func=_import)

    a = _parser(ps, "show", "everything stored about a parcel", moves, writes=False)
    a.add_argument("item_id", metavar="ITEM", help="UPU S10 item id")
    a.set_defaults(func=_show)

    a = _parser(ps, "list", "the parcels matching filters, oldest first",
                (ExitCode.OK, ExitCode.ERROR), writes=False)
    a.add_argument("--state", choices=EnumChoices("parcels.records", "HoldState"),
                   metavar="STATE", help="hold state: %(choices)s")
    a.add_argument("--verdict", type=str.upper, metavar="VERDICT",
                   choices=EnumChoices("matcher.results", "Verdict"),
                   help="the current result's verdict: %(choices)s")
    al = a.add_mutually_exclusive_group()
    al.add_argument("--alert", dest="alert", action="store_const", const=True, default=None,
                    help="only parcels whose current result alerts")
    al.add_argument("--no-alert", dest="alert", action="store_const", const=False,
                    help="only parcels whose current result does not alert")
    a.add_argument("--origin", metavar="CC", help="origin country (ISO 3166 alpha-2)")
    a.add_argument("--from", dest="since", metavar="DATE", type=when("--from"),
                   help="received on or after (YYYY-MM-DD or an ISO 8601 instant)")
    a.add_argument("--to", dest="until", metavar="DATE", type=when("--to", end=True),
                   help="received up to (a bare day is included whole)")
    a.add_argument("--limit", type=int, metavar="N", help="at most N parcels")
    a.set_defaults(func=_list)

    a = _parser(ps, "hold", "mark a parcel held (recording a hold request first if it has "
                            "none)", moves, writes=True)
    a.add_argument("item_id", metavar="ITEM", help="UPU S10 item id")
    a.add_argument("--reason", help="why (needed when the parcel has no hold request)")
    a.add_argument("--note", help="a note recorded with the move")
    a.set_defaults(func=_hold)

    for name, state in _TARGETS.items():
        a = _parser(ps, name, f"move the parcel's hold to {state}", moves, writes=True)
        a.add_argument("item_id", metavar="ITEM", help="UPU S10 item id")
        a.add_argument("--note", help="a note recorded with the move")
        a.set_defaults(func=_move, target=state)

    a = _parser(ps, "export", "export parcel records (JSON lines or CSV; the export is "
                              "logged in the audit chain)", moves, writes=True, query=False)
    a.add_argument("item_ids", nargs="*", metavar="ITEM",
                   help="the parcels to export (default: all, or those received in --from/--to)")
    a.add_argument("--from", dest="since", metavar="DATE", type=when("--from"),
                   help="received on or after (YYYY-MM-DD or an ISO 8601 instant)")
    a.add_argument("--to", dest="until", metavar="DATE", type=when("--to", end=True),
                   help="received up to (a bare day is included whole)")
    a.add_argument("--format", choices=("jsonl", "csv"), default="jsonl",
                   help="JSON lines (default) or CSV (formula cells neutralised)")
    a.add_argument("-o", "--output", type=Path, metavar="FILE",
                   help="file to write (default: standard output)")
    a.set_defaults(func=_export)


def _import(args: argparse.Namespace) -> ExitCode:
    from parcels.aed import import_batch

    if not args.file.is_file():
        raise FileNotFoundError(f"no such file: {args.file}")
    actor = who_acts(args)
    with (open_store_for(args, create=True, write=True) as store,
          bar("import", unit="B", scale=True, enabled=wanted(args)) as progress):
        summary = import_batch(store, args.file, actor=actor, format=args.format,
                               progress=progress)
    if args.json:
        dump_json(summary.model_dump(mode="json"))
    else:
        for r in summary.rejected:
            say(f"{args.file}:{r.line}: rejected{f' {r.item_id}' if r.item_id else ''}: "
                f"{r.reason}", file=sys.stderr)
        say(summary.message())
    return ExitCode.OK if summary.ok else ExitCode.REJECTED


def _show(args: argparse.Namespace) -> ExitCode:
    with open_store_for(args) as store:
        pf = store.get_parcel(args.item_id)
    if args.json:
        dump_json(pf.model_dump(mode="json"))
        return ExitCode.OK
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
    return ExitCode.OK


def _list(args: argparse.Namespace) -> ExitCode:
    from parcels.query import find_parcels

    with open_store_for(args) as store:
        rows = find_parcels(
            store, hold_state=args.state, verdict=args.verdict, alert=args.alert,
            origin_country=args.origin,
            received_from=args.since, received_to=args.until,
            limit=args.limit,
        )
    if args.json:
        dump_json([r.model_dump(mode="json") for r in rows])
        return ExitCode.OK
    for r in rows:
        say(f"{r.item_id}  {r.received_at:%Y-%m-%d %H:%M}Z  {r.origin_country}  "
            f"{r.category.value:<17} {(r.hold_state.value if r.hold_state else '-'):<10} "
            f"{r.inspections} insp  {r.verdict.value if r.verdict else '-':<12}"
            f"{'  ALERT' if r.alert else ''}")
    say(f"{len(rows)} parcel(s)", file=sys.stderr)
    return ExitCode.OK


def _print_hold(args: argparse.Namespace, hold: Any) -> None:
    if args.json:
        dump_json(hold.model_dump(mode="json"))
    else:
        t = hold.transitions[-1]
        say(f"{hold.item_id}: {hold.state.value} at {t.at:%Y-%m-%d %H:%M:%S}Z by {t.actor}")


def _hold(args: argparse.Namespace) -> ExitCode:
    from parcels.records import HoldState

    by = who_acts(args)
    with open_store_for(args, write=True) as store:
        if store.get_hold(args.item_id) is None:
            if not args.reason:
                raise UsageError(f"{args.item_id} has no hold request",
                                 hint="give --reason to request and hold it")
            hold = store.request_hold(args.item_id, requested_by=by, reason=args.reason,
                                      held_by=by)
        else:
            hold = store.transition(args.item_id, HoldState.HELD, actor=by, note=args.note)
    _print_hold(args, hold)
    return ExitCode.OK


def _move(args: argparse.Namespace) -> ExitCode:
    from parcels.records import HoldState

    with open_store_for(args, write=True) as store:
        hold = store.transition(args.item_id, HoldState(args.target), actor=who_acts(args),
                                note=args.note)
    _print_hold(args, hold)
    return ExitCode.OK


def _export(args: argparse.Namespace) -> ExitCode:
    from parcels.errors import ParcelNotFoundError
    from parcels.export import write_export
    from parcels.query import find_parcels
    from parcels.s10 import validate_item_id

    wanted_ids = [validate_item_id(i) for i in args.item_ids]
    with open_store_for(args, write=True) as store:
        rows = find_parcels(
            store, item_ids=wanted_ids or None,
            received_from=args.since, received_to=args.until,
        )
        missing = set(wanted_ids) - {r.item_id for r in rows}
        if missing:
            raise ParcelNotFoundError("parcel", ", ".join(sorted(missing)))
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
    assert head is not None  # the export itself was just signed
    print(f"exported {n} parcel(s) to {dest} (sha256 {digest}); logged as audit event "
          f"#{ev.seq}, signed head #{head.seq} {head.hash} by key {head.key_id}; keep "
          f"--anchor {head.anchor()} to check the log later", file=sys.stderr)
    return ExitCode.OK
