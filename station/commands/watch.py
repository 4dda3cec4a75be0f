"""``interdict watch``: the station service (trigger-button scans, parcel ids typed or scanned)."""

from __future__ import annotations

import argparse
from typing import Any

from station._help import HelpFormatter
from station.commands._common import station_config
from station.errors import DeviceError, UsageError
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments

WATCH_NOTES = """\
Type or scan (barcode) a parcel id and press Enter, then press the analyzer's trigger.
With --queue, a trigger press without a typed id scans the next held parcel not yet inspected.
SIGINT/SIGTERM: a scan whose spectrum has arrived is finished and recorded; an acquisition
still running is aborted and nothing of it is stored. A second signal abandons at once.
With the simulator (interdict simulate), its trigger is pressed with kill -USR1 PID.
With central configured (central, central_token), recorded scans are synced in the
background (--sync-every); offline, scanning goes on and the records wait here.

"""


def register(sub: Any) -> None:
    """Register ``watch``."""
    w = sub.add_parser(
        "watch", help="station service: trigger-button scans, ids from keyboard/barcode",
        description="Wait for the analyzer's trigger button; take the parcel id from the "
                    "keyboard or barcode scanner (one line on stdin) or from the queue of "
                    "held parcels; record every scan; reconnect after an unplugged cable.",
        epilog=WATCH_NOTES + epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.DEVICE,
                                    ExitCode.PARCEL),
        formatter_class=HelpFormatter)
    w.add_argument("--queue", action="store_true",
                   help="without a typed id, scan the next held parcel not yet inspected")
    w.add_argument("--technique", choices=("raman", "ftir"),
                   help="technique for trigger scans (default raman)")
    w.add_argument("--max-scans", type=int, metavar="N",
                   help="stop after N recorded scans (default: run until stopped)")
    w.add_argument("--json", action="store_true",
                   help="one JSON line per event on stdout (for scripts)")
    w.add_argument("--sync-every", type=float, default=60.0, metavar="SECONDS",
                   help="with a central service configured: sync in the background this "
                        "often and soon after each recorded scan (0: never; default "
                        "%(default)s)")
    add_config_arguments(w)
    w.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Run the service until it is stopped; 0 on a clean stop."""
    from station.workflows.watch import Watch

    if args.sync_every < 0:
        raise UsageError(f"--sync-every must be 0 (never) or a number of seconds, got "
                         f"{args.sync_every}")
    cfg = station_config(args)
    if not cfg.device:  # the service would retry a missing URL for ever
        raise DeviceError("no analyzer named",
                          hint="give --device URL (or INTERDICT_DEVICE, or device = ... in the "
                               "station file); interdict devices lists the serial ports")
    w = Watch(cfg, use_queue=args.queue, max_scans=args.max_scans, as_json=args.json,
              clock=getattr(args, "clock", None), sync_every_s=args.sync_every)
    try:
        w.run()
    finally:
        w.close()
    return ExitCode.OK


__all__ = ["register", "run"]
