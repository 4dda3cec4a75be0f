"""``interdict sync``: push this station's unsent records to central, pull new work."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from station._help import HelpFormatter
from station._terminal import say
from station.commands._common import dump_json, json_option, station_config
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments
from station.progress import bar, quiet_option, wanted

EXIT_CODES = (ExitCode.OK, ExitCode.ERROR, ExitCode.REJECTED, ExitCode.NOT_VERIFIED,
              ExitCode.UNREACHABLE)

NOTES = """\
Central's URL is --central (else central in the station file, else INTERDICT_CENTRAL); the
credential is central_token in the station file (or INTERDICT_CENTRAL_TOKEN), issued by
interdict central station add. A sync cut short resumes where central's copy ends; a
retried push changes nothing at central.

3: conflicting hold moves (central's or this station's) were reported, each on stderr.

6: the local chain differs from what central holds (rewritten after a sync), or is signed
by a key central did not register for this station: nothing was pushed.

7: central unreachable: the records stay here; sync again later.

"""


def register(sub: Any) -> None:
    """Register ``sync``."""
    p = sub.add_parser(
        "sync", help="push unsent inspections to central, pull new work",
        description="Push this station's unsent inspections (raw spectra, results, its "
                    "signed audit chain) to the fleet's central service, in order and "
                    "resumably, then pull its facility's new AED and hold changes.",
        epilog=NOTES + epilog(*EXIT_CODES), formatter_class=HelpFormatter)
    p.add_argument("--run", type=int, default=200, metavar="N",
                   help="events per push (default %(default)s)")
    p.add_argument("--cafile", metavar="PEM",
                   help="CA bundle to verify central's certificate with (default: the "
                        "system's)")
    json_option(p, "the sync report")
    quiet_option(p)
    add_config_arguments(p, "config", "central", "db", "key")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Sync once; OK, or REJECTED when conflicts were reported."""
    from parcels.signing import StationKey
    from parcels.store import open_store
    from station.errors import EvidenceStoreMissingError, UsageError
    from station.workflows.sync import CentralClient, sync_once

    if args.run < 1:
        raise UsageError(f"--run must be at least 1, got {args.run}")
    cfg = station_config(args)
    client = CentralClient.for_station(cfg, cafile=args.cafile)
    db = cfg.db_file
    if not db.is_file():
        raise EvidenceStoreMissingError(f"no evidence database at {db}")
    name = client.whoami()
    # what a sync writes here (pulled parcels, adopted hold moves) is signed like any other
    # write of this station
    with open_store(db, create=False, signer=StationKey.load_or_create(cfg.key),
                    clock=getattr(args, "clock", None)) as store, \
            bar("sync", unit="inspection", enabled=wanted(args)) as progress:
        report = sync_once(store, client, name, run=args.run, progress=progress)
    if args.json:
        dump_json(report.model_dump(mode="json"))
    else:
        say(report.message())  # what central sent is escaped before a terminal sees it
        for c in report.conflicts:
            say(f"  conflict at central: {c.detail}", sys.stderr)
        for r in report.local_conflicts:
            say(f"  not adopted here: {r}", sys.stderr)
        for r in report.notes:
            say(f"  note: {r}", sys.stderr)
    return ExitCode.REJECTED if report.conflicts or report.local_conflicts else ExitCode.OK


__all__ = ["register", "run"]
