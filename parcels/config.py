"""Where the evidence database is: one small function the station configuration can extend."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

ENV_DB = "INTERDICT_DB"
"""Environment variable naming the database."""


def default_db_path(env: Mapping[str, str] | None = None) -> Path:
    """``$XDG_DATA_HOME/interdict/evidence.db`` (``~/.local/share/…`` when unset)."""
    e = os.environ if env is None else env
    base = e.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "interdict" / "evidence.db"


def resolve_db(cli_value: str | None, env: Mapping[str, str] | None = None,
               configured: str | None = None) -> str:
    """The database to open, by precedence: ``--db``, ``$INTERDICT_DB``, the station
    configuration (``configured``), then :func:`default_db_path`.

    Parameters
    ----------
    cli_value
        The ``--db`` argument, if given.
    env
        Environment (``os.environ`` when None).
    configured
        The value from the station's configuration file, when it has one.

    Returns
    -------
    str
        A path (or store URL, see :func:`parcels.store.open_store`).
    """
    e = os.environ if env is None else env
    for v in (cli_value, e.get(ENV_DB), configured):
        if v:
            return v
    path = default_db_path(e)
    path.parent.mkdir(parents=True, exist_ok=True)
    return str(path)


__all__ = ["ENV_DB", "default_db_path", "resolve_db"]
