"""``interdict acquire``, ``interdict devices`` and ``interdict simulate``: the analyzer itself.

``simulate`` is run by :func:`run_simulate` straight from :func:`station.cli.main` with the
simulator's own options (``driver.simulator.app``), so that no other command loads the
simulator.

``devices`` probes each port in every dialect (``interdict/1``, then Ocean's OBP) and says
which answered; ``acquire --dialect`` picks one (or ``auto``: probe first).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from station._help import HelpFormatter
from station._terminal import say, shown
from station.commands._common import dump_json, json_option, station_config
from station.errors import DeviceError, UsageError
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments

SIMULATE_HELP = "run a simulated analyzer on a pty or TCP port (no analyzer needed)"
SIMULATE_DESCRIPTION = (
    "A simulated handheld analyzer: a separate process speaking the real wire protocol on a "
    "virtual serial port (pty) or a TCP port. Its first line on stdout is 'device: URL', the "
    "URL to give other commands as --device. It runs until SIGINT/SIGTERM. To press its "
    "trigger button (for interdict watch), send it SIGUSR1: kill -USR1 PID.")
WRITE_SUFFIXES = (".jdx", ".dx", ".jcamp", ".csv")


def register(sub: Any) -> None:
    """Register ``acquire``, ``devices`` and ``simulate``."""
    fmt = HelpFormatter
    p = sub.add_parser(
        "acquire", help="acquire one spectrum from an analyzer and save it to a file",
        description="Connect to the analyzer, optionally measure the FTIR background, "
                    "acquire one spectrum with the given settings and save it (JCAMP-DX or "
                    "CSV). Nothing is recorded as evidence: use interdict scan for that.",
        epilog=epilog(ExitCode.OK, ExitCode.ERROR, ExitCode.DEVICE), formatter_class=fmt)
    p.add_argument("--technique", choices=("raman", "ftir"),
                   help="what to measure (default: the analyzer's first technique)")
    p.add_argument("--integration-ms", type=float, metavar="MS",
                   help="integration time per accumulation, in ms (default: the analyzer's)")
    p.add_argument("--accumulations", type=int, metavar="N",
                   help="scans averaged into one spectrum (default: the analyzer's)")
    p.add_argument("--laser-power-mw", type=float, metavar="MW",
                   help="Raman laser power in mW (default: the middle of its range)")
    p.add_argument("--background", action="store_true",
                   help="FTIR: take a background first (clean crystal), then the sample")
    p.add_argument("--sample", metavar="ID",
                   help="simulator only: put this scenario sample under the laser first")
    p.add_argument("--baudrate", type=int, default=115200, metavar="BAUD",
                   help="serial line rate (default 115200; ignored by pty and TCP)")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE",
                   help="where to save: .jdx (JCAMP-DX) or .csv, by the extension")
    json_option(p, "a summary of the saved spectrum")
    add_config_arguments(p, "config", "device", "dialect")
    p.set_defaults(func=run_acquire)

    p = sub.add_parser(
        "devices", help="list serial ports and probe which are analyzers",
        description="List this machine's serial ports (with USB ids) and send each an "
                    "identify request, so the analyzer's port can be found; --url adds "
                    "ports the system does not list (a simulator's pty, socket://...).",
        epilog=epilog(ExitCode.OK, ExitCode.DEVICE), formatter_class=fmt)
    p.add_argument("--url", action="append", default=[], metavar="URL",
                   help="also probe this port URL (repeatable), e.g. a simulator's; exit 4 "
                        "when none of them answers as an analyzer")
    p.add_argument("--no-probe", action="store_true", help="only list, do not send identify")
    p.add_argument("--timeout", type=float, default=0.5, metavar="S",
                   help="answer time allowed per port (default 0.5 s)")
    json_option(p, "one object per port")
    p.set_defaults(func=run_devices)

    # listed here; run by run_simulate with the simulator's own parser (see the module notes)
    sub.add_parser("simulate", help=SIMULATE_HELP, add_help=False)


def simulate_parser() -> argparse.ArgumentParser:
    """The parser of ``interdict simulate`` (the simulator's options)."""
    from driver.simulator.app import add_arguments

    p = argparse.ArgumentParser(
        prog="interdict simulate", description=SIMULATE_DESCRIPTION,
        epilog=epilog(ExitCode.OK) + "\n\nexample:\n  interdict simulate --pty --profile "
                                     "raman-785 --seed 1 &\n  kill -USR1 %1   # press its "
                                     "trigger button",
        formatter_class=HelpFormatter)
    add_arguments(p)
    return p


def run_simulate(argv: Sequence[str]) -> int:
    """``interdict simulate ARGS``: the simulator until SIGINT/SIGTERM."""
    from driver.simulator.app import run

    return run(simulate_parser().parse_args(list(argv)))


def run_acquire(args: argparse.Namespace) -> ExitCode:
    """Acquire and save one spectrum."""
    import spectra
    from driver import Analyzer
    from driver.errors import DeviceRefusedError
    from station.workflows.dialect import resolve_dialect

    out: Path = args.output
    if out.suffix.lower() not in WRITE_SUFFIXES:
        raise UsageError(f"{out}: the file's extension names its format",
                         hint="use a .jdx or .csv extension")
    cfg = station_config(args)
    device = cfg.device
    if not device:
        raise UsageError("no analyzer named",
                         hint="give --device URL (or INTERDICT_DEVICE, or device = ... in the "
                              "station file); interdict devices lists the serial ports")
    dialect = resolve_dialect(device, cfg.dialect.value)
    with Analyzer(device, baudrate=args.baudrate, dialect=dialect) as dev:
        if args.sample:
            from driver.simulator.control import select_sample

            select_sample(dev, args.sample)
        if args.technique:
            dev.configure(technique=args.technique)
        try:
            if args.background:
                dev.background(integration_ms=args.integration_ms,
                               accumulations=args.accumulations)
            s = dev.acquire(integration_ms=args.integration_ms,
                            accumulations=args.accumulations,
                            laser_power_mw=args.laser_power_mw)
        except DeviceRefusedError as exc:
            if exc.name == "BACKGROUND_REQUIRED":
                raise DeviceError(str(exc), hint="clean the crystal and add --background"
                                  ) from exc
            raise
    spectra.write(s, out, format="csv" if out.suffix.lower() == ".csv" else "jcamp")
    a = s.acquisition
    if args.json:
        dump_json({"file": str(out), "technique": s.technique.value, "points": len(s),
                   "integration_ms": a.integration_time_ms, "accumulations": a.accumulations,
                   "instrument_model": a.instrument_model,
                   "instrument_serial": a.instrument_serial, "content_hash": s.content_hash})
    else:
        say(f"{out}: {s.technique.value}, {len(s)} points, {a.integration_time_ms:g} ms x "
            f"{a.accumulations}, {a.instrument_model} {a.instrument_serial}, "
            f"hash {s.content_hash[:16]}")
    return ExitCode.OK


def run_devices(args: argparse.Namespace) -> ExitCode:
    """List serial ports (and probe them)."""
    from driver.discovery import list_ports, probe

    ports = [(p.device, p.describe()) for p in list_ports()]
    ports += [(u, "given on the command line") for u in args.url]
    rows: list[dict[str, Any]] = []
    for url, desc in ports:
        row: dict[str, Any] = {"url": url, "description": desc, "analyzer": None,
                               "problem": None}
        if not args.no_probe:
            result = probe(url, timeout_s=args.timeout)
            if result.info is None:
                row["problem"] = result.problem
            else:
                i = result.info
                row["analyzer"] = {
                    "make": i.make, "model": i.model, "serial": i.serial,
                    "firmware": i.firmware, "protocol": i.protocol,
                    "protocol_version": i.protocol_version, "simulated": i.simulated,
                    "techniques": list(i.capabilities.technique_names),
                    "dialect": result.dialect}
        rows.append(row)
    if args.json:
        dump_json(rows)
    elif not rows:
        print("no serial ports found", file=sys.stderr)
    for r in rows if not args.json else ():
        line = f"{shown(r['url'])}\t{shown(r['description'])}"  # USB strings come from devices
        if (a := r["analyzer"]) is not None:
            line += "\t" + shown(
                f"ANALYZER {a['make']} {a['model']} serial {a['serial']} firmware "
                f"{a['firmware']} {a['protocol']}/{a['protocol_version']} "
                f"[{', '.join(a['techniques'])}] answered in dialect {a['dialect']}")
        elif r["problem"]:
            line += f"\t-- {shown(r['problem'])}"
        print(line)
    if args.url and not args.no_probe and not any(r["analyzer"] for r in rows):
        raise DeviceError(f"no analyzer answered at {', '.join(args.url)}",
                          hint="check the URL, the cable and that the analyzer is on")
    return ExitCode.OK


__all__ = ["register", "run_acquire", "run_devices", "run_simulate", "simulate_parser"]
