"""What every command module shares: the configuration of the command, JSON output, and the
one way an error is told (``interdict <command>: <what> — <what to do next>``)."""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import traceback
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any, TextIO

from station._terminal import say, shown_lines
from station.exit_codes import ExitCode, classify

if TYPE_CHECKING:
    from station.config import StationConfig


def station_config(args: argparse.Namespace) -> StationConfig:
    """The command's configuration (flag > environment > file > default), resolved once.

    Raises
    ------
    station.errors.ConfigError
        Naming the file, variable or flag at fault.
    """
    from station.config import config_from_args

    cfg: StationConfig | None = getattr(args, "_station_config", None)
    if cfg is None:
        cfg = config_from_args(args)
        args._station_config = cfg
    return cfg


class EnumChoices:
    """The values of an enum as ``choices`` of an option, loaded only when the option is
    used or its help printed (``--help`` must not load the record models).

    >>> c = EnumChoices("parcels.records", "HoldState")
    >>> "held" in c, "lost" in c
    (True, False)
    """

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name

    def _values(self) -> list[str]:
        enum = getattr(importlib.import_module(self.module), self.name)
        return [str(m.value) for m in enum]

    def __contains__(self, value: object) -> bool:
        return value in self._values()

    def __iter__(self) -> Iterator[str]:
        return iter(self._values())


def when(flag: str, *, end: bool = False) -> Any:
    """An argparse ``type`` for a date option (``--from``/``--to``): a day or an ISO 8601
    instant, as an aware UTC datetime; ``end`` makes a bare day include its whole day."""

    def parse(text: str) -> datetime:
        from parcels.query import parse_when

        try:
            return parse_when(text, end=end)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{flag}: {exc}") from exc

    parse.__name__ = "date"  # argparse names the type in its message
    return parse


def json_option(parser: argparse.ArgumentParser, what: str = "the result") -> None:
    """``--json``: machine-readable output on stdout (errors and progress stay on stderr)."""
    parser.add_argument("--json", action="store_true",
                        help=f"print {what} as JSON on stdout (for scripts)")


def dump_json(obj: Any, *, indent: int | None = 2) -> None:
    """Print ``obj`` as JSON on stdout; still valid JSON, with what JSON leaves raw (DEL, C1,
    bidi controls) written as ``\\uXXXX`` so no data can steer the terminal."""
    print(shown_lines(json.dumps(obj, indent=indent, ensure_ascii=False)))


def describe(exc: BaseException) -> str:
    """An error's message as one line for the officer (a pydantic error listed by field)."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        from parcels.aed import format_validation_error

        return format_validation_error(exc)
    text = str(exc)
    if isinstance(exc, KeyError) and len(exc.args) == 1 and text == repr(exc.args[0]):
        text = str(exc.args[0])  # KeyError's str() is the repr of its argument
    return text or type(exc).__name__


def tell(prog: str, what: str, hint: str | None, stream: TextIO | None = None) -> None:
    """One error line on stderr: ``<prog>: <what> — <what to do next>`` (escaped)."""
    say(f"{prog}: {what}" + (f" — {hint}" if hint else ""), stream or sys.stderr)


def fail(prog: str, exc: BaseException, stream: TextIO | None = None, *,
         what: str | None = None) -> ExitCode:
    """Tell an error the one way and return its exit code.

    An error of a known kind (:data:`station.exit_codes.KINDS`) is one line with what to do
    next; any other exception is a bug, reported with its traceback. ``what`` replaces the
    error's own message (to name the input it concerns).
    """
    kind = classify(exc)
    err = stream or sys.stderr
    if kind is None:
        tell(prog, f"unexpected error: {type(exc).__name__}: {describe(exc)}",
             "this is a bug; please report it with the command you ran and the traceback "
             "below", err)
        traceback.print_exception(exc, file=err)
        return ExitCode.ERROR
    code, hint = kind
    tell(prog, what or describe(exc), getattr(exc, "hint", None) or hint or f"see {prog} --help",
         err)
    return code


__all__ = ["EnumChoices", "describe", "dump_json", "fail", "json_option", "station_config",
           "tell", "when"]
