"""``interdict ingest``: the hot folder for closed handhelds' exports."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from station._help import HelpFormatter
from station._terminal import say
from station.commands._common import fail, station_config, tell
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments

if TYPE_CHECKING:
    from station.workflows.ingest import FileOutcome

EXIT_CODES = (ExitCode.OK, ExitCode.ALERT, ExitCode.REJECTED, ExitCode.INCONCLUSIVE,
              ExitCode.ERROR, ExitCode.PARCEL)

NOTES = """\
A file is taken once complete: unchanged (size, modification time) for the settle period, or
at once with --settle 0 when the analyzer renames a finished file into place (names starting
with '.' or ending in {partial} are never taken).
Its bytes are kept with their SHA-256 as evidence; device and acquisition settings come from
the file's own metadata; the parcel id from --parcel, the name rule (ingest_name_rule), or
the prompt when stdin is a terminal. Recorded files move to DIR/done. A file that cannot be
taken (unreadable, no valid parcel id, parcel not in hand, its bytes already stored) moves
to DIR/quarantine with NAME.reason.json beside it; move it back into DIR to try again.
Without --watch: the files there now, then exit (ALERT 10 first, then 3 when any file was
refused, then 11 when any verdict was inconclusive). With --watch: until SIGINT/SIGTERM
(the file being taken is finished first), exit 0.

"""

EXAMPLES = """
examples:
  interdict ingest /mnt/truscan --watch --ingest-name-rule '^(?P<item>[A-Z]{2}\\d{9}[A-Z]{2})_'
  interdict ingest exports --parcel CP118543022IN --json
