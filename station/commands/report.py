"""``interdict report``: a parcel's self-contained HTML evidence report."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from station.commands._common import config_or_none
from station.config import add_config_arguments
from station.exit_codes import EXIT_USAGE


def register(sub: Any) -> None:
    """Register ``report``."""
    r = sub.add_parser(
        "report", help="write a parcel's self-contained HTML evidence report",
        description="A self-contained HTML evidence report (inline CSS and SVG, no scripts): "
                    "AED, hold history, every inspection with its spectrum over the matched "
                    "references and residual, scores, device, operator, library hash, "
                    "pipeline, spectrum hash and the audit-chain entries that cover it.")
    r.add_argument("item_id", metavar="ITEM_ID", help="UPU S10 item id")
    r.add_argument("-o", "--output", metavar="FILE.html",
                   help="where to write (default: report-ITEM_ID.html)")
    r.add_argument("--json", action="store_true", help="print a JSON summary")
    add_config_arguments(r, device=False)
    r.set_defaults(func=_run_report)


def _run_report(args: argparse.Namespace) -> int:
    cfg = config_or_none(args)
    if cfg is None:
        return EXIT_USAGE
    from station.workflows.report import write_report

    out = Path(args.output) if args.output else Path(f"report-{args.item_id.strip()}.html")
    return write_report(cfg, args.item_id, out, as_json=args.json)
