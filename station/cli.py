"""The ``interdict`` command: one entry point, a sub-command per workflow.

Each command group lives in its own module under :mod:`station.commands` and provides
``register(subparsers)``; a registered command sets ``func(args) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

COMMAND_MODULES: tuple[str, ...] = (
    "station.commands.identify",
    "station.commands.library",
    "station.commands.device",
    "station.commands.parcel",
    "station.commands.scan",
    "station.commands.demo",
)

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = argparse.ArgumentParser(
        prog="interdict",
        description=(
            "Drive a handheld Raman/FTIR analyzer, identify what it measured, and attach "
            "the evidence to the parcel's record."
        ),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    # One query at a time is latency-bound: a multi-threaded BLAS on a 2-core field laptop
    # spends more on thread hand-off than it saves (mixture fit ~10x slower, measured).
    # Set before numpy is first imported; a user's own setting wins.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
