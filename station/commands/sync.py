"""``interdict sync``: push this station's unsent records to central, pull new work.

Central's URL is ``--central`` (else ``central`` of the station configuration, else
``$INTERDICT_CENTRAL``); the credential is ``central_token`` of the configuration (or
``$INTERDICT_CENTRAL_TOKEN``), issued by ``interdict central station add``.

Exit codes: 0 synced; 3 synced, but conflicting hold moves were reported (listed); 1 central
refused (its reason is printed; nothing acknowledged is lost); 2 usage or configuration
error; 4 the local chain differs from what central holds (rewritten after a sync), or is
signed by a key other than the one central registered for this station, or no longer
matches its own signed heads; 6 central unreachable (offline: nothing is lost, sync again
later).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from station.commands.parcel import (
    EXIT_ERROR,
    EXIT_OK,
    EXIT_REJECTED_ROWS,
    EXIT_TAMPERED,
    EXIT_USAGE,
)
from station.config import ConfigError, StationConfig, add_config_arguments, config_from_args

EXIT_CONFLICTS = EXIT_REJECTED_ROWS
EXIT_UNREACHABLE = 6


def register(sub: Any) -> None:
    """Register ``sync``."""
    p = sub.add_parser("sync", help="push unsent inspections to central, pull new work",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--central", metavar="URL", help="central service (env INTERDICT_CENTRAL)")
    p.add_argument("--run", type=int, default=200, metavar="N",
                   help="events per push (default %(default)s)")
    p.add_argument("--cafile", metavar="PEM", help="CA bundle for central's certificate")
    p.add_argument("--json", action="store_true", help="machine-readable report")
    add_config_arguments(p, device=False)
    p.set_defaults(func=_sync)


def client_for(cfg: StationConfig, cafile: str | None = None) -> Any:
    """A :class:`~station.workflows.sync.CentralClient` from the configuration.

    Raises
    ------
    ConfigError
        No central URL or no credential configured.
    """
    from station.workflows.sync import CentralClient

    if not cfg.central:
        raise ConfigError("no central service: give --central URL or set central in the "
                          "station configuration (INTERDICT_CENTRAL)")
    if not cfg.central_token:
        raise ConfigError("no credential for central: set central_token in the station "
                          "configuration or INTERDICT_CENTRAL_TOKEN (interdict central "
                          "station add issues one)")
    return CentralClient(cfg.central, cfg.central_token, cafile=cafile)


def _sync(args: argparse.Namespace) -> int:
    from parcels.errors import IntegrityError, ParcelsError
    from parcels.signing import StationKey
    from parcels.store import open_store
    from station.workflows.sync import SyncError, sync_once

    try:
        cfg = config_from_args(args)
        client = client_for(cfg, args.cafile)
    except (ConfigError, SyncError) as exc:
        print(f"interdict sync: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        who = client.get("/v1/whoami")

        def progress(done: int, total: int) -> None:
            print(f"interdict sync: pushed {done}/{total} inspection(s)", file=sys.stderr,
                  flush=True)

        # what a sync writes here (pulled parcels, adopted hold moves) is signed like any
        # other write of this station
        with open_store(cfg.db, create=False, signer=StationKey.load_or_create(cfg.key),
                        clock=getattr(args, "clock", None)) as store:
            report = sync_once(store, client, who["name"], run=args.run, progress=progress)
    except SyncError as exc:
        print(f"interdict sync: {exc}", file=sys.stderr)
        return {"unreachable": EXIT_UNREACHABLE, "fork": EXIT_TAMPERED, "key": EXIT_TAMPERED,
                "config": EXIT_USAGE}.get(exc.kind, EXIT_ERROR)
    except IntegrityError as exc:  # the local chain was altered: nothing is signed on top
        print(f"interdict sync: {exc}", file=sys.stderr)
        return EXIT_TAMPERED
    except (OSError, ValueError, ParcelsError) as exc:
        print(f"interdict sync: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(report.message())
        for c in report.conflicts:
            print(f"  conflict at central: {c.detail}", file=sys.stderr)
        for r in report.local_conflicts:
            print(f"  not adopted here: {r}", file=sys.stderr)
        for r in report.notes:
            print(f"  note: {r}", file=sys.stderr)
    return EXIT_CONFLICTS if report.conflicts or report.local_conflicts else EXIT_OK
