"""``interdict scan``: one parcel, acquired, identified, recorded, shown."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TYPE_CHECKING, Any

from station._help import HelpFormatter
from station.commands._common import json_option, station_config
from station.exit_codes import ExitCode, epilog
from station.options import ALL_OPTIONS, add_config_arguments

if TYPE_CHECKING:
    from station.workflows.scan import ScanOutcome

EXIT_CODES = (ExitCode.OK, ExitCode.ALERT, ExitCode.INCONCLUSIVE, ExitCode.ERROR,
              ExitCode.DEVICE, ExitCode.PARCEL, ExitCode.INTERRUPTED)

EXAMPLES = """
examples:
  interdict scan --device /dev/ttyUSB0 --parcel LX403127580CN
  interdict scan --device socket://127.0.0.1:7777 --parcel CP118543022IN --technique both
"""


def register(sub: Any) -> None:
    """Register ``scan``."""
    p = sub.add_parser(
        "scan", help="scan one parcel: acquire, identify, record, show the verdict",
        description="Connect to the analyzer, check it offers the technique, self-test when "
                    "due, acquire with progress, identify against the library, attach the "
                    "inspection to the parcel and show the verdict with what to do next.",
        epilog=epilog(*EXIT_CODES) + "\n" + EXAMPLES,
        formatter_class=HelpFormatter)
    p.add_argument("--parcel", required=True, metavar="ITEM_ID",
                   help="UPU S10 item id of the parcel under the probe (e.g. LX403127580CN)")
    p.add_argument("--technique", choices=("raman", "ftir", "both"),
                   help="what to measure (env INTERDICT_TECHNIQUE; default raman); both: "
                        "Raman then FTIR, the verdicts fused")
    p.add_argument("--self-test", choices=("auto", "always", "never"), default="auto",
                   help="self-test against the reference standard: when due (auto), before "
                        "this scan, or not at all (the output says so)")
    json_option(p, "the result (the transcript goes to stderr)")
    add_config_arguments(p, *(o for o in ALL_OPTIONS if o != "central"))
    p.set_defaults(func=run)


def exit_code(outcome: ScanOutcome) -> ExitCode:
    """The exit code of a recorded scan: ALERT, INCONCLUSIVE (or NO_MATCH), else OK."""
    from matcher.results import Verdict

    if outcome.identification.alert:
        return ExitCode.ALERT
    if outcome.identification.verdict in (Verdict.INCONCLUSIVE, Verdict.NO_MATCH):
        return ExitCode.INCONCLUSIVE
    return ExitCode.OK


def run(args: argparse.Namespace) -> ExitCode:
    """Scan the parcel; show (or print as JSON) the verdict."""
    from station.workflows.display import show_outcome
    from station.workflows.scan import scan_parcel

    cfg = station_config(args)
    out = sys.stdout
    outcome = scan_parcel(cfg, args.parcel, self_test=args.self_test,
                          out=sys.stderr if args.json else out,
                          clock=getattr(args, "clock", None))
    if args.json:
        out.write(json.dumps(outcome.as_json()) + "\n")
    else:
        show_outcome(out, outcome)
    return exit_code(outcome)


__all__ = ["EXIT_CODES", "exit_code", "register", "run"]
