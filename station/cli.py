"""The ``interdict`` command: one entry point, a sub-command per job.

Each command family lives in its own module under :mod:`station.commands` and provides
``register(subparsers)``; a registered command sets ``func(args)``, which returns an
:class:`~station.exit_codes.ExitCode` or raises. :func:`main` is the one place where an
error becomes a line on stderr (``interdict <command>: <what> — <what to do next>``) and an
exit code.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any, NoReturn

from station._help import HelpFormatter
from station.exit_codes import ExitCode, table

COMMAND_MODULES: tuple[str, ...] = (
    "station.commands.identify",
    "station.commands.library",
    "station.commands.device",
    "station.commands.parcel",
    "station.commands.audit",
    "station.commands.stats",
    "station.commands.evidence",
    "station.commands.scan",
    "station.commands.watch",
    "station.commands.ingest",
    "station.commands.report",
    "station.commands.reidentify",
    "station.commands.config",
    "station.commands.demo",
    "station.commands.central",
    "station.commands.sync",
)

EPILOG = """\
a day at the station:
  interdict parcel import today.jsonl          the AED batch with hold requests
  interdict scan --device /dev/ttyUSB0 --parcel CP118543022IN --operator officer.kim
  interdict watch --device /dev/ttyUSB0 --queue   trigger-button service for held parcels
  interdict ingest /mnt/truscan --watch          hot folder for a closed handheld's exports
  interdict report CP118543022IN -o report.html   evidence report for a prosecutor
  interdict audit verify                         is the chain of custody intact?
  interdict evidence export CP118543022IN        the parcel's evidence as a zip a court checks
  interdict evidence verify CP118543022IN.zip    ... anywhere, without the database

settings: interdict.toml, INTERDICT_* variables or flags (interdict config shows which).
no analyzer at hand: interdict simulate --pty, or interdict demo for the whole job.
each command has its own --help; --json gives machine-readable output on stdout.

exit codes (the same for every command):
""" + table() + "\n"


class Parser(argparse.ArgumentParser):
    """An argument parser that tells a usage error the station's one way (exit 2)."""

    def error(self, message: str) -> NoReturn:
        """``interdict <command>: <what> — see interdict <command> --help``."""
        from station.commands._common import tell

        tell(self.prog, message, f"see {self.prog} --help")
        self.exit(int(ExitCode.USAGE))


class _Version(argparse.Action):
    """``--version``: the installed distribution's version, read only when asked for."""

    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = f"interdict {version('interdict')}"
        except PackageNotFoundError:
            text = "interdict: version unknown (run from a source tree that is not installed)"
        print(text)
        parser.exit()


def _leaves(parser: argparse.ArgumentParser) -> Iterator[argparse.ArgumentParser]:
    """Every parser of the tree that runs a command (has no sub-commands of its own)."""
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not subs:
        yield parser
    for action in subs:
        for child in dict.fromkeys(action.choices.values()):
            yield from _leaves(child)


def build_parser() -> argparse.ArgumentParser:
    """The whole command tree."""
    parser = Parser(
        prog="interdict",
        description=(
            "Drive a handheld Raman/FTIR analyzer, identify what it measured, and attach "
            "the evidence to the parcel's record."
        ),
        formatter_class=HelpFormatter,
        epilog=EPILOG,
    )
    parser.add_argument("--version", action=_Version, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    import importlib

    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    for leaf in _leaves(parser):
        leaf.set_defaults(command_prog=leaf.prog)
    return parser


def run(args: argparse.Namespace) -> int:
    """Run a parsed command: its exit code, or its error reported and turned into one."""
    from station.commands._common import fail

    prog: str = getattr(args, "command_prog", "interdict")
    try:
        code = args.func(args)
    except KeyboardInterrupt:
        print(f"\n{prog}: interrupted — nothing further was done", file=sys.stderr)
        return int(ExitCode.INTERRUPTED)
    except BrokenPipeError:
        # whoever reads the output stopped (``interdict parcel list | head``): nothing to
        # report to them; point stdout at /dev/null so the interpreter's last flush is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return int(ExitCode.ERROR)
    except Exception as exc:
        return int(fail(prog, exc))
    return int(code)


def main(argv: Sequence[str] | None = None, *,
         clock: Callable[[], datetime] | None = None) -> int:
    """Run the command line; returns the exit code.

    ``clock`` returns the current time (UTC) for what the commands record (the wall clock by
    default); tests pass a fixed one so that nothing they check depends on today's date.
    """
    # One query at a time is latency-bound: a multi-threaded BLAS on a 2-core field laptop
    # spends more on thread hand-off than it saves (mixture fit ~10x slower, measured).
    # Set before numpy is first imported; a user's own setting wins.
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(var, "1")
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["simulate"]:  # the simulator's own options; no other command loads it
        from station.commands.device import run_simulate

        return run_simulate(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    args.clock = clock
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
