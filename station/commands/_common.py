"""What the station's command modules share: reading the configuration for a command."""

from __future__ import annotations

import argparse
import sys

from station._terminal import say
from station.config import ConfigError, StationConfig, config_from_args


def config_or_none(args: argparse.Namespace) -> StationConfig | None:
    try:
        return config_from_args(args)
    except ConfigError as exc:
        say(f"interdict: configuration error: {exc}", sys.stderr)
        return None


__all__ = ["config_or_none"]
