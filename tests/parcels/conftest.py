"""Fixtures of the parcels tests: the store contract runs against every backend.

``store`` is parametrised over SQLite (a file in a temporary directory) and PostgreSQL (a fresh
database on the session's private server): each test using it runs once per backend. The
``backend`` fixture gives what a test needs beyond the :class:`Store` interface — open the
store again, run raw SQL behind the store's back (``?`` placeholders on both), and tamper as a
deliberate attacker would (append-only guards removed first).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from parcels.signing import StationKey
from parcels.store import SQLiteStore, Store, open_store

from .builders import KEY

BACKENDS = ("sqlite", "postgresql")


class Backend:
    """One store backend under test."""

    def __init__(self, name: str, location: str) -> None:
        self.name = name
        self.location = location

    def open(self, clock: Callable[[], datetime] | None = None,
             signer: StationKey | None = KEY) -> Store:
        """A new store on the same database (signing with the test key unless told)."""
        if self.name == "sqlite":
            return SQLiteStore(self.location, synchronous="NORMAL", clock=clock, signer=signer)
        from parcels.store.postgres import PostgresStore

        return PostgresStore(self.location, max_connections=4, clock=clock, signer=signer)

    def sql(self, statement: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement outside the store (committed); its rows, if any."""
        if self.name == "sqlite":
            con = sqlite3.connect(self.location)
            try:
                rows = con.execute(statement, tuple(params)).fetchall()
                con.commit()
                return rows
            finally:
                con.close()
        import psycopg

        with psycopg.connect(self.location) as con:
            cur = con.execute(statement.replace("?", "%s"), tuple(params))
            return list(cur.fetchall()) if cur.description else []

    def one(self, statement: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row."""
        return self.sql(statement, params)[0][0]

    def tamper(self, *statements: str | tuple[str, Sequence[Any]]) -> None:
        """Drop the append-only guards, then run the statements (one transaction)."""
        if self.name == "sqlite":
            con = sqlite3.connect(self.location)
            for (name,) in con.execute(
                    "SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall():
                con.execute(f"DROP TRIGGER {name}")
            for s in statements:
                sql, params = (s, ()) if isinstance(s, str) else s
                con.execute(sql, tuple(params))
            con.commit()
            con.close()
            return
        import psycopg

        with psycopg.connect(self.location) as con:
            con.execute("SET session_replication_role = replica")  # triggers off
            for s in statements:
                sql, params = (s, ()) if isinstance(s, str) else s
                con.execute(sql.replace("?", "%s"), tuple(params))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "sqlite":
        return Backend("sqlite", str(tmp_path / "evidence.db"))
    return Backend("postgresql", request.getfixturevalue("pg_store_url"))


@pytest.fixture
def store(backend: Backend) -> Iterator[Store]:
    with backend.open() as s:
        yield s


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """An SQLite file (for the tests of SQLite itself and of the station CLI)."""
    return tmp_path / "evidence.db"


@pytest.fixture
def sqlite_store(db_path: Path) -> Iterator[SQLiteStore]:
    with SQLiteStore(db_path, synchronous="NORMAL", signer=KEY) as s:
        yield s


__all__ = ["BACKENDS", "Backend", "open_store"]
