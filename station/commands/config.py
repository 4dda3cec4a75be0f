"""``interdict config``: the effective configuration and where each value came from."""

from __future__ import annotations

import argparse
from typing import Any

from station._help import HelpFormatter
from station._terminal import say
from station.commands._common import dump_json, json_option, station_config
from station.exit_codes import ExitCode, epilog
from station.options import add_config_arguments


def register(sub: Any) -> None:
    """Register ``config``."""
    c = sub.add_parser(
        "config", help="show the effective station configuration and where each value is from",
        description="Resolve the configuration (flag > environment > file > default) and "
                    "show each option with its source: flag, env, file, login (the operator "
                    "when nothing names one) or default.",
        epilog=epilog(ExitCode.OK), formatter_class=HelpFormatter)
    json_option(c, "the configuration and its sources")
    add_config_arguments(c)
    c.set_defaults(func=run)


def run(args: argparse.Namespace) -> ExitCode:
    """Show the configuration."""
    cfg = station_config(args)
    if args.json:
        dump_json({"config": cfg.public(), "sources": cfg.sources})
        return ExitCode.OK
    say(f"configuration file: {cfg.config_file or '(none)'}")
    for key, value in cfg.public().items():
        if key in ("config_file", "thresholds"):
            continue
        say(f"  {key:<16} {value!s:<48} [{cfg.sources.get(key, 'default')}]")
    for name, value in cfg.thresholds.items():
        say(f"  threshold {name:<6} {value:<48} [{cfg.sources.get('thresholds.' + name)}]")
    return ExitCode.OK


__all__ = ["register", "run"]
