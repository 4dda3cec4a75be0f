"""``interdict report``: a parcel's self-contained HTML evidence report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from station._help import HelpFormatter
from station._terminal import say
from station.commands._common import dump_json, json_option, station_config, tell
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments


def register(sub: Any) -> None:
    """Register ``report``."""
    r = sub.add_parser(
        "report", help="write a parcel's self-contained HTML evidence report",
        description="A self-contained HTML evidence report (inline CSS and SVG, no scripts): "
                    "AED, hold history, every inspection with its spectrum over the matched "
                    "references and residual, scores, device, operator, library hash, "
                    "pipeline, spectrum hash and the audit-chain entries that cover it. "
                    "Writing it is logged in the audit chain. When the parcel's evidence does "
                    "not verify, the report is still written, says so, and the exit code "
                    "is 6.",
        epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.PARCEL, ExitCode.NOT_VERIFIED),
        formatter_class=HelpFormatter)
    r.add_argument("item_id", metavar="ITEM_ID", help="UPU S10 item id")
    r.add_argument("-o", "--output", metavar="FILE.html",
                   help="where to write (default: report-ITEM_ID.html)")
    json_option(r, "a summary of the report")
    add_config_arguments(r, "config", "library", "db", "key", "operator", "station")
    r.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Write the report; exit 6 when the parcel's evidence does not verify."""
    from station.workflows.report import write_report

    cfg = station_config(args)
    out = Path(args.output) if args.output else Path(f"report-{args.item_id.strip()}.html")
    done = write_report(cfg, args.item_id, out)
    for w in done.warnings:
        tell(args.command_prog, f"warning: {w}", None)
    report = done.report
    if args.json:
        dump_json(done.summary(), indent=None)
    else:
        say(f"evidence report for {report.item_id}: {out} ({len(report.inspections)} "
            f"inspection(s), evidence {'verified' if done.verified else 'NOT VERIFIED'})")
    if not done.verified:
        tell(args.command_prog, f"{report.item_id}: the evidence does NOT verify against the "
                                f"signed audit chain: {report.chain_message}",
             "the report was written and says so; interdict audit verify --item "
             f"{report.item_id} lists what does not verify", sys.stderr)
        return ExitCode.NOT_VERIFIED
    return ExitCode.OK


__all__ = ["register", "run"]