"""


def _seconds(flag: str) -> Any:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{flag}: not a number of seconds: {text!r}") \
                from None
        if not value >= 0 or value == float("inf"):
            raise argparse.ArgumentTypeError(f"{flag}: must be a finite number >= 0, got "
                                             f"{text!r}")
        return value

    parse.__name__ = "seconds"
    return parse


def register(sub: Any) -> None:
    """Register ``ingest``."""
    from station.workflows._hotfolder import PARTIAL_SUFFIXES, POLL_S, SETTLE_S

    p = sub.add_parser(
        "ingest", help="hot folder: take closed handhelds' exported scans as evidence",
        description="Take each analyzer export in DIR once complete: read it, keep the file "
                    "byte for byte with its SHA-256, identify it against the library and "
                    "record the inspection with its audit events, as a scan does.",
        epilog=NOTES.format(partial="/".join(PARTIAL_SUFFIXES)) + epilog(*EXIT_CODES)
        + "\n" + EXAMPLES,
        formatter_class=HelpFormatter)
    p.add_argument("folder", metavar="DIR", type=Path, help="the folder the analyzer exports to")
    p.add_argument("--watch", action="store_true",
                   help="keep watching for new files until stopped (SIGINT/SIGTERM)")
    p.add_argument("--parcel", metavar="ITEM_ID",
                   help="the parcel every file of this run belongs to (UPU S10 id)")
    p.add_argument("--settle", type=_seconds("--settle"), default=SETTLE_S, metavar="SECONDS",
                   help=f"a file is complete once unchanged this long (default {SETTLE_S:g}; "
                        "0: at once, for exports renamed into place)")
    p.add_argument("--poll", type=_seconds("--poll"), default=POLL_S, metavar="SECONDS",
                   help=f"time between two looks at the folder (default {POLL_S:g})")
    p.add_argument("--done", metavar="DIR", type=Path,
                   help="where recorded files go (default DIR/done)")
    p.add_argument("--quarantine", metavar="DIR", type=Path,
                   help="where refused files go, with their reason (default DIR/quarantine)")
    p.add_argument("--json", action="store_true",
                   help="one JSON line per file on stdout (with --watch also 'watching', "
                        "'waiting', 'unavailable'/'available' and 'stopped' lines)")
    p.add_argument("-q", "--quiet", action="store_true",
                   help="one line per file: no verdict block, no transcript")
    add_config_arguments(p, "config", "library", "db", "key", "operator", "station", "matcher",
                         "thresholds", "ingest_name_rule")
    p.set_defaults(func=run)


def exit_code(outcomes: list[FileOutcome], *, watch: bool) -> ExitCode:
    """ALERT first (a controlled substance must not hide behind a refused file), then
    REJECTED (a file refused or left), then INCONCLUSIVE, else OK; 0 for a stopped --watch."""
    from matcher.results import Verdict

    if watch:
        return ExitCode.OK
    scans = [o.scan for o in outcomes if o.scan is not None]
    if any(s.identification.alert for s in scans):
        return ExitCode.ALERT
    if any(o.status != "recorded" for o in outcomes):
        return ExitCode.REJECTED
    if any(s.identification.verdict in (Verdict.INCONCLUSIVE, Verdict.NO_MATCH)
           for s in scans):
        return ExitCode.INCONCLUSIVE
    return ExitCode.OK


def _emit(out: TextIO, record: dict[str, Any]) -> None:
    out.write(json.dumps(record, ensure_ascii=False) + "\n")
    out.flush()


def _tell_outcome(args: argparse.Namespace, out: TextIO, o: FileOutcome) -> None:
    from station.workflows.display import show_outcome

    prog = args.command_prog
    for note in o.notes:
        tell(prog, f"{o.name}: {note}", None)
    if o.status == "recorded":
        assert o.scan is not None
        if args.json:
            _emit(out, o.as_json())
            return
        ident = o.scan.identification
        if not args.quiet:
            show_outcome(out, o.scan)
        say(f"{o.name}: recorded for {o.item_id}: {ident.verdict.value}"
            + (" ALERT" if ident.alert else "")
            + f" (inspection {o.scan.inspections[0].inspection_id}, SHA-256 {o.sha256})"
            + (f" → {o.moved_to}" if o.moved_to else ""), out)
        return
    if args.json:
        _emit(out, o.as_json())
    where = f"; moved to {o.moved_to}" if o.moved_to else ""
    if o.status == "left":
        tell(prog, f"{o.name}: {o.reason}", "run again once the copy has finished")
    elif o.error is not None:
        fail(prog, o.error, what=f"{o.reason} ({type(o.error).__name__}){where}")


def run(args: argparse.Namespace) -> ExitCode:
    """Take the folder's exports (once, or until stopped with --watch)."""
    from station.workflows._hotfolder import Waiting
    from station.workflows.ingest import Ingest, Unavailable, prompt_for_parcel
    from station.workflows.scan import Stop

    cfg = station_config(args)
    out = sys.stdout
    transcript: TextIO = sys.stderr if args.json else out
    devnull = None
    if args.quiet:
        devnull = open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 - closed below
        transcript = devnull
    stop = Stop()
    ask = None
    if args.parcel is None and sys.stdin is not None and sys.stdin.isatty():
        ask = prompt_for_parcel(sys.stdin, sys.stderr, stop)
    ingest = Ingest(cfg, args.folder, parcel=args.parcel, ask=ask, done=args.done,
                    quarantine=args.quarantine, settle_s=args.settle, poll_s=args.poll,
                    out=transcript, clock=getattr(args, "clock", None), stop=stop)
    outcomes: list[FileOutcome] = []
    try:
        with stop.installed():
            ingest.open()
            if args.watch:
                if args.json:
                    _emit(out, {"event": "watching", "folder": str(args.folder),
                                "settle_s": args.settle})
                else:
                    say(f"watching {args.folder} (complete after {args.settle:g} s unchanged);"
                        " SIGINT/SIGTERM stops", sys.stderr)
            for ev in ingest.events(watch=args.watch):
                if isinstance(ev, Unavailable):
                    what = (f"{args.folder} cannot be read ({ev.error}); looking again every "
                            f"{args.poll:g} s" if ev.error else f"{args.folder} is back")
                    if args.json:
                        _emit(out, {"event": "unavailable" if ev.error else "available",
                                    "folder": str(args.folder), "message": what})
                    else:
                        say(what, sys.stderr)
                    continue
                if isinstance(ev, Waiting):
                    if args.json and args.watch:
                        _emit(out, {"event": "waiting", "file": ev.path.name,
                                    "size": ev.size})
                    elif not args.quiet:
                        say(f"{ev.path.name}: {ev.size} bytes, waiting until complete",
                            sys.stderr)
                    continue
                outcomes.append(ev)
                _tell_outcome(args, out, ev)
    finally:
        ingest.close()
        if devnull is not None:
            devnull.close()
    if stop.requested:
        left = sorted(p.name for p, _ in ingest.hot.still_waiting())
        if args.json and args.watch:
            _emit(out, {"event": "stopped", "signal": stop.signal_name, "left": left})
        else:
            say(f"{stop.signal_name or 'stop'}: stopped" + (
                f"; {len(left)} file(s) not yet complete left in {args.folder}" if left
                else ""), sys.stderr)
    elif not args.watch and not args.json:
        taken = sum(o.status == "recorded" for o in outcomes)
        say(f"{len(outcomes)} file(s): {taken} recorded, {len(outcomes) - taken} not", out)
    return exit_code(outcomes, watch=args.watch)


__all__ = ["EXIT_CODES", "exit_code", "register", "run"]
