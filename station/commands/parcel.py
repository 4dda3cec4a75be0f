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
import getpass
import json
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from station._terminal import say, shown, shown_lines

if TYPE_CHECKING:
    from station.config import StationConfig

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REJECTED_ROWS = 3
EXIT_TAMPERED = 4

_TARGETS = {"release": "released", "seize": "seized", "refer": "referred",
            "not-found": "not-found"}


def common_options() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Parent parsers of every evidence-store command: the store options, and ``--by``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="PATH",
                        help="evidence database (default: $INTERDICT_DB, else the station "
                             "config's db, else the default path)")
    common.add_argument("--config", metavar="FILE",
                        help="station TOML file (env INTERDICT_CONFIG; default ./interdict.toml)")
    common.add_argument("--key", dest="key_file", metavar="FILE",
                        help="the station's signing key (default: $INTERDICT_KEY, else the "
                             "station config's key, else station.key next to the default "
                             "database; created on the first write)")
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("--by", metavar="NAME",
                       help="who acts (default: $INTERDICT_OPERATOR or the login name)")
    return common, actor


def register(sub: Any) -> None:
    """Register ``parcel``, ``audit`` and ``stats``."""
    common, actor = common_options()
    query = argparse.ArgumentParser(add_help=False)
    query.add_argument("--json", action="store_true", help="machine-readable output")

    p = sub.add_parser("parcel", help="parcel records: import AED, show, list, holds, export",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ps = p.add_subparsers(dest="parcel_command", metavar="ACTION", required=True)

    a = ps.add_parser("import", parents=[common, query, actor], help="import an AED batch")
    a.add_argument("file", type=Path)
    a.add_argument("--format", choices=("jsonl", "csv"), help="default: from the extension")
    a.set_defaults(func=_guard(_import))

    a = ps.add_parser("show", parents=[common, query], help="everything stored about a parcel")
    a.add_argument("item_id")
    a.set_defaults(func=_guard(_show))

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
    a.set_defaults(func=_guard(_list))

    a = ps.add_parser("hold", parents=[common, query, actor],
                      help="mark a parcel held (recording a hold request first if it has none)")
    a.add_argument("item_id")
    a.add_argument("--reason", help="why (needed when the parcel has no hold request)")
    a.add_argument("--note")
    a.set_defaults(func=_guard(_hold))

    for name, state in _TARGETS.items():
        a = ps.add_parser(name, parents=[common, query, actor], help=f"hold → {state}")
        a.add_argument("item_id")
        a.add_argument("--note")
        a.set_defaults(func=_guard(_move), target=state)

    a = ps.add_parser("export", parents=[common, actor],
                      help="export parcel records (JSON lines or CSV)")
    a.add_argument("item_ids", nargs="*", metavar="ITEM")
    a.add_argument("--from", dest="since", metavar="DATE")
    a.add_argument("--to", dest="until", metavar="DATE")
    a.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    a.add_argument("-o", "--output", type=Path, help="file (default: standard output)")
    a.set_defaults(func=_guard(_export))

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
    a.add_argument("--central", metavar="URL", nargs="?", const="",
                   help="also check against central's record of this station: every chain "
                        "head it received, signed by the key central registered for it (URL, "
                        "or the configured central)")
    a.set_defaults(func=_guard(_verify))
    a = aus.add_parser("log", parents=[common, query], help="list audit events")
    a.add_argument("item_id", nargs="?")
    a.set_defaults(func=_guard(_log))

    p = sub.add_parser("stats", parents=[common, query],
                       help="hold compliance and positivity by origin and category")
    p.add_argument("--period", choices=("day", "week", "month", "all"), default="month")
    p.add_argument("--from", dest="since", metavar="DATE")
    p.add_argument("--to", dest="until", metavar="DATE")
    p.set_defaults(func=_guard(_stats))


# -- plumbing -----------------------------------------------------------------------------
def _guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn expected failures into one clear line on stderr and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        from pydantic import ValidationError

        from parcels.aed import format_validation_error
        from parcels.errors import ParcelsError

        try:
            return fn(args)
        except ValidationError as exc:
            _err(args, shown(format_validation_error(exc)))
        except (ParcelsError, ValueError, OSError, sqlite3.Error) as exc:
            _err(args, shown(exc))  # messages quote what came in: one line, escaped
        return EXIT_ERROR

    run.__doc__ = fn.__doc__
    return run


def _err(args: argparse.Namespace, message: str) -> None:
    where = " ".join(x for x in (getattr(args, "command", None),
                                 getattr(args, "parcel_command", None),
                                 getattr(args, "audit_command", None),
                                 getattr(args, "evidence_command", None)) if x)
    print(f"interdict {where}: error: {message}", file=sys.stderr)


def _station(args: argparse.Namespace) -> StationConfig:
    """The station configuration (flag > environment > file > default), read once."""
    from station.config import load_config

    cfg: StationConfig | None = getattr(args, "_station_config", None)
    if cfg is None:
        cfg = load_config({"db": getattr(args, "db", None),
                           "key": getattr(args, "key_file", None)},
                          config_file=getattr(args, "config", None))
        args._station_config = cfg
    return cfg


def _open(args: argparse.Namespace, *, create: bool = False, write: bool = False) -> Any:
    """The store; ``write`` loads (or on first use creates) the station's signing key."""
    from parcels.config import resolve_db
    from parcels.signing import StationKey
    from parcels.store import open_store

    cfg = _station(args)
    configured = str(cfg.db) if cfg.sources.get("db") == "file" else None
    signer = StationKey.load_or_create(cfg.key) if write else None
    return open_store(resolve_db(args.db, configured=configured), create=create,
                      signer=signer, clock=getattr(args, "clock", None))


def _actor(args: argparse.Namespace) -> str:
    # the configuration already ranks $INTERDICT_OPERATOR above the file's operator
    return args.by or _station(args).operator or getpass.getuser()


def _dump(obj: Any) -> None:
    # still valid JSON: what JSON leaves raw (DEL, C1, bidi) is written as \uXXXX
    print(shown_lines(json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False)))


