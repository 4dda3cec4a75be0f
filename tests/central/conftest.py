"""Fixtures of the central tests: a fresh central database, a real service process on a
loopback port, credentials for every role, and station stores (SQLite) with their data."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from central.auth import Role, issue
from central.devdb import TempPostgres
from parcels.store import SQLiteStore
from parcels.store.postgres import PostgresStore
from tests.parcels.builders import CENTRAL_KEY, KEY

from ._service import Service

FACILITY = "ORD-ISC"
OTHER_FACILITY = "JFK-ISC"


@dataclass
class Central:
    """A running central service and the tokens of its credentials."""

    url: str
    db: str
    service: Service
    tokens: dict[str, str]
    _names: Iterator[int] = field(default_factory=itertools.count)

    def client(self, who: str | None = None) -> httpx.Client:
        """An HTTP client authenticated as ``who`` (a credential name), or anonymous."""
        headers = {"Authorization": f"Bearer {self.tokens[who]}"} if who else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60.0)

    def issue(self, name: str, role: Role, facility: str | None = None) -> str:
        with psycopg.connect(self.db) as con:
            token = issue(con, name, role, facility=facility).token
        self.tokens[name] = token
        return token

    def station(self, facility: str = FACILITY) -> str:
        """A new station credential at ``facility``; returns its name."""
        name = f"st-{next(self._names)}"
        self.issue(name, Role.STATION, facility)
        return name

    def store(self) -> PostgresStore:
        """Central's store, as the service opens it (signing with central's key)."""
        return PostgresStore(self.db, max_connections=2, signer=CENTRAL_KEY)


@pytest.fixture(scope="session")
def central(postgres: TempPostgres) -> Iterator[Central]:
    """One service for the session (starting one costs seconds): a fresh database, one
    credential per role but station (tests issue their own stations with
    :meth:`Central.station`), ``interdict serve`` on a free loopback port. Tests keep to
    their own parcels (:func:`base`) and stations; a test that stops the service starts
    it again."""
    db = postgres.create_database("central")
    PostgresStore(db, max_connections=1).close()  # migrate before issuing credentials
    svc = Service(db)
    c = Central(url="", db=db, service=svc, tokens={})
    for role in ("targeting", "supervisor", "auditor", "admin"):
        c.issue(role, Role(role))
    c.url = svc.start()
    try:
        yield c
    finally:
        c.service.kill()


_BASES = itertools.count(1)


@pytest.fixture
def base() -> int:
    """This test's own range of parcel numbers (``base + 0 … base + 999``)."""
    return next(_BASES) * 1000


@pytest.fixture
def fac(base: int) -> str:
    """This test's own facility (stations pull all of their facility's work)."""
    return f"ORD-{base}"


@pytest.fixture
def station_db(tmp_path: Path) -> Callable[[str], SQLiteStore]:
    """Open (creating) a station's SQLite store by name."""
    def open_(name: str) -> SQLiteStore:
        return SQLiteStore(tmp_path / f"{name}.db", synchronous="NORMAL", signer=KEY)

    return open_
