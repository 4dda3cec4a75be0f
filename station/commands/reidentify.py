"""``interdict reidentify``: a parcel's stored spectra against the library again."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from station._help import HelpFormatter
from station._terminal import say
from station.commands._common import fail, station_config
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments


def register(sub: Any) -> None:
    """Register ``reidentify``."""
    ri = sub.add_parser(
        "reidentify", help="re-run a parcel's stored spectra against the library; "
                           "record new linked results",
        description="Re-identify the stored raw spectra of a parcel's inspections (or one "
                    "of them) against the configured library (e.g. a newer version), and "
                    "record each answer as a new result linked to the one it re-examines. "
                    "The original results stay; the audit chain records who and why. A "
                    "stored spectrum that no longer matches its hash is refused and nothing "
                    "is recorded for it (exit 6).",
        epilog=epilog(ExitCode.OK, ExitCode.ALERT, ExitCode.ERROR, ExitCode.PARCEL,
                      ExitCode.NOT_VERIFIED),
        formatter_class=HelpFormatter)
    ri.add_argument("item_id", metavar="ITEM_ID", help="UPU S10 item id")
    ri.add_argument("--inspection", metavar="ID", help="only this inspection")
    ri.add_argument("--note", help="why (recorded), e.g. 'library 2027.01 adds nitazenes'")
    ri.add_argument("--json", action="store_true",
                    help="one JSON line per new result on stdout (for scripts)")
    add_config_arguments(ri, "config", "library", "db", "key", "operator", "station",
                         "thresholds")
    ri.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Re-examine; 10 when a new result alerts, 6 when a stored spectrum was refused."""
    from station.workflows.reidentify import as_record, reidentify_parcel, summary

    cfg = station_config(args)
    out = sys.stdout
    code = ExitCode.OK
    for r in reidentify_parcel(cfg, args.item_id, inspection_id=args.inspection,
                               note=args.note, out=sys.stderr):
        ins = r.inspection
        if r.refused is not None:
            fail(args.command_prog, r.refused,
                 what=f"{ins.inspection_id}: {r.refused} (nothing recorded)")
            code = ExitCode.NOT_VERIFIED
            continue
        assert r.result is not None
        if args.json:
            out.write(json.dumps(as_record(ins, r.result)) + "\n")
        else:
            say(f"inspection {ins.inspection_id} ({ins.technique.value}, "
                f"{ins.performed_at:%Y-%m-%d %H:%MZ})", out)
            say(f"  was  {summary(ins.results[-1])}", out)
            say(f"  now  {summary(r.result)}   (result {r.result.result_id})", out)
        if r.result.alert and code is ExitCode.OK:
            code = ExitCode.ALERT
    return code


__all__ = ["register", "run"]
