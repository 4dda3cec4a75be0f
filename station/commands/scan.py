"""``interdict scan``, ``watch``, ``report``, ``reidentify`` and ``config``.

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
import json
import sys
from pathlib import Path
from typing import Any

from station._terminal import say
from station.config import ConfigError, StationConfig, add_config_arguments, config_from_args

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_NOT_BUILT = 3
EXIT_DEVICE = 4
EXIT_PARCEL = 5
EXIT_ALERT = 10
EXIT_INCONCLUSIVE = 11
EXIT_INTERRUPTED = 130

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

WATCH_EPILOG = """\
Type or scan (barcode) a parcel id and press Enter, then press the analyzer's trigger.
With --queue, a trigger press without a typed id scans the next held parcel not yet inspected.
SIGINT/SIGTERM: a scan whose spectrum has arrived is finished and recorded; an acquisition
still running is aborted and nothing of it is stored. A second signal abandons at once.
"""


def register(sub: Any) -> None:
    """Register ``scan``, ``watch``, ``report`` and ``config``."""
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

    w = sub.add_parser(
        "watch", help="station service: trigger-button scans, ids from keyboard/barcode",
        description="Wait for the analyzer's trigger button; take the parcel id from the "
                    "keyboard or barcode scanner (one line on stdin) or from the queue of "
                    "held parcels; record every scan; reconnect after an unplugged cable.",
        epilog=WATCH_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
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
                        "often and soon after each scan (0: never; default %(default)s)")
    add_config_arguments(w)
    w.set_defaults(func=_run_watch)

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

    c = sub.add_parser(
        "config", help="show the effective station configuration and where each value is from",
        description="Resolve the configuration (flag > environment > file > default) and "
                    "show each option with its source.")
    c.add_argument("--json", action="store_true", help="print as JSON")
    add_config_arguments(c)
    c.set_defaults(func=_run_config)


def _config(args: argparse.Namespace) -> StationConfig | None:
    try:
        return config_from_args(args)
    except ConfigError as exc:
        say(f"interdict: configuration error: {exc}", sys.stderr)
        return None


def _run_config(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if cfg is None:
        return EXIT_USAGE
    if args.json:
        print(json.dumps({"config": cfg.public(), "sources": cfg.sources}, indent=2))
        return EXIT_OK
    say(f"configuration file: {cfg.config_file or '(none)'}")
    for key, value in cfg.public().items():
        if key in ("config_file", "thresholds"):
            continue
        say(f"  {key:<16} {value!s:<48} [{cfg.sources.get(key, 'default')}]")
    for name, value in cfg.thresholds.items():
        print(f"  threshold {name:<6} {value:<48} [{cfg.sources.get('thresholds.' + name)}]")
    return EXIT_OK


def _run_report(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if cfg is None:
        return EXIT_USAGE
    from station.workflows.runner import write_report

    out = Path(args.output) if args.output else Path(f"report-{args.item_id.strip()}.html")
    return write_report(cfg, args.item_id, out, as_json=args.json)


def _run_reidentify(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if cfg is None:
        return EXIT_USAGE
    from station.workflows.reidentify import run_reidentify

    return run_reidentify(cfg, args.item_id, inspection_id=args.inspection, note=args.note,
                          as_json=args.json)


def _run_scan(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if cfg is None:
        return EXIT_USAGE
    from station.workflows.runner import scan_command

    return scan_command(cfg, args.parcel, self_test=args.self_test, as_json=args.json,
                        clock=getattr(args, "clock", None))


def _run_watch(args: argparse.Namespace) -> int:
    cfg = _config(args)
    if cfg is None:
        return EXIT_USAGE
    from station.workflows.runner import watch_command

    return watch_command(cfg, queue=args.queue, max_scans=args.max_scans, as_json=args.json,
                         clock=getattr(args, "clock", None), sync_every_s=args.sync_every)
