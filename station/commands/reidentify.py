"""``interdict reidentify``: a parcel's stored spectra against the library again."""

from __future__ import annotations

import argparse
from typing import Any

from station.commands._common import config_or_none
from station.config import add_config_arguments
from station.exit_codes import EXIT_USAGE


def register(sub: Any) -> None:
    """Register ``reidentify``."""
    ri = sub.add_parser(
        "reidentify", help="re-run a parcel's stored spectra against the library; "
                           "record new linked results",
        description="Re-identify the stored raw spectra of a parcel's inspections (or one "
                    "of them) against the configured library (e.g. a newer version), and "
                    "record each answer as a new result linked to the one it re-examines. "
                    "The original results stay; the audit chain records who and why.",
        epilog="exit codes: 0 recorded, no new result alerts; 10 a new result alerts; "
               "1 error (a stored spectrum that fails its hash is refused, nothing recorded "
               "for it); 2 configuration; 5 parcel error")
    ri.add_argument("item_id", metavar="ITEM_ID", help="UPU S10 item id")
    ri.add_argument("--inspection", metavar="ID", help="only this inspection")
    ri.add_argument("--note", help="why (recorded), e.g. 'library 2027.01 adds nitazenes'")
    ri.add_argument("--json", action="store_true", help="one JSON line per new result")
    add_config_arguments(ri, device=False)
    ri.set_defaults(func=_run_reidentify)


def _run_reidentify(args: argparse.Namespace) -> int:
    cfg = config_or_none(args)
    if cfg is None:
        return EXIT_USAGE
    from station.workflows.reidentify import run_reidentify

    return run_reidentify(cfg, args.item_id, inspection_id=args.inspection, note=args.note,
                          as_json=args.json)
