"""Command-line entry of the simulator, shared by ``python -m driver.simulator`` and
``interdict simulate``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..capabilities import PROFILES
from .device import SimulatedDevice
from .faults import FaultSpec
from .obp_device import OBP_PROFILES, ObpSimulatedDevice
from .server import ServedDevice
from .synth import Scenario, load_references

EXIT_OK = 0
EXIT_USAGE = 2


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The simulator's options (used by both entry points)."""
    where = p.add_mutually_exclusive_group()
    where.add_argument("--pty", action="store_true",
                       help="serve on a pseudo-terminal (default); prints its path")
    where.add_argument("--tcp", type=int, metavar="PORT",
                       help="serve on socket://127.0.0.1:PORT (0 = any free port)")
    p.add_argument("--link", type=Path, metavar="PATH",
                   help="with --pty: where to put the stable symlink to the pty")
    p.add_argument("--profile", choices=sorted([*PROFILES, *OBP_PROFILES]),
                   default="raman-785",
                   help="device to impersonate (default raman-785); ocean-obp* speak Ocean's "
                        "OBP instead of interdict/1")
    p.add_argument("--scenario", type=Path, metavar="FILE",
                   help="JSON/TOML file mapping sample ids to mixtures (see docs/protocol.md)")
    p.add_argument("--references", type=Path, action="append", metavar="PATH",
                   help="reference spectrum file or folder (repeatable); default: built-in set")
    p.add_argument("--seed", type=int, default=0, help="seed for spectra and faults (default 0)")
    p.add_argument("--faults", default="", metavar="SPEC",
                   help="e.g. corrupt=0.01,drop=0.001,delay-ms=50 (see docs/protocol.md)")
    p.add_argument("--baud", type=int, default=0,
                   help="emulate this line rate on the output (0 = as fast as possible)")
    p.add_argument("--serial", default="SIM-0001", help="serial number to report")


def run(args: argparse.Namespace) -> int:
    """Start the simulator from parsed arguments; runs until SIGINT/SIGTERM."""
    try:
        faults = FaultSpec.parse(args.faults)
        refs = load_references(args.references)
        obp = OBP_PROFILES.get(args.profile)
        techniques = ("raman",) if obp else PROFILES[args.profile].technique_names
        scenario = Scenario.load(args.scenario) if args.scenario else \
            Scenario.default_for(refs, techniques)
        scenario.check_references(refs)
    except ValueError as exc:  # ScenarioError is one
        print(f"simulate: {exc}", file=sys.stderr)
        return EXIT_USAGE
    device: ServedDevice = ObpSimulatedDevice(
        obp, refs, scenario, seed=args.seed, faults=faults, serial=args.serial) if obp else \
        SimulatedDevice(PROFILES[args.profile], refs, scenario, seed=args.seed, faults=faults,
                        serial=args.serial, profile=args.profile)

    def announce(line: str) -> None:
        print(line, flush=True)

    from . import server

    if args.tcp is not None:
        server.serve_tcp(device, port=args.tcp, baud=args.baud, announce=announce)
    else:
        server.serve_pty(device, baud=args.baud, link=args.link, announce=announce)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m driver.simulator [options]``."""
    p = argparse.ArgumentParser(prog="python -m driver.simulator",
                                description="Simulated handheld Raman/FTIR analyzer.")
    add_arguments(p)
    return run(p.parse_args(argv))
