"""What the evidence-store commands (``parcel``, ``audit``, ``stats``, ``evidence``) share:
their options, opening the store, and who acts."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from station.commands._common import json_option, station_config
from station.errors import UsageError
from station.options import add_config_arguments

if TYPE_CHECKING:
    from parcels.store.base import Store


def store_options(parser: argparse.ArgumentParser, *, writes: bool = False,
                  query: bool = True) -> None:
    """The options of a store command: ``--config``, ``--db``, ``--key``; ``--operator``
    for a command that writes; ``--json`` for one that answers."""
    if query:
        json_option(parser)
    add_config_arguments(parser, "config", "db", "key", *(("operator",) if writes else ()))


def open_store_for(args: argparse.Namespace, *, create: bool = False,
                   write: bool = False) -> Store:
    """The command's evidence store.

    ``create`` makes a missing database (and its folder); ``write`` loads, or on first use
    creates, the station's signing key, without which the store refuses writes.
    """
    from parcels.signing import StationKey
    from parcels.store import open_store

    cfg = station_config(args)
    if create and isinstance(cfg.db, Path):  # a PostgreSQL database is created by its admin
        cfg.db.parent.mkdir(parents=True, exist_ok=True)
    signer = StationKey.load_or_create(cfg.key) if write else None
    return open_store(cfg.db, create=create, signer=signer, clock=getattr(args, "clock", None))


def who_acts(args: argparse.Namespace) -> str:
    """The acting person: ``--operator``, else ``INTERDICT_OPERATOR``, else the station
    file's ``operator``, else the login name (:func:`station.config.load_config`)."""
    operator = station_config(args).operator
    if not operator:
        raise UsageError("who is acting? no operator is configured and there is no login name",
                         hint="give --operator NAME (or INTERDICT_OPERATOR)")
    return operator


__all__ = ["open_store_for", "store_options", "who_acts"]
