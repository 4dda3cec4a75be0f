"""``interdict acquire``, ``interdict devices`` and ``interdict simulate``.

Exit codes (all three commands):

0  success
1  the device refused or failed (out-of-range setting, interlock, aborted...)
2  usage error (bad option, bad scenario or fault spec)
3  no analyzer: port missing or busy, nothing answers, or not our protocol
4  the spectrum could not be written

``devices`` probes each port in every dialect (``interdict/1``, then Ocean's OBP) and says
which answered; ``acquire --dialect`` picks one (or ``auto``: probe first).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from station._terminal import say, shown

EXIT_OK = 0
EXIT_DEVICE = 1
EXIT_USAGE = 2
EXIT_NO_ANALYZER = 3
EXIT_WRITE = 4

_EPILOG = """exit codes:
  0  success
  1  the device refused or failed (out-of-range setting, interlock, aborted...)
  2  usage error
  3  no analyzer: port missing or busy, nothing answers, or not our protocol
  4  the spectrum could not be written
"""


def register(sub: Any) -> None:
    """Register ``acquire``, ``devices`` and ``simulate``."""
    fmt = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("acquire", help="acquire one spectrum from an analyzer and save it",
                       epilog=_EPILOG, formatter_class=fmt)
    p.add_argument("--device", required=True, metavar="URL",
                   help="port: /dev/ttyUSB0, COM3, socket://host:port, spy://...")
    p.add_argument("--technique", choices=("raman", "ftir"))
    p.add_argument("--integration-ms", type=float, metavar="N")
    p.add_argument("--accumulations", type=int, metavar="N")
    p.add_argument("--laser-power-mw", type=float, metavar="MW")
    p.add_argument("--background", action="store_true",
                   help="FTIR: take a background first (clean crystal), then the sample")
    p.add_argument("--sample", metavar="ID",
                   help="simulator only: put this scenario sample under the laser first")
    p.add_argument("--baudrate", type=int, default=115200)
    p.add_argument("--dialect", default="interdict/1", metavar="NAME",
                   help="protocol: interdict/1 (default), obp (Ocean Binary Protocol), or auto "
                        "(probe both, as 'interdict devices' does)")
    p.add_argument("-o", "--output", required=True, type=Path, metavar="FILE",
                   help="where to save (.jdx or .csv: format from the extension)")
    p.set_defaults(func=run_acquire)

    p = sub.add_parser("devices", help="list serial ports and probe which are analyzers",
                       epilog=_EPILOG, formatter_class=fmt)
    p.add_argument("--url", action="append", default=[], metavar="URL",
                   help="also probe this port URL (repeatable), e.g. a simulator's")
    p.add_argument("--no-probe", action="store_true", help="only list, do not send identify")
    p.add_argument("--timeout", type=float, default=0.5, metavar="S",
                   help="answer time allowed per port (default 0.5 s)")
    p.set_defaults(func=run_devices)

    p = sub.add_parser("simulate", help="run a simulated analyzer on a pty or TCP port",
                       epilog=_EPILOG + "\nThe first stdout line is 'device: URL'.",
                       formatter_class=fmt)
    from driver.simulator.app import add_arguments

    add_arguments(p)
    p.set_defaults(func=run_simulate)


def run_acquire(args: argparse.Namespace) -> int:
    """Acquire and save one spectrum."""
    import spectra
    from driver import Analyzer
    from driver.discovery import probe
    from driver.errors import (
        AnalyzerError,
        AnalyzerTimeoutError,
        DeviceRefusedError,
        LinkError,
        NotAnAnalyzerError,
        NotSupportedError,
    )
    from driver.protocol import DIALECTS

    out: Path = args.output
    if out.suffix.lower() not in (".jdx", ".dx", ".jcamp", ".csv"):
        say(f"acquire: {out}: use a .jdx or .csv extension", sys.stderr)
        return EXIT_USAGE
    if args.dialect != "auto" and args.dialect not in DIALECTS:
        print(f"acquire: --dialect {args.dialect!r}: use auto or one of "
              f"{', '.join(DIALECTS)}", file=sys.stderr)
        return EXIT_USAGE
    dialect = args.dialect
    if dialect == "auto":
        found = probe(args.device)
        if found.dialect is None:
            say(f"acquire: no analyzer: {found.problem}", sys.stderr)
            return EXIT_NO_ANALYZER
        dialect = found.dialect
    try:
        with Analyzer(args.device, baudrate=args.baudrate,
                      dialect=DIALECTS[dialect]) as dev:
            if args.sample:
                dev.select_sample(args.sample)
            if args.technique:
                dev.configure(technique=args.technique)
            if args.background:
                dev.background(integration_ms=args.integration_ms,
                               accumulations=args.accumulations)
            s = dev.acquire(integration_ms=args.integration_ms,
                            accumulations=args.accumulations,
                            laser_power_mw=args.laser_power_mw)
    except (LinkError, NotAnAnalyzerError, AnalyzerTimeoutError) as exc:
        say(f"acquire: no analyzer: {exc}", sys.stderr)
        return EXIT_NO_ANALYZER
    except (DeviceRefusedError, NotSupportedError, AnalyzerError) as exc:
        hint = " (clean the crystal and add --background)" \
            if getattr(exc, "name", "") == "BACKGROUND_REQUIRED" else ""
        say(f"acquire: {exc}{hint}", sys.stderr)  # the device's own words, escaped
        return EXIT_DEVICE
    try:
        fmt = "csv" if out.suffix.lower() == ".csv" else "jcamp"
        spectra.write(s, out, format=fmt)
    except (OSError, ValueError, NotImplementedError) as exc:
        say(f"acquire: cannot write {out}: {exc}", sys.stderr)
        return EXIT_WRITE
    a = s.acquisition
    say(f"{out}: {s.technique.value}, {len(s)} points, {a.integration_time_ms:g} ms x "
        f"{a.accumulations}, {a.instrument_model} {a.instrument_serial}, "
        f"hash {s.content_hash[:16]}")
    return EXIT_OK


def run_devices(args: argparse.Namespace) -> int:
    """List serial ports (and probe them)."""
    from driver.discovery import list_ports, probe

    ports = list_ports()
    urls = [(p.device, p.describe()) for p in ports] + [(u, "given on the command line")
                                                         for u in args.url]
    if not urls:
        print("no serial ports found")
        return EXIT_NO_ANALYZER if args.url else EXIT_OK
    found = 0
    for url, desc in urls:
        if args.no_probe:
            print(f"{shown(url)}\t{shown(desc)}")  # USB descriptors come from the device
            continue
        result = probe(url, timeout_s=args.timeout)
        if result.info is not None:
            found += 1
            i = result.info
            print(f"{shown(url)}\t{shown(desc)}\t" + shown(
                f"ANALYZER {i.make} {i.model} serial {i.serial} firmware {i.firmware} "
                f"{i.protocol}/{i.protocol_version} [{', '.join(i.capabilities.technique_names)}] "
                f"answered in dialect {result.dialect}"))
        else:
            print(f"{shown(url)}\t{shown(desc)}\t-- {shown(result.problem)}")
    if args.url and not args.no_probe and found == 0:
        return EXIT_NO_ANALYZER
    return EXIT_OK


def run_simulate(args: argparse.Namespace) -> int:
    """Run the simulator until SIGINT/SIGTERM."""
    from driver.simulator.app import run

    return run(args)
