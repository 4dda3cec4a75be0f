"""The evidence store: one interface (:class:`Store`), SQLite as the embedded default."""

from __future__ import annotations

from pathlib import Path

from .base import (
    CentralStore,
    HoldFact,
    InspectionFact,
    NewInspection,
    RowOutcome,
    RowStatus,
    Store,
)
from .sqlite import SCHEMA_VERSION, SQLiteStore


def open_store(location: str | Path, *, create: bool = True) -> Store:
    """Open the store at ``location``: a file path (SQLite) or, later, a database URL.

    Parameters
    ----------
    location
        ``path/to/evidence.db``, ``sqlite:///path/to/evidence.db`` or
        ``postgresql://user@host/database`` (needs the ``central`` extra: psycopg).
    create
        Create a missing SQLite file.

    Raises
    ------
    ValueError
        For any other URL scheme.
    """
    text = str(location)
    if text.startswith("sqlite:///"):
        return SQLiteStore(text[len("sqlite:///"):], create=create)
    if text.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(text)
    if "://" in text:
        raise ValueError(f"unknown store URL scheme in {text!r} (use a path or sqlite:///)")
    return SQLiteStore(text, create=create)


__all__ = [
    "SCHEMA_VERSION",
    "CentralStore",
    "HoldFact",
    "InspectionFact",
    "NewInspection",
    "RowOutcome",
    "RowStatus",
    "SQLiteStore",
    "Store",
    "open_store",
]