# -- parcel -------------------------------------------------------------------------------
def _import(args: argparse.Namespace) -> int:
    from parcels.aed import import_batch

    if not args.file.is_file():
        raise OSError(f"no such file: {args.file}")
    with _open(args, create=True, write=True) as store:
        summary = import_batch(store, args.file, actor=_actor(args), format=args.format)
    if args.json:
        _dump(summary.model_dump(mode="json"))
    else:
        for r in summary.rejected:
            say(f"{args.file}:{r.line}: rejected{f' {r.item_id}' if r.item_id else ''}: "
                f"{r.reason}", file=sys.stderr)
        say(summary.message())
    return EXIT_OK if summary.ok else EXIT_REJECTED_ROWS


def _show(args: argparse.Namespace) -> int:
    with _open(args) as store:
        pf = store.get_parcel(args.item_id)
    if args.json:
        _dump(pf.model_dump(mode="json"))
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

    with _open(args) as store:
        rows = find_parcels(
            store, hold_state=args.state, verdict=args.verdict, alert=args.alert,
            origin_country=args.origin,
            received_from=parse_when(args.since) if args.since else None,
            received_to=parse_when(args.until, end=True) if args.until else None,
            limit=args.limit,
        )
    if args.json:
        _dump([r.model_dump(mode="json") for r in rows])
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
        _dump(hold.model_dump(mode="json"))
    else:
        t = hold.transitions[-1]
        say(f"{hold.item_id}: {hold.state.value} at {t.at:%Y-%m-%d %H:%M:%S}Z by {t.actor}")


def _hold(args: argparse.Namespace) -> int:
    from parcels.records import HoldState

    by = _actor(args)
    with _open(args, write=True) as store:
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

    with _open(args, write=True) as store:
        hold = store.transition(args.item_id, HoldState(args.target), actor=_actor(args),
                                note=args.note)
    _print_hold(args, hold)
    return EXIT_OK


def _export(args: argparse.Namespace) -> int:
    from parcels.export import write_export
    from parcels.query import find_parcels, parse_when
    from parcels.s10 import validate_item_id

    wanted = [validate_item_id(i) for i in args.item_ids]
    with _open(args, write=True) as store:
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
        ev = store.record_export([f.parcel.item_id for f in files], actor=_actor(args),
                                 destination=dest, content_digest=digest)
        head = store.signed_head()
    print(f"exported {n} parcel(s) to {dest} (sha256 {digest}); logged as audit event "
          f"#{ev.seq}, signed head #{head.seq} {head.hash} by key {head.key_id}; keep "
          f"--anchor {head.anchor()} to check the log later", file=sys.stderr)
    return EXIT_OK


