"""``interdict config``: the effective configuration and where each value came from."""

from __future__ import annotations

import argparse
import json
from typing import Any

from station._terminal import say
from station.commands._common import config_or_none
from station.config import add_config_arguments
from station.exit_codes import EXIT_OK, EXIT_USAGE


def register(sub: Any) -> None:
    """Register ``config``."""
    c = sub.add_parser(
        "config", help="show the effective station configuration and where each value is from",
        description="Resolve the configuration (flag > environment > file > default) and "
                    "show each option with its source.")
    c.add_argument("--json", action="store_true", help="print as JSON")
    add_config_arguments(c)
    c.set_defaults(func=_run_config)


def _run_config(args: argparse.Namespace) -> int:
    cfg = config_or_none(args)
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
