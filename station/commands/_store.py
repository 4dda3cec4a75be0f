"""What the evidence-store commands (``parcel``, ``audit``, ``stats``, ``evidence``) share:
their options, opening the store, who acts, and how a failure is reported."""

from __future__ import annotations

import argparse
import getpass
import json
import sqlite3
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from station._terminal import shown, shown_lines
from station.exit_codes import EXIT_ERROR

if TYPE_CHECKING:
    from station.config import StationConfig


def common_options() -> tuple[argparse.ArgumentParser, argparse.ArgumentParser]:
    """Parent parsers of every evidence-store command: the store options, and ``--by``."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--db", metavar="PATH",
                        help="evidence database (default: $INTERDICT_DB, else the station "
                             "config's db, else the default path)")
    common.add_argument("--config", metavar="FILE",
                        help="station TOML file (env INTERDICT_CONFIG; default ./interdict.toml)")
    common.add_argument("--key", dest="key_file", metavar="FILE",
                        help="the station's signing key (default: $INTERDICT_KEY, else the "
                             "station config's key, else station.key next to the default "
                             "database; created on the first write)")
    actor = argparse.ArgumentParser(add_help=False)
    actor.add_argument("--by", metavar="NAME",
                       help="who acts (default: $INTERDICT_OPERATOR or the login name)")
    return common, actor


def query_option() -> argparse.ArgumentParser:
    """Parent parser of the query commands: ``--json``."""
    query = argparse.ArgumentParser(add_help=False)
    query.add_argument("--json", action="store_true", help="machine-readable output")
    return query


def guard(fn: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Turn expected failures into one clear line on stderr and exit code 1."""

    def run(args: argparse.Namespace) -> int:
        from pydantic import ValidationError

        from parcels.aed import format_validation_error
        from parcels.errors import ParcelsError

        try:
            return fn(args)
        except ValidationError as exc:
            _err(args, shown(format_validation_error(exc)))
        except (ParcelsError, ValueError, OSError, sqlite3.Error) as exc:
            _err(args, shown(exc))  # messages quote what came in: one line, escaped
        return EXIT_ERROR

    run.__doc__ = fn.__doc__
    return run


def _err(args: argparse.Namespace, message: str) -> None:
    where = " ".join(x for x in (getattr(args, "command", None),
                                 getattr(args, "parcel_command", None),
                                 getattr(args, "audit_command", None),
                                 getattr(args, "evidence_command", None)) if x)
    print(f"interdict {where}: error: {message}", file=sys.stderr)


def station_config(args: argparse.Namespace) -> StationConfig:
    """The station configuration (flag > environment > file > default), read once."""
    from station.config import load_config

    cfg: StationConfig | None = getattr(args, "_station_config", None)
    if cfg is None:
        cfg = load_config({"db": getattr(args, "db", None),
                           "key": getattr(args, "key_file", None)},
                          config_file=getattr(args, "config", None))
        args._station_config = cfg
    return cfg


def open_store_for(args: argparse.Namespace, *, create: bool = False, write: bool = False) -> Any:
    """The store; ``write`` loads (or on first use creates) the station's signing key."""
    from parcels.config import resolve_db
    from parcels.signing import StationKey
    from parcels.store import open_store

    cfg = station_config(args)
    configured = str(cfg.db) if cfg.sources.get("db") == "file" else None
    signer = StationKey.load_or_create(cfg.key) if write else None
    return open_store(resolve_db(args.db, configured=configured), create=create,
                      signer=signer, clock=getattr(args, "clock", None))


def who_acts(args: argparse.Namespace) -> str:
    # the configuration already ranks $INTERDICT_OPERATOR above the file's operator
    return args.by or station_config(args).operator or getpass.getuser()


def dump_json(obj: Any) -> None:
    # still valid JSON: what JSON leaves raw (DEL, C1, bidi) is written as \uXXXX
    print(shown_lines(json.dumps(obj, indent=2, sort_keys=False, ensure_ascii=False)))


__all__ = ["common_options", "dump_json", "guard", "open_store_for", "query_option",
           "station_config", "who_acts"]