# -- audit, stats -------------------------------------------------------------------------
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
    own = public_key_of(_station(args).key)
    return None if own is None else [own.key_id]


def _verify(args: argparse.Namespace) -> int:
    anchors = dict(parse_anchor(a) for a in args.anchor)
    trusted = trusted_keys(args)
    if args.central is not None:
        central_anchors, central_keys = _central_record(args)
        anchors.update(central_anchors)
        if central_keys and not args.trust:  # not the key file: a forger may have replaced it
            trusted = central_keys
    with _open(args) as store:
        if args.item:
            report = store.verify_item(args.item, deep=not args.quick, anchors=anchors,
                                       trusted_keys=trusted)
        else:
            report = store.verify(deep=not args.quick, anchors=anchors, trusted_keys=trusted)
    if args.json:
        _dump(report.model_dump(mode="json"))
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


def _central_record(args: argparse.Namespace) -> tuple[dict[int, str], list[str]]:
    """Central's record of this station: the signed heads it received (anchors) and the keys
    it registered for the station (to trust instead of the local key file, which a forger
    could have replaced)."""
    from station.commands.sync import client_for
    from station.workflows.sync import SyncError, central_record

    cfg = _station(args)
    if args.central:
        cfg = cfg.model_copy(update={"central": args.central})
    try:
        client = client_for(cfg)
        anchors, keys = central_record(client, client.get("/v1/whoami")["name"])
    except SyncError as exc:
        raise ValueError(str(exc)) from exc
    print(f"checking against {len(anchors)} signed head(s) central received and the "
          f"station key(s) it registered ({', '.join(keys) or 'none yet'})", file=sys.stderr)
    return anchors, keys


def _log(args: argparse.Namespace) -> int:
    with _open(args) as store:
        events = list(store.audit_events(item_id=args.item_id))
    if args.json:
        _dump([e.model_dump(mode="json") for e in events])
        return EXIT_OK
    for e in events:
        say(f"#{e.seq:<6} {e.at:%Y-%m-%d %H:%M:%S}Z {e.kind.value:<12} "
            f"{e.item_id or '-':<13} {e.actor:<12} {e.hash[:16]}")
    return EXIT_OK


def _stats(args: argparse.Namespace) -> int:
    from parcels.query import parse_when
    from parcels.stats import hold_compliance, positivity

    since = parse_when(args.since) if args.since else None
    until = parse_when(args.until, end=True) if args.until else None
    with _open(args) as store:
        comp = hold_compliance(store, period=args.period, since=since, until=until)
        by_origin = positivity(store, by="origin", since=since, until=until)
        by_cat = positivity(store, by="category", since=since, until=until)
    if args.json:
        _dump({"hold_compliance": [r.model_dump(mode="json") for r in comp],
               "positivity_by_origin": [r.model_dump(mode="json") for r in by_origin],
               "positivity_by_category": [r.model_dump(mode="json") for r in by_cat]})
        return EXIT_OK

    def pct(x: float | None) -> str:
        return "-" if x is None else f"{100 * x:.1f}%"

    print("hold compliance (held / requested, by request date)")
    print(f"  {'period':<10} {'requested':>9} {'held':>6} {'not found':>9} {'open':>6} "
          f"{'rate':>7}")
    for c in comp:
        print(f"  {c.period:<10} {c.requested:>9} {c.held:>6} {c.not_found:>9} {c.open:>6} "
              f"{pct(c.rate):>7}")
    for title, rows in (("origin", by_origin), ("declared category", by_cat)):
        print(f"positivity by {title} (inspected parcels with an alert)")
        for r in rows:
            print(f"  {r.key:<17} {r.positive:>5} / {r.inspected:<5} {pct(r.rate):>7}  "
                  + " ".join(f"{k}={v}" for k, v in r.verdicts.items()))
    return EXIT_OK


# the helpers other evidence-store commands (``interdict evidence``) share
guard = _guard
open_store_for = _open
station_config = _station
who_acts = _actor
