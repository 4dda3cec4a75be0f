"""The evidence store: one interface (:class:`Store`), SQLite as the embedded default."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from ..signing import StationKey
from .base import (
    IMPORT_CHUNK,
    CentralStore,
    HoldFact,
    InspectionFact,
    ItemProof,
    NewInspection,
    NewOriginal,
    ParcelRow,
    RowOutcome,
    RowStatus,
    Store,
)
from .sqlite import SCHEMA_VERSION, SQLiteStore


def open_store(location: str | Path, *, create: bool = True,
               clock: Callable[[], datetime] | None = None,
               signer: StationKey | None = None) -> Store:
    """Open the store at ``location``: a file path (SQLite) or a PostgreSQL URL.

    Parameters
    ----------
    location
        ``path/to/evidence.db``, ``sqlite:///path/to/evidence.db`` or
        ``postgresql://user@host/database`` (needs the ``central`` extra: psycopg).
    create
        Create a missing SQLite file.
    clock
        Returns the current time (UTC) for every timestamp the store writes; the wall clock
        by default. Tests pass a fixed one.
    signer
        The station's signing key; without it the store reads and verifies but refuses
        writes (:class:`parcels.signing.SigningKeyError`).

    Raises
    ------
    ValueError
        For any other URL scheme.
    """
    text = str(location)
    if text.startswith("sqlite:///"):
        return SQLiteStore(text[len("sqlite:///"):], create=create, clock=clock, signer=signer)
    if text.startswith(("postgresql://", "postgres://")):
        from .postgres import PostgresStore

        return PostgresStore(text, clock=clock, signer=signer)
    if "://" in text:
        raise ValueError(f"unknown store URL scheme in {text!r} (use a path or sqlite:///)")
    return SQLiteStore(text, create=create, clock=clock, signer=signer)


__all__ = [
    "IMPORT_CHUNK",
    "SCHEMA_VERSION",
    "CentralStore",
    "HoldFact",
    "InspectionFact",
    "ItemProof",
    "NewInspection",
    "NewOriginal",
    "ParcelRow",
    "RowOutcome",
    "RowStatus",
    "SQLiteStore",
    "Store",
    "open_store",
]
