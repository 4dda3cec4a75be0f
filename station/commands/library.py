"""`interdict` commands of this group (placeholder until its issue lands)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def register(sub: Any) -> None:
    """Register the placeholder command."""
    p = sub.add_parser("library", help="(not built yet)")
    p.set_defaults(func=_not_built)


def _not_built(args: argparse.Namespace) -> int:
    print("library: not built yet", file=sys.stderr)
    return 3
