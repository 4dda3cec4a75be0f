"""``interdict scan``: one parcel, acquired, identified, recorded, shown.

Exit codes of ``scan`` (also listed in ``docs/station.md``):

=====  ==================================================================================
0      scanned and recorded; no alerting substance (MATCH or MIXTURE of non-alerting ones)
10     scanned and recorded; ALERT (controlled substance or precursor indicated)
11     scanned and recorded; INCONCLUSIVE or NO_MATCH (see the next step printed)
1      error (library, store, unexpected)
2      usage or configuration error
3      a part of Interdict this needs is not built yet
4      device error: cannot connect, timeout, self-test failed, acquisition refused
5      parcel error: invalid item id, unknown parcel, parcel not in hand
130    interrupted (SIGINT/SIGTERM) before anything was stored
=====  ==================================================================================
"""

from __future__ import annotations

import argparse
from typing import Any

from station.commands._common import config_or_none
from station.config import add_config_arguments
from station.exit_codes import EXIT_USAGE

SCAN_EPILOG = """\
exit codes:
  0    recorded; no alerting substance       10  recorded; ALERT
  11   recorded; INCONCLUSIVE or NO_MATCH     1   error
  2    usage or configuration error           3   a needed part is not built yet
  4    device error (link, self-test)         5   parcel error (id, unknown, not in hand)
  130  interrupted before anything was stored

examples:
  interdict scan --device /dev/ttyUSB0 --parcel LX403127580CN
  interdict scan --device socket://127.0.0.1:7777 --parcel CP118543022IN --technique both
"""


def register(sub: Any) -> None:
    """Register ``scan``."""
    p = sub.add_parser(
        "scan", help="scan one parcel: acquire, identify, record, show the verdict",
        description="Connect to the analyzer, self-test when due, acquire with progress, "
                    "identify against the library, attach the inspection to the parcel and "
                    "show the verdict with what to do next.",
        epilog=SCAN_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--parcel", required=True, metavar="ITEM_ID",
                   help="UPU S10 item id of the parcel under the probe (e.g. LX403127580CN)")
    p.add_argument("--technique", choices=("raman", "ftir", "both"),
                   help="what to measure (env INTERDICT_TECHNIQUE; default raman)")
    p.add_argument("--self-test", choices=("auto", "always", "never"), default="auto",
                   help="self-test against the reference standard: when due (auto), before "
                        "this scan, or not at all (the output says so)")
    p.add_argument("--json", action="store_true", help="print the result as JSON (for scripts)")
    add_config_arguments(p)
    p.set_defaults(func=_run_scan)


def _run_scan(args: argparse.Namespace) -> int:
    cfg = config_or_none(args)
    if cfg is None:
        return EXIT_USAGE
    from station.workflows.scan import run_scan

    return run_scan(cfg, args.parcel, self_test=args.self_test, as_json=args.json,
                    clock=getattr(args, "clock", None))
